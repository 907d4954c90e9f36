"""What the merge and MoE jobs share: config sections, a Ray task with the configured resources, an
output root (local or s3://) that holds `model/` and `_manifest.json`, and the skip of a finished build.

The model is written to a staging folder and moved (or uploaded) into `OUT/model/` only when it is
whole, so an interrupted build never leaves a half-written model behind the manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import Field

from cephalo_ray.config import StorageConfig, StrictModel


class SurgeryResources(StrictModel):
    num_cpus: float = Field(1.0, gt=0, description="CPUs of the Ray task that builds the model")
    num_gpus: float = Field(0.0, ge=0, description="GPUs of the Ray task (router fitting runs there)")
    memory_gb: float | None = Field(None, gt=0, description="memory reserved for the task (Ray's `memory`)")
    local_num_cpus: int | None = Field(None, ge=1, description="CPUs of a local Ray (default: all)")


def local_model(name_or_path: str, storage_config: dict[str, Any]) -> str:
    """A local folder holding the model: s3:// folders are fetched into the model cache."""
    from cephalo_ray.models.loader import local_model_dir
    from cephalo_ray.storage import Storage

    storage = Storage(storage_config.get("s3_endpoint_url"), storage_config.get("s3_region"))
    folder = local_model_dir(name_or_path, storage)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"{name_or_path} is not a local folder or s3:// prefix; hub models must be downloaded first "
            "(huggingface-cli download NAME --local-dir DIR), since merging reads the checkpoint files"
        )
    return folder


def refuse_remote_code_early(models: Iterable[str], trust_remote_code: bool) -> None:
    """Stop the job before Ray starts when a local model runs code of its own and the config does not
    allow it (models on s3:// are checked once fetched, in the build).

    Raises:
        JobError: naming the model, its code files and `trust_remote_code`.
    """
    from cephalo_ray.errors import JobError
    from cephalo_ray.merge.checkpoint import remote_code_refusal
    from cephalo_ray.storage import is_s3

    for model in models:
        config_file = Path(model, "config.json")
        if is_s3(model) or not config_file.is_file():
            continue
        message = remote_code_refusal(json.loads(config_file.read_text()), model, trust_remote_code)
        if message:
            raise JobError(message)


def publish_model(staging: Path, output: str, storage_config: dict[str, Any]) -> None:
    """Move (local) or upload (s3://) a finished model folder to `OUT/model/`."""
    from cephalo_ray.storage import Storage, is_s3, join

    if is_s3(output):
        storage = Storage(storage_config.get("s3_endpoint_url"), storage_config.get("s3_region"))
        for path in sorted(staging.rglob("*")):
            if path.is_file():
                storage.write_bytes(
                    join(output, "model", *path.relative_to(staging).parts), path.read_bytes()
                )
        shutil.rmtree(staging, ignore_errors=True)
        return
    target = Path(output, "model")
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)


def staging_folder(output: str) -> Path:
    """Where the model is built: beside `OUT/model/` for a local root (same disk), else a temp folder."""
    from cephalo_ray.storage import is_s3

    if is_s3(output):
        return Path(tempfile.mkdtemp(prefix="cephalo-build-"))
    Path(output).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".model-building-", dir=output))


def run_build(
    job: str,
    config: Any,
    build: Callable[[dict[str, Any], str], dict[str, Any]],
    build_config: dict[str, Any],
    resources: SurgeryResources,
    storage_config: StorageConfig,
) -> dict[str, Any]:
    """Run `build(build_config, staging_folder)` as a Ray task and write the manifest of `config.output`.

    `build_config` is the job's config with local model folders made absolute. A root that already
    holds a complete build of the same config is left as it is.
    """
    import ray

    from cephalo_ray.ray_session import connect_ray
    from cephalo_ray.restart import RootLayout, RootRun, Summary
    from cephalo_ray.storage import Storage, is_s3, join

    output = config.output if is_s3(config.output) else os.path.abspath(config.output)
    storage = Storage(storage_config.s3_endpoint_url, storage_config.s3_region)
    root = RootRun(
        storage,
        output,
        RootLayout(job=job),
        config=config.model_dump(),
        # trust_remote_code permits a build without shaping it: a root built before the key existed resumes
        hashed_config=config.model_dump(exclude={"output", "resources", "storage", "trust_remote_code"}),
    )
    with root:
        finished = root.finished_before()
        if finished:
            print(
                f"{job}: {join(output, 'model')} is already built with this config; nothing to do",
                file=sys.stderr,
            )
            return finished
        options: dict[str, Any] = {"num_cpus": resources.num_cpus, "num_gpus": resources.num_gpus}
        if resources.memory_gb:
            options["memory"] = int(resources.memory_gb * 1024**3)
        started_here = connect_ray(resources.local_num_cpus)
        try:
            task = ray.remote(**options)(build_and_publish)
            details = ray.get(task.remote(build, build_config, output, storage_config.model_dump()))
        finally:
            if started_here:
                ray.shutdown()
        counts = {key: value for key, value in details.items() if isinstance(value, (int, float))}
        return root.finish(
            lambda _: Summary(counts, True, extra={"details": details}, files={"model": ["model/"]})
        )


def build_and_publish(
    build: Callable[[dict[str, Any], str], dict[str, Any]],
    config: dict[str, Any],
    output: str,
    storage_config: dict[str, Any],
) -> dict[str, Any]:
    """The body of the Ray task: build into a staging folder, then publish it as `OUT/model/`."""
    from cephalo_ray.errors import JobError
    from cephalo_ray.merge.checkpoint import CheckpointError

    staging = staging_folder(output)
    try:
        started = time.time()
        try:
            details = build(config, str(staging))
        except CheckpointError as error:  # the models do not fit the recipe: one line, as a config error
            raise JobError(str(error)) from error
        details["build_seconds"] = round(time.time() - started, 3)
        publish_model(staging, output, storage_config)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return details
