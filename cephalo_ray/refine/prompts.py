"""Teacher prompts: a figure's caption and mentions (and optionally its image) in, a request for
grounded question/answer pairs of distinct kinds out. Pure; the version is stamped on every row.

Bump `PROMPT_VERSION` whenever the wording or schema changes: it is part of the cache key, so a new
version refines every pair again while an unchanged one sends nothing twice.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

PROMPT_VERSION = "qa-v2"
IMAGE_TOKEN = "<image>"

# Question kinds: (kind, what it asks about). A profile's own kinds come after the figure type's.
SCIENCE_KINDS = (
    ("what", "what the figure shows (objects, quantities, conditions)"),
    ("how_to_read", "how to read it (axes, panels, scale bars, legends, colours)"),
    ("mechanism", "the mechanism, method or reasoning behind what it shows"),
    ("significance", "what it shows for the paper's question, as the citing sentences put it"),
)
MATERIALS_KINDS = (
    ("what", "what the figure shows (objects, quantities, conditions)"),
    ("how_to_read", "how to read it (axes, panels, scale bars, legends, colours)"),
    ("mechanism", "the mechanism or physics behind what it shows"),
    ("design", "its relevance for designing materials or structures"),
)
TYPE_KINDS = {
    "plot": (("trend", "how the plotted quantities change and compare (directions, maxima, crossings)"),),
    "micrograph": (("features", "the structures visible in the image, their sizes and arrangement"),),
    "diagram": (("process", "the components or steps shown and how they connect"),),
    "table": (("comparison", "what the table compares and which entries stand out"),),
    "other": (),
}
QA_KINDS = tuple(
    dict.fromkeys(
        kind for kinds in (SCIENCE_KINDS, MATERIALS_KINDS, *TYPE_KINDS.values()) for kind, _ in kinds
    )
)


@dataclass(frozen=True)
class PromptProfile:
    """What the teacher is asked: the field, the question kinds, the language and worked examples.

    Args:
        domain: the field named in the system prompt ("materials science, biology and engineering").
        kinds: (kind, description) asked for every figure, in order.
        language: the language of questions and answers.
        few_shot: (user prompt, reply JSON) examples sent before each request.
        route_by_figure_type: ask the kinds that suit the figure's type first (figure_types.py).
    """

    domain: str = "science and engineering"
    kinds: tuple[tuple[str, str], ...] = SCIENCE_KINDS
    language: str = "English"
    few_shot: tuple[tuple[str, str], ...] = ()
    route_by_figure_type: bool = True

    def kinds_for(self, figure_type: str) -> list[tuple[str, str]]:
        typed = TYPE_KINDS.get(figure_type, ()) if self.route_by_figure_type else ()
        return list(dict(list(typed) + list(self.kinds)).items())

    def all_kinds(self) -> list[str]:
        typed = (
            [kind for kinds in TYPE_KINDS.values() for kind, _ in kinds] if self.route_by_figure_type else []
        )
        return list(dict.fromkeys([*(kind for kind, _ in self.kinds), *typed]))

    @property
    def version(self) -> str:
        """PROMPT_VERSION and a digest of this profile: part of every cache key."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:8]
        return f"{PROMPT_VERSION}-{digest}"

    def system_prompt(self) -> str:
        return (
            f"You write training data for a vision-language model of {self.domain}. "
            "You see one figure of a scientific paper through its caption, the sentences of the paper that "
            "cite it, and sometimes the image. Write question/answer pairs a student could answer by looking "
            "at the figure. Ground every answer in the caption, the citing sentences or the visible image: "
            "never invent numbers, names or results. Questions must not quote the figure label. Answer in "
            f"full sentences, in {self.language}."
        )


PROFILES = {
    "science": PromptProfile(),
    "materials": PromptProfile(domain="materials science, biology and engineering", kinds=MATERIALS_KINDS),
}


def response_schema(qa_per_pair: int, kinds: Sequence[str] = QA_KINDS) -> dict[str, Any]:
    """JSON schema of a teacher's reply, for endpoints that support `response_format: json_schema`."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["qa"],
        "properties": {
            "qa": {
                "type": "array",
                "minItems": 1,
                "maxItems": qa_per_pair,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["kind", "query", "answer"],
                    "properties": {
                        "kind": {"type": "string", "enum": list(kinds)},
                        "query": {"type": "string"},
                        "answer": {"type": "string"},
                    },
                },
            }
        },
    }


JUDGE_SYSTEM_PROMPT = (
    "You check training data for a vision-language model. You see a figure of a scientific paper through "
    "its caption, the sentences of the paper that cite it and sometimes the image, and question/answer "
    "pairs written about it. Score each pair from 1 to 5 for how well the sources support its answer: 5 "
    "fully supported (values read off the image count when the image is shown), 4 supported with harmless "
    "wording, 3 partly supported, 2 mostly unsupported, 1 contradicted, invented or unrelated to the figure. "
    "Give a short reason."
)


def judge_messages(
    caption: str | None, mentions: Sequence[str], qa: Sequence[Mapping[str, str]], image_data_url: str | None
) -> list[dict[str, Any]]:
    """The judge's request: the sources and the numbered pairs."""
    cited = "\n".join(f"- {sentence}" for sentence in mentions) or "- (the paper's text does not cite it)"
    pairs = "\n".join(f"{index}. Q: {item['query']}\n   A: {item['answer']}" for index, item in enumerate(qa))
    text = (
        f"Caption: {caption or '(no caption)'}\nSentences citing it:\n{cited}\n\nPairs:\n{pairs}\n\n"
        'Reply with JSON only: {"scores": [{"index": 0, "score": 5, "reason": "..."}]}'
    )
    content: Any = text
    if image_data_url:
        content = [
            {"type": "image_url", "image_url": {"url": image_data_url}},
            {"type": "text", "text": text},
        ]
    return [{"role": "system", "content": JUDGE_SYSTEM_PROMPT}, {"role": "user", "content": content}]


def judge_schema(count: int) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["scores"],
        "properties": {
            "scores": {
                "type": "array",
                "minItems": count,
                "maxItems": count,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["index", "score", "reason"],
                    "properties": {
                        "index": {"type": "integer"},
                        "score": {"type": "integer", "minimum": 1, "maximum": 5},
                        "reason": {"type": "string"},
                    },
                },
            }
        },
    }


def user_prompt(
    label: str | None,
    caption: str | None,
    mentions: Sequence[str],
    qa_per_pair: int,
    profile: PromptProfile = PromptProfile(),
    figure_type: str = "other",
) -> str:
    kinds = profile.kinds_for(figure_type)[:qa_per_pair]
    wanted = "\n".join(f"- {kind}: {description}" for kind, description in kinds)
    cited = "\n".join(f"- {sentence}" for sentence in mentions) or "- (the paper's text does not cite it)"
    return (
        f"Figure label: {label or '(none)'}\n"
        f"Figure type: {figure_type}\n"
        f"Caption: {caption or '(no caption)'}\n"
        f"Sentences citing it:\n{cited}\n\n"
        f"Write {qa_per_pair} question/answer pairs, one of each kind below where the sources allow:\n{wanted}\n"
        'Reply with JSON only: {"qa": [{"kind": "...", "query": "...", "answer": "..."}]}'
    )


def build_messages(
    label: str | None,
    caption: str | None,
    mentions: Sequence[str],
    qa_per_pair: int,
    image_data_url: str | None = None,
    profile: PromptProfile = PromptProfile(),
    figure_type: str = "other",
) -> list[dict[str, Any]]:
    """Chat messages for one pair: the profile's system prompt, its worked examples as earlier turns,
    then this figure; the image goes in as an `image_url` part when given."""
    text = user_prompt(label, caption, mentions, qa_per_pair, profile, figure_type)
    content: Any = text
    if image_data_url:
        content = [
            {"type": "image_url", "image_url": {"url": image_data_url}},
            {"type": "text", "text": text},
        ]
    examples = [
        message
        for example_prompt, reply in profile.few_shot
        for message in ({"role": "user", "content": example_prompt}, {"role": "assistant", "content": reply})
    ]
    return [
        {"role": "system", "content": profile.system_prompt()},
        *examples,
        {"role": "user", "content": content},
    ]


def instruction_text(
    messages: Sequence[Mapping[str, Any]], label: str | None, caption: str | None, mentions: Sequence[str]
) -> str:
    """The prompt's own words in `messages`: the system prompt, the request's wording and the worked
    examples (their prompts and answers, not their questions: asking a question an example asks is
    fine), less this figure's label, caption and citing sentences. What a reply must not echo."""
    texts = []
    for message in messages:
        content = message["content"]
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        text = " ".join(part.get("text", "") for part in parts if part.get("type") == "text")
        if message["role"] == "assistant":
            try:
                text = " ".join(str(item.get("answer", "")) for item in json.loads(text)["qa"])
            except (ValueError, KeyError, TypeError, AttributeError):
                pass  # not our JSON: the whole reply counts
        texts.append(text)
    instructions = "\n".join(texts)
    for source in sorted({label or "", caption or "", *mentions} - {""}, key=len, reverse=True):
        instructions = instructions.replace(source, "\n")
    return instructions


def image_data_url(png: bytes, max_side: int) -> str:
    """The image resized so its longer side is at most `max_side`, as a PNG data URL."""
    from PIL import Image

    image: Image.Image = Image.open(io.BytesIO(png))
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.convert("RGB").resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def estimate_tokens(messages: Sequence[Mapping[str, Any]], image_tokens: int = 765) -> int:
    """A provider-neutral estimate: ~4 characters a token, a fixed cost per image (GPT-4o high detail)."""
    total = 0
    for message in messages:
        content = message["content"]
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        for part in parts:
            total += image_tokens if part.get("type") == "image_url" else len(part.get("text", "")) // 4 + 1
        total += 4
    return total


def cache_key(
    caption: str | None,
    mentions: Sequence[str],
    image: bytes,
    model: str,
    sampling: Mapping[str, Any],
    vision: bool,
    prompt_version: str = PROMPT_VERSION,
) -> str:
    """What decides a teacher's answer; equal keys are never sent twice."""
    material = {
        "caption": caption,
        "mentions": list(mentions),
        "image": hashlib.sha256(image).hexdigest(),
        "model": model,
        "sampling": dict(sampling),
        "vision": vision,
        "prompt_version": prompt_version,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]


def strip_label(caption: str, label: str | None) -> str:
    """`Figure 3. The fibre ...` -> `The fibre ...`."""
    text = caption.strip()
    if label:
        pattern = (
            r"^\s*(?:extended\s+data\s+)?(?:fig(?:ure)?s?\.?|tab(?:le)?\.?)\s*[\w]+\s*[.:|\u2014\u2013-]?\s*"
        )
        text = re.sub(pattern, "", text, count=1, flags=re.IGNORECASE)
    return text.strip()


# Closed questions of the template teacher: the options are in the question, so a student learns the
# answer's form and an evaluation knows the chance of a guess.
FORM_QUESTION = "Is this a table or a figure? Answer table or figure."
CHART_QUESTION = "What kind of chart is this? Answer bar, line or scatter."
PANELS_QUESTION = "How many panels does this figure have? Answer 1, 2, 3 or 4."
CHART_WORDS = re.compile(r"\b(bar|line|scatter)\s+(?:chart|plot|graph)s?\b", re.IGNORECASE)
PANEL_LETTER = re.compile(r"\(([a-z])\)")


def closed_qa(label: str | None, caption: str | None) -> list[dict[str, str]]:
    """Questions with one-word answers that the label and caption state: table or figure, and for a
    figure whose caption names one chart type, that type and its panel count ("(a)", "(b)", ...
    letter the panels; none: one). Asked of tables and such figures only, in an order that turns
    with the caption, so each question is also asked first, as an evaluation asks it."""
    if not label:
        return []
    if label.lower().startswith("table"):
        return [{"kind": "form", "query": FORM_QUESTION, "answer": "table"}]
    charts = {word.lower() for word in CHART_WORDS.findall(caption or "")}
    if len(charts) != 1:
        return []
    qa = [
        {"kind": "form", "query": FORM_QUESTION, "answer": "figure"},
        {"kind": "chart_type", "query": CHART_QUESTION, "answer": charts.pop()},
    ]
    letters = "".join(sorted(set(PANEL_LETTER.findall(caption or ""))))
    panels = 1 if not letters else len(letters) if letters == "abcdefgh"[: len(letters)] else 0
    if 1 <= panels <= 4:  # letters that skip one are not counted; more than 4 is not an option
        qa.append({"kind": "panels", "query": PANELS_QUESTION, "answer": str(panels)})
    turn = int(hashlib.sha256((caption or "").encode()).hexdigest(), 16) % len(qa)
    return qa[turn:] + qa[:turn]


def template_qa(
    label: str | None, caption: str | None, mentions: Sequence[str], qa_per_pair: int
) -> list[dict[str, str]]:
    """Deterministic offline QA from label, caption and mentions: no LLM, no network (the demo's
    teacher). Closed questions (`closed_qa`) come first, then what the caption and mentions say."""
    described = strip_label(caption or "", label)
    name = "this table" if label and label.lower().startswith("table") else "this figure"
    qa: list[dict[str, str]] = closed_qa(label, caption)
    if described:
        qa.append({"kind": "what", "query": f"What does {name} show?", "answer": described})
        first_sentence = re.split(r"(?<=[.!?])\s+", described)[0]
        qa.append(
            {"kind": "how_to_read", "query": f"Summarise {name} in one sentence.", "answer": first_sentence}
        )
    questions = (
        f"How does the paper use {name} in its argument?",
        f"What else does the text say about {name}?",
    )
    for question, sentence in zip(questions, mentions, strict=False):
        qa.append({"kind": "mechanism", "query": question, "answer": sentence})
    unique: dict[str, dict[str, str]] = {}
    for item in qa:
        unique.setdefault(item["answer"], item)
    return list(unique.values())[:qa_per_pair]


def estimate_requests(
    pairs: Iterable[Mapping[str, Any]],
    qa_per_pair: int,
    image_max_side: int | None,
    limit: int | None,
    profile: PromptProfile = PromptProfile(),
) -> tuple[int, int, list[dict[str, Any]] | None]:
    """What a run would send for `pairs`: requests, estimated prompt tokens, and the first request's
    messages (None when there is none). `image_max_side` None: the image is not sent."""
    from cephalo_ray.refine.figure_types import figure_type

    requests = prompt_tokens = 0
    example: list[dict[str, Any]] | None = None
    for pair in pairs:
        if limit is not None and requests >= limit:
            break
        image = image_data_url(pair["image"], image_max_side) if image_max_side else None
        kind = figure_type(pair.get("kind"), pair.get("caption"), pair.get("graphics"))
        messages = build_messages(
            pair["label"], pair["caption"], pair["mentions"] or [], qa_per_pair, image, profile, kind
        )
        example = example or messages
        requests += 1
        prompt_tokens += estimate_tokens(messages)
    return requests, prompt_tokens, example


def loggable(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages fit for a log line: image data URLs cut to their first characters and length."""
    shown = []
    for message in messages:
        content = message["content"]
        if isinstance(content, list):
            content = [
                {
                    "type": "image_url",
                    "image_url": {
                        "url": f"{part['image_url']['url'][:40]}... ({len(part['image_url']['url'])} chars)"
                    },
                }
                if part.get("type") == "image_url"
                else part
                for part in content
            ]
        shown.append({**message, "content": content})
    return shown
