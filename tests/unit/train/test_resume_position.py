"""A run resumed from its checkpoint draws the rows an uninterrupted run would have drawn (one CPU
process without Ray, checkpointing into a folder: the same worker function Ray Train runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cephalo_ray.train import loop
from cephalo_ray.train.loop import TrainSettings
from tests.helpers.single_process import as_single_process, crash_and_resume, training_rows


def test_a_resumed_run_continues_the_example_sequence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_single_process(monkeypatch)
    built: list[str] = []  # pair ids of the training examples built, in order

    def recording(row: dict[str, Any], processor: Any, settings: TrainSettings) -> Any:
        if not row["pair_id"].startswith("val"):
            built.append(row["pair_id"])
        return row_to_example(row, processor, settings)

    row_to_example = loop.row_to_example
    monkeypatch.setattr(loop, "row_to_example", recording)
    inputs = [training_rows(5, "a"), training_rows(3, "b")]  # two inputs: the weighted draws replay too
    val_rows = training_rows(1, "val")
    # the crashed run ran steps 1-5; its last checkpoint is at step 4
    whole, crashed, resumed = crash_and_resume(
        tmp_path,
        built,
        {"val_rows": val_rows, "input_rows": inputs},
        micro_batch_size=2,
        input_weights=[0.6, 0.4],
        seed=7,
    )
    assert len(whole) == 12 and len(crashed) == 10 and len(resumed) == 4
    assert crashed == whole[:10]
    assert resumed == whole[8:]  # steps 5 and 6, not the stream's beginning again
    assert resumed != whole[:4]
    state = json.loads((tmp_path / "interrupted" / "checkpoints" / "state.json").read_text())
    assert state["step"] == 6 and state["rows_drawn"] == {"0": 12}
    log = (tmp_path / "interrupted" / "metrics" / "steps-rank0.jsonl").read_text().splitlines()
    assert [json.loads(line)["rows_drawn"] for line in log] == [2, 4, 6, 8, 10, 10, 12]
