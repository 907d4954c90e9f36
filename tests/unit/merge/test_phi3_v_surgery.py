"""Phi-3-vision (`phi3_v`) through stacking and MoE: refused without `trust_remote_code`, and with it
the checkpoint's own config (longrope "su" scaling, `embd_layer`, `img_processor`) and code carried.

The default tests build checkpoints laid out as the real one is (its weight names, its config.json) and
check the files. Loading needs Phi-3-vision's own code, which is not part of this repository and runs
only under transformers 4.x: the slow test at the end runs it when `CEPHALO_PHI3V_CODE` names a folder
holding configuration_phi3_v.py, modeling_phi3_v.py and image_embedding_phi3_v.py, and
`CEPHALO_PHI3V_TRANSFORMERS` a folder where transformers 4.x is installed
(`pip install --no-deps --target DIR transformers==4.44.2 tokenizers==0.19.1 huggingface_hub==0.24.6`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from cephalo_ray.merge.blending import blend_checkpoints
from cephalo_ray.merge.checkpoint import CheckpointError, CheckpointReader
from cephalo_ray.merge.moe import PHI3_V_MOE_CODE, build_moe, moe_config
from cephalo_ray.merge.stacking import LayerSlice, LayerSource, stack_layers, stacked_config

# microsoft/Phi-3-vision-128k-instruct's config.json, as published (transformers 4.38.1)
LONG_FACTOR = [
    1.0299999713897705, 1.0499999523162842, 1.0499999523162842, 1.0799999237060547, 1.2299998998641968,
    1.2299998998641968, 1.2999999523162842, 1.4499999284744263, 1.5999999046325684, 1.6499998569488525,
    1.8999998569488525, 2.859999895095825, 3.68999981880188, 5.419999599456787, 5.489999771118164,
    5.489999771118164, 9.09000015258789, 11.579999923706055, 15.65999984741211, 15.769999504089355,
    15.789999961853027, 18.360000610351562, 21.989999771118164, 23.079999923706055, 30.009998321533203,
    32.35000228881836, 32.590003967285156, 35.56000518798828, 39.95000457763672, 53.840003967285156,
    56.20000457763672, 57.95000457763672, 59.29000473022461, 59.77000427246094, 59.920005798339844,
    61.190006256103516, 61.96000671386719, 62.50000762939453, 63.3700065612793, 63.48000717163086,
    63.48000717163086, 63.66000747680664, 63.850006103515625, 64.08000946044922, 64.760009765625,
    64.80001068115234, 64.81001281738281, 64.81001281738281,
]  # fmt: skip
SHORT_FACTOR = [
    1.05, 1.05, 1.05, 1.1, 1.1, 1.1, 1.2500000000000002, 1.2500000000000002, 1.4000000000000004,
    1.4500000000000004, 1.5500000000000005, 1.8500000000000008, 1.9000000000000008, *[2.000000000000001] * 19,
    2.1000000000000005, 2.1000000000000005, 2.2, *[2.3499999999999996] * 4, 2.3999999999999995,
    2.3999999999999995, 2.6499999999999986, 2.6999999999999984, 2.8999999999999977, 2.9499999999999975,
    3.049999999999997, 3.049999999999997, 3.049999999999997,
]  # fmt: skip
REAL_CONFIG: dict[str, Any] = {
    "_name_or_path": "Phi-3-vision-128k-instruct",
    "architectures": ["Phi3VForCausalLM"],
    "attention_dropout": 0.0,
    "auto_map": {
        "AutoConfig": "configuration_phi3_v.Phi3VConfig",
        "AutoModelForCausalLM": "modeling_phi3_v.Phi3VForCausalLM",
    },
    "bos_token_id": 1,
    "embd_layer": {
        "embedding_cls": "image",
        "hd_transform_order": "sub_glb",
        "projection_cls": "mlp",
        "use_hd_transform": True,
        "with_learnable_separator": True,
    },
    "eos_token_id": 2,
    "hidden_act": "silu",
    "hidden_size": 3072,
    "img_processor": {
        "image_dim_out": 1024,
        "model_name": "openai/clip-vit-large-patch14-336",
        "name": "clip_vision_model",
        "num_img_tokens": 144,
    },
    "initializer_range": 0.02,
    "intermediate_size": 8192,
    "max_position_embeddings": 131072,
    "model_type": "phi3_v",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 32,
    "original_max_position_embeddings": 4096,
    "rms_norm_eps": 1e-05,
    "rope_scaling": {"long_factor": LONG_FACTOR, "short_factor": SHORT_FACTOR, "type": "su"},
    "rope_theta": 10000.0,
    "sliding_window": 131072,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.38.1",
    "use_cache": True,
    "vocab_size": 32064,
    "_attn_implementation": "flash_attention_2",
}
CODE_FILES = ("configuration_phi3_v.py", "modeling_phi3_v.py", "image_embedding_phi3_v.py")
HIDDEN, INTERMEDIATE, VOCAB, LAYERS = 16, 32, 50, 3
VISION = "model.vision_embed_tokens"


def phi3_v_tensors(seed: int) -> dict[str, torch.Tensor]:
    """The real checkpoint's weight names (microsoft/Phi-3-vision-128k-instruct's index) at tiny sizes."""
    generator = torch.Generator().manual_seed(seed)

    def tensor(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator)

    tensors = {
        "model.embed_tokens.weight": tensor(VOCAB, HIDDEN),
        "model.norm.weight": tensor(HIDDEN),
        "lm_head.weight": tensor(VOCAB, HIDDEN),
        f"{VISION}.glb_GN": tensor(1, 1, 32),
        f"{VISION}.sub_GN": tensor(1, 1, 1, 32),
        f"{VISION}.img_projection.0.weight": tensor(HIDDEN, 32),
        f"{VISION}.img_projection.0.bias": tensor(HIDDEN),
        f"{VISION}.img_projection.2.weight": tensor(HIDDEN, HIDDEN),
        f"{VISION}.img_projection.2.bias": tensor(HIDDEN),
        f"{VISION}.img_processor.vision_model.embeddings.class_embedding": tensor(8),
        f"{VISION}.img_processor.vision_model.post_layernorm.weight": tensor(8),
        f"{VISION}.img_processor.vision_model.pre_layrnorm.weight": tensor(8),
    }
    for layer in range(2):  # CLIP's encoder layers: a second `layers` stack, with layer_norm1/2
        clip = f"{VISION}.img_processor.vision_model.encoder.layers.{layer}"
        for name in ("layer_norm1.weight", "layer_norm2.weight", "self_attn.q_proj.weight", "mlp.fc1.weight"):
            tensors[f"{clip}.{name}"] = tensor(8) if "norm" in name else tensor(8, 8)
    for layer in range(LAYERS):
        text = f"model.layers.{layer}"
        tensors.update(
            {
                f"{text}.input_layernorm.weight": tensor(HIDDEN),
                f"{text}.post_attention_layernorm.weight": tensor(HIDDEN),
                f"{text}.self_attn.qkv_proj.weight": tensor(3 * HIDDEN, HIDDEN),
                f"{text}.self_attn.o_proj.weight": tensor(HIDDEN, HIDDEN),
                f"{text}.mlp.gate_up_proj.weight": tensor(2 * INTERMEDIATE, HIDDEN),
                f"{text}.mlp.down_proj.weight": tensor(HIDDEN, INTERMEDIATE),
            }
        )
    return tensors


def write_phi3_v(folder: Path, seed: int, code: bool = True) -> Path:
    """A phi3_v folder as save_pretrained leaves a fine-tune of the real model: its config (at tiny
    sizes), weights, and the model's code (placeholder files here: nothing in these tests runs it)."""
    folder.mkdir(parents=True)
    config = {
        **REAL_CONFIG,
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "vocab_size": VOCAB,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    save_file(phi3_v_tensors(seed), str(folder / "model.safetensors"), metadata={"format": "pt"})
    for name in CODE_FILES if code else ():
        (folder / name).write_text(f"# {name} of the model\n")
    return folder


@pytest.fixture()
def phi3_vs(tmp_path: Path) -> list[str]:
    return [str(write_phi3_v(tmp_path / f"phi3v-{seed}", seed)) for seed in range(3)]


def test_stacking_moe_and_weight_merges_refuse_phi3_v_without_the_switch(
    phi3_vs: list[str], tmp_path: Path
) -> None:
    models = {"a": phi3_vs[0], "b": phi3_vs[1]}
    with pytest.raises(CheckpointError, match=r"phi3_v model .*modeling_phi3_v\.py.*trust_remote_code: true"):
        stack_layers(models, "a", [LayerSlice("a", 0, 2), LayerSlice("b", 2, 2)], tmp_path / "stack")
    with pytest.raises(CheckpointError, match="trust_remote_code: true"):
        build_moe(phi3_vs[0], phi3_vs, tmp_path / "moe")
    with pytest.raises(CheckpointError, match="trust_remote_code: true"):
        blend_checkpoints(models, "a", "linear", tmp_path / "linear")
    assert not (tmp_path / "stack").exists() and not (tmp_path / "moe").exists()


def test_a_stack_of_the_real_config_changes_the_layer_count_only() -> None:
    plan = [LayerSource("a", layer, False) for layer in range(32)]
    plan += [LayerSource("b", layer, True) for layer in range(24, 32)]
    config = stacked_config(REAL_CONFIG, plan, {"a": REAL_CONFIG, "b": REAL_CONFIG})
    assert config == {**REAL_CONFIG, "num_hidden_layers": 40}


def test_stacked_phi3_v_keeps_its_config_code_vision_and_layers(phi3_vs: list[str], tmp_path: Path) -> None:
    output = tmp_path / "stack"
    record = stack_layers(
        {"a": phi3_vs[0], "b": phi3_vs[1]},
        "a",
        [LayerSlice("a", 0, 2), LayerSlice("b", 1, 2)],
        output,
        trust_remote_code=True,
    )
    assert record["layers"] == [["a", 0], ["a", 1], ["a", 2], ["b", 1], ["b", 2]]
    config = json.loads((output / "config.json").read_text())
    source = json.loads(Path(phi3_vs[0], "config.json").read_text())
    assert config.pop("cephalo_merge")["kind"] == "stack"
    assert config == {**source, "num_hidden_layers": 5}  # rope_scaling, embd_layer, img_processor, auto_map
    for name in CODE_FILES:
        assert (output / name).read_text() == Path(phi3_vs[0], name).read_text()
    stacked, a, b = CheckpointReader(output), CheckpointReader(phi3_vs[0]), CheckpointReader(phi3_vs[1])
    for key in stacked.keys():
        if not key.startswith("model.layers."):  # the CLIP encoder's layers stay as they are
            assert torch.equal(stacked.get(key), a.get(key)), key
            continue
        layer, rest = key[len("model.layers.") :].split(".", 1)
        source_reader, number = (a, int(layer)) if int(layer) < 3 else (b, int(layer) - 2)
        assert torch.equal(stacked.get(key), source_reader.get(f"model.layers.{number}.{rest}")), key
    outside = [key for key in a.keys() if not key.startswith("model.layers.")]
    assert len(stacked.keys()) == len(outside) + 5 * 6  # 5 layers of 6 tensors


def test_the_moe_config_of_the_real_checkpoint_adds_experts_and_its_model_class() -> None:
    config = moe_config(REAL_CONFIG, 3, 1)
    assert config == {
        **REAL_CONFIG,
        "num_local_experts": 3,
        "num_experts_per_tok": 1,
        "architectures": ["Phi3VMoeForCausalLM"],
        "auto_map": {
            "AutoConfig": "configuration_phi3_v.Phi3VConfig",
            "AutoModelForCausalLM": "modeling_phi3_v_moe.Phi3VMoeForCausalLM",
        },
    }
    with_head_dim = {**REAL_CONFIG, "head_dim": 96}  # none in the real config; carried where given
    assert moe_config(with_head_dim, 2, 2)["head_dim"] == 96
    with pytest.raises(CheckpointError, match="qwen2 and llama"):
        moe_config(REAL_CONFIG, 3, 1, shared_expert=True)


def test_phi3_v_moe_holds_each_experts_fused_mlp_and_the_bases_attention(
    phi3_vs: list[str], tmp_path: Path
) -> None:
    output = tmp_path / "moe"
    record = build_moe(phi3_vs[0], phi3_vs, output, experts_per_token=2, trust_remote_code=True)
    assert record["format"] == "phi3_v" and record["layers"] == LAYERS
    config = json.loads((output / "config.json").read_text())
    config.pop("cephalo_merge")
    assert config == moe_config(json.loads(Path(phi3_vs[0], "config.json").read_text()), 3, 2)
    assert (output / "modeling_phi3_v_moe.py").read_text() == PHI3_V_MOE_CODE.read_text()
    assert all((output / name).is_file() for name in CODE_FILES)
    moe, base = CheckpointReader(output), CheckpointReader(phi3_vs[0])
    experts = [CheckpointReader(folder) for folder in phi3_vs]
    for layer in range(LAYERS):
        text = f"model.layers.{layer}"
        for rest in ("self_attn.qkv_proj.weight", "self_attn.o_proj.weight", "input_layernorm.weight"):
            assert torch.equal(moe.get(f"{text}.{rest}"), base.get(f"{text}.{rest}"))  # fused, unsplit
        for number, expert in enumerate(experts):
            for name in ("gate_up_proj", "down_proj"):
                kept = moe.get(f"{text}.mlp.experts.{number}.{name}.weight")
                assert torch.equal(kept, expert.get(f"{text}.mlp.{name}.weight"))
        assert moe.shape(f"{text}.mlp.gate.weight") == [3, HIDDEN]
    outside = [key for key in base.keys() if not key.startswith("model.layers.")]
    assert all(torch.equal(moe.get(key), base.get(key)) for key in outside)
    assert len(moe.keys()) == len(outside) + LAYERS * (4 + 1 + 3 * 2)  # norms, qkv, o; router; experts


def test_a_phi3_v_moe_needs_the_bases_code_beside_its_weights(phi3_vs: list[str], tmp_path: Path) -> None:
    bare = str(write_phi3_v(tmp_path / "no-code", 0, code=False))
    with pytest.raises(CheckpointError, match="lacks configuration_phi3_v.py, modeling_phi3_v.py"):
        build_moe(bare, phi3_vs[:2], tmp_path / "moe", trust_remote_code=True)


@pytest.mark.slow  # 5 to 8 minutes on 2 cores: tiny text models beside the full CLIP ViT-L of the code
@pytest.mark.timeout(1200)
def test_with_the_real_code_stacks_and_moes_load_generate_and_match(tmp_path: Path) -> None:
    code, transformers_4 = os.environ.get("CEPHALO_PHI3V_CODE"), os.environ.get("CEPHALO_PHI3V_TRANSFORMERS")
    if not code or not transformers_4:
        pytest.skip("set CEPHALO_PHI3V_CODE (Phi-3-vision's code files) and CEPHALO_PHI3V_TRANSFORMERS")
    helper = Path(__file__).with_name("phi3_v_remote_code.py")
    repository = Path(__file__).resolve().parents[3]
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([transformers_4, str(repository)]),
        "HF_MODULES_CACHE": str(tmp_path / "modules"),  # the models' code, imported fresh
    }
    real_config = tmp_path / "real-config.json"
    real_config.write_text(json.dumps(REAL_CONFIG))

    def run(*arguments: str) -> str:
        command = [sys.executable, str(helper), *arguments]
        finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=900)
        assert finished.returncode == 0, finished.stderr[-3000:]
        return finished.stdout

    run("build", code, str(real_config), str(tmp_path), "3")
    models = [str(tmp_path / f"phi3v-{seed}") for seed in range(3)]
    slices = [LayerSlice("a", 0, 2), LayerSlice("b", 1, 2)]
    for init, name in (("copy", "stack"), ("identity", "stack-identity")):
        stack_layers(
            {"a": models[0], "b": models[1]}, "a", slices, tmp_path / name, init=init, trust_remote_code=True
        )
    build_moe(models[0], models, tmp_path / "moe", trust_remote_code=True)
    for name in ("stack", "moe"):  # every tensor but the MLPs comes from the base, bit for bit
        built, base = CheckpointReader(tmp_path / name), CheckpointReader(models[0])
        for key in (key for key in base.keys() if not key.startswith("model.layers.")):
            assert torch.equal(built.get(key), base.get(key)), key
    found = json.loads(run("check", str(tmp_path)).strip().splitlines()[-1])
    assert not found["base_loading_problems"] and not found["stack_loading_problems"], found
    assert not found["moe_loading_problems"], found
    assert (found["stack_class"], found["stack_layers"]) == ("Phi3VForCausalLM", 5)
    assert found["stack_image_logits_shape"][-1] == 1000 and found["stack_new_tokens"] == 6
    assert found["stack_cached_equals_uncached"] and found["identity_stack_equals_base"]
    assert found["moe_class"] == "Phi3VMoeForCausalLM"
    assert found["forced_expert_equals_expert"] == {"0": True, "1": True, "2": True}
    assert found["moe_cached_equals_uncached"]
    # the job's router fitting runs through the MoE's model class (text prompts: the image processor
    # of the real code needs torchvision)
    assert min(found["router_heldout_accuracy"]) > 1 / 3 + 0.1 and found["routed_prompt_accuracy"] > 0.5
