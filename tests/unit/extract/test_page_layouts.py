"""Layouts of real journals drawn here with pymupdf: captions broken by formulas and marks, turned
tables, running banners, continued spreads, figures with body text flowing beside them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pymupdf
import pytest

from cephalo_ray.extract.geometry import Box, Graphic
from cephalo_ray.extract.gold import normalize_caption, same_caption
from tests.unit.extract.test_regions import (
    BODY,
    booktabs_table,
    extract,
    iou,
    paragraph,
    prose_pages,
    vector_plot,
)


def unmapped_font(doc: Any, page: Any, name: str = "FX") -> None:
    """A font on the page whose code 1 names a glyph with no Unicode (no ToUnicode, unknown name)."""
    font = doc.get_new_xref()
    doc.update_object(
        font,
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
        "/Encoding << /Type /Encoding /Differences [1 /g7001] >> >>",
    )
    resources = int(doc.xref_get_key(page.xref, "Resources")[1].split()[0])
    doc.xref_set_key(resources, f"Font/{name}", f"{font} 0 R")


def append_content(doc: Any, page: Any, stream: bytes) -> None:
    """Raw PDF operators added after what the page already draws."""
    content = doc.get_new_xref()
    doc.update_object(content, "<< >>")
    doc.update_stream(content, stream)
    existing = doc.xref_get_key(page.xref, "Contents")[1].strip("[]")
    doc.xref_set_key(page.xref, "Contents", f"[{existing} {content} 0 R]")


def test_a_glyph_without_unicode_reads_as_the_replacement_character() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    y = paragraph(page, 72, 72, 540)
    plot = pymupdf.Rect(150, y + 20, 450, y + 220)
    vector_plot(page, plot)
    paragraph(page, 72, plot.y1 + 40, 540)
    unmapped_font(doc, page)
    # the caption's "±" is set in a maths font that maps it to nothing
    baseline = page.rect.height - plot.y1 - 20
    append_content(
        doc,
        page,
        f"BT /tiro 9 Tf 72 {baseline:.1f} Td (Fig. 2. Response \\(mean ) Tj /FX 9 Tf (\x01) Tj "
        "/tiro 9 Tf (SEM\\) of twelve rats.) Tj ET".encode(),
    )
    (pair,) = extract(pymupdf.open(stream=doc.tobytes()))
    assert "\ufffd" in pair["caption"]
    assert not any(ord(char) < 32 for char in pair["caption"])  # not the font's internal code


def test_an_unmapped_glyph_is_judged_alike_however_a_reader_spelled_it() -> None:
    assert normalize_caption("the mean (\ufffdSEM) of n \ufffd12") == normalize_caption(
        "the mean ( \x04 SEM) of n \x0412"
    )
    assert normalize_caption("n \ufffd 12") != normalize_caption("n 12")


def test_an_unmapped_glyph_matches_the_one_character_another_reader_gave_it() -> None:
    # read through the glyph's code, a font without Unicode gives "n 5 15" for "n = 15"
    assert same_caption(
        "sizes (n 5 15) at (Dt=2 s) of (T.E.)V,Dj", "sizes (n\ufffd15) at (\ufffdt=2 s) of (T.E.)V,D\ufffdj"
    )
    assert same_caption("n\ufffd15", "n 5 15")
    assert not same_caption("sizes (n 5 16)", "sizes (n\ufffd15)")
    assert not same_caption("sizes (n 55 15)", "sizes (n\ufffd15)")


def caption_under_plot(
    page: Any,
    plot: pymupdf.Rect,
    first_line: str,
    gap: float = 14,
    x: float | None = None,
    fontsize: float = 9,
    fontname: str = "tiro",
) -> float:
    """A plot and the first line of its caption `gap` points under it, at `x` (default the plot's left
    edge); returns the caption line's baseline."""
    vector_plot(page, plot)
    baseline = plot.y1 + gap
    page.insert_text(
        (plot.x0 if x is None else x, baseline), first_line, fontsize=fontsize, fontname=fontname
    )
    return baseline


def footer(page: Any, number: int) -> None:
    """A footer whose top sits just above the bottom tenth of the page (its middle inside it)."""
    page.insert_text((300, 719), str(number), fontsize=10, fontname="tiro")
    page.insert_text((455, 718), "Copyright 2018 by ASME", fontsize=10, fontname="tiro")


def test_a_footer_reaching_just_above_the_bottom_band_is_not_caption_text() -> None:
    doc = pymupdf.open()
    for number in range(1, 4):
        page = doc.new_page(width=612, height=792)
        for x0 in (36, 320):
            page.insert_textbox(
                pymupdf.Rect(x0, 60, x0 + 256, 380), " ".join([BODY] * 6), fontsize=10, fontname="tiro"
            )
        footer(page, number)
    page = doc[2]
    y = caption_under_plot(
        page,
        pymupdf.Rect(330, 420, 570, 690),
        "FIGURE 17: First eight linkages in the table and their resultant",
        gap=13,
        x=320,
        fontsize=9.8,
        fontname="tibo",
    )
    page.insert_text((320, y + 12), "coupler paths.", fontsize=10, fontname="tiro")
    pairs = extract(doc)
    assert [pair["caption"] for pair in pairs] == [
        "FIGURE 17: First eight linkages in the table and their resultant coupler paths."
    ]


def test_a_fraction_whose_denominator_starts_under_its_numerator_keeps_the_caption_going() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    paragraph(page, 72, 60, 540)
    plot = pymupdf.Rect(100, 150, 420, 330)
    y = caption_under_plot(
        page, plot, "Figure 5: The vorticity and the velocity vectors of the simulation after a"
    )
    numerator = "short time ( tUc"
    page.insert_text((100, y + 11), numerator, fontsize=8.8, fontname="tiro")
    # the rest of the row, written after the fraction, starts under the numerator's end
    end = 100 + pymupdf.get_text_length(numerator, fontname="tiro", fontsize=8.8)
    page.insert_text(
        (end - 9, y + 12.2), "Rc = 0.11) for Re = 1000 in both cases.", fontsize=8.9, fontname="tiro"
    )
    paragraph(page, 72, y + 40, 540)
    (pair,) = extract(doc)
    assert pair["caption"].endswith("( tUc Rc = 0.11) for Re = 1000 in both cases.")


def test_a_numerator_in_a_smaller_size_goes_on_with_the_row_it_belongs_to() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    paragraph(page, 72, 60, 540)
    plot = pymupdf.Rect(100, 150, 420, 330)
    y = caption_under_plot(page, plot, "Figure 6: Interface contours from the simulations at the times")
    page.insert_text((100, y + 11), "( tUc", fontsize=7.2, fontname="tiro")
    page.insert_text(
        (106.5, y + 12.2), "Rc = 0, 0.2, 0.29) and images from the", fontsize=8.9, fontname="tiro"
    )
    page.insert_text((100, y + 23), "experiments taken every 0.125 ms.", fontsize=9, fontname="tiro")
    paragraph(page, 72, y + 50, 540)
    (pair,) = extract(doc)
    assert pair["caption"].endswith(
        "at the times ( tUc Rc = 0, 0.2, 0.29) and images from the experiments taken every 0.125 ms."
    )


def test_a_lone_star_written_between_two_caption_lines_does_not_end_the_caption() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    paragraph(page, 72, 60, 540)
    plot = pymupdf.Rect(100, 150, 500, 330)
    y = caption_under_plot(
        page, plot, "Figure 2: Architecture of the model, whose encoder both the prior and the"
    )
    text = "posterior nets share. In inference the prior net derives z"
    page.insert_text((100, y + 11), text, fontsize=9, fontname="tiro")
    end = 100 + pymupdf.get_text_length(text, fontname="tiro", fontsize=9)
    page.insert_text((end + 2, y + 17), "*", fontsize=5, fontname="helv")  # z's star, set below its row
    page.insert_text((100, y + 25), "which the solid line connects.", fontsize=9, fontname="tiro")
    paragraph(page, 72, y + 50, 540)
    (pair,) = extract(doc)
    assert "derives z" in pair["caption"] and "which the solid line connects." in pair["caption"]
    assert "*" in pair["caption"]  # read in the row it reaches into


def test_a_lone_mark_in_the_gutter_before_a_label_does_not_hide_the_caption() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_textbox(pymupdf.Rect(40, 60, 280, 740), " ".join([BODY] * 12), fontsize=9, fontname="tiro")
    plot = pymupdf.Rect(305, 420, 545, 580)
    vector_plot(page, plot)
    page.draw_rect(pymupdf.Rect(290, 588, 297, 597), color=None, fill=(1, 0, 0))
    page.insert_text((291.2, 596), "4", fontsize=9, fontname="tiro")  # a tag on a red patch
    page.insert_text((304.4, 596), "Fig. 4", fontsize=8, fontname="tibo")
    page.insert_text(
        (330.7, 596), "Density contours of the first stage at Mach 2 and", fontsize=8, fontname="tiro"
    )
    page.insert_text((304.4, 604), "one degree angle of attack.", fontsize=8, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 4" and iou(pair["bbox"], tuple(plot)) > 0.8


def test_a_journal_banner_on_every_page_is_not_the_figure_of_a_caption_under_it() -> None:
    doc = pymupdf.open()
    logo = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 48, 21), False)
    logo.clear_with(90)
    for _ in range(3):
        page = doc.new_page(width=612, height=792)
        page.insert_image(pymupdf.Rect(34, 33, 82, 54), pixmap=logo)  # the journal's logo, no header text
        page.draw_line((89, 51), (577, 51), width=1.0, color=(0.2, 0.2, 0.2))
        paragraph(page, 72, 300, 540)
    page = doc[1]
    page.draw_line((185, 89.6), (575, 89.6), width=0.8, color=(0, 0.65, 1))  # the caption's head rule
    page.draw_rect(pymupdf.Rect(185, 90, 575, 109), color=None, fill=(0.92, 0.97, 1))
    page.insert_text((194, 102), "Table 1 Primers used for the amplification.", fontsize=9, fontname="tibo")
    bottom = booktabs_table(page, 185, 115, 575, rows=8)
    (pair,) = extract(doc)
    assert pair["kind"] == "table" and iou(pair["bbox"], (185, 115, 575, bottom)) > 0.8


def test_a_page_sized_watermark_image_on_every_page_is_not_part_of_a_figure() -> None:
    # a review copy: each page carries its own page-sized image, white but for a grey stamp (TRB)
    stamp = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 170, 220), False)
    stamp.clear_with(255)
    stamp.set_rect(pymupdf.IRect(12, 60, 158, 120), (200, 200, 200))
    doc = pymupdf.open()
    for number in range(4):
        page = doc.new_page(width=612, height=792)
        page.insert_image(pymupdf.Rect(48, 50, 575, 731), pixmap=stamp)
        if number == 1:
            plot = pymupdf.Rect(150, 90, 450, 300)
            caption_under_plot(
                page,
                plot,
                "FIGURE 6 Pivot table of mean arrival time differences",
                25,
                fontsize=10,
                fontname="tibo",
            )
            paragraph(page, 72, 360, 540)
        else:
            paragraph(page, 72, 100, 540)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 6" and iou(pair["bbox"], tuple(plot)) > 0.8


def test_a_bar_down_the_edge_of_every_page_is_not_the_figure_beside_a_caption() -> None:
    doc = pymupdf.open()
    for _ in range(3):
        page = doc.new_page(width=612, height=792)
        page.draw_rect(pymupdf.Rect(571, 31, 588, 736), color=None, fill=(0.3, 0.5, 0.7))  # the journal's bar
        page.insert_text((584, 700), "The Journal of Biology", fontsize=12, fontname="helv", rotate=90)
        paragraph(page, 48, 72, 564, lines=30)
    page = doc[1]
    plot = pymupdf.Rect(60, 505, 387, 726)
    vector_plot(page, plot)
    page.insert_textbox(
        pymupdf.Rect(399, 503, 564, 640),
        "Fig. 1. Adult responses to ambient and high temperature treatments. The panels show the yield "
        "and the flux measured at the end of the exposure.",
        fontsize=7.5,
        fontname="tiro",
    )
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 1" and iou(pair["bbox"], tuple(plot)) > 0.8


def test_a_table_printed_on_tinted_bands_under_its_caption_is_found_whole() -> None:
    doc = pymupdf.open()
    paragraph(doc.new_page(width=612, height=792), 72, 72, 540, lines=40)
    page = doc.new_page(width=612, height=792)
    caption = "Table 3: Fracture risk assessment and treatment initiation"
    page.insert_text((72, 70), caption, fontsize=10, fontname="tibo")
    page.draw_rect(pymupdf.Rect(66, 78, 546, 106), color=None, fill=(0.85, 0.85, 0.85))  # the header band
    page.insert_text((72, 96), "Recommendations", fontsize=9, fontname="tibo")
    page.draw_rect(pymupdf.Rect(66, 106, 546, 400), color=None, fill=(0.95, 0.95, 0.95))  # the body panel
    for number in range(8):
        page.insert_textbox(
            pymupdf.Rect(72, 115 + 34 * number, 540, 145 + 34 * number),
            f"3.{number + 1}. We suggest that the clinical assessment identifies every risk factor of "
            "fracture, in postmenopausal females and males aged fifty years and older.",
            fontsize=10,
            fontname="tiro",
        )
    paragraph(page, 72, 420, 540)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 3" and pair["bbox"][3] >= 390


def test_a_grid_table_ruled_cell_by_cell_ends_above_its_paragraph_of_notes() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    paragraph(page, 48, 60, 284, lines=30)
    paragraph(page, 300, 60, 540, lines=50)
    page.insert_text(
        (50, 470), "Table 4. Effect of treatment on the incidence of disease", fontsize=8, fontname="tibo"
    )
    edges = (49.5, 144.5, 212, 283.5)
    for row in range(5):
        y = 480 + 13.3 * row
        for left, right in zip(edges, edges[1:], strict=False):
            page.draw_line((left, y), (right, y), width=0.5)  # each cell draws its own piece of rule
        for x in edges:
            page.draw_line((x, y), (x, y + 13.3), width=0.5)
        for column, text in enumerate((f"Model {row + 1}b", "1.00 (ref)", f"1.{row + 3}8 (1.66-2.35)")):
            page.insert_text((edges[column] + 4, y + 9.5), text, fontsize=7, fontname="tiro")
    bottom = 480 + 13.3 * 5
    for left, right in zip(edges, edges[1:], strict=False):
        page.draw_line((left, bottom), (right, bottom), width=0.5)
    page.insert_textbox(
        pymupdf.Rect(49.5, bottom + 4, 284, bottom + 80),
        "Model 1b: adjusted for age, sex and the principal components of ancestry. Model 2b includes "
        "model 1b and smoking, body mass index and the serum lipids of every patient at baseline.",
        fontsize=7,
        fontname="tiro",
    )
    (pair,) = extract(doc)
    assert pair["label"] == "Table 4" and abs(pair["bbox"][3] - bottom) < 3


def turned_table(
    page: Any, caption: list[str], header_gap: float, head_rule: bool = False
) -> tuple[float, ...]:
    """A table turned on its side: caption lines reading upwards at the left (the first at x 60.6 to
    73.1), its header and rows of cells turned alike to their right, `header_gap` points on, with a
    rule under the header and at the foot; returns the table's box."""
    x = 70.0
    for text in caption:
        page.insert_text((x, 700), text, fontsize=9, fontname="tibo", rotate=90)
        x += 11
    if head_rule:
        page.draw_line((55.5, 85), (55.5, 701), width=0.8)
    header = x - 11 + 3.1 + header_gap + 8.4  # the baseline that leaves the gap
    for row in range(12):
        cells = ("Study", "Period", "Country", "Inclusion") if row == 0 else ("Smith", "1994", "USA", "Adult")
        for column, text in enumerate(cells):
            font = "tiro" if row else "tibo"
            page.insert_text(
                (header + 14 * row, 700 - 150 * column),
                f"{text}{row or ''}",
                fontsize=8,
                fontname=font,
                rotate=90,
            )
        if row == 0:
            page.draw_line((header + 4, 85), (header + 4, 701), width=0.5)
    right = header + 14 * 11 + 4
    page.draw_line((right, 85), (right, 701), width=0.8)
    return (header - 8.4, 85, right, 701)


def test_a_rule_beside_a_turned_caption_does_not_stand_in_for_its_table() -> None:
    doc = pymupdf.open()
    paragraph(doc.new_page(width=612, height=792), 72, 72, 540, lines=40)  # the paper's prose
    page = doc.new_page(width=612, height=792)
    box = turned_table(page, ["Table 3 Meta-analysis of the frequency of variants in the probands"], 15, True)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 3" and iou(pair["bbox"], box) > 0.8


def test_a_turned_table_filling_the_other_column_is_no_stamp_in_the_margin() -> None:
    doc = pymupdf.open()
    first = doc.new_page(width=612, height=792)
    paragraph(first, 48, 72, 294, lines=50)
    paragraph(first, 318, 72, 564, lines=50)
    page = doc.new_page(width=612, height=792)
    paragraph(page, 48, 72, 294, lines=50)  # prose in the left column only
    page.insert_text(
        (368, 735),
        "Table 2. Divergence dating estimates for the groups",
        fontsize=8,
        fontname="tibo",
        rotate=90,
    )
    page.draw_line((378, 69), (378, 735), width=0.8)
    for row in range(6):
        x = 390 + 16 * row
        for column, text in enumerate(
            ("Analysis", "93.6 (84.8-102.8)", "56.6 (47.0-66.6)", "16.2 (11.6-21.2)")
        ):
            page.insert_text(
                (x, 729 - 150 * column),
                text if row else text.split()[0],
                fontsize=9,
                fontname="tiro",
                rotate=90,
            )
    page.draw_line((484, 69), (484, 735), width=0.8)
    (pair,) = [pair for pair in extract(doc) if pair["page"] == 2]
    assert pair["label"] == "Table 2" and iou(pair["bbox"], (378, 69, 484, 735)) > 0.8


@pytest.mark.parametrize(
    "caption",
    [
        ["Table 1. Characteristics of the included studies with their year and type"],
        ["Table 1. Characteristics of the included studies with their year,", "type and endpoint"],
    ],
)
def test_a_turned_caption_keeps_its_own_lines_and_not_the_header_cells_beside_it(caption: list[str]) -> None:
    doc = pymupdf.open()
    paragraph(doc.new_page(width=612, height=792), 72, 72, 540, lines=40)
    page = doc.new_page(width=612, height=792)
    turned_table(page, caption, 5)
    (pair,) = extract(doc)
    assert pair["caption"] == " ".join(caption)


def test_a_turned_caption_whose_label_and_pieces_are_written_apart_reads_whole_in_order() -> None:
    # (Paleobiology: a table turned on its side, "TABLE 2." in small capitals written apart from its
    # title on the caption's first row, a later row opening with a piece set smaller, "or σ²"; the
    # page's other column runs on upright)
    doc = pymupdf.open()
    paragraph(doc.new_page(width=612, height=792), 72, 72, 540, lines=40)
    page = doc.new_page(width=612, height=792)
    paragraph(page, 300, 72, 540, lines=50)
    page.insert_text((70, 697), "TABLE 2.", fontsize=6.7, fontname="tiro", rotate=90)
    title = "The evolution of shell conicity at two sites. Each row corresponds to a model fit to"
    page.insert_text((70, 659), title, fontsize=7.8, fontname="tiro", rotate=90)
    page.insert_text(
        (79, 697), "the two sequences. Models either allowed for directional change", fontsize=7.8, rotate=90
    )
    page.insert_text((88, 697), "or var(", fontsize=7.0, fontname="tiro", rotate=90)
    page.insert_text(
        (88, 674),
        "step) was constrained to be equal at the two sites in the simplest",
        fontsize=7.8,
        rotate=90,
    )
    page.insert_text((97, 697), "model, whose weights are set in bold.", fontsize=7.8, rotate=90)
    page.draw_line((103, 85), (103, 701), width=0.8)
    for row in range(10):
        for column, text in enumerate(("Model", "GRW", "URW", "Stasis")):
            page.insert_text(
                (115 + 14 * row, 690 - 150 * column), f"{text}{row or ''}", fontsize=8, rotate=90
            )
    page.draw_line((250, 85), (250, 701), width=0.8)
    (pair,) = extract(doc)
    assert pair["caption"] == (
        f"TABLE 2. {title} the two sequences. Models either allowed for directional change or var( step) was"
        " constrained to be equal at the two sites in the simplest model, whose weights are set in bold."
    )


def test_a_label_centred_over_a_legend_in_two_columns_reads_label_left_column_right_column() -> None:
    # (Human Brain Mapping: "Figure 4." centred under the figure, its legend set in the page's two
    # columns under it; the PDF writes the right column's rows before the left column's)
    doc = pymupdf.open()
    paragraph(doc.new_page(width=612, height=810), 60, 72, 552, lines=40)
    page = doc.new_page(width=612, height=810)
    vector_plot(page, pymupdf.Rect(145, 88, 467, 408))
    page.insert_text((272, 422), "Figure 4.", fontsize=9, fontname="tibo")
    left = [
        "Whole brain analyses on all runs of the study for: (a) areas of",
        "activation in the RB condition; (b) areas of activation in the II",
        "condition; (c) a conjunction analysis showing areas commonly",
        "activated in the RB and II conditions. All analyses are thresholded",
    ]
    right = [
        "at P < 0.001 and 27 contiguous voxels. The coordinates indicate",
        "the origin for the image displayed. Lighter colors indicate higher",
        "z-scores.",
    ]
    for row, text in enumerate(right):
        page.insert_text((312, 436 + 11 * row), text, fontsize=9, fontname="tiro")
    for row, text in enumerate(left):
        page.insert_text((60, 436 + 11 * row), text, fontsize=9, fontname="tiro")
    paragraph(page, 60, 490, 300, lines=20)
    paragraph(page, 312, 490, 552, lines=20)
    (pair,) = extract(doc)
    assert pair["caption"] == " ".join(["Figure 4.", *left, *right])


def test_the_facing_page_of_a_table_spread_is_not_a_table_of_its_own() -> None:
    doc = pymupdf.open()
    for caption in ("TABLE 1. Results of the transplant experiment by region.", "TABLE 1. Extended."):
        page = doc.new_page(width=612, height=792)
        page.insert_text((72, 80), caption, fontsize=9, fontname="tiro")
        booktabs_table(page, 72, 90, 540)
        paragraph(page, 72, 200, 540)
    (pair,) = extract(doc)
    assert pair["page"] == 1 and pair["label"] == "Table 1"


def test_a_loosely_justified_caption_line_written_word_by_word_is_not_a_row_of_cells() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_textbox(pymupdf.Rect(43, 60, 370, 740), " ".join([BODY] * 14), fontsize=10, fontname="tiro")
    plot = pymupdf.Rect(386, 70, 542, 200)
    y = caption_under_plot(
        page, plot, "Fig. 6. Sections of the spinal cord and the", gap=20, fontsize=8, fontname="tibo"
    )
    page.insert_text(
        (386, y + 9), "neurons counted in the treated rats was sig-", fontsize=8, fontname="tibo"
    )
    x = 386.0
    for word in ("nificantly", "decreased", "after", "injection"):  # a justified row, one word at a time
        page.insert_text((x, y + 18), word, fontsize=8, fontname="tibo")
        x += pymupdf.get_text_length(word, fontname="tibo", fontsize=8) + 8
    page.insert_text((386, y + 27), "of the antagonist (D).", fontsize=8, fontname="tibo")
    (pair,) = extract(doc)
    assert pair["caption"].endswith("significantly decreased after injection of the antagonist (D).")


def test_body_text_flowing_beside_a_figure_does_not_cut_it_off_from_its_caption() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_textbox(pymupdf.Rect(301, 60, 544, 300), " ".join([BODY] * 5), fontsize=9.5, fontname="tiro")
    # a figure wider than a column; the first column's paragraph narrows and runs on beside it
    page.insert_textbox(pymupdf.Rect(43, 60, 286, 402), " ".join([BODY] * 6), fontsize=9.5, fontname="tiro")
    page.insert_textbox(pymupdf.Rect(43, 402, 233, 700), " ".join([BODY] * 4), fontsize=9.5, fontname="tiro")
    plot = pymupdf.Rect(245, 412, 543, 536)
    y = caption_under_plot(
        page, plot, "Figure 4. Effects of the two isoforms on the response to saline and", gap=21, fontsize=8
    )
    page.insert_text((245, y + 9), "cocaine in both genotypes of mice.", fontsize=8, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 4" and iou(pair["bbox"], tuple(plot)) > 0.8


def test_a_title_page_author_block_is_not_part_of_a_text_figure_in_one_column() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((150, 110), "Story Completion with Latent Variables", fontsize=16, fontname="tibo")
    for row, text in enumerate(
        ("Ann Author and Bob Writer", "Institute of Computing, A University", "{ann, bob}@uni.edu")
    ):
        width = pymupdf.get_text_length(text, fontname="tiro", fontsize=12)
        page.insert_text((312 - width / 2, 160 + 14 * row), text, fontsize=12, fontname="tiro")  # centred
    page.insert_textbox(pymupdf.Rect(54, 220, 297, 740), " ".join([BODY] * 10), fontsize=10, fontname="tiro")
    story = (
        ("Given story:", "Dad loves cookies."),
        ("Gold:", "Mom bakes none."),
        ("Generic:", "He ate them."),
    )
    for row, (label, text) in enumerate(story):  # a figure made of text alone
        page.insert_text((330, 222 + 10 * row), label, fontsize=7, fontname="hebo")
        page.insert_text((390, 222 + 10 * row), text, fontsize=7, fontname="helv")
    page.insert_text(
        (315, 280), "Figure 1: An example story with different generated plots.", fontsize=9, fontname="tiro"
    )
    page.insert_textbox(pymupdf.Rect(315, 300, 558, 740), " ".join([BODY] * 10), fontsize=10, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 1" and pair["bbox"][0] >= 325 and pair["bbox"][1] >= 210


def test_a_figure_stacked_under_a_ruled_table_keeps_to_its_own_caption() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text(
        (72, 100),
        "Table 8: Wire requirements and total mass of the generators.",
        fontsize=11,
        fontname="tiro",
    )
    bottom = booktabs_table(page, 99, 130, 490, rows=14)
    panels = (
        pymupdf.Rect(130, bottom + 23, 274, bottom + 130),
        pymupdf.Rect(329, bottom + 17, 443, bottom + 142),
    )
    for panel in panels:
        vector_plot(page, panel)
    page.insert_text(
        (72, bottom + 190), "Figure 8: Gap comparison of the two machines.", fontsize=11, fontname="tiro"
    )
    paragraph(page, 72, bottom + 220, 540)
    table, figure = sorted(extract(doc), key=lambda pair: pair["bbox"][1])
    assert table["label"] == "Table 8" and abs(table["bbox"][3] - bottom) < 3
    assert figure["label"] == "Figure 8" and figure["bbox"][1] > bottom


def full_width_figure_over_a_short_caption(text_under_right_panel: str = "") -> tuple[Any, pymupdf.Rect]:
    """Two panels side by side (the right one reaching lower) over a caption at the left margin."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    left, right = pymupdf.Rect(80, 60, 300, 460), pymupdf.Rect(310, 60, 530, 500)
    vector_plot(page, left)
    vector_plot(page, right)
    if text_under_right_panel:
        page.insert_text((330, 525), text_under_right_panel, fontsize=9, fontname="tiro")
    page.insert_text((51, 525), "Figure 11. Ring expansion in the series.", fontsize=9, fontname="tiro")
    for x0 in (51, 315):
        page.insert_textbox(
            pymupdf.Rect(x0, 545, x0 + 240, 760), " ".join([BODY] * 4), fontsize=10, fontname="tiro"
        )
    return doc, left | right


def test_a_short_caption_under_a_full_width_figure_takes_the_panels_beside_it_too() -> None:
    doc, whole = full_width_figure_over_a_short_caption()
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 11" and iou(pair["bbox"], tuple(whole)) > 0.8


def test_a_panel_with_text_of_its_own_under_it_is_not_joined_to_the_caption_at_the_left() -> None:
    doc, _ = full_width_figure_over_a_short_caption("Photograph courtesy of the museum archive.")
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 11" and pair["bbox"][2] < 310


def test_a_table_over_the_references_in_the_next_column_is_no_panel_of_the_figure_beside_it() -> None:
    # (a student's proposal in two columns: a tall flow chart over a short caption in the left
    # column; in the right one, level with the chart's top, the rest of a ruled table begun on the
    # left, then the reference list in a size larger than the body's, down past the caption)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(595, 842), columns=((40, 292), (303, 556)), top=72, bottom=760, repeats=12)
    page = doc.new_page(width=595, height=842)
    chart = pymupdf.Rect(55, 54, 294, 500)
    vector_plot(page, chart)
    page.insert_text((103, 509), "Gambar 3. Alur Pengolahan Penelitian.", fontsize=8, fontname="tiro")
    for row in range(10):
        y = 54 + 24 * row
        page.draw_line((304, y), (555, y), width=0.5)
        page.insert_text((308, y + 15), f"Kegiatan {row + 1}", fontsize=10, fontname="tiro")
        page.draw_rect(
            pymupdf.Rect(400 + 12 * (row % 5), y + 2, 430 + 12 * (row % 5), y + 22), fill=(0.3, 0.5, 0.8)
        )
    page.draw_line((304, 294), (555, 294), width=0.5)
    for x in (304, 395, 555):
        page.draw_line((x, 54), (x, 294), width=0.5)
    page.insert_text((400, 330), "DAFTAR PUSTAKA", fontsize=10, fontname="tiro")
    entry = (
        "Departemen Pekerjaan Umum Direktorat",
        "Jenderal Penataan Ruang, Pedoman",
        "Kawasan Rawan Bencana, 2007.",
    )
    for number in range(8):  # each number at the margin, its entry in lines of five words or fewer
        y = 350 + 45 * number
        page.insert_text((305, y), f"[{number + 1}]", fontsize=12, fontname="tiro")
        for row, words in enumerate(entry):
            page.insert_text((338, y + 14 * row), words, fontsize=12, fontname="tiro")
    page.insert_textbox(pymupdf.Rect(40, 540, 292, 760), " ".join([BODY] * 3), fontsize=10, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 3" and pair["bbox"][2] < 300


def test_a_reference_list_in_two_columns_does_not_hide_the_caption_above_its_left_column() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    plot = pymupdf.Rect(80, 80, 280, 260)
    caption_under_plot(
        page, plot, "Figure 7: Performance for a synthetic data set.", gap=22, x=72, fontsize=10
    )
    page.insert_textbox(pymupdf.Rect(72, 320, 290, 480), " ".join([BODY] * 3), fontsize=10, fontname="tiro")
    entry = "[Ab12] Smith-Jones-Brown: Opacity-Optimization"
    for row in range(55):  # small print: the right column runs from the top, the left under the prose
        y = 90 + 11 * row
        page.insert_text((305, y), entry, fontsize=8, fontname="tiro")
        if y >= 500:
            page.insert_text((120, y), entry, fontsize=8, fontname="tiro")
    prose_pages(doc, 2, size=(595, 842), columns=((72, 290), (305, 523)), top=72, bottom=760, repeats=12)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 7" and iou(pair["bbox"], tuple(plot)) > 0.7


def test_a_ruled_table_whose_cells_are_sentences_runs_down_to_its_bottom_rule() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 80), "Table 1. Two experiments on bargaining", fontsize=10, fontname="tiro")
    page.draw_line((72, 86), (540, 86), width=0.8)
    page.insert_text((80, 98), "Experiment", fontsize=9, fontname="tiro")
    page.insert_text((210, 98), "Research questions", fontsize=9, fontname="tiro")
    page.insert_text((400, 98), "Features", fontsize=9, fontname="tiro")
    page.draw_line((72, 104), (540, 104), width=0.5)
    questions = (
        "1. What happens when legislators have the option of trading pork for policy?",
        "2. Would the overall outcomes differ if trading of this kind was banned by law?",
        "3. Would fewer bills get passed and would minorities fare differently then?",
    )
    y = 118.0
    for number, question in enumerate(questions):
        page.insert_text((80, y), f"Experiment {number + 1}", fontsize=9, fontname="tiro")
        page.insert_textbox(pymupdf.Rect(210, y - 8, 385, y + 30), question, fontsize=9, fontname="tiro")
        page.insert_text((400, y), "visible budget, real policy", fontsize=9, fontname="tiro")
        y += 40
    page.draw_line((72, y), (540, y), width=0.8)
    paragraph(page, 72, y + 20, 300, lines=20)
    paragraph(page, 312, y + 20, 540, lines=20)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 1" and pair["bbox"][3] >= y - 2


def test_a_regression_table_with_standard_errors_in_brackets_is_not_taken_for_equations() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 72, 60, 540)
    page.insert_text(
        (72, 160), "TABLE A2. The effect of policy changes on vote share", fontsize=10, fontname="tibo"
    )
    page.draw_line((72, 166), (540, 166), width=0.8)
    y = 180.0
    for column in range(4):
        page.insert_text((230 + column * 80, y), f"({'I' * (column + 1)})", fontsize=10, fontname="tiro")
    page.draw_line((72, 186), (540, 186), width=0.5)
    for row, name in enumerate(("policy", "deficit", "unemployment", "inflation", "constant")):
        y += 28
        page.insert_text((76, y), name, fontsize=10, fontname="tiro")
        columns = range(4) if row != 3 else range(1)  # one model only has this regressor
        for column in columns:
            page.insert_text((230 + column * 80, y), f"-{row + 1}.{column}41*", fontsize=10, fontname="tiro")
            page.insert_text(
                (230 + column * 80, y + 13), f"({row + 2}.{column}56)", fontsize=10, fontname="tiro"
            )
    paragraph(page, 72, y + 40, 540)
    (pair,) = extract(doc)
    assert pair["label"] == "Table A2" and pair["bbox"][3] >= y + 12


def test_two_charts_side_by_side_split_at_their_gutter_though_it_is_off_the_middle_between_captions() -> None:
    # the right caption's block starts at its column's edge, left of its chart: the left chart reaches
    # past the middle between the captions (IEICE)
    doc = pymupdf.open()
    page = doc.new_page()
    left, right = pymupdf.Rect(76, 108, 316, 278), pymupdf.Rect(304, 108, 542, 278)
    vector_plot(page, left)
    vector_plot(page, right)
    page.insert_text((100, 296), "Fig. 10 Average throughput versus node number", fontsize=8, fontname="tiro")
    page.insert_text(
        (300, 296), "Fig. 12 Throughput versus node number in case of no role", fontsize=8, fontname="tiro"
    )
    paragraph(page, 72, 330, 540)
    pairs = {pair["label"]: pair["bbox"] for pair in extract(doc)}
    assert set(pairs) == {"Figure 10", "Figure 12"}
    assert iou(pairs["Figure 10"], tuple(left)) > 0.8 and iou(pairs["Figure 12"], tuple(right)) > 0.8


def test_a_table_label_ruled_off_from_its_title_in_a_magazine_panel_keeps_the_title() -> None:
    # a three-column magazine: "Table 2." in a tinted header over a rule over its title, the table
    # on a lighter panel under them (Dermatological Nursing)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.draw_rect(pymupdf.Rect(42, 94, 203, 161), color=None, fill=(0.75, 0.85, 0.95))
    page.draw_rect(pymupdf.Rect(42, 149, 203, 399), color=None, fill=(0.9, 0.95, 1.0))
    page.insert_text((48, 111), "Table 2.", fontsize=12, fontname="hebo")
    page.draw_line((48, 115.3), (198, 115.3), width=0.5, color=(0.1, 0.2, 0.5))
    for row, text in enumerate(
        ("Frequency of cosmetic issues", "reported by eczema patients", "and their carers")
    ):
        page.insert_text((48, 127 + 11 * row), text, fontsize=11, fontname="hebo")
    bottom = booktabs_table(page, 48, 167, 198, rows=18)
    for column in (1, 2):
        page.insert_textbox(
            pymupdf.Rect(215 + (column - 1) * 180, 60, 380 + (column - 1) * 180, 800),
            " ".join([BODY] * 9),
            fontsize=10,
            fontname="tiro",
        )
    page.insert_textbox(pymupdf.Rect(48, 411, 198, 800), " ".join([BODY] * 4), fontsize=10, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["label"] == "Table 2" and pair["caption"].endswith("eczema patients and their carers")
    assert pair["bbox"][1] >= 141 and pair["bbox"][3] >= bottom - 2


def test_a_framed_chart_with_a_legend_of_short_entries_is_no_sidebar_of_prose() -> None:
    # its data points drawn as glyphs of a font with no text: the frame holds only the legend and
    # the row of element names (J. Phys.: Condens. Matter, 2003)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    frame = pymupdf.Rect(186, 100, 370, 240)
    page.draw_rect(frame, width=0.6)
    for row, entry in enumerate(("TB (100)", "TB (110)", "TB (111)", "Exp")):
        page.draw_rect(pymupdf.Rect(196, 108 + 6 * row, 199, 111 + 6 * row), width=0.4)
        page.insert_text((201, 112 + 6 * row), entry, fontsize=5, fontname="hebo")
    page.insert_text((192, 238), "V Cu Nb Mo Rh Pd Ag Ta W Ir Pt Au", fontsize=8, fontname="tiro")
    page.insert_text(
        (96, 282),
        "Figure 10. Low-index surface energies of several transition and noble metals.",
        fontsize=9,
        fontname="tiro",
    )
    paragraph(page, 96, 300, 500)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 10" and iou(pair["bbox"], tuple(frame)) > 0.8


def test_a_last_word_wrapped_onto_a_row_of_its_own_reads_last() -> None:
    # "... in example" + "1" with a footnote mark, alone on the caption's last row (Pergamon, 2000)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((26, 55), "Table 4", fontsize=8, fontname="tiro")
    page.insert_text(
        (26, 65),
        "Comparison of the discretised equations, in functional form, used for the FDM and CVF in example",
        fontsize=8,
        fontname="tiro",
    )
    page.insert_text((26, 75), "1", fontsize=8, fontname="tiro")
    page.insert_text((30, 72), "a", fontsize=5.5, fontname="tiro")
    bottom = booktabs_table(page, 26, 90, 528, rows=6)
    paragraph(page, 26, bottom + 30, 528)
    (pair,) = extract(doc)
    assert normalize_caption(pair["caption"]).startswith("Table 4 Comparison")
    assert normalize_caption(pair["caption"]).replace(" ", "").endswith("example1a")


def test_the_next_caption_label_written_apart_from_its_title_starts_a_caption_of_its_own() -> None:
    # a bilingual figure caption, then right under it a bilingual table caption whose "表2" the
    # PDF wrote apart from its title (a Chinese journal's template)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    plot = pymupdf.Rect(150, 120, 450, 290)
    vector_plot(page, plot)
    page.insert_text((256, 309), "图2", fontsize=9, fontname="china-s")
    page.insert_text((282, 309), "通栏图片示例", fontsize=9, fontname="china-s")
    page.insert_text((212, 323), "Fig. 2 An example graph in one column", fontsize=9, fontname="tiro")
    page.insert_text((256, 343), "表", fontsize=9, fontname="china-s")
    page.insert_text(
        (265, 343), "2", fontsize=9, fontname="tiro"
    )  # a line of its own, 9 pt short of the title
    page.insert_text((278.5, 343), "通栏表格示例", fontsize=9, fontname="china-s")
    page.insert_text((208, 357), "Table 2 An example table in one column", fontsize=9, fontname="tiro")
    bottom = booktabs_table(page, 72, 366, 523, rows=8)
    # (body set with open leading: a caption's rows may stand as far apart)
    page.insert_textbox(
        pymupdf.Rect(72, bottom + 30, 523, 800),
        " ".join([BODY] * 8),
        fontsize=10,
        fontname="tiro",
        lineheight=1.6,
    )
    pairs = {pair["label"]: normalize_caption(pair["caption"]) for pair in extract(doc)}
    assert pairs["Figure 2"].endswith("Fig. 2 An example graph in one column")
    assert pairs["Table 2"].startswith("表2 通栏表格示例 Table 2")


def test_a_row_of_panel_letters_as_wide_as_a_line_of_prose_is_the_figure_s_not_body_text() -> None:
    # "(a)", wide spaces, "(b)", wide spaces, "(c)" written as one line in the body's size between
    # three charts and their caption at a two-column page's foot (J. Applied Fluid Mechanics)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    paragraph(page, 57, 60, 290, lines=40)
    paragraph(page, 305, 60, 538, lines=40)
    for column in range(3):
        vector_plot(page, pymupdf.Rect(57 + column * 161, 580, 213 + column * 161, 730))
    page.insert_text((75, 741), "(a)" + " " * 50 + "(b)" + " " * 50 + "(c)", fontsize=10, fontname="tiro")
    page.insert_text(
        (65, 762),
        "Fig. 4 Numerical results of the three cases for the grid sizes compared",
        fontsize=10,
        fontname="tibo",
    )
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 4" and iou(pair["bbox"], (57, 580, 535, 743)) > 0.8


def test_a_table_rule_drawn_as_a_dot_long_stroke_with_a_wide_pen_stays_a_thin_rule() -> None:
    # the side rules of a table in the right column, each a horizontal stroke 0.8 pt long and
    # 240 pt thick: a bar down the table's edge, not a square over the left column (Nuclear Technology)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    paragraph(page, 64, 60, 298, lines=40)
    page.insert_text((400, 100), "TABLE I Pulsed Sphere Parameter Summary", fontsize=8, fontname="tiro")
    bottom = booktabs_table(page, 326, 108, 570, rows=20)
    middle = (108 + bottom) / 2
    for x in (326, 569.2):
        page.draw_line((x, middle), (x + 0.8, middle), width=bottom - 108)
    paragraph(page, 326, bottom + 30, 570, lines=20)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 1" and pair["bbox"][0] >= 320


def test_a_paragraph_of_notes_under_a_figure_s_caption_is_not_part_of_it() -> None:
    # (The Econometrics Journal: the caption's one sentence, then "Notes: ..." in the same size)
    doc = pymupdf.open()
    page = doc.new_page(width=485, height=697)
    plot = pymupdf.Rect(54, 71, 437, 229)
    caption_under_plot(
        page, plot, "Figure 1. Simulated expected employment rates by year.", 17, fontsize=8, fontname="tibo"
    )
    notes = (
        "Notes: Simulations based on refugee resettlement data described in Section 5. Employment rates "
        "for refugees with no US ties only. Grey lines: 32 simulation runs of the Thompson algorithm."
    )
    page.insert_textbox(pymupdf.Rect(54, 249, 437, 290), notes, fontsize=8, fontname="tiro")
    paragraph(page, 54, 310, 437)
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 1. Simulated expected employment rates by year."


def test_a_one_row_caption_centred_on_the_column_ends_before_the_next_paragraph_s_full_line() -> None:
    # (a Word proceedings paper in one column: caption and body text in one size, no period)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    plot = pymupdf.Rect(71, 82, 524, 500)
    caption_under_plot(page, plot, "Figure 2: The model used for Termonet heat pump calibration", 22, 147, 12)
    page.insert_textbox(pymupdf.Rect(71, 531, 527, 700), " ".join([BODY] * 4), fontsize=12, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 2: The model used for Termonet heat pump calibration"


def test_a_round_dot_and_a_hairline_tick_keep_their_pen_while_a_broad_butt_stroke_is_a_bar() -> None:
    from cephalo_ray.extract.document import read_page

    doc = pymupdf.open()
    page = doc.new_page()
    page.draw_line((100, 100), (100.3, 100), width=4, lineCap=1)  # a scatter plot's round dot
    page.draw_line((200, 100), (200.3, 100), width=0.5)  # a tick a hair long
    page.draw_line((300, 200), (300.8, 200), width=200)  # a table's side rule drawn across
    boxes = sorted((g.box for g in read_page(doc[0]).graphics), key=lambda box: box.x0)
    dot, tick, bar = boxes
    assert dot.width >= 3.9 and tick.width >= 0.7
    assert bar.width <= 1.0 and bar.height >= 199


def test_maps_placed_larger_than_their_clips_are_boxed_where_they_print() -> None:
    # two framed maps side by side, each placed half again as large as its frame and cut to it by a
    # clip path (ASCE): the placements reach past the page's top margin and across the gutter
    photo = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 120, 80), False)
    photo.clear_with(90)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    frames = [pymupdf.Rect(136, 76, 242, 249), pymupdf.Rect(378, 76, 468, 249)]
    placements = [pymupdf.Rect(99, 40, 247, 260), pymupdf.Rect(343, 11, 548, 315)]
    for placement in placements:
        page.insert_image(placement, pixmap=photo, keep_proportion=False)
    page.clean_contents()
    (contents,) = page.get_contents()
    # each image drawn inside its own frame's clip (PDF space: y up)
    left, right, rest = doc.xref_stream(contents).split(b"Q", 2)
    left_clip, right_clip = (f"q {f.x0} {792 - f.y1} {f.width} {f.height} re W n ".encode() for f in frames)
    doc.update_stream(contents, left_clip + left + b"Q Q " + right_clip + right + b"Q Q" + rest)
    for frame, label in (frames[0], "(a) Statewide"), (frames[1], "(b) Wasatch Front"):
        page.draw_rect(frame, color=(0, 0, 0), width=0.5)
        page.insert_text((frame.x0 + 20, 262), label, fontsize=11, fontname="tiro")
    page.insert_text(
        (136, 290),
        "Fig. 2. Total cost of link closure for each scenario by the logsum method.",
        fontsize=11,
        fontname="tiro",
    )
    paragraph(page, 72, 340, 540)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 2" and iou(pair["bbox"], (135.5, 75.5, 468.5, 265)) > 0.9


@pytest.mark.parametrize("rotation", [0, 90, 270])
def test_printed_image_boxes_are_get_image_info_placements_cut_to_their_clip(rotation: int) -> None:
    from cephalo_ray.extract.image_clips import printed_image_boxes

    photo = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 40, 30), False)
    photo.clear_with(90)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_image(pymupdf.Rect(100, 100, 300, 250), pixmap=photo, keep_proportion=False)
    page.insert_image(pymupdf.Rect(320, 100, 500, 250), pixmap=photo, keep_proportion=False)
    page.insert_image(pymupdf.Rect(100, 600, 200, 700), pixmap=photo, keep_proportion=False)
    page.clean_contents()
    (contents,) = page.get_contents()
    first, second, hidden, rest = doc.xref_stream(contents).split(b"Q", 3)
    clip = b"q 120 592 100 50 re W n "  # x 120-220, y 150-200 from the top
    away = b"q 0 0 10 10 re W n "  # the third image is clipped away entirely
    doc.update_stream(contents, clip + first + b"Q Q " + second + b"Q " + away + hidden + b"Q Q" + rest)
    page.set_rotation(rotation)
    placements = [pymupdf.Rect(info["bbox"]) for info in page.get_image_info()]
    boxes = [
        tuple(round(value, 3) for value in (box.x0, box.y0, box.x1, box.y1))
        for box in printed_image_boxes(page)
    ]
    assert boxes == [(120, 150, 220, 200), tuple(placements[1])]


def chart_with_white_margins(width: int, height: int, ink: tuple[int, int, int, int]) -> Any:
    """A chart exported with its page's white round it: grey ink inside `ink`, white elsewhere."""
    chart = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, width, height), False)
    chart.clear_with(255)
    chart.set_rect(pymupdf.IRect(*ink), (60, 90, 160))
    return chart


def test_printed_image_boxes_are_cut_to_the_ink_of_a_picture_saved_with_white_margins() -> None:
    from cephalo_ray.extract.image_clips import printed_image_boxes

    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    # 2 pt per pixel: ink from pixel (10, 20) to (90, 80) prints at (120, 140)-(280, 260)
    page.insert_image(
        pymupdf.Rect(100, 100, 300, 260), pixmap=chart_with_white_margins(100, 80, (10, 20, 90, 80))
    )
    blank = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 20, 20), False)
    blank.clear_with(255)  # all white: nothing to cut to, its placement stays
    page.insert_image(pymupdf.Rect(100, 400, 200, 500), pixmap=blank)
    boxes = [
        tuple(round(value, 1) for value in (box.x0, box.y0, box.x1, box.y1))
        for box in printed_image_boxes(page)
    ]
    assert boxes == [(120, 140, 280, 260), (100, 400, 200, 500)]


def test_a_chart_whose_white_margin_touches_the_table_above_is_not_merged_with_that_table() -> None:
    # a thesis page (KTH): a ruled table under its caption, then a chart exported with a white band
    # on top whose placement starts 1.4 pt under the table's bottom rule, captioned below
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text(
        (127, 134), "Table 5.1: Write latency experiment results compared across", fontsize=9, fontname="tiro"
    )
    bottom = booktabs_table(page, 127.6, 144, 512.4, rows=8)
    # 0.8 pt per pixel vertically: 34 white rows on top put the ink 27 pt under the placement's top
    placement = pymupdf.Rect(127.6, bottom + 1.4, 496.1, bottom + 1.4 + 278)
    chart = chart_with_white_margins(368, 348, (4, 34, 364, 340))
    page.insert_image(placement, pixmap=chart, keep_proportion=False)
    page.insert_text(
        (127, placement.y1 + 18),
        "Figure 5.1: Histogram in log-scale of the write latency results",
        fontsize=9,
        fontname="tiro",
    )
    paragraph(page, 127, placement.y1 + 40, 512, lines=12)
    pairs = {pair["label"]: pair for pair in extract(doc)}
    assert iou(pairs["Table 5.1"]["bbox"], (127.6, 144, 512.4, bottom)) > 0.9
    assert iou(pairs["Figure 5.1"]["bbox"], (131.6, placement.y0 + 27.2, 492.1, placement.y0 + 272)) > 0.9


def test_a_listing_ruled_at_its_top_and_broken_across_pages_runs_to_the_page_s_last_line() -> None:
    # a thesis (KTH): the listing's caption, the rule under it, then code to the foot of the page;
    # its bottom rule is overleaf
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    paragraph(page, 99, 430, 467, lines=6)
    page.insert_text(
        (99, 536),
        "Listing 4.4: A simple time difference approach to measure the time required",
        fontsize=11,
        fontname="tiro",
    )
    page.draw_line((99, 541), (467, 541), width=0.4)
    code = [
        "import time",
        "import pyarrow as pa",
        "from deltalake import write_deltalake",
        'HDFS_DATA_PATH = "hdfs://rpc.sys:8020/exp"',
        'LOCAL_PATH = "/abs/path/table.parquet"',
        "pa_table = pa.parquet.read_table(LOCAL_PATH)",
        "",
        "before_writing = time.time()",
        "write_deltalake(HDFS_DATA_PATH, pa_table)",
        "after_writing = time.time()",
    ]
    for row, text in enumerate(code):
        if text:
            page.insert_text((101, 553 + 12 * row), text, fontsize=9, fontname="cour")
    pairs = {pair["label"]: pair for pair in extract(doc)}
    assert iou(pairs["Listing 4.4"]["bbox"], (99, 541, 467, 663)) > 0.85


def test_a_short_caption_at_the_foot_of_the_last_column_takes_nothing_from_the_table_above_it() -> None:
    # a centred caption in table size, no full stop, at the foot of the right column (a Word journal):
    # a header cell right of its short line, at the column's top, is no next column it goes on in
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    for y in (72, 300, 530):
        paragraph(page, 56, y, 296, lines=15)
    page.insert_text((360, 80), "Table 4. Volume of materials", fontsize=8, fontname="tiro")
    booktabs_table(page, 320, 90, 545)
    paragraph(page, 320, 170, 545, lines=18)
    caption_under_plot(
        page, pymupdf.Rect(340, 420, 525, 700), "Figure 1. Compressive test", 20, x=390, fontsize=8
    )
    pairs = {pair["label"]: pair for pair in extract(doc)}
    assert pairs["Figure 1"]["caption"] == "Figure 1. Compressive test"


@pytest.mark.parametrize("double_spaced", [True, False])
def test_a_double_spaced_report_sets_its_caption_further_below_the_figure(double_spaced: bool) -> None:
    # a Word report in double spacing: a figure on a page of its text, its caption 80 pt under it,
    # more than the inch a single-spaced page leaves (where so far below, it captions no figure)
    doc = pymupdf.open()
    for number in range(3):
        page = doc.new_page(width=612, height=792)
        spacing = 2.3 if double_spaced else 1.15
        if number == 1:
            plot = pymupdf.Rect(90, 160, 520, 390)
            caption_under_plot(
                page, plot, "Figure 1. Definition sketch for wave overwash of a dune", 90, x=150
            )
            page.insert_textbox(
                pymupdf.Rect(72, 560, 540, 720),
                " ".join([BODY] * 2),
                fontsize=12,
                fontname="tiro",
                lineheight=spacing,
            )
            continue
        text = " ".join([BODY] * 8)
        page.insert_textbox(
            pymupdf.Rect(72, 72, 540, 720), text, fontsize=12, fontname="tiro", lineheight=spacing
        )
    pairs = extract(doc)
    if double_spaced:
        (pair,) = pairs
        assert pair["label"] == "Figure 1" and iou(pair["bbox"], tuple(plot)) > 0.9
    else:
        assert not pairs


def test_a_caption_in_the_first_row_of_a_grid_ends_at_the_rule_under_it() -> None:
    # a report's table: its caption a merged first row of the grid, a double rule under it, then a
    # bold header whose first cell takes two lines (ERDC): the header is no line of the caption
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    paragraph(page, 72, 72, 540, lines=8)
    left, middle, right = 92.0, 306.0, 520.0
    edges = [189.0, 207.0, 237.0, 253.0, 269.0, 285.0]
    for y in edges:
        page.draw_line((left, y), (right, y), width=0.5)
    page.draw_line((left, 208.5), (right, 208.5), width=0.5)
    for x in (left, right):
        page.draw_line((x, edges[0]), (x, edges[-1]), width=0.5)
    page.draw_line((middle, edges[1]), (middle, edges[-1]), width=0.5)
    page.insert_text(
        (96, 202),
        "Table 1. Antecedent Precipitation Score categories from NRCS (1997).",
        fontsize=11,
        fontname="hebo",
    )
    page.insert_text((96, 220), "Antecedent Precipitation Score Range,", fontsize=11, fontname="hebo")
    page.insert_text((96, 233), "where n = 3", fontsize=11, fontname="hebo")
    page.insert_text((310, 233), "Antecedent Precipitation Condition", fontsize=11, fontname="hebo")
    for row, (score, condition) in enumerate(
        [
            ("Score < 10", "Drier than Normal"),
            ("10 < Score < 15", "Normal Conditions"),
            ("15 < Score", "Wetter than Normal"),
        ]
    ):
        page.insert_text((96, edges[2] + 12 + 16 * row), score, fontsize=10, fontname="helv")
        page.insert_text((310, edges[2] + 12 + 16 * row), condition, fontsize=10, fontname="helv")
    paragraph(page, 72, 310, 540)
    (pair,) = extract(doc)
    assert pair["caption"] == "Table 1. Antecedent Precipitation Score categories from NRCS (1997)."
    assert iou(pair["bbox"], (left, 208.5, right, edges[-1])) > 0.85


def test_a_figure_captioned_at_its_side_is_not_a_panel_of_the_figure_stacked_under_it() -> None:
    # a stack in a two-column journal (Blackwell, 1998): a wide scanned chart with its caption at its
    # right foot, in the margin left beside it; right under it a column-wide chart captioned below
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    top = pymupdf.Rect(70, 73, 380, 277)
    under = pymupdf.Rect(70, 290, 294, 600)
    chart = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 155, 102), False)
    chart.clear_with(120)  # the printer's scan of the chart
    page.insert_image(top, pixmap=chart, keep_proportion=False)
    side = pymupdf.Rect(392, 240, 535, 290)
    page.insert_textbox(
        side,
        "Fig. 3 Nocturnal distribution of Mysis relicta from Flathead and Waterton Lakes.",
        fontsize=8,
        fontname="tiro",
    )
    caption_under_plot(
        page, under, "Fig. 4 Diel distribution of Diaptomus sicilis at a pelagic site.", 14, fontsize=8
    )
    paragraph(page, 318, 300, 540, lines=20)
    pairs = {pair["label"]: pair for pair in extract(doc)}
    assert iou(pairs["Figure 3"]["bbox"], tuple(top)) > 0.85
    assert iou(pairs["Figure 4"]["bbox"], tuple(under)) > 0.85


def test_a_display_equation_set_well_under_a_ruled_table_is_not_part_of_it() -> None:
    # a two-column journal (TMS, 2001): a small ruled table in the left column and, two rows' height
    # under its bottom rule, a display equation whose fraction bars span most of the column
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text(
        (52, 375), "Table II. The Neglect of the Impact Terms in Equation [19]", fontsize=8.5, fontname="tibo"
    )
    bottom = booktabs_table(page, 50, 382, 290)
    y = bottom + 34
    for row in range(4):
        page.insert_text((60, y), "ln g", fontsize=9, fontname="tiro")
        page.insert_text((120, y - 6), "a(x) + b(x) - c(x) + d(x)", fontsize=8, fontname="tiro")
        page.draw_line((110, y - 2), (270, y - 2), width=0.4)
        page.insert_text((120, y + 7), "R T (1 - x) (1 - y)", fontsize=8, fontname="tiro")
        page.insert_text((275, y), f"[{23 + row}]", fontsize=9, fontname="tiro")
        y += 30
    paragraph(page, 318, 72, 560, lines=40)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 2" and iou(pair["bbox"], (50, 382, 290, bottom)) > 0.85


def test_the_last_lines_of_a_paragraph_broken_by_a_script_are_body_text_not_a_cluster() -> None:
    # JHEP, as the page reads: the paragraph's last two lines, the first broken into pieces by the
    # scripts of an E_T^miss (its first piece reading smaller), in a block of their own right under
    # the paragraph's full last line; a small table under them must not claim them
    from cephalo_ray.extract.geometry import Cluster, TextLine, TextStats
    from cephalo_ray.extract.item_edges import with_paragraph_ends

    stats = TextStats(body_size=11.0, column_width=428.6, line_gap=5.2)
    lines = [
        TextLine(
            Box(83.3, 439.0, 512.0, 448.7),
            "GeV in the recasting procedure, since the limits could not be",
            10.9,
            False,
            1,
        ),
        TextLine(Box(83.3, 452.0, 275.0, 463.6), "convincingly validated. The high Emiss", 10.56, False, 2),
        TextLine(Box(264.0, 457.0, 270.0, 464.0), "T", 7.6, False, 2),
        TextLine(
            Box(280.0, 452.0, 512.0, 463.6), "signal region was found to be optimal for most", 10.9, False, 2
        ),
        TextLine(Box(83.3, 465.5, 300.0, 478.5), "operators studied by the ATLAS analysis.", 10.9, False, 2),
        TextLine(Box(166.0, 494.0, 240.0, 505.0), "Signal Region", 10.9, False, 3),
    ]
    ending = Cluster(Box(83.3, 452.0, 512.0, 478.5), lines=[1, 2, 3, 4], text_only=True)
    table = Cluster(Box(161.2, 491.8, 434.0, 527.7), paths=12, lines=[5])
    clusters, body = with_paragraph_ends([ending, table], {0}, lines, stats)
    assert clusters == [table] and sorted(body) == [0, 1, 2, 3, 4]
    # a table's text set apart under a finished sentence stays a cluster
    finished = [replace(lines[0], text=lines[0].text + " ok."), *lines[1:]]
    assert with_paragraph_ends([ending, table], {0}, finished, stats)[0] == [ending, table]


def test_a_margin_caption_keeps_a_figure_set_to_the_far_side_of_the_column_past_an_inch_of_blank() -> None:
    # a Dutch technical report: the figure at the foot of the page, against the left edge of the
    # wide column; its caption in the margin column on the right, 80 pt of blank paper between
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    paragraph(page, 57, 72, 525, lines=30)
    chart = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 150, 115), False)
    chart.clear_with(200)
    figure = pymupdf.Rect(57, 517, 350, 742)
    page.insert_image(figure, pixmap=chart, keep_proportion=False)
    page.draw_rect(figure, color=(0.2, 0.4, 0.8), width=1)
    for row, text in enumerate(
        ["Figure 4:", "wave run-up for smooth", "straight slope in relatively", "deep water"]
    ):
        page.insert_text((432, 530 + 11 * row), text, fontsize=8, fontname="tiit")
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 4" and iou(pair["bbox"], tuple(figure)) > 0.9


def test_a_small_bold_title_takes_its_legend_a_blank_line_under_it() -> None:
    # (The Plant Cell: "Figure 2. Distribution of DH Sites ..." in 7.5 pt bold, a blank line, then
    # the legend's paragraphs "(A) The y axis shows ..." in 7.5 pt roman across the page)
    doc = pymupdf.open()
    page = doc.new_page(width=603, height=783)
    for x0 in (53, 311):
        page.insert_textbox(
            pymupdf.Rect(x0, 60, x0 + 238, 370), " ".join([BODY] * 8), fontsize=8.5, fontname="helv"
        )
    plot = pymupdf.Rect(110, 400, 490, 640)
    vector_plot(page, plot)
    page.insert_text(
        (53, 667), "Figure 2. Distribution of DH Sites along Chromosome 4.", fontsize=7.5, fontname="hebo"
    )
    legend = (
        "(A) The y axis shows normalized read counts in 100-kb windows. The short and long red bars "
        "mark the locations of a heterochromatin knob and the pericentromeric heterochromatin."
    )
    page.insert_textbox(pymupdf.Rect(53, 675, 550, 700), legend, fontsize=7.5, fontname="helv")
    (pair,) = extract(doc)
    assert pair["caption"].startswith("Figure 2. Distribution of DH Sites along Chromosome 4. (A) The y axis")
    assert pair["caption"].endswith("pericentromeric heterochromatin.")


def test_a_figure_alone_on_its_page_with_its_lettering_drawn_is_paired_with_its_short_caption() -> None:
    # a full-page track figure whose labels are outlines, not text: the page's only text is the
    # caption, set flush with the page's text area left of the figure and much narrower than it
    doc = pymupdf.open()
    page = doc.new_page(width=603, height=783)
    for row in range(12):
        top = 70 + row * 52
        page.draw_rect(pymupdf.Rect(83, top, 520, top + 40), color=(0.6, 0.8, 0.9), width=0.5)
        for step in range(20):
            x = 90 + step * 21
            page.draw_rect(
                pymupdf.Rect(x, top + 40 - (step * 7 + row) % 35, x + 6, top + 40), fill=(0, 0, 0.5)
            )
    page.insert_text(
        (53, 720), "Figure 8. Footprints Associated with SEP3 Binding Sites.", fontsize=7.5, fontname="hebo"
    )
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 8. Footprints Associated with SEP3 Binding Sites."
    assert iou(pair["bbox"], (83, 70, 520, 702)) >= 0.9


def test_a_legend_going_on_under_figure_continued_on_the_next_page_joins_the_caption() -> None:
    doc = pymupdf.open()
    first = doc.new_page(width=612, height=792)
    plot = pymupdf.Rect(100, 80, 510, 520)
    caption_under_plot(first, plot, "Figure 1: Geometric stability predicts neural coupling.", 30, 100, 12)
    second = doc.new_page(width=612, height=792)
    # (a LaTeX manuscript that prints the label itself: "Figure 1: Figure 1 (continued): ...")
    second.insert_textbox(
        pymupdf.Rect(100, 80, 512, 200),
        "Figure 1: Figure 1 (continued): Geometric stability predicts neural coupling. Each point is "
        "one area-session observation, colored by functional region.",
        fontsize=12,
        fontname="tiro",
    )
    second.insert_textbox(
        pymupdf.Rect(100, 230, 512, 600), " ".join([BODY] * 6), fontsize=12, fontname="tiro"
    )
    (pair,) = extract(doc)
    assert pair["page"] == 1
    assert pair["caption"] == (
        "Figure 1: Geometric stability predicts neural coupling. Geometric stability predicts neural "
        "coupling. Each point is one area-session observation, colored by functional region."
    )


def test_a_broad_butt_stroke_painting_a_table_s_band_ends_where_its_line_ends() -> None:
    # (Elsevier: each table's grey header band is one line 48 pt thick; two tables side by side
    # across the gutter must not reach into each other)
    from cephalo_ray.extract.document import read_page

    doc = pymupdf.open()
    page = doc.new_page()
    page.draw_line((42.7, 118.9), (293.8, 118.9), color=(0.9, 0.9, 0.9), width=48)
    page.draw_line((311.7, 114.7), (562.8, 114.7), color=(0.9, 0.9, 0.9), width=56.8)
    left, right = sorted((g.box for g in read_page(doc[0]).graphics), key=lambda box: box.x0)
    assert abs(left.x1 - 293.8) <= 0.5 and abs(right.x0 - 311.7) <= 0.5
    assert left.height >= 47 and right.height >= 56


def test_a_figure_continued_with_more_panels_keeps_its_first_page_caption() -> None:
    # (BSSA: "Figure 3. (continued) (c) the velocity difference ..." under the further panels: the
    # caption of that part, not the rest of the first page's legend)
    doc = pymupdf.open()
    first = doc.new_page(width=612, height=792)
    caption_under_plot(
        first, pymupdf.Rect(100, 80, 510, 520), "Figure 3. Horizontal slices through the model.", 30
    )
    second = doc.new_page(width=612, height=792)
    caption_under_plot(
        second, pymupdf.Rect(100, 80, 510, 480), "Figure 3. (continued) (c) The velocity difference.", 30
    )
    second.insert_textbox(
        pymupdf.Rect(100, 560, 512, 700), " ".join([BODY] * 3), fontsize=10, fontname="tiro"
    )
    (pair,) = extract(doc)
    assert pair["page"] == 1 and pair["caption"] == "Figure 3. Horizontal slices through the model."


def test_a_bold_title_centred_over_one_of_two_charts_side_by_side_stays_in_the_figure() -> None:
    # (Political Analysis: "Warping Path" in bold over the right one of two charts under one
    # caption, clear of its chart, reads like a heading)
    doc = pymupdf.open()
    page = doc.new_page(width=493, height=700)
    paragraph(page, 54, 60, 450, lines=10)
    vector_plot(page, pymupdf.Rect(57, 380, 248, 595))  # its top level with the title
    for row in range(14):  # the right chart: a matrix of cells, nothing drawn or written over it
        for column in range(14):
            page.draw_rect(pymupdf.Rect(291 + 11 * column, 420 + 11 * row, 300 + 11 * column, 429 + 11 * row))
    page.insert_text((325, 406), "Warping Path", fontsize=12, fontname="hebo")  # 10 pt over its chart
    page.insert_textbox(
        pymupdf.Rect(54, 612, 451, 640),
        "Figure 3. Warping path. The left chart shows the points matched, connected by dashed lines; the "
        "right chart shows the matrix of the warping path, where only matched pairs are shown.",
        fontsize=9,
        fontname="tiro",
    )
    (pair,) = extract(doc)
    assert pair["bbox"][0] <= 75 and pair["bbox"][2] >= 443  # both charts


def test_a_page_wide_chart_over_a_short_caption_flush_left_in_a_two_column_page() -> None:
    # (The Open Transportation Journal: the chart runs far into the right column, its caption
    # "Fig. (4). Time series ..." is short and set at the left column's edge)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    plot = pymupdf.Rect(83, 309, 517, 533)
    vector_plot(page, plot)
    page.insert_text(
        (57, 552), "Fig. (4). Time series for road fatalities, 1965-2018.", fontsize=8, fontname="tiro"
    )
    for x0 in (57, 308):
        for top, bottom in ((575, 780), (60, 290)):
            left = page.insert_textbox(
                pymupdf.Rect(x0, top, x0 + 230, bottom), " ".join([BODY] * 4), fontsize=10, fontname="tiro"
            )
            assert left >= 0  # (the column's text fits its box)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 4" and iou(pair["bbox"], tuple(plot)) > 0.8


def test_sub_captions_centred_under_stacked_panels_belong_to_the_figure() -> None:
    # (Language Documentation & Conservation: "(a) f0 contours for all words ..." in the body's
    # size, wider than its panel, centred right under it; the figure's caption under the second)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    top, bottom = pymupdf.Rect(210, 126, 401, 317), pymupdf.Rect(210, 343, 401, 550)
    for plot, text, more in (
        (top, "(a) f0 contours for all words plotted together, with frames distinguished", "by line type"),
        (bottom, "(b) f0 contours plotted separately for each target word, with frame indicated", "by color"),
    ):
        vector_plot(page, plot)
        width = pymupdf.get_text_length(text, fontname="tiro", fontsize=10)
        page.insert_text((305.5 - width / 2, plot.y1 + 21), text, fontsize=10, fontname="tiro")
        page.insert_text((290, plot.y1 + 34), more, fontsize=10, fontname="tiro")
    page.insert_text(
        (145, 605),
        "Figure 7: f0 contours of the substitution items from recorded",
        fontsize=10,
        fontname="tiro",
    )
    page.insert_text((145, 618), "elicitation items in the field.", fontsize=10, fontname="tiro")
    page.insert_textbox(pymupdf.Rect(72, 640, 540, 760), " ".join([BODY] * 4), fontsize=10, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 7"
    assert pair["bbox"][1] <= 140 and pair["bbox"][3] >= 580  # both panels and the second sub-caption
    assert pair["bbox"][0] <= 160 and pair["bbox"][2] >= 455


def test_a_caption_set_over_its_figure_does_not_run_on_into_the_next_column() -> None:
    # (Perspectives on Politics: "Figure 1" and its title above a page-wide chart, at the foot of
    # the left column's text; the right column's top line starts in lower case)
    doc = pymupdf.open()
    page = doc.new_page(width=594, height=792)
    written = [
        page.insert_textbox(
            pymupdf.Rect(54, 70, 282, 330), " ".join([BODY] * 4), fontsize=10.5, fontname="tiro"
        ),
        page.insert_textbox(
            pymupdf.Rect(301, 70, 531, 330),
            "surveys, 35% and 40% of respondents then also reported consistently pro-immigration "
            "preferences. " + " ".join([BODY] * 3),
            fontsize=10.5,
            fontname="tiro",
        ),
    ]
    assert min(written) >= 0  # (both columns fit their boxes)
    page.insert_text((54, 357), "Figure 1", fontsize=10.5, fontname="hebo")
    page.insert_text((54, 369), "Immigration Issue Importance Asymmetry", fontsize=10.5, fontname="hebo")
    vector_plot(page, pymupdf.Rect(58, 380, 525, 687))
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 1 Immigration Issue Importance Asymmetry"


def framed_steps(page: Any, lefts: tuple[float, ...], top: float, arrows: bool) -> None:
    """Boxes of bulleted text in a row, each a bold heading over four items; arrows between them."""
    for left in lefts:
        page.draw_rect(pymupdf.Rect(left, top, left + 99, top + 96), color=(0.2, 0.2, 0.2), width=0.8)
        page.insert_text((left + 12, top + 14), "Case Study Selection", fontsize=7.2, fontname="hebo")
        for row, text in enumerate(
            (
                "Analysis of baseline and",
                "six-month burden scores",
                "across intervention group",
                "Purposive sampling",
            )
        ):
            page.insert_text((left + 8, top + 28 + 9 * row), f"\u2022 {text}", fontsize=7.2, fontname="tiro")
    if arrows:
        for left, right in zip(lefts, lefts[1:], strict=False):
            gap = pymupdf.Rect(left + 99 + 3, top + 38, right - 3, top + 56)
            page.draw_polyline(
                [gap.tl, (gap.x1 - 8, gap.y0), gap.br, gap.bl, gap.tl], color=None, fill=(0.4, 0.6, 0.8)
            )


def methods_figure(lefts: tuple[float, ...], arrows: bool) -> Any:
    """A page of two columns of prose under framed steps and their caption "FIGURE 1  Methods", the
    label at the column's left, its title a tab after it."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=782)
    framed_steps(page, lefts, 50, arrows=arrows)
    page.insert_text((45, 168), "FIGURE 1", fontsize=8, fontname="hebo")
    page.insert_text((95, 168), "Methods", fontsize=8, fontname="helv")
    for left in (45, 306):
        page.insert_textbox(
            pymupdf.Rect(left, 190, left + 243, 740), " ".join([BODY] * 8), fontsize=8, fontname="tiro"
        )
    return doc


def test_framed_boxes_of_text_joined_by_arrows_are_a_flowchart_over_its_caption() -> None:
    # (Alzheimer's & Dementia TRCI: three framed boxes of bulleted text joined by arrows)
    (pair,) = extract(methods_figure((95, 247, 400), arrows=True))
    assert pair["label"] == "Figure 1" and iou(pair["bbox"], (95, 50, 499, 146)) > 0.9


def test_a_framed_text_whose_caption_title_runs_under_it_is_a_figure() -> None:
    # (the same journal: one framed box of text over a caption whose label stands left of the box
    # and whose title, a tab after it, runs under the box)
    (pair,) = extract(methods_figure((95,), arrows=False))
    assert pair["label"] == "Figure 1" and iou(pair["bbox"], (95, 50, 194, 146)) > 0.9


def test_a_label_word_and_its_number_written_apart_frame_and_all_head_their_table() -> None:
    # (Journal of Environmental Health: "TABLE" in a large display italic, its two title rows, then
    # "1" in an upright face beside the word; one frame round caption and table, a picture strip
    # three points wide dividing the header's column groups)
    doc = pymupdf.open()
    prose_pages(
        doc, 1, size=(612, 792), columns=((36, 206), (222, 392), (408, 578)), top=40, bottom=740, repeats=6
    )
    page = doc.new_page(width=612, height=792)
    page.draw_rect(pymupdf.Rect(36, 7.3, 390, 276), color=(0, 0, 0), width=0.5)  # (from above the top margin)
    page.insert_text((43, 62), "TABLE", fontsize=18, fontname="tiit")
    page.insert_text(
        (44.5, 87),
        "Number of Foodborne-Disease Hospitalizations by Infectious Agent,",
        fontsize=10,
        fontname="hebo",
    )
    page.insert_text(
        (44.5, 99),
        "Los Angeles County Versus the Rest of California, 1993-2000",
        fontsize=10,
        fontname="hebo",
    )
    page.insert_text((109, 62), "1", fontsize=18, fontname="tiro")
    strip = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 3, 16), False)
    strip.clear_with(0)
    page.insert_image(pymupdf.Rect(248, 111, 251, 127), pixmap=strip, keep_proportion=False)
    page.insert_text((150, 122), "Los Angeles County", fontsize=9, fontname="hebo")
    page.insert_text((286, 122), "Rest of California", fontsize=9, fontname="hebo")
    page.draw_line((40, 127), (386, 127), width=0.5)
    for row, name in enumerate(
        ("Salmonella", "Campylobacter", "E. coli", "Listeria", "Yersinia", "Other", "Total")
    ):
        y = 142 + 16 * row
        page.insert_text((44, y), name, fontsize=9, fontname="tiro")
        for x, value in (
            (150, f"{351 + 40 * row:,}"),
            (200, f"({46.2 - 5 * row:.1f})"),
            (290, f"{1501 + 90 * row:,}"),
        ):
            page.insert_text((x, y), value, fontsize=9, fontname="tiro")
    page.draw_line((40, 244), (386, 244), width=0.5)
    for left in (36, 222):
        page.insert_textbox(
            pymupdf.Rect(left, 300, left + 170, 740), " ".join([BODY] * 5), fontsize=9.5, fontname="tiro"
        )
    page.insert_textbox(pymupdf.Rect(408, 40, 578, 740), " ".join([BODY] * 9), fontsize=9.5, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["label"] == "Table 1" and pair["caption"].startswith("TABLE 1 Number of")
    assert iou(pair["bbox"], (40, 111, 386, 244)) > 0.9


def test_a_strip_of_picture_a_few_points_wide_in_a_ruled_grid_counts_as_a_rule() -> None:
    # (the Journal of Environmental Health's tables: a picture three points wide, sixteen high,
    # divides the column groups of the header; a frame round the caption and the table)
    from cephalo_ray.extract.clusters import graphic_clusters

    page = Box(0.0, 0.0, 612.0, 792.0)
    frame = Graphic(Box(35.8, 7.3, 390.0, 276.2), "path")
    strip = Graphic(Box(248.0, 111.0, 251.0, 127.0), "image")
    (cluster,) = graphic_clusters([frame, strip], page)
    assert cluster.images == 0 and cluster.paths == 2
    photo = Graphic(Box(248.0, 111.0, 300.0, 160.0), "image")
    (cluster,) = graphic_clusters([frame, photo], page)
    assert cluster.images == 1


def test_a_label_ending_a_paragraph_cites_its_table_though_the_pdf_wrote_the_columns_row_by_row() -> None:
    # (Alzheimer's & Dementia TRCI: "... are presented in" + "Table 2." ends a paragraph of the right
    # column; the PDF writes each row of both columns before the next, so the left column's line
    # comes between them; a numbered heading with a drawn bar under the citation)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=782)
    words = BODY.split()
    for row in range(30):
        y = 60 + 13 * row
        left = " ".join(words[(row * 7) % 20 : (row * 7) % 20 + 9])
        page.insert_text((46, y), left, fontsize=8, fontname="tiro")
        if row < 20:
            right = " ".join(words[(row * 5) % 20 : (row * 5) % 20 + 9])
            page.insert_text(
                (308, y),
                right if row < 19 else "Information about the three dyads is presented in",
                fontsize=8,
                fontname="tiro",
            )
        elif row == 20:
            page.insert_text((308, y), "Table 2.", fontsize=8, fontname="tiro")
    page.insert_text((308, 360), "3.2", fontsize=10, fontname="hebo")
    page.draw_line((327, 352), (327, 361), width=0.8)
    page.insert_text((331, 360), "Qualitative results", fontsize=10, fontname="hebo")
    assert extract(doc) == []


def test_the_legend_frames_of_two_charts_stroked_as_one_path_are_two_drawings() -> None:
    # a statistics package strokes every legend frame of the page as one path of rectangles: the
    # left chart, its caption set lower than the right one's, must not reach over to the right (WHO)
    from cephalo_ray.extract.document import read_page

    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 72, 72, 540, lines=4)
    page.insert_text(
        (72, 160), "Fig 3. Proportion of countries implementing mass drug", fontsize=8, fontname="tiro"
    )
    page.insert_text((72, 170), "administration, by region", fontsize=8, fontname="tiro")
    page.insert_text(
        (310, 140), "Fig 4. Proportion of the population at risk covered by", fontsize=8, fontname="tiro"
    )
    page.insert_text((310, 150), "mass drug administration, by region", fontsize=8, fontname="tiro")
    left, right = pymupdf.Rect(80, 178, 290, 300), pymupdf.Rect(318, 158, 530, 300)
    vector_plot(page, left)
    vector_plot(page, right)
    legends = page.new_shape()
    # (each legend in its chart's top right corner, inside the axes)
    left_legend, right_legend = pymupdf.Rect(196, 196, 282, 212), pymupdf.Rect(434, 176, 522, 192)
    for frame in (left_legend, right_legend):
        legends.draw_rect(frame)
    legends.finish(color=(0.1, 0.1, 0.1), width=0.5)
    legends.commit()
    for frame in (left_legend, right_legend):
        page.insert_text((frame.x0 + 4, frame.y0 + 10), "Yet to start", fontsize=6, fontname="helv")
    paragraph(page, 72, 350, 540, lines=4)
    frames = [g.box for g in read_page(page).graphics if 15 <= g.box.height <= 17]
    assert sorted(round(box.x0) for box in frames) == [196, 434]
    pairs = {pair["label"]: pair["bbox"] for pair in extract(doc)}
    assert pairs["Figure 3"][2] < 300 and pairs["Figure 4"][0] > 300
    assert iou(pairs["Figure 3"], tuple(left)) > 0.8 and iou(pairs["Figure 4"], tuple(right)) > 0.8


def test_the_rectangles_of_one_path_that_touch_are_one_drawing() -> None:
    from cephalo_ray.extract.document import read_page

    doc = pymupdf.open()
    page = doc.new_page()
    cells = page.new_shape()
    for column in range(4):  # a table's grid of cells, drawn as one path
        cells.draw_rect(pymupdf.Rect(100 + 50 * column, 100, 150 + 50 * column, 120))
    cells.finish(color=(0, 0, 0), width=0.5)
    cells.commit()
    (grid,) = read_page(page).graphics
    assert grid.box.x0 < 100 and grid.box.x1 > 300


def chart_ruled_at_its_head(right: float) -> tuple[Any, pymupdf.Rect]:
    """A framed chart at the left of the column, a rule across the text 5 pt over it (as a page
    printed from a journal's web view rules the text off over each picture), its caption under it."""
    doc = pymupdf.open()
    page = doc.new_page()
    paragraph(page, 72, 72, 540, lines=4)
    chart = pymupdf.Rect(72, 140, right, 300)
    vector_plot(page, chart)
    page.draw_rect(chart, width=0.5)  # the picture's frame
    page.draw_line((72, 135), (540, 135), width=0.5)
    page.insert_text((72, 322), "Fig. 6. Autoencoders (AEs) architecture.", fontsize=9, fontname="tiro")
    paragraph(page, 72, 340, 540, lines=4)
    return doc, chart


def test_a_rule_across_the_text_that_grazes_a_narrow_chart_is_not_part_of_it() -> None:
    # the chart, less than half the rule's width, is as wide as itself, not as the rule
    doc, chart = chart_ruled_at_its_head(280)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 6"
    assert pair["bbox"][2] < 300 and iou(pair["bbox"], tuple(chart)) > 0.8


def test_a_rule_across_the_page_over_a_chart_as_wide_keeps_to_the_chart() -> None:
    # the same rule over a chart more than half its width is the chart's own (a frame's head)
    doc, _ = chart_ruled_at_its_head(420)
    (pair,) = extract(doc)
    assert pair["bbox"][2] > 535


def test_a_table_begun_at_a_page_s_foot_stops_above_the_page_s_footnotes() -> None:
    # only the table's head, ruled under, fits on the page; the page's footnotes (URLs under a short rule) are no
    # rows of it (an astronomy journal's instrument survey)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(612, 792), columns=((72, 540),), top=72, bottom=720, repeats=30)
    page = doc.new_page()
    y = paragraph(page, 72, 72, 540, lines=44)
    page.insert_text(
        (72, y + 20), "Table 5: Correlators and beamformers using the boards.", fontsize=10, fontname="tiro"
    )
    for x, name in ((80, "Instrument"), (220, "Year"), (300, "Description")):
        page.insert_text((x, y + 42), name, fontsize=10, fontname="tiro")
    page.draw_line((72, y + 46), (540, y + 46), width=0.5)
    page.draw_line((72, 702), (270, 702), width=0.4)  # the footnotes' rule
    page.insert_text(
        (72, 712), "19https://github.com/domagalski/leuschner-spectrometer", fontsize=7, fontname="cour"
    )
    page.insert_text(
        (72, 721), "20http://www.astro.caltech.edu/CRAL/projects.html", fontsize=7, fontname="cour"
    )
    pairs = [pair for pair in extract(doc) if pair["label"] == "Table 5"]
    (pair,) = pairs
    assert pair["bbox"][3] < y + 50


def test_a_standard_s_key_set_at_the_left_under_its_drawing_keeps_the_drawing_with_its_caption() -> None:
    # a European standard: the drawing, its numbered key at the left margin under it, then the
    # caption centred, the key wider apart from the drawing than a caption may stand
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(595, 842), columns=((72, 523),), top=72, bottom=770, repeats=30)
    page = doc.new_page(width=595, height=842)
    drawing = pymupdf.Rect(110, 90, 500, 470)
    vector_plot(page, drawing)
    page.draw_rect(drawing, width=0.6)
    page.insert_text((72, 520), "Key", fontsize=10, fontname="helv")
    for row, part in enumerate(("Lug", "Cam follower", "Cam", "Stop")):
        page.insert_text((72, 545 + 17 * row), str(row + 1), fontsize=10, fontname="helv")
        page.insert_text((92, 545 + 17 * row), part, fontsize=10, fontname="helv")
    page.insert_text((212, 640), "Figure 4 \u2014 Typical jolting apparatus", fontsize=10, fontname="hebo")
    paragraph(page, 72, 660, 523, lines=4)
    (pair,) = [pair for pair in extract(doc) if pair["label"] == "Figure 4"]
    assert pair["bbox"][0] < 75 and pair["bbox"][1] < 95 and pair["bbox"][3] > 590
