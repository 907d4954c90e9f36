"""Labels of more languages: the words of Croatian, Serbian, Slovene, Romanian, Polish, Vietnamese
and Thai; the number before the word in Hungarian, Latvian and Lithuanian; Chinese numerals after
a Chinese word. And layouts drawn here with pymupdf: two pictures side by side under labels with
nothing but a footnote's call after them, as Google Docs sets them; zero-width spaces and direction
marks in the text layer; a ruled table a blank line under its caption; Chinese text in a face that
flags itself fixed-pitch."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pymupdf
import pytest

from cephalo_ray.extract.captions import CaptionLabel, parse_caption_start, with_accents_on_letters
from cephalo_ray.extract.document import in_plain_characters, read_text_lines
from cephalo_ray.extract.geometry import Box, Caption
from cephalo_ray.extract.gold import same_caption
from cephalo_ray.extract.regions import beside_other_number
from tests.unit.extract.test_manual_layouts import photo, prose
from tests.unit.extract.test_regions import BODY, extract, iou, prose_pages, vector_plot

A4 = (596, 842)


@pytest.mark.parametrize(
    ("text", "kind", "label"),
    [
        # (a Zagreb engineering thesis; a Novi Sad diploma thesis with no full stop after the number)
        ("Slika 2.1: Slika prikazuje Huygens-Fresnelovo načelo.", "figure", "Figure 2.1"),
        ("Slika 18 ASM dijagram fft2 modula", "figure", "Figure 18"),
        ("Tablica 3.2. Rezultati mjerenja", "table", "Table 3.2"),
        ("Слика 4. Блок дијаграм система", "figure", "Figure 4"),  # Serbian in Cyrillic
        ("Табела 2. Резултати мерења", "table", "Table 2"),
        # (a Budapest BSc thesis from Word: "6. ábra: Példa ..."; the others as their style guides set them)
        ("6. ábra: Példa az alakzatok attribútumaira", "figure", "Figure 6"),
        ("2. táblázat: Mérési eredmények", "table", "Table 2"),
        ("3.1. ábra. A rendszer felépítése", "figure", "Figure 3.1"),
        # (a Brno lab report from LaTeX whose text layer reads TeX's accents as glyphs of their own)
        ("Obr´azek 1: Ilustrace povrchov´eho napˇet´ı a kontaktn´ıho ´uhlu", "figure", "Figure 1"),
        ("Tabulka 2: Hodnoty povrchov´eho napˇet´ı kapalin", "table", "Table 2"),
        ("3. attēls. Sistēmas shēma", "figure", "Figure 3"),
        ("1. tabula: Rezultāti", "table", "Table 1"),
        ("1 pav. Sistemos schema", "figure", "Figure 1"),
        ("2 lentelė. Tyrimo rezultatai", "table", "Table 2"),
        # (a Taiwanese bank's climate report from Word: Chinese numerals, a full-width colon, a year
        # right after it)
        ("圖一：氣候變遷相關治理政策及管理準則", "figure", "Figure 1"),
        ("表一：2022 年海外分支機構工作進度", "table", "Table 1"),
        ("表十二：分析結果", "table", "Table 12"),
        ("图二十三：系统结构", "figure", "Figure 23"),
        ("表1：2022 年資料", "table", "Table 1"),
        # (a Iași licence thesis from Word names its tables with the article, "Tabelul"; a Warsaw
        # master's thesis labels its ruled algorithm float in Polish, a Prague one in Czech)
        ("Tabelul 1: Trei rânduri dintr-un tabel cu date", "table", "Table 1"),
        ("Algorytm 3 Wyznaczanie współczynnika BSC", "figure", "Algorithm 3"),
        ("Algoritmus 2: Výpočet vzdálenosti", "figure", "Algorithm 2"),
        # (a Ho Chi Minh City bachelor's thesis from Word)
        ("Hình 4.6. Hình ảnh minh họa sử dụng rotate với góc xoay 45 độ", "figure", "Figure 4.6"),
        ("Bảng 4.1. Chia dữ liệu TrainSet1", "table", "Table 4.1"),
        # (a Thai ministry's weekly bulletin from Word: no capitals, no punctuation after the number)
        ("ตารางที่ 1 จำนวนผู้ป่วยและเสียชีวิตด้วยโรคติดต่อที่สำคัญ", "table", "Table 1"),
        ("รูปที่ 2 แผนที่แสดงอัตราป่วย", "figure", "Figure 2"),
        # (an Indonesian informatics skripsi from Word heads each listing "Kode Program 4.3", program code)
        ("Kode Program 4.3 Fungsi Evaluasi Fitness", "figure", "Listing 4.3"),
        ("Kode Sumber 2.1 Fungsi Utama", "figure", "Listing 2.1"),
        ("Algoritma 1 Parsing sebuah kalimat", "figure", "Algorithm 1"),  # (Indonesian, as Malay)
        # (a Korean student paper in a society journal's two-column style: labels in brackets)
        ("(그림 1) 텍스트 벡터화 방법 중 Bag of Words (BoW)", "figure", "Figure 1"),
        ("(표 1) 게임 산업에서 최근 증가하는 주제", "table", "Table 1"),
        ("<표 2> 실험 결과", "table", "Table 2"),
        ("【图3】系统结构", "figure", "Figure 3"),
    ],
)
def test_label_words_and_number_forms_of_more_languages(text: str, kind: str, label: str) -> None:
    parsed = parse_caption_start(text)
    assert parsed is not None and (parsed.kind, parsed.label) == (kind, label)


def test_a_bracketed_korean_label_a_particle_follows_is_cited_not_a_caption() -> None:
    assert parse_caption_start("(그림 1)에서 보듯이 긍정적인 리뷰가 늘었다") is None  # "as (Figure 1) shows"
    assert parse_caption_start("(Figure 1) The reviews grew") is None  # (brackets only round CJK labels)


@pytest.mark.parametrize(
    "text",
    [
        "Slika 3 prikazuje raspored modula na pločici.",
        "6. ábra mutatja a program felületét.",  # a sentence citing the figure
        "3. Results",
        "Table 1:2 ratio of the samples",  # (an ASCII colon before a digit is no label's end)
        "Hình 4.6 cho thấy kết quả của mô hình.",  # ("Figure 4.6 shows the model's results.")
        "Kode Program 4.2 menunjukkan proses inisialisasi parameter",  # ("... shows the process")
    ],
)
def test_a_sentence_opening_with_the_word_or_number_is_no_caption(text: str) -> None:
    assert parse_caption_start(text) is None


def test_labels_with_only_a_note_call_after_them_caption_two_pictures_side_by_side() -> None:
    # (a policy report from Google Docs: two screenshots on one row, each over an italic "Figure N"
    # whose only other text is a superscript footnote call, the left one from the margin)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((72, 520),), top=72, bottom=770, repeats=24, fontsize=12)
    page = doc.new_page(width=A4[0], height=A4[1])
    left, right = pymupdf.Rect(75, 93, 243, 274), pymupdf.Rect(300, 105, 483, 273)
    photo(page, left)
    photo(page, right, shade=140)
    for x, number, note in ((72, 3, 14), (288, 4, 15)):
        page.insert_text((x, 295.5), f"Figure {number} ", fontsize=12, fontname="heit")
        page.insert_text((x + 47.4, 291), str(note), fontsize=7.2, fontname="heit")
    prose(page, pymupdf.Rect(72, 357, 520, 660), repeats=4)
    pairs = sorted(extract(doc), key=lambda pair: pair["bbox"][0])
    assert [pair["caption"] for pair in pairs] == ["Figure 3 14", "Figure 4 15"]
    assert iou(pairs[0]["bbox"], tuple(left)) > 0.9 and iou(pairs[1]["bbox"], tuple(right)) > 0.9


def test_a_label_from_the_margin_with_words_after_it_still_needs_a_caption_s_form() -> None:
    # (the left label followed by a sentence under the picture: body text citing it)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((72, 520),), top=72, bottom=770, repeats=24, fontsize=12)
    page = doc.new_page(width=A4[0], height=A4[1])
    photo(page, pymupdf.Rect(75, 93, 243, 274))
    page.insert_text((72, 295.5), "Figure 3 shows the old plan.", fontsize=12, fontname="tiro")
    prose(page, pymupdf.Rect(72, 357, 520, 660), repeats=4)
    assert extract(doc) == []


def test_zero_width_spaces_and_direction_marks_print_nothing_in_lines_or_in_judged_captions() -> None:
    span = {"text": "Figure 3 \u200b", "size": 12.0}
    blocks = [
        {"type": 0, "lines": [{"spans": [span, {"text": "\u200b\ufeff", "size": 10.0}]}]},
        {"type": 1, "bbox": (0, 0, 1, 1)},
    ]
    cleaned = in_plain_characters(blocks)
    assert [item["text"] for item in cleaned[0]["lines"][0]["spans"]] == ["Figure 3 ", ""]
    assert cleaned[1] == blocks[1] and span["text"] == "Figure 3 \u200b"  # (the input is left as it was)
    # (gold copied from a text layer that holds them and gold typed without them are one caption)
    assert same_caption("Figure 1. TIR\u200bFM assays", "Figure 1. TIRFM assays")
    # (a Google Docs thesis wraps every run of Latin text in a left-to-right override)
    override = [
        {
            "type": 0,
            "lines": [{"spans": [{"text": "\u202dFigure 2.\u202c \u202dA) Comparison\u202c", "size": 11}]}],
        }
    ]
    assert in_plain_characters(override)[0]["lines"][0]["spans"][0]["text"] == "Figure 2. A) Comparison"
    assert same_caption("\u202dTable1.\u202c PSM comparison", "Table1. PSM comparison")
    assert not same_caption("Figure 1. TIR FM assays", "Figure 1. TIRFM assays")


def test_a_ruled_table_a_blank_line_under_its_caption_runs_to_its_bottom_rule() -> None:
    # (a Word manuscript's table at the end: a blank paragraph between the caption and the top rule,
    # rows spaced wide apart, notes in the body's face under the bottom rule)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(612, 792), columns=((72, 540),), top=72, bottom=700, repeats=20, fontsize=11)
    page = doc.new_page(width=612, height=792)
    page.insert_text((150, 82), "Table 1. Seed response to field exposure.", fontsize=12, fontname="tibo")
    page.draw_line((66, 102), (547, 102), width=1.5)
    for column, name in enumerate(("Exposure", "Length (cm)", "Energy (%)", "Power (%)")):
        page.insert_text((75 + 120 * column, 125), name, fontsize=11, fontname="tibo")
    page.draw_line((66, 142), (547, 142), width=0.5)
    for row in range(8):
        y = 152 + 29 * row
        page.insert_text((75, y), f"({'abcdefgh'[row]}) {50 * row} mT", fontsize=10, fontname="tibo")
        for column in range(1, 4):
            page.insert_text(
                (75 + 120 * column, y), f"{9.1 + row + column:.1f} ± 0.{row}", fontsize=11, fontname="tiro"
            )
    page.draw_line((65, 375), (547, 375), width=1.5)
    prose(page, pymupdf.Rect(72, 385, 540, 500), repeats=2)
    (pair,) = extract(doc)
    assert pair["caption"] == "Table 1. Seed response to field exposure."
    assert iou(pair["bbox"], (65, 101, 547, 376)) > 0.9


def with_font_renamed(doc: Any, name: str) -> Any:
    """The document with every font's name set to `name` (as a fixed-pitch CJK face names itself)."""
    for xref in range(1, doc.xref_length()):
        for key in ("BaseFont", "FontName"):
            if doc.xref_get_key(xref, key)[0] != "null":
                doc.xref_set_key(xref, key, f"/{name}")
    return pymupdf.open("pdf", doc.tobytes())


def grid(page: Any, rect: pymupdf.Rect, rows: int, columns: int, cell: str) -> None:
    for row in range(rows + 1):
        y = rect.y0 + row * rect.height / rows
        page.draw_line((rect.x0, y), (rect.x1, y), width=0.5)
    for column in range(columns + 1):
        x = rect.x0 + column * rect.width / columns
        page.draw_line((x, rect.y0), (x, rect.y1), width=0.5)
    for row in range(rows):
        for column in range(columns):
            x = rect.x0 + 4 + column * rect.width / columns
            y = rect.y0 + 14 + row * rect.height / rows
            page.insert_text((x, y), cell, fontsize=11, fontname="china-t")


def test_chinese_text_in_a_fixed_pitch_face_is_prose_not_code() -> None:
    # (a Taiwanese bank's report from Word: its Kai face flags itself fixed-pitch, as CJK faces do;
    # a small uncaptioned grid over the caption, the captioned table right under it)
    doc = pymupdf.open()
    for _ in range(2):
        page = doc.new_page(width=595, height=842)
        page.insert_textbox(
            pymupdf.Rect(71, 72, 524, 770), "氣候相關風險影響評估" * 120, fontsize=12, fontname="china-t"
        )
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(
        pymupdf.Rect(71, 72, 524, 400), "氣候相關風險影響評估" * 50, fontsize=12, fontname="china-t"
    )
    grid(page, pymupdf.Rect(300, 426, 498, 479), 2, 3, "短期")
    page.insert_text((196, 514), "表1 氣候相關風險影響與對應時間範圍", fontsize=12, fontname="china-t")
    table = pymupdf.Rect(71, 518, 524, 750)
    grid(page, table, 6, 4, "擔保品所在地")
    doc = with_font_renamed(doc, "DFKaiMono")
    lines = read_text_lines(doc[2])
    assert lines and not any(line.mono for line in lines)
    pairs = extract(doc)
    assert [pair["caption"] for pair in pairs] == ["表1 氣候相關風險影響與對應時間範圍"]
    assert iou(pairs[0]["bbox"], tuple(table)) > 0.9


def test_latin_text_in_a_fixed_pitch_face_is_still_code() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 100), "for (int i = 0; i < n; i++) {", fontsize=10, fontname="cour")
    (line,) = read_text_lines(doc[0])
    assert line.mono


def test_a_chart_inside_a_numbered_box_is_no_figure_of_the_box_s_title() -> None:
    # (a UN commission's report: "Box 2.1" over a bold title heads a framed panel of prose in small
    # print holding an uncaptioned chart; the box is no figure, and its title captions nothing on
    # any page, its chart included)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(612, 792), columns=((71, 541),), top=72, bottom=720, repeats=24)
    page = doc.new_page(width=612, height=792)
    page.draw_rect(pymupdf.Rect(75, 88, 507, 680), width=0.8)
    page.insert_text((278, 102), "Box 2.1", fontsize=9, fontname="tiro")
    page.insert_text(
        (151, 113), "THE LONG-TERM DETERIORATION OF RAW MATERIAL PRICES", fontsize=9, fontname="tibo"
    )
    small_print(page, pymupdf.Rect(84, 120, 502, 205))
    page.insert_text((206, 218), "REAL COMMODITY PRICE INDEXES, 1900=100", fontsize=9, fontname="tibo")
    vector_plot(page, pymupdf.Rect(125, 245, 488, 391))
    small_print(page, pymupdf.Rect(84, 405, 502, 640))
    assert extract(doc) == []


def small_print(page: Any, rect: pymupdf.Rect) -> None:
    page.insert_textbox(rect, " ".join([BODY] * 12), fontsize=8, fontname="tiro")  # (filled to its foot)


def test_a_caption_s_last_row_beside_a_panel_title_half_a_row_lower_is_no_row_of_cells() -> None:
    # (a UN commission's report: "Figure 2.3", a bold title and "(35 countries)" centred over a
    # chart, its panel's "A. 1950-1973" at the left half a row under the caption's last row)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(612, 792), columns=((99, 544),), top=72, bottom=720, repeats=24, fontsize=11)
    page = doc.new_page(width=612, height=792)
    page.insert_text((300, 80), "Figure 2.3", fontsize=10, fontname="tiro")
    page.insert_text((191, 92), "EXPORT GROWTH AND GDP GROWTH BY COUNTRY", fontsize=10, fontname="tibo")
    page.insert_text((292, 103), "(35 countries)", fontsize=10, fontname="tiit")
    page.insert_text((143, 110), "A.   1950-1973", fontsize=10, fontname="tibo")
    vector_plot(page, pymupdf.Rect(157, 136, 484, 331))
    prose(page, pymupdf.Rect(99, 380, 544, 720), repeats=4)
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 2.3 EXPORT GROWTH AND GDP GROWTH BY COUNTRY (35 countries)"
    assert iou(pair["bbox"], (157, 136, 484, 331)) > 0.8


def test_four_charts_framed_together_each_under_its_own_caption_are_four_figures() -> None:
    # (an IMF note: one frame round a 2 x 2 grid of charts, each captioned over it, sources in
    # small print under each; the frame holds the first row's captions at its top)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(612, 792), columns=((72, 540),), top=72, bottom=720, repeats=24)
    page = doc.new_page(width=612, height=792)
    prose(page, pymupdf.Rect(72, 72, 540, 190))
    page.draw_rect(pymupdf.Rect(42, 206, 580, 572), width=0.75)
    grid = (
        (6, (89, 217.5), pymupdf.Rect(95, 234, 286, 352), 4),
        (7, (356, 217.5), pymupdf.Rect(335, 234, 527, 352), 1),
        (8, (92, 414.8), pymupdf.Rect(106, 432, 287, 539), 1),
        (9, (315, 414.8), pymupdf.Rect(331, 432, 518, 539), 1),
    )
    for number, (x, y), chart, sources in grid:
        page.insert_text((x, y), f"Figure {number}. Trade Restrictions Imposed", fontsize=8, fontname="helv")
        page.insert_text((x + 12, y + 9.2), "(Number of measures, 2009-22)", fontsize=8, fontname="helv")
        vector_plot(page, chart)
        for row in range(sources):  # (sources and notes in small print)
            source = "Sources: Global Trade Alert (2022); IMF staff calculations."
            page.insert_text((chart.x0 - 10, chart.y1 + 30 + 7 * row), source, fontsize=6, fontname="helv")
    prose(page, pymupdf.Rect(72, 590, 540, 700), repeats=2)
    pairs = sorted(extract(doc), key=lambda pair: (round(pair["bbox"][1], -2), pair["bbox"][0]))
    assert [pair["caption"] for pair in pairs] == [
        f"Figure {number}. Trade Restrictions Imposed (Number of measures, 2009-22)"
        for number in (6, 7, 8, 9)
    ]
    for pair, (*_, chart, _) in zip(pairs, grid, strict=True):
        assert iou(pair["bbox"], tuple(chart)) > 0.7


def test_captions_side_by_side_with_other_numbers_are_no_panel_titles() -> None:
    # (where the grid's drawings chain into one cluster through the small print between its rows,
    # the lower row's captions lie inside it: two captions of other numbers opening on one row are
    # captions of figures side by side, not a drawing's lettering)
    left = Caption(
        Box(92, 407, 288, 427), CaptionLabel("figure", "Figure 8"), "Figure 8. National Security", (3, 5)
    )
    right = Caption(
        Box(315, 407, 531, 427), CaptionLabel("figure", "Figure 9"), "Figure 9. Key Terms", (4, 6)
    )
    table = Caption(Box(315, 407, 531, 417), CaptionLabel("table", "Table 2"), "Table 2. Key Terms", (4,))
    lower = Caption(
        Box(315, 440, 531, 460), CaptionLabel("figure", "Figure 9"), "Figure 9. Key Terms", (7, 8)
    )
    assert beside_other_number(left, [left, right]) and beside_other_number(right, [left, right])
    assert not beside_other_number(left, [left, table])  # (another kind)
    assert not beside_other_number(left, [left, lower])  # (rows apart)
    twice = replace(right, label=left.label)  # (one figure's label twice)
    assert not beside_other_number(left, [left, twice])
    continued = replace(right, text="Figure 9 (continued)")  # (the rest of an item from the page before)
    assert not beside_other_number(left, [left, continued])
    assert not beside_other_number(continued, [left, continued])
    # (a letter-spaced label whose number the text layer wrote apart, over "(continued)")
    unread = replace(right, text="T a b l e (continued)")
    assert not beside_other_number(left, [left, unread])


def test_a_hairline_frame_round_a_caption_and_its_picture_is_no_part_of_the_figure() -> None:
    # (an IMF note from Word: a one-cell table's borders, drawn as hairline pieces, round a caption
    # at its top, a picture and its sources; body text runs beside it on the left)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=(612, 792), columns=((72, 540),), top=72, bottom=720, repeats=24)
    page = doc.new_page(width=612, height=792)
    prose(page, pymupdf.Rect(72, 72, 540, 450), repeats=5)
    left, top, right, bottom = 305.8, 464.2, 540.0, 667.0
    for y in (top, bottom):
        for x0, x1 in ((left, left + 0.4), (left + 0.4, right - 0.4), (right - 0.4, right)):
            page.draw_rect(pymupdf.Rect(x0, y, x1, y + 0.4), color=None, fill=(0.3, 0.3, 0.3))
    for x in (left, right - 0.4):
        for y0, y1 in ((top + 0.4, 497.8), (497.8, 646.6), (646.6, bottom)):
            page.draw_rect(pymupdf.Rect(x, y0, x + 0.4, y1), color=None, fill=(0.3, 0.3, 0.3))
    page.insert_text((335, 472), "Figure 10. Growth of GDP and Trade, 1995-2014", fontsize=8, fontname="helv")
    page.insert_text((331, 481.5), "(Average annual change, percent)", fontsize=8, fontname="helv")
    picture = pymupdf.Rect(311.4, 498.4, 534.3, 643.2)
    photo(page, picture)
    page.insert_text((311.4, 652), "Sources: Fouquin and Hugot (2016).", fontsize=6, fontname="helv")
    prose(page, pymupdf.Rect(72, 464, 298, 668), repeats=3)
    (pair,) = extract(doc)
    assert pair["caption"] == "Figure 10. Growth of GDP and Trade, 1995-2014 (Average annual change, percent)"
    assert iou(pair["bbox"], tuple(picture)) > 0.9


def test_a_figure_inside_a_numbered_box_keeps_its_own_series() -> None:
    parsed = parse_caption_start("Box Figure 1.1: Long-Term Losses, Percent of GDP")
    assert parsed is not None and (parsed.kind, parsed.label) == ("figure", "Box Figure 1.1")
    parsed = parse_caption_start("Box 2.1")
    assert parsed is not None and parsed.label == "Box 2.1"


@pytest.mark.parametrize(
    "source",
    [
        "Sumber: International Trade Center",  # Indonesian
        "Sursa: Institutul National de Statistica",  # Romanian
        "Kaynak: TUIK, 2021",  # Turkish
        "Zdroj: Cesky statisticky urad",  # Czech
    ],
)
def test_a_source_line_under_a_caption_in_the_bodys_size_is_no_part_of_it(source: str) -> None:
    # (a student's policy paper from Word: a pasted chart, its caption centred under it in the
    # body's face and size, the line naming its source centred right under the caption)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((72, 526),), top=72, bottom=770, repeats=24, fontsize=12)
    page = doc.new_page(width=A4[0], height=A4[1])
    prose(page, pymupdf.Rect(72, 72, 526, 300), repeats=3)
    chart = pymupdf.Rect(160, 330, 425, 500)
    photo(page, chart)
    caption = "Gambar 1: Negara Eksportir Utama Bijih dan Konsentrat Nikel (HS 2604)"
    page.insert_text((119, 516), caption, fontsize=12, fontname="tiro")
    page.insert_text((212, 530), source, fontsize=12, fontname="tiro")
    prose(page, pymupdf.Rect(72, 560, 526, 760), repeats=3)
    (pair,) = extract(doc)
    assert pair["caption"] == caption and iou(pair["bbox"], tuple(chart)) > 0.9


def test_formulas_numbered_in_full_width_brackets_under_a_table_are_the_texts() -> None:
    # (a Chinese thesis from Word: a ruled table under its caption, then short lines leading into
    # displayed formulas, each numbered at the right margin in full-width brackets with its
    # chapter's number, "（3-25）"; one formula's fraction and root drawn as strokes)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((70, 540),), top=72, bottom=770, repeats=24, fontsize=12)
    page = doc.new_page(width=A4[0], height=A4[1])
    page.insert_text((232, 82), "表3.4 等效刚度影响因素修正", fontsize=10.5, fontname="china-s")
    for y in (86.5, 111.0, 303.9):
        page.draw_line((70.9, y), (538.2, y), width=1.2)
    for x, text in ((90, "影响因素"), (190, "对刚度影响"), (300, "修正系数"), (420, "具体说明")):
        page.insert_text((x, 104), text, fontsize=10.5, fontname="china-s")
    for row in range(4):
        for x, text in ((90, "过渡圆角"), (190, "降低刚度"), (300, "0.92"), (420, "应力集中")):
            page.insert_text((x, 135 + 45 * row), text, fontsize=10.5, fontname="china-s")
    page.insert_text((95, 322), "总刚度修正系数为：", fontsize=12, fontname="china-s")
    page.insert_text((230, 350), "φ=0.82×0.88×0.92×0.96=0.64", fontsize=12, fontname="china-s")
    page.insert_text((493, 350), "（3-23）", fontsize=12, fontname="china-s")
    page.insert_text((70, 378), "式中：φ——总刚度修正系数。", fontsize=12, fontname="china-s")
    page.insert_text((95, 405), "将等效质量和实际总刚度代入固有频率公式：", fontsize=12, fontname="china-s")
    page.insert_text((250, 440), "fn=", fontsize=12, fontname="china-s")
    page.insert_text((280, 430), "1", fontsize=12, fontname="china-s")
    page.draw_line((274, 435), (294, 435), width=0.6)
    page.insert_text((276, 452), "2π", fontsize=12, fontname="china-s")
    page.draw_line((298, 440), (303, 452), width=0.6)
    page.draw_line((303, 452), (310, 422), width=0.6)
    page.draw_line((310, 422), (350, 422), width=0.6)
    page.insert_text((312, 440), "k/m", fontsize=12, fontname="china-s")
    page.insert_text((493, 440), "（3-25）", fontsize=12, fontname="china-s")
    page.insert_text((70, 475), "式中：fn——弹性体固有频率。", fontsize=12, fontname="china-s")
    prose(page, pymupdf.Rect(70, 500, 540, 760), repeats=4)
    (pair,) = extract(doc)
    assert pair["label"] == "Table 3.4" and pair["bbox"][3] < 330


@pytest.mark.parametrize(
    ("source", "kept"),
    [("źródło: [10, strona 1097]", True), ("Źródło: opracowanie własne na podstawie GUS", False)],
)
def test_a_source_in_lower_case_goes_on_with_the_caption_and_a_capitalised_one_stands_apart(
    source: str, kept: bool
) -> None:
    # (a Polish thesis from LaTeX puts its source in the caption's own paragraph, "...; źródło:
    # [10, strona 1097]", wrapped onto a centred line of its own; a source line set apart opens
    # with a capital)
    from cephalo_ray.extract.caption_blocks import find_captions
    from cephalo_ray.extract.geometry import TextLine

    title = "Rysunek 3.1: Komponenty typowego systemu automatycznego prowadzenia"
    lines = [
        TextLine(Box(96.0, 345.0, 476.0, 357.0), title, 12.0, False, 1),
        TextLine(Box(216.0, 359.5, 356.0, 371.5), source, 12.0, False, 1),
        TextLine(
            Box(72.0, 400.0, 523.0, 412.0),
            "Systemy automatycznego prowadzenia maszyn rolniczych",
            12.0,
            False,
            2,
        ),
    ]
    (caption,) = find_captions(lines)
    assert caption.text == (f"{title} {source}" if kept else title)


def decomposing_font(page: Any, fontname: str, marked: dict[str, str]) -> None:
    """The page's font `fontname` read through a ToUnicode map that gives each code of `marked`
    (a Latin-1 character written by `insert_text`) as a letter and a combining accent, as Word
    writes Vietnamese: "Hình" reaches the text layer as "Hi" + U+0300 + "nh"."""
    doc = page.parent
    pairs = " ".join(
        f"<{ord(code):02X}> <{''.join(f'{ord(c):04X}' for c in letters)}>" for code, letters in marked.items()
    )
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /T1 def /CMapType 2 def "
        "1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfrange <20> <7E> <0020> endbfrange "
        f"{len(marked)} beginbfchar {pairs} endbfchar "
        "endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    cmap_xref = doc.get_new_xref()
    doc.update_object(cmap_xref, "<<>>")
    doc.update_stream(cmap_xref, cmap.encode())
    (font_xref,) = [font[0] for font in page.get_fonts() if font[4] == fontname]
    doc.xref_set_key(font_xref, "ToUnicode", f"{cmap_xref} 0 R")


def test_a_label_whose_accent_comes_as_a_combining_mark_still_opens_a_caption() -> None:
    # (a Vietnamese course report from Word: every "Hình 2.1 ..." under a picture reached the text
    # layer as "Hi" + a combining grave + "nh", so no label word matched and no figure was found)
    doc = pymupdf.open()
    prose_pages(doc, 1, size=A4, columns=((72, 524),), top=72, bottom=760, repeats=24)
    page = doc.new_page(width=A4[0], height=A4[1])
    prose(page, pymupdf.Rect(72, 72, 524, 300))
    photo(page, pymupdf.Rect(117, 330, 497, 560))
    page.insert_text((185, 585), "H¤nh 2.1 M¦ h¤nh OSI v¨ m¦ h¤nh ESP-NOW.", fontsize=12, fontname="tiit")
    prose(page, pymupdf.Rect(72, 610, 524, 760))
    decomposing_font(page, "tiit", {"¤": "i\u0300", "¦": "o\u0302", "¨": "a\u0300"})
    (line,) = [line for line in read_text_lines(page) if line.italic]
    assert line.text == "Hình 2.1 Mô hình OSI và mô hình ESP-NOW."
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 2.1" and pair["caption"] == line.text
    assert iou(pair["bbox"], (117, 330, 497, 560)) > 0.9


def test_spacing_accents_tex_wrote_apart_from_their_letters_are_put_on_them() -> None:
    # (a LaTeX thesis in Spanish set in an old font encoding: its text layer reads "Gr´aficos",
    # the accent a character of its own before its letter; a keyboard's acute used as an apostrophe
    # stays one)
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    page.insert_text((72, 100), "Figura 3.4: Gr´aficos de ´areas, f¨ur the Ministry´s data", fontsize=11)
    (line,) = read_text_lines(page)
    assert line.text == "Figura 3.4: Gráficos de áreas, für the Ministry´s data"
    # (TeX's \\'{\\i} sets the accent on a dotless i: the letter is an í)
    assert with_accents_on_letters("Estad\u00b4\u0131stica y Cinem\u00b4atica") == "Estadística y Cinemática"
    assert same_caption("Figura 3.4: Gr\u00b4aficos de viol\u00b4\u0131n", "Figura 3.4: Gráficos de violín")
