"""Extract figure/caption pairs from PDFs with Ray Data.

Locally (a local Ray is started for the job):
    cephalo extract ./papers ./out
    python -m cephalo_ray.jobs.extract_figures --config configs/extract/local.yaml input=./papers output=./out

On a cluster (the job joins $RAY_ADDRESS):
    ray job submit --working-dir . -- python -m cephalo_ray.jobs.extract_figures \
        --config configs/extract/cluster.yaml input=s3://lab/papers output=s3://lab/pairs

IN is a folder (searched recursively), a glob, an `s3://` prefix, one PDF, or a list file (.txt/.lst,
one URI per line). OUT gets `pairs/`, `documents/` (one row per input: the restart ledger),
`errors/` and `_manifest.json`. A rerun skips documents already done, by URI + size + mtime, without
downloading them (`--retry-failed` parses the failed ones again); a rerun with a different config is
refused, naming the changed keys. The restart protocol is `cephalo_ray/restart.py`.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field

from cephalo_ray.arguments import run_job_main
from cephalo_ray.config import StorageConfig, StrictModel
from cephalo_ray.extract.document import ParseOptions
from cephalo_ray.extract.layout import DetectorConfig

JOB = "extract"


class ResourcesConfig(StrictModel):
    """How much of the cluster the job takes; never part of the output's identity."""

    actors: int | None = Field(None, ge=1, description="extraction actors (default: cluster CPUs / num_cpus)")
    num_cpus: float = Field(1.0, gt=0, description="CPUs reserved per extraction actor")
    docs_per_file: int = Field(16, ge=1, description="documents per committed batch (the restart unit)")
    target_file_mb: float = Field(
        128.0,
        gt=0,
        description="committed batches smaller than half this are merged into files of about this size",
    )
    local_num_cpus: int | None = Field(None, ge=1, description="CPUs of a local Ray (default: all)")


class LimitsConfig(StrictModel):
    """Caps that turn a hostile PDF into an error row instead of a stuck or dead job."""

    max_bytes: int = Field(
        256 * 2**20, ge=1, description="inputs larger than this are TooLarge (not downloaded)"
    )
    max_pages: int = Field(ParseOptions.max_pages, ge=1, description="documents with more pages are TooLarge")
    max_crop_pixels: int = Field(
        ParseOptions.max_crop_pixels, ge=1, description="larger crops are rendered at a lower DPI"
    )
    timeout_s: float = Field(300.0, gt=0, description="seconds to parse one document before it is a Timeout")
    memory_mb: int | None = Field(4096, ge=256, description="address-space cap of the parser process, MiB")


class ExtractConfig(StrictModel):
    """`cephalo extract` settings. `input`, `dpi` and `min_figure_points` define the output."""

    input: str = Field(description="PDFs: folder, glob, s3:// prefix, one PDF, or list file")
    output: str = Field(description="output root, local folder or s3://bucket/prefix")
    dpi: int = Field(ParseOptions.dpi, ge=18, le=1200, description="crop resolution in dots per inch")
    min_figure_points: float = Field(
        ParseOptions.min_figure_points, ge=0, description="figures smaller than this (PDF points) are icons"
    )
    storage: StorageConfig = StorageConfig()
    resources: ResourcesConfig = ResourcesConfig()
    limits: LimitsConfig = LimitsConfig()
    keep_uncaptioned: bool = Field(
        ParseOptions.keep_uncaptioned,
        description="also keep large raster images no caption claims (label and caption empty)",
    )
    detector: DetectorConfig = DetectorConfig()
    retry_failed: bool = Field(False, description="parse again the documents that failed in earlier runs")


RUNTIME_SECTIONS = ("output", "storage", "resources", "limits", "retry_failed")


def hashed_config(config: ExtractConfig) -> dict[str, Any]:
    """The settings that shape the rows; a rerun into the same root must keep them."""
    return config.model_dump(exclude=set(RUNTIME_SECTIONS))


def run(config: ExtractConfig, parse_function: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Run extraction to completion and return the final manifest.

    Args:
        config: the resolved config.
        parse_function: the importable per-PDF parser (default `extract_document`).
    """
    from cephalo_ray.config import ConfigError
    from cephalo_ray.extract.document import extract_document
    from cephalo_ray.extract.layout import detector_problem
    from cephalo_ray.extract.stage import LAYOUT
    from cephalo_ray.restart import RootRun
    from cephalo_ray.rows import STATUS_FAILED
    from cephalo_ray.storage import Storage

    if config.detector.name != "none":
        problem = detector_problem(config.detector.name, config.detector.backend)
        if problem:
            raise ConfigError(problem)  # before Ray starts: the model could never load
    storage = Storage(config.storage.s3_endpoint_url, config.storage.s3_region)
    root = RootRun(
        storage,
        config.output,
        LAYOUT,
        config=config.model_dump(),
        hashed_config=hashed_config(config),
        target_file_bytes=int(config.resources.target_file_mb * 2**20),
    )
    with root:
        inputs = storage.list_inputs(config.input)
        done = root.done_keys(redo=lambda row: config.retry_failed and row["status"] == STATUS_FAILED)
        pending = [item for item in inputs if (item.uri, item.size, item.mtime_ns) not in done]
        print(
            f"extract: {len(inputs)} inputs, {len(inputs) - len(pending)} already done, "
            f"{len(pending)} to process",
            file=sys.stderr,
        )
        seconds, ray_data_stats = 0.0, ""
        if pending:
            seconds, ray_data_stats = extract_pending(
                config, root, storage, pending, parse_function or extract_document
            )
        manifest = root.finish(
            lambda ledger: summarise(ledger, inputs, pending, seconds, ray_data_stats),
            extra_timings={"extract_seconds": round(seconds, 3)},
        )
    print(summary_text(manifest), file=sys.stderr)
    return manifest


def read_ledger(storage: Any, output: str) -> list[dict[str, Any]]:
    from cephalo_ray.extract.stage import DOCUMENTS_DIR
    from cephalo_ray.ledger import read_rows

    return read_rows(storage, output, DOCUMENTS_DIR)


def ledger_key(row: dict[str, Any]) -> tuple[str, int | None, int | None]:
    return (row["source"], row["size"], row["mtime_ns"])


def parse_options(config: ExtractConfig) -> ParseOptions:
    """The parse settings every extraction actor gets, built once here."""
    return ParseOptions(
        dpi=config.dpi,
        min_figure_points=config.min_figure_points,
        max_pages=config.limits.max_pages,
        max_crop_pixels=config.limits.max_crop_pixels,
        keep_uncaptioned=config.keep_uncaptioned,
        detector=config.detector.name,
        detector_options=config.detector.detector_options(
            config.storage.s3_endpoint_url, config.storage.s3_region
        ),
        consult=config.detector.consult,
    )


def extract_pending(
    config: ExtractConfig,
    root: Any,
    storage: Any,
    pending: list[Any],
    parse: Callable[..., Any],
) -> tuple[float, str]:
    """Run the Ray Data pipeline over the pending inputs; returns its wall-clock seconds and Ray
    Data's execution statistics (time per operator, rows, memory)."""
    import ray
    from ray.data import ActorPoolStrategy, DataContext
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    from tqdm import tqdm

    from cephalo_ray.extract.stage import DocumentClaims, ExtractStage
    from cephalo_ray.ray_session import connect_ray
    from cephalo_ray.restart import merge_in_ray
    from cephalo_ray.rows import STATUS_DUPLICATE

    started_here = connect_ray(config.resources.local_num_cpus)
    try:
        started = time.perf_counter()
        DataContext.get_current().enable_progress_bars = False  # one bar, counted in documents, below
        known = {
            row["doc_id"]: row["source"]
            for row in root.ledger
            if row["doc_id"] and row["status"] != STATUS_DUPLICATE
        }
        # Beside the driver: its state lives nowhere else, so it may only die with the job.
        beside_driver = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        claims = (
            ray.remote(DocumentClaims).options(num_cpus=0, scheduling_strategy=beside_driver).remote(known)
        )
        batches = math.ceil(len(pending) / config.resources.docs_per_file)
        actors = config.resources.actors or max(
            1, int(ray.cluster_resources().get("CPU", 1) / config.resources.num_cpus)
        )
        dataset = ray.data.from_arrow(input_blocks(pending, config.resources.docs_per_file)).map_batches(
            ExtractStage,
            fn_constructor_kwargs={
                "committer": root.committer,
                "storage": storage,
                "claims": claims,
                "parse_options": parse_options(config),
                "max_bytes": config.limits.max_bytes,
                "timeout_s": config.limits.timeout_s,
                "memory_mb": config.limits.memory_mb,
                "parse_function": parse,
            },
            batch_size=config.resources.docs_per_file,
            batch_format="pyarrow",
            compute=ActorPoolStrategy(size=min(actors, batches)),
            num_cpus=config.resources.num_cpus,
        )
        pairs = failed = 0
        with tqdm(total=len(pending), unit="doc", desc="extract", file=sys.stderr) as bar:
            batch: Any  # a pyarrow.Table (batch_format="pyarrow")
            for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
                pairs += sum(batch.column("pairs").to_pylist())
                failed += sum(1 for error in batch.column("error").to_pylist() if error)
                bar.update(batch.num_rows)
                bar.set_postfix(pairs=pairs, errors=failed)
        stats = dataset.stats()
        root.compact(merge_in_ray)  # small batches into files of target_file_mb, in parallel
        return time.perf_counter() - started, stats
    finally:
        if started_here:
            ray.shutdown()


def input_blocks(pending: Sequence[Any], per_block: int) -> list[Any]:
    """The pending inputs as Arrow tables of `per_block` rows: columns, not a dict per input."""
    import pyarrow as pa

    table = pa.table(
        {
            "uri": pa.array([item.uri for item in pending], pa.string()),
            "size": pa.array([item.size for item in pending], pa.int64()),
            "mtime_ns": pa.array([item.mtime_ns for item in pending], pa.int64()),
        }
    )
    return [table.slice(start, per_block) for start in range(0, len(pending), per_block)]


def summarise(
    ledger: list[dict[str, Any]],
    inputs: Sequence[Any],
    processed: Sequence[Any],
    seconds: float,
    ray_data_stats: str,
) -> Any:
    """The counts from the settled ledger; complete when every listed input has a row."""
    from cephalo_ray.restart import Summary
    from cephalo_ray.rows import STATUS_DUPLICATE, STATUS_FAILED

    by_key = {ledger_key(row): row for row in ledger}
    listed = {(item.uri, item.size, item.mtime_ns) for item in inputs}
    current = [by_key[key] for key in listed if key in by_key]
    processed_keys = {(item.uri, item.size, item.mtime_ns) for item in processed}
    this_run = [row for row in current if ledger_key(row) in processed_keys]
    failed = [row for row in current if row["status"] == STATUS_FAILED]
    pages_this_run = sum(row["pages"] for row in this_run)
    counts = {
        "documents_in": len(inputs),
        "documents_ok": len(current) - len(failed),
        "documents_failed": len(failed),
        "documents_duplicate": sum(row["status"] == STATUS_DUPLICATE for row in current),
        "documents_repaired": sum(bool(row["repaired"]) for row in current),
        "documents_skipped": len(current) - len(this_run),
        "documents_processed": len(this_run),
        "documents_pending": len(listed) - len(current),
        "documents_stale": len(set(by_key) - listed),
        "pages": sum(row["pages"] for row in current),
        "scanned_pages": sum(row["scanned_pages"] for row in current),
        "pairs": sum(row["pairs"] for row in current),
        "errors": len(failed),
        "errors_by_kind": dict(Counter(row["error"] for row in failed)),
        "pages_per_second": round(pages_this_run / seconds, 2) if seconds else None,
    }
    slowest = [
        {"source": row["source"], "pages": row["pages"], "seconds": row["seconds"], "status": row["status"]}
        for row in sorted(this_run, key=lambda row: -float(row["seconds"] or 0))[:5]
    ]
    extra = {"ray_data_stats": ray_data_stats, "slowest": slowest}
    return Summary(counts, complete=counts["documents_pending"] == 0, extra=extra)


def summary_text(manifest: dict[str, Any]) -> str:
    counts = manifest["counts"]
    errors = (
        ", ".join(f"{kind} {count}" for kind, count in sorted(counts["errors_by_kind"].items())) or "none"
    )
    rate = counts["pages_per_second"]
    return (
        f"extract {manifest['status']}: {counts['documents_in']} documents "
        f"({counts['documents_ok']} ok, {counts['documents_failed']} failed, "
        f"{counts['documents_duplicate']} duplicate, {counts['documents_skipped']} skipped as done), "
        f"{counts['pages']} pages ({counts['scanned_pages']} scanned), {counts['pairs']} pairs; "
        f"errors: {errors}; " + (f"{rate} pages/s" if rate is not None else "nothing new to process")
    )


def main(argv: Sequence[str] | None = None, prog: str = "python -m cephalo_ray.jobs.extract_figures") -> int:
    return run_job_main(ExtractConfig, run, argv, prog, __doc__)


if __name__ == "__main__":
    sys.exit(main())
