"""Restart by batch commits: a batch's data files are written first, its ledger file last.

A batch is named from its inputs, so a rerun that forms the same batch overwrites the same files.
Data files whose ledger file is missing belong to a run killed mid-commit: they are removed before a
rerun and never listed in a manifest, so nothing is duplicated. A batch retried in other groupings
(Ray Data re-running the work of a lost node), or an item retried by a later run, commits some keys
twice under other names; `drop_recommitted` leaves each key in the latest commit that holds it.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cephalo_ray.storage import Storage, join, name_of

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc

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
    links: Mapping[str, Sequence[str]],
    ledger_dir: str,
    key_columns: Sequence[str],
    fence: Callable[[], None] = lambda: None,
) -> tuple[pa.Table, int]:
    """Leave every ledger key committed once: in the latest commit that holds it.

    Commits are ordered by their ledger's `committed_at` stamp, then by name. The latest attempt
    wins, so a retried item's new outcome replaces its old error row; two commits of one attempt
    (Ray Data regrouping the work of a lost node) hold the same outcome, and either may stay.
    A commit holding keys that a later one holds is committed again under a new deterministic name
    without those rows (its data rows follow their ledger rows through `links`: data directory ->
    its link, see `linked_rows`), and only then uncommitted; a commit left empty is uncommitted.
    Killed midway, the next call finishes the work. Run it while no worker commits.

    Returns:
        The settled ledger (an Arrow table: one row per key), and how many commits were rewritten
        or removed.
    """
    import pyarrow.compute as pc

    names = sorted(committed_names(storage, root, ledger_dir))
    ledgers = {name: read_table(storage, join(root, ledger_dir, name + PARQUET)) for name in names}
    ranked = sorted(names, key=lambda name: (commit_stamp(ledgers[name]), name), reverse=True)
    plans: dict[str, tuple[pa.Table, str | None]] = {}
    masks = first_of_each_key([ledgers[name] for name in ranked], key_columns)
    for name, mask in zip(ranked, masks, strict=True):
        if pc.all(mask).as_py() is not False:
            continue  # the commit keeps every row (the usual case): nothing to rewrite, nothing copied
        kept = ledgers[name].filter(mask)
        if kept.num_rows < ledgers[name].num_rows:
            # only this commit's rows become Python values: the name is the one earlier versions gave
            keys = list(zip(*(kept.column(column).to_pylist() for column in key_columns), strict=True))
            target = batch_name([name, *(repr(key) for key in keys)]) if keys else None
            plans[name] = (kept, target)
    # A rewrite killed after its commit left its target committed too: that one is kept, not removed.
    finals = (set(names) - set(plans)) | {target for _, target in plans.values() if target}
    for name, (ledger, target) in plans.items():
        if target is not None:
            data: dict[str, pa.Table | None] = {}
            for directory, link in links.items():
                uri = join(root, directory, name + PARQUET)
                if storage.exists(uri):
                    data[directory] = linked_rows(read_table(storage, uri), ledger, link)
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
    settled = concat_ledgers([ledgers[name] for name in sorted(ledgers)])
    release_unused()
    return settled, len(plans)


def linked_rows(table: pa.Table, ledger: pa.Table, link: Sequence[str]) -> pa.Table:
    """The rows of a data table that follow the ledger rows `ledger`.

    Args:
        link: (data column, ledger column): a row follows the ledger row whose value it holds.
            Optionally a fallback pair after them, for rows whose data column is null or files
            written before it existed (caption error rows: by `key`, else by image).
    """
    import pyarrow.compute as pc

    data_column, ledger_column, *fallback = link

    def holds(column: str, ledger_column: str) -> pa.ChunkedArray:
        return pc.is_in(table.column(column), value_set=ledger.column(ledger_column).combine_chunks())

    if not fallback:
        return table.filter(holds(data_column, ledger_column))
    by_fallback = holds(*fallback)
    if data_column not in table.column_names:
        return table.filter(by_fallback)
    unset = pc.is_null(table.column(data_column))
    return table.filter(pc.or_(holds(data_column, ledger_column), pc.and_(unset, by_fallback)))


def latest_ledger(storage: Storage, root: str, ledger_dir: str, key_columns: Sequence[str]) -> pa.Table:
    """The committed ledger as settling would leave it (the latest commit of each key), read only:
    for looking at a root that another run may own (a dry run)."""
    import pyarrow.compute as pc

    names = committed_names(storage, root, ledger_dir)
    ledgers = [read_table(storage, join(root, ledger_dir, name + PARQUET)) for name in names]
    ranked = sorted(ledgers, key=commit_stamp, reverse=True)
    masks = first_of_each_key(ranked, key_columns)
    settled = concat_ledgers(
        [
            ledger if pc.all(mask).as_py() is not False else ledger.filter(mask)
            for ledger, mask in zip(ranked, masks, strict=True)
        ]
    )
    release_unused()
    return settled


def concat_ledgers(tables: Sequence[pa.Table]) -> pa.Table:
    """One table of ledger files (columns a file lacks are null there); an empty, column-less table
    when there are none."""
    import pyarrow as pa

    return pa.concat_tables(tables, promote_options="default") if tables else pa.table({})


def release_unused() -> None:
    """Hand the memory of a settle's intermediates (key copies, group-by tables, decoded pages) back
    to the system: Arrow's allocator keeps freed pages otherwise, a third of the ledger's size again."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


# -- keys as Arrow columns ---------------------------------------------------------------------
# A ledger of millions of rows stays Arrow in the driver (tens of bytes a row): keys are compared
# by joins and group-bys, never gathered into Python tuples, dicts or sets.

NULL_FLAG = "__null_"


def joinable_keys(table: pa.Table, columns: Sequence[str], names: Sequence[str]) -> dict[str, Any]:
    """Key columns under `names`, nulls replaced by a filler and flagged in a column beside them:
    Arrow joins and group-bys never match nulls, Python tuples (the keys of earlier versions) do."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays: dict[str, Any] = {}
    for column, name in zip(columns, names, strict=True):
        values = table.column(column)
        if pa.types.is_null(values.type):
            values = values.cast(pa.string())
        arrays[name] = pc.fill_null(values, filler(values.type))
        arrays[NULL_FLAG + name] = pc.is_null(values)
    return arrays


def filler(kind: pa.DataType) -> pa.Scalar:
    import pyarrow as pa

    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pa.scalar("", kind)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pa.scalar(b"", kind)
    if pa.types.is_boolean(kind):
        return pa.scalar(False)
    return pa.scalar(0).cast(kind)


def first_of_each_key(tables: Sequence[pa.Table], key_columns: Sequence[str]) -> list[pa.ChunkedArray]:
    """Per table, a mask of the rows that hold their key first when the tables are read in order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not tables:
        return []
    names = [f"k{index}" for index in range(len(key_columns))]
    parts = [pa.table(joinable_keys(table, key_columns, names)) for table in tables]
    keys = pa.concat_tables(parts, promote_options="permissive")
    order = pa.array(range(keys.num_rows), pa.int64())
    keys = keys.append_column("order", order)
    group_columns = [column for column in keys.column_names if column != "order"]
    winners = keys.group_by(group_columns, use_threads=False).aggregate([("order", "min")])
    first = pc.is_in(order, value_set=winners.column("order_min").combine_chunks())
    masks, start = [], 0
    for table in tables:
        masks.append(pa.chunked_array([first.slice(start, table.num_rows)], pa.bool_()))
        start += table.num_rows
    return masks


def anti_join(
    items: pa.Table, done: pa.Table, item_keys: Sequence[str], done_keys: Sequence[str] | None = None
) -> pa.Table:
    """The rows of `items` whose key is not among the keys of `done`, in their order.

    Args:
        items: the listing (or any table of work).
        done: the rows that count as finished (a settled ledger, filtered).
        item_keys: the key columns of `items`.
        done_keys: the matching columns of `done`, in the same order (default: `item_keys`).
    """
    if done.num_rows == 0 or items.num_rows == 0:
        return items
    return _rows_by_key(items, done, item_keys, done_keys or item_keys, "left anti")


def semi_join(
    items: pa.Table, other: pa.Table, item_keys: Sequence[str], other_keys: Sequence[str] | None = None
) -> pa.Table:
    """The rows of `items` whose key is among the keys of `other`, in their order (see `anti_join`)."""
    if other.num_rows == 0 or items.num_rows == 0:
        return items.slice(0, 0)
    return _rows_by_key(items, other, item_keys, other_keys or item_keys, "left semi")


def _rows_by_key(
    items: pa.Table, other: pa.Table, item_keys: Sequence[str], other_keys: Sequence[str], join_type: str
) -> pa.Table:
    import pyarrow as pa

    names = [f"k{index}" for index in range(len(item_keys))]
    left = pa.table(joinable_keys(items, item_keys, names))
    left = left.append_column("row", pa.array(range(items.num_rows), pa.int64()))
    right = pa.table(joinable_keys(other, other_keys, names))
    right = right.cast(pa.schema([left.schema.field(name) for name in right.column_names]))
    kept = left.join(right, keys=list(right.column_names), join_type=join_type, use_threads=False)
    return items.take(kept.column("row").combine_chunks().sort())


class ColumnLookup(Mapping[Any, Any]):
    """A read-only mapping over two Arrow columns: tens of bytes a row where a dict holds hundreds.

    Keys are sorted once and looked up by bisection. Null keys are left out; of repeated keys the
    first (in the columns' order) wins. Picklable, so it travels to Ray actors as Arrow buffers.
    """

    def __init__(self, keys: pa.Array | pa.ChunkedArray, values: pa.Array | pa.ChunkedArray) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        table = pa.table({"key": keys, "value": values, "row": pa.array(range(len(keys)), pa.int64())})
        table = table.filter(pc.is_valid(table.column("key")))
        table = table.take(pc.sort_indices(table, [("key", "ascending"), ("row", "ascending")]))
        sorted_keys = table.column("key").combine_chunks()
        if len(sorted_keys) > 1:
            repeated = pc.equal(sorted_keys.slice(1), sorted_keys.slice(0, len(sorted_keys) - 1))
            first = pa.concat_arrays([pa.array([True]), pc.invert(repeated)])
            table = table.filter(first)
        self.key_column = table.column("key").combine_chunks()
        self.value_column = table.column("value").combine_chunks()

    def __getitem__(self, key: Any) -> Any:
        if key is None:
            raise KeyError(key)
        index = bisect.bisect_left(_Values(self.key_column), key)
        if index < len(self.key_column) and self.key_column[index].as_py() == key:
            return self.value_column[index].as_py()
        raise KeyError(key)

    def __iter__(self) -> Iterator[Any]:
        return (key.as_py() for key in self.key_column)

    def __len__(self) -> int:
        return len(self.key_column)


class _Values(Sequence[Any]):
    """An Arrow array read as a sequence of Python values, one element at a time (for bisect)."""

    def __init__(self, array: pa.Array) -> None:
        self.array = array

    def __getitem__(self, index: Any) -> Any:
        return self.array[index].as_py()

    def __len__(self) -> int:
        return len(self.array)


def status_is_in(statuses: Iterable[str], column: str = "status") -> pc.Expression:
    """A filter over ledger rows: their `column` is one of `statuses`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.field(column).isin(pa.array(sorted(statuses), pa.string()))


def commit_stamp(ledger: pa.Table) -> float:
    """When a commit was made (its rows' `committed_at`); 0 for commits written before the stamp."""
    import pyarrow.compute as pc

    if COMMITTED_AT not in ledger.column_names:
        return 0.0
    latest = pc.max(ledger.column(COMMITTED_AT)).as_py()
    return float(latest) if latest is not None else 0.0


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
    links: Mapping[str, Sequence[str]],
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

    target = batch_name(["merged", *names])
    present = {directory: set(data_files.get(directory, ())) & set(names) for directory in links}
    ledgers = {name: read_table(storage, join(root, ledger_dir, name + PARQUET)) for name in names}
    ranked = sorted(names, key=lambda name: (commit_stamp(ledgers[name]), name), reverse=True)
    kept_ledgers: list[pa.Table] = []
    kept_data: dict[str, list[pa.Table]] = {directory: [] for directory in links}
    for name, mask in zip(
        ranked, first_of_each_key([ledgers[name] for name in ranked], key_columns), strict=True
    ):
        ledger = ledgers[name].filter(mask)
        kept_ledgers.append(ledger)
        for directory, link in links.items():
            if name in present[directory]:
                table = read_table(storage, join(root, directory, name + PARQUET))
                kept_data[directory].append(linked_rows(table, ledger, link))
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
