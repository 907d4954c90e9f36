"""Batch captioning / VQA: the Ray Data actor that answers every (image, prompt) of a batch with the
serving engine (dynamic batching inside the actor) and commits the answers, errors first, ledger last.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterable, Sequence
from typing import Any

from cephalo_ray.models.engine import EngineOptions, SamplingParams, image_messages
from cephalo_ray.restart import BatchCommitter, RootLayout
from cephalo_ray.rows import errors_schema
from cephalo_ray.storage import Storage

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

    return pa.schema([("key", pa.string()), ("image_id", pa.string()), ("status", pa.string())])


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
    """`map_batches` callable: rows with `image_id`, `source` and `image` bytes (or `uri`) in, one
    outcome per (image, prompt) out; answers are committed before the batch returns.

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
        waiting: list[tuple[str, dict[str, Any], str, Any]] = []
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
                self.refuse(row, pending, f"cannot read: {error}", STATUS_RETRY, outcomes, errors)
                continue
            try:
                image = decode(data)
            except Exception as error:  # an unreadable image is an error row, the batch goes on
                self.refuse(row, pending, f"{type(error).__name__}: {error}", STATUS_FAILED, outcomes, errors)
                continue
            for key, prompt in pending:
                waiting.append((key, row, prompt, image))
        # all at once: the engine batches them together
        results = self.engine.generate_many(
            [(image_messages(prompt), [image], self.params) for _, _, prompt, image in waiting]
        )
        for (key, row, prompt, _), result in zip(waiting, results, strict=True):
            if result["error"]:
                errors.append(self.error_row(row, result["error"]))
                self.record(outcomes, key, row["image_id"], STATUS_FAILED, 0)
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
        new = [
            {"key": key, "image_id": image_id, "status": status}
            for key, image_id, status in zip(
                outcomes["key"], outcomes["image_id"], outcomes["status"], strict=True
            )
            if status != STATUS_SKIPPED
        ]
        if new:
            data = {
                CAPTIONS_DIR: pa.Table.from_pylist(answers, schema=captions_schema()),
                ERRORS_DIR: pa.Table.from_pylist(errors, schema=errors_schema()),
            }
            # this run's attempt: a later run's attempt at the same keys commits under another name
            names = [f"{row['key']}|{self.committer.run_id}" for row in new]
            self.committer.commit(names, data, pa.Table.from_pylist(new, schema=ledger_schema()))
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
        outcomes: dict[str, list[Any]],
        errors: list[dict[str, Any]],
    ) -> None:
        """One error row for an image that cannot be asked about, and its outcome for every prompt."""
        errors.append(self.error_row(row, message))
        for key, _ in pending:
            self.record(outcomes, key, row["image_id"], status, 0)

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
