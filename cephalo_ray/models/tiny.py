"""Tiny random-weight VLMs of real `model_type`s, built offline in seconds, for tests, the demo and
benchmarks. Each comes with a byte-level BPE tokenizer trained on the fly, its special tokens, a
chat template and a processor, saved with `save_pretrained` so it loads like any checkpoint.

Their outputs are noise; they exist to exercise the real loading, training and serving code paths.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

IMAGE_TOKEN = "<image>"
IDEFICS_TOKENS = ["<fake_token_around_image>", IMAGE_TOKEN, "<end_of_utterance>", "<global-img>"]
IDEFICS_TOKENS += [f"<row_{row}_col_{col}>" for row in range(1, 7) for col in range(1, 7)]
BASE_SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<unk>"]
TRAINING_TEXT = [
    "The spider silk fibre is tough because beta-sheet nanocrystals carry the load.",
    "Figure 3 shows nacre tablets joined by mineral bridges that deflect cracks.",
    "What does this figure show? It shows a stress-strain curve of collagen at three strain rates.",
    "How should the panels be read? The x axis is strain, the y axis is stress in megapascals.",
    "Bone is a hierarchical composite of mineralised collagen fibrils and hydroxyapatite platelets.",
    "The graphene sheet fails at grain boundaries; its tensile strength drops with defect density.",
]

# The vision encoders of every tiny family: 32 px images in 8 px patches, so 16 patches per image.
TINY_VISION: dict[str, Any] = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "image_size": 32,
    "patch_size": 8,
}

# A generic chat template: roles in angle brackets, images as the processor's placeholder.
LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}</s>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
# Idefics2/3's own template shape: "User:<image>text<end_of_utterance>\nAssistant:".
IDEFICS_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'] is string %}: {{ message['content'] }}"
    "{% else %}{% if message['content'][0]['type'] == 'image' %}:{% else %}: {% endif %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def train_tokenizer(
    special_tokens: list[str],
    vocab_size: int = 512,
    bos: str | None = "<s>",
    eos: str = "</s>",
    pad: str = "<pad>",
) -> Any:
    """A byte-level BPE tokenizer trained on a few sentences, wrapped for transformers; `bos`, `eos` and
    `pad` name the family's own (Qwen2-VL has no BOS and ends turns with `<|im_end|>`)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=BASE_SPECIAL_TOKENS
        + [token for token in special_tokens if token not in BASE_SPECIAL_TOKENS]
        + [token for token in (bos, eos, pad) if token and token not in BASE_SPECIAL_TOKENS + special_tokens],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(TRAINING_TEXT * 4, trainer)
    extra = {"image_token": IMAGE_TOKEN} if IMAGE_TOKEN in special_tokens else {}
    if "<fake_token_around_image>" in special_tokens:
        extra["image_boundary_token"] = "<fake_token_around_image>"
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token=eos,
        pad_token=pad,
        unk_token="<unk>",
        padding_side="left",  # decoder-only generation pads on the left; set here so it is saved
        extra_special_tokens=extra,
    )


def tiny_llama_config(tokenizer: Any, **overrides: Any) -> Any:
    from transformers import LlamaConfig

    values = {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,  # LLaVA-1.5's context: rope, so it costs no weights
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "tie_word_embeddings": False,
    }
    values.update(overrides)
    return LlamaConfig(**values)


def tiny_clip_vision_config() -> Any:
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(**TINY_VISION)


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


def text_settings(tokenizer: Any, **overrides: Any) -> dict[str, Any]:
    """The tiny language model's shape as plain config keys, for families that build their own text config."""
    values = tiny_llama_config(tokenizer, **overrides).to_dict()
    keys: tuple[str, ...] = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers")
    keys += ("num_attention_heads",)
    keys += ("num_key_value_heads", "max_position_embeddings", "pad_token_id", "bos_token_id", "eos_token_id")
    return {key: values[key] for key in keys}


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


TINY_BUILDERS: dict[str, Callable[..., tuple[Any, Any]]] = {
    "llava": build_llava,
    "llava_next": build_llava_next,
    "idefics2": build_idefics2,
    "idefics3": build_idefics3,
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


def build_tiny(
    family: str, output_dir: str | Path | None = None, seed: int = 0, **text_overrides: Any
) -> tuple[Any, Any]:
    """Build (and with `output_dir`, save) a tiny random-weight model and its processor.

    `text_overrides` change the language model's config (`num_hidden_layers=4`, ...).

    Raises:
        ValueError: for a family without a tiny builder.
    """
    import torch

    if family not in TINY_BUILDERS:
        raise ValueError(f"no tiny builder for {family!r}; choose one of {', '.join(TINY_BUILDERS)}")
    torch.manual_seed(seed)
    model, processor = TINY_BUILDERS[family](**text_overrides)
    model.eval()
    if output_dir is not None:
        save_tiny_processor(processor, output_dir)  # first: a processor that cannot be saved leaves no folder
        model.save_pretrained(output_dir)
    return model, processor


def build_tiny_vision_encoder(kind: str, output_dir: str | Path, seed: int = 0) -> Any:
    """A tiny CLIP or SigLIP vision encoder with its image processor, saved like a hub checkpoint."""
    import torch
    from transformers import CLIPVisionModel, SiglipVisionConfig, SiglipVisionModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    torch.manual_seed(seed)
    if kind == "clip":
        model: Any = CLIPVisionModel(tiny_clip_vision_config())
        image_processor: Any = CLIPImageProcessorPil(
            size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
        )
    elif kind == "siglip":
        model = SiglipVisionModel(SiglipVisionConfig(**TINY_VISION))
        image_processor = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    else:
        raise ValueError(f"vision encoder {kind!r} is not clip or siglip")
    model.save_pretrained(output_dir)
    image_processor.save_pretrained(output_dir)
    return model


def build_tiny_causal_lm(kind: str, output_dir: str | Path, seed: int = 0, **overrides: Any) -> Any:
    """A tiny causal LM (llama, phi3, qwen2, mistral, mixtral) with tokenizer and chat template;
    `overrides` change its config (`num_hidden_layers=4`, `tie_word_embeddings=True`, ...)."""
    import torch
    from transformers import AutoModelForCausalLM, MistralConfig, MixtralConfig, Phi3Config, Qwen2Config

    torch.manual_seed(seed)
    tokenizer = train_tokenizer([])
    tokenizer.chat_template = LLAVA_CHAT_TEMPLATE.replace("<image>\n", "")
    base = tiny_llama_config(tokenizer, **overrides).to_dict()
    shared = {
        key: base[key] for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers")
    }
    shared.update(
        {key: base[key] for key in ("num_attention_heads", "num_key_value_heads", "max_position_embeddings")}
    )
    shared.update(
        {key: base[key] for key in ("pad_token_id", "bos_token_id", "eos_token_id", "tie_word_embeddings")}
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
    model = AutoModelForCausalLM.from_config(configs[kind]())
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return model


WHISPER_SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|transcribe|>",
    "<|translate|>",
    "<|notimestamps|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
]


def build_tiny_whisper(output_dir: str | Path, seed: int = 0) -> Any:
    """A tiny random Whisper (80 mel bins, 30 s windows) with its feature extractor and a tokenizer
    that has Whisper's special tokens, saved so `AutoModelForSpeechSeq2Seq` / `AutoProcessor` load it."""
    import tempfile

    import torch
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as scratch:
        train_tokenizer(WHISPER_SPECIAL_TOKENS).save_pretrained(scratch)
        tokenizer = WhisperTokenizer.from_pretrained(scratch)
    start = tokenizer.convert_tokens_to_ids("<|startoftranscript|>")
    end = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        num_mel_bins=80,
        max_source_positions=1500,
        max_target_positions=448,
        decoder_start_token_id=start,
        eos_token_id=end,
        pad_token_id=end,
        bos_token_id=end,
        begin_suppress_tokens=[end],  # as real Whisper: a transcript never starts by ending
        suppress_tokens=[tokenizer.convert_tokens_to_ids(token) for token in WHISPER_SPECIAL_TOKENS[2:]],
    )
    model = WhisperForConditionalGeneration(config).eval()
    model.generation_config.no_timestamps_token_id = tokenizer.convert_tokens_to_ids("<|notimestamps|>")
    model.generation_config.forced_decoder_ids = None
    processor = WhisperProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tokenizer
    )
    model.save_pretrained(output_dir)
    processor.save_pretrained(output_dir)
    return model
