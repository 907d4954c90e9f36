"""Tiny Qwen2-VL and Qwen2.5-VL with the real checkpoints' image settings, special tokens and chat
template."""

from __future__ import annotations

from typing import Any

from cephalo_ray.models.tiny.text import text_settings, train_tokenizer

# Qwen/Qwen2-VL-7B-Instruct's and Qwen/Qwen2.5-VL-7B-Instruct's chat template (chat_template.json), as
# shipped: a default system turn, images as <|vision_start|><|image_pad|><|vision_end|>, turns closed by
# <|im_end|>, their EOS.
QWEN2_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
QWEN2_VL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>"]
QWEN2_VL_TOKENS += ["<|image_pad|>", "<|video_pad|>"]
# Qwen2-VL and Qwen2.5-VL's preprocessor_config.json: 14 px patches, 2 frames per temporal patch, 2 x 2
# patches merged into one token, images resized to between 3136 (56 x 56) and 12845056 pixels (at most
# 16384 tokens), CLIP's normalisation.
QWEN2_VL_IMAGE_PROCESSOR: dict[str, Any] = {
    "min_pixels": 3136,
    "max_pixels": 12845056,
    "patch_size": 14,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
}


def qwen_processor(processor_class: Any, tokenizer: Any) -> Any:
    """A Qwen2-VL-style processor with the real checkpoints' image settings and chat template; without
    torchvision, for images only (transformers builds its video processor with torchvision)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from cephalo_ray.models.loader import images_only_processor, torchvision_installed

    image_processor = Qwen2VLImageProcessorPil(**QWEN2_VL_IMAGE_PROCESSOR)
    if not torchvision_installed():
        return images_only_processor(
            processor_class, image_processor, tokenizer, chat_template=QWEN2_VL_CHAT_TEMPLATE
        )
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    return processor_class(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(**QWEN2_VL_IMAGE_PROCESSOR),
        chat_template=QWEN2_VL_CHAT_TEMPLATE,
    )


def qwen_text_config(tokenizer: Any, **text_overrides: Any) -> dict[str, Any]:
    # mrope splits each head's 8 rotary frequencies between time, height and width (16/24/24 of 64 in 7B).
    return {
        **text_settings(tokenizer, **text_overrides),
        "bos_token_id": None,
        "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1000000.0},
    }


def qwen_token_ids(tokenizer: Any) -> dict[str, Any]:
    ids = tokenizer.convert_tokens_to_ids
    return {
        "image_token_id": ids("<|image_pad|>"),
        "video_token_id": ids("<|video_pad|>"),
        "vision_start_token_id": ids("<|vision_start|>"),
        "vision_end_token_id": ids("<|vision_end|>"),
    }


def build_qwen2_vl(**text_overrides: Any) -> tuple[Any, Any]:
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLProcessor

    tokenizer = train_tokenizer(QWEN2_VL_TOKENS, bos=None, eos="<|im_end|>", pad="<|endoftext|>")
    config = Qwen2VLConfig(
        vision_config={
            "depth": 1,
            "embed_dim": 32,
            "hidden_size": 64,  # the merger's output: the language model's width
            "num_heads": 2,
            "mlp_ratio": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        text_config=qwen_text_config(tokenizer, **text_overrides),
        **qwen_token_ids(tokenizer),
    )
    return Qwen2VLForConditionalGeneration(config), qwen_processor(Qwen2VLProcessor, tokenizer)


def build_qwen2_5_vl(**text_overrides: Any) -> tuple[Any, Any]:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor

    tokenizer = train_tokenizer(QWEN2_VL_TOKENS, bos=None, eos="<|im_end|>", pad="<|endoftext|>")
    config = Qwen2_5_VLConfig(
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 64,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 112,  # as the real ones: 8 x 8 patches per attention window
            "fullatt_block_indexes": [1],
        },
        text_config=qwen_text_config(tokenizer, **text_overrides),
        **qwen_token_ids(tokenizer),
    )
    return Qwen2_5_VLForConditionalGeneration(config), qwen_processor(Qwen2_5_VLProcessor, tokenizer)
