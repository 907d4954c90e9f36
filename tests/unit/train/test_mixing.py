"""The training stream: inputs mixed by weight, deterministically, and skipped to a saved position."""

from __future__ import annotations

from collections import Counter
from itertools import islice

import pytest

from cephalo_ray.train.mixing import MixedRows, skip_for_rank, weighted_choices


def source(name: str, count: int):  # type: ignore[no-untyped-def]
    return lambda: iter([{"pair_id": f"{name}-{index}"} for index in range(count)])


def test_two_inputs_weighted_three_to_one_are_drawn_in_that_proportion() -> None:
    stream = MixedRows([source("a", 7), source("b", 3)], [0.75, 0.25], seed=11)
    drawn = [row["pair_id"][0] for row in islice(stream, 4000)]
    share_a = Counter(drawn)["a"] / len(drawn)
    assert abs(share_a - 0.75) < 0.02  # binomial sd at n=4000 is 0.007
    assert stream.drawn_per_source == [Counter(drawn)["a"], Counter(drawn)["b"]]
    assert min(stream.epochs) > 100  # each input is read epoch after epoch, at its own pace


def test_the_mix_is_seeded_and_weights_need_not_sum_to_one() -> None:
    first = list(islice(weighted_choices([3, 1], seed=5), 200))
    assert first == list(islice(weighted_choices([0.75, 0.25], seed=5), 200))
    assert first != list(islice(weighted_choices([3, 1], seed=6), 200))
    assert set(islice(weighted_choices([1.0], seed=0), 50)) == {0}
    with pytest.raises(ValueError, match="weights must be positive"):
        next(weighted_choices([1.0, 0.0], seed=0))


def test_a_stream_that_skips_its_position_continues_the_uninterrupted_one() -> None:
    sources = [source("a", 5), source("b", 2)]
    whole = [row["pair_id"] for row in islice(MixedRows(sources, [2, 1], seed=3), 40)]
    resumed = MixedRows(sources, [2, 1], seed=3, skip=17)
    assert [row["pair_id"] for row in islice(resumed, 23)] == whole[17:]
    assert resumed.drawn == 40 and sum(resumed.drawn_per_source) == 40


def test_an_empty_input_is_named() -> None:
    with pytest.raises(ValueError, match="training input 1 has no rows"):
        list(islice(MixedRows([source("a", 2), source("b", 0)], [1, 1], seed=0), 10))


def test_each_rank_skips_its_own_count_or_a_share_when_the_workers_changed() -> None:
    assert skip_for_rank({"0": 8, "1": 6}, rank=1, world_size=2) == 6
    assert skip_for_rank({"0": 8, "1": 6}, rank=0, world_size=1) == 14
    assert skip_for_rank({}, rank=0, world_size=2) == 0
