from __future__ import annotations

import io

import pytest

from cephalo_ray.extract.document import Box, ExtractError, crop_dpi, extract_document, merge_tiles
from cephalo_ray.samples import bad_input, sample_paper, text_only_paper


def test_sample_paper_yields_every_figure_with_caption_and_mentions() -> None:
    paper = sample_paper(seed=4, figures=3)
    result = extract_document(paper.pdf, "s3://b/paper.pdf", dpi=100)
    pairs = result["pairs"]
    assert [(pair["page"], pair["label"]) for pair in pairs] == [
        (fig.page, fig.label) for fig in paper.figures
    ]
    for pair, figure in zip(pairs, paper.figures, strict=True):
        assert pair["caption"] == figure.caption
        assert pair["kind"] == "figure" and pair["graphics"] == "raster"
        assert pair["source"] == "s3://b/paper.pdf" and pair["doc_id"] == result["doc_id"]
        assert pair["mentions"] and all(figure.label.split()[1] in mention for mention in pair["mentions"])
        assert len(pair["pair_id"]) == 16
    assert len({pair["pair_id"] for pair in pairs}) == len(pairs)
    assert result["pages"] == max(fig.page for fig in paper.figures) and not result["repaired"]


def test_tiled_figure_is_one_figure_with_the_union_box() -> None:
    paper = sample_paper(seed=1, figures=2)
    assert paper.figures[1].tiles == 4
    pairs = extract_document(paper.pdf, "x")["pairs"]
    assert len(pairs) == 2
    x0, y0, x1, y1 = pairs[1]["bbox"]
    assert (x1 - x0) > 300 and (y1 - y0) > 190  # the full 2x2 grid, not one 180x100 tile


def test_crop_is_a_png_of_the_box_at_the_dpi() -> None:
    from PIL import Image

    pair = extract_document(sample_paper(seed=2, figures=1).pdf, "x", dpi=144)["pairs"][0]
    image = Image.open(io.BytesIO(pair["image"]))
    assert image.format == "PNG"
    assert image.size == (pair["image_width"], pair["image_height"])
    x0, y0, x1, y1 = pair["bbox"]
    assert abs(pair["image_width"] - (x1 - x0) * 2) <= 2 and abs(pair["image_height"] - (y1 - y0) * 2) <= 2


def test_crop_pixel_cap_lowers_the_dpi() -> None:
    pair = extract_document(sample_paper(seed=2, figures=1).pdf, "x", dpi=300, max_crop_pixels=10_000)[
        "pairs"
    ][0]
    assert pair["image_width"] * pair["image_height"] <= 10_000 * 1.05
    assert crop_dpi(Box(0, 0, 72, 72), 300, 10**9) == 300


def test_results_are_deterministic() -> None:
    pdf = sample_paper(seed=3, figures=2).pdf
    first, second = extract_document(pdf, "x"), extract_document(pdf, "x")
    assert [pair["pair_id"] for pair in first["pairs"]] == [pair["pair_id"] for pair in second["pairs"]]
    assert [pair["image"] for pair in first["pairs"]] == [pair["image"] for pair in second["pairs"]]


def test_text_only_paper_has_zero_pairs() -> None:
    result = extract_document(text_only_paper(1), "x")
    assert result["pairs"] == [] and result["pages"] == 1


@pytest.mark.parametrize(
    ("kind", "error", "reason"),
    [
        ("corrupt", "Corrupt", "cannot be parsed"),
        ("empty", "Empty", "0 bytes"),
        ("html", "NotPDF", "%PDF-"),
        ("encrypted", "Encrypted", "password"),
    ],
)
def test_unusable_inputs_raise_their_kind(kind: str, error: str, reason: str) -> None:
    with pytest.raises(ExtractError) as raised:
        extract_document(bad_input(kind), "x")
    assert raised.value.kind == error and reason in raised.value.message


def test_repaired_and_owner_password_documents_are_processed() -> None:
    repaired = extract_document(bad_input("truncated"), "x")
    assert repaired["repaired"] and repaired["pages"] == 1
    owner_only = extract_document(bad_input("owner_only"), "x")
    assert len(owner_only["pairs"]) == 1 and not owner_only["repaired"]


def test_page_cap_is_too_large() -> None:
    with pytest.raises(ExtractError) as raised:
        extract_document(sample_paper(seed=0, figures=4).pdf, "x", max_pages=1)
    assert raised.value.kind == "TooLarge" and "limits.max_pages" in raised.value.message


def test_merge_tiles_joins_touching_boxes_only() -> None:
    boxes = [Box(0, 0, 10, 10), Box(10, 0, 20, 10), Box(0, 10, 20, 20), Box(100, 100, 110, 110)]
    assert merge_tiles(boxes, gap=1.0) == [Box(0, 0, 20, 20), Box(100, 100, 110, 110)]


def test_a_figure_placed_with_white_paper_round_it_is_boxed_to_what_prints() -> None:
    import pymupdf
    from PIL import Image

    canvas = Image.new("RGB", (400, 200), "white")
    canvas.paste((20, 40, 160), (100, 40, 300, 160))  # the drawing itself: 100..300 x 40..160 px
    png = io.BytesIO()
    canvas.save(png, format="PNG")
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_image(pymupdf.Rect(100, 100, 300, 200), stream=png.getvalue())  # 0.5 pt a pixel
    page.insert_text((100, 220), "Figure 1. A blue slab on white paper.", fontsize=9)
    page.insert_text((72, 300), "Body text of the paper goes on here, " * 2, fontsize=10)
    (pair,) = extract_document(doc.tobytes(), "paper.pdf", dpi=144)["pairs"]
    assert pair["bbox"] == pytest.approx([150.0, 120.0, 250.0, 180.0], abs=1.0)
    assert (pair["image_width"], pair["image_height"]) == pytest.approx((200, 120), abs=3)


@pytest.mark.parametrize(("fill", "panel_kept"), [((0.92, 0.92, 0.93), False), ((0.3, 0.5, 0.7), True)])
def test_a_light_panel_laid_under_a_picture_is_no_ink_of_it(
    fill: tuple[float, ...], panel_kept: bool
) -> None:
    import pymupdf
    from PIL import Image

    from cephalo_ray.extract.document import read_page

    # Thieme lays a light grey panel under each figure; a dark one is part of the drawing
    png = io.BytesIO()
    Image.new("RGB", (200, 100), (20, 40, 160)).save(png, format="PNG")
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.draw_rect(pymupdf.Rect(42, 52, 538, 700), color=None, fill=fill)
    page.insert_image(pymupdf.Rect(100, 63, 480, 370), stream=png.getvalue())
    graphics = read_page(page).graphics
    panels = [graphic for graphic in graphics if graphic.kind == "path" and graphic.box.width > 450]
    assert bool(panels) == panel_kept
    assert any(graphic.kind == "image" for graphic in graphics)
