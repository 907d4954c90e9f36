"""The template teacher's closed questions: one-word answers read from the label and caption only."""

from __future__ import annotations

from cephalo_ray.refine.prompts import (
    CHART_QUESTION,
    FORM_QUESTION,
    PANELS_QUESTION,
    closed_qa,
    template_qa,
)


def answers(label: str | None, caption: str | None) -> dict[str, str]:
    return {item["kind"]: item["answer"] for item in closed_qa(label, caption)}


def test_chart_type_and_panels_come_from_the_caption() -> None:
    caption = "Figure 3. Bar charts of the toughness for (a) sample 4, (b) sample 7 and (c) sample 9."
    assert answers("Figure 3", caption) == {"form": "figure", "chart_type": "bar", "panels": "3"}
    single = "Figure 1. Scatter plot of the stiffness across 8 samples."
    assert answers("Figure 1", single) == {"form": "figure", "chart_type": "scatter", "panels": "1"}
    assert answers("Figure 2", "Figure 2. A line chart; (a) and (c) only.") == {
        "form": "figure",
        "chart_type": "line",
    }  # lettering that skips a panel gives no count
    assert answers("Table 2", "Table 2. Measured toughness by sample.") == {"form": "table"}


def test_no_closed_questions_without_a_named_chart() -> None:
    assert closed_qa("Figure 2", "Figure 2. Nacre tablets. Bridges join them.") == []
    assert closed_qa("Figure 2", "Figure 2. A bar chart beside a line plot.") == []  # two types
    assert closed_qa(None, "Bar chart of the toughness.") == []


def test_questions_name_their_options_and_turn_with_the_caption() -> None:
    firsts = set()
    for number in range(12):
        caption = f"Figure 1. Line plots of the strain for (a) sample {number} and (b) sample 2."
        qa = closed_qa("Figure 1", caption)
        assert [item["query"] for item in sorted(qa, key=lambda item: item["kind"])] == [
            CHART_QUESTION,
            FORM_QUESTION,
            PANELS_QUESTION,
        ]
        assert qa == closed_qa("Figure 1", caption)
        firsts.add(qa[0]["kind"])
    assert firsts == {"form", "chart_type", "panels"}  # each is also the question asked alone


def test_template_puts_closed_questions_first() -> None:
    caption = "Figure 4. Scatter plot of the strength across 6 samples. Points are specimens."
    qa = template_qa("Figure 4", caption, ["Fig. 4 shows the spread."], 8)
    assert {item["kind"] for item in qa[:3]} == {"form", "chart_type", "panels"}
    assert [item["kind"] for item in qa[3:]] == ["what", "how_to_read", "mechanism"]
    assert template_qa("Figure 4", caption, [], 1) == qa[:1]
