"""Page geometry -> figure and table regions with their captions. Pure: boxes and strings in, items out.

The page arrives as text lines (with font size and the boldness of their first span) and graphic
elements (image placements and path bounding boxes). The decisions, in order:

1. captions are blocks that open with a label (`captions.parse_caption_start`), continued over the
   blocks right below them in the same font;
2. graphic elements close to each other form clusters; text lines inside a cluster or touching it that
   are not body prose (axis labels, legends, panel letters, table cells) join it;
3. each caption claims the clusters in the zone above, below or beside it, bounded by body text and
   other captions (column-aware), nearest first; their union is the item's box, so every panel of a
   multi-panel figure lands in one item.
Clusters no caption claims are dropped unless they are large raster images and the caller keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from cephalo_ray.extract.captions import LABEL_WORD, CaptionLabel, join_caption_lines, parse_caption_start

GRAPHIC_GAP = 6.0  # paths and images closer than this (points) belong to one drawing
TEXT_GAP = 7.0  # non-body text this close to a drawing is part of it (axis labels, legends)
PANEL_GAP = 30.0  # panels of one figure are at most this far apart
MAX_CAPTION_GAP = 72.0  # a caption further than one inch from its figure is not its caption
BESIDE_MAX_GAP = 54.0  # a caption beside its figure sits in the next column (ragged right: measured loosely)
MARGIN_BAND = 0.055  # elements wholly inside the top/bottom 5.5% of the page are headers and footers
BACKGROUND_AREA = 0.6  # an element this large is a page background or a scan, not a figure
MIN_ITEM_POINTS = 24.0  # items smaller than this in both directions are icons
MIN_THICKNESS = 10.0  # items thinner than this in one direction are rules
CONVENTION_BONUS = 10.0  # points of gap forgiven where a caption sits by convention
OTHER_PAGE_AREA = 0.03  # an unclaimed drawing this large may be captioned on the next page
EQUATION_NUMBER = re.compile(r"^\((?:[A-Z]\.?)?\d{1,3}(?:\.\d{1,3})?[a-z]?\)$")  # (7), (3.55), (A2)
MIN_UNCAPTIONED_AREA = 0.08  # a kept uncaptioned raster figure covers at least this page fraction


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    @property
    def center_x(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def center_y(self) -> float:
        return (self.y0 + self.y1) / 2

    def union(self, other: Box) -> Box:
        return Box(
            min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1)
        )

    def near(self, other: Box, gap: float) -> bool:
        return (
            self.x0 - gap <= other.x1
            and other.x0 - gap <= self.x1
            and self.y0 - gap <= other.y1
            and other.y0 - gap <= self.y1
        )

    def horizontal_overlap(self, other: Box) -> float:
        return max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))

    def vertical_overlap(self, other: Box) -> float:
        return max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))

    def shares_row(self, other: Box, share: float = 0.5) -> bool:
        """The two overlap vertically by more than `share` of the shorter one: one printed row."""
        return self.vertical_overlap(other) > share * min(self.height, other.height)

    def intersection_area(self, other: Box) -> float:
        return self.horizontal_overlap(other) * self.vertical_overlap(other)

    def contains_point(self, x: float, y: float, margin: float = 0.0) -> bool:
        return self.x0 - margin <= x <= self.x1 + margin and self.y0 - margin <= y <= self.y1 + margin

    def clip(self, other: Box) -> Box:
        return Box(
            max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1)
        )


def union_of(boxes: Iterable[Box]) -> Box:
    """The smallest box holding all of them (at least one)."""
    boxes = iter(boxes)
    union = next(boxes)
    for box in boxes:
        union = union.union(box)
    return union


RULE_THICKNESS = 2.5  # a horizontal path no taller than this is a rule


def is_rule(graphic: Graphic, min_width: float) -> bool:
    return graphic.kind == "path" and graphic.box.height <= RULE_THICKNESS and graphic.box.width >= min_width


@dataclass(frozen=True)
class TextLine:
    box: Box
    text: str
    size: float
    bold_start: bool
    block: int  # index of the text block on the page; lines of one block are one paragraph


@dataclass(frozen=True)
class Graphic:
    box: Box
    kind: str  # "image" or "path"


@dataclass(frozen=True)
class Caption:
    box: Box
    label: CaptionLabel
    text: str
    lines: tuple[int, ...]  # indices into the page's lines
    bold_label: bool = False


@dataclass
class Cluster:
    box: Box
    images: int = 0
    paths: int = 0
    lines: list[int] = field(default_factory=list)
    text_only: bool = False

    @property
    def graphics(self) -> str:
        return combined_graphics([self])


@dataclass(frozen=True)
class Item:
    kind: str  # "figure" or "table"
    box: Box
    caption: Caption | None
    graphics: str
    placement: str  # where the caption sits: "below", "above", "beside", "other-page" or "none"
    caption_page: int | None = None  # 0-based page of the caption when not this page


@dataclass(frozen=True)
class TextStats:
    """Document-wide typography: what body prose looks like."""

    body_size: float
    column_width: float
    # white space between consecutive body lines (double spacing: about a line; such lines are
    # often blocks of their own, so blocks are not consulted)
    line_gap: float = 2.0


def join_row_pieces(lines: Sequence[TextLine]) -> list[TextLine]:
    """Join pieces of one printed line that the PDF wrote separately ("Table" "1." "HPO ..."): same
    block, same row, a word space apart. Table cells stay apart: their gaps are wider. Pieces of a
    row written out of order (inline math: "0.27", "<", "k", "<") are put in order first."""
    ordered: list[TextLine] = []
    row: list[TextLine] = []
    for line in [*lines, None]:
        if line is not None and row and line.block == row[0].block and on_one_row(line.box, row[0].box):
            row.append(line)
            continue
        ordered.extend(sorted(row, key=lambda piece: piece.box.x0))
        row = [line] if line is not None else []
    joined: list[TextLine] = []
    for line in ordered:
        if joined:
            last = joined[-1]
            same_row = on_one_row(line.box, last.box)
            gap = line.box.x0 - last.box.x1
            # a caption label stands apart from its number in widely spaced (justified) text
            reach = 2.0 if LABEL_WORD.match(last.text) and line.text[:1].isalnum() else 0.9
            if line.block == last.block and same_row and -0.5 <= gap <= reach * max(line.size, last.size):
                chars = len(last.text) + len(line.text)
                size = (last.size * len(last.text) + line.size * len(line.text)) / max(chars, 1)
                text = f"{last.text} {line.text}"
                joined[-1] = TextLine(last.box.union(line.box), text, size, last.bold_start, last.block)
                continue
        joined.append(line)
    return joined


def on_one_row(a: Box, b: Box) -> bool:
    """Two pieces of text on one printed row: overlapping by half, or one's middle inside the other
    (a subscript or superscript sits half above or below its line)."""
    return a.shares_row(b) or b.y0 <= a.center_y <= b.y1 or a.y0 <= b.center_y <= a.y1


FURNITURE_BAND = 0.1  # running headers and footers live in the top and bottom tenth of a page
FURNITURE_SHARE = 0.3  # a line repeated on this share of pages (two at least) is a running line
PAGE_NUMBER = re.compile(r"^(?:page\s*)?[#ivxlc]+(?:\s*(?:of|/)\s*#)?$", re.IGNORECASE)


def furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def running_furniture(pages: Sequence[Sequence[TextLine]], rects: Sequence[Box]) -> list[set[int]]:
    """Per page, the lines that are running headers, footers and page numbers: text in the top or
    bottom band that repeats across pages (numbers ignored), or a bare page number there."""
    seen: dict[tuple[str, str], set[int]] = {}
    banded: list[list[tuple[int, str, str]]] = []
    for number, (lines, rect) in enumerate(zip(pages, rects, strict=True)):
        marks = []
        for index, line in enumerate(lines):
            if line.box.y1 <= rect.y0 + FURNITURE_BAND * rect.height:
                band = "top"
            elif line.box.y0 >= rect.y1 - FURNITURE_BAND * rect.height:
                band = "bottom"
            else:
                continue
            key = furniture_key(line.text)
            marks.append((index, band, key))
            seen.setdefault((band, key), set()).add(number)
        banded.append(marks)
    needed = max(2, int(FURNITURE_SHARE * len(pages) + 0.999))
    return [
        {index for index, band, key in marks if len(seen[(band, key)]) >= needed or PAGE_NUMBER.match(key)}
        for marks in banded
    ]


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
    # rules and logos of the header and footer: mostly inside their bands
    kept_graphics = [g for g in graphics if top < g.box.center_y < bottom]
    return kept_lines, kept_graphics


def is_full_prose_line(line: TextLine, stats: TextStats) -> bool:
    """A line of body prose running the whole column: in the body font, at least 80% wide."""
    return abs(line.size - stats.body_size) <= 1.0 and line.box.width >= 0.8 * stats.column_width


def opens_caption(lines: Sequence[TextLine], index: int, line_gap: float = 0.0) -> CaptionLabel | None:
    """The label of the caption that line `index` opens, if it opens a paragraph with one."""
    line = lines[index]
    if index > 0 and not starts_paragraph(lines[index - 1], line, line_gap):
        return None
    return parse_caption_start(line.text, label_is_bold=line.bold_start)


def without_margin_text(lines: Sequence[TextLine], page: Box, stats: TextStats) -> list[TextLine]:
    """Drop text off the paper, vertical stamps in the side margins (arXiv ids, watermarks) and the
    line numbers of review copies and preprints (a column of bare numbers beside the text)."""
    prose = [line.box for line in lines if is_full_prose_line(line, stats)]
    left = min((box.x0 for box in prose), default=page.x0)
    right = max((box.x1 for box in prose), default=page.x1)
    numbers: dict[int, int] = {}  # lines of bare numbers in the margins, by where they stand
    for line in lines:
        if LINE_NUMBER.match(line.text) and (line.box.x1 < left - 2 or line.box.x0 > right + 2):
            numbers[round(line.box.x1 / 6)] = numbers.get(round(line.box.x1 / 6), 0) + 1
    kept = []
    for line in lines:
        box = line.box
        if box.x1 > page.x1 + 1 or box.x0 < page.x0 - 1:
            continue
        vertical = box.height > 4 * box.width and len(line.text) > 8
        if vertical and (box.x1 < left - 4 or box.x0 > right + 4):
            continue
        if LINE_NUMBER.match(line.text) and numbers.get(round(box.x1 / 6), 0) >= 5:
            continue
        kept.append(line)
    return kept


LINE_NUMBER = re.compile(r"^\d{1,4}$")


def text_stats(lines: Sequence[TextLine]) -> TextStats:
    """The body font size (most characters) and the typical width of a full body line."""
    by_size: dict[float, int] = {}
    for line in lines:
        key = round(line.size * 2) / 2
        by_size[key] = by_size.get(key, 0) + len(line.text)
    if not by_size:
        return TextStats(10.0, 250.0)
    body_size = max(by_size, key=lambda size: by_size[size])
    widths = sorted(line.box.width for line in lines if abs(line.size - body_size) <= 0.75)
    column_width = widths[int(0.9 * (len(widths) - 1))] if widths else 250.0
    gaps = sorted(
        below.box.y0 - above.box.y1
        for above, below in zip(lines, lines[1:], strict=False)
        if abs(above.size - body_size) <= 0.75
        and abs(below.size - body_size) <= 0.75
        and above.box.horizontal_overlap(below.box) > 0
        and -2.0 < below.box.y0 - above.box.y1 < 2.5 * body_size
    )
    line_gap = gaps[len(gaps) // 2] if gaps else 2.0
    return TextStats(body_size, column_width, line_gap)


def find_captions(
    lines: Sequence[TextLine],
    drawings: Sequence[Box] = (),
    body_size: float | None = None,
    line_gap: float = 0.0,
) -> list[Caption]:
    """Caption blocks: a block that opens with a label, plus the lines after it in the same block and
    the blocks right below it in the same font size, stopping at lines inside a drawing."""
    captions: list[Caption] = []
    taken: set[int] = set()
    for index, line in enumerate(lines):
        if index in taken:
            continue
        label = opens_caption(lines, index, line_gap)
        if label is None:
            continue
        members = [index]
        cursor = index + 1
        while cursor < len(lines):
            if continues_caption(lines, members, cursor, drawings, line_gap, body_size):
                members.append(cursor)
            elif not interleaved(lines, members, cursor):
                break
            cursor += 1
        box = union_of(lines[member].box for member in members)
        carried = next_column_lines(lines, members, box, drawings, body_size, line_gap)
        text = join_caption_lines([lines[member].text for member in members + carried])
        captions.append(Caption(box, label, text, tuple(members + carried), line.bold_start))
        taken.update(members + carried)
    return captions


def interleaved(lines: Sequence[TextLine], members: list[int], cursor: int) -> bool:
    """The line is another column's, sorted in between the caption's lines by reading order: it
    lies beside the caption, not under it, within a line or two of its last line."""
    last = lines[members[-1]]
    candidate = lines[cursor].box
    caption = union_of(lines[member].box for member in members)
    apart = max(candidate.x0 - caption.x1, caption.x0 - candidate.x1) > 1.6 * last.size
    below = not candidate.shares_row(last.box)
    if candidate.y0 > last.box.y1 + 2.5 * last.size:
        # far below: a piece of a later row sorted early (a root sign of a formula), or the page's
        # next block; it cannot continue the caption, and whatever follows it is judged on its own
        return cursor - members[-1] <= 40
    return candidate.horizontal_overlap(caption) == 0 and (below or apart)


def next_column_lines(
    lines: Sequence[TextLine],
    members: list[int],
    box: Box,
    drawings: Sequence[Box],
    body_size: float | None = None,
    line_gap: float = 0.0,
) -> list[int]:
    """A caption cut off at the foot of its column goes on at the head of the next one: a line in the
    caption's own (not the body's) size there, or one that finishes its unfinished sentence."""
    last = lines[members[-1]]
    own_size = body_size is not None and abs(last.size - body_size) >= 0.5
    finished = last.text.rstrip().endswith((".", "!", "?", ":"))
    if finished and not own_size:
        return []
    if any(
        line.box.y0 > last.box.y1 and line.box.horizontal_overlap(box) > 0 and line.size >= 0.8 * last.size
        for line in lines
    ):
        return []  # the column goes on below the caption
    right = [
        index
        for index, line in enumerate(lines)
        if line.box.x0 >= box.x1 - 5 and line.box.y1 < last.box.y0 and index not in members
    ]
    if not right:
        return []
    head = min(right, key=lambda index: lines[index].box.y0)
    first = lines[head]
    if abs(first.size - last.size) > (0.3 if own_size else 0.5):
        return []
    if not own_size and not (first.text[:1].islower() or last.text.endswith("-")):
        return []
    if parse_caption_start(first.text, label_is_bold=first.bold_start) is not None:
        return []
    carried = [head]
    cursor = head + 1
    while cursor < len(lines) and continues_caption(lines, carried, cursor, drawings, line_gap, body_size):
        carried.append(cursor)
        cursor += 1
    return carried


def starts_paragraph(previous: TextLine, line: TextLine, line_gap: float = 0.0) -> bool:
    """The line opens a paragraph: a new block, or the block's previous line is not just above it."""
    if previous.box.shares_row(line.box) and -1.0 <= line.box.x0 - previous.box.x1 <= 1.6 * line.size:
        return False  # a piece of the same printed line (a link, a change of font)
    if previous.block != line.block:
        return True
    above = previous.box.horizontal_overlap(line.box) > 0 and previous.box.y1 <= line.box.y0 + 1
    if not above or line.box.y0 - previous.box.y1 > max(0.8 * line.size, line_gap + 0.25 * line.size):
        return True
    # in one block with the line before, but that line is a row of its own (a panel's sub-caption
    # set elsewhere and shorter) or closes a paragraph
    elsewhere = abs(previous.box.x0 - line.box.x0) > 3.0
    return (elsewhere and previous.box.x1 < line.box.x1 - 3.0) or ends_paragraph(previous, line)


def continues_caption(
    lines: Sequence[TextLine],
    members: list[int],
    cursor: int,
    drawings: Sequence[Box] = (),
    line_gap: float = 0.0,
    body_size: float | None = None,
) -> bool:
    """The next line belongs to the caption: below the last one, in its block or a block right below
    in the same size, and not inside a drawing (table cells often share the caption's block)."""
    last = lines[members[-1]]
    candidate = lines[cursor]
    box = candidate.box
    if any(
        drawing.height > 3 * box.height and drawing.contains_point(box.center_x, box.center_y)
        for drawing in drawings
    ):
        return False  # inside a drawing (a highlight behind a line does not count)
    if in_row_of_cells(lines, members, cursor):
        return False  # a table's header row right under its caption
    if any(
        drawing.height <= RULE_THICKNESS
        and last.box.y1 - 1 <= drawing.center_y <= box.y0 + 1
        and drawing.horizontal_overlap(box) > 0.5 * box.width
        for drawing in drawings
    ):
        return False  # a rule between them: an algorithm's or a table's head ends the caption
    if box.shares_row(last.box):
        # on the same row: the rest of the line just after a label, or a piece of the same line
        # (never a line of the next column that happens to share the row)
        caption = union_of(lines[member].box for member in members)
        within = box.x0 >= caption.x0 - 2 and box.x1 <= caption.x1 + 2  # the caption's own column
        piece = len(members) == 1 or candidate.block == last.block or within
        return piece and 0 <= box.x0 - last.box.x1 <= 1.6 * last.size
    # a caption in the body's own size ends where its paragraph does; one set apart in size may
    # put its title on a line of its own above the legend ("Figure 3 Forest plot." + "Abbreviations: ...")
    in_body_size = body_size is None or abs(candidate.size - body_size) <= 0.5
    if in_body_size and ends_paragraph(last, candidate):
        return False
    # one text block, unless the PDF's block runs on into the next column
    near = box.y0 - last.box.y1 <= max(1.5 * last.size, line_gap + last.size)
    if (
        candidate.block == last.block
        and near
        and any(box.horizontal_overlap(lines[m].box) > 0 for m in members)
    ):
        return True
    if parse_caption_start(candidate.text, label_is_bold=candidate.bold_start) is not None:
        return False
    sizes = [lines[member].size for member in members]
    size = sum(sizes) / len(sizes)
    gap = candidate.box.y0 - last.box.y1
    overlaps = candidate.box.horizontal_overlap(last.box) > 0
    aligned = abs(candidate.box.x0 - last.box.x0) <= 3.0
    # the caption's own size, or its last line's (a label set larger than the small caps after it)
    same_font = min(abs(candidate.size - size), abs(candidate.size - last.size)) <= (1.5 if aligned else 0.5)
    if last.text.endswith("."):
        # a finished sentence: the next block goes on only if it sits tight within the caption's width
        within = (
            box.x0 >= min(lines[m].box.x0 for m in members) - 2
            and box.x1 <= max(lines[m].box.x1 for m in members) + 2
        )
        return within and -2.5 <= gap <= max(0.5 * size, line_gap + 0.1 * size) and same_font
    # a double-spaced manuscript spreads its captions' lines as far apart as its body lines
    # a second line may sit a little looser than the body's lines; later ones as close as the first two
    rows = sorted(
        {round(lines[member].box.y0, 1): lines[member].box for member in members}.values(), key=lambda b: b.y0
    )
    spacing = [below.y0 - above.y1 for above, below in zip(rows, rows[1:], strict=False)]
    reach = max(spacing) + 0.3 * size if spacing else 0.6 * size
    return overlaps and -2.5 <= gap <= max(reach, line_gap + 0.25 * size) and same_font


def in_row_of_cells(lines: Sequence[TextLine], members: list[int], cursor: int) -> bool:
    """The line shares its row with another line under the caption, a wide gap apart: table cells
    (a line of the next column shares the row too, but beside the caption, not under it)."""
    box = lines[cursor].box
    caption = union_of(lines[member].box for member in members)
    for index, other in enumerate(lines):
        if index == cursor or index in members or not other.box.shares_row(box):
            continue
        if other.box.x1 <= caption.x0 or other.box.x0 >= caption.x1:
            continue
        if max(other.box.x0 - box.x1, box.x0 - other.box.x1) > 1.5 * lines[cursor].size:
            return True
    return False


def ends_paragraph(last: TextLine, following: TextLine) -> bool:
    """`last` closes its paragraph: it finishes a sentence well short of the left-aligned line
    after it (the body text that follows a caption set in the body's own font and block)."""
    finished = last.text.rstrip().endswith((".", "!", "?", ".)"))
    left_aligned = abs(following.box.x0 - last.box.x0) <= 3.0
    return finished and left_aligned and last.box.x1 < following.box.x1 - 0.2 * following.box.width


def is_decoration(box: Box, page: Box) -> bool:
    """Page backgrounds, header/footer ornaments and elements outside the page."""
    if box.width <= 0 or box.height <= 0:
        return True
    if box.area >= BACKGROUND_AREA * page.area:
        return True
    band = MARGIN_BAND * page.height
    if box.y1 <= page.y0 + band or box.y0 >= page.y1 - band:
        return True
    # content reaching the paper's edge is a bleed ornament (side bars, banners), not a figure
    edge = 1.0
    return (
        box.x0 <= page.x0 + edge
        or box.x1 >= page.x1 - edge
        or box.y0 <= page.y0 + edge
        or box.y1 >= page.y1 - edge
    )


def cluster_boxes(boxes: Sequence[Box], gap: float, page: Box, gap_x: float | None = None) -> list[list[int]]:
    """Groups of boxes connected by gaps of at most `gap` points vertically and `gap_x` (default
    `gap`) horizontally: connected components on a one-point grid."""
    if not boxes:
        return []
    import numpy as np
    from scipy import ndimage

    scale = 1.0  # one cell per point is finer than any gap we use
    width = int(page.width * scale) + 2
    height = int(page.height * scale) + 2
    grid = np.zeros((height, width), dtype=bool)
    half = gap / 2
    half_x = (gap if gap_x is None else gap_x) / 2
    spans = []
    for box in boxes:
        x0 = int(max(0, (box.x0 - page.x0 - half_x) * scale))
        y0 = int(max(0, (box.y0 - page.y0 - half) * scale))
        x1 = int(min(width - 1, (box.x1 - page.x0 + half_x) * scale)) + 1
        y1 = int(min(height - 1, (box.y1 - page.y0 + half) * scale)) + 1
        grid[y0:y1, x0:x1] = True
        spans.append((y0, x0))
    labels, _ = ndimage.label(grid)
    groups: dict[int, list[int]] = {}
    for index, (y0, x0) in enumerate(spans):
        groups.setdefault(int(labels[y0, x0]), []).append(index)
    return list(groups.values())


def is_body_line(line: TextLine, block_lines: Sequence[TextLine], stats: TextStats) -> bool:
    """Prose: in the body font, in a block of full-width lines (a paragraph), or one full line."""
    if is_full_prose_line(line, stats):
        return True
    if abs(line.size - stats.body_size) > 1.0:
        return False
    if len(block_lines) < 2:
        # alone in its block (loosely set text): prose if it is a long line of running words
        return line.box.width >= 0.6 * stats.column_width and is_wordy(line.text, 8)
    wide = sum(1 for other in block_lines if other.box.width >= 0.7 * stats.column_width)
    return wide >= max(1, len(block_lines) // 2)


def mostly_letters(text: str) -> bool:
    """At least 60% of the printed characters are letters (prose, not numbers or symbols)."""
    printed = text.replace(" ", "")
    return sum(1 for char in printed if char.isalpha()) >= 0.6 * max(len(printed), 1)


def is_wordy(text: str, words: int = 6) -> bool:
    """Running words: `words` or more, mostly letters (not a row of numbers or pseudo-code)."""
    return len(text.split()) >= words and mostly_letters(text)


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


def visible_graphics(
    graphics: Sequence[Graphic], lines: Sequence[TextLine], page: Box, stats: TextStats
) -> list[Graphic]:
    """Drop elements that cannot be what prints: big paths under lines of prose and anything under
    a caption's first line (shadows, masks, images clipped away when printed)."""
    prose = [line.box for line in lines if is_full_prose_line(line, stats)]
    labels = [
        line.box
        for index, line in enumerate(lines)
        if opens_caption(lines, index, stats.line_gap) is not None
    ]
    kept = []
    for graphic in graphics:
        if graphic.kind == "path" and graphic.box.area > 0.05 * page.area:
            covered = sum(1 for box in prose if graphic.box.contains_point(box.center_x, box.center_y))
            if covered >= 2:
                continue
        # an element printed over a caption's first line is clipped away where the caption shows
        if any(graphic.box.contains_point(box.center_x, box.center_y) for box in labels):
            continue
        # the side of a frame drawn round a figure and its caption together passes beside the
        # caption; left in, it would make the caption look like text inside the figure
        if graphic.kind == "path" and graphic.box.width <= 2.5:
            if any(
                graphic.box.y0 < box.y0 - 2
                and graphic.box.y1 > box.y1 + 2
                and graphic.box.height > 3 * box.height
                for box in labels
            ):
                continue
        kept.append(graphic)
    return kept


def graphic_clusters(graphics: Sequence[Graphic], page: Box) -> list[Cluster]:
    """Images and paths close to each other, as clusters; ornaments left out."""
    elements = [graphic for graphic in graphics if not is_decoration(graphic.box, page)]
    groups = cluster_boxes([element.box for element in elements], GRAPHIC_GAP, page)
    clusters = []
    for group in groups:
        box = elements[group[0]].box
        for member in group[1:]:
            box = box.union(elements[member].box)
        images = sum(1 for member in group if elements[member].kind == "image")
        clusters.append(Cluster(box, images=images, paths=len(group) - images))
    return clusters


RULED_FLOAT_LABELS = ("Algorithm", "Listing", "Procedure", "Pseudocode")


def ruled_floats(captions: Sequence[Caption], graphics: Sequence[Graphic]) -> list[Box]:
    """The areas of ruled algorithm floats: a caption labelled Algorithm or Listing with a rule just
    above or below it and a rule of the same length further down, the float's foot. Their lines of
    pseudo-code read like prose but belong to the float."""
    rules = [graphic.box for graphic in graphics if is_rule(graphic, 60)]
    areas = []
    for caption in captions:
        if not caption.label.label.startswith(RULED_FLOAT_LABELS):
            continue
        box = caption.box
        heads = [
            rule
            for rule in rules
            if rule.horizontal_overlap(box) > 0.5 * box.width
            and (abs(rule.y1 - box.y0) <= 5 or abs(rule.y0 - box.y1) <= 5)
        ]
        for head in heads:
            feet = [
                rule
                for rule in rules
                if rule.y0 > box.y1 + 10 and abs(rule.x0 - head.x0) <= 4 and abs(rule.x1 - head.x1) <= 4
            ]
            if feet:
                foot = min(feet, key=lambda rule: rule.y0)
                areas.append(Box(head.x0, box.y1, head.x1, foot.y1))
                break
    return areas


def build_clusters(
    lines: Sequence[TextLine],
    clusters: list[Cluster],
    page: Box,
    caption_lines: set[int],
    stats: TextStats,
    floats: Sequence[Box] = (),
) -> tuple[list[Cluster], set[int]]:
    """Graphic clusters grown by the non-body text around them, plus text-only clusters; also the
    indices of body lines. Lines inside `floats` (a ruled algorithm's pseudo-code) are never body."""
    by_block: dict[int, list[TextLine]] = {}
    for index, line in enumerate(lines):
        if index not in caption_lines:  # a caption sharing a block with other lines says nothing of them
            by_block.setdefault(line.block, []).append(line)
    body: set[int] = set()
    free: list[int] = []
    for index, line in enumerate(lines):
        if index in caption_lines:
            continue
        inside = any(
            box.contains_point(line.box.center_x, line.box.center_y, 1.0)
            for box in [*(cluster.box for cluster in clusters), *floats]
        )
        if not inside and is_body_line(line, by_block.get(line.block, [line]), stats):
            body.add(index)
        else:
            free.append(index)
    clusters = absorb_text(clusters, lines, free, page)
    absorbed = {index for cluster in clusters for index in cluster.lines}
    clusters.extend(text_clusters(lines, [i for i in free if i not in absorbed], page, stats))
    return clusters, body


def text_clusters(lines: Sequence[TextLine], free: list[int], page: Box, stats: TextStats) -> list[Cluster]:
    """Blocks of short non-prose lines with no drawing (tables without rules): text-only clusters."""
    # table cells: rows close together, columns further apart
    groups = cluster_boxes(
        [lines[index].box for index in free], 0.9 * stats.body_size, page, 2.5 * stats.body_size
    )
    clusters = []
    for group in groups:
        if len(group) < 3:
            continue  # a heading or a stray label, not a table
        members = [free[i] for i in group]
        if any(EQUATION_NUMBER.match(lines[member].text) for member in members) or numbered_row(
            lines, members
        ):
            continue  # a displayed equation: "(7)" at its side
        if is_small_print([lines[member] for member in members], stats):
            continue  # references or notes in small type: prose, though not body-sized
        if sum(1 for member in members if is_wordy(lines[member].text)) >= 0.6 * len(members):
            continue  # running text (a page laid out unlike the rest), not a table's cells
        box = union_of(lines[member].box for member in members)
        clusters.append(Cluster(box, lines=members, text_only=True))
    return clusters


def split_at_gutter(cluster: Cluster, lines: Sequence[TextLine], middle: float) -> list[Cluster]:
    """A text-only cluster lying in both columns of a two-column page, whose rows do not line up
    across the gutter, is two things side by side (two listings), not one table."""
    if not cluster.text_only:
        return [cluster]
    left = [index for index in cluster.lines if lines[index].box.x1 <= middle]
    right = [index for index in cluster.lines if lines[index].box.x0 >= middle]
    if len(left) < 3 or len(right) < 3 or len(left) + len(right) < len(cluster.lines):
        return [cluster]
    in_row = sum(1 for a in left if any(lines[a].box.shares_row(lines[b].box, 0.8) for b in right))
    if in_row >= 0.5 * len(left):
        return [cluster]  # rows across the gutter: one table
    return [
        Cluster(union_of(lines[member].box for member in members), lines=list(members), text_only=True)
        for members in (left, right)
    ]


def numbered_row(lines: Sequence[TextLine], members: Sequence[int]) -> bool:
    """An equation number stands on the row of one of these lines, to their right (at the margin)."""
    right = max(lines[member].box.x1 for member in members)
    return any(
        EQUATION_NUMBER.match(line.text)
        and line.box.x0 >= right
        and any(line.box.shares_row(lines[member].box) for member in members)
        for line in lines
    )


def absorb_text(
    clusters: list[Cluster], lines: Sequence[TextLine], free: list[int], page: Box
) -> list[Cluster]:
    """Attach free text lines touching a cluster, then merge clusters that now touch, until stable."""
    pending = list(free)
    changed = True
    while changed and clusters:
        changed = False
        remaining = []
        for index in pending:
            box = lines[index].box
            target = next((cluster for cluster in clusters if cluster.box.near(box, TEXT_GAP)), None)
            if target is None:
                remaining.append(index)
                continue
            target.box = target.box.union(box)
            target.lines.append(index)
            changed = True
        pending = remaining
        merged = merge_clusters(clusters)
        changed = changed or len(merged) != len(clusters)
        clusters = merged
    return clusters


def merge_clusters(clusters: list[Cluster]) -> list[Cluster]:
    result: list[Cluster] = []
    for cluster in sorted(clusters, key=lambda c: (c.box.y0, c.box.x0)):
        for other in result:
            if other.box.near(cluster.box, GRAPHIC_GAP / 2):
                other.box = other.box.union(cluster.box)
                other.images += cluster.images
                other.paths += cluster.paths
                other.lines.extend(cluster.lines)
                break
        else:
            result.append(cluster)
    if len(result) != len(clusters):
        return merge_clusters(result)
    return result


@dataclass(frozen=True)
class Claim:
    cost: float
    caption: int
    clusters: tuple[int, ...]
    box: Box
    placement: str


def is_single_column(body: Sequence[Box], text_left: float, text_right: float) -> bool:
    """Most body lines cross the middle of the text area: one column of prose."""
    middle = (text_left + text_right) / 2
    crossing = sum(1 for box in body if box.x0 < middle - 12 and box.x1 > middle + 12)
    return crossing >= 0.5 * len(body)


def horizontal_span(
    caption: Box, text_left: float, text_right: float, single_column: bool
) -> tuple[float, float]:
    """Where a caption's figure may lie sideways: the full text width on a one-column page or when the
    caption crosses the centre line (a full-width or centred caption), else the caption's column."""
    middle = (text_left + text_right) / 2
    if single_column or (caption.x0 < middle - 12 and caption.x1 > middle + 12):
        return text_left, text_right
    if caption.x1 <= middle + 12:
        return text_left, middle
    return middle, text_right


def beside_captions(
    caption: Box, captions: Sequence[Caption], span: tuple[float, float]
) -> tuple[float, float]:
    """A caption with another caption beside it on its row (two figures side by side, each with its
    own caption) reaches sideways only to the middle of the gap between them."""
    left, right = span
    for other in captions:
        box = other.box
        if box == caption or not box.shares_row(caption):
            continue
        if box.x0 >= caption.x1:
            right = min(right, (caption.x1 + box.x0) / 2)
        elif box.x1 <= caption.x0:
            left = max(left, (box.x1 + caption.x0) / 2)
    return left, right


def vertical_claim(
    caption_index: int,
    captions: Sequence[Caption],
    clusters: Sequence[Cluster],
    blockers: Sequence[Box],
    page: Box,
    span: tuple[float, float],
    upward: bool,
) -> Claim | None:
    """The clusters between a caption and the nearest blocker above (or below) it."""
    caption = captions[caption_index].box
    left, right = span

    def overlaps(box: Box) -> bool:
        return min(box.x1, right) - max(box.x0, left) > 0.25 * min(box.width, right - left)

    def within(box: Box) -> bool:
        return box.center_x >= left - 2 and box.center_x <= right + 2

    if upward:
        limit = max([b.y1 for b in blockers if b.y1 <= caption.y0 + 1 and overlaps(b)], default=page.y0)
        chosen = [
            i
            for i, c in enumerate(clusters)
            if c.box.y0 >= limit - 1 and c.box.y1 <= caption.y0 + 3 and within(c.box)
        ]
    else:
        limit = min([b.y0 for b in blockers if b.y0 >= caption.y1 - 1 and overlaps(b)], default=page.y1)
        chosen = [
            i
            for i, c in enumerate(clusters)
            if c.box.y1 <= limit + 1 and c.box.y0 >= caption.y1 - 3 and within(c.box)
        ]
    chosen = [
        i for i in chosen if clusters[i].box.horizontal_overlap(caption) > 0 or overlaps(clusters[i].box)
    ]
    if not chosen:
        return None
    box = clusters[chosen[0]].box
    for i in chosen[1:]:
        box = box.union(clusters[i].box)
    gap = caption.y0 - box.y1 if upward else box.y0 - caption.y1
    if gap > MAX_CAPTION_GAP:
        return None
    return Claim(max(gap, 0.0), caption_index, tuple(chosen), box, "below" if upward else "above")


def beside_claim(
    caption_index: int, captions: Sequence[Caption], clusters: Sequence[Cluster], lines_body: Sequence[Box]
) -> Claim | None:
    """Clusters next to a caption (to its right or left) that share its vertical extent."""
    caption = captions[caption_index].box
    best: Claim | None = None
    for to_right in (True, False):
        chosen = []
        for i, cluster in enumerate(clusters):
            box = cluster.box
            gap = box.x0 - caption.x1 if to_right else caption.x0 - box.x1
            if -2 <= gap <= BESIDE_MAX_GAP and box.vertical_overlap(caption) > 0.3 * min(
                box.height, caption.height
            ):
                chosen.append(i)
        if not chosen:
            continue
        box = clusters[chosen[0]].box
        for i in chosen[1:]:
            box = box.union(clusters[i].box)
        gap = max(box.x0 - caption.x1 if to_right else caption.x0 - box.x1, 0.0)
        # the other panels of the figure: further out on the same side, close to what is chosen
        grown = True
        while grown:
            grown = False
            for i, cluster in enumerate(clusters):
                on_side = cluster.box.x0 >= caption.x1 - 2 if to_right else cluster.box.x1 <= caption.x0 + 2
                if i not in chosen and on_side and cluster.box.near(box, PANEL_GAP):
                    chosen.append(i)
                    box = box.union(cluster.box)
                    grown = True
        claim = Claim(gap + 2 * CONVENTION_BONUS, caption_index, tuple(chosen), box, "beside")
        if best is None or claim.cost < best.cost:
            best = claim
    return best


def edge_gap(a: Box, b: Box) -> float:
    """The empty space between two boxes (0 when they touch or overlap)."""
    return max(a.x0 - b.x1, b.x0 - a.x1, a.y0 - b.y1, b.y0 - a.y1, 0.0)


def chained_costs(claim: Claim, caption: Box, clusters: Sequence[Cluster]) -> dict[int, float]:
    """Each claimed cluster's distance to the caption along the chain of clusters between them (the
    widest gap crossed), plus the claim's own bias (placement habits, penalties)."""
    boxes = {index: clusters[index].box for index in claim.clusters}

    def direct(box: Box) -> float:
        if claim.placement == "below":
            return caption.y0 - box.y1
        if claim.placement == "above":
            return box.y0 - caption.y1
        return max(box.x0 - caption.x1, caption.x0 - box.x1)

    gaps = {index: max(direct(box), 0.0) for index, box in boxes.items()}
    offset = claim.cost - min(gaps.values())
    chained: dict[int, float] = {}
    for index in sorted(gaps, key=lambda i: gaps[i]):
        cost = gaps[index]
        for other, other_cost in chained.items():
            cost = min(cost, max(other_cost, edge_gap(boxes[index], boxes[other])))
        chained[index] = cost
    # a cluster further than a caption may be from its figure, even along the chain, is not a panel;
    # nor is a lone rule at a distance (a header's or a section's rule)
    return {
        index: cost + offset
        for index, cost in chained.items()
        if cost <= MAX_CAPTION_GAP
        and not (min(boxes[index].width, boxes[index].height) < MIN_THICKNESS and cost > 2 * GRAPHIC_GAP)
    }


# where captions sit by default: figure captions below their figure, table captions above their table
DEFAULT_HABITS: Mapping[str, str] = {"figure": "below", "table": "above"}


def pair_regions(
    lines: Sequence[TextLine],
    graphics: Sequence[Graphic],
    page: Box,
    stats: TextStats,
    keep_uncaptioned: bool = False,
    habits: Mapping[str, str] = DEFAULT_HABITS,
) -> PageRegions:
    """Figures and tables of one page, each with its caption where one is found.

    `habits` says per kind whether captions sit "below" or "above" their item in this document
    (`document_habits` learns it from the captions that could only go one way).
    """
    drawings = graphic_clusters(visible_graphics(graphics, lines, page, stats), page)
    captions = find_captions(
        lines,
        [cluster.box for cluster in drawings if cluster.box.area > 0],
        stats.body_size,
        stats.line_gap,
    )
    caption_lines = {index for caption in captions for index in caption.lines}
    floats = ruled_floats(captions, graphics)
    clusters, body = build_clusters(lines, drawings, page, caption_lines, stats, floats)
    # a "caption" inside a drawing is text of the drawing (a panel title), not a caption
    captions = [
        caption
        for caption in captions
        if not any(
            cluster.box.intersection_area(caption.box) > 0.5 * caption.box.area for cluster in clusters
        )
    ]
    body_boxes = [lines[index].box for index in body]
    # the text area: where body lines run, or (on a page whose text the PDF wrote in pieces too short
    # to read as prose) where any text runs
    ends = body_boxes if len(body_boxes) >= 5 else [line.box for line in lines]
    text_left = min([box.x0 for box in ends] + [c.box.x0 for c in captions], default=page.x0)
    text_right = max([box.x1 for box in ends] + [c.box.x1 for c in captions], default=page.x1)
    single_column = is_single_column(body_boxes, text_left, text_right)
    if not single_column:
        middle = (text_left + text_right) / 2
        clusters = [part for cluster in clusters for part in split_at_gutter(cluster, lines, middle)]
    claims: list[Claim] = []
    sides: dict[int, set[str]] = {}  # per caption, the sides where it found something to claim
    for index, caption in enumerate(captions):
        blockers = body_boxes + [other.box for j, other in enumerate(captions) if j != index]
        span = beside_captions(
            caption.box, captions, horizontal_span(caption.box, text_left, text_right, single_column)
        )
        figure_like = caption.label.kind == "figure"
        for upward in (True, False):
            claim = vertical_claim(index, captions, clusters, blockers, page, span, upward)
            if claim is None:
                continue
            sides.setdefault(index, set()).add(claim.placement)
            # figure captions sit below (strong habit), table captions above (a weaker one), unless
            # this document is seen to do otherwise
            conventional = claim.placement == habits.get(caption.label.kind, "below")
            bonus = CONVENTION_BONUS if figure_like else CONVENTION_BONUS / 2
            cost = claim.cost - (bonus if conventional else 0.0)
            if figure_like and all(clusters[i].text_only for i in claim.clusters):
                cost += 3 * CONVENTION_BONUS  # figures are drawn; text alone is more likely a table
            claims.append(Claim(cost, claim.caption, claim.clusters, claim.box, claim.placement))
        claim = beside_claim(index, captions, clusters, body_boxes)
        if claim is not None:
            claims.append(claim)
    # each cluster goes to the caption it is nearest to, through the panels between them (so a
    # panel row far from its caption still follows it, and a table never joins the figure below)
    best: dict[int, tuple[float, int, int]] = {}
    for claim_index, claim in enumerate(claims):
        for cluster_index, cost in chained_costs(claim, captions[claim.caption].box, clusters).items():
            candidate = (cost, claim.caption, claim_index)
            if cluster_index not in best or candidate < best[cluster_index]:
                best[cluster_index] = candidate
    by_caption: dict[int, dict[int, list[tuple[float, int]]]] = {}
    for cluster_index, (cost, caption_index, claim_index) in best.items():
        by_caption.setdefault(caption_index, {}).setdefault(claim_index, []).append((cost, cluster_index))
    taken_captions: set[int] = set()
    taken_clusters: set[int] = set()
    items: list[Item] = []
    evidence = [
        (captions[index].label.kind, next(iter(found)))
        for index, found in sorted(sides.items())
        if len(found) == 1
    ]
    for caption_index, options in sorted(by_caption.items()):
        choices = []
        for claim_index, members_costs in options.items():
            member_indices = sorted(index for _, index in members_costs)
            box = clusters[member_indices[0]].box
            for index in member_indices[1:]:
                box = box.union(clusters[index].box)
            if min(box.width, box.height) < MIN_THICKNESS or max(box.width, box.height) < MIN_ITEM_POINTS:
                continue  # a rule under a caption or an icon, not a figure
            choices.append((min(members_costs), claim_index, member_indices, box))
        if not choices:
            continue
        _, claim_index, member_indices, box = min(choices)
        taken_captions.add(caption_index)
        taken_clusters.update(member_indices)
        caption = captions[caption_index]
        drawn = combined_graphics([clusters[index] for index in member_indices])
        if caption.label.kind == "table":
            box = without_table_notes(box, lines, graphics)
        items.append(Item(caption.label.kind, box, caption, drawn, claims[claim_index].placement))
    orphans = [
        Item("figure", cluster.box, None, cluster.graphics, "none")
        for index, cluster in enumerate(clusters)
        if index not in taken_clusters
        and not cluster.text_only
        and cluster.box.area >= OTHER_PAGE_AREA * page.area
    ]
    if keep_uncaptioned:
        items.extend(
            orphan
            for orphan in orphans
            if orphan.graphics != "vector" and orphan.box.area >= MIN_UNCAPTIONED_AREA * page.area
        )
    return PageRegions(
        sorted(items, key=lambda item: (item.box.y0, item.box.x0)),
        [caption for index, caption in enumerate(captions) if index not in taken_captions],
        orphans,
        page.area,
        page.height,
        tuple(evidence),
    )


FOOTNOTE_START = re.compile(
    r"^(?:[*\u2020\u2021\u00a7\u00b6#]|[a-z]\s|\(?[a-z]\)|notes?\b|abbreviations?\b|sources?\b|data\b)",
    re.IGNORECASE,
)


def without_table_notes(box: Box, lines: Sequence[TextLine], graphics: Sequence[Graphic]) -> Box:
    """A ruled table's box ends at its last rule: the notes under it (one line to a row, smaller
    than the cells or opening with a note mark) and whatever they dragged in (a footer rule, the
    margin) are left out. Rows of cells under the last rule (a table ruled only at its head) stay."""
    rules = [
        graphic.box
        for graphic in graphics
        if is_rule(graphic, 0.5 * box.width)
        and box.contains_point(graphic.box.center_x, graphic.box.center_y, 1.0)
    ]
    if len(rules) < 2:
        return box
    top = min(rules, key=lambda rule: rule.y0)
    own = [rule for rule in rules if abs(rule.x0 - top.x0) <= 6 and abs(rule.x1 - top.x1) <= 6]
    bottom = max(rule.y1 for rule in own)
    inside = [line for line in lines if box.contains_point(line.box.center_x, line.box.center_y, 1.0)]
    cells = [line for line in inside if line.box.center_y < bottom]
    notes = [line for line in inside if line.box.center_y > bottom]
    if len(own) < 2 or not cells or not notes:
        return box
    one_per_row = not any(a.box.shares_row(b.box) for i, a in enumerate(notes) for b in notes[i + 1 :])
    cell_size = sorted(line.size for line in cells)[len(cells) // 2]
    smaller = all(line.size <= cell_size - 0.3 for line in notes)
    marked = FOOTNOTE_START.match(min(notes, key=lambda line: line.box.y0).text) is not None
    if not (one_per_row and (smaller or marked)):
        return box
    kept = [line.box for line in cells] + [
        graphic.box
        for graphic in graphics
        if box.contains_point(graphic.box.center_x, graphic.box.center_y, 1.0)
        and graphic.box.center_y <= bottom + 1
    ]
    return union_of(kept).clip(box)


class PageRegions(NamedTuple):
    items: list[Item]
    unpaired_captions: list[Caption]  # captions whose figure may be on the page before or after
    unclaimed: list[Item]  # large drawings no caption on this page claimed
    page_area: float = 0.0
    page_height: float = 0.0
    # (kind, placement) of captions that had items on one side only: the document's own habits
    evidence: tuple[tuple[str, str], ...] = ()


def document_habits(pages: Sequence[PageRegions]) -> dict[str, str]:
    """Where this document puts its captions, per kind: the side most of its unambiguous captions
    sit on ("below" or "above"), the common habit where the document does not say. Journals that
    caption tables below them would otherwise hand each caption the table under it."""
    habits = dict(DEFAULT_HABITS)
    for kind in habits:
        seen = [placement for page in pages for k, placement in page.evidence if k == kind]
        below, above = seen.count("below"), seen.count("above")
        if below >= 2 * above + 1:
            habits[kind] = "below"
        elif above >= 2 * below + 1:
            habits[kind] = "above"
    return habits


def pair_detected(regions: PageRegions, detected: Sequence[tuple[str, Box]], page: Box) -> PageRegions:
    """Give the page's unpaired captions the figures and tables a layout model found there, each
    caption the nearest block of its kind above, below or beside it that no item covers yet."""
    items = list(regions.items)
    free = [
        (kind, box)
        for kind, box in detected
        if not any(box.intersection_area(item.box) > 0.3 * min(box.area, item.box.area) for item in items)
    ]
    unpaired = []
    for caption in regions.unpaired_captions:
        options = []
        for index, (kind, box) in enumerate(free):
            if kind != caption.label.kind:
                continue
            if box.horizontal_overlap(caption.box) > 0:
                gap = max(caption.box.y0 - box.y1, box.y0 - caption.box.y1, 0.0)
            elif box.vertical_overlap(caption.box) > 0:
                gap = max(box.x0 - caption.box.x1, caption.box.x0 - box.x1, 0.0) + 2 * CONVENTION_BONUS
            else:
                continue
            if gap <= MAX_CAPTION_GAP:
                options.append((gap, index))
        if not options:
            unpaired.append(caption)
            continue
        _, index = min(options)
        kind, box = free.pop(index)
        items.append(Item(kind, box, caption, "raster", "detected"))
    return regions._replace(
        items=sorted(items, key=lambda item: (item.box.y0, item.box.x0)), unpaired_captions=unpaired
    )


def neighbour_pages(caption: Box, page_height: float, number: int) -> list[int]:
    """Where an unpaired caption's figure may be: the page before when the caption heads its page,
    the page after when it ends it."""
    pages = []
    if caption.y0 <= 0.3 * page_height:
        pages.append(number - 1)
    if caption.y1 >= 0.7 * page_height:
        pages.append(number + 1)
    return pages


def pair_across_pages(pages: Sequence[PageRegions]) -> list[list[Item]]:
    """Items per page after pairing each unpaired caption with an unclaimed drawing on the page
    before it (the caption went on to the next page) or after it (a caption facing its figure):
    the largest, preferring one in the caption's column. The item stays on the drawing's page;
    `caption_page` records where the caption was."""
    items = [list(page.items) for page in pages]
    taken: set[tuple[int, int]] = set()
    for number, page in enumerate(pages):
        for caption in page.unpaired_captions:
            options = [
                (drawing.box.horizontal_overlap(caption.box) > 0, drawing.box.area, other, index)
                for other in neighbour_pages(caption.box, pages[number].page_height, number)
                if 0 <= other < len(pages)
                for index, drawing in enumerate(pages[other].unclaimed)
                if (other, index) not in taken
                and drawing.box.area >= OTHER_PAGE_AREA * pages[other].page_area
            ]
            if not options:
                continue
            *_, other, index = max(options)
            taken.add((other, index))
            drawing = pages[other].unclaimed[index]
            items[other].append(
                Item(caption.label.kind, drawing.box, caption, drawing.graphics, "other-page", number)
            )
    return items


def combined_graphics(clusters: Sequence[Cluster]) -> str:
    images = sum(cluster.images for cluster in clusters)
    paths = sum(cluster.paths for cluster in clusters)
    if images and paths:
        return "mixed"
    return "raster" if images else "vector"
