"""The replica's health (`GET /health` and Ray Serve's `check_health`) when it cannot make progress:
the real handler (no Ray) over a real engine on a tiny model whose processor can be stalled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.requests import Request

from cephalo_ray.models.engine import Engine
from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.serve.config import ServeConfig, ServeSettings
from cephalo_ray.serve.handler import OpenAIHandler
from tests.helpers.media import data_url, png_bytes
from tests.unit.models.test_engine import GatedProcessor

STALL_S = 0.2


@pytest.fixture(scope="module")
def tiny_llava() -> tuple[Any, Any]:
    return build_tiny("llava", seed=0)


@pytest.fixture()
def gated(
    tiny_llava: tuple[Any, Any], request: pytest.FixtureRequest
) -> Iterator[tuple[Engine, GatedProcessor]]:
    model, processor = tiny_llava
    gate = GatedProcessor(processor, worker_only=getattr(request, "param", True))
    engine = Engine(model, gate, is_vlm=True, batch_wait_s=0.01)
    try:
        yield engine, gate
    finally:
        gate.gate.set()
        engine.close()


def handler_over(engine: Engine, **limits: Any) -> OpenAIHandler:
    """The replica's handler with `engine` already loaded as model `tiny`."""
    config = ServeConfig(models=["tiny"], names=["tiny"], limits={"stall_seconds": STALL_S, **limits})
    settings = ServeSettings(
        config=config, served_models={"tiny": "tiny"}, api_key_sha256=None, audio_model=None
    )

    async def engine_for(model_id: str) -> Engine:
        return engine

    handler = OpenAIHandler(settings, engine_for)
    handler.engines["tiny"] = engine
    return handler


def chat_request(text: str, **options: Any) -> Request:
    """`POST /v1/chat/completions` of one image and `text` (greedy, 4 tokens unless `options` say
    otherwise), as the route hands it to the handler."""
    body = json.dumps(
        {
            "model": "tiny",
            "max_tokens": 4,
            "temperature": 0,
            **options,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": data_url(png_bytes())}},
                        {"type": "text", "text": text},
                    ],
                }
            ],
        }
    ).encode()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": headers}
    return Request(scope, receive)


async def health_of(handler: OpenAIHandler) -> tuple[int, dict[str, Any]]:
    response = await handler.health()
    return response.status_code, json.loads(response.body)


def test_a_replica_whose_engine_stalls_is_unhealthy_until_it_moves_again(
    gated: tuple[Engine, GatedProcessor],
) -> None:
    engine, gate = gated
    handler = handler_over(engine)

    async def scenario() -> None:
        assert (await health_of(handler))[0] == 200
        gate.gate.clear()
        stuck = asyncio.create_task(handler.chat_completions(chat_request("Stuck?")))
        assert await asyncio.to_thread(gate.entered.wait, 30)  # its prefill hangs in the worker
        waiting = asyncio.create_task(handler.chat_completions(chat_request("Behind it?")))
        await asyncio.sleep(STALL_S + 0.2)
        status, body = await health_of(handler)
        assert status == 503 and body["status"] == "unhealthy" and body["in_flight"] == 2
        assert "model tiny: 1 request waits and nothing was generated" in body["problem"]
        with pytest.raises(RuntimeError, match="model tiny: 1 request waits"):
            handler.check_health()  # what Ray Serve calls: raising replaces the replica
        gate.gate.set()
        answers = await asyncio.gather(stuck, waiting)
        assert [answer.status_code for answer in answers] == [200, 200]
        assert await health_of(handler) == (200, {**body, "status": "ok", "problem": None, "in_flight": 0})

    asyncio.run(scenario())


@pytest.mark.parametrize("gated", [False], indirect=True, ids=["stuck-before-the-engine"])
def test_every_slot_held_by_stuck_requests_makes_the_replica_unhealthy(
    gated: tuple[Engine, GatedProcessor],
) -> None:
    """Requests stuck before they reach the engine (here in the context check's processor call)
    hold every slot: the engine itself has no work, the replica is still unhealthy."""
    engine, gate = gated
    handler = handler_over(engine, max_concurrent_requests=2)

    async def scenario() -> None:
        gate.gate.clear()
        stuck = [asyncio.create_task(handler.chat_completions(chat_request(f"Stuck {n}?"))) for n in range(2)]
        await asyncio.sleep(STALL_S + 0.2)
        refused = await handler.chat_completions(chat_request("A third?"))
        assert refused.status_code == 429
        assert engine.problem(STALL_S) is None
        status, body = await health_of(handler)
        assert status == 503 and "all 2 request slots are held and none was given back" in body["problem"]
        with pytest.raises(RuntimeError, match="all 2 request slots are held"):
            handler.check_health()
        gate.gate.set()
        assert [answer.status_code for answer in await asyncio.gather(*stuck)] == [200, 200]
        status, body = await health_of(handler)
        assert status == 200 and body["in_flight"] == 0

    asyncio.run(scenario())
