"""Tiny SmolVLM (`model_type` smolvlm): Idefics3's tiling and pixel shuffle with SmolLM2's chat tokens, its
processor set as HuggingFaceTB/SmolVLM-Instruct's. That checkpoint itself ships as `idefics3`; `smolvlm` is
SmolVLM2's type, and SmolVLM2-2.2B-Instruct uses the same image settings (384 px tiles, 81 tokens each)."""

from __future__ import annotations

from typing import Any

from cephalo_ray.models.tiny.text import IDEFICS_TOKENS, TINY_VISION, tiny_llama_config, train_tokenizer

# HuggingFaceTB/SmolVLM-Instruct's chat_template.json, as shipped: no system turn, "User:<image>text" when
# a turn opens with an image, turns closed by <end_of_utterance>, its EOS.
SMOLVLM_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
# Its preprocessor_config.json: the longest edge resized to 1536 px (4 tiles), then cut into 384 px tiles
# plus a global view, Lanczos resampling, mean and std 0.5.
SMOLVLM_IMAGE_PROCESSOR: dict[str, Any] = {
    "do_image_splitting": True,
    "size": {"longest_edge": 1536},
    "max_image_size": {"longest_edge": 384},
    "resample": 1,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
}
# Its config.json: SigLIP at 384 px in 14 px patches (27 x 27), 3 x 3 patches shuffled into one token.
SMOLVLM_VISION = {"image_size": 384, "patch_size": 14}
SMOLVLM_SCALE_FACTOR = 3
SMOLVLM_IMAGE_SEQ_LEN = (384 // 14) ** 2 // SMOLVLM_SCALE_FACTOR**2  # 81, its processor_config.json's


def build_smolvlm(**text_overrides: Any) -> tuple[Any, Any]:
    """SmolVLM in small: the real processor and vision geometry (81 tokens per 384 px tile), a tiny
    vision tower and language model. Without torchvision its processor is built for images only."""
    from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration, SmolVLMProcessor
    from transformers.models.smolvlm.image_processing_pil_smolvlm import SmolVLMImageProcessorPil

    from cephalo_ray.models.loader import images_only_processor, torchvision_installed

    # SmolLM2's chat tokens, as SmolVLM's special_tokens_map.json names them.
    tokenizer = train_tokenizer(
        IDEFICS_TOKENS, bos="<|im_start|>", eos="<end_of_utterance>", pad="<|im_end|>"
    )
    config = SmolVLMConfig(
        vision_config={**TINY_VISION, **SMOLVLM_VISION},
        text_config=tiny_llama_config(tokenizer, **text_overrides),
        scale_factor=SMOLVLM_SCALE_FACTOR,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        tie_word_embeddings=False,
    )
    image_processor = SmolVLMImageProcessorPil(**SMOLVLM_IMAGE_PROCESSOR)
    options: dict[str, Any] = {"image_seq_len": SMOLVLM_IMAGE_SEQ_LEN, "chat_template": SMOLVLM_CHAT_TEMPLATE}
    if torchvision_installed():
        from transformers.models.smolvlm.video_processing_smolvlm import SmolVLMVideoProcessor

        processor = SmolVLMProcessor(
            image_processor=image_processor,
            tokenizer=tokenizer,
            video_processor=SmolVLMVideoProcessor(**SMOLVLM_IMAGE_PROCESSOR),
            **options,
        )
    else:
        processor = images_only_processor(SmolVLMProcessor, image_processor, tokenizer, **options)
    return SmolVLMForConditionalGeneration(config), processor
