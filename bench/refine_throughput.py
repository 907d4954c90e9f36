"""Refinement throughput and politeness against a loopback teacher (no network, no LLM).

    python -m bench.refine_throughput

1. Latency-bound throughput: a teacher that answers after 1 s, 64 requests in flight; rows/s is the
   marginal rate between a small and a large run (Ray start-up cancels out), both after an untimed
   warm-up run (so the first run's worker start and imports do not flatter it). Target >= 0.7 x 64.
2. Rate cap: a teacher that answers at once, a cap of R requests/min; the achieved rate over the
   requests the teacher saw, as a ratio to R. Target within +-5%.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers.roots import make_extract_root, make_pair  # noqa: E402
from tests.helpers.servers import FakeOpenAIServer, ScriptedReply, chat_completion  # noqa: E402

ANSWER = json.dumps(
    {
        "qa": [
            {
                "kind": "what",
                "query": "What is shown here?",
                "answer": "The fibres stretch while their crystals carry the load.",
            }
        ]
    }
)


def refine(scratch: Path, server: FakeOpenAIServer, pairs: int, name: str, **overrides: Any) -> float:
    from cephalo_ray.jobs import refine_pairs
    from cephalo_ray.storage import Storage

    extract_root = scratch / f"extract-{name}"
    items = [
        make_pair(f"Figure {index}. Silk fibres under load.", doc=f"{name}-{index}", seed=index)
        for index in range(pairs)
    ]
    make_extract_root(Storage(), str(extract_root), items)
    values = {
        "input": str(extract_root),
        "output": str(scratch / f"refined-{name}"),
        "teacher_url": server.base_url,
        "model": "bench-teacher",
        "json_schema": "off",
        "val_fraction": 0,
        "dedup_max_distance": None,  # throughput only: every generated pair is sent
        "limits": {"timeout_s": 30, "max_retries": 0},
        "resources": {"actors": 1, "concurrency": 64, "batch_size": 256, "num_cpus": 0.5},
        **overrides,
    }
    started = time.perf_counter()
    manifest = refine_pairs.run(refine_pairs.RefineConfig.model_validate(values))
    assert manifest["counts"]["pairs_ok"] == pairs, manifest["counts"]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-s", type=float, default=1.0)
    parser.add_argument("--requests-per-minute", type=float, default=1200.0)
    arguments = parser.parse_args()

    from cephalo_ray.ray_session import connect_ray

    connect_ray()
    load_before = os.getloadavg()
    server = FakeOpenAIServer()
    try:
        with tempfile.TemporaryDirectory() as folder:
            scratch = Path(folder)
            server.default = lambda _: ScriptedReply(
                body=chat_completion(ANSWER), delay_s=arguments.latency_s
            )
            small, large = 128, 768
            refine(scratch, server, 64, "warm-up")
            small_seconds = refine(scratch, server, small, "small")
            large_seconds = refine(scratch, server, large, "large")
            marginal = (large - small) / (large_seconds - small_seconds)

            server.default = lambda _: ScriptedReply(body=chat_completion(ANSWER))
            server.reset()
            cap = arguments.requests_per_minute
            refine(
                scratch,
                server,
                300,
                "capped",
                limits={"requests_per_minute": cap, "timeout_s": 30, "max_retries": 0},
            )
            times = sorted(request["at"] for request in server.requests)
            achieved = (len(times) - 1) / (times[-1] - times[0]) * 60
    finally:
        server.stop()
    load_after = os.getloadavg()
    print(
        f"load average (1, 5, 15 min) {' '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{' '.join(f'{x:.2f}' for x in load_after)} after, on {os.cpu_count()} CPUs"
    )
    print(
        f"latency {arguments.latency_s:g} s, concurrency 64: {small} pairs in {small_seconds:.1f} s, {large} in {large_seconds:.1f} s"
    )
    print(f"marginal rate {marginal:.1f} rows/s; ratio to 64 rows/s: {marginal / 64:.2f} (target >= 0.70)")
    print(
        f"end to end {large / large_seconds:.1f} rows/s for {large} pairs (the latency alone allows "
        f"{64 / arguments.latency_s:.0f}; start-up, commits and compaction included)"
    )
    print(
        f"rate cap {cap:g} requests/min: achieved {achieved:.1f}; ratio {achieved / cap:.3f} (target 0.95-1.05)"
    )


if __name__ == "__main__":
    main()
