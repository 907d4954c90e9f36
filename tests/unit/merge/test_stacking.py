"""Layer stacking on tiny causal LMs and a tiny LLaVA: the forward, the KV cache, reloads, tied weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor

from cephalo_ray.merge.checkpoint import WEIGHTS_INDEX, CheckpointError, CheckpointReader
from cephalo_ray.merge.stacking import LayerSlice, LayerSource, plan_layers, stack_layers, stacked_config
from cephalo_ray.models.families import decoder_layers, facts_for, resolve
from cephalo_ray.models.tiny import build_tiny, build_tiny_causal_lm

PROMPT = torch.tensor([[1, 5, 6, 7, 8, 9, 10, 11]])


@pytest.fixture(scope="module")
def two_llamas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("llamas")
    build_tiny_causal_lm("llama", root / "a", seed=0, num_hidden_layers=4)
    build_tiny_causal_lm("llama", root / "b", seed=1, num_hidden_layers=4)
    return {"a": root / "a", "b": root / "b", "root": root}


def hand_composed_logits(a: Any, b: Any, ids: torch.Tensor) -> torch.Tensor:
    """A's embeddings, A's layers 0-3, B's layers 2-3, A's norm and head, called one by one."""
    positions = torch.arange(ids.shape[1])[None]
    hidden = a.model.embed_tokens(ids)
    rotary = a.model.rotary_emb(hidden, positions)
    for layer in [*a.model.layers, b.model.layers[2], b.model.layers[3]]:
        # no mask: SDPA attends causally when it is not given one
        hidden = layer(hidden, position_embeddings=rotary, attention_mask=None, position_ids=positions)
    return a.lm_head(a.model.norm(hidden))


def test_colliding_source_layers_compose_like_a_hand_built_forward(two_llamas: dict[str, Path]) -> None:
    output = two_llamas["root"] / "ab"
    record = stack_layers(
        {"a": str(two_llamas["a"]), "b": str(two_llamas["b"])},
        "a",
        [LayerSlice("a", 0, 3), LayerSlice("b", 2, 3)],
        output,
    )
    assert record["layers"] == [["a", 0], ["a", 1], ["a", 2], ["a", 3], ["b", 2], ["b", 3]]
    assert record["trainable_layers"] == [4, 5]
    stacked = AutoModelForCausalLM.from_pretrained(output).eval()
    assert stacked.config.num_hidden_layers == 6
    assert [layer.self_attn.layer_idx for layer in stacked.model.layers] == list(range(6))
    assert stacked.config.cephalo_merge["slices"][1] == {"model": "b", "first": 2, "last": 3, "train": None}
    a = AutoModelForCausalLM.from_pretrained(two_llamas["a"]).eval()
    b = AutoModelForCausalLM.from_pretrained(two_llamas["b"]).eval()
    with torch.no_grad():
        expected = hand_composed_logits(a, b, PROMPT)
        torch.testing.assert_close(stacked(PROMPT).logits, expected, rtol=1e-5, atol=1e-5)
        # and the stack is not just model A: B's layers change the output
        assert not torch.allclose(a(PROMPT).logits, expected, atol=1e-3)


def test_generation_with_the_kv_cache_equals_generation_without_it(two_llamas: dict[str, Path]) -> None:
    output = two_llamas["root"] / "abba"
    stack_layers(
        {"a": str(two_llamas["a"]), "b": str(two_llamas["b"])},
        "a",
        [LayerSlice("a", 0, 3), LayerSlice("b", 2, 3), LayerSlice("a", 1, 2)],
        output,
    )
    stacked = AutoModelForCausalLM.from_pretrained(output).eval()
    settings: dict[str, Any] = {"max_new_tokens": 16, "do_sample": False, "pad_token_id": 0}
    cached = stacked.generate(PROMPT, use_cache=True, **settings)
    uncached = stacked.generate(PROMPT, use_cache=False, **settings)
    assert cached.shape[1] == PROMPT.shape[1] + 16
    assert torch.equal(cached, uncached)


def test_save_reload_and_sharded_output(two_llamas: dict[str, Path], tmp_path: Path) -> None:
    stack_layers(
        {"a": str(two_llamas["a"]), "b": str(two_llamas["b"])},
        "b",
        [LayerSlice("b", 0, 1), LayerSlice("a", 0, 3)],
        tmp_path / "stacked",
        max_shard_bytes=200_000,
    )
    index = json.loads((tmp_path / "stacked" / WEIGHTS_INDEX).read_text())
    assert len(set(index["weight_map"].values())) > 2  # written shard by shard
    assert (tmp_path / "stacked" / "tokenizer.json").exists()
    first = AutoModelForCausalLM.from_pretrained(tmp_path / "stacked").eval()
    first.save_pretrained(tmp_path / "again")
    second = AutoModelForCausalLM.from_pretrained(tmp_path / "again").eval()
    with torch.no_grad():
        assert torch.equal(first(PROMPT).logits, second(PROMPT).logits)
    assert second.config.num_hidden_layers == 6 and second.config.cephalo_merge["base"] == "b"


def test_tied_embeddings_stay_tied(tmp_path: Path) -> None:
    build_tiny_causal_lm("llama", tmp_path / "a", seed=0, tie_word_embeddings=True)
    build_tiny_causal_lm("llama", tmp_path / "b", seed=1, tie_word_embeddings=True)
    stack_layers(
        {"a": str(tmp_path / "a"), "b": str(tmp_path / "b")},
        "a",
        [LayerSlice("a", 0, 1), LayerSlice("b", 0, 1)],
        tmp_path / "ab",
    )
    assert not any(key.startswith("lm_head") for key in CheckpointReader(tmp_path / "ab").keys())
    stacked = AutoModelForCausalLM.from_pretrained(tmp_path / "ab")
    assert stacked.config.tie_word_embeddings
    assert stacked.lm_head.weight.data_ptr() == stacked.model.embed_tokens.weight.data_ptr()


@pytest.mark.parametrize("family", ["llava", "idefics3"])
def test_a_vlm_stacks_its_text_model_and_keeps_its_vision(tmp_path: Path, family: str) -> None:
    build_tiny(family, tmp_path / "a", seed=0, num_hidden_layers=4)
    build_tiny(family, tmp_path / "b", seed=1, num_hidden_layers=4)
    stack_layers(
        {"a": str(tmp_path / "a"), "b": str(tmp_path / "b")},
        "a",
        [LayerSlice("a", 0, 3), LayerSlice("b", 2, 3)],
        tmp_path / "ab",
    )
    stacked = AutoModelForImageTextToText.from_pretrained(tmp_path / "ab").eval()
    a = AutoModelForImageTextToText.from_pretrained(tmp_path / "a").eval()
    b = AutoModelForImageTextToText.from_pretrained(tmp_path / "b").eval()
    assert type(stacked).__name__ == type(a).__name__
    assert stacked.config.text_config.num_hidden_layers == 6
    layers, a_layers, b_layers = (decoder_layers(model) for model in (stacked, a, b))
    assert torch.equal(layers[4].mlp.up_proj.weight, b_layers[2].mlp.up_proj.weight)
    assert torch.equal(layers[3].self_attn.q_proj.weight, a_layers[3].self_attn.q_proj.weight)
    vision = resolve(stacked, facts_for(stacked).vision_path).embeddings.patch_embedding.weight
    assert torch.equal(vision, resolve(a, facts_for(a).vision_path).embeddings.patch_embedding.weight)
    processor = AutoProcessor.from_pretrained(tmp_path / "ab")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is shown?"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(images=[Image.new("RGB", (40, 30), (200, 40, 40))], text=[text], return_tensors="pt")
    settings: dict[str, Any] = {"max_new_tokens": 10, "do_sample": False}
    assert torch.equal(
        stacked.generate(**inputs, use_cache=True, **settings),
        stacked.generate(**inputs, use_cache=False, **settings),
    )


def test_layers_of_another_size_are_refused(two_llamas: dict[str, Path], tmp_path: Path) -> None:
    build_tiny_causal_lm("llama", tmp_path / "small", seed=2, hidden_size=32, intermediate_size=64)
    with pytest.raises(CheckpointError, match="do not match the base"):
        stack_layers(
            {"a": str(two_llamas["a"]), "small": str(tmp_path / "small")},
            "a",
            [LayerSlice("a", 0, 3), LayerSlice("small", 0, 1)],
            tmp_path / "out",
        )


def test_a_slice_past_the_last_layer_is_named() -> None:
    with pytest.raises(ValueError, match=r"slices\[1\] = layers 2..4 of 'b', which has layers 0..3"):
        plan_layers([LayerSlice("a", 0, 3), LayerSlice("b", 2, 4)], {"a": 4, "b": 4})
    with pytest.raises(ValueError, match="not one of"):
        plan_layers([LayerSlice("c", 0, 1)], {"a": 4})


def test_layer_types_follow_their_layers() -> None:
    def config(kinds: list[str]) -> dict[str, Any]:
        return {"model_type": "llava", "text_config": {"num_hidden_layers": len(kinds), "layer_types": kinds}}

    a = config(["full_attention", "sliding_attention", "full_attention"])
    b = config(["sliding_attention", "sliding_attention", "full_attention"])
    plan = [
        LayerSource("a", 0, False),
        LayerSource("a", 1, False),
        LayerSource("b", 2, True),
        LayerSource("b", 0, True),
    ]
    result = stacked_config(a, plan, {"a": a, "b": b})
    assert result["text_config"]["num_hidden_layers"] == 4
    assert result["text_config"]["layer_types"] == [
        "full_attention",
        "sliding_attention",
        "full_attention",
        "sliding_attention",
    ]
    assert a["text_config"]["num_hidden_layers"] == 3  # the input is not modified


def test_every_per_layer_setting_follows_its_layers_and_the_model_loads(tmp_path: Path) -> None:
    """SmolLM3 keeps `no_rope_layers` (one flag per layer) beside `layer_types`; both must be re-indexed."""
    from transformers import SmolLM3Config, SmolLM3ForCausalLM

    torch.manual_seed(0)
    config = SmolLM3Config(
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=0,
        no_rope_layers=[1, 0, 1, 0],
        eos_token_id=[1, 2, 3, 4],  # a list as long as the layer count, which is not per layer
    )
    SmolLM3ForCausalLM(config).save_pretrained(tmp_path / "smol")
    stack_layers(
        {"a": str(tmp_path / "smol")},
        "a",
        [LayerSlice("a", 0, 2), LayerSlice("a", 1, 3)],
        tmp_path / "stacked",
    )
    stacked = AutoModelForCausalLM.from_pretrained(tmp_path / "stacked")
    assert stacked.config.num_hidden_layers == 6
    assert stacked.config.no_rope_layers == [1, 0, 1, 0, 1, 0]  # layers 0, 1, 2 then 1, 2, 3
    assert stacked.config.eos_token_id == [1, 2, 3, 4]
    with torch.no_grad():
        assert torch.isfinite(stacked(torch.tensor([[5, 6, 7, 8]])).logits).all()


def test_identity_init_starts_the_stack_as_the_base_and_leaves_the_new_layers_trainable(
    two_llamas: dict[str, Path],
) -> None:
    output = two_llamas["root"] / "identity"
    record = stack_layers(
        {"a": str(two_llamas["a"]), "b": str(two_llamas["b"])},
        "a",
        [LayerSlice("a", 0, 3), LayerSlice("b", 2, 3)],
        output,
        init="identity",
    )
    assert record["init"] == "identity" and record["trainable_layers"] == [4, 5]
    stacked = AutoModelForCausalLM.from_pretrained(output).eval()
    a = AutoModelForCausalLM.from_pretrained(two_llamas["a"]).eval()
    b = AutoModelForCausalLM.from_pretrained(two_llamas["b"]).eval()
    for number, source in ((4, b.model.layers[2]), (5, b.model.layers[3])):
        new = stacked.model.layers[number]
        assert not new.self_attn.o_proj.weight.any() and not new.mlp.down_proj.weight.any()
        # everything else of the layer is its source's: the blocks learn from B's weights
        assert torch.equal(new.self_attn.q_proj.weight, source.self_attn.q_proj.weight)
        assert torch.equal(new.mlp.up_proj.weight, source.mlp.up_proj.weight)
    for number in range(4):  # the base's own layers are untouched
        assert torch.equal(
            stacked.model.layers[number].mlp.down_proj.weight, a.model.layers[number].mlp.down_proj.weight
        )
    with torch.no_grad():
        torch.testing.assert_close(stacked(PROMPT).logits, a(PROMPT).logits, rtol=0, atol=1e-6)
    # and the zeroed blocks still learn: their output projections get gradients
    stacked.train()
    stacked(PROMPT, labels=PROMPT).loss.backward()
    assert stacked.model.layers[4].self_attn.o_proj.weight.grad.abs().sum() > 0


def test_identity_init_is_a_setting_of_stacking_only() -> None:
    from pydantic import ValidationError

    from cephalo_ray.jobs.merge_layers import MergeConfig

    models = {"a": "/models/a", "b": "/models/b"}
    stacked = MergeConfig.model_validate(
        {
            "output": "/out",
            "models": models,
            "base": "a",
            "init": "identity",
            "slices": [{"model": "b", "first": 0, "last": 1}],
        }
    )
    assert stacked.init == "identity"
    with pytest.raises(ValidationError, match="init: identity applies to method stack"):
        MergeConfig.model_validate(
            {"output": "/out", "models": models, "base": "a", "method": "linear", "init": "identity"}
        )
