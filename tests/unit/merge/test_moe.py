"""MoE builds from tiny models: equivalence with the dense model, sparse compute, routing, reloads."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

from cephalo_ray.merge.checkpoint import CheckpointError
from cephalo_ray.merge.moe import build_moe
from cephalo_ray.merge.router import Prompt, fit_routers
from cephalo_ray.models.families import facts_for, resolve
from cephalo_ray.models.tiny import build_tiny, build_tiny_causal_lm

PROMPT = torch.tensor([[1, 5, 6, 7, 8, 9, 10, 11] * 4])


@pytest.fixture(scope="module")
def llamas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("experts")
    for seed in range(4):
        build_tiny_causal_lm("llama", root / f"expert{seed}", seed=seed, num_hidden_layers=3)
    return root


@pytest.mark.parametrize("top_k", [1, 2])
def test_identical_experts_reproduce_the_dense_model(llamas: Path, tmp_path: Path, top_k: int) -> None:
    dense_folder = str(llamas / "expert0")
    build_moe(dense_folder, [dense_folder] * 3, tmp_path / "moe", experts_per_token=top_k)
    moe = AutoModelForCausalLM.from_pretrained(tmp_path / "moe").eval()
    dense = AutoModelForCausalLM.from_pretrained(dense_folder).eval()
    assert type(moe).__name__ == "MixtralForCausalLM"
    assert (moe.config.num_local_experts, moe.config.num_experts_per_tok) == (3, top_k)
    with torch.no_grad():
        # equal up to float summation order (experts run on token subsets)
        torch.testing.assert_close(moe(PROMPT).logits, dense(PROMPT).logits, rtol=1e-5, atol=1e-5)
    settings: dict[str, Any] = {"max_new_tokens": 12, "do_sample": False, "pad_token_id": 0}
    assert torch.equal(moe.generate(PROMPT[:, :8], **settings), dense.generate(PROMPT[:, :8], **settings))


def mlp_flops(model: Any, inputs: torch.Tensor) -> int:
    """FLOPs spent inside the decoder layers' MLP / MoE blocks."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(inputs)
    counts = counter.get_flop_counts()
    return sum(sum(per_op.values()) for name, per_op in counts.items() if name.endswith(".mlp"))


@pytest.mark.parametrize("top_k", [1, 2])
def test_only_the_selected_experts_are_computed(llamas: Path, tmp_path: Path, top_k: int) -> None:
    experts = [str(llamas / f"expert{seed}") for seed in range(4)]
    build_moe(experts[0], experts, tmp_path / "moe", experts_per_token=top_k)
    # the eager experts path runs plain matmuls, which the FLOP counter sees
    moe = AutoModelForCausalLM.from_pretrained(tmp_path / "moe", experts_implementation="eager").eval()
    dense = AutoModelForCausalLM.from_pretrained(experts[0]).eval()
    all_experts = 4 * mlp_flops(dense, PROMPT)  # every expert on every token
    ratio = mlp_flops(moe, PROMPT) / all_experts
    assert ratio == pytest.approx(top_k / 4, abs=0.02)  # the router's own FLOPs are the rest


def test_save_reload_round_trip(llamas: Path, tmp_path: Path) -> None:
    experts = [str(llamas / f"expert{seed}") for seed in range(3)]
    build_moe(experts[0], experts, tmp_path / "moe", experts_per_token=1, max_shard_bytes=150_000)
    first = AutoModelForCausalLM.from_pretrained(tmp_path / "moe").eval()
    first.save_pretrained(tmp_path / "again")
    second = AutoModelForCausalLM.from_pretrained(tmp_path / "again").eval()
    with torch.no_grad():
        assert torch.equal(first(PROMPT).logits, second(PROMPT).logits)
    layer = second.model.layers[1]
    # expert e of layer 1 is model e's MLP of layer 1 (transformers fuses gate and up)
    source = AutoModelForCausalLM.from_pretrained(experts[2]).model.layers[1].mlp
    fused = torch.cat([source.gate_proj.weight, source.up_proj.weight])
    assert torch.equal(layer.mlp.experts.gate_up_proj[2], fused)
    assert torch.equal(layer.mlp.experts.down_proj[2], source.down_proj.weight)
    assert second.config.cephalo_merge["kind"] == "moe"


def test_phi3_experts_are_split_into_mixtral_layout(tmp_path: Path) -> None:
    build_tiny_causal_lm("phi3", tmp_path / "phi3")
    build_moe(str(tmp_path / "phi3"), [str(tmp_path / "phi3")] * 2, tmp_path / "moe")
    moe = AutoModelForCausalLM.from_pretrained(tmp_path / "moe").eval()
    dense = AutoModelForCausalLM.from_pretrained(tmp_path / "phi3").eval()
    with torch.no_grad():
        torch.testing.assert_close(moe(PROMPT).logits, dense(PROMPT).logits, rtol=1e-5, atol=1e-5)


def test_an_architecture_mixtral_cannot_hold_is_refused(tmp_path: Path) -> None:
    build_tiny_causal_lm("qwen2", tmp_path / "qwen2")  # attention biases
    with pytest.raises(CheckpointError, match="'qwen2'"):
        build_moe(str(tmp_path / "qwen2"), [str(tmp_path / "qwen2")] * 2, tmp_path / "moe")


@pytest.mark.parametrize("family", ["llava", "idefics3"])
def test_a_vision_moe_is_the_vlm_with_a_mixtral_text_model(tmp_path: Path, family: str) -> None:
    build_tiny(family, tmp_path / "a", seed=0)
    build_tiny(family, tmp_path / "b", seed=1)
    build_moe(str(tmp_path / "a"), [str(tmp_path / "a")] * 2, tmp_path / "same")
    build_moe(str(tmp_path / "a"), [str(tmp_path / "a"), str(tmp_path / "b")], tmp_path / "moe")
    processor = AutoProcessor.from_pretrained(tmp_path / "moe")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is shown?"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(images=[Image.new("RGB", (40, 30), (20, 90, 200))], text=[text], return_tensors="pt")
    dense = AutoModelForImageTextToText.from_pretrained(tmp_path / "a").eval()
    same = AutoModelForImageTextToText.from_pretrained(tmp_path / "same").eval()
    moe = AutoModelForImageTextToText.from_pretrained(tmp_path / "moe").eval()
    assert type(moe).__name__ == type(dense).__name__
    assert type(resolve(moe, facts_for(moe).language_model_path)).__name__ == "MixtralModel"
    with torch.no_grad():
        torch.testing.assert_close(same(**inputs).logits, dense(**inputs).logits, rtol=1e-5, atol=1e-5)
    generated = moe.generate(**inputs, max_new_tokens=6, do_sample=False)
    assert generated.shape[1] == inputs["input_ids"].shape[1] + 6


NUMBERS = [f"{value}" for value in (0.35, 120, 4.5, 17, 2.7, 980, 61, 3.14, 0.08, 450)]
UNITS = ["GPa", "MPa", "K", "N", "nm", "MJ", "W", "Hz"]
WORDS = "protein cell membrane enzyme collagen tissue gene bone silk spider fibre tendon".split()


def constructed_prompts(expert: int, count: int, seed: int) -> list[Prompt]:
    """Expert 0 reads measurements (digits and units), expert 1 biology words: separable by content."""
    rng = random.Random(seed)
    if expert == 0:
        return [
            Prompt(" ".join(f"{rng.choice(NUMBERS)} {rng.choice(UNITS)}" for _ in range(6)))
            for _ in range(count)
        ]
    return [Prompt(" ".join(rng.choice(WORDS) for _ in range(10))) for _ in range(count)]


def test_fitted_routers_send_held_out_prompts_to_their_expert(llamas: Path, tmp_path: Path) -> None:
    build_moe(
        str(llamas / "expert0"), [str(llamas / "expert1"), str(llamas / "expert2")], tmp_path / "moe", seed=3
    )
    moe = AutoModelForCausalLM.from_pretrained(tmp_path / "moe").eval()
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "moe")
    prompts = {expert: constructed_prompts(expert, 40, seed=expert) for expert in (0, 1)}
    report = fit_routers(moe, tokenizer, prompts, method="logistic", holdout_fraction=0.25)
    assert (report.fit_prompts, report.heldout_prompts) == (60, 20)
    assert len(report.layers) == 3
    assert all(layer.heldout_accuracy is not None and layer.heldout_accuracy > 0.6 for layer in report.layers)
    # measured by running the held-out prompts through the model with its fitted routers, unforced
    assert report.routed_prompt_accuracy is not None and report.routed_prompt_accuracy >= 0.9
    untrained = AutoModelForCausalLM.from_pretrained(tmp_path / "moe").eval()
    baseline = fit_routers(untrained, tokenizer, prompts, method="mean", holdout_fraction=0.25)
    assert baseline.method == "mean" and baseline.routed_prompt_accuracy is not None


def saved_by_transformers_4(folder: Path, rope: dict[str, Any]) -> None:
    """Rewrite a model's config.json the way transformers 4.x saved it: `rope_theta` and `rope_scaling`
    at the top level (what nearly every checkpoint on the Hub holds), no `rope_parameters`."""
    import json

    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.pop("rope_parameters", None)
    config.update(rope, transformers_version="4.44.2")
    path.write_text(json.dumps(config, indent=2))


@pytest.mark.parametrize(
    "rope",
    [
        {"rope_theta": 500000.0, "rope_scaling": None},
        {
            "rope_theta": 500000.0,
            "rope_scaling": {
                "factor": 8.0,
                "high_freq_factor": 4.0,
                "low_freq_factor": 1.0,
                "original_max_position_embeddings": 64,
                "rope_type": "llama3",
            },
        },
    ],
    ids=["theta", "llama3-scaling"],
)
def test_rope_settings_of_a_transformers_4_checkpoint_survive(tmp_path: Path, rope: dict[str, Any]) -> None:
    dense_folder = tmp_path / "dense"
    build_tiny_causal_lm("llama", dense_folder, seed=3, num_hidden_layers=2, max_position_embeddings=4096)
    saved_by_transformers_4(dense_folder, rope)
    build_moe(str(dense_folder), [str(dense_folder)] * 2, tmp_path / "moe", experts_per_token=1)
    moe = AutoModelForCausalLM.from_pretrained(tmp_path / "moe").eval()
    dense = AutoModelForCausalLM.from_pretrained(dense_folder).eval()
    assert moe.config.rope_parameters["rope_theta"] == 500000.0
    assert moe.config.rope_parameters == dense.config.rope_parameters
    long_prompt = torch.arange(1, 200).remainder(50).add(1)[None]  # past the scaling's original length
    with torch.no_grad():
        torch.testing.assert_close(moe(long_prompt).logits, dense(long_prompt).logits, rtol=1e-5, atol=1e-5)


def test_a_phi3_longrope_checkpoint_of_transformers_4_becomes_a_loadable_equal_moe(tmp_path: Path) -> None:
    """Phi-3's 128k models: `longrope` factors, the pre-extension length beside them, saved by 4.x."""
    dense_folder = tmp_path / "dense"
    build_tiny_causal_lm("phi3", dense_folder, seed=1, num_hidden_layers=2, max_position_embeddings=4096)
    config = json.loads((dense_folder / "config.json").read_text())
    half = config["hidden_size"] // config["num_attention_heads"] // 2
    rope = {"type": "longrope", "long_factor": [1.5] * half, "short_factor": [1.0] * half}
    saved_by_transformers_4(
        dense_folder, {"rope_theta": 10000.0, "rope_scaling": rope, "original_max_position_embeddings": 1024}
    )
    build_moe(str(dense_folder), [str(dense_folder)] * 2, tmp_path / "moe", experts_per_token=1)
    moe = AutoModelForCausalLM.from_pretrained(tmp_path / "moe").eval()  # it did not load before
    dense = AutoModelForCausalLM.from_pretrained(dense_folder).eval()
    assert moe.config.rope_parameters["rope_type"] == "longrope"
    past_original = torch.arange(1, 1300).remainder(50).add(1)[None]  # the long factors apply here
    with torch.no_grad():
        torch.testing.assert_close(
            moe(past_original).logits, dense(past_original).logits, rtol=1e-5, atol=1e-5
        )
