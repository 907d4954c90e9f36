"""Every YAML we ship loads into its job's config (torchtune's rule)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from cephalo_ray.cli import VERBS
from cephalo_ray.config import StrictModel, load_config

CONFIG_ROOT = Path(__file__).resolve().parents[2] / "configs"
# configs/<verb>/*.yaml belong to the job of that verb; the job module names its config class
CONFIG_CLASS = {
    "extract": "ExtractConfig",
    "inspect": "InspectConfig",
    "refine": "RefineConfig",
    "export": "ExportConfig",
    "train": "TrainConfig",
    "demo": "DemoConfig",
    "merge": "MergeConfig",
    "moe": "MoeConfig",
    "serve": "ServeConfig",
    "caption": "CaptionConfig",
    "eval": "EvalConfig",
}
SHIPPED = sorted(CONFIG_ROOT.glob("*/*.yaml"))


def test_configs_are_shipped() -> None:
    assert {path.parent.name for path in SHIPPED} >= {"extract", "inspect", "refine", "demo"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_shipped_yaml_loads(path: Path) -> None:
    verb = path.parent.name
    module = importlib.import_module(VERBS[verb][0])
    model: type[StrictModel] = getattr(module, CONFIG_CLASS[verb])
    required = [
        f"{key}={value}" for key, value in (("input", "in"), ("output", "out")) if key in model.model_fields
    ]
    config = load_config(model, path, overrides=required)
    assert isinstance(config, model)
