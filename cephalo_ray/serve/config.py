"""`cephalo serve` settings, and the Ray Serve application they build.

The job (`cephalo_ray.jobs.serve`), `serve run cephalo_ray.serve.app:build_app ...` and KubeRay's
RayService all build the application from here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from cephalo_ray.config import StorageConfig, StrictModel

if TYPE_CHECKING:
    from cephalo_ray.models.engine import Engine

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ServeLimits(StrictModel):
    max_request_mb: float = Field(25.0, gt=0, description="largest request body (413 above)")
    max_image_mb: float = Field(20.0, gt=0, description="largest encoded image (413 above)")
    max_image_pixels: int = Field(
        40_000_000,
        ge=1,
        description="most pixels per image as sent; bigger images are refused unread (what the processor "
        "resizes them to is capped by its own config and counted as image tokens by max_prompt_tokens)",
    )
    max_tokens_cap: int = Field(
        2048, ge=1, description="largest max_tokens a request may ask for (400 above)"
    )
    default_max_tokens: int = Field(256, ge=1, description="max_tokens when a request gives none")
    max_concurrent_requests: int = Field(64, ge=1, description="requests in progress per replica (429 above)")
    max_prompt_tokens: int | None = Field(
        None,
        ge=1,
        description="longest prompt in tokens, images included as the processor makes them after its resize, "
        "so this also bounds the pixels a request brings into a batch (400 above; the model's context always applies)",
    )
    stall_seconds: float = Field(
        600.0,
        gt=0,
        description="a replica whose requests wait this long with no token generated is unhealthy",
    )
    max_images_per_request: int = Field(8, ge=0, description="most images in one request (400 above)")
    max_image_aspect_ratio: float = Field(
        20.0,
        ge=1,
        description="longest side over shortest side of an image (400 above: thin images cost the processor dearly)",
    )
    max_audio_mb: float = Field(25.0, gt=0, description="largest audio file or input_audio part (413 above)")
    max_audio_seconds: float = Field(600.0, gt=0, description="longest audio (413 above)")
    allowed_image_urls: list[str] = Field(
        default_factory=list,
        description="URL prefixes (s3://bucket/, https://host/path/) images may be fetched from",
    )


class EngineConfig(StrictModel):
    max_batch_size: int = Field(32, ge=1, description="requests generated together")
    batch_wait_ms: float = Field(20.0, ge=0, description="how long a batch waits for more requests")
    max_waiting: int = Field(256, ge=1, description="queued requests per model before 503")
    continuous_batching: bool = Field(
        True,
        description="a request joins the running batch at the next decoding step (false: static batches)",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="weights dtype")


class AutoscalingConfig(StrictModel):
    min_replicas: int = Field(1, ge=0, description="fewest replicas")
    max_replicas: int = Field(4, ge=1, description="most replicas")
    target_ongoing_requests: float = Field(
        16.0, gt=0, description="requests per replica the autoscaler aims at"
    )


class ServeResources(StrictModel):
    replicas: int = Field(1, ge=1, description="replicas (without autoscaling)")
    num_cpus: float = Field(1.0, gt=0, description="CPUs per replica")
    num_gpus: float = Field(0.0, ge=0, description="GPUs per replica")
    max_models_per_replica: int = Field(3, ge=1, description="models a replica keeps loaded (LRU)")
    autoscaling: AutoscalingConfig | None = Field(
        None, description="autoscale replicas instead of a fixed count"
    )
    health_check_period_s: float = Field(
        10.0,
        gt=0,
        description="how often Ray Serve checks each replica's health (one that fails it is replaced)",
    )
    health_check_timeout_s: float = Field(
        30.0, gt=0, description="a health check not answered within this fails"
    )


class ModelOptions(StrictModel):
    """Settings of one served model, under `model_options.<its name>`."""

    trust_remote_code: bool = Field(
        False,
        description="run the checkpoint's own Python code (Phi-3-vision, any config.json with auto_map); "
        "without it such a model is refused",
    )


class ServeConfig(StrictModel):
    """`cephalo serve` settings.

    `model_options.NAME.trust_remote_code: true` lets the model served as NAME run its checkpoint's
    own code (Phi-3-vision, any `auto_map`); a local one without it is refused before Ray starts.
    """

    models: list[str] = Field(
        description="model folders, hub names or s3:// folders", json_schema_extra={"flag": "model"}
    )
    names: list[str] = Field(
        default_factory=list,
        description="the API name of each model (default: folder name)",
        json_schema_extra={"flag": "name"},
    )
    host: str = Field("127.0.0.1", description="address the HTTP proxy binds to")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port")
    api_key_env: str | None = Field(None, description="environment variable holding the API key")
    audio_model: str | None = Field(
        None,
        description="Whisper model (folder, hub name, s3://) for input_audio and /v1/audio/transcriptions",
    )
    app_name: str = Field("cephalo", description="Ray Serve application name")
    route_prefix: str = Field("/", description="HTTP route prefix of the app")
    chat_page: bool = Field(True, description="serve the chat page at / (false: the API only)")
    blocking: bool = Field(True, description="keep serving until interrupted")
    model_options: dict[str, ModelOptions] = Field(
        default_factory=dict,
        description="per served name: model_options.NAME.trust_remote_code=true runs that checkpoint's own code",
    )
    limits: ServeLimits = ServeLimits()
    engine: EngineConfig = EngineConfig()
    resources: ServeResources = ServeResources()
    storage: StorageConfig = StorageConfig()

    @model_validator(mode="after")
    def consistent(self) -> ServeConfig:
        if not self.models:
            raise ValueError("models is empty: give at least one model folder, hub name or s3:// folder")
        if self.names and len(self.names) != len(self.models):
            raise ValueError(
                f"names has {len(self.names)} entries for {len(self.models)} models; give one --name per model"
            )
        if len(set(self.served_names())) != len(self.models):
            raise ValueError(
                f"model names must be unique, got {self.served_names()}; set --name for each model"
            )
        unknown = sorted(set(self.model_options) - set(self.served_names()))
        if unknown:
            raise ValueError(
                f"model_options names {unknown}, which are not served; the served names are {self.served_names()}"
            )
        if self.host not in LOOPBACK and not self.api_key_env:
            raise ValueError(
                f"host {self.host} is reachable from other machines: set api_key_env to the environment variable "
                "holding an API key (e.g. --api-key-env CEPHALO_API_KEY)"
            )
        return self

    def trusts_remote_code(self, name: str) -> bool:
        """Whether the model served as `name` may run its checkpoint's own code."""
        options = self.model_options.get(name)
        return options is not None and options.trust_remote_code

    def served_names(self) -> list[str]:
        return self.names or [
            Path(model.rstrip("/")).name
            if Path(model.rstrip("/")).name != "model"
            else Path(model.rstrip("/")).parent.name
            for model in self.models
        ]


@dataclass(frozen=True)
class ServeSettings:
    """What every replica is built from: the validated config, and what was resolved from it once in
    the job (model locations, the key's digest, the speech model's path)."""

    config: ServeConfig
    served_models: Mapping[str, str]
    api_key_sha256: str | None  # only the digest travels; the key itself stays in the environment
    audio_model: str | None
    # the importable function replicas load a model's engine with (default `Engine.load`)
    load_engine: Callable[..., Engine] | None = None


@dataclass(frozen=True)
class TrustingLoader:
    """A replica's engine loader that lets the models at `trusted` locations run their checkpoint's own
    code (`trust_remote_code`), and loads every other model as `load_engine` does."""

    trusted: frozenset[str]
    load_engine: Callable[..., Engine] | None = None

    def __call__(self, name_or_path: str, *args: Any, **kwargs: Any) -> Engine:
        from cephalo_ray.models.engine import Engine

        load = self.load_engine or Engine.load
        if name_or_path in self.trusted:
            kwargs["trust_remote_code"] = True
        return load(name_or_path, *args, **kwargs)


def refuse_remote_code_early(config: ServeConfig) -> None:
    """Stop before Ray starts when a local model runs code of its own and its options do not allow it
    (models on s3:// or the hub are refused by the replica that loads them).

    Raises:
        ConfigError: naming the model, its code files and the key that allows it.
    """
    import json

    from cephalo_ray.config import ConfigError
    from cephalo_ray.models.loader import remote_code_refusal

    for name, model in zip(config.served_names(), config.models, strict=True):
        config_file = Path(model, "config.json")
        if not config_file.is_file():
            continue
        refusal = remote_code_refusal(
            json.loads(config_file.read_text()), model, config.trusts_remote_code(name)
        )
        if refusal:
            raise ConfigError(
                f"model_options.{name}.trust_remote_code: {refusal} "
                f"(model_options.{name}.trust_remote_code=true, or under model_options in the YAML)"
            )


def settings_of(config: ServeConfig, load_engine: Callable[..., Engine] | None = None) -> ServeSettings:
    """The settings the deployment is built from (`load_engine`: see `ServeSettings`).

    Raises:
        ConfigError: when the API key's environment variable is empty, or a local model runs code of
            its own that its options do not allow.
    """
    from cephalo_ray.config import ConfigError
    from cephalo_ray.models.loader import model_location

    refuse_remote_code_early(config)
    if config.api_key_env and not os.environ.get(config.api_key_env):
        raise ConfigError(
            f"api_key_env: the environment variable {config.api_key_env} is empty or unset; export the key first"
        )
    key = os.environ.get(config.api_key_env) if config.api_key_env else None
    audio_model = config.audio_model
    if audio_model and os.path.isdir(audio_model):
        audio_model = os.path.abspath(audio_model)
    served_models = {
        name: model_location(model) for name, model in zip(config.served_names(), config.models, strict=True)
    }
    trusted = frozenset(
        location for name, location in served_models.items() if config.trusts_remote_code(name)
    )
    return ServeSettings(
        config=config,
        served_models=served_models,
        api_key_sha256=hashlib.sha256(key.encode()).hexdigest() if key else None,
        audio_model=audio_model,
        load_engine=TrustingLoader(trusted, load_engine) if trusted else load_engine,
    )


def application(config: ServeConfig, load_engine: Callable[..., Engine] | None = None) -> Any:
    """The Ray Serve application of `config` (`load_engine`: see `ServeSettings`)."""
    from cephalo_ray.serve.app import make_deployment

    settings = settings_of(config, load_engine)
    return make_deployment(settings).bind(settings)


def application_from_args(args: dict[str, Any]) -> Any:
    """`serve run ...:build_app model=A,B name=a,b config=F.yaml key.path=value` -> the application."""
    return application(config_from_args(args))


def config_from_args(args: dict[str, Any]) -> ServeConfig:
    """The serve config of Ray's `args` (strings, as in a serveConfigV2 or on `serve run`)."""
    from cephalo_ray.config import load_config

    args = dict(args)
    yaml_path = args.pop("config", None)
    flags: dict[str, Any] = {}
    if "model" in args:
        flags["models"] = [item for item in str(args.pop("model")).split(",") if item]
    if "name" in args:
        flags["names"] = [item for item in str(args.pop("name")).split(",") if item]
    overrides = [f"{key}={value}" for key, value in args.items()]
    return load_config(ServeConfig, yaml_path, flags, overrides)
