"""Sequence packing: several short examples in one sequence of at most `max_length` tokens, so a
micro-batch holds examples instead of padding.

Each packed example keeps its own positions (`position_ids` restart at 0) and there is no 2D
`attention_mask`: transformers then reads the example boundaries from `position_ids`, as a
block-diagonal causal mask for eager and sdpa (`masking_utils.find_packed_sequence_indices`) and as
varlen sequence lengths for flash_attention_2 (`_is_packed_sequence`, which needs a batch of one
row). So a packed micro-batch is one row: its sequences side by side, no padding. Images are
concatenated in example order, so each placeholder still receives its own image's features.

Only families whose image tensors concatenate along one axis and whose language model takes 1D
positions are packed; `packing_refusal` names why the others are not.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from cephalo_ray.train.collate import IGNORE_INDEX, PER_TOKEN_PADDING, Example

# Families whose packed sequences equal their separate examples, each checked by a test, and the axis
# their image tensors list images along: 0 (one entry per image) or 1 (Idefics: batch, images, ...).
# PaliGemma's prefix attends both ways (token_type_ids); masking_utils still cuts it at the boundaries.
IMAGE_AXIS = {"llava": 0, "llava_next": 0, "paligemma": 0, "idefics2": 1, "idefics3": 1, "smolvlm": 1}
PACKABLE_FAMILIES = tuple(IMAGE_AXIS)
REFUSED_FAMILIES = {
    "qwen2_vl": "its multimodal rope positions (3 per token, from image_grid_thw) are computed by the model "
    "per row; packed rows would need them per example",
    "qwen2_5_vl": "its multimodal rope positions (3 per token, from image_grid_thw) are computed by the "
    "model per row; packed rows would need them per example",
    "mllama": "its text attends to images by cross-attention through a per-row cross_attention_mask",
    "phi3_v": "its checkpoints run their own modelling code, which transformers' packed masks do not reach",
}
PACKABLE_ATTENTION = (None, "eager", "sdpa", "flash_attention_2")
# Examples packed together. More fill the sequences better, but a worker holds their pixels meanwhile
# (an Idefics3 figure of 17 tiles is about 27 MB in fp32).
PACKING_WINDOW = 64


def packing_refusal(model_type: str | None, attn_implementation: str | None) -> str | None:
    """Why packing would not be exact for this family and attention kernel (None: it is)."""
    if attn_implementation not in PACKABLE_ATTENTION:
        return f"attention {attn_implementation!r} does not read packed boundaries from position_ids"
    if model_type in PACKABLE_FAMILIES:
        return None
    reason = REFUSED_FAMILIES.get(
        str(model_type), "its packed sequences are not checked against separate ones"
    )
    return f"model_type {model_type}: {reason}"


def pack(lengths: Sequence[int], budget: int, seed: int = 0) -> list[list[int]]:
    """First-fit-decreasing bin packing of example lengths into bins of at most `budget` tokens.

    Args:
        lengths: tokens of each example (each at most `budget`).
        budget: most tokens in one bin.
        seed: orders the bins: first-fit-decreasing fills them longest first, and training on them in
            that order would see the longest examples together.

    Returns:
        Bins as lists of example indices (in their original order inside a bin); every index once.

    Raises:
        ValueError: an example longer than `budget`.
    """
    too_long = [index for index, length in enumerate(lengths) if length > budget]
    if too_long:
        raise ValueError(f"examples {too_long} are longer than the budget of {budget} tokens")
    order = sorted(range(len(lengths)), key=lambda index: (-lengths[index], index))
    bins: list[list[int]] = []
    room: list[int] = []
    for index in order:
        slot = next((place for place, left in enumerate(room) if left >= lengths[index]), None)
        if slot is None:
            bins.append([index])
            room.append(budget - lengths[index])
        else:
            bins[slot].append(index)
            room[slot] -= lengths[index]
    random.Random(seed).shuffle(bins)
    return [sorted(members) for members in bins]


def packing_report(
    lengths: Sequence[int], budget: int, micro_batch_size: int = 1, window: int = PACKING_WINDOW
) -> dict[str, Any]:
    """How many sequences packing makes of these examples, packed `window` at a time as training does,
    and how much of a padded batch was padding.

    Examples over `budget` count as cut to it (what `overflow` does to them, either way they do not
    grow a bin past it).
    """
    kept = [min(length, budget) for length in lengths]
    bins = [members for at in range(0, len(kept), window) for members in pack(kept[at : at + window], budget)]
    batches = [kept[start : start + micro_batch_size] for start in range(0, len(kept), micro_batch_size)]
    padded = sum(max(batch) * len(batch) for batch in batches)
    return {
        "packed_sequences": len(bins),
        "examples_per_sequence": round(len(kept) / len(bins), 2) if bins else 0.0,
        "padding_share_unpacked": round(1 - sum(kept) / padded, 3) if padded else 0.0,
        "fill_packed": round(sum(kept) / (budget * len(bins)), 3) if bins else 0.0,
    }


def collate_packed(examples: Sequence[Example], image_axis: int = 0) -> dict[str, Any]:
    """One row of the examples side by side, for training: per-token inputs concatenated, positions
    restarting at 0 for each, no attention mask, no cache; images and other tensors concatenated in
    order along `image_axis` (`IMAGE_AXIS` of the family), zero-padded after it where they differ, as
    the processors pad a batch (tiles of another size, images of another shape).

    The first label of every example is ignored: alone it is never predicted (nothing precedes it),
    packed it would be predicted from the previous example's last token.
    """
    import torch

    batch: dict[str, Any] = {}
    for key in examples[0].inputs:
        values = [example.inputs[key] for example in examples]
        if key == "attention_mask":
            continue  # the boundaries are in position_ids; a 2D mask would hide them from transformers
        if key == "labels":
            values = [value.clone() for value in values]
            for value in values:
                value[:, 0] = IGNORE_INDEX
        if key in PER_TOKEN_PADDING:
            batch[key] = torch.cat(values, dim=1)
        elif hasattr(values[0], "shape"):
            batch[key] = torch.cat(padded_after(values, image_axis), dim=image_axis)
        else:
            batch[key] = values
    batch["position_ids"] = torch.cat(
        [torch.arange(example.length, dtype=torch.long) for example in examples]
    ).unsqueeze(0)
    # With a cache (the config's use_cache, on by default) transformers ignores packed position_ids.
    batch["use_cache"] = False
    return batch


def padded_after(tensors: Sequence[Any], axis: int) -> list[Any]:
    """Tensors zero-padded at the end of every dimension after `axis` to the largest of them."""
    import torch

    padded = []
    for tensor in tensors:
        widths: list[int] = []
        for dimension in reversed(range(axis + 1, tensor.dim())):
            widths += [0, max(other.shape[dimension] for other in tensors) - tensor.shape[dimension]]
        padded.append(torch.nn.functional.pad(tensor, widths, value=0) if any(widths) else tensor)
    return padded
