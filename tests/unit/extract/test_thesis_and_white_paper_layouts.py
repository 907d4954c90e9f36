"""Layouts of theses, white papers and lab manuals drawn here with pymupdf: a bold caption whose
source citation closes it in the upright face."""

from __future__ import annotations

from dataclasses import replace

import pymupdf

from cephalo_ray.extract.caption_blocks import find_captions
from cephalo_ray.extract.captions import CaptionLabel, is_continuation, parse_caption_start
from cephalo_ray.extract.clusters import visible_graphics
from cephalo_ray.extract.document import read_text_lines
from cephalo_ray.extract.geometry import Box, Caption, Graphic, TextLine, TextStats
from cephalo_ray.extract.page_text import underlines_text
from cephalo_ray.extract.ruled_floats import ruled_floats, without_wrapped_algorithm_heads
from tests.unit.extract.test_caption_rules import line
from tests.unit.extract.test_manual_layouts import photo, prose
from tests.unit.extract.test_regions import extract, iou, prose_pages, vector_plot

A4 = (595, 842)


def test_a_source_citation_in_the_upright_face_closes_a_bold_caption() -> None:
    # (a German master's thesis from Word: a small bold caption under each figure of a pair, its
    # last row the source "(Jähne, 2012, S. 303)" in the same size but not in bold)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((70, 525),), top=72, bottom=770, repeats=24, fontsize=11)
    page = doc.new_page(width=A4[0], height=A4[1])
    picture = pymupdf.Rect(104, 76, 263, 208)
    photo(page, picture)
    rows = (
        "Abbildung 11 - Anwendung eines Filters durch",
        "zeilenweises Verschieben der Filtermaske in",
        "Pfeilrichtung, graue Zellen sind bereits bearbeitet",
    )
    for row, words in enumerate(rows):
        page.insert_text((99, 228 + 11 * row), words, fontsize=9, fontname="hebo")
    page.insert_text((99, 261), "(Jähne, 2012, S. 303)", fontsize=9, fontname="helv")
    prose(page, pymupdf.Rect(70, 290, 525, 770), repeats=6)
    (pair,) = extract(doc)
    assert iou(pair["bbox"], tuple(picture)) > 0.9
    assert pair["caption"].endswith("bereits bearbeitet (Jähne, 2012, S. 303)")


def test_a_plain_title_centred_under_a_table_label_set_at_the_right_is_the_caption() -> None:
    # (a Russian lab manual: "Таблица 2." flush right, its title centred under it in the body's
    # upright face, then the table's rows from the margin, in a grid)
    grid = [Box(70.9, 209.9, 544.3, 283.9)]
    lines = [
        line(
            (76.6, 136.0, 547.8, 154.4),
            "решетки наблюдаемые линии следуют в отношениях, приведенных ниже.",
            1,
            14.0,
        ),
        line((476.0, 160.2, 547.8, 178.9), "Таблица 2.", 2, 14.0),
        line((224.0, 184.3, 430.1, 202.8), "Ряды Qк для кубических решеток.", 3, 14.0),
        line((76.6, 209.1, 157.7, 227.5), "Тип решетки", 4, 14.0),
        line((265.7, 209.1, 486.3, 227.5), "Q1: Q2: Q3: Q4: Q5: Q6", 4, 14.0),
    ]
    (caption,) = find_captions(lines, grid, body_size=14.0, line_gap=5.7)
    assert caption.text == "Таблица 2. Ряды Qк для кубических решеток."
    # (the short last row of a paragraph under the label, from the margin, is no title)
    lines[2] = line((76.6, 184.3, 300.0, 202.8), "ряды Q следуют из индексов.", 3, 14.0)
    (caption,) = find_captions(lines, grid, body_size=14.0, line_gap=5.7)
    assert caption.text == "Таблица 2."


def test_the_rule_setting_a_caption_off_over_a_narrower_chart_is_no_part_of_the_figure() -> None:
    # (a standard-setter's discussion paper: rules across the column over and under the caption
    # and under the figure, the diagram narrower than the column and centred)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((57, 518),), top=72, bottom=770, repeats=24, fontsize=11)
    page = doc.new_page(width=A4[0], height=A4[1])
    prose(page, pymupdf.Rect(57, 72, 518, 330))
    page.draw_line((57, 340), (518, 340), width=0.5)
    page.insert_text(
        (62, 358), "Figure 1: Benefits and fraud risks from the digitalisation", fontsize=11, fontname="hebo"
    )
    page.draw_line((57, 367), (518, 367), width=0.5)
    chart = pymupdf.Rect(170, 388, 400, 590)
    vector_plot(page, chart)
    page.draw_line((57, 602), (518, 602), width=0.5)
    prose(page, pymupdf.Rect(57, 615, 518, 770))
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 1" and iou(pair["bbox"], tuple(chart)) > 0.8


def test_a_notes_rule_at_most_of_the_columns_width_keeps_the_notes_out_of_the_chart_beside() -> None:
    # (a central bank's report: a chart at the foot of the left column, its caption over it; in the
    # right column the page's notes under a rule 60 % of the column wide, level with the chart)
    doc = pymupdf.open()
    columns = ((42, 264), (276, 558))
    prose_pages(doc, 2, size=(612, 842), columns=columns, top=72, bottom=780, repeats=12)
    page = doc.new_page(width=612, height=842)
    prose(page, pymupdf.Rect(42, 72, 264, 560))
    page.insert_text(
        (42, 578), "Gráfico R1.3 Niveles versus tendencia contrafactual", fontsize=8, fontname="hebo"
    )
    chart = pymupdf.Rect(42, 597, 264, 745)
    vector_plot(page, chart)
    page.insert_text(
        (42, 757), "a/ Series desestacionalizadas y ajustadas por efecto calendario.", fontsize=6
    )
    page.insert_text((42, 765), "Fuente: DANE (EMMET); cálculos del Banco de la República.", fontsize=6)
    prose(page, pymupdf.Rect(276, 72, 558, 728), repeats=17)
    page.draw_line((276.6, 740), (446.7, 740), width=0.5)
    page.insert_text((276.6, 756), "1", fontsize=7)
    page.insert_text((293.6, 756), "Se utilizan los índices de las ventas reales empalmadas", fontsize=7)
    page.insert_text((293.6, 764), "disponibles desde 2013.", fontsize=7)
    (pair,) = extract(doc)
    assert pair["caption"].startswith("Gráfico R1.3") and pair["bbox"][2] < 270


def test_a_caption_ending_its_column_heads_the_chart_opening_the_next_column() -> None:
    # (a statistics office's bulletin in two columns, captions over their charts: the caption of
    # Figura 3 ends the left column, its chart opens the right one, Figura 4 under it has its own)
    doc = pymupdf.open()
    columns = ((85, 286), (315, 516))
    prose_pages(doc, 2, size=(595, 842), columns=columns, top=72, bottom=760, repeats=10)
    page = doc.new_page(width=595, height=842)
    prose(page, pymupdf.Rect(85, 72, 286, 700), repeats=8)
    page.insert_text(
        (85, 722), "Figura 3. Porcentaje de niños menores de 2 años que", fontsize=9, fontname="hebo"
    )
    page.insert_text(
        (85, 733), "recibieron leche materna en su primera hora de vida", fontsize=9, fontname="helv"
    )
    chart = pymupdf.Rect(315, 71, 508, 189)
    vector_plot(page, chart)
    prose(page, pymupdf.Rect(315, 200, 516, 560), repeats=4)
    page.insert_text(
        (315, 590), "Figura 4. Tasas Específicas de Fecundidad (TEF)", fontsize=9, fontname="hebo"
    )
    vector_plot(page, pymupdf.Rect(315, 600, 508, 712))
    pairs = extract(doc)
    first = next(pair for pair in pairs if pair["caption"].startswith("Figura 3"))
    assert first["page"] == 3 and iou(first["bbox"], tuple(chart)) > 0.8
    assert sorted(pair["caption"][:9] for pair in pairs) == ["Figura 3.", "Figura 4."]


def test_an_underlined_heading_under_a_tables_notes_is_no_part_of_the_table() -> None:
    # (a statistics office's bulletin: a small grid under its caption, its source under it, then a
    # side heading whose first row, as long as the grid is wide, is underlined from start to end)
    lines = [
        line((315.5, 223.9, 512.3, 234.8), "Tabla 3. Desnutrición crónica en menores", 1, 9.0),
        line((315.5, 235.0, 383.4, 245.9), "de cinco años.", 1, 9.0),
        line((328.3, 268.8, 355.1, 276.3), "Nacional", 2, 7.4),
        line((373.3, 268.8, 386.1, 276.3), "23,9", 2, 7.4),
        line((333.6, 288.6, 349.4, 296.0), "Rural", 2, 7.4),
        line((315.5, 308.0, 450.2, 317.8), "Fuente: ECV 2014 y ENSANUT 2018.", 3, 8.0),
        line((315.5, 343.4, 513.0, 356.8), "Desnutrición Crónica en menores", 4, 11.0),
        line((315.5, 356.9, 371.2, 370.3), "de 2 años", 4, 11.0),
        line((315.5, 382.6, 512.5, 394.7), "En cuanto a la desnutrición crónica", 5, 10.0),
    ]
    rules = [Box(315.9, y, 510.2, y + 0.4) for y in (246.0, 266.6, 296.2)]
    underlines = [Box(315.5, 355.6, 510.0, 356.2), Box(315.5, 369.0, 368.1, 369.6)]
    graphics = [Graphic(box, "path") for box in rules + underlines]
    stats = TextStats(body_size=10.0, column_width=197.0)
    caption = Caption(
        Box(315.5, 223.9, 512.3, 245.9), CaptionLabel("table", "Table 3"), "Tabla 3. ...", (0, 1)
    )
    assert underlines_text(underlines[0], lines, stats) and not underlines_text(rules[2], lines, stats)
    (table,) = ruled_floats([caption], graphics, lines, stats)
    assert table.y1 < 300
    kept, _ = visible_graphics(graphics, lines, Box(0, 0, 595, 842), stats)
    assert [graphic.box for graphic in kept] == rules


def test_an_algorithm_boxed_with_its_caption_at_its_foot_is_the_frame_above_the_caption() -> None:
    # (a master's mémoire in XeLaTeX: algorithm2e's boxed style, the caption inside the frame under
    # the pseudo-code; the paragraph under the frame is the text's, not the float's)
    lines = [
        line((103.0, 444.6, 217.0, 456.5), "Data : jeu de données", 1, 12.0),
        line((103.0, 473.4, 373.3, 485.4), "calcul du meilleur split et de son gain;", 2, 12.0),
        line((103.0, 575.6, 122.9, 587.5), "end", 3, 12.0),
        line((214.0, 589.8, 377.5, 601.7), "Algorithm 1 : Algorithme CART", 4, 12.0),
        line(
            (85.0, 616.1, 524.5, 628.1),
            "Dans le cas où les attributs ne sont pas binaires, les questions",
            5,
            12.0,
        ),
        line((85.0, 630.6, 122.4, 642.5), "forme :", 5, 12.0),
    ]
    frame = [
        Box(84.4, 441.9, 525.1, 442.4),
        Box(84.6, 442.1, 85.1, 604.8),
        Box(524.4, 442.1, 524.9, 604.8),
        Box(84.4, 604.5, 525.1, 605.0),
    ]
    caption = Caption(
        Box(214.0, 589.8, 377.5, 601.7), CaptionLabel("figure", "Algorithm 1"), "Algorithm 1 : ...", (3,)
    )
    stats = TextStats(body_size=12.0, column_width=439.5)
    (area,) = ruled_floats([caption], [Graphic(box, "path") for box in frame], lines, stats)
    assert area.y0 < 445 and area.y1 <= 590  # the pseudo-code above, not the paragraph under it


def test_a_table_captioned_under_an_algorithm_s_foot_leaves_the_algorithm_its_caption() -> None:
    # (a Koblenz Bachelorarbeit: "Algorithmus 3 ..." between its top rules, the pseudo-code, its foot
    # rule, then "Tabelle 1: ..." heading the next item; a figure's caption there would be the
    # float's own, its head a row of it)
    lines = [
        line((103.1, 105.6, 412.8, 116.5), "Algorithmus 3 Berechnung der Überlebensfähigkeit", 1, 10.9),
        line((179.4, 305.0, 424.8, 316.0), "Tabelle 1: Classification-Report ohne Remis.", 2, 10.9),
    ]
    algorithm = Caption(lines[0].box, CaptionLabel("figure", "Algorithm 3"), lines[0].text, (0,))
    under = Caption(lines[1].box, CaptionLabel("table", "Table 1"), lines[1].text, (1,))
    area = Box(102.7, 116.5, 504.3, 298.7)
    captions, floats = without_wrapped_algorithm_heads([algorithm, under], [area], lines)
    assert captions == [algorithm, under] and floats == [area]
    figure = replace(under, label=CaptionLabel("figure", "Figure 1"))
    captions, floats = without_wrapped_algorithm_heads([algorithm, figure], [area], lines)
    assert captions == [figure] and floats[0].y0 == algorithm.box.y0


def test_indonesian_and_french_label_words_open_captions() -> None:
    # (an Indonesian student paper's "Gambar (1)." with its number in parentheses; a French
    # ministry's "GRAPHIQUE 1" on a row of its own over the title; a German report's "Grafik 3:")
    for text, label in (
        ("Gambar (1). Sinyal Gempa", "Figure 1"),
        ("Gambar 4. Nilai STA dan LTA menggunakan excel", "Figure 4"),
        ("GRAPHIQUE 1", "Graphique 1"),
        ("Grafik 3: Entwicklung der Preise", "Grafik 3"),
    ):
        opened = parse_caption_start(text)
        assert opened is not None and (opened.kind, opened.label) == ("figure", label)
    assert parse_caption_start("gambar 1 menunjukkan sinyal gempa") is None


def test_a_standards_bodys_last_part_of_a_table_is_a_continuation() -> None:
    # ("TABLE 4 (end)" heads the rest of Table 4 on the next page, as ITU and ISO set it)
    for text in ("TABLE 4 (end)", "Tableau 2 (suite)", "Tabelle 3 (Fortsetzung)", "Таблица 2 (окончание)"):
        assert is_continuation(text)
    assert not is_continuation("Table 3 (end of year values)")
    # (a Turkish thesis heads a long table's next pages "Tablo 6.1 – devam"; Italian, Dutch and
    # Polish ones put the word in brackets)
    for text in ("Tablo 6.1 – devam", "Tabella 3 (segue)", "Tabel 2 (vervolg)", "Tabela 4 (ciąg dalszy)"):
        assert is_continuation(text)
    assert not is_continuation("Tablo 6.1 Devam eden projelerin listesi")
    # (a Thai bulletin heads a province table's next page "ตารางที่ 2 (ต่อ)"; Chinese, Japanese and
    # Korean theses put their word in full-width brackets or plain ones)
    for text in ("ตารางที่ 2 (ต่อ) จำนวนผู้ป่วย", "表 3（续）", "表 1（つづき）", "표 2 (계속)"):
        assert is_continuation(text)
    assert not is_continuation("ตารางที่ 2 ต่อมา จำนวนผู้ป่วย")


def test_a_list_of_definitions_under_a_figure_is_the_texts() -> None:
    # (a Recommendation: a small caption over a raster drawing, then "The relevant parameters
    # are:" and a list of symbols and their meanings in the body's size, set in two columns)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((57, 542),), top=72, bottom=770, repeats=24, fontsize=12)
    page = doc.new_page(width=A4[0], height=A4[1])
    page.insert_text((278, 145), "FIGURE 3", fontsize=9, fontname="tiro")
    page.insert_text((213, 159), "Definition of parameters for the NLoS2 case", fontsize=9, fontname="tiro")
    picture = pymupdf.Rect(218, 167, 377, 318)
    photo(page, picture)
    page.insert_text(
        (57, 346), "The relevant parameters for this situation are:", fontsize=12, fontname="tiro"
    )
    terms = (
        ("w1:", "street width at the position of the Station 1 (m)"),
        ("w2:", "street width at the position of the Station 2 (m)"),
        ("x1:", "distance Station 1 to street crossing (m)"),
        ("x2:", "distance Station 2 to street crossing (m)"),
    )
    for row, (term, meaning) in enumerate(terms):
        page.insert_text((57, 364 + 18 * row), term, fontsize=12, fontname="tiro")
        page.insert_text((96, 364 + 18 * row), meaning, fontsize=12, fontname="tiro")
    prose(page, pymupdf.Rect(57, 450, 542, 770), repeats=4)
    (pair,) = extract(doc)
    assert iou(pair["bbox"], tuple(picture)) > 0.9


def test_a_disclaimer_in_small_print_between_a_map_and_its_caption_bridges_them() -> None:
    # (a food-safety agency's overview in Word: a map, under it five rows of "Disclaimer: The
    # designations ..." in small print, then the caption in the body's size)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((63, 528),), top=72, bottom=770, repeats=24)
    page = doc.new_page(width=A4[0], height=A4[1])
    prose(page, pymupdf.Rect(63, 69, 528, 150), repeats=1)
    picture = pymupdf.Rect(80, 159, 541, 520)
    photo(page, picture)
    notes = (
        "Disclaimer: The designations employed and the presentation of material on this map do not imply the",
        "expression of any opinion whatsoever on the part of the Authority concerning the legal status of any",
        "country, territory, city or area or of its authorities, or concerning the delimitation of its frontiers or",
        "boundaries.",
        "The square in the top right corner of the map highlights the outermost regions of the Union.",
    )
    for row, words in enumerate(notes):
        page.insert_text((63, 559 + 9.7 * row), words, fontsize=8)
    page.insert_text(
        (80, 619), "Figure 8: Geographic distribution of virus detections in non-human mammals", fontsize=10
    )
    page.insert_text((63, 633), "since 2016 (based on Table 2)", fontsize=10)
    prose(page, pymupdf.Rect(63, 648, 528, 770), repeats=2)
    (pair,) = extract(doc)
    assert pair["caption"].startswith("Figure 8") and iou(pair["bbox"], tuple(picture)) > 0.9


def test_a_framed_snippet_over_a_diagram_is_no_part_of_the_figure_captioned_under_it() -> None:
    # (a bachelor thesis: a configuration snippet in a typewriter face, framed and uncaptioned, then
    # a diagram of boxes, then the diagram's caption)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((114, 525),), top=72, bottom=770, repeats=24, fontsize=12)
    page = doc.new_page(width=A4[0], height=A4[1])
    prose(page, pymupdf.Rect(114, 72, 525, 330), repeats=2)
    page.draw_rect(pymupdf.Rect(126, 347, 514, 427), width=0.4)
    snippet = (
        "protocol pim {",
        "  ipv4 { import none; export all; };",
        "  mreq4 { import all; export all; };",
        "}",
    )
    for row, code in enumerate(snippet):
        page.insert_text((132, 363 + 14 * row), code, fontsize=10.9, fontname="cour")
    diagram = pymupdf.Rect(115, 451, 525, 542)
    vector_plot(page, diagram)
    page.insert_text((130, 566), "Figure 5.1: A scheme of channels connecting routing tables", fontsize=12)
    prose(page, pymupdf.Rect(114, 590, 525, 770), repeats=2)
    (pair,) = extract(doc)
    assert pair["bbox"][1] > 430


def test_a_key_under_a_margin_caption_is_part_of_it() -> None:
    # (a technical study set in Gill Sans: "Figure 1." over its title in the margin, then a blank
    # half line and "Legend: Sites highlighted in yellow ..." in the caption's size)
    lines = [
        TextLine(Box(58.5, 133.1, 86.1, 142.4), "Figure 1.", 8.0, True, 1),
        line((58.5, 142.9, 124.6, 152.0), "Location of dive sites", 1, 8.0),
        line((58.5, 157.0, 86.6, 166.1), "Legend:", 2, 8.0),
        line((58.5, 166.6, 118.4, 175.7), "Sites highlighted in", 2, 8.0),
        line((58.5, 176.2, 128.2, 185.3), "yellow are cobalt-rich", 2, 8.0),
        line((58.5, 185.8, 121.7, 194.9), "sites.", 2, 8.0),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=0.6)
    assert (
        caption.text
        == "Figure 1. Location of dive sites Legend: Sites highlighted in yellow are cobalt-rich sites."
    )


def test_pictures_with_text_wrapped_beside_them_and_justified_captions_are_found() -> None:
    # (a Spanish chemistry thesis from Word: two pictures at the right, each over a justified
    # caption, the text wrapped beside them in a narrower justified paragraph; the PDF writes the
    # words of a widely justified row apart, the caption's label and number among them)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((64, 531),), top=72, bottom=770, repeats=24, fontsize=11)
    page = doc.new_page(width=A4[0], height=A4[1])
    upper, lower = pymupdf.Rect(321, 72, 531, 186), pymupdf.Rect(321, 255, 531, 450)
    photo(page, upper)
    photo(page, lower, shade=150)
    rows = [
        "campo, generando de esta forma un dipolo en las NPs y",
        "creando a su vez un nuevo campo que arrastra a los",
        "electrones hacia su posición de equilibrio mediante una",
        "fuerza denominada fuerza restauradora y la oscilación",
        "simultánea de los electrones de conducción es lo que se",
        "conoce como plasma. El plasma está cuantizado mediante",
        "plasmones, y la frecuencia correspondiente a la oscilación",
        "se denomina frecuencia de plasma. Como la oscilación",
        "ocurre cerca de la interfase y los volúmenes de las NPs",
    ]
    y = 84.0
    for text in [*rows[:4], "[Figura 2].", *rows[4:]]:  # (a paragraph's last row, short)
        page.insert_text((64, y), text, fontsize=11, fontname="tiro")
        y += 15.5
    for x, word in ((64, "pequeños,"), (135, "estos"), (180, "plasmones"), (252, "se"), (283, "denominan")):
        page.insert_text((x, y), word, fontsize=11, fontname="tiro")
    y += 15.5
    for text in [*rows[:2], "(LPSs).", *rows[2:6]]:
        page.insert_text((64, y), text, fontsize=11, fontname="tiro")
        y += 15.5
    caption_rows = (
        "de superficie localizados (LPSs). Las",
        "flechas rojas indican el sentido de la",
        "fuerza.",
    )
    page.insert_text((355, 200), "Figura 2. Plasmones de superficie", fontsize=11, fontname="tiro")
    for row, text in enumerate(caption_rows):
        page.insert_text((355, 215 + 15 * row), text, fontsize=11, fontname="tiro")
    for x, word in ((392, "Figura"), (445, "3."), (479, "Funciones")):
        page.insert_text((x, 466), word, fontsize=11, fontname="tiro")
    for row, text in enumerate(("dieléctricas de tres metales", "nobles (tamaño < 10 nm).")):
        page.insert_text((392, 481 + 15 * row), text, fontsize=11, fontname="tiro")
    prose(page, pymupdf.Rect(64, 540, 531, 770), repeats=4)
    pairs = sorted(extract(doc), key=lambda pair: pair["bbox"][1])
    assert [pair["label"] for pair in pairs] == ["Figure 2", "Figure 3"]
    assert iou(pairs[0]["bbox"], tuple(upper)) > 0.9 and iou(pairs[1]["bbox"], tuple(lower)) > 0.9
    assert pairs[1]["caption"] == "Figura 3. Funciones dieléctricas de tres metales nobles (tamaño < 10 nm)."


def test_a_source_paragraph_between_a_caption_and_its_table_is_neither_the_caption_nor_the_table() -> None:
    # (an economics thesis typeset in Apple Pages, each line a block of its own: "Table 5" over its
    # title, then four lines of "Sources: ..." set narrower than the table, then the table's top rule)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((85, 510),), top=72, bottom=770, repeats=20, fontsize=12)
    page = doc.new_page(width=A4[0], height=A4[1])
    prose(page, pymupdf.Rect(85, 200, 510, 490), repeats=3)
    page.insert_text((90, 533), "Table 5", fontsize=12, fontname="tiro")
    page.insert_text((90, 555.3), "Difference in Differences", fontsize=12, fontname="tiro")
    sources = (
        "Sources: Uruguayan Economics and Finance Ministry; Treasury",
        "Department; Uruguayan Central Bank; National Statistics Institute",
        "of Uruguay; National Institute of Statistics and Censuses of",
        "Argentina.",
    )
    for row, text in enumerate(sources):
        page.insert_text((90, 577.6 + 22.3 * row), text, fontsize=12, fontname="tiro")
    page.draw_line((85, 652), (499, 652), width=0.5)
    for x, head in ((182, "Government"), (264, "Government"), (344, "Inflation Rate"), (424, "GDP Growth")):
        page.insert_text((x, 667), head, fontsize=12, fontname="tiro")
    page.draw_line((85, 697), (499, 697), width=0.5)
    for row, cells in enumerate(
        (
            ("Intercept", "-38656.27***", "-96221***", "39.112***", "-1.176"),
            ("", "(8701)", "(943)", "(1.181)", "(1.504)"),
        )
    ):
        for x, cell in zip((90, 182, 264, 344, 424), cells, strict=True):
            if cell:
                page.insert_text((x, 712 + 22.3 * row), cell, fontsize=12, fontname="tiro")
    (pair,) = extract(doc)
    assert pair["caption"] == "Table 5 Difference in Differences"
    assert iou(pair["bbox"], (85, 652, 499, 738)) > 0.85


def test_a_bare_label_in_the_captions_smaller_size_takes_no_line_in_the_body_size_under_it() -> None:
    # (a German master's thesis in Word: two charts side by side, each with a bare "Abbildung N" in
    # 9 pt bold centred under it in a text box; the text resumes in 10 pt under the left one, a body
    # line's spacing under it)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((105, 499),), top=72, bottom=770, repeats=22, fontsize=10)
    page = doc.new_page(width=A4[0], height=A4[1])
    left, right = pymupdf.Rect(122, 438, 254, 571), pymupdf.Rect(342, 433, 474, 566)
    photo(page, left)
    photo(page, right, shade=150)
    page.insert_text((160, 608), "Abbildung 9", fontsize=9, fontname="tibo")
    page.insert_text((380, 603), "Abbildung 8", fontsize=9, fontname="tibo")
    prose(page, pymupdf.Rect(105, 616, 499, 770), repeats=3)
    pairs = sorted(extract(doc), key=lambda pair: pair["bbox"][0])
    assert [pair["caption"] for pair in pairs] == ["Abbildung 9", "Abbildung 8"]


CHINESE = "探测器在飞行下降段的速度变化较为频繁，由于小天体引力小，控制加速度的值比较小。"


def test_a_paragraph_opening_with_a_label_set_in_as_its_first_row_cites_the_figure() -> None:
    # (a Chinese master's thesis in Word: "图3.9 给出了..." opens a paragraph two characters in, as
    # every paragraph opens, over a figure centred above its caption "图3.11 ..." in a smaller size)
    doc = pymupdf.open()
    for _ in range(2):
        page = doc.new_page(width=A4[0], height=A4[1])
        page.insert_textbox(pymupdf.Rect(71, 72, 519, 770), CHINESE * 30, fontsize=12, fontname="china-s")
    page = doc.new_page(width=A4[0], height=A4[1])
    page.insert_textbox(pymupdf.Rect(71, 72, 519, 180), CHINESE * 4, fontsize=12, fontname="china-s")
    first = "图3.9 给出了探测器速度变化的仿真曲线，为实现探测器能够绕过安全椭球抵"
    page.insert_text((95, 206), first, fontsize=12, fontname="china-s")
    # (the next row justified out to the first row's end: its last character set at that edge)
    end = 95 + pymupdf.get_text_length(first, fontname="china-s", fontsize=12)
    page.insert_text(
        (71, 228),
        ("达期望位置的目标，" + CHINESE)[: int((end - 71) / 12) - 1],
        fontsize=12,
        fontname="china-s",
    )
    page.insert_text((end - 12, 228), "，", fontsize=12, fontname="china-s")
    picture = pymupdf.Rect(120, 250, 470, 480)
    photo(page, picture)
    caption = "图3.11 飞行下降段仿真结果"
    width = pymupdf.get_text_length(caption, fontname="china-s", fontsize=10.5)
    page.insert_text((295 - width / 2, 500), caption, fontsize=10.5, fontname="china-s")
    page.insert_textbox(pymupdf.Rect(71, 520, 519, 770), CHINESE * 8, fontsize=12, fontname="china-s")
    lines = read_text_lines(page)
    assert [caption.label.label for caption in find_captions(lines, body_size=12.0, line_gap=4.0)] == [
        "Figure 3.11"
    ]
    (pair,) = extract(doc)
    assert pair["label"] == "Figure 3.11"
    assert iou(pair["bbox"], tuple(picture)) > 0.9


def test_underscores_drawn_as_rules_inside_a_tables_caption_and_a_heading_are_text() -> None:
    # (an aerospace graduation report from LaTeX: "calculate_d_nm.m" in a table's caption and in the
    # side heading under the table, each underscore a 4 pt rule in the line's foot; read as rules,
    # they stretched the table up into its caption and down to the heading)
    caption = line((170.6, 72.7, 438.3, 83.3), "Table 3.3: IN/OUT parameters of calculate d nm.m", 1, 12.0)
    heading = line((91.8, 169.5, 170.1, 180.1), "calculate v.m", 5, 12.0)
    stats = TextStats(body_size=12.0, column_width=432.0)
    for underscore in (Box(394.5, 80.5, 398.5, 81.0), Box(143.7, 177.4, 148.3, 177.9)):
        assert underlines_text(underscore, [caption, heading], stats)
    # (a tick mark beside a chart's label, or a rule under a table, is no underscore)
    assert not underlines_text(Box(440.0, 80.5, 444.0, 81.0), [caption, heading], stats)
    assert not underlines_text(Box(117.9, 136.6, 490.9, 137.1), [caption, heading], stats)
