"""Structured-output test material: the schema every test asks for, its check, and a tiny model
that tends to close strings and objects.

A random-weight model's distribution is nearly flat, so inside a JSON string it picks the closing
quote about once in 500 tokens and its answers would not end within a test's token budget. The
"JSON-leaning" tiny model carries a `sequence_bias` in its generation config (a real `generate`
setting, applied before the engine's own processing) that makes `"` and `}` likelier, so constrained
answers finish in a few dozen tokens; its text is still noise. The quote leans harder than the brace,
so that a greedy answer closes its string instead of filling it with braces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "count": {"type": "integer"}},
    "required": ["answer", "count"],
    "additionalProperties": False,
}
# e^5 ~ 150 times likelier: a sampled string ends after ~4 tokens of a 500-token vocabulary
CLOSING_BIAS = {'"': 5.0, "}": 3.0}


def closing_bias(tokenizer: Any) -> list[Any]:
    """`sequence_bias` in the JSON form of a generation config: [[[token id], bias], ...]."""
    return [[[tokenizer.convert_tokens_to_ids(token)], bias] for token, bias in CLOSING_BIAS.items()]


def lean_to_json(model: Any, tokenizer: Any) -> None:
    """Make `model` favour the tokens that close JSON strings and objects (in its generation config)."""
    model.generation_config.sequence_bias = closing_bias(tokenizer)


def build_json_leaning_tiny(folder: Path, seed: int = 0) -> Path:
    """A saved tiny LLaVA whose generation config leans to closing JSON (see the module docstring)."""
    from transformers import GenerationConfig

    from cephalo_ray.models.tiny import build_tiny

    _, processor = build_tiny("llava", folder, seed=seed)
    config = GenerationConfig.from_pretrained(folder)
    config.sequence_bias = closing_bias(processor.tokenizer)
    config.save_pretrained(folder)
    return folder


def parsed_answer(text: str, schema: dict[str, Any] = ANSWER_SCHEMA) -> dict[str, Any]:
    """`text` parsed as JSON and checked against `schema` (with `jsonschema` when it is installed,
    else the keys and types of `ANSWER_SCHEMA`).

    Raises:
        AssertionError, ValueError: when the text is not JSON or does not follow the schema.
    """
    value = json.loads(text)
    assert isinstance(value, dict), text
    try:
        import jsonschema
    except ImportError:
        assert schema == ANSWER_SCHEMA, "without jsonschema only ANSWER_SCHEMA can be checked"
        assert set(value) == {"answer", "count"}, text
        assert isinstance(value["answer"], str), text
        assert isinstance(value["count"], int) and not isinstance(value["count"], bool), text
        return value
    jsonschema.validate(value, schema)
    return value
