"""Which text lines of a page are prose: body lines, running headers and footers, margin notes, small
print and the statistics (body size, line gap) that tell them apart. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from cephalo_ray.extract.captions import LABEL_WORD, is_label_alone, parse_caption_start
from cephalo_ray.extract.geometry import Box, Graphic, TextLine, TextStats, on_one_row, union_of


def join_row_pieces(lines: Sequence[TextLine]) -> list[TextLine]:
    """Join pieces of one printed line that the PDF wrote separately ("Table" "1." "HPO ..."): same
    block, same row, a word space apart. Table cells stay apart: their gaps are wider. Pieces of a
    row written out of order (inline math: "0.27", "<", "k", "<") are put in order first: from the
    left, or from the right in Arabic and Hebrew."""
    ordered: list[TextLine] = []
    row: list[TextLine] = []
    for line in [*lines, None]:
        if line is not None and row and line.block == row[0].block and on_one_row(line.box, row[0].box):
            row.append(line)
            continue
        leftward = reads_leftward(" ".join(piece.text for piece in row))
        ordered.extend(sorted(row, key=lambda piece: -piece.box.x1 if leftward else piece.box.x0))
        row = [line] if line is not None else []
    joined: list[TextLine] = []
    for line in ordered:
        if joined:
            last = joined[-1]
            same_row = on_one_row(line.box, last.box)
            leftward = reads_leftward(f"{last.text} {line.text}")
            gap = last.box.x0 - line.box.x1 if leftward else line.box.x0 - last.box.x1
            # a caption label stands apart from its number in widely spaced (justified) text, two
            # ems and more in a narrow caption beside a picture
            reach = 3.0 if LABEL_WORD.match(last.text) and line.text[:1].isalnum() else 0.9
            # (pieces may overlap a little: a bracket's or an italic's side bearing, a tenth of an em)
            if (
                line.block == last.block
                and same_row
                and -max(0.5, 0.1 * max(line.size, last.size)) <= gap <= reach * max(line.size, last.size)
                and not second_caption_of_row(last, line, gap)
            ):
                chars = len(last.text) + len(line.text)
                size = (last.size * len(last.text) + line.size * len(line.text)) / max(chars, 1)
                text = f"{last.text} {line.text}"
                joined[-1] = replace(
                    last,
                    box=last.box.union(line.box),
                    text=text,
                    size=size,
                    italic=last.italic and line.italic,
                    mono=last.mono and line.mono,
                    bold=last.bold and line.bold,
                )
                continue
        joined.append(line)
    return with_label_numbers(joined)


# the letters of the scripts written from right to left: Hebrew, Arabic (Persian, Urdu) and the
# Arabic presentation forms
RIGHT_TO_LEFT_LETTER = re.compile("[\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\ufb1d-\ufdff\ufe70-\ufefc]")


def reads_leftward(text: str) -> bool:
    """Most of the text's letters are of a script written from right to left."""
    if RIGHT_TO_LEFT_LETTER.search(text) is None:
        return False  # (most text: no letter to count)
    letters = sum(1 for char in text if char.isalpha())
    return letters > 0 and len(RIGHT_TO_LEFT_LETTER.findall(text)) > 0.5 * letters


def second_caption_of_row(last: TextLine, line: TextLine, gap: float) -> bool:
    """The piece opens a caption of its own, spaces apart from the caption the row opens with: two
    pictures' captions side by side, not one caption's words."""
    return (
        gap >= 0.5 * line.size
        and parse_caption_start(line.text) is not None
        and parse_caption_start(last.text) is not None
    )


def with_label_numbers(lines: list[TextLine]) -> list[TextLine]:
    """A label word and its number written as separate text objects, other lines between them
    ("TABLE" in a display italic, the title, then "1" in an upright face beside the word): one line."""
    taken: set[int] = set()
    result = list(lines)
    for index, word in enumerate(lines):
        if not LABEL_WORD.match(word.text):
            continue
        for other, number in enumerate(lines):
            gap = number.box.x0 - word.box.x1
            if (
                other in taken
                or other == index
                or number.block == word.block
                or len(number.text.strip()) > 5
                or not on_one_row(number.box, word.box)
                or not -0.5 <= gap <= 0.9 * max(word.size, number.size)
                or parse_caption_start(f"{word.text} {number.text}") is None
            ):
                continue
            taken.add(other)
            result[index] = replace(word, box=word.box.union(number.box), text=f"{word.text} {number.text}")
            break
    return [line for index, line in enumerate(result) if index not in taken]


FURNITURE_BAND = 0.1  # running headers and footers live in the top and bottom tenth of a page


PAGE_SHARE_OF_TEXT = 200  # characters of one size on a page: that size fills a good part of it
FURNITURE_SHARE = 0.3  # a line repeated on this share of pages (two at least) is a running line
PAGE_BACKGROUND_AREA = 0.5  # of the page: a graphic this large repeated on many pages is a background
RULE_HEIGHT = 2.5  # points: a graphic no taller is a rule
RULE_REACH = 8  # points past the running lines' edge: how far off a header's rule may stand
PROSE_OVER_WATERMARK = 3  # lines of prose inside a graphic repeated at one place: a watermark under them
WATERMARK_AREA = 0.02  # of the page: a graphic smaller than this holds no three lines of prose
MARGIN_INSET = 0.03  # of the page's shorter side: an image this far inside every edge keeps to the margins


PAGE_NUMBER = re.compile(r"^(?:page\s*)?[#ivxlc]+(?:\s*(?:of|/)\s*#)?$", re.IGNORECASE)


def furniture_key(text: str) -> str:
    """The text with its numbers blanked (page and volume numbers change from page to page); a
    caption label keeps its number: "Exhibit 1", "Exhibit 2" heading the top of their pages are
    items, while "Table 4" repeated over its continuation pages still runs."""
    text = " ".join(text.lower().split())
    return text if is_label_alone(text) else re.sub(r"\d+", "#", text)


def next_to_prose(box: Box, inner: Sequence[Box]) -> bool:
    """Whether a line outside the page's bands goes on from this one as its paragraph would: a line
    gap or less above or below, starting at its left edge (give or take an indent)."""
    gap, indent = 0.3 * box.height, 1.5 * box.height  # a footer stands further off, or elsewhere
    return any(
        abs(other.x0 - box.x0) <= indent and -gap <= max(other.y0 - box.y1, box.y0 - other.y1) <= gap
        for other in inner
    )


def running_furniture(pages: Sequence[Sequence[TextLine]], rects: Sequence[Box]) -> list[set[int]]:
    """Per page, the lines that are running headers, footers and page numbers: text in the top or
    bottom band that repeats across pages (numbers ignored), a bare page number there (or where it
    stands last on its page, counting up), and repeated blocks spilling out of a band."""
    seen: dict[tuple[str, str], set[int]] = {}
    banded: list[list[tuple[int, str, str]]] = []
    page_labels: list[set[int]] = []
    numbered = page_number_places(pages, rects)
    for number, (lines, rect) in enumerate(zip(pages, rects, strict=True)):
        top, bottom = rect.y0 + FURNITURE_BAND * rect.height, rect.y1 - FURNITURE_BAND * rect.height
        inner = [line.box for line in lines if top < line.box.center_y < bottom]
        # (the lines after a caption's label in the band are no furniture, though a series of charts
        # repeats them on every page)
        labels = {
            index
            for index, line in enumerate(lines)
            if not top < line.box.center_y < bottom and parse_caption_start(line.text, line.bold_start)
        }
        captioned = {lines[index].block for index in labels}
        marks = []
        for index, line in enumerate(lines):
            if line.block in captioned and index not in labels:
                continue  # (its label line repeated is a running head: "Exhibit 2 (continued)")
            # a line reaching out of the band by less than half its height is furniture (a footer set
            # a little high), unless prose goes on right next to it: then it opens or ends a paragraph;
            # a page number where the other pages have theirs is furniture wherever the text ends
            runs = not next_to_prose(line.box, inner) or place_of(line) in numbered
            if line.box.y1 <= top or (line.box.center_y <= top and runs):
                band = "top"
            elif line.box.y0 >= bottom or (line.box.center_y >= bottom and runs):
                band = "bottom"
            elif place_of(line) in numbered and PAGE_NUMBER.match(furniture_key(line.text)):
                band = "bottom"  # (the page's number, counting up where it stands above the band)
            else:
                continue
            key = furniture_key(line.text)
            if PAGE_NUMBER.match(key) and among_ticks(line, lines):
                continue  # a chart's tick label at the top of the page, not its number
            marks.append((index, band, key))
            seen.setdefault((band, key), set()).add(number)
        banded.append(marks)
        page_labels.append(labels)
    needed = max(2, int(FURNITURE_SHARE * len(pages) + 0.999))
    spilling = running_blocks(pages, rects, page_labels, needed)
    furniture = []
    for lines, marks, labels, spilt in zip(pages, banded, page_labels, spilling, strict=True):
        running = {index for index, band, key in marks if len(seen[(band, key)]) >= needed}
        # the other half of a running line's row runs with it: a header's section title on the
        # right, changing every few pages, beside the document's title on the left (never a
        # caption's label: a chart's title repeated on every page may stand on its row)
        beside = {
            index
            for index, band, key in marks
            if index not in labels and any(lines[other].box.shares_row(lines[index].box) for other in running)
        }
        numbers = {index for index, band, key in marks if PAGE_NUMBER.match(key)}
        furniture.append(running | beside | numbers | spilt)
    return furniture


def running_blocks(
    pages: Sequence[Sequence[TextLine]], rects: Sequence[Box], labels: Sequence[set[int]], needed: int
) -> list[set[int]]:
    """Per page, the lines of blocks of two lines or more that start in the top band (or end in the
    bottom one) and spill out of it, repeated word for word, numbers too, at the same place on many
    pages: a journal's running citation of the article (its page range the same on every page),
    three lines deep under its logo."""
    seen: dict[tuple[str, ...], set[int]] = {}
    found: list[list[tuple[tuple[str, ...], list[int]]]] = []
    for number, (lines, rect, page_labels) in enumerate(zip(pages, rects, labels, strict=True)):
        band = FURNITURE_BAND * rect.height
        top, bottom = rect.y0 + band, rect.y1 - band
        blocks: dict[int, list[int]] = {}
        for index, line in enumerate(lines):
            blocks.setdefault(line.block, []).append(index)
        here = []
        for members in blocks.values():
            boxes = [lines[index].box for index in members]
            upper, lower = min(box.y0 for box in boxes), max(box.y1 for box in boxes)
            # (spilling by half the band at most: a page of prose starting in the band runs on far)
            starts_in_top = upper < top < lower <= top + 0.5 * band
            ends_in_bottom = bottom - 0.5 * band <= upper < bottom < lower
            if len(members) < 2 or not (starts_in_top or ends_in_bottom) or page_labels & set(members):
                continue
            first = lines[members[0]]
            key = (
                "top" if starts_in_top else "bottom",
                str(place_of(first)),
                *(" ".join(lines[i].text.lower().split()) for i in members),
            )
            seen.setdefault(key, set()).add(number)
            here.append((key, members))
        found.append(here)
    return [
        {index for key, members in here if len(seen[key]) >= needed for index in members} for here in found
    ]


TICK = re.compile(r"^[−–-]?\d+(?:[.,]\d+)?%?$")


def among_ticks(line: TextLine, lines: Sequence[TextLine]) -> bool:
    """A bare number with another bare number stacked just above or below it, or a little way along
    its row: a chart's axis labels ("100" over "80"), where a page number stands alone."""
    box = line.box
    height = max(box.height, 1.0)
    for other in lines:
        if other is line or TICK.match(other.text.strip()) is None:
            continue
        stacked = (
            other.box.horizontal_overlap(box) > 0 and abs(other.box.center_y - box.center_y) <= 3 * height
        )
        in_row = other.box.shares_row(box) and abs(other.box.center_x - box.center_x) <= 8 * height
        if stacked or in_row:
            return True
    return False


def place_of(line: TextLine) -> tuple[int, int]:
    """Where a line starts, to the nearest 3 points: the place of a page number."""
    return round(line.box.x0 / 3), round(line.box.y0 / 3)


def page_number_places(pages: Sequence[Sequence[TextLine]], rects: Sequence[Box]) -> set[tuple[int, int]]:
    """Places in the top or bottom band where a bare page number stands on many pages; or, further
    in (a thesis from Word with a deep bottom margin), where a number stands last on its page, the
    lowest text, on many pages, counting up with them."""
    seen: dict[tuple[int, int], int] = {}
    lowest: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for page_index, (lines, rect) in enumerate(zip(pages, rects, strict=True)):
        band = FURNITURE_BAND * rect.height
        for line in lines:
            in_band = line.box.center_y <= rect.y0 + band or line.box.center_y >= rect.y1 - band
            if in_band and PAGE_NUMBER.match(furniture_key(line.text)):
                seen[place_of(line)] = seen.get(place_of(line), 0) + 1
        last = max(lines, key=lambda line: line.box.y1, default=None)
        if last is not None and last.text.strip().isdigit() and last.box.center_y > rect.center_y:
            lowest.setdefault(place_of(last), []).append((page_index, int(last.text.strip())))
    needed = max(2, int(FURNITURE_SHARE * len(pages) + 0.999))
    places = {place for place, count in seen.items() if count >= needed}
    for place, numbers in lowest.items():
        counts_up = all(
            number - earlier == page_index - earlier_index
            for (earlier_index, earlier), (page_index, number) in zip(numbers, numbers[1:], strict=False)
        )
        if len(numbers) >= needed and counts_up:
            places.add(place)
    return places


def running_graphics(
    pages: Sequence[Sequence[Graphic]], rects: Sequence[Box], texts: Sequence[Sequence[TextLine]]
) -> list[set[int]]:
    """Per page, the graphics that are running furniture: a logo or rule in the top or bottom band,
    a bar down the outer edge, a rule down the whole page, an image the size of the page (a
    watermark or letterhead layer behind the text) or a drawing that prose reads across (a watermark
    in outlines), printed at the same place on many pages (a journal's banner, even on pages with
    no header text)."""
    seen: dict[tuple[str, int, int, int, int], set[int]] = {}
    keyed: list[list[tuple[int, tuple[str, int, int, int, int]]]] = []
    for number, (graphics, rect, lines) in enumerate(zip(pages, rects, texts, strict=True)):
        prose = [line.box for line in lines if is_wordy(line.text)]
        marks = []
        for index, graphic in enumerate(graphics):
            box = graphic.box
            band, side = FURNITURE_BAND * rect.height, FURNITURE_BAND * rect.width
            in_body_rows = rect.y0 + band < box.center_y < rect.y1 - band
            # (a picture kept inside the margins with no prose over it is a full-page figure, however
            # often one stands at that place: charts a report gives a page each)
            inset = min(box.x0 - rect.x0, rect.x1 - box.x1, box.y0 - rect.y0, rect.y1 - box.y1)
            in_margins = (
                graphic.kind == "image"
                and inset >= MARGIN_INSET * min(rect.width, rect.height)
                and not any(box.contains_point(line.center_x, line.center_y) for line in prose)
            )
            page_sized = box.area >= PAGE_BACKGROUND_AREA * rect.area and not in_margins
            # (a side of a frame drawn round the text block, or a rule down the gutter, runs the
            # height of the page's body wherever it stands across)
            full_height_rule = box.width <= 2.5 and box.height >= 0.6 * rect.height
            central = rect.x0 + side < box.center_x < rect.x1 - side
            key = (graphic.kind, round(box.x0), round(box.y0), round(box.x1), round(box.y1))
            marks.append((index, key))
            # (a watermark drawn across the text, "CONFIDENTIAL" in outlines corner to corner, counts
            # where lines of prose read over it, as they read over no figure; found so on enough
            # pages, it is furniture on every page it stands on, over a page of figures too)
            under_prose = box.area >= WATERMARK_AREA * rect.area and (
                sum(1 for line in prose if box.contains_point(line.center_x, line.center_y))
                >= PROSE_OVER_WATERMARK
            )
            if in_body_rows and central and not page_sized and not full_height_rule and not under_prose:
                continue
            seen.setdefault(key, set()).add(number)
        keyed.append(marks)
    needed = max(2, int(FURNITURE_SHARE * len(pages) + 0.999))
    return [{index for index, key in marks if len(seen.get(key, ())) >= needed} for marks in keyed]


def without_furniture(
    lines: Sequence[TextLine], graphics: Sequence[Graphic], furniture: set[int], page: Box
) -> tuple[list[TextLine], list[Graphic]]:
    """The page less its running lines, and less the rules and logos that sit in their band."""
    if not furniture:
        return list(lines), list(graphics)
    middle = page.center_y
    top = max([lines[i].box.y1 for i in furniture if lines[i].box.y1 < middle], default=page.y0) + 4
    bottom = min([lines[i].box.y0 for i in furniture if lines[i].box.y0 > middle], default=page.y1) - 4
    kept_lines = [line for index, line in enumerate(lines) if index not in furniture]
    # rules and logos of the header and footer: mostly inside their bands; a header's rule a few
    # points under its line (a footer's over it), nearer to it than to the page's text, goes too
    text_top = min((line.box.y0 for line in kept_lines), default=page.y1)
    text_bottom = max((line.box.y1 for line in kept_lines), default=page.y0)

    def in_page_body(graphic: Graphic) -> bool:
        box = graphic.box
        if box.height <= RULE_HEIGHT:
            head_rule = (
                top <= box.center_y < top + RULE_REACH and box.center_y - top < text_top - box.center_y
            )
            foot_rule = (
                bottom - RULE_REACH < box.center_y <= bottom
                and bottom - box.center_y < box.center_y - text_bottom
            )
            if head_rule or foot_rule:
                return False
        return top < box.center_y < bottom

    return kept_lines, [graphic for graphic in graphics if in_page_body(graphic)]


def is_full_prose_line(line: TextLine, stats: TextStats) -> bool:
    """A line of body prose running the whole column: in the body font, at least 80% wide."""
    return abs(line.size - stats.body_size) <= 1.0 and line.box.width >= 0.8 * stats.column_width


def without_margin_text(
    lines: Sequence[TextLine], page: Box, stats: TextStats, text_area: tuple[float, float] | None = None
) -> list[TextLine]:
    """Drop text off the paper, vertical stamps in the side margins (arXiv ids, watermarks) and the
    line numbers of review copies and preprints (a column of bare numbers beside the text).
    `text_area` is where the document's prose runs across (left, right): a page whose other column
    holds a turned table has prose in one column only, and the table is not a margin stamp."""
    prose = [line.box for line in lines if is_full_prose_line(line, stats)]
    if not prose:  # a page of tables, figures or references: where any text other than numbers runs
        prose = [line.box for line in lines if not LINE_NUMBER.match(line.text)]
    left = min((box.x0 for box in prose), default=page.x0)
    right = max((box.x1 for box in prose), default=page.x1)
    stamp_left, stamp_right = (
        (min(left, text_area[0]), max(right, text_area[1])) if text_area else (left, right)
    )
    columns: dict[int, list[TextLine]] = {}  # lines of bare numbers in the margins, by where they stand
    for line in lines:
        if LINE_NUMBER.match(line.text) and (line.box.x1 < left - 2 or line.box.x0 > right + 2):
            columns.setdefault(round(line.box.x1 / 6), []).append(line)
    # (line numbers count up the page; a chart's axis set out in the margin counts down it)
    numbers = {place: len(column) for place, column in columns.items() if counts_up(column)}
    kept = []
    for line in lines:
        box = line.box
        if box.x1 > page.x1 + 1 or box.x0 < page.x0 - 1:
            continue
        vertical = box.height > 4 * box.width and len(line.text) > 8
        if vertical and (box.x1 < stamp_left - 4 or box.x0 > stamp_right + 4):
            continue
        if LINE_NUMBER.match(line.text) and numbers.get(round(box.x1 / 6), 0) >= 5:
            continue
        kept.append(line)
    return kept


LINE_NUMBER = re.compile(r"^\d{1,4}$")


def counts_up(column: Sequence[TextLine]) -> bool:
    """Most numbers of the column are larger than the one above them."""
    values = [int(line.text) for line in sorted(column, key=lambda line: line.box.y0)]
    steps = list(zip(values, values[1:], strict=False))
    return sum(below > above for above, below in steps) >= 0.8 * len(steps)


# Chinese, Japanese and Korean run their words together (two characters count as one word), and
# their characters and the full-width forms are set twice as wide as Latin letters
WORD_RUN_CHARACTERS = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")
WIDE_CHARACTERS = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af\uff01-\uff60]")
# a row of panel letters under a figure's pictures ("(a)      (b)"), whatever block the PDF put it in
PANEL_LETTERS = re.compile(r"(?:\(?[a-z]\)\s*){1,8}")


def prose_extent(pages: Sequence[Sequence[TextLine]], stats: TextStats) -> tuple[float, float] | None:
    """Where the document's full lines of prose run across the paper, all pages together."""
    boxes = [line.box for lines in pages for line in lines if is_full_prose_line(line, stats)]
    if not boxes:
        return None
    return min(box.x0 for box in boxes), max(box.x1 for box in boxes)


def characters_by_size(lines: Sequence[TextLine]) -> dict[float, int]:
    """Characters per font size (to the half point), a wide character (an ideograph, a full-width
    letter) counting as two: a page of Chinese holds half the characters of a page of English."""
    by_size: dict[float, int] = {}
    for line in lines:
        key = round(line.size * 2) / 2
        by_size[key] = by_size.get(key, 0) + len(line.text) + len(WIDE_CHARACTERS.findall(line.text))
    return by_size


REFERENCES_HEADING = re.compile(
    r"^\s*(\d+\.?\s*)?(references|references cited|literature cited|bibliography|works cited)\s*$",
    re.IGNORECASE,
)


def before_references(pages: Sequence[Sequence[TextLine]]) -> list[Sequence[TextLine]]:
    """The pages up to the reference list's heading (that page's lines above it included), where one
    stands past the first page: a long list in small type is no body text."""
    for number, lines in enumerate(pages):
        if number == 0:
            continue
        heading = next((line for line in lines if REFERENCES_HEADING.match(line.text)), None)
        if heading is not None:
            above = [line for line in lines if line.box.y1 <= heading.box.y0]
            return [*pages[:number], above]
    return list(pages)


def body_font_size(pages: Sequence[Sequence[TextLine]]) -> float:
    """The size with the most characters, weighed by the number of pages it fills a good part of:
    the body runs through the paper, while a long reference list or a run of tables in small type
    may hold as many characters on a few pages."""
    totals: dict[float, int] = {}
    spread: dict[float, int] = {}
    for lines in before_references(pages):
        for size, count in characters_by_size(lines).items():
            totals[size] = totals.get(size, 0) + count
            spread[size] = spread.get(size, 0) + (count >= PAGE_SHARE_OF_TEXT)
    return max(totals, key=lambda size: totals[size] * max(1, spread[size]))


def text_stats(pages: Sequence[Sequence[TextLine]]) -> TextStats:
    """The body font size and the typical width of a full body line, from the document's lines page
    by page (the body's spread through the paper counts, not only its characters)."""
    lines = [line for page in pages for line in page]
    if not lines:
        return TextStats(10.0, 250.0)
    body_size = body_font_size(pages)
    # the width of running words: a document of tables only has more cells than prose in its most
    # common size, and its prose (the notes) may be in another size
    sized = [line for line in lines if abs(line.size - body_size) <= 0.75]
    worded = [line for line in sized if is_wordy(line.text, 5)]
    if len(worded) < 10:
        worded = [line for line in lines if is_wordy(line.text, 5)]
    widths = sorted(line.box.width for line in (worded if len(worded) >= 10 else sized))
    column_width = widths[int(0.9 * (len(widths) - 1))] if widths else 250.0
    # a two-column paper with a one-column abstract: the many lines about half as wide are its columns
    halves = [width for width in widths if 0.35 * column_width <= width <= 0.65 * column_width]
    fulls = [width for width in widths if width >= 0.85 * column_width]
    if len(halves) >= 3 * len(fulls) and len(halves) >= 10:
        column_width = halves[int(0.9 * (len(halves) - 1))]
    gaps = sorted(
        below.box.y0 - above.box.y1
        for page in pages
        for above, below in zip(page, page[1:], strict=False)
        if abs(above.size - body_size) <= 0.75
        and abs(below.size - body_size) <= 0.75
        and above.box.horizontal_overlap(below.box) > 0
        and -max(2.0, 0.35 * body_size) < below.box.y0 - above.box.y1 < 2.5 * body_size
    )
    line_gap = gaps[len(gaps) // 2] if gaps else 2.0
    return TextStats(body_size, column_width, line_gap)


def is_body_line(line: TextLine, block_lines: Sequence[TextLine], stats: TextStats) -> bool:
    """Prose: in the body font, in a block of full-width lines (a paragraph), or one full line."""
    if len(block_lines) >= 2 and is_row_of_cells(block_lines):
        return False  # a table's row whose one long cell is a sentence, not a paragraph's lines
    if len(block_lines) >= 3 and opens_row_of_cells(block_lines, stats):
        return False  # a table's row whose last cell runs on for lines of prose under its first row
    if PANEL_LETTERS.fullmatch(line.text.strip()):
        return False  # "(a)", wide spaces, "(b)": panel letters under their charts, as wide as a line
    if not any(char.isalpha() for char in line.text):
        return False  # a row of numbers ("1987 1989 1991 ..."): a chart's ticks or a table's cells
    if is_full_prose_line(line, stats):
        return True
    if abs(line.size - stats.body_size) > 1.0:
        return False
    if len(block_lines) < 2:
        # alone in its block (loosely set text): prose if it is a long line of running words, or
        # the end of a sentence begun above ("where i denotes the critical bus." under an equation)
        if sentence_end(line.text) and line.box.width >= 0.3 * stats.column_width:
            return True
        return line.box.width >= 0.6 * stats.column_width and is_wordy(line.text, 8)
    wide = sum(1 for other in block_lines if other.box.width >= 0.7 * stats.column_width)
    return wide >= max(1, len(block_lines) // 2) or is_narrowed_paragraph(block_lines, stats)


def sentence_end(text: str) -> bool:
    """Words that close a sentence begun on an earlier line: lower case first, a full stop last."""
    stripped = text.strip()
    return stripped[:1].islower() and stripped.endswith(".") and is_wordy(stripped, 6)


def is_narrowed_paragraph(block_lines: Sequence[TextLine], stats: TextStats) -> bool:
    """A paragraph set narrower to run beside a figure: four or more lines of running words from one
    left edge, each over a third of the column wide. (A line justified so widely that the PDF wrote
    its words apart counts once, whole.)"""
    rows: list[list[TextLine]] = []
    for line in sorted(block_lines, key=lambda line: (line.box.x0, line.box.y0)):
        # (a word of such a line stands within three spaces of an em of the one before it)
        row = next(
            (
                row
                for row in rows
                if on_one_row(row[-1].box, line.box) and 0 <= line.box.x0 - row[-1].box.x1 <= 3 * line.size
            ),
            None,
        )
        if row is None:
            rows.append([line])
        else:
            row.append(line)
    if len(rows) < 4:
        return False
    left = min(line.box.x0 for line in block_lines)
    prose = 0
    for row in rows:
        box = union_of(piece.box for piece in row)
        text = " ".join(piece.text for piece in row)
        prose += (
            abs(box.x0 - left) <= 0.5 * stats.body_size + 12  # (a paragraph's first line indented)
            and box.width >= 0.35 * stats.column_width
            and word_count(text) >= 4
            # (a column of cells holds numbers; Chinese and Japanese prose is denser in punctuation)
            and letter_share(text) >= (0.7 if WORD_RUN_CHARACTERS.search(text) else 0.85)
        )
    return prose >= 0.75 * len(rows)


def is_row_of_cells(block_lines: Sequence[TextLine]) -> bool:
    """The block's lines stand side by side on one row, columns apart (1.5 ems or more): cells of a
    table's row. A paragraph's lines stack; a line broken by inline math leaves narrow gaps."""
    ordered = sorted(block_lines, key=lambda line: line.box.x0)
    return all(
        left.box.shares_row(right.box) and right.box.x0 - left.box.x1 >= 1.5 * max(left.size, right.size)
        for left, right in zip(ordered, ordered[1:], strict=False)
    )


def opens_row_of_cells(block_lines: Sequence[TextLine], stats: TextStats) -> bool:
    """The block's first row is pieces set columns apart (1.5 ems or more; 3 for two pieces), one of
    them a short cell, and a later cell runs on in a row below that starts at its left edge: a
    table's row. A justified paragraph's line written in pieces goes on below from the first piece's
    edge; body columns the PDF wrote in one block stand two abreast, a gutter apart, each a column
    wide."""
    top = min(block_lines, key=lambda line: line.box.y0)
    row = sorted((line for line in block_lines if line.box.shares_row(top.box)), key=lambda line: line.box.x0)
    if len(row) < 2 or not any(line.box.width < 0.5 * stats.column_width for line in row):
        return False
    ems = 1.5 if len(row) >= 3 else 3.0
    if any(
        right.box.x0 - left.box.x1 < ems * max(left.size, right.size)
        for left, right in zip(row, row[1:], strict=False)
    ):
        return False
    below = [line for line in block_lines if line.box.y0 > top.box.y1 - 0.5 * top.size]
    row_starts = [
        line.box.x0
        for line in below
        if not any(other.box.x1 <= line.box.x0 and other.box.shares_row(line.box) for other in below)
    ]
    return any(abs(start - cell.box.x0) <= 2.0 for start in row_starts for cell in row[1:])


def letter_share(text: str) -> float:
    """The share of the printed characters that are letters."""
    printed = text.replace(" ", "")
    return sum(1 for char in printed if char.isalpha()) / max(len(printed), 1)


# a section heading's number: "3. Model of ...", "2.1 Data", "IV. RESULTS"
SECTION_HEADING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,3}\.?|[IVX]{1,4}\.)\s+\w")
SUBSECTION_NUMBER = re.compile(r"^\d{1,2}(?:\.\d{1,2}){1,3}\.?\s+\w")  # "4.6 Results", "4.6.1 Setup"


def is_numbered_subheading(line: TextLine) -> bool:
    """A bold line of words opening with a section's number of two levels or more: a subsection's
    heading, in whatever size (a Word thesis sets its headings in the body's)."""
    return line.bold_start and SUBSECTION_NUMBER.match(line.text) is not None and mostly_letters(line.text)


def mostly_letters(text: str) -> bool:
    """At least 60% of the printed characters are letters (prose, not numbers or symbols)."""
    return letter_share(text) >= 0.6


def is_wordy(text: str, words: int = 6) -> bool:
    """Running words: `words` or more, mostly letters (not a row of numbers or pseudo-code)."""
    return word_count(text) >= words and mostly_letters(text)


def word_count(text: str) -> int:
    """Words, counting a run of Chinese, Japanese or Korean characters (written without spaces) as a
    word per two characters."""
    return len(text.split()) + len(WORD_RUN_CHARACTERS.findall(text)) // 2


def is_small_print(block_lines: Sequence[TextLine], stats: TextStats) -> bool:
    """References, footnotes and notes in small type: lines running the width of the column,
    mostly letters, smaller than the body. Prose, not a table or a figure made of text."""
    smaller = sum(1 for line in block_lines if line.size <= stats.body_size - 0.5)
    if smaller < 0.8 * len(block_lines) or len(block_lines) < 3:
        return False  # (a heading in the body size may lead them: "References")
    wide = sum(1 for line in block_lines if line.box.width >= 0.85 * stats.column_width)
    return wide >= max(2, len(block_lines) // 2) and mostly_letters(
        "".join(line.text for line in block_lines)
    )


# a footnote opens with its mark: a number, a superscript or a dagger ("19https://...", "2 See ...")
NOTES_OPENER = re.compile(r"\s*(?:Notes?|NOTES?)\s*[:.]")  # "Notes: This table summarizes ..."
FOOTNOTE_MARK = re.compile(r"^\s*(?:\d{1,3}|[*\u2020\u2021\u00a7\u00b6\u00b9\u00b2\u00b3\u2070-\u2079])")


def page_footnotes(
    lines: Sequence[TextLine], graphics: Sequence[Graphic], page: Box, stats: TextStats
) -> tuple[Graphic, Box] | None:
    """The page's footnotes: a short rule at a column's left edge low on the page, with nothing drawn
    under it and only small print under it, opening with a note mark. Returns the rule and the area
    of the notes (text there is the page's, never an item's: a table begun at the foot of a page
    stops above them). A longer rule, up to most of the column, is the notes' where it starts at
    the left edge of the body text over it (a report's notes rule set at 60 % of its column)."""
    for rule in graphics:
        box = rule.box
        if not (
            rule.kind == "path"
            and box.height <= 1.5
            and 20.0 <= box.width <= 0.7 * stats.column_width
            and box.y0 >= page.y0 + 0.6 * page.height
        ):
            continue
        if box.width > 0.45 * stats.column_width and not at_body_edge(box, lines, stats):
            continue
        under = [line for line in lines if line.box.y0 >= box.y1 - 1 and line.box.x0 >= box.x0 - 3]
        column = [line for line in under if line.box.x0 <= box.x0 + 0.5 * stats.column_width]
        if not column or any(
            other is not rule and other.box.y0 >= box.y1 - 1 and other.box.x1 > box.x0 for other in graphics
        ):
            continue
        first = min(column, key=lambda line: line.box.y0)
        if (
            abs(first.box.x0 - box.x0) <= 3.0
            and first.box.y0 - box.y1 <= 2 * stats.body_size
            and FOOTNOTE_MARK.match(first.text) is not None
            and all(line.size <= stats.body_size - 0.5 for line in under)
        ):
            area = Box(box.x0, box.y0, max(line.box.x1 for line in under), max(line.box.y1 for line in under))
            return rule, area
    return None


def at_body_edge(rule: Box, lines: Sequence[TextLine], stats: TextStats) -> bool:
    """Lines of body text right over the rule start where it starts and run on past its end."""
    over = [
        line
        for line in lines
        if 0 <= rule.y0 - line.box.y1 <= 6 * stats.body_size
        and abs(line.size - stats.body_size) <= 0.5
        and abs(line.box.x0 - rule.x0) <= 2.0
        and line.box.x1 > rule.x1 + 20.0
    ]
    return len(over) >= 2


def underlines_text(rule: Box, lines: Sequence[TextLine], stats: TextStats) -> bool:
    """The rule is drawn through the foot of a line of text in the body's size or larger, from its
    start to its end: the line's underline (a report's underlined side heading), no float's rule; or,
    no wider than an em, between the line's ends: an underscore TeX draws as a rule
    ("calculate_d_nm.m")."""
    return any(
        line.size >= stats.body_size - 0.5
        and line.box.y0 + 0.6 * line.box.height <= rule.y0
        and rule.y1 <= line.box.y1 + 0.5
        and (
            (abs(rule.x0 - line.box.x0) <= 3.0 and abs(rule.x1 - line.box.x1) <= line.size)
            or (rule.width <= line.size and line.box.x0 <= rule.x0 and rule.x1 <= line.box.x1)
        )
        for line in lines
    )
