"""The loopback OpenAI-protocol server that later stages test against, driven by the real client."""

from __future__ import annotations

import openai
import pytest

from tests.helpers.servers import FakeOpenAIServer, ScriptedReply, chat_completion


def test_scripted_replies_reach_the_official_client(openai_server: FakeOpenAIServer) -> None:
    openai_server.reset()
    openai_server.push(ScriptedReply(body=chat_completion('{"qa": []}', model="teacher")))
    client = openai.OpenAI(base_url=openai_server.base_url, api_key="test-key", max_retries=0)
    response = client.chat.completions.create(model="teacher", messages=[{"role": "user", "content": "hi"}])
    assert response.choices[0].message.content == '{"qa": []}' and response.usage is not None
    request = openai_server.requests[-1]
    assert request["path"] == "/v1/chat/completions" and request["body"]["messages"][0]["content"] == "hi"
    headers = {key.lower(): value for key, value in request["headers"].items()}
    assert headers["authorization"] == "Bearer test-key"


def test_rate_limit_with_retry_after_is_retried_by_the_client(openai_server: FakeOpenAIServer) -> None:
    openai_server.reset()
    limited = {"error": {"message": "slow down", "type": "rate_limit_error"}}
    openai_server.push(
        ScriptedReply(429, limited, {"Retry-After": "0"}), ScriptedReply(body=chat_completion("done"))
    )
    client = openai.OpenAI(base_url=openai_server.base_url, api_key="k", max_retries=2)
    response = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert response.choices[0].message.content == "done" and len(openai_server.requests) == 2
    openai_server.push(ScriptedReply(400, {"error": {"message": "bad", "type": "invalid_request_error"}}))
    with pytest.raises(openai.BadRequestError, match="bad"):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
