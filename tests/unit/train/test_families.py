"""Training examples of Qwen2-VL, Qwen2.5-VL, PaliGemma and Mllama, with processors set as their real
checkpoints' (image settings, chat templates, special tokens): loss masks against hand-written
expectations, and a training step on a micro-batch of a wide and a tall figure."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from cephalo_ray.models.loader import load_vlm
from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.train.collate import IGNORE_INDEX, TooLongError, build_example, collate
from cephalo_ray.train.loop import TrainSettings, train_worker
from cephalo_ray.train.recipes import Recipe
from tests.helpers.single_process import as_single_process

TURNS = [
    {"from": "human", "value": "<image>\nWhat is shown?"},
    {"from": "gpt", "value": "Silk fibres."},
    {"from": "human", "value": "Why?"},
    {"from": "gpt", "value": "Beta sheets."},
]
WIDE = Image.new("RGB", (300, 100), (200, 30, 30))
TALL = Image.new("RGB", (60, 180), (30, 200, 30))
# Mllama fits anything up to 560 px into one tile: its figures must be larger to take several.
LARGE = {
    "mllama": (Image.new("RGB", (1200, 400), (200, 30, 30)), Image.new("RGB", (400, 1100), (30, 200, 30)))
}
# What the answer mask keeps: each answer and what closes its turn in the family's own template.
ANSWERS = {
    "qwen2_vl": "Silk fibres.<|im_end|>\nBeta sheets.<|im_end|>\n",
    "qwen2_5_vl": "Silk fibres.<|im_end|>\nBeta sheets.<|im_end|>\n",
    "mllama": "Silk fibres.<|eot_id|>Beta sheets.<|eot_id|>",
    "paligemma": "Beta sheets.<eos>",  # the suffix: earlier turns are its prefix
}
# The tokens that stand for or frame an image in each family.
IMAGE_TOKENS = {
    "qwen2_vl": ("<|vision_start|>", "<|image_pad|>", "<|vision_end|>"),
    "qwen2_5_vl": ("<|vision_start|>", "<|image_pad|>", "<|vision_end|>"),
    "mllama": ("<|image|>",),
    "paligemma": ("<image>",),
}


@pytest.fixture(scope="module", params=sorted(ANSWERS))
def family(request: pytest.FixtureRequest) -> tuple[str, Any, Any]:
    model, processor = build_tiny(request.param)
    return request.param, model, processor


def kept_text(processor: Any, labels: Any) -> str:
    return str(processor.tokenizer.decode([token for token in labels.tolist() if token != IGNORE_INDEX]))


def image_token_count(family: str, processor: Any, inputs: dict[str, Any]) -> int:
    """How many placeholder tokens the real processor settings give this image."""
    if family.startswith("qwen"):  # 14 px patches, 2 x 2 merged into one token
        return int(inputs["image_grid_thw"].prod()) // 4
    if family == "paligemma":
        return (224 // 14) ** 2
    return 1  # Mllama: one token; the tiles enter by cross-attention


def test_the_answer_mask_keeps_each_answer_and_its_turn_end(family: tuple[str, Any, Any]) -> None:
    name, _, processor = family
    for image in (WIDE, TALL):
        example = build_example(processor, TURNS, [image], masking="answers")
        labels, ids = example.inputs["labels"][0], example.inputs["input_ids"][0]
        assert kept_text(processor, labels) == ANSWERS[name]
        kept = labels != IGNORE_INDEX
        assert torch.equal(labels[kept], ids[kept])
        last = int(kept.nonzero().max())
        assert last == len(ids) - 1  # the sequence ends with the last answer's closing token


def test_the_whole_conversation_mask_drops_image_tokens_only(family: tuple[str, Any, Any]) -> None:
    name, _, processor = family
    if name == "paligemma":
        with pytest.raises(ValueError, match="prefix that attends both ways.*use masking: answers"):
            build_example(processor, TURNS, [WIDE], masking="prompt_and_answer")
        return
    example = build_example(processor, TURNS, [WIDE], masking="prompt_and_answer")
    ids, labels = example.inputs["input_ids"][0].tolist(), example.inputs["labels"][0].tolist()
    image_ids = set(processor.tokenizer.convert_tokens_to_ids(list(IMAGE_TOKENS[name])))
    assert labels == [IGNORE_INDEX if token in image_ids else token for token in ids]
    placeholder = processor.tokenizer.convert_tokens_to_ids(IMAGE_TOKENS[name][len(IMAGE_TOKENS[name]) // 2])
    assert ids.count(placeholder) == image_token_count(name, processor, example.inputs)


def test_paligemma_learns_the_last_answer_as_its_suffix() -> None:
    _, processor = build_tiny("paligemma")
    example = build_example(processor, TURNS, [WIDE])
    ids, types = example.inputs["input_ids"][0], example.inputs["token_type_ids"][0]
    suffix = processor.tokenizer.decode(ids[types == 1])
    assert suffix == "Beta sheets.<eos>" == kept_text(processor, example.inputs["labels"][0])
    prefix = processor.tokenizer.decode(ids[types == 0])
    assert prefix.endswith("<bos>What is shown?\nSilk fibres.\nWhy?\n")
    assert prefix.count("<image>") == 256  # 224 px in 14 px patches


def takes_a_step(model: Any, batch: dict[str, Any]) -> None:
    """One optimiser step on the batch: a finite loss that changes the output head."""
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    before = model.lm_head.weight.detach().clone()
    loss = model(**batch).loss
    assert torch.isfinite(loss)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    assert not torch.equal(before, model.lm_head.weight)
    model.eval()


def test_a_micro_batch_of_a_wide_and_a_tall_figure_takes_a_training_step(
    family: tuple[str, Any, Any],
) -> None:
    name, model, processor = family
    examples = [build_example(processor, TURNS, [image]) for image in LARGE.get(name, (WIDE, TALL))]
    batch = collate(examples, processor.tokenizer.pad_token_id)
    longest = max(example.length for example in examples)
    for key in ("input_ids", "attention_mask", "labels", "token_type_ids", "cross_attention_mask"):
        if key in batch:
            assert batch[key].shape[:2] == (2, longest)
    if name.startswith("qwen"):  # each image keeps its aspect ratio: its own grid of patches
        grids = batch["image_grid_thw"]
        assert grids[0].tolist() != grids[1].tolist()
        assert batch["pixel_values"].shape[0] == int(grids.prod(dim=-1).sum())
        assert examples[0].length != examples[1].length
    if name == "mllama":  # tiles of 560 px: 1 x 3 for the wide figure, 2 x 1 for the tall, padded to 4
        assert batch["aspect_ratio_mask"].sum(dim=-1).flatten().tolist() == [3, 2]
        assert batch["pixel_values"].shape[2] == 4
        ids = batch["aspect_ratio_ids"].flatten().tolist()
        assert ids[0] != ids[1]
    shorter = min(range(2), key=lambda index: examples[index].length)
    assert (batch["labels"][shorter, examples[shorter].length :] == IGNORE_INDEX).all()
    takes_a_step(model, batch)


@pytest.mark.parametrize("name", ["qwen2_vl", "mllama"])
def test_truncation_cuts_every_per_token_input_alike(name: str) -> None:
    _, processor = build_tiny(name)
    full = build_example(processor, TURNS, [TALL])
    cut = full.length - 4
    example = build_example(processor, TURNS, [TALL], max_length=cut)
    assert example.truncated and example.length == cut
    per_token = [key for key in ("mm_token_type_ids", "cross_attention_mask") if key in example.inputs]
    assert per_token and all(example.inputs[key].shape[1] == cut for key in per_token)
    with pytest.raises(TooLongError, match="image tokens"):
        build_example(processor, TURNS, [TALL], max_length=3)


@pytest.mark.parametrize(
    "name", ["paligemma", "qwen2_vl", "qwen2_5_vl", pytest.param("mllama", marks=pytest.mark.slow)]
)
def test_the_worker_trains_a_saved_model_at_micro_batch_two(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From disk, through the training function Ray Train runs: LoRA, mixed aspect ratios, 2 steps."""
    import io

    as_single_process(monkeypatch)
    _, processor = build_tiny(name, tmp_path / "base")
    rows = []
    for index, size in enumerate([(300, 100), (60, 180), (120, 120), (200, 80)]):
        buffer = io.BytesIO()
        Image.new("RGB", size, (40 * index, 90, 160)).save(buffer, format="PNG")
        rows.append({"pair_id": f"row-{index}", "image": buffer.getvalue(), "conversations": TURNS[:2]})
    settings = TrainSettings(
        model=str(tmp_path / "base"),
        output_dir=str(tmp_path / "run"),
        recipe=asdict(Recipe(name="lora")),
        max_steps=2,
        eval_every=2,
        micro_batch_size=2,
        vqa_samples=0,
        max_length=512,
        overflow="drop",
    )
    metrics = train_worker(asdict(settings), rows=rows, val_rows=rows[:1])
    assert metrics["step"] == 2 and metrics["dropped_too_long"] == 0
    assert metrics["tokens"] > 0 and metrics["val_loss"] == metrics["val_loss"]  # not NaN
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").exists()
    trained = load_vlm(str(tmp_path / "run" / "model"), device="cpu")  # the export loads back as saved
    assert trained.facts.family == name and trained.processor.chat_template == processor.chat_template
