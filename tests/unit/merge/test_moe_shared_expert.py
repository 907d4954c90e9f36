"""MoEs with a shared expert, written as Qwen2-MoE: they load with `from_pretrained` with every tensor
accounted for, and each layer computes w * shared(x) + (1 - w) * the routed experts, checked against
the dense models' MLPs mixed by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from pydantic import ValidationError
from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor

from cephalo_ray.jobs import build_moe as moe_job
from cephalo_ray.merge.checkpoint import CheckpointError, CheckpointReader
from cephalo_ray.merge.moe import build_moe
from cephalo_ray.merge.router import recording_routers
from cephalo_ray.models.families import moe_blocks
from cephalo_ray.models.tiny import build_tiny, build_tiny_causal_lm

PROMPT = torch.tensor([[1, 5, 6, 7, 8, 9, 10, 11] * 4])


def tiny_sources(kind: str, root: Path, count: int) -> list[str]:
    """`count` tiny models of one kind; Qwen2's q/k/v biases made non-zero, so copying them counts."""
    folders = []
    for seed in range(count):
        model = build_tiny_causal_lm(kind, root / f"{kind}{seed}", seed=seed, num_hidden_layers=2)
        if kind == "qwen2":
            with torch.no_grad():
                for layer in model.model.layers:
                    for projection in (
                        layer.self_attn.q_proj,
                        layer.self_attn.k_proj,
                        layer.self_attn.v_proj,
                    ):
                        projection.bias.normal_(0, 0.5)
            model.save_pretrained(root / f"{kind}{seed}")
        folders.append(str(root / f"{kind}{seed}"))
    return folders


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    root = tmp_path_factory.mktemp("shared-expert-sources")
    return {kind: tiny_sources(kind, root, 4) for kind in ("qwen2", "llama")}


class MixedMlp(torch.nn.Module):
    """What one layer of the MoE should compute: `weight` x the shared model's MLP plus (1 - weight) x
    the routed experts' MLPs, weighted by the router's top-k probabilities renormalised to sum to 1
    (or all on `forced`)."""

    def __init__(
        self,
        shared: Any,
        experts: list[Any],
        weight: float,
        router: torch.Tensor,
        top_k: int,
        forced: int | None,
    ) -> None:
        super().__init__()
        self.shared, self.experts, self.weight = shared, torch.nn.ModuleList(experts), weight
        self.router, self.top_k, self.forced = router, top_k, forced

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.forced is not None:
            routed = self.experts[self.forced](hidden)
        else:
            top, chosen = (hidden @ self.router.T).softmax(-1).topk(self.top_k, dim=-1)
            top = top / top.sum(-1, keepdim=True)
            outputs = torch.stack(
                [expert(hidden) for expert in self.experts], dim=-2
            )  # ... x experts x hidden
            routed = (
                outputs.gather(-2, chosen[..., None].expand(*chosen.shape, hidden.shape[-1])) * top[..., None]
            ).sum(-2)
        return self.weight * self.shared(hidden) + (1 - self.weight) * routed


def by_hand(
    base: str, shared: str, experts: list[str], weight: float, moe: Any, forced: int | None = None
) -> torch.Tensor:
    """The logits of `base` (attention, norms, embeddings, head) with each MLP replaced by `MixedMlp`."""
    reference = AutoModelForCausalLM.from_pretrained(base).eval()
    shared_layers = AutoModelForCausalLM.from_pretrained(shared).model.layers
    expert_layers = [AutoModelForCausalLM.from_pretrained(folder).model.layers for folder in experts]
    for number, layer in enumerate(reference.model.layers):
        router = moe_blocks(moe)[number].gate.weight.detach()
        layer.mlp = MixedMlp(
            shared_layers[number].mlp,
            [layers[number].mlp for layers in expert_layers],
            weight,
            router,
            moe.config.num_experts_per_tok,
            forced,
        )
    with torch.no_grad():
        return reference(PROMPT).logits


@pytest.mark.parametrize(("kind", "weight"), [("qwen2", 0.5), ("llama", 0.25)])
def test_forced_to_one_expert_each_layer_mixes_it_with_the_shared_expert(
    sources: dict[str, list[str]], tmp_path: Path, kind: str, weight: float
) -> None:
    base, *experts = sources[kind][:3]
    record = build_moe(base, experts, tmp_path / "moe", shared_expert=base, shared_expert_weight=weight)
    assert record["format"] == "qwen2_moe" and record["shared_expert"] == {"model": base, "weight": weight}
    loaded: Any = AutoModelForCausalLM.from_pretrained(tmp_path / "moe", output_loading_info=True)
    moe, loading = loaded
    moe.eval()
    # every tensor of the model came from the checkpoint, none was initialised at random
    assert loading == {
        "missing_keys": set(),
        "unexpected_keys": set(),
        "mismatched_keys": set(),
        "error_msgs": [],
    }
    assert type(moe).__name__ == "Qwen2MoeForCausalLM"
    assert moe.config.qkv_bias == (kind == "qwen2") and moe.config.norm_topk_prob
    for forced, expert in enumerate(experts):
        with torch.no_grad(), recording_routers(moe_blocks(moe), force_expert=forced):
            logits = moe(PROMPT).logits
        torch.testing.assert_close(logits, by_hand(base, base, experts, weight, moe, forced))
        with torch.no_grad():
            alone = AutoModelForCausalLM.from_pretrained(expert).eval()(PROMPT).logits
        assert (logits - alone).abs().max() > 0.1  # the shared expert does count


def test_top2_routing_mixes_the_chosen_experts_by_their_renormalised_weights(
    sources: dict[str, list[str]], tmp_path: Path
) -> None:
    base, *experts = sources["qwen2"]
    shared = experts[0]  # another model than the base may give the shared expert
    build_moe(base, experts, tmp_path / "moe", experts_per_token=2, shared_expert=shared, seed=1)
    moe = AutoModelForCausalLM.from_pretrained(tmp_path / "moe").eval()
    with torch.no_grad():
        torch.nn.init.normal_(moe_blocks(moe)[0].gate.weight, std=2.0)  # routers that choose decisively
        logits = moe(PROMPT).logits
    torch.testing.assert_close(logits, by_hand(base, shared, experts, 0.5, moe))


def test_an_moe_of_one_model_with_a_shared_expert_is_that_model(
    sources: dict[str, list[str]], tmp_path: Path
) -> None:
    dense_folder = sources["qwen2"][0]
    build_moe(
        dense_folder, [dense_folder] * 3, tmp_path / "moe", experts_per_token=2, shared_expert=dense_folder
    )
    moe = AutoModelForCausalLM.from_pretrained(tmp_path / "moe").eval()
    dense = AutoModelForCausalLM.from_pretrained(dense_folder).eval()
    with torch.no_grad():
        torch.testing.assert_close(moe(PROMPT).logits, dense(PROMPT).logits, rtol=1e-5, atol=1e-5)
    settings: dict[str, Any] = {"max_new_tokens": 8, "do_sample": False, "pad_token_id": 0}
    assert torch.equal(moe.generate(PROMPT[:, :8], **settings), dense.generate(PROMPT[:, :8], **settings))


def test_a_vision_moe_with_a_shared_expert_is_the_vlm_with_a_qwen2_moe_text_model(tmp_path: Path) -> None:
    build_tiny("llava", tmp_path / "a", seed=0)
    build_tiny("llava", tmp_path / "b", seed=1)
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    build_moe(a, [a, a], tmp_path / "same", shared_expert=a)
    build_moe(a, [a, b], tmp_path / "moe", shared_expert=a)
    processor = AutoProcessor.from_pretrained(tmp_path / "moe")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is shown?"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(images=[Image.new("RGB", (40, 30), (20, 90, 200))], text=[text], return_tensors="pt")
    dense = AutoModelForImageTextToText.from_pretrained(a).eval()
    same = AutoModelForImageTextToText.from_pretrained(tmp_path / "same").eval()
    loaded: Any = AutoModelForImageTextToText.from_pretrained(tmp_path / "moe", output_loading_info=True)
    moe, loading = loaded
    assert not loading["missing_keys"] and not loading["unexpected_keys"]
    assert type(moe.model.language_model).__name__ == "Qwen2MoeModel"
    with torch.no_grad():
        torch.testing.assert_close(same(**inputs).logits, dense(**inputs).logits, rtol=1e-5, atol=1e-5)
    generated = moe.eval().generate(**inputs, max_new_tokens=4, do_sample=False)
    assert generated.shape[1] == inputs["input_ids"].shape[1] + 4


@pytest.mark.parametrize("kind", ["mistral", "phi3"])
def test_sources_whose_layers_qwen2_moe_cannot_hold_are_refused_by_name(tmp_path: Path, kind: str) -> None:
    build_tiny_causal_lm(kind, tmp_path / kind)
    folder = str(tmp_path / kind)
    with pytest.raises(CheckpointError, match=f"qwen2 and llama models; this one is '{kind}'"):
        build_moe(folder, [folder] * 2, tmp_path / "moe", shared_expert=folder)


def test_llama_with_attention_biases_and_bad_weights_are_refused(tmp_path: Path) -> None:
    build_tiny_causal_lm("llama", tmp_path / "biased", attention_bias=True)
    folder = str(tmp_path / "biased")
    with pytest.raises(CheckpointError, match="bias-free attention"):
        build_moe(folder, [folder] * 2, tmp_path / "moe", shared_expert=folder)
    build_tiny_causal_lm("llama", tmp_path / "plain")
    plain = str(tmp_path / "plain")
    with pytest.raises(CheckpointError, match="between 0 and 1, got 1.0"):
        build_moe(plain, [plain] * 2, tmp_path / "moe", shared_expert=plain, shared_expert_weight=1.0)


def test_the_shared_expert_config_is_strict() -> None:
    experts = [{"name": name, "model": f"./{name}", "prompts": ["p"]} for name in ("a", "b")]
    values = {"output": "./out", "base": "./a", "experts": experts}
    assert moe_job.MoeConfig.model_validate(values).shared_expert is None
    config = moe_job.MoeConfig.model_validate({**values, "shared_expert": {}})
    assert config.shared_expert is not None and (config.shared_expert.model, config.shared_expert.weight) == (
        None,
        0.5,
    )
    for bad, key in (({"weight": 1.0}, "weight"), ({"weight": 0}, "weight"), ({"models": "./a"}, "models")):
        with pytest.raises(ValidationError, match=key):
            moe_job.MoeConfig.model_validate({**values, "shared_expert": bad})


def test_the_job_fits_and_stores_the_routers_of_a_shared_expert_moe(
    sources: dict[str, list[str]], tmp_path: Path
) -> None:
    """The Ray task's body, run here: build, fit routers (negative prompts too), write them back."""
    base, *experts = sources["qwen2"][:3]
    words = {"a": "steel alloy crack 4.5 GPa", "b": "collagen fibre bone tissue"}
    config = moe_job.MoeConfig.model_validate(
        {
            "output": str(tmp_path / "out"),
            "base": base,
            "experts": [
                {
                    "name": name,
                    "model": folder,
                    "prompts": [f"{words[name]} {n}" for n in range(5)],
                    **({"negative_prompts": [f"nm Hz {n}" for n in range(5)]} if name == "a" else {}),
                }
                for name, folder in zip(words, experts, strict=True)
            ],
            "shared_expert": {"weight": 0.5},
            "router": {"min_heldout_accuracy": 0},
        }
    )
    staging = tmp_path / "staging"
    staging.mkdir()
    details = moe_job.build(config.model_dump(), str(staging))
    assert (
        details["router"]["negative_fit_prompts"] == 4 and details["router"]["negative_heldout_prompts"] == 1
    )
    saved = json.loads((staging / "config.json").read_text())
    assert saved["model_type"] == "qwen2_moe" and saved["cephalo_merge"]["sources"]["shared_expert"] == base
    assert saved["cephalo_merge"]["router"]["method"] == "logistic"
    reader = CheckpointReader(staging)
    assert not any("block_sparse_moe" in key for key in reader.keys())
    moe = AutoModelForCausalLM.from_pretrained(staging).eval()
    unfitted_folder = tmp_path / "unfitted"
    build_moe(base, experts, unfitted_folder, shared_expert=base)
    unfitted = AutoModelForCausalLM.from_pretrained(unfitted_folder).eval()
    for fitted, start in zip(moe_blocks(moe), moe_blocks(unfitted), strict=True):
        assert not torch.allclose(fitted.gate.weight, start.gate.weight)  # the fitted routers were stored
        assert torch.equal(
            fitted.shared_expert_gate.weight, torch.zeros_like(fitted.shared_expert_gate.weight)
        )
