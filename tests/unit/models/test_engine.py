"""The generation engine alone (no HTTP, no Ray): batching, per-row sampling, stops, cancellation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cephalo_ray.models.decoding import held_back
from cephalo_ray.models.engine import (
    Engine,
    EngineBusyError,
    EngineOptions,
    SamplingParams,
    events_until_end,
    fold,
)
from cephalo_ray.models.tiny import build_tiny, build_tiny_causal_lm

GREEDY = SamplingParams(max_tokens=12, temperature=0)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    folder = tmp_path_factory.mktemp("llava")
    build_tiny("llava", folder)
    loaded = Engine.load(str(folder), EngineOptions(batch_wait_s=0.2, max_batch_size=16))
    yield loaded
    loaded.close()


def question(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]


def image(shade: int) -> Any:
    return Image.new("RGB", (40, 30), (shade, 60, 120))


def test_a_batch_answers_each_request_as_it_is_answered_alone(engine: Engine) -> None:
    prompts = [
        (question(f"What does panel {'abcdefgh'[number]} show?" * (number % 3 + 1)), image(20 * number))
        for number in range(8)
    ]
    alone = [engine.generate(messages, [picture], GREEDY)["text"] for messages, picture in prompts]
    batches_before = engine.stats.batches
    results: list[str] = [""] * len(prompts)

    def run(number: int) -> None:
        messages, picture = prompts[number]
        results[number] = engine.generate(messages, [picture], GREEDY)["text"]

    threads = [threading.Thread(target=run, args=(number,)) for number in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == alone  # prompts of different lengths: left padding is handled
    assert engine.stats.batches - batches_before < len(prompts)
    assert max(engine.stats.batch_sizes[batches_before:]) > 1


def test_sampling_is_per_row_and_seeded(engine: Engine) -> None:
    messages, picture = question("Describe."), image(90)
    first = engine.generate(messages, [picture], SamplingParams(max_tokens=10, temperature=1.0, seed=11))[
        "text"
    ]
    second = engine.generate(messages, [picture], SamplingParams(max_tokens=10, temperature=1.0, seed=11))[
        "text"
    ]
    other = engine.generate(messages, [picture], SamplingParams(max_tokens=10, temperature=1.0, seed=12))[
        "text"
    ]
    narrow = engine.generate(
        messages, [picture], SamplingParams(max_tokens=10, temperature=1.0, top_p=1e-6, seed=5)
    )
    assert first == second and first != other
    assert (
        narrow["text"]
        == engine.generate(messages, [picture], SamplingParams(max_tokens=10, temperature=0))["text"]
    )


def test_stop_strings_end_the_text_before_them_even_across_tokens(engine: Engine) -> None:
    messages, picture = question("Go on."), image(150)
    full = engine.generate(messages, [picture], SamplingParams(max_tokens=30, temperature=0))["text"]
    stop = full[6:10]
    streamed = list(
        engine.stream(messages, [picture], SamplingParams(max_tokens=30, temperature=0, stop=(stop,)))
    )
    text = "".join(event.text for event in streamed)
    assert text == full[: full.index(stop)] and stop not in text
    assert streamed[-1].kind == "done" and streamed[-1].finish_reason == "stop"


def test_held_back_keeps_a_possible_stop_prefix() -> None:
    assert held_back("the answer is ST", ["STOP"]) == 2
    assert held_back("the answer", ["STOP"]) == 0
    assert held_back("broken \ufffd", []) == 1


def test_closing_a_stream_cancels_its_generation(engine: Engine) -> None:
    messages, picture = question("Tell me everything."), image(200)
    stream = engine.stream(messages, [picture], SamplingParams(max_tokens=400, temperature=0))
    first = next(stream)
    assert first.kind == "text"
    started = time.monotonic()
    stream.close()  # the client went away
    before = engine.stats.generated_tokens
    engine.generate(
        messages, [picture], SamplingParams(max_tokens=2, temperature=0)
    )  # the worker is free again
    assert time.monotonic() - started < 10
    assert engine.stats.generated_tokens - before < 400


def test_a_full_queue_is_refused(tmp_path: Path) -> None:
    build_tiny_causal_lm("llama", tmp_path / "llama")
    busy = Engine.load(
        str(tmp_path / "llama"), EngineOptions(max_waiting=2, batch_wait_s=0.5, max_batch_size=1)
    )
    try:
        messages = [{"role": "user", "content": "Hello there"}]
        tickets = []
        with pytest.raises(EngineBusyError):
            for _ in range(6):  # one generating, two waiting, then refused
                tickets.append(busy.submit(messages, [], SamplingParams(max_tokens=50), lambda event: None))
        assert 2 <= len(tickets) <= 3
        for ticket in tickets:
            ticket.cancel()
        reply = busy.generate(messages, params=SamplingParams(max_tokens=5, temperature=0))
        assert reply["completion_tokens"] <= 5 and not busy.is_vlm
        with pytest.raises(ValueError, match="text only"):
            busy.submit(messages, [image(1)], GREEDY, lambda event: None)
    finally:
        busy.close()


def test_a_lora_adapter_folder_is_served_merged(tmp_path: Path) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    build_tiny_causal_lm("llama", tmp_path / "base")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "base")
    adapted = get_peft_model(
        model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    adapted.save_pretrained(tmp_path / "adapter")
    served = Engine.load(str(tmp_path / "adapter"))
    try:
        reference = adapted.merge_and_unload().eval()
        ids = torch.tensor([[1, 5, 6, 7]])
        with torch.no_grad():
            torch.testing.assert_close(served.model(ids).logits, reference(ids).logits)
    finally:
        served.close()


@pytest.fixture(scope="module")
def static_engine(engine: Engine) -> Iterator[Engine]:
    """The same model through static batches (`generate` to the end of each batch)."""
    static = Engine(
        engine.model,
        engine.processor,
        is_vlm=True,
        batch_wait_s=0.2,
        max_batch_size=16,
        continuous_batching=False,
    )
    yield static
    static.close()


@pytest.mark.parametrize("loop", ["continuous", "static"])
def test_a_poison_row_fails_alone_and_its_batch_mates_are_answered(
    loop: str, request: pytest.FixtureRequest
) -> None:
    """A row that breaks the batch (here an image the processor cannot read) costs only its own
    answer: the continuous loop prefills its batch-mates again one by one, the static loop
    (`_run_alone`) generates them one by one."""
    from queue import Queue

    engine: Engine = request.getfixturevalue("engine" if loop == "continuous" else "static_engine")
    assert engine.continuous_batching == (loop == "continuous")
    good = [
        (question(f"What does panel {letter} show?"), [image(30 * number)])
        for number, letter in enumerate("abcdef")
    ]
    alone = [engine.generate(messages, pictures, GREEDY)["text"] for messages, pictures in good]
    requests = [*good[:3], (question("And this?"), ["not an image"]), *good[3:]]
    queues: list[Queue[Any]] = [Queue() for _ in requests]
    batches_before, steps_before = engine.stats.batches, engine.stats.steps
    engine.submit_many(
        [
            (messages, pictures, GREEDY, queue.put)
            for (messages, pictures), queue in zip(requests, queues, strict=True)
        ]
    )
    outcomes = []
    for queue in queues:
        text, event = [], queue.get(timeout=60)
        while event.kind == "text":
            text.append(event.text)
            event = queue.get(timeout=60)
        outcomes.append((event.kind, "".join(text)))
    assert engine.stats.batches == batches_before + 1  # they were one batch
    assert (engine.stats.steps > steps_before) == (loop == "continuous")
    assert outcomes[3][0] == "error"
    assert [outcome for number, outcome in enumerate(outcomes) if number != 3] == [
        ("done", text) for text in alone
    ]


def test_out_of_range_seeds_and_long_prompts_are_handled_before_the_batch(engine: Engine) -> None:
    from cephalo_ray.models.engine import ContextLengthError

    seeded = SamplingParams(max_tokens=4, temperature=1.0, seed=2**80)  # folded into a generator's range
    assert engine.generate(question("Any seed?"), [image(5)], seeded)["finish_reason"] in ("length", "stop")
    assert engine.context_length == 4096
    length = engine.check_context(question("Short."), [image(5)], max_tokens=16)
    assert 0 < length < 4096
    with pytest.raises(ContextLengthError, match="maximum context length is 4096"):
        engine.check_context(question("silk " * 5000), [image(5)], max_tokens=16)
    with pytest.raises(ContextLengthError, match="limit of 10"):
        engine.check_context(question("Short."), [image(5)], max_tokens=16, max_prompt_tokens=10)


class GatedProcessor:
    """The real processor behind a gate: a call from the engine's worker (from any thread with
    `worker_only=False`) waits while the gate is shut, as a worker stuck in a prefill, and, with
    `end_worker`, then ends the worker thread."""

    def __init__(self, processor: Any, worker_only: bool = True) -> None:
        self.processor = processor
        self.worker_only = worker_only
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.end_worker = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.processor, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        in_worker = threading.current_thread().name == "cephalo-engine"
        if in_worker or not self.worker_only:
            self.entered.set()
            self.gate.wait()
            if self.end_worker and in_worker:  # a BaseException, which no loop catches: the thread ends
                raise SystemExit("the worker was stopped")
        return self.processor(*args, **kwargs)


def gated(engine: Engine) -> tuple[Engine, GatedProcessor]:
    """A second engine on the test model whose worker can be stalled or ended."""
    processor = GatedProcessor(engine.processor)
    return Engine(engine.model, processor, is_vlm=True, batch_wait_s=0.01), processor


def test_a_stalled_engine_reports_its_problem(engine: Engine) -> None:
    from queue import Queue

    stalling, processor = gated(engine)
    try:
        assert stalling.problem(stall_s=0.2) is None
        stalling.last_progress -= 1000  # as if nothing had moved for a long time ...
        assert stalling.problem(stall_s=0.2) is None  # ... which is fine while it has no work
        processor.gate.clear()
        first: Queue[Any] = Queue()
        stalling.submit(question("Stuck?"), [image(1)], GREEDY, first.put)
        assert processor.entered.wait(30)  # the worker took it and hangs in its prefill
        assert stalling.problem(stall_s=5) is None  # the stall clock started when the work came
        time.sleep(0.3)
        assert "made no progress for 0.2 s" in str(stalling.problem(stall_s=0.2))
        second: Queue[Any] = Queue()
        stalling.submit(question("And me?"), [image(2)], GREEDY, second.put)
        assert "1 request waits and nothing was generated" in str(stalling.problem(stall_s=0.2))
        processor.gate.set()  # it moves again: both are answered and the engine is well
        answers = [fold(events_until_end(partial(events.get, timeout=60))) for events in (first, second)]
        assert [answer["error"] for answer in answers] == [None, None]
        assert stalling.problem(stall_s=0.2) is None
    finally:
        processor.gate.set()
        stalling.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # ended on purpose
def test_an_engine_whose_worker_died_says_so_and_answers_what_it_held(engine: Engine) -> None:
    from queue import Queue

    dying, processor = gated(engine)
    try:
        processor.gate.clear()
        held: Queue[Any] = Queue()
        dying.submit(question("First."), [image(3)], GREEDY, held.put)
        assert processor.entered.wait(30)
        waiting: Queue[Any] = Queue()
        dying.submit(question("Second."), [image(4)], GREEDY, waiting.put)
        processor.end_worker = True
        processor.gate.set()
        dying._worker.join(30)
        assert dying.problem(stall_s=600) == "the generation worker has stopped"
        for events in (held, waiting):  # neither client is left waiting for ever
            event = events.get(timeout=10)
            assert event.kind == "error" and "worker has stopped" in event.text
        with pytest.raises(EngineBusyError, match="worker has stopped"):
            dying.submit(question("Third."), [image(5)], GREEDY, lambda event: None)
    finally:
        dying.close()


def test_the_pixels_a_processor_makes_are_capped_by_it_and_counted_before_a_batch() -> None:
    """No second pixel limit after the resize: the processor caps what it makes of an image by its
    own config (here at most 4x4 tiles and a global view), and the context check counts the image
    tokens those tiles become before the request may join a batch, naming the limit."""
    from cephalo_ray.models.decoding import Ticket
    from cephalo_ray.models.engine import ContextLengthError

    model, processor = build_tiny("idefics3")
    tiled = Engine(model, processor, is_vlm=True)
    try:

        def made(size: tuple[int, int]) -> tuple[int, int]:
            ticket = Ticket(question("?"), [Image.new("RGB", size)], GREEDY, lambda event: None)
            inputs = tiled.encode([ticket])
            return int(inputs["pixel_values"].numel()), int(inputs["input_ids"].shape[1])

        assert made((40, 30)) == made((400, 300)) == made((4000, 3000))  # the same tiles at any size
        assert made((600, 30))[0] < made((40, 30))[0]  # a strip is cut into fewer tiles ...
        assert made((600, 30))[1] < made((40, 30))[1]  # ... which become fewer image tokens
        photo = Image.new("RGB", (4000, 3000))
        one = tiled.check_context(question("?"), [photo], max_tokens=8)
        two_images = [{"role": "user", "content": [{"type": "image"}, *question("?")[0]["content"]]}]
        with pytest.raises(
            ContextLengthError,
            match=rf"the prompt has \d+ tokens \(\d+ of them for 2 images\), more than this server's limit of {one}",
        ):
            tiled.check_context(two_images, [photo, photo], max_tokens=8, max_prompt_tokens=one)
    finally:
        tiled.close()
