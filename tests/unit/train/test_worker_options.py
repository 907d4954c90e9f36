"""The memory and speed options of the training worker, on one CPU process without Ray (the same
function Ray Train runs): attention kernel, gradient checkpointing, the projector's learning rate."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.train.loop import TrainSettings, parameter_groups, train_worker
from cephalo_ray.train.recipes import Recipe, apply_recipe
from tests.helpers.single_process import as_single_process, training_rows


def test_checkpointed_eager_lora_run_with_its_own_projector_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_single_process(monkeypatch)
    build_tiny("llava", tmp_path / "base")
    rows = training_rows(4)
    settings = TrainSettings(
        model=str(tmp_path / "base"),
        output_dir=str(tmp_path / "run"),
        recipe=asdict(Recipe(name="lora")),
        max_steps=6,
        eval_every=6,
        learning_rate=3e-3,
        projector_learning_rate=1e-2,
        micro_batch_size=2,
        vqa_samples=0,
        attn_implementation="eager",
        gradient_checkpointing=True,
    )
    metrics = train_worker(asdict(settings), rows=rows, val_rows=rows[:2])
    assert metrics["attn_implementation"] == "eager" and metrics["gradient_checkpointing"]
    assert metrics["learning_rates"] == [3e-3, 1e-2] and not metrics["quantized_4bit"]
    assert metrics["val_loss"] < metrics["base_val_loss"]  # it still learns with activations recomputed
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").exists()


def test_the_projector_gets_its_own_group_only_when_asked(tmp_path: Path) -> None:
    from cephalo_ray.models.loader import load_vlm

    build_tiny("llava", tmp_path / "base")
    model = apply_recipe(
        load_vlm(str(tmp_path / "base"), dtype="float32", device="cpu").model, Recipe(name="lora")
    )
    same = parameter_groups(model, "model.multi_modal_projector", TrainSettings(model="m", output_dir="o"))
    assert len(same) == 1
    own = parameter_groups(
        model,
        "model.multi_modal_projector",
        TrainSettings(model="m", output_dir="o", projector_learning_rate=0.1),
    )
    assert [group["lr"] for group in own] == [2e-4, 0.1]
    projector_count = sum(parameter.numel() for parameter in own[1]["params"])
    named = dict(model.named_parameters())
    expected = sum(
        p.numel() for n, p in named.items() if p.requires_grad and ".multi_modal_projector." in f".{n}."
    )
    assert projector_count == expected > 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"recipe": {"quantize_4bit": True}}, "needs CUDA GPUs: set resources.use_gpu: true"),
        (
            {"recipe": {"quantize_4bit": True, "name": "projector"}, "resources": {"use_gpu": True}},
            "use recipe.name lora or mlp_only",
        ),
        (
            {
                "recipe": {"quantize_4bit": True},
                "resources": {"use_gpu": True},
                "deepspeed": {"zero_stage": 3},
            },
            "set deepspeed.zero_stage: 2",
        ),
    ],
)
def test_qlora_settings_that_cannot_run_are_refused_by_name(overrides: dict, message: str) -> None:
    from pydantic import ValidationError

    from cephalo_ray.jobs.finetune_vlm import TrainConfig

    with pytest.raises(ValidationError, match=message):
        TrainConfig.model_validate({"input": "i", "output": "o", "model": "m", **overrides})


def test_four_bit_loading_is_refused_on_a_cpu_worker_with_the_fix(tmp_path: Path) -> None:
    from cephalo_ray.models.loader import QuantizationUnavailable, load_vlm

    build_tiny("llava", tmp_path / "base")
    with pytest.raises(QuantizationUnavailable, match="needs a CUDA GPU, and this worker runs on cpu"):
        load_vlm(str(tmp_path / "base"), device="cpu", quantize_4bit=True)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "set exactly one of `input`.*neither is set"),
        ({"input": "a", "inputs": [{"root": "b"}]}, "set exactly one of `input`.*remove one of them"),
        ({"inputs": []}, "`inputs` is empty"),
        ({"inputs": [{"root": "a"}, {"root": "a", "weight": 2}]}, "lists a root twice"),
        ({"inputs": [{"root": "a", "weight": 0}]}, "inputs.0.weight"),
    ],
)
def test_training_inputs_that_cannot_run_are_refused_by_name(inputs: dict, message: str) -> None:
    from cephalo_ray.config import ConfigError, load_config
    from cephalo_ray.jobs.finetune_vlm import TrainConfig

    with pytest.raises(ConfigError, match=message):
        load_config(TrainConfig, None, {"output": "o", "model": "m", **inputs}, [])


def test_one_input_is_one_root_of_weight_one_and_keeps_its_hash() -> None:
    from cephalo_ray.jobs.finetune_vlm import TrainConfig, hashed_config

    single = TrainConfig.model_validate({"input": "r", "output": "o", "model": "m", "tracking": {}})
    assert [(item.root, item.weight) for item in single.roots] == [("r", 1.0)]
    assert "inputs" not in hashed_config(single) and "tracking" not in hashed_config(single)
    mixed = TrainConfig.model_validate(
        {"inputs": [{"root": "r", "weight": 3}, {"root": "s"}], "output": "o", "model": "m"}
    )
    assert [item.weight for item in mixed.roots] == [3.0, 1.0] and "input" not in hashed_config(mixed)


def test_inputs_on_the_command_line_are_root_at_weight() -> None:
    from cephalo_ray.arguments import parse_config
    from cephalo_ray.jobs.finetune_vlm import TrainConfig

    argv = ["--inputs", "s3://lab/silk@3", "--inputs", "./bone", "--output", "o", "--model", "m"]
    config = parse_config(TrainConfig, argv, "cephalo train")
    assert [(item.root, item.weight) for item in config.roots] == [("s3://lab/silk", 3.0), ("./bone", 1.0)]
