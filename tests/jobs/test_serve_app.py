"""The OpenAI-compatible Ray Serve app on a local Ray, driven by the official `openai` client."""

from __future__ import annotations

import base64
import json
import os
import struct
import threading
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest

from cephalo_ray.jobs import refine_pairs
from cephalo_ray.jobs.serve import ServeConfig, start
from cephalo_ray.merge.moe import build_moe
from cephalo_ray.merge.stacking import LayerSlice, stack_layers
from cephalo_ray.models.tiny import build_tiny, build_tiny_whisper
from cephalo_ray.storage import Storage
from tests.helpers.media import data_url, encoded, png_bytes, wav_bytes
from tests.helpers.roots import make_extract_root, make_pair
from tests.helpers.servers import free_port

API_KEY_ENV = "CEPHALO_TEST_SERVE_KEY"
API_KEY = "sk-test-7d1f"


class ImageHost:
    """A loopback HTTP server that serves one PNG at any path and counts the requests it gets;
    `/figures/moved` redirects to `/private/secret.png` (an "internal" address) and
    `/figures/missing` is a 404."""

    def __init__(self, png: bytes) -> None:
        host = self
        self.paths: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                host.paths.append(self.path)
                if self.path.endswith("/moved"):
                    self.send_response(302)
                    self.send_header("location", "/private/secret.png")
                    self.end_headers()
                    return
                if self.path.endswith("/missing"):
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("content-type", "image/png")
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny file whose header claims 10^10 pixels."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def server(ray_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from ray import serve

    root = tmp_path_factory.mktemp("served")
    build_tiny("llava", root / "tiny", seed=0)
    build_tiny("llava", root / "other", seed=1)
    stack_layers(
        {"a": str(root / "tiny"), "b": str(root / "other")},
        "a",
        [LayerSlice("a", 0, 1), LayerSlice("b", 1, 1)],
        root / "stacked",
    )
    build_moe(str(root / "tiny"), [str(root / "tiny"), str(root / "other")], root / "moe")
    build_tiny_whisper(root / "whisper")
    host = ImageHost(png_bytes())
    os.environ[API_KEY_ENV] = API_KEY
    port = free_port()
    config = ServeConfig(
        models=[str(root / name) for name in ("tiny", "stacked", "moe")],
        names=["tiny", "stacked", "moe"],
        port=port,
        api_key_env=API_KEY_ENV,
        audio_model=str(root / "whisper"),
        app_name="test-openai",
        blocking=False,
        limits={
            "max_image_pixels": 250_000,
            "max_tokens_cap": 256,
            "allowed_image_urls": [f"{host.url}/figures/"],
            "max_audio_seconds": 5,
        },
        engine={"batch_wait_ms": 100, "max_batch_size": 32},
        resources={"num_cpus": 0.5},
    )
    start(config)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield {
            "base_url": base_url,
            "port": port,
            "client": openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0),
            "host": host,
        }
    finally:
        serve.shutdown()
        host.server.shutdown()


def ask(text: str, *images: bytes) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": data_url(image)}} for image in images
    ]
    return [{"role": "user", "content": [*parts, {"type": "text", "text": text}]}]


def greedy(client: openai.OpenAI, messages: list[dict[str, Any]], model: str = "tiny", **options: Any) -> Any:
    return client.chat.completions.create(
        model=model, messages=messages, temperature=0, **{"max_tokens": 12, **options}
    )


def start_tiny_app(
    port: int,
    folder: Path,
    name: str,
    limits: dict[str, Any] | None = None,
    health_check: dict[str, float] | None = None,
    load_engine: Callable[..., Any] | None = None,
) -> str:
    """An app of one tiny LLaVA (built at `folder/tiny`) on Serve's `port`, beside any other there,
    under `/<name>` with its own limits and health-check settings (`health_check_period_s`,
    `health_check_timeout_s`); `load_engine` as `start` takes it. Returns its `/v1` base URL."""
    build_tiny("llava", folder / "tiny")
    start(
        ServeConfig(
            models=[str(folder / "tiny")],
            names=["tiny"],
            port=port,
            app_name=name,
            route_prefix=f"/{name}",
            blocking=False,
            limits=limits or {},
            resources={"num_cpus": 0.25, **(health_check or {})},
        ),
        load_engine=load_engine,
    )
    return f"http://127.0.0.1:{port}/{name}/v1"


def test_chat_with_images_system_prompt_and_history(server: dict[str, Any]) -> None:
    client = server["client"]
    messages = [
        {"role": "system", "content": "You describe scientific figures."},
        {"role": "user", "content": [{"type": "text", "text": "Hello"}]},
        {"role": "assistant", "content": "Hello. Send a figure."},
        *ask("Compare the two panels.", png_bytes(), png_bytes(color=(20, 20, 220))),
    ]
    reply = greedy(client, messages)
    assert reply.object == "chat.completion" and reply.model == "tiny"
    assert (
        reply.choices[0].finish_reason in ("length", "stop") and reply.choices[0].message.role == "assistant"
    )
    assert (
        reply.usage.completion_tokens >= 1
        and reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    )
    one_image = greedy(client, ask("Compare the two panels.", png_bytes()))
    assert reply.usage.prompt_tokens > one_image.usage.prompt_tokens + 16  # the second image's tokens count


def test_streaming_matches_the_whole_answer_and_ends_with_usage(server: dict[str, Any]) -> None:
    client = server["client"]
    messages = ask("What is shown?", png_bytes())
    whole = greedy(client, messages, max_tokens=20)
    stream = greedy(client, messages, max_tokens=20, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == whole.choices[
        0
    ].finish_reason
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_n_choices_seeds_stops_and_logprobs(server: dict[str, Any]) -> None:
    client = server["client"]
    messages = ask("Describe it.", png_bytes())
    sampled = client.chat.completions.create(
        model="tiny", messages=messages, n=3, seed=7, temperature=1.0, max_tokens=10
    )
    again = client.chat.completions.create(
        model="tiny", messages=messages, n=3, seed=7, temperature=1.0, max_tokens=10
    )
    assert [choice.index for choice in sampled.choices] == [0, 1, 2]
    assert [c.message.content for c in sampled.choices] == [c.message.content for c in again.choices]
    assert len({c.message.content for c in sampled.choices}) > 1  # each choice has its own seed
    text = greedy(client, messages, max_tokens=24).choices[0].message.content
    stop = text[5:8]
    stopped = greedy(client, messages, max_tokens=24, stop=[stop, "never-there"])
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].message.content == text[: text.index(stop)]
    scored = greedy(client, messages, max_tokens=6, logprobs=True, top_logprobs=3)
    entries = scored.choices[0].logprobs.content
    assert len(entries) == scored.usage.completion_tokens
    assert all(len(entry.top_logprobs) == 3 and entry.logprob <= 0 for entry in entries)
    # greedy: the chosen token is the most likely one
    assert all(abs(entry.logprob - entry.top_logprobs[0].logprob) < 1e-5 for entry in entries)


def test_errors_come_back_in_openai_shape(server: dict[str, Any]) -> None:
    client, base_url = server["client"], server["base_url"]
    messages = ask("What is shown?", png_bytes())
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=base_url, api_key="wrong", max_retries=0).chat.completions.create(
            model="tiny", messages=messages
        )
    with pytest.raises(openai.NotFoundError, match="model 'missing' does not exist"):
        client.chat.completions.create(model="missing", messages=messages)
    with pytest.raises(openai.APIStatusError) as too_big:
        client.chat.completions.create(model="tiny", messages=ask("?", png_bytes(size=(600, 600))))
    assert too_big.value.status_code == 413
    with pytest.raises(openai.APIStatusError) as bomb:
        client.chat.completions.create(model="tiny", messages=ask("?", bomb_png()))
    assert bomb.value.status_code == 413
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model="tiny", messages=[{"role": "wizard", "content": "hi"}])  # type: ignore[list-item]
    with pytest.raises(openai.BadRequestError, match="cap of 256"):
        client.chat.completions.create(model="tiny", messages=messages, max_tokens=100_000)
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=b"{not json",
        headers={"authorization": f"Bearer {API_KEY}"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(request)
    body = json.loads(raw.value.read())
    assert (
        raw.value.code == 400
        and body["error"]["type"] == "invalid_request_error"
        and "request id" in body["error"]["message"]
    )


def test_image_urls_only_from_the_allow_list(server: dict[str, Any]) -> None:
    client, host = server["client"], server["host"]
    before = len(host.paths)
    for url in (
        f"{host.url}/private/secret.png",
        "http://169.254.169.254/latest/meta-data",
        "file:///etc/passwd",
    ):
        content = [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "?"}]
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": content}])
    assert len(host.paths) == before  # refused without any request going out
    content = [
        {"type": "image_url", "image_url": {"url": f"{host.url}/figures/fig1.png"}},
        {"type": "text", "text": "?"},
    ]
    reply = greedy(client, [{"role": "user", "content": content}], max_tokens=3)
    assert reply.choices[0].message.content is not None and host.paths[before:] == ["/figures/fig1.png"]


def engine_stats(base_url: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base_url}/engine/stats", headers={"authorization": f"Bearer {API_KEY}"}
    )
    with urllib.request.urlopen(request) as response:
        loaded: dict[str, Any] = json.loads(response.read())
    return loaded.get("tiny", {"batches": 0, "rows": 0})  # loads on its first request


def test_32_concurrent_requests_are_batched_and_answer_as_alone(server: dict[str, Any]) -> None:
    client, base_url = server["client"], server["base_url"]
    prompts = [
        ask(f"What does figure {number} show?", png_bytes(color=(8 * number, 40, 90))) for number in range(32)
    ]
    alone = [greedy(client, messages, max_tokens=16).choices[0].message.content for messages in prompts]
    before = engine_stats(base_url)
    with ThreadPoolExecutor(32) as pool:
        together = list(
            pool.map(
                lambda messages: greedy(client, messages, max_tokens=16).choices[0].message.content, prompts
            )
        )
    after = engine_stats(base_url)
    assert together == alone
    batches, rows = after["batches"] - before["batches"], after["rows"] - before["rows"]
    # one request at a time would be 32 batches; on a loaded 2-core machine the 32 threads' requests
    # arrive spread over the first batch's run (5 batches of 32 seen), so the bar is 4 rows a batch
    assert rows == 32 and rows / batches >= 4, (batches, rows)


def test_the_first_token_streams_before_half_the_generation(server: dict[str, Any]) -> None:
    client = server["client"]
    started = time.monotonic()
    first_token_at = None
    finish = None
    for chunk in greedy(client, ask("Tell me everything.", png_bytes()), max_tokens=200, stream=True):
        if chunk.choices and chunk.choices[0].delta.content and first_token_at is None:
            first_token_at = time.monotonic() - started
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    total = time.monotonic() - started
    assert first_token_at is not None and finish == "length"
    assert first_token_at < total / 2, (first_token_at, total)


def test_merged_and_moe_models_are_served_by_name(server: dict[str, Any]) -> None:
    client = server["client"]
    names = {model.id for model in client.models.list()}
    assert names == {"tiny", "stacked", "moe"}
    messages = ask("What is shown?", png_bytes())
    answers = {name: greedy(client, messages, model=name, max_tokens=8) for name in ("stacked", "moe")}
    assert all(
        answer.model == name and answer.usage.completion_tokens >= 1 for name, answer in answers.items()
    )


def test_refine_uses_the_served_model_as_its_teacher(server: dict[str, Any], tmp_path: Path) -> None:
    storage = Storage()
    pairs = [
        make_pair(f"Figure {number}. Stress-strain curves of silk.", doc=f"doc{number}", seed=number)
        for number in range(3)
    ]
    make_extract_root(storage, str(tmp_path / "extract"), pairs)
    before = engine_stats(server["base_url"])["rows"]
    config = refine_pairs.RefineConfig.model_validate(
        {
            "input": str(tmp_path / "extract"),
            "output": str(tmp_path / "refined"),
            "teacher": "openai",
            "teacher_url": server["base_url"],
            "model": "tiny",
            "api_key_env": API_KEY_ENV,
            "vision": True,
            "val_fraction": 0,
            "sampling": {"max_tokens": 64},
            "resources": {"actors": 1, "num_cpus": 0.25},
        }
    )
    manifest = refine_pairs.run(config)
    counts = manifest["counts"]
    assert manifest["status"] == "complete"
    assert counts["pairs_ok"] + counts["pairs_failed"] == 3  # every pair accounted for
    assert engine_stats(server["base_url"])["rows"] >= before + 3  # each pair asked the served model


def test_over_the_concurrency_limit_the_answer_is_429_with_retry_after(
    server: dict[str, Any], tmp_path: Path
) -> None:
    base_url = start_tiny_app(server["port"], tmp_path, "tight", {"max_concurrent_requests": 1})
    client = openai.OpenAI(base_url=base_url, api_key="none", max_retries=0)
    greedy(client, ask("warm up", png_bytes()), max_tokens=2)

    def one(_: int) -> Any:
        try:
            return greedy(client, ask("Tell me everything.", png_bytes()), max_tokens=150)
        except openai.RateLimitError as error:
            return error

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(one, range(4)))
    refused = [outcome for outcome in outcomes if isinstance(outcome, openai.RateLimitError)]
    assert refused and len(refused) < 4
    assert refused[0].response.headers["retry-after"] == "1"
    assert refused[0].body["type"] == "rate_limit_error"  # type: ignore[index]


def test_speech_is_transcribed_and_joins_the_prompt(server: dict[str, Any]) -> None:
    client = server["client"]
    tone = wav_bytes(1.5)
    transcript = client.audio.transcriptions.create(model="whisper-1", file=("tone.wav", tone))
    assert isinstance(transcript.text, str) and transcript.text  # the tiny Whisper never starts with its end
    audio_part = {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(tone).decode(), "format": "wav"},
    }
    image_part = {"type": "image_url", "image_url": {"url": data_url(png_bytes())}}
    spoken = greedy(
        client, [{"role": "user", "content": [image_part, audio_part, {"type": "text", "text": " Answer:"}]}]
    )
    written = [
        {
            "role": "user",
            "content": [
                image_part,
                {"type": "text", "text": transcript.text},
                {"type": "text", "text": " Answer:"},
            ],
        }
    ]
    typed = greedy(client, written)
    assert spoken.usage.prompt_tokens == typed.usage.prompt_tokens
    assert spoken.choices[0].message.content == typed.choices[0].message.content
    with pytest.raises(openai.APIStatusError) as too_long:
        client.audio.transcriptions.create(model="whisper-1", file=("long.wav", wav_bytes(6.0, rate=8000)))
    assert too_long.value.status_code == 413
    with pytest.raises(openai.BadRequestError, match="could not be decoded"):
        client.audio.transcriptions.create(model="whisper-1", file=("noise.mp3", b"ID3 not a wav"))
    # what a browser's MediaRecorder sends (Opus in WebM), as an upload and as an input_audio part
    recorded = encoded("libopus", "webm", seconds=1.5)
    heard = client.audio.transcriptions.create(model="whisper-1", file=("speech.webm", recorded))
    assert isinstance(heard.text, str) and heard.text
    webm_part = {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(recorded).decode(), "format": "webm"},
    }
    assert greedy(client, [{"role": "user", "content": [image_part, webm_part]}]).choices[0].finish_reason


def image_url_request(url: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "?"}],
        }
    ]


def test_image_urls_cannot_climb_out_of_the_allow_list_or_follow_redirects(server: dict[str, Any]) -> None:
    client, host = server["client"], server["host"]
    before = len(host.paths)
    for url in (
        f"{host.url}/figures/../private/secret.png",
        f"{host.url}/figures/%2e%2e/private/secret.png",
        f"{host.url}/figures/%2E%2E/%2e%2e/private/secret.png",
        f"{host.url}/figures-private/secret.png",  # shares the prefix's letters, not its folder
    ):
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(model="tiny", messages=image_url_request(url))
        assert refused.value.code == "url_not_allowed", url
    assert len(host.paths) == before  # nothing was fetched
    for url in (f"{host.url}/figures/moved", f"{host.url}/figures/missing"):
        with pytest.raises(openai.BadRequestError) as failed:  # never a 500: no oracle about the host
            client.chat.completions.create(model="tiny", messages=image_url_request(url))
        assert failed.value.code == "image_fetch_failed"
    assert not [path for path in host.paths if path.startswith("/private")]  # the redirect was not followed


def test_parameters_the_server_does_not_implement_are_refused_by_name(server: dict[str, Any]) -> None:
    client = server["client"]
    messages = ask("What is shown?", png_bytes())
    refused = {
        "response_format": {"response_format": {"type": "regex"}},  # json_object and json_schema are served
        "tools": {
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
        },
        "frequency_penalty": {"frequency_penalty": 0.5},
        "logit_bias": {"logit_bias": {"42": 10}},
    }
    for name, options in refused.items():
        with pytest.raises(openai.BadRequestError) as error:
            client.chat.completions.create(model="tiny", messages=messages, **options)
        assert error.value.body["param"] == name, name  # type: ignore[index]
    with pytest.raises(openai.BadRequestError, match="seed"):
        client.chat.completions.create(model="tiny", messages=messages, seed=2**80)
    with pytest.raises(openai.NotFoundError) as unknown:
        client.completions.create(model="tiny", prompt="hi")
    assert unknown.value.body["type"] == "invalid_request_error"  # type: ignore[index]


def test_thin_images_too_many_images_and_too_long_prompts_are_refused(server: dict[str, Any]) -> None:
    client = server["client"]
    with pytest.raises(openai.BadRequestError, match="sides further apart"):
        client.chat.completions.create(model="tiny", messages=ask("?", png_bytes(size=(1, 2000))))
    with pytest.raises(openai.BadRequestError, match="at most 8 images"):
        client.chat.completions.create(model="tiny", messages=ask("?", *[png_bytes()] * 9))
    with pytest.raises(openai.BadRequestError) as too_long:
        client.chat.completions.create(
            model="tiny", messages=ask("silk " * 20_000, png_bytes()), max_tokens=8
        )
    assert too_long.value.code == "context_length_exceeded"
    assert "maximum context length" in too_long.value.message
    assert greedy(client, ask("Still there?", png_bytes()), max_tokens=2).choices[0].finish_reason


def test_abandoned_requests_give_their_slots_back(server: dict[str, Any], tmp_path: Path) -> None:
    """Clients that time out while their image decodes cancel the handler: the slots come back."""
    limits = {"max_concurrent_requests": 4, "max_image_pixels": 40_000_000}
    base_url = start_tiny_app(server["port"], tmp_path, "abandoned", limits)
    patient = openai.OpenAI(base_url=base_url, api_key="none", max_retries=0)
    greedy(patient, ask("warm up", png_bytes()), max_tokens=2)
    big = png_bytes(size=(2000, 2000))
    hasty = openai.OpenAI(base_url=base_url, api_key="none", max_retries=0, timeout=0.05)

    def abandon(number: int) -> None:
        streamed = number % 2 == 0
        try:
            reply = hasty.chat.completions.create(
                model="tiny",
                messages=ask(f"Describe {number}.", big),
                max_tokens=64,
                temperature=0,
                stream=streamed,
            )
            if streamed:  # the headers came in time: leave after the first chunk
                next(iter(reply))  # type: ignore[call-overload]
                reply.close()  # type: ignore[union-attr]
        except openai.APIError:
            pass

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(abandon, range(50)))
    health_url = base_url.removesuffix("/v1") + "/health"
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(health_url) as response:
            health = json.loads(response.read())
        if health["in_flight"] == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert health["in_flight"] == 0 and health["status"] == "ok", health
    answers = [greedy(patient, ask("Are you free?", png_bytes()), max_tokens=2) for _ in range(6)]
    assert all(answer.choices[0].finish_reason for answer in answers)  # no 429: every slot came back


def test_a_poison_row_beside_six_good_ones_fails_alone(server: dict[str, Any]) -> None:
    """Seven requests at once; one passes validation (0 <= temperature <= 2) but its temperature
    of 1e-300 turns its logits into infinities, so sampling refuses it inside the running batch.
    Only that request fails, with an error of its own; the six are answered as when alone."""
    client, base_url = server["client"], server["base_url"]
    prompts = [
        ask(f"What is in panel {letter}?", png_bytes(color=(30 * number, 60, 90)))
        for number, letter in enumerate("abcdef")
    ]
    alone = [greedy(client, messages, max_tokens=12).choices[0].message.content for messages in prompts]
    before = engine_stats(base_url)

    def one(number: int) -> Any:
        try:
            if number == 3:
                return client.chat.completions.create(
                    model="tiny",
                    messages=ask("And this one?", png_bytes()),
                    max_tokens=12,
                    temperature=1e-300,
                )
            return greedy(client, prompts[number - (number > 3)], max_tokens=12).choices[0].message.content
        except openai.APIStatusError as error:
            return error

    with ThreadPoolExecutor(7) as pool:
        outcomes = list(pool.map(one, range(7)))
    after = engine_stats(base_url)
    poison = outcomes.pop(3)
    assert outcomes == alone
    assert isinstance(poison, openai.InternalServerError), poison
    assert poison.body["type"] == "server_error" and "generation failed" in poison.body["message"]  # type: ignore[index]
    assert "request id" in poison.body["message"]  # type: ignore[index]
    rows, batches = after["rows"] - before["rows"], after["batches"] - before["batches"]
    assert rows == 7 and batches < 7, (rows, batches)  # some were prefilled together


def test_a_replica_whose_only_slot_is_held_too_long_is_unhealthy_for_ray_serve(
    server: dict[str, Any], tmp_path: Path
) -> None:
    """`GET /health` answers 503 and the deployment's `check_health` (what Ray Serve calls to
    decide to replace a replica) raises while every slot has been held past `stall_seconds`."""
    from ray import serve

    base_url = start_tiny_app(
        server["port"], tmp_path, "stalling", {"max_concurrent_requests": 1, "stall_seconds": 0.5}
    )
    health_url = base_url.removesuffix("/v1") + "/health"
    client = openai.OpenAI(base_url=base_url, api_key="none", max_retries=0)
    try:
        greedy(client, ask("warm up", png_bytes()), max_tokens=2)
        assert health_of(health_url)[0] == 200
        stream = greedy(client, ask("Tell me everything.", png_bytes()), max_tokens=2000, stream=True)
        next(iter(stream))  # it is generating, in the only slot
        time.sleep(1.0)
        status, body = health_of(health_url)
        assert status == 503 and "all 1 request slots are held" in body["problem"], body
        with pytest.raises(Exception, match="all 1 request slots are held"):
            serve.get_app_handle("stalling").check_health.remote().result()
        stream.close()  # the client leaves: its slot comes back and the replica is well again
        deadline = time.monotonic() + 60
        while health_of(health_url)[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert health_of(health_url) == (200, {**body, "status": "ok", "problem": None, "in_flight": 0})
    finally:
        serve.delete("stalling")


def health_of(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())
