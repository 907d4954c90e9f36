"""Negative prompts: an expert's router row is fitted to score low the prompts it should not take
(`mean`: mergekit's gate, the positives' mean minus the negatives'; `logistic`: the likelihood of
"not this expert"), with bounded memory, and the config that lists them is strict."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import ValidationError
from transformers import AutoModelForCausalLM, AutoTokenizer

from cephalo_ray.errors import JobError
from cephalo_ray.jobs import build_moe as moe_job
from cephalo_ray.merge.moe import build_moe
from cephalo_ray.merge.router import (
    Prompt,
    encode_prompt,
    fit_router,
    fit_routers,
    not_expert_loss,
    recording_routers,
    split_prompts,
    token_accuracy,
    token_rejection,
)
from cephalo_ray.merge.router_inputs import LayerRouterInputs
from cephalo_ray.models.families import moe_blocks
from cephalo_ray.models.tiny import build_tiny_causal_lm


def test_the_negative_term_is_the_likelihood_of_any_other_expert() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    probabilities = logits.softmax(-1)
    torch.testing.assert_close(not_expert_loss(logits, 0), -(1 - probabilities[:, 0]).log().mean())
    # two experts: the same as labelling the token with the other expert
    two = logits[:, :2]
    torch.testing.assert_close(
        not_expert_loss(two, 0), torch.nn.functional.cross_entropy(two, torch.ones(2).long())
    )
    # stable where the expert takes nearly all the mass (1 - p underflows in float32)
    confident = not_expert_loss(torch.tensor([[80.0, 0.0, 0.0]]), 0)
    assert confident.item() == pytest.approx(80 - math.log(2), rel=1e-6)


def clusters(generator: torch.Generator, centres: list[torch.Tensor], count: int) -> list[torch.Tensor]:
    return [centre + 0.3 * torch.randn(count, len(centre), generator=generator) for centre in centres]


def test_the_mean_router_subtracts_the_negative_mean_and_streams_it_exactly() -> None:
    generator = torch.Generator().manual_seed(0)
    axes = torch.eye(6)
    features = clusters(generator, [axes[0] * 2, axes[1] * 2], 200)
    (negative,) = clusters(generator, [axes[0] + axes[2]], 120)
    unit = torch.nn.functional.normalize
    expected = unit(
        torch.stack(
            [
                unit(features[0], dim=-1).mean(0) - unit(negative, dim=-1).mean(0),
                unit(features[1], dim=-1).mean(0),
            ]
        ),
        dim=-1,
    )
    torch.testing.assert_close(fit_router(features, "mean", negatives=[negative, None]), expected)
    empty = torch.empty(0, 0)  # an expert without negatives, as a reservoir hands it out
    torch.testing.assert_close(
        fit_router(features, "mean", negatives=[empty, empty]), fit_router(features, "mean")
    )

    kept = LayerRouterInputs(experts=2, max_tokens_per_expert=16, seed=0)
    for expert, part in enumerate(features):
        for chunk in part.split(7):
            kept.add(expert, chunk)
    for chunk in negative.split(9):
        kept.add_negative(0, chunk)
    torch.testing.assert_close(kept.mean_router(), expected, rtol=0, atol=1e-6)
    # bounded: the cap per expert for its own tokens and again for its negatives
    assert kept.stored_rows == 16 + 16 + 16
    assert [len(rows) for rows in kept.sampled_negatives()] == [16, 0]


def test_logistic_negatives_push_their_tokens_off_the_expert_and_keep_its_own() -> None:
    generator = torch.Generator().manual_seed(1)
    axes = torch.eye(8)
    features = clusters(generator, [axes[0] * 2, axes[1] * 2, axes[2] * 2], 150)
    # near expert 0's tokens, far from the others': without negatives they go to expert 0
    (negative,) = clusters(generator, [axes[0] * 1.5 + axes[3] * 1.5], 150)
    (held_negative,) = clusters(generator, [axes[0] * 1.5 + axes[3] * 1.5], 150)
    held = [held_negative, torch.empty(0, 0), torch.empty(0, 0)]
    before = token_rejection(fit_router(features, "logistic"), held)
    fitted = fit_router(features, "logistic", negatives=[negative, None, None])
    after = token_rejection(fitted, held)
    assert before is not None and after is not None
    assert before < 0.1 and after > 0.95
    assert token_accuracy(fitted, features) > 0.97
    with pytest.raises(ValueError, match="negatives for 1 experts, features for 3"):
        fit_router(features, negatives=[negative])


@pytest.fixture(scope="module")
def tiny_moe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("negatives-moe")
    for seed in range(2):
        build_tiny_causal_lm("llama", root / f"expert{seed}", seed=seed, num_hidden_layers=2)
    build_moe(str(root / "expert0"), [str(root / "expert0"), str(root / "expert1")], root / "moe", seed=3)
    return root / "moe"


NUMBERS = ["0.35", "120", "4.5", "17", "2.7", "980", "61", "3.14", "0.08", "450"]
UNITS = ["GPa", "MPa", "K", "N"]
WORDS = "protein cell membrane enzyme collagen tissue gene bone silk spider fibre tendon".split()
# measurements in other units: close to expert 0's prompts, not meant for it
OTHER_MEASUREMENTS = ["nm", "MJ", "W", "Hz", "5.5", "23", "0.9", "310"]


def measurements(count: int, seed: int) -> list[Prompt]:
    rng = random.Random(seed)
    return [
        Prompt(" ".join(f"{rng.choice(NUMBERS)} {rng.choice(UNITS)}" for _ in range(5))) for _ in range(count)
    ]


def biology(count: int, seed: int) -> list[Prompt]:
    rng = random.Random(seed)
    return [Prompt(" ".join(rng.choice(WORDS) for _ in range(10))) for _ in range(count)]


def other_measurements(count: int, seed: int) -> list[Prompt]:
    rng = random.Random(seed)
    return [Prompt(" ".join(rng.choice(OTHER_MEASUREMENTS) for _ in range(8))) for _ in range(count)]


POSITIVES = {0: measurements(20, seed=0), 1: biology(20, seed=1)}
NEGATIVES = {0: other_measurements(20, seed=2)}
UNSEEN_OTHER = other_measurements(10, seed=99)


def share_routed_to(model: Any, tokenizer: Any, prompts: list[Prompt], expert: int) -> float:
    """The share of the prompts' tokens, over all layers, that the model's routers send to `expert`."""
    hits = total = 0

    def count(layer: int, inputs: torch.Tensor, logits: torch.Tensor) -> None:
        nonlocal hits, total
        hits += int((logits.argmax(-1) == expert).sum())
        total += len(logits)

    with torch.no_grad(), recording_routers(moe_blocks(model), visit=count):
        for prompt in prompts:
            model(**encode_prompt(tokenizer, prompt, is_vlm=False))
    return hits / total


def test_logistic_negative_prompts_route_ambiguous_prompts_away_from_the_expert(tiny_moe: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_moe)
    plain = AutoModelForCausalLM.from_pretrained(tiny_moe).eval()
    fit_routers(plain, tokenizer, POSITIVES, holdout_fraction=0.25, max_tokens_per_expert=128)
    before = share_routed_to(plain, tokenizer, UNSEEN_OTHER, expert=0)
    assert before >= 0.75  # without negatives the other measurements land on expert 0 (measured 0.83)

    model = AutoModelForCausalLM.from_pretrained(tiny_moe).eval()
    report = fit_routers(
        model,
        tokenizer,
        POSITIVES,
        holdout_fraction=0.25,
        max_tokens_per_expert=128,
        negatives_by_expert=NEGATIVES,
    )
    after = share_routed_to(model, tokenizer, UNSEEN_OTHER, expert=0)
    assert after <= 0.2 and before - after >= 0.5  # measured 0.10
    assert (report.negative_fit_prompts, report.negative_heldout_prompts) == (15, 5)
    assert report.negatives_routed_away_tokens is not None and report.negatives_routed_away_tokens >= 0.85
    assert all(
        layer.negative_heldout_rejection is not None and layer.negative_heldout_rejection >= 0.85
        for layer in report.layers
    )
    # the experts' own held-out prompts still go to them, so the build's routing check passes
    assert all(
        layer.heldout_accuracy is not None and layer.heldout_accuracy >= 0.8 for layer in report.layers
    )
    assert report.routed_prompt_accuracy == 1.0
    assert moe_job.router_problem(report.as_dict(), 2, moe_job.heldout_minimum(None, 2)) is None
    # memory: per layer 128 tokens of each expert and 128 of expert 0's negatives
    assert report.stored_token_rows == 2 * (128 + 128 + 128)
    assert report.as_dict()["negatives_routed_away_prompts"] == 1.0


def all_tokens_mean_router(
    model: Any, tokenizer: Any, holdout_fraction: float, seed: int
) -> list[torch.Tensor]:
    """mergekit's gate by hand, from every fit token kept: normalise(mean unit input of the expert's
    prompts - mean unit input of its negative prompts), both run forced to that expert."""
    blocks = moe_blocks(model)
    kept: dict[tuple[int, int, bool], list[torch.Tensor]] = {}
    for expert in POSITIVES:
        for negative, prompts in ((False, POSITIVES[expert]), (True, NEGATIVES.get(expert, []))):
            fit, _ = split_prompts(prompts, holdout_fraction, seed)

            def keep(
                layer: int, inputs: Any, logits: Any, key: tuple[int, bool] = (expert, negative)
            ) -> None:
                kept.setdefault((layer, *key), []).append(inputs.clone())

            with torch.no_grad(), recording_routers(blocks, force_expert=expert, visit=keep):
                for prompt in fit:
                    model(**encode_prompt(tokenizer, prompt, is_vlm=False))
    unit = torch.nn.functional.normalize
    routers = []
    for layer in range(len(blocks)):
        rows = []
        for expert in POSITIVES:
            row = unit(torch.cat(kept[(layer, expert, False)]), dim=-1).mean(0)
            if (layer, expert, True) in kept:
                row = row - unit(torch.cat(kept[(layer, expert, True)]), dim=-1).mean(0)
            rows.append(row)
        routers.append(unit(torch.stack(rows), dim=-1))
    return routers


def test_mean_negatives_are_mergekits_gate_and_the_held_out_check_still_stops_a_bad_fit(
    tiny_moe: Path,
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_moe)
    plain = AutoModelForCausalLM.from_pretrained(tiny_moe).eval()
    fit_routers(plain, tokenizer, POSITIVES, method="mean", holdout_fraction=0.25)
    before = share_routed_to(plain, tokenizer, UNSEEN_OTHER, expert=0)
    model = AutoModelForCausalLM.from_pretrained(tiny_moe).eval()
    expected = all_tokens_mean_router(model, tokenizer, holdout_fraction=0.25, seed=0)
    report = fit_routers(
        model,
        tokenizer,
        POSITIVES,
        method="mean",
        holdout_fraction=0.25,
        negatives_by_expert=NEGATIVES,
        max_tokens_per_expert=8,
    )
    for block, weights in zip(moe_blocks(model), expected, strict=True):
        torch.testing.assert_close(block.gate.weight.detach(), weights, rtol=0, atol=1e-6)
    after = share_routed_to(model, tokenizer, UNSEEN_OTHER, expert=0)
    assert before >= 0.75 and after <= 0.05  # measured 0.86 and 0.01
    # Negatives this close to expert 0's own prompts leave its row on their difference alone, so its
    # own held-out tokens are routed at about chance (measured 0.52, 0.49): the routing check stops it.
    assert all(layer.heldout_accuracy is not None and layer.heldout_accuracy < 0.6 for layer in report.layers)
    with pytest.raises(JobError, match="min_heldout_accuracy=0.6"):
        moe_job.router_problem(report.as_dict(), 2, moe_job.heldout_minimum(None, 2))


def expert(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "model": f"./{name}", "prompts": [f"{name} prompt"], **extra}


def config_of(*experts: dict[str, Any], **extra: Any) -> moe_job.MoeConfig:
    return moe_job.MoeConfig.model_validate(
        {"output": "./out", "base": "./a", "experts": list(experts), **extra}
    )


def test_negative_prompts_in_the_config_are_strict(tmp_path: Path) -> None:
    config = config_of(
        expert("a", negative_prompts=["a gene", {"text": "a cell", "image": "cell.png"}]), expert("b")
    )
    assert [item if isinstance(item, str) else item.text for item in config.experts[0].negative_prompts] == [
        "a gene",
        "a cell",
    ]
    with pytest.raises(ValidationError, match="negative_prompt\n"):  # a misspelt key is refused
        config_of(expert("a", negative_prompt=["x"]), expert("b"))
    with pytest.raises(ValidationError, match="weight"):
        config_of(expert("a", negative_prompts=[{"text": "x", "weight": 2}]), expert("b"))
    with pytest.raises(ValidationError, match="only fitted routers use"):
        config_of(expert("a", negative_prompts=["x"]), expert("b"), router={"method": "random"})
    with pytest.raises(ValidationError, match="lists 'a prompt' in both prompts and negative_prompts"):
        config_of(expert("a", negative_prompts=["a prompt"]), expert("b"))

    (tmp_path / "negatives.jsonl").write_text(
        json.dumps("a gene") + "\n" + json.dumps({"text": "a cell", "image": "img/cell.png"}) + "\n"
    )
    listed = expert("a", negative_prompts=["inline"], negative_prompts_file=str(tmp_path / "negatives.jsonl"))
    read = moe_job.read_prompts(listed, negative=True)
    assert read == [
        {"text": "inline"},
        {"text": "a gene"},
        {"text": "a cell", "image": str((tmp_path / "img" / "cell.png").resolve())},
    ]
    assert moe_job.read_prompts(listed) == [{"text": "a prompt"}]


def test_the_job_refuses_a_prompt_its_files_list_as_both_before_starting_ray(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "both.jsonl").write_text(json.dumps("a prompt") + "\n")
    config = tmp_path / "moe.yaml"
    experts = [expert("a", negative_prompts_file=str(tmp_path / "both.jsonl")), expert("b")]
    config.write_text(json.dumps({"base": "./a", "experts": experts}))
    assert moe_job.main(["--config", str(config), str(tmp_path / "out")]) == 2
    assert "expert 'a' lists 'a prompt' in both its prompts and negative prompts" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
