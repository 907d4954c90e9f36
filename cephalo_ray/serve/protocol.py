"""The OpenAI chat-completions protocol: requests as strict-enough pydantic models, responses and
errors in OpenAI's JSON shapes. Pure: no model, no HTTP server.
"""

from __future__ import annotations

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
    # Declared so that asking for them is refused by name instead of silently ignored.
    response_format: dict[str, Any] | None = None
    tools: list[Any] | None = None
    tool_choice: Any = None
    functions: list[Any] | None = None
    function_call: Any = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logit_bias: dict[str, Any] | None = None

    def refused_parameter(self) -> str | None:
        """The first parameter asked for that this server does not implement (None: all is served)."""
        if self.response_format and self.response_format.get("type", "text") != "text":
            return "response_format"
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
