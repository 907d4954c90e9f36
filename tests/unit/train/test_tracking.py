"""MLflow tracking of a training run: flattened params, step metrics, and one run per training run
name (a resumed worker continues it), on a local sqlite store."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from cephalo_ray.train.tracking import MlflowRun, flatten, numeric

pytest.importorskip("mlflow")


def test_config_is_flattened_into_dotted_params() -> None:
    config = {"optim": {"max_steps": 3, "learning_rate": 0.1}, "inputs": [{"root": "a", "weight": 0.5}]}
    assert flatten(config) == {
        "optim.max_steps": "3",
        "optim.learning_rate": "0.1",
        "inputs.0.root": "a",
        "inputs.0.weight": "0.5",
    }
    assert numeric({"loss": 1, "ok": True, "rates": [1.0], "name": "x"}) == {"loss": 1.0}


def test_a_reopened_run_continues_instead_of_starting_another(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    settings: dict[str, Any] = {
        "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "experiment": "unit",
        "run_name": "train-abc",
        "params": {"optim.max_steps": "2"},
    }
    first = MlflowRun.start(settings)
    first.log(1, loss=2.5)
    again = MlflowRun.start(settings)  # a worker restarted from a checkpoint
    assert again.run_id == first.run_id
    again.log(2, loss=1.5)
    again.finish({"step": 2, "loss": 1.5, "learning_rates": [0.1]})
    client = MlflowClient(tracking_uri=settings["tracking_uri"])
    run = client.get_run(first.run_id)
    assert run.info.status == "FINISHED" and run.data.params == {"optim.max_steps": "2"}
    assert [(m.step, m.value) for m in client.get_metric_history(first.run_id, "loss")] == [
        (1, 2.5),
        (2, 1.5),
    ]
    assert run.data.metrics["final/loss"] == 1.5


def test_tracking_without_mlflow_installed_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from cephalo_ray.config import ConfigError
    from cephalo_ray.jobs.finetune_vlm import check_tracking_installed

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "mlflow" else find_spec(name)
    )
    with pytest.raises(ConfigError, match=r"mlflow is not installed: pip install 'cephalo_ray\[tracking\]'"):
        check_tracking_installed("sqlite:///x.db")
