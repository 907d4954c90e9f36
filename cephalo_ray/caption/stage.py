"""Batch captioning / VQA: the Ray Data actor that answers every (image, prompt) of a batch with the
serving engine (dynamic batching inside the actor) and commits the answers, errors first, ledger last;
and how a rerun recognises the images earlier runs answered (`recognise`).
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from cephalo_ray.models.engine import EngineOptions, SamplingParams, image_messages
from cephalo_ray.restart import BatchCommitter, RootLayout
from cephalo_ray.rows import errors_schema
from cephalo_ray.storage import Storage, is_s3

CAPTIONS_DIR = "captions"
ERRORS_DIR = "errors"
LEDGER_DIR = "done"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")
STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_RETRY = "retry"  # the image could not be read this time (storage): asked again on a rerun
STATUS_SKIPPED = "skipped"
# One (image, prompt) is the restart unit; its answer follows it by `key`, its error by the image.
LAYOUT = RootLayout(
    job="caption",
    ledger_dir=LEDGER_DIR,
    key_columns=("key",),
    links={CAPTIONS_DIR: ("key", "key"), ERRORS_DIR: ("pair_id", "image_id")},
)


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


def captions_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("key", pa.string()),
            ("image_id", pa.string()),
            ("source", pa.string()),
            ("prompt", pa.string()),
            ("answer", pa.string()),
            ("finish_reason", pa.string()),
            ("model", pa.string()),
            ("prompt_tokens", pa.int32()),
            ("completion_tokens", pa.int32()),
            ("seconds", pa.float64()),
        ]
    )


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


def decode(data: bytes) -> Any:
    """An RGB image from encoded bytes; refuses decompression bombs.

    Raises:
        ValueError, OSError: for bytes that are not an image this can read.
    """
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    if image.width * image.height > 40_000_000:
        raise ValueError(f"{image.width}x{image.height} pixels is more than 40 megapixels")
    return image.convert("RGB")


class CaptionStage:
    """`map_batches` callable: rows with `image_id`, `source` and `image` bytes (or `uri`, with the
    listed `size` and `mtime_ns`) in, one outcome per (image, prompt) out; answers are committed
    before the batch returns, each ledger row naming where the image was and its bytes' sha256.

    Args:
        committer: commits a batch's answers into the output root while this run owns it.
        storage: how to reach the images.
        model: the model to load (folder, hub name or s3://); model_name: what rows record.
        prompts: asked of every image.
        done: keys answered by earlier runs (skipped).
        params: how every answer is sampled; engine: how the actor's engine batches.
    """

    def __init__(
        self,
        committer: BatchCommitter,
        storage: Storage,
        model: str,
        model_name: str,
        prompts: Sequence[str],
        done: Iterable[str],
        params: SamplingParams,
        engine: EngineOptions,
    ) -> None:
        from cephalo_ray.models.engine import Engine

        self.committer = committer
        self.storage = storage
        self.model_name = model_name
        self.prompts = list(prompts)
        self.done = set(done)
        self.params = params
        self.engine = Engine.load(model, engine, storage=storage)

    def __call__(self, batch: Any) -> dict[str, list[Any]]:
        import pyarrow as pa

        called = time.monotonic()
        rows = batch.to_pylist()
        outcomes: dict[str, list[Any]] = {"key": [], "image_id": [], "status": [], "completion_tokens": []}
        answers: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        ledger: list[dict[str, Any]] = []
        waiting: list[tuple[str, dict[str, Any], str, Any, str]] = []
        for row in rows:
            keys = [(item_key(row["image_id"], prompt), prompt) for prompt in self.prompts]
            pending = [(key, prompt) for key, prompt in keys if key not in self.done]
            for key, _ in keys:
                if key in self.done:
                    self.record(outcomes, key, row["image_id"], STATUS_SKIPPED, 0)
            if not pending:
                continue
            try:
                data = row.get("image") or self.storage.read_bytes(row["uri"])
            except OSError as error:  # storage that failed to answer may answer on a rerun
                message = f"cannot read: {error}"
                self.refuse(row, pending, message, STATUS_RETRY, None, outcomes, errors, ledger)
                continue
            # the bytes answered, as read here: a rerun compares an image found elsewhere with them
            digest = hashlib.sha256(data).hexdigest()
            try:
                image = decode(data)
            except Exception as error:  # an unreadable image is an error row, the batch goes on
                message = f"{type(error).__name__}: {error}"
                self.refuse(row, pending, message, STATUS_FAILED, digest, outcomes, errors, ledger)
                continue
            for key, prompt in pending:
                waiting.append((key, row, prompt, image, digest))
        # all at once: the engine batches them together
        results = self.engine.generate_many(
            [(image_messages(prompt), [image], self.params) for _, _, prompt, image, _ in waiting]
        )
        for (key, row, prompt, _, digest), result in zip(waiting, results, strict=True):
            if result["error"]:
                errors.append(self.error_row(row, result["error"]))
                self.record(outcomes, key, row["image_id"], STATUS_FAILED, 0)
                ledger.append(ledger_row(key, row, STATUS_FAILED, digest))
                continue
            answers.append(
                {
                    "key": key,
                    "image_id": row["image_id"],
                    "source": row["source"],
                    "prompt": prompt,
                    "answer": result["text"],
                    "finish_reason": result["finish_reason"],
                    "model": self.model_name,
                    "prompt_tokens": result["prompt_tokens"],
                    "completion_tokens": result["completion_tokens"],
                    "seconds": result["seconds"],
                }
            )
            self.record(outcomes, key, row["image_id"], STATUS_OK, result["completion_tokens"])
            ledger.append(ledger_row(key, row, STATUS_OK, digest))
        if ledger:
            data = {
                CAPTIONS_DIR: pa.Table.from_pylist(answers, schema=captions_schema()),
                ERRORS_DIR: pa.Table.from_pylist(errors, schema=errors_schema()),
            }
            # this run's attempt: a later run's attempt at the same keys commits under another name
            names = [f"{row['key']}|{self.committer.run_id}" for row in ledger]
            self.committer.commit(names, data, pa.Table.from_pylist(ledger, schema=ledger_schema()))
        # the actor's working time for this batch, on its first row (the driver sums the column)
        outcomes["busy_seconds"] = [
            time.monotonic() - called if number == 0 else 0.0 for number in range(len(outcomes["key"]))
        ]
        return outcomes

    def refuse(
        self,
        row: dict[str, Any],
        pending: list[tuple[str, str]],
        message: str,
        status: str,
        digest: str | None,
        outcomes: dict[str, list[Any]],
        errors: list[dict[str, Any]],
        ledger: list[dict[str, Any]],
    ) -> None:
        """One error row for an image that cannot be asked about, and its outcome for every prompt."""
        errors.append(self.error_row(row, message))
        for key, _ in pending:
            self.record(outcomes, key, row["image_id"], status, 0)
            ledger.append(ledger_row(key, row, status, digest))

    def error_row(self, row: dict[str, Any], message: str) -> dict[str, Any]:
        return {
            "source": row["source"],
            "doc_id": None,
            "pair_id": row["image_id"],
            "stage": "caption",
            "error": "Failed",
            "message": message[:500],
        }

    @staticmethod
    def record(outcomes: dict[str, list[Any]], key: str, image_id: str, status: str, tokens: int) -> None:
        outcomes["key"].append(key)
        outcomes["image_id"].append(image_id)
        outcomes["status"].append(status)
        outcomes["completion_tokens"].append(tokens)


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
