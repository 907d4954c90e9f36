"""Extraction over the development corpus (`bench/gold/dev`), where its PDFs are at hand.

The PDFs are third-party papers kept outside the repository: `python -m bench.gold.corpus fetch DIR`
brings them, and `CEPHALO_DEV_CORPUS=DIR` points this test at them (it skips without it).
Each paper must find at least as many of its gold items (box and caption right) as recorded in
`bench/gold/dev_expected.json` and make no more predictions than recorded, so a change that loses a
paper's figures, or adds false ones, fails here by name. After an improvement, record the new
counts with `python -m bench.score_extraction --gold bench/gold/dev --corpus DIR --record`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cephalo_ray.extract.document import extract_document
from cephalo_ray.extract.gold import judge, tally

REPO = Path(__file__).resolve().parents[3]
GOLD = REPO / "bench" / "gold" / "dev"
EXPECTED = json.loads((REPO / "bench" / "gold" / "dev_expected.json").read_text())
CORPUS = Path(os.environ.get("CEPHALO_DEV_CORPUS", "")).resolve()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("CEPHALO_DEV_CORPUS") or not CORPUS.is_dir(),
        reason="set CEPHALO_DEV_CORPUS to the development corpus (python -m bench.gold.corpus fetch DIR)",
    ),
]


def test_every_gold_document_has_a_recorded_expectation() -> None:
    assert sorted(EXPECTED) == sorted(path.stem + ".pdf" for path in GOLD.glob("*.json"))


@pytest.mark.parametrize("document", sorted(EXPECTED))
def test_each_paper_finds_at_least_its_recorded_items(document: str) -> None:
    gold = json.loads((GOLD / document).with_suffix(".json").read_text())
    pairs = extract_document((CORPUS / document).read_bytes(), document, dpi=72)["pairs"]
    found = tally(judge(gold["items"], pairs), pairs)
    expected = EXPECTED[document]
    assert found.gold == expected["gold"] == len(gold["items"])
    assert found.correct >= expected["correct"], f"{document}: {found.correct} of {found.gold} right"
    assert found.predicted - found.correct <= expected["predicted"] - expected["correct"]
