"""The one loader of vision-language models: a hub name, a local folder, or an `s3://` folder.

An `s3://` model is downloaded once into a local cache, checked file by file against the bucket
listing (sizes and modification times), and reused while the listing is unchanged; a download that
was cut off is finished by the next load, never used half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cephalo_ray.models.families import FamilyFacts, facts_for
from cephalo_ray.storage import Storage, cache_dir, is_s3

CACHE_MARKER = ".cephalo_download.json"
DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class LoadedVLM:
    model: Any
    processor: Any
    facts: FamilyFacts
    path: str  # the local folder or hub name it was loaded from


def default_cache_dir() -> Path:
    return cache_dir("models")


def model_location(name_or_path: str) -> str:
    """A local model folder as an absolute path (Ray workers run in another directory); s3:// and
    hub names unchanged."""
    return os.path.abspath(name_or_path) if os.path.isdir(name_or_path) else name_or_path


def local_model_dir(
    name_or_path: str, storage: Storage | None = None, cache_dir: str | Path | None = None
) -> str:
    """A local folder (or hub name) for `name_or_path`, downloading an `s3://` folder into the cache."""
    if not is_s3(name_or_path):
        looks_local = name_or_path.startswith(("/", "./", "../", "~")) or os.path.exists(name_or_path)
        if looks_local and not os.path.isdir(os.path.expanduser(name_or_path)):
            raise FileNotFoundError(f"{name_or_path} is not a folder with a saved model")
        return os.path.expanduser(name_or_path)
    storage = storage or Storage()
    prefix = name_or_path.rstrip("/")
    listing = {item.uri[len(prefix) + 1 :]: [item.size, item.mtime_ns] for item in storage.list_files(prefix)}
    if not listing:
        raise FileNotFoundError(f"{name_or_path} holds no files")
    target = Path(cache_dir or default_cache_dir()) / hashlib.sha256(prefix.encode()).hexdigest()[:16]
    marker = target / CACHE_MARKER
    if marker.exists() and json.loads(marker.read_text()) == listing:
        return str(target)
    target.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    for relative, (size, _) in sorted(listing.items()):
        data = storage.read_bytes(f"{prefix}/{relative}")
        if len(data) != size:
            raise OSError(f"{prefix}/{relative}: read {len(data)} bytes, the listing says {size}")
        storage.write_bytes(str(target / relative), data)
    marker.write_text(json.dumps(listing))  # written last: the cache is complete
    return str(target)


def resolve_dtype(dtype: str, device: str) -> Any:
    import torch

    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {DTYPES}")
    if dtype == "auto":
        cuda_bf16 = device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if cuda_bf16 else torch.float32
    return getattr(torch, dtype)


class QuantizationUnavailable(RuntimeError):
    """4-bit loading was asked for where it cannot run."""


class RemoteCodeRefused(RuntimeError):
    """A checkpoint that runs its own Python code, loaded without `trust_remote_code`."""


class TorchvisionMissing(RuntimeError):
    """A family whose processor transformers builds with torchvision, where torchvision is absent."""


def remote_code_refusal(config: dict[str, Any], name_or_path: str, trust_remote_code: bool) -> str | None:
    """Why `name_or_path` may not load (its `config.json` as a dict), or None: a checkpoint whose
    config maps its classes to its own code files (`auto_map`, as Phi-3-vision's), or of a family that
    has no class in transformers, runs that code only when the config says so."""
    from cephalo_ray.models.families import FAMILIES

    facts = FAMILIES.get(config.get("model_type") or "")
    auto_map = config.get("auto_map") or {}
    if trust_remote_code or not (auto_map or (facts is not None and facts.trust_remote_code)):
        return None
    targets = [
        item for value in auto_map.values() for item in (value if isinstance(value, list) else [value])
    ]
    modules = sorted({str(target).split("--")[-1].split(".")[0] + ".py" for target in targets if target})
    code = f" ({', '.join(modules)})" if modules else ""
    return (
        f"{name_or_path} is a {config.get('model_type')!r} checkpoint that runs its own Python code{code}, "
        "which this run would execute: read it, then set trust_remote_code: true in the config to load it"
    )


def torchvision_refusal(facts: FamilyFacts) -> str | None:
    """Why this family's processor cannot load here, or None."""
    import importlib.util

    if not facts.needs_torchvision or importlib.util.find_spec("torchvision") is not None:
        return None
    return (
        f"{facts.family}: transformers builds this family's processor (its video half) with torchvision, which "
        "is not installed: install the torchvision release paired with the installed torch (torch 2.13 pairs "
        "with torchvision 0.28; for a CPU build of torch, its CPU build)"
    )


def four_bit_options(facts: Any, device: str, compute_dtype: Any) -> dict[str, Any]:
    """from_pretrained options for QLoRA: NF4 with double quantization, computing in `compute_dtype`;
    the vision tower, the connector and the output head are not quantized.

    Raises:
        QuantizationUnavailable: without CUDA or bitsandbytes, naming the fix.
    """
    import importlib.util

    import torch
    from transformers import BitsAndBytesConfig

    if not device.startswith("cuda") or not torch.cuda.is_available():
        raise QuantizationUnavailable(
            f"recipe.quantize_4bit (QLoRA) needs a CUDA GPU, and this worker runs on {device}: set "
            "resources.use_gpu: true on a GPU cluster, or recipe.quantize_4bit: false"
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise QuantizationUnavailable(
            "recipe.quantize_4bit (QLoRA) needs bitsandbytes on the workers: pip install bitsandbytes"
        )
    skipped = [facts.vision_path.split(".")[-1], facts.connector_path.split(".")[-1], "lm_head"]
    return {
        "quantization_config": BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute_dtype if compute_dtype != torch.float32 else torch.bfloat16,
            llm_int8_skip_modules=skipped,
        ),
        "device_map": {"": device},
    }


def load_vlm(
    name_or_path: str,
    *,
    dtype: str = "auto",
    device: str | None = None,
    storage: Storage | None = None,
    cache_dir: str | Path | None = None,
    trust_remote_code: bool = False,
    quantize_4bit: bool = False,
    attn_implementation: str | None = None,
) -> LoadedVLM:
    """Load an image-text-to-text model, its processor and its family facts.

    Args:
        name_or_path: a hub name, a local `save_pretrained` folder, or an `s3://` folder.
        dtype: "auto" (bf16 on a CUDA GPU that has it, else fp32), "float32", "bfloat16", "float16".
        device: "cpu", "cuda", "cuda:1"...; None picks CUDA when present.
        storage: how to reach S3 (endpoint); None uses the AWS defaults.
        cache_dir: where `s3://` models are cached (default ~/.cache/cephalo_ray/models).
        trust_remote_code: run the checkpoint's own code (Phi-3-vision); without it such a
            checkpoint is refused before any of its code runs.
        quantize_4bit: load the language model in 4-bit NF4 for QLoRA (CUDA and bitsandbytes only);
            the vision tower, the projector and the output head stay in `dtype`.
        attn_implementation: "sdpa", "eager" or "flash_attention_2" (None: transformers' default).

    Raises:
        QuantizationUnavailable: quantize_4bit on a machine without CUDA or bitsandbytes.
        RemoteCodeRefused: a checkpoint with its own code, without trust_remote_code.
        TorchvisionMissing: a family whose processor needs torchvision (Qwen2-VL), without it.
    """
    import torch
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForImageTextToText,
        AutoProcessor,
        PreTrainedConfig,
    )

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    path = local_model_dir(name_or_path, storage, cache_dir)
    config_dict, _ = PreTrainedConfig.get_config_dict(path)  # read as data: runs no code
    refusal = remote_code_refusal(config_dict, name_or_path, trust_remote_code)
    if refusal:
        raise RemoteCodeRefused(refusal)
    config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    facts = facts_for(config)
    refusal = torchvision_refusal(facts)
    if refusal:
        raise TorchvisionMissing(refusal)
    options: dict[str, Any] = {}
    if attn_implementation:
        options["attn_implementation"] = attn_implementation
    if quantize_4bit:
        options.update(four_bit_options(facts, device, resolve_dtype(dtype, device)))
    # Remote code registers its own classes; Phi-3-vision's is a causal LM that takes pixel_values.
    auto_map = config_dict.get("auto_map") or {}
    remote_causal_lm = "AutoModelForCausalLM" in auto_map and "AutoModelForImageTextToText" not in auto_map
    model_class: Any = AutoModelForCausalLM if remote_causal_lm else AutoModelForImageTextToText
    model: Any = model_class.from_pretrained(
        path, dtype=resolve_dtype(dtype, device), trust_remote_code=trust_remote_code, **options
    )
    if not quantize_4bit:  # a quantized model is placed by its device_map
        model.to(device)
    model.eval()
    processor = AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code)
    processor.tokenizer.padding_side = "left"  # batched generation appends on the right
    return LoadedVLM(model, processor, facts, path)


def load_model(
    name_or_path: str, *, dtype: str = "auto", device: str | None = None, storage: Any = None
) -> tuple[Any, Any, bool]:
    """(model, processor or tokenizer, is_vlm) for a VLM, a causal LM, or a LoRA adapter folder (merged
    into its base): the one loader behind serving, captioning, evaluation and the training report."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from cephalo_ray.models.families import FAMILIES

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    folder = local_model_dir(name_or_path, storage)
    adapter_config = Path(folder, "adapter_config.json")
    if adapter_config.exists():
        from peft import PeftModel

        base_name = json.loads(adapter_config.read_text())["base_model_name_or_path"]
        base, processor, is_vlm = load_model(base_name, dtype=dtype, device=device, storage=storage)
        merged = PeftModel.from_pretrained(base, folder).merge_and_unload()
        return merged.eval(), processor, is_vlm
    config = AutoConfig.from_pretrained(folder)
    if config.model_type in FAMILIES:
        loaded = load_vlm(folder, dtype=dtype, device=device, storage=storage)
        return loaded.model, loaded.processor, True
    causal_lm: Any = AutoModelForCausalLM.from_pretrained(folder, dtype=resolve_dtype(dtype, device))
    causal_lm.to(device).eval()
    return causal_lm, AutoTokenizer.from_pretrained(folder), False
