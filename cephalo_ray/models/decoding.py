"""One row's decoding: what a request asked for, its state while it decodes, how its next token is
picked (its own temperature, top-p and seed generator, a JSON schema's token mask, logprobs) and when
it stops (end tokens, stop strings, `max_tokens`, its client going away).

Shared by the engine's two loops: `generate` with static batches (`RowSampler`, `RowStreamer`,
`RowStopper` plug these into it) and continuous batching (`choose_tokens` and `add_tokens` after
each step of `continuous.DecodeBatch`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

FINISHED_CANCELLED = "cancelled"


SEED_RANGE = 2**63  # torch generators take 64-bit seeds; any int seed is folded into this range


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int = 256
    temperature: float = 1.0  # 0: greedy
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    json_schema: str | None = None  # compact JSON text (`grammar.check_schema`); None: free text


@dataclass
class Event:
    """What a request receives: text deltas, then one `done` (or an `error`)."""

    kind: str  # "text" | "done" | "error"
    text: str = ""
    logprobs: list[dict[str, Any]] | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Ticket:
    """One generation (one choice) in the engine."""

    messages: list[dict[str, Any]]
    images: list[Any]
    params: SamplingParams
    sink: Callable[[Event], None]
    cancelled: threading.Event = field(default_factory=threading.Event)
    submitted_at: float = field(default_factory=time.monotonic)
    streamed: bool = False  # some text went out: the row cannot be run again from the start
    ended: bool = False  # its `done` or `error` went out: nothing more will

    def __post_init__(self) -> None:
        # one end per request, whoever sends it: a worker that dies can answer every ticket it held
        deliver = self.sink

        def sink(event: Event) -> None:
            if self.ended:
                return
            self.ended = event.kind in ("done", "error")
            deliver(event)

        self.sink = sink

    def cancel(self) -> None:
        self.cancelled.set()


class RowState:
    """Decoding state of one row: its tokens, emitted text, stop strings and finish."""

    def __init__(
        self,
        ticket: Ticket,
        tokenizer: Any,
        eos_ids: set[int],
        prompt_tokens: int,
        device: Any = "cpu",
        matcher: Any = None,
    ) -> None:
        import torch

        self.ticket = ticket
        self.matcher = matcher  # an llguidance matcher when the row must follow a JSON schema
        self.tokenizer = tokenizer
        self.eos_ids = eos_ids
        self.prompt_tokens = prompt_tokens
        self.ids: list[int] = []
        self.emitted = 0
        self.finished = False
        self.pending_logprobs: list[dict[str, Any]] = []
        self.next_logprob: dict[str, Any] | None = None
        seed = ticket.params.seed if ticket.params.seed is not None else torch.seed()
        # on the device of the probabilities it samples from: torch.multinomial refuses a CPU generator for CUDA
        self.generator = torch.Generator(device=device).manual_seed(int(seed) % SEED_RANGE)

    def add(self, token: int) -> None:
        params = self.ticket.params
        if self.ticket.cancelled.is_set():
            self.finish(FINISHED_CANCELLED)
            return
        if token in self.eos_ids:
            self.finish("stop", self.text_so_far())
            return
        self.ids.append(token)
        if params.logprobs and self.next_logprob is not None:
            self.pending_logprobs.append(self.next_logprob)
        text = self.text_so_far()
        cut = min((index for index in (text.find(stop) for stop in params.stop) if index >= 0), default=-1)
        if cut >= 0:
            self.finish("stop", text[:cut])
        elif len(self.ids) >= params.max_tokens:
            self.finish("length", text)
        else:
            hold = held_back(text, params.stop)
            self.emit(text[: len(text) - hold])

    def text_so_far(self) -> str:
        return str(self.tokenizer.decode(self.ids, skip_special_tokens=True))

    def emit(self, text: str) -> None:
        if len(text) > self.emitted or self.pending_logprobs:
            delta = text[self.emitted :] if len(text) > self.emitted else ""
            self.emitted = max(self.emitted, len(text))
            logprobs = self.pending_logprobs if self.ticket.params.logprobs else None
            self.ticket.streamed = True
            self.ticket.sink(Event("text", delta, logprobs=logprobs))
            self.pending_logprobs = []

    def fail(self, message: str) -> None:
        """End this row with an error event; its batch-mates go on."""
        if not self.finished:
            self.finished = True
            self.ticket.sink(Event("error", text=message))

    def finish(self, reason: str, text: str | None = None) -> None:
        if self.finished:
            return
        if text is not None:
            self.emit(text)
        self.finished = True
        self.ticket.sink(
            Event(
                "done",
                finish_reason=reason,
                prompt_tokens=self.prompt_tokens,
                completion_tokens=len(self.ids),
            )
        )


def held_back(text: str, stops: Sequence[str]) -> int:
    """Characters at the end of `text` not to send yet: a possible start of a stop string, or half
    of a multi-byte character."""
    hold = 1 if text.endswith("\ufffd") else 0
    for stop in stops:
        for length in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:length]):
                hold = max(hold, length)
                break
    return hold


class RowSampler:
    """A logits processor that picks each row's token by that row's own sampling settings and leaves
    only it selectable, so `generate`'s greedy step takes it (see `choose_tokens`)."""

    def __init__(self, rows: list[RowState]) -> None:
        self.rows = rows

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        chosen = choose_tokens(self.rows, scores)
        picked = torch.full_like(scores, float("-inf"))
        picked.scatter_(1, chosen[:, None], 0.0)
        return picked


def choose_tokens(rows: list[RowState], scores: Any) -> Any:
    """Each row's next token ([rows]) from its logits, by that row's own sampling settings; records
    the row's logprobs. Rows with a JSON schema choose among the tokens their matcher allows, and
    advance it. A row whose choice fails fails alone; finished rows get the argmax, unused."""
    import torch

    constrained = [number for number, row in enumerate(rows) if row.matcher is not None and not row.finished]
    if constrained:
        scores = mask_to_grammar(scores, [rows[number] for number in constrained], constrained)
    logprobs = torch.log_softmax(scores.float(), dim=-1)
    chosen = scores.argmax(dim=-1)
    for number, row in enumerate(rows):
        params = row.ticket.params
        if row.finished:
            continue
        try:
            if params.temperature > 0:
                chosen[number] = sample(
                    scores[number].float() / params.temperature, params.top_p, row.generator
                )
            if params.logprobs:
                row.next_logprob = logprob_item(
                    row.tokenizer, logprobs[number], int(chosen[number]), params.top_logprobs
                )
        except Exception as error:  # e.g. NaN logits in this row: its batch-mates go on
            row.fail(failure_event(error).text)
            continue
        if row.matcher is not None and not row.matcher.consume_token(int(chosen[number])):
            row.fail(f"structured output: {row.matcher.get_error()}")
    return chosen


def mask_to_grammar(scores: Any, rows: list[RowState], numbers: list[int]) -> Any:
    """`scores` with the tokens each constrained row's matcher forbids at -inf (other rows untouched);
    a row whose matcher allows nothing fails. When a grammar is complete only the end tokens remain."""
    from cephalo_ray.models.grammar import allowed_tokens

    allowed = allowed_tokens([row.matcher for row in rows], scores.shape[-1], scores.device)
    masked = scores.clone()  # the caller's tensor stays as generate computed it
    masked[numbers] = scores[numbers].masked_fill(~allowed, float("-inf"))
    for row, row_allowed in zip(rows, allowed, strict=True):
        if not bool(row_allowed.any()):
            row.fail(f"structured output: no token can follow ({row.matcher.get_error() or 'dead end'})")
    return masked


def sample(logits: Any, top_p: float, generator: Any) -> int:
    import torch

    probabilities = torch.softmax(logits, dim=-1)
    # checked here: on CUDA, multinomial asserts on the device, which breaks the process for every row
    if not bool(torch.isfinite(probabilities).all()):
        raise ValueError("the next-token probabilities are not finite numbers (the logits overflowed)")
    if top_p < 1.0:
        ordered, order = probabilities.sort(descending=True)
        keep = ordered.cumsum(0) - ordered < top_p  # always keeps the most likely token
        probabilities = torch.zeros_like(probabilities).scatter_(0, order[keep], ordered[keep])
    return int(torch.multinomial(probabilities, 1, generator=generator))


def logprob_item(tokenizer: Any, logprobs: Any, token: int, top: int) -> dict[str, Any]:
    def entry(token_id: int, value: float) -> dict[str, Any]:
        text = tokenizer.decode([token_id])
        # as OpenAI: -9999 for a token that cannot be chosen (a grammar forbids it); JSON has no -inf
        return {"token": text, "logprob": max(value, -9999.0), "bytes": list(text.encode())}

    item = entry(token, float(logprobs[token]))
    values, indices = logprobs.topk(top) if top else (logprobs[:0], [])
    item["top_logprobs"] = [
        entry(int(index), float(value)) for value, index in zip(values, indices, strict=True)
    ]
    return item


class RowStreamer:
    """Receives each generation step's tokens (a `generate` streamer) and hands them to the rows."""

    def __init__(self, rows: list[RowState], on_step: Callable[[], None] = lambda: None) -> None:
        self.rows = rows
        self.prompt_seen = False
        self.on_step = on_step

    def put(self, value: Any) -> None:
        self.on_step()
        if not self.prompt_seen:  # generate first pushes the prompt
            self.prompt_seen = True
            return
        for row, token in zip(self.rows, value.reshape(-1).tolist(), strict=True):
            if not row.finished:
                row.add(int(token))

    def end(self) -> None:
        for row in self.rows:
            row.finish("length", row.text_so_far())


class RowStopper:
    """Stopping criteria: a row is done when it finished or its client went away."""

    def __init__(self, rows: list[RowState]) -> None:
        self.rows = rows

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        for row in self.rows:
            if row.ticket.cancelled.is_set():
                row.finish(FINISHED_CANCELLED)
        return torch.tensor([row.finished for row in self.rows], device=input_ids.device)


def add_tokens(rows: list[RowState], chosen: Any) -> None:
    for row, token in zip(rows, chosen.tolist(), strict=True):
        if not row.finished:
            row.add(int(token))


def failure_event(error: Exception) -> Event:
    return Event("error", text=f"generation failed: {type(error).__name__}: {error}")
