"""Layer stacking: a deeper language model from slices of the decoder layers of several models.

Cephalo's 10b model is 32 layers of one fine-tuned 8b model followed by 8 layers of another. Here a
recipe lists slices `(model, first, last)` (inclusive) in output order; embeddings, final norm, head,
vision tower and connector come from the base model. The merge works on checkpoint files, tensor by
tensor, and writes a fresh config, so every layer is rebuilt by `from_pretrained` with its new
`layer_idx` (a copied module that keeps its old index corrupts the KV cache silently).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
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

RECORD_KEY = "cephalo_merge"  # where the recipe is kept inside the output's config.json
# The projections that write a decoder layer's attention and MLP outputs into the residual stream:
# zeroed, the layer passes its input through unchanged (LLaMA-Pro's block expansion).
RESIDUAL_WRITERS = ("self_attn.o_proj.", "mlp.down_proj.")


@dataclass(frozen=True)
class LayerSlice:
    """Decoder layers `first..last` (inclusive) of `model`; `train` marks them for the stacked preset
    (default: every slice but the first, i.e. the layers stacked onto the base)."""

    model: str
    first: int
    last: int
    train: bool | None = None


@dataclass(frozen=True)
class LayerSource:
    model: str
    layer: int
    train: bool


def plan_layers(slices: Sequence[LayerSlice], layer_counts: Mapping[str, int]) -> list[LayerSource]:
    """The source of every output layer, in order.

    Raises:
        ValueError: naming the slice that points at an unknown model or a layer it does not have.
    """
    if not slices:
        raise ValueError("slices is empty: list at least one (model, first, last)")
    plan: list[LayerSource] = []
    for number, piece in enumerate(slices):
        if piece.model not in layer_counts:
            raise ValueError(f"slices[{number}].model {piece.model!r} is not one of {sorted(layer_counts)}")
        count = layer_counts[piece.model]
        if not 0 <= piece.first <= piece.last < count:
            raise ValueError(
                f"slices[{number}] = layers {piece.first}..{piece.last} of {piece.model!r}, which has "
                f"layers 0..{count - 1}; first and last are inclusive"
            )
        train = piece.train if piece.train is not None else number > 0
        plan.extend(LayerSource(piece.model, layer, train) for layer in range(piece.first, piece.last + 1))
    return plan


# Top-level lists of a config that are not one entry per layer, whatever their length.
NOT_PER_LAYER = {"architectures", "eos_token_id", "bos_token_id", "pad_token_id", "suppress_tokens"}


def stacked_config(
    base_config: dict[str, Any],
    plan: Sequence[LayerSource],
    source_configs: Mapping[str, dict[str, Any]],
    base_layers: int | None = None,
) -> dict[str, Any]:
    """The base config with the new layer count, and every per-layer setting (a list with one entry per
    layer: `layer_types`, SmolLM3's `no_rope_layers`, ...) taken from the layer each new layer comes from.

    `base_layers` (the base checkpoint's layer count) stands in for a `num_hidden_layers` the config
    leaves out: transformers 4.x saved a VLM's `text_config` as its differences from the defaults, so
    Idefics2-8b's Mistral text config has no layer count at all.

    Raises:
        CheckpointError: when neither the config nor `base_layers` gives the base's layer count.
    """
    config = json.loads(json.dumps(base_config))
    text = text_section(config)
    layers = text.get("num_hidden_layers", base_layers)
    if layers is None:
        raise CheckpointError("the base config has no num_hidden_layers; pass the checkpoint's layer count")
    text["num_hidden_layers"] = len(plan)
    for key, value in list(text.items()):
        if isinstance(value, list) and len(value) == int(layers) and key not in NOT_PER_LAYER:
            text[key] = [per_layer_value(source_configs[item.model], key, item.layer) for item in plan]
    for key in ("max_window_layers",):  # Qwen2-style "first N layers use full attention"
        if key in text:
            text[key] = min(int(text[key]), len(plan))
    return config


def per_layer_value(source_config: dict[str, Any], key: str, layer: int) -> Any:
    """One layer's entry of a per-layer setting of a source model.

    Raises:
        CheckpointError: when the source has no such setting for that layer.
    """
    values = text_section(source_config).get(key)
    if not isinstance(values, list) or layer >= len(values):
        raise CheckpointError(f"source model has no per-layer `{key}` entry for layer {layer}")
    return values[layer]


def layer_shapes(reader: CheckpointReader, prefix: str, layer: int) -> dict[str, list[int]]:
    shapes = {}
    for key in reader.keys():
        split = split_layer_key(key, prefix)
        if split and split[0] == layer:
            shapes[split[1]] = reader.shape(key)
    return shapes


def stack_layers(
    models: Mapping[str, str],
    base: str,
    slices: Sequence[LayerSlice],
    output_dir: str | Path,
    max_shard_bytes: int = 2 * 1024**3,
    sources: Mapping[str, str] | None = None,
    init: str = "copy",
    trust_remote_code: bool = False,
) -> dict[str, Any]:
    """Write the stacked model to `output_dir` (weights, config, tokenizer/processor files, and the
    model code of a family that ships its own, such as Phi-3-vision's).

    Args:
        models: name -> local model folder.
        base: the model whose embeddings, norm, head, vision tower and connector are kept.
        slices: the layers, in output order.
        sources: name -> the URI the user gave (recorded instead of a local cache folder).
        init: `copy` keeps every layer as its source has it; `identity` zeroes the residual writers
            (`RESIDUAL_WRITERS`) of the layers marked for training, so the stacked model starts out
            computing exactly what the base computes and the new layers learn from there.
        trust_remote_code: allow models whose classes are Python files in their folders (`phi3_v`);
            that code comes along with the tokenizer files and reads the config as it reads the base's.

    Returns:
        The recipe record (also stored as `cephalo_merge` in the output's config.json).

    Raises:
        CheckpointError / ValueError: on unknown models, missing layers or mismatched layer shapes.
    """
    if base not in models:
        raise ValueError(f"base {base!r} is not one of the models {sorted(models)}")
    readers = {name: CheckpointReader(path) for name, path in models.items()}
    for reader in readers.values():
        refuse_remote_code(reader, trust_remote_code)
    prefixes = {name: text_layer_stack(reader) for name, reader in readers.items()}
    plan = plan_layers(slices, {name: count for name, (_, count) in prefixes.items()})
    base_reader, (base_prefix, _) = readers[base], prefixes[base]
    expected = layer_shapes(base_reader, base_prefix, 0)
    for name in {item.model for item in plan}:
        shapes = layer_shapes(readers[name], prefixes[name][0], 0)
        if shapes != expected:
            different = [
                (rest, shapes.get(rest), expected.get(rest))
                for rest in sorted(set(shapes) | set(expected))
                if shapes.get(rest) != expected.get(rest)
            ][:3]
            raise CheckpointError(
                f"layers of {name!r} do not match the base {base!r} in shape (tensor, its shape, the base's: {different}); "
                "stack only models of the same architecture and size"
            )
    writer = ShardWriter(output_dir, max_shard_bytes)
    for key in base_reader.keys():
        if split_layer_key(key, base_prefix) is None:
            writer.add(key, base_reader.get(key))
    zeroed = [rest for rest in expected if rest.startswith(RESIDUAL_WRITERS)]
    if init == "identity" and len({rest.split(".")[1] for rest in zeroed}) < len(RESIDUAL_WRITERS):
        raise CheckpointError(
            f"init: identity zeroes {', '.join(RESIDUAL_WRITERS)} of a layer; these layers have "
            f"{', '.join(sorted(expected))}"
        )
    for output_layer, item in enumerate(plan):
        reader, prefix = readers[item.model], prefixes[item.model][0]
        for rest in expected:
            tensor = reader.get(f"{prefix}.{item.layer}.{rest}")
            if init == "identity" and item.train and rest in zeroed:
                tensor = tensor.new_zeros(tensor.shape)
            writer.add(f"{base_prefix}.{output_layer}.{rest}", tensor)
    files = writer.close()
    record = {
        "kind": "stack",
        "base": base,
        "models": dict(sources or models),
        "slices": [asdict(piece) for piece in slices],
        "layers": [[item.model, item.layer] for item in plan],
        "trainable_layers": [number for number, item in enumerate(plan) if item.train],
        "init": init,
    }
    config = stacked_config(
        base_reader.config,
        plan,
        {name: reader.config for name, reader in readers.items()},
        base_layers=prefixes[base][1],
    )
    config[RECORD_KEY] = record
    Path(output_dir, "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    copy_side_files(models[base], output_dir)
    return {**record, "files": files, "bytes": writer.total_bytes}
