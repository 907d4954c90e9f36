"""Layouts of word-processor journals, agency reports and typesetters' samples drawn here with
pymupdf: tables ruled cell by cell, note marks run into their notes, legends centred under charts,
narrow gutters and a frame drawn round the text block of every page."""

from __future__ import annotations

from typing import Any

import pymupdf

from cephalo_ray.extract.geometry import Box, Graphic, TextLine, TextStats
from cephalo_ray.extract.regions import pair_regions
from tests.unit.extract.test_page_layouts import append_content
from tests.unit.extract.test_regions import BODY, extract, iou, prose_pages, vector_plot


def ruled_in_pieces(page: Any, y: float, edges: list[float]) -> None:
    """A rule drawn cell by cell, as a word processor writes a grid's border."""
    for left, right in zip(edges, edges[1:], strict=False):
        page.draw_line((left, y), (right, y), width=0.4)


def test_a_table_ruled_cell_by_cell_keeps_its_rows_of_sentences_under_a_caption_in_its_block() -> None:
    # (Ideas in Ecology and Evolution: a Word table whose rules are written cell by cell, the first
    # cell narrower than a rule of its own; its caption written into one block with the header row;
    # the rows' middle cells are sentences that wrap)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    edges = [69.8, 110.8, 389.9, 462.0, 547.2]
    # (the caption's rows and the header row written as one text object: one block when read)
    page.insert_text((72, 60), "Ideas in Ecology and Evolution", fontsize=10, fontname="tiro")
    caption = (
        "Table 1. Commonly used null values, limitations, compatibility with common software and a",
        "recommendation regarding whether or not it is a good option. Null values are indicated as",
        "compatible with specific software if they work consistently and correctly with that",
        "software. For example, the null value NULL works correctly for certain applications in R.",
    )
    height = page.rect.height
    operators = [f"BT /tiro 10 Tf 72 {height - 83.4:.1f} Td ({caption[0]}) Tj"]
    operators += [f"0 -11.5 Td ({row}) Tj" for row in caption[1:]]
    operators.append("0 -27 Td (Null) Tj 40.2 0 Td (Problems) Tj 279.3 0 Td (Compatibility) Tj")
    operators.append("72 0 Td (Recommendation) Tj ET")
    append_content(doc, page, "\n".join(operators).encode())
    ruled_in_pieces(page, 129.6, edges)
    ruled_in_pieces(page, 154.6, edges)
    rows = [
        ("0", ["Indistinguishable from a true zero"], "", "Never use"),
        ("Blank", ["Hard to distinguish values that are missing from those overlooked",
                   "on entry. Hard to distinguish blanks from spaces, which behave",
                   "differently."], "R, Python, SQL", "Best option"),
        ("-999", ["Not recognized as null by many programs without user input. Can",
                  "be inadvertently entered into calculations."], "", "Avoid"),
        ("NA, na", ["Can also be an abbreviation (e.g., North America), can cause prob-",
                    "lems with data type (turn a numerical column into a text column).",
                    "NA is more commonly recognized than na."], "R", "Good option"),
        ("N/A", ["An alternate form of NA, but often not compatible with software"], "", "Avoid"),
        ("NULL", ["Can cause problems with data type"], "SQL", "Good option"),
        ("None", ["Uncommon. Can cause problems with data type"], "Python", "Avoid"),
        ("Missing", ["Uncommon. Can cause problems with data type"], "", "Avoid"),
    ]  # fmt: skip
    y = 166.0
    for name, problems, software, advice in rows:
        page.insert_text((72, y), name, fontsize=10, fontname="tiro")
        for offset, text in enumerate(problems):
            page.insert_text((112.2, y + 11.5 * offset), text, fontsize=10, fontname="tiro")
        page.insert_text((394, y), software, fontsize=10, fontname="tiro")
        page.insert_text((479, y), advice, fontsize=10, fontname="tiro")
        y += 11.5 * len(problems) + 11
    bottom = y - 11
    ruled_in_pieces(page, bottom, edges)
    for x0 in (72, 313):
        left = page.insert_textbox(
            pymupdf.Rect(x0, bottom + 30, x0 + 229, 740), " ".join([BODY] * 4), fontsize=10, fontname="tiro"
        )
        assert left >= 0
    (pair,) = extract(doc)
    assert pair["kind"] == "table" and pair["label"] == "Table 1"
    assert iou(pair["bbox"], (69.8, 129.6, 547.2, bottom)) > 0.9


def test_notes_opening_with_a_superscript_number_run_into_their_word_stay_out_of_the_table() -> None:
    # (an NPAFC technical report: "1Douglas Island Pink and Chum, Inc." under a small table's last
    # rule, the second note running far wider than the table)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_textbox(pymupdf.Rect(72, 60, 540, 180), " ".join([BODY] * 4), fontsize=10, fontname="tiro")
    for row, text in enumerate(
        (
            "Table 3. Number of juvenile chum salmon hatchery otolith",
            "thermal marks recovered in Icy Strait by Southeast Alaska Coastal",
            "Monitoring surveys, 1997-2017.",
        )
    ):
        page.insert_text((72, 562 + 10.4 * row), text, fontsize=9, fontname="tiro")
    page.draw_line((72, 588.6), (247.5, 588.6), width=1.0)
    for x, name in ((81.9, "Month"), (122.7, "DIPAC"), (165.1, "NSEAK"), (209.4, "SSRAA")):
        page.insert_text((x, 601), name, fontsize=9, fontname="tiro")
    page.draw_line((72, 603.5), (247.5, 603.5), width=0.5)
    for row, cells in enumerate((("June", "3974", "819", "13"), ("July", "1611", "2086", "211"))):
        for x, text in zip((85.7, 128.7, 174.9, 221.0), cells, strict=True):
            page.insert_text((x, 614.5 + 13 * row), text, fontsize=9, fontname="tiro")
    page.insert_text((80.9, 641), "August", fontsize=9, fontname="tiro")
    page.draw_line((71.3, 644), (247.5, 644), width=1.0)
    notes = (
        "Douglas Island Pink and Chum, Inc.",
        "Includes Northern Southeast Regional Aquaculture Association, Kake Nonprofit Fisheries Corp. "
        "and Armstrong-Keta Inc.",
        "Southern Southeast Regional Aquaculture Association.",
    )
    for number, note in enumerate(notes, start=1):
        baseline = 652.5 + 10.3 * (number - 1)
        page.insert_text((72, baseline - 3), str(number), fontsize=5.5, fontname="tiro")  # raised, small
        page.insert_text((75, baseline), note, fontsize=9, fontname="tiro")
    page.insert_textbox(pymupdf.Rect(72, 690, 540, 760), " ".join([BODY] * 2), fontsize=10, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["kind"] == "table" and pair["label"] == "Table 3"
    assert iou(pair["bbox"], (71.3, 588.6, 247.5, 644)) > 0.9


def test_a_legend_centred_under_its_chart_over_the_caption_belongs_to_the_figure() -> None:
    # (J. Hydrocarbon Power Engineering, a Word journal: under each chart a column-wide line of
    # series names and a short centred line, then the bold caption; a second chart right under)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    left = page.insert_textbox(
        pymupdf.Rect(84.7, 60, 314, 780), " ".join([BODY] * 12), fontsize=10.1, fontname="tiro"
    )
    assert left >= 0
    top, bottom = pymupdf.Rect(314, 222.2, 550.2, 368.5), pymupdf.Rect(314, 443.4, 550.2, 597.1)
    legend = "Dioxo-decahydroacridine derivatives - 1/0, 3/0, 6/0, 7/0;"
    for plot in (top, bottom):
        vector_plot(page, plot)
        width = pymupdf.get_text_length(legend, fontname="tiro", fontsize=10.1)
        page.insert_text((440.3 - width / 2, plot.y1 + 16.5), legend, fontsize=10.1, fontname="tiro")
        page.insert_text((399.1, plot.y1 + 28), 'QAS - "J" inhibitor', fontsize=10.1, fontname="tiro")
    captions = (
        ("Figure 5 - Inhibition of thione bacteria growth by", "nitrogen-containing corrosion inhibitors"),
        ("Figure 6 - Effect of nitrogen-containing inhibitors on", "the corrosion rate of metal samples"),
    )
    for plot, (first, second) in zip((top, bottom), captions, strict=True):
        for row, text in enumerate((first, second)):
            width = pymupdf.get_text_length(text, fontname="tibo", fontsize=10.1)
            page.insert_text(
                (440.3 - width / 2, plot.y1 + 46.5 + 11.5 * row), text, fontsize=10.1, fontname="tibo"
            )
    page.insert_textbox(
        pymupdf.Rect(325.7, 60, 555, 215), " ".join([BODY] * 3), fontsize=10.1, fontname="tiro"
    )
    page.insert_textbox(
        pymupdf.Rect(325.7, 680, 555, 780), " ".join([BODY] * 2), fontsize=10.1, fontname="tiro"
    )
    pairs = {pair["label"]: pair for pair in extract(doc)}
    assert set(pairs) == {"Figure 5", "Figure 6"}
    assert iou(pairs["Figure 5"]["bbox"], (328.2, 222.2, 552.4, 397)) > 0.8
    assert iou(pairs["Figure 6"]["bbox"], (328.2, 443.4, 552.4, 626)) > 0.8
    assert pairs["Figure 6"]["caption"].startswith("Figure 6 - Effect")


def test_a_caption_row_does_not_run_on_into_the_next_column_half_a_line_off_its_baseline() -> None:
    # (J. Hydrocarbon Power Engineering: a 13 pt gutter; the caption under a photo in the left
    # column ends near the column's edge, level with a line of the right column's paragraph whose
    # baselines stand half a line off the caption's)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    photo = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 219, 136), False)
    photo.clear_with(120)
    written = [page.insert_textbox(pymupdf.Rect(42.2, 60, 271.6, 390), " ".join([BODY] * 5), fontsize=10.1)]
    page.insert_image(pymupdf.Rect(46.1, 397.7, 265.4, 534.2), pixmap=photo)
    page.insert_text(
        (43.9, 543.5), "Figure 7 - Photo of the damaged bituminous coating", fontsize=10.1, fontname="tibo"
    )
    # (written next, as the PDF does: the right column's paragraph, from a few rows over the caption,
    # one of its rows 5 pt over the caption's, sharing its row)
    written += [
        page.insert_textbox(pymupdf.Rect(283.2, 483.2, 512.5, 780), " ".join([BODY] * 5), fontsize=10.1),
    ]
    assert min(written) >= 0
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 7"
    assert pair["caption"] == "Figure 7 - Photo of the damaged bituminous coating"
    assert iou(pair["bbox"], (46.1, 397.7, 265.4, 534.2)) > 0.9


def test_a_frame_round_the_text_block_of_every_page_does_not_swallow_a_table_as_wide_as_it() -> None:
    # (a typesetter's sample: each page draws the type area's frame; a table runs its full width)
    doc = pymupdf.open()
    frame = pymupdf.Rect(51.7, 53.1, 389.3, 613.1)
    for number in range(4):
        page = doc.new_page(width=441, height=666)
        for start, end in (
            (frame.tl, frame.tr),
            (frame.tr, frame.br),
            (frame.br, frame.bl),
            (frame.bl, frame.tl),
        ):
            page.draw_line(start, end, width=0.5)  # (four strokes, as the sample draws them)
        if number != 1:
            page.insert_textbox(
                pymupdf.Rect(52, 70, 389, 600), " ".join([BODY] * 8), fontsize=10, fontname="tiro"
            )
    page = doc[1]
    page.insert_text((180.1, 61.5), "Table 1. Table caption", fontsize=9, fontname="tibo")
    page.draw_line((51.6, 73.8), (389.4, 73.8), width=0.5)
    names = ("Stat", "Height", "dx", "dy", "n", "chi2", "Rmax", "Rmin", "P")
    for column, name in enumerate(names):
        page.insert_text((54 + 37 * column, 81.5), name, fontsize=8, fontname="tiro")
    page.draw_line((51.6, 84.1), (389.4, 84.1), width=0.5)
    for row in range(6):
        for column in range(9):
            page.insert_text(
                (54 + 37 * column, 93 + 9 * row),
                f"{(row + 1) * (column + 3) * 1.37:.2f}",
                fontsize=8,
                fontname="tiro",
            )
    page.draw_line((51.6, 141.3), (389.4, 141.3), width=0.5)
    page.insert_textbox(pymupdf.Rect(52, 170, 389, 600), " ".join([BODY] * 7), fontsize=10, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["kind"] == "table" and pair["page"] == 2
    assert iou(pair["bbox"], (51.6, 73.8, 389.4, 141.3)) > 0.9


def test_a_caption_read_into_one_block_with_the_header_row_does_not_make_that_row_prose() -> None:
    # (Ideas in Ecology and Evolution, as its text layer reads: the caption's four lines and the
    # header row's cells are one block; the table's rows of sentences are blocks of their own)
    def at(box: tuple[float, float, float, float], text: str, block: int) -> TextLine:
        return TextLine(Box(*box), text, 10.0, text.startswith("Table 1."), block)

    lines = [
        at(
            (72.0, 74.3, 546.9, 85.4),
            "Table 1. Commonly used null values, limitations, compatibility with",
            1,
        ),
        at(
            (72.0, 85.9, 547.1, 97.0),
            "regarding whether or not it is a good option. Null values are indicated",
            1,
        ),
        at(
            (72.0, 97.3, 547.1, 108.4),
            "work consistently and correctly with that software. For example, the",
            1,
        ),
        at(
            (72.0, 108.9, 460.0, 120.0),
            "applications in R, but does not work in others, so it is not presented",
            1,
        ),
        at((72.0, 130.9, 92.7, 142.0), "Null", 1),
        at((72.0, 142.5, 101.1, 153.6), "values", 1),
        at((112.2, 136.7, 155.4, 147.8), "Problems", 1),
        at((391.5, 136.7, 453.5, 147.8), "Compatibility", 1),
        at((463.5, 136.7, 541.1, 147.8), "Recommendation", 1),
        at((72.0, 157.3, 79.5, 168.4), "0", 2),
        at((112.2, 157.3, 250.4, 168.4), "Indistinguishable from a true zero", 2),
        at((484.1, 157.3, 526.9, 168.4), "Never use", 2),
        at((72.0, 180.1, 98.3, 191.2), "Blank", 4),
        at(
            (112.2, 180.1, 390.5, 191.2),
            "Hard to distinguish values that are missing from those overlooked",
            4,
        ),
        at((112.2, 191.5, 390.4, 202.6), "on entry. Hard to distinguish blanks from spaces, which behave", 4),
        at((112.2, 203.1, 159.6, 214.2), "differently.", 4),
        at((491.8, 217.5, 519.2, 228.6), "Avoid", 5),
        at((72.0, 217.5, 95.5, 228.6), "-999,", 6),
        at(
            (112.2, 217.5, 390.4, 228.6), "Not recognized as null by many programs without user input. Can", 6
        ),
        at((112.2, 229.1, 282.2, 240.2), "be inadvertently entered into calculations.", 6),
        at((72.0, 304.0, 101.1, 315.0), "NULL", 10),
        at((112.2, 304.0, 254.4, 315.0), "Can cause problems with data type", 10),
        at((416.5, 304.0, 437.8, 315.0), "SQL", 10),
        at((479.1, 304.0, 531.9, 315.0), "Good option", 10),
        at((72.0, 395.4, 90.9, 406.5), "-,+,.", 14),
        at((112.2, 395.4, 306.6, 406.5), "Uncommon. Can cause problems with data type", 14),
        at((491.8, 395.4, 519.2, 406.5), "Avoid", 14),
    ]
    lines += [at((72.0, 441.0 + 11.5 * row, 301.5, 452.1 + 11.5 * row), BODY[:60], 20) for row in range(20)]
    rules = [Graphic(Box(69.8, y, 547.2, y + 0.4), "path") for y in (129.4, 154.4, 415.9)]
    stats = TextStats(body_size=10.0, column_width=229.5, line_gap=0.52)
    (item,) = pair_regions(lines, rules, Box(0, 0, 612, 792), stats).items
    assert item.kind == "table"
    box = item.box
    assert iou([box.x0, box.y0, box.x1, box.y1], (69.8, 129.4, 547.2, 416.3)) > 0.9


def test_a_plate_captioned_figs_2_3_is_one_figure_and_figs_4_5_parts_two_pictures() -> None:
    # (Bollettino del Museo di Storia Naturale di Venezia: "Figs. 2-3." under a plate of two
    # photographs; "Figs 4-5." set between a plate and the picture under it, captioned "Fig. 6.")
    def photo(page: Any, rect: pymupdf.Rect) -> None:  # (a grey photograph filling its place)
        pixels = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, int(rect.width), int(rect.height)), False)
        pixels.clear_with(110)
        page.insert_image(rect, pixmap=pixels)

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    photo(page, pymupdf.Rect(75, 87, 523, 727))
    page.insert_text(
        (71, 742), "Figs. 2-3. Ibalia jakowlewi from Ponte della Priula (Italy), lateral view.", fontsize=8
    )
    page.insert_text((71, 751), "2: male, total length 14 mm; 3: female.", fontsize=8)
    page = doc.new_page(width=595, height=842)
    photo(page, pymupdf.Rect(71, 85, 533, 388))
    page.insert_text(
        (71, 401), "Figs 4-5. Emergence holes on poplar trunk. 4: first female emerging.", fontsize=8
    )
    photo(page, pymupdf.Rect(71, 431, 533, 770))
    page.insert_text(
        (71, 782), "Fig. 6. View of the dead trunk of Populus nigra hosting specimens.", fontsize=8
    )
    pairs = extract(doc)
    assert [(pair["page"], pair["caption"][:9]) for pair in pairs] == [
        (1, "Figs. 2-3"),
        (2, "Figs 4-5."),
        (2, "Fig. 6. V"),
    ]
    assert (
        iou(pairs[1]["bbox"], (71, 85, 533, 388)) > 0.9 and iou(pairs[2]["bbox"], (71, 431, 533, 770)) > 0.9
    )


def test_a_note_after_the_label_that_the_figure_goes_on_overleaf_heads_the_figure() -> None:
    # (GSA Special Papers: "Figure 6 (Continued on following page). Scenarios ..." under the first
    # panels; "Figure 6 (Continued)." under the rest on the next page)
    doc = pymupdf.open()
    for _ in range(2):
        page = doc.new_page(width=612, height=792)
        page.insert_textbox(
            pymupdf.Rect(48, 60, 564, 250), " ".join([BODY] * 5), fontsize=10, fontname="tiro"
        )
        vector_plot(page, pymupdf.Rect(48, 276, 564, 671))
    first = doc[0]
    first.insert_text(
        (48, 690),
        "Figure 6 (Continued on following page). Scenarios 1a, 1b, 3a, and 3b at 23 h after dam break.",
        fontsize=9,
        fontname="tiro",
    )
    first.insert_text((48, 700), "All flood Telford scabland.", fontsize=9, fontname="tiro")
    doc[1].insert_text((266.9, 720), "Figure 6 (Continued).", fontsize=9, fontname="tiro")
    pairs = [pair for pair in extract(doc) if pair["page"] == 1]
    assert [pair["caption"] for pair in pairs] == [
        "Figure 6. Scenarios 1a, 1b, 3a, and 3b at 23 h after dam break. All flood Telford scabland."
    ]
    assert iou(pairs[0]["bbox"], (48, 276, 564, 671)) > 0.8


def test_a_double_spaced_table_ruled_at_its_head_and_foot_keeps_its_loose_rows() -> None:
    # (a University of Queensland report: rows 24 pt apart with cells far apart, too loose to
    # cluster; rules as thin filled bars; the caption under the bottom rule)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(58, 60, 540, 235), " ".join([BODY] * 6), fontsize=10, fontname="tiro")
    for top in (246.0, 248.0, 260.3, 417.4, 419.4):
        page.draw_rect(pymupdf.Rect(57.8, top, 539.7, top + 0.5), color=None, fill=(0, 0, 0))
    for x, name in (
        (88.6, "Procedure"),
        (205.3, "Numerical Method"),
        (347.4, "Parameters"),
        (451.6, "Value"),
    ):
        page.insert_text((x, 257), name, fontsize=10, fontname="tiro")
    rows = (
        ("Perfect gas loop", "Newton's method", "Convergence tol.", "1e-10"),
        ("Arbitrary EOS loop", "Secant method", "Convergence tol.", "1e-6"),
        ("Isobar intercept", "First-order steps", "Steps of rho", "1:1000"),
        ("Shock speed", "Secant method", "Convergence tol.", "1e-10"),
    )
    for row, cells in enumerate(rows):
        for x, text in zip((70.8, 214.7, 334.8, 471.7), cells, strict=True):
            page.insert_text((x, 281 + 36 * row), text, fontsize=10, fontname="tiro")
    page.insert_text(
        (129.8, 438), "Table 1: Numerical methods implemented in exact Riemann solver procedure", fontsize=10
    )
    page.insert_textbox(pymupdf.Rect(58, 480, 540, 700), " ".join([BODY] * 6), fontsize=10, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["kind"] == "table"
    assert iou(pair["bbox"], (57.8, 246.0, 539.7, 419.9)) > 0.9


def test_a_caption_row_does_not_run_on_into_the_paragraph_set_beside_the_figure() -> None:
    # (a UCL report in Word: a figure in the left half, the body's paragraph running on beside it;
    # the caption's one row is level with a row of that paragraph, 13 pt to its right)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(57, 60, 541, 520), " ".join([BODY] * 12), fontsize=12, fontname="tiro")
    vector_plot(page, pymupdf.Rect(57, 548, 308, 725))
    page.insert_text((60.2, 751), "FIGURE 1 - CIRCUMPLEX MODEL OF SOUNDSCAPE", fontsize=9.75, fontname="tibo")
    for row in range(12):
        page.insert_text((318.2, 571 + 15 * row), "pleasantness of environments and how", fontsize=12)
    page.insert_text((318.2, 751), "This rotated axis contains additional", fontsize=12)
    (pair,) = extract(doc)
    assert pair["caption"] == "FIGURE 1 - CIRCUMPLEX MODEL OF SOUNDSCAPE"
    assert iou(pair["bbox"], (57, 548, 308, 725)) > 0.8


def test_a_table_ruled_with_strips_of_image_ends_at_its_last_rule() -> None:
    # (a Solar Physics sample article: the table's three rules painted as pictures one pixel high; a
    # reference list of macros and a bullet list under it, with no paragraph of prose on the page:
    # the article's lines run 346 pt wide on its other pages)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(595, 842), columns=((124.8, 470.5),), top=90, bottom=760, repeats=14)
    page = doc.new_page(width=595, height=842)
    black = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 1, 1), False)
    black.clear_with(0)
    page.insert_text((193.7, 203.6), "Table 3.", fontsize=8, fontname="tibo")
    page.insert_text((229.0, 203.6), "A simple table in an appendix.", fontsize=8, fontname="tiro")
    for top in (212.5, 241.0, 269.5):
        page.insert_image(pymupdf.Rect(193.7, top, 401.6, top + 0.5), pixmap=black, keep_proportion=False)
    for x, text in ((199.7, "Rot."), (238.9, "Date"), (279.8, "CMEs"), (314.8, "CMEs"), (371.4, "a")):
        page.insert_text((x, 223.3), text, fontsize=8, fontname="tiro")
    for x, text in ((284.0, "obs."), (317.6, "cor."), (352.6, "10-2 Mm-1")):
        page.insert_text((x, 234.4), text, fontsize=8, fontname="tiro")
    for y, cells in (
        (251.9, ("1", "02-Nov-97", "16", "24.1", "-1.26")),
        (262.9, ("2", "29-Nov-97", "-", "2.53", "0.94")),
    ):
        for x, text in zip((205.6, 227.8, 287.2, 314.8, 365.2), cells, strict=True):
            page.insert_text((x, y), text, fontsize=8, fontname="tiro")
    page.insert_text((124.8, 316.3), "file).", fontsize=10, fontname="tiro")
    macros = (("\\aap", "Astron. Astrophys."), ("\\apj", "Astrophys. J."), ("\\jgr", "J. Geophys. Res."),
              ("\\mnras", "Mon. Not. R. Astron. Soc."), ("\\pasj", "Publ. Astron. Soc. Japan"),
              ("\\pasp", "Publ. Astron. Soc. Pac."), ("\\solphys", "Sol. Phys."))  # fmt: skip
    for row, (macro, journal) in enumerate(macros):
        page.insert_text((124.8, 328.4 + 12.1 * row), macro, fontsize=10, fontname="cour")
        page.insert_text((175.2, 328.4 + 12.1 * row), journal, fontsize=10, fontname="tiit")
    page.insert_text((124.8, 439.0), "B. Additional statements", fontsize=10.9, fontname="tibo")
    page.insert_text((124.8, 464.0), "There are several environments for additional statements:", fontsize=10)
    for row, name in enumerate(
        ("authorcontribution", "fundinginformation", "dataavailability", "codeavailability")
    ):
        page.insert_text((131.0, 486.3 + 12.1 * row), "\u2022", fontsize=10, fontname="helv")
        page.insert_text((146.6, 486.3 + 12.1 * row), name, fontsize=10, fontname="cour")
    (pair,) = extract(doc)
    assert pair["kind"] == "table"
    assert iou(pair["bbox"], (193.7, 212.5, 401.6, 270.0)) > 0.9


def test_an_uncaptioned_table_of_the_text_above_a_table_captioned_under_it_is_not_its_head() -> None:
    # (DAFx proceedings: a two-row table of significance levels set in the text, uncaptioned, in the
    # right column; 43 pt under it the captioned table, ruled at its top and foot)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(309, 60, 546, 530), " ".join([BODY] * 6), fontsize=9, fontname="tiro")
    page.insert_textbox(pymupdf.Rect(50, 60, 287, 780), " ".join([BODY] * 9), fontsize=9, fontname="tiro")
    page.draw_line((370.0, 556.0), (500.0, 556.0), width=0.4)
    page.draw_line((400.0, 544.0), (400.0, 580.0), width=0.4)
    for x, text in ((375.0, "Level"), (410.0, "*"), (435.0, "**"), (460.0, "***"), (485.0, "****")):
        page.insert_text((x, 552.0), text, fontsize=9, fontname="tiro")
    for x, text in ((375.0, "p <="), (410.0, "0.05"), (435.0, "0.01"), (460.0, "0.001"), (485.0, "0.0001")):
        page.insert_text((x, 570.0), text, fontsize=9, fontname="tiro")
    for y in (623.4, 634.0, 687.0):
        page.draw_line((319.8, y), (535.0, y), width=0.5)
    names = ("stable", "ORIG", "CSDC", "MS", "AT", "RND", "SDIS")
    for column, name in enumerate(names):
        page.insert_text((321.0 + 33 * column, 631.5), name, fontsize=8, fontname="tibo")
    for row in range(6):
        page.insert_text((321.0, 642.0 + 8.5 * row), names[row + 1], fontsize=8, fontname="tibo")
        for column in range(1, 7):
            page.insert_text(
                (321.0 + 33 * column, 642.0 + 8.5 * row), "****" if column > row else "", fontsize=8
            )
    for row, text in enumerate(
        (
            "Table 3: Significance level for each pair of differences of means",
            "on quality (upper triangle) and similarity (lower triangle) ratings",
            "for stable sounds.",
        )
    ):
        page.insert_text((309.0, 705.0 + 10.9 * row), text, fontsize=9, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["caption"].startswith("Table 3:")
    assert iou(pair["bbox"], (319.8, 623.4, 535.0, 687.2)) > 0.85


def test_sentences_set_smaller_than_the_body_between_a_tables_rules_are_its_rows() -> None:
    # (SAGE's Sexual Abuse: a table of guidelines, one question to a row in a smaller sans face,
    # between a rule under its caption and a rule at its foot; the body's paragraphs under it)
    doc = pymupdf.open()
    page = doc.new_page(width=432, height=648)
    page.insert_text((48, 66.0), "Table 1.", fontsize=9, fontname="hebo")
    page.insert_text(
        (84, 66.0), "NCSF Guidelines for Determining the Presence or Absence of Informed Consent.", fontsize=9
    )
    page.draw_line((48, 72.4), (390, 72.4), width=0.5)
    rows = (
        "Informed consent must be judged by balancing the following criteria for each encounter at",
        "  the time the acts occurred:",
        "Was informed consent expressly denied or withdrawn?",
        "Were there factors that negated the informed consent?",
        "What is the relationship of the participants?",
        "What was the nature of the activity?",
        "What was the intent of the accused abuser?",
    )
    for row, text in enumerate(rows):
        page.insert_text((48, 83.4 + 10.5 * row), text, fontsize=9, fontname="helv")
    page.draw_line((48, 153.6), (390, 153.6), width=0.5)
    page.insert_textbox(pymupdf.Rect(48, 180, 392, 600), " ".join([BODY] * 8), fontsize=10, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["kind"] == "table"
    assert iou(pair["bbox"], (48, 72.4, 390, 153.6)) > 0.9


def handbook_caption(page: Any, x: float, y: float, label: str, title: str, bar: bool = True) -> None:
    """A rule across the column, the bold label a tab before its title, a figure's label with a short
    bar under it (the NRCS engineering handbook's captions, set over their items)."""
    page.draw_line((x, y), (x + 240, y), width=0.5)
    page.insert_text((x, y + 12), label, fontsize=9, fontname="hebo")
    page.insert_text((x + 68, y + 12), title, fontsize=9, fontname="helv")
    if bar:
        page.draw_rect(pymupdf.Rect(x, y + 17, x + 51, y + 21), color=None, fill=(0, 0, 0))


def display_equation(page: Any, x: float, y: float) -> None:
    """A formula set off from the text: a radical sign and a fraction bar drawn, the symbols as text."""
    page.insert_text((x, y + 14), "T  =", fontsize=10, fontname="tiit")
    page.draw_polyline([(x + 30, y + 4), (x + 33, y + 14), (x + 37, y), (x + 75, y)], width=0.6)
    page.insert_text((x + 40, y + 10), "L (S + 1)", fontsize=10, fontname="tiro")
    page.draw_line((x + 28, y + 17), (x + 80, y + 17), width=0.6)
    page.insert_text((x + 36, y + 29), "1,140 Y", fontsize=10, fontname="tiro")


def test_a_rule_heading_each_caption_leaves_the_item_under_it_and_no_formula_over_it() -> None:
    # (NRCS National Engineering Handbook: every caption sits over its item under a rule across the
    # column; a display formula ends just above one caption's rule, its figure under the caption)
    doc = pymupdf.open()
    for number in range(1, 4):
        page = doc.new_page(width=612, height=792)
        page.insert_textbox(
            pymupdf.Rect(36, 60, 276, 300), " ".join([BODY] * 4), fontsize=10, fontname="tiro"
        )
        page.insert_textbox(
            pymupdf.Rect(300, 60, 540, 740), " ".join([BODY] * 9), fontsize=10, fontname="tiro"
        )
        handbook_caption(page, 36, 320, f"Figure 15-{number}", "Types of flow")
        vector_plot(page, pymupdf.Rect(36, 358, 276, 560))
    page = doc.new_page(width=612, height=792)
    page.insert_textbox(pymupdf.Rect(36, 60, 276, 330), " ".join([BODY] * 4), fontsize=10, fontname="tiro")
    page.insert_textbox(pymupdf.Rect(300, 60, 540, 740), " ".join([BODY] * 9), fontsize=10, fontname="tiro")
    display_equation(page, 100, 340)
    handbook_caption(page, 36, 384, "Figure 15-4", "Mawney Brook Watershed, Kent County, RI")
    vector_plot(page, pymupdf.Rect(36, 404, 276, 606))
    display_equation(page, 100, 640)
    handbook_caption(page, 36, 683, "Table 15-1", "Maximum sheet flow lengths", bar=False)
    top = 709
    for row, cells in enumerate(
        (("Cover type", "n values", "Length"), ("Range", "0.13", "77"), ("Grass", "0.41", "24"))
    ):
        for column, text in enumerate(cells):
            page.insert_text((40 + 70 * column, top + 10 + 11 * row), text, fontsize=8, fontname="helv")
    for y in (top, top + 13, top + 38):
        page.draw_line((36, y), (276, y), width=0.5)
    pairs = {pair["label"]: pair for pair in extract(doc)}
    assert iou(pairs["Figure 15-4"]["bbox"], (36, 414, 276, 606)) > 0.9
    assert iou(pairs["Table 15-1"]["bbox"], (36, top, 276, top + 38)) > 0.9


def test_a_headnote_in_square_brackets_under_a_table_title_is_the_captions() -> None:
    # (US Geological Survey reports: the table's abbreviations in square brackets under its title,
    # a size smaller, over the table's head rule)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(612, 792), columns=((72, 540),), top=72, bottom=720, repeats=12)
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 78), "Table 1.", fontsize=10, fontname="hebo")
    page.insert_text((114, 78), "Streamflow-gaging stations used in the study.", fontsize=10, fontname="tiro")
    headnote = (
        "[sub., subwatershed; U, undeveloped watershed; IH, Interstate Highway; D, developed watershed;",
        "US, United States Highway. Classification was done on a qualitative basis.]",
    )
    for row, text in enumerate(headnote):
        page.insert_text((72, 98 + 11 * row), text, fontsize=9, fontname="tiro")
    page.draw_line((72, 118), (540, 118), width=0.8)
    for x, text in ((80, "Station no."), (200, "Station name"), (400, "Latitude"), (480, "Class")):
        page.insert_text((x, 130), text, fontsize=8, fontname="hebo")
    page.draw_line((72, 135), (540, 135), width=0.5)
    for row in range(12):
        y = 147 + 11 * row
        cells = (f"0804{2650 + row}", f"North Creek sub. {row + 1} near Jermyn, Texas", "33°14'52\"", "U")
        for x, text in zip((80, 200, 400, 480), cells, strict=True):
            page.insert_text((x, y), text, fontsize=8, fontname="tiro")
    page.draw_line((72, 280), (540, 280), width=0.8)
    (pair,) = extract(doc)
    assert pair["caption"].endswith("on a qualitative basis.]")
    assert iou(pair["bbox"], (72, 118, 540, 280)) > 0.9


def exhibit_head(page: Any, top: float, label: str, title: str, subtitle: str) -> float:
    """A report's exhibit head: the label centred on a band across the frame, the bold title centred on
    a darker band under it with a subtitle; returns the foot of the bands."""
    page.draw_rect(pymupdf.Rect(83, top, 550, top + 17), color=None, fill=(0.13, 0.35, 0.41))
    page.draw_rect(pymupdf.Rect(83, top + 16.5, 550, top + 17), color=None, fill=(0.0, 0.1, 0.47))  # (a rule)
    page.draw_rect(pymupdf.Rect(83, top + 17.5, 550, top + 49), color=None, fill=(0.0, 0.1, 0.47))
    white = (1, 1, 1)
    page.insert_text((295, top + 13), label, fontsize=12, fontname="helv", color=white)
    width = pymupdf.get_text_length(title, fontname="hebo", fontsize=13)
    page.insert_text((316.5 - width / 2, top + 31), title, fontsize=13, fontname="hebo", color=white)
    width = pymupdf.get_text_length(subtitle, fontname="helv", fontsize=12)
    page.insert_text((316.5 - width / 2, top + 45), subtitle, fontsize=12, fontname="helv", color=white)
    return top + 49


def test_an_exhibit_box_headed_by_its_label_and_title_bands_holds_its_chart_under_them() -> None:
    # (Policy Matters Ohio: a frame round each chart, its label centred on a band across the frame's
    # head and its bold title, larger than the label, on a darker band under it; markers as pictures)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(612, 792), columns=((72, 540),), top=72, bottom=720, repeats=14, fontsize=12)
    page = doc.new_page(width=612, height=792)
    for side in (
        (82.4, 85.8, 82.9, 400.7),
        (550.4, 85.8, 550.9, 400.7),
        (82.4, 85.8, 550.9, 86.3),
        (82.4, 400.2, 550.9, 400.7),
    ):
        page.draw_rect(
            pymupdf.Rect(*side), color=None, fill=(0.0, 0.1, 0.47)
        )  # (the frame drawn side by side)
    foot = exhibit_head(
        page, 86.3, "Figure 4", "Many who start don't finish", "Student six-year completion, 1997-2009"
    )
    vector_plot(page, pymupdf.Rect(96, foot + 8, 530, 340))
    marker = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 17, 17), False)
    marker.clear_with(90)
    for x, y in ((169, 203), (261, 196), (352, 165), (444, 148)):
        page.insert_image(pymupdf.Rect(x, y, x + 17, y + 17), pixmap=marker)
    page.insert_text(
        (97, 360), "Source: Policy Matters Ohio, based on national data.", fontsize=9, fontname="helv"
    )
    page.insert_textbox(pymupdf.Rect(72, 430, 540, 720), " ".join([BODY] * 5), fontsize=12, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 4 Many who start don't finish Student six-year completion, 1997-2009"
    # (the frame's sides, drawn round caption and chart together, stay in the box)
    assert pair["bbox"][1] >= foot and iou(pair["bbox"], (96, foot + 8, 530, 362)) > 0.7


def test_chart_captions_numbered_by_chapter_at_the_head_of_every_page_are_no_running_head() -> None:
    # (an agency's report: "Figure 3-2." bold at the same place atop page after page, its title a
    # tab to its right; read as "Figure 3" the label repeats and passes for a running head)
    doc = pymupdf.open()
    for number in range(1, 4):
        page = doc.new_page(width=612, height=792)
        page.insert_text((72, 45), "Projections of Disease Prevalence and Costs", fontsize=9, fontname="tiro")
        page.insert_text((72, 81), f"Figure 3-{number}.", fontsize=10, fontname="tibo")
        page.insert_text(
            (153, 81), f"Projected Prevalence of Condition {number} by Region", fontsize=10, fontname="tibo"
        )
        vector_plot(page, pymupdf.Rect(90, 100, 520, 360))
        page.insert_textbox(
            pymupdf.Rect(72, 400, 540, 700), " ".join([BODY] * 6), fontsize=10, fontname="tiro"
        )
        page.insert_text((72, 750), f"3-{number}", fontsize=10, fontname="tibo")
    pairs = extract(doc)
    assert [pair["label"] for pair in pairs] == ["Figure 3-1", "Figure 3-2", "Figure 3-3"]
    assert all(iou(pair["bbox"], (90, 100, 520, 360)) > 0.8 for pair in pairs)


def test_a_frame_drawn_round_a_figure_and_its_caption_is_no_part_of_the_figure() -> None:
    # (a highway design manual: each figure and its caption centred inside one stroked box)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.draw_rect(pymupdf.Rect(72, 82, 545, 306), color=(0, 0, 0), fill=(1, 1, 1), width=0.72)
    plot = pymupdf.Rect(165, 99, 452, 258)
    vector_plot(page, plot)
    page.insert_text((240, 294), "Figure 2.2. Orographic storm", fontsize=11, fontname="hebo")
    page.insert_textbox(pymupdf.Rect(72, 320, 543, 640), " ".join([BODY] * 8), fontsize=11, fontname="helv")
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 2.2. Orographic storm"
    assert iou(pair["bbox"], tuple(plot)) > 0.8


def test_a_chart_narrower_than_its_caption_with_prose_wrapped_beside_it_is_the_captions() -> None:
    # (a trial protocol in Word: the chart in the left half, the paragraph over it running on beside
    # it on the right, the caption across the whole text width under both)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(54, 150, 544, 280), " ".join([BODY] * 4), fontsize=11, fontname="helv")
    wide = "We used prospectively collected serial viral load data from the individuals infected and an"
    for row, y in enumerate((306.0, 319.4)):
        page.insert_text(
            (54, y),
            wide if row == 0 else "accompanying model to simulate different designs for putative drugs",
            fontsize=11,
        )
    plot = pymupdf.Rect(54, 326, 318, 623)
    vector_plot(page, plot)
    for row in range(18):
        page.insert_text((330.7, 346 + 13.4 * row), "either time to clearance or rate of it as", fontsize=11)
    page.insert_text(
        (54, 644),
        "Figure 4. The relationship between the number of measurements taken over ten days",
        fontsize=9,
    )
    page.insert_text((90, 655), "and the power to detect an effect size of ten per cent.", fontsize=9)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 4"
    assert iou(pair["bbox"], tuple(plot)) > 0.8


def test_a_caption_set_solid_in_a_double_spaced_report_ends_before_the_next_heading() -> None:
    # (a fish and wildlife report in Word: body text double-spaced, the caption's rows set solid,
    # then the bold heading "Methods" a little more than a solid row's gap under it)
    doc = pymupdf.open()
    for _ in range(2):
        page = doc.new_page(width=612, height=792)
        for row in range(22):
            page.insert_text(
                (72, 90 + 29.3 * row),
                "Hatchery reared fish raised by the Service were used in this study",
                fontsize=12,
            )
    page = doc.new_page(width=612, height=792)
    plot = pymupdf.Rect(95, 72, 460, 384)
    vector_plot(page, plot)
    page.insert_text(
        (72, 397), "Figure 1.1.  Map of the mainstem river reservoirs in the two states with the", fontsize=12
    )
    page.insert_text((72, 411.6), "lower section enlarged.", fontsize=12)
    page.insert_text((72, 441), "Methods", fontsize=12, fontname="hebo")
    for row in range(9):
        page.insert_text(
            (72, 470 + 29.3 * row),
            "Hatchery reared fish raised by the Service were used in this study",
            fontsize=12,
        )
    (pair,) = extract(doc)
    assert pair["caption"] == (
        "Figure 1.1. Map of the mainstem river reservoirs in the two states with the lower section enlarged."
    )


def test_a_captions_second_row_hanging_past_its_label_beside_prose_is_the_captions() -> None:
    # (lecture notes in Word: a figure and its two-row caption in the right half, the body running
    # on in the left half; the caption's second row starts under its first row's words, past the
    # label, and the PDF writes it after the body's rows level with it)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(78, 60, 518, 420), " ".join([BODY] * 9), fontsize=12, fontname="tiro")
    plot = pymupdf.Rect(258, 546, 519, 718)
    vector_plot(page, plot)
    first_row = "Fig. 1.4 The catchment area increases as the control point"
    page.insert_text((266.5, 746), first_row, fontsize=10, fontname="tibo")
    # (the paragraph runs across the page over the figure, then on in the left half beside it)
    for row in range(23):
        text = BODY[:84] if row < 7 else "the topographic divide applies to"
        page.insert_text((78, 442 + 14.2 * row), text, fontsize=12, fontname="tiro")
    page.insert_text((302.5, 760.2), "moves down stream", fontsize=10, fontname="tibo")
    (pair,) = extract(doc)
    assert pair["caption"] == f"{first_row} moves down stream"


def test_a_framed_table_of_dated_events_in_sentences_is_the_table_captioned_under_it() -> None:
    # (lecture notes in Word: a chronology framed in one box, each row a date and a sentence that
    # may wrap; its rows read as prose, yet the caption right under the frame makes it a table)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    frame = pymupdf.Rect(79, 72, 539, 518)
    page.draw_rect(frame, color=(0, 0, 0), width=0.5)
    page.insert_text((86.8, 86), "Date (B.C.)    Event", fontsize=12, fontname="tiro")
    page.insert_text((86.8, 100), "_" * 74, fontsize=12, fontname="tiro")
    rows = [
        ("5500", "First irrigation in Khuzistan (present day Iran)"),
        ("3200", "Reign of King Scorpion in Egypt. First evidence of irrigation in Egypt"),
        ("3000", "King Menes dammed the Nile and diverted its course."),
        ("2850", "Failure of the Sadd el-Kafara dam in Egypt."),
        ("2750", "Origin of the Indus Valley water supply and drainage systems."),
        ("2200", "Water from spring was conveyed to the Palace of Cnossos (Crete). Dams at"),
        ("", "Makhai and Lakorian in Iran."),
        ("1950", "Connection of the Nile River and the Red Sea by a navigation canal during the"),
        ("", "reign of Seostris I."),
        ("1900", "Sinnor (water tunnel) constructed at Gezer."),
        ("1800", "Nilometers at Second Cataract in Semna."),
        ("1500", "Two springs joined by a sinnor in the city of Tell Ta'annek. Maruk Dam in the"),
        ("", "Tigris near Sammara, destroyed in 1256 A.D."),
        ("1300", "Irrigation and drainage systems in Nippur. Quatinah Dam on the Orontes River"),
        ("", "in Syria constructed under the reign of either Sethi I or Ramses II."),
        ("1050", "Water meters used at Oasis Gadames in North Africa."),
        ("750", "Marib and other dams in river Wadi Adhanah in the Yemen Arab Republic."),
        ("714", "Destruction of qanat systems (artificial underground channels) by King Saragon"),
        ("", "II. Qanat system gradually spread to Iran, Egypt and India."),
        ("690", "Construction of Sennacherib's Channel."),
        ("600", "Dams in the Murghab River in Iran, destroyed in 1258 A.D."),
    ]
    for row, (date, event) in enumerate(rows):
        y = 115 + 14.17 * row
        if date:
            page.insert_text((86.8, y), date, fontsize=12, fontname="tiro")
        page.insert_text((158.8, y), event, fontsize=12, fontname="tiro")
    page.insert_text((92.8, 115 + 14.17 * len(rows)), "_" * 72, fontsize=12, fontname="tiro")
    page.insert_text(
        (86.8, 510), "In the absence of accurate information, many of these dates are approximate", fontsize=8
    )
    page.insert_text((86, 540), "Table 1.1", fontsize=9, fontname="tibo")
    page.insert_text(
        (152, 540),
        "A chronology of recorded hydrologic engineering prior to 600 B.C.",
        fontsize=9,
        fontname="tibo",
    )
    page.insert_textbox(pymupdf.Rect(78, 560, 518, 780), " ".join([BODY] * 6), fontsize=12, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["label"] == "Table 1.1"
    assert iou(pair["bbox"], tuple(frame)) > 0.8


def single_spaced_thesis_pages(doc: Any, count: int) -> None:
    """Pages of a Word thesis whose body is single-spaced, 11 pt rows 2 pt apart (its captions are
    set looser)."""
    for _ in range(count):
        page = doc.new_page(width=612, height=792)
        page.insert_textbox(
            pymupdf.Rect(90, 90, 522, 700),
            " ".join([BODY] * 12),
            fontsize=11,
            fontname="tiro",
            lineheight=1.6,
        )


def test_a_caption_row_broken_off_a_little_short_of_the_next_goes_on_into_it() -> None:
    # (a thesis in Word: the caption's rows set ragged right 9 pt apart, the body single-spaced; the
    # first row stops a word short of the second and the second opens on a bracket)
    doc = pymupdf.open()
    single_spaced_thesis_pages(doc, 2)
    page = doc.new_page(width=612, height=792)
    rows = [
        "Table 3: Management regulations for Periwinkle (Littorina littorea) and Rockweed",
        "(Ascophyllum nodosum) within NAFO Div. 4X as reported in recent DFO Stock Status",
        "Reports and CSAS Research Documents.",
    ]
    for row, text in enumerate(rows):  # (rows 9 pt apart, as a Word font's boxes leave them)
        page.insert_text((90, 108 + 24.5 * row), text, fontsize=11, fontname="tibo")
    top = 190.0
    page.draw_line((89, top), (540, top), width=0.5)
    page.draw_line((89, top + 14), (540, top + 14), width=0.5)
    page.insert_text((90, top + 11), "Management Control", fontsize=10, fontname="tiro")
    page.insert_text((300, top + 11), "Maritimes Rockweed", fontsize=10, fontname="tiro")
    for row in range(12):
        page.insert_text((90, top + 30 + 22 * row), f"Control {row}", fontsize=10, fontname="tiro")
        page.insert_text((300, top + 30 + 22 * row), "None", fontsize=10, fontname="tiro")
    page.draw_line((89, top + 290), (540, top + 290), width=0.5)
    (pair,) = extract(doc)
    assert pair["caption"] == " ".join(rows)


def test_a_caption_set_looser_than_the_body_goes_on_past_a_finished_sentence_at_its_own_spacing() -> None:
    # (the thesis's figure caption: rows 9 pt apart, its sources after the first sentence ends;
    # the body's rows elsewhere in the thesis single-spaced)
    doc = pymupdf.open()
    single_spaced_thesis_pages(doc, 2)
    page = doc.new_page(width=612, height=792)
    plot = pymupdf.Rect(91, 320, 496, 531)
    vector_plot(page, plot)
    rows = [
        "Figure 11: Sea urchin catch (open triangles, solid line) and CPUE (solid circles, dashed",
        "line) for the fishery plotted by season. Linear regression of CPUE against time shown.",
        "1989-90 to 1996-97 season data from DFO Stock Status Report (DFO, 2000e).",
    ]
    for row, text in enumerate(rows):
        page.insert_text((90, 568 + 24.5 * row), text, fontsize=11, fontname="tiro")
    page.insert_text((300, 711), "35", fontsize=11, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["caption"] == " ".join(rows)


def test_a_charts_label_beside_and_above_a_caption_at_the_page_foot_is_no_next_column() -> None:
    # (a thesis in Word: a chart's day labels under its bars, the last ("Domingo") reaching past
    # the right end of the centred caption under the chart, at the foot of the page)
    doc = pymupdf.open()
    prose_pages(
        doc,
        2,
        size=(595, 842),
        columns=((85, 510),),
        top=90,
        bottom=760,
        repeats=16,
        fontsize=11,
        fontname="helv",
    )
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(85, 90, 510, 420), " ".join([BODY] * 6), fontsize=11, fontname="helv")
    for bar in range(40):
        x = 115 + 9.5 * bar
        page.draw_rect(
            pymupdf.Rect(x, 640 - 40 - (bar % 7) * 12, x + 7, 640), color=None, fill=(0.2, 0.3, 0.7)
        )
    page.draw_line((112, 640), (505, 640), width=0.5)
    for day, name in enumerate(("Segunda", "Terça", "Quarta", "Quinta", "Sexta", "Sábado", "Domingo")):
        page.insert_text((125 + 60 * day, 652), name, fontsize=9, fontname="helv")
    page.insert_text((290, 668), "Dia da semana", fontsize=12, fontname="helv")
    caption = "Figura 26 - Perfil de consumos de energia elétrica numa semana típica de Inverno"
    page.insert_text((157, 702), caption, fontsize=9, fontname="helv")
    (pair,) = extract(doc)
    assert pair["caption"] == caption


def test_a_line_of_units_under_a_bold_title_is_the_tables_not_the_captions() -> None:
    # (Brookings Papers: the caption bold throughout, label and title over two rows, then the
    # table's unit "Annual log change × 100" in roman just above its top rule)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(432, 648), columns=((60, 372),), top=80, bottom=580, repeats=10)
    page = doc.new_page(width=432, height=648)
    rows = [
        "Table 1. Changes in the College Wage Premium and in the Supply and Demand for",
        "College-Educated Workers: 1915-2005",
    ]
    page.insert_text((60, 88), rows[0], fontsize=8.5, fontname="tibo")
    page.insert_text((60, 98), rows[1], fontsize=8.5, fontname="tibo")
    page.insert_text((60, 107.5), "Annual log change x 100", fontsize=8.5, fontname="tiro")
    page.draw_line((60, 110), (372, 110), width=0.5)
    page.insert_text((60, 122), "Period", fontsize=8.5, fontname="tiro")
    page.insert_text((200, 122), "Change in relative wage", fontsize=8.5, fontname="tiro")
    page.draw_line((60, 126), (372, 126), width=0.3)
    for row in range(8):
        page.insert_text(
            (60, 138 + 11 * row), f"19{15 + 10 * row}-19{25 + 10 * row}", fontsize=8.5, fontname="tiro"
        )
        page.insert_text((200, 138 + 11 * row), f"{row * 0.37 - 0.5:.2f}", fontsize=8.5, fontname="tiro")
    page.draw_line((60, 228), (372, 228), width=0.5)
    page.insert_textbox(pymupdf.Rect(60, 260, 372, 580), " ".join([BODY] * 6), fontsize=10, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["caption"] == " ".join(rows)


def test_the_bodys_this_figure_shows_paragraph_after_a_smaller_caption_is_not_the_captions() -> None:
    # (a proceedings paper: the caption centred under its figure in 9.8 pt, the body's paragraph
    # in 10.8 pt opening "This figure shows that ..." right under it)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(612, 792), columns=((109, 473),), top=90, bottom=700, repeats=12, fontsize=10.8)
    page = doc.new_page(width=612, height=792)
    page.insert_textbox(pymupdf.Rect(109, 90, 473, 440), " ".join([BODY] * 6), fontsize=10.8, fontname="tiro")
    vector_plot(page, pymupdf.Rect(231, 462, 347, 570))
    rows = [
        "Fig. 3. Reconstructed pitch accent of the independent svarita",
        "with corresponding marking of the pitches in the RV and SV line-internally",
    ]
    page.insert_text((168, 588), rows[0], fontsize=9.8, fontname="tiro")
    page.insert_text((138, 601), rows[1], fontsize=9.8, fontname="tiro")
    page.insert_text(
        (109, 620), "This figure shows that the independent svarita has exactly the same pitch", fontsize=10.8
    )
    page.insert_text(
        (109, 634),
        "targets as the udatta, but the timespan is shorter and the trajectory steeper.",
        fontsize=10.8,
    )
    (pair,) = extract(doc)
    assert pair["caption"] == " ".join(rows)
