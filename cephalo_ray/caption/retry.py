"""Which caption failures are worth another try, and how an actor tries again.

A row that fails beside others is asked again alone, so only the row at fault fails. A transient
error (out of memory, a stopped or full engine, a time-out) is asked again up to `max_retries` times,
waiting `backoff_s`, then twice as long each time; if it persists the answer is recorded as `retry`
and a rerun asks it again. Any other error is the image's own (the processor or the model refuses
it): recorded as `failed` with its reason, and asked again only with `--retry-failed`. The engine
names each failure's kind (`models.engine.Failure`); only an answer that comes as text alone is
classified by its words. An engine call that outlasts `batch_timeout_s` is a time-out of each of its
requests, and the actor loads a fresh engine (`stage.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from cephalo_ray.models.engine import Failure, failure_of

# The `error` of an error row: what kind of failure it was.
UNREADABLE = "Unreadable"  # storage did not return the image
UNDECODABLE = "Undecodable"  # its bytes are not an image this can read
REJECTED = "Rejected"  # the processor or the model fails on this image, alone
OUT_OF_MEMORY = "OutOfMemory"
ENGINE_UNAVAILABLE = "EngineUnavailable"  # the generation worker stopped, or its queue was full
TIMEOUT = "Timeout"  # the engine did not answer within the deadline, or a read timed out
TRANSIENT = frozenset({UNREADABLE, OUT_OF_MEMORY, ENGINE_UNAVAILABLE, TIMEOUT})

# The engine's kinds of failure as error rows name them; any other is the image's own.
KINDS: dict[str, str] = {
    Failure.OUT_OF_MEMORY: OUT_OF_MEMORY,
    Failure.UNAVAILABLE: ENGINE_UNAVAILABLE,
    Failure.TIMEOUT: TIMEOUT,
}

# Lower-case marks in an error's text (`TypeName: message`), the first match naming its kind: only
# for answers that carry text alone (a generator that reports no `failure`, a remote worker).
MARKS = (
    (OUT_OF_MEMORY, ("outofmemory", "out of memory", "memoryerror", "alloc_failed")),
    (ENGINE_UNAVAILABLE, ("generation worker has stopped", "enginebusyerror")),
    (TIMEOUT, ("timeout", "timed out")),
)

Request = TypeVar("Request")


def failure_kind(failure: Failure | str) -> str:
    """The error row's kind of an engine's failure kind (`REJECTED` unless it is transient)."""
    return KINDS.get(failure, REJECTED)


def exception_kind(error: BaseException) -> str:
    """The kind of a failure raised here (`REJECTED` unless it is transient)."""
    return failure_kind(failure_of(error))


def answer_kind(answer: Mapping[str, Any]) -> str:
    """The kind of a failed answer: by its `failure` where the engine names it, else by its text."""
    failure = answer.get("failure")
    return failure_kind(failure) if failure is not None else error_kind(answer["error"])


def error_kind(message: str) -> str:
    """The kind of a failure known only by its text (`REJECTED` unless it is transient)."""
    lowered = message.lower()
    for kind, marks in MARKS:
        if any(mark in lowered for mark in marks):
            return kind
    return REJECTED


def describe(error: BaseException) -> str:
    """An exception as an error row's message says it: `TypeName: message`."""
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and after how long an actor asks again after a transient error.

    Args:
        max_retries: tries after the first (and after the try alone that isolates a batch failure).
        backoff_s: the wait before the first retry; each later one waits twice as long as the last.
        max_backoff_s: the longest wait.
        batch_timeout_s: the most seconds one call of the engine may take (None: no limit); past it
            the engine counts as stalled: a `TIMEOUT` for each of its requests, and a fresh engine.
    """

    max_retries: int = 2
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    batch_timeout_s: float | None = 600.0

    def wait_s(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        return min(self.max_backoff_s, self.backoff_s * 2 ** (retry - 1))


def generate_with_retries(
    requests: Sequence[Request],
    generate: Callable[[Sequence[Request]], list[dict[str, Any]]],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """Answer `requests` together, then ask the failed ones again alone (see the module's docstring).

    Args:
        generate: answers a list of requests together, one dict each, whose `error` is None or the
            failure's text and whose `failure` names the engine's kind of it (where absent, the
            text is read). When it raises a transient error (the engine stopped or is full, or
            timed out), every request fails with it; any other error it raises stops the batch (a
            bad setting).
        sleep: waits between retries.

    Returns:
        Each request's last answer, with `attempts` (how many times it was asked) and `error_kind`
        (None when answered).
    """
    if not requests:
        return []
    answers = asked(generate, list(requests))
    alone = [len(requests) == 1] * len(requests)  # failures asked alone are the row's own
    retries = [0] * len(requests)
    attempts = [1] * len(requests)

    def again(number: int) -> bool:
        error = answers[number]["error"]
        if not error:
            return False
        if not alone[number]:
            return True
        return answer_kind(answers[number]) in TRANSIENT and retries[number] < policy.max_retries

    pending = [number for number in range(len(requests)) if again(number)]
    while pending:
        waits = [retries[number] + 1 for number in pending if alone[number]]
        if waits:  # isolating a batch failure needs no wait; a transient error does
            sleep(policy.wait_s(max(waits)))
        for number in pending:
            if alone[number]:
                retries[number] += 1
            alone[number] = True
            attempts[number] += 1
            answers[number] = asked(generate, [requests[number]])[0]
        pending = [number for number in pending if again(number)]
    return [
        {**answer, "attempts": tries, "error_kind": answer_kind(answer) if answer["error"] else None}
        for answer, tries in zip(answers, attempts, strict=True)
    ]


def asked(
    generate: Callable[[Sequence[Request]], list[dict[str, Any]]], requests: list[Request]
) -> list[dict[str, Any]]:
    """`generate(requests)`, a transient failure of the whole call becoming every request's error."""
    try:
        return generate(requests)
    except Exception as error:
        failure = failure_of(error)
        if failure_kind(failure) not in TRANSIENT:
            raise  # refused as set up (a text-only model, a schema it cannot follow): no row's fault
        return [{"error": describe(error), "failure": failure} for _ in requests]
