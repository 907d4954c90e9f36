"""Near-duplicate figures by perceptual hash: reprints found, different figures kept apart."""

from __future__ import annotations

import io
import random

from PIL import Image

from cephalo_ray.refine.dedup import FigurePrint, figure_print, near_duplicates
from tests.helpers.media import chart


def encoded(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_a_figure_reprinted_smaller_and_recompressed_is_a_duplicate_of_the_best_captioned_copy() -> None:
    original = chart(1)
    prints = [
        figure_print("paper-a/fig2", encoded(original), "Figure 2. Stress-strain curves of silk.", 1),
        figure_print(
            "review/fig7",
            encoded(original.resize((300, 225)), "JPEG", quality=70),
            "Fig. 7 Stress-strain curves of dragline silk at 20 °C, reproduced from ref. 12.",
            2,
        ),
        figure_print("paper-b/fig1", encoded(chart(2)), "Figure 1. Another chart.", 0),
        figure_print("paper-c/fig3", encoded(chart(3)), "Figure 3. A third chart.", 0),
    ]
    assert all(item is not None for item in prints)
    duplicates = near_duplicates([item for item in prints if item], max_distance=4)
    assert duplicates == {"paper-a/fig2": "review/fig7"}  # the longer caption is kept


def test_different_figures_and_other_shapes_are_not_duplicates() -> None:
    prints = [figure_print(f"fig-{seed}", encoded(chart(seed)), "Figure.", 0) for seed in range(30)]
    assert near_duplicates([item for item in prints if item], max_distance=4) == {}
    # the same hash but a different aspect ratio (a strip versus a square) is not a reprint
    same_hash = [FigurePrint("wide", 0xABCD, 4.0, 10, 0), FigurePrint("square", 0xABCD, 1.0, 20, 0)]
    assert near_duplicates(same_hash, max_distance=4) == {}


def test_groups_are_transitive_and_the_band_search_finds_every_pair_within_the_distance() -> None:
    rng = random.Random(0)
    base = rng.getrandbits(64)
    flipped = [base ^ (1 << bit) for bit in rng.sample(range(64), 3)]  # each 1 bit from base
    prints = [FigurePrint(f"p{index}", value, 1.5, index, 0) for index, value in enumerate([base, *flipped])]
    prints.append(FigurePrint("far", base ^ ((1 << 40) - 1), 1.5, 99, 0))
    duplicates = near_duplicates(prints, max_distance=2)
    assert set(duplicates) == {"p0", "p1", "p2"} and set(duplicates.values()) == {"p3"}
    # the banded search misses no pair within the distance: 40 random hashes, 4 noisy copies each
    values = []
    for family in range(40):
        origin = rng.getrandbits(64)
        for copy in range(4):
            noisy = origin
            for bit in rng.sample(range(64), rng.randint(0, 5)):
                noisy ^= 1 << bit
            values.append(FigurePrint(f"f{family}-{copy}", noisy, 1.0, copy, 0))
    found = near_duplicates(values, max_distance=3)
    close = [
        (a.pair_id, b.pair_id)
        for a in values
        for b in values
        if a.pair_id < b.pair_id and (a.phash ^ b.phash).bit_count() <= 3
    ]
    assert len(close) > 40  # the check below is not vacuous
    for a, b in close:
        assert found.get(a, a) == found.get(b, b), (a, b)


def test_bytes_that_are_not_an_image_have_no_print() -> None:
    assert figure_print("x", b"not an image", "Figure 1.", 0) is None
