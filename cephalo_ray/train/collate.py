"""Training examples from conversations: the processor's chat template, then labels with an explicit
loss mask.

Masking options:
- `answers`: only the assistant's answers count (LLaVA).
- `prompt_and_answer`: the whole conversation counts (Cephalo).
In both, image placeholders, the image's framing tokens and padding never count.

Answer spans are found by rendering the conversation up to each assistant turn with the generation
prompt: that prefix, processed with the same image, is exactly the tokens before the answer.

A processor without a chat template (PaliGemma: not a chat model) is trained as it was pretrained: the
turns before the last answer are its prefix, which attends both ways and is never predicted, and the
last answer is its suffix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

IGNORE_INDEX = -100
ANSWERS = "answers"
PROMPT_AND_ANSWER = "prompt_and_answer"
MASKINGS = (ANSWERS, PROMPT_AND_ANSWER)
# Tokens that frame or stand for an image in some family; never predicted.
IMAGE_FRAMING_TOKENS: tuple[str, ...] = ("<image>", "<fake_token_around_image>", "<global-img>")
IMAGE_FRAMING_TOKENS += ("<|image_pad|>", "<|vision_start|>", "<|vision_end|>", "<|image|>")
# Inputs with one entry per token (dimension 1), cut and padded with the sequence, and their padding.
PER_TOKEN_PADDING = {
    "input_ids": None,  # the tokenizer's pad id
    "attention_mask": 0,
    "labels": IGNORE_INDEX,
    "token_type_ids": 0,  # PaliGemma: prefix 0, suffix 1
    "mm_token_type_ids": 0,  # Qwen2-VL: text 0, image 1
    "cross_attention_mask": 0,  # Mllama: which image tiles each token attends to
}


@dataclass(frozen=True)
class Example:
    """One tokenised sample: model inputs (tensors, batch of 1) plus `labels`."""

    inputs: dict[str, Any]
    length: int
    truncated: bool


class TooLongError(ValueError):
    """A sample over `max_length` when over-long samples are dropped."""


def llava_to_messages(conversations: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
    """LLaVA turns (`from`/`value`, `<image>` in the text) -> chat messages with image parts."""
    messages: list[dict[str, Any]] = []
    for turn in conversations:
        role = "user" if turn["from"] in ("human", "user") else "assistant"
        text = turn["value"]
        content: list[dict[str, Any]] = []
        if role == "user" and "<image>" in text:
            content.append({"type": "image"})
            text = text.replace("<image>\n", "").replace("<image>", "")
        content.append({"type": "text", "text": text})
        messages.append({"role": role, "content": content})
    return messages


def never_predicted_ids(tokenizer: Any) -> set[int]:
    """Ids of padding and every image token the tokenizer knows (row/col tiles included)."""
    ids = {tokenizer.pad_token_id} if tokenizer.pad_token_id is not None else set()
    vocab = tokenizer.get_vocab()
    for token in IMAGE_FRAMING_TOKENS:
        if token in vocab:
            ids.add(vocab[token])
    ids.update(index for token, index in vocab.items() if token.startswith("<row_") and token.endswith(">"))
    return ids


PROBE_ANSWER = "Probe answer 7193."


def closes_answers_with_eos(processor: Any) -> bool:
    """Whether the chat template ends an assistant turn with the EOS token. Some real ones do not
    (llava-hf's LLaVA-1.5: "ASSISTANT: answer USER: ..."): a model trained on them never learns to stop."""
    eos = getattr(processor.tokenizer, "eos_token", None)
    if not eos:
        return True  # nothing to add
    probe = [
        {"role": "user", "content": [{"type": "text", "text": "Probe question?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": PROBE_ANSWER}]},
    ]
    rendered = str(processor.apply_chat_template(probe))
    return eos in rendered.split(PROBE_ANSWER, 1)[-1]


def with_eos_after_answers(messages: list[dict[str, Any]], eos: str) -> list[dict[str, Any]]:
    """Each assistant answer followed by the EOS token, which the tokenizer reads as its special id and
    the answer mask keeps: what LLaVA's own training does (its `sep2`)."""
    closed = []
    for message in messages:
        if message["role"] == "assistant":
            parts = [dict(part) for part in message["content"]]
            parts[-1]["text"] = parts[-1]["text"] + eos
            message = {**message, "content": parts}
        closed.append(message)
    return closed


def has_chat_template(processor: Any) -> bool:
    return bool(getattr(processor, "chat_template", None))


def prefix_and_suffix(messages: list[dict[str, Any]]) -> tuple[str, str]:
    """The text of every turn before the last answer (newline-joined), and the last answer."""
    texts = [
        " ".join(part["text"] for part in message["content"] if part["type"] == "text")
        for message in messages
    ]
    last = max(index for index, message in enumerate(messages) if message["role"] == "assistant")
    return "\n".join(texts[:last]), texts[last]


def encode(processor: Any, messages: list[dict[str, Any]], images: list[Any]) -> Any:
    """The processor's tensors (batch of 1) for a conversation: its chat template rendered, or, without
    one, its prefix and suffix (whose `labels` the processor sets)."""
    if has_chat_template(processor):
        text = processor.apply_chat_template(messages)
        return processor(images=images or None, text=[text], return_tensors="pt")
    prefix, suffix = prefix_and_suffix(messages)
    prompt = processor.image_token * len(images) + prefix
    return processor(images=images or None, text=[prompt], suffix=[suffix], return_tensors="pt")


def answer_spans(processor: Any, messages: list[dict[str, Any]], images: list[Any]) -> list[tuple[int, int]]:
    """Token spans [start, end) of each assistant answer in the processed full conversation."""
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = processor.apply_chat_template(messages[:index], add_generation_prompt=True)
        through = processor.apply_chat_template(messages[: index + 1])
        start = token_count(processor, before, images)
        end = token_count(processor, through, images)
        spans.append((start, end))
    return spans


def token_count(processor: Any, text: str, images: list[Any]) -> int:
    has_image = processor.image_token in text if hasattr(processor, "image_token") else bool(images)
    encoded = processor(images=images if has_image else None, text=[text], return_tensors="np")
    return int(encoded["input_ids"].shape[1])


def build_example(
    processor: Any,
    conversations: Sequence[dict[str, str]],
    images: list[Any],
    masking: str = ANSWERS,
    max_length: int = 2048,
    overflow: str = "truncate",
) -> Example:
    """Tokenise one conversation with its image(s) and label it.

    Args:
        processor: the model's processor (chat template, tokenizer, image processor).
        conversations: LLaVA turns.
        images: PIL images, one per `<image>` in the conversation.
        masking: `answers` or `prompt_and_answer`.
        max_length: longest sequence kept.
        overflow: `truncate` (cut the end; image tokens must fit) or `drop` (raise `TooLongError`).
    """
    if masking not in MASKINGS:
        raise ValueError(f"masking {masking!r} is not one of {MASKINGS}")
    messages = llava_to_messages(conversations)
    if not has_chat_template(processor):
        if masking != ANSWERS:
            raise ValueError(
                f"masking {masking}: {type(processor).__name__} has no chat template; its prompt is a prefix "
                "that attends both ways, so its tokens cannot be learned: use masking: answers"
            )
        inputs = dict(encode(processor, messages, images))
        labels = inputs.pop("labels")  # the suffix: the last answer and the EOS the processor appends
    else:
        if not closes_answers_with_eos(processor):
            messages = with_eos_after_answers(messages, processor.tokenizer.eos_token)
        inputs = dict(encode(processor, messages, images))
        labels = inputs["input_ids"].clone()
        if masking == ANSWERS:
            keep = labels.new_zeros(labels.shape, dtype=bool)  # type: ignore[call-overload]
            for start, end in answer_spans(processor, messages, images):
                keep[:, start:end] = True
            labels[~keep] = IGNORE_INDEX
    input_ids = inputs["input_ids"]
    for token_id in never_predicted_ids(processor.tokenizer):
        labels[input_ids == token_id] = IGNORE_INDEX
    length = int(input_ids.shape[1])
    truncated = False
    if length > max_length:
        if overflow == "drop":
            raise TooLongError(f"{length} tokens is over max_length {max_length}")
        image_ids = never_predicted_ids(processor.tokenizer) - {processor.tokenizer.pad_token_id}
        last_image = max((i for i, t in enumerate(input_ids[0].tolist()) if t in image_ids), default=-1)
        if last_image >= max_length:
            raise TooLongError(f"the image tokens end at {last_image + 1}, past max_length {max_length}")
        for key in PER_TOKEN_PADDING:
            if key in inputs:
                inputs[key] = inputs[key][:, :max_length]
        labels = labels[:, :max_length]
        truncated, length = True, max_length
    inputs["labels"] = labels
    return Example(inputs, length, truncated)


def collate(examples: Sequence[Example], pad_token_id: int) -> dict[str, Any]:
    """Right-pad a batch for training: per-token inputs to the longest sequence (labels with the ignore
    index); other tensors are concatenated, zero-padded where their examples differ (an image split into
    more tiles than its batch-mate's: tiling processors pad with all-zero tiles, which their models
    skip). Qwen2-VL's patches of every image are one list already, concatenated along its first axis."""
    import torch

    longest = max(example.length for example in examples)
    batch: dict[str, Any] = {}
    for key in examples[0].inputs:
        values = [example.inputs[key] for example in examples]
        if key in PER_TOKEN_PADDING:
            fill = PER_TOKEN_PADDING[key]
            batch[key] = torch.cat(
                [padded_tokens(value, longest, pad_token_id if fill is None else fill) for value in values]
            )
        else:
            batch[key] = torch.cat(padded_alike(values)) if hasattr(values[0], "shape") else values
    return batch


def padded_tokens(tensor: Any, length: int, fill: int) -> Any:
    """`tensor` padded with `fill` along its token axis (1) to `length`."""
    import torch

    widths = [0, 0] * (tensor.dim() - 2) + [0, length - tensor.shape[1]]
    return torch.nn.functional.pad(tensor, widths, value=fill)


def padded_alike(tensors: Sequence[Any]) -> list[Any]:
    """Tensors zero-padded at the end of every dimension after the first to the largest of them."""
    import torch

    if all(tensor.shape[1:] == tensors[0].shape[1:] for tensor in tensors):
        return list(tensors)
    largest = [max(tensor.shape[axis] for tensor in tensors) for axis in range(1, tensors[0].dim())]
    padded = []
    for tensor in tensors:
        widths: list[int] = []
        for axis in reversed(range(1, tensor.dim())):
            widths += [0, largest[axis - 1] - tensor.shape[axis]]
        padded.append(torch.nn.functional.pad(tensor, widths, value=0))
    return padded
