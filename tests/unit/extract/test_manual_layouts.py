"""Layouts of farmers' manuals, ministries' reports, word-processor data journals and theses drawn
here with pymupdf: tables of text under a shaded header band, figures held in a Word table under
their captioned row, two captions written as one line, listings under a shaded caption bar, tables
set over an uncaptioned picture, grids whose last row is a note, tables of two ruled panels, and a
manuscript's legend paragraph between a table's title and the table."""

from __future__ import annotations

from typing import Any

import pymupdf

from cephalo_ray.extract.document import is_mono_font
from tests.unit.extract.test_regions import BODY, extract, iou, prose_pages
from tests.unit.extract.test_report_layouts import ruled_in_pieces

ORANGE = (0.96, 0.55, 0.1)


def photo(page: Any, rect: pymupdf.Rect, shade: int = 90) -> None:
    """A photograph: one raster placed to fill the box."""
    pixels = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 60, 40), False)
    pixels.clear_with(shade)
    page.insert_image(rect, pixmap=pixels, keep_proportion=False)


def prose(page: Any, rect: pymupdf.Rect, repeats: int = 3) -> None:
    assert page.insert_textbox(rect, " ".join([BODY] * repeats), fontsize=10, fontname="tiro") >= 0


def test_a_table_of_bullets_under_a_shaded_header_band_runs_to_the_rule_closing_it() -> None:
    # (a CIMMYT farmers' manual: "Table 3.1 Advantages of ..." in bold, an orange band holding the
    # column's title, bullets in the body's face, an orange rule of the band's span closing it)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(595, 842), columns=((70, 523),), top=72, bottom=760, repeats=24)
    page = doc.new_page(width=595, height=842)
    prose(page, pymupdf.Rect(70, 72, 523, 200))
    page.insert_text(
        (70, 223), "Table 3.1 Advantages of double-row strip cropping.", fontsize=10, fontname="hebo"
    )
    page.draw_rect(pymupdf.Rect(70, 232, 523, 247), color=None, fill=ORANGE)
    page.insert_text((72, 243), "Advantages", fontsize=10, fontname="hebo", color=(1, 1, 1))
    bullets = (
        ("Maize plant population is not compromised as cereal and legume crops occupy the same", "space."),
        ("Use of a two-wheel tractor to plant legumes and maize rows becomes possible.", ""),
        ("Improves access to light for short-growing legume crops as compared to conventional", "intercropping."),
        ("Overall productivity of the system is increased as two crops are harvested.", ""),
    )  # fmt: skip
    y = 262.0
    for first, second in bullets:
        page.insert_text((78, y), "\u2022", fontsize=10, fontname="helv")
        page.insert_text((94, y), first, fontsize=10, fontname="helv")
        if second:
            y += 12
            page.insert_text((94, y), second, fontsize=10, fontname="helv")
        y += 18
    rule = y - 6
    page.draw_line((70, rule), (523, rule), color=ORANGE, width=1.9)
    prose(page, pymupdf.Rect(70, rule + 30, 523, 780))
    (pair,) = extract(doc)
    assert pair["label"] == "Table 3.1" and pair["kind"] == "table"
    assert pair["caption"] == "Table 3.1 Advantages of double-row strip cropping."
    assert iou(pair["bbox"], (70, 232, 523, rule + 1)) > 0.9


def word_table_figure(page: Any, top: float, label: str, picture: pymupdf.Rect, bottom: float) -> None:
    """A figure in a one-column Word table: a ruled caption row, the picture's row framed all round."""
    left, right, row = 72.0, 523.3, 13.4
    page.draw_line((left, top), (right, top), width=0.5)
    page.draw_line((left, top), (left, top + row), width=0.5)
    page.draw_line((right, top), (right, top + row), width=0.5)
    page.insert_text((77.5, top + 10.2), label, fontsize=9, fontname="helv")
    page.draw_line((left, top + row), (right, top + row), width=0.5)
    page.draw_line((left, top + row), (left, bottom), width=0.5)
    page.draw_line((right, top + row), (right, bottom), width=0.5)
    page.draw_line((left, bottom), (right, bottom), width=0.5)
    photo(page, picture)


def test_figures_held_in_word_tables_under_their_captioned_rows_are_two_items() -> None:
    # (an open data journal: each figure in a full-width Word table, its caption in a ruled row over
    # the picture's row; two such tables stacked a blank line apart)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(595, 842), columns=((72, 523),), top=72, bottom=760, repeats=24)
    page = doc.new_page(width=595, height=842)
    word_table_figure(
        page,
        72,
        "Figure 3: Schematic diagram showing survey data flow",
        pymupdf.Rect(82, 90, 520, 360),
        366.6,
    )
    word_table_figure(
        page,
        379.1,
        "Figure 4: Land type of the largest plot of surveyed farmers",
        pymupdf.Rect(114, 394, 481, 682),
        688.1,
    )
    prose(page, pymupdf.Rect(72, 700, 523, 780), 1)
    pairs = sorted(extract(doc), key=lambda pair: pair["bbox"][1])
    assert [pair["label"] for pair in pairs] == ["Figure 3", "Figure 4"]
    assert iou(pairs[0]["bbox"], (72, 85.4, 523.3, 366.6)) > 0.9
    assert iou(pairs[1]["bbox"], (72, 392.5, 523.3, 688.1)) > 0.9


def test_two_captions_written_as_one_line_under_two_pictures_are_each_their_pictures() -> None:
    # (a ministry's strategy in InDesign: the captions of two charts side by side typed on one line,
    # spaces between them, the right one's last word wrapped under it)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(595, 842), columns=((76, 518),), top=72, bottom=760, repeats=24)
    page = doc.new_page(width=595, height=842)
    prose(page, pymupdf.Rect(76, 72, 518, 240))
    photo(page, pymupdf.Rect(78, 267, 310, 412))
    photo(page, pymupdf.Rect(313, 262, 528, 418), shade=60)
    page.insert_text(
        (76.5, 438),
        "Figure 2.4: Field Crops Production: 2015 - 2019   Figure 2.5: Tobacco Production 2015 -",
        fontsize=11,
        fontname="tiit",
    )
    page.insert_text((422, 453.5), "2019", fontsize=11, fontname="tiit")
    prose(page, pymupdf.Rect(76, 490, 518, 780))
    pairs = sorted(extract(doc), key=lambda pair: pair["bbox"][0])
    assert [pair["caption"] for pair in pairs] == [
        "Figure 2.4: Field Crops Production: 2015 - 2019",
        "Figure 2.5: Tobacco Production 2015 - 2019",
    ]
    assert iou(pairs[0]["bbox"], (78, 267, 310, 412)) > 0.9
    assert iou(pairs[1]["bbox"], (313, 262, 528, 418)) > 0.9


def test_a_listings_caption_on_a_shaded_bar_ends_before_its_first_row_of_code() -> None:
    # (a Masaryk University thesis: the caption in white on a grey bar, the Python code under it in
    # a typewriter face, a rule closing the listing)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(595, 842), columns=((126, 486),), top=72, bottom=760, repeats=20)
    page = doc.new_page(width=595, height=842)
    prose(page, pymupdf.Rect(126, 72, 486, 180), 2)
    page.draw_rect(pymupdf.Rect(126, 200, 492, 218), color=None, fill=(0.6, 0.6, 0.6))
    page.insert_text(
        (144, 212),
        "Listing 5.2: Calculation of intersecting hypervolumes",
        fontsize=10,
        fontname="hebo",
        color=(1, 1, 1),
    )
    code = (
        "def dominatedbit(p0,front,R):",
        "    out = []",
        "    for p1 in front:",
        "        p3 = [max(i0,i1) for (i0,i1) in zip(p0,p1)]",
        "        if p3!=p0 and not p3 in out:",
        "            out.append(p3)",
        "    return hv(nondominated(out),R)",
    )
    for row, text in enumerate(code):
        page.insert_text((143, 232 + 12 * row), text, fontsize=9, fontname="cour")
    page.draw_line((126, 320), (491, 320), width=0.5)
    prose(page, pymupdf.Rect(126, 340, 486, 600), 2)
    (pair,) = extract(doc)
    assert pair["caption"] == "Listing 5.2: Calculation of intersecting hypervolumes"
    assert iou(pair["bbox"], (143, 226, 416, 307)) > 0.9  # the code, however far the rule under it
    assert is_mono_font("NimbusMonL-Regu") and not is_mono_font("NimbusRomNo9L-Regu")


def test_a_table_ruled_under_a_column_group_ends_at_its_foot_over_an_uncaptioned_picture() -> None:
    # (an Iranian oil and gas journal in Word: "Table 2" and its title centred, a rule under a group
    # of two columns only, the bottom rule, then a scatter plot whose caption is on the next page)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(595, 842), columns=((72, 522),), top=72, bottom=760, repeats=24)
    page = doc.new_page(width=595, height=842)
    prose(page, pymupdf.Rect(72, 72, 522, 180))
    page.insert_text((280, 200), "Table 2", fontsize=10, fontname="tibo")
    page.insert_text(
        (172, 213),
        "Performance of different intelligent models for FZI estimating.",
        fontsize=10,
        fontname="tiro",
    )
    ruled_in_pieces(page, 218.4, [73.6, 222.9, 521.9])
    page.insert_text((360, 232), "FZI", fontsize=10, fontname="tibo")
    ruled_in_pieces(page, 238.7, [222.9, 372.9, 521.9])
    page.insert_text((110, 240), "Methods", fontsize=10, fontname="tibo")
    page.insert_text((240, 251), "Correlation coefficient (CC)", fontsize=10, fontname="tiro")
    page.insert_text((390, 251), "Mean square error (MSE)", fontsize=10, fontname="tiro")
    for row, (name, cc, mse) in enumerate(
        (("PNN", "0.8097", "0.3420"), ("MFIS", "0.8815", "0.2673"), ("ANFIS", "0.9362", "0.2033"))
    ):
        y = 275 + 18 * row
        page.insert_text((120, y), name, fontsize=10, fontname="tiro")
        page.insert_text((280, y), cc, fontsize=10, fontname="tiro")
        page.insert_text((430, y), mse, fontsize=10, fontname="tiro")
    ruled_in_pieces(page, 318.6, [72.9, 222.2, 372.2, 521.8])
    photo(page, pymupdf.Rect(156, 349, 441, 626), shade=200)
    page.draw_rect(pymupdf.Rect(160, 356, 430, 600), color=(0, 0, 0), width=0.6)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 2"
    assert iou(pair["bbox"], (72.9, 218.2, 521.9, 318.9)) > 0.9


def test_a_grid_whose_last_row_is_a_note_ends_at_its_frame_over_the_numbered_text_under_it() -> None:
    # (a USDA GAIN translation: each small grid framed cell by cell, its last row a note inside the
    # frame, then the standard's numbered clauses starting left of the grid)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    edges = [176.4, 380.5, 435.7]
    rows = [85.8, 115.6, 147.6, 179.8, 211.8, 228.2]
    for y in rows:
        ruled_in_pieces(page, y, edges)
    for x in edges:
        for top, bottom in zip(rows, rows[1:], strict=False):
            if x == 380.5 and top == 211.8:
                continue  # the note's row spans both columns
            page.draw_line((x, top), (x, bottom), width=0.5)
    page.insert_text((294, 82), "Table 10", fontsize=12, fontname="tiro")
    page.insert_text((226, 104), "Food category/name", fontsize=12, fontname="tibo")
    page.insert_text((394, 98), "MRL", fontsize=12, fontname="tibo")
    page.insert_text((388, 111), "(mg/kg)", fontsize=12, fontname="tibo")
    for top, (group, food, limit) in zip(
        rows[1:],
        (
            ("Oil Seeds, Oil and Fat", "Soybean", "1*"),
            ("Vegetable", "Vegetable soybean", "2*"),
            ("Fruit", "Date (fresh)", "0.02*"),
        ),
        strict=False,
    ):
        page.insert_text((179, top + 12), group, fontsize=12, fontname="tiro")
        page.insert_text((240, top + 27), food, fontsize=12, fontname="tiro")
        page.insert_text((398, top + 27), limit, fontsize=12, fontname="tiro")
    page.insert_text((179, 224), "*means the limit is temporarily set.", fontsize=12, fontname="tiro")
    clauses = (
        "Main Usage: Herbicide",
        "ADI: 0.0028 mg/kg bw",
        "Residue: Fenpyrazone",
        "MRL: shall meet the requirements of Table 11.",
    )
    page.insert_text((108, 252), "4.11", fontsize=12, fontname="tiro")
    page.insert_text((144, 252), "Fenpyrazone", fontsize=12, fontname="tiro")
    for row, clause in enumerate(clauses):
        page.insert_text((144, 266 + 13.8 * row), f"4.11.{row + 1} {clause}", fontsize=12, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["label"] == "Table 10"
    assert iou(pair["bbox"], (176.4, 85.8, 435.7, 228.4)) > 0.9


def test_a_table_of_two_ruled_panels_captioned_under_them_holds_both() -> None:
    # (a linguistics thesis: "(a) Vowel inventory" and "(b) Consonant inventory", each ruled at its
    # head and foot, two rows apart, one caption under both)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(595, 842), columns=((57, 486),), top=72, bottom=760, repeats=24)
    page = doc.new_page(width=595, height=842)
    prose(page, pymupdf.Rect(57, 72, 486, 190), 2)

    def panel(top: float, left: float, right: float, title: str, rows: int) -> float:
        page.insert_text(((left + right) / 2 - 40, top), title, fontsize=9, fontname="tiro")
        page.draw_line((left, top + 9), (right, top + 9), width=0.4)
        page.insert_text(
            (left + 4, top + 22), "Height     Front     Central     Back", fontsize=10, fontname="tiro"
        )
        page.draw_line((left, top + 28), (right, top + 28), width=0.4)
        for row in range(rows):
            page.insert_text(
                (left + 4, top + 42 + 12 * row),
                f"Row {row + 1}     i i:     y y:     u u:",
                fontsize=10,
                fontname="tiro",
            )
        bottom = top + 34 + 12 * rows
        page.draw_line((left, bottom), (right, bottom), width=0.4)
        return bottom

    first = panel(225, 141, 405, "(a) Vowel inventory", 6)
    second = panel(first + 30, 57, 486, "(b) Consonant inventory", 8)
    page.insert_text(
        (175, second + 20), "Table 7.3: Inventories for Bothoa Breton", fontsize=10, fontname="tiro"
    )
    prose(page, pymupdf.Rect(57, second + 50, 486, 800), 2)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 7.3"
    assert iou(pair["bbox"], (57, 225 - 7, 486, second)) > 0.85


def test_a_manuscripts_legend_between_a_tables_title_and_the_table_is_the_captions() -> None:
    # (a double-spaced Word manuscript's supplement: "Table S1. Water temperature model parameters",
    # then an indented legend paragraph in the body's face and spacing, then the table)
    doc = pymupdf.open()
    text = " ".join([BODY] * 30)
    for _ in range(2):
        page = doc.new_page(width=612, height=792)
        page.insert_textbox(
            pymupdf.Rect(72, 72, 540, 720), text, fontsize=12, fontname="tiro", lineheight=2.3
        )
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 84), "Table S1. Water temperature model parameters", fontsize=12, fontname="tibo")
    legend = (
        "Parameters from the most parsimonious models used to predict river temperatures in parts",
        "of the Colorado River basin. Segments are identified in Figure 1. WY indicates the water",
        "years included in models, with the number of individual years in parentheses. The rkm is",
        "the number of river kilometers modeled for each river segment.",
    )
    for row, line in enumerate(legend):
        page.insert_text((99 if row == 0 else 72, 115 + 27.6 * row), line, fontsize=12, fontname="tiro")
    top = 115 + 27.6 * len(legend) - 8
    page.draw_line((72, top), (540, top), width=0.6)
    for x, head in ((75, "River"), (160, "Segment"), (300, "WY"), (380, "rkm"), (460, "b")):
        page.insert_text((x, top + 13), head, fontsize=11, fontname="tibo")
    page.draw_line((72, top + 18), (540, top + 18), width=0.4)
    for row in range(8):
        y = top + 33 + 15 * row
        for x, cell in (
            (75, "Green"),
            (160, f"G{row + 1}"),
            (300, "1985-2015"),
            (380, str(117 + row)),
            (460, "0.5"),
        ):
            page.insert_text((x, y), cell, fontsize=11, fontname="tiro")
    bottom = top + 33 + 15 * 8 - 6
    page.draw_line((72, bottom), (540, bottom), width=0.6)
    (pair,) = extract(doc)
    assert pair["label"] == "Table S1" and pair["page"] == 3
    assert pair["caption"].startswith("Table S1. Water temperature model parameters Parameters from the")
    assert pair["caption"].endswith("modeled for each river segment.")
    assert iou(pair["bbox"], (72, top, 540, bottom)) > 0.9


def test_a_tables_title_set_before_its_label_at_the_rows_end_is_its_caption() -> None:
    # (a goat-feeding training manual in QuarkXPress: the title in bold italics at the left, its
    # second row over the table, and "Table 8.2" at the right end of that last row)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(595, 842), columns=((85, 535),), top=72, bottom=760, repeats=24)
    page = doc.new_page(width=595, height=842)
    prose(page, pymupdf.Rect(85, 72, 535, 180))
    page.insert_text(
        (88.6, 208),
        "Estimates of Energy costs of activity for a 65kg goat based",
        fontsize=12,
        fontname="tibi",
    )
    page.insert_text((88.6, 223.3), "on ARC (1980) and Lachica et al (1997).", fontsize=12, fontname="tibi")
    page.insert_text((484.6, 225.7), "Table 8.2", fontsize=12, fontname="tibi")
    page.draw_rect(pymupdf.Rect(70, 234, 533.6, 252), color=None, fill=(0.1, 0.2, 0.45))
    page.insert_text(
        (85, 247),
        "Activity          Energy Cost          Energy Cost for 65 kg",
        fontsize=11,
        fontname="helv",
        color=(1, 1, 1),
    )
    rows = (
        ("Horizontal movement", "3.5 J/kg/m", "0.238 MJ/km"),
        ("Vertical movement", "28 J/kg/m", "0.182 MJ/100 m"),
        ("Standing", "0.4 kJ/h", "9.6 kJ/day"),
    )
    for row, (activity, cost, total) in enumerate(rows):
        y = 270 + 16 * row
        page.insert_text((85, y), activity, fontsize=11, fontname="helv")
        page.insert_text((260, y), cost, fontsize=11, fontname="helv")
        page.insert_text((400, y), total, fontsize=11, fontname="helv")
    page.draw_line((70, 320), (533.6, 320), width=0.6)
    prose(page, pymupdf.Rect(85, 350, 535, 700))
    (pair,) = extract(doc)
    assert pair["label"] == "Table 8.2"
    assert pair["caption"] == (
        "Table 8.2 Estimates of Energy costs of activity for a 65kg goat based on ARC (1980) and Lachica et al (1997)."
    )


def test_charts_numbered_alone_and_cited_as_figures_are_captioned_by_their_number_and_title() -> None:
    # (the Federal Reserve's Monetary Policy Report: "19." and "Personal saving rate" over each chart,
    # no label word anywhere, the text citing "(figure 19)"; a footnote "8." is no caption)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    for number, top in ((19, 92.0), (20, 330.0)):
        page.insert_text((66, top + 10), f"{number}.", fontsize=10, fontname="tiro")
        page.insert_text(
            (84, top + 10),
            "Personal saving rate" if number == 19 else "Indexes of consumer sentiment",
            fontsize=10,
            fontname="tiro",
        )
        chart = pymupdf.Rect(66, top + 20, 285, top + 170)
        page.draw_rect(chart, color=(0, 0, 0), width=0.5)
        page.draw_polyline(
            [(70 + 12 * step, chart.y1 - 10 - (step * 37) % 90) for step in range(17)],
            color=(0, 0, 0.6),
            width=1,
        )
        for step in range(6):
            page.insert_text((270, chart.y1 - 6 - 24 * step), str(5 * step), fontsize=6, fontname="helv")
        page.insert_text(
            (66, chart.y1 + 12),
            "SOURCE: Bureau of Economic Analysis via Haver Analytics.",
            fontsize=7,
            fontname="tiro",
        )
    body = " ".join(
        [
            BODY,
            "This low saving rate reflects the strong balance sheets of households (figure 19),",
            BODY,
            "and sentiment has improved (figure 20).",
        ]
        * 3
    )
    assert page.insert_textbox(pymupdf.Rect(327, 72, 546, 700), body, fontsize=10, fontname="tiro") >= 0
    page.insert_text(
        (66, 740),
        "8.  For additional discussion, see the box on the labor market.",
        fontsize=7,
        fontname="tiro",
    )
    pairs = sorted(extract(doc), key=lambda pair: pair["bbox"][1])
    assert [(pair["label"], pair["caption"]) for pair in pairs] == [
        ("Figure 19", "19. Personal saving rate"),
        ("Figure 20", "20. Indexes of consumer sentiment"),
    ]
    assert iou(pairs[0]["bbox"], (66, 112, 285, 262)) > 0.85


def test_a_figures_headline_under_its_title_does_not_stop_the_title_claiming_the_panels() -> None:
    # (an IMF flagship report: "Figure 1.6. Global Growth-at-Risk" in bold, a two-row headline in a
    # smaller face at the same left edge, then two chart panels)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(612, 792), columns=((75, 314), (327, 566)), top=72, bottom=740, repeats=12)
    page = doc.new_page(width=612, height=792)
    page.insert_text((75.5, 86), "Figure 1.6. Global Growth-at-Risk", fontsize=10, fontname="hebo")
    page.insert_text(
        (75.5, 105),
        "Global financial stability risks expected over the near term have declined only slightly since April,",
        fontsize=9,
        fontname="helv",
    )
    page.insert_text(
        (75.5, 115),
        "with the balance of risks to global growth still tilted to the downside.",
        fontsize=9,
        fontname="helv",
    )
    for left in (75.5, 327.0):
        page.insert_text(
            (left + 12, 128), "1. Near-Term Growth Forecast Densities", fontsize=8, fontname="helv"
        )
        panel = pymupdf.Rect(left, 132, left + 238, 267)
        page.draw_rect(panel, color=(0.5, 0.5, 0.5), width=0.6)
        page.draw_polyline(
            [(left + 10 + 9 * step, 255 - (step * 29) % 100) for step in range(25)],
            color=(0.8, 0, 0),
            width=1,
        )
        for step in range(5):
            page.insert_text((left, 262 - 28 * step), f"0.{step}", fontsize=7, fontname="helv")
    for left in (75, 327):
        prose(page, pymupdf.Rect(left, 420, left + 239, 740), 2)
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 1.6. Global Growth-at-Risk"
    assert iou(pair["bbox"], (75.5, 96, 566, 267)) > 0.8


def test_an_exhibit_numbered_alone_on_a_black_banner_over_its_chart_is_captioned_by_the_banner() -> None:
    # (the Chicago Fed's Economic Perspectives: "4. Impulse responses ..." in white on a black band
    # right on top of a raster chart, the text citing "figure 4")
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    prose(page, pymupdf.Rect(54, 60, 558, 200), 2)
    assert (
        page.insert_textbox(
            pymupdf.Rect(54, 200, 558, 240),
            "The responses are shown in figure 4.",
            fontsize=10,
            fontname="tiro",
        )
        >= 0
    )
    page.draw_rect(pymupdf.Rect(54, 250, 558, 266), color=None, fill=(0, 0, 0))
    page.insert_text(
        (76.8, 262),
        "4. Impulse responses of select macroeconomic variables",
        fontsize=10.6,
        fontname="hebo",
        color=(1, 1, 1),
    )
    photo(page, pymupdf.Rect(74.5, 268, 533.9, 555.8), shade=120)
    page.insert_text(
        (85.8, 572),
        "Notes: This figure shows the impulse responses of six macroeconomic variables.",
        fontsize=8,
        fontname="tiro",
    )
    prose(page, pymupdf.Rect(54, 600, 558, 760), 2)
    (pair,) = extract(doc)
    assert (pair["label"], pair["caption"]) == (
        "Figure 4",
        "4. Impulse responses of select macroeconomic variables",
    )
    assert iou(pair["bbox"], (74.5, 268, 533.9, 555.8)) > 0.9
