"""The output-root convention shared by every job.

```
OUT/<rows>/*.parquet   the job's rows
OUT/errors/*.parquet   one row per input that produced nothing
OUT/_manifest.json     status, data files, counts, resolved config and its hash, versions, timings,
                       the upstream manifest's digest; written at start (partial) and LAST (final)
OUT/_files/<sha>.jsonl the committed data files, one JSON line each (directory, path, bytes): the
                       manifest names this list and summarises it, and lists the files itself only
                       while they are few (`INLINE_FILES`)
```
Read a manifest's files with `manifest_files` (or `read_upstream`, which fills them in).
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
FILE_LIST_DIR = "_files"
FILE_LIST_SUFFIX = ".jsonl"
# Up to this many files the manifest also lists them itself (readers of small roots keep reading
# `files`); past it, only the file list by reference names them, so the manifest stays small.
INLINE_FILES = 1000
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
    if "file_list" in manifest:
        remove_unnamed_file_lists(storage, root, manifest)


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
    # the digest covers the file list too: the manifest records the list's sha256
    manifest["files"] = manifest_files(storage, root, manifest)
    return manifest, hashlib.sha256(raw).hexdigest()


def file_list_lines(listing: Mapping[str, Mapping[str, int]]) -> bytes:
    """The file list's bytes: one JSON line per file (directory, root-relative path, bytes), sorted."""
    lines = [
        json.dumps({"directory": directory, "path": path, "bytes": size}, sort_keys=True)
        for directory in sorted(listing)
        for path, size in sorted(listing[directory].items())
    ]
    return "".join(line + "\n" for line in lines).encode()


def summarise_files(
    listing: Mapping[str, Mapping[str, int]], path: str, digest: str, inline_limit: int = INLINE_FILES
) -> dict[str, Any]:
    """The manifest's `file_list` (counts and bytes, in all and per directory, and where the list is)
    and, while there are at most `inline_limit` files, `files` itself."""
    by_directory = {
        directory: {"files": len(sizes), "bytes": sum(sizes.values())} for directory, sizes in listing.items()
    }
    summary: dict[str, Any] = {
        "file_list": {
            "path": path,
            "sha256": digest,
            "files": sum(item["files"] for item in by_directory.values()),
            "bytes": sum(item["bytes"] for item in by_directory.values()),
            "by_directory": by_directory,
        }
    }
    if summary["file_list"]["files"] <= inline_limit:
        summary["files"] = {directory: sorted(sizes) for directory, sizes in listing.items()}
    return summary


def attach_file_list(
    storage: Storage,
    root: str,
    manifest: Mapping[str, Any],
    listing: Mapping[str, Mapping[str, int]],
    inline_limit: int | None = None,
) -> dict[str, Any]:
    """Write the file list (directory -> root-relative path -> bytes) beside the manifest and return
    the manifest naming it. The list is named by its content, so a manifest never names a list that
    a later writer replaced; lists no manifest names are removed when the manifest is written."""
    data = file_list_lines(listing)
    digest = hashlib.sha256(data).hexdigest()
    path = f"{FILE_LIST_DIR}/{digest[:16]}{FILE_LIST_SUFFIX}"
    storage.write_bytes(join(root, path), data)  # first: the manifest names it only once it is whole
    named = {key: value for key, value in manifest.items() if key != "files"}
    named.update(
        summarise_files(listing, path, digest, INLINE_FILES if inline_limit is None else inline_limit)
    )
    return named


def remove_unnamed_file_lists(storage: Storage, root: str, manifest: Mapping[str, Any]) -> None:
    named = (manifest.get("file_list") or {}).get("path")
    for item in storage.list_files(join(root, FILE_LIST_DIR), FILE_LIST_SUFFIX):
        if item.uri != (join(root, named) if named else None):
            storage.delete(item.uri)


def manifest_files(storage: Storage, root: str, manifest: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per directory, the root-relative files a manifest names: those it lists itself, else those of
    its file list (checked against the sha256 it records).

    Raises:
        UpstreamError: when the file list is missing or is not the one the manifest names.
    """
    if "files" in manifest:
        return {directory: list(names) for directory, names in manifest["files"].items()}
    reference = manifest.get("file_list")
    if not reference:
        return {}
    uri = join(root, reference["path"])
    try:
        data = storage.read_bytes(uri)
    except OSError as error:
        raise UpstreamError(
            f"{root}: the manifest's file list {reference['path']} cannot be read: {error}"
        ) from None
    if hashlib.sha256(data).hexdigest() != reference["sha256"]:
        raise UpstreamError(f"{root}: {reference['path']} is not the file list the manifest names")
    files: dict[str, list[str]] = {directory: [] for directory in reference.get("by_directory", {})}
    for line in data.decode().splitlines():
        entry = json.loads(line)
        files.setdefault(entry["directory"], []).append(entry["path"])
    return files


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
