"""See what extraction found: an HTML report of an extract root, to open in a browser.

    cephalo inspect ./out                         # writes ./out/inspect/index.html
    cephalo inspect ./out ./report --all-pages    # every page, into ./report/index.html
    cephalo inspect s3://lab/pairs --s3-endpoint-url http://minio:9000 --max-documents 50

The report starts with a summary of the whole root (documents by status, pages, pairs by kind,
failures by error, scanned pages) and every failed document with its error. Then, for the first
`max_documents` documents by source, their pages rendered from the source PDF (re-read from its
`source` URI) with figure/table boxes and caption boxes drawn, and their crops with label, kind,
graphics, caption and mentions. By default only pages holding a box and scanned pages are drawn.
Images are written beside `index.html` (`pages/*.jpg`, `crops/*.png`), so the folder opens offline.
No Ray: the report is written by this process.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from cephalo_ray.cli import run_job_main
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
    storage: StorageConfig = StorageConfig()


def run(config: InspectConfig) -> dict[str, Any]:
    from cephalo_ray.extract.inspect_report import write_report
    from cephalo_ray.storage import Storage

    storage = Storage(config.storage.s3_endpoint_url, config.storage.s3_region)
    result = write_report(
        storage,
        config.input,
        config.output,
        all_pages=config.all_pages,
        max_documents=config.max_documents,
        dpi=config.dpi,
        allow_partial=config.allow_partial,
    )
    unreadable = result["unreadable_sources"]
    print(
        f"inspect: {result['documents_shown']} of {result['documents']} documents, "
        f"{result['pages_rendered']} pages, {result['crops']} crops"
        + (f", {unreadable} sources unreadable" if unreadable else "")
        + f" -> {result['index']}",
        file=sys.stderr,
    )
    return result


def main(argv: Sequence[str] | None = None, prog: str = "python -m jobs.inspect_report") -> int:
    return run_job_main(InspectConfig, run, argv, prog, __doc__)


if __name__ == "__main__":
    sys.exit(main())
