"""Caption's rerun check kept as Arrow (listing and ledger joined) recognises what the per-row Python
check of earlier versions recognised: unchanged, moved, changed, unreadable and half-answered images."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pytest

from cephalo_ray.caption.identity import (
    PLACE_COLUMNS,
    answer_items,
    image_table,
    item_key,
    ledger_schema,
    recognise,
)
from cephalo_ray.ledger import status_is_in
from cephalo_ray.restart import RootLayout, RootRun
from cephalo_ray.storage import Storage, input_table

PROMPTS = ["Describe this figure.", "Which axes?"]
REDO = {"retry"}

# (image_id, uri now, size, mtime_ns now)
LISTED = [
    ("a.png", "/new/a.png", 10, 5),  # answered here, as listed: unchanged
    ("b.png", "/new/b.png", 20, 5),  # answered at /old (a moved folder), same bytes: moved
    ("c.png", "/new/c.png", 30, 9),  # answered here at another time, other bytes: changed
    ("d.png", "/new/d.png", 40, 5),  # answered at /old, unreadable now: kept
    ("e.png", "/new/e.png", 50, 5),  # one prompt answered at /old with these bytes: not moved (half)
    ("f.png", "/new/f.png", 60, 5),  # never answered
    ("g.png", "/new/g.png", 70, None),  # storage gives no time: read it
    ("h.png", "/new/h.png", 80, 5),  # answered at /old, not read in the second pass: unchecked
    ("i.png", "/new/i.png", 90, 5),  # a `retry` answer here and one moved: asked again
]


def ledger_rows() -> list[dict[str, Any]]:
    def row(image: str, prompt: str, source: str, size: int, mtime: int, sha: str, status: str = "ok") -> Any:
        return {
            "key": item_key(image, prompt),
            "image_id": image,
            "status": status,
            "source": source,
            "size": size,
            "mtime_ns": mtime,
            "sha256": sha,
        }

    first, second = PROMPTS
    return [
        row("a.png", first, "/new/a.png", 10, 5, "sa"),
        row("a.png", second, "/new/a.png", 10, 5, "sa"),
        row("b.png", first, "/old/b.png", 20, 5, "sb"),
        row("b.png", second, "/old/b.png", 20, 5, "sb"),
        row("c.png", first, "/new/c.png", 30, 5, "old-c"),
        row("c.png", second, "/new/c.png", 30, 5, "sc"),  # this prompt's bytes match
        row("d.png", first, "/old/d.png", 40, 5, "sd"),
        row("e.png", first, "/old/e.png", 50, 5, "se"),
        row("g.png", first, "/new/g.png", 70, 5, "sg"),
        row("g.png", second, "/new/g.png", 70, 5, "sg"),
        row("h.png", first, "/old/h.png", 80, 5, "sh"),
        row("i.png", first, "/new/i.png", 90, 5, "si", "retry"),
        row("i.png", second, "/old/i.png", 90, 5, "si"),
        row("z.png", first, "/old/z.png", 1, 1, "sz"),  # no longer listed
    ]


DIGESTS: dict[str, str | None] = {
    "/new/b.png": "sb",
    "/new/c.png": "sc",
    "/new/d.png": None,
    "/new/e.png": "se",
    "/new/g.png": "sg",
    "/new/i.png": "si",
}


# -- the per-row Python check of earlier versions ----------------------------------------------


def python_recognise(
    images: Sequence[tuple[str, str, int | None, int | None]],
    prompts: Sequence[str],
    ledger: list[Mapping[str, Any]],
    redo: Collection[str],
    digests: Mapping[str, str | None] | None = None,
) -> tuple[set[str], list[str], list[str], int, int]:
    latest = {row["key"]: row for row in ledger}
    digests = digests or {}
    done: set[str] = set()
    unchecked: list[str] = []
    moved: list[str] = []
    changed = unreadable = 0
    for image_id, uri, size, mtime_ns in images:
        keys = [item_key(image_id, prompt) for prompt in prompts]
        answered = {key: latest[key] for key in keys if key in latest and latest[key]["status"] not in redo}
        here = (uri, size, mtime_ns)
        elsewhere = [
            key
            for key, row in answered.items()
            if size is None or mtime_ns is None or (row["source"], row["size"], row["mtime_ns"]) != here
        ]
        done.update(key for key in answered if key not in elsewhere)
        if not elsewhere:
            continue
        if uri not in digests:
            unchecked.append(image_id)
            continue
        digest = digests[uri]
        if digest is None:
            unreadable += 1
            done.update(elsewhere)
            continue
        same = [key for key in elsewhere if answered[key].get("sha256") == digest]
        done.update(same)
        changed += len(same) < len(elsewhere)
        if all(key in done for key in keys):
            moved.append(image_id)
    return done, unchecked, moved, changed, unreadable


# -- the Arrow check ---------------------------------------------------------------------------


def listing() -> pa.Table:
    return pa.table(
        {
            "image_id": [row[0] for row in LISTED],
            "uri": [row[1] for row in LISTED],
            "size": pa.array([row[2] for row in LISTED], pa.int64()),
            "mtime_ns": pa.array([row[3] for row in LISTED], pa.int64()),
        }
    )


def digest_table(digests: Mapping[str, str | None]) -> pa.Table:
    return pa.table(
        {"uri": pa.array(list(digests), pa.string()), "sha256": pa.array(list(digests.values()), pa.string())}
    )


@pytest.mark.parametrize(
    "digests",
    [None, DIGESTS, {uri: sha for uri, sha in DIGESTS.items() if uri != "/new/e.png"}],
    ids=["first pass", "bytes read", "some not read"],
)
def test_arrow_recognition_equals_the_python_recognition(tmp_path: Any, digests: Any) -> None:
    rows = ledger_rows()
    ledger = pa.Table.from_pylist(rows, schema=ledger_schema())
    # through a root, as the job reads it: the settled ledger, less the answers asked again
    run = RootRun(
        Storage(),
        str(tmp_path),
        RootLayout("caption", ledger_dir="done", key_columns=("key",)),
        config={},
        hashed_config={},
        log=lambda _: None,
    )
    with run:
        run.committer.commit([row["key"] for row in rows], {}, ledger)
        run.settle()
        standing = run.finished(status_is_in(REDO), PLACE_COLUMNS)
    found = recognise(
        answer_items(listing(), PROMPTS), standing, None if digests is None else digest_table(digests)
    )
    done, unchecked, moved, changed, unreadable = python_recognise(LISTED, PROMPTS, rows, REDO, digests)

    assert set(found.done.to_pylist()) == done and len(found.done) == len(done)
    assert image_ids(found.unchecked) == unchecked and image_ids(found.moved) == moved
    assert (found.changed, found.unreadable) == (changed, unreadable)
    if digests is DIGESTS:  # every kind of image is in the case
        assert moved == ["b.png", "g.png"] and changed == 1 and unreadable == 1 and unchecked == ["h.png"]
        assert item_key("e.png", PROMPTS[0]) in done and item_key("i.png", PROMPTS[0]) not in done
    if digests is None:
        assert unchecked == ["b.png", "c.png", "d.png", "e.png", "g.png", "h.png", "i.png"]
    if found.moved is not None:  # an image's listed columns, as the job re-commits them
        assert found.moved.column_names == ["image_id", "uri", "size", "mtime_ns"]


def image_ids(table: pa.Table | None) -> list[str]:
    return [] if table is None else table.column("image_id").to_pylist()


def test_a_folder_listing_is_named_inside_the_folder_and_keeps_only_images(tmp_path: Any) -> None:
    from cephalo_ray.storage import InputFile

    folder = tmp_path / "figs"
    files = [InputFile(str(folder / name), 1, 2) for name in ("b.PNG", "a/c.jpg", "notes.txt", "a.tif")]
    images = image_table(input_table(files), str(folder))
    assert images.column("image_id").to_pylist() == ["a.tif", "a/c.jpg", "b.PNG"]
    assert images.column("uri").to_pylist() == [str(folder / name) for name in ("a.tif", "a/c.jpg", "b.PNG")]
    items = answer_items(images, PROMPTS)
    assert items.column("key").to_pylist() == [
        item_key(image, prompt) for image in ("a.tif", "a/c.jpg", "b.PNG") for prompt in PROMPTS
    ]
