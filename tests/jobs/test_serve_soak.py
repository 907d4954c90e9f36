"""A bounded soak of the served app: minutes of mixed good, malformed, abandoned and over-long
requests from several threads, on loopback. Every good request must be answered as when alone, and
the replica must end healthy with no request slot held. Slow; `CEPHALO_SOAK_SECONDS` sets its length
(default 300)."""

from __future__ import annotations

import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest

from cephalo_ray.jobs.serve import ServeConfig, start
from cephalo_ray.models.tiny import build_tiny
from tests.helpers.media import data_url, png_bytes
from tests.helpers.servers import free_port

SOAK_SECONDS = float(os.environ.get("CEPHALO_SOAK_SECONDS", "300"))
# the soak itself, plus starting the app and answering every question alone first
pytestmark = [pytest.mark.slow, pytest.mark.timeout(int(SOAK_SECONDS) + 300)]


def ask(text: str, image: bytes | None = None) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = (
        [{"type": "image_url", "image_url": {"url": data_url(image)}}] if image else []
    )
    return [{"role": "user", "content": [*parts, {"type": "text", "text": text}]}]


def post_raw(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_minutes_of_mixed_traffic_leave_every_good_request_answered_and_the_replica_healthy(
    ray_session: Any, tmp_path: Path
) -> None:
    from ray import serve

    build_tiny("llava", tmp_path / "tiny")
    port = free_port()
    start(
        ServeConfig(
            models=[str(tmp_path / "tiny")],
            names=["tiny"],
            port=port,
            app_name="soak",
            route_prefix="/soak",
            blocking=False,
            limits={"max_concurrent_requests": 64, "max_tokens_cap": 64},
            engine={"batch_wait_ms": 20, "max_batch_size": 16},
            resources={"num_cpus": 0.5},
        )
    )
    base_url = f"http://127.0.0.1:{port}/soak/v1"
    client = openai.OpenAI(base_url=base_url, api_key="none", max_retries=0, timeout=120)
    hasty = openai.OpenAI(base_url=base_url, api_key="none", max_retries=0, timeout=0.05)
    image = png_bytes()
    questions = [f"Describe figure {number}." for number in range(6)]
    try:
        alone = {
            question: client.chat.completions.create(
                model="tiny", messages=ask(question, image), max_tokens=8, temperature=0
            )
            .choices[0]
            .message.content
            for question in questions
        }
        outcomes: Counter[str] = Counter()
        wrong: list[tuple[str, str | None]] = []
        lock = threading.Lock()
        deadline = time.monotonic() + SOAK_SECONDS

        def good(rng: random.Random) -> None:
            question = rng.choice(questions)
            answer = client.chat.completions.create(
                model="tiny", messages=ask(question, image), max_tokens=8, temperature=0
            )
            content = answer.choices[0].message.content
            with lock:
                outcomes["good"] += 1
                if content != alone[question]:
                    wrong.append((question, content))

        def malformed(rng: random.Random) -> None:
            bodies = [
                b"{not json",
                b"\xff\xfe garbage",
                json.dumps({"model": "tiny", "messages": "not a list"}).encode(),
                json.dumps({"model": "tiny", "messages": ask("x"), "seed": 2**80}).encode(),
                json.dumps({"model": "tiny", "messages": ask("x", b"not an image")}).encode(),
                json.dumps({"model": "nope", "messages": ask("x")}).encode(),
            ]
            status = post_raw(f"{base_url}/chat/completions", rng.choice(bodies))
            with lock:
                outcomes[f"malformed {status // 100}xx"] += 1

        def abandoned(rng: random.Random) -> None:
            try:
                hasty.chat.completions.create(
                    model="tiny",
                    messages=ask("Take your time.", image),
                    max_tokens=64,
                    stream=rng.random() < 0.5,
                )
            except openai.APIError:
                pass
            with lock:
                outcomes["abandoned"] += 1

        def over_long(rng: random.Random) -> None:
            try:
                client.chat.completions.create(model="tiny", messages=ask("word " * 20_000), max_tokens=8)
                kind = "over-long answered"
            except openai.BadRequestError as error:
                kind = f"over-long {error.code}"
            with lock:
                outcomes[kind] += 1

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            kinds = [good, good, good, malformed, abandoned, over_long]
            while time.monotonic() < deadline:
                rng.choice(kinds)(rng)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(worker, range(8)))

        assert outcomes["good"] > 0 and not wrong, (outcomes, wrong[:3])
        assert outcomes["over-long answered"] == 0, outcomes  # refused, not prefilling for minutes
        assert set(outcomes) <= {"good", "abandoned", "malformed 4xx", "over-long context_length_exceeded"}, (
            outcomes
        )
        health_url = base_url.removesuffix("/v1") + "/health"
        settle = time.monotonic() + 60
        while True:
            with urllib.request.urlopen(health_url) as response:
                health = json.loads(response.read())
            if health["in_flight"] == 0 or time.monotonic() > settle:
                break
            time.sleep(0.5)
        assert health["status"] == "ok" and health["in_flight"] == 0, health
        after = client.chat.completions.create(
            model="tiny", messages=ask(questions[0], image), max_tokens=8, temperature=0
        )
        assert after.choices[0].message.content == alone[questions[0]]
    finally:
        serve.delete("soak")
