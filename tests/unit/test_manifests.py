"""Kubernetes manifests: RayService serve configs pass Ray's own schema, and ours resolve to a valid
`cephalo serve` config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from jobs.serve import config_from_args

MANIFESTS = sorted((Path(__file__).resolve().parents[2] / "manifests").glob("*.yaml"))


def ray_services() -> list[Path]:
    return [path for path in MANIFESTS if yaml.safe_load(path.read_text()).get("kind") == "RayService"]


def test_there_is_a_rayservice_for_our_app() -> None:
    imports = [
        application["import_path"]
        for path in ray_services()
        for application in yaml.safe_load(yaml.safe_load(path.read_text())["spec"]["serveConfigV2"])[
            "applications"
        ]
    ]
    assert "cephalo_ray.serve.app:build_app" in imports


@pytest.mark.parametrize("path", ray_services(), ids=lambda path: path.name)
def test_serve_config_v2_passes_rays_schema(path: Path) -> None:
    serve_config = yaml.safe_load(yaml.safe_load(path.read_text())["spec"]["serveConfigV2"])
    schema = ServeDeploySchema.model_validate(serve_config)
    for application in schema.applications:
        if application.import_path == "cephalo_ray.serve.app:build_app":
            config = config_from_args(dict(application.args))
            assert (
                config.api_key_env
                and config.host == "0.0.0.0"
                and len(config.served_names()) == len(config.models)
            )
