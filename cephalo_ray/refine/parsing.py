"""Teacher replies -> validated QA pairs, with a recorded reason for everything dropped. Pure.

Parsing is strict where the endpoint honoured a JSON schema and tolerant otherwise (code fences,
prose around the JSON, a bare list). Quality filters drop single pairs; a reply left with none is an
error with the reasons, never an empty row.

Numbers are checked as quantities (refine/quantities.py): an answer's value and unit must be stated
by the caption or the citing sentences, in any unit of the same family ("500 MPa" for "0.5 GPa").
A number the sources write with another unit is always dropped. A number they state nowhere is
dropped as "numbers found in no source"; with `--vision` it may have been read off the image, which
text cannot check: a judge scores it when there is one, and without a judge it is dropped as
"unverifiable number (vision without judge)" unless `keep_unverified_numbers` keeps it unchecked.

Answers and questions that repeat the prompt's own instructions (its system prompt, worked examples
and request wording; not this figure's caption and citing sentences) are dropped as "prompt echo".
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cephalo_ray.refine.prompts import QA_KINDS
from cephalo_ray.refine.quantities import MISMATCH, UNKNOWN, ground, read_quantities

MALFORMED = "Malformed"
REFUSED = "Refused"
EMPTY = "Empty"
FILTERED = "Filtered"
TRUNCATED = "Truncated"

REFUSAL = re.compile(
    r"^\s*(?:i'?m sorry|i am sorry|sorry,|i can(?:no|')t|i cannot|i am unable|i'm unable|as an ai)",
    re.IGNORECASE,
)
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
    vision: bool = False  # the teacher saw the image: a number may come from it, not the text
    judge_min_score: int = 4  # with a judge: answers it scores lower (1-5) are dropped
    keep_unverified_numbers: bool = False  # vision without a judge: keep numbers no source states
    echo_threshold: float = 0.6  # share of word trigrams taken from the prompt's instructions


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


def trigrams(text: str) -> list[tuple[str, str, str]]:
    tokens = words(text)
    return list(zip(tokens, tokens[1:], tokens[2:], strict=False))


def echo_share(text: str, instruction_grams: Collection[tuple[str, str, str]]) -> float:
    """Share of the text's word trigrams that come from the prompt's instructions; 0 when fewer
    than two do (one common phrase is no echo)."""
    grams = trigrams(text)
    echoed = sum(gram in instruction_grams for gram in grams)
    return echoed / len(grams) if echoed >= 2 else 0.0


def filter_qa(
    qa: Sequence[dict[str, str]],
    caption: str | None,
    mentions: Sequence[str],
    settings: FilterSettings = FilterSettings(),
    verdicts: Mapping[str, tuple[int, str]] | None = None,
    instructions: str | None = None,
) -> ParsedReply:
    """Drop pairs that are too short or long, repeat a question, echo the prompt's `instructions`
    (prompts.instruction_text), only restate the caption, refuse, name the label, cite numbers the
    sources state with another unit or not at all (see the module docstring), and pairs a judge
    scored below the threshold (`verdicts`: question -> score and reason); keep the reason for each.

    Raises:
        RefineError: `Filtered`, with every reason, when no pair survives.
    """
    sources = " ".join([caption or "", *mentions])
    source_quantities = read_quantities(sources)
    echo_grams = set(trigrams(instructions or "")) - set(trigrams(sources))
    kept: list[dict[str, str]] = []
    dropped: list[str] = []
    seen_questions: set[str] = set()
    for item in qa:
        query, answer = item["query"], item["answer"]
        normalised_query = " ".join(words(query))
        numbers = ground(read_quantities(answer), source_quantities)
        wrong = list(dict.fromkeys(n.detail for n in numbers if n.status == MISMATCH))
        unknown = list(dict.fromkeys(n.detail for n in numbers if n.status == UNKNOWN))
        echoed = [
            name
            for name, text in (("question", query), ("answer", answer))
            if echo_share(text, echo_grams) >= settings.echo_threshold
        ]
        reason = None
        if not settings.min_question_chars <= len(query) <= settings.max_question_chars:
            reason = f"question length {len(query)} outside [{settings.min_question_chars}, {settings.max_question_chars}]"
        elif not settings.min_answer_chars <= len(answer) <= settings.max_answer_chars:
            reason = f"answer length {len(answer)} outside [{settings.min_answer_chars}, {settings.max_answer_chars}]"
        elif normalised_query in seen_questions:
            reason = "duplicate question"
        elif echoed:
            verb = "repeats" if len(echoed) == 1 else "repeat"
            reason = f"prompt echo: the {' and the '.join(echoed)} {verb} the prompt's instructions"
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
        elif wrong:  # checked with a judge too: a value the sources state in another unit is wrong
            reason = f"units differ from the source: {', '.join(wrong[:3])}"
        elif unknown and verdicts is None and not settings.vision:
            reason = f"numbers found in no source: {', '.join(unknown[:5])}"
        elif unknown and verdicts is None and not settings.keep_unverified_numbers:
            # maybe read off the image, but nothing checked it: a judge would
            reason = f"unverifiable number (vision without judge): {', '.join(unknown[:5])}"
        if reason:
            dropped.append(f"{item['kind']}: {reason}")
            continue
        seen_questions.add(normalised_query)
        kept.append(item)
    if not kept:
        raise RefineError(FILTERED, "; ".join(dropped) or "no pairs")
    return ParsedReply(kept, dropped)


def llava_conversations(qa: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """LLaVA's conversation list; the image token opens the first human turn."""
    turns: list[dict[str, str]] = []
    for index, item in enumerate(qa):
        question = f"<image>\n{item['query']}" if index == 0 else item["query"]
        turns.append({"from": "human", "value": question})
        turns.append({"from": "gpt", "value": item["answer"]})
    return turns
