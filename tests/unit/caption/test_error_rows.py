"""Caption error rows: one per (image, prompt), naming its answer by `key`, so that settling drops
exactly the row a later answer replaces; roots begun before error rows had a key keep following
them by image (their older rows have no key to follow). The restart protocol over a local folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from cephalo_ray.caption.identity import item_key, ledger_schema
from cephalo_ray.caption.stage import (
    CAPTIONS_DIR,
    ERRORS_BY_KEY,
    ERRORS_DIR,
    LAYOUT,
    LAYOUT_BY_IMAGE,
    captions_schema,
    error_row,
    layout_for,
)
from cephalo_ray.output_root import read_manifest
from cephalo_ray.restart import RootLayout, RootRun, Summary
from cephalo_ray.rows import errors_schema
from cephalo_ray.storage import Storage

IMAGE = "figs/a.png"
ASKED, ANSWERED = item_key(IMAGE, "What is shown?"), item_key(IMAGE, "Which axes?")
LISTED = {"image_id": IMAGE, "source": f"/data/{IMAGE}", "size": 10, "mtime_ns": 1}


def open_run(root: Path, layout: RootLayout, marked: bool) -> RootRun:
    config = ERRORS_BY_KEY if marked else {}
    return RootRun(
        Storage(),
        str(root),
        layout,
        config=config,
        hashed_config={},
        log=lambda _: None,
        target_file_bytes=2**27,  # small commits are merged when a run finishes, as in the job
    ).__enter__()


def answer(key: str) -> dict[str, Any]:
    return {"key": key, "image_id": IMAGE, "source": LISTED["source"], "answer": "a plot"}


def commit(run: RootRun, outcomes: dict[str, str], errors: pa.Table) -> None:
    """One batch: `outcomes` (key -> status), an answer for each `ok`, and `errors` as given."""
    answers = [answer(key) for key, status in outcomes.items() if status == "ok"]
    ledger = [{**LISTED, "key": key, "status": status, "sha256": None} for key, status in outcomes.items()]
    run.committer.commit(
        [f"{key}|{run.run_id}" for key in outcomes],
        {
            CAPTIONS_DIR: pa.Table.from_pylist(answers, schema=captions_schema()),
            ERRORS_DIR: errors,
        },
        pa.Table.from_pylist(ledger, schema=ledger_schema()),
    )


def finish(run: RootRun) -> list[dict[str, Any]]:
    """Settle and write the manifest; the committed error rows."""
    run.finish(lambda ledger: Summary({}, complete=True))
    table = run.storage.read_parquet(
        [f"{run.root}/{name}" for name in read_manifest(run.storage, run.root)["files"][ERRORS_DIR]]
    )
    return table.to_pylist() if table is not None else []


def test_an_answer_replaces_its_own_error_row_and_not_the_one_of_another_prompt(tmp_path: Path) -> None:
    run = open_run(tmp_path, LAYOUT, marked=True)
    failed = error_row(ASKED, LISTED, "Rejected", "refused")
    commit(run, {ASKED: "failed", ANSWERED: "ok"}, pa.Table.from_pylist([failed], schema=errors_schema()))
    assert [row["key"] for row in finish(run)] == [ASKED]

    again = open_run(tmp_path, layout_for(read_manifest(Storage(), str(tmp_path))), marked=True)
    assert again.layout == LAYOUT
    commit(again, {ASKED: "ok"}, errors_schema().empty_table())
    assert finish(again) == []
    assert {row["key"]: row["status"] for row in again.ledger} == {ASKED: "ok", ANSWERED: "ok"}


def test_a_root_begun_before_error_rows_had_a_key_keeps_following_them_by_image(tmp_path: Path) -> None:
    old = open_run(tmp_path, LAYOUT_BY_IMAGE, marked=False)
    # as an earlier version wrote them: no key column
    legacy = pa.table(
        {
            name: [value]
            for name, value in {
                "source": LISTED["source"],
                "doc_id": None,
                "pair_id": IMAGE,
                "stage": "caption",
                "error": "Rejected",
                "message": "refused",
            }.items()
        },
        schema=pa.schema([field for field in errors_schema() if field.name != "key"]),
    )
    commit(old, {ASKED: "failed", ANSWERED: "ok"}, legacy)
    finish(old)

    previous = read_manifest(Storage(), str(tmp_path))
    assert layout_for(previous) == LAYOUT_BY_IMAGE
    rerun = open_run(tmp_path, LAYOUT_BY_IMAGE, marked=False)
    commit(rerun, {ASKED: "ok"}, errors_schema().empty_table())
    # settles and compacts without the column; the old row stays with its image, as before
    [kept] = finish(rerun)
    assert (kept["pair_id"], kept.get("key")) == (IMAGE, None)
    assert {row["key"]: row["status"] for row in rerun.ledger} == {ASKED: "ok", ANSWERED: "ok"}


def test_which_roots_follow_error_rows_by_key() -> None:
    assert layout_for(None) == LAYOUT  # a new root
    assert layout_for({"job": "caption", "config": {"prompts": ["?"], **ERRORS_BY_KEY}}) == LAYOUT
    assert layout_for({"job": "caption", "config": {"prompts": ["?"]}}) == LAYOUT_BY_IMAGE
