"""How `cephalo caption` recognises the answers of earlier runs: an image is named by its path inside
the input (`image_id`), an answer by its image and prompt (`item_key`), and each answer's `done/` row
records where the image was listed (source, size, mtime_ns) and the sha256 of the bytes answered.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from cephalo_ray.ledger import ColumnLookup, anti_join, semi_join
from cephalo_ray.storage import LISTING_PAGE, Storage, is_s3

if TYPE_CHECKING:
    import pyarrow as pa

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")


def item_key(image_id: str, prompt: str) -> str:
    """The identity of one answer: the image and the prompt (a rerun recognises it by this)."""
    return hashlib.sha256(f"{image_id}\n{prompt}".encode()).hexdigest()[:24]


def image_name(uri: str, folder: str) -> str:
    """The path of `uri` inside `folder` (a local folder or an s3:// prefix), `/`-separated."""
    if is_s3(folder):
        return uri[len(folder.rstrip("/")) + 1 :]
    return PurePath(os.path.relpath(uri, os.path.abspath(folder))).as_posix()


# What a listed image is known by: its name inside the input, where it is, and as listed.
IMAGE_COLUMNS = ("image_id", "uri", "size", "mtime_ns")
# The ledger columns that tell where an answer's image was listed and what its bytes were.
PLACE_COLUMNS = ("key", "source", "size", "mtime_ns", "sha256")


def image_table(files: pa.Table, folder: str) -> pa.Table:
    """The images of a folder's listing (uri, size, mtime_ns) as `IMAGE_COLUMNS`, by image_id.

    Names are made a listing page at a time: the driver holds Arrow columns, not an object per file.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    pattern = "(" + "|".join(re.escape(suffix) for suffix in IMAGE_SUFFIXES) + ")$"
    files = files.filter(pc.match_substring_regex(files.column("uri"), pattern, ignore_case=True))
    names = [
        pa.array([image_name(uri, folder) for uri in page.column("uri").to_pylist()], pa.string())
        for page in files.to_batches(max_chunksize=LISTING_PAGE)
    ]
    images = pa.table(
        {
            "image_id": pa.chunked_array(names, pa.string()),
            "uri": files.column("uri"),
            "size": files.column("size"),
            "mtime_ns": files.column("mtime_ns"),
        }
    )
    return images.sort_by("image_id")


def answer_items(images: pa.Table, prompts: Sequence[str]) -> pa.Table:
    """One row per (image, prompt), image by image: the image's columns and the answer's `key`."""
    import numpy as np
    import pyarrow as pa

    rows = images.take(pa.array(np.repeat(np.arange(images.num_rows, dtype=np.int64), len(prompts))))
    keys = [
        pa.array(
            [item_key(image_id, prompt) for image_id in page.column(0).to_pylist() for prompt in prompts],
            pa.string(),
        )
        for page in images.select(["image_id"]).to_batches(max_chunksize=LISTING_PAGE)
    ]
    return rows.add_column(1, "key", pa.chunked_array(keys, pa.string()))


@dataclass(frozen=True)
class Recognised:
    """What earlier runs answered of a folder's images, as their ledger rows tell.

    Args:
        done: keys answered for the bytes the image has now (skipped), each once.
        unchecked: images (`IMAGE_COLUMNS`) with answers made where or when the image was listed
            otherwise (another URI, size or modification time): only their bytes can tell
            (`recognise` with digests).
        moved: images answered in full for these bytes whose answers name another place.
        changed: images whose bytes differ from those answered (asked again; the answer is replaced).
        unreadable: images storage did not return for the check; their answers are kept as they are.
    """

    done: pa.Array
    unchecked: pa.Table | None = None
    moved: pa.Table | None = None
    changed: int = 0
    unreadable: int = 0

    @property
    def to_check(self) -> int:
        return self.unchecked.num_rows if self.unchecked is not None else 0

    @property
    def to_adopt(self) -> int:
        return self.moved.num_rows if self.moved is not None else 0


def keys_of(table: pa.Table) -> pa.Array:
    """The distinct `key`s of a table (none for the column-less empty ledger)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return pa.array([], pa.string())
    return pc.unique(table.column("key").combine_chunks())


def done_lookup(keys: pa.Array) -> ColumnLookup:
    """The answered keys as a compact membership test for the actors (`key in done`)."""
    import pyarrow as pa

    return ColumnLookup(keys, pa.nulls(len(keys)))


def waiting(items: pa.Table, done: pa.Array) -> int:
    """How many (image, prompt) items of `items` are not answered."""
    import pyarrow as pa

    return int(anti_join(items, pa.table({"key": done}), ["key"]).num_rows)


def recognise(items: pa.Table, finished: pa.Table, digests: pa.Table | None = None) -> Recognised:
    """Which answers of a settled ledger still stand for the images listed now.

    An answer stands without reading its image when the image is listed at the URI, size and
    modification time its ledger row records; otherwise when the sha256 of the image's bytes
    (`digests`: uri, sha256, null where storage failed) equals the one recorded.

    Args:
        items: `answer_items` of the listed images.
        finished: the settled ledger's rows that count as answered (`PLACE_COLUMNS` at least).
        digests: the bytes' sha256 of images read to compare them.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if finished.num_rows == 0 or items.num_rows == 0:
        return Recognised(pa.array([], pa.string()))
    answered = semi_join(items, finished, ["key"])
    listed = answered.filter(
        pc.and_(pc.is_valid(answered.column("size")), pc.is_valid(answered.column("mtime_ns")))
    )
    here = semi_join(
        listed, finished, ["key", "uri", "size", "mtime_ns"], ["key", "source", "size", "mtime_ns"]
    )
    elsewhere = anti_join(answered, here, ["key"])
    if elsewhere.num_rows == 0:
        return Recognised(keys_of(here))
    if digests is None:
        digests = pa.table({"uri": pa.array([], pa.string()), "sha256": pa.array([], pa.string())})
    unchecked = anti_join(elsewhere, digests, ["uri"])
    checked = semi_join(elsewhere, digests, ["uri"])
    digest = pc.index_in(checked.column("uri"), value_set=digests.column("uri").combine_chunks())
    checked = checked.append_column("digest", digests.column("sha256").take(digest))
    unreadable = checked.filter(pc.is_null(checked.column("digest")))
    readable = checked.filter(pc.is_valid(checked.column("digest")))
    same = semi_join(readable, finished, ["key", "digest"], ["key", "sha256"])
    done = keys_of(pa.concat_tables([part.select(["key"]) for part in (here, unreadable, same)]))
    # an image counts as moved once every answer it needs stands for its bytes
    incomplete = anti_join(items, pa.table({"key": done}), ["key"])
    moved = anti_join(ids_of(readable), ids_of(incomplete), ["image_id"])
    images = images_of(items)
    return Recognised(
        done,
        semi_join(images, ids_of(unchecked), ["image_id"]),
        semi_join(images, moved, ["image_id"]),
        changed=ids_of(anti_join(readable, same, ["key"])).num_rows,
        unreadable=ids_of(unreadable).num_rows,
    )


def ids_of(items: pa.Table) -> pa.Table:
    """The distinct image_ids of `items` (a one-column table)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pa.table({"image_id": pc.unique(items.column("image_id").combine_chunks())})


def images_of(items: pa.Table) -> pa.Table:
    """One row per image of `items` (`IMAGE_COLUMNS`), in their order."""
    import pyarrow as pa

    columns = [column for column in IMAGE_COLUMNS if column in items.column_names]
    indexed = items.select(columns).append_column("row", pa.array(range(items.num_rows), pa.int64()))
    first = indexed.group_by(["image_id"], use_threads=False).aggregate([("row", "min")])
    return items.select(columns).take(first.column("row_min").combine_chunks().sort())


def digest_batch(batch: Any, storage: Storage) -> Any:
    """`map_batches` function: the sha256 of the bytes at each `uri` (None where storage failed)."""
    import pyarrow as pa

    uris = batch.column("uri").to_pylist()
    digests: list[str | None] = []
    for uri in uris:
        try:
            digests.append(hashlib.sha256(storage.read_bytes(uri)).hexdigest())
        except OSError:
            digests.append(None)
    return pa.table({"uri": pa.array(uris, pa.string()), "sha256": pa.array(digests, pa.string())})


def ledger_schema() -> Any:
    import pyarrow as pa

    # where the image was and the sha256 of its bytes: what a rerun recognises it by
    return pa.schema(
        [
            ("key", pa.string()),
            ("image_id", pa.string()),
            ("status", pa.string()),
            ("source", pa.string()),
            ("size", pa.int64()),
            ("mtime_ns", pa.int64()),
            ("sha256", pa.string()),
        ]
    )


def ledger_row(key: str, row: Mapping[str, Any], status: str, digest: str | None) -> dict[str, Any]:
    """One answer's ledger row: its outcome, where its image was (as listed) and its bytes' sha256."""
    return {
        "key": key,
        "image_id": row["image_id"],
        "status": status,
        "source": row["source"],
        "size": row.get("size"),
        "mtime_ns": row.get("mtime_ns"),
        "sha256": digest,
    }
