"""The shipped recipes end to end through their jobs on a local Ray: the Cephalo-10b stack
(configs/merge/cephalo-10b.yaml) and the 3-expert MoE (configs/moe/cephalo-3x-moe.yaml) on tiny
Idefics2 models, and the tiny shared-expert MoE (configs/moe/tiny-moe.yaml) on tiny LLaVA models,
with only the model locations, prompt files, the output and the resources overridden."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import torch
import yaml
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from cephalo_ray.config import load_config
from cephalo_ray.jobs import build_moe, merge_layers
from cephalo_ray.merge.checkpoint import CheckpointReader
from cephalo_ray.models.families import moe_blocks
from cephalo_ray.models.tiny import build_tiny

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TEXT_LAYERS = "model.text_model.layers"
LOCAL_RESOURCES = ["resources.num_cpus=0.5", "resources.num_gpus=0", "resources.memory_gb=null"]


def as_saved_by_transformers_4(folder: Path) -> None:
    """Leave `num_hidden_layers` out of the text config, as Idefics2-8b's config.json does (transformers
    4.40 saved a sub-config as its differences from the defaults; the 32 layers are Llama's default)."""
    path = folder / "config.json"
    config = json.loads(path.read_text())
    assert config["text_config"].pop("num_hidden_layers") == 32
    path.write_text(json.dumps(config, indent=2))


def generate_from_an_image(model: Any, folder: Path, new_tokens: int) -> None:
    processor = AutoProcessor.from_pretrained(folder)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is shown?"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(images=[Image.new("RGB", (40, 30), (200, 40, 40))], text=[text], return_tensors="pt")
    settings: dict[str, Any] = {"max_new_tokens": new_tokens, "do_sample": False}
    cached = model.generate(**inputs, use_cache=True, **settings)
    assert cached.shape[1] == inputs["input_ids"].shape[1] + new_tokens
    assert torch.equal(cached, model.generate(**inputs, use_cache=False, **settings))


def load_whole(folder: Path) -> Any:
    loaded: Any = AutoModelForImageTextToText.from_pretrained(folder, output_loading_info=True)
    model, info = loaded
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    return model.eval()


def test_the_cephalo_10b_recipe_stacks_two_idefics2_models(ray_session: Any, tmp_path: Path) -> None:
    """32 layers of beta, then alpha's 24..31: the recipe's own ranges, on tiny Idefics2 models with
    Idefics2-8b's 32 text layers."""
    models = tmp_path / "beta", tmp_path / "alpha"
    for seed, folder in enumerate(models):
        build_tiny("idefics2", folder, seed=seed, num_hidden_layers=32)
        as_saved_by_transformers_4(folder)
    output = tmp_path / "cephalo-10b"
    overrides = [f"output={output}", *(f"models.{n}={tmp_path / n}" for n in ("beta", "alpha"))]
    config = load_config(
        merge_layers.MergeConfig,
        CONFIGS / "merge" / "cephalo-10b.yaml",
        overrides=overrides + LOCAL_RESOURCES,
    )
    assert [(s.model, s.first, s.last) for s in config.slices] == [("beta", 0, 31), ("alpha", 24, 31)]
    manifest = merge_layers.run(config)
    assert manifest["status"] == "complete" and manifest["counts"]["output_layers"] == 40
    assert manifest["details"]["trainable_layers"] == list(range(32, 40))
    stacked, beta, alpha = (CheckpointReader(folder) for folder in (output / "model", *models))
    assert stacked.config["text_config"]["num_hidden_layers"] == 40
    for key in stacked.keys():
        if not key.startswith(TEXT_LAYERS + "."):  # perceiver, vision, connector, embeddings, head
            assert torch.equal(stacked.get(key), beta.get(key)), key
            continue
        layer, rest = key[len(TEXT_LAYERS) + 1 :].split(".", 1)
        source, number = (beta, int(layer)) if int(layer) < 32 else (alpha, int(layer) - 8)
        assert torch.equal(stacked.get(key), source.get(f"{TEXT_LAYERS}.{number}.{rest}")), key
    model = load_whole(output / "model")
    assert model.config.text_config.num_hidden_layers == 40
    generate_from_an_image(model, output / "model", new_tokens=4)


def test_the_3_expert_moe_recipe_builds_an_idefics2_moe_with_fitted_routers(
    ray_session: Any, tmp_path: Path
) -> None:
    recipe = yaml.safe_load((CONFIGS / "moe" / "cephalo-3x-moe.yaml").read_text())
    # one colour per expert: its prompts differ in their images as well as their words
    colours = {"blue.png": (30, 30, 220), "red.png": (220, 30, 30), "green.png": (30, 200, 40)}
    for name, colour in colours.items():
        Image.new("RGB", (32, 32), colour).save(tmp_path / name)
    topics = {
        "materials": ["steel 4.5 GPa", "crack 120 MPa", "alloy 17 K", "ceramic 980 MPa", "graphene 0.35 nm"],
        "biology": [
            "cell bone tissue",
            "gene silk protein",
            "collagen tendon",
            "enzyme fibre",
            "membrane cell",
        ],
        "general": [
            "what is shown",
            "describe the figure",
            "read the axis",
            "the legend says",
            "the caption",
        ],
    }
    for seed, expert in enumerate(recipe["experts"]):
        build_tiny("idefics2", tmp_path / expert["name"], seed=seed)
        expert["model"] = str(tmp_path / expert["name"])
        # each prompt draws 8 of its expert's words: the held-out prompts speak the fit prompts' language,
        # and outweigh the chat template that every expert's prompts share
        words = " ".join(topics[expert["name"]]).split()
        rng = random.Random(seed)
        texts = [" ".join(rng.choice(words) for _ in range(8)) for _ in topics[expert["name"]]]
        lines = [{"text": text, "image": list(colours)[seed]} for text in texts]
        expert["prompts_file"] = str(tmp_path / f"{expert['name']}.jsonl")
        Path(expert["prompts_file"]).write_text("\n".join(json.dumps(line) for line in lines))
    # the materials expert's negatives: what the general expert is asked, with its image
    negatives = [{"text": text, "image": "green.png"} for text in topics["general"]]
    materials = recipe["experts"][0]
    assert materials["name"] == "materials" and materials["negative_prompts_file"]
    materials["negative_prompts_file"] = str(tmp_path / "materials-not.jsonl")
    Path(materials["negative_prompts_file"]).write_text("\n".join(json.dumps(line) for line in negatives))
    recipe["base"] = recipe["experts"][0]["model"]
    recipe["output"] = str(tmp_path / "moe")
    recipe["resources"] = {"num_cpus": 0.5}
    manifest = build_moe.run(build_moe.MoeConfig.model_validate(recipe))
    router = manifest["details"]["router"]
    assert (router["fit_prompts"], router["heldout_prompts"]) == (12, 3) and len(router["layers"]) == 2
    # 5 negatives of materials and the recipe's 2 of biology, a fifth of each held out
    assert (router["negative_fit_prompts"], router["negative_heldout_prompts"]) == (6, 1)
    # the recipe keeps the default check: every layer routes held-out tokens above chance + 0.1
    minimum = manifest["details"]["router_min_heldout_accuracy"]
    assert minimum == round(1 / 3 + 0.1, 4)
    assert all(layer["heldout_accuracy"] >= minimum for layer in router["layers"])
    folder = tmp_path / "moe" / "model"
    moe = load_whole(folder)
    assert type(moe.model.text_model).__name__ == "MixtralModel"
    assert moe.config.text_config.num_local_experts == 3
    # the fitted routers were written back under the text layers, not the perceiver's
    checkpoint = CheckpointReader(folder)
    for number, block in enumerate(moe_blocks(moe)):
        written = checkpoint.get(f"{TEXT_LAYERS}.{number}.block_sparse_moe.gate.weight")
        assert torch.equal(written, block.gate.weight.detach())
    base = CheckpointReader(recipe["base"])
    for key in (key for key in base.keys() if "perceiver_resampler" in key or "vision_model" in key):
        assert torch.equal(checkpoint.get(key), base.get(key)), key
    generate_from_an_image(moe, folder, new_tokens=4)


def test_the_tiny_moe_recipe_builds_a_shared_expert_llava_moe_with_negative_prompts(
    ray_session: Any, tmp_path: Path
) -> None:
    recipe = yaml.safe_load((CONFIGS / "moe" / "tiny-moe.yaml").read_text())
    for seed, name in enumerate(("tiny-a", "tiny-b")):  # the models of the recipe's comment
        build_tiny("llava", tmp_path / name, seed=seed)
    recipe["base"] = str(tmp_path / Path(recipe["base"]).name)
    for expert in recipe["experts"]:
        expert["model"] = str(tmp_path / Path(expert["model"]).name)
    recipe["output"] = str(tmp_path / "moe")
    recipe["resources"] = {"num_cpus": 0.5}
    manifest = build_moe.run(build_moe.MoeConfig.model_validate(recipe))
    assert manifest["status"] == "complete"
    router = manifest["details"]["router"]
    assert router["negative_fit_prompts"] + router["negative_heldout_prompts"] == 6
    assert router["negatives_routed_away_prompts"] is not None
    folder = tmp_path / "moe" / "model"
    moe = load_whole(folder)
    assert type(moe.model.language_model).__name__ == "Qwen2MoeModel"
    assert moe.config.text_config.num_experts == 2
    # the shared expert is the base's MLP, its down projection kept (weight 0.5: scaled by 2 x 0.5)
    checkpoint, base = CheckpointReader(folder), CheckpointReader(recipe["base"])
    prefix = "language_model.model.layers"  # LLaVA's checkpoint names, kept by the MoE
    for name in ("gate_proj", "up_proj", "down_proj"):
        shared = checkpoint.get(f"{prefix}.0.mlp.shared_expert.{name}.weight")
        assert torch.equal(shared, base.get(f"{prefix}.0.mlp.{name}.weight")), name
    generate_from_an_image(moe, folder, new_tokens=4)
