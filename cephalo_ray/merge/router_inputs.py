"""What router fitting keeps of the router inputs it sees: bounded, whatever the number of prompts.

Every token of every prompt passes through every layer's router, so keeping them all costs
prompts x tokens x layers x hidden floats (about 63 GB for an 8B model and 300 image prompts).
Per layer and expert this keeps instead:
- the sum of the unit-normalised inputs and their count, which is all the `mean` fit needs (exact);
- a uniform sample of at most `max_tokens_per_expert` inputs (reservoir sampling, seeded), which the
  `logistic` fit is trained on and both fits' accuracy is measured on. Below the cap it holds every
  token, so small fits are unchanged.
The tokens of an expert's negative prompts (those it should not be chosen for) are kept the same way,
beside its own, so an expert with negatives holds at most twice the cap.
"""

from __future__ import annotations

from typing import Any


class ReservoirSample:
    """At most `capacity` rows of a stream of row batches, every row seen equally likely to be kept
    (Vitter's algorithm R), reproducible from `seed` and the order of the batches."""

    def __init__(self, capacity: int, seed: int) -> None:
        import torch

        if capacity < 1:
            raise ValueError(f"a reservoir needs room for at least 1 row, got {capacity}")
        self.capacity = capacity
        self.seen = 0
        self._rows: Any = None
        self._generator = torch.Generator().manual_seed(seed)

    def add(self, rows: Any) -> None:
        import torch

        rows = rows.detach().float().cpu()
        if self._rows is None:
            self._rows = torch.empty(self.capacity, rows.shape[-1])
        filled = min(self.seen, self.capacity)
        room = min(self.capacity - filled, len(rows))
        self._rows[filled : filled + room] = rows[:room]
        later = rows[room:]
        if len(later):
            # row number n (0-based, of the whole stream) replaces slot j ~ U{0..n} when j < capacity
            numbers = torch.arange(self.seen + room, self.seen + len(rows), dtype=torch.float64)
            slots = (
                torch.rand(len(later), generator=self._generator, dtype=torch.float64) * (numbers + 1)
            ).long()
            for row, slot in zip(
                later[slots < self.capacity], slots[slots < self.capacity].tolist(), strict=True
            ):
                self._rows[slot] = row  # in stream order, so a later row wins a slot drawn twice
        self.seen += len(rows)

    @property
    def rows(self) -> Any:
        """The kept rows (kept x hidden); empty before any row was added."""
        import torch

        if self._rows is None:
            return torch.empty(0, 0)
        return self._rows[: min(self.seen, self.capacity)]


class TokenStatistics:
    """Per expert, the running sum of the unit-normalised inputs, their count and a bounded sample."""

    def __init__(self, max_tokens_per_expert: int, seeds: list[int]) -> None:
        self.samples = [ReservoirSample(max_tokens_per_expert, seed) for seed in seeds]
        self.unit_sums: list[Any] = [None] * len(seeds)
        self.counts = [0] * len(seeds)

    def add(self, expert: int, inputs: Any) -> None:
        import torch

        inputs = inputs.detach().float().cpu()
        # float64 sums: a million tokens added one batch at a time lose nothing a float32 mean keeps
        unit_sum = torch.nn.functional.normalize(inputs, dim=-1).double().sum(0)
        previous = self.unit_sums[expert]
        self.unit_sums[expert] = unit_sum if previous is None else previous + unit_sum
        self.counts[expert] += len(inputs)
        self.samples[expert].add(inputs)

    def mean(self, expert: int) -> Any:
        """The mean unit input of `expert` (float64), or None when it has no tokens."""
        return None if self.counts[expert] == 0 else self.unit_sums[expert] / self.counts[expert]


class LayerRouterInputs:
    """One layer's router inputs, per expert: running sums for the `mean` fit and a bounded sample,
    of the tokens the expert should take and, apart, of those it should not (negative prompts)."""

    def __init__(self, experts: int, max_tokens_per_expert: int, seed: int) -> None:
        self.positive = TokenStatistics(
            max_tokens_per_expert, [seed * 1009 + expert for expert in range(experts)]
        )
        self.negative = TokenStatistics(
            max_tokens_per_expert, [seed * 1009 + 500_009 + expert for expert in range(experts)]
        )

    def add(self, expert: int, inputs: Any) -> None:
        """Tokens (tokens x hidden) that should be routed to `expert`."""
        self.positive.add(expert, inputs)

    def add_negative(self, expert: int, inputs: Any) -> None:
        """Tokens (tokens x hidden) that should not be routed to `expert`."""
        self.negative.add(expert, inputs)

    def mean_router(self) -> Any:
        """The `mean` router (experts x hidden): per expert, the normalised difference of the mean
        unit input of its tokens and, when it has any, of its negative tokens, computed from every
        token seen, as `router.fit_router(all_tokens, "mean", all_negative_tokens)` would.

        Raises:
            ValueError: naming an expert that has no tokens.
        """
        import torch

        self.require_tokens()
        rows = []
        for expert in range(len(self.positive.counts)):
            row, negative = self.positive.mean(expert), self.negative.mean(expert)
            rows.append(row if negative is None else row - negative)
        return torch.nn.functional.normalize(torch.stack(rows).float(), dim=-1)

    def sampled(self) -> list[Any]:
        """Per expert, the sampled tokens (the `logistic` fit's data)."""
        self.require_tokens()
        return [sample.rows for sample in self.positive.samples]

    def sampled_negatives(self) -> list[Any]:
        """Per expert, the sampled tokens of its negative prompts (0 rows when it has none)."""
        return [sample.rows for sample in self.negative.samples]

    def require_tokens(self) -> None:
        empty = [expert for expert, count in enumerate(self.positive.counts) if count == 0]
        if empty:
            raise ValueError(f"experts {empty} have no router inputs: every expert needs prompts")

    @property
    def stored_rows(self) -> int:
        """Token rows held in memory (the running sums are one row per expert besides)."""
        return sum(len(sample.rows) for sample in self.positive.samples + self.negative.samples)
