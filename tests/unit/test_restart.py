from pathlib import Path

import pyarrow as pa
import pytest

from cephalo_ray.ledger import commit_batch
from cephalo_ray.output_root import SupersededRunError
from cephalo_ray.restart import RootLayout, RootRun, Summary
from cephalo_ray.storage import Storage

LAYOUT = RootLayout("caption", ledger_dir="done", key_columns=("key",), links={"captions": ("key", "key")})


def open_run(root: Path) -> RootRun:
    return RootRun(
        Storage(), str(root), LAYOUT, config={}, hashed_config={}, log=lambda line: None
    ).__enter__()


def rows(*keys: str) -> pa.Table:
    return pa.table({"key": list(keys), "answer": [f"answer {key}" for key in keys]})


def test_rows_of_a_writer_fenced_out_between_its_data_and_its_commit_are_removed(tmp_path: Path) -> None:
    older = open_run(tmp_path)
    newer: list[RootRun] = []

    def fence_claimed_midway() -> None:
        older.committer.fence()
        if not newer:  # the rerun claims the root just after the old worker's first fence passed
            newer.append(open_run(tmp_path))

    with pytest.raises(SupersededRunError):
        commit_batch(
            Storage(),
            str(tmp_path),
            "a-b",
            {"captions": rows("a", "b")},
            "done",
            rows("a", "b"),
            fence_claimed_midway,
        )
    assert (tmp_path / "captions" / "a-b.parquet").exists()  # written, never committed
    rerun = newer[0]
    assert rerun.done_keys() == set()
    rerun.committer.commit(["a", "b", "c"], {"captions": rows("a", "b", "c")}, rows("a", "b", "c"))
    manifest = rerun.finish(lambda ledger: Summary(counts={"answers": len(ledger)}, complete=True))

    left = sorted(path.name for path in (tmp_path / "captions").glob("*.parquet"))
    assert "a-b.parquet" not in left and len(left) == 1
    assert manifest["counts"] == {"answers": 3} and manifest["status"] == "complete"
    assert rerun.removed == 1
