"""Extraction over the real papers kept beside the project (`../shared/corpus/real`): slow, and
skipped where that folder is absent. Nothing here has gold boxes; it checks the job's accounting."""

from __future__ import annotations

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
    no_figures = [name for name in ledger if name.startswith("academic_literature")]
    assert no_figures and all(ledger[name]["pairs"] == 0 for name in no_figures)


def _storage() -> Any:
    from cephalo_ray.storage import Storage

    return Storage()
