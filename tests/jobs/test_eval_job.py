"""`cephalo eval`: a tiny model and hand-made answers side by side on a known refine root."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from cephalo_ray.jobs import evaluate_models
from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.storage import Storage
from tests.helpers.eval_fixture import EXPECTED, handmade_answers, write_eval_root


def test_eval_reproduces_the_hand_computed_row_beside_a_model(
    ray_session: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_eval_root(Storage(), str(tmp_path / "refined"))
    build_tiny("llava", tmp_path / "runs" / "tiny" / "model")
    answers = tmp_path / "handmade.jsonl"
    answers.write_text(
        "".join(json.dumps({"id": key, "answer": value}) + "\n" for key, value in handmade_answers().items())
    )
    arguments = [
        str(tmp_path / "refined"),
        "--model",
        str(tmp_path / "runs" / "tiny" / "model"),
        "--answers",
        str(answers),
    ]
    arguments += [
        "--output",
        str(tmp_path / "eval"),
        "pope_per_image=1",
        "max_tokens=8",
        "resources.num_cpus=0.5",
    ]
    assert evaluate_models.main(arguments) == 0
    scores = json.loads((tmp_path / "eval" / "scores.json").read_text())
    assert list(scores) == ["tiny", "handmade"]
    assert scores["handmade"] == EXPECTED
    assert scores["tiny"]["qa_questions"] == 3 and scores["tiny"]["pope_questions"] == 4
    assert 0 <= scores["tiny"]["token_f1"] <= 1
    table = capsys.readouterr().out
    assert (
        "| handmade | 0.500 | 1.000 | 0.667 | 0.667 | 0.500 | 0.500 | 0.500 |" in table
        and "| tiny |" in table
    )
    recorded = pq.read_table(tmp_path / "eval" / "answers.parquet").to_pylist()
    assert len(recorded) == 2 * 7 and all(row["answer"] for row in recorded if row["model"] == "tiny")
    manifest = json.loads((tmp_path / "eval" / "_manifest.json").read_text())
    assert manifest["job"] == "eval" and manifest["counts"] == {"images": 2, "questions": 7, "models": 2}


def test_eval_needs_something_to_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate_models.main([str(tmp_path / "refined")]) == 2
    assert "--model or --answers" in capsys.readouterr().err
