"""The synthetic paper generator: valid PDFs, gold the gold checker accepts, every feature tag, and
boxes and captions that agree with what the PDF itself holds."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from bench.gold import check_gold
from bench.synthetic_papers import generate_paper, write_synthetic_set
from cephalo_ray.extract.gold import normalize_caption


def test_written_papers_pass_the_gold_checker(tmp_path: Path) -> None:
    paths = write_synthetic_set(tmp_path, 6, start_seed=2)
    assert [p.name for p in paths] == [f"synthetic-{seed:04d}.pdf" for seed in range(2, 8)]
    for path in paths:
        data, errors = check_gold.check_file(str(path.with_suffix(".json")), str(tmp_path))
        assert errors == [], (path.name, errors)
        assert 3 <= data["pages"] <= 8 and 2 <= len(data["items"]) <= 6
        assert pymupdf.open(path).page_count == data["pages"]


def test_twenty_seeds_cover_every_feature_tag() -> None:
    seen = {
        tag for seed in range(20) for item in generate_paper(seed)[1]["items"] for tag in item["features"]
    }
    assert seen == check_gold.FEATURES


def test_generation_is_deterministic_by_seed() -> None:
    assert generate_paper(11) == generate_paper(11)
    assert generate_paper(11)[0] != generate_paper(12)[0]


def page_objects(page: pymupdf.Page) -> list[pymupdf.Rect]:
    """Boxes of every text span, path and image on the page, less a page-sized background."""
    spans = [
        pymupdf.Rect(span["bbox"])
        for block in page.get_text("dict")["blocks"]
        for line in block.get("lines", [])
        for span in line["spans"]
        if span["text"].strip()
    ]
    images = [pymupdf.Rect(info["bbox"]) for info in page.get_image_info()]
    images = [r for r in images if r.width < 0.9 * page.rect.width]
    return spans + images + [drawing["rect"] for drawing in page.get_drawings()]


@pytest.mark.parametrize("seed", [3, 6, 11, 15, 16, 19])
def test_gold_boxes_are_the_drawn_extent_and_captions_the_text_layer(seed: int) -> None:
    pdf, gold = generate_paper(seed)
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    for item in gold["items"]:
        box = pymupdf.Rect(item["box"])
        near = box + (-1, -1, 1, 1)
        touching = [
            r for r in page_objects(doc[item["page"] - 1]) if near.intersects(r) or near.contains(r.tl)
        ]
        union = (
            min(r.x0 for r in touching),
            min(r.y0 for r in touching),
            max(r.x1 for r in touching),
            max(r.y1 for r in touching),
        )
        assert union == pytest.approx(tuple(box), abs=1.0), item["label"]
        if "caption-next-column" not in item["features"]:  # a split caption's box holds only its start
            page = doc[item.get("caption_page", item["page"]) - 1]
            text = page.get_textbox(pymupdf.Rect(item["caption_box"]) + (-0.5, -0.5, 0.5, 0.5))
            assert normalize_caption(text) == normalize_caption(item["caption"]), item["label"]
