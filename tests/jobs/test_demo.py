"""`cephalo demo` end to end, as `make demo` runs it: the fine-tuned tiny model answers the closed
questions of held-out documents from their images, well above guessing and the untrained model, and
so do the models built from it: the stacked one (an identity block added) and the MoE (its fine-tuned
MLPs as the expert the router weights the figure questions towards)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow  # 2 to 4 minutes on 2 cores
@pytest.mark.timeout(900)
def test_the_fine_tuned_model_beats_guessing_on_held_out_documents(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    command = [sys.executable, "-m", "cephalo_ray.jobs.demo", str(tmp_path / "demo")]
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=840)
    assert finished.returncode == 0, finished.stderr[-3000:]
    manifest = json.loads((tmp_path / "demo" / "eval" / "_manifest.json").read_text())
    refined = json.loads((tmp_path / "demo" / "refined" / "_manifest.json").read_text())
    assert manifest["upstream"]["digest"] and manifest["config"]["split"] == "val"
    assert refined["counts"]["split"]["val_documents"] >= 10  # whole documents the model never saw
    exact = {name: values["exact_match"] for name, values in manifest["scores"].items()}
    baselines = {name: values["exact_match"] for name, values in manifest["baselines"].items()}
    assert manifest["scores"]["fine-tuned"]["short_answers"] >= 60
    assert 0.3 <= baselines["chance"] <= 0.5 and baselines["majority"] < 0.7
    assert exact["fine-tuned"] >= 0.6
    assert exact["fine-tuned"] >= baselines["chance"] + 0.2
    assert exact["fine-tuned"] >= baselines["majority"] + 0.1  # more than the answer prior: the image
    assert exact["fine-tuned"] >= exact["untrained"] + 0.3
    # an identity block computes nothing: the stacked model answers as the fine-tuned one
    assert exact["stacked"] == pytest.approx(exact["fine-tuned"], abs=0.02)
    assert exact["moe"] >= baselines["chance"] + 0.2 and exact["moe"] >= baselines["majority"] + 0.1
    assert exact["moe"] >= exact["untrained"] + 0.3
    by_question = manifest["exact_by_question"]["fine-tuned"]
    chance = manifest["baselines"]["chance"]["by_question"]
    assert all(by_question[question] > chance[question] for question in chance)
    table = (tmp_path / "demo" / "eval" / "scores.md").read_text()
    assert "| untrained |" in table and "| fine-tuned |" in table and "| *chance* |" in table
    assert "| stacked |" in table and "| moe |" in table
