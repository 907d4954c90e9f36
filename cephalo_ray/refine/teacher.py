"""Teachers: an LLM behind any OpenAI-compatible endpoint, or the offline `template` teacher.

One call is one request: the `openai` client's own retries are off, because a retry must wait for
its turn under the job's shared requests/min cap like any other request (the refine stage retries,
through the governor, honouring `Retry-After`). A failure becomes an error with a fixed kind. The
API key is read from the environment variable named in config and is never logged or stored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cephalo_ray.errors import JobError
from cephalo_ray.refine.parsing import RefineError
from cephalo_ray.refine.prompts import QA_KINDS, response_schema

TIMEOUT = "Timeout"
RATE_LIMITED = "RateLimited"
SERVER_ERROR = "ServerError"
UNREACHABLE = "Unreachable"
REJECTED = "Rejected"
OVER_BUDGET = "OverBudget"  # the teacher replied, but the judge's request would pass --max-cost-usd
# Errors worth another try on a later run; the others are the teacher's final word on a pair.
TRANSIENT = frozenset({TIMEOUT, RATE_LIMITED, SERVER_ERROR, UNREACHABLE, OVER_BUDGET})


class TeacherUnavailable(JobError):
    """The endpoint refuses every request (bad key, unknown model): stop the job, not the pair."""


@dataclass(frozen=True)
class Reply:
    text: str | None
    finish_reason: str | None
    refusal: str | None
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class TeacherEndpoint:
    """How to reach the teacher: built once by the job, handed to every refine actor.

    Args:
        base_url: the endpoint, e.g. https://api.openai.com/v1 or http://vllm:8000/v1.
        model: the model name the endpoint serves.
        api_key_env: the environment variable holding the key (absent: "EMPTY", as vLLM accepts).
        timeout_s: per request.
        sampling: temperature, top_p, max_tokens, seed (None: the endpoint's default).
        json_schema: "auto" tries a JSON-schema response_format and falls back when refused.
    """

    base_url: str
    model: str
    api_key_env: str
    timeout_s: float
    sampling: Mapping[str, Any] = field(default_factory=dict)
    json_schema: str = "auto"


class OpenAITeacher:
    """Chat completions through the official `openai` client, to the endpoint `TeacherEndpoint` names."""

    def __init__(self, endpoint: TeacherEndpoint) -> None:
        from openai import OpenAI

        self.model = endpoint.model
        self.sampling = {key: value for key, value in endpoint.sampling.items() if value is not None}
        self.use_schema = endpoint.json_schema != "off"
        self.schema_required = endpoint.json_schema == "on"
        api_key = os.environ.get(endpoint.api_key_env) or "EMPTY"
        self.client = OpenAI(
            base_url=endpoint.base_url,
            api_key=api_key,
            timeout=endpoint.timeout_s,
            max_retries=0,  # retries go through the governor's pacing (see the module docstring)
        )

    def ask(
        self,
        messages: list[dict[str, Any]],
        qa_per_pair: int,
        kinds: Sequence[str] = QA_KINDS,
        schema: tuple[str, dict[str, Any]] | None = None,
    ) -> Reply:
        """Send one request; its reply is asked to follow `schema` (name, JSON schema), by default
        the QA schema of `qa_per_pair` items of `kinds`.

        Raises:
            RefineError: for a failure of this request (timeout, rate limit, server error, ...).
            TeacherUnavailable: when the endpoint rejects the credentials or the model.
        """
        import openai

        request: dict[str, Any] = {"model": self.model, "messages": messages, **self.sampling}
        if self.use_schema:
            name, body = schema or ("qa_pairs", response_schema(qa_per_pair, kinds))
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": body, "strict": True},
            }
        try:
            response = self.client.chat.completions.create(**request)
        except openai.BadRequestError as error:
            # `request`, not `self.use_schema`: requests in flight on other threads carried the schema too
            if (
                "response_format" in request
                and not self.schema_required
                and "response_format" in str(error).lower()
            ):
                self.use_schema = False  # this endpoint has no structured output: parse tolerantly
                return self.ask(messages, qa_per_pair, kinds, schema)
            raise RefineError(REJECTED, f"400 from the teacher: {error.message}") from None
        except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as error:
            raise TeacherUnavailable(
                f"the teacher refused the job ({error.status_code}): {error.message}"
            ) from None
        except openai.APITimeoutError:
            raise RefineError(TIMEOUT, "no reply within the per-request timeout (limits.timeout_s)") from None
        except openai.RateLimitError as error:
            raise RefineError(
                RATE_LIMITED, f"429 from the teacher: {error.message}", retry_after(error.response)
            ) from None
        except openai.InternalServerError as error:
            raise RefineError(
                SERVER_ERROR,
                f"{error.status_code} from the teacher: {error.message}",
                retry_after(error.response),
            ) from None
        except openai.APIConnectionError as error:
            raise RefineError(UNREACHABLE, f"cannot reach the teacher: {error}") from None
        except openai.APIStatusError as error:
            raise RefineError(REJECTED, f"{error.status_code} from the teacher: {error.message}") from None
        choice = response.choices[0] if response.choices else None
        usage = response.usage
        return Reply(
            text=choice.message.content if choice else None,
            finish_reason=choice.finish_reason if choice else None,
            refusal=getattr(choice.message, "refusal", None) if choice else None,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )


def retry_after(response: Any) -> float | None:
    """Seconds the endpoint asked to wait (`retry-after-ms` or `retry-after` in seconds), if any."""
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        try:
            return max(0.0, float(value) / scale) if value is not None else None
        except ValueError:
            continue  # an HTTP date: fall back to backoff
    return None
