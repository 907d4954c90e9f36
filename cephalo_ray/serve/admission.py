"""Admission slots: how many requests a replica works on at once, with accounting that cannot leak.

A slot is taken before the request's first `await` and given back exactly once, whatever ends the
request: an answer, an error, the client's disconnect (`CancelledError`, a `BaseException`), or a
streaming response that is dropped before its first chunk (the slot is tied to the stream's life).
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from cephalo_ray.serve.protocol import ApiError


class Admission:
    """At most `limit` requests in progress; the next gets 429 with Retry-After."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.last_released = time.monotonic()

    def take(self) -> Slot:
        """A slot for one request.

        Raises:
            ApiError: 429 when every slot is taken.
        """
        if self.in_flight >= self.limit:
            raise ApiError(
                429, "too many concurrent requests; retry shortly", "rate_limit_error", retry_after_s=1
            )
        self.in_flight += 1
        return Slot(self)


class Slot:
    """One admitted request; `release` is idempotent, and `with slot:` releases on any exit."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.admission.in_flight -= 1
            self.admission.last_released = time.monotonic()

    def bind(self, owner: Any) -> None:
        """Release when `owner` (a response's body iterator) is garbage: also if it never started."""
        weakref.finalize(owner, self.release)

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
