"""Exhibits titled but not numbered, on pages drawn here as a statistics office's quarterly note sets
them: two columns, each chart or table under a bold title, a subtitle and a unit line, over notes
in a smaller size and a "Source :" line. The title is the caption; without the source line under
the drawing, or with the text's paragraph run on over it, nothing is an exhibit. And a bulletin's
numbered caption in a band over its chart's panel, under the page's underlined heading."""

from __future__ import annotations

from typing import Any

import pymupdf

from tests.unit.extract.test_regions import BODY, extract, iou

A4 = (595, 842)
LEFT, RIGHT = (78, 286), (319, 526)


def column_prose(page: Any, column: tuple[float, float], top: float, bottom: float) -> None:
    """Running text filling the column from `top` to `bottom`, as many sentences as fit."""
    rect = pymupdf.Rect(column[0], top, column[1], bottom)
    words = " ".join([BODY] * 12).split()
    while words and page.insert_textbox(rect, " ".join(words), fontsize=8.5, fontname="helv") < 0:
        words = words[: len(words) - 4]  # (nothing is written where the text does not fit)


def title_block(page: Any, x: float, y: float, rows: tuple[str, ...]) -> float:
    """The bold title, then its subtitle and unit in the body's face; returns the y under them."""
    for number, row in enumerate(rows):
        page.insert_text((x, y + 9.8 * number), row, fontsize=8.5, fontname="hebo" if number == 0 else "helv")
    return y + 9.8 * (len(rows) - 1) + 3


def line_chart(page: Any, rect: pymupdf.Rect) -> None:
    page.draw_rect(rect, width=0.3)
    for step in range(5):
        y = rect.y1 - 12 - step * (rect.height - 24) / 4
        page.insert_text((rect.x0 + 3, y + 2), str(60 + 20 * step), fontsize=5.5, fontname="helv")
        page.draw_line((rect.x0 + 16, y), (rect.x1 - 4, y), color=(0.8, 0.8, 0.8), width=0.3)
    points = [(rect.x0 + 16 + i * (rect.width - 20) / 24, rect.y1 - 20 - (i * 7 % 40)) for i in range(25)]
    page.draw_polyline(points, color=(0, 0.6, 0.9), width=1)
    for year in range(5):
        page.insert_text(
            (rect.x0 + 20 + year * 40, rect.y1 - 3), f"janv.-2{year}", fontsize=5.5, fontname="helv"
        )


def framed_table(page: Any, x0: float, y0: float, x1: float, rows: int) -> float:
    """A grid of a label column and three columns of numbers; returns its foot."""
    height = 12 + 9.5 * rows
    page.draw_rect(pymupdf.Rect(x0, y0, x1, y0 + height), width=0.5)
    page.draw_line((x0, y0 + 12), (x1, y0 + 12), width=0.5)
    for x in (x0 + 110, x0 + 145, x0 + 178):
        page.draw_line((x, y0), (x, y0 + height), width=0.5)
    for column, name in enumerate(("Produits", "Quantité", "T/T-4", "Part")):
        page.insert_text(
            (x0 + 3 + (0 if column == 0 else 110 + 34 * (column - 1)), y0 + 9),
            name,
            fontsize=6.5,
            fontname="hebo",
        )
    for row in range(rows):
        y = y0 + 20 + 9.5 * row
        page.insert_text((x0 + 3, y), f"Produit pétrolier {row + 1}", fontsize=6.5, fontname="helv")
        for column, value in enumerate((f"{1200 + 37 * row}", f"{row - 3.5:.1f}", f"{4.2 * row:.1f}")):
            page.insert_text((x0 + 115 + 34 * column, y), value, fontsize=6.5, fontname="helv")
    return y0 + height


def note(page: Any, x: float, bottom: float) -> float:
    """A note in 7 pt and the source line in bold 7 pt under a drawing; returns the y under them."""
    page.insert_text((x, bottom + 9), "(1) Hors soutes maritimes.", fontsize=7, fontname="helv")
    page.insert_text((x, bottom + 17.5), "Source : calculs SDES, d'après CPDP", fontsize=7, fontname="hebo")
    return bottom + 22


def quarterly_note(last_page: Any) -> Any:
    doc = pymupdf.open()
    for _ in range(2):
        page = doc.new_page(width=A4[0], height=A4[1])
        for column in (LEFT, RIGHT):
            column_prose(page, column, 98, 760)
    last_page(doc.new_page(width=A4[0], height=A4[1]))
    return doc


def test_a_titled_chart_and_table_over_their_sources_are_exhibits_captioned_by_their_titles() -> None:
    def last_page(page: Any) -> None:
        column_prose(page, LEFT, 98, 190)
        top = title_block(
            page,
            LEFT[0],
            210,
            ("Production et consommation de produits", "(séries brutes)", "En milliers de tonnes"),
        )
        foot = framed_table(page, LEFT[0], top, LEFT[1] - 2, rows=9)
        column_prose(page, LEFT, note(page, LEFT[0], foot) + 14, 760)
        column_prose(page, RIGHT, 98, 250)
        top = title_block(
            page,
            RIGHT[0],
            270,
            ("Consommation de produits pétroliers", "(séries CVS-CVC-CJO)", "Indice base 100 en 2010"),
        )
        line_chart(page, pymupdf.Rect(RIGHT[0], top, RIGHT[1], top + 120))
        column_prose(page, RIGHT, note(page, RIGHT[0], top + 120) + 14, 760)

    pairs = sorted(extract(quarterly_note(last_page)), key=lambda pair: pair["bbox"][0])
    assert [(pair["kind"], pair["caption"]) for pair in pairs] == [
        ("table", "Production et consommation de produits (séries brutes) En milliers de tonnes"),
        ("figure", "Consommation de produits pétroliers (séries CVS-CVC-CJO) Indice base 100 en 2010"),
    ]
    assert pairs[0]["label"] is None and pairs[1]["label"] is None
    assert iou(pairs[0]["bbox"], (78, 232.6, 284, 330.1)) > 0.9
    assert iou(pairs[1]["bbox"], (319, 292.6, 526, 412.6)) > 0.9


def test_no_source_line_under_it_or_the_text_run_on_over_it_and_a_drawing_is_no_exhibit() -> None:
    def last_page(page: Any) -> None:
        # (a bold title over a chart with nothing under it but the text)
        top = title_block(page, LEFT[0], 120, ("Consommation de produits pétroliers", "En %"))
        line_chart(page, pymupdf.Rect(LEFT[0], top, LEFT[1], top + 120))
        column_prose(page, LEFT, top + 140, 760)
        # (a source line under a chart, but the bold line over it is the end of a paragraph, set
        # right under the paragraph's rows: a run-in heading, no title standing apart)
        column_prose(page, RIGHT, 98, 158.5)
        top = title_block(page, RIGHT[0], 157.5, ("Consommation de produits pétroliers",))
        line_chart(page, pymupdf.Rect(RIGHT[0], top, RIGHT[1], top + 120))
        column_prose(page, RIGHT, note(page, RIGHT[0], top + 120) + 14, 760)

    assert extract(quarterly_note(last_page)) == []


def test_a_chart_caption_in_a_band_over_its_panel_never_takes_the_underlined_heading_over_it() -> None:
    # (an Ecuadorian observatory's bulletin from InDesign: a page heading in 17 pt over a rule across
    # the page, then in the right column a teal band holding a two-row caption over the grey panel
    # of its chart, the band reaching into the panel)
    def last_page(page: Any) -> None:
        page.insert_text((243, 98), "Hechos estilizados", fontsize=17, fontname="hebo")
        page.draw_line((41, 106), (554, 106), width=2, color=(0.5, 0.63, 0.69))
        column_prose(page, (42.5, 289), 120, 760)
        page.draw_rect(pymupdf.Rect(308.6, 144.4, 552.4, 289.8), color=None, fill=(0.94, 0.93, 0.9))
        page.draw_rect(pymupdf.Rect(308.6, 121.9, 552.4, 157.3), color=None, fill=(0.01, 0.41, 0.48))
        for y, row in (
            (137, "Gráfico 3. Proporción del promedio del ingreso recibido"),
            (149, "por el 10% más rico"),
        ):
            width = pymupdf.get_text_length(row, fontname="hebo", fontsize=8)
            page.insert_text((430.5 - width / 2, y), row, fontsize=8, fontname="hebo", color=(1, 1, 1))
        line_chart(page, pymupdf.Rect(317.4, 161.9, 539.8, 282.7))
        page.insert_text((309, 298), "Fuente: CEPALSTAT, con base en INEC.", fontsize=7, fontname="helv")
        column_prose(page, RIGHT, 320, 760)

    # (no item reaches up over the rule: the heading and its underline are the page's)
    assert all(pair["bbox"][1] > 110 for pair in extract(quarterly_note(last_page)))
