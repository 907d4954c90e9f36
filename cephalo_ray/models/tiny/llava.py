"""Tiny LLaVA-1.5 and LLaVA-NeXT: a CLIP tower, a projector and a Llama, with their processors."""

from __future__ import annotations

from typing import Any

from cephalo_ray.models.tiny.text import (
    IMAGE_TOKEN,
    LLAVA_CHAT_TEMPLATE,
    tiny_clip_vision_config,
    tiny_llama_config,
    train_tokenizer,
)


def build_llava(**text_overrides: Any) -> tuple[Any, Any]:
    from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tokenizer = train_tokenizer([IMAGE_TOKEN])
    config = LlavaConfig(
        vision_config=tiny_clip_vision_config(),
        text_config=tiny_llama_config(tokenizer, **text_overrides),
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
        projector_hidden_act="gelu",
    )
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's CLS token, dropped again by the "default" strategy
        chat_template=LLAVA_CHAT_TEMPLATE,
    )
    return LlavaForConditionalGeneration(config), processor


def build_llava_next(**text_overrides: Any) -> tuple[Any, Any]:
    from transformers import LlavaNextConfig, LlavaNextForConditionalGeneration, LlavaNextProcessor
    from transformers.models.llava_next.image_processing_pil_llava_next import LlavaNextImageProcessorPil

    tokenizer = train_tokenizer([IMAGE_TOKEN])
    pinpoints = [[32, 32], [32, 64], [64, 32], [64, 64]]
    config = LlavaNextConfig(
        vision_config=tiny_clip_vision_config(),
        text_config=tiny_llama_config(tokenizer, **text_overrides),
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        image_grid_pinpoints=pinpoints,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    image_processor = LlavaNextImageProcessorPil(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}, image_grid_pinpoints=pinpoints
    )
    processor = LlavaNextProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=LLAVA_CHAT_TEMPLATE,
    )
    return LlavaNextForConditionalGeneration(config), processor
