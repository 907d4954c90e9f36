"""Layouts of economics working papers and online appendices drawn here with pymupdf: float heads set
as a bold label over a bold title and a paragraph of notes, regression tables whose row labels run
long, summary tables naming other tables in their rows, float pages and stacked figures with panels
captioned "(a)" and "(b)"."""

from __future__ import annotations

from typing import Any

import pymupdf

from tests.unit.extract.test_regions import BODY, extract, iou, prose_pages, vector_plot

NOTES = (
    "Notes: The dependent variable is the average fraction of directors who are classified as independent in",
    "the BoardEx database. Number of Opt Outs is the number of governance categories the firm opts out of.",
    "Heteroskedasticity-consistent standard errors that correct for clustering at the country level appear in",
    "parentheses. ***, **, and * denote significance at the 1, 5, and 10 percent levels, respectively.",
)


def float_head(page: Any, label: str, title: str, notes: tuple[str, ...] = NOTES) -> float:
    """A Word paper's float head: the label and the title centred and bold a blank line apart, then
    a paragraph of notes in a smaller size across the text width; returns where the notes end."""
    for text, baseline in ((label, 49.0), (title, 74.6)):
        width = pymupdf.get_text_length(text, fontname="tibo", fontsize=10.6)
        page.insert_text((306 - width / 2, baseline), text, fontsize=10.6, fontname="tibo")
    for row, text in enumerate(notes):
        page.insert_text((41.5, 91.0 + 10.4 * row), text, fontsize=8.8, fontname="tiro")
    return 91.0 + 10.4 * len(notes)


def regression_table(page: Any, top: float, labels: tuple[str, ...]) -> float:
    """Rows of coefficients with standard errors under them, one label to a row, run far to the left
    of the numbers; returns the foot of the last row."""
    page.draw_line((41.7, top), (571.0, top), width=0.5)
    page.insert_text((123.8, top + 11.8), "Dependent Variable:", fontsize=10.6, fontname="tiro")
    page.insert_text((360.6, top + 11.8), "Fraction of Independent Directors", fontsize=10.6, fontname="tiro")
    for column in range(4):
        page.insert_text(
            (322.6 + 69.3 * column, top + 28.6), f"({column + 1})", fontsize=10.6, fontname="tiro"
        )
    page.draw_line((41.7, top + 33.0), (571.0, top + 33.0), width=0.5)
    # (the labels written first, the numbers after them: each label a text block of its own)
    rows = [top + 49.0 + 38.5 * row for row in range(len(labels))]
    for y, label in zip(rows, labels, strict=True):
        page.insert_text((41.7, y), label, fontsize=10.6, fontname="tiro")
    for row, y in enumerate(rows):
        for column in range(4):
            if (row + column) % 3:
                x = 304.6 + 69.3 * column
                page.insert_text((x, y), f"-0.0{row + 1}{column}2***", fontsize=10.6, fontname="tiro")
                page.insert_text((x + 6.0, y + 16.3), f"(0.0{column}6{row})", fontsize=10.6, fontname="tiro")
    y = rows[-1] + 38.5
    # (ruled at its head only: the rows hang free under it)
    return y - 10.0


LABELS = (
    "Number of Opt Outs",
    "Opt Out of Board Independence Requirements",
    "Opt Out of Board Committee Requirements",
    "Opt Out of Audit Committee Requirements",
    "Opt Out of General Corporate Practices",
    "Opt Out of Shareholder Approval Requirements",
    "Opt Out of General Good Governance Practices",
    "Board Size",
    "Log Assets",
    "Leverage",
    "Return on Assets",
)


def test_a_float_head_with_its_notes_heads_a_regression_table_whose_row_labels_run_long() -> None:
    # (a finance working paper in Word: "Table 4" and "Independent Directors and Opting Out" centred
    # and bold, a blank line apart; a paragraph of notes under them; the table's row labels reach a
    # third of the way across, as wide as the lines of prose of a narrow column)
    doc = pymupdf.open()
    prose_pages(
        doc,
        2,
        size=(612, 792),
        columns=((41.5, 271.5), (341.5, 571.5)),
        top=60,
        bottom=740,
        repeats=7,
        fontsize=10.5,
    )
    page = doc.new_page(width=612, height=792)
    notes_end = float_head(page, "Table 4", "Independent Directors and Opting Out")
    foot = regression_table(page, notes_end + 12.0, LABELS)
    (pair,) = extract(doc)
    assert pair["kind"] == "table"
    assert pair["caption"].startswith("Table 4 Independent Directors and Opting Out Notes: The dependent")
    assert pair["caption"].endswith("10 percent levels, respectively.")
    assert iou(pair["bbox"], (41.7, notes_end + 12.0, 571.0, foot)) > 0.85


def test_table_names_in_the_rows_of_a_summary_table_are_no_captions() -> None:
    # (the same paper's summary statistics: its rows grouped under "Table 4", "Table 5" set in
    # italics between rows of cells, naming the regression tables the variables belong to)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    notes_end = float_head(page, "Table 3", "Summary Statistics")
    top = notes_end + 12.0
    page.draw_line((36.5, top), (575.0, top), width=0.5)
    for x, name in ((180.0, "Variable"), (400.0, "Mean"), (460.0, "Deviation"), (530.0, "Median")):
        page.insert_text((x, top + 12.0), name, fontsize=10.5, fontname="tibo")
    y = top + 26.0
    for group, rows in (("Table 4", 5), ("Table 5", 4), ("Table 6", 5)):
        page.insert_text((183.3, y), group, fontsize=10.5, fontname="tiit")
        y += 13.0
        for row in range(rows):
            page.insert_text((38.7, y), f"Opt Out of Requirement {row + 1}", fontsize=10.5, fontname="tiro")
            for x, value in ((400.0, "0.4293"), (460.0, "0.2206"), (530.0, "0.4615")):
                page.insert_text((x, y), value, fontsize=10.5, fontname="tiro")
            y += 13.0
    page.draw_line((36.5, y - 8.0), (575.0, y - 8.0), width=0.5)
    (pair,) = extract(doc)
    assert pair["caption"].startswith("Table 3 Summary Statistics Notes:")
    assert iou(pair["bbox"], (36.5, top, 575.0, y - 8.0)) > 0.85


def test_stacked_figures_with_captioned_panels_each_take_the_panels_over_their_caption() -> None:
    # (an online appendix: two figures stacked on a page, each two panels with "(a) ..." and
    # "(b) ..." under them; the second figure's first panel is nearer the first figure's caption
    # than its own caption is to its last panel)
    doc = pymupdf.open()
    page = doc.new_page(width=596, height=843)
    for top, number in ((88.0, 2), (345.5, 3)):
        vector_plot(page, pymupdf.Rect(188.4, top, 407.5, top + 54.0))
        page.insert_text((270.0, top + 75.0), "(a) Logit", fontsize=9, fontname="tiro")
        vector_plot(page, pymupdf.Rect(188.4, top + 113.5, 407.5, top + 167.3))
        page.insert_text((230.0, top + 188.0), "(b) Logit with Spatial Lag", fontsize=9, fontname="tiro")
        page.insert_text(
            (205.4, top + 228.0), f"FIGURE {number}. Separationplots", fontsize=12, fontname="tiro"
        )
    pairs = sorted(extract(doc), key=lambda pair: pair["bbox"][1])
    assert [pair["caption"] for pair in pairs] == ["FIGURE 2. Separationplots", "FIGURE 3. Separationplots"]
    assert iou(pairs[0]["bbox"], (188.4, 88.0, 407.5, 255.3)) > 0.8
    assert iou(pairs[1]["bbox"], (188.4, 345.5, 407.5, 512.8)) > 0.8


def test_on_a_page_of_floats_a_caption_takes_the_drawings_far_above_it() -> None:
    # (an online appendix: two maps, each clipped to a small part of its frame, the second far under
    # the first and far over the caption; nothing else on the page but its number)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(596, 843), columns=((72, 524),), top=72, bottom=770, repeats=14, fontsize=12)
    page = doc.new_page(width=596, height=843)
    for rect in (pymupdf.Rect(207.7, 84.0, 389.2, 256.4), pymupdf.Rect(230.0, 380.0, 436.7, 530.0)):
        for row in range(12):
            for column in range(10):
                cell = pymupdf.Rect(
                    rect.x0 + column * rect.width / 10,
                    rect.y0 + row * rect.height / 12,
                    rect.x0 + (column + 1) * rect.width / 10,
                    rect.y0 + (row + 1) * rect.height / 12,
                )
                page.draw_rect(
                    cell, color=None, fill=(0.9, 0.3 + 0.05 * (row % 8), 0.2 + 0.06 * (column % 7))
                )
    page.insert_text(
        (240.0, 656.0), "FIGURE 4. Violence in Sierra Leone's Civil War", fontsize=12, fontname="tiro"
    )
    page.insert_text((292.0, 790.0), "32", fontsize=12, fontname="tiro")
    pairs = [pair for pair in extract(doc) if pair["page"] == 3]
    assert [pair["caption"] for pair in pairs] == ["FIGURE 4. Violence in Sierra Leone's Civil War"]
    assert iou(pairs[0]["bbox"], (207.7, 84.0, 436.7, 530.0)) > 0.9


def test_an_underlined_heading_under_a_caption_is_not_its_figure() -> None:
    # (an ASAE meeting paper in Word: a figure over its centred caption, then "1.3. Leaf Appearance"
    # underlined, nearer the caption than the figure is)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    vector_plot(page, pymupdf.Rect(90.0, 84.4, 519.9, 351.4))
    page.insert_text(
        (100.9, 386.0), "Figure 1. Phenological stages, phases and duration defined in the", fontsize=11
    )
    page.insert_text((250.0, 399.0), "cane and sucrose production model.", fontsize=11)
    page.insert_text((72.0, 427.0), "1.3. Leaf Appearance", fontsize=11.2)
    page.draw_line((96.0, 429.5), (182.5, 429.5), width=0.6)
    page.insert_textbox(pymupdf.Rect(72, 440, 543, 720), " ".join([BODY] * 6), fontsize=11, fontname="helv")
    (pair,) = extract(doc)
    assert iou(pair["bbox"], (90.0, 84.4, 519.9, 351.4)) > 0.85
