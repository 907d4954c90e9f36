"""One small actor that every refine actor asks before sending: requests/min and tokens/min pacing,
the `--limit` on new pairs, and the `--max-cost-usd` budget. Pure logic; the job wraps it in Ray.

Pacing reserves start times on two clocks (requests and tokens) instead of filling a bucket, so the
achieved rate equals the cap from the first second on, with no burst.

A request asks once before it is sent (`start`: hold its worst-case cost and reserve its start time)
and reports once after (`record`: its real cost, and its hold given back).
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """USD per million tokens; None when unknown (no cost is tracked then)."""

    input_usd_per_mtok: float | None = None
    output_usd_per_mtok: float | None = None

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * (self.input_usd_per_mtok or 0.0)
            + completion_tokens * (self.output_usd_per_mtok or 0.0)
        ) / 1e6

    @property
    def known(self) -> bool:
        return self.input_usd_per_mtok is not None or self.output_usd_per_mtok is not None


# USD per million tokens (input, output) of models whose price is public; `price.*` overrides them.
KNOWN_PRICES = {
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
}


def price_of(model: str | None, input_usd_per_mtok: float | None, output_usd_per_mtok: float | None) -> Price:
    """The configured price, else the public price of `model` (None: a teacher that costs nothing)."""
    if input_usd_per_mtok is not None or output_usd_per_mtok is not None:
        return Price(input_usd_per_mtok, output_usd_per_mtok)
    if model in KNOWN_PRICES:
        return Price(*KNOWN_PRICES[model])
    return Price()


HELD = "held"  # the worst case is set aside: send
WAIT = "wait"  # it fits once requests in flight settle: ask again shortly
OVER = "over"  # it cannot fit even with nothing in flight: stop


class Governor:
    """Admission, pacing and spend of all refine actors together.

    Args:
        requests_per_minute, tokens_per_minute: caps (None: no cap).
        limit: most new pairs this run may send (None: all).
        max_cost_usd: the budget. A request is sent only when the spend so far, plus the worst case of
            every request in flight, plus its own worst case (its prompt and all of `max_tokens`),
            fits: the budget is never overshot by the requests already on their way. One that fits
            only once those settle waits for them; the run stops when the spend alone leaves no room.
    """

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        limit: int | None = None,
        max_cost_usd: float | None = None,
        clock: object = time.monotonic,
    ) -> None:
        self.request_interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self.seconds_per_token = 60.0 / tokens_per_minute if tokens_per_minute else 0.0
        self.limit = limit
        self.max_cost_usd = max_cost_usd
        self.clock = clock
        self.next_request_at = 0.0
        self.next_tokens_at = 0.0
        self.admitted = 0
        self.spent_usd = 0.0
        self.held_usd = 0.0  # worst-case cost of the requests in flight
        self.stop_reason: str | None = None

    def admit(self) -> bool:
        """Take one new pair, unless the limit or the budget says stop."""
        if self.limit is not None and self.admitted >= self.limit:
            self.stop_reason = f"reached --limit {self.limit}"
            return False
        if self.max_cost_usd is not None and self.spent_usd >= self.max_cost_usd:
            self.stop_reason = f"spent ${self.spent_usd:.4f} of --max-cost-usd {self.max_cost_usd}"
            return False
        self.admitted += 1
        return True

    def reserve(self, estimated_tokens: int) -> float:
        """Reserve a start time for one request; returns the seconds to wait before sending it."""
        now = float(self.clock())  # type: ignore[operator]
        start = max(now, self.next_request_at, self.next_tokens_at)
        self.next_request_at = start + self.request_interval
        self.next_tokens_at = start + estimated_tokens * self.seconds_per_token
        return start - now

    def hold(self, worst_case_usd: float) -> str:
        """Set aside a request's worst-case cost before it is sent: HELD, WAIT (it fits once the
        requests in flight settle) or OVER (it would not fit with nothing in flight)."""
        if self.max_cost_usd is None:
            return HELD
        if self.spent_usd + worst_case_usd > self.max_cost_usd:
            self.stop_reason = (
                f"spent ${self.spent_usd:.4f} of --max-cost-usd {self.max_cost_usd}; the next request "
                f"could cost ${worst_case_usd:.4f}"
            )
            return OVER
        if self.spent_usd + self.held_usd + worst_case_usd > self.max_cost_usd:
            return WAIT
        self.held_usd += worst_case_usd
        return HELD

    def start(self, worst_case_usd: float, estimated_tokens: int) -> tuple[str, float]:
        """`hold`, then for a held request `reserve`: one call before each request is sent."""
        status = self.hold(worst_case_usd)
        return status, self.reserve(estimated_tokens) if status == HELD else 0.0

    def record(self, cost_usd: float, held_usd: float = 0.0) -> None:
        """A request's real cost, and the worst case held for it given back."""
        self.spent_usd += cost_usd
        self.held_usd = max(0.0, self.held_usd - held_usd)

    def state(self) -> dict[str, object]:
        return {
            "admitted": self.admitted,
            "spent_usd": round(self.spent_usd, 6),
            "stop_reason": self.stop_reason,
        }
