"""Every shipped training config runs 2 steps on a tiny model of its `model_type`, with its own LoRA
targets, freezing, masking and task (slow: one Ray Train fit per config)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cephalo_ray.config import load_config
from cephalo_ray.jobs import finetune_vlm
from cephalo_ray.jobs.finetune_vlm import TrainConfig
from cephalo_ray.merge.moe import build_moe
from cephalo_ray.merge.stacking import LayerSlice, stack_layers
from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.storage import Storage
from tests.helpers.roots import make_refine_root

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "train"
# The model_type each shipped config trains; a new config must be added here to be tested.
MODEL_TYPES = {
    "tiny.yaml": "idefics3",
    "idefics3-lora.yaml": "idefics3",
    "idefics2-lora.yaml": "idefics2",
    "cephalo-idefics2-lora.yaml": "idefics2",
    "llava-stage1.yaml": "llava",
    "llava-stage2.yaml": "llava",
    "stacked-layers.yaml": "stacked llava",  # a `cephalo merge` of two tiny LLaVAs
    "moe-router.yaml": "top-2 moe llava",  # a `cephalo moe` of two tiny LLaVAs
    "paligemma-lora.yaml": "paligemma",
    "mllama-lora.yaml": "mllama",
    "qwen2-vl-lora.yaml": "qwen2_vl",
}


def build_model(kind: str, folder: Path) -> None:
    """A tiny model of `kind`: a family name, or a merged / MoE model built from two of them."""
    if " " not in kind:
        build_tiny(kind, folder)
        return
    family = kind.rsplit(" ", 1)[1]
    sources = [folder.parent / f"source{seed}" for seed in (0, 1)]
    for seed, source in enumerate(sources):
        build_tiny(family, source, seed=seed)
    if kind.startswith("stacked"):
        slices = [LayerSlice("a", 0, 1), LayerSlice("b", 1, 1)]
        stack_layers({"a": str(sources[0]), "b": str(sources[1])}, "a", slices, folder)
    else:
        build_moe(str(sources[0]), [str(source) for source in sources], folder, experts_per_token=2)


def test_every_shipped_config_has_a_model_type() -> None:
    assert {path.name for path in CONFIGS.glob("*.yaml")} == set(MODEL_TYPES)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODEL_TYPES))
def test_shipped_config_runs_two_steps_on_a_tiny_model(name: str, ray_session: Any, tmp_path: Path) -> None:
    build_model(MODEL_TYPES[name], tmp_path / "tiny")
    make_refine_root(Storage(), str(tmp_path / "refined"), 4, val_every=2)
    overrides = [
        f"input={tmp_path / 'refined'}",
        f"output={tmp_path / 'run'}",
        f"model={tmp_path / 'tiny'}",
        "optim.max_steps=2",
        "optim.micro_batch_size=1",
        "optim.gradient_accumulation_steps=1",
        "max_length=256",
        "deepspeed.bf16=false",
        "resources.use_gpu=false",
        "resources.workers=1",
        "resources.cpus_per_worker=0.5",
    ]
    config = load_config(TrainConfig, CONFIGS / name, overrides=overrides)
    manifest = finetune_vlm.run(config)
    assert manifest["counts"]["step"] == 2 and manifest["counts"]["zero_stage"] == config.deepspeed.zero_stage
    assert (tmp_path / "run" / "model" / "config.json").exists()
