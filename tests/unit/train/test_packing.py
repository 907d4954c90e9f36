"""Sequence packing: the bin packing itself, packed sequences that train exactly as their examples do
alone (losses and gradients), a packed training step through the worker, the dry run's report and
the refusal of families where packing would not be exact."""

from __future__ import annotations

import io
import math
import random
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.train.collate import IGNORE_INDEX, build_example, collate
from cephalo_ray.train.packing import IMAGE_AXIS, collate_packed, pack, packing_refusal, packing_report

CONVERSATIONS = [
    [
        {"from": "human", "value": "<image>\nWhat is shown?"},
        {"from": "gpt", "value": "Silk fibres are tough."},
    ],
    [
        {"from": "human", "value": "<image>\nWhy?"},
        {"from": "gpt", "value": "Beta sheets."},
        {"from": "human", "value": "More?"},
        {"from": "gpt", "value": "Nacre tablets joined by bridges."},
    ],
    [{"from": "human", "value": "<image>\nAxis?"}, {"from": "gpt", "value": "Strain."}],
]
# Different shapes: LLaVA-NeXT splits them into different numbers of tiles.
IMAGES = [Image.new("RGB", (40 + 20 * index, 40), (20 * index, 120, 200)) for index in range(3)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pack_places_every_example_once_and_no_bin_over_the_budget(seed: int) -> None:
    lengths = [random.Random(seed).randint(1, 100) for _ in range(200)]
    bins = pack(lengths, 100, seed=seed)
    assert sorted(index for members in bins for index in members) == list(range(200))
    assert all(sum(lengths[index] for index in members) <= 100 for members in bins)
    assert len(bins) >= math.ceil(sum(lengths) / 100)
    # first-fit-decreasing: within 11/9 of the optimum, of which the total is a lower bound
    assert len(bins) <= 11 / 9 * math.ceil(sum(lengths) / 100) + 1
    assert pack(lengths, 100, seed=seed) == bins  # deterministic for a seed
    assert sorted(pack(lengths, 100, seed=seed + 1)) == sorted(bins)  # the seed only orders the bins


def test_pack_edge_cases() -> None:
    assert pack([], 10) == []
    assert pack([10, 10], 10) == [[0], [1]] or pack([10, 10], 10) == [[1], [0]]
    assert sorted(pack([6, 4, 5, 5], 10)) == [[0, 1], [2, 3]]  # decreasing order fills both exactly
    with pytest.raises(ValueError, match=r"examples \[1\] are longer than the budget of 10"):
        pack([3, 11], 10)


def test_packing_report() -> None:
    report = packing_report([30, 10, 60, 40, 200], budget=100, micro_batch_size=2)
    # 200 counts as cut to 100: bins {100}, {60, 40}, {30, 10}
    assert report["packed_sequences"] == 3 and report["examples_per_sequence"] == 1.67
    assert report["fill_packed"] == round(240 / 300, 3)
    assert report["padding_share_unpacked"] == round(1 - 240 / (2 * 30 + 2 * 60 + 100), 3)
    # packed a window at a time, as training packs them
    assert packing_report([60, 60, 40, 40], budget=100, window=4)["packed_sequences"] == 2
    assert packing_report([60, 60, 40, 40], budget=100, window=2)["packed_sequences"] == 3


def test_collate_packed_restarts_positions_and_ignores_each_first_label() -> None:
    _, processor = build_tiny("llava")
    examples = [
        build_example(processor, turns, [image], masking="prompt_and_answer")
        for turns, image in zip(CONVERSATIONS, IMAGES, strict=True)
    ]
    batch = collate_packed(examples)
    lengths = [example.length for example in examples]
    assert batch["input_ids"].shape == (1, sum(lengths)) and "attention_mask" not in batch
    assert batch["position_ids"][0].tolist() == [p for length in lengths for p in range(length)]
    assert batch["pixel_values"].shape[0] == 3 and batch["use_cache"] is False
    starts = [sum(lengths[:index]) for index in range(3)]
    assert all(batch["labels"][0, start] == IGNORE_INDEX for start in starts)
    assert examples[0].inputs["labels"][0, 0] != IGNORE_INDEX  # left as it was in the example itself


def summed_loss(model: Any, batch: dict[str, Any]) -> tuple[torch.Tensor, int]:
    """The sum of token losses (next-token, ignored labels left out) and how many tokens count."""
    batch = dict(batch)
    labels = batch.pop("labels")[:, 1:]
    logits = model(**batch).logits[:, :-1].float()
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    )
    return loss, int((labels != IGNORE_INDEX).sum())


def gradients(model: Any) -> dict[str, torch.Tensor]:
    return {
        name: parameter.grad.clone()
        for name, parameter in model.named_parameters()
        if parameter.grad is not None
    }


@pytest.mark.parametrize(
    ("family", "attention", "masking"),
    [
        ("llava", "eager", "answers"),
        ("llava", "sdpa", "answers"),
        ("llava", "sdpa", "prompt_and_answer"),
        ("llava_next", "sdpa", "answers"),
        ("paligemma", "sdpa", "answers"),  # no chat template: its prompt is a prefix attending both ways
        ("idefics2", "sdpa", "answers"),
        ("idefics3", "sdpa", "answers"),  # images split into different numbers of tiles
        ("smolvlm", "sdpa", "answers"),
    ],
)
def test_a_packed_sequence_trains_as_its_examples_do_alone(family: str, attention: str, masking: str) -> None:
    model, processor = build_tiny(family)
    model.set_attn_implementation(attention)
    examples = [
        build_example(processor, turns, [image], masking=masking)
        for turns, image in zip(CONVERSATIONS, IMAGES, strict=True)
    ]
    model.zero_grad()
    alone = [summed_loss(model, collate([example], processor.tokenizer.pad_token_id)) for example in examples]
    total = torch.stack([loss for loss, _ in alone]).sum()
    total.backward()
    separate = gradients(model)
    model.zero_grad()
    axis = IMAGE_AXIS[family]
    packed_loss, packed_count = summed_loss(model, collate_packed(examples, axis))
    packed_loss.backward()
    packed = gradients(model)
    assert packed_count == sum(count for _, count in alone) > 0
    assert packed_loss.item() == pytest.approx(total.item(), rel=1e-5)
    assert separate.keys() == packed.keys() and separate
    for name, gradient in separate.items():
        torch.testing.assert_close(packed[name], gradient, rtol=1e-4, atol=1e-5, msg=name)
    # the model's own loss is the token mean of the same sums
    own = model(**collate_packed(examples, axis)).loss.item()
    assert own == pytest.approx(total.item() / packed_count, rel=1e-5)


def test_families_and_attention_where_packing_is_not_exact_are_refused() -> None:
    assert (
        packing_refusal("llava", None) is None and packing_refusal("llava_next", "flash_attention_2") is None
    )
    for family in (
        "qwen2_vl",
        "qwen2_5_vl",
        "mllama",
        "phi3_v",
    ):
        assert f"model_type {family}:" in str(packing_refusal(family, "sdpa"))
    assert packing_refusal("paligemma", "eager") is None
    assert "not checked" in str(packing_refusal("something_new", "sdpa"))
    assert "flex_attention" in str(packing_refusal("llava", "flex_attention"))


@pytest.mark.slow  # about 25 s: DeepSpeed, two evaluations and the export
def test_a_packed_run_trains_through_the_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cephalo_ray.train.loop import TrainSettings, train_worker
    from cephalo_ray.train.recipes import Recipe
    from tests.helpers.single_process import CONVERSATION, as_single_process, training_rows

    as_single_process(monkeypatch)
    _, processor = build_tiny("llava", tmp_path / "base")
    rows = training_rows(3)  # a window of 4: these 3 and the first of the next epoch
    length = build_example(processor, CONVERSATION, [Image.open(io.BytesIO(rows[0]["image"]))]).length
    settings = TrainSettings(
        model=str(tmp_path / "base"),
        output_dir=str(tmp_path / "run"),
        recipe=asdict(Recipe(name="lora", lora_rank=4, lora_alpha=8)),
        max_steps=2,
        eval_every=2,
        learning_rate=3e-3,
        max_length=128,
        micro_batch_size=1,
        vqa_samples=0,
        packing=True,
        packing_window=8,
    )
    metrics = train_worker(asdict(settings), rows=rows, val_rows=rows[:2])
    assert metrics["step"] == 2 and math.isfinite(metrics["loss"])
    assert metrics["padding_share"] == 0.0  # every token of a packed row is an example's
    # the rows are alike: a step trains as many of them as fit in a sequence of 128 tokens
    assert 128 // length >= 2 and metrics["tokens"] == 2 * (128 // length) * length
    assert metrics["val_loss"] < metrics["base_val_loss"]


def test_dry_run_reports_packed_sequences_and_a_refused_family_stops_before_ray(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cephalo_ray.jobs import finetune_vlm
    from cephalo_ray.storage import Storage
    from tests.helpers.roots import make_refine_root

    build_tiny("llava", tmp_path / "llava")
    make_refine_root(Storage(), str(tmp_path / "refined"), 8)
    # its 6 training rows are 59 tokens each: 3 fit in a sequence of 180
    arguments = [f"input={tmp_path / 'refined'}", f"output={tmp_path / 'run'}", "max_length=180"]
    assert (
        finetune_vlm.main([*arguments, f"model={tmp_path / 'llava'}", "data.packing=true", "--dry-run"]) == 0
    )
    printed = capsys.readouterr().err
    assert "packing makes 2 sequences of 6 examples (3.0 per sequence" in printed, printed
    assert finetune_vlm.main([*arguments, f"model={tmp_path / 'llava'}", "--dry-run"]) == 0
    assert "data.packing is off (packing makes 2 sequences" in capsys.readouterr().err
    build_tiny("qwen2_vl", tmp_path / "qwen2_vl")
    assert finetune_vlm.main([*arguments, f"model={tmp_path / 'qwen2_vl'}", "data.packing=true"]) == 2
    refused = capsys.readouterr().err
    assert "data.packing: model_type qwen2_vl:" in refused and "set data.packing: false" in refused
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # about a minute: three short runs of the worker
def test_a_resumed_packed_run_trains_the_sequences_an_uninterrupted_one_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from cephalo_ray.train import loop
    from tests.helpers.single_process import as_single_process, crash_and_resume, training_rows

    as_single_process(monkeypatch)
    trained: list[list[float]] = []  # each packed micro-batch, by the images it holds

    def recording(examples: Any, image_axis: int) -> dict[str, Any]:
        batch = collate_packed(examples, image_axis)
        trained.append([round(float(image.sum()), 3) for image in batch["pixel_values"]])
        return batch

    monkeypatch.setattr(loop, "collate_packed", recording)
    rows = training_rows(5)  # distinct images; a window of 5 packs into 3 sequences (2, 2 and 1)
    # the crashed run's last checkpoint is at step 4: mid-window
    whole, crashed, resumed = crash_and_resume(
        tmp_path,
        trained,
        {"rows": rows, "val_rows": rows[:1]},
        max_length=100,
        seed=3,
        packing=True,
        packing_window=5,
    )
    assert [len(images) for images in whole[:3]] in ([2, 2, 1], [2, 1, 2], [1, 2, 2])
    assert len(whole) == 6 and crashed == whole[:5] and resumed == whole[4:]
    state = json.loads((tmp_path / "interrupted" / "checkpoints" / "state.json").read_text())
    assert (
        state["step"] == 6 and state["rows_drawn"] == {"0": 10} and state["packed_batches_done"] == {"0": 0}
    )


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("attention", ["sdpa", "flash_attention_2"])
def test_a_packed_sequence_matches_its_examples_on_a_gpu(attention: str) -> None:
    import importlib.util

    if attention == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        pytest.skip("flash_attention_2 needs the flash-attn package")
    model, processor = build_tiny("llava")
    model = model.to("cuda", torch.bfloat16)
    model.set_attn_implementation(attention)
    examples = [
        build_example(processor, turns, [image]) for turns, image in zip(CONVERSATIONS, IMAGES, strict=True)
    ]

    def on_gpu(batch: dict[str, Any]) -> dict[str, Any]:
        moved = {key: value.to("cuda") if hasattr(value, "to") else value for key, value in batch.items()}
        moved["pixel_values"] = moved["pixel_values"].to(torch.bfloat16)
        return moved

    packed = on_gpu(collate_packed(examples))
    joined = {**packed, "position_ids": None}  # the same row seen as one sequence: examples attend across
    with torch.no_grad():
        alone = torch.cat([model(**on_gpu(collate([example], 0))).logits[0] for example in examples]).float()
        error = (model(**packed).logits[0].float() - alone).abs().max().item()
        crossed = (model(**joined).logits[0].float() - alone).abs().max().item()
    # bf16 rounding moves the logits a little; attending across examples moves them much more
    assert error < crossed / 10, (error, crossed)


def test_the_job_hands_packing_to_the_workers_and_keeps_older_runs_hash() -> None:
    from cephalo_ray.jobs.finetune_vlm import TrainConfig, hashed_config, settings_for

    plain = TrainConfig(input="in", output="out", model="m")
    packed = TrainConfig(input="in", output="out", model="m", data={"packing": True})
    assert settings_for(packed, "out")["packing"] is True and settings_for(plain, "out")["packing"] is False
    assert "packing" not in hashed_config(plain)["data"]  # runs configured before packing keep their hash
    assert hashed_config(packed)["data"]["packing"] is True  # turning it on is a changed config
