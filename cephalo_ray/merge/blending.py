"""Merge whole checkpoints of one architecture weight by weight (`merge/weights.py` methods),
streaming tensor by tensor: the build holds one tensor of each model and one output shard.

The base model gives the config, tokenizer and processor files and, for the task-vector methods,
the weights the fine-tunes' deltas are taken from. Every model must hold the base's tensors with
the same shapes (fine-tunes of one base); integer buffers are copied from the base.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cephalo_ray.merge.checkpoint import (
    CheckpointError,
    CheckpointReader,
    ShardWriter,
    copy_side_files,
    refuse_remote_code,
)
from cephalo_ray.merge.stacking import RECORD_KEY
from cephalo_ray.merge.weights import SLERP, TASK_VECTOR_METHODS, WEIGHT_METHODS, merge_tensor


def merging_models(method: str, names: list[str], base: str) -> list[str]:
    """The models whose tensors are combined: the fine-tunes (not the base) for task-vector methods."""
    return [name for name in names if name != base] if method in TASK_VECTOR_METHODS else list(names)


def blend_checkpoints(
    models: Mapping[str, str],
    base: str,
    method: str,
    output_dir: str | Path,
    *,
    weights: Mapping[str, float] | None = None,
    t: float = 0.5,
    density: float = 1.0,
    normalize: bool | None = None,
    dtype: str = "auto",
    seed: int = 0,
    max_shard_bytes: int = 2 * 1024**3,
    sources: Mapping[str, str] | None = None,
    trust_remote_code: bool = False,
) -> dict[str, Any]:
    """Write the merged model to `output_dir`; returns the record kept as `cephalo_merge` in its config.

    Args:
        models: name -> local model folder (in order: SLERP goes from the first to the second).
        base: the model whose config and files are kept (the task vectors' origin).
        method: one of `weights.WEIGHT_METHODS`.
        weights: name -> weight (default 1 each).
        t, density, normalize, seed: the method's parameters (see `weights.merge_tensor`).
        dtype: "auto" (each tensor as the base stores it), "float32", "bfloat16" or "float16".
        trust_remote_code: allow models whose classes are Python files in their folders (`phi3_v`).

    Raises:
        CheckpointError: a model lacks one of the base's tensors or holds it in another shape.
        ValueError: an unknown method or model, or too few models for the method.
    """
    import torch

    if method not in WEIGHT_METHODS:
        raise ValueError(f"method {method!r} is not one of {WEIGHT_METHODS}")
    if base not in models:
        raise ValueError(f"base {base!r} is not one of the models {sorted(models)}")
    names = merging_models(method, list(models), base)
    if not names or (method == SLERP and len(names) != 2):
        raise ValueError(
            f"{method} needs {'exactly 2' if method == SLERP else 'at least 1'} models to merge, got {names}"
        )
    readers = {name: CheckpointReader(path) for name, path in models.items()}
    for reader in readers.values():
        refuse_remote_code(reader, trust_remote_code)
    base_reader = readers[base]
    weight_of = [float((weights or {}).get(name, 1.0)) for name in names]
    out_dtype = None if dtype == "auto" else getattr(torch, dtype)
    writer = ShardWriter(output_dir, max_shard_bytes)
    for key in base_reader.keys():
        base_tensor = base_reader.get(key)
        if not base_tensor.is_floating_point():
            writer.add(key, base_tensor)
            continue
        tensors = []
        for name in names:
            reader = readers[name]
            if key not in reader.weight_map:
                raise CheckpointError(
                    f"{name!r} has no tensor {key} that the base {base!r} has: merge fine-tunes of one base"
                )
            tensor = reader.get(key)
            if tensor.shape != base_tensor.shape:
                raise CheckpointError(
                    f"{key} is {list(tensor.shape)} in {name!r} but {list(base_tensor.shape)} in the base {base!r}: "
                    "merge models of the same architecture and size (a resized vocabulary differs here)"
                )
            tensors.append(tensor)
        generator = torch.Generator().manual_seed(
            seed ^ zlib.crc32(key.encode())
        )  # the same drops whatever the order
        merged = merge_tensor(
            method,
            tensors,
            weight_of,
            base=base_tensor,
            t=t,
            density=density,
            normalize=normalize,
            generator=generator,
        )
        writer.add(key, merged.to(out_dtype or base_tensor.dtype))
    files = writer.close()
    record = {
        "kind": method,
        "base": base,
        "models": dict(sources or models),
        "merged": names,
        "weights": dict(zip(names, weight_of, strict=True)),
        "t": t,
        "density": density,
        "normalize": normalize,
        "seed": seed,
    }
    config = dict(base_reader.config)
    config[RECORD_KEY] = record
    if dtype != "auto":
        config["torch_dtype" if "torch_dtype" in config and "dtype" not in config else "dtype"] = dtype
    Path(output_dir, "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    copy_side_files(models[base], output_dir)
    return {**record, "files": files, "bytes": writer.total_bytes}
