"""The Ray Serve app: an OpenAI-compatible API over the factory's models.

    serve run cephalo_ray.serve.app:build_app model=./runs/r1/model name=cephalo-4b
    cephalo serve ./runs/r1/model --name cephalo-4b --port 8000          # the same, with its config

Routes: `POST /v1/chat/completions` (text and image parts, streaming by SSE), `POST
/v1/audio/transcriptions`, `GET /v1/models`, `GET /health`, `GET /v1/engine/stats` (batching
statistics per loaded model), and the chat page at `GET /` (`serve/page.py`; `chat_page: false`
leaves it out). Models load on first use per replica through Ray Serve's model
multiplexing (`model` field -> engine, LRU-evicted beyond `max_models_per_replica`). The routes are
thin: `handler.OpenAIHandler` does the work and answers every error in OpenAI's shape.
"""

# No `from __future__ import annotations`: the deployment class travels by value to the replicas,
# and FastAPI must see real annotation objects there, not names to look up.

from typing import Any

from fastapi import Request  # at module level: FastAPI resolves the route annotations here

from cephalo_ray.models.engine import Engine
from cephalo_ray.serve.config import ServeSettings


def create_fastapi_app(chat_page: bool = True) -> Any:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    app = FastAPI(title="cephalo_ray", docs_url=None, redoc_url=None)
    if chat_page:
        add_chat_page(app)

    @app.exception_handler(HTTPException)
    async def openai_shaped(request: Request, error: HTTPException) -> Any:
        """Unknown routes and methods answer in OpenAI's error shape, like every other error."""
        message = f"{request.method} {request.url.path}: {error.detail}"
        if error.status_code == 404:
            message += "; this server serves /v1/chat/completions, /v1/models, /v1/audio/transcriptions" + (
                " and its chat page at /" if chat_page else ""
            )
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
        return JSONResponse(body, status_code=error.status_code)

    return app


def add_chat_page(app: Any) -> None:
    """`GET /` is the chat page and `GET /page/<name>` its files; they need no API key (the page asks
    for it and sends it to /v1 only)."""
    from fastapi.responses import RedirectResponse, Response
    from starlette.exceptions import HTTPException

    from cephalo_ray.serve.page import SECURITY_HEADERS, page_asset

    @app.get("/", include_in_schema=False)
    async def chat_page(request: Request) -> Any:
        # Under a route prefix (`/lab`), the page's relative links need the trailing slash.
        raw_path = request.scope.get("raw_path") or b"/"
        if not raw_path.endswith(b"/"):
            return RedirectResponse(raw_path.decode("latin-1") + "/", status_code=308)
        return asset_response("index.html")

    @app.get("/page/{name}", include_in_schema=False)
    async def chat_page_file(name: str) -> Any:
        return asset_response(name)

    def asset_response(name: str) -> Any:
        asset = page_asset(name)
        if asset is None:
            raise HTTPException(404, "Not Found")
        return Response(asset.body, media_type=asset.content_type, headers=SECURITY_HEADERS)


def make_deployment(settings: ServeSettings) -> Any:
    """The Ray Serve deployment class for `settings`, with its resources and scaling."""
    from ray import serve

    from cephalo_ray.serve.handler import OpenAIHandler

    fastapi_app = create_fastapi_app(settings.config.chat_page)
    resources = settings.config.resources

    @serve.deployment(name="openai")
    @serve.ingress(fastapi_app)
    class OpenAIServer:
        def __init__(self, settings: ServeSettings) -> None:
            self.handler = OpenAIHandler(settings, self.get_engine)

        @serve.multiplexed(max_num_models_per_replica=resources.max_models_per_replica)
        async def get_engine(self, model_id: str) -> Engine:
            return await self.handler.load_engine(model_id)

        def check_health(self) -> None:
            """Ray Serve calls this every few seconds; raising replaces the replica."""
            self.handler.check_health()

        @fastapi_app.post("/v1/chat/completions")
        async def chat_completions(self, request: Request) -> Any:
            return await self.handler.chat_completions(request)

        @fastapi_app.post("/v1/audio/transcriptions")
        async def transcriptions(self, request: Request) -> Any:
            return await self.handler.transcriptions(request)

        @fastapi_app.get("/v1/models")
        async def list_models(self, request: Request) -> Any:
            return await self.handler.list_models(request)

        @fastapi_app.get("/v1/engine/stats")
        async def engine_stats(self, request: Request) -> Any:
            return await self.handler.engine_stats(request)

        @fastapi_app.get("/health")
        async def health(self) -> Any:
            return await self.handler.health()

    options: dict[str, Any] = {
        "ray_actor_options": {"num_cpus": resources.num_cpus, "num_gpus": resources.num_gpus},
        "max_ongoing_requests": settings.config.limits.max_concurrent_requests + 16,
        # how soon a replica whose `check_health` raises (a stalled or dead engine) is replaced
        "health_check_period_s": resources.health_check_period_s,
        "health_check_timeout_s": resources.health_check_timeout_s,
    }
    if resources.autoscaling is not None:
        options["autoscaling_config"] = resources.autoscaling.model_dump()
    else:
        options["num_replicas"] = resources.replicas
    # The decorators made the class a Deployment, which mypy cannot see.
    return OpenAIServer.options(**options)  # type: ignore[attr-defined]


def build_app(args: dict[str, Any]) -> Any:
    """`serve run cephalo_ray.serve.app:build_app model=PATH[,PATH] name=N[,N] [config=F.yaml] [key=value]`."""
    from cephalo_ray.serve.config import application_from_args

    return application_from_args(args)
