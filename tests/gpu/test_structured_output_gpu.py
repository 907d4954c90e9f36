"""Structured output on CUDA: the grammar mask is unpacked on the device and sampling runs there.
Skips itself on machines without a GPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cephalo_ray.models.engine import Engine, EngineOptions, SamplingParams
from cephalo_ray.models.grammar import check_schema
from tests.helpers.json_answers import ANSWER_SCHEMA, build_json_leaning_tiny, parsed_answer

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def test_constrained_rows_answer_json_on_cuda_beside_free_ones(tmp_path: Path) -> None:
    folder = build_json_leaning_tiny(tmp_path / "leaning")
    engine = Engine.load(str(folder), EngineOptions(batch_wait_s=0.05), device="cuda")
    try:
        schema = check_schema(ANSWER_SCHEMA)
        messages = [{"role": "user", "content": [{"type": "text", "text": "Describe it."}]}]
        free = SamplingParams(max_tokens=8, temperature=0)
        alone = engine.generate(messages, params=free)
        answers = engine.generate_many(
            [(messages, [], free)]
            + [
                (messages, [], SamplingParams(max_tokens=160, temperature=1.0, seed=seed, json_schema=schema))
                for seed in range(4)
            ]
        )
        assert answers[0]["text"] == alone["text"]
        for answer in answers[1:]:
            assert answer["finish_reason"] == "stop"
            parsed_answer(answer["text"])
    finally:
        engine.close()
