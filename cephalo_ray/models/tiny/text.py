"""What every tiny family shares: the byte-level BPE tokenizer trained on the fly, the small Llama text
config and CLIP vision config, and the generic chat templates."""

from __future__ import annotations

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


def text_settings(tokenizer: Any, **overrides: Any) -> dict[str, Any]:
    """The tiny language model's shape as plain config keys, for families that build their own text config."""
    values = tiny_llama_config(tokenizer, **overrides).to_dict()
    keys: tuple[str, ...] = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers")
    keys += ("num_attention_heads",)
    keys += ("num_key_value_heads", "max_position_embeddings", "pad_token_id", "bos_token_id", "eos_token_id")
    return {key: values[key] for key in keys}
