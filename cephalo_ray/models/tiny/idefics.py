"""Tiny Idefics2 (a perceiver resampler) and Idefics3 (pixel shuffle, images split into tiles)."""

from __future__ import annotations

from typing import Any

from cephalo_ray.models.tiny.text import (
    IDEFICS_CHAT_TEMPLATE,
    IDEFICS_TOKENS,
    IMAGE_TOKEN,
    TINY_VISION,
    tiny_llama_config,
    train_tokenizer,
)


def build_idefics2(**text_overrides: Any) -> tuple[Any, Any]:
    from transformers import Idefics2Config, Idefics2ForConditionalGeneration, Idefics2Processor
    from transformers.models.idefics2.configuration_idefics2 import (
        Idefics2PerceiverConfig,
        Idefics2VisionConfig,
    )
    from transformers.models.idefics2.image_processing_pil_idefics2 import Idefics2ImageProcessorPil

    tokenizer = train_tokenizer(IDEFICS_TOKENS)
    latents = 4
    config = Idefics2Config(
        vision_config=Idefics2VisionConfig(**TINY_VISION),
        perceiver_config=Idefics2PerceiverConfig(
            hidden_act="silu",
            resampler_n_latents=latents,
            resampler_depth=1,
            resampler_n_heads=2,
            resampler_head_dim=16,
            num_key_value_heads=1,
        ),
        text_config=tiny_llama_config(tokenizer, **text_overrides),
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        tie_word_embeddings=False,
    )
    image_processor = Idefics2ImageProcessorPil(
        do_image_splitting=False, size={"shortest_edge": 32, "longest_edge": 32}
    )
    processor = Idefics2Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=latents,
        chat_template=IDEFICS_CHAT_TEMPLATE,
    )
    return Idefics2ForConditionalGeneration(config), processor


def build_idefics3(**text_overrides: Any) -> tuple[Any, Any]:
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.configuration_idefics3 import Idefics3VisionConfig
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    tokenizer = train_tokenizer(IDEFICS_TOKENS)
    scale_factor = 2
    config = Idefics3Config(
        vision_config=Idefics3VisionConfig(**TINY_VISION),
        text_config=tiny_llama_config(tokenizer, **text_overrides),
        scale_factor=scale_factor,
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        tie_word_embeddings=False,
    )
    # As HuggingFaceM4/Idefics3-8B-Llama3's preprocessor_config.json, scaled down: images are resized
    # to a longest edge of 4 tiles (1456 = 4 x 364 there) and split into tiles plus a global view.
    image_processor = Idefics3ImageProcessorPil(
        do_image_splitting=True, size={"longest_edge": 4 * 32}, max_image_size={"longest_edge": 32}
    )
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=(32 // 8) ** 2 // scale_factor**2,
        chat_template=IDEFICS_CHAT_TEMPLATE,
    )
    return Idefics3ForConditionalGeneration(config), processor
