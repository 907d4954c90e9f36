"""Pages drawn here as student reports and theses set them: a running head whose right half names
the section (it changes every few pages) over a rule a few points under it; a display equation of
roots and fractions, numbered at the margin, over a table captioned below; a figure of small
tables whose sub-captions run the text's width; an expert font's old-style figures in a label; a
Word thesis's list under a caption, and its subsection headings, in the body's size, under a table
whose foot Word ruled cell by cell."""

from __future__ import annotations

from typing import Any

import pymupdf

from cephalo_ray.extract.document import in_plain_characters
from cephalo_ray.extract.gold import same_caption
from tests.unit.extract.test_manual_layouts import photo
from tests.unit.extract.test_regions import BODY, extract, iou

A4 = (595, 842)
SECTIONS = ("Theorie", "Aufbau und Ablauf", "Auswertung", "Diskussion", "Anhang")


def running_head(page: Any, section: str) -> None:
    """The report's title on the left, the section's on the right, a hairline rule under both."""
    page.insert_text((85, 77), "Viskosimeter", fontsize=10.9, fontname="tiro")
    width = pymupdf.get_text_length(section, fontname="tiro", fontsize=10.9)
    page.insert_text((510 - width, 77), section, fontsize=10.9, fontname="tiro")
    page.draw_line((85, 84.6), (510, 84.6), width=0.4)


def prose(page: Any, rect: pymupdf.Rect, repeats: int) -> None:
    """Running text in the 10.9 pt of LaTeX's 11 pt class."""
    assert page.insert_textbox(rect, " ".join([BODY] * repeats), fontsize=10.9, fontname="tiro") >= 0


def report(last_page: Any) -> Any:
    """Four pages of prose under their running heads, then a page `last_page` draws on."""
    doc = pymupdf.open()
    for section in SECTIONS[:4]:
        page = doc.new_page(width=A4[0], height=A4[1])
        running_head(page, section)
        prose(page, pymupdf.Rect(85, 100, 510, 760), repeats=14)
    page = doc.new_page(width=A4[0], height=A4[1])
    running_head(page, SECTIONS[4])
    last_page(page)
    return doc


def grid_table(page: Any, x0: float, y0: float, rows: int) -> float:
    """A small table of numbers: a rule under its head, one between its columns; returns its foot."""
    page.insert_text((x0 + 95, y0 + 10), "groß", fontsize=10.9, fontname="tiro")
    page.insert_text((x0 + 175, y0 + 10), "klein", fontsize=10.9, fontname="tiro")
    page.draw_line((x0, y0 + 14), (x0 + 225, y0 + 14), width=0.4)
    for row in range(rows):
        y = y0 + 26 + 13.6 * row
        page.insert_text((x0 + 90, y), f"15.{800 + 3 * row}", fontsize=10.9, fontname="tiro")
        page.insert_text((x0 + 170, y), f"15.{650 + 2 * row}", fontsize=10.9, fontname="tiro")
    foot = y0 + 30 + 13.6 * (rows - 1)
    page.draw_line((x0 + 80, y0), (x0 + 80, foot), width=0.4)
    return foot


def test_a_running_head_naming_its_section_and_its_rule_stay_out_of_a_table_under_them() -> None:
    # (a first-year lab report in LaTeX: "Viskosimeter" left, the section's title right, a rule
    # 4 pt under them; the section's headings, then a table captioned below)
    def last_page(page: Any) -> None:
        # (LaTeX sets a heading's number and its title apart)
        page.insert_text((85, 120), "3", fontsize=14.3, fontname="tibo")
        page.insert_text((109, 120), "Auswertung", fontsize=14.3, fontname="tibo")
        page.insert_text((85, 150), "3.1", fontsize=12, fontname="tibo")
        page.insert_text((116, 150), "Berechnung von Kugelvolumen", fontsize=12, fontname="tibo")
        grid_table(page, 185, 165, rows=4)
        page.insert_text(
            (167, 252), "Tabelle 1: Durchmesser d der beiden Kugeln", fontsize=10.9, fontname="tiro"
        )
        prose(page, pymupdf.Rect(85, 270, 510, 500), repeats=4)

    (pair,) = extract(report(last_page))
    assert pair["caption"] == "Tabelle 1: Durchmesser d der beiden Kugeln"
    assert iou(pair["bbox"], (185, 162, 410, 236)) > 0.8


def test_a_numbered_display_equation_of_roots_and_fractions_stays_out_of_the_table_under_it() -> None:
    # (the same report: an error propagation formula under a square root, "(20)" at the margin,
    # then the table of results and its caption under it)
    def last_page(page: Any) -> None:
        prose(page, pymupdf.Rect(85, 100, 510, 160), repeats=1)
        page.insert_text((110, 205), "RE =", fontsize=10.9, fontname="tiro")
        page.insert_text((145, 198), "ρ s d", fontsize=10.9, fontname="tiro")
        page.draw_line((142, 201), (175, 201), width=0.4)
        page.insert_text((150, 213), "2 η t", fontsize=10.9, fontname="tiro")
        page.insert_text((200, 205), "σ =", fontsize=10.9, fontname="tiro")
        page.draw_polyline([(222, 200), (226, 230), (232, 172), (466, 172)], width=0.4)
        for x, over, under in ((236, "∂RE", "∂t σt"), (315, "∂RE", "∂d σd"), (395, "∂RE", "∂η ση")):
            page.insert_text((x + 10, 190), over, fontsize=10.9, fontname="tiro")
            page.draw_line((x, 193), (x + 60, 193), width=0.4)
            page.insert_text((x + 10, 205), under, fontsize=10.9, fontname="tiro")
        page.draw_polyline([(222, 220), (226, 240), (232, 214), (466, 214)], width=0.4)
        page.insert_text((240, 232), "ρ s d / 2 η t² σt + ρ s / 2 η t σd", fontsize=10.9, fontname="tiro")
        page.insert_text((496, 205), "(20)", fontsize=10.9, fontname="tiro")
        page.insert_text((496, 232), "(21)", fontsize=10.9, fontname="tiro")
        foot = grid_table(page, 185, 262, rows=8)
        page.insert_text(
            (150, foot + 20), "Tabelle 5: Errechnete Reynolds-Zahlen", fontsize=10.9, fontname="tiro"
        )
        prose(page, pymupdf.Rect(85, foot + 40, 510, foot + 140), repeats=2)

    (pair,) = extract(report(last_page))
    assert pair["caption"] == "Tabelle 5: Errechnete Reynolds-Zahlen"
    assert pair["bbox"][1] >= 255 and iou(pair["bbox"], (185, 259, 410, 376)) > 0.8


def sorting_table(page: Any, top: float) -> None:
    """Four rows of seven numbers under their names, a rule between the names and the numbers, one
    under each row but the last."""
    for row, name in enumerate(("y", "g", "f", "n")):
        baseline = top + 12 + 17 * row
        page.insert_text((197, baseline), name, fontsize=10.9, fontname="tiro")
        for column in range(7):
            value = f"{(row + 2 * column) % 5 + 1}" if row != 2 else f"{column + 1},{column + 2}"
            page.insert_text((225 + 24 * column, baseline), value, fontsize=10.9, fontname="tiro")
        if row < 3:
            page.draw_line((190, top + 16 + 17 * row), (391, top + 16 + 17 * row), width=0.4)
    page.draw_line((215, top), (215, top + 68), width=0.4)


def test_sub_captions_running_the_text_width_under_small_tables_belong_to_their_figure() -> None:
    # (a Warsaw master's thesis: a sorting example of two small tables and an arrow between them,
    # twice, each under a sub-caption "(a) ..." in a smaller size across the text's width, the
    # figure's caption after)
    def last_page(page: Any) -> None:
        for top, letter in ((98, "a"), (350, "b")):
            sorting_table(page, top)
            page.draw_line((290, top + 71), (290, top + 140), width=0.6)
            page.insert_text((295, top + 108), "Sortujemy po f", fontsize=10.9, fontname="tiro")
            sorting_table(page, top + 143)
            text = f"({letter}) Przypadek, w ktorym zle sklasyfikowana jest tylko jedna obserwacja. Zamiast klasy nr 5, zostala wybrana"
            page.insert_text((71, top + 229), text, fontsize=9.9, fontname="tiro")
            page.insert_text((71, top + 241), "przyporzadkowana klasa nr 1", fontsize=9.9, fontname="tiro")
        text = "Rysunek 3.2: Tabele pokazuja przykladowe zbiory testowe."
        page.insert_text((71, 622), text, fontsize=10.9, fontname="tiro")
        prose(page, pymupdf.Rect(71, 640, 510, 780), repeats=3)

    (pair,) = extract(report(last_page))
    assert pair["caption"] == "Rysunek 3.2: Tabele pokazuja przykladowe zbiory testowe."
    assert iou(pair["bbox"], (71, 97, 505, 595)) > 0.85


def test_an_expert_font_s_old_style_figures_read_as_plain_digits() -> None:
    # (a botany journal's "Fig. 5." with its 5 from the expert set, U+F735; small capitals at U+F761)
    blocks = [{"type": 0, "lines": [{"spans": [{"text": "Fig. \uf735. L\uf761ndscape", "size": 9.0}]}]}]
    (span,) = in_plain_characters(blocks)[0]["lines"][0]["spans"]
    assert span["text"] == "Fig. 5. Landscape"
    # (gold copied from such a text layer and gold typed by hand are one caption)
    assert same_caption("Fig. \uf735. Landscape evolution", "Fig. 5. Landscape evolution")
    assert not same_caption("Fig. \uf735. Landscape evolution", "Fig. 6. Landscape evolution")


def word_thesis(last_page: Any) -> Any:
    """A Word thesis in 13 pt Times on US letter: two pages of prose, then the page drawn."""
    doc = pymupdf.open()
    for _ in range(2):
        page = doc.new_page(width=612, height=792)
        text = " ".join([BODY] * 12)
        assert page.insert_textbox(pymupdf.Rect(99, 72, 558, 700), text, fontsize=13, fontname="tiro") >= 0
    last_page(doc.new_page(width=612, height=792))
    return doc


def test_a_list_opening_under_a_caption_is_the_text_s() -> None:
    # (a Ho Chi Minh City thesis: a picture, its centred caption, then a bulleted line introducing a
    # framed code listing)
    def last_page(page: Any) -> None:
        photo(page, pymupdf.Rect(203, 152, 488, 298))
        page.insert_text(
            (159, 327), "Figure 4.9. Picture after a Gaussian blur", fontsize=13, fontname="tiro"
        )
        page.insert_text((99, 352), "\u2022", fontsize=13, fontname="helv")
        page.insert_text(
            (113, 352), "The group also augments the images as follows:", fontsize=13, fontname="tiro"
        )
        page.draw_rect(pymupdf.Rect(99, 364, 555, 600), color=(0.4, 0.4, 0.4), fill=(0.96, 0.96, 0.96))
        for row in range(14):
            code = f"    A.Transform{row}(p=0.{row % 9 + 1}, limit=[-{row}, {row}]),"
            page.insert_text((105, 378 + 15.7 * row), code, fontsize=10, fontname="cour")

    (pair,) = extract(word_thesis(last_page))
    assert pair["caption"] == "Figure 4.9. Picture after a Gaussian blur"
    assert iou(pair["bbox"], (203, 152, 488, 298)) > 0.9


def test_subsection_headings_in_the_body_s_size_end_a_table_whose_foot_is_ruled_cell_by_cell() -> None:
    # (the same thesis: a table captioned above, its bottom rule drawn one cell's border at a time,
    # the bold headings "4.6 Results" and "4.6.1 ..." right under it, then a grid with no caption)
    def last_page(page: Any) -> None:
        page.insert_text(
            (118, 185), "Table 4.7. Hardware used in the experiments", fontsize=13, fontname="tiro"
        )
        columns = (99, 189, 279, 369, 459, 555)
        for y in (187.3, 265.1):
            page.draw_line((99, y), (555, y), width=0.5)
        for left, right in zip(columns, columns[1:], strict=False):
            page.draw_line((left, 320.7), (right, 320.7), width=0.5)
        for column, (head, cell) in enumerate(
            zip(
                ("Part", "Year", "Cores", "Memory", "Hours"),
                ("P100", "2016", "3584", "16 GB", "30 h"),
                strict=True,
            )
        ):
            page.insert_text((columns[column] + 6, 202), head, fontsize=13, fontname="tibo")
            page.insert_text((columns[column] + 6, 281), cell, fontsize=13, fontname="tiro")
            page.insert_text((columns[column] + 6, 311), "(est.)", fontsize=13, fontname="tiro")
        page.insert_text((99, 339), "4.6 Results", fontsize=13, fontname="tibo")
        page.insert_text((99, 368), "4.6.1 Results of the experiments", fontsize=13, fontname="tibo")
        page.insert_text((99, 397), "a. Results of the ConvNeXt model", fontsize=13, fontname="tiro")
        page.draw_rect(pymupdf.Rect(99, 417, 594, 699), width=0.5)
        for y in (460, 620):
            page.draw_line((99, y), (594, y), width=0.5)
        for x in (170, 240, 430, 480, 530):
            page.draw_line((x, 417), (x, 699), width=0.5)
        for row, y in enumerate((440, 500, 650)):
            for x in (103, 174, 244, 434, 484, 534):
                page.insert_text((x, y), f"{row}{x % 7}", fontsize=13, fontname="tiro")

    (pair,) = extract(word_thesis(last_page))
    assert pair["caption"] == "Table 4.7. Hardware used in the experiments"
    assert iou(pair["bbox"], (99, 187, 555, 321)) > 0.9
