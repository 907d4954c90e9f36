"""Scores of model answers on held-out questions. Pure functions, no model.

- Short answers (the teacher's answer has at most N words): exact match and "contains" after
  normalisation (NFKC, lower case, punctuation and articles removed), as in VQA scoring.
- Every answer: token F1 and ROUGE-L against the teacher's answer.
- A POPE-style probe (Li et al. 2023): "Is there a X in the image?" for objects the caption names
  (answer yes) and objects named only in other captions (answer no): accuracy, precision, recall,
  F1 and the share of "yes" answers (a model that always agrees scores 0.5 accuracy, yes-ratio 1).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cephalo_ray.metrics import contains, exact_match, normalize, rouge_l, token_f1

STOPWORDS = set(
    """about above after again against also among and are around because been before being below between
    both but can could does doing down during each figure figures from further have having here into its
    itself more most other over panel panels same shown shows should some such than that their them then
    there these they this those through under until using very were what when where which while with would
    your show image images left right top bottom inset plot plots curve curves data value values""".split()
)


def yes_no(answer: str) -> str | None:
    """ "yes", "no", or None when the answer is neither."""
    words = normalize(answer).split()
    if not words:
        return None
    if words[0] in ("yes", "no"):
        return words[0]
    found = {word for word in words[:6] if word in ("yes", "no")}
    return found.pop() if len(found) == 1 else None


def caption_objects(caption: str) -> list[str]:
    """Content words a caption names (candidate objects), in order, without repeats."""
    text = re.sub(
        r"^(fig(ure)?|table|extended data fig(ure)?)\.?\s*[a-z]?\d+[a-z]?[.:|]?", "", normalize(caption)
    )
    seen: dict[str, None] = {}
    for word in text.split():
        if len(word) >= 4 and word.isalpha() and word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


def question_id(pair_id: str, kind: str, question: str) -> str:
    return hashlib.sha256(f"{pair_id}\n{kind}\n{question}".encode()).hexdigest()[:16]


def pope_question(word: str) -> str:
    return f"Is there a {word} in the image? Answer yes or no."


def build_questions(
    rows: Sequence[Mapping[str, Any]], probes_per_image: int = 3, seed: int = 0
) -> list[dict[str, Any]]:
    """The evaluation questions of val rows (`pair_id`, `qa`, `orig_caption`): every teacher QA,
    plus POPE probes with as many "no" as "yes" questions per image."""
    questions: list[dict[str, Any]] = []
    objects = {row["pair_id"]: caption_objects(row.get("orig_caption") or "") for row in rows}
    frequency = Counter(word for words in objects.values() for word in words)
    rng = random.Random(seed)
    for row in rows:
        for item in row.get("qa") or []:
            query, answer = item["query"], item["answer"]
            questions.append(
                {
                    "id": question_id(row["pair_id"], "qa", query),
                    "pair_id": row["pair_id"],
                    "kind": "qa",
                    "question": query,
                    "reference": answer,
                }
            )
        named = objects[row["pair_id"]]
        absent = sorted(
            (word for word in frequency if word not in named), key=lambda word: (-frequency[word], word)
        )
        count = min(probes_per_image, len(named), len(absent))
        positives = named[:count]
        negatives = rng.sample(absent[: max(count * 3, count)], count) if count else []
        for word, label in [(word, "yes") for word in positives] + [(word, "no") for word in negatives]:
            question = pope_question(word)
            questions.append(
                {
                    "id": question_id(row["pair_id"], "pope", question),
                    "pair_id": row["pair_id"],
                    "kind": "pope",
                    "question": question,
                    "reference": label,
                }
            )
    return questions


def score(
    questions: Iterable[Mapping[str, Any]], answers: Mapping[str, str], short_answer_words: int = 5
) -> dict[str, Any]:
    """Scores of one model: `answers` maps question id -> the model's answer (missing = empty)."""
    qa = [question for question in questions if question["kind"] == "qa"]
    pope = [question for question in questions if question["kind"] == "pope"]
    short = [
        question for question in qa if 0 < len(normalize(question["reference"]).split()) <= short_answer_words
    ]

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    said = {question["id"]: yes_no(answers.get(question["id"], "")) for question in pope}
    true_yes = sum(1 for question in pope if question["reference"] == "yes" and said[question["id"]] == "yes")
    predicted_yes = sum(1 for question in pope if said[question["id"]] == "yes")
    actual_yes = sum(1 for question in pope if question["reference"] == "yes")
    precision = true_yes / predicted_yes if predicted_yes else 0.0
    recall = true_yes / actual_yes if actual_yes else 0.0
    return {
        "qa_questions": len(qa),
        "short_answers": len(short),
        "exact_match": mean([float(exact_match(answers.get(q["id"], ""), q["reference"])) for q in short]),
        "contains": mean([float(contains(answers.get(q["id"], ""), q["reference"])) for q in short]),
        "token_f1": mean([token_f1(answers.get(q["id"], ""), q["reference"]) for q in qa]),
        "rouge_l": mean([rouge_l(answers.get(q["id"], ""), q["reference"]) for q in qa]),
        "pope_questions": len(pope),
        "pope_accuracy": mean([float(said[q["id"]] == q["reference"]) for q in pope]),
        "pope_precision": round(precision, 4) if pope else None,
        "pope_recall": round(recall, 4) if pope else None,
        "pope_f1": round(2 * precision * recall / (precision + recall), 4)
        if precision + recall
        else (0.0 if pope else None),
        "pope_yes_ratio": round(predicted_yes / len(pope), 4) if pope else None,
        "pope_unanswered": sum(1 for value in said.values() if value is None),
    }


COLUMNS = (
    ("exact_match", "exact"),
    ("contains", "contains"),
    ("token_f1", "token F1"),
    ("rouge_l", "ROUGE-L"),
    ("pope_accuracy", "POPE acc"),
    ("pope_f1", "POPE F1"),
    ("pope_yes_ratio", "yes ratio"),
)


def markdown_table(scores: Mapping[str, Mapping[str, Any]]) -> str:
    """Models side by side, one row each."""

    def cell(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    header = "| model | " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|---|" + "---|" * len(COLUMNS)
    lines = [header, rule]
    for model, values in scores.items():
        lines.append(f"| {model} | " + " | ".join(cell(values.get(key)) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)
