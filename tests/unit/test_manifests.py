"""Cluster definitions: KubeRay manifests (RayService serve configs pass Ray's own schema, RayJob
entrypoints name modules and configs that exist), launcher configs pass Ray's autoscaler schema."""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path

import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from cephalo_ray.serve.config import config_from_args

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((REPO_ROOT / "manifests").glob("*.yaml"))
JOB_MODULES = (
    "extract_figures",
    "refine_pairs",
    "finetune_vlm",
    "merge_layers",
    "build_moe",
    "batch_caption",
    "evaluate_models",
)


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


def rayjobs() -> list[Path]:
    return [path for path in MANIFESTS if yaml.safe_load(path.read_text()).get("kind") == "RayJob"]


def test_every_job_has_a_rayjob() -> None:
    modules = {shlex.split(yaml.safe_load(path.read_text())["spec"]["entrypoint"])[2] for path in rayjobs()}
    assert modules >= {f"cephalo_ray.jobs.{name}" for name in JOB_MODULES}


@pytest.mark.parametrize("path", rayjobs(), ids=lambda path: path.name)
def test_rayjob_entrypoints_name_a_module_and_config_that_exist(path: Path) -> None:
    spec = yaml.safe_load(path.read_text())["spec"]
    words = shlex.split(spec["entrypoint"])
    assert words[:2] == ["python", "-m"]
    module = importlib.import_module(words[2])
    assert callable(module.main) and module.__doc__ and "ray job submit" in module.__doc__
    config = REPO_ROOT / words[words.index("--config") + 1]
    assert config.is_file(), config
    cluster = "cephalo-archive" if path.stem.endswith("-archive") else "cephalo"
    assert spec["clusterSelector"] == {"ray.io/cluster": cluster}
    assert "AWS_SECRET_ACCESS_KEY" not in path.read_text()  # credentials come from the cluster


def test_the_archive_cluster_scales_its_cpu_workers_from_none_and_keeps_work_off_the_head() -> None:
    text = (REPO_ROOT / "manifests" / "raycluster-archive.yaml").read_text()
    cluster = yaml.safe_load(text)
    assert cluster["metadata"]["labels"] == {"ray.io/cluster": "cephalo-archive"}
    assert cluster["spec"]["enableInTreeAutoscaling"] is True
    assert cluster["spec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    groups = {group["groupName"]: group for group in cluster["spec"]["workerGroupSpecs"]}
    assert groups["cpu"]["minReplicas"] == 0 < groups["cpu"]["maxReplicas"]
    store = int(groups["cpu"]["rayStartParams"]["object-store-memory"])
    memory = groups["cpu"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]
    assert store <= int(memory.removesuffix("Gi")) * 2**30 / 2  # the object store leaves room for the work
    assert "secretRef" in text and "AWS_SECRET_ACCESS_KEY:" not in text
    job = yaml.safe_load((REPO_ROOT / "manifests" / "rayjob-extract-archive.yaml").read_text())
    assert "configs/extract/archive.yaml" in job["spec"]["entrypoint"]


def test_the_raycluster_keeps_credentials_out_of_the_manifest() -> None:
    text = (REPO_ROOT / "manifests" / "raycluster.yaml").read_text()
    cluster = yaml.safe_load(text)
    assert cluster["kind"] == "RayCluster" and cluster["metadata"]["name"] == "cephalo"
    groups = {group["groupName"] for group in cluster["spec"]["workerGroupSpecs"]}
    assert groups == {"cpu", "gpu"}
    assert "secretRef" in text and "AWS_SECRET_ACCESS_KEY:" not in text


@pytest.mark.parametrize("name", ["aws.yaml", "aws-archive.yaml", "local.yaml"])
def test_cluster_launcher_configs_pass_rays_autoscaler_schema(name: str) -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = yaml.safe_load((REPO_ROOT / "cluster" / name).read_text())
    validate_config(prepare_config(config))  # raises on unknown or missing keys


def test_the_job_upload_leaves_the_venv_and_data_behind() -> None:
    runtime_env = yaml.safe_load((REPO_ROOT / "cluster" / "runtime_env.yaml").read_text())
    assert {".venv/", "demo_out/", "*.safetensors", "*.pdf"} <= set(runtime_env["excludes"])
    assert ".venv/" in (REPO_ROOT / ".gitignore").read_text().split()  # `ray job submit` honours it too
