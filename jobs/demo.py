"""The whole factory, as far as it exists, on a generated sample corpus and a local Ray.

    make demo                      # or: cephalo demo
    cephalo demo demo_out papers=20

Stages so far: generate a sample corpus (papers with raster and tiled figures, a text-only paper,
and one of each broken input) -> extract figure/caption pairs. Rerunning resumes; nothing is redone.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from cephalo_ray.cli import run_job_main
from cephalo_ray.config import StrictModel


class DemoConfig(StrictModel):
    """`cephalo demo` settings."""

    output: str = Field("demo_out", description="demo root: corpus/ and one folder per stage")
    papers: int = Field(8, ge=2, le=500, description="generated papers in the sample corpus")
    actors: int = Field(2, ge=1, description="extraction actors")


def run(config: DemoConfig) -> dict[str, Any]:
    from cephalo_ray.samples import write_sample_corpus
    from jobs import extract_figures

    root = Path(config.output)
    corpus = root / "corpus"
    if not corpus.exists():
        written = write_sample_corpus(corpus, papers=config.papers)
        print(f"demo: wrote {len(written)} sample inputs to {corpus}", file=sys.stderr)
    extract_config = extract_figures.ExtractConfig(
        input=str(corpus),
        output=str(root / "extract"),
        resources=extract_figures.ResourcesConfig(actors=config.actors, num_cpus=0.5, docs_per_file=4),
    )
    manifest = extract_figures.run(extract_config)
    print(
        f"demo: pairs in {root / 'extract' / 'pairs'}, ledger in {root / 'extract' / 'documents'}, "
        f"errors in {root / 'extract' / 'errors'}, manifest {root / 'extract' / '_manifest.json'}",
        file=sys.stderr,
    )
    return {"extract": manifest}


def main(argv: Sequence[str] | None = None, prog: str = "python -m jobs.demo") -> int:
    return run_job_main(DemoConfig, run, argv, prog, __doc__, positional=("output",))


if __name__ == "__main__":
    sys.exit(main())
