"""The serving engine and the served API on CUDA: continuous batching (and static batches) with
greedy and seeded sampled rows, every row's generator on the device; and the replica's handler,
without Ray, answering requests. Skips itself on machines without a GPU."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from cephalo_ray.models.engine import Engine, EngineOptions, SamplingParams
from cephalo_ray.models.tiny import build_tiny, build_tiny_causal_lm
from cephalo_ray.serve.config import ServeConfig, settings_of
from cephalo_ray.serve.handler import OpenAIHandler
from tests.unit.serve.test_health import chat_request

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.fixture(scope="module")
def continuous(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    folder = tmp_path_factory.mktemp("qwen2")
    build_tiny_causal_lm("qwen2", folder)
    # float32: greedy ties between batch shapes stay out of the comparison
    engine = Engine.load(str(folder), EngineOptions(dtype="float32", batch_wait_s=0.05), device="cuda")
    engine.eos_ids = set()  # every row decodes to its max_tokens
    yield engine
    engine.close()


@pytest.fixture(params=["continuous", "static"])
def engine(continuous: Engine, request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "continuous":
        assert continuous.continuous_batching
        yield continuous
        return
    static = Engine(continuous.model, continuous.processor, is_vlm=False, continuous_batching=False)
    static.eos_ids = set()
    yield static
    static.close()


def requests(params: list[SamplingParams]) -> list[tuple[list[dict[str, Any]], list[Any], SamplingParams]]:
    """Prompts of different lengths (left padding in a batch), one per `params`."""
    return [
        ([{"role": "user", "content": "Why? " * (number + 1)}], [], row) for number, row in enumerate(params)
    ]


def test_greedy_rows_batched_answer_as_alone_on_cuda(engine: Engine) -> None:
    assert next(engine.model.parameters()).device.type == "cuda"
    greedy = requests([SamplingParams(max_tokens=8 + number, temperature=0) for number in range(6)])
    alone = [engine.generate(*request)["text"] for request in greedy]
    batches, steps = engine.stats.batches, engine.stats.steps
    answers = engine.generate_many(greedy)
    assert [answer["error"] for answer in answers] == [None] * 6
    assert [answer["text"] for answer in answers] == alone
    assert engine.stats.batches - batches < 6  # they were batched
    assert (engine.stats.steps > steps) == engine.continuous_batching


def test_seeded_sampled_rows_are_reproducible_on_cuda(engine: Engine) -> None:
    """Sampling runs on the device with each row's own CUDA generator: the same seeds give the same
    answers again, alone or beside greedy rows, and different seeds differ."""
    sampled = [SamplingParams(max_tokens=12, temperature=1.0, top_p=0.95, seed=seed) for seed in range(4)]
    first = engine.generate_many(requests(sampled))
    again = engine.generate_many(requests(sampled))
    assert [answer["error"] for answer in first] == [None] * 4
    assert [answer["text"] for answer in again] == [answer["text"] for answer in first]
    assert len({answer["text"] for answer in first}) > 1
    alone = engine.generate(*requests(sampled)[2])
    assert alone["text"] == first[2]["text"]
    unseeded = engine.generate_many(requests([SamplingParams(max_tokens=6), SamplingParams(max_tokens=6)]))
    assert [answer["error"] for answer in unseeded] == [None, None]  # default temperature 1.0, any seed


def test_the_served_handler_answers_on_cuda(tmp_path: Path) -> None:
    """The replica's handler as Ray Serve would build it, without Ray: the model loads on CUDA
    (bf16) on the first request, and greedy, sampled and streamed requests with an image are answered."""
    build_tiny("llava", tmp_path / "tiny")
    settings = settings_of(ServeConfig(models=[str(tmp_path / "tiny")], names=["tiny"]))

    async def engine_for(model_id: str) -> Engine:
        return handler.engines.get(model_id) or await handler.load_engine(model_id)

    handler = OpenAIHandler(settings, engine_for)

    async def scenario() -> tuple[Any, Any, list[str]]:
        greedy = await handler.chat_completions(chat_request("What is shown?", max_tokens=6))
        sampled = await handler.chat_completions(
            chat_request("Describe it.", max_tokens=6, temperature=1.0, seed=3, n=2)
        )
        streamed = await handler.chat_completions(chat_request("And now?", max_tokens=6, stream=True))
        chunks = [chunk async for chunk in streamed.body_iterator]
        return greedy, sampled, [chunk if isinstance(chunk, str) else chunk.decode() for chunk in chunks]

    try:
        greedy, sampled, chunks = asyncio.run(scenario())
        engine = handler.engines["tiny"]
        parameter = next(engine.model.parameters())
        assert parameter.device.type == "cuda" and parameter.dtype == torch.bfloat16
        assert greedy.status_code == 200 and sampled.status_code == 200
        answer = json.loads(greedy.body)
        assert (
            answer["choices"][0]["finish_reason"] in ("length", "stop")
            and answer["usage"]["completion_tokens"] >= 1
        )
        assert [choice["index"] for choice in json.loads(sampled.body)["choices"]] == [0, 1]
        assert chunks[-1] == "data: [DONE]\n\n" and not any('"error"' in chunk for chunk in chunks)
    finally:
        for engine in handler.engines.values():
            engine.close()
