"""Near-duplicate figures across a corpus (the same figure reprinted in a review, a panel extracted
twice), found by perceptual hash so that the teacher is paid once per figure.

Each image gets a 64-bit pHash (`imagehash`); two figures are near-duplicates when their hashes
differ in at most `max_distance` bits and their aspect ratios agree within 10 %. Candidates are found
by splitting hashes into `max_distance + 1` bands: two hashes within that distance agree exactly on
at least one band, so only figures that share a band are compared (no all-pairs scan). Each group
keeps its best-captioned copy: the longest caption, then the most citing sentences.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

HASH_BITS = 64
MAX_ASPECT_RATIO_CHANGE = 0.1


@dataclass(frozen=True)
class FigurePrint:
    pair_id: str
    phash: int
    aspect_ratio: float
    caption_chars: int
    mentions: int


def figure_print(pair_id: str, image: bytes, caption: str | None, mentions: int) -> FigurePrint | None:
    """The perceptual hash and shape of one figure; None for bytes that are not an image."""
    import imagehash
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(image)) as opened:
            width, height = opened.size
            phash = int(str(imagehash.phash(opened)), 16)
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return FigurePrint(pair_id, phash, width / max(1, height), len(caption or ""), mentions)


def bands(phash: int, count: int) -> list[tuple[int, int]]:
    """`count` (band index, bits) pieces covering the 64 bits."""
    width = math.ceil(HASH_BITS / count)
    return [(index, (phash >> (index * width)) & ((1 << width) - 1)) for index in range(count)]


def near_duplicates(prints: Iterable[FigurePrint], max_distance: int) -> dict[str, str]:
    """pair_id -> the pair_id kept in its place, for every figure that is a near-duplicate of a
    better-captioned one (figures kept are not keys)."""
    items = sorted(prints, key=lambda item: item.pair_id)
    parent = list(range(len(items)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        for band in bands(item.phash, max_distance + 1):
            buckets[band].append(index)
    for members in buckets.values():
        for position, first in enumerate(members):
            for second in members[position + 1 :]:
                a, b = items[first], items[second]
                close = (a.phash ^ b.phash).bit_count() <= max_distance
                same_shape = abs(math.log(a.aspect_ratio / b.aspect_ratio)) <= MAX_ASPECT_RATIO_CHANGE
                if close and same_shape:
                    parent[root(first)] = root(second)
    groups: dict[int, list[FigurePrint]] = defaultdict(list)
    for index, item in enumerate(items):
        groups[root(index)].append(item)
    replaced: dict[str, str] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        kept = max(group, key=lambda item: (item.caption_chars, item.mentions, item.pair_id))
        replaced.update({item.pair_id: kept.pair_id for item in group if item is not kept})
    return replaced


def prints_of_batch(batch: Any) -> dict[str, list[Any]]:
    """A `map_batches` function: a pyarrow batch of pairs (pair_id, image, caption, mentions) -> their
    prints, with the hash as 16 hex digits (it does not fit a signed 64-bit column)."""
    columns = batch.to_pydict()
    prints = [
        figure_print(pair_id, image, caption, len(mentions or []))
        for pair_id, image, caption, mentions in zip(
            columns["pair_id"], columns["image"], columns["caption"], columns["mentions"], strict=True
        )
    ]
    found = [item for item in prints if item is not None]
    return {
        "pair_id": [item.pair_id for item in found],
        "phash": [f"{item.phash:016x}" for item in found],
        "aspect_ratio": [item.aspect_ratio for item in found],
        "caption_chars": [item.caption_chars for item in found],
        "mentions": [item.mentions for item in found],
    }
