"""Mixture-of-Experts from K fine-tuned models that share one base architecture.

Each decoder layer's MLP becomes K experts (expert e = model e's MLP of that layer); attention, norms,
embeddings, head, vision tower and connector come from the base. The result is written as a standard
Mixtral checkpoint: `MixtralForCausalLM` for a causal LM, and for a VLM the same VLM class whose text
model is Mixtral (LLaVA, Idefics2/3 build their text model from `text_config`), so it loads with plain
`from_pretrained` and runs only the top-k selected experts per token.

Llama and Mistral layers map onto Mixtral one to one; Phi-3's fused `qkv_proj` / `gate_up_proj` are
split. Routers start random here; `cephalo_ray.merge.router` fits them from example prompts.

Phi-3-vision (`phi3_v`, whose classes are code shipped with the checkpoint) has no Mixtral form: its
MoE keeps the source's config and code, adds the expert counts, and carries its own model class
(`phi3_v_moe_remote.py`, written as `modeling_phi3_v_moe.py`) whose experts are the source's MLP
class, so fused `qkv_proj` and `gate_up_proj` stay as they are. It needs `trust_remote_code`.

With a shared expert (one MLP every token runs, as in Qwen2-MoE and DeepSeek-MoE) the result is a
Qwen2-MoE checkpoint (`Qwen2MoeForCausalLM`), for Qwen2 and Llama sources, whose layers it holds
exactly. Its block computes routed(x) + sigmoid(g.x) * shared(x); g is written as zeros, so the
sigmoid is exactly 1/2, and the down projections are scaled so that each layer's MLP output is
`w * shared(x) + (1 - w) * sum_e p_e expert_e(x)`, p the renormalised top-k router weights and w
`shared_expert_weight`: an MoE of one model forced to expert e computes w * shared + (1 - w) * e.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cephalo_ray.merge.checkpoint import (
    CheckpointError,
    CheckpointReader,
    ShardWriter,
    copy_side_files,
    refuse_remote_code,
    split_layer_key,
    text_layer_stack,
    text_section,
)
from cephalo_ray.merge.stacking import RECORD_KEY

SUPPORTED_TEXT_MODELS = ("llama", "mistral", "phi3")
# Qwen2-MoE's attention is Qwen2's (q, k, v biases or, with qkv_bias off, Llama's)
SHARED_EXPERT_TEXT_MODELS = ("qwen2", "llama")
# Mixtral's checkpoint names of an expert's projections: w1 = gate, w2 = down, w3 = up.
EXPERT_NAMES = {"gate": "w1", "down": "w2", "up": "w3"}
# A phi3_v MoE's model class: this package's file, written into the MoE beside the source's code
PHI3_V_MOE_CODE = Path(__file__).with_name("phi3_v_moe_remote.py")
PHI3_V_MOE_MODULE = "modeling_phi3_v_moe"
PHI3_V_MOE_CLASS = "Phi3VMoeForCausalLM"
# what the MoE's code imports from the source model's folder
PHI3_V_SOURCE_CODE = ("configuration_phi3_v.py", "modeling_phi3_v.py", "image_embedding_phi3_v.py")


def mixtral_text_config(text: dict[str, Any], num_experts: int, experts_per_token: int) -> dict[str, Any]:
    """The Mixtral config equivalent to a dense Llama / Mistral / Phi-3 text config with K experts.

    Raises:
        CheckpointError: for a text model Mixtral cannot represent exactly.
    """
    from transformers import MixtralConfig

    model_type = text.get("model_type")
    if model_type not in SUPPORTED_TEXT_MODELS:
        raise CheckpointError(
            f"MoE export supports {', '.join(SUPPORTED_TEXT_MODELS)} language models (written as Mixtral); "
            f"this one is {model_type!r}"
        )
    if text.get("attention_bias") or text.get("mlp_bias"):
        raise CheckpointError("MoE export needs bias-free attention and MLPs (Mixtral has none)")
    if float(text.get("partial_rotary_factor", 1.0)) != 1.0:
        raise CheckpointError("MoE export needs full rotary embeddings (partial_rotary_factor = 1)")
    if text.get("hidden_act", "silu") != "silu":
        raise CheckpointError(f"MoE export needs SiLU-gated MLPs, not {text.get('hidden_act')!r}")
    if not 1 <= experts_per_token <= num_experts:
        raise CheckpointError(f"experts_per_token must be 1..{num_experts}, got {experts_per_token}")
    accepted = set(MixtralConfig().to_dict()) - {"architectures", "transformers_version", "dtype"}
    current = current_form(text)
    config = {key: value for key, value in current.items() if key in accepted}
    # written out: Mixtral's default `head_dim` is None, which its rope validation cannot multiply
    config["head_dim"] = current.get("head_dim") or current["hidden_size"] // current["num_attention_heads"]
    rope = config.get("rope_parameters")
    original = current.get("original_max_position_embeddings")
    if isinstance(rope, dict) and original and "original_max_position_embeddings" not in rope:
        # Phi-3 keeps the pre-extension length beside the rope settings; Mixtral reads it inside them
        config["rope_parameters"] = {**rope, "original_max_position_embeddings": original}
    config.update(
        model_type="mixtral",
        num_local_experts=num_experts,
        num_experts_per_tok=experts_per_token,
        output_router_logits=False,
        sliding_window=text.get("sliding_window"),
    )
    if "dtype" in text:
        config["dtype"] = text["dtype"]
    return config


def current_form(text: dict[str, Any]) -> dict[str, Any]:
    """A text config as the installed transformers writes it. Checkpoints saved by transformers 4.x
    (most of the Hub) keep `rope_theta` and `rope_scaling` at the top level, where the Mixtral config
    of today has no such keys: read through their own config class, they become `rope_parameters`."""
    from transformers import AutoConfig

    fields = {key: value for key, value in text.items() if key not in ("model_type", "transformers_version")}
    normalized: dict[str, Any] = AutoConfig.for_model(text["model_type"], **fields).to_dict()
    return normalized


def qwen2_moe_text_config(text: dict[str, Any], num_experts: int, experts_per_token: int) -> dict[str, Any]:
    """The Qwen2-MoE config of a dense Qwen2 / Llama text config with K routed experts of its MLP's
    size, a shared expert of the same size, and top-k weights renormalised to sum to 1 (as Mixtral's).

    Raises:
        CheckpointError: for a text model Qwen2-MoE cannot represent exactly.
    """
    from transformers import Qwen2MoeConfig

    model_type = text.get("model_type")
    if model_type not in SHARED_EXPERT_TEXT_MODELS:
        raise CheckpointError(
            f"an MoE with a shared expert is written as Qwen2-MoE, which holds exactly the layers of "
            f"{' and '.join(SHARED_EXPERT_TEXT_MODELS)} models; this one is {model_type!r}"
        )
    if model_type == "llama" and (text.get("attention_bias") or text.get("mlp_bias")):
        raise CheckpointError(
            "a shared-expert MoE of llama needs bias-free attention and MLPs (o_proj has none)"
        )
    if not 1 <= experts_per_token <= num_experts:
        raise CheckpointError(f"experts_per_token must be 1..{num_experts}, got {experts_per_token}")
    accepted = set(Qwen2MoeConfig().to_dict()) - {"architectures", "transformers_version", "dtype"}
    current = current_form(text)
    config = {key: value for key, value in current.items() if key in accepted}
    config["head_dim"] = current.get("head_dim") or current["hidden_size"] // current["num_attention_heads"]
    config.update(
        model_type="qwen2_moe",
        num_experts=num_experts,
        num_experts_per_tok=experts_per_token,
        norm_topk_prob=True,
        moe_intermediate_size=current["intermediate_size"],
        shared_expert_intermediate_size=current["intermediate_size"],
        decoder_sparse_step=1,
        mlp_only_layers=[],
        qkv_bias=model_type == "qwen2",
        output_router_logits=False,
    )
    if model_type == "llama":
        config["use_sliding_window"] = False
    if "dtype" in text:
        config["dtype"] = text["dtype"]
    return config


def phi3_v_moe_config(config: dict[str, Any], num_experts: int, experts_per_token: int) -> dict[str, Any]:
    """The `config.json` of a Phi-3-vision MoE: the source's, whose own code reads every field as before
    (longrope `rope_scaling` and its original length, `embd_layer`, `img_processor`, a `head_dim` where
    given), plus the expert counts and `auto_map` entries naming the MoE's model class.

    Raises:
        CheckpointError: for an experts_per_token out of range.
    """
    if not 1 <= experts_per_token <= num_experts:
        raise CheckpointError(f"experts_per_token must be 1..{num_experts}, got {experts_per_token}")
    result = json.loads(json.dumps(config))
    result.update(
        num_local_experts=num_experts,
        num_experts_per_tok=experts_per_token,
        architectures=[PHI3_V_MOE_CLASS],
        auto_map={
            # local names: the MoE's code imports the source's files from its own folder
            "AutoConfig": "configuration_phi3_v.Phi3VConfig",
            "AutoModelForCausalLM": f"{PHI3_V_MOE_MODULE}.{PHI3_V_MOE_CLASS}",
        },
    )
    return result


def moe_config(
    base_config: dict[str, Any], num_experts: int, experts_per_token: int, shared_expert: bool = False
) -> dict[str, Any]:
    """The whole `config.json` of the MoE: the text part swapped for Mixtral (Qwen2-MoE with a shared
    expert), the rest kept; for Phi-3-vision, its own config with the expert counts."""
    if base_config.get("model_type") == "phi3_v" and not shared_expert:
        return phi3_v_moe_config(base_config, num_experts, experts_per_token)
    config = json.loads(json.dumps(base_config))
    make = qwen2_moe_text_config if shared_expert else mixtral_text_config
    text = make(text_section(config), num_experts, experts_per_token)
    if isinstance(config.get("text_config"), dict):
        config["text_config"] = text
        return config
    return {**text, "architectures": ["Qwen2MoeForCausalLM" if shared_expert else "MixtralForCausalLM"]}


def router_key(prefix: str, layer: int, text_model_type: str) -> str:
    """The checkpoint key of a layer's router in a Mixtral, Qwen2-MoE or Phi-3-vision MoE checkpoint."""
    block = "mlp" if text_model_type in ("qwen2_moe", "phi3_v") else "block_sparse_moe"
    return f"{prefix}.{layer}.{block}.gate.weight"


def expert_key(prefix: str, layer: int, expert: int | None, projection: str, text_model_type: str) -> str:
    """The checkpoint key of one projection ("gate", "up", "down"; Phi-3-vision's "gate_up", "down") of
    a routed expert, or of the shared expert (`expert` None, Qwen2-MoE only)."""
    if text_model_type == "phi3_v":
        return f"{prefix}.{layer}.mlp.experts.{expert}.{projection}_proj.weight"
    if text_model_type != "qwen2_moe":
        return f"{prefix}.{layer}.block_sparse_moe.experts.{expert}.{EXPERT_NAMES[projection]}.weight"
    owner = "shared_expert" if expert is None else f"experts.{expert}"
    return f"{prefix}.{layer}.mlp.{owner}.{projection}_proj.weight"


def attention_tensors(
    reader: CheckpointReader, prefix: str, layer: int, text: dict[str, Any], split_qkv: bool = True
) -> dict[str, Any]:
    """A layer's non-MLP tensors under Mixtral's names (Phi-3's fused qkv split into q, k, v unless
    `split_qkv` is off)."""
    tensors = {}
    for key in reader.keys():
        split = split_layer_key(key, prefix)
        if split is None or split[0] != layer or split[1].startswith("mlp."):
            continue
        rest = split[1]
        if rest == "self_attn.qkv_proj.weight" and split_qkv:
            heads, kv_heads = (
                text["num_attention_heads"],
                text.get("num_key_value_heads") or text["num_attention_heads"],
            )
            head_dim = text.get("head_dim") or text["hidden_size"] // heads
            q, k, v = reader.get(key).split([heads * head_dim, kv_heads * head_dim, kv_heads * head_dim])
            tensors.update(
                {"self_attn.q_proj.weight": q, "self_attn.k_proj.weight": k, "self_attn.v_proj.weight": v}
            )
        else:
            tensors[rest] = reader.get(key)
    return tensors


def expert_tensors(reader: CheckpointReader, prefix: str, layer: int) -> dict[str, Any]:
    """One model's MLP of one layer as {"gate", "up", "down"} weights."""
    mlp = f"{prefix}.{layer}.mlp"
    if f"{mlp}.gate_up_proj.weight" in reader.weight_map:  # Phi-3: gate rows first, then up
        gate, up = reader.get(f"{mlp}.gate_up_proj.weight").chunk(2, dim=0)
        return {"gate": gate, "up": up, "down": reader.get(f"{mlp}.down_proj.weight")}
    try:
        return {name: reader.get(f"{mlp}.{name}_proj.weight") for name in ("gate", "up", "down")}
    except KeyError as missing:
        raise CheckpointError(f"{reader.folder}: no {missing} (expected a gated MLP)") from None


def build_moe(
    base: str,
    experts: Sequence[str],
    output_dir: str | Path,
    experts_per_token: int = 1,
    seed: int = 0,
    max_shard_bytes: int = 2 * 1024**3,
    record: Mapping[str, Any] | None = None,
    shared_expert: str | None = None,
    shared_expert_weight: float = 0.5,
    trust_remote_code: bool = False,
) -> dict[str, Any]:
    """Write the MoE of `experts` (local model folders, in expert order) on `base` to `output_dir`;
    with `shared_expert` (a model folder, often the base), a Qwen2-MoE whose always-on expert is that
    model's MLP, weighted `shared_expert_weight` against the routed experts (see the module's doc).
    `trust_remote_code` allows sources whose classes are code in their folders (Phi-3-vision).

    Returns:
        The record of the build (also stored as `cephalo_merge` in the output's config.json).

    Raises:
        CheckpointError: on unsupported architectures or experts whose shapes differ from the base.
    """
    import torch

    if len(experts) < 2:
        raise CheckpointError(f"an MoE needs at least 2 experts, got {len(experts)}")
    if shared_expert is not None and not 0 < shared_expert_weight < 1:
        raise CheckpointError(f"shared_expert_weight must be between 0 and 1, got {shared_expert_weight}")
    base_reader = CheckpointReader(base)
    readers = [CheckpointReader(folder) for folder in experts]
    shared_reader = None if shared_expert is None else CheckpointReader(shared_expert)
    for reader in (base_reader, *readers, *([shared_reader] if shared_reader else [])):
        refuse_remote_code(reader, trust_remote_code)
    prefix, layers = text_layer_stack(base_reader)
    text = text_section(base_reader.config)
    config = moe_config(base_reader.config, len(experts), experts_per_token, shared_expert is not None)
    output_type = text_section(config)["model_type"]
    if output_type == "phi3_v":
        missing = [name for name in PHI3_V_SOURCE_CODE if not Path(base, name).is_file()]
        if missing:
            raise CheckpointError(
                f"{base} lacks {', '.join(missing)}: a Phi-3-vision MoE runs the base's own code from its "
                "folder (save_pretrained of a model loaded with trust_remote_code=True writes it there)"
            )
    sources = [*readers, *([shared_reader] if shared_reader else [])]
    source_prefixes = []
    for reader in sources:
        source_prefix, source_layers = text_layer_stack(reader)
        if source_layers != layers:
            raise CheckpointError(
                f"{reader.folder} has {source_layers} decoder layers, the base has {layers}"
            )
        source_prefixes.append(source_prefix)
    # Exact for the default 1/2: the shared down projection is kept, the routed ones are halved.
    routed_scale, shared_scale = (
        (1.0, 1.0) if shared_reader is None else (1 - shared_expert_weight, 2 * shared_expert_weight)
    )
    generator = torch.Generator().manual_seed(seed)
    std = float(text.get("initializer_range", 0.02))
    writer = ShardWriter(output_dir, max_shard_bytes)
    for key in base_reader.keys():
        if split_layer_key(key, prefix) is None:
            writer.add(key, base_reader.get(key))
    base_mlp = {name: list(tensor.shape) for name, tensor in expert_tensors(base_reader, prefix, 0).items()}
    for layer in range(layers):
        split_qkv = output_type != "phi3_v"
        for rest, tensor in attention_tensors(base_reader, prefix, layer, text, split_qkv).items():
            writer.add(f"{prefix}.{layer}.{rest}", tensor)
        for number, (reader, source_prefix) in enumerate(zip(sources, source_prefixes, strict=True)):
            tensors = expert_tensors(reader, source_prefix, layer)
            shapes = {name: list(tensor.shape) for name, tensor in tensors.items()}
            if shapes != base_mlp:
                raise CheckpointError(
                    f"{reader.folder} layer {layer} MLP shapes {shapes} differ from the base's {base_mlp}"
                )
            is_shared = number == len(readers)
            tensors["down"] = scaled(tensors["down"], shared_scale if is_shared else routed_scale)
            if output_type == "phi3_v":  # the source's own MLP class: gate rows, then up, as it fuses them
                tensors = {"gate_up": torch.cat([tensors["gate"], tensors["up"]]), "down": tensors["down"]}
            for name, tensor in tensors.items():
                writer.add(
                    expert_key(prefix, layer, None if is_shared else number, name, output_type), tensor
                )
        hidden = base_mlp["gate"][1]
        dtype = tensors["down"].dtype
        router = torch.randn(len(experts), hidden, generator=generator) * std
        writer.add(router_key(prefix, layer, output_type), router.to(dtype))
        if shared_reader is not None:
            # zeros: sigmoid(0) = 1/2 on every token, which the down projections' scales assume
            writer.add(f"{prefix}.{layer}.mlp.shared_expert_gate.weight", torch.zeros(1, hidden, dtype=dtype))
    files = writer.close()
    build_record = {
        "kind": "moe",
        "format": output_type,
        "base": base,
        "experts": list(experts),
        "experts_per_token": experts_per_token,
        **(
            {"shared_expert": {"model": shared_expert, "weight": shared_expert_weight}}
            if shared_expert is not None
            else {}
        ),
        **dict(record or {}),
    }
    config[RECORD_KEY] = build_record
    Path(output_dir, "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    copy_side_files(base, output_dir)
    if output_type == "phi3_v":
        Path(output_dir, f"{PHI3_V_MOE_MODULE}.py").write_text(PHI3_V_MOE_CODE.read_text())
    return {**build_record, "files": files, "bytes": writer.total_bytes, "layers": layers}


def scaled(tensor: Any, factor: float) -> Any:
    """`tensor * factor` in its own dtype (exact for powers of two), computed in float32."""
    return tensor if factor == 1.0 else (tensor.float() * factor).to(tensor.dtype)
