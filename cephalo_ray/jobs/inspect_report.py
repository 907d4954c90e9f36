"""See what extraction found: an HTML report of an extract root, to open in a browser.

    cephalo inspect ./out                         # writes ./out/inspect/index.html
    cephalo inspect ./out ./report --all-pages    # every page, into ./report/index.html
    cephalo inspect s3://lab/pairs --s3-endpoint-url http://minio:9000 --max-documents 50
    cephalo inspect ./out --gold bench/gold/real  # against gold: a folder of gold JSON, or a JSONL file

The report starts with a summary of the whole root (documents by status, pages, pairs by kind,
failures by error, scanned pages) and every failed document with its error. Then, for the first
`max_documents` documents by source, their pages rendered from the source PDF (re-read from its
`source` URI) with figure/table boxes and caption boxes drawn, and their crops with label, kind,
graphics, caption and mentions. By default only pages holding a box and scanned pages are drawn.
With `--gold` the gold boxes are drawn in green beside the found ones, each page lists its misses,
false positives, caption mismatches (both captions), wrong kinds and box mismatches (with IoU), and
the counts of each come first; gold documents are matched by sha256 (doc_id), else by file name, and
documents with gold problems are shown even past `max_documents`.
Images are written beside `index.html` (`pages/*.jpg`, `crops/*.png`), so the folder opens offline.
No Ray: the report is written by this process.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from cephalo_ray.arguments import run_job_main
from cephalo_ray.config import StorageConfig, StrictModel


class InspectConfig(StrictModel):
    """`cephalo inspect` settings."""

    input: str = Field(description="an extract root (local or s3://)")
    output: str | None = Field(None, description="the report folder (default: INPUT/inspect)")
    all_pages: bool = Field(False, description="draw every page, not only pages with boxes or scans")
    max_documents: int = Field(
        200, ge=1, description="documents shown in detail, first by source; the summary counts all"
    )
    dpi: int = Field(60, ge=18, le=200, description="resolution of the page images (JPEG)")
    allow_partial: bool = Field(False, description="inspect a root whose extraction has not finished")
    gold: str | None = Field(
        None,
        description="gold annotations to compare with: a local folder of gold JSON files or a JSONL file",
    )
    storage: StorageConfig = StorageConfig()


def run(config: InspectConfig) -> dict[str, Any]:
    from cephalo_ray.config import ConfigError
    from cephalo_ray.extract.gold import GoldError
    from cephalo_ray.extract.inspect_report import write_report
    from cephalo_ray.storage import Storage

    storage = Storage(config.storage.s3_endpoint_url, config.storage.s3_region)
    try:
        result = write_report(
            storage,
            config.input,
            config.output,
            all_pages=config.all_pages,
            max_documents=config.max_documents,
            dpi=config.dpi,
            allow_partial=config.allow_partial,
            gold=config.gold,
        )
    except GoldError as error:
        raise ConfigError(f"gold={config.gold}: {error}; fix the file or point --gold elsewhere") from error
    unreadable = result["unreadable_sources"]
    against_gold = ""
    if result["gold"] is not None:
        outcomes = result["gold"]["outcomes"]
        # the box-mismatch breakdown (`box-mismatch:merged`) is in the report, not on this line
        against_gold = ", against gold: " + ", ".join(
            f"{count} {outcome}" for outcome, count in outcomes.items() if count and ":" not in outcome
        )
    print(
        f"inspect: {result['documents_shown']} of {result['documents']} documents, "
        f"{result['pages_rendered']} pages, {result['crops']} crops"
        + (f", {unreadable} sources unreadable" if unreadable else "")
        + against_gold
        + f" -> {result['index']}",
        file=sys.stderr,
    )
    return result


def main(argv: Sequence[str] | None = None, prog: str = "python -m cephalo_ray.jobs.inspect_report") -> int:
    return run_job_main(InspectConfig, run, argv, prog, __doc__)


if __name__ == "__main__":
    sys.exit(main())
