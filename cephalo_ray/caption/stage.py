"""Batch captioning / VQA: the Ray Data actor that answers every (image, prompt) of a batch with the
serving engine (dynamic batching inside the actor) and commits the answers, errors first, ledger last.
A failing row is asked again alone and a transient failure again after a wait (`retry.py`); an
engine that does not answer within `RetryPolicy.batch_timeout_s` is discarded for a fresh one. How a
rerun recognises the images earlier runs answered is `identity.py`.
"""

from __future__ import annotations

import hashlib
import io
import math
import sys
import time
from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any

from cephalo_ray.caption.identity import item_key, ledger_row, ledger_schema
from cephalo_ray.caption.retry import (
    TRANSIENT,
    UNDECODABLE,
    UNREADABLE,
    RetryPolicy,
    describe,
    exception_kind,
    generate_with_retries,
)
from cephalo_ray.models.engine import Engine, EngineBusyError, EngineOptions, SamplingParams, image_messages
from cephalo_ray.restart import BatchCommitter, RootLayout
from cephalo_ray.rows import ErrorRow, errors_schema
from cephalo_ray.storage import Storage

CAPTIONS_DIR = "captions"
ERRORS_DIR = "errors"
LEDGER_DIR = "done"
STATUS_OK = "ok"
STATUS_FAILED = "failed"  # the image's own fault: asked again only with --retry-failed
STATUS_RETRY = "retry"  # a transient failure (storage, memory, the engine): asked again on a rerun
STATUS_SKIPPED = "skipped"
# One (image, prompt) is the restart unit; its answer and its error row follow it by `key`. Error
# rows written before they had a key (or without one) follow their image: pair_id = image_id.
LAYOUT = RootLayout(
    job="caption",
    ledger_dir=LEDGER_DIR,
    key_columns=("key",),
    links={CAPTIONS_DIR: ("key", "key"), ERRORS_DIR: ("key", "key", "pair_id", "image_id")},
)
EngineLoader = Callable[..., Engine]  # `Engine.load`'s signature: (model, options, *, storage)


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
        retry: how failed answers are asked again.
        load_engine: loads the model into an engine (default `Engine.load`); called again when the
            engine's worker has stopped or it outlasted `retry.batch_timeout_s`.
    """

    def __init__(
        self,
        committer: BatchCommitter,
        storage: Storage,
        model: str,
        model_name: str,
        prompts: Sequence[str],
        done: Container[str],
        params: SamplingParams,
        engine: EngineOptions,
        retry: RetryPolicy | None = None,
        load_engine: EngineLoader | None = None,
    ) -> None:
        self.committer = committer
        self.storage = storage
        self.model = model
        self.model_name = model_name
        self.prompts = list(prompts)
        self.done = done  # a compact lookup from the driver: only `in` is asked of it
        self.params = params
        self.options = engine
        self.retry = retry or RetryPolicy()
        self.load_engine = load_engine or Engine.load
        self.engine: Engine | None = self.load_engine(model, engine, storage=storage)

    def __call__(self, batch: Any) -> dict[str, list[Any]]:
        import pyarrow as pa

        called = time.monotonic()
        rows = batch.to_pylist()
        outcomes: dict[str, list[Any]] = {"key": [], "image_id": [], "status": [], "completion_tokens": []}
        answers: list[dict[str, Any]] = []
        errors: list[ErrorRow] = []
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
                self.refuse(row, pending, UNREADABLE, message, None, outcomes, errors, ledger)
                continue
            # the bytes answered, as read here: a rerun compares an image found elsewhere with them
            digest = hashlib.sha256(data).hexdigest()
            try:
                image = decode(data)
            except Exception as error:  # an unreadable image is an error row, the batch goes on
                kind = exception_kind(error)  # out of memory while decoding is not the image's fault
                kind = kind if kind in TRANSIENT else UNDECODABLE
                self.refuse(row, pending, kind, describe(error), digest, outcomes, errors, ledger)
                continue
            for key, prompt in pending:
                waiting.append((key, row, prompt, image, digest))
        # all at once, so the engine batches them; failures are asked again alone (retry.py)
        results = generate_with_retries(
            [(image_messages(prompt), [image], self.params) for _, _, prompt, image, _ in waiting],
            self.generate,
            self.retry,
        )
        for (key, row, prompt, _, digest), result in zip(waiting, results, strict=True):
            if result["error"]:
                self.refuse(
                    row,
                    [(key, prompt)],
                    result["error_kind"],
                    failure_message(result["error"], result["error_kind"], result["attempts"]),
                    digest,
                    outcomes,
                    errors,
                    ledger,
                )
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

    def generate(self, requests: Sequence[tuple[list[dict[str, Any]], list[Any], SamplingParams]]) -> Any:
        """The engine's answers to `requests`, batched together; an engine whose worker has stopped
        (a fault it could not survive), or that outlasted the deadline, is loaded again first.

        Raises:
            EngineBusyError: when the engine is full, stopped, or cannot be loaded again (transient).
            TimeoutError: when the engine does not answer within `retry.batch_timeout_s` (transient;
                that engine is discarded).
        """
        if self.engine is None or self.engine.problem(math.inf) is not None:
            try:
                self.reload()
            except Exception as error:  # storage or memory may be back for the next try
                raise EngineBusyError(f"the model could not be loaded again: {describe(error)}") from error
        assert self.engine is not None
        try:
            return self.engine.generate_many(requests, timeout_s=self.retry.batch_timeout_s)
        except TimeoutError as error:
            print(f"caption: {error}; loading the model again", file=sys.stderr)
            self.discard()
            raise

    def reload(self) -> None:
        """Load the model into a new engine, the old one's memory given back first."""
        if self.engine is not None:
            print(f"caption: {self.engine.problem(math.inf)}; loading the model again", file=sys.stderr)
        self.discard()
        self.engine = self.load_engine(self.model, self.options, storage=self.storage)

    def discard(self) -> None:
        """Stop the engine and let it go. A worker stuck in a call cannot be interrupted: it ends
        when that call returns, so it is not waited for."""
        import gc

        if self.engine is not None:
            self.engine.close(wait_s=1.0)
        self.engine = None
        gc.collect()

    def refuse(
        self,
        row: dict[str, Any],
        pending: list[tuple[str, str]],
        kind: str,
        message: str,
        digest: str | None,
        outcomes: dict[str, list[Any]],
        errors: list[ErrorRow],
        ledger: list[dict[str, Any]],
    ) -> None:
        """The outcome of every pending (image, prompt) that cannot be answered, and its error row:
        `retry` for a transient kind of failure, else `failed`."""
        status = STATUS_RETRY if kind in TRANSIENT else STATUS_FAILED
        for key, _ in pending:
            errors.append(error_row(key, row, kind, message))
            self.record(outcomes, key, row["image_id"], status, 0)
            ledger.append(ledger_row(key, row, status, digest))

    @staticmethod
    def record(outcomes: dict[str, list[Any]], key: str, image_id: str, status: str, tokens: int) -> None:
        outcomes["key"].append(key)
        outcomes["image_id"].append(image_id)
        outcomes["status"].append(status)
        outcomes["completion_tokens"].append(tokens)


def error_row(key: str, row: Mapping[str, Any], kind: str, message: str) -> ErrorRow:
    """The error row of one (image, prompt): `key` names it, so a later answer replaces exactly it."""
    return {
        "source": row["source"],
        "doc_id": None,
        "pair_id": row["image_id"],
        "key": key,
        "stage": "caption",
        "error": kind,
        "message": message[:500],
    }


def failure_message(error: str, kind: str, attempts: int) -> str:
    """An error row's message: the last failure, how often it was asked, and what a rerun does."""
    tries = f"asked {attempts} time{'s' if attempts != 1 else ''}"
    then = "a rerun asks again" if kind in TRANSIENT else "asked again only with --retry-failed"
    return f"{tries}, {then}: {error}"  # first: a long error is cut at 500 characters
