"""Idefics2 through layer stacking and MoE: its connector's perceiver resampler has decoder-like
layers (`post_attention_layernorm`), so the text stack is found by the family, and the perceiver,
vision tower and connector are carried over unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from cephalo_ray.merge.checkpoint import CheckpointError, CheckpointReader, decoder_layer_prefix
from cephalo_ray.merge.moe import build_moe
from cephalo_ray.merge.router import recording_routers
from cephalo_ray.merge.stacking import LayerSlice, LayerSource, stack_layers, stacked_config
from cephalo_ray.models.families import decoder_layers, moe_blocks
from cephalo_ray.models.tiny import build_tiny

TEXT_LAYERS = "model.text_model.layers"
PERCEIVER_LAYERS = "model.connector.perceiver_resampler.layers"
GREEDY: dict[str, Any] = {"max_new_tokens": 10, "do_sample": False}


@pytest.fixture(scope="module")
def idefics2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny Idefics2 models (4 text layers, seeds 0 and 1) and a stack of a 0..3 + b 2..3."""
    root = tmp_path_factory.mktemp("idefics2")
    build_tiny("idefics2", root / "a", seed=0, num_hidden_layers=4)
    build_tiny("idefics2", root / "b", seed=1, num_hidden_layers=4)
    stack_layers(
        {"a": str(root / "a"), "b": str(root / "b")},
        "a",
        [LayerSlice("a", 0, 3), LayerSlice("b", 2, 3)],
        root / "ab",
    )
    return root


def image_inputs(folder: Path, color: tuple[int, int, int] = (200, 40, 40)) -> dict[str, Any]:
    processor = AutoProcessor.from_pretrained(folder)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is shown?"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    return dict(processor(images=[Image.new("RGB", (40, 30), color)], text=[text], return_tensors="pt"))


def load_whole(folder: Path) -> Any:
    """The model, after checking that every tensor of the checkpoint found its module and none is missing."""
    loaded: Any = AutoModelForImageTextToText.from_pretrained(folder, output_loading_info=True)
    model, info = loaded
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    return model.eval()


def idefics2_8b_keys() -> list[str]:
    """The layer keys of HuggingFaceM4/idefics2-8b: 32 Mistral layers, a 3-layer perceiver resampler
    (which has post_attention_layernorm) and a 27-layer SigLIP encoder."""
    text = ["input_layernorm.weight", "post_attention_layernorm.weight", "mlp.gate_proj.weight"]
    perceiver = ["input_latents_norm.weight", "post_attention_layernorm.weight", "mlp.up_proj.weight"]
    vision = ["layer_norm1.weight", "mlp.fc1.weight"]
    keys = [f"{TEXT_LAYERS}.{n}.{rest}" for n in range(32) for rest in text]
    keys += [f"{PERCEIVER_LAYERS}.{n}.{rest}" for n in range(3) for rest in perceiver]
    keys += [f"model.vision_model.encoder.layers.{n}.{rest}" for n in range(27) for rest in vision]
    return [*keys, "model.text_model.embed_tokens.weight", "lm_head.weight"]


def test_the_text_stack_is_named_by_the_family_not_guessed(idefics2: Path) -> None:
    tiny = CheckpointReader(idefics2 / "a")
    assert decoder_layer_prefix(tiny.keys(), "idefics2") == (TEXT_LAYERS, 4)
    assert decoder_layer_prefix(idefics2_8b_keys(), "idefics2") == (TEXT_LAYERS, 32)
    # without the family, both stacks look like decoders: the error lists them
    with pytest.raises(CheckpointError, match=f"candidates {PERCEIVER_LAYERS}, {TEXT_LAYERS}"):
        decoder_layer_prefix(tiny.keys(), None)
    # a family whose text stack is not where its facts say: named, with the stacks there are
    renamed = [key.replace(TEXT_LAYERS, "model.decoder.layers") for key in tiny.keys()]
    with pytest.raises(CheckpointError, match=f"under {TEXT_LAYERS}; .*model.decoder.layers"):
        decoder_layer_prefix(renamed, "idefics2")
    # LLaVA checkpoints keep the pre-4.52 names, which transformers still writes
    llava = [f"language_model.model.layers.{n}.input_layernorm.weight" for n in range(2)]
    llava += ["vision_tower.vision_model.encoder.layers.0.layer_norm1.weight"]
    assert decoder_layer_prefix(llava, "llava") == ("language_model.model.layers", 2)


def test_stacked_tensors_are_their_source_tensors_bit_for_bit(idefics2: Path) -> None:
    stacked, a, b = (CheckpointReader(idefics2 / name) for name in ("ab", "a", "b"))
    sources = {"a": a, "b": b}
    layers = stacked.config["cephalo_merge"]["layers"]
    assert layers == [["a", 0], ["a", 1], ["a", 2], ["a", 3], ["b", 2], ["b", 3]]
    text_keys = [key for key in stacked.keys() if key.startswith(TEXT_LAYERS + ".")]
    other_keys = [key for key in stacked.keys() if not key.startswith(TEXT_LAYERS + ".")]
    assert len(text_keys) == 6 * len([key for key in a.keys() if key.startswith(f"{TEXT_LAYERS}.0.")])
    for key in text_keys:
        layer, rest = key[len(TEXT_LAYERS) + 1 :].split(".", 1)
        name, source_layer = layers[int(layer)]
        assert torch.equal(stacked.get(key), sources[name].get(f"{TEXT_LAYERS}.{source_layer}.{rest}")), key
    # the perceiver (1 layer), vision tower, connector, embeddings, norm and head: the base's, unchanged
    assert other_keys == [key for key in a.keys() if not key.startswith(TEXT_LAYERS + ".")]
    assert sum(PERCEIVER_LAYERS in key for key in other_keys) == 10
    for key in other_keys:
        assert torch.equal(stacked.get(key), a.get(key)), key
    config = stacked.config
    assert config["text_config"]["num_hidden_layers"] == 6
    assert config["perceiver_config"] == a.config["perceiver_config"]
    assert config["vision_config"] == a.config["vision_config"]


def test_the_stacked_model_loads_and_generates_from_an_image(idefics2: Path) -> None:
    stacked = load_whole(idefics2 / "ab")
    assert type(stacked).__name__ == "Idefics2ForConditionalGeneration"
    assert [layer.self_attn.layer_idx for layer in decoder_layers(stacked)] == list(range(6))
    inputs = image_inputs(idefics2 / "ab")
    cached = stacked.generate(**inputs, use_cache=True, **GREEDY)
    uncached = stacked.generate(**inputs, use_cache=False, **GREEDY)
    assert cached.shape[1] == inputs["input_ids"].shape[1] + 10
    assert torch.equal(cached, uncached)
    with torch.no_grad():  # the image reaches the text model through the perceiver
        blue = stacked(**image_inputs(idefics2 / "ab", (20, 90, 200))).logits
        assert not torch.allclose(stacked(**inputs).logits, blue)


def test_a_text_config_without_a_layer_count_gets_the_stacked_one() -> None:
    """transformers 4.x saved Idefics2-8b's text_config as its differences from MistralConfig's
    defaults, so it has no num_hidden_layers: the base checkpoint's layer count stands in."""
    base = {"model_type": "idefics2", "text_config": {"model_type": "mistral", "vocab_size": 32003}}
    plan = [LayerSource("beta", n, False) for n in range(32)] + [
        LayerSource("alpha", n, True) for n in range(24, 32)
    ]
    configs = {"beta": base, "alpha": base}
    assert stacked_config(base, plan, configs, base_layers=32)["text_config"]["num_hidden_layers"] == 40
    with pytest.raises(CheckpointError, match="no num_hidden_layers"):
        stacked_config(base, plan, configs)


def with_mlps_of(model: Any, donor: Any) -> Any:
    """`model` with every text-layer MLP replaced by `donor`'s (what expert 1 of an MoE on `model` is)."""
    for layer, donor_layer in zip(decoder_layers(model), decoder_layers(donor), strict=True):
        layer.mlp.load_state_dict(donor_layer.mlp.state_dict())
    return model


@pytest.mark.parametrize("top_k", [1, 2])
def test_an_moe_forced_to_expert_i_gives_expert_i_logits(idefics2: Path, tmp_path: Path, top_k: int) -> None:
    a, b = str(idefics2 / "a"), str(idefics2 / "b")
    build_moe(a, [a, b], tmp_path / "moe", experts_per_token=top_k)
    moe = load_whole(tmp_path / "moe")
    assert type(moe.model.text_model).__name__ == "MixtralModel"
    assert moe.config.text_config.num_hidden_layers == 4
    inputs = image_inputs(idefics2 / "a")
    with torch.no_grad():
        references = [
            load_whole(idefics2 / "a")(**inputs).logits,
            with_mlps_of(load_whole(idefics2 / "a"), load_whole(idefics2 / "b"))(**inputs).logits,
        ]
        assert (references[0] - references[1]).abs().max() > 1e-2  # the experts differ
        for expert, expected in enumerate(references):
            with recording_routers(moe_blocks(moe), force_expert=expert):
                logits = moe(**inputs).logits
            torch.testing.assert_close(logits, expected, rtol=0, atol=1e-6)
    cached = moe.generate(**inputs, use_cache=True, **GREEDY)
    assert torch.equal(cached, moe.generate(**inputs, use_cache=False, **GREEDY))
    # everything outside the text layers is the base's, tensor for tensor
    built, base = CheckpointReader(tmp_path / "moe"), CheckpointReader(a)
    outside = [key for key in base.keys() if not key.startswith(TEXT_LAYERS + ".")]
    assert [key for key in built.keys() if not key.startswith(TEXT_LAYERS + ".")] == outside
    assert all(torch.equal(built.get(key), base.get(key)) for key in outside)
    assert (
        json.loads((tmp_path / "moe" / "config.json").read_text())["perceiver_config"]
        == (base.config["perceiver_config"])
    )
