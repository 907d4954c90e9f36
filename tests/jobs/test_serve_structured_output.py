"""Structured output through the Ray Serve app, driven by the official `openai` client: json_object
and json_schema answers (whole and streamed) are JSON that follows the schema; bad schemas and
parameters the server does not implement are refused by name; unknown routes answer OpenAI's 404."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest

from cephalo_ray.jobs.serve import ServeConfig, start
from tests.helpers.json_answers import ANSWER_SCHEMA, build_json_leaning_tiny, parsed_answer
from tests.helpers.servers import free_port

MODEL = "tiny-json"
MESSAGES: list[Any] = [{"role": "user", "content": "Describe the figure as JSON."}]
ANSWER_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "figure_answer", "schema": ANSWER_SCHEMA, "strict": True},
}


@pytest.fixture(scope="module")
def server(ray_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from ray import serve

    folder = build_json_leaning_tiny(tmp_path_factory.mktemp("served") / "leaning")
    port = free_port()
    start(
        ServeConfig(
            models=[str(folder)],
            names=[MODEL],
            port=port,
            app_name="test-structured",
            blocking=False,
            chat_page=False,
            engine={"batch_wait_ms": 50},
            resources={"num_cpus": 0.5},
        )
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield {
            "base_url": base_url,
            "client": openai.OpenAI(base_url=base_url, api_key="none", max_retries=0),
        }
    finally:
        serve.shutdown()


def create(client: openai.OpenAI, **options: Any) -> Any:
    return client.chat.completions.create(
        model=MODEL, messages=MESSAGES, **{"max_tokens": 160, "temperature": 0, **options}
    )


def streamed_text(stream: Any) -> tuple[str, str | None]:
    chunks = [chunk for chunk in stream if chunk.choices]
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks), chunks[-1].choices[
        0
    ].finish_reason


def test_json_schema_answers_follow_the_schema_whole_and_streamed(server: dict[str, Any]) -> None:
    client = server["client"]
    whole = create(client, response_format=ANSWER_FORMAT)
    assert whole.choices[0].finish_reason == "stop"
    parsed_answer(whole.choices[0].message.content)
    text, finish_reason = streamed_text(create(client, response_format=ANSWER_FORMAT, stream=True))
    assert (text, finish_reason) == (whole.choices[0].message.content, "stop")
    scored = create(client, response_format=ANSWER_FORMAT, logprobs=True, top_logprobs=5)
    assert scored.choices[0].message.content == whole.choices[0].message.content
    entries = scored.choices[0].logprobs.content
    # the first token has one choice, `{`: every other token is forbidden, at OpenAI's -9999
    assert entries[0].token == "{" and entries[0].logprob == 0.0
    assert [item.logprob for item in entries[0].top_logprobs[1:]] == [-9999.0] * 4
    sampled = create(client, response_format=ANSWER_FORMAT, temperature=1.0, seed=11, n=3)
    values = [parsed_answer(choice.message.content) for choice in sampled.choices]
    assert len({json.dumps(value) for value in values}) > 1  # each choice samples its own answer


def test_json_object_answers_are_json_objects_whole_and_streamed(server: dict[str, Any]) -> None:
    client = server["client"]
    whole = create(client, response_format={"type": "json_object"}, temperature=1.0, seed=5)
    assert isinstance(json.loads(whole.choices[0].message.content), dict)
    stream = create(client, response_format={"type": "json_object"}, temperature=1.0, seed=5, stream=True)
    text, finish_reason = streamed_text(stream)
    assert isinstance(json.loads(text), dict) and finish_reason == "stop"
    assert text == whole.choices[0].message.content  # the same seed samples the same answer


def test_free_text_beside_constrained_requests_answers_as_alone(server: dict[str, Any]) -> None:
    client = server["client"]
    alone = create(client, max_tokens=12).choices[0].message.content
    with ThreadPoolExecutor(4) as pool:
        futures = [
            pool.submit(create, client, max_tokens=12),
            pool.submit(create, client, response_format=ANSWER_FORMAT),
            pool.submit(create, client, response_format={"type": "json_object"}),
        ]
        replies = [future.result() for future in futures]
    assert replies[0].choices[0].message.content == alone
    parsed_answer(replies[1].choices[0].message.content)
    assert not alone.startswith("{")


def test_bad_schemas_are_refused_naming_response_format(server: dict[str, Any]) -> None:
    client = server["client"]
    for response_format, message in (
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "frobnicate"}}},
            "frobnicate",
        ),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"$ref": "#/nowhere"}}}, "nowhere"),
        ({"type": "json_schema", "json_schema": {"schema": ANSWER_SCHEMA}}, "name"),
        ({"type": "json_schema"}, "json_schema"),
        ({"type": "regex"}, "regex"),
    ):
        with pytest.raises(openai.BadRequestError, match=message) as refused:
            create(client, response_format=response_format)
        assert refused.value.body["param"] == "response_format", response_format  # type: ignore[index]
    assert create(client, response_format={"type": "text"}, max_tokens=3).choices[0].message.content


def test_unimplemented_parameters_are_refused_by_name(server: dict[str, Any]) -> None:
    client = server["client"]
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    refused = {
        "tools": {"tools": [tool]},
        "tool_choice": {"tool_choice": "required"},
        "functions": {"functions": [tool["function"]]},
        "presence_penalty": {"presence_penalty": 0.5},
        "frequency_penalty": {"frequency_penalty": -0.5},
        "logit_bias": {"logit_bias": {"42": 10}},
    }
    for name, options in refused.items():
        with pytest.raises(openai.BadRequestError, match=name) as error:
            create(client, **options)
        assert error.value.body["param"] == name and error.value.body["code"] == "unsupported_parameter"  # type: ignore[index]
    # zero penalties and an `auto` tool choice without tools ask for nothing: served
    assert create(client, presence_penalty=0, frequency_penalty=0, tool_choice="none", max_tokens=3).choices


def test_unknown_routes_answer_an_openai_shaped_404(server: dict[str, Any]) -> None:
    with pytest.raises(openai.NotFoundError) as unknown:
        server["client"].completions.create(model=MODEL, prompt="hi")
    assert unknown.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(f"{server['base_url']}/embeddings")
    body = json.loads(raw.value.read())
    assert raw.value.code == 404 and set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert "/v1/embeddings" in body["error"]["message"] and body["error"]["type"] == "invalid_request_error"
