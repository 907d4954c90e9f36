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
from typing import Any

PROMPT_VERSION = "qa-v1"
QA_KINDS = ("what", "how_to_read", "mechanism", "design")
KIND_DESCRIPTIONS = {
    "what": "what the figure shows (objects, quantities, conditions)",
    "how_to_read": "how to read it (axes, panels, scale bars, legends, colours)",
    "mechanism": "the mechanism or physics behind what it shows",
    "design": "its relevance for designing materials or structures",
}
IMAGE_TOKEN = "<image>"

SYSTEM_PROMPT = (
    "You write training data for a vision-language model of materials science, biology and engineering. "
    "You see one figure of a scientific paper through its caption, the sentences of the paper that cite it, "
    "and sometimes the image. Write question/answer pairs a student could answer by looking at the figure. "
    "Ground every answer in the caption, the citing sentences or the visible image: never invent numbers, "
    "names or results. Questions must not quote the figure label. Answer in full sentences."
)


def response_schema(qa_per_pair: int) -> dict[str, Any]:
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
                        "kind": {"type": "string", "enum": list(QA_KINDS)},
                        "query": {"type": "string"},
                        "answer": {"type": "string"},
                    },
                },
            }
        },
    }


def user_prompt(label: str | None, caption: str | None, mentions: Sequence[str], qa_per_pair: int) -> str:
    kinds = QA_KINDS[:qa_per_pair] if qa_per_pair <= len(QA_KINDS) else QA_KINDS
    wanted = "\n".join(f"- {kind}: {KIND_DESCRIPTIONS[kind]}" for kind in kinds)
    cited = "\n".join(f"- {sentence}" for sentence in mentions) or "- (the paper's text does not cite it)"
    return (
        f"Figure label: {label or '(none)'}\n"
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
) -> list[dict[str, Any]]:
    """Chat messages for one pair; the image goes in as an `image_url` part when given."""
    text = user_prompt(label, caption, mentions, qa_per_pair)
    content: Any = text
    if image_data_url:
        content = [
            {"type": "image_url", "image_url": {"url": image_data_url}},
            {"type": "text", "text": text},
        ]
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": content}]


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


def template_qa(
    label: str | None, caption: str | None, mentions: Sequence[str], qa_per_pair: int
) -> list[dict[str, str]]:
    """Deterministic offline QA from caption and mentions: no LLM, no network (the demo's teacher)."""
    described = strip_label(caption or "", label)
    name = "this table" if label and label.lower().startswith("table") else "this figure"
    qa: list[dict[str, str]] = []
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
    pairs: Iterable[Mapping[str, Any]], qa_per_pair: int, image_max_side: int | None, limit: int | None
) -> tuple[int, int, list[dict[str, Any]] | None]:
    """What a run would send for `pairs`: requests, estimated prompt tokens, and the first request's
    messages (None when there is none). `image_max_side` None: the image is not sent."""
    requests = prompt_tokens = 0
    example: list[dict[str, Any]] | None = None
    for pair in pairs:
        if limit is not None and requests >= limit:
            break
        image = image_data_url(pair["image"], image_max_side) if image_max_side else None
        messages = build_messages(pair["label"], pair["caption"], pair["mentions"] or [], qa_per_pair, image)
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
