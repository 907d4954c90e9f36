"""Serve models behind an OpenAI-compatible API with Ray Serve.

Locally (loopback, no key needed):
    cephalo serve ./runs/r1/model --name cephalo-4b --port 8000
    cephalo serve ./a/model ./b/model ./moe/model --name a --name b --name moe
Ray's own idiom:
    serve run cephalo_ray.serve.app:build_app model=./runs/r1/model name=cephalo-4b
On a cluster: the RayService manifest in manifests/ (its serveConfigV2 names `build_app`), or
    ray job submit --working-dir . -- python -m cephalo_ray.jobs.serve --config configs/serve/cluster.yaml

Clients use the `openai` package: base_url http://HOST:PORT/v1, the model by its --name. Binding to
anything but loopback requires an API key: `--api-key-env VAR` names the environment variable that
holds it (clients send `Authorization: Bearer KEY`). Models: folders, hub names, `s3://` folders, or
LoRA adapter folders (merged into their base on load).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from cephalo_ray.arguments import run_job_main
from cephalo_ray.serve.config import ServeConfig, application, settings_of


def start(config: ServeConfig, load_engine: Callable[..., Any] | None = None) -> Any:
    """Start (or reuse) Ray Serve on `host:port`, deploy the app and return its handle.

    Args:
        load_engine: the importable function replicas load a model's engine with (default `Engine.load`).
    """
    from ray import serve

    app = application(config, load_engine)
    serve.start(http_options={"host": config.host, "port": config.port})
    return serve.run(app, name=config.app_name, route_prefix=config.route_prefix, blocking=False)


def run(config: ServeConfig) -> dict[str, Any]:
    import time

    import ray

    from cephalo_ray.ray_session import connect_ray

    settings_of(config)  # a missing key stops here, before Ray starts
    started_here = connect_ray()
    try:
        start(config)
        base = f"http://{config.host}:{config.port}{config.route_prefix.rstrip('/')}/v1"
        names = ", ".join(config.served_names())
        print(f"serving {names} at {base} (OpenAI API; GET {base}/models)", file=sys.stderr)
        if config.chat_page:
            page = f"http://{config.host}:{config.port}{config.route_prefix.rstrip('/')}/"
            print(f"chat page: {page}", file=sys.stderr)
        while config.blocking:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        if started_here and config.blocking:
            ray.shutdown()
    return {"models": config.served_names(), "host": config.host, "port": config.port}


def main(argv: Sequence[str] | None = None, prog: str = "python -m cephalo_ray.jobs.serve") -> int:
    """`cephalo serve MODEL... [--name N]... [--port P] [--config F] [key=value]`."""
    return run_job_main(ServeConfig, run, argv, prog, __doc__, positional=("models",))


if __name__ == "__main__":
    sys.exit(main())
