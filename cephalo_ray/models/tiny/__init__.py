"""Tiny random-weight VLMs of real `model_type`s, built offline in seconds, for tests, the demo and
benchmarks. Each comes with a byte-level BPE tokenizer trained on the fly, its special tokens, a
chat template and a processor, saved with `save_pretrained` so it loads like any checkpoint.

Their outputs are noise; they exist to exercise the real loading, training and serving code paths.
One module per family group builds the model and processor; this one seeds, saves and names them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cephalo_ray.models.tiny.audio import WHISPER_SPECIAL_TOKENS, build_whisper
from cephalo_ray.models.tiny.idefics import build_idefics2, build_idefics3
from cephalo_ray.models.tiny.llava import build_llava, build_llava_next
from cephalo_ray.models.tiny.mllama import (
    MLLAMA_CHAT_TEMPLATE,
    MLLAMA_IMAGE_PROCESSOR,
    MLLAMA_TOKENS,
    build_mllama,
)
from cephalo_ray.models.tiny.paligemma import build_paligemma
from cephalo_ray.models.tiny.qwen import (
    QWEN2_VL_CHAT_TEMPLATE,
    QWEN2_VL_IMAGE_PROCESSOR,
    QWEN2_VL_TOKENS,
    build_qwen2_5_vl,
    build_qwen2_vl,
    qwen_processor,
    qwen_text_config,
    qwen_token_ids,
)
from cephalo_ray.models.tiny.smolvlm import (
    SMOLVLM_CHAT_TEMPLATE,
    SMOLVLM_IMAGE_PROCESSOR,
    SMOLVLM_IMAGE_SEQ_LEN,
    build_smolvlm,
)
from cephalo_ray.models.tiny.text import (
    BASE_SPECIAL_TOKENS,
    IDEFICS_CHAT_TEMPLATE,
    IDEFICS_TOKENS,
    IMAGE_TOKEN,
    LLAVA_CHAT_TEMPLATE,
    TINY_VISION,
    TRAINING_TEXT,
    text_settings,
    tiny_clip_vision_config,
    tiny_llama_config,
    train_tokenizer,
)

__all__ = [
    "BASE_SPECIAL_TOKENS",
    "IDEFICS_CHAT_TEMPLATE",
    "IDEFICS_TOKENS",
    "IMAGE_TOKEN",
    "LLAVA_CHAT_TEMPLATE",
    "MLLAMA_CHAT_TEMPLATE",
    "MLLAMA_IMAGE_PROCESSOR",
    "MLLAMA_TOKENS",
    "QWEN2_VL_CHAT_TEMPLATE",
    "QWEN2_VL_IMAGE_PROCESSOR",
    "QWEN2_VL_TOKENS",
    "SMOLVLM_CHAT_TEMPLATE",
    "SMOLVLM_IMAGE_PROCESSOR",
    "SMOLVLM_IMAGE_SEQ_LEN",
    "TINY_BUILDERS",
    "TINY_VISION",
    "TRAINING_TEXT",
    "WHISPER_SPECIAL_TOKENS",
    "build_idefics2",
    "build_idefics3",
    "build_llava",
    "build_llava_next",
    "build_mllama",
    "build_paligemma",
    "build_qwen2_5_vl",
    "build_qwen2_vl",
    "build_smolvlm",
    "build_tiny",
    "build_tiny_causal_lm",
    "build_tiny_vision_encoder",
    "build_tiny_whisper",
    "qwen_processor",
    "qwen_text_config",
    "qwen_token_ids",
    "save_tiny_processor",
    "text_settings",
    "tiny_clip_vision_config",
    "tiny_llama_config",
    "train_tokenizer",
]

TINY_BUILDERS: dict[str, Callable[..., tuple[Any, Any]]] = {
    "llava": build_llava,
    "llava_next": build_llava_next,
    "idefics2": build_idefics2,
    "idefics3": build_idefics3,
    "smolvlm": build_smolvlm,
    "qwen2_vl": build_qwen2_vl,
    "qwen2_5_vl": build_qwen2_5_vl,
    "paligemma": build_paligemma,
    "mllama": build_mllama,
}


def save_tiny_processor(processor: Any, output_dir: str | Path) -> None:
    """Save as the family's Hub checkpoints are: Qwen2-VL's hold no video processor config (transformers
    builds the video processor from preprocessor_config.json), so a tiny one loads with and without
    torchvision as they do."""
    from cephalo_ray.models.loader import save_processor_files

    if hasattr(processor, "video_processor"):
        save_processor_files(processor, output_dir)
    else:
        processor.save_pretrained(output_dir)


def build_seeded(
    build: Callable[[], tuple[Any, Any]], seed: int, output_dir: str | Path | None
) -> tuple[Any, Any]:
    """`build()` -> (model, processor) with torch seeded, and with `output_dir`, saved like a Hub
    checkpoint: the processor (a tokenizer, an image processor...) first, so one that cannot be saved
    leaves no model behind."""
    import torch

    torch.manual_seed(seed)
    model, processor = build()
    if output_dir is not None:
        save_tiny_processor(processor, output_dir)
        model.save_pretrained(output_dir)
    return model, processor


def build_tiny(
    family: str, output_dir: str | Path | None = None, seed: int = 0, **text_overrides: Any
) -> tuple[Any, Any]:
    """Build (and with `output_dir`, save) a tiny random-weight model and its processor.

    `text_overrides` change the language model's config (`num_hidden_layers=4`, ...).

    Raises:
        ValueError: for a family without a tiny builder.
    """
    if family not in TINY_BUILDERS:
        raise ValueError(f"no tiny builder for {family!r}; choose one of {', '.join(TINY_BUILDERS)}")
    model, processor = build_seeded(lambda: TINY_BUILDERS[family](**text_overrides), seed, output_dir)
    model.eval()
    return model, processor


def build_tiny_vision_encoder(kind: str, output_dir: str | Path, seed: int = 0) -> Any:
    """A tiny CLIP or SigLIP vision encoder with its image processor, saved like a hub checkpoint."""
    from transformers import CLIPVisionModel, SiglipVisionConfig, SiglipVisionModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    def build() -> tuple[Any, Any]:
        image_processor: Any
        if kind == "clip":
            image_processor = CLIPImageProcessorPil(
                size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
            )
            return CLIPVisionModel(tiny_clip_vision_config()), image_processor
        if kind == "siglip":
            image_processor = SiglipImageProcessorPil(size={"height": 32, "width": 32})
            return SiglipVisionModel(SiglipVisionConfig(**TINY_VISION)), image_processor
        raise ValueError(f"vision encoder {kind!r} is not clip or siglip")

    return build_seeded(build, seed, output_dir)[0]


def build_tiny_causal_lm(kind: str, output_dir: str | Path, seed: int = 0, **overrides: Any) -> Any:
    """A tiny causal LM (llama, phi3, qwen2, mistral, mixtral) with tokenizer and chat template;
    `overrides` change its config (`num_hidden_layers=4`, `tie_word_embeddings=True`, ...)."""
    from transformers import AutoModelForCausalLM, MistralConfig, MixtralConfig, Phi3Config, Qwen2Config

    def build() -> tuple[Any, Any]:
        tokenizer = train_tokenizer([])
        tokenizer.chat_template = LLAVA_CHAT_TEMPLATE.replace("<image>\n", "")
        base = tiny_llama_config(tokenizer, **overrides).to_dict()
        shared = {
            key: base[key] for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers")
        }
        shared.update(
            {
                key: base[key]
                for key in ("num_attention_heads", "num_key_value_heads", "max_position_embeddings")
            }
        )
        shared.update(
            {
                key: base[key]
                for key in ("pad_token_id", "bos_token_id", "eos_token_id", "tie_word_embeddings")
            }
        )
        configs: dict[str, Callable[[], Any]] = {
            "llama": lambda: tiny_llama_config(tokenizer, **overrides),
            "phi3": lambda: Phi3Config(**shared),
            "qwen2": lambda: Qwen2Config(**shared),
            "mistral": lambda: MistralConfig(**shared),
            "mixtral": lambda: MixtralConfig(**shared, num_local_experts=2, num_experts_per_tok=1),
        }
        if kind not in configs:
            raise ValueError(f"causal LM {kind!r} is not one of {', '.join(configs)}")
        return AutoModelForCausalLM.from_config(configs[kind]()), tokenizer

    return build_seeded(build, seed, output_dir)[0]


def build_tiny_whisper(output_dir: str | Path, seed: int = 0) -> Any:
    """A tiny random Whisper (80 mel bins, 30 s windows) with its feature extractor and a tokenizer
    that has Whisper's special tokens, saved so `AutoModelForSpeechSeq2Seq` / `AutoProcessor` load it."""
    return build_seeded(build_whisper, seed, output_dir)[0]
