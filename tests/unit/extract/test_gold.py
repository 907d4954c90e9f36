"""Judging found pairs against gold: one small hand-made case per outcome, loading and counting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cephalo_ray.extract.gold import (
    BOX_MISMATCH,
    CAPTION_MISMATCH,
    CORRECT,
    FALSE_POSITIVE,
    MISSED,
    WRONG_KIND,
    GoldError,
    Judgement,
    caption_similarity,
    find_gold,
    index_gold,
    iou,
    judge,
    load_gold,
    match,
    normalize_caption,
    outcome_counts,
    same_caption,
    tally,
)


def item(page: int = 1, box: list[float] | None = None, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "page": page,
        "kind": "figure",
        "label": "Figure 1",
        "box": box or [100.0, 100.0, 300.0, 300.0],
        "caption": "Figure 1. Silk fibres under load.",
        "caption_box": None,
        "features": ["raster"],
    }
    row.update(values)
    return row


def found(page: int = 1, bbox: list[float] | None = None, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "page": page,
        "kind": "figure",
        "label": "Figure 1",
        "bbox": bbox or [100.0, 100.0, 300.0, 300.0],
        "caption": "Figure 1. Silk fibres under load.",
    }
    row.update(values)
    return row


def only(judgements: list[Judgement]) -> Judgement:
    assert len(judgements) == 1, judgements
    return judgements[0]


def test_normalised_captions_and_iou() -> None:
    assert normalize_caption("Figure 1.  In- fected\ncells ﬁt") == "Figure 1. Infected cells fit"
    # (a line ending in a hyphen after a bracket is judged alike, joined with a space or without)
    assert normalize_caption("Ischemia (2VO)- Induced") == normalize_caption("Ischemia (2VO)-Induced")
    assert normalize_caption("A - B") == "A - B"
    assert normalize_caption(None) == ""
    assert caption_similarity("Figure 1. A", "Figure 1.   A") == 1.0
    assert 0.8 < caption_similarity("Figure 1. Silk fibres under load.", "Figure 1. Silk fibres under") < 1
    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(1 / 3)
    assert iou([0, 0, 10, 10], [10, 0, 20, 10]) == 0.0


def test_match_is_one_to_one_on_the_same_page_best_first() -> None:
    gold = [item(box=[0, 0, 100, 100]), item(box=[0, 0, 100, 90]), item(page=2)]
    predicted = [found(bbox=[0, 0, 100, 95]), found(page=1)]
    # both gold boxes like prediction 0; the better (IoU 0.95 vs 0.947) takes it
    assert [(g, p) for g, p, _ in match(gold, predicted)] == [(0, 0)]
    assert match([item(page=2)], [found(page=1)]) == []


def test_correct() -> None:
    judgement = only(judge([item()], [found(caption="Figure 1.  Silk fi- bres under load.")]))
    assert (judgement.outcome, judgement.gold, judgement.predicted) == (CORRECT, 0, 0)
    assert judgement.iou == 1.0 and judgement.similarity == 1.0 and judgement.similar


def test_caption_mismatch_keeps_both_captions_and_their_similarity() -> None:
    judgement = only(judge([item()], [found(caption="Figure 1. Silk fibres under load. As shown in")]))
    assert judgement.outcome == CAPTION_MISMATCH
    assert judgement.gold_caption == "Figure 1. Silk fibres under load."
    assert judgement.predicted_caption == "Figure 1. Silk fibres under load. As shown in"
    assert 0.8 <= judgement.similarity < 1.0 and judgement.similar
    far = only(judge([item()], [found(caption="Figure 2. Something else entirely, on bone.")]))
    assert far.outcome == CAPTION_MISMATCH and not far.similar


def test_wrong_kind() -> None:
    judgement = only(judge([item(kind="table")], [found(kind="figure")]))
    assert (judgement.outcome, judgement.detail, judgement.kind) == (WRONG_KIND, "figure", "table")
    assert not judgement.similar


def test_missed_and_false_positive() -> None:
    gold = [item(box=[50, 50, 100, 100])]
    predicted = [found(bbox=[300, 300, 400, 400]), found(page=2)]
    missed, far, elsewhere = judge(gold, predicted)
    assert (missed.outcome, missed.gold, missed.predicted, missed.overlaps) == (MISSED, 0, None, None)
    assert (far.outcome, far.gold, far.predicted, far.overlaps) == (FALSE_POSITIVE, None, 0, None)
    assert (elsewhere.outcome, elsewhere.page, elsewhere.predicted) == (FALSE_POSITIVE, 2, 1)


@pytest.mark.parametrize(
    ("gold_box", "found_box", "detail"),
    [
        ([100, 100, 200, 200], [50, 50, 300, 300], "too-large"),  # IoU 0.16: gold inside the prediction
        ([50, 50, 300, 300], [100, 100, 200, 200], "too-small"),
        ([100, 100, 200, 200], [160, 100, 260, 200], "shifted"),  # IoU 0.25
    ],
)
def test_box_mismatch_says_the_best_iou_and_why(
    gold_box: list[float], found_box: list[float], detail: str
) -> None:
    box, false_positive = judge([item(box=gold_box)], [found(bbox=found_box)])
    assert (box.outcome, box.detail, box.overlaps, box.predicted) == (BOX_MISMATCH, detail, 0, None)
    assert box.iou == pytest.approx(iou(gold_box, found_box)) and 0 < box.iou < 0.5
    assert box.predicted_box == tuple(float(value) for value in found_box)
    # the prediction is a false positive that names the gold item it overlaps
    assert (false_positive.outcome, false_positive.overlaps) == (FALSE_POSITIVE, 0)


def test_one_prediction_over_two_gold_items_is_merged() -> None:
    gold = [
        item(box=[100, 100, 300, 180], label="Figure 1"),  # IoU 0.4 each
        item(box=[100, 220, 300, 300], label="Figure 2"),
    ]
    first, second, false_positive = judge(gold, [found(bbox=[100, 100, 300, 300])])
    assert (first.outcome, first.detail) == (BOX_MISMATCH, "merged")
    assert (second.outcome, second.detail) == (BOX_MISMATCH, "merged")
    assert false_positive.outcome == FALSE_POSITIVE
    # with one of them matched, the other still says that it was swallowed
    first, second = judge(
        gold[:1] + [item(box=[100, 190, 300, 220], label="Figure 2")], [found(bbox=[100, 100, 300, 220])]
    )
    assert first.outcome == CORRECT and (second.outcome, second.detail) == (BOX_MISMATCH, "merged")


def test_two_predictions_inside_one_gold_item_are_a_split() -> None:
    gold = [item(box=[100, 100, 300, 300])]
    left, right = found(bbox=[100, 100, 195, 300]), found(bbox=[205, 100, 300, 300])
    box, *false_positives = judge(gold, [left, right])
    assert (box.outcome, box.detail) == (BOX_MISMATCH, "split")
    assert [judgement.outcome for judgement in false_positives] == [FALSE_POSITIVE, FALSE_POSITIVE]


def test_tally_and_outcome_counts() -> None:
    gold = [
        item(box=[0, 0, 100, 100]),  # correct
        item(box=[0, 200, 100, 300], kind="table", label="Table 1", caption="Table 1. Sizes."),  # similar
        item(box=[200, 0, 300, 100], label="Figure 2"),  # missed
    ]
    predicted = [
        found(bbox=[0, 0, 100, 100]),
        found(bbox=[0, 200, 100, 300], kind="table", caption="Table 1. Sizes"),
        found(page=3, kind="table"),
    ]
    judgements = judge(gold, predicted)
    overall = tally(judgements, predicted)
    assert (overall.gold, overall.predicted, overall.correct, overall.similar, overall.boxes) == (
        3,
        3,
        1,
        2,
        2,
    )
    scores = overall.scores()
    assert scores["f1"] == pytest.approx(1 / 3) and scores["f1_similar"] == pytest.approx(2 / 3)
    tables = tally(judgements, predicted, "table")
    assert (tables.gold, tables.predicted, tables.correct, tables.similar) == (1, 2, 0, 1)
    counts = outcome_counts(judgements)
    assert counts[CORRECT] == 1 and counts[CAPTION_MISMATCH] == 1
    assert counts[MISSED] == 1 and counts[FALSE_POSITIVE] == 1 and counts[BOX_MISMATCH] == 0
    overall += tables
    assert overall.gold == 4


def test_a_wrong_kind_counts_as_a_box_overall_but_for_neither_kind() -> None:
    predicted = [found(kind="figure")]
    judgements = judge([item(kind="table")], predicted)
    assert tally(judgements, predicted).boxes == 1
    assert (
        tally(judgements, predicted, "table").boxes == 0 and tally(judgements, predicted, "figure").boxes == 0
    )


def gold_document(name: str, **values: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "document": name,
        "sha256": "ab" * 32,
        "pages": 2,
        "notes": "",
        "items": [item()],
    }
    document.update(values)
    return document


def test_load_gold_from_a_folder_a_jsonl_file_and_one_file(tmp_path: Path) -> None:
    folder = tmp_path / "gold"
    folder.mkdir()
    (folder / "b.json").write_text(json.dumps(gold_document("b.pdf", venue="ACL", field="nlp")))
    (folder / "a.json").write_text(json.dumps(gold_document("a.pdf")))
    assert [gold["document"] for gold in load_gold(folder)] == ["a.pdf", "b.pdf"]
    lines = tmp_path / "gold.jsonl"
    lines.write_text(json.dumps(gold_document("a.pdf")) + "\n\n" + json.dumps(gold_document("b.pdf")) + "\n")
    assert [gold["document"] for gold in load_gold(lines)] == ["a.pdf", "b.pdf"]
    assert load_gold(folder / "b.json")[0]["venue"] == "ACL"


def test_bad_gold_is_refused_naming_the_file_and_line(tmp_path: Path) -> None:
    lines = tmp_path / "gold.jsonl"
    lines.write_text(json.dumps(gold_document("a.pdf")) + "\n{not json\n")
    with pytest.raises(GoldError, match=r"gold.jsonl:2: not JSON"):
        load_gold(lines)
    lines.write_text(json.dumps(gold_document("a.pdf", items=[{"page": 1, "kind": "figure"}])) + "\n")
    with pytest.raises(GoldError, match=r"gold.jsonl:1: item 0 lacks \['box'\]"):
        load_gold(lines)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GoldError, match="no gold"):
        load_gold(empty)
    with pytest.raises(FileNotFoundError):
        load_gold(tmp_path / "absent.jsonl")


def test_gold_is_found_by_sha256_then_by_file_name() -> None:
    by_hash = gold_document("renamed.pdf", sha256="cd" * 32)
    by_name = gold_document("papers/silk.pdf", sha256="ef" * 32)
    index = index_gold([by_hash, by_name])
    assert find_gold(index, "cd" * 32, "s3://lab/other.pdf") is by_hash
    assert find_gold(index, "00" * 32, "s3://lab/x/silk.pdf") is by_name
    assert find_gold(index, None, "/data/silk.pdf") is by_name
    assert find_gold(index, "00" * 32, "/data/bone.pdf") is None


def test_a_caption_of_many_unknown_glyphs_is_judged_at_once_whether_it_matches_or_not() -> None:
    # (a book chapter whose captions' fonts give no Unicode: fifty glyphs in a row read as U+FFFD
    # against another reader's letters; each glyph stands for one character or none)
    unknowns = "Figure 3.5 " + "\ufffd" * 50 + " of the species."
    assert same_caption("Figure 3.5 " + "x" * 50 + " of the species.", unknowns)
    assert same_caption("Figure 3.5 " + "x" * 30 + " of the species.", unknowns)
    assert not same_caption("Figure 3.5 " + "x" * 51 + " of the species.", unknowns)
    assert not same_caption("Figure 3.5 " + "x" * 60 + " of the genus.", unknowns)
