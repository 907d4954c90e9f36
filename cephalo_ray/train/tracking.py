"""Experiment tracking: rank 0 logs a run's parameters, step metrics and final metrics to MLflow.

One MLflow run per training run name: a worker that resumes from a checkpoint continues the run it
started (found by its `cephalo.train_run` tag) instead of opening a second one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

RUN_TAG = "cephalo.train_run"
PARAMS_PER_CALL = 100  # MLflow's limit on parameters in one log_batch
PARAM_VALUE_LIMIT = 6000  # MLflow's limit on one parameter value's length


def flatten(tree: Mapping[Any, Any], prefix: str = "") -> dict[str, str]:
    """Nested config values as MLflow parameters: `{"optim": {"max_steps": 3}}` -> `{"optim.max_steps": "3"}`."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
            flat.update(flatten(dict(enumerate(value)), f"{prefix}{key}."))  # inputs.0.root
        else:
            flat[f"{prefix}{key}"] = str(value)[:PARAM_VALUE_LIMIT]
    return flat


def numeric(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numbers among `metrics` (booleans and lists left out)."""
    return {
        key: float(value)
        for key, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


class MlflowRun:
    """An MLflow run that rank 0 writes to through `MlflowClient` (no global `mlflow.start_run` state)."""

    def __init__(self, client: Any, run_id: str) -> None:
        self.client = client
        self.run_id = run_id

    @classmethod
    def start(cls, settings: Mapping[str, Any]) -> MlflowRun:
        """Open (or, resuming, reopen) the run named in `settings`: tracking_uri, experiment, run_name,
        params (the resolved config, flattened)."""
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=settings["tracking_uri"])
        experiment = client.get_experiment_by_name(settings["experiment"])
        experiment_id = (
            experiment.experiment_id if experiment else client.create_experiment(settings["experiment"])
        )
        earlier = client.search_runs(
            [experiment_id], filter_string=f"tags.`{RUN_TAG}` = '{settings['run_name']}'", max_results=1
        )
        if earlier:
            client.update_run(earlier[0].info.run_id, status="RUNNING")
            return cls(client, earlier[0].info.run_id)
        run = client.create_run(
            experiment_id, run_name=settings["run_name"], tags={RUN_TAG: settings["run_name"]}
        )
        params = [Param(key, value) for key, value in sorted(settings.get("params", {}).items())]
        for start in range(0, len(params), PARAMS_PER_CALL):
            client.log_batch(run.info.run_id, params=params[start : start + PARAMS_PER_CALL])
        return cls(client, run.info.run_id)

    def log(self, step: int, **values: float) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(name, float(value), now, step) for name, value in values.items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def finish(self, metrics: Mapping[str, Any]) -> None:
        """The final metrics as `final/<name>` (the step histories keep their own names), then done."""
        step = int(metrics.get("step", 0))
        self.log(step, **{f"final/{name}": value for name, value in numeric(metrics).items()})
        self.client.set_terminated(self.run_id, status="FINISHED")
