"""A capacity model for a large archive, from measured figures only.

    python -m bench.scale --papers 100 300 1000 --json scale.json      # requests, files, driver memory
    python -m bench.capacity --scale scale.json --real /path/to/pdfs --papers 10000000

Real papers (`--real`, a folder of PDFs) give what generated ones cannot: pages per paper, output
bytes per page at the shipped 150 dpi, pairs per page, parse seconds per page on one core, and the
teacher's prompt tokens per pair (a refine dry run: nothing is sent). The scale bench gives S3
requests per paper by verb, objects per paper after compaction, the driver's memory growth and the
rerun's cost, as marginal rates between its two largest sizes. Every line of the table names the
figure it extrapolates from.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# S3 Standard, us-east-1, list prices per 1,000 requests and per GB-month (2026)
USD_PER_1K_WRITES = 0.005  # PUT, COPY, POST, LIST
USD_PER_1K_READS = 0.0004  # GET, HEAD and the rest
USD_PER_GB_MONTH = 0.023
WRITE_VERBS = ("PUT", "POST", "LIST", "DELETE")  # DELETE is free; counted here as a write anyway


def measure_real(folder: str, scratch: Path) -> dict[str, float]:
    """Extract the real corpus on a local Ray (shipped settings) and dry-run refinement over it."""
    from cephalo_ray.jobs import extract_figures, refine_pairs

    output = scratch / "extract"
    config = extract_figures.ExtractConfig.model_validate(
        {"input": folder, "output": str(output), "resources": {"num_cpus": 1, "actors": 1}}
    )
    started = time.perf_counter()
    manifest = extract_figures.run(config)
    seconds = time.perf_counter() - started
    counts = manifest["counts"]
    data_bytes = sum(path.stat().st_size for path in output.rglob("*.parquet"))
    dry = refine_pairs.run(
        refine_pairs.RefineConfig.model_validate(
            {
                "input": str(output),
                "output": str(scratch / "refine"),
                "teacher": "openai",
                "teacher_url": "http://127.0.0.1:9/v1",  # a dry run sends nothing
                "model": "teacher",
                "vision": True,
                "dry_run": True,
            }
        )
    )
    return {
        "papers": counts["documents_ok"],
        "pages": counts["pages"],
        "pairs": counts["pairs"],
        "bytes": data_bytes,
        "seconds_one_core": seconds,  # includes Ray start-up: an upper bound
        "requests": dry["requests"],
        "prompt_tokens": dry["estimated_prompt_tokens"],
        "completion_tokens": dry["estimated_completion_tokens"],
    }


def marginal(results: dict[str, Any], stage: str, field: str, run: str = "first") -> float:
    """Per-paper increase of `field` between the scale bench's two largest sizes."""
    sizes = sorted(int(size) for size in results["results"][stage])
    small, large = sizes[-2], sizes[-1]
    rows = results["results"][stage]

    def value(size: int) -> float:
        row = rows[str(size)][run] if str(size) in rows else rows[size][run]
        return float(row[field]) if field in row else 0.0

    return (value(large) - value(small)) / (large - small)


def requests_per_paper(results: dict[str, Any], stage: str, run: str = "first") -> dict[str, float]:
    sizes = sorted(int(size) for size in results["results"][stage])
    rows = results["results"][stage]
    small, large = rows[str(sizes[-2])][run], rows[str(sizes[-1])][run]
    verbs = set(small["requests"]) | set(large["requests"])
    return {
        verb: (large["requests"].get(verb, 0) - small["requests"].get(verb, 0)) / (sizes[-1] - sizes[-2])
        for verb in sorted(verbs)
    }


def model(
    real: dict[str, float], scale: dict[str, Any], papers: float, rpm: float, tpm: float
) -> list[tuple[str, str, str]]:
    """(quantity, value for `papers`, what it extrapolates from)."""
    pages_per_paper = real["pages"] / real["papers"]
    pages = papers * pages_per_paper
    core_seconds_per_page = real["seconds_one_core"] / real["pages"]
    pairs = pages * real["pairs"] / real["pages"]
    output_bytes = pages * real["bytes"] / real["pages"]
    rows: list[tuple[str, str, str]] = [
        ("pages", f"{pages / 1e6:,.0f} M", f"{pages_per_paper:.1f} pages per real paper"),
        (
            "extract core-hours",
            f"{pages * core_seconds_per_page / 3600:,.0f}",
            f"{1 / core_seconds_per_page:.1f} pages/s per core on the real papers (start-up included)",
        ),
        (
            "figure/table pairs",
            f"{pairs / 1e6:,.1f} M",
            f"{real['pairs'] / real['pages']:.3f} pairs per page",
        ),
        (
            "extract output",
            f"{output_bytes / 1e12:,.2f} TB",
            f"{real['bytes'] / real['pages'] / 1e3:,.0f} kB per page at 150 dpi",
        ),
    ]
    total_requests = 0.0
    total_usd = 0.0
    for stage in scale["results"]:
        per_paper = requests_per_paper(scale, stage)
        writes = sum(count for verb, count in per_paper.items() if verb in WRITE_VERBS)
        reads = sum(count for verb, count in per_paper.items() if verb not in WRITE_VERBS)
        usd = papers * (writes * USD_PER_1K_WRITES + reads * USD_PER_1K_READS) / 1000
        total_requests += papers * (writes + reads)
        total_usd += usd
        verbs = ", ".join(f"{verb} {count:.2f}" for verb, count in per_paper.items())
        rows.append(
            (
                f"S3 requests, {stage}",
                f"{papers * (writes + reads) / 1e6:,.1f} M (${usd:,.0f})",
                f"per paper: {verbs}",
            )
        )
        objects = marginal(scale, stage, "objects")
        rows.append(
            (
                f"files written, {stage}",
                f"{papers * objects:,.0f}",
                f"{objects:.4f} objects per paper after compaction",
            )
        )
        rss = marginal(scale, stage, "driver_peak_rss_mb")
        rows.append(
            (
                f"driver memory, {stage}",
                f"+{papers * rss / 1024:,.1f} GB over its base",
                f"{rss * 1024:,.1f} kB per paper of driver peak RSS",
            )
        )
        rerun = requests_per_paper(scale, stage, "rerun")
        rows.append(
            (
                f"no-op rerun, {stage}",
                f"{papers * sum(rerun.values()) / 1e6:,.2f} M requests",
                f"{sum(rerun.values()):.4f} requests per paper on a rerun",
            )
        )
    storage_usd = output_bytes / 1e9 * USD_PER_GB_MONTH
    rows.append(
        ("S3, all stages", f"{total_requests / 1e6:,.0f} M requests, ${total_usd:,.0f}", "sum of the above")
    )
    rows.append(
        ("storage of the extract output", f"${storage_usd:,.0f} per month", f"${USD_PER_GB_MONTH}/GB-month")
    )
    prompt_per_pair = real["prompt_tokens"] / max(real["requests"], 1)
    completion_per_pair = real["completion_tokens"] / max(real["requests"], 1)
    requests = pairs * real["requests"] / max(real["pairs"], 1)
    tokens = requests * (prompt_per_pair + completion_per_pair)
    minutes = max(requests / rpm, tokens / tpm)
    rows.append(
        (
            "teacher tokens",
            f"{requests / 1e6:,.1f} M requests, {tokens / 1e9:,.1f} G tokens",
            f"{prompt_per_pair:,.0f} prompt + {completion_per_pair:,.0f} completion tokens per request (dry run, image included)",
        )
    )
    rows.append(
        (
            "teacher wall time",
            f"{minutes / 60 / 24:,.1f} days",
            f"at {rpm:,.0f} requests/min and {tpm:,.0f} tokens/min, whichever binds",
        )
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", required=True, help="JSON written by bench.scale --json")
    parser.add_argument("--real", required=True, help="a folder of real PDFs")
    parser.add_argument("--papers", type=float, default=10e6)
    parser.add_argument("--rpm", type=float, default=10_000, help="the teacher's request rate limit")
    parser.add_argument("--tpm", type=float, default=10_000_000, help="the teacher's token rate limit")
    parser.add_argument("--json", help="write the measured inputs and the table here")
    args = parser.parse_args(argv)
    scale = json.loads(Path(args.scale).read_text())
    real = measure_real(args.real, Path(tempfile.mkdtemp(prefix="cephalo-capacity-")))
    rows = model(real, scale, args.papers, args.rpm, args.tpm)
    print(f"\n| {args.papers / 1e6:,.0f} M papers | value | extrapolated from |\n|---|---|---|")
    for quantity, value, source in rows:
        print(f"| {quantity} | {value} | {source} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"real": real, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
