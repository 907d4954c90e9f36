from __future__ import annotations

import time
from pathlib import Path

import pytest

from cephalo_ray.config import ConfigError
from cephalo_ray.output_root import (
    FILE_LIST_DIR,
    SupersededRunError,
    UpstreamError,
    attach_file_list,
    build_manifest,
    manifest_files,
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


LISTING = {
    "pairs": {"pairs/part-b.parquet": 300, "pairs/part-a.parquet": 100},
    "documents": {"documents/part-a.parquet": 20},
    "errors": {},
}


def test_file_list_by_reference_round_trips(tmp_path: Path) -> None:
    storage = Storage()
    root = str(tmp_path)
    summarised = attach_file_list(storage, root, manifest("complete", {}), LISTING, inline_limit=2)
    write_manifest(storage, root, summarised)
    written = read_manifest(storage, root)
    assert written is not None and "files" not in written  # three files: past the inline limit
    assert written["file_list"]["files"] == 3 and written["file_list"]["bytes"] == 420
    assert written["file_list"]["by_directory"]["pairs"] == {"files": 2, "bytes": 400}
    expected = {
        "documents": ["documents/part-a.parquet"],
        "errors": [],
        "pairs": ["pairs/part-a.parquet", "pairs/part-b.parquet"],
    }
    assert manifest_files(storage, root, written) == expected
    upstream, _ = read_upstream(storage, root)  # downstream jobs read `files` as before
    assert upstream["files"] == expected
    # few files: listed in the manifest as well, the same as by reference
    inline = attach_file_list(storage, root, manifest("complete", {}), LISTING)
    assert inline["files"] == expected and inline["file_list"] == {**written["file_list"]}
    # a later manifest's list replaces the earlier one; a list that is not the named one is refused
    smaller = attach_file_list(storage, root, manifest("complete", {}), {"pairs": {"pairs/c.parquet": 1}}, 0)
    write_manifest(storage, root, smaller)
    assert [path.name for path in (tmp_path / FILE_LIST_DIR).iterdir()] == [
        Path(smaller["file_list"]["path"]).name
    ]
    (tmp_path / smaller["file_list"]["path"]).write_text('{"directory": "pairs", "path": "x", "bytes": 1}\n')
    with pytest.raises(UpstreamError, match="not the file list"):
        read_upstream(storage, root)


def test_a_manifest_without_files_or_list_names_none(tmp_path: Path) -> None:
    bare = {key: value for key, value in manifest("complete", {}).items() if key != "files"}
    assert manifest_files(Storage(), str(tmp_path), bare) == {}
