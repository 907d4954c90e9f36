from __future__ import annotations

import time
from pathlib import Path

import pytest

from cephalo_ray.config import ConfigError
from cephalo_ray.output_root import (
    SupersededRunError,
    UpstreamError,
    build_manifest,
    read_manifest,
    read_upstream,
    refuse_changed_config,
    refuse_if_superseded,
    write_manifest,
)
from cephalo_ray.storage import Storage


def manifest(status: str, hashed: dict[str, object]) -> dict[str, object]:
    return build_manifest(
        job="extract",
        run_id="run-1",
        status=status,
        files={"pairs": ["pairs/b.parquet", "pairs/a.parquet"]},
        counts={"documents_in": 2},
        config={"output": "x", **hashed},
        hashed_config=hashed,
        started_at=time.time(),
    )


def test_manifest_roundtrip_sorted_files_and_versions(tmp_path: Path) -> None:
    storage = Storage()
    write_manifest(storage, str(tmp_path), manifest("complete", {"dpi": 150}))
    loaded = read_manifest(storage, str(tmp_path))
    assert loaded is not None
    assert loaded["files"]["pairs"] == ["pairs/a.parquet", "pairs/b.parquet"]
    assert loaded["versions"]["cephalo_ray"] and loaded["versions"]["python"]
    assert len(loaded["config_hash"]) == 64
    assert read_manifest(storage, str(tmp_path / "none")) is None


def test_changed_config_is_refused_naming_keys() -> None:
    existing = manifest("complete", {"dpi": 150, "input": "a"})
    refuse_changed_config(existing, "extract", {"dpi": 150, "input": "a"})
    refuse_changed_config(None, "extract", {"dpi": 1})
    with pytest.raises(ConfigError) as raised:
        refuse_changed_config(existing, "extract", {"dpi": 300, "input": "a"})
    assert "`dpi`: 150 -> 300" in str(raised.value)
    with pytest.raises(ConfigError, match="output of `extract`"):
        refuse_changed_config(existing, "refine", {"dpi": 150, "input": "a"})


def test_upstream_missing_or_partial_is_refused(tmp_path: Path) -> None:
    storage = Storage()
    with pytest.raises(UpstreamError, match="no _manifest.json"):
        read_upstream(storage, str(tmp_path))
    write_manifest(storage, str(tmp_path), manifest("partial", {}))
    with pytest.raises(UpstreamError, match="--allow-partial"):
        read_upstream(storage, str(tmp_path))
    loaded, digest = read_upstream(storage, str(tmp_path), allow_partial=True)
    assert loaded["status"] == "partial" and len(digest) == 64
    write_manifest(storage, str(tmp_path), manifest("complete", {}))
    _, new_digest = read_upstream(storage, str(tmp_path))
    assert new_digest != digest


def test_only_the_current_run_may_commit(tmp_path: Path) -> None:
    storage = Storage()
    with pytest.raises(SupersededRunError):
        refuse_if_superseded(storage, str(tmp_path), "run-1")  # no manifest: nobody owns the root
    write_manifest(storage, str(tmp_path), manifest("partial", {}))
    refuse_if_superseded(storage, str(tmp_path), "run-1")
    with pytest.raises(SupersededRunError, match="superseded by run run-1"):
        refuse_if_superseded(storage, str(tmp_path), "run-0")
