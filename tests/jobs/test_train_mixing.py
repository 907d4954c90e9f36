"""`cephalo train` over two refine roots mixed by weight, tracked in MLflow (a local Ray, 2 CPU workers)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from cephalo_ray.jobs import finetune_vlm
from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.storage import Storage
from cephalo_ray.train.mixing import weighted_choices
from tests.helpers.roots import make_refine_root
from tests.jobs.test_train_job import config_for


@pytest.mark.slow  # about 50 s: a Ray Train run tracked in MLflow
def test_two_weighted_roots_train_together_and_the_run_is_tracked_in_mlflow(
    ray_session: Any, tmp_path: Path
) -> None:
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    build_tiny("llava", tmp_path / "base")
    make_refine_root(Storage(), str(tmp_path / "silk"), 8)  # 6 train, 2 val
    make_refine_root(Storage(), str(tmp_path / "bone"), 12)  # 9 train, 3 val
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = config_for(
        tmp_path,
        "mixed",
        input=None,
        inputs=[
            {"root": str(tmp_path / "silk"), "weight": 0.75},
            {"root": str(tmp_path / "bone"), "weight": 0.25},
        ],
        recipe={"name": "lora", "lora_rank": 4, "lora_alpha": 8},
        optim={"max_steps": 6},
        eval_every=3,
        checkpoint_every=3,
        vqa_samples=0,
        tracking={"mlflow": {"tracking_uri": tracking_uri, "experiment": "mixing"}},
    )
    manifest = finetune_vlm.run(config)

    # Both workers draw the seeded mix in step: 6 steps x 2 rows each.
    expected = Counter(islice(weighted_choices([0.75, 0.25], config.seed), 12))
    inputs = manifest["inputs"]
    assert [item["rows_drawn"] for item in inputs] == [2 * expected[0], 2 * expected[1]]
    assert all(item["rows_drawn"] > 0 for item in inputs)  # it trained from both roots
    assert [(item["train_rows"], item["val_rows"]) for item in inputs] == [(6, 2), (9, 3)]
    assert [item["share_asked"] for item in inputs] == [0.75, 0.25]
    for item, name in zip(manifest["upstream"]["roots"], ("silk", "bone"), strict=True):
        assert item["uri"] == str(tmp_path / name) and item["job"] == "refine"
        assert item["digest"] == hashlib.sha256((tmp_path / name / "_manifest.json").read_bytes()).hexdigest()
    assert manifest["counts"]["step"] == 6

    client = MlflowClient(tracking_uri=tracking_uri)
    (run,) = client.search_runs([client.get_experiment_by_name("mixing").experiment_id])
    steps = [
        json.loads(line)
        for line in (tmp_path / "mixed" / "metrics" / "steps-rank0.jsonl").read_text().splitlines()
    ]
    logged = [(metric.step, metric.value) for metric in client.get_metric_history(run.info.run_id, "loss")]
    assert logged == [(record["step"], record["loss"]) for record in steps]
    assert [metric.step for metric in client.get_metric_history(run.info.run_id, "val_loss")] == [0, 3, 6]
    assert run.info.status == "FINISHED" and run.data.params["inputs.1.weight"] == "0.25"
    assert (
        run.data.params["optim.max_steps"] == "6"
        and run.data.tags["cephalo.train_run"] == manifest["train_run"]
    )
    assert run.data.metrics["final/val_loss"] == manifest["counts"]["val_loss"]
