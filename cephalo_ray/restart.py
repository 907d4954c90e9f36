"""The restart protocol of every batch job, in one place.

A job opens its output root with `RootRun` and reads top to bottom:

```
with RootRun(storage, output, LAYOUT, config=..., hashed_config=...) as run:
    pending = run.pending(listing, item_keys)       # Arrow in, Arrow out: an anti-join
    ... Ray actors commit batches with run.committer ...
    manifest = run.finish(summarise)
```

Entering refuses a root made by another job or with other output-shaping settings, claims the root
(a partial manifest naming this run: workers of older runs are fenced out from here on), removes
files of commits a killed run left half-written, and settles keys committed twice. `finish`
settles again (Ray Data retries the batches of a lost node in other groupings, and a retried item
commits a newer outcome), removes data files that an older run's worker wrote before it was fenced
out, and writes the final manifest last.

The settled ledger stays an Arrow table in the driver (`RootRun.ledger_table`): at millions of items
a dict per row would cost the driver several times the memory.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cephalo_ray.ledger import (
    COMMITTED_AT,
    PARQUET,
    anti_join,
    batch_files,
    batch_name,
    commit_batch,
    committed_names,
    concat_ledgers,
    drop_recommitted,
    merge_batches,
    plan_compaction,
    remove_uncommitted,
)
from cephalo_ray.output_root import (
    STATUS_COMPLETE,
    STATUS_PARTIAL,
    attach_file_list,
    build_manifest,
    read_manifest,
    refuse_changed_config,
    refuse_if_superseded,
    write_manifest,
)
from cephalo_ray.storage import Storage

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc


@dataclass(frozen=True)
class RootLayout:
    """Where one kind of job keeps its rows, errors and ledger, and how they are keyed.

    Args:
        job: the job's name, recorded in the manifest (a root holds one job's output).
        ledger_dir: one row per finished item; a batch's ledger file is written last (its commit).
            None for a job that commits no batches (training: Ray Train keeps its checkpoints).
        key_columns: the ledger columns that name one item (the restart unit).
        links: data directory -> (its column, the ledger column it matches), optionally followed
            by a fallback pair for rows without that column (`ledger.linked_rows`): how data rows
            follow their ledger row when a commit is rewritten.
    """

    job: str
    ledger_dir: str | None = None
    key_columns: tuple[str, ...] = ()
    links: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def data_dirs(self) -> tuple[str, ...]:
        return tuple(self.links)

    @property
    def directories(self) -> tuple[str, ...]:
        return (*self.data_dirs, self.ledger_dir) if self.ledger_dir else self.data_dirs


@dataclass(frozen=True)
class Summary:
    """What a job's final manifest says of its settled ledger.

    Args:
        counts: the manifest's `counts`.
        complete: whether every input has an outcome (else the root stays partial).
        extra: more top-level manifest fields (statistics of the run).
        files: the manifest's `files` where the job lists them itself (default: the committed batches).
    """

    counts: Mapping[str, Any]
    complete: bool
    extra: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, list[str]] | None = None


@dataclass(frozen=True)
class BatchCommitter:
    """What an actor needs to commit into the root: small and picklable, handed to every actor."""

    storage: Storage
    root: str
    layout: RootLayout
    run_id: str

    def fence(self) -> None:
        """Raise `SupersededRunError` when a newer run has claimed the root."""
        refuse_if_superseded(self.storage, self.root, self.run_id)

    def commit(self, keys: Iterable[str], data: Mapping[str, pa.Table | None], ledger: pa.Table) -> None:
        """Commit one batch: data files first, its ledger file (stamped with the time) last.

        `keys` name the batch's items; the same items form the same file names on a rerun.
        """
        import pyarrow as pa

        if self.layout.ledger_dir is None:
            raise ValueError(f"a {self.layout.job} root commits no batches")
        stamp = pa.array([time.time()] * ledger.num_rows, pa.float64())
        if COMMITTED_AT in ledger.column_names:
            ledger = ledger.set_column(ledger.column_names.index(COMMITTED_AT), COMMITTED_AT, stamp)
        else:
            ledger = ledger.append_column(COMMITTED_AT, stamp)
        unknown = set(data) - set(self.layout.data_dirs)
        if unknown:
            raise ValueError(f"{sorted(unknown)} are not data directories of a {self.layout.job} root")
        commit_batch(
            self.storage, self.root, batch_name(keys), data, self.layout.ledger_dir, ledger, self.fence
        )


@dataclass(frozen=True)
class BatchMerge:
    """Merges one group of small committed batches into one (picklable: runs as a Ray task)."""

    committer: BatchCommitter

    def __call__(self, names: list[str], data_files: dict[str, list[str]]) -> str:
        layout = self.committer.layout
        assert layout.ledger_dir is not None
        return merge_batches(
            self.committer.storage,
            self.committer.root,
            names,
            data_files,
            layout.links,
            layout.ledger_dir,
            layout.key_columns,
            self.committer.fence,
        )


GroupRunner = Callable[[BatchMerge, list[tuple[list[str], dict[str, list[str]]]]], list[str]]


def merge_here(merge: BatchMerge, groups: list[tuple[list[str], dict[str, list[str]]]]) -> list[str]:
    """Run the merges one after another in this process."""
    return [merge(names, files) for names, files in groups]


def merge_in_ray(merge: BatchMerge, groups: list[tuple[list[str], dict[str, list[str]]]]) -> list[str]:
    """Run the merges as Ray tasks (a connected Ray), as many at once as the cluster has CPUs for."""
    import ray

    task = ray.remote(num_cpus=1, max_retries=2)(_merge_task)
    return list(ray.get([task.remote(merge, names, files) for names, files in groups]))


def _merge_task(merge: BatchMerge, names: list[str], files: dict[str, list[str]]) -> str:
    return merge(names, files)


class RootRun:
    """One run of a job over its output root (a context manager; see the module's docstring).

    Args:
        storage: how to reach the root.
        root: the output root (local folder or s3://).
        layout: the job's directories and keys.
        config: the resolved config, recorded in the manifest.
        hashed_config: the settings that shape the output; a rerun must keep them.
        upstream: the upstream root's uri, digest and job, when the job reads one.
        log: where progress lines go.
        target_file_bytes: merge committed batches smaller than half this into files of about this
            size when the run finishes (`compact`); None keeps every batch as committed.
    """

    def __init__(
        self,
        storage: Storage,
        root: str,
        layout: RootLayout,
        *,
        config: Mapping[str, Any],
        hashed_config: Mapping[str, Any],
        upstream: Mapping[str, Any] | None = None,
        log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
        target_file_bytes: int | None = None,
    ) -> None:
        self.target_file_bytes = target_file_bytes
        self.storage = storage
        self.root = root
        self.layout = layout
        self.config = dict(config)
        self.hashed_config = dict(hashed_config)
        self.upstream = dict(upstream) if upstream else None
        self.log = log
        self.run_id = uuid.uuid4().hex
        self.started_at = time.time()
        self.ledger_table: pa.Table = concat_ledgers([])  # the settled ledger, one row per key
        self.removed = 0
        self.settled = 0
        self.previous: dict[str, Any] | None = None  # the root's manifest before this run claimed it

    def __enter__(self) -> RootRun:
        self.previous = read_manifest(self.storage, self.root)
        refuse_changed_config(self.previous, self.layout.job, self.hashed_config)
        # Claim the root first: from here on, workers of an earlier run that still live cannot commit.
        self.write(STATUS_PARTIAL, {})
        if self.layout.ledger_dir is None:
            return self
        committed = committed_names(self.storage, self.root, self.layout.ledger_dir)
        self.removed = remove_uncommitted(self.storage, self.root, self.layout.data_dirs, committed)
        _, self.settled = self.settle()
        if self.removed or self.settled:
            self.log(
                f"{self.layout.job}: the root was repaired: {self.removed} uncommitted files of a killed "
                f"run removed, {self.settled} batches committed twice settled"
            )
            self.write(STATUS_PARTIAL, {})  # the manifest lists what is committed now
        return self

    def __exit__(self, *exc: object) -> None:
        """A run that fails leaves its partial manifest: a rerun resumes from the committed batches."""

    def finished_before(self) -> dict[str, Any] | None:
        """For jobs that build one thing (a model): the earlier manifest when that run of this config
        finished, written back as it was (the claim is withdrawn); None when there is work to do."""
        if not self.previous or self.previous.get("status") != STATUS_COMPLETE:
            return None
        write_manifest(self.storage, self.root, self.previous)
        return self.previous

    @property
    def committer(self) -> BatchCommitter:
        return BatchCommitter(self.storage, self.root, self.layout, self.run_id)

    def finished(self, redo: pc.Expression | None = None, columns: Sequence[str] | None = None) -> pa.Table:
        """The settled ledger rows of finished items: all but those `redo` (a filter over ledger
        columns, e.g. `status_is_in(["failed"])`) sends again; only `columns` when given (the
        others are not copied)."""
        import pyarrow.dataset as ds

        if self.ledger_table.num_rows == 0:
            return self.ledger_table
        if redo is None and columns is None:
            return self.ledger_table
        return ds.dataset(self.ledger_table).to_table(
            columns=list(columns) if columns is not None else None, filter=None if redo is None else ~redo
        )

    def pending(
        self, items: pa.Table, item_keys: Sequence[str], redo: pc.Expression | None = None
    ) -> pa.Table:
        """The rows of `items` (a listing as Arrow) that no earlier run finished, in their order:
        an anti-join of `items[item_keys]` against the ledger's key columns, less what `redo` sends
        again."""
        done = self.finished(redo, self.layout.key_columns)
        return anti_join(items, done, item_keys, self.layout.key_columns)

    def settle(self) -> tuple[pa.Table, int]:
        """Leave each item in the latest commit that holds it; returns the settled ledger (also kept
        as `ledger_table`) and how many commits changed."""
        if self.layout.ledger_dir is None:
            return self.ledger_table, 0
        self.ledger_table, changed = drop_recommitted(
            self.storage,
            self.root,
            self.layout.links,
            self.layout.ledger_dir,
            self.layout.key_columns,
            self.committer.fence,
        )
        return self.ledger_table, changed

    def compact(self, run_groups: GroupRunner = merge_here) -> int:
        """Merge small committed batches into files of about `target_file_bytes`; returns how many
        batches were merged away. Call it while no worker commits (a job calls it inside its Ray
        session with `merge_in_ray`; `finish` calls it again here for what is left)."""
        if self.layout.ledger_dir is None or not self.target_file_bytes:
            return 0
        # Settled first: a merged commit ranks by its newest row, so an old outcome merged beside a
        # newer commit would otherwise outrank the latest commit of its key.
        _, settled = self.settle()
        if settled:
            self.log(f"{self.layout.job}: {settled} batches that a retry committed twice were settled")
        files = batch_files(self.storage, self.root, self.layout.directories)
        committed = set(files[self.layout.ledger_dir])
        sizes = {name: sum(found.get(name, 0) for found in files.values()) for name in committed}
        groups = plan_compaction(sizes, self.target_file_bytes)
        if not groups:
            return 0
        work = [
            (group, {d: [n for n in group if n in files[d]] for d in self.layout.data_dirs})
            for group in groups
        ]
        started = time.perf_counter()
        run_groups(BatchMerge(self.committer), work)
        merged = sum(len(group) for group in groups)
        self.log(
            f"{self.layout.job}: {merged} small batches merged into {len(groups)} files "
            f"in {time.perf_counter() - started:.1f} s"
        )
        return merged

    def finish(
        self,
        summarise: Callable[[Any], Summary],
        extra_timings: Mapping[str, float] | None = None,
    ) -> dict[str, Any]:
        """Settle, then write the final manifest and return it.

        Args:
            summarise: the settled ledger (an Arrow table, column-less when empty) -> the manifest's
                counts and more.
            extra_timings: more fields of the manifest's `timings`.
        """
        self.compact()
        _, settled = self.settle()
        if settled:
            self.log(f"{self.layout.job}: {settled} batches that a retry committed twice were settled")
        if self.layout.ledger_dir is not None:
            # a worker of an older run that passed its first fence before the claim wrote data, then
            # was refused its commit: those rows are no one's
            committed = committed_names(self.storage, self.root, self.layout.ledger_dir)
            orphans = remove_uncommitted(self.storage, self.root, self.layout.data_dirs, committed)
            if orphans:
                self.log(f"{self.layout.job}: {orphans} data files of a fenced-out older run were removed")
            self.removed += orphans
        summary = summarise(self.ledger_table)
        status = STATUS_COMPLETE if summary.complete else STATUS_PARTIAL
        return self.write(status, summary.counts, extra_timings, summary.extra, summary.files)

    def write(
        self,
        status: str,
        counts: Mapping[str, Any],
        extra_timings: Mapping[str, float] | None = None,
        extra: Mapping[str, Any] | None = None,
        files: Mapping[str, list[str]] | None = None,
    ) -> dict[str, Any]:
        listing: dict[str, dict[str, int]] | None = None
        if files is None and self.layout.ledger_dir is not None:
            committed = committed_names(self.storage, self.root, self.layout.ledger_dir)
            found = batch_files(self.storage, self.root, self.layout.directories)
            listing = {
                directory: {
                    f"{directory}/{name}{PARQUET}": size for name, size in sizes.items() if name in committed
                }
                for directory, sizes in found.items()
            }
            files = {directory: list(sizes) for directory, sizes in listing.items()}
        manifest = build_manifest(
            job=self.layout.job,
            run_id=self.run_id,
            status=status,
            files=files or {},
            counts=counts,
            config=self.config,
            hashed_config=self.hashed_config,
            started_at=self.started_at,
            upstream=self.upstream,
            extra_timings=extra_timings,
        )
        manifest.update(extra or {})
        if listing is not None:  # the committed files by reference, with their counts and bytes
            manifest = attach_file_list(self.storage, self.root, manifest, listing)
        write_manifest(self.storage, self.root, manifest)
        return manifest
