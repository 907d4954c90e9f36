"""The demo's chart papers: extraction finds every chart and table with its caption, and the template
teacher's answers, read from those captions, are what was drawn."""

from __future__ import annotations

import io

from PIL import Image

from cephalo_ray.extract.document import extract_document
from cephalo_ray.refine.prompts import closed_qa
from cephalo_ray.samples import CHARTS, chart_paper, chart_png, table_png


def test_extracted_captions_give_the_drawn_answers() -> None:
    drawn, found = [], {}
    for seed in (1, 2):
        pdf, items = chart_paper(seed, items=6)
        drawn += [(f"paper-{seed}.pdf", item) for item in items]
        for pair in extract_document(pdf, f"paper-{seed}.pdf", dpi=72)["pairs"]:
            found[(pair["source"], pair["label"])] = pair
    assert {item.kind for _, item in drawn} == {"figure", "table"}
    for source, item in drawn:
        pair = found[(source, item.label)]
        assert (pair["kind"], pair["caption"]) == (item.kind, item.caption)
        assert abs(pair["image_width"] - pair["image_height"]) <= 2  # square: a centre crop loses nothing
        expected = {"form": item.kind}
        if item.kind == "figure":
            expected.update(chart_type=str(item.chart), panels=str(item.panels))
        assert {qa["kind"]: qa["answer"] for qa in closed_qa(pair["label"], pair["caption"])} == expected


def test_images_are_square_and_deterministic() -> None:
    for chart in CHARTS:
        for panels in (1, 2, 4):
            image = chart_png(chart, panels, seed=3)
            assert image == chart_png(chart, panels, seed=3)
            assert Image.open(io.BytesIO(image)).size == (240, 240)
    assert Image.open(io.BytesIO(table_png(5))).size == (240, 240)
    assert chart_paper(4) == chart_paper(4)  # the same bytes: the same doc_id, the same split
