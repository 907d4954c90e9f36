"""`response_format` read into the JSON schema that constrains the answer, or refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from cephalo_ray.serve.handler import checked_schema
from cephalo_ray.serve.protocol import ApiError, ChatRequest


def request(response_format: dict[str, Any] | None) -> ChatRequest:
    return ChatRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "response_format": response_format}
    )


def test_formats_become_schemas() -> None:
    schema = {"type": "object", "properties": {"b": {"type": "integer"}, "a": {"type": "string"}}}
    assert request(None).json_schema() is None and request({"type": "text"}).json_schema() is None
    assert request({"type": "json_object"}).json_schema() == {"type": "object"}
    named = {"type": "json_schema", "json_schema": {"name": "facts", "schema": schema, "strict": True}}
    assert request(named).json_schema() == schema
    assert checked_schema(request(named)) == (
        '{"type":"object","properties":{"b":{"type":"integer"},"a":{"type":"string"}}}'
    )
    unschemed = {"type": "json_schema", "json_schema": {"name": "anything"}}
    assert request(unschemed).json_schema() == {"type": "object"}
    assert checked_schema(request({"type": "text"})) is None


@pytest.mark.parametrize(
    ("response_format", "message"),
    [
        ({"type": "regex"}, "not supported"),
        ({"type": "json_schema"}, "needs `json_schema`"),
        ({"type": "json_schema", "json_schema": {"schema": {}}}, "name is required"),
        ({"type": "json_schema", "json_schema": {"name": "has space", "schema": {}}}, "name is required"),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": [1]}}, "must be a JSON object"),
        ({"type": "json_schema", "json_schema": {"name": "x", "strict": "yes"}}, "strict"),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "frobnicate"}}},
            "frobnicate",
        ),
    ],
)
def test_malformed_formats_and_schemas_are_400s_naming_response_format(
    response_format: dict[str, Any], message: str
) -> None:
    with pytest.raises(ApiError, match=message) as refused:
        checked_schema(request(response_format))
    assert refused.value.status == 400 and refused.value.param == "response_format"
