"""Answer scores against values worked out by hand."""

from __future__ import annotations

import pytest

from cephalo_ray.evaluate.scores import (
    build_questions,
    caption_objects,
    contains,
    exact_match,
    markdown_table,
    rouge_l,
    score,
    token_f1,
    yes_no,
)
from tests.helpers.eval_fixture import EXPECTED, handmade_answers, refined_rows


def test_normalised_matches() -> None:
    assert exact_match("The Spider-Silk!", "spider silk")
    assert not exact_match("spider silk fibre", "spider silk")
    assert contains("It is made of steel.", "steel") and not contains("steely grey", "steel")
    assert token_f1(
        "silk fibre in matrix", "silk fibre embedded in collagen matrix under tension"
    ) == pytest.approx(2 / 3)
    assert rouge_l("matrix in fibre silk", "silk fibre in matrix") == pytest.approx(
        0.25
    )  # LCS of 1 word in 4
    assert (yes_no("Yes, there is."), yes_no("No."), yes_no("maybe"), yes_no("I think yes")) == (
        "yes",
        "no",
        None,
        "yes",
    )


def test_pope_objects_and_balanced_probes() -> None:
    assert caption_objects("Figure 3b: Spider silk fibre with a collagen matrix and the silk.") == [
        "spider",
        "silk",
        "fibre",
        "collagen",
        "matrix",
    ]
    questions = build_questions(refined_rows(), probes_per_image=2, seed=0)
    probes = [question for question in questions if question["kind"] == "pope"]
    assert sum(q["reference"] == "yes" for q in probes) == sum(q["reference"] == "no" for q in probes) == 4
    for question in probes:
        row = next(row for row in refined_rows() if row["pair_id"] == question["pair_id"])
        word = question["question"].split()[3]
        assert (word in row["orig_caption"].lower()) == (question["reference"] == "yes")
    assert len({q["id"] for q in questions}) == len(questions)


def test_scores_equal_the_hand_computed_ones() -> None:
    questions = build_questions(refined_rows(), probes_per_image=1, seed=0)
    scores = score(questions, handmade_answers(), short_answer_words=5)
    assert scores == EXPECTED
    table = markdown_table({"handmade": scores, "silent": score(questions, {})})
    assert "| handmade | 0.500 | 1.000 | 0.667 | 0.667 | 0.500 | 0.500 | 0.500 |" in table
    assert "| silent | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 |" in table
