"""Tiny Llama-3.2-Vision (Mllama) with the real checkpoint's tiling, special tokens and chat template."""

from __future__ import annotations

from typing import Any

from cephalo_ray.models.tiny.text import text_settings, train_tokenizer

# meta-llama/Llama-3.2-11B-Vision-Instruct's chat template: the system turn (knowledge cut-off, date) only
# without images, an image as one <|image|> token, turns closed by <|eot_id|>, its EOS; tools left out.
MLLAMA_CHAT_TEMPLATE = """{{- bos_token }}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{% set image_ns = namespace(has_images=false) %}
{%- for message in messages %}
    {%- for content in message['content'] %}
        {%- if content['type'] == 'image' %}
            {%- set image_ns.has_images = true %}
        {%- endif %}
    {%- endfor %}
{%- endfor %}
{%- if image_ns.has_images and not system_message == "" %}
    {{- raise_exception("Prompting with images is incompatible with system messages.") }}
{%- endif %}
{%- if not image_ns.has_images %}
    {{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
    {{- "Cutting Knowledge Date: December 2023\\n" }}
    {{- "Today Date: " + date_string + "\\n\\n" }}
    {{- system_message }}
    {{- "<|eot_id|>" }}
{%- endif %}
{%- for message in messages %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}
    {%- if message['content'] is string %}
        {{- message['content'] }}
    {%- else %}
        {%- for content in message['content'] %}
            {%- if content['type'] == 'image' %}
                {{- '<|image|>' }}
            {%- elif content['type'] == 'text' %}
                {{- content['text'] }}
            {%- endif %}
        {%- endfor %}
    {%- endif %}
    {{- '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}"""
MLLAMA_TOKENS = ["<|image|>", "<|python_tag|>", "<|start_header_id|>", "<|end_header_id|>"]
# Llama-3.2-11B-Vision's preprocessor_config.json: 560 px tiles, up to 4 per image (the aspect ratio
# picks the grid), CLIP's normalisation, bilinear resampling.
MLLAMA_IMAGE_PROCESSOR: dict[str, Any] = {
    "size": {"height": 560, "width": 560},
    "max_image_tiles": 4,
    "resample": 2,
    "do_pad": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
}


def build_mllama(**text_overrides: Any) -> tuple[Any, Any]:
    """Llama-3.2-Vision in small: 560 px tiles, up to 4 per image, seen by cross-attention from one
    <|image|> token; decoder layer 1 is a cross-attention layer."""
    from transformers import MllamaConfig, MllamaForConditionalGeneration, MllamaProcessor
    from transformers.models.mllama.image_processing_pil_mllama import MllamaImageProcessorPil

    tokenizer = train_tokenizer(
        MLLAMA_TOKENS, bos="<|begin_of_text|>", eos="<|eot_id|>", pad="<|finetune_right_pad_id|>"
    )
    text = text_settings(tokenizer, **text_overrides)
    config = MllamaConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_global_layers": 1,
            "attention_heads": 2,
            "image_size": 560,
            "patch_size": 14,
            "max_num_tiles": 4,
            "intermediate_layers_indices": [0],
            "vision_output_dim": 64,  # hidden_size x (1 + intermediate layers)
        },
        text_config={**text, "cross_attention_layers": list(range(1, text["num_hidden_layers"], 2))},
        image_token_index=tokenizer.convert_tokens_to_ids("<|image|>"),
    )
    processor = MllamaProcessor(
        image_processor=MllamaImageProcessorPil(**MLLAMA_IMAGE_PROCESSOR),
        tokenizer=tokenizer,
        chat_template=MLLAMA_CHAT_TEMPLATE,
    )
    return MllamaForConditionalGeneration(config), processor
