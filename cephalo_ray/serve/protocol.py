"""The OpenAI chat-completions protocol: requests as strict-enough pydantic models, responses and
errors in OpenAI's JSON shapes. Pure: no model, no HTTP server.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ApiError(Exception):
    """An error the client gets in OpenAI's shape, with its HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        error_type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.param = param
        self.code = code
        self.retry_after_s = retry_after_s

    def body(self, request_id: str) -> dict[str, Any]:
        return {
            "error": {
                "message": f"{self.message} (request id {request_id})",
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class ImageUrl(BaseModel):
    url: str
    detail: str | None = None


class InputAudio(BaseModel):
    data: str
    format: str


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["text", "image_url", "input_audio"]
    text: str | None = None
    image_url: ImageUrl | None = None
    input_audio: InputAudio | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[ContentPart] | None = None
    name: str | None = None


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    """`POST /v1/chat/completions`; fields the server does not use are ignored, as OpenAI does."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(1.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=-(2**63), lt=2**63)  # int64, as OpenAI's API
    n: int = Field(1, ge=1, le=16)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    stream: bool = False
    stream_options: StreamOptions | None = None
    response_format: dict[str, Any] | None = None  # read by `json_schema`, so its errors name it
    # Declared so that asking for them is refused by name instead of silently ignored.
    tools: list[Any] | None = None
    tool_choice: Any = None
    functions: list[Any] | None = None
    function_call: Any = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logit_bias: dict[str, Any] | None = None

    def refused_parameter(self) -> str | None:
        """The first parameter asked for that this server does not implement (None: all is served)."""
        for name in ("tools", "functions", "logit_bias"):
            if getattr(self, name):
                return name
        for name in ("tool_choice", "function_call"):
            if getattr(self, name) not in (None, "none", "auto"):
                return name
        for name in ("frequency_penalty", "presence_penalty"):
            if getattr(self, name):
                return name
        return None

    def json_schema(self) -> dict[str, Any] | None:
        """The JSON schema every answer must follow: any JSON object for `json_object`, the given
        schema for `json_schema` (any object when it has none); None for text.

        Raises:
            ApiError: (400, param `response_format`) for a response_format that is not OpenAI's shape.
        """
        if self.response_format is None:
            return None
        kind = self.response_format.get("type")
        if kind == "text":
            return None
        if kind == "json_object":
            return {"type": "object"}
        if kind != "json_schema":
            raise response_format_error(
                f"response_format type {kind!r} is not supported; send text, json_object or json_schema"
            )
        spec = self.response_format.get("json_schema")
        if not isinstance(spec, dict):
            raise response_format_error("response_format json_schema needs `json_schema`: {name, schema}")
        name = spec.get("name")
        if not isinstance(name, str) or not SCHEMA_NAME.fullmatch(name):
            raise response_format_error(
                "response_format json_schema.name is required: 1 to 64 letters, digits, _ or -"
            )
        schema = spec.get("schema", {"type": "object"})
        if not isinstance(schema, dict):
            raise response_format_error("response_format json_schema.schema must be a JSON object")
        if not isinstance(spec.get("strict", False), (bool, type(None))):
            raise response_format_error("response_format json_schema.strict must be true or false")
        return schema  # enforced during decoding whatever `strict` says

    @field_validator("stop")
    @classmethod
    def at_most_four_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    def stop_strings(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else [item for item in self.stop if item]


SCHEMA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def response_format_error(message: str) -> ApiError:
    return ApiError(400, message, param="response_format", code="invalid_response_format")


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def logprobs_content(tokens: list[dict[str, Any]]) -> dict[str, Any]:
    return {"content": tokens, "refusal": None}


def chat_completion(
    request_id: str, model: str, choices: list[dict[str, Any]], usage: dict[str, int]
) -> dict[str, Any]:
    """A `chat.completion` object; each choice has text, finish_reason and optional logprobs."""
    return {
        "id": request_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": number,
                "message": {"role": "assistant", "content": choice["text"], "refusal": None},
                "finish_reason": choice["finish_reason"],
                "logprobs": logprobs_content(choice["logprobs"])
                if choice.get("logprobs") is not None
                else None,
            }
            for number, choice in enumerate(choices)
        ],
        "usage": usage,
    }


def chunk(
    request_id: str,
    model: str,
    created: int,
    index: int | None = None,
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    logprobs: list[dict[str, Any]] | None = None,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A `chat.completion.chunk`: one choice's delta, or (index None) the final usage chunk."""
    choices = []
    if index is not None:
        choices.append(
            {
                "index": index,
                "delta": delta or {},
                "finish_reason": finish_reason,
                "logprobs": logprobs_content(logprobs) if logprobs is not None else None,
            }
        )
    body: dict[str, Any] = {
        "id": request_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        body["usage"] = usage
    return body


def models_list(names: list[str], created: int) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": created, "owned_by": "cephalo_ray"} for name in names
        ],
    }
