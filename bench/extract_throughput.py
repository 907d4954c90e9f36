"""Extraction throughput: the pure parser, the same parser behind the sandbox, and the whole job.

    python -m bench.extract_throughput                 # 24 generated papers
    python -m bench.extract_throughput --papers 100 --corpus ../shared/corpus/real

Prints pages/s for each and the ratios sandbox/direct (the price of crash isolation) and
job/direct (what Ray's actors buy on this machine, start-up included).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def pdf_paths(papers: int, corpus: str | None, folder: Path) -> list[Path]:
    from cephalo_ray.samples import sample_paper

    if corpus:
        return sorted(Path(corpus).glob("**/*.pdf"))
    for seed in range(papers):
        (folder / f"paper-{seed:03d}.pdf").write_bytes(sample_paper(seed, figures=1 + seed % 4).pdf)
    return sorted(folder.glob("*.pdf"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=24, help="generated papers (ignored with --corpus)")
    parser.add_argument("--corpus", help="a folder of real PDFs instead of generated ones")
    parser.add_argument("--dpi", type=int, default=150)
    arguments = parser.parse_args()

    from cephalo_ray.extract.document import extract_document
    from cephalo_ray.extract.sandbox import SandboxedFunction
    from jobs import extract_figures

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch, "in")
        folder.mkdir()
        paths = pdf_paths(arguments.papers, arguments.corpus, folder)
        blobs = [path.read_bytes() for path in paths]

        started = time.perf_counter()
        pages = sum(
            extract_document(blob, str(path), dpi=arguments.dpi)["pages"]
            for blob, path in zip(blobs, paths, strict=True)
        )
        direct = pages / (time.perf_counter() - started)

        sandbox = SandboxedFunction(extract_document, timeout_s=600, memory_mb=4096)
        sandbox(blobs[0], "warm-up", dpi=arguments.dpi)  # the child's start is paid once per actor
        started = time.perf_counter()
        for blob, path in zip(blobs, paths, strict=True):
            sandbox(blob, str(path), dpi=arguments.dpi)
        sandboxed = pages / (time.perf_counter() - started)
        sandbox.close()

        config = extract_figures.ExtractConfig.model_validate(
            {
                "input": str(Path(arguments.corpus) if arguments.corpus else folder),
                "output": str(Path(scratch, "out")),
                "dpi": arguments.dpi,
                "resources": {"num_cpus": 1, "docs_per_file": 8},
            }
        )
        started = time.perf_counter()
        manifest = extract_figures.run(config)
        job = manifest["counts"]["pages"] / (time.perf_counter() - started)

    print(
        f"documents {len(paths)}, pages {pages}, pairs {manifest['counts']['pairs']}, cpus {os.cpu_count()}"
    )
    print(f"direct    {direct:8.1f} pages/s (one process, no isolation)")
    print(f"sandboxed {sandboxed:8.1f} pages/s  ratio sandbox/direct {sandboxed / direct:.2f}")
    print(f"job       {job:8.1f} pages/s  ratio job/direct {job / direct:.2f} (Ray start-up included)")


if __name__ == "__main__":
    main()
