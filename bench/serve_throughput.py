"""Serving throughput: requests/s and tokens/s at 32 concurrent clients, with dynamic batching
against one request at a time, through the real app (Ray Serve + the `openai` client).

    python -m bench.serve_throughput --concurrency 32 --requests 96 --max-tokens 32

Both runs send the same greedy requests to a tiny LLaVA; the unbatched run is the same app with
`engine.max_batch_size=1`. The ratio is the speed-up of batching at saturation.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request_messages(number: int) -> list[dict[str, Any]]:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (number * 7 % 255, 90, 160)).save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "text", "text": f"Figure {number}?"},
            ],
        }
    ]


def measure(base_url: str, model: str, arguments: argparse.Namespace) -> dict[str, float]:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="none", max_retries=0, timeout=600)

    def one(number: int) -> int:
        reply = client.chat.completions.create(
            model=model,
            messages=request_messages(number),
            temperature=0,
            max_tokens=arguments.max_tokens,  # type: ignore[arg-type]
        )
        return int(reply.usage.completion_tokens) if reply.usage else 0

    one(0)  # loads the model
    started = time.perf_counter()
    with ThreadPoolExecutor(arguments.concurrency) as pool:
        tokens = sum(pool.map(one, range(arguments.requests)))
    seconds = time.perf_counter() - started
    return {
        "requests_per_s": arguments.requests / seconds,
        "tokens_per_s": tokens / seconds,
        "seconds": seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=96)
    parser.add_argument("--max-tokens", type=int, default=32)
    arguments = parser.parse_args()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import ray
    from ray import serve

    from cephalo_ray.jobs.serve import ServeConfig, start
    from cephalo_ray.models.tiny import build_tiny

    folder = Path(tempfile.mkdtemp(prefix="cephalo-bench-"))
    build_tiny("llava", folder / "tiny")
    ray.init(
        address="local",
        include_dashboard=False,
        logging_level="ERROR",
        _temp_dir=tempfile.mkdtemp(prefix="crb-", dir="/tmp"),
    )
    port = free_port()
    results = {}
    try:
        for label, batch in (("batched", arguments.concurrency), ("one at a time", 1)):
            config = ServeConfig(
                models=[str(folder / "tiny")],
                names=["tiny"],
                port=port,
                app_name=f"bench-{batch}",
                route_prefix=f"/b{batch}",
                blocking=False,
                engine={"max_batch_size": batch, "batch_wait_ms": 20},
                limits={"max_concurrent_requests": arguments.concurrency * 2},
            )
            start(config)
            results[label] = measure(f"http://127.0.0.1:{port}/b{batch}/v1", "tiny", arguments)
            serve.delete(f"bench-{batch}")
    finally:
        serve.shutdown()
        ray.shutdown()
    print(
        f"{arguments.requests} requests, {arguments.concurrency} concurrent, {arguments.max_tokens} tokens each, tiny LLaVA on CPU"
    )
    for label, row in results.items():
        print(
            f"{label:>14}: {row['requests_per_s']:7.2f} requests/s {row['tokens_per_s']:9.1f} tokens/s ({row['seconds']:.1f} s)"
        )
    ratio = results["batched"]["tokens_per_s"] / results["one at a time"]["tokens_per_s"]
    print(f"batching speed-up: {ratio:.2f}x (goal >= 4x)")
    print(json.dumps({"results": results, "speedup": ratio}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
