"""A refine root with known questions, and hand-made answers whose scores are worked out by hand."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from cephalo_ray.evaluate.scores import build_questions
from cephalo_ray.rows import refined_schema
from cephalo_ray.samples import gradient_png
from cephalo_ray.storage import Storage
from tests.helpers.roots import write_root

LONG_ANSWER = "A silk fibre embedded in a collagen matrix under tension."
ROWS: list[dict[str, Any]] = [
    {
        "pair_id": "a" * 16,
        "caption": "Figure 1. Spider silk fibre with collagen matrix.",
        "qa": [("What material is shown?", "spider silk"), ("Describe the figure.", LONG_ANSWER)],
    },
    {
        "pair_id": "b" * 16,
        "caption": "Figure 2. Graphene sheet and steel beam.",
        "qa": [("What is the beam made of?", "steel")],
    },
]
# The scores of HANDMADE_ANSWERS, worked out by hand:
#   short answers: "Spider silk." is exact; "It is made of steel" only contains "steel" -> exact 0.5, contains 1.0
#   token F1: 1.0, 1/3 (P 1/5, R 1), 2/3 (silk fibre in matrix: P 4/4, R 4/8) -> mean 2/3; ROUGE-L the same here
#   POPE: A yes-probe "yes" (right), A no-probe "yes" (wrong), B yes-probe "no" (wrong), B no-probe "No." (right)
#         -> accuracy 0.5, precision 1/2, recall 1/2, F1 0.5, yes-ratio 0.5
EXPECTED = {
    "exact_match": 0.5,
    "contains": 1.0,
    "token_f1": 0.6667,
    "rouge_l": 0.6667,
    "pope_accuracy": 0.5,
    "pope_precision": 0.5,
    "pope_recall": 0.5,
    "pope_f1": 0.5,
    "pope_yes_ratio": 0.5,
    "pope_unanswered": 0,
    "qa_questions": 3,
    "short_answers": 2,
    "pope_questions": 4,
}


def refined_rows() -> list[dict[str, Any]]:
    return [
        {
            "pair_id": row["pair_id"],
            "doc_id": f"doc-{number}",
            "split": "val",
            "kind": "figure",
            "label": f"Figure {number + 1}",
            "image": gradient_png(40, 40, number),
            "orig_caption": row["caption"],
            "pdf_name": f"paper-{number}.pdf",
            "qa": [{"kind": "what", "query": query, "answer": answer} for query, answer in row["qa"]],
            "conversations": [
                {"from": "human", "value": f"<image>\n{row['qa'][0][0]}"},
                {"from": "gpt", "value": row["qa"][0][1]},
            ],
            "teacher": "template",
            "model": "template",
            "prompt_version": "qa-v1",
            "cache_key": f"key-{number}",
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0},
            "dropped": [],
        }
        for number, row in enumerate(ROWS)
    ]


def write_eval_root(storage: Storage, root: str) -> None:
    table = pa.Table.from_pylist(refined_rows(), schema=refined_schema())
    write_root(
        storage, root, "refine", "refined", table, ("errors", "done"), {"pairs_ok": len(ROWS)}, "complete"
    )


def handmade_answers(probes_per_image: int = 1) -> dict[str, str]:
    """id -> answer, for the questions `cephalo eval` builds from these rows (pope_per_image=1)."""
    answers = {}
    for question in build_questions(refined_rows(), probes_per_image, seed=0):
        first_image = question["pair_id"] == "a" * 16
        if question["kind"] == "qa":
            answers[question["id"]] = {
                "What material is shown?": "Spider silk.",
                "Describe the figure.": "a silk fibre in a matrix",
                "What is the beam made of?": "It is made of steel",
            }[question["question"]]
        elif question["reference"] == "yes":
            answers[question["id"]] = "Yes, there is." if first_image else "no"
        else:
            answers[question["id"]] = "yes" if first_image else "No."
    return answers
