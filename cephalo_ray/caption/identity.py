"""How `cephalo caption` recognises the answers of earlier runs: an image is named by its path inside
the input (`image_id`), an answer by its image and prompt (`item_key`), and each answer's `done/` row
records where the image was listed (source, size, mtime_ns) and the sha256 of the bytes answered.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from cephalo_ray.storage import Storage, is_s3

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")


def item_key(image_id: str, prompt: str) -> str:
    """The identity of one answer: the image and the prompt (a rerun recognises it by this)."""
    return hashlib.sha256(f"{image_id}\n{prompt}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class ListedImage:
    """One image of an input folder.

    Args:
        image_id: its path inside the folder, `/`-separated: the same wherever the folder is mounted
            or copied.
        uri: where it is now; size, mtime_ns: as listed (None where storage does not say).
    """

    image_id: str
    uri: str
    size: int | None
    mtime_ns: int | None


def image_name(uri: str, folder: str) -> str:
    """The path of `uri` inside `folder` (a local folder or an s3:// prefix), `/`-separated."""
    if is_s3(folder):
        return uri[len(folder.rstrip("/")) + 1 :]
    return PurePath(os.path.relpath(uri, os.path.abspath(folder))).as_posix()


@dataclass(frozen=True)
class Recognised:
    """What earlier runs answered of a folder's images, as their ledger rows tell.

    Args:
        done: keys answered for the bytes the image has now (skipped).
        unchecked: images with answers made where or when the image was listed otherwise (another
            URI, size or modification time): only their bytes can tell (`recognise` with digests).
        moved: images answered in full for these bytes whose answers name another place.
        changed: images whose bytes differ from those answered (asked again; the answer is replaced).
        unreadable: images storage did not return for the check; their answers are kept as they are.
    """

    done: frozenset[str]
    unchecked: tuple[ListedImage, ...] = ()
    moved: tuple[ListedImage, ...] = ()
    changed: int = 0
    unreadable: int = 0


def recognise(
    images: Sequence[ListedImage],
    prompts: Sequence[str],
    ledger: Iterable[Mapping[str, Any]],
    redo: Collection[str],
    digests: Mapping[str, str | None] | None = None,
) -> Recognised:
    """Which answers of a settled ledger still stand for the images listed now.

    An answer stands without reading its image when the image is listed at the URI, size and
    modification time its ledger row records; otherwise when the sha256 of the image's bytes
    (`digests`, by URI) equals the one recorded. Ledger rows whose status is in `redo` never stand.
    """
    latest = {row["key"]: row for row in ledger}
    digests = digests or {}
    done: set[str] = set()
    unchecked: list[ListedImage] = []
    moved: list[ListedImage] = []
    changed = unreadable = 0
    for image in images:
        keys = [item_key(image.image_id, prompt) for prompt in prompts]
        answered = {key: latest[key] for key in keys if key in latest and latest[key]["status"] not in redo}
        elsewhere = [key for key, row in answered.items() if not listed_as(row, image)]
        done.update(key for key in answered if key not in elsewhere)
        if not elsewhere:
            continue
        if image.uri not in digests:
            unchecked.append(image)
            continue
        digest = digests[image.uri]
        if digest is None:  # unreadable now: the answers are kept, and checked again next time
            unreadable += 1
            done.update(elsewhere)
            continue
        same = [key for key in elsewhere if answered[key].get("sha256") == digest]
        done.update(same)
        changed += len(same) < len(elsewhere)
        if all(key in done for key in keys):
            moved.append(image)
    return Recognised(frozenset(done), tuple(unchecked), tuple(moved), changed, unreadable)


def listed_as(row: Mapping[str, Any], image: ListedImage) -> bool:
    """Whether a ledger row was committed for the image at its URI, size and modification time."""
    if image.size is None or image.mtime_ns is None:
        return False
    recorded = (row.get("source"), row.get("size"), row.get("mtime_ns"))
    return recorded == (image.uri, image.size, image.mtime_ns)


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
