"""Restart by batch commits: a batch's data files are written first, its ledger file last.

A batch is named from its inputs, so a rerun that forms the same batch overwrites the same files.
Data files whose ledger file is missing belong to a run killed mid-commit: they are removed before a
rerun and never listed in a manifest, so nothing is duplicated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cephalo_ray.storage import Storage, join, name_of

if TYPE_CHECKING:
    import pyarrow as pa

PARQUET = ".parquet"


def batch_name(keys: Iterable[str]) -> str:
    """A deterministic file stem for a batch: the first 16 hex digits of sha256 over sorted keys."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    return f"part-{digest[:16]}"


def commit_batch(
    storage: Storage,
    root: str,
    name: str,
    data: Mapping[str, pa.Table | None],
    ledger_dir: str,
    ledger: pa.Table,
    fence: Callable[[], None] = lambda: None,
) -> None:
    """Write each non-empty data table to `root/<dir>/<name>.parquet`, then the ledger table last.

    `fence` runs before the data and again before the ledger; it raises to stop a stale writer.
    """
    fence()
    for directory, table in data.items():
        if table is not None and table.num_rows:
            storage.write_parquet(join(root, directory, name + PARQUET), table)
    fence()
    storage.write_parquet(join(root, ledger_dir, name + PARQUET), ledger)


def committed_names(storage: Storage, root: str, ledger_dir: str) -> set[str]:
    return {
        name_of(item.uri)[: -len(PARQUET)] for item in storage.list_files(join(root, ledger_dir), PARQUET)
    }


def data_files(storage: Storage, root: str, directory: str, committed: set[str]) -> list[str]:
    """Root-relative paths of the committed data files of one directory."""
    files = storage.list_files(join(root, directory), PARQUET)
    return [
        f"{directory}/{name_of(item.uri)}"
        for item in files
        if name_of(item.uri)[: -len(PARQUET)] in committed
    ]


def remove_uncommitted(storage: Storage, root: str, directories: Iterable[str], committed: set[str]) -> int:
    """Delete data files that no ledger file commits; returns how many were removed."""
    removed = 0
    for directory in directories:
        for item in storage.list_files(join(root, directory), PARQUET):
            if name_of(item.uri)[: -len(PARQUET)] not in committed:
                storage.delete(item.uri)
                removed += 1
    return removed


def committed_files(
    storage: Storage, root: str, directories: Iterable[str], committed: set[str]
) -> dict[str, list[str]]:
    """Per directory, the root-relative committed data files: a manifest's `files`."""
    return {directory: data_files(storage, root, directory, committed) for directory in directories}


def read_rows(storage: Storage, root: str, directory: str) -> list[dict[str, Any]]:
    """Every row of every Parquet file in `root/directory` (a ledger is small: no images)."""
    files = [item.uri for item in storage.list_files(join(root, directory), PARQUET)]
    table = storage.read_parquet(files)
    return table.to_pylist() if table is not None else []
