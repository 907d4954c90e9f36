"""Restart by batch commits: a batch's data files are written first, its ledger file last.

A batch is named from its inputs, so a rerun that forms the same batch overwrites the same files.
Data files whose ledger file is missing belong to a run killed mid-commit: they are removed before a
rerun and never listed in a manifest, so nothing is duplicated. A batch retried in other groupings
(Ray Data re-running the work of a lost node), or an item retried by a later run, commits some keys
twice under other names; `drop_recommitted` leaves each key in the latest commit that holds it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cephalo_ray.storage import Storage, join, name_of

if TYPE_CHECKING:
    import pyarrow as pa

PARQUET = ".parquet"
COMMITTED_AT = "committed_at"  # ledger column: when its commit was made (orders retries)


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


def drop_recommitted(
    storage: Storage,
    root: str,
    links: Mapping[str, tuple[str, str]],
    ledger_dir: str,
    key_columns: Sequence[str],
    fence: Callable[[], None] = lambda: None,
) -> tuple[list[dict[str, Any]], int]:
    """Leave every ledger key committed once: in the latest commit that holds it.

    Commits are ordered by their ledger's `committed_at` stamp, then by name. The latest attempt
    wins, so a retried item's new outcome replaces its old error row; two commits of one attempt
    (Ray Data regrouping the work of a lost node) hold the same outcome, and either may stay.
    A commit holding keys that a later one holds is committed again under a new deterministic name
    without those rows (its data rows follow their ledger rows through `links`: data directory ->
    (data column, ledger column)), and only then uncommitted; a commit left empty is uncommitted.
    Killed midway, the next call finishes the work. Run it while no worker commits.

    Returns:
        The ledger rows afterwards, and how many commits were rewritten or removed.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    names = sorted(committed_names(storage, root, ledger_dir))
    ledgers = {name: read_table(storage, join(root, ledger_dir, name + PARQUET)) for name in names}
    seen: set[tuple[Any, ...]] = set()
    plans: dict[str, tuple[list[int], str | None]] = {}
    for name in sorted(names, key=lambda name: (commit_stamp(ledgers[name]), name), reverse=True):
        keys = list(zip(*(ledgers[name].column(column).to_pylist() for column in key_columns), strict=True))
        kept = []
        for index, key in enumerate(keys):
            if key not in seen:
                seen.add(key)
                kept.append(index)
        if len(kept) < len(keys):
            target = batch_name([name, *(repr(keys[index]) for index in kept)]) if kept else None
            plans[name] = (kept, target)
    # A rewrite killed after its commit left its target committed too: that one is kept, not removed.
    finals = (set(names) - set(plans)) | {target for _, target in plans.values() if target}
    for name, (kept, target) in plans.items():
        if target is not None:
            ledger = ledgers[name].take(kept)
            data: dict[str, pa.Table | None] = {}
            for directory, (data_column, ledger_column) in links.items():
                uri = join(root, directory, name + PARQUET)
                if storage.exists(uri):
                    table = read_table(storage, uri)
                    wanted = ledger.column(ledger_column).combine_chunks()
                    data[directory] = table.filter(pc.is_in(table.column(data_column), value_set=wanted))
            commit_batch(storage, root, target, data, ledger_dir, ledger, fence)
            ledgers[target] = ledger
        if name not in finals:
            fence()
            storage.delete(join(root, ledger_dir, name + PARQUET))  # uncommitted from here on
            for directory in links:
                uri = join(root, directory, name + PARQUET)
                if storage.exists(uri):
                    storage.delete(uri)
            del ledgers[name]
    tables = [ledgers[name] for name in sorted(ledgers)]
    rows = pa.concat_tables(tables, promote_options="default").to_pylist() if tables else []
    return rows, len(plans)


def latest_ledger_rows(
    storage: Storage, root: str, ledger_dir: str, key_columns: Sequence[str]
) -> list[dict[str, Any]]:
    """The committed ledger as settling would leave it (the latest commit of each key), read only:
    for looking at a root that another run may own (a dry run)."""
    names = committed_names(storage, root, ledger_dir)
    ledgers = [read_table(storage, join(root, ledger_dir, name + PARQUET)) for name in names]
    seen: set[tuple[Any, ...]] = set()
    rows = []
    for ledger in sorted(ledgers, key=commit_stamp, reverse=True):
        for row in ledger.to_pylist():
            key = tuple(row[column] for column in key_columns)
            if key not in seen:
                seen.add(key)
                rows.append(row)
    return rows


def commit_stamp(ledger: pa.Table) -> float:
    """When a commit was made (its rows' `committed_at`); 0 for commits written before the stamp."""
    if COMMITTED_AT not in ledger.column_names:
        return 0.0
    stamps = [stamp for stamp in ledger.column(COMMITTED_AT).to_pylist() if stamp is not None]
    return max(stamps, default=0.0)


def read_table(storage: Storage, uri: str) -> pa.Table:
    table = storage.read_parquet([uri])
    assert table is not None  # one file in, one table out
    return table


def batch_files(storage: Storage, root: str, directories: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per directory, batch name -> bytes of its file there (one listing per directory)."""
    return {
        directory: {
            name_of(item.uri)[: -len(PARQUET)]: item.size or 0
            for item in storage.list_files(join(root, directory), PARQUET)
        }
        for directory in directories
    }


def plan_compaction(sizes: Mapping[str, int], target_bytes: int) -> list[list[str]]:
    """Groups of committed batches to merge into one, each up to `target_bytes`.

    Batches of at least half the target stay as they are (merging them gains little and rewrites
    much); the rest are packed in name order. A group of one is no merge and is left out.
    """
    small = sorted(name for name, size in sizes.items() if size < target_bytes / 2)
    groups: list[list[str]] = []
    group: list[str] = []
    group_bytes = 0
    for name in small:
        if group and group_bytes + sizes[name] > target_bytes:
            groups.append(group)
            group, group_bytes = [], 0
        group.append(name)
        group_bytes += sizes[name]
    groups.append(group)
    return [group for group in groups if len(group) > 1]


def merge_batches(
    storage: Storage,
    root: str,
    names: Sequence[str],
    data_files: Mapping[str, Iterable[str]],
    links: Mapping[str, tuple[str, str]],
    ledger_dir: str,
    key_columns: Sequence[str],
    fence: Callable[[], None] = lambda: None,
) -> str:
    """Commit the batches `names` again as one batch, then uncommit them; returns the new name.

    `data_files` says, per data directory, which batches have a file there; `links` and
    `key_columns` are the root's (see `drop_recommitted`). A key several of the batches hold keeps
    the rows of the latest of them, as settling would. Rows keep their `committed_at`. Killed
    between the two steps, each key is committed twice with the same outcome, and the next settle
    keeps one.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    target = batch_name(["merged", *names])
    present = {directory: set(data_files.get(directory, ())) & set(names) for directory in links}
    ledgers = {name: read_table(storage, join(root, ledger_dir, name + PARQUET)) for name in names}
    seen: set[tuple[Any, ...]] = set()
    kept_ledgers: list[pa.Table] = []
    kept_data: dict[str, list[pa.Table]] = {directory: [] for directory in links}
    for name in sorted(names, key=lambda name: (commit_stamp(ledgers[name]), name), reverse=True):
        keys = list(zip(*(ledgers[name].column(column).to_pylist() for column in key_columns), strict=True))
        kept = [index for index, key in enumerate(keys) if key not in seen]
        seen.update(keys)
        ledger = ledgers[name].take(pa.array(kept, pa.int64()))
        kept_ledgers.append(ledger)
        for directory, (data_column, ledger_column) in links.items():
            if name in present[directory]:
                table = read_table(storage, join(root, directory, name + PARQUET))
                wanted = ledger.column(ledger_column).combine_chunks()
                kept_data[directory].append(
                    table.filter(pc.is_in(table.column(data_column), value_set=wanted))
                )
    data: dict[str, pa.Table | None] = {
        directory: pa.concat_tables(tables, promote_options="default") if tables else None
        for directory, tables in kept_data.items()
    }
    merged_ledger = pa.concat_tables(kept_ledgers, promote_options="default")
    commit_batch(storage, root, target, data, ledger_dir, merged_ledger, fence)
    for name in names:
        fence()
        storage.delete(join(root, ledger_dir, name + PARQUET))  # uncommitted from here on
        for directory, found in present.items():
            if name in found:
                storage.delete(join(root, directory, name + PARQUET))
    return target
