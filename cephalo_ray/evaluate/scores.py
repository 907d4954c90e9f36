"""Scores of model answers on held-out questions. Pure functions, no model.

- Short answers (the teacher's answer has at most N words): exact match and "contains" after
  normalisation (NFKC, lower case, punctuation and articles removed), as in VQA scoring.
- Every answer: token F1 and ROUGE-L against the teacher's answer.
- A POPE-style probe (Li et al. 2023): "Is there a X in the image?" for objects the caption names
  (answer yes) and objects named only in other captions (answer no): accuracy, precision, recall,
  F1 and the share of "yes" answers (a model that always agrees scores 0.5 accuracy, yes-ratio 1).
- Closed questions, which name their options ("... Answer bar, line or scatter."): exact match per
  question, beside what answering without the image scores: `chance` (a uniform guess among the
  options) and `majority` (the answer most images get to that question).
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


def short_questions(
    questions: Iterable[Mapping[str, Any]], short_answer_words: int = 5
) -> list[Mapping[str, Any]]:
    """The teacher questions scored by exact match: those whose reference is this short."""
    return [
        question
        for question in questions
        if question["kind"] == "qa"
        and 0 < len(normalize(question["reference"]).split()) <= short_answer_words
    ]


def mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def score(
    questions: Iterable[Mapping[str, Any]], answers: Mapping[str, str], short_answer_words: int = 5
) -> dict[str, Any]:
    """Scores of one model: `answers` maps question id -> the model's answer (missing = empty)."""
    questions = list(questions)
    qa = [question for question in questions if question["kind"] == "qa"]
    pope = [question for question in questions if question["kind"] == "pope"]
    short = short_questions(questions, short_answer_words)
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


def cell(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown_table(
    scores: Mapping[str, Mapping[str, Any]], baselines: Mapping[str, Mapping[str, Any]] | None = None
) -> str:
    """Models side by side, one row each, then the `baselines` rows (exact match only)."""
    header = "| model | " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|---|" + "---|" * len(COLUMNS)
    lines = [header, rule]
    for model, values in scores.items():
        lines.append(f"| {model} | " + " | ".join(cell(values.get(key)) for key, _ in COLUMNS) + " |")
    for name, values in (baselines or {}).items():
        lines.append(f"| *{name}* | " + " | ".join(cell(values.get(key)) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


OPTIONS = re.compile(r"\banswer ((?:[\w-]+, )*[\w-]+),? or ([\w-]+)\.?$", re.IGNORECASE)


def options_of(question: str) -> list[str]:
    """The answers a closed question offers, normalised ("... Answer bar, line or scatter." -> bar,
    line, scatter); [] for an open question."""
    match = OPTIONS.search(question.strip())
    if not match:
        return []
    return [normalize(option) for option in match.group(1).split(", ")] + [normalize(match.group(2))]


def exact_by_question(
    questions: Iterable[Mapping[str, Any]], answers: Mapping[str, str], short_answer_words: int = 5
) -> dict[str, float | None]:
    """Exact match of one model on each closed question (by its text), over the images it was asked of."""
    right: dict[str, list[float]] = {}
    for question in short_questions(questions, short_answer_words):
        if options_of(question["question"]):
            hit = exact_match(answers.get(question["id"], ""), question["reference"])
            right.setdefault(question["question"], []).append(float(hit))
    return {text: mean(values) for text, values in right.items()}


def baseline_scores(
    questions: Iterable[Mapping[str, Any]], short_answer_words: int = 5
) -> dict[str, dict[str, Any]]:
    """What answering without the image scores, as exact match over the same short answers as `score`
    (an open question counts 0) and per closed question (`by_question`): `chance`, a uniform guess
    among the options, and `majority`, the reference most images have for that question. Empty when
    no question is closed."""
    short = short_questions(questions, short_answer_words)
    closed = [question for question in short if options_of(question["question"])]
    if not closed:
        return {}
    references: dict[str, Counter[str]] = {}
    for question in closed:
        references.setdefault(question["question"], Counter())[normalize(question["reference"])] += 1
    majority = {text: counts.most_common(1)[0][0] for text, counts in references.items()}
    closed_ids = {question["id"] for question in closed}

    def guess(question: Mapping[str, Any]) -> float:
        options = options_of(question["question"])
        return 1 / len(options) if normalize(question["reference"]) in options else 0.0

    def most_common(question: Mapping[str, Any]) -> float:
        return float(majority.get(question["question"]) == normalize(question["reference"]))

    result = {}
    for name, value in (("chance", guess), ("majority", most_common)):
        by_question: dict[str, list[float]] = {}
        for question in closed:
            by_question.setdefault(question["question"], []).append(value(question))
        result[name] = {
            "exact_match": mean([value(q) if q["id"] in closed_ids else 0.0 for q in short]),
            "by_question": {text: mean(values) for text, values in by_question.items()},
        }
    return result


def closed_table(by_model: Mapping[str, Mapping[str, float | None]]) -> str:
    """Exact match per closed question (columns: the questions without their options, in alphabetical
    order), one row a model."""
    texts = sorted({text for values in by_model.values() for text in values})
    titles = [OPTIONS.sub("", text).strip() for text in texts]
    lines = ["| model | " + " | ".join(titles) + " |", "|---|" + "---|" * len(texts)]
    for model, values in by_model.items():
        lines.append(f"| {model} | " + " | ".join(cell(values.get(text)) for text in texts) + " |")
    return "\n".join(lines)
