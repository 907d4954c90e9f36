from __future__ import annotations

import json
from dataclasses import replace

import pytest

from cephalo_ray.refine.parsing import (
    FilterSettings,
    RefineError,
    echo_share,
    filter_qa,
    llava_conversations,
    parse_reply,
    trigrams,
)
from cephalo_ray.refine.prompts import PROFILES, build_messages, instruction_text

CAPTION = (
    "Figure 2. Stress-strain curves of spider silk at 3 strain rates, showing a yield point near 0.5 GPa."
)
MENTIONS = ["The toughness rises by 40% at the highest rate (Fig. 2)."]


def qa(query: str, answer: str, kind: str = "what") -> dict[str, str]:
    return {"kind": kind, "query": query, "answer": answer}


def test_tolerant_parsing_of_fenced_and_wrapped_json() -> None:
    payload = {"qa": [qa("What is plotted here?", "Stress against strain for three rates.")]}
    assert parse_reply(json.dumps(payload)) == payload["qa"]
    assert parse_reply(f"```json\n{json.dumps(payload)}\n```") == payload["qa"]
    assert parse_reply(f"Sure! Here it is:\n{json.dumps(payload)}\nHope this helps.") == payload["qa"]
    assert parse_reply(json.dumps(payload["qa"])) == payload["qa"]  # a bare list
    bare = parse_reply('{"qa": [{"question": "Q one here?", "answer": "An answer.", "kind": "odd"}]}')
    assert bare == [qa("Q one here?", "An answer.", "what")]


@pytest.mark.parametrize(
    ("text", "finish", "refusal", "kind"),
    [
        ("not json at all", "stop", None, "Malformed"),
        ('{"qa": "nope"}', "stop", None, "Malformed"),
        ('{"qa": [{"query": 1}]}', "stop", None, "Malformed"),
        ('{"qa": []}', "stop", None, "Empty"),
        ("", "stop", None, "Empty"),
        ("I'm sorry, but I can't help with that.", "stop", None, "Refused"),
        ("anything", "stop", "I cannot describe this image.", "Refused"),
        ("anything", "content_filter", None, "Refused"),
        ('{"qa": [{"kind": "what", "query": "What', "length", None, "Truncated"),
    ],
)
def test_bad_replies_raise_their_kind(text: str, finish: str, refusal: str | None, kind: str) -> None:
    with pytest.raises(RefineError) as raised:
        parse_reply(text, finish, refusal)
    assert raised.value.kind == kind and raised.value.message


def test_filters_keep_grounded_pairs_and_record_reasons() -> None:
    items = [
        qa(
            "What does the plot show?",
            "Stress-strain curves of silk at three strain rates, yielding near 0.5 GPa.",
        ),
        qa("What does the plot show?", "The same question again with a long enough answer."),
        qa("Short?", "A long enough answer for the length filter."),
        qa("How much tougher is it at the top rate?", "It is 40% tougher at the highest strain rate."),
        qa("What is the modulus?", "The modulus is 12.5 GPa, measured by nanoindentation."),
        qa("Restate it?", CAPTION),
    ]
    parsed = filter_qa(items, CAPTION, MENTIONS)
    assert [item["query"] for item in parsed.qa] == [items[0]["query"], items[3]["query"]]
    reasons = " | ".join(parsed.dropped)
    assert "duplicate question" in reasons and "question length 6" in reasons
    assert "numbers found in no source: 12.5" in reasons and "only restates the caption" in reasons


def test_nothing_left_is_a_filtered_error() -> None:
    with pytest.raises(RefineError) as raised:
        filter_qa(
            [qa("What is the modulus?", "The modulus is 99 GPa here.")], CAPTION, MENTIONS, FilterSettings()
        )
    assert raised.value.kind == "Filtered" and "99" in raised.value.message


def test_llava_conversations() -> None:
    turns = llava_conversations([qa("First question?", "One."), qa("Second question?", "Two.")])
    assert turns == [
        {"from": "human", "value": "<image>\nFirst question?"},
        {"from": "gpt", "value": "One."},
        {"from": "human", "value": "Second question?"},
        {"from": "gpt", "value": "Two."},
    ]


def test_grounding_reads_numbers_by_value_and_units_and_catches_what_only_looks_fine() -> None:
    caption = "Figure 4. Tensile tests of 1,000 fibres: strength 0.50 GPa at 20 °C; 12 samples failed."
    items = [
        qa("How many fibres were tested?", "One thousand, written 1000 in the text, were tested."),
        qa("What strength did the fibres reach?", "They reached about 0.5 GPa at room temperature."),
        qa("What strength did the fibres reach here?", "They reached about 0.5 MPa in these tests."),
        qa("What does Figure 4 show about strength?", "It shows tensile strength of silk fibres."),
        qa("What is the failure count?", "As an AI language model, I cannot see the image, but maybe."),
        qa("How many samples failed the test?", "How many samples failed the test?"),
    ]
    parsed = filter_qa(items, caption, [])
    assert [item["query"] for item in parsed.qa] == [items[0]["query"], items[1]["query"]]
    reasons = " | ".join(parsed.dropped)
    assert "units differ from the source: 0.5 MPa (source: 0.50 GPa)" in reasons
    assert (
        "names the figure's label" in reasons and "refusal" in reasons and "repeats the question" in reasons
    )


def test_with_the_image_and_no_judge_unverifiable_numbers_are_dropped_unless_kept() -> None:
    """A value read off the image and an invented one look alike to text: without a judge the safe
    default drops both; numbers the sources do state are still checked for their unit."""
    read_off = qa("Where does the curve peak?", "The curve peaks near 730 MPa before it falls.")
    wrong_unit = qa("Where does the fibre yield?", "It yields near 0.5 MPa, as the caption says.")
    stated = qa("Where does the fibre yield here?", "It yields near 500 MPa on the slowest curve.")
    with pytest.raises(RefineError, match="numbers found in no source: 730 MPa"):
        filter_qa([read_off], CAPTION, MENTIONS)
    vision = FilterSettings(vision=True)
    parsed = filter_qa([read_off, wrong_unit, stated], CAPTION, MENTIONS, vision)
    assert parsed.qa == [stated]
    assert parsed.dropped == [
        "what: unverifiable number (vision without judge): 730 MPa",
        "what: units differ from the source: 0.5 MPa (source: 0.5 GPa)",
    ]
    kept = filter_qa([read_off, wrong_unit], CAPTION, MENTIONS, replace(vision, keep_unverified_numbers=True))
    assert kept.qa == [read_off] and kept.dropped == [
        "what: units differ from the source: 0.5 MPa (source: 0.5 GPa)"
    ]
    # with a judge the number no source states is its to score; the wrong unit is dropped all the same
    verdicts = {read_off["query"]: (5, "read off the axis"), wrong_unit["query"]: (5, "fine")}
    judged = filter_qa([read_off, wrong_unit], CAPTION, MENTIONS, vision, verdicts)
    assert judged.qa == [read_off] and "0.5 MPa (source: 0.5 GPa)" in judged.dropped[0]


def test_answers_and_questions_that_echo_the_prompt_are_dropped() -> None:
    messages = build_messages(
        "Figure 2", CAPTION, MENTIONS, 4, profile=PROFILES["science"], figure_type="plot"
    )
    instructions = instruction_text(messages, "Figure 2", CAPTION, MENTIONS)
    assert "Stress-strain" not in instructions and "toughness" not in instructions
    assert "never invent numbers" in instructions
    items = [
        qa(
            "What should the answers be grounded in?",
            "Ground every answer in the caption, the citing sentences or the visible image: never invent "
            "numbers, names or results.",
        ),
        qa("What the figure shows (objects, quantities, conditions)?", "Stress-strain curves of silk."),
        qa("How to read it (axes, panels, scale bars, legends, colours)?", "Strain runs along the x axis."),
        qa("What does the figure show?", "Stress-strain curves of spider silk at three strain rates."),
        qa("How do you read the axes?", "Read the axes: strain is horizontal and stress vertical."),
    ]
    parsed = filter_qa(items, CAPTION, MENTIONS, instructions=instructions)
    assert parsed.qa == items[3:]
    assert parsed.dropped == [
        "what: prompt echo: the answer repeats the prompt's instructions",
        "what: prompt echo: the question repeats the prompt's instructions",
        "what: prompt echo: the question repeats the prompt's instructions",
    ]
    # the caption's own words are no echo, even where the prompt's wording has them too
    caption = "Figure 2. How to read it: axes, panels, scale bars and legends of the silk tests."
    answer = qa("What is labelled?", "How to read it: axes, panels, scale bars and legends, all labelled.")
    instructions = instruction_text(build_messages("Figure 2", caption, [], 2), "Figure 2", caption, [])
    assert echo_share(answer["answer"], set(trigrams(instructions))) >= 0.6  # were it not in the caption
    assert filter_qa([answer], caption, [], instructions=instructions).qa == [answer]


def test_worked_examples_answers_are_instructions_their_questions_are_not() -> None:
    example_answer = "Nacre tablets of aragonite slide past each other under tension."
    few_shot = (
        (
            "Figure label: Figure 1\nCaption: Nacre.",
            json.dumps({"qa": [qa("What does the figure show?", example_answer)]}),
        ),
    )
    profile = replace(PROFILES["science"], few_shot=few_shot)
    messages = build_messages("Figure 2", CAPTION, MENTIONS, 2, profile=profile)
    instructions = instruction_text(messages, "Figure 2", CAPTION, MENTIONS)
    items = [
        qa("What does the figure show?", "Stress-strain curves of spider silk at three strain rates."),
        qa("What do the tablets do?", example_answer),
    ]
    parsed = filter_qa(items, CAPTION, MENTIONS, instructions=instructions)
    assert parsed.qa == items[:1] and parsed.dropped == [
        "what: prompt echo: the answer repeats the prompt's instructions"
    ]


def test_judge_verdicts_decide_and_numbers_are_left_to_the_judge() -> None:
    from cephalo_ray.refine.parsing import parse_verdicts

    items = [
        qa("What strength do the fibres reach?", "About 1.2 GPa, read off the curve's maximum."),
        qa("What is the capital of France?", "Paris is the capital of France."),
    ]
    reply = '{"scores": [{"index": 0, "score": 5, "reason": "read off the plot"}, {"index": 1, "score": 1, "reason": "off topic"}]}'
    verdicts = parse_verdicts(reply, items)
    assert verdicts == {items[0]["query"]: (5, "read off the plot"), items[1]["query"]: (1, "off topic")}
    judged = filter_qa(items, "Figure 2. Stress-strain curves of silk.", [], verdicts=verdicts)
    assert judged.qa == items[:1] and judged.dropped == ["what: judge scored 1/5: off topic"]
    # without a judge the number found in no source is what drops the first answer
    with pytest.raises(RefineError, match="numbers found in no source: 1.2"):
        filter_qa(items[:1], "Figure 2. Stress-strain curves of silk.", [])
    for broken in (
        "not json",
        '{"scores": [{"index": 0, "score": 5}]}',
        '{"scores": [{"index": 0}, {"index": 1}]}',
    ):
        with pytest.raises(RefineError) as raised:
            parse_verdicts(broken, items)
        assert raised.value.kind == "Malformed"
