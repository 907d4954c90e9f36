"""LLaVA-style assembly: a vision encoder (CLIP or SigLIP) + a causal LM + an `mlp2x_gelu` projector,
saved as a standard `LlavaForConditionalGeneration` folder with processor and chat template.

The projector starts random (stage 1 of LLaVA training aligns it); the vision tower and the language
model keep their weights exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from cephalo_ray.models.loader import local_model_dir
from cephalo_ray.storage import Storage

IMAGE_TOKEN = "<image>"
DEFAULT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ eos_token }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def load_vision_encoder(path: str) -> Any:
    """A CLIP or SigLIP vision model from a vision-only or a full (text + vision) checkpoint."""
    from transformers import AutoConfig, CLIPVisionModel, SiglipVisionModel

    config = AutoConfig.from_pretrained(path)
    model_type = config.model_type
    if model_type in ("clip", "clip_vision_model"):
        return CLIPVisionModel.from_pretrained(path)
    if model_type in ("siglip", "siglip_vision_model"):
        return SiglipVisionModel.from_pretrained(path)
    raise ValueError(f"{path} is a {model_type!r} model; the vision encoder must be CLIP or SigLIP")


def assemble_llava(
    vision: str,
    language_model: str,
    output_dir: str | Path,
    *,
    vision_feature_layer: int = -2,
    chat_template: str | None = None,
    storage: Storage | None = None,
) -> Any:
    """Build and save a LLaVA model from a vision encoder and a causal LM (names, folders or s3://).

    A text LM's own chat template knows no image parts, so the processor gets `chat_template` or a
    generic one that renders an image part as `<image>`.

    Returns:
        The assembled `LlavaForConditionalGeneration`.
    """
    from transformers import (
        AutoImageProcessor,
        AutoModelForCausalLM,
        AutoTokenizer,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    vision_path = local_model_dir(vision, storage)
    lm_path = local_model_dir(language_model, storage)
    vision_model = load_vision_encoder(vision_path)
    lm: Any = AutoModelForCausalLM.from_pretrained(lm_path)
    tokenizer: Any = AutoTokenizer.from_pretrained(lm_path, padding_side="left")
    if IMAGE_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if len(tokenizer) > lm.get_input_embeddings().num_embeddings:
        lm.resize_token_embeddings(len(tokenizer))
    has_cls = vision_model.config.model_type.startswith("clip")  # SigLIP has no CLS token
    strategy: Literal["default", "full"] = "default" if has_cls else "full"
    config = LlavaConfig(
        vision_config=vision_model.config,
        text_config=lm.config,
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        projector_hidden_act="gelu",  # mlp2x_gelu: Linear -> GELU -> Linear
        vision_feature_layer=vision_feature_layer,
        vision_feature_select_strategy=strategy,
        tie_word_embeddings=lm.config.tie_word_embeddings,
    )
    model = LlavaForConditionalGeneration(config)
    model.model.vision_tower.load_state_dict(vision_model.state_dict())
    model.model.language_model.load_state_dict(lm.model.state_dict())
    model.lm_head.load_state_dict(lm.lm_head.state_dict())
    processor = LlavaProcessor(
        image_processor=AutoImageProcessor.from_pretrained(vision_path),
        tokenizer=tokenizer,
        patch_size=vision_model.config.patch_size,
        vision_feature_select_strategy=strategy,
        num_additional_image_tokens=1 if has_cls else 0,
        chat_template=chat_template or DEFAULT_TEMPLATE,
    )
    model.save_pretrained(output_dir)
    processor.save_pretrained(output_dir)
    return model
