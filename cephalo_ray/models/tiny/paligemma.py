"""Tiny PaliGemma: SigLIP at the real 224 px resolution and a Gemma text model."""

from __future__ import annotations

from typing import Any

from cephalo_ray.models.tiny.text import IMAGE_TOKEN, TINY_VISION, text_settings, train_tokenizer


def build_paligemma(**text_overrides: Any) -> tuple[Any, Any]:
    """PaliGemma-3B-224 in small: SigLIP at 224 px in 14 px patches (256 image tokens), no chat template
    (the prompt is the prefix, the answer the suffix: token_type_ids 0 and 1)."""
    from tokenizers import processors
    from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration, PaliGemmaProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    tokenizer = train_tokenizer([IMAGE_TOKEN], bos="<bos>", eos="<eos>", pad="<pad>")
    # The suffix is tokenized as the second text of a pair: its token_type_ids are 1, as Gemma's tokenizer.
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="$A:0", pair="$A:0 $B:1"
    )
    config = PaliGemmaConfig(
        vision_config={
            "model_type": "siglip_vision_model",
            **TINY_VISION,
            "image_size": 224,
            "patch_size": 14,
            "vision_use_head": False,
        },
        text_config={"model_type": "gemma", **text_settings(tokenizer, **text_overrides), "head_dim": 16},
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        projection_dim=64,
    )
    # As transformers' PaliGemma conversion: SigLIP-so400m's processor (mean and std 0.5, bicubic) at the
    # model's resolution, one token per patch.
    image_processor: Any = SiglipImageProcessorPil(
        size={"height": 224, "width": 224}, resample=3, image_mean=[0.5] * 3, image_std=[0.5] * 3
    )
    image_processor.image_seq_length = (224 // 14) ** 2
    processor = PaliGemmaProcessor(image_processor=image_processor, tokenizer=tokenizer)
    return PaliGemmaForConditionalGeneration(config), processor
