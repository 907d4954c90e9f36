"""The ledger kept as Arrow in the driver gives what the per-row Python computation gave."""

from __future__ import annotations

import pickle
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from cephalo_ray.jobs import extract_figures
from cephalo_ray.ledger import (
    ColumnLookup,
    anti_join,
    commit_batch,
    drop_recommitted,
    latest_ledger,
    semi_join,
    status_is_in,
)
from cephalo_ray.restart import RootLayout, RootRun
from cephalo_ray.rows import documents_schema
from cephalo_ray.storage import InputListing, Storage, input_table

KEYS = ("source", "size", "mtime_ns")
LAYOUT = RootLayout(
    "extract", ledger_dir="documents", key_columns=KEYS, links={"pairs": ("source", "source")}
)
SCHEMA = documents_schema().append(pa.field("committed_at", pa.float64()))


def document(source: str, status: str = "ok", size: int | None = 10, **fields: Any) -> dict[str, Any]:
    row = {name: None for name in SCHEMA.names}
    row.update(source=source, size=size, mtime_ns=None if size is None else 7, status=status, authors=[])
    row.update(pages=3, pairs=1, scanned_pages=0, repaired=False, seconds=0.5, doc_id=f"id-{source}")
    if status == "failed":
        row.update(pairs=0, pages=0, error="Corrupt")
    row.update(fields)
    return row


# (batch name, committed_at, rows): retries, a failure answered later, one attempt committed twice
# in two groupings (a lost node's batches), a duplicate, an input that did not exist (null size and
# mtime), and a row in an older commit that a later commit repeats with the same outcome.
COMMITS = [
    ("part-a", 1.0, [document("s3://b/1.pdf"), document("s3://b/2.pdf", "failed"), document("s3://b/3.pdf")]),
    ("part-b", 2.0, [document("s3://b/2.pdf", pages=9), document("s3://b/4.pdf", "failed")]),
    ("part-c", 2.0, [document("s3://b/4.pdf", "failed"), document("s3://b/5.pdf", "duplicate", pairs=0)]),
    ("part-d", 3.0, [document("s3://b/6.pdf", "failed", size=None), document("s3://b/1.pdf", seconds=4.0)]),
    ("part-e", 0.5, [document("s3://b/3.pdf", "failed"), document("s3://b/7.pdf")]),
]


def write_commits(root: Path) -> None:
    storage = Storage()
    for name, stamp, documents in COMMITS:
        ledger = pa.Table.from_pylist([{**row, "committed_at": stamp} for row in documents], schema=SCHEMA)
        pairs = pa.table({"source": [row["source"] for row in documents if row["pairs"]]})
        commit_batch(storage, str(root), name, {"pairs": pairs}, "documents", ledger)


def python_settled() -> list[dict[str, Any]]:
    """The ledger as earlier versions settled it: commits newest first (stamp, then name), each key's
    first row in that order, through a set of key tuples."""
    seen: set[tuple[Any, ...]] = set()
    rows = []
    for _, stamp, documents in sorted(COMMITS, key=lambda commit: (commit[1], commit[0]), reverse=True):
        for row in documents:
            key = tuple(row[column] for column in KEYS)
            if key not in seen:
                seen.add(key)
                rows.append({**row, "committed_at": stamp})
    return rows


def by_key(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(row[column] for column in KEYS): row for row in rows}


def listing() -> pa.Table:
    """The listing now: 1-5 as committed, 3 touched since (another mtime), 6 still missing, 8 new."""
    rows = [(f"s3://b/{number}.pdf", 10, 7) for number in (1, 2, 4, 5, 7)]
    rows += [("s3://b/3.pdf", 10, 8), ("s3://b/6.pdf", None, None), ("s3://b/8.pdf", 10, 7)]
    return pa.table(
        {
            "uri": pa.array([row[0] for row in rows], pa.string()),
            "size": pa.array([row[1] for row in rows], pa.int64()),
            "mtime_ns": pa.array([row[2] for row in rows], pa.int64()),
        }
    )


def test_settled_ledger_equals_the_python_settle(tmp_path: Path) -> None:
    write_commits(tmp_path)
    expected = by_key(python_settled())
    assert by_key(latest_ledger(Storage(), str(tmp_path), "documents", KEYS).to_pylist()) == expected
    settled, rewritten = drop_recommitted(Storage(), str(tmp_path), LAYOUT.links, "documents", KEYS)
    assert isinstance(settled, pa.Table) and settled.num_rows == len(expected)
    assert by_key(settled.to_pylist()) == expected
    assert rewritten == 3  # b gives 4 up to c, a gives 1 and 2 up to d and b, e gives 3 up to a
    # settled again, nothing moves; the pairs follow their documents
    again, rewritten = drop_recommitted(Storage(), str(tmp_path), LAYOUT.links, "documents", KEYS)
    assert rewritten == 0 and by_key(again.to_pylist()) == expected
    pairs = pa.concat_tables(
        Storage().read_parquet([str(path)]) for path in sorted((tmp_path / "pairs").glob("*.parquet"))
    )
    assert Counter(pairs.column("source").to_pylist()) == Counter(
        row["source"] for row in expected.values() if row["pairs"]
    )


@pytest.mark.parametrize("retry_failed", [False, True])
def test_pending_equals_the_python_rerun_check(tmp_path: Path, retry_failed: bool) -> None:
    write_commits(tmp_path)
    run = RootRun(Storage(), str(tmp_path), LAYOUT, config={}, hashed_config={}, log=lambda _: None)
    with run:
        redo = status_is_in(["failed"]) if retry_failed else None
        pending = run.pending(listing(), extract_figures.INPUT_KEYS, redo)
        ledger = run.ledger_table.to_pylist()
    # what earlier versions computed: a set of key tuples of every row the rerun does not send again
    done = {
        tuple(row[column] for column in KEYS)
        for row in ledger
        if not (retry_failed and row["status"] == "failed")
    }
    items = listing().to_pylist()
    expected = [row for row in items if (row["uri"], row["size"], row["mtime_ns"]) not in done]
    assert pending.to_pylist() == expected  # the same rows, in the listing's order
    left = {row["uri"].rsplit("/", 1)[1] for row in expected}
    assert left == ({"3.pdf", "8.pdf"} | ({"4.pdf", "6.pdf"} if retry_failed else set()))


def test_extract_counts_equal_the_python_summary() -> None:
    settled = pa.Table.from_pylist(python_settled(), schema=SCHEMA)
    inputs = listing()
    processed = inputs.slice(5)  # 3 (touched), 6 and 8 were extracted this run
    summary = extract_figures.summarise(settled, inputs, processed, 2.0, "")
    # what earlier versions computed from dicts
    rows = by_key(python_settled())
    listed = {(row["uri"], row["size"], row["mtime_ns"]) for row in inputs.to_pylist()}
    current = [rows[key] for key in listed if key in rows]
    processed_keys = {(row["uri"], row["size"], row["mtime_ns"]) for row in processed.to_pylist()}
    this_run = [row for row in current if (row["source"], row["size"], row["mtime_ns"]) in processed_keys]
    failed = [row for row in current if row["status"] == "failed"]
    assert summary.counts == {
        "documents_in": len(listed),
        "documents_ok": len(current) - len(failed),
        "documents_failed": len(failed),
        "documents_duplicate": sum(row["status"] == "duplicate" for row in current),
        "documents_repaired": 0,
        "documents_skipped": len(current) - len(this_run),
        "documents_processed": len(this_run),
        "documents_pending": len(listed) - len(current),
        "documents_stale": len(set(rows) - listed),
        "pages": sum(row["pages"] for row in current),
        "scanned_pages": 0,
        "pairs": sum(row["pairs"] for row in current),
        "errors": len(failed),
        "errors_by_kind": dict(Counter(row["error"] for row in failed)),
        "pages_per_second": round(sum(row["pages"] for row in this_run) / 2.0, 2),
    }
    assert summary.counts["documents_stale"] == 1 and summary.counts["documents_pending"] == 2
    assert not summary.complete
    slowest = summary.extra["slowest"]
    assert [row["source"] for row in slowest] == [row["source"] for row in this_run]
    empty = extract_figures.summarise(pa.table({}), inputs, inputs, 0.0, "")
    assert empty.counts["documents_pending"] == inputs.num_rows and empty.counts["errors_by_kind"] == {}


def test_joins_match_null_keys_and_keep_the_order() -> None:
    items = pa.table({"k": ["b", None, "a", "c"], "n": [2, None, 1, 3], "payload": [1, 2, 3, 4]})
    done = pa.table({"key": ["a", None, "c"], "number": [1, None, 9]})
    assert anti_join(items, done, ["k", "n"], ["key", "number"]).column("payload").to_pylist() == [1, 4]
    assert semi_join(items, done, ["k", "n"], ["key", "number"]).column("payload").to_pylist() == [2, 3]
    assert anti_join(items, pa.table({}), ["k"]).equals(items)
    assert semi_join(items, pa.table({}), ["k"]).num_rows == 0


def test_column_lookup_is_a_compact_dict() -> None:
    keys = pa.array(["p3", "p1", None, "p2", "p1"], pa.string())
    values = pa.array(["c3", "c1", "lost", "c2", "second"], pa.string())
    lookup = ColumnLookup(keys, values)
    assert dict(lookup) == {"p1": "c1", "p2": "c2", "p3": "c3"}  # the first of repeated keys wins
    assert lookup.get("p0") is None and lookup.get("p4") is None and lookup.get(None) is None
    assert "p2" in lookup and len(lookup) == 3
    assert dict(pickle.loads(pickle.dumps(lookup))) == dict(lookup)  # travels to Ray actors
    assert dict(ColumnLookup(pa.array([], pa.string()), pa.array([], pa.string()))) == {}


def test_input_listing_reads_arrow_rows_as_input_files() -> None:
    from cephalo_ray.storage import InputFile

    files = [InputFile("a.pdf", 1, 2), InputFile("b.pdf", None, None)]
    listed = InputListing(input_table(files))
    assert len(listed) == 2 and list(listed) == files and listed[-1] == files[1]
    assert list(listed[1:]) == files[1:]
    with pytest.raises(IndexError):
        listed[2]


def test_refine_answered_and_counts_equal_the_python_computation() -> None:
    from cephalo_ray.jobs import refine_pairs
    from cephalo_ray.rows import refine_ledger_schema

    rows = [
        {"pair_id": f"p{number}", "cache_key": f"k{number}", "status": status, "error": None}
        | {
            "prompt_tokens": 10 * number,
            "completion_tokens": number,
            "cost_usd": 0.001 * number,
            "seconds": 1.0,
        }
        for number, status in enumerate(["ok", "ok", "failed", "retry", "ok", "failed"])
    ]
    ledger = pa.Table.from_pylist(rows, schema=refine_ledger_schema())
    stored = {"p1": ("k1", "replies/part-x.parquet")}
    for redo in ({"retry"}, {"retry", "failed"}):
        done = refine_pairs.answered(ledger, redo, stored)
        expected = {row["pair_id"]: row["cache_key"] for row in rows if row["status"] not in redo}
        assert dict(done) == {pair_id: key for pair_id, key in expected.items() if pair_id not in stored}
    outcomes = refine_pairs.Tally()  # counted a batch at a time, as the driver does
    outcomes.add(pa.table({"status": ["failed", "retry"], "error": ["Unparseable", "Timeout"]}))
    outcomes.add(pa.table({"status": ["cached"], "error": pa.nulls(1, pa.string())}))
    outcomes.add(pa.table({"status": pa.array([], pa.string()), "error": pa.array([], pa.string())}))
    assert outcomes == {"failed": 1, "retry": 1, "cached": 1}
    summary = refine_pairs.summarise(ledger, outcomes, 6, None, 2.0, {}, "v1")
    counts = summary.counts
    assert (counts["pairs_ok"], counts["pairs_failed"], counts["pairs_retry"]) == (3, 2, 1)
    assert counts["prompt_tokens"] == sum(row["prompt_tokens"] for row in rows)
    assert counts["cost_usd"] == round(sum(row["cost_usd"] for row in rows), 6)
    assert counts["errors_by_kind"] == {"Unparseable": 1, "Timeout": 1} and counts["pairs_sent"] == 2
    assert not summary.complete  # a pair waits for a retry
    finished = refine_pairs.summarise(
        ledger,
        refine_pairs.outcomes_of_a_finished_run(ledger, {"counts": {"pairs_duplicate": 2}}),
        6,
        None,
        0,
        {},
        "v1",
    )
    assert (
        finished.counts["pairs_cached"] == 6 and finished.counts["pairs_duplicate"] == 2 and finished.complete
    )


@pytest.mark.parametrize(("refilter", "retry_failed"), [(False, False), (True, False), (True, True)])
def test_stored_replies_to_filter_again_equal_the_python_selection(
    refilter: bool, retry_failed: bool
) -> None:
    from types import SimpleNamespace

    from cephalo_ray.jobs.refine_pairs import replies_to_filter_again
    from cephalo_ray.refine.stage import RETRY

    statuses = {"p0": "ok", "p1": "failed", "p2": RETRY, "p3": "ok"}  # p4 has no ledger row yet
    ledger = pa.table({"pair_id": list(statuses), "status": list(statuses.values())})
    pairs = ["p0", "p1", "p2", "p3", "p4"]
    stored = pa.table(
        {
            "pair_id": pairs,
            "cache_key": [f"k{i}" for i in range(5)],
            "file": [f"r{i % 2}.parquet" for i in range(5)],
        }
    )
    config: Any = SimpleNamespace(refilter=refilter, retry_failed=retry_failed)
    found = replies_to_filter_again(stored, ledger, config)
    expected = {
        pair_id: {"cache_key": f"k{i}", "file": f"r{i % 2}.parquet"}
        for i, pair_id in enumerate(pairs)
        if (refilter and not (retry_failed and statuses.get(pair_id) == "failed"))
        or statuses.get(pair_id) == RETRY
    }
    assert dict(found) == expected
    assert isinstance(found, ColumnLookup) and len(pickle.dumps(found)) < 4096


def test_the_last_row_per_key_is_the_later_file_s_row() -> None:
    """A pair answered again in a later file counts once, as that file has it (refine's split counts,
    stored replies and fixed document splits all read their rows this way)."""
    from cephalo_ray.jobs import refine_pairs

    table = pa.table(
        {"pair_id": ["a", "b", "a", "c", "b"], "split": ["train", "train", "val", "train", "val"]}
    )
    kept = refine_pairs.last_row_per(table, "pair_id")
    assert kept.column_names == ["pair_id", "split"]
    assert sorted(kept.to_pylist(), key=lambda row: row["pair_id"]) == [
        {"pair_id": "a", "split": "val"},
        {"pair_id": "b", "split": "val"},
        {"pair_id": "c", "split": "train"},
    ]
