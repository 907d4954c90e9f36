"""A run resumed from its checkpoint draws the rows an uninterrupted run would have drawn (one CPU
process without Ray, checkpointing into a folder: the same worker function Ray Train runs)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.train import loop
from cephalo_ray.train.loop import InjectedFailure, TrainSettings, train_worker
from cephalo_ray.train.recipes import Recipe
from tests.helpers.single_process import as_single_process, training_rows


def test_a_resumed_run_continues_the_example_sequence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_single_process(monkeypatch)
    build_tiny("llava", tmp_path / "base")
    built: list[str] = []  # pair ids of the training examples built, in order

    def recording(row: dict[str, Any], processor: Any, settings: TrainSettings) -> Any:
        if not row["pair_id"].startswith("val"):
            built.append(row["pair_id"])
        return row_to_example(row, processor, settings)

    row_to_example = loop.row_to_example
    monkeypatch.setattr(loop, "row_to_example", recording)
    inputs = [training_rows(5, "a"), training_rows(3, "b")]  # two inputs: the weighted draws replay too
    val_rows = training_rows(1, "val")

    def run(name: str, fail_at_step: int | None = None) -> list[str]:
        built.clear()
        settings = TrainSettings(
            model=str(tmp_path / "base"),
            output_dir=str(tmp_path / name),
            recipe=asdict(Recipe(name="lora", lora_rank=4, lora_alpha=8)),
            max_steps=6,
            eval_every=6,
            checkpoint_every=2,
            micro_batch_size=2,
            vqa_samples=0,
            input_weights=[0.6, 0.4],
            seed=7,
            checkpoint_dir=str(tmp_path / name / "checkpoints"),
            fail_at_step=fail_at_step,
        )
        try:
            train_worker(asdict(settings), val_rows=val_rows, input_rows=inputs)
        except InjectedFailure:
            pass
        return list(built)

    whole = run("whole")
    crashed = run("interrupted", fail_at_step=5)  # steps 1-5 ran; the last checkpoint is at step 4
    resumed = run("interrupted")
    assert len(whole) == 12 and len(crashed) == 10 and len(resumed) == 4
    assert crashed == whole[:10]
    assert resumed == whole[8:]  # steps 5 and 6, not the stream's beginning again
    assert resumed != whole[:4]
    state = json.loads((tmp_path / "interrupted" / "checkpoints" / "state.json").read_text())
    assert state["step"] == 6 and state["rows_drawn"] == {"0": 12}
    log = (tmp_path / "interrupted" / "metrics" / "steps-rank0.jsonl").read_text().splitlines()
    assert [json.loads(line)["rows_drawn"] for line in log] == [2, 4, 6, 8, 10, 10, 12]
