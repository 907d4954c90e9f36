"""Ray Serve replaces a replica whose engine died: the served app on a local Ray with a tiny model
whose processor ends the engine's worker thread on one image (`tests/helpers/faults.py`). The
replica's health check fails with the reason, Ray Serve starts another replica in its place (it
checks every `resources.health_check_period_s`), and the official `openai` client, retrying as it
does on a 503, is answered by the new replica."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.helpers.faults import ProcessorFaults
from tests.helpers.media import data_url, png_bytes
from tests.helpers.servers import free_port
from tests.jobs.test_serve_app import start_tiny_app

KILLER = 53  # the width of the image whose first prefill ends the engine's worker


def ask(text: str, image: bytes) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": data_url(image)}},
                {"type": "text", "text": text},
            ],
        }
    ]


def health_of(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


def running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (Linux)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.slow
def test_a_replica_whose_engine_died_fails_its_health_check_and_is_replaced(
    ray_session: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from ray import serve

    faults = ProcessorFaults(str(tmp_path / "calls"), worker_dies=frozenset({KILLER}))
    base_url = start_tiny_app(
        free_port(),
        tmp_path,
        "replaced",
        # checked every second (Ray Serve's default is every 10 s)
        health_check={"health_check_period_s": 1.0, "health_check_timeout_s": 10.0},
        load_engine=faults.load_engine,
    )
    health_url = base_url.removesuffix("/v1") + "/health"
    client = openai.OpenAI(base_url=base_url, api_key="none", max_retries=0, timeout=120)
    # Until the replica is replaced, a request may still reach it: 503, Retry-After 2 s.
    patient = openai.OpenAI(base_url=base_url, api_key="none", max_retries=5, timeout=120)

    def greedy(text: str, image: bytes, client: openai.OpenAI = client) -> Any:
        return client.chat.completions.create(
            model="tiny", messages=ask(text, image), max_tokens=4, temperature=0
        )

    try:
        assert greedy("Warm up.", png_bytes()).choices[0].finish_reason
        first = faults.processes()[-1]
        with pytest.raises(openai.InternalServerError, match="generation failed"):
            greedy("This one ends the worker.", png_bytes(size=(KILLER, 30)))

        answer = greedy("Are you there again?", png_bytes(), patient)
        assert answer.choices[0].finish_reason in ("stop", "length")
        assert faults.processes()[-1] != first  # answered by another replica's process ...
        deadline = time.monotonic() + 60
        while running(first) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not running(first)  # ... and the one whose engine died is gone
        # Ray Serve says why: its health check (the deployment's `check_health`) failed with our reason.
        reason = "RuntimeError: model tiny: the generation worker has stopped"
        logged = ""
        while not ("Health check for Replica" in logged and reason in logged) and time.monotonic() < deadline:
            time.sleep(0.2)
            logged += capfd.readouterr().err
        assert "Health check for Replica" in logged and reason in logged, logged[-3000:]
        status, body = health_of(health_url)
        assert status == 200 and body["status"] == "ok" and body["loaded"] == ["tiny"], body
    finally:
        serve.shutdown()  # the next module starts Serve on a port of its own
