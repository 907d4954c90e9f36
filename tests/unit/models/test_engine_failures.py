"""How the engine reports a failed request: its kind (`Failure`) beside the message, on a real tiny
model whose processor fails or stalls for chosen images; and `generate_many`'s deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from PIL import Image

from cephalo_ray.models.engine import (
    STOPPED,
    Engine,
    EngineBusyError,
    Failure,
    SamplingParams,
    failure_of,
)
from cephalo_ray.models.tiny import build_tiny

GREEDY = SamplingParams(max_tokens=4, temperature=0)
OOM_WIDTH, BAD_WIDTH, GATED_WIDTH, DYING_WIDTH = 41, 42, 43, 44


class FailingProcessor:
    """The real processor, failing in the engine's worker for images of chosen widths: out of memory,
    refused, held while `gate` is shut, or ending the worker thread."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor
        self.gate = threading.Event()
        self.gate.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.processor, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        widths = {image.width for group in kwargs.get("images") or [] for image in group or []}
        if threading.current_thread().name == "cephalo-engine":
            if GATED_WIDTH in widths:
                self.gate.wait()
            if DYING_WIDTH in widths:
                raise SystemExit("the worker was stopped")  # a BaseException: the worker ends
            if OOM_WIDTH in widths:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            if BAD_WIDTH in widths:
                raise ValueError("out of memory is not what this is: the image has no pixels")
        return self.processor(*args, **kwargs)


@pytest.fixture(scope="module")
def tiny_llava() -> tuple[Any, Any]:
    return build_tiny("llava", seed=0)


@pytest.fixture()
def failing(tiny_llava: tuple[Any, Any]) -> Iterator[tuple[Engine, FailingProcessor]]:
    model, processor = tiny_llava
    faulty = FailingProcessor(processor)
    engine = Engine(model, faulty, is_vlm=True, batch_wait_s=0.01)
    try:
        yield engine, faulty
    finally:
        faulty.gate.set()
        engine.close()


def request(width: int) -> tuple[list[dict[str, Any]], list[Any], SamplingParams]:
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What?"}]}]
    return messages, [Image.new("RGB", (width, 30), (width, 80, 140))], GREEDY


def test_each_failed_request_names_its_kind_beside_the_message_and_its_batch_mates_are_answered(
    failing: tuple[Engine, FailingProcessor],
) -> None:
    engine, _ = failing
    good, oom, bad = engine.generate_many([request(36), request(OOM_WIDTH), request(BAD_WIDTH)])
    assert (good["error"], good["failure"]) == (None, None) and good["completion_tokens"] >= 1
    assert oom["failure"] == Failure.OUT_OF_MEMORY
    assert (
        oom["error"] == "generation failed: OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    )
    # the kind comes from the exception, not from words in its message
    assert bad["failure"] == Failure.ERROR and "ValueError: out of memory is not" in bad["error"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # ended on purpose
def test_a_request_whose_worker_stopped_is_unavailable(failing: tuple[Engine, FailingProcessor]) -> None:
    engine, _ = failing
    [answer] = engine.generate_many([request(DYING_WIDTH)])
    assert (answer["error"], answer["failure"]) == (STOPPED, Failure.UNAVAILABLE)
    with pytest.raises(EngineBusyError) as refused:
        engine.generate_many([request(36)])
    assert failure_of(refused.value) == Failure.UNAVAILABLE


def test_generate_many_gives_up_at_its_deadline_and_cancels_what_it_asked(
    failing: tuple[Engine, FailingProcessor],
) -> None:
    engine, processor = failing
    processor.gate.clear()  # the worker holds the processor shut: a hung engine
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="took longer than 0.3 s") as timed_out:
        engine.generate_many([request(GATED_WIDTH), request(36)], timeout_s=0.3)
    assert 0.3 <= time.monotonic() - started < 5
    assert failure_of(timed_out.value) == Failure.TIMEOUT
    processor.gate.set()  # it moves again: the cancelled requests leave, and new ones are answered
    answers = engine.generate_many([request(36), request(37)], timeout_s=60)
    assert [answer["failure"] for answer in answers] == [None, None]


def test_failure_kinds_of_exceptions() -> None:
    assert failure_of(torch.OutOfMemoryError("CUDA out of memory")) == Failure.OUT_OF_MEMORY
    assert failure_of(MemoryError()) == Failure.OUT_OF_MEMORY
    # torch says these only in a RuntimeError's text
    assert failure_of(RuntimeError("CUDA error: out of memory")) == Failure.OUT_OF_MEMORY
    assert failure_of(RuntimeError("DefaultCPUAllocator: can't allocate memory")) == Failure.OUT_OF_MEMORY
    assert failure_of(EngineBusyError("300 requests are waiting")) == Failure.UNAVAILABLE
    assert failure_of(TimeoutError("the read timed out")) == Failure.TIMEOUT
    assert failure_of(ValueError("out of memory")) == Failure.ERROR  # not a memory failure by its type
    assert failure_of(IndexError("index out of range")) == Failure.ERROR
