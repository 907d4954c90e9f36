"""The generation engine: transformers generation with dynamic batching across requests.

Usable on its own (no HTTP, no Ray): `Engine.load(path)`, then `engine.generate(...)` or iterate
`engine.stream(...)`. Requests wait in a queue; a worker thread takes up to `max_batch_size` of them
(waiting `batch_wait_s` for company), left-pads them into one batch and runs `model.generate` with the
KV cache. Each row keeps its own sampling (temperature, top-p, seed), its own `max_tokens` and stop
strings, and streams its text as tokens arrive; a row whose client went away is stopped. Greedy rows
give the same tokens batched as alone (left padding with the attention mask and position ids). A row
with a JSON schema is masked token by token to answers that follow it (`grammar.py`); its batch-mates
are untouched.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from queue import Queue
from typing import Any

FINISHED_CANCELLED = "cancelled"


class EngineBusyError(RuntimeError):
    """The waiting queue is full; the caller should retry later."""


class ContextLengthError(ValueError):
    """A prompt that, with the tokens asked for, does not fit the model's context (or the cap)."""


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


@dataclass(frozen=True)
class EngineOptions:
    """How an engine batches, built once by a job and handed to its actors or tasks."""

    dtype: str = "auto"
    max_batch_size: int = 32
    batch_wait_s: float = 0.02  # how long a batch waits for company
    max_waiting: int = 256  # queued requests before `EngineBusyError`


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

    def cancel(self) -> None:
        self.cancelled.set()


@dataclass
class EngineStats:
    batches: int = 0
    rows: int = 0
    generated_tokens: int = 0
    busy_seconds: float = 0.0
    batch_sizes: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "rows": self.rows,
            "mean_batch_size": round(self.rows / self.batches, 3) if self.batches else 0.0,
            "generated_tokens": self.generated_tokens,
            "tokens_per_second": round(self.generated_tokens / self.busy_seconds, 2)
            if self.busy_seconds
            else 0.0,
        }


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
    only it selectable, so `generate`'s greedy step takes it; it also records the row's logprobs.
    Rows with a JSON schema choose among the tokens their matcher allows, and advance it."""

    def __init__(self, rows: list[RowState]) -> None:
        self.rows = rows

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        constrained = [
            number for number, row in enumerate(self.rows) if row.matcher is not None and not row.finished
        ]
        if constrained:
            scores = mask_to_grammar(scores, [self.rows[number] for number in constrained], constrained)
        logprobs = torch.log_softmax(scores.float(), dim=-1)
        chosen = scores.argmax(dim=-1)
        for number, row in enumerate(self.rows):
            params = row.ticket.params
            if row.finished:
                continue
            if params.temperature > 0:
                chosen[number] = sample(
                    scores[number].float() / params.temperature, params.top_p, row.generator
                )
            if params.logprobs:
                row.next_logprob = logprob_item(
                    row.tokenizer, logprobs[number], int(chosen[number]), params.top_logprobs
                )
            if row.matcher is not None and not row.matcher.consume_token(int(chosen[number])):
                row.fail(f"structured output: {row.matcher.get_error()}")
        picked = torch.full_like(scores, float("-inf"))
        picked.scatter_(1, chosen[:, None], 0.0)
        return picked


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


class Engine:
    """Dynamic batching over one loaded model; thread-safe `submit`, a worker thread generates."""

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        is_vlm: bool,
        max_batch_size: int = 32,
        batch_wait_s: float = 0.02,
        max_waiting: int = 256,
        observer: Callable[[int, int, float], None] | None = None,
    ) -> None:
        self.model = model
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.tokenizer.padding_side = "left"
        self.is_vlm = is_vlm
        self.max_batch_size = max_batch_size
        self.batch_wait_s = batch_wait_s
        self.max_waiting = max_waiting
        self.observer = observer
        self.stats = EngineStats()
        self.eos_ids = eos_token_ids(model, self.tokenizer)
        self._grammar_tokens: Any = None  # llguidance's tokenizer, built on the first JSON schema
        self._schemas_checked: set[str] = set()
        self._waiting: deque[Ticket] = deque()
        self._condition = threading.Condition()
        self._closed = False
        self.last_progress = time.monotonic()  # a token streamed or a batch ended
        self._worker = threading.Thread(target=self._loop, name="cephalo-engine", daemon=True)
        self._worker.start()

    @classmethod
    def load(
        cls,
        name_or_path: str,
        options: EngineOptions = EngineOptions(),
        *,
        device: str | None = None,
        storage: Any = None,
        observer: Callable[[int, int, float], None] | None = None,
    ) -> Engine:
        """Load a VLM, a causal LM or a LoRA adapter folder (merged into its base) and start the engine."""
        from cephalo_ray.models.loader import load_model

        model, processor, is_vlm = load_model(
            name_or_path, dtype=options.dtype, device=device, storage=storage
        )
        return cls(
            model,
            processor,
            is_vlm=is_vlm,
            max_batch_size=options.max_batch_size,
            batch_wait_s=options.batch_wait_s,
            max_waiting=options.max_waiting,
            observer=observer,
        )

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _progressed(self) -> None:
        self.last_progress = time.monotonic()

    def problem(self, stall_s: float) -> str | None:
        """Why this engine cannot make progress (its worker died, or requests wait while nothing has
        moved for `stall_s`), or None when it is well."""
        if not self._worker.is_alive() and not self._closed:
            return "the generation worker has stopped"
        if self._waiting and time.monotonic() - self.last_progress > stall_s:
            return f"{len(self._waiting)} requests wait and nothing was generated for {stall_s:g} s"
        return None

    def submit(
        self,
        messages: list[dict[str, Any]],
        images: list[Any],
        params: SamplingParams,
        sink: Callable[[Event], None],
    ) -> Ticket:
        """Queue one generation; events go to `sink` from the worker thread.

        Raises:
            EngineBusyError: when `max_waiting` requests already wait.
        """
        if images and not self.is_vlm:
            raise ValueError("this model takes text only; remove the image parts")
        self.check_params(params)
        ticket = Ticket(messages, list(images), params, sink)
        with self._condition:
            if len(self._waiting) >= self.max_waiting:  # clients that left free their places
                self._waiting = deque(waiting for waiting in self._waiting if not waiting.cancelled.is_set())
            if len(self._waiting) >= self.max_waiting:
                raise EngineBusyError(f"{len(self._waiting)} requests are waiting")
            self._waiting.append(ticket)
            self._condition.notify()
        return ticket

    def submit_many(
        self,
        requests: Sequence[tuple[list[dict[str, Any]], list[Any], SamplingParams, Callable[[Event], None]]],
    ) -> list[Ticket]:
        """Queue several generations at once, so the worker can batch all of them together.

        Raises:
            EngineBusyError: when they do not all fit in the waiting queue (none is queued then).
        """
        if not self.is_vlm and any(images for _, images, _, _ in requests):
            raise ValueError("this model takes text only; remove the image parts")
        for _, _, params, _ in requests:
            self.check_params(params)
        tickets = [
            Ticket(messages, list(images), params, sink) for messages, images, params, sink in requests
        ]
        with self._condition:
            if len(self._waiting) + len(tickets) > self.max_waiting:
                raise EngineBusyError(
                    f"{len(self._waiting)} requests are waiting; {len(tickets)} more do not fit"
                )
            self._waiting.extend(tickets)
            self._condition.notify()
        return tickets

    def stream(
        self, messages: list[dict[str, Any]], images: Sequence[Any] = (), params: SamplingParams | None = None
    ) -> Iterator[Event]:
        """Blocking iterator over one generation's events (closing it early cancels the generation)."""
        events: Queue[Event] = Queue()
        ticket = self.submit(messages, list(images), params or SamplingParams(), events.put)
        try:
            while True:
                event = events.get()
                yield event
                if event.kind in ("done", "error"):
                    return
        finally:
            ticket.cancel()

    def generate(
        self, messages: list[dict[str, Any]], images: Sequence[Any] = (), params: SamplingParams | None = None
    ) -> dict[str, Any]:
        """One generation, whole: text, finish_reason, token counts and logprobs.

        Raises:
            RuntimeError: when the generation failed.
        """
        answer = fold(self.stream(messages, images, params))
        if answer["error"]:
            raise RuntimeError(answer["error"])
        return answer

    def generate_many(
        self, requests: Sequence[tuple[list[dict[str, Any]], Sequence[Any], SamplingParams]]
    ) -> list[dict[str, Any]]:
        """Several generations queued at once (so they batch together), each folded into an answer
        like `generate`'s plus `seconds` (from submission to its end); a failed one has its `error`
        set and the others are unharmed.

        Raises:
            EngineBusyError: when they do not all fit in the waiting queue.
        """
        queues: list[Queue[Event]] = [Queue() for _ in requests]
        tickets = self.submit_many(
            [
                (messages, list(images), params, queue.put)
                for (messages, images, params), queue in zip(requests, queues, strict=True)
            ]
        )
        started = time.monotonic()
        answers = []
        try:
            for queue in queues:
                answer = fold(events_until_end(queue.get))
                answers.append({**answer, "seconds": round(time.monotonic() - started, 4)})
            return answers
        finally:
            for ticket in tickets:
                ticket.cancel()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._worker.join(timeout=5)

    def __del__(self) -> None:
        # Ray Serve's model multiplexing calls this when it evicts the engine: stop the worker.
        condition = getattr(self, "_condition", None)
        if condition is not None:
            with condition:
                self._closed = True
                condition.notify_all()

    def _next_batch(self) -> list[Ticket]:
        with self._condition:
            while not self._waiting and not self._closed:
                self._condition.wait()
            deadline = time.monotonic() + self.batch_wait_s
            while len(self._waiting) < self.max_batch_size and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            batch: list[Ticket] = []
            while self._waiting and len(batch) < self.max_batch_size:
                ticket = self._waiting.popleft()
                if ticket.cancelled.is_set():
                    continue
                batch.append(ticket)
            return batch

    def _loop(self) -> None:
        while not self._closed:
            batch = self._next_batch()
            if not batch:
                continue
            started = time.monotonic()
            self.stats.batches += 1
            self.stats.rows += len(batch)
            self.stats.batch_sizes.append(len(batch))
            try:
                tokens = self._run(batch)
            except Exception as error:  # one bad row must not fail its batch-mates: each goes alone
                tokens = self._run_alone(batch, error)
            seconds = time.monotonic() - started
            self.last_progress = time.monotonic()
            self.stats.generated_tokens += tokens
            self.stats.busy_seconds += seconds
            if self.observer:
                self.observer(len(batch), tokens, seconds)

    def _run_alone(self, batch: list[Ticket], error: Exception) -> int:
        """After a failed batch, run each row that sent nothing yet on its own; only rows that fail
        alone (or had already streamed) get the error. Returns the tokens generated."""
        tokens = 0
        for ticket in batch:
            if ticket.streamed or len(batch) == 1:
                ticket.sink(failure_event(error))
                continue
            try:
                tokens += self._run([ticket])
            except Exception as own:
                ticket.sink(failure_event(own))
        return tokens

    def check_params(self, params: SamplingParams) -> None:
        """Refuse a request this engine cannot follow before it joins a batch, where it could only fail.

        Raises:
            GrammarError: for a JSON schema that cannot be enforced with this model's tokenizer.
        """
        schema = params.json_schema
        if schema is None or schema in self._schemas_checked:
            return
        self._json_matcher(schema)
        if len(self._schemas_checked) >= 1024:
            self._schemas_checked.clear()
        self._schemas_checked.add(schema)

    def _json_matcher(self, schema: str) -> Any:
        from cephalo_ray.models.grammar import grammar_tokenizer, json_matcher

        if self._grammar_tokens is None:
            head = self.model.get_output_embeddings()
            vocab_size = head.weight.shape[0] if head is not None else len(self.tokenizer)  # logits' width
            self._grammar_tokens = grammar_tokenizer(self.tokenizer, int(vocab_size), self.eos_ids)
        return json_matcher(self._grammar_tokens, schema)

    @property
    def context_length(self) -> int | None:
        """The most tokens the model attends to (prompt and answer), from its config."""
        config = getattr(self.model, "config", None)
        for section in (getattr(config, "text_config", None), config):
            value = getattr(section, "max_position_embeddings", None)
            if isinstance(value, int) and value > 0:
                return value
        return None

    def prompt_tokens(self, messages: list[dict[str, Any]], images: Sequence[Any]) -> int:
        """The prompt's length in tokens, image tokens included (the processor's own count)."""
        ticket = Ticket(messages, list(images), SamplingParams(), lambda event: None)
        return int(self.encode([ticket])["input_ids"].shape[1])

    def check_context(
        self,
        messages: list[dict[str, Any]],
        images: Sequence[Any],
        max_tokens: int,
        max_prompt_tokens: int | None = None,
    ) -> int:
        """Refuse a prompt that cannot be answered within the context before it waits for a batch.

        Returns:
            The prompt's length in tokens.

        Raises:
            ContextLengthError: naming the lengths and the limit.
        """
        length = self.prompt_tokens(messages, images)
        if max_prompt_tokens is not None and length > max_prompt_tokens:
            raise ContextLengthError(
                f"the prompt has {length} tokens, more than this server's limit of {max_prompt_tokens}"
            )
        context = self.context_length
        if context is not None and length + max_tokens > context:
            raise ContextLengthError(
                f"This model's maximum context length is {context} tokens. However, you requested "
                f"{length + max_tokens} tokens ({length} in the messages, {max_tokens} in the completion). "
                "Please reduce the length of the messages or completion."
            )
        return length

    def prompt_text(self, messages: list[dict[str, Any]]) -> str:
        if self.is_vlm:
            return str(self.processor.apply_chat_template(messages, add_generation_prompt=True))
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            return str(text)
        return "\n".join(str(message["content"]) for message in messages)

    def encode(self, batch: list[Ticket]) -> dict[str, Any]:
        texts = [self.prompt_text(ticket.messages) for ticket in batch]
        if not self.is_vlm:
            return dict(self.tokenizer(texts, padding=True, return_tensors="pt"))
        images = [ticket.images for ticket in batch]
        has_images = any(images)
        return dict(
            self.processor(
                text=texts, images=images if has_images else None, padding=True, return_tensors="pt"
            )
        )

    def _run(self, batch: list[Ticket]) -> int:
        import torch
        from transformers import LogitsProcessorList, StoppingCriteriaList

        inputs = self.encode(batch)
        device = next(self.model.parameters()).device
        inputs = {key: value.to(device) if hasattr(value, "to") else value for key, value in inputs.items()}
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        prompt_lengths = inputs["attention_mask"].sum(dim=1).tolist()
        rows = [
            RowState(
                ticket,
                self.tokenizer,
                self.eos_ids,
                int(length),
                device,
                self._json_matcher(ticket.params.json_schema) if ticket.params.json_schema else None,
            )
            for ticket, length in zip(batch, prompt_lengths, strict=True)
        ]
        with torch.no_grad():
            self.model.generate(
                **inputs,
                max_new_tokens=max(ticket.params.max_tokens for ticket in batch),
                do_sample=False,
                logits_processor=LogitsProcessorList([RowSampler(rows)]),
                stopping_criteria=StoppingCriteriaList([RowStopper(rows)]),
                streamer=RowStreamer(rows, self._progressed),
                pad_token_id=self.tokenizer.pad_token_id,
                use_cache=True,
            )
        return sum(len(row.ids) for row in rows)


def image_messages(prompt: str) -> list[dict[str, Any]]:
    """A one-turn question about one image, as chat-template messages."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]


def events_until_end(next_event: Callable[[], Event]) -> Iterator[Event]:
    """A request's events from a blocking source, through its `done` or `error`."""
    while True:
        event = next_event()
        yield event
        if event.kind in ("done", "error"):
            return


def fold(events: Iterable[Event]) -> dict[str, Any]:
    """One request's events folded into its answer: text, finish_reason, token counts, logprobs (None
    unless asked for) and error (None unless it failed). The one place events become answers."""
    texts: list[str] = []
    logprobs: list[dict[str, Any]] = []
    wanted_logprobs = False
    for event in events:
        if event.kind == "error":
            return {
                "error": event.text,
                "text": "".join(texts),
                "finish_reason": None,
                "logprobs": None,
                "prompt_tokens": 0,
                "completion_tokens": 0,
            }
        texts.append(event.text)
        if event.logprobs is not None:
            wanted_logprobs = True
            logprobs.extend(event.logprobs)
        if event.kind == "done":
            return {
                "error": None,
                "text": "".join(texts),
                "finish_reason": event.finish_reason,
                "logprobs": logprobs if wanted_logprobs else None,
                "prompt_tokens": event.prompt_tokens,
                "completion_tokens": event.completion_tokens,
            }
    return {
        "error": "generation ended without a result",
        "text": "".join(texts),
        "finish_reason": None,
        "logprobs": None,
        "prompt_tokens": 0,
        "completion_tokens": 0,
    }


def failure_event(error: Exception) -> Event:
    return Event("error", text=f"generation failed: {type(error).__name__}: {error}")


def eos_token_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(item) for item in value)
    for token in ("<end_of_utterance>", "<|im_end|>", "<|end|>", "<|eot_id|>"):
        token_id = tokenizer.convert_tokens_to_ids(token) if token in tokenizer.get_vocab() else None
        if token_id is not None:
            ids.add(int(token_id))
    return ids
