"""Driver memory per ledger row and per listed input: Python objects (before) against Arrow (after).

    python -m bench.driver_memory                       # 200,000 ledger rows, 50,000 inputs
    python -m bench.driver_memory --rows 1000000 --inputs 200000

A restart ledger of extract's shape (documents/ files of 20,000 rows: sources named like an
archive's, sha256 doc ids, titles, authors, some failures and duplicates) and a folder of empty PDFs
are written to a scratch folder, at a quarter of the size and at the size asked. Each way of holding
them runs in a fresh process, which reports its resident memory (VmRSS) and high-water mark (VmHWM)
over its baseline after imports; the bytes per row are the slope between the two sizes:
- ledger, before: the settled ledger as one dict per row and the finished keys as a set of tuples
  (what the driver held through a run), and the rerun check as a list comprehension; after: the
  settled ledger as an Arrow table (`latest_ledger`, the settle's own computation) and the rerun
  check as an anti-join (both over a listing of every ledger key, dropped before the reading);
- listing, before: `Storage.list_inputs` (a list of `InputFile`s); after: `list_input_table`.
It prints bytes per ledger row and per input, before and after, and after / before as a ratio; and
what Arrow's memory pool holds allocated (the tables themselves: RSS is more, as the allocator keeps
freed pages; `ARROW_DEFAULT_MEMORY_POOL=system` shows glibc's figure).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KEYS = ("source", "size", "mtime_ns")
FILE_ROWS = 20_000


def write_ledger(folder: Path, rows: int) -> None:
    """`rows` ledger rows of extract's schema in files of FILE_ROWS rows under folder/documents."""
    import pyarrow as pa

    from cephalo_ray.rows import documents_schema
    from cephalo_ray.storage import Storage

    schema = documents_schema().append(pa.field("committed_at", pa.float64()))
    storage = Storage()
    for start in range(0, rows, FILE_ROWS):
        batch = []
        for number in range(start, min(rows, start + FILE_ROWS)):
            failed = number % 50 == 0
            batch.append(
                {
                    "source": f"s3://archive/arxiv/pdf/{2300 + number % 97}/{2300 + number % 97}.{number:07d}v1.pdf",
                    "size": 1_000_000 + number,
                    "mtime_ns": 1_700_000_000_000_000_000 + number,
                    "doc_id": hashlib.sha256(str(number).encode()).hexdigest(),
                    "status": "failed" if failed else ("duplicate" if number % 97 == 0 else "ok"),
                    "error": "Corrupt" if failed else None,
                    "pages": 0 if failed else 12,
                    "pairs": 0 if failed else 6,
                    "scanned_pages": 0,
                    "repaired": False,
                    "seconds": 0.8,
                    "title": f"On the structure of materials number {number}: a study of hierarchies",
                    "authors": ["A. Author", "B. Writer", "C. Scholar"],
                    "year": 2023,
                    "doi": f"10.48550/arXiv.{number:07d}",
                    "licence": "CC-BY-4.0",
                    "committed_at": 1_700_000_000.0 + start,
                }
            )
        storage.write_parquet(
            str(folder / "documents" / f"part-{start:09d}.parquet"),
            pa.Table.from_pylist(batch, schema=schema),
        )


def write_inputs(folder: Path, inputs: int) -> None:
    for number in range(inputs):
        path = folder / "papers" / f"{2300 + number % 97}" / f"{2300 + number % 97}.{number:07d}v1.pdf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


def memory() -> dict[str, int]:
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return {name: int(fields[name].split()[0]) * 1024 for name in ("VmRSS", "VmHWM")}


def hold(kind: str, folder: Path) -> dict[str, Any]:
    """Build one way of holding the ledger or the listing; report memory over the baseline."""
    import gc

    import pyarrow as pa  # imported before the baseline, as in a job's driver
    import pyarrow.compute  # noqa: F401
    import pyarrow.dataset as ds

    from cephalo_ray.ledger import PARQUET, anti_join, latest_ledger, status_is_in
    from cephalo_ray.storage import InputFile, Storage

    storage = Storage()
    gc.collect()
    base = memory()
    arrow_base = pa.total_allocated_bytes()
    held: Any
    if kind == "ledger-python":
        files = sorted(str(path) for path in (folder / "documents").glob("*" + PARQUET))
        table = storage.read_parquet(files)
        assert table is not None
        rows = table.to_pylist()
        del table
        done = {tuple(row[column] for column in KEYS) for row in rows if row["status"] != "failed"}
        # the rerun check over a listing of every ledger key (dropped before the reading)
        listing = [InputFile(row["source"], row["size"], row["mtime_ns"]) for row in rows]
        pending = [item for item in listing if (item.uri, item.size, item.mtime_ns) not in done]
        del listing
        held, count = (rows, done, pending), len(rows)
    elif kind == "ledger-arrow":
        ledger = latest_ledger(storage, str(folder), "documents", KEYS)
        listing = ledger.select(list(KEYS)).rename_columns(["uri", "size", "mtime_ns"])
        # what `RootRun.pending` does: the finished rows' key columns only, then an anti-join
        done = ds.dataset(ledger).to_table(columns=list(KEYS), filter=~status_is_in(["failed"]))
        pending = anti_join(listing, done, ["uri", "size", "mtime_ns"], KEYS)
        del done
        del listing
        held, count = (ledger, pending), ledger.num_rows
    elif kind == "listing-python":
        listed = storage.list_inputs(str(folder / "papers"))
        held, count = listed, len(listed)
    elif kind == "listing-arrow":
        table = storage.list_input_table(str(folder / "papers"))
        held, count = table, table.num_rows
    else:
        raise ValueError(kind)
    gc.collect()
    after = memory()
    assert held is not None
    return {
        "kind": kind,
        "count": count,
        "held_bytes": after["VmRSS"] - base["VmRSS"],
        "peak_bytes": after["VmHWM"] - base["VmRSS"],
        "arrow_bytes": pa.total_allocated_bytes() - arrow_base,  # what Arrow's pool holds allocated
    }


def measure(kind: str, folder: Path) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.driver_memory", "--hold", kind, "--folder", str(folder)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000, help="ledger rows (the larger size)")
    parser.add_argument("--inputs", type=int, default=50_000, help="listed inputs (the larger size)")
    parser.add_argument("--json", help="write the numbers here")
    parser.add_argument("--hold", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hold:
        print(json.dumps(hold(args.hold, Path(args.folder))))
        return 0
    kinds = ("ledger-python", "ledger-arrow", "listing-python", "listing-arrow")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="cephalo-memory-") as scratch:
        # two sizes: the slope between them leaves out what a process holds whatever the size
        # (allocator arenas, thread pools)
        for size, share in (("small", 4), ("large", 1)):
            folder = Path(scratch) / size
            write_ledger(folder, args.rows // share)
            write_inputs(folder, args.inputs // share)
            results[size] = {kind: measure(kind, folder) for kind in kinds}
    print(
        f"{'':16} {'rows':>9} {'held MB':>8} {'peak MB':>8} {'rows':>9} {'held MB':>8} {'peak MB':>8} "
        f"{'B/row':>7} {'peak B/row':>10} {'Arrow B/row':>11}"
    )
    marginal: dict[str, dict[str, float]] = {}
    for kind in kinds:
        small, large = results["small"][kind], results["large"][kind]
        rows = large["count"] - small["count"]
        marginal[kind] = {
            "held": (large["held_bytes"] - small["held_bytes"]) / rows,
            "peak": (large["peak_bytes"] - small["peak_bytes"]) / rows,
            "arrow": (large["arrow_bytes"] - small["arrow_bytes"]) / rows,
        }
        print(
            f"{kind:16} {small['count']:>9} {small['held_bytes'] / 2**20:>8.1f} {small['peak_bytes'] / 2**20:>8.1f} "
            f"{large['count']:>9} {large['held_bytes'] / 2**20:>8.1f} {large['peak_bytes'] / 2**20:>8.1f} "
            f"{marginal[kind]['held']:>7.0f} {marginal[kind]['peak']:>10.0f} {marginal[kind]['arrow']:>11.0f}"
        )
    for subject, unit in (("ledger", "ledger row"), ("listing", "input")):
        before, after = marginal[f"{subject}-python"], marginal[f"{subject}-arrow"]
        print(
            f"driver bytes per {unit}: {before['held']:.0f} -> {after['held']:.0f} held "
            f"(ratio {after['held'] / before['held']:.2f}), {before['peak']:.0f} -> {after['peak']:.0f} at peak "
            f"(ratio {after['peak'] / before['peak']:.2f})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "marginal": marginal}, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("RAY_DISABLE_IMPORT_WARNING", "1")
    sys.exit(main())
