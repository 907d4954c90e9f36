"""The generation engine: transformers generation with dynamic batching across requests.

Usable on its own (no HTTP, no Ray): `Engine.load(path)`, then `engine.generate(...)` or iterate
`engine.stream(...)`. Requests wait in a queue; a worker thread generates for up to `max_batch_size`
of them at once. With continuous batching (the default; tensors in `continuous.py`) a waiting request
joins the running rows at the next decoding step, after its own prefill, and a finished row leaves at
once. Without it, or for a model the loop cannot run (`continuous.static_only_reason`), the worker
takes a static batch (waiting `batch_wait_s` for company), left-pads it and runs `model.generate` to
its end. Each row keeps its own sampling (temperature, top-p, seed), its own `max_tokens` and stop
strings, and streams its text as tokens arrive (`decoding.py`); a row whose client went away is
stopped. Greedy rows give the same tokens batched as alone (left padding with the attention mask and
position ids). A row with a JSON schema is masked token by token to answers that follow it
(`grammar.py`); its batch-mates are untouched. A row that fails (in its prefill, a decoding step
or its sampling) fails alone: its batch-mates are run again without it. A worker that dies answers
the requests it held, and `problem` says so, as it says when work has made no progress for a while.
A failed request's answer names its kind (`Failure`: out of memory, the engine unavailable, a
time-out, or an error of its own) beside the message, so callers decide on retries by type.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from queue import Empty, Queue
from typing import Any

from cephalo_ray.models.decoding import (
    FINISHED_CANCELLED,
    Event,
    RowSampler,
    RowState,
    RowStopper,
    RowStreamer,
    SamplingParams,
    Ticket,
    add_tokens,
    choose_tokens,
    failure_event,
)


class EngineBusyError(RuntimeError):
    """The engine cannot take a request now (its waiting queue is full, or its worker stopped);
    the caller should retry later."""


STOPPED = "generation failed: the generation worker has stopped"


class Failure(StrEnum):
    """What kind of failure ended a request: on its answer (`fold`) beside the message."""

    OUT_OF_MEMORY = "out_of_memory"  # the device or the host ran out of memory: it may pass
    UNAVAILABLE = "unavailable"  # the worker stopped or the queue was full: another engine may answer
    TIMEOUT = "timeout"  # a deadline passed
    ERROR = "error"  # anything else the request raised: its own fault, as far as the engine can tell


# torch says so only in the text of a RuntimeError when the CUDA driver or the CPU allocator fails
MEMORY_MARKS = ("out of memory", "can't allocate memory")


def failure_of(error: BaseException) -> Failure:
    """The kind of failure an exception raised by or inside the engine is."""
    if isinstance(error, EngineBusyError):
        return Failure.UNAVAILABLE
    if isinstance(error, TimeoutError):
        return Failure.TIMEOUT
    if isinstance(error, MemoryError):
        return Failure.OUT_OF_MEMORY
    torch = sys.modules.get("torch")  # loaded wherever a model runs; never imported for this
    if torch is not None and isinstance(error, torch.OutOfMemoryError):
        return Failure.OUT_OF_MEMORY
    if isinstance(error, RuntimeError) and any(mark in str(error).lower() for mark in MEMORY_MARKS):
        return Failure.OUT_OF_MEMORY
    return Failure.ERROR


@dataclass
class FailureEvent(Event):
    """An `error` event that names its kind of failure (a plain `Event` carries text only)."""

    failure: Failure = Failure.ERROR


def failed(error: Exception) -> FailureEvent:
    """A request's end by `error`: the message clients see, and its kind."""
    return FailureEvent("error", text=failure_event(error).text, failure=failure_of(error))


def stopped() -> FailureEvent:
    """A request's end when the worker stopped before answering it."""
    return FailureEvent("error", text=STOPPED, failure=Failure.UNAVAILABLE)


def fail_row(row: RowState, error: Exception) -> None:
    """End `row` with `error`, its kind named (as `RowState.fail`, which sends text only)."""
    if not row.finished:
        row.finished = True
        row.ticket.sink(failed(error))


class ContextLengthError(ValueError):
    """A prompt that, with the tokens asked for, does not fit the model's context (or the cap)."""


@dataclass(frozen=True)
class EngineOptions:
    """How an engine batches, built once by a job and handed to its actors or tasks."""

    dtype: str = "auto"
    max_batch_size: int = 32
    batch_wait_s: float = 0.02  # how long a batch waits for company
    max_waiting: int = 256  # queued requests before `EngineBusyError`
    continuous_batching: bool = True  # False: static batches through `generate` (to compare)


@dataclass
class EngineStats:
    """Counts of work done. A batch is rows that started together: a static batch, or rows prefilled
    together to join the running ones; `steps` and `step_rows` count continuous decoding steps."""

    batches: int = 0
    rows: int = 0
    generated_tokens: int = 0
    busy_seconds: float = 0.0
    batch_sizes: list[int] = field(default_factory=list)
    steps: int = 0
    step_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "rows": self.rows,
            "mean_batch_size": round(self.rows / self.batches, 3) if self.batches else 0.0,
            "steps": self.steps,
            "mean_rows_per_step": round(self.step_rows / self.steps, 3) if self.steps else 0.0,
            "generated_tokens": self.generated_tokens,
            "tokens_per_second": round(self.generated_tokens / self.busy_seconds, 2)
            if self.busy_seconds
            else 0.0,
        }


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
        continuous_batching: bool = True,
        observer: Callable[[int, int, float], None] | None = None,
    ) -> None:
        from cephalo_ray.models.continuous import static_only_reason

        self.model = model
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.tokenizer.padding_side = "left"
        self.is_vlm = is_vlm
        self.max_batch_size = max_batch_size
        self.batch_wait_s = batch_wait_s
        self.max_waiting = max_waiting
        self.observer = observer
        self.static_reason = (
            static_only_reason(model.config, getattr(model, "generation_config", None))
            if continuous_batching
            else "continuous batching is turned off"
        )
        self.continuous_batching = self.static_reason is None
        self.stats = EngineStats()
        self.eos_ids = eos_token_ids(model, self.tokenizer)
        self._grammar_tokens: Any = None  # llguidance's tokenizer, built on the first JSON schema
        self._schemas_checked: set[str] = set()
        self._waiting: deque[Ticket] = deque()
        self._condition = threading.Condition()
        self._closed = False
        self._busy = False  # the worker holds requests (prefilling, decoding or generating)
        self._stopped = False  # the worker has ended (closed, or died): nothing more is taken
        self.last_progress = time.monotonic()  # a token streamed, a batch ended, or work arrived idle
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
        trust_remote_code: bool = False,
    ) -> Engine:
        """Load a VLM, a causal LM or a LoRA adapter folder (merged into its base) and start the engine.

        `trust_remote_code` runs a checkpoint's own code (Phi-3-vision, any `auto_map`); without it
        such a checkpoint is refused (`RemoteCodeRefused`) before any of its code runs.
        """
        from cephalo_ray.models.loader import load_model, load_vlm

        if trust_remote_code:  # `load_model` takes no switch: a checkpoint with its own code loads as a VLM
            loaded = load_vlm(
                name_or_path, dtype=options.dtype, device=device, storage=storage, trust_remote_code=True
            )
            model, processor, is_vlm = loaded.model, loaded.processor, True
        else:
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
            continuous_batching=options.continuous_batching,
            observer=observer,
        )

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _progressed(self) -> None:
        self.last_progress = time.monotonic()

    def problem(self, stall_s: float) -> str | None:
        """Why this engine cannot make progress (its worker died, or it has had work for `stall_s`
        and nothing moved), or None when it is well."""
        if not self._worker.is_alive() and not self._closed:
            return "the generation worker has stopped"
        if time.monotonic() - self.last_progress <= stall_s:
            return None
        if self._waiting:
            count = len(self._waiting)
            waits = "request waits" if count == 1 else "requests wait"
            return f"{count} {waits} and nothing was generated for {stall_s:g} s"
        if self._busy:
            return f"the requests being generated have made no progress for {stall_s:g} s"
        return None

    def _enqueue(self, tickets: list[Ticket]) -> None:
        """Add `tickets` to the waiting queue (the caller holds the condition)."""
        if self._stopped:
            raise EngineBusyError("the generation worker has stopped")
        if not self._waiting and not self._busy:  # the stall clock starts when work arrives, not at idle
            self._progressed()
        self._waiting.extend(tickets)
        self._condition.notify()

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
            self._enqueue([ticket])
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
            self._enqueue(tickets)
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
        self,
        requests: Sequence[tuple[list[dict[str, Any]], Sequence[Any], SamplingParams]],
        timeout_s: float | None = None,
    ) -> list[dict[str, Any]]:
        """Several generations queued at once (so they batch together), each folded into an answer
        like `generate`'s plus `seconds` (from submission to its end); a failed one has its `error`
        and `failure` set and the others are unharmed.

        Args:
            timeout_s: the most seconds to wait for all the answers (None: no limit); when it passes
                the generations are cancelled.

        Raises:
            EngineBusyError: when they do not all fit in the waiting queue.
            TimeoutError: when `timeout_s` passes first (a stalled engine, or too much work).
        """
        queues: list[Queue[Event]] = [Queue() for _ in requests]
        tickets = self.submit_many(
            [
                (messages, list(images), params, queue.put)
                for (messages, images, params), queue in zip(requests, queues, strict=True)
            ]
        )
        started = time.monotonic()
        deadline = math.inf if timeout_s is None else started + timeout_s

        def next_event(queue: Queue[Event]) -> Event:
            remaining = deadline - time.monotonic()
            try:
                return queue.get(timeout=None if remaining == math.inf else max(remaining, 0.0))
            except Empty:
                raise TimeoutError(f"{len(requests)} generations took longer than {timeout_s:g} s") from None

        answers = []
        try:
            for queue in queues:
                answer = fold(events_until_end(partial(next_event, queue)))
                answers.append({**answer, "seconds": round(time.monotonic() - started, 4)})
            return answers
        finally:
            for ticket in tickets:
                ticket.cancel()

    def close(self, wait_s: float = 5.0) -> None:
        """Stop taking work and let the worker end, waiting up to `wait_s` for it (a worker stuck in
        a model or processor call ends only when that call returns)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._worker.join(timeout=wait_s)

    def __del__(self) -> None:
        # Ray Serve's model multiplexing calls this when it evicts the engine: stop the worker.
        condition = getattr(self, "_condition", None)
        if condition is not None:
            with condition:
                self._closed = True
                condition.notify_all()

    def _next_batch(self, limit: int | None = None, wait: bool = True) -> list[Ticket]:
        """Up to `limit` (default `max_batch_size`) waiting tickets, cancelled ones dropped. With
        `wait`, block until one arrives, then wait `batch_wait_s` for company."""
        limit = self.max_batch_size if limit is None else limit
        with self._condition:
            if wait:
                while not self._waiting and not self._closed:
                    self._condition.wait()
                deadline = time.monotonic() + self.batch_wait_s
                while len(self._waiting) < limit and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._condition.wait(remaining)
            batch: list[Ticket] = []
            while self._waiting and len(batch) < limit:
                ticket = self._waiting.popleft()
                if ticket.cancelled.is_set():
                    continue
                batch.append(ticket)
            self._busy = self._busy or bool(batch)
            return batch

    def _loop(self) -> None:
        try:
            if self.continuous_batching:
                self._loop_continuous()
            else:
                self._loop_static()
        finally:  # closed, or died: no one else will answer the requests still waiting
            with self._condition:
                self._stopped = True
                waiting, self._waiting = list(self._waiting), deque()
            for ticket in waiting:
                ticket.sink(stopped())

    def _loop_static(self) -> None:
        while not self._closed:
            batch = self._next_batch()
            if not batch:
                continue
            started = time.monotonic()
            self._count_batch(batch)
            try:
                tokens = self._run(batch)
            except Exception as error:  # one bad row must not fail its batch-mates: each goes alone
                tokens = self._run_alone(batch, error)
            except BaseException:  # the worker itself ends: answer the rows it holds first
                for ticket in batch:
                    ticket.sink(stopped())
                raise
            self._busy = False
            seconds = time.monotonic() - started
            self.last_progress = time.monotonic()
            self.stats.generated_tokens += tokens
            self.stats.busy_seconds += seconds
            if self.observer:
                self.observer(len(batch), tokens, seconds)

    def _count_batch(self, batch: list[Ticket]) -> None:
        self.stats.batches += 1
        self.stats.rows += len(batch)
        self.stats.batch_sizes.append(len(batch))

    def _loop_continuous(self) -> None:
        """Iteration-level scheduling: before each decoding step, waiting requests (as many as there
        is room for) are prefilled and join the running rows; finished and cancelled rows leave.
        After `close` the running rows are finished, but none joins."""
        from cephalo_ray.models.continuous import DecodeBatch

        batch = DecodeBatch(self.model)
        rows: list[RowState] = []
        newcomers: list[Ticket] = []
        meter = StepMeter(self.observer)
        while rows or not self._closed:
            try:
                rows = self._leave_cancelled(batch, rows)
                room = self.max_batch_size - len(rows)
                newcomers = self._next_batch(room, wait=not rows) if room and not self._closed else []
                if newcomers:
                    rows += self._admit(batch, newcomers)
                    newcomers = []
                if rows:
                    rows = self._step(batch, rows, meter)
            except Exception as error:  # a fault of the loop itself: the running rows end, the worker lives
                for row in rows:
                    fail_row(row, error)
                for ticket in newcomers:  # those not among the rows yet (the others have had their end)
                    ticket.sink(failed(error))
                rows, newcomers = [], []
                batch.keep([])
            except BaseException:  # the worker itself ends: answer the rows it holds first
                for ticket in [*(row.ticket for row in rows), *newcomers]:
                    ticket.sink(stopped())
                raise
            if not rows:
                self._busy = False
                meter.flush(0)

    def _admit(self, batch: Any, tickets: list[Ticket]) -> list[RowState]:
        """Prefill `tickets` together (after a failure each alone, so only a bad row fails), pick
        each one's first token and add those still going to `batch`. Returns their rows."""
        started = time.monotonic()
        self._count_batch(tickets)
        try:
            groups = [self._prefill(tickets)]
        except Exception as error:  # one bad row must not fail its batch-mates: each goes alone
            groups = self._prefill_alone(tickets, error)
        joined: list[RowState] = []
        for rows, prefilled in groups:
            try:
                chosen = choose_tokens(rows, prefilled.logits)
                add_tokens(rows, chosen)
                going = [number for number, row in enumerate(rows) if not row.finished]
                batch.join(prefilled, going, chosen[going])
            except Exception as error:  # rows may have streamed: they cannot start again
                for row in rows:
                    fail_row(row, error)
                continue
            self.stats.generated_tokens += sum(len(row.ids) for row in rows)
            joined += [rows[number] for number in going]
        self.stats.busy_seconds += time.monotonic() - started
        self._progressed()
        return joined

    def _prefill_alone(self, tickets: list[Ticket], error: Exception) -> list[tuple[list[RowState], Any]]:
        """After a failed prefill, prefill each ticket on its own; only those that fail alone get an error."""
        if len(tickets) == 1:
            tickets[0].sink(failed(error))
            return []
        groups = []
        for ticket in tickets:
            try:
                groups.append(self._prefill([ticket]))
            except Exception as own:
                ticket.sink(failed(own))
        return groups

    def _prefill(self, tickets: list[Ticket]) -> tuple[list[RowState], Any]:
        from cephalo_ray.models.continuous import prefill

        inputs = self._model_inputs(tickets)
        prefilled = prefill(self.model, inputs)
        rows = [
            RowState(
                ticket,
                self.tokenizer,
                self.eos_ids,
                int(length),
                prefilled.logits.device,
                self._json_matcher(ticket.params.json_schema) if ticket.params.json_schema else None,
            )
            for ticket, length in zip(tickets, prefilled.positions.tolist(), strict=True)
        ]
        return rows, prefilled

    def _leave_cancelled(self, batch: Any, rows: list[RowState]) -> list[RowState]:
        """The rows whose clients are still there; the others finish and free their slots now."""
        for row in rows:
            if row.ticket.cancelled.is_set():
                row.finish(FINISHED_CANCELLED)
        return leave_finished(batch, rows)

    def _step(self, batch: Any, rows: list[RowState], meter: StepMeter) -> list[RowState]:
        """One decoding step of the running rows. Returns the rows still going, in `batch`'s order."""
        started = time.monotonic()
        try:
            logits = batch.step()
        except Exception as error:  # one bad row must not fail its batch-mates: each steps alone
            if len(rows) == 1:
                fail_row(rows[0], error)
                batch.keep([])
                return []
            logits, failures = batch.step_each()
            for number, own in failures.items():
                fail_row(rows[number], own)
            rows = [row for number, row in enumerate(rows) if number not in failures]
            if not rows:
                return []
        chosen = choose_tokens(rows, logits)
        before = sum(len(row.ids) for row in rows)
        add_tokens(rows, chosen)
        batch.next_tokens = chosen
        tokens = sum(len(row.ids) for row in rows) - before
        seconds = time.monotonic() - started
        self.stats.steps += 1
        self.stats.step_rows += len(rows)
        self.stats.generated_tokens += tokens
        self.stats.busy_seconds += seconds
        self._progressed()
        meter.add(len(rows), tokens, seconds)
        return leave_finished(batch, rows)

    def _run_alone(self, batch: list[Ticket], error: Exception) -> int:
        """After a failed batch, run each row that sent nothing yet on its own; only rows that fail
        alone (or had already streamed) get the error. Returns the tokens generated."""
        tokens = 0
        for ticket in batch:
            if ticket.streamed or len(batch) == 1:
                ticket.sink(failed(error))
                continue
            try:
                tokens += self._run([ticket])
            except Exception as own:
                ticket.sink(failed(own))
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
        return self._prompt_counts(messages, images)[0]

    def _prompt_counts(self, messages: list[dict[str, Any]], images: Sequence[Any]) -> tuple[int, int]:
        """The prompt's length in tokens, and how many of them stand for its images."""
        ticket = Ticket(messages, list(images), SamplingParams(), lambda event: None)
        input_ids = self.encode([ticket])["input_ids"]
        image_token = getattr(self.processor, "image_token_id", None) if images else None
        image_tokens = int((input_ids == image_token).sum()) if isinstance(image_token, int) else 0
        return int(input_ids.shape[1]), image_tokens

    def check_context(
        self,
        messages: list[dict[str, Any]],
        images: Sequence[Any],
        max_tokens: int,
        max_prompt_tokens: int | None = None,
    ) -> int:
        """Refuse a prompt that cannot be answered within the context before it waits for a batch.

        Image tokens are counted as the processor makes them, after its resize: they grow with the
        tiles or patches it cuts (which its own config caps per image), so these limits also bound
        the pixels a request brings into a batch.

        Returns:
            The prompt's length in tokens.

        Raises:
            ContextLengthError: naming the lengths and the limit.
        """
        length, image_tokens = self._prompt_counts(messages, images)
        plural = "s" if len(images) != 1 else ""
        if max_prompt_tokens is not None and length > max_prompt_tokens:
            of_images = f" ({image_tokens} of them for {len(images)} image{plural})" if image_tokens else ""
            raise ContextLengthError(
                f"the prompt has {length} tokens{of_images}, more than this server's limit of {max_prompt_tokens}"
            )
        context = self.context_length
        if context is not None and length + max_tokens > context:
            raise ContextLengthError(
                f"This model's maximum context length is {context} tokens. However, you requested "
                f"{length + max_tokens} tokens ({length} in the messages, {max_tokens} in the completion). "
                "Please reduce the length of the messages or completion."
                + (f" The {len(images)} image{plural} take {image_tokens} tokens." if image_tokens else "")
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

    def _model_inputs(self, batch: list[Ticket]) -> dict[str, Any]:
        """The batch's prompts encoded, left-padded, on the model's device (pixels in its dtype)."""
        inputs = self.encode(batch)
        device = next(self.model.parameters()).device
        inputs = {key: value.to(device) if hasattr(value, "to") else value for key, value in inputs.items()}
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        return inputs

    def _run(self, batch: list[Ticket]) -> int:
        import torch
        from transformers import LogitsProcessorList, StoppingCriteriaList

        inputs = self._model_inputs(batch)
        device = inputs["input_ids"].device
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


def leave_finished(batch: Any, rows: list[RowState]) -> list[RowState]:
    """The unfinished `rows`; the finished ones leave `batch` (a `continuous.DecodeBatch`)."""
    going = [number for number, row in enumerate(rows) if not row.finished]
    batch.keep(going)
    return [rows[number] for number in going]


class StepMeter:
    """Continuous decoding steps summed for the observer, reported about once a second (a call per
    step would cost more than a tiny model's step)."""

    def __init__(self, observer: Callable[[int, int, float], None] | None, every_s: float = 1.0) -> None:
        self.observer = observer
        self.every_s = every_s
        self.steps = self.rows = self.tokens = 0
        self.seconds = 0.0

    def add(self, rows: int, tokens: int, seconds: float) -> None:
        self.steps += 1
        self.rows += rows
        self.tokens += tokens
        self.seconds += seconds
        if self.seconds >= self.every_s:
            self.flush(rows)

    def flush(self, rows: int) -> None:
        """Report what was summed (`rows`: the batch size to report)."""
        if self.observer and self.steps:
            try:
                self.observer(rows or round(self.rows / self.steps), self.tokens, self.seconds)
            except Exception as error:  # metrics are not worth the generation worker's life
                print(f"engine metrics observer failed: {error!r}", file=sys.stderr)
        self.steps = self.rows = self.tokens = 0
        self.seconds = 0.0


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
    unless asked for), error (the message; None unless it failed) and failure (its `Failure` kind).
    The one place events become answers."""
    texts: list[str] = []
    logprobs: list[dict[str, Any]] = []
    wanted_logprobs = False
    for event in events:
        if event.kind == "error":
            return {
                "error": event.text,
                "failure": event.failure if isinstance(event, FailureEvent) else Failure.ERROR,
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
                "failure": None,
                "text": "".join(texts),
                "finish_reason": event.finish_reason,
                "logprobs": logprobs if wanted_logprobs else None,
                "prompt_tokens": event.prompt_tokens,
                "completion_tokens": event.completion_tokens,
            }
    return {
        "error": "generation ended without a result",
        "failure": Failure.ERROR,
        "text": "".join(texts),
        "finish_reason": None,
        "logprobs": None,
        "prompt_tokens": 0,
        "completion_tokens": 0,
    }


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
