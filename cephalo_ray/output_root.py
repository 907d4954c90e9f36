"""The output-root convention shared by every job.

```
OUT/<rows>/*.parquet   the job's rows
OUT/errors/*.parquet   one row per input that produced nothing
OUT/_manifest.json     status, data files, counts, resolved config and its hash, versions, timings,
                       the upstream manifest's digest; written at start (partial) and LAST (final)
```
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from cephalo_ray.config import ConfigError, changed_keys, config_hash
from cephalo_ray.errors import JobError
from cephalo_ray.storage import Storage, join

MANIFEST_NAME = "_manifest.json"
STATUS_COMPLETE = "complete"
STATUS_PARTIAL = "partial"
VERSIONED_PACKAGES = ("cephalo_ray", "ray", "pyarrow", "pymupdf", "pydantic", "torch", "transformers")


class UpstreamError(JobError):
    """An upstream root that is missing, unreadable or unfinished."""


class SupersededRunError(RuntimeError):
    """A worker of an older run of the job (killed, but not yet dead) tried to commit."""


def refuse_if_superseded(storage: Storage, root: str, run_id: str) -> None:
    """Fence commits: only the run named in the root's manifest may add files to it.

    Raises:
        SupersededRunError: when a newer run has taken the root over.
    """
    manifest = read_manifest(storage, root)
    current = manifest.get("run_id") if manifest else None
    if current != run_id:
        raise SupersededRunError(f"run {run_id} was superseded by run {current} of the same output root")


def manifest_uri(root: str) -> str:
    return join(root, MANIFEST_NAME)


def read_manifest(storage: Storage, root: str) -> dict[str, Any] | None:
    """The manifest of an output root, or None when there is none yet."""
    uri = manifest_uri(root)
    if not storage.exists(uri):
        return None
    manifest: dict[str, Any] = json.loads(storage.read_bytes(uri))
    return manifest


def write_manifest(storage: Storage, root: str, manifest: Mapping[str, Any]) -> None:
    storage.write_bytes(manifest_uri(root), json.dumps(manifest, indent=2, sort_keys=True).encode())


def software_versions() -> dict[str, str]:
    """Versions of the packages that shape a job's output (those installed)."""
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def refuse_changed_config(
    existing: Mapping[str, Any] | None, job: str, hashed_config: Mapping[str, Any]
) -> None:
    """Stop a rerun into a root made by another job or with other output-shaping settings.

    Raises:
        ConfigError: naming the changed keys and the two ways out.
    """
    if existing is None:
        return
    if existing.get("job") != job:
        raise ConfigError(
            f"the output root holds the output of `{existing.get('job')}`, not `{job}`; choose another output"
        )
    if existing.get("config_hash") == config_hash(hashed_config):
        return
    changed = changed_keys(existing.get("hashed_config", {}), hashed_config)
    details = ", ".join(
        f"`{key}`: {lookup(existing.get('hashed_config', {}), key)!r} -> {lookup(hashed_config, key)!r}"
        for key in changed
    )
    raise ConfigError(
        f"the output root was written with a different config ({details}); "
        "rerun with the original values to resume, or write to a new output root"
    )


def lookup(tree: Mapping[str, Any], dotted_key: str) -> Any:
    node: Any = tree
    for part in dotted_key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def read_upstream(storage: Storage, root: str, allow_partial: bool = False) -> tuple[dict[str, Any], str]:
    """Read the manifest of an upstream root and its digest, refusing a missing or partial one.

    Returns:
        The manifest and the sha256 of its bytes (recorded downstream as `upstream.digest`).
    """
    uri = manifest_uri(root)
    if not storage.exists(uri):
        raise UpstreamError(
            f"{root} has no {MANIFEST_NAME}: it is not a finished output root of a cephalo job"
        )
    raw = storage.read_bytes(uri)
    manifest: dict[str, Any] = json.loads(raw)
    if manifest.get("status") != STATUS_COMPLETE and not allow_partial:
        raise UpstreamError(
            f"{root} is {manifest.get('status')!r}, not complete: rerun its job to finish it, "
            "or pass --allow-partial to use what it has"
        )
    return manifest, hashlib.sha256(raw).hexdigest()


def build_manifest(
    *,
    job: str,
    run_id: str,
    status: str,
    files: Mapping[str, list[str]],
    counts: Mapping[str, Any],
    config: Mapping[str, Any],
    hashed_config: Mapping[str, Any],
    started_at: float,
    upstream: Mapping[str, Any] | None = None,
    extra_timings: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The manifest document; file paths are relative to the root."""
    finished_at = time.time()
    return {
        "job": job,
        "run_id": run_id,
        "status": status,
        "files": {kind: sorted(names) for kind, names in files.items()},
        "counts": dict(counts),
        "config": dict(config),
        "hashed_config": dict(hashed_config),
        "config_hash": config_hash(hashed_config),
        "versions": software_versions(),
        "timings": {
            "started_at": started_at,
            "finished_at": finished_at,
            "seconds": round(finished_at - started_at, 3),
            **(extra_timings or {}),
        },
        "upstream": dict(upstream) if upstream else None,
    }
