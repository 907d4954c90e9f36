"""How images become tokens, and whether samples fit `max_length`: the processor's image settings as
config (resolution, tile splitting), and a report of token lengths before a run spends GPU hours.

Tiling processors (Idefics3, SmolVLM) cut the longest side into tiles plus a global view, so a wide
figure can take thousands of image tokens; their `longest_edge` and splitting are the levers.
Qwen2-VL and Qwen2.5-VL keep an image's own shape and bound its pixel count (a token per 28 x 28
pixels): `min_pixels` and `max_pixels` are theirs. Fixed-size processors (LLaVA-1.5's CLIP at 336 px,
PaliGemma's SigLIP, Mllama's 560 px tiles) have none, and asking for one is refused.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def apply_image_settings(
    processor: Any,
    longest_edge: int | None,
    split_images: bool | None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
) -> None:
    """Set the image processor's resolution and tile splitting, where it has them.

    Raises:
        ValueError: a setting this processor does not have, naming what it does instead.
    """
    image_processor = processor.image_processor
    name = type(image_processor).__name__
    if bounds_pixels(image_processor):
        if longest_edge is not None:
            raise ValueError(
                f"data.image_longest_edge: {name} keeps each image's shape and bounds its pixel count: set "
                "data.max_pixels (and data.min_pixels) instead"
            )
        size = size_fields(image_processor.size)
        low = min_pixels if min_pixels is not None else size.get("shortest_edge")
        high = max_pixels if max_pixels is not None else size.get("longest_edge")
        if low is not None and high is not None and low > high:
            raise ValueError(f"data.min_pixels {low} is above data.max_pixels {high}")
        image_processor.size = {"shortest_edge": low, "longest_edge": high}
    elif min_pixels is not None or max_pixels is not None:
        key = "data.min_pixels" if min_pixels is not None else "data.max_pixels"
        raise ValueError(
            f"{key}: {name} does not bound images by pixel count (Qwen2-VL's processors do); leave it unset"
        )
    if longest_edge is not None:
        size = size_fields(image_processor.size)
        if not size.get("longest_edge"):
            raise ValueError(
                f"data.image_longest_edge: {name} resizes to {size or 'a fixed size'}, not by its longest "
                "edge; leave data.image_longest_edge unset for this model"
            )
        image_processor.size = {"longest_edge": longest_edge}
    if split_images is not None:
        if not hasattr(image_processor, "do_image_splitting"):
            raise ValueError(
                f"data.split_images: {name} does not split images into tiles; leave data.split_images unset"
            )
        image_processor.do_image_splitting = split_images


def bounds_pixels(image_processor: Any) -> bool:
    """Qwen2-VL's processors: their `size` holds the least and most pixels of an image, not edges."""
    return hasattr(image_processor, "merge_size") and hasattr(image_processor, "temporal_patch_size")


def size_fields(size: Any) -> dict[str, Any]:
    """The set fields of an image processor's `size` (a dict, or transformers' SizeDict)."""
    if isinstance(size, Mapping):
        fields = dict(size)
    else:
        fields = {key: value for key, value in vars(size).items() if not key.startswith("_")}
    return {key: value for key, value in fields.items() if value}


def percentile(values: Sequence[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))] if ordered else 0


def length_report(lengths: Sequence[int], max_length: int, overflow: str) -> dict[str, Any]:
    """p50 / p95 / max of sample lengths in tokens, and what `max_length` does to the longer ones."""
    over = sum(1 for length in lengths if length > max_length)
    return {
        "samples": len(lengths),
        "p50_tokens": percentile(lengths, 0.5),
        "p95_tokens": percentile(lengths, 0.95),
        "max_tokens": max(lengths, default=0),
        "max_length": max_length,
        "over_max_length": over,
        "dropped" if overflow == "drop" else "truncated": over,
    }


def sample_lengths(
    rows: Iterable[Mapping[str, Any]], processor: Any, task: str, caption_prompt: str
) -> list[int]:
    """Token lengths (text and image tokens) of rows as training would build them, untruncated."""
    from PIL import Image

    from cephalo_ray.train.collate import encode, llava_to_messages

    lengths = []
    for row in rows:
        image = Image.open(io.BytesIO(row["image"])).convert("RGB")
        if task == "captions":
            turns = [
                {"from": "human", "value": f"<image>\n{caption_prompt}"},
                {"from": "gpt", "value": row["orig_caption"] or ""},
            ]
        else:
            turns = row["conversations"]
        encoded = encode(processor, llava_to_messages(turns), [image])
        lengths.append(int(encoded["input_ids"].shape[1]))
    return lengths
