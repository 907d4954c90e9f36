"""Caption error rows: one per (image, prompt), naming its answer by `key`, so that settling drops
exactly the row a later answer replaces; rows written before error rows had a key follow their
image instead (`pair_id` = the ledger's `image_id`). The restart protocol over a local folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from cephalo_ray.caption.identity import item_key, ledger_schema
from cephalo_ray.caption.stage import CAPTIONS_DIR, ERRORS_DIR, LAYOUT, captions_schema, error_row
from cephalo_ray.output_root import read_manifest
from cephalo_ray.restart import RootRun, Summary
from cephalo_ray.rows import errors_schema
from cephalo_ray.storage import Storage

IMAGE, OTHER = "figs/a.png", "figs/b.png"
ASKED, ANSWERED = item_key(IMAGE, "What is shown?"), item_key(IMAGE, "Which axes?")
LISTED = {"image_id": IMAGE, "source": f"/data/{IMAGE}", "size": 10, "mtime_ns": 1}
# as an earlier version wrote error rows: no key column
LEGACY_ERRORS = pa.schema([field for field in errors_schema() if field.name != "key"])


def open_run(root: Path) -> RootRun:
    return RootRun(
        Storage(),
        str(root),
        LAYOUT,
        config={},
        hashed_config={},
        log=lambda _: None,
        target_file_bytes=2**27,  # small commits are merged when a run finishes, as in the job
    ).__enter__()


def answer(key: str, image: str = IMAGE) -> dict[str, Any]:
    return {"key": key, "image_id": image, "source": f"/data/{image}", "answer": "a plot"}


def commit(
    run: RootRun, outcomes: dict[str, str], errors: pa.Table, images: dict[str, str] | None = None
) -> None:
    """One batch: `outcomes` (key -> status), an answer for each `ok`, and `errors` as given;
    `images` names the image of a key (default IMAGE)."""
    images = images or {}
    answers = [answer(key, images.get(key, IMAGE)) for key, status in outcomes.items() if status == "ok"]
    ledger = [
        {**LISTED, **place(images.get(key, IMAGE)), "key": key, "status": status, "sha256": None}
        for key, status in outcomes.items()
    ]
    run.committer.commit(
        [f"{key}|{run.run_id}" for key in outcomes],
        {
            CAPTIONS_DIR: pa.Table.from_pylist(answers, schema=captions_schema()),
            ERRORS_DIR: errors,
        },
        pa.Table.from_pylist(ledger, schema=ledger_schema()),
    )


def place(image: str) -> dict[str, Any]:
    return {"image_id": image, "source": f"/data/{image}"}


def legacy_error(image: str) -> dict[str, Any]:
    return {
        "source": f"/data/{image}",
        "doc_id": None,
        "pair_id": image,
        "stage": "caption",
        "error": "Rejected",
        "message": "refused",
    }


def finish(run: RootRun) -> list[dict[str, Any]]:
    """Settle, compact and write the manifest; the committed error rows."""
    run.finish(lambda ledger: Summary({}, complete=True))
    table = run.storage.read_parquet(
        [f"{run.root}/{name}" for name in read_manifest(run.storage, run.root)["files"][ERRORS_DIR]]
    )
    return table.to_pylist() if table is not None else []


def statuses(run: RootRun) -> dict[str, str]:
    ledger = run.ledger_table
    return dict(zip(ledger.column("key").to_pylist(), ledger.column("status").to_pylist(), strict=True))


def test_an_answer_replaces_its_own_error_row_and_not_the_one_of_another_prompt(tmp_path: Path) -> None:
    run = open_run(tmp_path)
    failed = error_row(ASKED, LISTED, "Rejected", "refused")
    commit(run, {ASKED: "failed", ANSWERED: "ok"}, pa.Table.from_pylist([failed], schema=errors_schema()))
    assert [row["key"] for row in finish(run)] == [ASKED]

    again = open_run(tmp_path)
    commit(again, {ASKED: "ok"}, errors_schema().empty_table())
    assert finish(again) == []
    assert statuses(again) == {ASKED: "ok", ANSWERED: "ok"}


def test_an_error_row_without_a_key_follows_its_image_and_one_with_a_key_its_answer(tmp_path: Path) -> None:
    old = open_run(tmp_path)
    commit(old, {ASKED: "failed", ANSWERED: "ok"}, pa.Table.from_pylist([legacy_error(IMAGE)], LEGACY_ERRORS))
    finish(old)

    rerun = open_run(tmp_path)
    commit(rerun, {ASKED: "ok"}, errors_schema().empty_table())
    # settles and compacts without the column; the old row stays with its image (no key to follow)
    [kept] = finish(rerun)
    assert (kept["pair_id"], kept.get("key")) == (IMAGE, None)
    assert statuses(rerun) == {ASKED: "ok", ANSWERED: "ok"}

    # a row written now into the same root follows its answer exactly, beside the old one
    third = open_run(tmp_path)
    failed = error_row(ANSWERED, LISTED, "Rejected", "refused")
    commit(third, {ANSWERED: "failed"}, pa.Table.from_pylist([failed], schema=errors_schema()))
    assert sorted(str(row.get("key")) for row in finish(third)) == sorted([ANSWERED, "None"])
    fourth = open_run(tmp_path)
    commit(fourth, {ANSWERED: "ok"}, errors_schema().empty_table())
    assert [row.get("key") for row in finish(fourth)] == [None]


def test_an_older_roots_error_row_is_removed_by_a_later_answer(tmp_path: Path) -> None:
    """An errors file written before error rows had a key: settled, compacted and answered later."""
    first, second = item_key(IMAGE, "What is shown?"), item_key(OTHER, "What is shown?")
    images = {first: IMAGE, second: OTHER}
    old = open_run(tmp_path)
    legacy = pa.Table.from_pylist([legacy_error(IMAGE), legacy_error(OTHER)], LEGACY_ERRORS)
    commit(old, {first: "failed", second: "failed"}, legacy, images)
    assert sorted(row["pair_id"] for row in finish(old)) == [IMAGE, OTHER]

    # one image answered: its old commit is rewritten (the keyless file filtered by image), then merged
    rerun = open_run(tmp_path)
    commit(rerun, {first: "ok"}, errors_schema().empty_table(), images)
    assert [row["pair_id"] for row in finish(rerun)] == [OTHER]
    assert len(list((tmp_path / "done").glob("*.parquet"))) == 1  # compacted
    assert statuses(rerun) == {first: "ok", second: "failed"}

    last = open_run(tmp_path)
    commit(last, {second: "ok"}, errors_schema().empty_table(), images)
    assert finish(last) == []
    assert statuses(last) == {first: "ok", second: "ok"}
