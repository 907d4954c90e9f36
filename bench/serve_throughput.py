"""Serving throughput and latency through the real app (Ray Serve + the `openai` client), with
continuous batching, with static batches (`engine.continuous_batching=false`) and one request at a
time (`engine.max_batch_size=1`):

- requests/s and tokens/s at 32 concurrent clients; the ratio to one at a time is the speed-up of
  batching at saturation;
- time to first token of a short request sent while a long one decodes, as a ratio to the same
  request's alone: with static batches it waits for the long answer to end, with continuous
  batching it joins at the next decoding step (goal: at most 2x).

    python -m bench.serve_throughput --concurrency 32 --requests 96 --max-tokens 32 [--repeats 3]

Every run sends the same greedy requests to a tiny LLaVA on this machine's CPU. On a machine shared
with other work, `--repeats` measures each setting several times, interleaved, and reports medians.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
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


def streamed(
    client: Any, model: str, number: int, max_tokens: int, on_first: Any = lambda: None
) -> dict[str, float]:
    """One streamed greedy request: seconds to its first text, to its end, and its tokens."""
    started = time.perf_counter()
    first = None
    tokens = 0
    stream = client.chat.completions.create(
        model=model,
        messages=request_messages(number),
        temperature=0,
        max_tokens=max_tokens,
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
            on_first()
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
    return {
        "first_token_s": first if first is not None else float("nan"),
        "seconds": time.perf_counter() - started,
        "tokens": tokens,
    }


def short_behind_long(base_url: str, model: str, arguments: argparse.Namespace) -> dict[str, float]:
    """A short request sent `--behind-s` after a long one started streaming, against it alone."""
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="none", max_retries=0, timeout=600)
    alone = statistics.median(
        streamed(client, model, 2, arguments.short_tokens)["first_token_s"] for _ in range(5)
    )
    long_started = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        long = pool.submit(streamed, client, model, 1, arguments.long_tokens, long_started.set)
        long_started.wait(600)
        time.sleep(arguments.behind_s)
        short = streamed(client, model, 2, arguments.short_tokens)
        long_answer = long.result()
    return {
        "alone_first_token_s": alone,
        "behind_first_token_s": short["first_token_s"],
        "behind_seconds": short["seconds"],
        "first_token_ratio": short["first_token_s"] / alone,
        "long_tokens": long_answer["tokens"],
        "long_seconds": long_answer["seconds"],
    }


def medians(rows: list[dict[str, float]]) -> dict[str, float]:
    """Each measurement's median over repeated runs."""
    return {key: statistics.median(row[key] for row in rows) for key in rows[0]}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=96)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--long-tokens", type=int, default=1024, help="the long request's max_tokens")
    parser.add_argument("--short-tokens", type=int, default=4, help="the short request's max_tokens")
    parser.add_argument("--behind-s", type=float, default=0.5, help="the short request's delay")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="measure every setting this many times, interleaved, and report medians (a shared machine)",
    )
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
    measured: dict[str, list[dict[str, float]]] = {}
    waited: dict[str, list[dict[str, float]]] = {}
    runs = (
        ("continuous", arguments.concurrency, True),
        ("static", arguments.concurrency, False),
        ("one at a time", 1, True),
    )
    try:
        for number, (_, batch, continuous) in enumerate(runs):
            start(
                ServeConfig(
                    models=[str(folder / "tiny")],
                    names=["tiny"],
                    port=port,
                    app_name=f"bench-{number}",
                    route_prefix=f"/b{number}",
                    blocking=False,
                    engine={"max_batch_size": batch, "batch_wait_ms": 20, "continuous_batching": continuous},
                    limits={"max_concurrent_requests": arguments.concurrency * 2},
                    resources={"num_cpus": 0.5},  # all three at once; their work shares the machine anyway
                )
            )
        # interleaved, so that a busy spell of a shared machine does not fall on one setting only
        for _ in range(arguments.repeats):
            for number, (label, batch, _) in enumerate(runs):
                base_url = f"http://127.0.0.1:{port}/b{number}/v1"
                measured.setdefault(label, []).append(measure(base_url, "tiny", arguments))
                if batch > 1:
                    waited.setdefault(label, []).append(short_behind_long(base_url, "tiny", arguments))
    finally:
        serve.shutdown()
        ray.shutdown()
    results = {label: medians(rows) for label, rows in measured.items()}
    latency = {label: medians(rows) for label, rows in waited.items()}
    if arguments.repeats > 1:
        print(f"medians of {arguments.repeats} interleaved runs; requests/s of each run:")
        for label, rows in measured.items():
            speeds = ", ".join(f"{row['requests_per_s']:.2f}" for row in rows)
            print(f"{label:>14}: {speeds}")
    print(
        f"{arguments.requests} requests, {arguments.concurrency} concurrent, {arguments.max_tokens} tokens each, tiny LLaVA on CPU"
    )
    for label, row in results.items():
        print(
            f"{label:>14}: {row['requests_per_s']:7.2f} requests/s {row['tokens_per_s']:9.1f} tokens/s ({row['seconds']:.1f} s)"
        )
    ratio = results["continuous"]["tokens_per_s"] / results["one at a time"]["tokens_per_s"]
    print(f"batching speed-up: {ratio:.2f}x (goal >= 4x)")
    versus_static = results["continuous"]["requests_per_s"] / results["static"]["requests_per_s"]
    print(f"continuous over static batches: {versus_static:.2f}x requests/s")
    print(
        f"a {arguments.short_tokens}-token request sent {arguments.behind_s:g} s into a "
        f"{arguments.long_tokens}-token one, first token:"
    )
    for label, row in latency.items():
        print(
            f"{label:>14}: {row['behind_first_token_s']:7.3f} s against {row['alone_first_token_s']:.3f} s alone"
            f" = {row['first_token_ratio']:.2f}x (goal <= 2x); the long one: {row['long_tokens']:.0f} tokens"
            f" in {row['long_seconds']:.1f} s"
        )
    print(
        json.dumps(
            {
                "results": results,
                "speedup": ratio,
                "continuous_over_static": versus_static,
                "latency": latency,
                "runs": measured,
                "latency_runs": waited,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
