"""The generation engine alone (no HTTP, no Ray): batching, per-row sampling, stops, cancellation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cephalo_ray.models.decoding import held_back
from cephalo_ray.models.engine import Engine, EngineBusyError, EngineOptions, SamplingParams
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


def test_a_poison_row_fails_alone_and_its_batch_mates_are_answered(engine: Engine) -> None:
    """A row that breaks the batch (here an image the processor cannot read) costs only its own answer."""
    from queue import Queue

    good = [
        (question(f"What does panel {letter} show?"), [image(30 * number)])
        for number, letter in enumerate("abcdef")
    ]
    alone = [engine.generate(messages, pictures, GREEDY)["text"] for messages, pictures in good]
    requests = [*good[:3], (question("And this?"), ["not an image"]), *good[3:]]
    queues: list[Queue[Any]] = [Queue() for _ in requests]
    batches_before = engine.stats.batches
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


def test_a_stalled_engine_reports_its_problem(engine: Engine) -> None:
    assert engine.problem(stall_s=600) is None
    engine.last_progress -= 1000  # as if nothing had moved for a long time ...
    assert engine.problem(stall_s=600) is None  # ... which is fine while nothing waits
