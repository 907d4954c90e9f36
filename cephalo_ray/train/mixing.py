"""The training stream: rows drawn from one or more inputs in proportion to their weights, with a
position (rows drawn) that a checkpoint records and a resumed run skips to.

Pure: sources are callables that start one epoch of rows (a Ray Train shard, or a list without Ray).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate
from typing import Any

RowSource = Callable[[], Iterator[dict[str, Any]]]


def weighted_choices(weights: Sequence[float], seed: int) -> Iterator[int]:
    """Endless source indices, each drawn with probability weight / sum(weights).

    Seeded and independent of the rows, so every worker draws the same sequence (Ray Data's split
    shards advance in step) and a resumed run replays it exactly.
    """
    if not weights or any(weight <= 0 for weight in weights):
        raise ValueError(f"weights must be positive, got {list(weights)}")
    bounds = list(accumulate(weights))
    generator = random.Random(seed)
    while True:
        yield min(bisect.bisect_right(bounds, generator.random() * bounds[-1]), len(bounds) - 1)


class MixedRows:
    """Rows from `sources`, each read epoch after epoch, in the order `weighted_choices` draws them.

    Attributes:
        drawn: rows taken so far (skipped ones included): the position a checkpoint records.
        drawn_per_source: the same, per source: the achieved mix.
        epochs: epochs each source has finished.
    """

    def __init__(self, sources: Sequence[RowSource], weights: Sequence[float], seed: int, skip: int = 0):
        if len(sources) != len(weights):
            raise ValueError(f"{len(sources)} sources but {len(weights)} weights")
        self.sources = list(sources)
        self.choices = weighted_choices(weights, seed)
        self.iterators: list[Iterator[dict[str, Any]] | None] = [None] * len(sources)
        self.drawn = 0
        self.drawn_per_source = [0] * len(sources)
        self.epochs = [0] * len(sources)
        for _ in range(skip):  # the rows are read (a shard only moves forward) but never decoded
            next(self)

    def __iter__(self) -> MixedRows:
        return self

    def __next__(self) -> dict[str, Any]:
        index = next(self.choices)
        row = self.next_row(index)
        self.drawn += 1
        self.drawn_per_source[index] += 1
        return row

    def next_row(self, index: int) -> dict[str, Any]:
        iterator = self.iterators[index]
        if iterator is not None:
            row = next(iterator, None)
            if row is not None:
                return row
            self.epochs[index] += 1
        self.iterators[index] = iterator = self.sources[index]()
        row = next(iterator, None)
        if row is None:
            raise ValueError(f"training input {index} has no rows on this worker: the split is empty")
        return row


def skip_for_rank(saved: dict[str, int], rank: int, world_size: int) -> int:
    """Rows this rank skips on resume: its own count from the checkpoint, or an even share of all
    rows drawn when the number of workers changed (shards differ then; the position is approximate)."""
    if len(saved) == world_size and str(rank) in saved:
        return int(saved[str(rank)])
    return sum(saved.values()) // world_size
