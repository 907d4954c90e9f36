"""Prompts as configuration: the field, question kinds, language and worked examples, and questions
routed by figure type."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from cephalo_ray.jobs.refine_pairs import PromptConfig
from cephalo_ray.refine.figure_types import figure_type
from cephalo_ray.refine.prompts import PROFILES, build_messages, response_schema


@pytest.mark.parametrize(
    ("kind", "caption", "graphics", "expected"),
    [
        ("table", "Table 2. Patient characteristics.", "vector", "table"),
        (
            "figure",
            "Figure 3. SEM micrographs of the fracture surface; scale bar 10 µm.",
            "raster",
            "micrograph",
        ),
        ("figure", "Fig. 1 Photographs of the test rig.", "raster", "micrograph"),
        ("figure", "Figure 1. Schematic of the experimental set-up.", "mixed", "diagram"),
        ("figure", "Figure 5. Overview of the proposed pipeline.", "vector", "diagram"),
        ("figure", "Figure 4. Stress versus strain for three fibres.", "vector", "plot"),
        ("figure", "Figure 6. XRD patterns of the annealed films.", "raster", "plot"),
        ("figure", "Figure 7. Results.", "vector", "plot"),  # drawn, no cue: charts mostly are
        ("figure", "Figure 8. Results.", "raster", "other"),
    ],
)
def test_figure_types_from_kind_caption_and_graphics(
    kind: str, caption: str, graphics: str, expected: str
) -> None:
    assert figure_type(kind, caption, graphics) == expected


def test_the_neutral_default_and_the_materials_profile() -> None:
    science = build_messages("Figure 1", "Figure 1. Dose response.", [], 4, profile=PROFILES["science"])
    materials = build_messages("Figure 1", "Figure 1. Dose response.", [], 4, profile=PROFILES["materials"])
    assert "materials" not in science[0]["content"] and "science and engineering" in science[0]["content"]
    assert "materials science" in materials[0]["content"]
    assert "- significance:" in science[-1]["content"] and "designing materials" not in science[-1]["content"]
    assert "- design: its relevance for designing materials" in materials[-1]["content"]
    assert PROFILES["science"].version != PROFILES["materials"].version  # a new profile is asked again


def test_questions_suit_the_figure_type() -> None:
    profile = PROFILES["science"]
    table = build_messages("Table 1", "Table 1. Cohort.", [], 2, profile=profile, figure_type="table")[-1][
        "content"
    ]
    plot = build_messages("Figure 2", "Figure 2. Curves.", [], 2, profile=profile, figure_type="plot")[-1][
        "content"
    ]
    assert "Figure type: table" in table and "- comparison:" in table and "- trend:" not in table
    assert "- trend:" in plot and "- comparison:" not in plot
    assert (
        len([line for line in table.splitlines() if line.startswith("- ")]) == 3
    )  # 2 kinds + the no-mention line
    schema_kinds = response_schema(4, profile.all_kinds())["properties"]["qa"]["items"]["properties"]["kind"][
        "enum"
    ]
    assert {"trend", "features", "process", "comparison", "what"} <= set(schema_kinds)
    unrouted = PromptConfig(route_by_figure_type=False).profile_of()
    assert (
        "- trend:" not in build_messages("F", "c", [], 4, profile=unrouted, figure_type="plot")[-1]["content"]
    )


def test_domain_kinds_language_and_worked_examples_from_config() -> None:
    config = PromptConfig.model_validate(
        {
            "domain": "clinical medicine",
            "language": "Portuguese",
            "kinds": {"what": "what is shown", "clinical": "what it means for patients"},
            "few_shot": [
                {
                    "caption": "Figure 1. Survival by stage.",
                    "figure_type": "plot",
                    "qa": [
                        {"kind": "clinical", "query": "Who survives longest?", "answer": "Stage I patients."}
                    ],
                }
            ],
        }
    )
    profile = config.profile_of()
    messages = build_messages("Figure 2", "Figure 2. Dose.", [], 2, profile=profile, figure_type="other")
    assert [message["role"] for message in messages] == ["system", "user", "assistant", "user"]
    assert "clinical medicine" in messages[0]["content"] and "in Portuguese" in messages[0]["content"]
    assert "Figure 1. Survival by stage." in messages[1]["content"] and "- trend:" in messages[1]["content"]
    assert json.loads(messages[2]["content"])["qa"][0]["kind"] == "clinical"
    assert "- clinical: what it means for patients" in messages[3]["content"]
    assert profile.version != PROFILES["science"].version
    with pytest.raises(ValidationError, match=r"few_shot\[0\].qa: kind 'design'"):
        PromptConfig.model_validate(
            {"few_shot": [{"caption": "c", "qa": [{"kind": "design", "query": "q", "answer": "a"}]}]}
        )
