"""Figure and table regions on pages drawn here: vector plots, panels, tables, caption placements."""

from __future__ import annotations

from typing import Any

import pymupdf
import pytest

from cephalo_ray.extract.caption_blocks import find_captions
from cephalo_ray.extract.document import extract_document
from cephalo_ray.extract.geometry import Box, Graphic, TextLine, TextStats
from cephalo_ray.extract.page_text import join_row_pieces, text_stats

BODY = (
    "The measured response of the lattice follows the model closely over the whole range of loads, "
    "and the deviations stay within the uncertainty of the instrument in every run we made."
)


def paragraph(page: Any, x0: float, y0: float, x1: float, lines: int = 6) -> float:
    """Body prose in 10 pt; returns the y below it."""
    rect = pymupdf.Rect(x0, y0, x1, y0 + lines * 12.5)
    page.insert_textbox(rect, " ".join([BODY] * 3), fontsize=10, fontname="tiro")
    return rect.y1


def prose_pages(
    doc: Any,
    count: int,
    *,
    size: tuple[float, float],
    columns: tuple[tuple[float, float], ...],
    top: float,
    bottom: float,
    repeats: int,
    fontsize: float = 10,
    fontname: str = "tiro",
) -> None:
    """Pages of running text alone, as a paper has before its floats: they set its body size and the
    width of its columns, (left, right) each."""
    for _ in range(count):
        page = doc.new_page(width=size[0], height=size[1])
        for left, right in columns:
            page.insert_textbox(
                pymupdf.Rect(left, top, right, bottom),
                " ".join([BODY] * repeats),
                fontsize=fontsize,
                fontname=fontname,
            )


def vector_plot(page: Any, rect: pymupdf.Rect, title: str = "") -> None:
    """Axes, ticks, a polyline and its labels as real text, like a plotting library writes them."""
    axes = pymupdf.Rect(rect.x0 + 28, rect.y0 + 14, rect.x1 - 4, rect.y1 - 22)
    page.draw_line(axes.bl, axes.br, width=0.8)
    page.draw_line(axes.bl, axes.tl, width=0.8)
    for step in range(5):
        x = axes.x0 + step * axes.width / 4
        page.draw_line((x, axes.y1), (x, axes.y1 + 3), width=0.5)
        page.insert_text((x - 3, axes.y1 + 11), str(step * 5), fontsize=6, fontname="helv")
        y = axes.y1 - step * axes.height / 4
        page.draw_line((axes.x0 - 3, y), (axes.x0, y), width=0.5)
        page.insert_text((axes.x0 - 14, y + 2), f"{step / 4:.1f}", fontsize=6, fontname="helv")
    points = [(axes.x0 + i * axes.width / 10, axes.y1 - (i % 4 + 1) * axes.height / 5) for i in range(11)]
    page.draw_polyline(points, color=(0, 0, 1), width=1)
    page.insert_text((axes.x0 + axes.width / 2 - 12, rect.y1 - 2), "strain (%)", fontsize=7, fontname="helv")
    if title:
        page.insert_text((axes.x0 + 4, rect.y0 + 9), title, fontsize=7, fontname="helv")


def booktabs_table(page: Any, x0: float, y0: float, x1: float, rows: int = 4) -> float:
    """Top, header and bottom rules with cells between; returns the bottom rule's y."""
    page.draw_line((x0, y0), (x1, y0), width=0.8)
    y = y0 + 11
    for column, name in enumerate(("Sample", "E (GPa)", "σ (MPa)", "ε (%)")):
        page.insert_text((x0 + 4 + column * (x1 - x0) / 4, y), name, fontsize=8, fontname="tiro")
    page.draw_line((x0, y + 3), (x1, y + 3), width=0.5)
    for row in range(rows):
        y += 11
        for column in range(4):
            text = f"S{row + 1}" if column == 0 else f"{(row + 1) * (column + 2) * 1.7:.1f}"
            page.insert_text((x0 + 4 + column * (x1 - x0) / 4, y), text, fontsize=8, fontname="tiro")
    bottom = y + 4
    page.draw_line((x0, bottom), (x1, bottom), width=0.8)
    return bottom


def extract(doc: Any) -> list[dict[str, Any]]:
    return extract_document(doc.tobytes(), "test.pdf", dpi=72)["pairs"]


def iou(a: list[float], b: tuple[float, float, float, float]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_vector_plot_box_holds_its_text_labels_and_pairs_with_the_caption_below() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    y = paragraph(page, 72, 72, 540)
    plot = pymupdf.Rect(150, y + 20, 450, y + 220)
    vector_plot(page, plot, title="Tensile test")
    page.insert_textbox(
        pymupdf.Rect(72, plot.y1 + 10, 540, plot.y1 + 40),
        "Fig. 2: Stress against strain for the annealed samples.",
        fontsize=9,
        fontname="tiro",
    )
    paragraph(page, 72, plot.y1 + 50, 540)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 2" and pair["kind"] == "figure" and pair["graphics"] == "vector"
    assert pair["caption"] == "Fig. 2: Stress against strain for the annealed samples."
    # tick numbers to the left of the axes and the axis title under them are inside the box
    assert pair["bbox"][0] <= plot.x0 + 16 and pair["bbox"][3] >= plot.y1 - 4
    assert iou(pair["bbox"], tuple(plot)) > 0.8


def test_multi_panel_figure_is_one_item_with_the_union_box() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    panels = [
        pymupdf.Rect(72 + col * 240, 90 + row * 170, 292 + col * 240, 240 + row * 170)
        for row in range(2)
        for col in range(2)
    ]
    for letter, rect in zip("abcd", panels, strict=True):
        vector_plot(page, rect)
        page.insert_text((rect.x0, rect.y0 + 8), f"({letter})", fontsize=8, fontname="hebo")
    page.insert_text((72, 440), "Figure 1. Four loading cases: (a) to (d).", fontsize=9, fontname="tiro")
    paragraph(page, 72, 460, 540)
    (pair,) = extract(doc)
    union = (panels[0].x0, panels[0].y0, panels[3].x1, panels[3].y1)
    assert pair["label"] == "Figure 1" and iou(pair["bbox"], union) > 0.85


def test_table_with_caption_above_runs_from_top_to_bottom_rule() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    y = paragraph(page, 72, 72, 540)
    page.insert_text((72, y + 24), "TABLE IV", fontsize=9, fontname="tibo")
    page.insert_text((72, y + 36), "Mechanical properties of the samples", fontsize=9, fontname="tiro")
    top = y + 44
    bottom = booktabs_table(page, 72, top, 540)
    paragraph(page, 72, bottom + 20, 540)
    (pair,) = extract(doc)
    assert pair["kind"] == "table" and pair["label"] == "Table 4"
    assert pair["caption"] == "TABLE IV Mechanical properties of the samples"
    assert abs(pair["bbox"][1] - top) < 3 and abs(pair["bbox"][3] - bottom) < 3


def test_caption_beside_its_figure_in_the_narrow_column() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_textbox(
        pymupdf.Rect(40, 80, 200, 200),
        "Figure 3 | Grain growth during annealing. The mean grain size rises with time at every temperature we tried.",
        fontsize=8,
        fontname="tiro",
    )
    plot = pymupdf.Rect(220, 80, 560, 300)
    vector_plot(page, plot)
    paragraph(page, 40, 330, 560)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 3" and pair["caption"].startswith("Figure 3 | Grain growth")
    assert iou(pair["bbox"], tuple(plot)) > 0.8


def test_two_column_page_pairs_each_figure_with_the_caption_of_its_column() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    for column, (x0, x1) in enumerate(((50, 296), (316, 562))):
        paragraph(page, x0, 60, x1, lines=8)
        plot = pymupdf.Rect(x0, 170, x1, 330)
        vector_plot(page, plot)
        page.insert_textbox(
            pymupdf.Rect(x0, 340, x1, 380),
            f"Figure {column + 1}. Column {column + 1} result.",
            fontsize=8,
            fontname="tiro",
        )
        paragraph(page, x0, 390, x1, lines=12)
    pairs = extract(doc)
    assert [pair["label"] for pair in pairs] == ["Figure 1", "Figure 2"]
    assert pairs[0]["bbox"][2] < 300 and pairs[1]["bbox"][0] > 310


def test_body_text_citing_a_figure_is_neither_caption_nor_mention_loss() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_textbox(
        pymupdf.Rect(72, 72, 540, 120),
        "Figure 1 shows the plot below. The trend is clear in Figs. 1 and 2.",
        fontsize=10,
        fontname="tiro",
    )
    plot = pymupdf.Rect(150, 140, 450, 320)
    vector_plot(page, plot)
    page.insert_text((72, 340), "Figure 1: Load history.", fontsize=9, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 1: Load history."
    assert pair["mentions"] == ["Figure 1 shows the plot below.", "The trend is clear in Figs. 1 and 2."]


def test_header_logo_and_uncaptioned_ornaments_are_not_figures() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 40, 40), False)
    pixmap.set_rect(pixmap.irect, (200, 30, 30))
    page.insert_image(pymupdf.Rect(72, 20, 110, 40), pixmap=pixmap)  # a header logo
    page.insert_text((120, 34), "Journal of Materials", fontsize=8)
    paragraph(page, 72, 72, 540)
    page.draw_rect(pymupdf.Rect(72, 200, 540, 260), color=(0.5, 0.5, 0.5))  # a framed box, no caption
    assert extract(doc) == []


def test_label_split_over_pieces_is_joined() -> None:
    lines = [
        TextLine(Box(100, 100, 124, 110), "Table", 9, True, 0),
        TextLine(Box(128, 100, 136, 110), "1.", 9, True, 0),
        TextLine(Box(146, 100, 400, 110), "Results on the test set", 9, False, 0),
        TextLine(Box(100, 111, 300, 121), "for every model.", 9, False, 0),
    ]
    joined = join_row_pieces(lines)
    assert joined[0].text.startswith("Table 1.")
    (caption,) = find_captions(joined)
    assert caption.label.label == "Table 1" and caption.text.endswith("for every model.")


@pytest.mark.parametrize(
    ("sizes", "body"),
    [([10.0] * 20 + [8.0] * 5, 10.0), ([9.0] * 3 + [11.0] * 30, 11.0)],
)
def test_body_size_is_the_size_with_most_characters(sizes: list[float], body: float) -> None:
    lines = [
        TextLine(Box(0, i * 12, 200, i * 12 + 10), "x" * 40, size, False, i) for i, size in enumerate(sizes)
    ]
    assert text_stats([lines]).body_size == body


def test_caption_on_the_page_before_a_full_page_figure() -> None:
    doc = pymupdf.open()
    first = doc.new_page()
    y = paragraph(first, 72, 72, 540, lines=44)  # the caption ends the page, the figure faces it
    first.insert_text(
        (72, y + 30), "Figure 5: Phase map of the alloy family (overleaf).", fontsize=9, fontname="tiro"
    )
    second = doc.new_page()
    plot = pymupdf.Rect(72, 90, 540, 700)
    vector_plot(second, plot)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 5" and pair["page"] == 2 and pair["caption_page"] == 1
    assert iou(pair["bbox"], tuple(plot)) > 0.8


def test_caption_cut_at_the_foot_of_a_column_goes_on_in_the_next() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 50, 60, 296, lines=30)
    plot = pymupdf.Rect(50, 450, 296, 690)
    vector_plot(page, plot)
    # (ragged right: the last line at the foot ends where the next word would not have fitted)
    page.insert_text(
        (50, 705),
        "Figure 2: Hardness of the welded joint measured across the fusion",
        fontsize=8,
        fontname="tiro",
    )
    page.insert_text(
        (50, 715),
        "zone and the heat affected zone of the plate on both sides of the",
        fontsize=8,
        fontname="tiro",
    )
    page.insert_text((316, 66), "neighbouring seams.", fontsize=8, fontname="tiro")
    paragraph(page, 316, 80, 562, lines=40)
    (pair,) = extract(doc)
    assert pair["caption"] == (
        "Figure 2: Hardness of the welded joint measured across the fusion zone and the heat "
        "affected zone of the plate on both sides of the neighbouring seams."
    )


def test_detected_blocks_go_to_unpaired_captions_of_their_kind() -> None:
    from cephalo_ray.extract.across_pages import pair_detected
    from cephalo_ray.extract.captions import CaptionLabel
    from cephalo_ray.extract.geometry import Caption, Item
    from cephalo_ray.extract.regions import PageRegions

    page = Box(0, 0, 612, 792)
    figure_caption = Caption(Box(72, 400, 300, 420), CaptionLabel("figure", "Figure 2"), "Figure 2: b.", (0,))
    table_caption = Caption(Box(320, 100, 540, 110), CaptionLabel("table", "Table 1"), "Table 1: c.", (1,))
    paired = Item("figure", Box(72, 60, 300, 250), None, "vector", "below")
    regions = PageRegions([paired], [figure_caption, table_caption], [], page.area, page.height)
    detected = [
        ("figure", Box(70, 62, 302, 248)),  # the figure already found: not given twice
        ("figure", Box(80, 280, 290, 395)),  # above Figure 2's caption
        ("table", Box(320, 116, 540, 300)),  # below Table 1's caption
        ("table", Box(72, 600, 300, 700)),  # too far from any caption
    ]
    result = pair_detected(regions, detected, page)
    assert not result.unpaired_captions
    found = {item.caption.label.label: item.box for item in result.items if item.caption}
    assert found == {"Figure 2": Box(80, 280, 290, 395), "Table 1": Box(320, 116, 540, 300)}


def test_consulting_the_built_in_layout_model_keeps_what_the_geometry_found() -> None:
    pytest.importorskip("onnxruntime")
    from cephalo_ray.samples import sample_paper

    pdf = sample_paper(3, figures=2).pdf
    plain = extract_document(pdf, "x.pdf", dpi=72)["pairs"]
    consulted = extract_document(pdf, "x.pdf", dpi=72, detector="pymupdf", consult="always")["pairs"]
    assert [(p["label"], p["bbox"]) for p in consulted] == [(p["label"], p["bbox"]) for p in plain]


def test_a_journal_that_captions_tables_below_gets_each_caption_its_own_table() -> None:
    # two tables stacked on one page, each captioned below: the first caption sits between them and
    # the common habit (table captions above) would hand it the second table, losing the first
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    y = paragraph(page, 72, 60, 540, lines=6) + 14
    tables = []
    for number in (1, 2):
        top = y
        bottom = booktabs_table(page, 150, top, 462, rows=3)
        tables.append((150.0, top, 462.0, bottom))
        caption = f"Table {number}. Elastic moduli and strengths of the samples in series {number}."
        page.insert_text((150, bottom + 14), caption, fontsize=9, fontname="tiro")
        y = bottom + 24  # the next table as close to this caption as its own table is
    paragraph(page, 72, y + 6, 540, lines=6)
    pairs = extract(doc)
    found = {pair["label"]: pair for pair in pairs if pair["kind"] == "table"}
    assert set(found) == {"Table 1", "Table 2"}
    for number, box in zip((1, 2), tables, strict=True):
        assert iou(found[f"Table {number}"]["bbox"], box) > 0.8


def test_table_notes_under_the_last_rule_and_a_footer_rule_stay_out_of_the_table_box() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    y = paragraph(page, 72, 60, 540, lines=6)
    page.insert_text((150, y + 20), "Table 1. Elastic moduli of the samples.", fontsize=9, fontname="tiro")
    top = y + 28
    bottom = booktabs_table(page, 150, top, 462, rows=3)
    notes = ("a Measured at 300 K.", "b Mean of three runs; standard deviations are below 2%.")
    for number, note in enumerate(notes):
        page.insert_text((150, bottom + 10 + 8 * number), note, fontsize=6.5, fontname="tiro")
    # a footnote rule of the page right under the notes, wider than the table
    page.draw_line((60, bottom + 24), (560, bottom + 24), width=0.5)
    page.insert_text((60, bottom + 33), "1 Corresponding author.", fontsize=6.5, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["kind"] == "table"
    assert iou(pair["bbox"], (150.0, top, 462.0, bottom)) > 0.9


def test_text_only_figures_side_by_side_stay_apart() -> None:
    # two code listings, one in each column at the same height, with lines that do not share rows:
    # the gutter between them is narrower than the gap between a table's columns
    doc = pymupdf.open()
    page = doc.new_page()
    code = [
        "def step(state, batch, lr):  # one optimiser step.",
        "    grad = gradient(loss, state, batch)",
        "    state = state - lr * grad  # plain SGD",
        "    return state, norm(grad)",
    ]
    for column, (x0, x1, leading) in enumerate(((50, 296, 10.0), (314, 560, 11.5))):
        paragraph(page, x0, 60, x1, lines=8)
        top = 175.0 + 3 * column
        for row, line in enumerate(code):
            page.insert_text((x0, top + row * leading), line, fontsize=8, fontname="cour")
        bottom = top + (len(code) - 1) * leading + 3
        page.insert_text((x0, bottom + 16), f"Listing {column + 1}: The update step.", fontsize=9)
        paragraph(page, x0, bottom + 30, x1, lines=12)
    pairs = extract(doc)
    assert [pair["label"] for pair in pairs] == ["Listing 1", "Listing 2"]
    assert pairs[0]["bbox"][2] < 300 and pairs[1]["bbox"][0] > 305


def test_a_caption_ends_with_its_paragraph_not_in_the_body_text_after_it() -> None:
    # caption and body in one font and one text block: the caption's short last line ends it
    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 72, 60, 540)
    vector_plot(page, pymupdf.Rect(150, 150, 450, 330))
    caption = (
        "Figure 1. Load against strain for the three lattices we printed, each tested five times "
        "under the same rate of loading. Bars are one standard deviation."
    )
    page.insert_textbox(
        pymupdf.Rect(72, 340, 540, 480), caption + "\n" + BODY + " " + BODY, fontsize=10, fontname="tiro"
    )
    (pair,) = extract(doc)
    assert pair["caption"] == caption


def test_a_double_spaced_manuscript_keeps_every_line_of_its_captions() -> None:
    doc = pymupdf.open()
    page = doc.new_page()

    def double_spaced(y: float) -> None:
        rect = pymupdf.Rect(72, y, 540, y + 130)
        page.insert_textbox(rect, BODY, fontsize=12, fontname="tiro", lineheight=2.4)

    double_spaced(60)
    vector_plot(page, pymupdf.Rect(150, 200, 450, 380))
    caption = (
        "Figure 1: Energy residual error to the training set data broken down by bulk,",
        "surface and cluster geometries.",
    )
    for row, text in enumerate(caption):
        page.insert_text((72, 410 + 28 * row), text, fontsize=12, fontname="tiro")
    double_spaced(480)
    (pair,) = extract(doc)
    assert pair["caption"] == " ".join(caption)


def test_a_caption_in_one_text_block_with_the_sub_captions_above_it_is_found() -> None:
    def line(box: tuple[float, float, float, float], text: str) -> TextLine:
        return TextLine(Box(*box), text, 8.0, False, 1)

    lines = [
        line((66, 575, 155, 582), "(a) Dual variable dynamics"),
        line((200, 575, 277, 582), "(b) Line flow dynamics"),
        line((49, 585, 300, 593), "Figure 2. System dynamics after the failure of line (4, 14). The"),
        line((49, 594, 207, 601), "controller only reduces generation."),
    ]
    (caption,) = find_captions(lines)
    assert caption.label.label == "Figure 2" and caption.text.endswith("only reduces generation.")


def test_a_frame_round_a_figure_and_its_caption_does_not_swallow_the_caption() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 72, 60, 540)
    vector_plot(page, pymupdf.Rect(90, 150, 520, 330))
    page.insert_text((80, 345), "Figure 3 Estimated probabilities of sharing one allele.", fontsize=8)
    # the frame's four sides drawn one by one, as some journals typeset it
    for start, end in (
        ((76, 142), (534, 142)),
        ((534, 142), (534, 352)),
        ((76, 352), (534, 352)),
        ((76, 142), (76, 352)),
    ):
        page.draw_line(start, end, width=0.6, color=(0.2, 0.2, 0.2))
    paragraph(page, 72, 370, 540)
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 3 Estimated probabilities of sharing one allele."
    assert pair["bbox"][3] < 340


def test_the_sides_of_a_frame_of_raster_bars_round_a_caption_are_no_graphics() -> None:
    from cephalo_ray.extract.clusters import visible_graphics

    # AJPH: a thin frame drawn as stretched one-pixel images round caption, table and source
    lines = [
        TextLine(
            Box(327, 618.6, 540.3, 626.1),
            "TABLE 1\u2014Gross Death Rates per 100000 From Major Chronic",
            9.0,
            True,
            12,
        ),
        TextLine(Box(327, 630.6, 454.7, 638.1), "Diseases: United States, 1900\u20132000", 9.0, True, 12),
        TextLine(Box(327, 667.3, 363.9, 674.0), "Heart Disease", 8.0, False, 13),
        TextLine(Box(432.6, 667.3, 442.8, 674.0), "137", 8.0, False, 14),
    ]
    top, bottom = (
        Graphic(Box(314.0, 609.1, 566.5, 609.6), "image"),
        Graphic(Box(314.0, 725.5, 566.5, 726.0), "image"),
    )
    sides = [
        Graphic(Box(313.5, 609.6, 314.2, 725.5), "image"),
        Graphic(Box(566.5, 609.6, 567.2, 725.5), "image"),
    ]
    rule = Graphic(Box(327.0, 640.5, 553.5, 641.1), "path")
    kept, _ = visible_graphics(
        [top, *sides, bottom, rule], lines, Box(0, 0, 612, 792), TextStats(8.5, 117.0, 3.5)
    )
    assert kept == [top, bottom, rule]


def test_a_picture_whose_foot_runs_into_its_captions_first_line_is_still_its_figure() -> None:
    # an EAGE extended abstract: the raster's foot reaches 6 pt into a label line made tall by the
    # formulae in it
    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 72, 40, 526, lines=2)
    picture = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 40, 20), False)
    for x in range(40):
        for y in range(20):
            picture.set_pixel(x, y, (6 * x, 10 * y, 120))
    caption = "Figure 4 Application to real FTG data. (a) Component data used in the preliminary inversion."
    page.insert_text((72, 279), caption, fontsize=11, fontname="hebo")
    (label_line,) = [line for line in page.get_text("dict")["blocks"][-1]["lines"]]
    top = label_line["bbox"][1]
    page.insert_image(pymupdf.Rect(83, 77, 514, top + 5), pixmap=picture)
    page.insert_text((72, 293), "(b) Measured data and data predicted by the inversion.", fontsize=11)
    paragraph(page, 72, 320, 526, lines=20)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 4" and pair["bbox"][1] < 80


def test_a_caption_goes_on_past_a_line_of_the_other_column_sorted_between_its_lines() -> None:
    lines = [
        TextLine(Box(334, 71, 542, 81), "Table 1: Summary of techniques used in Dynamo and", 9.0, True, 0),
        TextLine(Box(184, 79, 214, 90), "Key K", 10.0, False, 1),  # a label inside the figure on the left
        TextLine(Box(404, 81, 472, 91), "their advantages.", 9.0, True, 2),
    ]
    (caption,) = find_captions(lines)
    assert caption.text == "Table 1: Summary of techniques used in Dynamo and their advantages."


def test_a_table_caption_stops_at_the_header_row_under_it() -> None:
    lines = [
        TextLine(
            Box(57, 560, 400, 569), "Table 1 Initial and final numbers of CpGs for each model", 9.0, True, 0
        ),
        TextLine(Box(57, 575, 90, 583), "Classes", 9.0, False, 1),
        TextLine(Box(200, 575, 260, 583), "Initial CpGs", 9.0, False, 1),
        TextLine(Box(330, 575, 380, 583), "Final CpGs", 9.0, False, 1),
    ]
    (caption,) = find_captions(lines)
    assert caption.text == "Table 1 Initial and final numbers of CpGs for each model"


def test_references_in_small_type_and_a_footer_logo_below_a_table_stay_out_of_it() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    y = paragraph(page, 72, 60, 540, lines=12)
    page.insert_text(
        (150, y + 20), "Table 4. Average values over the test networks.", fontsize=9, fontname="tiro"
    )
    top = y + 28
    bottom = booktabs_table(page, 150, top, 462, rows=3)
    reference = (
        "[{}] A. Author and B. Author, On the optimal control of cascading failures, Proc. PSCC, 2020."
    )
    rect = pymupdf.Rect(72, bottom + 25, 540, bottom + 200)
    text = " ".join(reference.format(number) for number in range(1, 6))
    page.insert_textbox(rect, text, fontsize=7.5, fontname="tiro")
    page.draw_rect(pymupdf.Rect(290, 734, 322, 762), color=(0.3, 0.3, 0.3), fill=(0.8, 0.8, 0.9))  # a logo
    (pair,) = extract(doc)
    assert pair["kind"] == "table" and abs(pair["bbox"][3] - bottom) < 3


def test_a_numbered_display_equation_above_a_figure_is_not_part_of_it() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 72, 60, 540)
    for row, text in enumerate(("E   0   0", "D  =   0   G   0", "0   0   G")):
        page.insert_text((262, 160 + 13 * row), text, fontsize=11, fontname="tiro")
    page.insert_text((500, 173), "(3.55)", fontsize=11, fontname="tiro")
    plot = pymupdf.Rect(150, 215, 450, 380)
    vector_plot(page, plot)
    page.insert_text((72, 400), "Figure 3.1: Illustration of the global and local frames.", fontsize=10)
    paragraph(page, 72, 420, 540)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 3.1" and pair["bbox"][1] >= plot.y0 - 3


def test_two_figures_side_by_side_on_a_one_column_page_keep_their_own_captions() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 72, 60, 540)
    for column, x0 in enumerate((100, 330)):
        vector_plot(page, pymupdf.Rect(x0, 150, x0 + 180, 300))
        page.insert_textbox(
            pymupdf.Rect(x0 - 20, 310, x0 + 200, 340),
            f"Figure {column + 2}: The matrix after step {column + 1}.",
            fontsize=9,
            fontname="tiro",
        )
    paragraph(page, 72, 350, 540)
    pairs = extract(doc)
    assert [pair["label"] for pair in pairs] == ["Figure 2", "Figure 3"]
    assert pairs[0]["bbox"][2] < 300 and pairs[1]["bbox"][0] > 320


def test_a_lone_rule_above_a_heading_is_not_part_of_the_figure_below() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.draw_line((72, 60), (540, 60), width=0.5)  # a running rule under the header
    page.insert_text((72, 90), "1.3 Comparison of learning algorithms", fontsize=12, fontname="tibo")
    plot = pymupdf.Rect(180, 110, 430, 250)
    vector_plot(page, plot)
    page.insert_text((72, 270), "Figure 2: The roles of space and time in the circuit model.", fontsize=10)
    paragraph(page, 72, 290, 540)
    (pair,) = extract(doc)
    assert pair["bbox"][1] >= plot.y0 - 3


def test_an_ieee_table_caption_keeps_all_its_small_caps_lines() -> None:
    lines = [
        TextLine(Box(421, 89, 454, 96), "TABLE II", 8.0, False, 2),
        TextLine(Box(315, 98, 560, 105), "COMPARISON BETWEEN THE TWO-STAGE AND RECURSIVE", 6.6, False, 2),
        TextLine(Box(345, 106, 531, 114), "APPROACH WITH k = 5 AND USING DC POWER FLOWS.", 6.7, False, 3),
    ]
    (caption,) = find_captions(lines)
    assert caption.text.endswith("USING DC POWER FLOWS.")


def test_an_algorithm_caption_ends_at_the_rule_under_it() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 72, 60, 540)
    page.draw_line((150, 148), (450, 148), width=0.8)
    page.insert_text(
        (152, 160), "Algorithm 1: Estimate the wavefront from the images.", fontsize=10, fontname="tibo"
    )
    page.draw_line((150, 165), (450, 165), width=0.5)
    code = ["given image I and positions x, y", "for donut i in 1..n do", "    D = Crop(I, x, y)", "end"]
    for row, text in enumerate(code):
        page.insert_text((156, 178 + 12 * row), text, fontsize=9.5, fontname="tiro")
    page.draw_line((150, 222), (450, 222), width=0.8)
    paragraph(page, 72, 240, 540)
    (pair,) = extract(doc)
    assert pair["label"] == "Algorithm 1"
    assert pair["caption"] == "Algorithm 1: Estimate the wavefront from the images."


def test_a_caption_stops_where_its_text_block_runs_on_into_the_next_column() -> None:
    lines = [
        TextLine(Box(60, 309, 288, 319), "Figure 1: Service-oriented architecture of the", 9.0, True, 4),
        TextLine(Box(60, 319, 97, 329), "platform", 9.0, True, 4),
        TextLine(Box(318, 308, 465, 321), "2.3 Design Considerations", 12.0, True, 4),
        TextLine(Box(318, 321, 560, 331), "Data replication algorithms used in commercial", 9.0, False, 4),
    ]
    (caption,) = find_captions(lines)
    assert caption.text == "Figure 1: Service-oriented architecture of the platform"


def test_pieces_of_a_row_written_out_of_order_are_joined_in_order() -> None:
    def piece(x0: float, x1: float, text: str, y0: float = 361.0) -> TextLine:
        return TextLine(Box(x0, y0, x1, 369), text, 8.0, False, 1)

    lines = [
        piece(43, 298, "Figure 2. Diagram cropped to wavenumbers"),
        piece(316, 323, "<", 360),
        piece(331, 338, "<", 360),
        piece(325, 329, "k", 362),
        piece(300, 314, "0.27", 362),
        piece(340, 569, "10.02 per arcsec and frequencies", 358),
    ]
    (joined,) = join_row_pieces(lines)
    assert (
        joined.text == "Figure 2. Diagram cropped to wavenumbers 0.27 < k < 10.02 per arcsec and frequencies"
    )


def test_a_label_word_set_apart_from_its_number_in_justified_text_is_joined() -> None:
    lines = [
        TextLine(Box(56, 268, 83, 278), "Figure", 8.0, True, 2),
        TextLine(Box(91, 268, 100, 278), "2.", 8.0, True, 2),
        TextLine(Box(107, 268, 148, 278), "Sectioned", 8.0, True, 2),
    ]
    joined = join_row_pieces(lines)
    assert joined[0].text.startswith("Figure 2.")


def test_pieces_of_a_row_overlapping_by_a_bracket_glyphs_side_bearing_are_joined() -> None:
    # (a Chinese thesis from Word: an inline vector's bracket glyph, written in its own piece,
    # overlaps the text before it by most of a point; the row is one line of the paragraph)
    lines = [
        TextLine(
            Box(70.9, 515.5, 316.6, 537.8), "规划的终端位置在小天体固连坐标系下坐标为[", 12.1, False, 20
        ),
        TextLine(Box(315.9, 515.5, 518.9, 537.8), "1512.8 9880.7 -1475.2 ] T m，起始速度", 12.7, False, 20),
    ]
    (joined,) = join_row_pieces(lines)
    assert joined.box.x0 == 70.9 and joined.box.x1 == 518.9


def test_pieces_of_a_row_in_persian_are_joined_from_the_right() -> None:
    # (a Persian caption the PDF writes in two pieces where Latin maths breaks it: the label's piece
    # stands at the right, the rest of the row to its left)
    lines = [
        TextLine(Box(359.9, 290.8, 437.3, 307.0), "نمودار 1: تغییرات V", 12.0, False, 3),
        TextLine(
            Box(172.3, 290.8, 359.9, 307.0), "به ازاي جریان مگنت صفر و مقادیر مختلف جریان I", 12.0, False, 3
        ),
    ]
    (joined,) = join_row_pieces(lines)
    assert joined.text.startswith("نمودار 1: تغییرات V به ازاي")


def test_running_text_laid_out_unlike_the_rest_is_not_a_text_figure() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 72, 60, 540, lines=10)
    page.insert_text((150, 200), "Table 4. Change in cognitions.", fontsize=9, fontname="tiro")
    bottom = booktabs_table(page, 150, 208, 462, rows=3)
    for x0 in (72, 312):  # this page's text runs in two narrow columns
        rect = pymupdf.Rect(x0, bottom + 40, x0 + 228, bottom + 200)
        page.insert_textbox(rect, " ".join([BODY] * 3), fontsize=9.5, fontname="tiro")
    (pair,) = extract(doc)
    assert abs(pair["bbox"][3] - bottom) < 3


def test_line_numbers_of_a_review_copy_stay_out_of_tables() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 72, 60, 540, lines=8)
    page.insert_text((72, 180), "Table 1: Scores without rules.", fontsize=9, fontname="tiro")
    for row in range(4):  # a table of cells alone, no rules
        for column, text in enumerate(("Method", "0.81", "0.77")):
            page.insert_text((80 + 90 * column, 196 + 11 * row), f"{text}{row}", fontsize=8, fontname="tiro")
    paragraph(page, 72, 250, 540, lines=8)
    for row in range(50):  # numbers beside every line of the page, as review templates print them
        page.insert_text((56, 72 + 11 * row), f"{row + 100:03d}", fontsize=6, fontname="helv")
    (pair,) = extract(doc)
    assert pair["kind"] == "table" and 78 <= pair["bbox"][0] <= 82  # from its first column, no further


def test_a_formula_written_apart_from_its_caption_line_keeps_the_caption_going() -> None:
    def line(box: tuple[float, float, float, float], text: str, block: int, size: float = 8.0) -> TextLine:
        return TextLine(Box(*box), text, size, False, block)

    lines = [
        line((44, 639, 288, 648), "FIG. 1. Mean field screening constant, identified with the inverse", 26),
        line((44, 649, 288, 657), "length of charge correlations, displays a trend as the Debye", 26),
        line((44, 658, 124, 667), "screening constant, kD =", 26),
        line((189, 715, 195, 719), "p", 27),  # a root sign of a later row, sorted early
        line((306, 650, 550, 659), "nature of the lattice, length scales extracted from the", 28, 10.0),
        line((306, 662, 550, 671), "procedure can be error prone particularly in regimes", 28, 10.0),
        line((306, 674, 550, 683), "the length scale is comparable with the lattice size.", 28, 10.0),
        line((133, 658, 288, 666), "4 pi rho Q/T, [Eq. (5)] is increased, plotted here", 29),
        line((44, 667, 288, 676), "for a ratio of one half.", 29),
    ]
    (caption,) = find_captions(lines)
    assert caption.text.endswith("plotted here for a ratio of one half.")


def ruled_algorithm(page: Any, head: str, steps: tuple[str, ...]) -> None:
    """An algorithm float under a paragraph: its bold head between two rules, its steps under them
    down to a foot rule at 232."""
    paragraph(page, 72, 60, 540)
    page.draw_line((72, 148), (540, 148), width=0.8)
    page.insert_text((74, 160), head, fontsize=10, fontname="tibo")
    page.draw_line((72, 165), (540, 165), width=0.5)
    page.insert_textbox(pymupdf.Rect(78, 170, 540, 230), "\n".join(steps), fontsize=10, fontname="tiro")
    page.draw_line((72, 232), (540, 232), width=0.8)


def test_a_ruled_algorithm_whose_pseudo_code_reads_like_prose_is_found() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    steps = (
        "Compute the dominant step along the ray from the trained views of the scene",
        "Compute the closest view among the trained views to that dominant step of the ray",
        "Cast a new ray from the closest view towards the dominant step and render it",
        "Render the pseudo colour value of the new ray from the implicit voxel grid of the scene",
    )
    ruled_algorithm(page, "Algorithm 1: Pseudo ray labelling", steps)
    paragraph(page, 72, 250, 540)
    (pair,) = extract(doc)
    assert pair["label"] == "Algorithm 1" and pair["bbox"][3] >= 228


def test_a_ruled_algorithm_set_inside_a_figure_is_the_figure_captioned_under_it() -> None:
    # (a Japanese master's thesis: "Algorithm 1 GrowTokenTree" between its rules, and "図4: ..." under
    # the foot rule, the figure environment's own caption)
    doc = pymupdf.open()
    page = doc.new_page()
    steps = (
        "while there is a vertex with a token and a blue successor whose predecessors are placed do",
        "place the token on the successor of the vertex",
        "end while",
        "return the tokened vertices of the graph",
    )
    ruled_algorithm(page, "Algorithm 1 Grow the token tree", steps)
    caption = "Figure 4: Pseudo-code of growing the token tree while keeping the tree structure."
    page.insert_text((72, 256), caption, fontsize=10, fontname="tiro")
    paragraph(page, 72, 280, 540)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 4" and pair["caption"] == caption
    assert iou(pair["bbox"], (72, 148, 540, 232)) > 0.9


def test_a_full_page_image_inside_the_margins_pairs_with_its_caption_alone_on_the_next_page() -> None:
    doc = pymupdf.open()
    first = doc.new_page()
    pixels = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 48, 64), False)
    pixels.clear_with(90)
    figure = pymupdf.Rect(60, 70, 552, 720)  # two thirds of the page, well inside its margins
    first.insert_image(figure, pixmap=pixels)
    second = doc.new_page()
    second.insert_text(
        (72, 350), "FIG. 5. Ice mixing ratio averaged over the first day.", fontsize=10, fontname="tiro"
    )
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 5" and pair["page"] == 1 and pair["caption_page"] == 2
    assert iou(pair["bbox"], tuple(figure)) > 0.9


def test_a_figure_of_two_panels_on_a_page_of_its_own_takes_both_with_its_caption_on_the_next() -> None:
    # (a thesis sets a figure's panels A and B on a page with nothing else, well apart, and its
    # caption heads the next page)
    doc = pymupdf.open()
    first = doc.new_page()
    pixels = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 48, 64), False)
    pixels.clear_with(90)
    upper, lower = pymupdf.Rect(110, 130, 480, 340), pymupdf.Rect(110, 410, 465, 635)
    first.insert_image(upper, pixmap=pixels, keep_proportion=False)
    first.insert_image(lower, pixmap=pixels, keep_proportion=False)
    first.insert_text((290, 770), "- 7 -", fontsize=10, fontname="tiro")
    second = doc.new_page()
    second.insert_text(
        (72, 90), "Figure 2. A) Vectors of a library spectrum. B) The search.", fontsize=10, fontname="tiro"
    )
    paragraph(second, 72, 120, 540)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 2" and pair["page"] == 1 and pair["caption_page"] == 2
    assert iou(pair["bbox"], tuple(upper | lower)) > 0.9


def test_figure_caption_figure_caption_down_a_column_each_caption_keeps_the_figure_above_it() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    upper, lower = pymupdf.Rect(72, 80, 300, 250), pymupdf.Rect(72, 300, 300, 470)
    vector_plot(page, upper)
    # the first caption sits nearer the figure under it than the one above it
    page.insert_text((72, 294), "Figure 1. Convergence study, first case.", fontsize=9, fontname="tiro")
    vector_plot(page, lower)
    page.insert_text((72, 520), "Figure 2. Convergence study, third case.", fontsize=9, fontname="tiro")
    paragraph(page, 320, 80, 540, lines=30)
    pairs = {pair["label"]: pair for pair in extract(doc)}
    assert set(pairs) == {"Figure 1", "Figure 2"}
    assert iou(pairs["Figure 1"]["bbox"], tuple(upper)) > 0.8
    assert iou(pairs["Figure 2"]["bbox"], tuple(lower)) > 0.8


def test_a_plot_line_drawn_on_past_its_clip_does_not_widen_the_figure() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    plot = pymupdf.Rect(72, 100, 300, 250)
    vector_plot(page, plot)
    page.insert_text((72, 270), "Fig. 4. Comparison of serial system responses.", fontsize=9, fontname="tiro")
    paragraph(page, 320, 80, 540, lines=30)
    # a curve the plotting library clipped to the axes but wrote in full, far into the next column
    contents = page.get_contents()[0]
    clipped = b"\nq 72 542 228 150 re W n 0 0 1 RG 1 w 80 680 m 340 600 l S Q\n"
    doc.update_stream(contents, doc.xref_stream(contents) + clipped)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 4" and pair["bbox"][2] <= plot.x1 + 2


def test_a_highlighters_marks_behind_lines_of_words_are_no_graphics() -> None:
    from cephalo_ray.extract.clusters import visible_graphics

    words = "genome-wide CRISPR library covering 18,360 genes with an average of five guides"
    lines = [
        TextLine(Box(37, 667.8, 552, 676.2), "Figure 2. " + words, 8.0, False, 1),
        TextLine(Box(37, 678.8, 566.5, 686.8), words + " per gene", 8.0, False, 1),
        TextLine(Box(60, 300, 120, 308), "Sample", 8.0, False, 2),  # a table's row of cells
        TextLine(Box(200, 300, 240, 308), "12.5", 8.0, False, 3),
    ]
    marks = [
        Graphic(Box(346.1, 667.8, 553.9, 676.2), "path"),
        Graphic(Box(35.1, 678.8, 568.4, 686.8), "path"),
    ]
    shaded_row = Graphic(Box(55, 299, 400, 309), "path")  # behind all the row's cells
    rule = Graphic(Box(37, 686.5, 566, 687.0), "path")  # a rule, not a mark
    kept, _ = visible_graphics(
        [*marks, shaded_row, rule], lines, Box(0, 0, 612, 792), TextStats(9.5, 530.0, 2.0)
    )
    assert kept == [shaded_row, rule]


def test_an_exhibit_is_a_table_when_only_bands_and_rules_are_drawn_in_it() -> None:
    from cephalo_ray.extract.captions import CaptionLabel
    from cephalo_ray.extract.geometry import Caption
    from cephalo_ray.extract.item_edges import item_kind

    box = Box(42, 547, 457, 693)

    def caption(label: str) -> Caption:
        return Caption(Box(42, 520, 457, 540), CaptionLabel("figure", label), label, (0,))

    # row shading drawn cell by cell (two pieces a row), thin strips and rules
    bands = [
        Graphic(Box(x0, y, x1, y + 14), "path") for y in (563, 587, 621) for x0, x1 in ((42, 373), (373, 457))
    ]
    rules = [Graphic(Box(42, y, 457, y + 0.5), "path") for y in (560, 690)]
    assert item_kind(caption("Exhibit 5"), box, [*bands, *rules]) == "table"
    bars = [
        Graphic(Box(100, 560 + 20 * row, 100 + 60 * (row + 1), 572 + 20 * row), "path") for row in range(5)
    ]
    assert item_kind(caption("Exhibit 3"), box, [*bars, *rules]) == "figure"
    assert item_kind(caption("Exhibit 1"), box, [Graphic(Box(60, 560, 400, 680), "image")]) == "figure"
    assert item_kind(caption("Figure 2"), box, [*bands, *rules]) == "figure"  # the label decides


def test_an_image_whose_margin_runs_under_its_caption_ends_where_the_caption_starts() -> None:
    from cephalo_ray.extract.clusters import visible_graphics

    caption = TextLine(
        Box(58, 475.8, 537, 485.2), "Fig. 1. Spatial patterns. (a) Study site map", 8.2, False, 2
    )
    picture = Graphic(Box(95, 68, 492, 484.9), "image")  # its white foot reaches into the caption
    mask = Graphic(Box(50, 470, 545, 530), "image")  # wholly behind the caption: clipped away in print
    kept, _ = visible_graphics([picture, mask], [caption], Box(0, 0, 595, 842), TextStats(9.5, 230.0, 1.5))
    assert [(graphic.kind, graphic.box.y0, graphic.box.y1) for graphic in kept] == [("image", 68, 475.3)]


def test_a_table_printed_sideways_is_found_in_the_frame_a_reader_turns_the_page_to() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    # a wide table turned a quarter: its text reads upwards, its caption at the page's left edge,
    # its rules run down the page
    page.insert_text((80, 600), "Table 3. Effects of the reform on borrowing", fontsize=9, rotate=90)
    for column, x in enumerate((130, 330, 520)):
        page.draw_line((x, 300), (x, 660), width=0.6)
        if column < 2:
            for row in range(8):
                page.insert_text(
                    (x + 25 + 20 * row, 640), f"Row {row} value {row * 7}", fontsize=8, rotate=90
                )
                page.insert_text((x + 25 + 20 * row, 330), f"{row * 0.37:.2f}", fontsize=8, rotate=90)
    prose = doc.new_page(width=612, height=792)  # the paper's body, upright, on the next page
    for top in (72, 250, 430):
        paragraph(prose, 72, top, 540, lines=12)
    (pair,) = extract(doc)
    assert pair["kind"] == "table" and pair["caption"] == "Table 3. Effects of the reform on borrowing"
    assert iou(pair["bbox"], (130, 300, 520, 660)) > 0.75  # on the page, round its rows


def test_text_of_a_page_with_a_rotate_entry_is_read_as_the_page_shows() -> None:
    from cephalo_ray.extract.document import read_page

    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.set_rotation(90)  # shown in landscape: 792 wide
    page.insert_text((100, 100), "Table 1: Summary of the studies", fontsize=9, rotate=90)
    content = read_page(doc[0])
    (line,) = content.lines
    assert content.rect.width == 792 and line.turn == 0  # upright as shown
    assert content.rect.contains_point(line.box.center_x, line.box.center_y)
    assert line.box.width > 5 * line.box.height


def test_turned_boxes_go_back_where_they_came_from() -> None:
    from cephalo_ray.extract.document import page_turn, turned_box, unturned_box

    page = Box(0, 0, 612, 792)
    box = Box(100, 200, 130, 500)
    for turn in (1, -1):
        upright = turned_box(box, turn, page)
        assert upright.width == box.height and upright.height == box.width
        assert unturned_box(upright, turn, page) == box
    sideways = [TextLine(Box(100, 100, 110, 400), "a long turned line of the table", 8, False, 1, 1)]
    upright = [TextLine(Box(72, 50, 300, 60), "Running head of the journal article", 8, False, 0)]
    assert page_turn([*sideways * 3, *upright]) == 1 and page_turn([*sideways, *upright * 3]) == 0


def test_a_row_of_panels_whose_white_margin_runs_off_the_paper_is_one_figure() -> None:
    from cephalo_ray.extract.clusters import graphic_clusters

    page = Box(0, 0, 595.3, 841.9)
    left = Graphic(Box(0.0, 43.4, 292.0, 254.3), "image")  # its white margin reaches the left edge
    right = Graphic(Box(294.1, 43.4, 595.3, 254.3), "image")
    (cluster,) = graphic_clusters([left, right], page)
    assert cluster.box == Box(0.0, 43.4, 595.3, 254.3) and cluster.images == 2
    # a lone picture bleeding off the side is an ornament, as before
    assert graphic_clusters([Graphic(Box(0.0, 300.0, 200.0, 500.0), "image")], page) == []
    # but a screenshot of a table placed wider than the text, its white margin off the left edge
    # only, is a picture (a medical thesis's spreadsheet under its caption)
    (table,) = graphic_clusters([Graphic(Box(0.0, 164.0, 575.8, 740.0), "image")], page)
    assert table.images == 1
    # and a band across the whole width stays an ornament
    assert graphic_clusters([Graphic(Box(0.0, 300.0, 595.3, 500.0), "image")], page) == []


def test_a_long_reference_list_in_small_type_does_not_set_the_body_size() -> None:
    # a society journal: 9 pt body on twelve pages, each with a 7 pt table under it, then six pages
    # of 7 pt references, two columns full; the small type holds more characters in all
    body = "the melt holds more water at the higher pressure of the run than"
    small = "Newcombe, M.E. and others (2017) Magma water content. Geochim. Acta 219, 1-20."

    def page(rows: list[tuple[str, float]]) -> list[TextLine]:
        return [
            TextLine(Box(x, 80 + 10 * row, x + 228, 88 + 10 * row), text, size, False, 1 + row)
            for row, (text, size) in enumerate(rows)
            for x in (54, 294)
        ]

    pages = [page([(body, 9.0)] * 40 + [("0.25  1200  3.1  0.004  1000  0.9", 7.0)] * 20) for _ in range(12)]
    pages += [page([(small, 7.0)] * 85) for _ in range(6)]
    assert text_stats(pages).body_size == 7.0  # no heading to go by: the most characters, weighed by pages
    pages[12][:0] = [TextLine(Box(54, 60, 120, 70), "References cited", 9.0, True, 0)]
    assert text_stats(pages).body_size == 9.0


def photograph(width: int = 40, height: int = 30) -> pymupdf.Pixmap:
    """A small colour raster with no white in it."""
    pixels = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, width, height), False)
    for x in range(width):
        for y in range(height):
            pixels.set_pixel(x, y, (5 * x % 200, 7 * y % 200, 90))
    return pixels


SIDEBAR = (
    "In 2019 and 2020 the Cropping Systems Lab conducted large-scale field experiments evaluating "
    "the off-target movement of the herbicide and its impact on adjacent sensitive soybean."
)


def test_a_framed_sidebar_of_prose_above_a_picture_is_no_part_of_its_figure() -> None:
    # an extension service's update: a framed "Overview" box over a photograph in the right column
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    paragraph(page, 34, 60, 561, lines=6)
    paragraph(page, 34, 290, 389, lines=30)
    page.draw_rect(pymupdf.Rect(412, 294, 544, 454), color=(0.8, 0, 0), width=1.2)
    page.insert_text((428, 312), "Field Experiment Overview", fontsize=10, fontname="hebo")
    page.insert_textbox(pymupdf.Rect(428, 318, 530, 450), SIDEBAR, fontsize=10, fontname="tiro")
    page.insert_image(pymupdf.Rect(400, 506, 567, 664), pixmap=photograph(), keep_proportion=False)
    page.insert_text((400, 678), "Figure 1. Soybean injury after exposure.", fontsize=9, fontname="hebo")
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 1" and pair["bbox"][1] > 500
    # the same frame of prose with a caption right under it is a figure: a prompt shown as a figure
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    paragraph(page, 34, 60, 561, lines=6)
    page.draw_rect(pymupdf.Rect(150, 200, 450, 330), color=(0, 0, 0), width=1.0)
    page.insert_textbox(
        pymupdf.Rect(160, 208, 440, 325), " ".join([SIDEBAR] * 2), fontsize=10, fontname="cour"
    )
    page.insert_text(
        (150, 346), "Figure 2. The prompt given to the teacher model.", fontsize=9, fontname="hebo"
    )
    paragraph(page, 34, 370, 561, lines=10)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 2" and pair["bbox"][1] < 205


def test_a_paragraph_set_narrow_beside_a_figure_is_prose_not_its_text() -> None:
    from cephalo_ray.extract.page_text import is_body_line

    # a Ukrainian extended thesis abstract: the paragraph at the left of a narrow figure is set to
    # half the column; its lines are prose (body text), not labels the figure may take in
    rows = [
        "нерухомого вихору можна здiйсни-",
        "ти iз врахуванням ефектiв дискре-",
        "тностi реальної кристалiчної ґра-",
        "тки. Застосовано модель вiдсiчки,",
        "в якiй невелика область в центрi",
        "осердя вважається немагнiтною, i",
        "модель вихрового осердя, в якiй",
    ]
    block = [TextLine(Box(43.3, 59.7, 185.6, 68.6), "Опис явища змiни полярностi", 10.0, False, 4)]
    block += [
        TextLine(Box(28.3, 71.3 + 11.5 * row, 185.6, 80.1 + 11.5 * row), text, 10.0, False, 4)
        for row, text in enumerate(rows)
    ]
    stats = TextStats(10.0, 334.6, 2.7)
    assert all(is_body_line(line, block, stats) for line in block)
    # a column of a table's short cells in the body font is not
    cells = [
        TextLine(
            Box(28.3, 71.3 + 11.5 * row, 160.0, 80.1 + 11.5 * row),
            f"Row {row} value {row * 7}",
            10.0,
            False,
            5,
        )
        for row in range(8)
    ]
    assert not any(is_body_line(line, cells, stats) for line in cells)


def test_a_caption_beside_a_map_keeps_it_when_the_tables_caption_under_the_map_has_its_table() -> None:
    # Vie et Milieu: a map with its legend beside it at the right; under the map the caption of the
    # table below, which is nearer to the map than to its table
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    paragraph(page, 71, 60, 555, lines=16)
    page.insert_image(pymupdf.Rect(71, 312, 411, 623), pixmap=photograph(), keep_proportion=False)
    legend = (
        "Fig. 1. \u2013 Location of the three study sites along the French Catalan coast; Le Racou: "
        "high anthropogenic pressure, Paulilles: moderate pressure and Tancade: low pressure"
    )
    page.insert_textbox(pymupdf.Rect(433, 535, 555, 625), legend, fontsize=9, fontname="tiro")
    page.insert_text(
        (71, 639), "Table I. \u2013 Characteristics of the sampling sites.", fontsize=9, fontname="tiro"
    )
    bottom = booktabs_table(page, 71, 648, 554, rows=6)
    pairs = {pair["label"]: pair for pair in extract(doc)}
    assert set(pairs) == {"Figure 1", "Table 1"}
    assert iou(pairs["Figure 1"]["bbox"], (71, 312, 411, 623)) > 0.9
    assert pairs["Table 1"]["kind"] == "table" and pairs["Table 1"]["bbox"][1] > 640
    assert pairs["Table 1"]["bbox"][3] >= bottom - 1


def test_a_heading_and_a_drop_caps_first_line_beside_a_picture_are_no_part_of_its_figure() -> None:
    from cephalo_ray.extract.regions import pair_regions

    # an extension service's update: a section opens with a drop cap in the left column, beside the
    # photograph of the right column; the paragraph's other lines are prose, its first ones stand
    # apart as text of their own
    lines = [
        TextLine(Box(34.0, 489.5, 224.0, 498.3), "Off-target Movement of Synthetic Auxins", 10.0, True, 12),
        TextLine(Box(34.0, 503.3, 49.0, 525.0), "A", 24.0, False, 12),
        TextLine(
            Box(49.0, 500.4, 324.1, 510.3),
            "uxin herbicides can move off target through both particle and vapor",
            10.0,
            False,
            11,
        ),
        TextLine(
            Box(54.0, 512.3, 324.1, 522.3),
            "drift which are influenced by meteorological conditions (Havens et",
            10.0,
            False,
            14,
        ),
    ]
    lines += [
        TextLine(
            Box(34.0, 524.3 + 12 * row, 324.1, 534.2 + 12 * row),
            "al. 2018; Strachan et al. 2010). Typically, direct exposure to a sub-lethal dose causes",
            10.0,
            False,
            14,
        )
        for row in range(15)
    ]
    lines += [
        TextLine(
            Box(330.9, 667.7, 544.0, 677.6),
            "Figure 1. Soybean injury following 2,4-D exposure",
            10.0,
            True,
            13,
        ),
        TextLine(
            Box(330.9, 679.6, 560.7, 689.6),
            "(notice leaf strapping). Photo credit: M. Zimmer.",
            10.0,
            False,
            13,
        ),
    ]
    picture = Graphic(Box(354.9, 506.1, 567.3, 664.3), "image")
    regions = pair_regions(lines, [picture], Box(0, 0, 595.3, 841.9), TextStats(10.0, 555.0, 2.0))
    (item,) = regions.items
    assert item.box == picture.box


def test_a_numbered_box_of_text_is_no_pair_and_no_figure_takes_its_panel() -> None:
    # an agency report: "BOX 1" heads a framed panel in the right column, each row of its text on a
    # tinted strip of its own; a figure with its caption below sits in the left column
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    paragraph(page, 48, 60, 564, lines=8)
    page.draw_rect(pymupdf.Rect(340, 411, 564, 728), color=(0.2, 0.3, 0.5), width=1.0)
    page.insert_text((350, 431), "BOX 1: PANDEMIC TELEHEALTH FLEXIBILITIES", fontsize=9, fontname="hebo")
    words = SIDEBAR.split()
    for row in range(20):
        top = 435 + 14 * row
        page.draw_rect(pymupdf.Rect(346.6, top, 558.2, top + 14), color=None, fill=(0.92, 0.94, 0.98))
        text = " ".join(words[(row * 5) % 20 : (row * 5) % 20 + 6])
        page.insert_text((352, top + 10), text, fontsize=9, fontname="tiro")
    vector_plot(page, pymupdf.Rect(48, 420, 320, 600))
    page.insert_text((48, 614), "Figure 2. Telehealth visits by month.", fontsize=9, fontname="hebo")
    paragraph(page, 48, 630, 320, lines=6)
    pairs = extract(doc)
    assert [pair["label"] for pair in pairs] == ["Figure 2"]


def test_a_tall_tables_body_panel_under_its_header_band_is_no_page_background() -> None:
    # CMAJ: a recommendations table fills most of its page; its caption on a red band, its header row
    # on a band of the same width, and its body one tinted panel right under them (62% of the page)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.draw_rect(pymupdf.Rect(40.5, 55, 544.2, 88.5), color=None, fill=(0.75, 0.1, 0.15))
    page.insert_text(
        (46, 70), "Table 2: Recommendations on exercise and nutrition", fontsize=9, fontname="hebo"
    )
    page.draw_rect(pymupdf.Rect(40.5, 88.5, 544.2, 116.1), color=None, fill=(0.95, 0.85, 0.8))
    page.insert_text((46, 108), "Recommendations", fontsize=8, fontname="hebo")
    page.insert_text((425, 108), "Strength of recommendation", fontsize=8, fontname="hebo")
    page.draw_rect(pymupdf.Rect(40.5, 116.2, 544.2, 735.4), color=(0.6, 0.6, 0.6), fill=(0.99, 0.97, 0.95))
    for row in range(12):
        top = 124 + 50 * row
        page.draw_line((40.5, top - 6), (544.2, top - 6), color=(0.6, 0.6, 0.6), width=0.4)
        page.insert_textbox(
            pymupdf.Rect(46, top, 390, top + 42), f"{row + 1}.1. " + BODY, fontsize=8, fontname="tiro"
        )
        page.insert_text((425, top + 8), "Conditional recommendation", fontsize=8, fontname="tiro")
    page.insert_text((40.5, 752), "Note: FRAX = Fracture Risk Assessment Tool.", fontsize=7, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["kind"] == "table" and pair["bbox"][3] > 730


def test_a_slanted_watermark_across_the_page_hides_no_caption() -> None:
    # a proceedings' draft build: "DRAFT" in 140 pt set at a slant over the figures and their captions
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    paragraph(page, 50, 360, 300, lines=20)
    page.insert_image(pymupdf.Rect(49, 53, 300, 213), pixmap=photograph(), keep_proportion=False)
    page.insert_text((102, 228), "Fig. 1: Three Function Concept Types.", fontsize=9, fontname="hebo")
    page.insert_image(pymupdf.Rect(312, 53, 563, 250), pixmap=photograph(), keep_proportion=False)
    page.insert_text((354, 265), "Fig. 3: Concept Instance of InverseFunction.", fontsize=9, fontname="hebo")
    paragraph(page, 312, 280, 563, lines=30)
    page.insert_text(
        (150, 600),
        "DRAFT",
        fontsize=140,
        color=(0.9, 0.9, 0.9),
        morph=(pymupdf.Point(150, 600), pymupdf.Matrix(-55)),
    )
    slant = (pymupdf.Point(110, 610), pymupdf.Matrix(45))
    page.insert_text((110, 610), "DRAFT", fontsize=140, fontname="tiro", color=(0.9, 0.9, 0.9), morph=slant)
    labels = sorted(pair["label"] for pair in extract(doc))
    assert labels == ["Figure 1", "Figure 3"]


def test_a_caption_holding_only_its_charts_axis_labels_takes_the_chart_from_the_caption_above() -> None:
    from cephalo_ray.extract.claims import Claim, give_up_second_claims

    # an audit report: Figure 7's caption (0) sits between its chart and Figure 8's chart, a little
    # nearer the chart below (legend 3, plot 4) than Figure 8's caption (1) under it, which first wins
    # only the chart's axis labels (6); the costs are the pairing's own on that page
    box = Box(0, 0, 1, 1)
    claims = [
        Claim(3.6, 0, (0, 1, 2, 5), box, "below"),
        Claim(17.6, 0, (3, 4, 6), box, "above"),
        Claim(18.7, 1, (3, 4, 6), box, "below"),
    ]
    best = {0: (3.9, 0, 0), 1: (3.9, 0, 0), 2: (3.6, 0, 0), 5: (3.6, 0, 0), 3: (17.6, 0, 1), 4: (17.6, 0, 1)}
    best[6] = (18.7, 1, 2)
    give_up_second_claims(best, claims)
    assert {index: caption for index, (_, caption, _) in best.items()} == {
        0: 0,
        1: 0,
        2: 0,
        5: 0,
        3: 1,
        4: 1,
        6: 1,
    }
    # a caption holding clusters outside the claim keeps to what it has
    best = {0: (3.9, 0, 0), 2: (3.6, 0, 0), 3: (17.6, 0, 1), 4: (17.6, 0, 1), 6: (18.7, 1, 2), 7: (5.0, 1, 3)}
    claims.append(Claim(5.0, 1, (7,), box, "above"))
    give_up_second_claims(best, claims)
    assert best[3][1] == 0 and best[4][1] == 0


def test_captions_in_a_margin_column_each_keep_the_picture_level_with_them() -> None:
    # Materials Research Innovations (2000): captions in a narrow left column, each beside its own
    # picture of a stack in the wide column; the second picture is near enough to join the first
    regions = pair_margin_captions(
        [
            (48.2, 47.7, 156.3, 62.0, "Fig. 16 TC of MPB composi-"),
            (48.2, 297.1, 164.2, 309.7, "Fig. 17 (a) Temperature"),
        ],
        [Box(185.1, 50.1, 548.2, 277.1), Box(204.0, 298.4, 548.1, 736.4)],
    )
    boxes = {item.caption.label.label: item.box for item in regions.items if item.caption}
    assert boxes == {
        "Figure 16": Box(185.1, 50.1, 548.2, 277.1),
        "Figure 17": Box(204.0, 298.4, 548.1, 736.4),
    }


def test_a_picture_set_to_the_far_side_of_a_wide_column_is_its_margin_captions() -> None:
    # the same journal: 57 pt of blank paper between the caption's column and the picture
    regions = pair_margin_captions(
        [(48.2, 47.7, 162.3, 60.2, "Fig. 8 Other variants of perov-")], [Box(219.2, 49.3, 548.2, 306.3)]
    )
    (item,) = regions.items
    assert item.box == Box(219.2, 49.3, 548.2, 306.3)


def pair_margin_captions(captions: list[tuple[float, float, float, float, str]], pictures: list[Box]) -> Any:
    from cephalo_ray.extract.regions import pair_regions

    lines = [
        TextLine(Box(x0, y0, x1, y1), text, 9.0, True, index)
        for index, (x0, y0, x1, y1, text) in enumerate(captions)
    ]
    lines += [  # the body text under the stack, across the page
        TextLine(Box(48.0, 750 + 12 * row, 547.0, 760 + 12 * row), BODY[:110], 10.5, False, 100)
        for row in range(3)
    ]
    graphics = [Graphic(box, "image") for box in pictures]
    return pair_regions(lines, graphics, Box(0, 0, 595, 842), TextStats(10.5, 499.0, 2.0))


def test_a_picture_off_to_the_side_of_a_caption_below_it_is_further_from_it() -> None:
    from cephalo_ray.extract.claims import Claim, chained_costs
    from cephalo_ray.extract.geometry import Cluster

    # a RUDN journal paper: two pictures side by side, "Рис. 1" and "Рис. 2" on one row under them;
    # both pictures end 12 pt above the row, but only the left one stands over Рис. 1's width
    caption = Box(143.2, 604.5, 265.8, 613.0)
    left, right = Box(133.0, 504.5, 275.8, 592.5), Box(343.2, 501.0, 460.2, 592.8)
    clusters = [Cluster(left, paths=3), Cluster(right, images=1)]
    costs = chained_costs(Claim(2.0, 0, (0, 1), left.union(right), "below"), caption, clusters)
    assert costs[1] - costs[0] > 50  # (through the left picture, 67 pt from the right one)


def test_a_bold_line_larger_than_the_body_is_a_heading_that_stops_a_claim() -> None:
    from cephalo_ray.extract.regions import is_section_heading

    stats = TextStats(10.7, 396.8, 0.5)
    title = TextLine(Box(171.4, 462.2, 449.4, 473.6), "Модель адиабатических волноводных мод", 12.8, True, 49)
    numbered = TextLine(Box(99.2, 462.2, 300.0, 473.6), "IV. RESULTS", 11.8, True, 50)
    assert is_section_heading(title, stats) and is_section_heading(numbered, stats)
    assert not is_section_heading(TextLine(title.box, title.text, 10.7, True, 49), stats)  # body size
    assert not is_section_heading(TextLine(title.box, title.text, 12.8, False, 49), stats)  # not bold
    assert not is_section_heading(TextLine(title.box, "(12)", 12.8, True, 49), stats)  # a formula's number


def test_a_table_caption_holding_only_a_drawing_of_the_next_column_keeps_the_table_under_it() -> None:
    from cephalo_ray.extract.regions import pair_regions

    # an IJSSST page: a displayed equation in the left column level with "TABLE 2." in the right
    # one; under the caption its grid of shaded cells, then a chart and its caption "Fig. (7)."
    def row(x0: float, y0: float, x1: float, text: str, block: int, size: float = 9.5) -> TextLine:
        return TextLine(Box(x0, y0, x1, y0 + 10.5), text, size, False, block)

    lines = [row(52.4, 110 + 11.2 * i, 282.9, BODY[:60], 1) for i in range(8)]
    lines += [
        row(62.2, 228.3, 271.0, "∂ (TX*) ≈ T d+Δd X* − T d X*", 2),
        row(120.0, 275.5, 140.0, "∂d i", 2),
        row(268.0, 256.0, 282.9, "(20)", 3),
    ]
    lines += [row(52.4, 300 + 11.2 * i, 282.9, BODY[:60], 4) for i in range(8)]
    lines += [row(314.9, 110 + 11.2 * i, 545.3, BODY[:60], 5) for i in range(12)]
    lines += [
        row(320.1, 269.0, 539.6, "TABLE 2. SENSITIVITY ANALYSIS OF RELIABILITY INDICES", 6, 8.0),
        row(400.1, 277.0, 460.0, "TO PARAMETERS", 6, 8.0),
    ]
    cells = [(c, r) for c in range(5) for r in range(5)]
    lines += [
        row(325 + 45 * c, 300 + 15 * r, 350 + 45 * c, f"{(c + 1) * (r + 2) * 1.3:.1f}", 10 + r, 8.0)
        for c, r in cells
    ]
    lines += [row(362.4, 531.4, 497.3, "Fig. (7). Sensitivity Analysis of Reliability", 20, 8.0)]
    lines += [row(314.9, 560 + 11.2 * i, 545.3, BODY[:60], 21) for i in range(6)]
    graphics = [
        Graphic(Box(90.0, 262.0, 271.0, 262.6), "path"),
        Graphic(Box(100.0, 240.0, 182.0, 286.0), "path"),
    ]
    graphics += [
        Graphic(Box(315.9 + 45 * c, 292.1 + 15 * r, 360.0 + 45 * c, 306.5 + 15 * r), "path") for c, r in cells
    ]
    graphics += [Graphic(Box(314.9, 376.0, 547.4, 531.3), "image")]
    regions = pair_regions(lines, graphics, Box(0, 0, 595, 842), TextStats(9.5, 230.6, 0.4))
    found = {item.caption.label.label: item.box for item in regions.items if item.caption}
    assert found["Table 2"].x0 > 300 and found["Table 2"].y0 > 286 and found["Table 2"].y1 < 372
    assert found["Figure 7"].y0 > 372


@pytest.mark.parametrize(
    ("note", "paired"),
    [
        (
            [
                "DEC, diethylcarbamazine; Ag+, microfilaria",
                "antigen positive; Ag-, microfilaria antigen",
                "negative; Doxy, doxycycline; TNF-α, tumor",
                "necrosis factor alpha",
            ],
            True,
        ),
        (
            [
                "respectively), but were not significantly",
                "different at 6 and 48 hours after treatment",
                "(p = 0.669, and p = 0.095, respectively) and",
                "the data are not shown in the table.",
            ],
            False,
        ),
    ],
)
def test_a_list_of_abbreviations_between_a_figure_and_its_caption_does_not_part_them(
    note: list[str], paired: bool
) -> None:
    from cephalo_ray.extract.regions import pair_regions

    # a Southeast Asian tropical medicine journal prints a figure's abbreviations above its caption;
    # a paragraph of prose there does part the figure from the caption
    def row(y0: float, text: str, block: int, x1: float = 249.4) -> TextLine:
        return TextLine(Box(56.7, y0, x1, y0 + 10.8), text, 10.5, False, block)

    lines = [row(394.1 + 12.3 * i, text, 39, 249.4 if i < 3 else 144.1) for i, text in enumerate(note)]
    lines += [
        row(449.6, "Fig 4–Plasma levels of interleukin-6 (A) and", 40),
        row(461.6, "tumor necrosis factor-α (B) at various times.", 40, 230.0),
    ]
    lines += [row(520.0 + 12.3 * i, BODY[:48], 41) for i in range(8)]
    graphics = [
        Graphic(Box(57.1, 72.1, 233.5, 215.1), "image"),
        Graphic(Box(56.7, 224.1, 233.5, 379.1), "image"),
    ]
    regions = pair_regions(lines, graphics, Box(0, 0, 524, 723), TextStats(10.5, 192.8, 2.4))
    found = {item.caption.label.label: item.box for item in regions.items if item.caption}
    if paired:
        assert found["Figure 4"] == Box(56.7, 72.1, 233.5, 379.1)
    else:
        assert "Figure 4" not in found


def test_a_margin_caption_takes_its_figure_beside_it_not_the_part_reaching_below_it_to_the_side() -> None:
    from cephalo_ray.extract.clusters import text_clusters
    from cephalo_ray.extract.regions import pair_regions

    # AAPG Bulletin: the caption in the narrow margin column, the figure beside it reaching lower
    # than the caption, and a paragraph narrowed under the caption with words broken by hyphens
    def row(x0: float, y0: float, x1: float, text: str, block: int, size: float = 9.5) -> TextLine:
        return TextLine(Box(x0, y0, x1, y0 + 10.0), text, size, False, block)

    caption = [
        "FIGURE 1. Schematic model",
        "showing different processes",
        "of hydrocarbon accumulation",
        "controlled by the relationship",
        "between the height of a trap",
        "and seal capacity.",
    ]
    lines = [row(59.8, 64.4 + 11.6 * i, 183.0, text, 1, 8.5) for i, text in enumerate(caption)]
    paragraph = [
        "acceleration of gravity; rw is",
        "the density of formation wa-",
        "ter; rh is the density of hydro-",
        "carbons; and Hc is the maxi-",
        "mum hydrocarbon column",
        "height.",
    ]
    narrowed = [row(59.8, 198.3 + 11.6 * i, 183.1, text, 2) for i, text in enumerate(paragraph)]
    lines += narrowed
    lines += [row(59.8, 280.0 + 11.6 * i, 298.0, BODY[:64], 3) for i in range(20)]
    lines += [row(310.0, 280.0 + 11.6 * i, 550.0, BODY[:64], 4) for i in range(20)]
    graphics = [
        Graphic(Box(214.8, 62.1, 343.4, 69.4), "path"),
        Graphic(Box(226.3, 77.0, 339.8, 117.3), "path"),
        Graphic(Box(389.9, 87.3, 529.0, 115.8), "path"),
        Graphic(Box(272.6, 127.1, 297.9, 156.2), "path"),
        Graphic(Box(456.2, 127.1, 481.4, 156.2), "path"),
        Graphic(Box(195.4, 165.3, 367.0, 237.7), "path"),
        Graphic(Box(389.9, 189.3, 530.7, 218.3), "path"),
    ]
    stats = TextStats(9.5, 239.1, 2.6)
    assert text_clusters(narrowed, list(range(len(narrowed))), Box(0, 0, 612, 792), stats) == []
    regions = pair_regions(lines, graphics, Box(0, 0, 612, 792), stats)
    (item,) = [item for item in regions.items if item.caption]
    assert item.placement == "beside" and item.box.x0 > 190 and item.box.y0 < 80 and item.box.y1 > 230


def test_a_caption_in_a_margin_column_takes_the_figure_beside_it_not_the_table_ruled_under_it() -> None:
    from cephalo_ray.extract.regions import pair_regions

    # Emerald: narrow captions in the outer margin, each level with the foot of its item; a table's
    # top rule runs under the figure's caption out into the margin
    def row(x0: float, y0: float, x1: float, text: str, block: int, size: float = 9.5) -> TextLine:
        return TextLine(Box(x0, y0, x1, y0 + 10.0), text, size, False, block)

    lines = [row(47.7, 70.0 + 12.0 * i, 393.6, BODY[:80], 1) for i in range(8)]
    words = ["Figure 1.", "Path diagram for", "sequential model", "showing relative", "correlations"]
    words += ["between the", "conditions and", "the constructs"]
    lines += [row(399.7, 240.9 + 11.6 * i, 473.3, text, 2, 8.0) for i, text in enumerate(words)]
    upper = [(c, r) for c in range(5) for r in range(6)]
    lines += [
        row(50.0 + 70 * c, 362.4 + 12.0 * r, 90.0 + 70 * c, f"0.{c}{r}*", 10 + r, 8.0) for c, r in upper
    ]
    # the table's lower rows, under a mid rule, level with its own caption in the margin
    lower = [(c, r) for c in range(5) for r in range(13)]
    lines += [row(50.0 + 70 * c, 447.2 + 12.0 * r, 90.0 + 70 * c, f"0.{r}{c}", 20 + r, 8.0) for c, r in lower]
    table_words = ["Table III.", "Results from", "hierarchical", "regression/path", "analysis, predicting"]
    table_words += ["proactive career", "behavior from", "exposure to", "experimental", "condition"]
    lines += [row(399.7, 489.9 + 11.6 * i, 473.3, text, 3, 8.0) for i, text in enumerate(table_words)]
    lines += [row(47.7, 640.0 + 12.0 * i, 393.6, BODY[:80], 4) for i in range(8)]
    graphics = [
        Graphic(Box(64.3, 178.0, 374.4, 296.6), "path"),
        Graphic(Box(47.7, 340.6, 473.5, 341.6), "path"),  # the table's top rule
        Graphic(Box(47.7, 355.0, 393.6, 355.8), "path"),
        Graphic(Box(47.7, 438.8, 393.6, 439.6), "path"),  # its mid rule
        Graphic(Box(47.7, 614.7, 473.5, 615.7), "path"),  # its bottom rule
    ]
    regions = pair_regions(lines, graphics, Box(0, 0, 595, 842), TextStats(9.5, 345.7, 1.7))
    found = {item.caption.label.label: item for item in regions.items if item.caption}
    assert found["Figure 1"].placement == "beside" and found["Figure 1"].box.y1 < 300


def test_a_source_line_across_two_captioned_pictures_side_by_side_is_neither_pictures() -> None:
    # (a government report: two charts in one frame under their captions, side by side, and one
    # line naming both charts' sources in small print right under them, across the frame)
    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 72, 60, 540)
    page.insert_text((80, 160), "Chart 4: Headline inflation eases", fontsize=10, fontname="tibo")
    page.insert_text((310, 160), "Chart 5: Targeting lowered inflation", fontsize=10, fontname="tibo")
    left, right = pymupdf.Rect(72, 172, 302, 330), pymupdf.Rect(305, 172, 540, 330)
    vector_plot(page, left)
    vector_plot(page, right)
    # (the frame's borders drawn cell by cell, as a word processor's table draws them)
    border = (0.6, 0.25, 0.2)
    for x0, x1 in ((66, 303.5), (303.5, 546)):
        for y in (166, 332, 346):
            page.draw_line((x0, y), (x1, y), color=border, width=1)
    for x in (66, 303.5, 546):
        page.draw_line((x, 166), (x, 332), color=border, width=1)
    sources = (
        "Source: Consumer price indices released by the statistics office, the central bank's "
        "database of October 2024 and January 2025, policy rates of the central banks, BIS"
    )
    page.insert_text((72, 341), sources, fontsize=7, fontname="tiro")
    paragraph(page, 72, 370, 540)
    pairs = sorted(extract(doc), key=lambda pair: pair["bbox"][0])
    assert [pair["label"] for pair in pairs] == ["Chart 4", "Chart 5"]
    assert iou(pairs[0]["bbox"], tuple(left)) > 0.85 and iou(pairs[1]["bbox"], tuple(right)) > 0.85
    assert max(pair["bbox"][3] for pair in pairs) < 333
