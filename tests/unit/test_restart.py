import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cephalo_ray.ledger import commit_batch, merge_batches
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
    assert rerun.ledger_table.num_rows == 0
    rerun.committer.commit(["a", "b", "c"], {"captions": rows("a", "b", "c")}, rows("a", "b", "c"))
    manifest = rerun.finish(lambda ledger: Summary(counts={"answers": len(ledger)}, complete=True))

    left = sorted(path.name for path in (tmp_path / "captions").glob("*.parquet"))
    assert "a-b.parquet" not in left and len(left) == 1
    assert manifest["counts"] == {"answers": 3} and manifest["status"] == "complete"
    assert rerun.removed == 1


def committed_batches(root: Path) -> list[str]:
    return sorted(path.stem for path in (root / "done").glob("*.parquet"))


def test_small_batches_are_merged_into_files_of_the_target_size_and_lose_no_row(tmp_path: Path) -> None:
    run = open_run(tmp_path)
    for index in range(12):
        keys = [f"k{index}-{item}" for item in range(3)]
        run.committer.commit(keys, {"captions": rows(*keys)}, rows(*keys))
    one_batch = sum(path.stat().st_size for path in tmp_path.glob("*/part-*.parquet")) / 12
    run.target_file_bytes = int(one_batch * 5.5)  # five small batches fit in one file
    manifest = run.finish(lambda ledger: Summary(counts={"answers": len(ledger)}, complete=True))

    assert len(committed_batches(tmp_path)) == 3  # 5 + 5 + 2
    assert manifest["counts"] == {"answers": 36}
    assert sorted(manifest["files"]["captions"]) == sorted(
        f"captions/{name}.parquet" for name in committed_batches(tmp_path)
    )
    captions = pa.concat_tables(pq.read_table(path) for path in (tmp_path / "captions").glob("*.parquet"))
    assert sorted(captions.column("key").to_pylist()) == sorted(
        f"k{i}-{j}" for i in range(12) for j in range(3)
    )
    rerun = open_run(tmp_path)
    assert rerun.ledger_table.num_rows == 36 and rerun.settled == 0


def test_a_merge_killed_before_it_uncommitted_its_sources_settles_to_one_row_per_key(tmp_path: Path) -> None:
    run = open_run(tmp_path)
    for index in range(4):
        keys = [f"k{index}-{item}" for item in range(2)]
        run.committer.commit(keys, {"captions": rows(*keys)}, rows(*keys))
    sources = committed_batches(tmp_path)
    fences = 0

    def killed_after_the_merged_commit() -> None:
        nonlocal fences
        fences += 1
        if fences == 3:  # two fences guard the merged commit; the third precedes the first delete
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        merge_batches(
            Storage(),
            str(tmp_path),
            sources,
            {"captions": sources},
            LAYOUT.links,
            "done",
            LAYOUT.key_columns,
            killed_after_the_merged_commit,
        )
    assert len(committed_batches(tmp_path)) == 5  # the merged batch and its four sources
    rerun = open_run(tmp_path)
    # the merged batch and its newest source hold the same rows with the same stamp: either may stay
    assert rerun.settled >= 3 and len(committed_batches(tmp_path)) <= 2
    expected = sorted(f"k{i}-{j}" for i in range(4) for j in range(2))
    assert sorted(rerun.ledger_table.column("key").to_pylist()) == expected
    assert sorted(pq.read_table(tmp_path / "captions").column("key").to_pylist()) == expected


def test_a_key_two_merged_batches_hold_keeps_the_rows_of_the_later_commit_once(tmp_path: Path) -> None:
    run = open_run(tmp_path)
    run.committer.commit(["b"], {"captions": rows("b")}, rows("b"))  # wholly superseded below
    time.sleep(0.01)
    run.committer.commit(["a", "b"], {"captions": rows("a", "b")}, rows("a", "b"))
    time.sleep(0.01)
    retried = pa.table({"key": ["b", "c"], "answer": ["retried b", "answer c"]})
    run.committer.commit(["b", "c"], {"captions": retried}, retried.select(["key"]))
    run.target_file_bytes = 10**9
    assert run.compact() == 2  # the wholly superseded batch is settled away before the merge

    captions = pq.read_table(tmp_path / "captions").to_pylist()
    assert sorted((row["key"], row["answer"]) for row in captions) == [
        ("a", "answer a"),
        ("b", "retried b"),
        ("c", "answer c"),
    ]
    assert sorted(row["key"] for row in pq.read_table(tmp_path / "done").to_pylist()) == ["a", "b", "c"]


def test_an_old_outcome_merged_beside_a_newer_batch_never_outranks_its_retry(tmp_path: Path) -> None:
    """Key k failed in an early commit and was answered again in a later one; compaction then merges
    the early commit with an even later one (name order), not with the retry. Settled first, the
    merged batch holds no k, so the retry's answer is what stays."""
    run = open_run(tmp_path)
    first = pa.table({"key": ["k"], "answer": ["failed"]})
    run.committer.commit(["x6"], {"captions": first}, first.select(["key"]))
    time.sleep(0.01)
    retry = pa.table({"key": ["k"], "answer": ["retried k"]})
    run.committer.commit(["x11"], {"captions": retry}, retry.select(["key"]))
    time.sleep(0.01)
    run.committer.commit(["x9"], {"captions": rows("m")}, rows("m").select(["key"]))
    sizes = {
        path.stem: path.stat().st_size + (tmp_path / "captions" / path.name).stat().st_size
        for path in (tmp_path / "done").glob("*.parquet")
    }
    names = sorted(sizes)  # x6 and x9 sort first by batch name and are merged; the retry (x11) is not
    run.target_file_bytes = sizes[names[0]] + sizes[names[1]] + 1
    run.compact()

    captions = pq.read_table(tmp_path / "captions").to_pylist()
    assert sorted((row["key"], row["answer"]) for row in captions) == [("k", "retried k"), ("m", "answer m")]


def test_the_final_manifest_names_its_files_by_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cephalo_ray import output_root

    monkeypatch.setattr(output_root, "INLINE_FILES", 2)
    run = open_run(tmp_path)
    for index in range(3):
        keys = [f"k{index}"]
        run.committer.commit(keys, {"captions": rows(*keys)}, rows(*keys))
    manifest = run.finish(lambda ledger: Summary(counts={"answers": ledger.num_rows}, complete=True))

    assert "files" not in manifest and manifest["counts"] == {"answers": 3}
    listed = manifest["file_list"]
    on_disk = {
        directory: sorted(f"{directory}/{path.name}" for path in (tmp_path / directory).glob("*.parquet"))
        for directory in ("captions", "done")
    }
    assert output_root.manifest_files(Storage(), str(tmp_path), manifest) == on_disk
    assert listed["files"] == 6 and listed["bytes"] == sum(
        path.stat().st_size for path in tmp_path.glob("*/part-*.parquet")
    )
    assert listed["by_directory"]["captions"]["files"] == 3
    assert len(list((tmp_path / output_root.FILE_LIST_DIR).iterdir())) == 1  # the claim's list is gone
    rerun = open_run(tmp_path)
    assert rerun.ledger_table.num_rows == 3 and rerun.pending(rows("k1", "k9"), ["key"]).column(
        "key"
    ).to_pylist() == ["k9"]
