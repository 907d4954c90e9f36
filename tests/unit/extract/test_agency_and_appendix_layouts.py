"""Layouts of agency reports, accepted manuscripts, course appendices, workshop papers, theses and
central banks' reviews drawn here with pymupdf: a chart under its caption below an empty frame of
two rules, a side heading under the rule after a chart's notes, full-page charts at one place on
several pages, table notes before the next figure's rules, a note line under a legend, a centred
subtitle under a centred title, an appendix's hyphenated table number, a paragraph opening under a
caption in the body's face, a displayed formula over a chart, Japanese text beside stacked figures
and Japanese titles opening with a file name, an axis drawn apart from its chart, "Graph" and
"График" labels and a label word missing its ligature, a display title before its label and a bold
caption over the body text of its block."""

from __future__ import annotations

from typing import Any

import pymupdf

from cephalo_ray.extract.captions import parse_caption_start
from cephalo_ray.extract.claims import vertical_claim
from cephalo_ray.extract.geometry import Box, Caption, Cluster
from tests.unit.extract.test_caption_rules import line
from tests.unit.extract.test_manual_layouts import photo, prose
from tests.unit.extract.test_regions import BODY, extract, iou, prose_pages, vector_plot

LETTER = (612, 792)


def test_a_chart_under_its_caption_is_not_the_empty_frame_of_rules_over_the_caption() -> None:
    # (a US agency's report: two rules drawn as one path frame an empty band at the head of the
    # page, a black bar closes it, the caption sits on the bar and the chart hangs under it)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=LETTER, columns=((216, 570),), top=60, bottom=740, repeats=10, fontsize=11)
    page = doc.new_page(width=LETTER[0], height=LETTER[1])
    shape = page.new_shape()
    shape.draw_line((36, 42), (576, 42))
    shape.draw_line((36, 156), (576, 156))
    shape.finish(color=(0, 0, 0), width=0.5)
    shape.commit()
    page.draw_rect(pymupdf.Rect(35, 159, 577, 165), color=None, fill=(0, 0, 0))
    page.insert_text((37, 175), "Figure 1: U.S. Oil Production, 1900-2005", fontsize=9, fontname="hebo")
    chart = pymupdf.Rect(38, 190, 562, 400)
    vector_plot(page, chart)
    page.insert_text((217, 415), "Source: analysis of Energy Information Administration data.", fontsize=6)
    prose(page, pymupdf.Rect(216, 430, 570, 740))
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 1" and iou(pair["bbox"], tuple(chart)) > 0.9


def test_a_side_heading_under_the_rule_after_a_charts_notes_is_not_the_charts() -> None:
    # (the same report: under the chart's source and notes a rule across the page opens the next
    # section, whose heading stands in the margin column, larger than the body)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=LETTER, columns=((216, 570),), top=60, bottom=740, repeats=10, fontsize=11)
    page = doc.new_page(width=LETTER[0], height=LETTER[1])
    page.insert_text(
        (37, 175), "Figure 2: World Crude Oil Production, 1965-2005", fontsize=9, fontname="hebo"
    )
    chart = pymupdf.Rect(38, 190, 570, 400)
    vector_plot(page, chart)
    page.insert_text((217, 410), "Source: analysis of British Petroleum data.", fontsize=6)
    page.insert_text((217, 424), "Note: These data include crude oil, shale oil and oil sands.", fontsize=8)
    page.draw_line((36, 447), (576, 447), width=0.5)
    for row, words in enumerate(("Oil Is Critical in Satisfying", "the U.S. and World", "Demand for Energy")):
        page.insert_text((37, 463 + 15 * row), words, fontsize=14, fontname="tiro")
    prose(page, pymupdf.Rect(216, 452, 570, 740))
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 2" and pair["bbox"][3] < 440


def test_full_page_charts_at_one_place_on_several_pages_are_figures_not_a_background() -> None:
    # (a student's report exported from an online word processor: each results chart fills its
    # page inside the margins, placed at the very same box, its caption under it)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(596, 842), columns=((57, 539),), top=60, bottom=780, repeats=12, fontsize=11)
    chart = pymupdf.Rect(58, 58, 510, 737)
    for number in range(3):
        page = doc.new_page(width=596, height=842)
        photo(page, chart, shade=60 + 40 * number)
        page.insert_text((57, 752), f"Abbildung {number + 3}: Relative Fehler der Verfahren", fontsize=11)
    pairs = extract(doc)
    assert [pair["label"] for pair in pairs] == ["Figure 3", "Figure 4", "Figure 5"]
    assert all(iou(pair["bbox"], tuple(chart)) > 0.9 for pair in pairs)


def test_notes_under_a_ruled_table_close_it_before_the_rules_of_the_figure_under_it() -> None:
    # (an accepted manuscript: the table under its caption is ruled top, head and foot; its note
    # follows in small type; the figure below has rules of the same span over and under its charts)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(595, 842), columns=((72, 523),), top=72, bottom=780, repeats=12, fontsize=11)
    page = doc.new_page(width=595, height=842)
    page.insert_text(
        (150, 117),
        "Table 15.1 Total climate finance flows between 2013 and 2020",
        fontsize=11,
        fontname="tibo",
    )
    for y in (128, 150, 248):
        page.draw_line((72, y), (523, y), width=0.5)
    page.insert_text((80, 143), "Source", fontsize=9)
    for row in range(6):
        for column in range(6):
            page.insert_text(
                (80 + 75 * column, 165 + 14 * row), f"{(row + 2) * (column + 3) * 7}", fontsize=9
            )
    page.insert_text(
        (72, 262),
        "Note: Given the variations in numbers reported by different entities, the higher",
        fontsize=8,
    )
    page.insert_text(
        (72, 272),
        "bound reported in the Biennial Assessment reports includes estimates of efficiency.",
        fontsize=8,
    )
    page.draw_line((72, 380), (523, 380), width=0.5)
    chart = pymupdf.Rect(74, 384, 520, 522)
    vector_plot(page, chart)
    page.draw_line((72, 537), (523, 537), width=0.5)
    page.insert_text(
        (110, 549), "Figure 15.3 Available estimates of global climate finance", fontsize=11, fontname="tibo"
    )
    prose(page, pymupdf.Rect(72, 600, 523, 780))
    table, figure = sorted(extract(doc), key=lambda pair: pair["bbox"][1])
    assert table["label"] == "Table 15.1" and table["bbox"][3] < 260
    assert figure["label"] == "Figure 15.3" and figure["bbox"][1] > 370


def test_a_legend_ends_at_the_note_under_it_however_the_note_runs_on() -> None:
    # (the same manuscript, its body set one and a half spaced: "Note: ... Source: World Bank" in a
    # smaller size under a figure's title, its second line in yet another size; neither is the
    # caption's)
    doc = pymupdf.open()
    for _ in range(2):
        page = doc.new_page(width=595, height=842)
        spaced_prose(page, pymupdf.Rect(72, 72, 523, 780))
    page = doc.new_page(width=595, height=842)
    spaced_prose(page, pymupdf.Rect(72, 72, 523, 400), 4)
    chart = pymupdf.Rect(76, 416, 520, 580)
    vector_plot(page, chart)
    page.insert_text(
        (81, 593), "Figure 15.1 Financial flows by type of economy and region", fontsize=10.9, fontname="tibo"
    )
    page.insert_text(
        (81, 606),
        "Note: Regional breakdown based on official UN country classification. Source: World",
        fontsize=8.9,
    )
    page.insert_text((81, 618), "Bank Data (2020a). Numbers represent aggregated country data.", fontsize=9)
    spaced_prose(page, pymupdf.Rect(72, 642, 523, 780), 1)
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 15.1 Financial flows by type of economy and region"


def spaced_prose(page: Any, rect: pymupdf.Rect, repeats: int = 12) -> None:
    """An accepted manuscript's body: 11 pt, its rows' boxes some ten points apart."""
    assert (
        page.insert_textbox(rect, " ".join([BODY] * repeats), fontsize=11, fontname="tiro", lineheight=2.2)
        >= 0
    )


def test_a_centred_subtitle_under_a_centred_title_is_the_captions_not_the_charts() -> None:
    # (a congressional research report: a bold title, then its period and a note centred under it
    # in a smaller size, a few points apart; the chart's frame starts under them)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=LETTER, columns=((108, 522),), top=72, bottom=720, repeats=10, fontsize=11)
    page = doc.new_page(width=LETTER[0], height=LETTER[1])
    title = "Figure 2. SSA Total Staff on Duty at the End of the Fiscal Year, by Data Source"
    subtitle = "FY1964-FY2026 (Selected Years). Figure is interactive in HTML report version."
    title_width = pymupdf.get_text_length(title, fontname="hebo", fontsize=11)
    subtitle_width = pymupdf.get_text_length(subtitle, fontname="helv", fontsize=10)
    page.insert_text((306 - title_width / 2, 91), title, fontsize=11, fontname="hebo")
    page.insert_text((306 - subtitle_width / 2, 108), subtitle, fontsize=10, fontname="helv")
    frame = pymupdf.Rect(91, 116, 524, 330)
    page.draw_rect(frame, color=(0.5, 0.5, 0.5), width=0.5)
    vector_plot(page, pymupdf.Rect(100, 122, 515, 322), title="Total staff on duty")
    prose(page, pymupdf.Rect(108, 400, 522, 720))
    (pair,) = extract(doc)
    assert pair["caption"] == f"{title} {subtitle}"
    assert iou(pair["bbox"], tuple(frame)) > 0.9


def test_an_appendix_table_numbered_with_a_letter_and_a_hyphen_is_a_caption() -> None:
    for text, label in (
        ("Table A-1. Historical Staffing Data, by Metric", "Table A1"),
        ("Figure B-2 Shares by region", "Figure B2"),
        ("Table 2-1. Summary of the sites", "Table 2-1"),
    ):
        parsed = parse_caption_start(text)
        assert parsed is not None and parsed.label == label


def test_a_paragraph_opening_under_a_one_row_caption_in_the_bodys_face_is_not_the_captions() -> None:
    # (a workshop's proceedings in LaTeX: the caption in the body's face and size fills its column's
    # width; the next paragraph opens an em in, citing the figure, a little further down)
    doc = pymupdf.open()
    for _ in range(2):
        page = doc.new_page(width=595, height=842)
        for left in (72, 310):
            set_loosely(page, pymupdf.Rect(left, 72, left + 225, 770), 9)
    page = doc.new_page(width=595, height=842)
    set_loosely(page, pymupdf.Rect(310, 72, 535, 770), 5)
    chart = pymupdf.Rect(74, 394, 294, 550)
    vector_plot(page, chart)
    page.insert_text(
        (72.7, 573), "Figure 2: Spectrum of the pan flute analysis frames", fontsize=10.9, fontname="tiro"
    )
    page.insert_text(
        (82.9, 596), "Figure 2 shows the spectrum of our pan flute", fontsize=10.9, fontname="tiro"
    )
    page.insert_text(
        (72, 613), "analysis frame. Each sine component corresponds to a", fontsize=10.9, fontname="tiro"
    )
    page.insert_text(
        (72, 630), "peak, and the noise lies between the peaks of the frame.", fontsize=10.9, fontname="tiro"
    )
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 2: Spectrum of the pan flute analysis frames"


def set_loosely(page: Any, rect: pymupdf.Rect, repeats: int) -> None:
    """Prose in a LaTeX paper's 10.9 pt body, its rows a little over two points apart."""
    assert (
        page.insert_textbox(rect, " ".join([BODY] * repeats), fontsize=10.9, fontname="tiro", lineheight=1.55)
        >= 0
    )


def test_a_displayed_formula_over_a_chart_is_the_texts_not_the_charts() -> None:
    # (the same proceedings: the paragraph ends on a formula set on its own rows, a fraction bar in
    # it, and the chart follows a little under it)
    doc = pymupdf.open()
    prose_pages(
        doc, 2, size=(595, 842), columns=((72, 297), (310, 535)), top=72, bottom=770, repeats=9, fontsize=10.9
    )
    page = doc.new_page(width=595, height=842)
    prose(page, pymupdf.Rect(72, 72, 297, 330), repeats=2)
    prose(page, pymupdf.Rect(310, 72, 535, 770), repeats=5)
    page.insert_text((72, 355), "x(t) = d(t) + e(t) =", fontsize=10.9, fontname="tiro")
    page.insert_text((153, 355), "A cos", fontsize=10.9, fontname="tiro")
    page.insert_text((183, 348), "2\u03c0F", fontsize=10.3, fontname="tiro")
    page.draw_line((181, 351), (212, 351), width=0.4)
    page.insert_text((190, 362), "Fs", fontsize=9.4, fontname="tiro")
    page.insert_text((215, 355), "+ e(t)", fontsize=10.9, fontname="tiro")
    chart = pymupdf.Rect(74, 394, 294, 550)
    vector_plot(page, chart)
    page.insert_text(
        (72.7, 573), "Figure 2: Spectrum of pan flute analysis frame", fontsize=10.9, fontname="tiro"
    )
    prose(page, pymupdf.Rect(72, 590, 297, 770), repeats=1)
    (pair,) = extract(doc)
    assert pair["bbox"][1] > chart.y0 and pair["bbox"][3] >= chart.y1 - 1


JAPANESE = (
    "図１は等温マルテンサイト変態の二次元シミュレーションで、時間は無次元化した時間である。"
    "青は立方晶を、赤と緑がそれぞれ正方晶でバリアントの異なるドメインを表している。"
)


def test_japanese_prose_beside_figures_stacked_in_a_column_keeps_them_apart() -> None:
    # (a Japanese course appendix in Word: the text runs in the left half of the page beside three
    # figures stacked in the right half, each captioned under it; the pages before are one column)
    doc = pymupdf.open()
    for _ in range(2):
        page = doc.new_page(width=595, height=842)
        page.insert_textbox(pymupdf.Rect(42, 60, 553, 780), JAPANESE * 12, fontsize=10.5, fontname="japan")
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(42, 60, 553, 120), JAPANESE, fontsize=10.5, fontname="japan")
    page.insert_textbox(pymupdf.Rect(42, 170, 264, 780), JAPANESE * 6, fontsize=10.5, fontname="japan")
    charts = [
        pymupdf.Rect(281, 180, 535, 308),
        pymupdf.Rect(281, 369, 531, 495),
        pymupdf.Rect(281, 544, 531, 671),
    ]
    for number, chart in enumerate(charts, start=1):
        photo(page, chart, shade=60 + 50 * number)
        page.insert_text(
            (281, chart.y1 + 13), f"図{number} 外力下における組織変化", fontsize=9.5, fontname="japan"
        )
    pairs = sorted(extract(doc), key=lambda pair: pair["bbox"][1])
    assert [pair["label"] for pair in pairs] == ["Figure 1", "Figure 2", "Figure 3"]
    assert all(iou(pair["bbox"], tuple(chart)) > 0.9 for pair, chart in zip(pairs, charts, strict=True))


def test_a_japanese_title_may_open_with_a_file_name_in_latin_lower_case() -> None:
    parsed = parse_caption_start("図1 vjc.bat の内容")
    assert parsed is not None and parsed.label == "Figure 1"
    assert parse_caption_start("図1 は500K における等温マルテンサイト変態") is None  # a sentence's particle


def test_a_formula_across_the_page_over_the_text_beside_a_figure_is_not_the_figures() -> None:
    # (the same appendix: a row of parameters set across the page in pieces, then the text in the
    # left half of the page beside the figure in the right half)
    label = parse_caption_start("図1 構造相転移の二次元シミュレーション")
    assert label is not None
    caption = Caption(Box(281, 310, 540, 321), label, "図1 構造相転移の二次元シミュレーション", (0,))
    lines = [line((281, 310, 540, 321), caption.text, 0, 9.5)]
    lines += [
        line((54 + 86 * piece, 126, 130 + 86 * piece, 138), "= 1000[J/mol],", 1, 10.2) for piece in range(5)
    ]
    prose_beside = [
        line((42, 171 + 14 * row, 264, 182 + 14 * row), JAPANESE[:20], 2, 10.5) for row in range(9)
    ]
    lines += prose_beside
    clusters = [
        Cluster(Box(54, 126, 482, 157), lines=[1, 2, 3, 4, 5], text_only=True),
        Cluster(Box(281, 180, 535, 308), images=1),
    ]
    blockers = [prose.box for prose in prose_beside]
    claim = vertical_claim(0, [caption], clusters, blockers, Box(0, 0, 595, 842), (42, 553), True, lines)
    assert claim is not None and claim.clusters == (1,)


def test_an_axis_drawn_apart_from_its_chart_keeps_its_tick_labels_and_the_caption() -> None:
    # (a Portuguese thesis's spreadsheet chart: the gridlines and points stand well above the axis
    # line, whose year labels hang a little over seven points under it; the caption is under them)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(595, 842), columns=((85, 510),), top=72, bottom=770, repeats=10, fontsize=11)
    page = doc.new_page(width=595, height=842)
    prose(page, pymupdf.Rect(85, 72, 510, 340))
    page.insert_text((240, 374), "Intensidade Carbónica", fontsize=14, fontname="hebo")
    gridlines = page.new_shape()
    for y, tick in ((394, "2,40"), (453, "2,20")):
        gridlines.draw_line((155, y), (446, y))
        page.insert_text((132, y + 3), tick, fontsize=9, fontname="helv")
    gridlines.finish(color=(0.85, 0.85, 0.85), width=0.75)
    gridlines.commit()
    for x in (157, 253, 349, 445):
        page.draw_circle((x, 458), 2.4, color=(0.27, 0.45, 0.77), fill=(0.27, 0.45, 0.77))
    page.draw_line((156, 511.7), (446, 511.7), color=(0.85, 0.85, 0.85), width=0.75)
    page.insert_text((129, 515), "2,00", fontsize=9, fontname="helv")
    for x, year in zip((147.1, 243.5, 339.9, 436.3), ("2014", "2015", "2016", "2017"), strict=True):
        page.insert_text((x, 529), year, fontsize=9, fontname="helv")
    page.insert_text((293, 545.5), "Ano", fontsize=11, fontname="helv")
    caption = "Figura 32 - Evolução da IC entre 2014 e 2017"
    page.insert_text((223.5, 575), caption, fontsize=9, fontname="heit")
    prose(page, pymupdf.Rect(85, 600, 510, 770), repeats=2)
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 32" and pair["bbox"][1] < 395 and pair["bbox"][3] > 540


def test_graphs_labelled_as_graphs_and_a_label_word_missing_its_ligature_are_captions() -> None:
    # (a quarterly review labels its charts "Graph 1", a Russian lab report its plots "График 1"; a
    # monetary policy report's text layer drops the "fi" ligature of "Gráfico")
    for text, label in (
        ("Graph 1 Fast payments are rising rapidly", "Graph 1"),
        ("График 1. Зависимость коэффициента пропускания от угла", "График 1"),
        ("Gráfco 3.13 Población ocupada", "Gráfco 3.13"),
    ):
        parsed = parse_caption_start(text)
        assert parsed is not None and parsed.kind == "figure" and parsed.label == label


def test_a_display_title_before_its_label_at_the_rows_end_is_the_caption() -> None:
    # (the review heads each chart with its title in a display size and "Graph 1" flush right on the
    # same row, smaller and upright, the PDF writing both in one block)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(595, 842), columns=((147, 521),), top=72, bottom=770, repeats=10, fontsize=10)
    page = doc.new_page(width=595, height=842)
    prose(page, pymupdf.Rect(147, 72, 521, 250))
    title = "Fast payments are rising rapidly, while cash in circulation is stable"
    page.insert_text((55, 281), title, fontsize=11, fontname="helv")
    page.insert_text((486, 281), "Graph 1", fontsize=9, fontname="helv")
    chart = pymupdf.Rect(55, 294, 518, 519)
    vector_plot(page, chart)
    prose(page, pymupdf.Rect(147, 560, 521, 770), repeats=2)
    (pair,) = extract(doc)
    assert pair["caption"] == f"Graph 1 {title}" and iou(pair["bbox"], tuple(chart)) > 0.8


def test_a_bold_caption_set_apart_in_size_ends_where_the_body_text_resumes_in_its_block() -> None:
    # (a conference's Word template: the caption in 9 pt bold over two rows, then in the same text
    # block the next paragraph in the 10 pt body, no space between)
    doc = pymupdf.open()
    prose_pages(
        doc, 2, size=(595, 842), columns=((51, 286), (312, 547)), top=72, bottom=770, repeats=8, fontsize=10
    )
    page = doc.new_page(width=595, height=842)
    prose(page, pymupdf.Rect(312, 72, 547, 770), repeats=5)
    chart = pymupdf.Rect(51, 420, 286, 560)
    vector_plot(page, chart)
    first = "Figure 3 - Artist impression showing increased impact of a"
    second = "cyber security attack in comparison with a physical attack"
    page.insert_text((51, 576), first, fontsize=9, fontname="hebo")
    page.insert_text((51, 586.3), second, fontsize=9, fontname="hebo")
    body = (
        "Part two of the standard offers implementation",
        "guidance for setting up a security management",
        "system, and the utility followed it in its regions.",
    )
    for row, words in enumerate(body):
        page.insert_text((51, 599.5 + 11.5 * row), words, fontsize=9.96, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["caption"] == f"{first} {second}"
