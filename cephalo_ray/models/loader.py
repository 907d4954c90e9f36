"""The one loader of vision-language models: a hub name, a local folder, or an `s3://` folder.

An `s3://` model is downloaded once into a local cache, checked file by file against the bucket
listing (sizes and modification times), and reused while the listing is unchanged; a download that
was cut off is finished by the next load, never used half-written.
"""

from __future__ import annotations

import functools
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
    """Videos given to a processor built for images only, where torchvision is absent."""


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


def torchvision_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("torchvision") is not None


def video_refusal(processor_class: Any) -> str:
    """Why a processor built for images only takes no videos."""
    from importlib.metadata import version

    return (
        f"{processor_class.__name__} was loaded for images only: transformers builds its video processor with "
        f"torchvision, which is not installed; to pass videos, install the torchvision release paired with the "
        f"installed torch {version('torch')} (its CPU build for a CPU torch)"
    )


@functools.cache
def images_only_class(processor_class: Any) -> Any:
    """`processor_class` that takes no video processor. Its own check refuses a missing one (and looks the
    class up among video processors, which import only with torchvision); all else is the real class."""
    from transformers import ProcessorMixin

    class ImagesOnly(processor_class):  # type: ignore[misc, valid-type]
        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument_name == "video_processor" and argument is None:
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

        def __call__(
            self, images: Any = None, text: Any = None, videos: Any = None, audio: Any = None, **kwargs: Any
        ) -> Any:
            if videos is not None:
                raise TorchvisionMissing(video_refusal(processor_class))
            return super().__call__(images=images, text=text, audio=audio, **kwargs)

        def apply_chat_template(self, conversation: Any, chat_template: Any = None, **kwargs: Any) -> Any:
            # SmolVLM's own override reads its video processor's frame settings for every conversation;
            # without videos it renders as the base one (Qwen2-VL's has no override)
            return ProcessorMixin.apply_chat_template(self, conversation, chat_template, **kwargs)

        def save_pretrained(self, save_directory: str | os.PathLike[str], **kwargs: Any) -> list[str]:
            return save_processor_files(self, save_directory)

        def __reduce__(self) -> Any:  # a class made here: pickle finds it again through this function
            return restore_images_only, (processor_class, self.__dict__.copy())

    ImagesOnly.__name__ = ImagesOnly.__qualname__ = f"{processor_class.__name__}ImagesOnly"
    ImagesOnly.checkpoint_processor = processor_class  # the class its saved files name
    return ImagesOnly


def restore_images_only(processor_class: Any, state: dict[str, Any]) -> Any:
    cls = images_only_class(processor_class)
    processor = cls.__new__(cls)
    processor.__dict__.update(state)
    return processor


def images_only_processor(processor_class: Any, image_processor: Any, tokenizer: Any, **options: Any) -> Any:
    """A processor of `processor_class` (Qwen2-VL's, ...) from its image processor, tokenizer and `options`
    (the chat template...), with no video processor: images work as with the real one, videos raise
    TorchvisionMissing, and it saves as Hub checkpoints hold it (`save_processor_files`)."""
    return images_only_class(processor_class)(
        image_processor=image_processor, tokenizer=tokenizer, video_processor=None, **options
    )


def save_processor_files(processor: Any, folder: str | os.PathLike[str]) -> list[str]:
    """Write `processor` as the Hub's Qwen2-VL checkpoints hold theirs: `preprocessor_config.json` (the image
    processor), the tokenizer's files and `chat_template.jinja`, each naming the processor class, and no
    video processor config: transformers builds that one from `preprocessor_config.json` where torchvision
    is installed. Options of the processor itself, if any, go to `processor_config.json`."""
    from transformers.utils import CHAT_TEMPLATE_DIR, CHAT_TEMPLATE_FILE, PROCESSOR_NAME

    real_class = getattr(type(processor), "checkpoint_processor", type(processor))
    name = real_class.__name__
    os.makedirs(folder, exist_ok=True)
    image_processor = processor.image_processor
    image_processor.processor_class = name
    files = list(image_processor.save_pretrained(folder))
    processor.tokenizer._set_processor_class(name)
    files += list(processor.tokenizer.save_pretrained(folder))
    templates = processor.chat_template
    templates = {"default": templates} if isinstance(templates, str) else dict(templates or {})
    for template_name, template in templates.items():
        other = f"{CHAT_TEMPLATE_DIR}/{template_name}.jinja"
        target = Path(folder, CHAT_TEMPLATE_FILE if template_name == "default" else other)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(template, encoding="utf-8")
        files.append(str(target))
    skipped = {*real_class.get_attributes(), "processor_class", "chat_template", "auto_map"}
    options = {key: value for key, value in processor.to_dict().items() if key not in skipped}
    if options:
        Path(folder, PROCESSOR_NAME).write_text(json.dumps({**options, "processor_class": name}, indent=2))
        files.append(str(Path(folder, PROCESSOR_NAME)))
    return files


def load_processor(path: str, trust_remote_code: bool = False) -> Any:
    """The processor of a model folder (or hub name), as `AutoProcessor` loads it; where torchvision is not
    installed and the processor has a video half (Qwen2-VL's, Qwen2.5-VL's), the same class built for
    images only from the folder's image processor, tokenizer and chat template (`images_only_processor`)."""
    import inspect

    from transformers import AutoConfig, AutoImageProcessor, AutoProcessor, AutoTokenizer
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING

    config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    processor_class: Any = PROCESSOR_MAPPING.get(type(config), None)
    has_videos = processor_class is not None and "video_processor" in processor_class.get_attributes()
    if torchvision_installed() or not has_videos:
        return AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code)
    parts = {*processor_class.get_attributes(), "self", "kwargs"}
    accepted = set(inspect.signature(processor_class.__init__).parameters) - parts
    processor_dict, _ = processor_class.get_processor_dict(path)  # the chat template, other options
    options = {key: value for key, value in processor_dict.items() if key in accepted}
    image_processor = AutoImageProcessor.from_pretrained(path)  # the PIL one: the default needs torchvision
    tokenizer = AutoTokenizer.from_pretrained(path)
    return images_only_processor(processor_class, image_processor, tokenizer, **options)


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
    """
    import torch
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForImageTextToText,
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
    processor = load_processor(path, trust_remote_code=trust_remote_code)
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
