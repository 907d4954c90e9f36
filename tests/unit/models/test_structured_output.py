"""Structured output in the engine: rows constrained to a JSON schema answer JSON that follows it,
sampled or greedy, while their unconstrained batch-mates answer exactly as alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from cephalo_ray.models.engine import Engine, SamplingParams
from cephalo_ray.models.grammar import (
    ANY_JSON_OBJECT,
    GrammarError,
    allowed_tokens,
    check_schema,
    grammar_tokenizer,
    json_matcher,
    schema_text,
)
from cephalo_ray.models.tiny import build_tiny
from tests.helpers.json_answers import ANSWER_SCHEMA, lean_to_json, parsed_answer

SCHEMA = check_schema(ANSWER_SCHEMA)


def question(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "text", "text": text}]}]


@pytest.fixture(scope="module")
def leaning_engine() -> Iterator[Engine]:
    """A tiny model that tends to close JSON strings, so constrained answers end within budget."""
    model, processor = build_tiny("llava", seed=0)
    lean_to_json(model, processor.tokenizer)
    engine = Engine(model, processor, is_vlm=True, batch_wait_s=0.05, max_batch_size=16)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def plain_engine() -> Iterator[Engine]:
    model, processor = build_tiny("llava", seed=0)
    engine = Engine(model, processor, is_vlm=True, batch_wait_s=0.05, max_batch_size=16)
    yield engine
    engine.close()


def test_sampled_and_greedy_answers_follow_the_schema(leaning_engine: Engine) -> None:
    requests = [
        (
            question("Describe it."),
            [],
            SamplingParams(max_tokens=160, temperature=1.0, seed=seed, json_schema=SCHEMA),
        )
        for seed in range(6)
    ]
    requests.append(
        (question("Describe it."), [], SamplingParams(max_tokens=160, temperature=0, json_schema=SCHEMA))
    )
    answers = leaning_engine.generate_many(requests)
    values = [parsed_answer(answer["text"]) for answer in answers]
    assert all(answer["finish_reason"] == "stop" and answer["error"] is None for answer in answers)
    assert len({value["answer"] for value in values[:6]}) > 1  # each seed samples its own answer
    # one line, as json.dumps writes it: whitespace cannot run on
    assert all(
        answer["text"] == json.dumps(value, ensure_ascii=False)
        for answer, value in zip(answers, values, strict=True)
    )


def test_json_object_answers_are_any_json_object(leaning_engine: Engine) -> None:
    requests = [
        (
            question("Facts?"),
            [],
            SamplingParams(max_tokens=160, temperature=1.0, seed=seed, json_schema=ANY_JSON_OBJECT),
        )
        for seed in range(4)
    ]
    for answer in leaning_engine.generate_many(requests):
        assert answer["finish_reason"] == "stop"
        assert isinstance(json.loads(answer["text"]), dict), answer["text"]


def test_unconstrained_rows_answer_as_alone_beside_constrained_ones(plain_engine: Engine) -> None:
    free = [question("What does the figure show?"), question("Bone is a composite of")]
    alone = [
        plain_engine.generate(messages, params=SamplingParams(max_tokens=12, temperature=0))
        for messages in free
    ]
    batches_before = plain_engine.stats.batches
    mixed = plain_engine.generate_many(
        [
            (free[0], [], SamplingParams(max_tokens=12, temperature=0)),
            (
                question("Answer in JSON."),
                [],
                SamplingParams(max_tokens=12, temperature=0, json_schema=SCHEMA),
            ),
            (free[1], [], SamplingParams(max_tokens=12, temperature=0)),
            (
                question("JSON!"),
                [],
                SamplingParams(max_tokens=12, temperature=1.0, seed=3, json_schema=ANY_JSON_OBJECT),
            ),
        ]
    )
    assert plain_engine.stats.batches == batches_before + 1  # all four rows in one batch
    assert [mixed[0]["text"], mixed[2]["text"]] == [answer["text"] for answer in alone]
    assert [mixed[0]["completion_tokens"], mixed[2]["completion_tokens"]] == [12, 12]
    # the random model's constrained rows run out of tokens inside their JSON, but inside it
    assert mixed[1]["text"].startswith('{"answer": "') and mixed[3]["text"].startswith("{")
    assert not mixed[0]["text"].startswith("{")


def test_a_bad_schema_is_refused_before_it_joins_a_batch(plain_engine: Engine) -> None:
    bad = SamplingParams(max_tokens=4, json_schema='{"type":"frobnicate"}')
    with pytest.raises(GrammarError, match="frobnicate"):
        plain_engine.submit(question("?"), [], bad, lambda event: None)
    good = (question("?"), [], SamplingParams(max_tokens=4, temperature=0))
    with pytest.raises(GrammarError):
        plain_engine.generate_many([good, (question("?"), [], bad)])
    assert plain_engine.waiting == 0  # none of them was queued
    for schema, message in (
        ("{not json", "not JSON"),
        ("[1, 2]", "is an object"),
        ({"type": "string", "pattern": "(["}, "cannot be enforced"),
        ({"properties": {"a": {"$ref": "#/defs/missing"}}}, "does not exist"),
    ):
        with pytest.raises(GrammarError, match=message):
            check_schema(schema)


def test_schema_text_keeps_the_property_order() -> None:
    # the answer's keys follow the schema's order, so the text must not sort them
    schema = {"type": "object", "properties": {"zeta": {"type": "integer"}, "alpha": {"type": "string"}}}
    assert (
        schema_text(schema)
        == '{"type":"object","properties":{"zeta":{"type":"integer"},"alpha":{"type":"string"}}}'
    )
    assert schema_text(schema_text(schema)) == schema_text(schema)


def test_a_complete_grammar_allows_only_the_end_tokens(plain_engine: Engine) -> None:
    tokenizer = plain_engine.tokenizer
    eos = sorted(plain_engine.eos_ids)
    vocab_size = len(tokenizer)
    matcher = json_matcher(grammar_tokenizer(tokenizer, vocab_size, set(eos)), SCHEMA)
    start = allowed_tokens([matcher], vocab_size)[0]
    assert start.shape == (vocab_size,) and 0 < int(start.sum()) < vocab_size
    assert not bool(start[eos].any())  # nothing is complete yet
    for token in tokenizer.encode('{"answer": "x", "count": 7}', add_special_tokens=False):
        assert matcher.consume_token(token), tokenizer.decode([token])
    finished = allowed_tokens([matcher], vocab_size)[0]
    assert finished.nonzero().flatten().tolist() == eos
