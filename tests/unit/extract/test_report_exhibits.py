"""Layouts of policy institutes', agencies' and students' reports drawn here with pymupdf: tables
striped in shaded bands under a two-row header band, a table's title repeated over each page it
runs to, stacked tables under double rules, a chart's subtitle set tight under a title of several
rows, a listing under a grid table, a display face's lower-case label, a shaded header row over a
striped table stacked on a chart, a sentence's last word wrapped onto a line of its own, and a
margin column of table captions."""

from __future__ import annotations

import pymupdf

from tests.unit.extract.test_manual_layouts import photo, prose
from tests.unit.extract.test_regions import BODY, extract, iou, prose_pages

LILAC = (0.79, 0.70, 0.81)
PALE_LILAC = (0.86, 0.80, 0.88)
NAVY = (0.18, 0.19, 0.57)


def test_a_table_striped_in_bands_under_a_two_row_header_band_runs_to_its_closing_rule() -> None:
    # (a Wiley journal: "TABLE 3" over a lilac header band two rows high, drawn as one broad stroke,
    # rows of bullets in the body's face, every other row a paler band, a thin rule closing it)
    doc = pymupdf.open()
    prose_pages(
        doc, 1, size=(595, 782), columns=((46, 289), (307, 550)), top=60, bottom=740, repeats=14, fontsize=8
    )
    page = doc.new_page(width=595, height=782)
    page.insert_text((47, 55), "TABLE 3", fontsize=8, fontname="hebo")
    page.insert_text((90, 55), "Strategies used to address caregiver burden", fontsize=8, fontname="helv")
    page.draw_line((46.4, 74.1), (550.4, 74.1), color=LILAC, width=25.4)
    page.insert_text((50, 77), "Area of burden", fontsize=8, fontname="helv")
    page.insert_text((160, 71), "Case", fontsize=8, fontname="helv")
    page.insert_text((160, 81), "study", fontsize=8, fontname="helv")
    page.insert_text((215, 77), "Strategies", fontsize=8, fontname="helv")
    y = 104.0
    for row in range(5):
        top = y - 9
        lines = 4
        if row % 2:
            page.draw_line(
                (46.4, top + lines * 6.5), (550.4, top + lines * 6.5), color=PALE_LILAC, width=lines * 13
            )
        page.insert_text((50, y), f"Burden {row + 1}", fontsize=8, fontname="helv")
        page.insert_text((160, y), "1, 2, 3", fontsize=8, fontname="helv")
        for line in range(lines):
            page.insert_text((215, y + 12 * line), "\u2022", fontsize=8, fontname="helv")
            page.insert_text(
                (225, y + 12 * line), BODY[: 80 + 7 * line].rsplit(" ", 1)[0], fontsize=8, fontname="helv"
            )
        y += lines * 13 + 6
    closing = y - 9
    page.draw_line((46.4, closing), (550.4, closing), color=LILAC, width=1)
    for left in (46, 307):
        prose(page, pymupdf.Rect(left, closing + 20, left + 243, 760), 2)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 3" and pair["kind"] == "table"
    assert iou(pair["bbox"], (46.4, 61.4, 550.4, closing + 0.5)) > 0.9


def test_a_paragraphs_last_line_citing_a_table_is_no_caption_of_the_heading_under_it() -> None:
    # (a journal setting one paragraph looser than the rest: "... are presented in" + "Table 2." on
    # a row of its own, then a heading whose bar is a drawn stroke)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(595, 782), columns=((46, 289), (307, 550)), top=60, bottom=740, repeats=14)
    page = doc.new_page(width=595, height=782)
    prose(page, pymupdf.Rect(46, 60, 289, 740), 6)
    cited = (
        "Demographic information about the navigators of the programme is presented in Table 1. "
        "Demographic information about the three dyads in the case studies are presented in Table 2."
    )
    # (justified rows at twice the size's spacing: "Table 2." falls alone on the last row)
    page.insert_textbox(
        pymupdf.Rect(307.6, 420, 527.6, 520), cited, fontsize=8, fontname="helv", lineheight=2.06, align=3
    )
    page.insert_text((307.6, 515), "3.2", fontsize=10, fontname="hebo")
    page.draw_line((328.6, 507.5), (328.6, 515.5), color=LILAC, width=1)
    page.insert_text((335.8, 515), "Qualitative results", fontsize=10, fontname="hebo")
    prose(page, pymupdf.Rect(307, 530, 550, 740), 2)
    assert extract(doc) == []


def test_a_tables_doubled_top_rule_under_its_caption_measures_how_near_the_table_is() -> None:
    # (a Master's work project: "Table 6: ..." centred 12 pt over a doubled rule as wide as the
    # table's other rules, the head row 16 pt under it: the table is 12 pt from its caption, nearer
    # than the notes of the table over the caption, which another caption heads)
    from cephalo_ray.extract.captions import parse_caption_start
    from cephalo_ray.extract.claims import vertical_claim
    from cephalo_ray.extract.geometry import Box, Caption, Cluster, TextLine

    text = "Table 6: Radius Matching with 0.001 caliper"
    label = parse_caption_start(text)
    assert label is not None
    caption = Caption(Box(199, 403.8, 413, 414.5), label, text, (0,))
    lines = [TextLine(Box(199, 403.8, 413, 414.5), text, 12.0, False, 0)]
    for x, word in ((255.7, "ATT"), (300.6, "Std. Error"), (360.5, "T - stat")):
        lines.append(TextLine(Box(x, 445.1, x + 40, 455.8), word, 12.0, False, 1))
    lines.append(TextLine(Box(250.3, 474.4, 283.1, 485.1), "0.2103", 12.0, False, 2))
    clusters = [
        Cluster(Box(106.0, 426.2, 506.0, 428.7), paths=2),
        Cluster(Box(106.0, 445.1, 506.0, 457.9), paths=1, lines=[1, 2, 3]),
        Cluster(Box(250.3, 474.4, 283.1, 485.1), lines=[4], text_only=True),
    ]
    page = Box(0, 0, 612, 792)
    claim = vertical_claim(0, [caption], clusters, [], page, (106, 506), False, lines)
    assert claim is not None and claim.clusters[:2] == (0, 1)
    assert abs(claim.cost - (426.2 - 414.5)) < 0.01


def test_a_tables_title_repeated_over_each_page_it_runs_to_is_one_table() -> None:
    # (an intelligence unit's index: "Table 3. Democracy Index 2006-21" over every page of the table,
    # with no "continued")
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(595, 842), columns=((56, 540),), top=72, bottom=760, repeats=20)
    for _ in range(3):
        page = doc.new_page(width=595, height=842)
        page.insert_text((56, 110), "Table 3. Democracy Index 2006-21", fontsize=10, fontname="hebo")
        page.draw_rect(pymupdf.Rect(56, 122, 540, 140), color=None, fill=NAVY)
        page.insert_text(
            (60, 134), "Country      2021    2020    2019", fontsize=8, fontname="helv", color=(1, 1, 1)
        )
        for row in range(40):
            y = 152 + 14 * row
            if row % 2:
                page.draw_rect(pymupdf.Rect(56, y - 10, 540, y + 3), color=None, fill=(0.9, 0.92, 0.96))
            page.insert_text(
                (60, y),
                f"Country {row}    9.{row % 10}    8.{row % 7}    7.{row % 5}",
                fontsize=8,
                fontname="helv",
            )
    pairs = extract(doc)
    assert [(pair["page"], pair["label"]) for pair in pairs] == [(2, "Table 3")]


def test_a_charts_subtitle_set_tight_under_a_title_of_several_rows_is_its_captions() -> None:
    # (a peace institute's report: "FIGURE 2.5" small, a bold title over two rows, a one-sentence
    # subtitle in grey tight under it, the chart under that; the other column's prose level with it)
    doc = pymupdf.open()
    prose_pages(
        doc, 1, size=(595, 842), columns=((42, 284), (302, 540)), top=52, bottom=780, repeats=14, fontsize=8.2
    )
    page = doc.new_page(width=595, height=842)
    prose(page, pymupdf.Rect(42, 52, 284, 780), 7)
    page.insert_text((302.8, 60), "FIGURE 2.5", fontsize=8, fontname="helv", color=(0.4, 0.4, 0.4))
    page.insert_text((303.2, 72), "Total population facing food insecurity by", fontsize=11, fontname="hebo")
    page.insert_text((303.2, 84), "level of peacefulness, 2018", fontsize=11, fontname="hebo")
    grey = (0.4, 0.4, 0.4)
    page.insert_text(
        (302.8, 95),
        "A significantly higher number of people face food insecurity",
        fontsize=8,
        fontname="helv",
        color=grey,
    )
    page.insert_text((302.8, 105), "in less peaceful countries.", fontsize=8, fontname="helv", color=grey)
    for bar in range(5):
        page.draw_rect(
            pymupdf.Rect(330 + 40 * bar, 240 - 30 * bar, 355 + 40 * bar, 280),
            color=None,
            fill=(0.5, 0.6, 0.2),
        )
    page.draw_line((310, 280), (537, 280), width=0.5)
    for step in range(6):
        page.insert_text((306, 284 - 32 * step), f"{step * 100}", fontsize=6.5, fontname="helv")
    page.insert_text((306, 298), "Source: FAO, IEP Calculations", fontsize=7, fontname="helv")
    prose(page, pymupdf.Rect(302, 330, 540, 780), 2)
    (pair,) = extract(doc)
    assert pair["caption"] == (
        "FIGURE 2.5 Total population facing food insecurity by level of peacefulness, 2018 "
        "A significantly higher number of people face food insecurity in less peaceful countries."
    )
    assert iou(pair["bbox"], (306, 120, 537, 291)) > 0.8


def test_a_listing_set_apart_under_a_grid_table_is_no_row_of_the_table() -> None:
    # (a software manual: "Table 4.4 - Example of a ground motion record." over a small framed
    # grid of numbers, then, well apart, a framed snippet of code no caption names)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(595, 842), columns=((90, 505),), top=90, bottom=760, repeats=20)
    page = doc.new_page(width=595, height=842)
    page.insert_text(
        (190, 112), "Table 4.4 \u2013 Example of a ground motion record.", fontsize=9, fontname="tiro"
    )
    left, middle, right, top = 258.6, 284.0, 336.7, 129.7
    for row in range(11):
        y = top + 17.5 * row
        page.draw_rect(pymupdf.Rect(left, y, right, y + 17.5), width=0.5)
        page.draw_line((middle, y), (middle, y + 17.5), width=0.5)
        page.insert_text((262, y + 12.5), f"0.{row + 1:02d}", fontsize=9, fontname="tiro")
        page.insert_text((288, y + 12.5), f"0.02{row}1", fontsize=9, fontname="tiro")
    bottom = top + 17.5 * 11
    frame = pymupdf.Rect(90.4, bottom + 32, 504.9, bottom + 107)
    page.draw_rect(frame, width=0.6)
    for number, code in enumerate(("minT = 0.1", "maxT = 2", "utils.plot_response_spectra(gmrs,minT,maxT)")):
        page.insert_text((96, frame.y0 + 20 + 18 * number), code, fontsize=9, fontname="cour")
    prose(page, pymupdf.Rect(90, frame.y1 + 25, 505, 780), 3)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 4.4"
    assert iou(pair["bbox"], (left, top, right, bottom)) > 0.9


def test_a_table_labelled_in_a_display_faces_lower_case_is_captioned() -> None:
    # (a development bank's report: "table 14: Rice Exports ..." in a demibold display face that
    # prints capitals while its text layer reads lower case, on a teal band over the table)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(612, 792), columns=((56, 357),), top=60, bottom=740, repeats=16)
    page = doc.new_page(width=612, height=792)
    page.draw_rect(pymupdf.Rect(56.7, 110.6, 555.1, 127.6), color=None, fill=(0.27, 0.55, 0.62))
    page.insert_text(
        (60, 123), "table 14: Rice Exports and Imports in Volume (t) and Value (BZ$), 2015-2022",
        fontsize=11.5, fontname="hebo", color=(1, 1, 1),
    )  # fmt: skip
    for number, y in enumerate((146.7, 164.1, 181.1, 198.1, 215.1)):
        page.draw_line((56.8 if number % 2 == 0 else 95.7, y), (554.9, y), color=(0.5, 0.5, 0.5), width=0.5)
    page.insert_text(
        (120, 141), "2015     2016     2017     2018     2019     2020", fontsize=8, fontname="helv"
    )
    for number, y in enumerate((160, 177, 194, 211)):
        page.insert_text(
            (100, y), f"Exports {number}   1,124   882   511   1,917   856", fontsize=8, fontname="helv"
        )
    page.insert_text(
        (56.7, 236), "Source: UN Department of Economic Affairs, 2024.", fontsize=7, fontname="tiro"
    )
    prose(page, pymupdf.Rect(56.7, 260, 357, 740), 4)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 14" and pair["kind"] == "table"
    assert pair["caption"].startswith("table 14: Rice Exports")
    assert iou(pair["bbox"], (56.7, 130, 555.1, 215.6)) > 0.8


def test_a_tables_rows_under_its_shaded_header_row_stay_its_over_a_chart_captioned_below() -> None:
    # (a drug authority's newsletter: "Table 3: ..." over a navy header row between thin rules,
    # striped rows, then a bar chart whose "Figure 8: ..." caption is under it)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=(595, 842), columns=((33, 561),), top=72, bottom=780, repeats=20)
    page = doc.new_page(width=595, height=842)
    page.insert_text(
        (35, 80),
        "Table 3: Number and Rates of AEFI reported by Region, MR vaccination campaign",
        fontsize=10,
        fontname="tiro",
    )
    page.insert_text((55, 92), "AEFI surveillance, 17th Oct - 19th Dec 2018", fontsize=10, fontname="tiro")
    page.draw_rect(pymupdf.Rect(33.1, 107.8, 561.1, 154.8), color=None, fill=NAVY)
    page.draw_line((33.1, 107.1), (561.1, 107.1), width=1)
    page.draw_line((33.1, 155.5), (561.1, 155.5), width=1)
    for left, words in (
        (60, ("REGION",)),
        (150, ("TARGET (9 -", "59 MONTHS)")),
        (250, ("NUMBER", "VACCINATED WITH", "MR VACCINE")),
        (360, ("NUMBER OF", "AEFI", "REPORTED")),
        (460, ("AEFI", "RATE/100,000", "VACCINATED")),
    ):
        for number, word in enumerate(words):
            page.insert_text((left, 125 + 10 * number), word, fontsize=8, fontname="hebo", color=(1, 1, 1))
    for row in range(11):
        y = 178 + 19.8 * row
        if row % 2:
            page.draw_rect(pymupdf.Rect(33.1, y - 13.5, 561.1, y + 6), color=None, fill=(0.85, 0.89, 0.96))
        page.insert_text(
            (60, y),
            f"Region {row}      905,876      877,638      64      7.{row}",
            fontsize=10,
            fontname="helv",
        )
    chart = pymupdf.Rect(91.3, 407.7, 493.0, 610.3)
    photo(page, chart, 200)
    page.insert_text(
        (35, 642),
        "Figure 8: Distribution of the AEFI by type, MR vaccination campaign",
        fontsize=10,
        fontname="tiro",
    )
    prose(page, pymupdf.Rect(33, 660, 561, 800), 2)
    pairs = {pair["label"]: pair for pair in extract(doc)}
    assert sorted(pairs) == ["Figure 8", "Table 3"]
    assert iou(pairs["Table 3"]["bbox"], (33.1, 106.5, 561.1, 385)) > 0.9
    assert iou(pairs["Figure 8"]["bbox"], tuple(chart)) > 0.9


def test_a_table_beside_a_margin_caption_stops_at_the_table_the_next_caption_heads() -> None:
    # (a Springer review: each table's caption in the left margin column, the second one's first
    # row a little over its table's head rule, the tables 29 pt apart, nearer than panels may be)
    from cephalo_ray.extract.captions import parse_caption_start
    from cephalo_ray.extract.claims import beside_claim
    from cephalo_ray.extract.geometry import Box, Caption, Cluster

    captions = []
    for text, box in (
        ("Table 11 Commonly employed perovskite end members for relaxors", Box(48.2, 256.2, 158.3, 290.1)),
        ("Table 12 List of a few relaxor-based compositions for MLC", Box(48.2, 372.4, 158.3, 392.6)),
    ):
        label = parse_caption_start(text, label_is_bold=True)
        assert label is not None
        captions.append(Caption(box, label, text, (len(captions),), True))
    clusters = [
        Cluster(Box(175.8, 255.2, 547.1, 347.6), paths=3, lines=[2, 3, 4, 5]),
        Cluster(Box(175.8, 376.6, 547.1, 727.1), paths=3, lines=[6, 7, 8, 9]),
    ]
    first = beside_claim(0, captions, clusters, [])
    second = beside_claim(1, captions, clusters, [])
    assert first is not None and first.clusters == (0,)
    assert second is not None and second.clusters == (1,)
