"""The OpenAI API of a replica: request handling, admission, images and audio, generation through the
engine, answers and errors in OpenAI's shape. A plain class; `app.py` puts it behind Ray Serve routes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from cephalo_ray.models.engine import (
    ContextLengthError,
    Engine,
    EngineBusyError,
    EngineOptions,
    Event,
    SamplingParams,
    fold,
)
from cephalo_ray.models.grammar import GrammarError, check_schema
from cephalo_ray.serve.admission import Admission, Slot
from cephalo_ray.serve.audio import FORMATS, AudioLimits, Transcriber, audio_samples, decode_base64_audio
from cephalo_ray.serve.config import ServeLimits, ServeSettings
from cephalo_ray.serve.images import ImageLimits, decode_image, image_bytes
from cephalo_ray.serve.protocol import ApiError, ChatMessage, ChatRequest, chat_completion, chunk, models_list

LOGGER = logging.getLogger("cephalo_ray.serve")


def to_model_messages(
    messages: list[ChatMessage],
    limits: ImageLimits,
    is_vlm: bool,
    transcribe: Callable[[str, str], str] | None = None,
) -> tuple[list[dict[str, Any]], list[Any]]:
    """OpenAI messages -> chat-template messages and the decoded images, in order; `input_audio`
    parts become their transcript (`transcribe(base64_data, format)`), which joins the prompt.

    Raises:
        ApiError: for images sent to a text-only model, bad images or audio, or unsupported parts.
    """
    converted: list[dict[str, Any]] = []
    images: list[Any] = []
    for message in messages:
        role = "system" if message.role == "developer" else message.role
        parts: list[dict[str, Any]] = []
        if isinstance(message.content, str) or message.content is None:
            parts.append({"type": "text", "text": message.content or ""})
        else:
            for part in message.content:
                if part.type == "text":
                    parts.append({"type": "text", "text": part.text or ""})
                elif part.type == "image_url" and part.image_url is not None:
                    if not is_vlm:
                        raise ApiError(
                            400, "this model takes text only; remove the image_url parts", param="messages"
                        )
                    if len(images) >= limits.max_images:
                        raise ApiError(
                            400, f"at most {limits.max_images} images per request", param="messages"
                        )
                    images.append(decode_image(image_bytes(part.image_url.url, limits), limits))
                    parts.append({"type": "image"})
                elif part.type == "input_audio" and part.input_audio is not None:
                    if transcribe is None:
                        raise ApiError(
                            400,
                            "this server has no speech model (serve with audio_model=...)",
                            param="messages",
                        )
                    parts.append(
                        {"type": "text", "text": transcribe(part.input_audio.data, part.input_audio.format)}
                    )
                else:
                    raise ApiError(
                        400, f"content part {part.type!r} is not supported by this server", param="messages"
                    )
        if is_vlm:
            converted.append({"role": role, "content": parts})
        else:
            converted.append({"role": role, "content": "".join(part.get("text", "") for part in parts)})
    return converted, images


def sampling_for(
    request: ChatRequest, limits: ServeLimits, choice: int, json_schema: str | None = None
) -> SamplingParams:
    """One choice's sampling; `json_schema` (checked compact text) constrains its answer."""
    max_tokens = request.max_completion_tokens or request.max_tokens or limits.default_max_tokens
    if max_tokens > limits.max_tokens_cap:
        raise ApiError(
            400,
            f"max_tokens {max_tokens} is above this server's cap of {limits.max_tokens_cap}",
            param="max_tokens",
        )
    return SamplingParams(
        max_tokens=max_tokens,
        temperature=request.temperature,
        top_p=request.top_p,
        stop=tuple(request.stop_strings()),
        seed=None if request.seed is None else request.seed + choice,
        logprobs=request.logprobs,
        top_logprobs=request.top_logprobs or 0,
        json_schema=json_schema,
    )


def checked_schema(request: ChatRequest) -> str | None:
    """The request's JSON schema as compact text, checked by the grammar compiler (None: free text).

    Raises:
        ApiError: (400, param `response_format`) naming what is wrong with the schema.
    """
    schema = request.json_schema()
    if schema is None:
        return None
    try:
        return check_schema(schema)
    except GrammarError as error:
        raise schema_error(error) from None


def schema_error(error: GrammarError) -> ApiError:
    return ApiError(400, str(error), param="response_format", code="invalid_json_schema")


def sse(payload: dict[str, Any] | str) -> str:
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n"


class ServeMetrics:
    """The replica's Prometheus metrics (Ray's export), per model."""

    def __init__(self) -> None:
        from ray.serve import metrics

        self.latency = metrics.Histogram(
            "cephalo_request_seconds",
            description="chat completion latency",
            boundaries=[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
            tag_keys=("model",),
        )
        self.queue_length = metrics.Gauge(
            "cephalo_queue_length", description="requests waiting", tag_keys=("model",)
        )
        self.batch_size = metrics.Histogram(
            "cephalo_batch_size",
            description="rows per generation batch",
            boundaries=[1, 2, 4, 8, 16, 32, 64],
            tag_keys=("model",),
        )
        self.tokens_per_second = metrics.Gauge(
            "cephalo_tokens_per_second",
            description="generated tokens per second of the last batch",
            tag_keys=("model",),
        )
        self.tokens = metrics.Counter(
            "cephalo_generated_tokens", description="generated tokens", tag_keys=("model",)
        )


class OpenAIHandler:
    """The OpenAI API of one replica, as a plain class: routes parse nothing and decide nothing, they
    hand the request here (as vLLM's `OpenAIServingChat`). Every answer, error included, is a response."""

    def __init__(self, settings: ServeSettings, engine_for: Callable[[str], Awaitable[Engine]]) -> None:
        """`engine_for(model_id)` is the replica's multiplexed loader (it calls `load_engine`)."""
        self.settings = settings
        self.limits = settings.config.limits
        self.models: dict[str, str] = dict(settings.served_models)
        # Only the key's digest travels in the settings; the key itself stays in the environment.
        self.api_key_sha256 = settings.api_key_sha256
        self.engine_for = engine_for
        self.image_limits = ImageLimits(
            max_image_bytes=int(self.limits.max_image_mb * 1024**2),
            max_image_pixels=self.limits.max_image_pixels,
            allowed_url_prefixes=tuple(self.limits.allowed_image_urls),
            s3_endpoint_url=settings.config.storage.s3_endpoint_url,
            max_images=self.limits.max_images_per_request,
            max_aspect_ratio=self.limits.max_image_aspect_ratio,
        )
        self.audio_limits = AudioLimits(
            max_audio_bytes=int(self.limits.max_audio_mb * 1024**2),
            max_audio_seconds=self.limits.max_audio_seconds,
        )
        self.transcriber: Transcriber | None = None
        self.admission = Admission(self.limits.max_concurrent_requests)
        self.created = int(time.time())
        self.engines: dict[str, Engine] = {}
        self.metrics = ServeMetrics()

    async def load_engine(self, model_id: str) -> Engine:
        """Load one served model's engine (what the replica's multiplexed loader calls)."""
        engine_config = self.settings.config.engine
        metrics = self.metrics

        def observe(rows: int, tokens: int, seconds: float) -> None:
            metrics.batch_size.observe(rows, tags={"model": model_id})
            if tokens > 0:  # a Ray counter refuses 0 (a step whose rows were all cancelled)
                metrics.tokens.inc(tokens, tags={"model": model_id})
            metrics.tokens_per_second.set(tokens / max(seconds, 1e-9), tags={"model": model_id})

        options = EngineOptions(
            dtype=engine_config.dtype,
            max_batch_size=engine_config.max_batch_size,
            batch_wait_s=engine_config.batch_wait_ms / 1000,
            max_waiting=engine_config.max_waiting,
            continuous_batching=engine_config.continuous_batching,
        )
        load = self.settings.load_engine or Engine.load
        engine = await asyncio.to_thread(
            load, self.models[model_id], options, storage=self._storage(), observer=observe
        )
        self.engines[model_id] = engine
        return engine

    def _storage(self) -> Any:
        from cephalo_ray.storage import Storage

        storage = self.settings.config.storage
        return Storage(storage.s3_endpoint_url, storage.s3_region)

    def _authorize(self, request: Request) -> None:
        if self.api_key_sha256 is None:
            return
        header = request.headers.get("authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        digest = hashlib.sha256(token.encode()).hexdigest()
        if not token or not hmac.compare_digest(digest, self.api_key_sha256):
            raise ApiError(
                401,
                "missing or wrong API key (Authorization: Bearer ...)",
                "authentication_error",
                code="invalid_api_key",
            )

    def _transcriber(self) -> Transcriber:
        if not self.settings.audio_model:
            raise ApiError(400, "this server has no speech model (serve with audio_model=...)")
        if self.transcriber is None:
            self.transcriber = Transcriber(self.settings.audio_model, storage=self._storage())
        return self.transcriber

    def _transcribe_part(self, data: str, audio_format: str) -> str:
        if audio_format.lower() not in FORMATS:
            raise ApiError(
                400,
                f"input_audio format {audio_format!r} is not supported; send one of {', '.join(FORMATS)}",
                param="messages",
            )
        samples = audio_samples(decode_base64_audio(data, self.audio_limits), self.audio_limits)
        return self._transcriber().transcribe(samples)

    async def transcriptions(self, request: Request) -> Any:
        from fastapi.responses import PlainTextResponse

        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        try:
            self._authorize(request)
            declared = request.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.audio_limits.max_audio_bytes + 65536:
                raise ApiError(
                    413, f"audio is larger than {self.audio_limits.max_audio_bytes} bytes", param="file"
                )
            form = await request.form()
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise ApiError(400, "send the audio as the multipart field `file`", param="file")
            data = await upload.read(self.audio_limits.max_audio_bytes + 1)
            samples = await asyncio.to_thread(audio_samples, data, self.audio_limits)
            language = form.get("language")
            transcriber = await asyncio.to_thread(self._transcriber)
            text = await asyncio.to_thread(
                transcriber.transcribe, samples, 128, language if isinstance(language, str) else None
            )
        except ApiError as error:
            return error_response(error, request_id)
        except Exception:
            LOGGER.exception("transcription %s failed", request_id)
            return error_response(ApiError(500, "internal server error", "server_error"), request_id)
        if form.get("response_format") == "text":
            return PlainTextResponse(text, headers={"x-request-id": request_id})
        return JSONResponse({"text": text}, headers={"x-request-id": request_id})

    def check_health(self) -> None:
        """Ray Serve calls this every few seconds; raising replaces the replica."""
        problem = self._problem()
        if problem:
            raise RuntimeError(problem)

    def _problem(self) -> str | None:
        stall_s = self.limits.stall_seconds
        for name, engine in list(self.engines.items()):
            problem = engine.problem(stall_s)
            if problem:
                return f"model {name}: {problem}"
        admission = self.admission
        if admission.in_flight >= admission.limit and time.monotonic() - admission.last_released > stall_s:
            return f"all {admission.limit} request slots are held and none was given back for {stall_s:g} s"
        return None

    async def health(self) -> Any:
        problem = self._problem()
        body = {
            "status": "unhealthy" if problem else "ok",
            "problem": problem,
            "models": sorted(self.models),
            "loaded": sorted(self.engines),
            "in_flight": self.admission.in_flight,
        }
        return JSONResponse(body, status_code=503 if problem else 200)

    async def list_models(self, request: Request) -> Any:
        request_id = uuid.uuid4().hex
        try:
            self._authorize(request)
        except ApiError as error:
            return error_response(error, request_id)
        return models_list(sorted(self.models), self.created)

    async def engine_stats(self, request: Request) -> Any:
        request_id = uuid.uuid4().hex
        try:
            self._authorize(request)
        except ApiError as error:
            return error_response(error, request_id)
        return {
            name: engine.stats.as_dict() | {"waiting": engine.waiting}
            for name, engine in self.engines.items()
        }

    async def chat_completions(self, request: Request) -> Any:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        started = time.monotonic()
        try:
            self._authorize(request)
            chat = await self._parse(request)
            # compiled off the event loop: a large schema can take milliseconds
            json_schema = await asyncio.to_thread(checked_schema, chat)
            if chat.model not in self.models:
                raise ApiError(
                    404,
                    f"model {chat.model!r} does not exist; see GET /v1/models",
                    param="model",
                    code="model_not_found",
                )
            # taken before the next await: requests arriving meanwhile see it taken
            slot = self.admission.take()
        except ApiError as error:
            return error_response(error, request_id)
        try:
            params = [sampling_for(chat, self.limits, choice, json_schema) for choice in range(chat.n)]
            engine = await self.engine_for(chat.model)
            # with this model's tokenizer, before the row joins a batch where it could only fail
            await asyncio.to_thread(engine.check_params, params[0])
            messages, images = await asyncio.to_thread(
                to_model_messages, chat.messages, self.image_limits, engine.is_vlm, self._transcribe_part
            )
            await asyncio.to_thread(
                engine.check_context,
                messages,
                images,
                max(p.max_tokens for p in params),
                self.limits.max_prompt_tokens,
            )
            self.metrics.queue_length.set(engine.waiting, tags={"model": chat.model})
            queues, tickets = self._submit(engine, messages, images, params)
        except BaseException as error:  # a disconnect cancels this handler: the slot goes back too
            slot.release()
            if isinstance(error, ApiError):
                return error_response(error, request_id)
            if isinstance(error, GrammarError):
                return error_response(schema_error(error), request_id)
            if isinstance(error, ContextLengthError):
                too_long = ApiError(400, str(error), param="messages", code="context_length_exceeded")
                return error_response(too_long, request_id)
            if isinstance(error, ValueError):  # the engine refused the request as given
                return error_response(ApiError(400, str(error), param="messages"), request_id)
            if isinstance(error, Exception):
                LOGGER.exception("request %s failed before generation", request_id)
                return error_response(ApiError(500, "internal server error", "server_error"), request_id)
            raise
        completion = f"chatcmpl-{request_id[:24]}"
        if chat.stream:
            events = self._stream(chat, completion, queues, tickets, started, slot)
            slot.bind(events)  # a stream dropped before its first chunk never runs its `finally`
            return StreamingResponse(
                events, media_type="text/event-stream", headers={"x-request-id": request_id}
            )
        with slot:
            try:
                results = await asyncio.gather(*(collect(queue) for queue in queues))
            finally:
                for ticket in tickets:
                    ticket.cancel()
                self.metrics.latency.observe(time.monotonic() - started, tags={"model": chat.model})
        failed = [result for result in results if result["error"]]
        if failed:
            LOGGER.error("request %s: %s", request_id, failed[0]["error"])
            return error_response(ApiError(500, "generation failed", "server_error"), request_id)
        usage = usage_of(results)
        body = chat_completion(completion, chat.model, results, usage)
        return JSONResponse(body, headers={"x-request-id": request_id})

    async def _parse(self, request: Request) -> ChatRequest:
        from pydantic import ValidationError

        limit = int(self.limits.max_request_mb * 1024**2)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise ApiError(413, f"request body is larger than {limit} bytes")
        raw = await request.body()
        if len(raw) > limit:
            raise ApiError(413, f"request body is larger than {limit} bytes")
        try:
            chat = ChatRequest.model_validate(json.loads(raw))
        except json.JSONDecodeError as error:
            raise ApiError(400, f"request body is not JSON: {error.msg}") from None
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise ApiError(400, f"invalid request: `{where}`: {problem['msg']}", param=where) from None
        refused = chat.refused_parameter()
        if refused:
            raise ApiError(
                400,
                f"`{refused}` is not supported by this server",
                param=refused,
                code="unsupported_parameter",
            )
        return chat

    def _submit(
        self,
        engine: Engine,
        messages: list[dict[str, Any]],
        images: list[Any],
        params: list[SamplingParams],
    ) -> tuple[list[asyncio.Queue[Event]], list[Any]]:
        loop = asyncio.get_running_loop()
        queues: list[asyncio.Queue[Event]] = []
        tickets = []
        try:
            for choice in params:
                queue: asyncio.Queue[Event] = asyncio.Queue()

                def sink(event: Event, queue: asyncio.Queue[Event] = queue) -> None:
                    loop.call_soon_threadsafe(queue.put_nowait, event)

                tickets.append(engine.submit(messages, images, choice, sink))
                queues.append(queue)
        except EngineBusyError:
            for ticket in tickets:
                ticket.cancel()
            raise ApiError(
                503, "the model is at capacity; retry shortly", "server_error", retry_after_s=2
            ) from None
        return queues, tickets

    async def _stream(
        self,
        chat: ChatRequest,
        completion: str,
        queues: list[asyncio.Queue[Event]],
        tickets: list[Any],
        started: float,
        slot: Slot,
    ) -> AsyncIterator[str]:
        created = int(time.time())
        merged: asyncio.Queue[tuple[int, Event]] = asyncio.Queue()

        async def forward(index: int, queue: asyncio.Queue[Event]) -> None:
            while True:
                event = await queue.get()
                await merged.put((index, event))
                if event.kind in ("done", "error"):
                    return

        forwarders = [asyncio.create_task(forward(index, queue)) for index, queue in enumerate(queues)]
        prompt_tokens = completion_tokens = 0
        try:
            for index in range(len(queues)):
                yield sse(chunk(completion, chat.model, created, index, {"role": "assistant", "content": ""}))
            remaining = len(queues)
            while remaining:
                index, event = await merged.get()
                if event.kind == "text":
                    yield sse(
                        chunk(
                            completion,
                            chat.model,
                            created,
                            index,
                            {"content": event.text},
                            logprobs=event.logprobs,
                        )
                    )
                elif event.kind == "done":
                    remaining -= 1
                    prompt_tokens = event.prompt_tokens
                    completion_tokens += event.completion_tokens
                    yield sse(
                        chunk(completion, chat.model, created, index, {}, finish_reason=event.finish_reason)
                    )
                else:
                    remaining -= 1
                    LOGGER.error("streamed request %s: %s", completion, event.text)
                    yield sse(
                        {
                            "error": {
                                "message": "generation failed",
                                "type": "server_error",
                                "param": None,
                                "code": None,
                            }
                        }
                    )
            if chat.stream_options and chat.stream_options.include_usage:
                usage = {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                }
                yield sse(chunk(completion, chat.model, created, usage=usage))
            yield sse("[DONE]")
        finally:  # also when the client disconnects: stop generating for it
            for ticket in tickets:
                ticket.cancel()
            for task in forwarders:
                task.cancel()
            slot.release()
            self.metrics.latency.observe(time.monotonic() - started, tags={"model": chat.model})


def error_response(error: ApiError, request_id: str) -> Any:
    from fastapi.responses import JSONResponse

    headers = {"x-request-id": request_id}
    if error.retry_after_s is not None:
        headers["retry-after"] = str(error.retry_after_s)
    LOGGER.info("request %s -> %s %s", request_id, error.status, error.message)
    return JSONResponse(error.body(request_id), status_code=error.status, headers=headers)


async def collect(queue: asyncio.Queue[Event]) -> dict[str, Any]:
    """One choice's events, awaited, folded into its answer as the engine's `fold` does everywhere."""
    events = []
    while True:
        event = await queue.get()
        events.append(event)
        if event.kind in ("done", "error"):
            return fold(events)


def usage_of(results: list[dict[str, Any]]) -> dict[str, int]:
    prompt = results[0]["prompt_tokens"] if results else 0
    completion = sum(result["completion_tokens"] for result in results)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
