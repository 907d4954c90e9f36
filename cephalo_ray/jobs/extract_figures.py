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
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field

from cephalo_ray.arguments import run_job_main
from cephalo_ray.config import StorageConfig, StrictModel
from cephalo_ray.extract.document import ParseOptions
from cephalo_ray.extract.layout import DetectorConfig

JOB = "extract"
INPUT_KEYS = ("uri", "size", "mtime_ns")  # a listing's columns that match the ledger's key columns


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
    from cephalo_ray.ledger import status_is_in
    from cephalo_ray.restart import RootRun
    from cephalo_ray.rows import STATUS_FAILED
    from cephalo_ray.storage import InputListing, Storage

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
        # the listing, the ledger and what is left stay Arrow tables: tens of bytes per input
        inputs = storage.list_input_table(config.input)
        redo = status_is_in([STATUS_FAILED]) if config.retry_failed else None
        pending = root.pending(inputs, INPUT_KEYS, redo)
        print(
            f"extract: {inputs.num_rows} inputs, {inputs.num_rows - pending.num_rows} already done, "
            f"{pending.num_rows} to process",
            file=sys.stderr,
        )
        seconds, ray_data_stats = 0.0, ""
        if pending.num_rows:
            seconds, ray_data_stats = extract_pending(
                config, root, storage, InputListing(pending), parse_function or extract_document
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
    pending: Any,
    parse: Callable[..., Any],
) -> tuple[float, str]:
    """Run the Ray Data pipeline over the pending inputs (an `InputListing`); returns its wall-clock
    seconds and Ray Data's execution statistics (time per operator, rows, memory)."""
    import ray
    from ray.data import ActorPoolStrategy, DataContext
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    from tqdm import tqdm

    from cephalo_ray.extract.stage import DocumentClaims, ExtractStage
    from cephalo_ray.ray_session import connect_ray
    from cephalo_ray.restart import merge_in_ray

    started_here = connect_ray(config.resources.local_num_cpus)
    try:
        started = time.perf_counter()
        DataContext.get_current().enable_progress_bars = False  # one bar, counted in documents, below
        known = known_documents(root.ledger_table)
        # Beside the driver: its state lives nowhere else, so it may only die with the job.
        beside_driver = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        claims = (
            ray.remote(DocumentClaims).options(num_cpus=0, scheduling_strategy=beside_driver).remote(known)
        )
        batches = math.ceil(len(pending) / config.resources.docs_per_file)
        actors = config.resources.actors or max(
            1, int(ray.cluster_resources().get("CPU", 1) / config.resources.num_cpus)
        )
        dataset = ray.data.from_arrow(
            input_blocks(pending.table, config.resources.docs_per_file)
        ).map_batches(
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


def known_documents(ledger: Any) -> Any:
    """doc_id -> source of the documents earlier runs claimed (duplicates name no owner of their
    own), looked up in Arrow columns: the claims actor holds no dict of the corpus."""
    import pyarrow.compute as pc

    from cephalo_ray.ledger import ColumnLookup
    from cephalo_ray.rows import STATUS_DUPLICATE

    if ledger.num_rows == 0:
        return {}
    owners = ledger.filter(pc.field("doc_id").is_valid() & (pc.field("status") != STATUS_DUPLICATE))
    return ColumnLookup(owners.column("doc_id"), owners.column("source"))


def input_blocks(pending: Any, per_block: int) -> list[Any]:
    """The pending inputs (an Arrow table: uri, size, mtime_ns) as tables of `per_block` rows."""
    return [pending.slice(start, per_block) for start in range(0, pending.num_rows, per_block)]


def summarise(
    ledger: Any,
    inputs: Any,
    processed: Any,
    seconds: float,
    ray_data_stats: str,
) -> Any:
    """The counts from the settled ledger (an Arrow table) and the listing and the inputs this run
    processed (Arrow tables: uri, size, mtime_ns); complete when every listed input has a row."""
    import pyarrow.compute as pc

    from cephalo_ray.extract.stage import LAYOUT
    from cephalo_ray.ledger import anti_join, semi_join
    from cephalo_ray.restart import Summary
    from cephalo_ray.rows import STATUS_DUPLICATE, STATUS_FAILED, documents_schema

    if ledger.num_rows == 0:
        ledger = documents_schema().empty_table()
    keys = LAYOUT.key_columns
    current = semi_join(ledger, inputs, keys, INPUT_KEYS)
    this_run = semi_join(current, processed, keys, INPUT_KEYS)
    failed = current.filter(pc.field("status") == STATUS_FAILED)

    def total(table: Any, column: str) -> int:
        return int(pc.sum(table.column(column)).as_py() or 0)

    errors_by_kind = {
        item["values"]: item["counts"] for item in pc.value_counts(failed.column("error")).to_pylist()
    }
    counts = {
        "documents_in": inputs.num_rows,
        "documents_ok": current.num_rows - failed.num_rows,
        "documents_failed": failed.num_rows,
        "documents_duplicate": current.filter(pc.field("status") == STATUS_DUPLICATE).num_rows,
        "documents_repaired": int(pc.sum(pc.fill_null(current.column("repaired"), False)).as_py() or 0),
        "documents_skipped": current.num_rows - this_run.num_rows,
        "documents_processed": this_run.num_rows,
        "documents_pending": inputs.num_rows - current.num_rows,
        "documents_stale": anti_join(ledger, inputs, keys, INPUT_KEYS).num_rows,
        "pages": total(current, "pages"),
        "scanned_pages": total(current, "scanned_pages"),
        "pairs": total(current, "pairs"),
        "errors": failed.num_rows,
        "errors_by_kind": errors_by_kind,
        "pages_per_second": round(total(this_run, "pages") / seconds, 2) if seconds else None,
    }
    by_time = this_run.append_column("order", pc.fill_null(this_run.column("seconds"), 0.0))
    slowest = (
        by_time.take(pc.sort_indices(by_time, [("order", "descending")])[:5])
        .select(["source", "pages", "seconds", "status"])
        .to_pylist()
    )
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
