"""Running headers and footers: which lines of the page's top and bottom bands are furniture."""

from __future__ import annotations

from dataclasses import replace

from cephalo_ray.extract.geometry import Box, TextLine
from cephalo_ray.extract.page_text import running_furniture

PAGE = Box(0, 0, 595, 842)  # A4: the bands are the top and bottom 84.2 pt


def line(y0: float, text: str, block: int = 0, height: float = 14) -> TextLine:
    return TextLine(Box(56, y0, 538, y0 + height), text, 10.0, False, block)


def page(number: int) -> list[TextLine]:
    return [
        # the first lines of the page's prose: the second reaches out of the band by less than
        # half its height, and its words repeat on every page but for a number
        line(56, "The fibril derives its stiffness from crosslinks"),
        line(71, f"As shown in Figure {number}, the crosslinks dominate the response"),
        line(86, "at small strains, as the experiments confirm."),
        line(400, f"Body text of page {number} in the middle.", block=1),
        # a footer set a little high: its top is above the bottom band, its middle in it
        line(754, "Copyright 2018 by the Society", block=2, height=10),
    ]


def test_a_line_that_goes_on_into_the_page_prose_is_not_furniture_but_a_footer_set_high_is() -> None:
    pages = [page(number) for number in (1, 2, 3)]
    furniture = running_furniture(pages, [PAGE] * 3)
    for lines, found in zip(pages, furniture, strict=True):
        named = {lines[index].text.split()[0] for index in found}
        # the first line lies wholly in the band and repeats: a running line, as before
        assert named == {"The", "Copyright"}


def test_exhibits_heading_their_pages_are_items_but_a_label_repeated_on_continuation_pages_runs() -> None:
    # a policy journal sets each exhibit's label alone at the top of its page
    pages = [
        [line(58, f"Exhibit {number}", height=5), line(400, "Body text in the middle.", block=1)]
        for number in (1, 2, 4)
    ]
    assert running_furniture(pages, [PAGE] * 3) == [set(), set(), set()]
    # one long table heads each page it runs over with its label alone
    pages = [[line(58, "Table 4", height=8), line(400, "Rows of the table.", block=1)] for _ in range(3)]
    assert running_furniture(pages, [PAGE] * 3) == [{0}, {0}, {0}]


def test_a_page_number_right_under_a_caption_at_the_column_foot_is_still_furniture() -> None:
    # the page number stands at the same place on every page; on one page a caption ends the
    # column a point above it, as a paragraph's next line would
    letter = Box(0, 0, 612, 792)  # the bottom band starts at 712.8

    def numbered(number: int, caption: bool) -> list[TextLine]:
        lines = [line(400, "Body text in the middle.", block=1)]
        if caption:
            lines.append(TextLine(Box(72, 696.6, 204.7, 707.6), "Figure 1 Sample collection", 10.0, True, 4))
        return [
            *lines,
            TextLine(Box(72, 709.4, 84 + 23 * (number % 2), 720.4), str(20 + number), 10.0, False, 5),
        ]

    pages = [numbered(number, caption=number == 3) for number in range(6)]
    furniture = running_furniture(pages, [letter] * 6)
    for lines, found in zip(pages, furniture, strict=True):
        assert {lines[index].text for index in found} == {lines[-1].text}


def test_a_captions_lines_repeated_at_every_pages_foot_are_no_furniture() -> None:
    # JNCI risk charts: each page's chart has its caption at the foot of the page, and every caption
    # goes on with the same words; the journal's real footer repeats under them
    readers = ("women who have never smoked", "men who have never smoked", "women who currently smoke")
    pages = [
        [
            line(400, f"Body text of page {number} in the middle.", block=1),
            line(762.0, f"Fig. {number}. Risk chart for {who}.", block=2, height=8),
            line(772.0, "during the next 10 years, beginning at the indicated age.", block=2, height=8),
            line(800.0, "Journal of the National Cancer Institute, Vol. 94", block=3, height=8),
        ]
        for number, who in enumerate(readers, start=1)
    ]
    assert running_furniture(pages, [PAGE] * 3) == [{3}, {3}, {3}]


def test_a_chart_axis_label_at_the_top_of_a_page_is_no_page_number() -> None:
    # a camera-ready paper without page numbers: a chart at the head of the column sets its y-axis
    # labels "100", "80", ... down its left side, the top one in the band
    def at(x0: float, y0: float, text: str, block: int) -> TextLine:
        return TextLine(Box(x0, y0, x0 + 8.6, y0 + 5.3), text, 7.0, False, block)

    pages = [
        [
            at(332.1, 70.4, "100", 0),
            at(335.0, 84.0, "80", 1),
            at(335.0, 97.6, "60", 2),
            line(400, f"Body text of page {number} in the middle.", block=3),
        ]
        for number in (1, 2, 3)
    ]
    assert running_furniture(pages, [PAGE] * 3) == [set(), set(), set()]
    # a page number alone in the band is furniture on every page
    numbered = [
        [at(290.0, 60.0, str(number), 0), *lines[3:]] for number, lines in zip((5, 6, 7), pages, strict=True)
    ]
    assert running_furniture(numbered, [PAGE] * 3) == [{0}, {0}, {0}]


def test_a_page_number_set_above_the_bottom_band_is_furniture_where_it_stands_last_counting_up() -> None:
    # a thesis from Word: a deep bottom margin puts the page number at 89% of the page's height,
    # the lowest text of every page, five points under a caption on one of them
    letter = Box(0, 0, 612, 792)  # the bottom band starts at 712.8

    def numbered(number: int, caption: bool) -> list[TextLine]:
        lines = [line(400, "Body text in the middle.", block=1)]
        if caption:
            lines.append(
                TextLine(Box(108, 683.8, 337.2, 696.6), "YCO2 = yield of carbon dioxide", 10.3, False, 4)
            )
        return [*lines, TextLine(Box(318.5, 701.5, 332.3, 713.6), str(39 + number), 11.0, False, 5)]

    pages = [numbered(number, caption=number == 3) for number in range(6)]
    furniture = running_furniture(pages, [letter] * 6)
    for lines, found in zip(pages, furniture, strict=True):
        assert {lines[index].text for index in found} == {lines[-1].text}
    # numbers that do not count up with the pages there (a table's last cells) are no page's number
    shuffled = [
        [*lines[:-1], replace(lines[-1], text=str(7 * index % 5))] for index, lines in enumerate(pages)
    ]
    assert running_furniture(shuffled, [letter] * 6) == [set()] * 6


def test_a_running_citation_starting_in_the_top_band_and_spilling_out_of_it_is_furniture() -> None:
    # (a geography journal repeats the article's citation, three lines deep, under its logo on
    # every page: it starts in the band and ends a line below it; its page range never changes)
    citation = (
        "Álvarez Rogel, Y. y Conesa García, C. (2018): Georreferenciación de documentos cartográficos",
        "históricos para el análisis del trazado fluvial del Bajo Segura, GeoFocus (Artículos), nº 21, p. 101-",
        "118. ISSN: 1578-5157 http://dx.doi.org/10.21138/GF.536",
    )

    def cited(number: int, lines: tuple[str, ...]) -> list[TextLine]:
        return [
            *(line(79.5 + 11 * row, text, block=0, height=10) for row, text in enumerate(lines)),
            line(400, f"Body text of page {number} in the middle.", block=1),
        ]

    pages = [cited(number, citation) for number in range(4)]
    assert running_furniture(pages, [PAGE] * 4) == [{0, 1, 2}] * 4
    # (the first lines of a page's prose, their words changing, are not)
    prose = [cited(number, (*citation[:2], f"page {number} goes on here")) for number in range(4)]
    assert running_furniture(prose, [PAGE] * 4) == [set()] * 4
