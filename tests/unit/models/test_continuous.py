"""Continuous batching in the engine: requests join the running rows at the next decoding step and
leave when they finish. Requests are sent from inside another request's event sink (the worker's
thread), so when they arrive is fixed in decoding steps, not in wall-clock time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image

from cephalo_ray.models.continuous import static_only_reason
from cephalo_ray.models.engine import Engine, EngineOptions, Event, SamplingParams
from cephalo_ray.models.tiny import build_tiny, build_tiny_causal_lm


def greedy(max_tokens: int) -> SamplingParams:
    return SamplingParams(max_tokens=max_tokens, temperature=0)


def question(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]


def image(shade: int) -> Any:
    return Image.new("RGB", (40, 30), (shade, 60, 120))


@pytest.fixture(scope="module")
def tiny_llava() -> tuple[Any, Any]:
    return build_tiny("llava", seed=0)


def start(model_and_processor: tuple[Any, Any], **options: Any) -> Engine:
    model, processor = model_and_processor
    engine = Engine(model, processor, is_vlm=True, batch_wait_s=0.05, **options)
    engine.eos_ids = set()  # every answer runs to its max_tokens: step counts are exact
    return engine


@pytest.fixture(scope="module")
def engine(tiny_llava: tuple[Any, Any]) -> Iterator[Engine]:
    running = start(tiny_llava, max_batch_size=16)
    assert running.continuous_batching and running.static_reason is None
    yield running
    running.close()


@pytest.fixture(scope="module")
def static_engine(tiny_llava: tuple[Any, Any]) -> Iterator[Engine]:
    running = start(tiny_llava, max_batch_size=16, continuous_batching=False)
    assert not running.continuous_batching and running.static_reason == "continuous batching is turned off"
    yield running
    running.close()


class Answer:
    """One request's events as they arrive, each stamped with the engine's decoding steps so far;
    `then` runs on a given text event (the engine's thread: what it submits joins at the next step)."""

    def __init__(
        self,
        engine: Engine,
        then: dict[int, Callable[[], Any]] | None = None,
        finished_order: list[Answer] | None = None,
    ) -> None:
        self.engine = engine
        self.events: list[tuple[Event, int]] = []
        self.then = then or {}
        self.finished = threading.Event()
        self.finished_order = finished_order if finished_order is not None else []

    def __call__(self, event: Event) -> None:
        self.events.append((event, self.engine.stats.steps))
        texts = sum(1 for seen, _ in self.events if seen.kind == "text")
        if event.kind == "text" and texts in self.then:
            self.then.pop(texts)()
        if event.kind in ("done", "error"):
            self.finished_order.append(self)
            self.finished.set()

    def wait(self) -> Answer:
        assert self.finished.wait(120), "no answer in time"
        return self

    @property
    def text(self) -> str:
        return "".join(event.text for event, _ in self.events)

    @property
    def last(self) -> Event:
        return self.events[-1][0]

    @property
    def step_at_end(self) -> int:
        return self.events[-1][1]

    @property
    def step_at_start(self) -> int:
        return self.events[0][1]


def send(engine: Engine, messages: Any, pictures: list[Any], params: SamplingParams, answer: Answer) -> Any:
    return engine.submit(messages, pictures, params, answer)


@pytest.mark.parametrize("continuous", [True, False], ids=["continuous", "static"])
def test_a_short_request_sent_during_a_long_one_finishes_first_only_when_continuous(
    engine: Engine, static_engine: Engine, continuous: bool
) -> None:
    serving = engine if continuous else static_engine
    finished_order: list[Answer] = []
    short = Answer(serving, finished_order=finished_order)
    long = Answer(
        serving,
        {3: lambda: send(serving, question("Short?"), [image(9)], greedy(4), short)},
        finished_order=finished_order,
    )
    send(serving, question("Tell me everything."), [image(8)], greedy(120), long)
    long.wait()
    short.wait()
    assert long.last.completion_tokens == 120 and short.last.completion_tokens == 4
    if continuous:
        assert finished_order == [short, long]
        # it joined at the next step (its prefill gave its first token) and left three steps later
        assert short.step_at_end - short.step_at_start <= 4
        assert long.step_at_end - short.step_at_end > 100
    else:  # a static batch holds it until the long one has finished
        assert finished_order == [long, short]


def test_rows_that_join_mid_flight_answer_as_they_do_alone(engine: Engine) -> None:
    prompts = [
        (question("Short."), [image(10)], greedy(12)),
        (question("What does the second panel of this figure show, and why?" * 3), [image(40)], greedy(9)),
        (question("Why?"), [image(70)], greedy(15)),
        (question("Compare panels a and b." * 2), [image(100)], greedy(6)),
    ]
    running = (question("Describe the whole figure in detail."), [image(130)], greedy(40))
    alone = [engine.generate(*prompt)["text"] for prompt in [running, *prompts]]
    answers = [Answer(engine) for _ in prompts]

    def join(numbers: list[int]) -> Callable[[], Any]:
        return lambda: engine.submit_many(
            [(*prompts[number], answers[number]) for number in numbers]  # one prefill, then they join
        )

    steps, step_rows = engine.stats.steps, engine.stats.step_rows
    first = Answer(engine, {2: join([0]), 5: join([1, 2]), 9: join([3])})
    send(engine, *running, first)
    for answer in [first, *answers]:
        answer.wait()
    # shorter and longer prompts than the running rows' cache: left padding both ways
    assert [answer.text for answer in [first, *answers]] == alone
    assert all(answer.last.finish_reason == "length" for answer in [first, *answers])
    assert (engine.stats.step_rows - step_rows) / (engine.stats.steps - steps) > 1.5  # they ran together


def test_a_poison_row_joining_mid_flight_fails_alone(engine: Engine) -> None:
    good = [
        (question("What is in panel a?"), [image(20)], greedy(8)),
        (question("And panel b, in more words?"), [image(50)], greedy(10)),
    ]
    running = (question("Go on."), [image(90)], greedy(30))
    alone = [engine.generate(*prompt)["text"] for prompt in [running, *good]]
    answers = [Answer(engine), Answer(engine), Answer(engine)]
    joining = [good[0], (question("This one?"), ["not an image"], greedy(8)), good[1]]
    batches = engine.stats.batches
    first = Answer(
        engine,
        {
            4: lambda: engine.submit_many(
                [(*prompt, answer) for prompt, answer in zip(joining, answers, strict=True)]
            )
        },
    )
    send(engine, *running, first)
    for answer in [first, *answers]:
        answer.wait()
    assert answers[1].last.kind == "error" and "generation failed" in answers[1].last.text
    assert [first.text, answers[0].text, answers[2].text] == alone
    assert engine.stats.batches == batches + 2  # the running row, then the three that came together


def test_a_cancelled_row_frees_its_slot_at_once(tiny_llava: tuple[Any, Any]) -> None:
    small = start(tiny_llava, max_batch_size=2)
    try:
        waiting_prompt = (question("Short?"), [image(3)], greedy(5))
        alone = small.generate(*waiting_prompt)["text"]
        tickets: list[Any] = []
        steps = small.stats.steps
        first = Answer(small, {3: lambda: tickets[0].cancel()})
        second, waiting = Answer(small), Answer(small)
        tickets += small.submit_many(
            [
                (question("One long answer."), [image(1)], greedy(150), first),
                (question("Another long answer."), [image(2)], greedy(150), second),
                (*waiting_prompt, waiting),  # no slot for it until one of the two leaves
            ]
        )
        for answer in (first, second, waiting):
            answer.wait()
        assert first.last.finish_reason == "cancelled" and first.last.completion_tokens <= 4
        assert waiting.text == alone and waiting.last.completion_tokens == 5
        # it joined at the step after the cancellation and took four more
        assert waiting.step_at_end - steps <= 4 + 1 + 4
        assert second.step_at_end - waiting.step_at_end > 100
        assert second.last.completion_tokens == 150
    finally:
        small.close()


def test_models_the_loop_cannot_run_keep_static_batches(tmp_path: Any) -> None:
    from transformers import GenerationConfig, LlamaConfig, LlavaConfig, MistralConfig, Qwen2VLConfig

    assert static_only_reason(LlavaConfig(), GenerationConfig()) is None
    assert static_only_reason(LlamaConfig(), GenerationConfig()) is None
    assert "qwen2_vl" in str(static_only_reason(Qwen2VLConfig()))  # 3-D rotary positions
    assert "DynamicSlidingWindowLayer" in str(static_only_reason(MistralConfig(sliding_window=4096)))
    assert static_only_reason(MistralConfig(sliding_window=None)) is None
    penalised = GenerationConfig(repetition_penalty=1.2)
    assert "repetition_penalty" in str(static_only_reason(LlamaConfig(), penalised))

    build_tiny_causal_lm("mistral", tmp_path / "mistral")  # sliding-window attention
    sliding = Engine.load(str(tmp_path / "mistral"))
    try:
        assert not sliding.continuous_batching and "sliding" in str(sliding.static_reason)
        messages = [{"role": "user", "content": "Hello there"}]
        assert sliding.generate(messages, params=greedy(5))["completion_tokens"] <= 5
        assert sliding.stats.steps == 0  # it ran through `generate`
    finally:
        sliding.close()


def test_a_text_model_batches_continuously_with_identical_greedy_answers(tmp_path: Any) -> None:
    build_tiny_causal_lm("qwen2", tmp_path / "qwen2")
    text_engine = Engine.load(str(tmp_path / "qwen2"))
    try:
        assert text_engine.continuous_batching
        requests = [
            ([{"role": "user", "content": "Why? " * number}], [], greedy(8)) for number in range(1, 6)
        ]
        alone = [text_engine.generate(*request)["text"] for request in requests]
        assert [answer["text"] for answer in text_engine.generate_many(requests)] == alone
    finally:
        text_engine.close()


def test_a_row_decodes_the_same_logits_alone_and_among_rows_that_join_and_leave(
    tiny_llava: tuple[Any, Any],
) -> None:
    """The tensor bookkeeping itself, to a tolerance: greedy text from a random model barely depends
    on positions, logits do."""
    import torch

    from cephalo_ray.models.continuous import DecodeBatch, prefill

    model, processor = tiny_llava
    processor.tokenizer.padding_side = "left"

    def inputs(texts: list[str]) -> dict[str, Any]:
        prompts = [
            processor.apply_chat_template(question(text), add_generation_prompt=True) for text in texts
        ]
        pictures = [[image(len(text))] for text in texts]
        return dict(processor(text=prompts, images=pictures, padding=True, return_tensors="pt"))

    def run(batch: DecodeBatch, steps: int) -> list[Any]:
        """Each step's logits ([rows, vocabulary]), feeding each row its argmax."""
        logits = []
        for _ in range(steps):
            step_logits = batch.step()
            batch.next_tokens = step_logits.argmax(dim=-1)
            logits.append(step_logits)
        return logits

    def alone(text: str, first_token: int, steps: int) -> Any:
        batch = DecodeBatch(model)
        batch.join(prefill(model, inputs([text])), [0], torch.tensor([first_token]))
        return torch.stack([logits[0] for logits in run(batch, steps)])

    long_text, short_texts = (
        "Describe everything in this figure, panel by panel.",
        ["Why?", "And this one, then?"],
    )
    batch = DecodeBatch(model)
    first = prefill(model, inputs([long_text]))
    batch.join(first, [0], first.logits.argmax(dim=-1))
    run(batch, 3)
    joining = prefill(model, inputs(short_texts))  # two rows padded to each other, shorter than the cache
    tokens = joining.logits.argmax(dim=-1)
    batch.join(joining, [0, 1], tokens)
    together = run(batch, 4)
    batch.keep([1, 2])  # the long row leaves: the leading columns only it attended to go
    assert batch.length < first.attention_mask.shape[1] + 7
    after = run(batch, 3)
    longer_text = "Now a question longer than anything in the cache, about every panel. " * 3
    longer = prefill(model, inputs([longer_text]))
    assert longer.attention_mask.shape[1] > batch.length  # this time the running rows are padded
    batch.join(longer, [0], longer.logits.argmax(dim=-1))
    last = run(batch, 2)
    for number, text in enumerate(short_texts):
        steps = [logits[number + 1] for logits in together] + [logits[number] for logits in after + last]
        expected = alone(text, int(tokens[number]), 9)
        torch.testing.assert_close(torch.stack(steps), expected, rtol=1e-4, atol=1e-4)
    expected = alone(longer_text, int(longer.logits.argmax()), 2)
    torch.testing.assert_close(torch.stack([logits[2] for logits in last]), expected, rtol=1e-4, atol=1e-4)


class FailingSteps:
    """A forward pre-hook that makes decoding steps raise: the first `batched` steps of more than
    one row (a fault no row has alone, as running out of memory), and every step that feeds a row
    at position `from_position` or beyond (a row that breaks any step it is in)."""

    def __init__(self, batched: int = 0, from_position: int | None = None) -> None:
        self.batched = batched
        self.from_position = from_position
        self.raised = 0

    def __call__(self, module: Any, args: Any, kwargs: dict[str, Any]) -> None:
        input_ids = kwargs.get("input_ids")
        if input_ids is None or input_ids.shape[1] != 1:  # a prefill
            return
        if self.batched and input_ids.shape[0] > 1:
            self.batched -= 1
            self.raised += 1
            raise RuntimeError(f"no memory for a step of {input_ids.shape[0]} rows")
        if self.from_position is not None and int(kwargs["position_ids"].max()) >= self.from_position:
            self.raised += 1
            raise RuntimeError(f"position {self.from_position} cannot be decoded")


@pytest.fixture(scope="module")
def text_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    folder = tmp_path_factory.mktemp("qwen2")
    build_tiny_causal_lm("qwen2", folder)
    running = Engine.load(str(folder), EngineOptions(batch_wait_s=0.05))
    running.eos_ids = set()  # every answer runs to its max_tokens
    assert running.continuous_batching
    yield running
    running.close()


def text_request(text: str) -> tuple[list[dict[str, Any]], list[Any], SamplingParams]:
    return [{"role": "user", "content": text}], [], greedy(12)


def failing(engine: Engine, hook: FailingSteps, requests: list[Any]) -> list[dict[str, Any]]:
    """`requests` generated together while `hook` makes steps fail."""
    handle = engine.model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        return engine.generate_many(requests)
    finally:
        handle.remove()


def test_a_step_that_fails_for_the_batch_is_retried_row_by_row_and_every_row_finishes(
    text_engine: Engine,
) -> None:
    requests = [text_request("Why? " * number) for number in range(1, 5)]
    alone = [text_engine.generate(*request)["text"] for request in requests]
    steps, step_rows = text_engine.stats.steps, text_engine.stats.step_rows
    hook = FailingSteps(batched=3)
    answers = failing(text_engine, hook, requests)
    assert hook.raised == 3
    assert [answer["error"] for answer in answers] == [None] * 4
    assert [answer["text"] for answer in answers] == alone  # each row stepped alone, then together again
    assert all(answer["completion_tokens"] == 12 for answer in answers)
    assert (text_engine.stats.step_rows - step_rows) / (text_engine.stats.steps - steps) > 3


def test_a_row_that_breaks_every_step_fails_alone_and_its_batch_mates_finish(text_engine: Engine) -> None:
    good = [text_request("Why? " * number) for number in range(1, 4)]
    poison = text_request("Tell me everything, again and again. " * 8)
    alone = [text_engine.generate(*request)["text"] for request in good]
    lengths = [text_engine.prompt_tokens(messages, []) for messages, _, _ in [*good, poison]]
    assert max(lengths[:3]) + 12 < lengths[3]  # only the poison row ever reaches the position
    hook = FailingSteps(from_position=lengths[3] + 3)
    answers = failing(text_engine, hook, [good[0], poison, *good[1:]])
    assert answers[1]["error"] and "cannot be decoded" in answers[1]["error"]
    assert [answers[0]["text"], answers[2]["text"], answers[3]["text"]] == alone
    assert hook.raised == 2  # the step of all four rows, then the poison row's own


def test_a_failing_metrics_observer_never_stops_the_generation_worker() -> None:
    """Ray's counters refuse an increment of 0 (a step whose rows were all cancelled): the observer
    raising once killed the engine thread and left the replica answering nothing."""
    from cephalo_ray.models.engine import StepMeter

    seen: list[tuple[int, int, float]] = []

    def observer(rows: int, tokens: int, seconds: float) -> None:
        seen.append((rows, tokens, seconds))
        if tokens <= 0:
            raise ValueError(f"value must be >0, got {tokens}")

    meter = StepMeter(observer, every_s=0.0)
    meter.add(rows=2, tokens=0, seconds=0.01)  # flushes at once and the observer raises
    meter.add(rows=2, tokens=2, seconds=0.01)
    assert seen == [(2, 0, 0.01), (2, 2, 0.01)]
