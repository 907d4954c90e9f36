"""Extraction throughput: the pure parser, the parser behind the sandbox, and the whole job on Ray.

    python -m bench.extract_throughput                      # generated papers (the demo's kind)
    python -m bench.extract_throughput --real $CEPHALO_REAL_CORPUS   # and per-page times on real PDFs

Prints pages/s per core for each path, PNG crops at the given DPI included. The job's rate is
marginal: (pages_large - pages_small) / (seconds_large - seconds_small) between a small and a large
run, so Ray's start-up and the fixed per-run costs cancel. With --real it prints p50/p95 page times and
the five slowest pages (each page's share of reading, region finding and cropping).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

TARGET_PAGES_PER_SECOND_PER_CORE = 20.0


def generated_corpus(folder: Path, papers: int) -> list[Path]:
    from cephalo_ray.samples import sample_paper

    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(papers):
        (folder / f"paper-{seed:04d}.pdf").write_bytes(sample_paper(seed, figures=1 + seed % 4).pdf)
    return sorted(folder.glob("*.pdf"))


def direct_rate(paths: list[Path], dpi: int) -> tuple[float, int]:
    from cephalo_ray.extract.document import extract_document

    blobs = [path.read_bytes() for path in paths]
    started = time.perf_counter()
    pages = sum(
        extract_document(blob, str(path), dpi=dpi)["pages"] for blob, path in zip(blobs, paths, strict=True)
    )
    return pages / (time.perf_counter() - started), pages


def sandboxed_rate(paths: list[Path], dpi: int) -> float:
    from cephalo_ray.extract.document import extract_document
    from cephalo_ray.extract.sandbox import SandboxedFunction

    blobs = [path.read_bytes() for path in paths]
    sandbox = SandboxedFunction(extract_document, timeout_s=600, memory_mb=4096)
    sandbox(blobs[0], "warm-up", dpi=dpi)  # the child's start is paid once per actor
    started = time.perf_counter()
    pages = sum(sandbox(blob, str(path), dpi=dpi)["pages"] for blob, path in zip(blobs, paths, strict=True))
    sandbox.close()
    return pages / (time.perf_counter() - started)


def job_seconds(folder: Path, output: Path, dpi: int, cpus: float) -> tuple[int, float]:
    from cephalo_ray.jobs import extract_figures

    config = extract_figures.ExtractConfig.model_validate(
        {
            "input": str(folder),
            "output": str(output),
            "dpi": dpi,
            "resources": {"num_cpus": cpus, "actors": 1, "docs_per_file": 16},
        }
    )
    started = time.perf_counter()
    manifest = extract_figures.run(config)
    return int(manifest["counts"]["pages"]), time.perf_counter() - started


def page_times(corpus: Path, dpi: int) -> None:
    from cephalo_ray.extract.document import extract_document

    times: list[tuple[float, str, int]] = []
    for path in sorted(corpus.glob("*.pdf")):
        result = extract_document(path.read_bytes(), str(path), dpi=dpi)
        times.extend((seconds, path.name, page + 1) for page, seconds in enumerate(result["page_seconds"]))
    values = sorted(seconds for seconds, _, _ in times)
    p50 = statistics.median(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    print(
        f"real corpus {corpus}: {len(values)} pages, p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms per page"
    )
    print("five slowest pages:")
    for seconds, name, page in sorted(times, reverse=True)[:5]:
        print(f"  {seconds * 1000:8.1f} ms  {name} page {page}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=12, help="papers in the small job run")
    parser.add_argument("--large", type=int, default=240, help="papers in the large job run")
    parser.add_argument("--dpi", type=int, default=150)
    parser.add_argument("--real", help="a folder of real PDFs for per-page times")
    parser.add_argument("--skip-job", action="store_true", help="measure the parser only, no Ray")
    arguments = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    with tempfile.TemporaryDirectory() as scratch:
        generated_corpus(Path(scratch, "warm"), 4)
        generated_corpus(Path(scratch, "small"), arguments.small)
        large = generated_corpus(Path(scratch, "large"), arguments.large)
        direct, pages = direct_rate(large, arguments.dpi)
        print(
            f"generated corpus: {len(large)} papers, {pages} pages, dpi {arguments.dpi}, cpus {os.cpu_count()}"
        )
        print(f"direct     {direct:8.1f} pages/s on one core (target {TARGET_PAGES_PER_SECOND_PER_CORE:.0f})")
        sandboxed = sandboxed_rate(large, arguments.dpi)
        print(
            f"sandboxed  {sandboxed:8.1f} pages/s on one core   ratio sandbox/direct {sandboxed / direct:.2f}"
        )
        if not arguments.skip_job:
            # one actor on one CPU: the per-core rate of the whole job, reads and writes included;
            # a first run starts Ray so that neither measured run pays for it
            job_seconds(Path(scratch, "warm"), Path(scratch, "out-w"), arguments.dpi, 1)
            small_pages, small_seconds = job_seconds(
                Path(scratch, "small"), Path(scratch, "out-s"), arguments.dpi, 1
            )
            large_pages, large_seconds = job_seconds(
                Path(scratch, "large"), Path(scratch, "out-l"), arguments.dpi, 1
            )
            marginal = (large_pages - small_pages) / max(large_seconds - small_seconds, 1e-9)
            print(
                f"job        {marginal:8.1f} pages/s per core, marginal between {small_pages} pages "
                f"({small_seconds:.1f} s) and {large_pages} pages ({large_seconds:.1f} s); "
                f"ratio to target {marginal / TARGET_PAGES_PER_SECOND_PER_CORE:.2f}"
            )
    if arguments.real:
        page_times(Path(arguments.real), arguments.dpi)


if __name__ == "__main__":
    main()
