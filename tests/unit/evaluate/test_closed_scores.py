"""Closed questions (options named in the question): exact match per question and what answering
without the image scores, against values worked out by hand."""

from __future__ import annotations

from typing import Any

from cephalo_ray.evaluate.scores import (
    baseline_scores,
    build_questions,
    closed_table,
    exact_by_question,
    markdown_table,
    options_of,
    score,
)

CHART = "What kind of chart is this? Answer bar, line or scatter."
FORM = "Is this a table or a figure? Answer table or figure."
OPEN = "What material is shown?"


def rows() -> list[dict[str, Any]]:
    """Four images: three asked the chart question (bar, bar, line), one the form question (table),
    and one open short question."""
    asked = [("a", CHART, "bar"), ("b", CHART, "bar"), ("c", CHART, "line"), ("d", FORM, "table")]
    result = [
        {"pair_id": pair * 16, "orig_caption": "", "qa": [{"kind": "k", "query": query, "answer": answer}]}
        for pair, query, answer in asked
    ]
    result[0]["qa"].append({"kind": "what", "query": OPEN, "answer": "spider silk"})
    return result


def test_options_are_read_from_the_question() -> None:
    assert options_of(CHART) == ["bar", "line", "scatter"]
    assert options_of(FORM) == ["table", "figure"]
    assert options_of("How many panels does this figure have? Answer 1, 2, 3 or 4.") == ["1", "2", "3", "4"]
    assert options_of("Is there a cat in the image? Answer yes or no.") == ["yes", "no"]
    assert options_of(OPEN) == [] and options_of("Which one, this or that, is bigger?") == []


def test_baselines_and_per_question_exact_match_by_hand() -> None:
    questions = build_questions(rows(), probes_per_image=0)
    baselines = baseline_scores(questions)
    # chance: 1/3 for each chart question, 1/2 for the form one, 0 for the open one -> (1 + 0.5) / 5
    assert baselines["chance"]["exact_match"] == 0.3
    assert baselines["chance"]["by_question"] == {CHART: 0.3333, FORM: 0.5}
    # majority: "bar" is right 2 of 3 times, "table" 1 of 1, the open question 0 -> 3 / 5
    assert baselines["majority"]["exact_match"] == 0.6
    assert baselines["majority"]["by_question"] == {CHART: 0.6667, FORM: 1.0}
    answers = {
        q["id"]: {"a": "bar", "b": "line", "c": "Line.", "d": "figure"}[q["pair_id"][0]]
        for q in questions
        if q["question"] != OPEN
    }
    assert exact_by_question(questions, answers) == {CHART: 0.6667, FORM: 0.0}
    assert score(questions, answers)["exact_match"] == 0.4  # the open question unanswered
    table = markdown_table({"model": score(questions, answers)}, baselines)
    assert "| *chance* | 0.300 | - |" in table and "| *majority* | 0.600 | - |" in table
    per_question = closed_table({"model": exact_by_question(questions, answers)})
    assert per_question.splitlines()[0] == (
        "| model | Is this a table or a figure? | What kind of chart is this? |"
    )
    assert "| model | 0.000 | 0.667 |" in per_question


def test_no_baselines_without_closed_questions() -> None:
    only_open = [row for row in rows() if row["pair_id"][0] == "a"]
    only_open[0]["qa"] = only_open[0]["qa"][1:]
    assert baseline_scores(build_questions(only_open, probes_per_image=0)) == {}
