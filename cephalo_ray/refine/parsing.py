"""Teacher replies -> validated QA pairs, with a recorded reason for everything dropped. Pure.

Parsing is strict where the endpoint honoured a JSON schema and tolerant otherwise (code fences,
prose around the JSON, a bare list). Quality filters drop single pairs; a reply left with none is an
error with the reasons, never an empty row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cephalo_ray.refine.prompts import QA_KINDS

MALFORMED = "Malformed"
REFUSED = "Refused"
EMPTY = "Empty"
FILTERED = "Filtered"
TRUNCATED = "Truncated"

REFUSAL = re.compile(
    r"^\s*(?:i'?m sorry|i am sorry|sorry,|i can(?:no|')t|i cannot|i am unable|i'm unable|as an ai)",
    re.IGNORECASE,
)
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)*(?![\w])")
WORD = re.compile(r"[a-z0-9]+")
# A refusal or a disclaimer anywhere in an answer (a teacher that cannot see the image says so inside the JSON).
REFUSAL_INSIDE = re.compile(
    r"\b(?:as an ai(?: language model)?|i (?:cannot|can't|am unable to|'m unable to) (?:see|view|access|determine)"
    r"|i do(?: not|n't) have (?:access to )?the (?:image|figure)|without (?:seeing|access to) the (?:image|figure))\b",
    re.IGNORECASE,
)
# The prompt asks for questions that stand alone: naming "Figure 3" or "Table 2" breaks that.
LABEL_IN_QUESTION = re.compile(
    r"\b(?:fig(?:ure)?s?|tables?|schemes?|charts?|plates?)\.?\s*(?:S|[A-Z]\.)?\d+", re.IGNORECASE
)
# A unit right after a number: an SI prefix and a base unit, or a symbol (0.5 GPa, 20 nm, 37 °C, 40 %).
UNIT = re.compile(
    r"(?:[yzafpnuµμmcdkMGTPE]?(?:Pa|m|g|s|Hz|J|W|V|A|K|N|L|M|mol|eV|Da|bp|B|Ω|S|T|C|F|rpm|wt|at)|°C|°F|%|‰)"
)
NUMBER_WITH_UNIT = re.compile(r"(?<![\w.])([-+]?\d+(?:[.,]\d+)*)\s?(%|‰|°C|°F|[A-Za-zµμΩ°]+)?(?![\w])")


class RefineError(Exception):
    """A reply that yields no usable QA, with a fixed kind and the reason."""

    def __init__(self, kind: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.retry_after_s = retry_after_s  # what the endpoint asked for (Retry-After), if anything


@dataclass(frozen=True)
class FilterSettings:
    min_question_chars: int = 10
    max_question_chars: int = 400
    min_answer_chars: int = 20
    max_answer_chars: int = 2000
    restate_threshold: float = 0.9  # token overlap with the caption above which an answer adds nothing
    vision: bool = False  # the teacher saw the image: values read off its axes need no text source
    judge_min_score: int = 4  # with a judge: answers it scores lower (1-5) are dropped


@dataclass
class ParsedReply:
    qa: list[dict[str, str]]
    dropped: list[str] = field(default_factory=list)  # "kind: reason" per pair filtered out


def extract_json(text: str) -> Any:
    """The first JSON value in `text`, tolerating code fences and prose around it."""
    cleaned = re.sub(r"^```(?:json)?\s*|\s*```\s*$", "", text.strip(), flags=re.IGNORECASE)
    try:
        return json.loads(cleaned)
    except json.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", cleaned):
        try:
            value, _ = decoder.raw_decode(cleaned[match.start() :])
            return value
        except json.JSONDecodeError:
            continue
    raise RefineError(MALFORMED, f"no JSON in the reply (starts {text.strip()[:80]!r})")


def parse_reply(
    text: str | None,
    finish_reason: str | None = None,
    refusal: str | None = None,
    kinds: Collection[str] = QA_KINDS,
) -> list[dict[str, str]]:
    """Validated QA items of a reply (kind, query, answer), before quality filters.

    Raises:
        RefineError: `Refused`, `Truncated`, `Empty` or `Malformed`, with the reason.
    """
    if refusal:
        raise RefineError(REFUSED, refusal[:300])
    if finish_reason == "content_filter":
        raise RefineError(REFUSED, "the endpoint's content filter stopped the reply")
    if not text or not text.strip():
        raise RefineError(EMPTY, "the reply has no text")
    if REFUSAL.match(text):
        raise RefineError(REFUSED, text.strip()[:300])
    try:
        value = extract_json(text)
    except RefineError:
        if finish_reason == "length":
            raise RefineError(TRUNCATED, "the reply hit max_tokens before its JSON closed") from None
        raise
    items = value.get("qa") if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise RefineError(MALFORMED, 'the JSON has no "qa" list')
    qa = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise RefineError(MALFORMED, f"qa[{index}] is not an object")
        query = item.get("query") or item.get("question")
        answer = item.get("answer")
        if not isinstance(query, str) or not isinstance(answer, str):
            raise RefineError(MALFORMED, f"qa[{index}] lacks a string query and answer")
        kind = item.get("kind") if item.get("kind") in kinds else "what"
        qa.append({"kind": str(kind), "query": query.strip(), "answer": answer.strip()})
    if not qa:
        raise RefineError(EMPTY, "the reply holds no QA pairs")
    return qa


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def overlap(answer: str, source: str) -> float:
    """Share of the answer's words that the source also has."""
    answer_words = words(answer)
    if not answer_words:
        return 1.0
    source_words = set(words(source))
    return sum(word in source_words for word in answer_words) / len(answer_words)


def number_value(text: str) -> str:
    """One spelling per value: "1,000" and "1000", "0.50" and "0.5", "0,5" and "0.5" agree."""
    from decimal import Decimal, InvalidOperation

    digits = text.lstrip("+")
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", digits):
        digits = digits.replace(",", "")  # thousands separators
    else:
        digits = digits.replace(",", ".")  # a decimal comma
    try:
        value = Decimal(digits).normalize()
    except InvalidOperation:
        return digits
    return format(value, "f")


def numbers_in(text: str) -> set[str]:
    return {number_value(number) for number in NUMBER.findall(text)}


def units_by_number(text: str) -> dict[str, set[str]]:
    """Each number's value -> the units written right after it in `text` (only tokens that are units)."""
    units: dict[str, set[str]] = {}
    for number, unit in NUMBER_WITH_UNIT.findall(text):
        if unit and UNIT.fullmatch(unit):
            units.setdefault(number_value(number), set()).add(unit)
    return units


def parse_verdicts(text: str | None, qa: Sequence[dict[str, str]]) -> dict[str, tuple[int, str]]:
    """A judge's reply -> question -> (score 1-5, reason), for the QA it was shown (by position).

    Raises:
        RefineError: `Malformed` when the reply is not the judge's JSON or scores too few items.
    """
    try:
        value = extract_json(text or "")
    except RefineError as error:
        raise RefineError(MALFORMED, f"the judge's reply: {error.message}") from None
    scores = value.get("scores") if isinstance(value, dict) else None
    if not isinstance(scores, list) or len(scores) < len(qa):
        raise RefineError(MALFORMED, f"the judge scored {len(scores or [])} of {len(qa)} pairs")
    verdicts: dict[str, tuple[int, str]] = {}
    for position, item in enumerate(qa):
        entry = next(
            (score for score in scores if isinstance(score, dict) and score.get("index") == position),
            scores[position],
        )
        raw = entry.get("score") if isinstance(entry, dict) else None
        if not isinstance(raw, (int, float, str)) or not str(raw).strip().lstrip("-").isdigit():
            raise RefineError(MALFORMED, f"the judge gave no score for pair {position}")
        score = max(1, min(5, int(raw)))
        verdicts[item["query"]] = (score, str(entry.get("reason") or "")[:200])
    return verdicts


def filter_qa(
    qa: Sequence[dict[str, str]],
    caption: str | None,
    mentions: Sequence[str],
    settings: FilterSettings = FilterSettings(),
    verdicts: Mapping[str, tuple[int, str]] | None = None,
) -> ParsedReply:
    """Drop pairs that are too short or long, repeat a question, only restate the caption, or cite
    numbers found in none of the sources, and pairs a judge scored below the threshold (`verdicts`:
    question -> score and reason); keep the reason for each. With a judge, numbers and units are
    left to it: it sees the sources (and the image) and can tell a value read off an axis.

    Raises:
        RefineError: `Filtered`, with every reason, when no pair survives.
    """
    sources = " ".join([caption or "", *mentions])
    known_numbers = numbers_in(sources)
    source_units = units_by_number(sources)
    kept: list[dict[str, str]] = []
    dropped: list[str] = []
    seen_questions: set[str] = set()
    for item in qa:
        query, answer = item["query"], item["answer"]
        normalised_query = " ".join(words(query))
        reason = None
        if not settings.min_question_chars <= len(query) <= settings.max_question_chars:
            reason = f"question length {len(query)} outside [{settings.min_question_chars}, {settings.max_question_chars}]"
        elif not settings.min_answer_chars <= len(answer) <= settings.max_answer_chars:
            reason = f"answer length {len(answer)} outside [{settings.min_answer_chars}, {settings.max_answer_chars}]"
        elif normalised_query in seen_questions:
            reason = "duplicate question"
        elif (
            caption
            and overlap(answer, caption) >= settings.restate_threshold
            and overlap(caption, answer) >= 0.6
        ):
            reason = "answer only restates the caption"
        elif REFUSAL_INSIDE.search(answer) or REFUSAL.match(answer):
            reason = "the answer is a refusal or a disclaimer"
        elif LABEL_IN_QUESTION.search(query):
            reason = "the question names the figure's label"
        elif overlap(answer, query) >= 0.9 and overlap(query, answer) >= 0.9:
            reason = "the answer repeats the question"
        elif verdicts is not None and query in verdicts and verdicts[query][0] < settings.judge_min_score:
            score, why = verdicts[query]
            reason = f"judge scored {score}/5: {why}"
        elif (
            verdicts is None
            and not settings.vision
            and (unknown := sorted(numbers_in(answer) - known_numbers))
        ):
            reason = f"numbers found in no source: {', '.join(unknown[:5])}"
        elif verdicts is None and (wrong := unit_mismatches(answer, source_units)):
            reason = f"units differ from the source: {', '.join(wrong[:3])}"
        if reason:
            dropped.append(f"{item['kind']}: {reason}")
            continue
        seen_questions.add(normalised_query)
        kept.append(item)
    if not kept:
        raise RefineError(FILTERED, "; ".join(dropped) or "no pairs")
    return ParsedReply(kept, dropped)


def unit_mismatches(answer: str, source_units: dict[str, set[str]]) -> list[str]:
    """ "0.5 MPa (source: GPa)" for each number the sources write with units, but never with this one."""
    wrong = []
    for value, units in units_by_number(answer).items():
        written = source_units.get(value)
        if written and not units & written:
            wrong.append(f"{value} {'/'.join(sorted(units))} (source: {'/'.join(sorted(written))})")
    return wrong


def llava_conversations(qa: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """LLaVA's conversation list; the image token opens the first human turn."""
    turns: list[dict[str, str]] = []
    for index, item in enumerate(qa):
        question = f"<image>\n{item['query']}" if index == 0 else item["query"]
        turns.append({"from": "human", "value": question})
        turns.append({"from": "gpt", "value": item["answer"]})
    return turns
