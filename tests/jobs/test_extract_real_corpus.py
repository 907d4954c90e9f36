"""Extraction over the real papers kept beside the project (`../shared/corpus/real`): slow, and
skipped where that folder is absent. It checks the job's accounting and the pairs per paper against the gold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jobs import extract_figures

REAL_CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "real"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not REAL_CORPUS.is_dir(), reason="../shared/corpus/real is not beside this checkout"),
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
