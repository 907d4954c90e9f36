"""Layouts of farmers' manuals, ministries' reports, word-processor data journals and theses drawn
here with pymupdf: tables of text under a shaded header band, figures held in a Word table under
their captioned row, two captions written as one line, listings under a shaded caption bar, tables
set over an uncaptioned picture, grids whose last row is a note, tables of two ruled panels, and a
manuscript's legend paragraph between a table's title and the table."""

from __future__ import annotations

from typing import Any

import pymupdf

from cephalo_ray.extract.document import is_mono_font
from tests.unit.extract.test_regions import BODY, booktabs_table, extract, iou, prose_pages
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


def pin_diagram(page: Any, x: float, y: float, pins: int = 8) -> pymupdf.Rect:
    """A package outline with its pins' names set small at its left and numbers at its right."""
    body = pymupdf.Rect(x, y, x + 44, y + 10 * pins + 6)
    page.draw_rect(body, width=0.8)
    for pin in range(pins):
        top = y + 4 + 10 * pin
        page.draw_rect(pymupdf.Rect(x - 7, top, x, top + 6), width=0.5)
        name = f"RANGE {pin + 1}"
        width = pymupdf.get_text_length(name, fontname="hebo", fontsize=6)
        page.insert_text((x - 9 - width, top + 5.5), name, fontsize=6, fontname="hebo")
        page.insert_text((x + 48, top + 5.5), f"{2 * pins - pin} CAP", fontsize=6, fontname="hebo")
    widest = pymupdf.get_text_length("RANGE 8", fontname="hebo", fontsize=6)
    return pymupdf.Rect(x - 9 - widest, y, x + 68, body.y1)


def test_a_section_heading_set_large_over_a_centred_diagram_is_no_part_of_it() -> None:
    # (a data sheet from Word: "PIN CONFIGURATION AND FUNCTION DESCRIPTIONS" in 17 pt at the left
    # margin, a pin diagram centred nine points under it, its caption centred under the diagram)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(612, 792), columns=((48, 300), (324, 576)), top=72, bottom=720, repeats=8)
    page = doc.new_page(width=612, height=792)
    page.insert_text((36, 96), "PIN CONFIGURATION AND DESCRIPTIONS", fontsize=17, fontname="hebo")
    diagram = pin_diagram(page, 280, 106)
    page.insert_text((262, diagram.y1 + 14), "Figure 2. Pin Configuration", fontsize=8, fontname="tiit")
    prose(page, pymupdf.Rect(48, diagram.y1 + 40, 576, 700), repeats=6)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 2"
    assert pair["bbox"][1] >= 100 and pair["bbox"][0] > 200
    assert iou(pair["bbox"], tuple(diagram)) > 0.8


def framed_in_pieces(page: Any, rect: pymupdf.Rect) -> None:
    """A frame drawn as hairline bars (top, bottom, and each side in three lengths), as Word's
    PDFMaker writes a frame round a figure and its caption."""
    colour = (0.31, 0.13, 0.48)
    page.draw_rect(pymupdf.Rect(rect.x0, rect.y0, rect.x1, rect.y0 + 0.3), color=None, fill=colour)
    page.draw_rect(pymupdf.Rect(rect.x0, rect.y1 - 0.3, rect.x1, rect.y1), color=None, fill=colour)
    cuts = [rect.y0, rect.y0 + 4, rect.y1 - 20, rect.y1]
    for x in (rect.x0, rect.x1 - 0.3):
        for top, bottom in zip(cuts, cuts[1:], strict=False):
            page.draw_rect(pymupdf.Rect(x, top, x + 0.3, bottom), color=None, fill=colour)


def schematic(page: Any, x: float, y: float) -> pymupdf.Rect:
    """A circuit drawn in many small strokes: switches, a motor's circle and the wires between."""
    for column in range(4):
        for row in range(3):
            left, top = x + 40 * column, y + 30 * row
            page.draw_line((left, top), (left + 30, top), width=0.8)
            page.draw_line((left + 30, top), (left + 30, top + 20), width=0.8)
            page.draw_circle((left + 15, top + 10), 4, width=0.6)
    page.insert_text((x - 22, y + 34), "PWM", fontsize=6, fontname="helv")
    return pymupdf.Rect(x - 22, y, x + 150, y + 80)


def test_a_frame_of_hairline_pieces_round_a_figure_and_its_caption_is_no_part_of_either() -> None:
    # (an application note: each figure and its bold caption at the frame's inner foot are framed
    # together; the frame is wider than the circuit, which is drawn in many small strokes)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(595, 793), columns=((150, 545),), top=90, bottom=720, repeats=20)
    page = doc.new_page(width=595, height=793)
    prose(page, pymupdf.Rect(150, 90, 545, 200))
    frame = pymupdf.Rect(150, 220, 545, 360)
    framed_in_pieces(page, frame)
    drawing = schematic(page, 260, 230)
    page.insert_text((156, 350), "Fig 3.   PWM speed control", fontsize=8, fontname="hebo")
    prose(page, pymupdf.Rect(150, 380, 545, 600))
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 3" and pair["caption"] == "Fig 3. PWM speed control"
    assert iou(pair["bbox"], tuple(drawing)) > 0.8


def word_grid(page: Any, xs: tuple[float, ...], ys: tuple[float, ...]) -> None:
    """A Word table's borders as its PDF writes them: a filled hairline per cell side, the first row
    merged across (no inner sides)."""
    black = (0, 0, 0)
    for number, (top, bottom) in enumerate(zip(ys, ys[1:], strict=False)):
        sides = (xs[0], xs[-1]) if number == 0 else xs
        for x in sides:
            page.draw_rect(pymupdf.Rect(x, top + 0.48, x + 0.48, bottom), color=None, fill=black)
    for number, y in enumerate(ys):
        cuts = (xs[0], xs[-1]) if number == 0 else xs
        for x0, x1 in zip(cuts, cuts[1:], strict=False):
            page.draw_rect(pymupdf.Rect(x0 + 0.48, y, x1, y + 0.48), color=None, fill=black)


def test_a_tables_caption_in_the_merged_first_row_of_its_word_grid_captions_the_rows_under_it() -> None:
    # (a vibration tutorial from Word: "Table 1.  Damage Comparison" set in the grid's first row,
    # merged across, the cell's padding a little over half a row above the text; the row's rules
    # drawn cell by cell)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(612, 792), columns=((72, 540),), top=72, bottom=720, repeats=20)
    page = doc.new_page(width=612, height=792)
    prose(page, pymupdf.Rect(72, 380, 540, 520))
    xs, ys = (161.78, 256.37, 350.83, 445.39), (534.67, 556.87, 578.95, 601.1, 623.14)
    word_grid(page, xs, ys)
    page.insert_text((167.4, 550.2), "Table 1.  Damage Comparison, fn =200 Hz", fontsize=8.5, fontname="helv")
    rows = (
        ("Method", "Damage Index", "Cycles"),
        ("Time Domain", "4.788e+12", "13839"),
        ("Dirlik", "4.003e+12", "13928"),
    )
    for number, row in enumerate(rows):
        for column, cell in enumerate(row):
            page.insert_text(
                (172 + 95 * column, ys[1] + 14 + 22 * number), cell, fontsize=8.5, fontname="helv"
            )
    prose(page, pymupdf.Rect(72, 650, 540, 740))
    (pair,) = extract(doc)
    assert pair["label"] == "Table 1" and pair["caption"] == "Table 1. Damage Comparison, fn =200 Hz"
    assert iou(pair["bbox"], (xs[0], ys[1], xs[-1], ys[-1])) > 0.85


def framed_by_pieces(page: Any, rect: pymupdf.Rect, cuts: tuple[float, ...]) -> None:
    """A frame's border as a journal's PDF writes it: a filled hairline at the top and the foot, and
    each side in pieces (cut at `cuts`)."""
    black = (0, 0, 0)
    page.draw_rect(pymupdf.Rect(rect.x0, rect.y0, rect.x1, rect.y0 + 0.5), color=None, fill=black)
    page.draw_rect(pymupdf.Rect(rect.x0, rect.y1 - 0.5, rect.x1, rect.y1), color=None, fill=black)
    ys = (rect.y0, *cuts, rect.y1)
    for x in (rect.x0, rect.x1 - 0.5):
        for top, bottom in zip(ys, ys[1:], strict=False):
            page.draw_rect(pymupdf.Rect(x, top, x + 0.5, bottom), color=None, fill=black)


def test_a_frame_round_a_table_and_its_caption_leaves_the_table_whose_rows_name_figures() -> None:
    # (a political-science journal frames each table with its caption at the frame's inner top;
    # inside, only the table's rules are drawn; the rows list where each figure's estimates come
    # from: "Figure 6   No   90% CIs shown", no caption of their own)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(612, 792), columns=((54, 281), (299, 532)), top=60, bottom=730, repeats=9)
    page = doc.new_page(width=612, height=792)
    prose(page, pymupdf.Rect(54, 60, 281, 440))
    prose(page, pymupdf.Rect(299, 60, 532, 730), repeats=9)
    framed_by_pieces(page, pymupdf.Rect(47.8, 455.4, 281.0, 725.7), (469.4, 479.3, 499.2))
    page.insert_text((54.3, 470), "TABLE 1. Summary of Variance Estimation", fontsize=10, fontname="hebo")
    page.insert_text((54.3, 480), "Throughout Article and Supplementary", fontsize=10, fontname="hebo")
    page.insert_text((54.3, 490), "Materials", fontsize=10, fontname="hebo")
    page.draw_line((54.3, 496.5), (274.5, 496.5), width=0.4)
    page.draw_line((54.3, 525.4), (274.5, 525.4), width=0.4)
    for x, head in ((98.8, "Figure/Table"), (160.6, "Robust SEs?"), (203.2, "Notes")):
        page.insert_text((x, 519), head, fontsize=9, fontname="tiro")
    y = 538.0
    for study in range(2):
        page.insert_text((54.3, y), f"Study {study + 1}:", fontsize=9, fontname="tiro")
        for figure in range(4):
            row = f"Figure {3 * study + figure + 1}            No            90% CIs shown"
            page.insert_text((98.8, y + 10), row, fontsize=9, fontname="tiro")
            y += 10
        y += 22
    page.draw_line((54.3, 719.0), (274.5, 719.0), width=0.4)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 1"
    assert iou(pair["bbox"], (54.3, 496.3, 274.5, 719.2)) > 0.95


def test_a_letter_spaced_continued_label_over_the_rest_of_a_table_makes_no_item_of_its_own() -> None:
    # (a range-management journal runs Table 2 on into the next column under "T a b l e   2" set
    # letter-spaced, its number written apart, over "(continued)", on a tinted band of its own)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(595, 794), columns=((45, 290), (305, 550)), top=60, bottom=730, repeats=9)
    page = doc.new_page(width=595, height=794)
    page.insert_text(
        (54.5, 265), "Table 2. Results of two-way ANOVAs on alpha diversity.", fontsize=9, fontname="hebo"
    )
    bottom = booktabs_table(page, 54.5, 275, 281, rows=12)
    prose(page, pymupdf.Rect(45, bottom + 20, 290, 730), repeats=4)
    page.draw_rect(pymupdf.Rect(305, 249, 550, 275), color=None, fill=(0.85, 0.78, 0.76))
    page.insert_text((311.8, 259), "T a b l e", fontsize=9, fontname="helv")
    page.insert_text((364.8, 259), "2", fontsize=9, fontname="helv")
    page.insert_text((312.7, 270), "(continued)", fontsize=9, fontname="tiit")
    table_bottom = booktabs_table(page, 305, 276, 550, rows=6)
    prose(page, pymupdf.Rect(305, table_bottom + 40, 550, 730), repeats=3)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 2" and pair["bbox"][0] < 100


def outlined_watermark(page: Any, rect: pymupdf.Rect) -> None:
    """A word like "CONFIDENTIAL" written as grey glyph outlines across the text, corner to corner:
    one path of many small shapes under the page's text, as a data sheet's template draws it."""
    shape = page.new_shape()
    for step in range(12):
        x = rect.x0 + step * (rect.width - 30) / 11
        y = rect.y1 - 30 - step * (rect.height - 30) / 11
        shape.draw_quad(pymupdf.Quad((x, y + 12), (x + 18, y), (x + 30, y + 18), (x + 12, y + 30)))
    shape.finish(color=None, fill=(0.5, 0.5, 0.5), fill_opacity=0.3)
    shape.commit(overlay=False)


def test_a_watermark_drawn_across_every_page_s_text_is_no_part_of_a_figure() -> None:
    # (a sensor vendor's data sheet from Word: "CONFIDENTIAL" in grey outlines crosses every page
    # from the lower left to the upper right, over prose and figures alike; the block diagram's box
    # took the whole watermark in)
    doc = pymupdf.open()
    for number in range(4):
        page = doc.new_page(width=612, height=792)
        if number == 2:
            prose(page, pymupdf.Rect(72, 72, 540, 390), repeats=10)
            page.draw_rect(pymupdf.Rect(158, 410, 399, 569), width=1)
            for row in range(3):
                page.draw_rect(pymupdf.Rect(180, 425 + 45 * row, 250, 455 + 45 * row), width=0.8)
                page.insert_text((190, 443 + 45 * row), f"Stage {row + 1}", fontsize=8, fontname="helv")
                page.draw_line((250, 440 + 45 * row), (330, 440 + 45 * row), width=0.8)
            page.insert_text(
                (122, 621),
                "Figure 1. Block Diagram of AFE and its Interfaces to Sensor",
                fontsize=10,
                fontname="hebo",
            )
            prose(page, pymupdf.Rect(72, 636, 540, 720))
        else:
            prose(page, pymupdf.Rect(72, 72, 540, 720), repeats=20)
        outlined_watermark(page, pymupdf.Rect(99, 196, 522, 609))
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 1"
    assert iou(pair["bbox"], (158, 410, 399, 569)) > 0.85
