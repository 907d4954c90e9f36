"""Extraction over the real papers of `bench/gold/real` (their PDFs are kept outside the repository,
at `CEPHALO_REAL_CORPUS`): slow, and skipped without them. It checks the job's accounting and the
pairs per paper against the gold."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cephalo_ray.jobs import extract_figures

REAL_CORPUS = Path(os.environ.get("CEPHALO_REAL_CORPUS", "")).resolve()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("CEPHALO_REAL_CORPUS") or not REAL_CORPUS.is_dir(),
        reason="set CEPHALO_REAL_CORPUS to the folder of the real papers of bench/gold/real",
    ),
]


def test_real_papers_are_all_accounted_for(ray_session: Any, tmp_path: Path) -> None:
    config = extract_figures.ExtractConfig.model_validate(
        {
            "input": str(REAL_CORPUS),
            "output": str(tmp_path / "out"),
            "resources": {"actors": 2, "num_cpus": 0.5, "docs_per_file": 2},
        }
    )
    manifest = extract_figures.run(config)
    counts = manifest["counts"]
    pdfs = sorted(REAL_CORPUS.glob("*.pdf"))
    assert manifest["status"] == "complete"
    assert counts["documents_in"] == len(pdfs) == counts["documents_ok"] + counts["documents_failed"]
    assert counts["documents_failed"] == 0 and counts["pages"] > 100 and counts["pairs"] > 0
    ledger = {
        row["source"].rsplit("/", 1)[1]: row
        for row in extract_figures.read_ledger(_storage(), str(tmp_path / "out"))
    }
    # every annotated paper yields as many pairs as its gold has items (vector-only papers too);
    # the corporate reports, with no captioned figure, yield none
    gold = {
        path.stem + ".pdf": len(json.loads(path.read_text())["items"])
        for path in (Path(__file__).resolve().parents[2] / "bench" / "gold" / "real").glob("*.json")
    }
    assert {name: row["pairs"] for name, row in ledger.items() if name in gold} == gold
    assert all(row["pairs"] == 0 for name, row in ledger.items() if name.startswith("report-"))


def _storage() -> Any:
    from cephalo_ray.storage import Storage

    return Storage()
