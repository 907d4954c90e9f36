"""Router fitting keeps bounded statistics of the router inputs: exact sums for `mean`, a seeded
reservoir sample for `logistic`; on a tiny MoE the streamed `mean` fit equals the all-tokens one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from cephalo_ray.merge.moe import build_moe
from cephalo_ray.merge.router import (
    Prompt,
    encode_prompt,
    fit_router,
    fit_routers,
    recording_routers,
    split_prompts,
)
from cephalo_ray.merge.router_inputs import LayerRouterInputs, ReservoirSample
from cephalo_ray.models.families import moe_blocks
from cephalo_ray.models.tiny import build_tiny_causal_lm


def numbered_rows(first: int, count: int) -> torch.Tensor:
    """Rows whose first column is their number in the stream."""
    return torch.arange(first, first + count, dtype=torch.float32)[:, None].repeat(1, 3)


def test_a_reservoir_keeps_everything_below_its_capacity_and_a_uniform_sample_above() -> None:
    small = ReservoirSample(capacity=10, seed=0)
    small.add(numbered_rows(0, 4))
    small.add(numbered_rows(4, 3))
    assert small.rows[:, 0].tolist() == list(range(7))

    kept_numbers = []
    for seed in range(200):
        sample = ReservoirSample(capacity=10, seed=seed)
        for first in range(0, 1000, 37):  # uneven batches
            sample.add(numbered_rows(first, min(37, 1000 - first)))
        assert sample.seen == 1000 and sample.rows.shape == (10, 3)
        numbers = sample.rows[:, 0].long().tolist()
        assert len(set(numbers)) == 10 and all(0 <= number < 1000 for number in numbers)
        kept_numbers += numbers
    # every row of the stream is kept with probability 10/1000: the kept numbers spread evenly
    histogram = torch.histc(torch.tensor(kept_numbers, dtype=torch.float32), bins=4, min=0, max=1000)
    assert histogram.min() > 0.85 * len(kept_numbers) / 4
    again = ReservoirSample(capacity=10, seed=199)
    for first in range(0, 1000, 37):
        again.add(numbered_rows(first, min(37, 1000 - first)))
    assert again.rows[:, 0].long().tolist() == numbers  # seeded


def test_the_streamed_mean_router_equals_the_all_tokens_one() -> None:
    generator = torch.Generator().manual_seed(0)
    features = [torch.randn(300, 16, generator=generator) + shift for shift in (0.0, 1.0, -2.0)]
    kept = LayerRouterInputs(experts=3, max_tokens_per_expert=8, seed=0)
    for expert, part in enumerate(features):
        for chunk in part.split(7):
            kept.add(expert, chunk)
    torch.testing.assert_close(kept.mean_router(), fit_router(features, "mean"), rtol=0, atol=1e-6)
    assert kept.stored_rows == 3 * 8 and [len(rows) for rows in kept.sampled()] == [8, 8, 8]
    with pytest.raises(ValueError, match=r"experts \[1\] have no router inputs"):
        only_expert_zero().mean_router()


def only_expert_zero() -> LayerRouterInputs:
    kept = LayerRouterInputs(experts=2, max_tokens_per_expert=4, seed=0)
    kept.add(0, torch.ones(2, 3))
    return kept


@pytest.fixture(scope="module")
def tiny_moe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("router-moe")
    for seed in range(2):
        build_tiny_causal_lm("llama", root / f"expert{seed}", seed=seed, num_hidden_layers=2)
    build_moe(str(root / "expert0"), [str(root / "expert0"), str(root / "expert1")], root / "moe")
    return root / "moe"


PROMPTS = {
    0: [Prompt(f"steel {value} GPa at {value * 3} K, alloy 17 MPa") for value in range(12)],
    1: [Prompt(f"collagen fibre {word} in the bone tissue cell") for word in "abcdefghijkl"],
}


def all_tokens_mean_router(
    model: Any, tokenizer: Any, holdout_fraction: float, seed: int
) -> list[torch.Tensor]:
    """The router fit as it was done before: every fit token of every layer kept, then averaged."""
    blocks = moe_blocks(model)
    features: list[list[list[torch.Tensor]]] = [[[] for _ in PROMPTS] for _ in blocks]
    for expert, prompts in PROMPTS.items():
        fit, _ = split_prompts(prompts, holdout_fraction, seed)

        def keep(layer: int, inputs: Any, logits: Any, expert: int = expert) -> None:
            features[layer][expert].append(inputs.clone())

        with torch.no_grad(), recording_routers(blocks, force_expert=expert, visit=keep):
            for prompt in fit:
                model(**encode_prompt(tokenizer, prompt, is_vlm=False))
    return [fit_router([torch.cat(parts) for parts in layer], "mean") for layer in features]


def test_fit_routers_streams_the_mean_fit_exactly_and_holds_at_most_the_cap(tiny_moe: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_moe)
    model = AutoModelForCausalLM.from_pretrained(tiny_moe).eval()
    expected = all_tokens_mean_router(model, tokenizer, holdout_fraction=0.25, seed=5)
    report = fit_routers(
        model, tokenizer, PROMPTS, method="mean", holdout_fraction=0.25, seed=5, max_tokens_per_expert=16
    )
    for block, weights in zip(moe_blocks(model), expected, strict=True):
        torch.testing.assert_close(block.gate.weight.detach(), weights, rtol=0, atol=1e-6)
    # 9 fit prompts of well over 2 tokens each per expert: every (layer, expert) sample is full
    assert report.stored_token_rows == 2 * 2 * 16
    assert all(layer.heldout_accuracy is not None for layer in report.layers)

    logistic = AutoModelForCausalLM.from_pretrained(tiny_moe).eval()
    capped = fit_routers(
        logistic, tokenizer, PROMPTS, holdout_fraction=0.25, seed=5, max_tokens_per_expert=16
    )
    assert capped.stored_token_rows == 2 * 2 * 16
    assert capped.as_dict()["stored_token_rows"] == 64
