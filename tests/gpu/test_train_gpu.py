"""bf16 + ZeRO-3 on one GPU, without Ray (the path checked on machines that have no Ray)."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.train.loop import TrainSettings, train_worker
from cephalo_ray.train.recipes import Recipe
from tests.helpers.single_process import as_single_process, training_rows

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def test_bf16_zero3_on_one_gpu_without_ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    as_single_process(monkeypatch)
    build_tiny("idefics3", tmp_path / "base")
    rows = training_rows(8)
    settings = TrainSettings(
        model=str(tmp_path / "base"),
        output_dir=str(tmp_path / "run"),
        recipe=asdict(Recipe(name="full", train_language_model=True)),
        zero_stage=3,
        bf16=True,
        max_steps=10,
        eval_every=5,
        learning_rate=3e-3,
        micro_batch_size=4,
    )
    metrics = train_worker(asdict(settings), rows=rows, val_rows=rows[:2])
    assert metrics["zero_stage"] == 3 and metrics["val_loss"] < metrics["base_val_loss"]
    assert (tmp_path / "run" / "model" / "config.json").exists()
    assert os.environ["WORLD_SIZE"] == "1"


def test_qlora_loads_four_bit_and_trains_on_one_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("bitsandbytes")
    as_single_process(monkeypatch)
    build_tiny("llava", tmp_path / "base")
    rows = training_rows(8)
    settings = TrainSettings(
        model=str(tmp_path / "base"),
        output_dir=str(tmp_path / "run"),
        recipe=asdict(Recipe(name="lora")),
        quantize_4bit=True,
        gradient_checkpointing=True,
        bf16=True,
        max_steps=10,
        eval_every=5,
        learning_rate=3e-3,
        micro_batch_size=4,
        vqa_samples=0,
    )
    metrics = train_worker(asdict(settings), rows=rows, val_rows=rows[:2])
    assert metrics["quantized_4bit"] and metrics["gradient_checkpointing"]
    assert metrics["val_loss"] < metrics["base_val_loss"]
