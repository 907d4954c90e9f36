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
from collections.abc import Sequence
from typing import Any

from cephalo_ray.serve.config import ServeConfig, application, settings_of


def start(config: ServeConfig) -> Any:
    """Start (or reuse) Ray Serve on `host:port`, deploy the app and return its handle."""
    from ray import serve

    app = application(config)
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
    import argparse

    from cephalo_ray.cli import EXIT_CONFIG, log_config
    from cephalo_ray.config import ConfigError, is_override, load_config
    from cephalo_ray.errors import JobError

    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "arguments", nargs="*", metavar="MODEL", help="models to serve, then key.path=value overrides"
    )
    parser.add_argument("--config", metavar="F.yaml", help="YAML file of config keys")
    parser.add_argument(
        "--name", action="append", dest="names", help="API name of the next model (repeat per model)"
    )
    parser.add_argument("--host", help="bind address [host; default 127.0.0.1]")
    parser.add_argument("--port", type=int, help="HTTP port [port; default 8000]")
    parser.add_argument("--api-key-env", help="environment variable holding the API key [api_key_env]")
    parser.add_argument(
        "--num-gpus", type=float, dest="num_gpus", help="GPUs per replica [resources.num_gpus]"
    )
    parser.add_argument("--replicas", type=int, help="replicas [resources.replicas]")
    namespace = parser.parse_intermixed_args(list(sys.argv[1:] if argv is None else argv))
    overrides = [item for item in namespace.arguments if is_override(item)]
    flags: dict[str, Any] = {}
    models = [item for item in namespace.arguments if not is_override(item)]
    if models:
        flags["models"] = models
    for key in ("names", "host", "port", "api_key_env"):
        if getattr(namespace, key) is not None:
            flags[key] = getattr(namespace, key)
    for key in ("num_gpus", "replicas"):
        if getattr(namespace, key) is not None:
            overrides.append(f"resources.{key}={getattr(namespace, key)}")
    try:
        config = load_config(ServeConfig, namespace.config, flags, overrides)
        log_config(prog, config)
        run(config)
    except (ConfigError, JobError, FileNotFoundError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


if __name__ == "__main__":
    sys.exit(main())
