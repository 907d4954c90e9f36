"""Continuous batching: the tensors of rows that decode together, one step at a time.

A row joins after its own prefill (alone or with others that arrived together) and leaves when it
finishes, so a short request is not held behind a long one (iteration-level scheduling, as vLLM and
TGI do). The running rows share one transformers `DynamicCache`, left-padded: when rows join, the
shorter side gets zero keys and values on the left, hidden by the attention mask; when rows leave,
their batch entries go and so do the leading columns no remaining row attends to. Each row's position
id counts only its own tokens, so a row decodes as it would alone. A step that fails leaves the batch
as it was, and `step_each` can then step every row on its own and drop only those that fail alone.

Holds no requests, sampling or threads (the engine does); `DecodeBatch` is tensors only.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

# Families whose forward this loop reproduces: 1-D rotary positions from the attention mask, the
# image only in the prefill, a cache of plain full-attention layers. The others keep `generate`:
# Qwen-VL's 3-D positions (rope deltas from the image grid), Mllama's cross-attention cache and
# remote-code models (Phi-3-vision) need preparation only their own `generate` does.
CONTINUOUS_FAMILIES = frozenset(
    {"llava", "llava_next", "idefics2", "idefics3", "smolvlm", "llama", "mistral", "mixtral", "qwen2", "phi3"}
)
# `generate` turns these generation-config fields into logits processors that this loop does not run.
UNHANDLED_GENERATION_SETTINGS = {
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "bad_words_ids": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "sequence_bias": None,
    "min_length": 0,
    "min_new_tokens": None,
}


def static_only_reason(config: Any, generation_config: Any = None) -> str | None:
    """Why a model must be run by static batches through `generate` instead of the continuous loop,
    or None when the loop runs it (and its greedy answers equal `generate`'s)."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    text_config = config.get_text_config(decoder=True)
    for section in (config, text_config):
        if section.model_type not in CONTINUOUS_FAMILIES:
            return f"model type {section.model_type!r} is not one the continuous loop is known to run"
    if getattr(config, "is_encoder_decoder", False):
        return "an encoder-decoder model"
    try:
        layers = DynamicCache(config=config).layers
    except Exception as error:  # a config transformers cannot build a cache from: `generate` knows better
        return f"its cache cannot be built from its config ({type(error).__name__}: {error})"
    odd = sorted({type(layer).__name__ for layer in layers if type(layer) is not DynamicLayer})
    if odd:
        return f"its cache has {', '.join(odd)} layers (sliding windows or other kinds), not plain ones"
    for name, default in UNHANDLED_GENERATION_SETTINGS.items():
        value = getattr(generation_config, name, default)
        if value not in (default, None):
            return f"its generation config sets {name}={value!r}"
    return None


def prompt_positions(attention_mask: Any) -> Any:
    """Position ids of a left-padded prompt: each row counts its own tokens from 0 (pads get 0)."""
    positions = attention_mask.long().cumsum(-1) - 1
    return positions.masked_fill(attention_mask == 0, 0)


@dataclass
class Prefilled:
    """Rows just prefilled together: their cache, attention mask, next positions and last logits."""

    cache: Any
    attention_mask: Any  # [rows, length]
    positions: Any  # [rows]: the position id of each row's next token
    logits: Any  # [rows, vocabulary], float32


def prefill(model: Any, inputs: dict[str, Any]) -> Prefilled:
    """Run prompts (the processor's left-padded output, on the model's device) through the model."""
    import torch
    from transformers.cache_utils import DynamicLayer

    attention_mask = inputs["attention_mask"]
    with torch.no_grad():
        output = model(
            **inputs, position_ids=prompt_positions(attention_mask), use_cache=True, logits_to_keep=1
        )
    cache = output.cache
    if any(
        type(layer) is not DynamicLayer for layer in cache.layers
    ):  # `static_only_reason` should have said
        raise RuntimeError("the continuous loop needs a cache of plain DynamicLayer layers")
    return Prefilled(cache, attention_mask, attention_mask.sum(dim=1), output.logits[:, -1, :].float())


def pad_left(tensor: Any, length: int, dim: int) -> Any:
    """`tensor` with zeros added before its entries along `dim`, to `length` entries."""
    import torch

    missing = length - tensor.shape[dim]
    if missing <= 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    return torch.cat([tensor.new_zeros(shape), tensor], dim=dim)


class DecodeBatch:
    """The rows decoding together: one left-padded KV cache, their attention mask, the position id
    and the input token of each row's next step. Row order is the engine's row order."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.cache: Any = None
        self.attention_mask: Any = None
        self.positions: Any = None
        self.next_tokens: Any = None

    @property
    def size(self) -> int:
        return 0 if self.attention_mask is None else int(self.attention_mask.shape[0])

    @property
    def length(self) -> int:
        return 0 if self.attention_mask is None else int(self.attention_mask.shape[1])

    def join(self, prefilled: Prefilled | DecodeBatch, keep: list[int], next_tokens: Any) -> None:
        """Add rows `keep` of `prefilled` (or of another batch), whose next inputs are `next_tokens`,
        after the running ones."""
        import torch

        if not keep:
            return
        # lists, not index tensors: layers of a model split over devices each index on their own
        layers = [(layer.keys[keep], layer.values[keep]) for layer in prefilled.cache.layers]
        mask, positions = prefilled.attention_mask[keep], prefilled.positions[keep]
        if self.size == 0:
            self.cache = prefilled.cache
            self._set_layers(layers)
            self.attention_mask, self.positions, self.next_tokens = mask, positions, next_tokens
            return
        length = max(self.length, int(mask.shape[1]))
        self._set_layers(
            [
                (
                    torch.cat([pad_left(keys, length, 2), pad_left(new_keys, length, 2)]),
                    torch.cat([pad_left(values, length, 2), pad_left(new_values, length, 2)]),
                )
                for (keys, values), (new_keys, new_values) in zip(self._layers(), layers, strict=True)
            ]
        )
        self.attention_mask = torch.cat([pad_left(self.attention_mask, length, 1), pad_left(mask, length, 1)])
        self.positions = torch.cat([self.positions, positions])
        self.next_tokens = torch.cat([self.next_tokens, next_tokens])

    def keep(self, rows: list[int]) -> None:
        """Keep only `rows` (in that order); drop the left columns none of them attends to."""

        if len(rows) == self.size:
            return
        if not rows:
            self.cache = self.attention_mask = self.positions = self.next_tokens = None
            return
        mask = self.attention_mask[rows]
        start = int(mask.any(dim=0).long().argmax())  # the first column some row attends to
        self._set_layers(
            [(keys[rows, :, start:], values[rows, :, start:]) for keys, values in self._layers()]
        )
        self.attention_mask = mask[:, start:]
        self.positions, self.next_tokens = self.positions[rows], self.next_tokens[rows]

    def step(self) -> Any:
        """One decoding step of every row: feeds each row's next token, returns the logits
        ([rows, vocabulary], float32) of the token after it. A step that raises leaves the batch
        as it was before it."""
        import torch

        mask = torch.cat([self.attention_mask, self.attention_mask.new_ones(self.size, 1)], 1)
        before = self._layers()  # a forward that fails midway has grown some layers' cache, not all
        try:
            with torch.no_grad():
                output = self.model(
                    input_ids=self.next_tokens[:, None],
                    attention_mask=mask,
                    position_ids=self.positions[:, None],
                    cache=self.cache,
                    use_cache=True,
                    logits_to_keep=1,
                )
        except BaseException:
            self._set_layers(before)
            raise
        self.attention_mask = mask
        self.cache = output.cache
        self.positions = self.positions + 1
        return output.logits[:, -1, :].float()

    def step_each(self) -> tuple[Any, dict[int, Exception]]:
        """After a failed `step`: each row's step on its own. The rows that fail alone leave the
        batch; the others are one batch again, one step further.

        Returns:
            The logits of the rows that stepped ([rows, vocabulary], float32, in their order; None
            when none did) and the error of each row that failed, by its number before the step.
        """
        import torch

        stepped: list[DecodeBatch] = []
        logits: list[Any] = []
        failures: dict[int, Exception] = {}
        for number in range(self.size):
            single = self.row(number)
            try:
                logits.append(single.step())
            except Exception as error:
                failures[number] = error
                continue
            stepped.append(single)
        self.cache = self.attention_mask = self.positions = self.next_tokens = None
        for single in stepped:
            self.join(single, [0], single.next_tokens)  # as a prefilled row joins: padded on the left
        return (torch.cat(logits) if logits else None), failures

    def row(self, number: int) -> DecodeBatch:
        """Row `number` as a batch of its own (its cache entries copied; this batch is unchanged)."""
        single = DecodeBatch(self.model)
        single.cache = copy.copy(self.cache)
        single.cache.layers = [copy.copy(layer) for layer in self.cache.layers]
        single.attention_mask, single.positions = self.attention_mask, self.positions
        single.next_tokens = self.next_tokens
        single.keep([number])
        return single

    def _layers(self) -> list[tuple[Any, Any]]:
        return [(layer.keys, layer.values) for layer in self.cache.layers]

    def _set_layers(self, layers: list[tuple[Any, Any]]) -> None:
        for layer, (keys, values) in zip(self.cache.layers, layers, strict=True):
            layer.keys, layer.values = keys, values
