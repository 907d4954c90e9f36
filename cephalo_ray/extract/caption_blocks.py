"""Caption blocks: where a caption opens (a label) and how far it runs (same font, no paragraph
break, no table row, the next column when it wraps). Pure."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import replace

from cephalo_ray.extract.captions import (
    ACRONYM_WORDS,
    ORNAMENT,
    CaptionLabel,
    is_continuation,
    is_label_alone,
    join_caption_lines,
    label_at_start,
    label_language,
    parse_caption_start,
    text_language,
)
from cephalo_ray.extract.geometry import (
    RULE_THICKNESS,
    Box,
    Caption,
    TextLine,
    edge_gap,
    on_one_row,
    union_of,
)
from cephalo_ray.extract.page_text import SECTION_HEADING, TICK, is_wordy


def opens_caption(lines: Sequence[TextLine], index: int, line_gap: float = 0.0) -> CaptionLabel | None:
    """The label of the caption that line `index` opens, if it opens a paragraph with one."""
    line = lines[index]
    if index > 0 and beside_other_caption(lines[index - 1], line):
        return parse_caption_start(line.text, label_is_bold=line.bold_start)
    if index > 0 and not starts_paragraph(lines[index - 1], line, line_gap):
        previous = lines[index - 1]
        # where the PDF wrote it into the block above, a caption still opens: as a bold label on a
        # line of its own after a finished sentence, or in another size than the text above it (a
        # listing's or a table's last row)
        after_sentence = finishes_sentence(previous)
        heading = line.bold_start and is_label_alone(line.text) and after_sentence
        # (or a bold label after plain text that ended there, punctuated as a caption's: "Figure 1
        # : Ex vivo ..." after a sentence's end or a paragraph's short last line)
        ended = after_sentence or previous.box.x1 < line.box.x1 - 3 * line.size
        bold_caption = (
            line.bold_start
            and not previous.bold_start
            and ended
            and parse_caption_start(line.text) is not None
        )
        resized = abs(previous.size - line.size) >= 1.5 and len(previous.text.strip()) > 3
        if not (heading or bold_caption or resized):
            return None
    if index > 0 and continues_sentence(lines[index - 1], line, line_gap):
        return None  # "... as shown in" + "Fig. 9. For larger ...": a sentence citing a figure
    return parse_caption_start(line.text, label_is_bold=line.bold_start)


def set_apart_by_drawing(
    lines: Sequence[TextLine], index: int, drawings: Sequence[Box], line_gap: float = 0.0
) -> CaptionLabel | None:
    """A short line clear of both edges of the text (no paragraph's first or last line), right over
    or under a drawing, that opens with a label: a caption, however its title starts ("Fig. 2 torque
    balance" in a Word journal's plain font), not a sentence citing the figure."""
    line = lines[index]
    match = label_at_start(line.text)
    if match is None or len(line.text.split()) > 15 or match["word"].rstrip(".").lower() in ACRONYM_WORDS:
        return None  # ("MAP 65-90 mm Hg" in a table's cell: the acronym, not a label)
    if index > 0 and continues_sentence(lines[index - 1], line, line_gap):
        return None
    widest = max(other.box.width for other in lines)
    full = [other.box for other in lines if other.box.width >= 0.6 * widest]
    left, right = min(box.x0 for box in full), max(box.x1 for box in full)
    box = line.box
    # (clear of both edges of the text by two ems: centred, however much white space its box
    # carries in front of it)
    clear_of_edges = box.x0 > left + 2 * line.size and box.x1 < right - 2 * line.size
    near = [drawing for drawing in drawings if drawing.horizontal_overlap(box) > 0]
    over = any(-0.3 * line.size <= box.y0 - drawing.y1 <= 2 * line.size for drawing in near)
    under = any(-0.3 * line.size <= drawing.y0 - box.y1 <= 2 * line.size for drawing in near)
    # (right over one drawing or right under one; between two it is a table's cell between rules)
    touching = over != under
    return parse_caption_start(line.text, label_is_bold=True) if clear_of_edges and touching else None


def beside_other_caption(previous: TextLine, line: TextLine) -> bool:
    """The line opens another item's caption right after one on the same row: two figures side by
    side, each caption under its own ("Figure 3.2: ..." and "Figure 3.3: ..." a few points apart)."""
    if not previous.box.shares_row(line.box) or line.box.x0 < previous.box.x1 - 1:
        return False
    ours = parse_caption_start(line.text, label_is_bold=line.bold_start)
    theirs = parse_caption_start(previous.text, label_is_bold=previous.bold_start)
    return ours is not None and theirs is not None and ours != theirs


def continues_sentence(previous: TextLine, line: TextLine, line_gap: float) -> bool:
    """The line goes on with the unfinished sentence of the line just above it: a full line of the
    same paragraph (same size, aligned, as wide, at the paragraph's spacing), whatever block the PDF
    put each line in."""
    above = previous.box.horizontal_overlap(line.box) > 0
    gap = line.box.y0 - previous.box.y1
    # (lines set with math in them have boxes taller than their leading: they may overlap a little)
    close = -max(1.0, 0.3 * line.size) <= gap <= max(line_gap, 0.0) + 0.25 * line.size
    aligned = abs(previous.box.x0 - line.box.x0) <= 3.0 and previous.box.width >= 0.9 * line.box.width
    same_size = abs(previous.size - line.size) <= 0.3
    unfinished = previous.text.rstrip()[-1:].isalnum() or previous.text.rstrip().endswith((",", ";"))
    return above and close and aligned and same_size and unfinished and not previous.bold_start


# a dot leader running to a page number: a line of a table of contents or list of figures
CONTENTS_LEADER = re.compile(r"(?:\.\s?){5,}\s*(?:\d+|[ivxlc]+)\s*$|…\s*\d+\s*$", re.IGNORECASE)


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
        label = opens_caption(lines, index, line_gap) or set_apart_by_drawing(
            lines, index, drawings, line_gap
        )
        if label is None:
            continue
        members = [index]
        riders: list[int] = []  # lone symbols of a formula (primes, accents), placed by their row
        cursor = index + 1
        while is_turned(line):  # its lines, in whatever order the PDF wrote them
            cursor = next(
                (
                    other
                    for other in range(len(lines))
                    if other not in taken
                    and other not in members
                    and continues_turned_caption(lines, members, other, drawings)
                ),
                -1,
            )
            if cursor < 0:
                break
            members.append(cursor)
        while cursor < len(lines) and not is_turned(line):
            # (a script or a lone symbol rides on its row: the next line reads on from the row's text)
            if rides_on_caption(lines, members, cursor):
                riders.append(cursor)
            elif continues_caption(lines, members, cursor, drawings, line_gap, body_size):
                members.append(cursor)
            elif formula_piece_of_next(lines, members, cursor, drawings, line_gap, body_size):
                members.extend((cursor, cursor + 1))
                cursor += 1
            elif not interleaved(lines, members, cursor):
                break
            cursor += 1
        while not is_turned(line):
            earlier = next_row_written_earlier(lines, members, taken, drawings, line_gap, body_size)
            if earlier is None:
                break
            members.append(earlier)
        if any(CONTENTS_LEADER.search(lines[member].text) for member in members[:3]):
            continue  # "Figure 1 Management of ... ........ 3630": an entry of a list of figures
        if not is_turned(line):
            members += written_before(lines, members, taken)
        box = union_of(lines[member].box for member in members)
        carried = next_column_lines(lines, members, box, drawings, body_size, line_gap, taken)
        beside = [] if carried else beside_column_lines(lines, members, box, drawings, taken)
        if beside:
            carried = beside
            box = box.union(union_of(lines[member].box for member in beside))
        members += riders
        ordered = in_printed_rows(lines, members) + in_printed_rows(lines, carried)
        if CONTENTS_LEADER.search(" ".join(lines[member].text for member in ordered[:4])):
            continue  # (the entry's title, leader and page written as pieces of their own)
        text = ORNAMENT.sub("", join_caption_lines([lines[member].text for member in ordered]))
        captions.append(Caption(box, label, text, tuple(ordered), line.bold_start))
        taken.update(members + carried)
    return without_bold_citations(captions)


def next_row_written_earlier(
    lines: Sequence[TextLine],
    members: list[int],
    taken: Collection[int],
    drawings: Sequence[Box],
    line_gap: float,
    body_size: float | None,
) -> int | None:
    """The caption's next row where the PDF wrote it before the label (a turned page's caption whose
    short last row came first in the text layer): right under the last row, from the caption's left
    edge, and reading on from it as a row written in order would."""
    last = lines[members[-1]]
    left = min(lines[member].box.x0 for member in members)
    for index in range(members[0]):
        box = lines[index].box
        if (
            index not in taken
            and index not in members
            and abs(box.x0 - left) <= 2.0
            and -1.0 <= box.y0 - last.box.y1 <= max(0.8 * last.size, line_gap + 0.5 * last.size)
            and continues_caption(lines, members, index, drawings, line_gap, body_size)
        ):
            return index
    return None


def written_before(lines: Sequence[TextLine], members: list[int], taken: Collection[int]) -> list[int]:
    """Pieces of the caption's rows that the PDF wrote before its label (a row's end after a
    subscript, "x*" + "λSURE (green mixed)."): on a row of the caption, within its width, starting
    where one of the row's pieces ends."""
    caption = union_of(lines[member].box for member in members)
    found = []
    for index in range(members[0]):
        line = lines[index]
        box = line.box
        if index in taken or index in members or box.x0 < caption.x0 - 2 or box.x1 > caption.x1 + 2:
            continue
        if parse_caption_start(line.text, label_is_bold=line.bold_start) is not None:
            continue
        row = [lines[member].box for member in members if lines[member].box.shares_row(box)]
        if any(-line.size <= box.x0 - piece.x1 <= 0.3 * line.size for piece in row):
            found.append(index)
            caption = caption.union(box)
    if not found:
        return found
    # (and the caption's last rows that the PDF wrote in the same block after such a piece)
    block = lines[found[0]].block
    for index in range(found[0] + 1, members[0]):
        line = lines[index]
        box = line.box
        if (
            index not in found
            and index not in taken
            and index not in members
            and line.block == block
            and caption.x0 - 2 <= box.x0
            and box.x1 <= caption.x1 + 2
            and -0.5 * line.size <= box.y0 - caption.y1 <= 0.5 * line.size
        ):
            found.append(index)
            caption = caption.union(box)
    return found


def without_bold_citations(captions: list[Caption]) -> list[Caption]:
    """Drops a caption whose only sign is its bold label, a sentence going on after it in lower case,
    where another caption of the page has that label: a journal that sets its citations in bold
    ("Tab. 2 stellt die ...") opens a paragraph as "**Figure 3** the fibre ..." opens a caption."""

    def cites(caption: Caption) -> bool:
        match = label_at_start(caption.text)
        plain = parse_caption_start(caption.text) is not None
        return match is not None and not plain and SENTENCE_GOES_ON.match(match["rest"]) is not None

    citing = [cites(caption) for caption in captions]
    # (a table's "(continued)" head is no rival of its caption)
    held = {
        caption.label.label
        for caption, cited in zip(captions, citing, strict=True)
        if not cited and not is_continuation(caption.text)
    }
    return [
        caption
        for caption, cited in zip(captions, citing, strict=True)
        if not (cited and caption.label.label in held)
    ]


SENTENCE_GOES_ON = re.compile(r"^[ \t]+[a-zß-öø-ÿ]{3,}\b")


def with_panel_legend(caption: Caption, lines: Sequence[TextLine], panels: Sequence[Box]) -> Caption:
    """A caption printed at the top of a tinted panel of its own, with a legend under it in the panel
    (abbreviations, notes, often in smaller type): the legend is the caption's. A panel that holds
    anything but text (a framed figure) or another caption is left alone."""
    opener = lines[caption.lines[0]].box
    last = max(lines[member].box.y1 for member in caption.lines)
    around = [
        panel
        for panel in panels
        if panel.contains_point(opener.center_x, opener.center_y)
        and panel.x0 <= caption.box.x0 + 1
        and panel.x1 >= caption.box.x1 - 1
        and opener.y0 - panel.y0 <= 1.5 * opener.height
        and panel.y1 > last
    ]
    if not around:
        return caption
    panel = min(around, key=lambda box: box.area)
    if any(
        other.x0 > panel.x0 + 2
        and other.x1 < panel.x1 - 2
        and other.y0 > panel.y0 + 2
        and other.y1 < panel.y1 - 2
        for other in panels
    ):
        return caption  # a drawing inside the panel: a framed figure, not a caption's panel
    legend = [
        index
        for index, line in enumerate(lines)
        if index not in caption.lines and panel.contains_point(line.box.center_x, line.box.center_y)
    ]
    if not legend or any(lines[index].box.y0 < last - 1 for index in legend):
        return caption  # nothing under the caption, or text beside it: not a legend
    if any(opens_caption(lines, index) is not None or not is_wordy(lines[index].text, 3) for index in legend):
        return caption
    ordered = [*caption.lines, *in_printed_rows(lines, legend)]
    text = join_caption_lines([lines[member].text for member in ordered])
    box = caption.box.union(union_of(lines[index].box for index in legend))
    return replace(caption, box=box, text=text, lines=tuple(ordered))


def is_turned(line: TextLine) -> bool:
    """Set vertically (a caption of a table turned on its side): far taller than wide."""
    return line.box.height > 2 * line.box.width and len(line.text) > 8


def continues_turned_caption(
    lines: Sequence[TextLine], members: Sequence[int], cursor: int, drawings: Sequence[Box] = ()
) -> bool:
    """The next line of a turned caption: turned too, in its size, starting level with it and
    beside it at line spacing, with no rule between (its rows read sideways, so rows of cells must
    not join it, nor the table's header beyond its head rule)."""
    last, candidate = lines[members[-1]], lines[cursor]
    if not (candidate.box.height > 2 * candidate.box.width and abs(candidate.size - last.size) <= 0.5):
        return False
    near, far = sorted((last.box, candidate.box), key=lambda box: box.x0)
    if any(
        drawing.width <= 3
        and near.x1 - 1 <= drawing.center_x <= far.x0 + 1
        and drawing.vertical_overlap(candidate.box) > 0
        for drawing in drawings
    ):
        return False
    level = abs(candidate.box.y1 - last.box.y1) <= 3.0 or abs(candidate.box.y0 - last.box.y0) <= 3.0
    apart = max(candidate.box.x0 - last.box.x1, last.box.x0 - candidate.box.x1)
    return level and -0.5 * last.size <= apart <= 0.8 * last.size


def rides_on_caption(lines: Sequence[TextLine], members: Sequence[int], cursor: int) -> bool:
    """The line is a lone symbol of a formula in the caption (a prime, an accent, a star) that the
    PDF wrote apart: no letters or digits, inside the caption's width, touching its last row; or a
    letter or two of a sub- or superscript hanging off the last row's end, alone on its row."""
    candidate, last = lines[cursor], lines[members[-1]]
    printed = candidate.text.replace(" ", "")
    box = candidate.box
    # a letter or two of sub- or superscript in a smaller size, written apart under (or over) the
    # row's last piece ("E^miss" + "T"), alone on its row (a table's header cell "No" under the
    # caption has the other cells of its row beside it)
    script = (
        0 < len(printed) <= 2
        and candidate.size <= 0.85 * last.size
        and last.box.x0 <= box.x0 <= last.box.x1 + 1
        and max(box.y0 - last.box.y1, last.box.y0 - box.y1) <= 0.5 * candidate.size
    )
    if script and not any(
        other is not candidate and other.box.shares_row(box) and not other.box.shares_row(last.box)
        for other in lines
    ):
        return True
    if not printed or len(printed) > 2 or any(char.isalnum() for char in printed):
        return False
    caption = union_of(lines[member].box for member in members)
    inside = caption.x0 - 2 <= box.x0 and box.x1 <= caption.x1 + 2
    touching = last.box.y0 - 0.5 * last.size <= box.center_y <= last.box.y1 + 0.5 * last.size
    return inside and touching and candidate.size <= last.size + 0.5


def formula_piece_of_next(
    lines: Sequence[TextLine],
    members: list[int],
    cursor: int,
    drawings: Sequence[Box],
    line_gap: float,
    body_size: float | None,
) -> bool:
    """The line is a piece of a formula (a fraction's numerator in a smaller size) on the row of the
    next line, and that line continues the caption: the two go on together."""
    following = cursor + 1
    if following >= len(lines):
        return False
    piece, mate = lines[cursor], lines[following]
    if not on_one_row(piece.box, mate.box) or piece.box.width >= mate.box.width:
        return False
    apart = max(mate.box.x0 - piece.box.x1, piece.box.x0 - mate.box.x1)
    caption = union_of(lines[member].box for member in members)
    if apart > mate.size or piece.box.horizontal_overlap(caption) < piece.box.width - 2:
        return False  # (a label of a drawing beside the caption shares the row, further off)
    if parse_caption_start(f"{piece.text} {mate.text}", label_is_bold=piece.bold_start) is not None:
        return False  # the next caption's label written apart from its title ("表2" + "通栏表格示例")
    return continues_caption(lines, members, following, drawings, line_gap, body_size)


def in_printed_rows(lines: Sequence[TextLine], members: Sequence[int]) -> list[int]:
    """The lines in the order they print: row by row, left to right in a row. A formula makes the
    PDF write a row's pieces out of order, and a tall symbol (a root sign) reads in the row it
    reaches into."""
    rows: list[list[int]] = []
    for member in members:
        box = lines[member].box
        row = next((row for row in rows if on_one_row(box, widest(lines, row))), None)
        if row is None:
            rows.append([member])
        else:
            row.append(member)
    for row in [row for row in rows if len(row) == 1 and len(lines[row[0]].text.strip()) <= 2]:
        box = lines[row[0]].box
        others = [other for other in rows if other is not row]
        # (a subscript may hang just clear of its row's box: it still reads in that row; a piece
        # as tall as the row, under its left end, is a last word wrapped onto a row of its own)
        overlaps = [(nearness(widest(lines, other), box), index) for index, other in enumerate(others)]
        best, index = max(overlaps, default=(-box.height, -1))
        nearest = widest(lines, others[index]) if others else box
        wrapped = (
            box.x0 <= nearest.x0 + 0.5 and box.center_y > nearest.y1 and box.height >= 0.8 * nearest.height
        )
        if best > -0.5 * box.height and not wrapped:
            others[index].extend(row)
            row.clear()
    placed = sorted((row for row in rows if row), key=lambda row: widest(lines, row).y0)
    # (a script starting where the next piece starts reads first: it hangs off the piece before)
    return [
        member
        for row in placed
        for member in sorted(row, key=lambda member: (lines[member].box.x0, lines[member].size))
    ]


def nearness(row: Box, box: Box) -> float:
    """How far two boxes overlap in height, or (negative) how far apart they stand."""
    overlap = row.vertical_overlap(box)
    return overlap if overlap > 0 else -max(box.y0 - row.y1, row.y0 - box.y1)


def widest(lines: Sequence[TextLine], row: Sequence[int]) -> Box:
    return max((lines[member].box for member in row), key=lambda box: box.width)


def interleaved(lines: Sequence[TextLine], members: list[int], cursor: int) -> bool:
    """The line is another column's, sorted in between the caption's lines by reading order: it
    lies beside the caption, not under it, within a line or two of its last line."""
    last = lines[members[-1]]
    if beside_other_caption(last, lines[cursor]):
        return True  # the next figure's caption, set beside this one on its row
    candidate = lines[cursor].box
    caption = union_of(lines[member].box for member in members)
    gap = max(candidate.x0 - caption.x1, caption.x0 - candidate.x1)
    # (a narrow gutter: half an em or more to a line of another text block is the next column)
    apart = gap > 1.6 * last.size or (gap > 0.6 * last.size and lines[cursor].block != last.block)
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
    taken: Collection[int] = (),
) -> list[int]:
    """A caption cut off at the foot of its column goes on at the head of the next one: a line in the
    caption's own (not the body's) size there, or one that finishes its unfinished sentence. Lines
    of captions found before (`taken`) are theirs."""
    last = lines[members[-1]]
    if last.box.height > 2 * last.box.width:
        return []  # set vertically (a table turned on its side): no column to go on in
    own_size = body_size is not None and abs(last.size - body_size) >= 0.5
    finished = last.text.rstrip().endswith((".", "!", "?", ":"))
    if finished and (not own_size or last.box.x1 < box.x1 - last.size):
        return []  # (a finished sentence on a short last line ends its paragraph)
    if any(
        line.box.y0 > last.box.y1 and line.box.horizontal_overlap(box) > 0 and line.size >= 0.8 * last.size
        for line in lines
    ):
        return []  # the column goes on below the caption
    right = [
        index
        for index, line in enumerate(lines)
        if line.box.x0 >= box.x1 - 5
        and line.box.y1 < last.box.y0
        and index not in members
        and index not in taken
    ]
    if not right:
        return []
    head = min(right, key=lambda index: lines[index].box.y0)
    first = lines[head]
    if any(
        line.box.x0 < box.x1 - 5
        and line.box.x1 > first.box.x0 + 1
        and first.box.y1 < line.box.y0 < last.box.y0
        for index, line in enumerate(lines)
        if index not in members
    ):
        return []  # lines of the caption's own column reach over the head: it is no next column
    if abs(first.size - last.size) > (0.3 if own_size else 0.5):
        return []
    column_right = max(
        (
            line.box.x1
            for line in lines
            if abs(line.box.x0 - box.x0) <= last.size and line.box.x1 < first.box.x0
        ),
        default=last.box.x1,
    )
    # (the word's width from the last line's average character, spaces included, with a margin)
    next_word = (first.text.split() or [""])[0] + " "
    if column_right - last.box.x1 > 1.25 * len(next_word) * last.box.width / max(len(last.text), 1):
        return []  # the next column's first word would have fitted on the last line: it ended there
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


def beside_column_lines(
    lines: Sequence[TextLine],
    members: list[int],
    box: Box,
    drawings: Sequence[Box],
    taken: Collection[int] = (),
) -> list[int]:
    """A caption set in two columns under (or over) an item spanning both: its unfinished sentence
    goes on at the top of the next column, on the caption's own first row, in its size."""
    first, last = lines[members[0]], lines[members[-1]]
    if is_turned(first) or last.text.rstrip().endswith((".", "!", "?", ":")):
        return []
    size = last.size
    right = sorted(
        (
            index
            for index, line in enumerate(lines)
            if index not in members
            and index not in taken
            and line.box.x0 >= box.x1 + 0.5 * size
            and line.box.y0 >= first.box.y0 - 2
            and line.box.y1 <= last.box.y1 + 2
            and abs(line.size - size) <= 0.3
        ),
        key=lambda index: lines[index].box.y0,
    )
    if not right:
        return []
    head = lines[right[0]]
    if abs(head.box.y0 - first.box.y0) > 0.6 * size or not (
        head.text[:1].islower() or last.text.endswith("-")
    ):
        return []
    # the item crosses the gutter between the caption's column and the next
    spanning = any(
        drawing.x0 < box.x1 - 2 * size
        and drawing.x1 > head.box.x0 + 2 * size
        and (0 <= first.box.y0 - drawing.y1 <= 3 * size or 0 <= drawing.y0 - last.box.y1 <= 3 * size)
        for drawing in drawings
    )
    return right if spanning else []


def starts_paragraph(previous: TextLine, line: TextLine, line_gap: float = 0.0) -> bool:
    """The line opens a paragraph: a new block, or the block's previous line is not just above it."""
    gap = line.box.x0 - previous.box.x1
    # a lone mark standing apart before it (a number in the gutter, a change bar's tag) is no word
    mark = len(previous.text.strip()) <= 2 and not any(char.isalpha() for char in previous.text)
    if previous.box.shares_row(line.box) and -1.0 <= gap <= (0.5 if mark else 1.6) * line.size:
        return False  # a piece of the same printed line (a link, a change of font)
    if previous.block != line.block:
        return True
    above = previous.box.horizontal_overlap(line.box) > 0 and previous.box.y1 <= line.box.y0 + 1
    if not above or line.box.y0 - previous.box.y1 > max(0.8 * line.size, line_gap + 0.25 * line.size):
        return True
    # in one block with the line before, but that line is a row of its own (a panel's sub-caption
    # set elsewhere and shorter) or closes a paragraph
    elsewhere = abs(previous.box.x0 - line.box.x0) > 3.0
    # (or it starts far into this line's width: a panel's sub-caption, as no paragraph indents)
    far_in = previous.box.x0 - line.box.x0 > 4 * line.size
    return (elsewhere and previous.box.x1 < line.box.x1 - 3.0) or far_in or ends_paragraph(previous, line)


# lines some journals print under a figure's legend, no part of it: its own DOI, a note that the
# legend goes on over the page, the heading of its supplementary files, the line naming its source,
# a paragraph of notes ("Notes: Simulations based on ..."; a sentence's "please note:" runs on)
AFTER_LEGEND = re.compile(
    r"(doi\s*:\s*10\.|https?://(dx\.)?doi\.org/|(figure|fig\.|table)\s+\S+\s+continued on (the )?next page"
    r"|the following (source data|figure supplements?) (is|are) available"
    r"|(data )?sources?\s*:|fontes?\s*:|fuentes?\s*:|quellen?\s*:|источник\s*:|(?-i:Notes?|NOTES?)\s*:)",
    re.IGNORECASE,
)


def finishes_sentence(line: TextLine) -> bool:
    return line.text.rstrip().endswith(".")


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
    opener = lines[members[0]].box
    # (a caption set inside a drawing, as a table's merged last row, goes on inside it)
    if inside_drawing(
        candidate.box, [drawing for drawing in drawings if not inside_drawing(opener, [drawing])]
    ):
        return False
    if in_row_of_cells(lines, members, cursor):
        return False  # a table's header row right under its caption
    if rule_between(last.box, candidate.box, drawings) and not legend_under_ruled_label(
        lines, members, candidate, body_size
    ):
        return False  # an algorithm's or a table's head ends the caption
    if candidate.box.shares_row(last.box):
        return piece_of_same_row(lines, members, candidate)
    if translated_caption(lines, members, candidate, line_gap):
        return True
    if bracketed_headnote(lines, members, candidate, line_gap) or descriptive_headnote(
        lines, members, candidate
    ):
        return True
    if AFTER_LEGEND.match(candidate.text):
        return False  # a legend's DOI, its "continued on next page" or its list of source data
    if finishes_sentence(last) and not any(char.isalnum() for char in candidate.text):
        return False  # a stray full stop under a finished caption (an equation object's) adds nothing
    # a caption in the body's own size ends where its paragraph does; one set apart in size may
    # put its title on a line of its own above the legend ("Figure 3 Forest plot." + "Abbreviations: ...")
    in_body_size = body_size is None or abs(candidate.size - body_size) <= 0.5
    label_alone = len(members) == 1 and is_label_alone(last.text)  # ("Tablo 1." + its title under it)
    titled = title_over_legend(lines, members, candidate, line_gap)
    # (a caption set in italics goes on in italics past a short line: the body is upright)
    italic_run = last.italic and candidate.italic
    if in_body_size and not label_alone and not titled and not italic_run and ends_paragraph(last, candidate):
        return False
    if body_text_after_caption(lines, members, candidate, line_gap):
        return False
    # (a caption's own rows may sit further apart than the body's: "... in the first column of" +
    # "Figure 3. The right panel ..." still cites across the break)
    # (the caption's bold label is no heading the sentence could not run on from)
    as_text = replace(last, bold_start=False)
    if parse_caption_start(candidate.text, label_is_bold=candidate.bold_start) is not None and not (
        continues_sentence(as_text, candidate, max(line_gap, 0.7 * last.size))
    ):
        return False  # the next caption (not a citation that wrapped: "as shown in" + "Figure 5.")
    # one text block, unless the PDF's block runs on into the next column
    box = candidate.box
    near = box.y0 - last.box.y1 <= max(0.8 * last.size, line_gap + 0.5 * last.size)
    # (a paragraph in the body's size that the PDF put in the block of a caption set in a size of
    # its own is the body text after the caption)
    own_size = sorted(lines[m].size for m in members)[len(members) // 2]
    body_after = (
        in_body_size
        and body_size is not None
        and abs(own_size - body_size) >= 1.0
        and abs(candidate.size - own_size) >= 1.0
        and is_wordy(candidate.text)
    )
    if (
        candidate.block == last.block
        and near
        and not body_after
        and any(box.horizontal_overlap(lines[m].box) > 0 for m in members)
    ):
        return True
    if len(members) == 1 and is_label_alone(last.text):
        # (a title in a caption font of its own may stand further off under a label set apart; so may
        # a title in plain italics under a bold label, as APA's style sets them a blank line apart)
        own_font = not in_body_size or (candidate.italic and not candidate.bold_start and not last.italic)
        set_apart = own_font and alone_on_its_row(lines, last)
        return text_under_label(last, candidate, line_gap, set_apart) or title_under_label_set_right(
            lines, last, candidate
        )
    if heads_axis(lines, candidate) or in_row_of_labels(lines, members, candidate):
        return False  # a chart's axis unit over its tick labels ("1000 Mboe" over "900"), or its bar labels
    return next_row_of_caption(lines, members, candidate, line_gap, in_body_size)


def heads_axis(lines: Sequence[TextLine], candidate: TextLine) -> bool:
    """A short line a little way over a bare number that starts near its start: the unit over a
    chart's axis and its tick labels."""
    if len(candidate.text.split()) > 3 or finishes_sentence(candidate):
        return False
    box = candidate.box
    ticks = [
        line.box
        for line in lines
        if TICK.match(line.text.strip()) is not None and abs(line.box.x0 - box.x0) <= 2 * candidate.size
    ]
    # (the first tick right under it, nothing between, and the next one under that: a column of
    # them; a table's numbers have its head between them and its caption)
    first = [
        tick
        for tick in ticks
        if 0 <= tick.y0 - box.y1 <= 3 * candidate.size
        and not any(
            line.box.horizontal_overlap(box) > 0 and box.y1 < line.box.center_y < tick.y0 for line in lines
        )
    ]
    return any(0 < other.y0 - tick.y1 <= 3 * candidate.size for tick in first for other in ticks)


def in_row_of_labels(lines: Sequence[TextLine], members: list[int], candidate: TextLine) -> bool:
    """A word or two with two more such pieces far along its row: a chart's labels set over its
    bars (a caption's last words may share their row with a line of the next column)."""
    if len(candidate.text.split()) > 2 or finishes_sentence(candidate):
        return False
    if evenly_spread_row(lines, members, candidate):
        return False  # a justified line of the caption, its words spread apart
    along = [
        line
        for index, line in enumerate(lines)
        if index not in members
        and len(line.text.split()) <= 2
        and line.box.shares_row(candidate.box)
        and line.box.x0 - candidate.box.x1 > 3 * candidate.size
    ]
    return len(along) >= 2


def translated_caption(
    lines: Sequence[TextLine], members: list[int], candidate: TextLine, line_gap: float
) -> bool:
    """The candidate opens the same item's caption again in another language, right under it: a
    bilingual journal prints each caption in its own language over an English one ("図4 複数の
    サブゴール" + "Fig. 4 Many sub goals"; "Figura 2 – ..." + "Figure 2 – ..."), one caption. The
    second may stand a blank row under the first, as a paragraph of its own ("Table 1. ..." + "Tabla
    1. ..."), and may keep the first's label word when its words are of another language."""
    opener, last = lines[members[0]], lines[members[-1]]
    ours = parse_caption_start(opener.text, label_is_bold=opener.bold_start)
    theirs = parse_caption_start(candidate.text, label_is_bold=candidate.bold_start)
    if ours is None or ours != theirs:
        return False
    if label_language(opener.text) == label_language(candidate.text):
        # under the same label word, only text in another language is a translation ("Fig. 1.
        # Selection of ..." + "Fig. 1. Selección de ..."), not the same label's next caption or note
        theirs_in, ours_in = text_language(candidate.text), text_language(opener.text)
        if theirs_in is None or ours_in is None or theirs_in == ours_in:
            return False
    gap = candidate.box.y0 - last.box.y1
    # (its label may stand out to the left, the rest of its row under the caption)
    row = [
        line.box
        for line in lines
        if line.box.shares_row(candidate.box) and edge_gap(line.box, candidate.box) < 2 * candidate.size
    ]
    beneath = any(box.horizontal_overlap(lines[member].box) > 0 for box in row for member in members)
    return beneath and -1.0 <= gap <= max(line_gap, 0.8 * last.size) + last.size


def inside_drawing(box: Box, drawings: Sequence[Box]) -> bool:
    """The line lies inside a drawing: over three lines high, or over two and running round the whole
    line (a short ruled table's grid; words highlighted on two lines run round only those words)."""
    return any(
        drawing.contains_point(box.center_x, box.center_y)
        and (
            drawing.height > 3 * box.height
            or (drawing.height > 2 * box.height and drawing.x0 <= box.x0 + 2 and drawing.x1 >= box.x1 - 2)
        )
        for drawing in drawings
    )


def rule_between(above: Box, below: Box, drawings: Sequence[Box]) -> bool:
    """A horizontal rule runs between the two lines, across most of the lower one."""
    return any(
        drawing.height <= RULE_THICKNESS
        and above.y1 - 1 <= drawing.center_y <= below.y0 + 1
        and drawing.horizontal_overlap(below) > 0.5 * below.width
        for drawing in drawings
    )


def legend_under_ruled_label(
    lines: Sequence[TextLine], members: list[int], candidate: TextLine, body_size: float | None = None
) -> bool:
    """A label alone ruled off from the prose of its legend, in the label's size (some review
    journals rule under "Figure 6"), or from a title a little smaller but no smaller than the body
    (a magazine's table panel: "Table 2." over a rule over "Frequency of cosmetic issues ...");
    a table's or an algorithm's head under a rule is no prose, and a table's cells are set smaller."""
    label = lines[members[-1]]
    if len(members) != 1 or not is_label_alone(label.text):
        return False
    legend = abs(candidate.size - label.size) <= 0.5 and is_wordy(candidate.text, 8)
    title = (
        body_size is not None
        and body_size - 0.25 <= candidate.size <= label.size + 0.5
        and label.size - candidate.size <= 1.5
        and is_wordy(candidate.text, 4)
    )
    return legend or title


def piece_of_same_row(lines: Sequence[TextLine], members: list[int], candidate: TextLine) -> bool:
    """On the caption's last row: the rest of the line just after a label, or a piece of the same
    line (never a line of the next column that happens to share the row)."""
    last = lines[members[-1]]
    box = candidate.box
    caption = union_of(lines[member].box for member in members)
    # (the next figure's caption set on the same row, each under its own picture, is its own)
    opener = lines[members[0]]
    theirs = parse_caption_start(candidate.text, label_is_bold=candidate.bold_start)
    if theirs is not None and theirs != parse_caption_start(opener.text, label_is_bold=opener.bold_start):
        return False
    # it starts within the caption's own column (a line of the next column starts past its edge;
    # a piece that runs on may end a little past the widest line so far)
    within = caption.x0 - 2 <= box.x0 <= caption.x1 - 2
    # the row so far: a script written after its row's text may sit under it ("E^miss" + "T")
    row_end = max(lines[m].box.x1 for m in members if lines[m].box.shares_row(box))
    # (or it starts right where the row ends, as the rest of a line a symbol's script broke off;
    # the next column starts a gutter away)
    touching = abs(box.x0 - row_end) <= 0.3 * last.size
    piece = len(members) == 1 or candidate.block == last.block or within or touching
    script = candidate.size <= 0.85 * last.size and last.box.x0 <= box.x0 and box.x1 <= row_end + 1
    if piece and script:
        return True
    # (the other word of a last line justified to both edges)
    above = union_of(lines[member].box for member in members[:-1]) if len(members) > 1 else None
    if above is not None and force_justified_end(lines[members[-2]], [last.box, box], above):
        return True
    if piece and evenly_spread_row(lines, members, candidate):
        return True  # the next word of a justified line of few words
    # a sub- or superscript written with the next piece may reach back over the row's end
    # ("κ∗" + "D to the right"), by up to a character
    # (the title after a label alone may stand off as by a tab: "Figure 5.", a wide space, "Proposed";
    # in the label's own block, as far as a hanging indent puts it)
    reach = 1.6
    if len(members) == 1 and is_label_alone(last.text):
        reach = 8.0 if candidate.block == last.block else 2.5
    after = -last.size <= box.x0 - row_end <= reach * last.size and box.x0 > last.box.x0
    # a fraction's denominator, written with the rest of the row, starts under its numerator at
    # the last piece's end and runs on past it
    after = after or (last.box.center_x <= box.x0 <= last.box.x1 and box.x1 > last.box.x1 + last.size)
    # or the row's start, written after its end (a formula split the row): it is read in place
    before = len(members) > 1 and within and -last.size <= last.box.x0 - box.x1 <= 1.6 * last.size
    return piece and (after or before)


# "This table reports ...": finance and economics journals set a paragraph under the title
DESCRIPTION_START = re.compile(r"^\s*This (?:table|figure|exhibit|chart)\b", re.IGNORECASE)


def descriptive_headnote(lines: Sequence[TextLine], members: list[int], candidate: TextLine) -> bool:
    """A paragraph describing the item ("This table reports ...") right under the caption's title:
    part of the caption, whatever its size."""
    last = lines[members[-1]]
    if not DESCRIPTION_START.match(candidate.text) or candidate.box.horizontal_overlap(last.box) <= 0:
        return False
    return -2.5 <= candidate.box.y0 - last.box.y1 <= 1.5 * last.size


def bracketed_headnote(
    lines: Sequence[TextLine], members: list[int], candidate: TextLine, line_gap: float
) -> bool:
    """A headnote in brackets right under the caption's title ("[Values are means; n, sample size]"):
    it belongs to the caption, as report series set their tables."""
    last = lines[members[-1]]
    box = candidate.box
    if not candidate.text.lstrip().startswith("[") or abs(box.x0 - lines[members[0]].box.x0) > 3.0:
        return False
    return -2.5 <= box.y0 - last.box.y1 <= max(0.5 * last.size, line_gap + 0.25 * last.size)


def body_text_after_caption(
    lines: Sequence[TextLine], members: list[int], candidate: TextLine, line_gap: float
) -> bool:
    """The caption has ended and the line is body text the PDF wrote into its block."""
    last = lines[members[-1]]
    box = candidate.box
    # a caption set with a hanging indent ends where, after a finished sentence, a line comes back
    # out to its label's edge
    first = lines[members[0]].box
    below_first = [lines[member].box.x0 for member in members if not lines[member].box.shares_row(first)]
    hanging = bool(below_first) and min(below_first) > first.x0 + 3
    if hanging and finishes_sentence(last) and box.x0 < last.box.x0 - 3:
        return True
    # a caption whose last row ended well short of its width has ended: a line in another size
    # after it is body text
    widest = max(lines[member].box.x1 for member in members)
    # (one ending in a colon announces what follows: "... found in the following websites:")
    ended_short = len(members) >= 2 and last.box.x1 < widest - 0.3 * (widest - first.x0)
    ended_short = ended_short and not last.text.rstrip().endswith(":")
    if ended_short and abs(candidate.size - last.size) >= 0.8:
        return True
    # a centred caption's last row, a paragraph's space above a line reaching past it on both
    # sides: the body text resumes (a centred caption's own rows are never wider than the one before)
    centred_inside = box.x0 < last.box.x0 - 3 and box.x1 > last.box.x1 + 3
    spaced = box.y0 - last.box.y1 > line_gap + 0.3 * last.size
    if centred_inside and spaced and not is_label_alone(last.text):
        return True
    if centred_then_paragraph(lines, members, candidate):
        return True
    return left_room_unused(lines, members, candidate)


def centred_then_paragraph(lines: Sequence[TextLine], members: list[int], candidate: TextLine) -> bool:
    """The caption's last row is centred in the column of the lines after it, and the next line is
    indented from that column's left and runs out to its right edge, past the row, in the row's
    size: a paragraph's first line (a centred caption's next row is centred too, or runs the whole
    width)."""
    last = lines[members[-1]]
    if is_label_alone(last.text) or abs(candidate.size - last.size) > 0.5 or not is_wordy(candidate.text, 3):
        return False
    if len(members) > 1 and abs(candidate.box.x0 - last.box.x0) <= 2.0:
        return False  # (aligned with the caption's rows under a hanging label: its next row)
    # (the column: the lines of the next few rows that the line lies over or under)
    column = [
        line.box
        for index, line in enumerate(lines)
        if index not in members
        and line.box.horizontal_overlap(candidate.box) > 0
        and candidate.box.y0 - 1 <= line.box.y0 <= candidate.box.y0 + 5 * candidate.size
    ]
    left, right = min(box.x0 for box in column), max(box.x1 for box in column)
    margin_left, margin_right = last.box.x0 - left, right - last.box.x1
    centred = margin_left >= 2 * last.size and abs(margin_left - margin_right) <= 3.0
    indented = candidate.box.x0 >= left + last.size
    return centred and indented and candidate.box.x1 >= right - 2 and candidate.box.x1 > last.box.x1 + 3


def left_room_unused(lines: Sequence[TextLine], members: list[int], candidate: TextLine) -> bool:
    """The line after the caption's last row is neither aligned with the row nor centred on it, and
    either reaches well past the row's end (the row ended its text on purpose: a one-row caption
    centred under its figure, then a paragraph's first line) or starts and ends well before the row
    (a heading at the column's edge)."""
    last = lines[members[-1]]
    if is_label_alone(last.text) or len(last.text.strip()) <= 2:
        return False  # (a lone symbol, such as a root sign, is no row of its own)
    row = union_of(lines[member].box for member in members if lines[member].box.shares_row(last.box))
    box = candidate.box
    em = last.size
    aligned = abs(box.x0 - row.x0) <= 3.0
    # (a full line of the next block is centred on a one-row caption centred on the column too)
    wider = (
        box.x0 < row.x0 - 2 * em
        and box.x1 > row.x1 + 2 * em
        and candidate.block != last.block
        and not centred_note(lines, last, candidate)
    )
    centred = abs(box.center_x - row.center_x) <= 0.5 * em and not wider
    if aligned or centred:
        return False
    # (in the row's own block, the line is the caption's: a legend hung under a short title; so is a
    # legend's indented first line under a title: the row was inset on its left too, or the line
    # starts past the row's middle, in another column)
    inset = box.x0 < row.x0 - 3 or box.x0 > row.center_x
    room_left = box.x1 > row.x1 + 2 * em and candidate.block != last.block and inset
    set_before = box.x0 < row.x0 - 2 * em and box.x1 < row.x1 - 2 * em
    return room_left or set_before


def centred_note(lines: Sequence[TextLine], last: TextLine, candidate: TextLine) -> bool:
    """A sentence centred tight under a centred caption's row, alone in its block: the caption's
    note, wider than its title ("Table 3. Individual difference ..." over "Shaded measurements fall
    outside of ..."). Body text goes on in lower case, or has its paragraph's next line below."""
    return (
        abs(candidate.box.center_x - last.box.center_x) <= 2
        and candidate.box.y0 - last.box.y1 <= 0.25 * last.size
        and candidate.text.lstrip()[:1].isupper()
        and sum(1 for line in lines if line.block == candidate.block) == 1
    )


def title_over_legend(
    lines: Sequence[TextLine], members: list[int], candidate: TextLine, line_gap: float
) -> bool:
    """The caption so far is a title under a bold label ("Figure 1. Turnout in Bendigo, 1899.") and
    the line opens its legend: in the title's block, at the label's left edge and no further below
    than the body's lines are apart (body text after a caption stands off by a paragraph's space, or
    in a block of its own)."""
    label = lines[members[0]]
    last = lines[members[-1]]
    box = candidate.box
    return (
        label.bold_start
        and finishes_sentence(last)
        and not candidate.bold_start
        and all(lines[member].block == candidate.block for member in members)
        and abs(box.x0 - label.box.x0) <= 3.0
        and box.y0 - last.box.y1 <= max(line_gap, 0.3 * last.size) + 1.0
    )


def alone_on_its_row(lines: Sequence[TextLine], label: TextLine) -> bool:
    """No short line shares the label's row nearby: "Fig. 4" in a table's cell has its row's other
    cells beside it, while a label beside a column of prose has only long lines there."""
    return not any(
        other is not label
        and other.box.shares_row(label.box)
        and other.box.width < 12 * label.size
        and max(other.box.x0 - label.box.x1, label.box.x0 - other.box.x1) < 8 * label.size
        for other in lines
    )


def text_under_label(label: TextLine, candidate: TextLine, line_gap: float, set_apart: bool = False) -> bool:
    """A label on a line of its own, often in a heading font: its text is the line under it. Under
    a label `set_apart` (alone on its row, its title in a caption font) the title may stand a blank
    line lower ("Exhibit 3" over "Prevalence Of ...")."""
    gap = candidate.box.y0 - label.box.y1
    under_label = (
        candidate.box.horizontal_overlap(label.box) > 0
        or abs(candidate.box.x0 - label.box.x0) <= 2 * label.size
    )
    widest = max(0.8 * label.size, line_gap + 0.25 * candidate.size)
    if set_apart:
        widest = max(widest, 1.5 * label.size)
    return under_label and -overlap_allowed(label.box, candidate.box) <= gap <= widest


def title_under_label_set_right(lines: Sequence[TextLine], label: TextLine, candidate: TextLine) -> bool:
    """A label alone at the right of its row over a title centred under it, each alone on its row
    ("Таблица 2.1" flush right, then "Конфигурации VGG" centred and bold, as Russian standards set
    tables); the title is in the label's size and bold, unlike the prose a label may stand beside."""
    gap = candidate.box.y0 - label.box.y1
    return (
        candidate.bold_start
        and abs(candidate.size - label.size) <= 0.5
        and label.box.x0 >= candidate.box.center_x
        and label.box.x1 >= candidate.box.x1
        and -overlap_allowed(label.box, candidate.box) <= gap <= 1.5 * label.size
        and alone_on_its_row(lines, label)
        and alone_on_its_row(lines, candidate)
    )


def overlap_allowed(above: Box, below: Box) -> float:
    """How far a line's box may reach up into the box of the line above it: tightly leaded lines'
    boxes overlap (each box runs past its glyphs) by a good part of their height."""
    return max(2.5, 0.3 * min(above.height, below.height))


def next_row_of_caption(
    lines: Sequence[TextLine], members: list[int], candidate: TextLine, line_gap: float, in_body_size: bool
) -> bool:
    """The line is the caption's next row: under its last one, in its font, at its spacing."""
    last = lines[members[-1]]
    box = candidate.box
    sizes = [lines[member].size for member in members]
    size = sum(sizes) / len(sizes)
    gap = box.y0 - last.box.y1
    reach_up = overlap_allowed(last.box, box)
    # under the last line (or, after a lone symbol such as a root sign, under the line before it)
    # (under any piece of that row: a justified row the PDF wrote word by word)
    under = [lines[member] for member in members if lines[member].box.shares_row(last.box)]
    if len(last.text.strip()) <= 2 and len(members) > 1:
        under.append(lines[members[-2]])
    overlaps = any(box.horizontal_overlap(line.box) > 0 for line in under)
    aligned = abs(box.x0 - last.box.x0) <= 3.0
    # the caption's own size, or its last line's (a label set larger than the small caps after it)
    same_font = min(abs(candidate.size - size), abs(candidate.size - last.size)) <= (
        1.5 if aligned else max(0.5, 0.08 * size)
    )
    # a double-spaced manuscript spreads its captions' lines as far apart as its body lines
    # a second line may sit a little looser than the body's lines; later ones as close as the first two
    rows = sorted(
        {round(lines[member].box.y0, 1): lines[member].box for member in members}.values(), key=lambda b: b.y0
    )
    spacing = [below.y0 - above.y1 for above, below in zip(rows, rows[1:], strict=False)]
    if finishes_sentence(last):
        # a finished sentence: the next block goes on only if it sits tight within the caption's width
        within = (
            box.x0 >= min(lines[m].box.x0 for m in members) - 2
            and box.x1 <= max(lines[m].box.x1 for m in members) + 2
        ) or centred_note(lines, last, candidate)
        # (in a double-spaced manuscript, a caption set apart in size keeps the body's spacing)
        own_size = not in_body_size and aligned
        tight = line_gap + (0.25 if own_size else 0.1) * size
        # (a caption set apart in size, as loosely as its own rows so far)
        own_spacing = max(spacing) + 0.1 * size if spacing and own_size else 0.0
        return within and -reach_up <= gap <= max(0.5 * size, tight, own_spacing) and same_font
    reach = max(spacing) + 0.3 * size if spacing else 0.6 * size
    # a line broken off mid-sentence as wide as the next goes on in it at a double-spaced
    # manuscript's spacing too (where no body text on the pages showed that spacing)
    text = last.text.rstrip()
    broken_off = (text[-1:].isalnum() or text.endswith((",", ";", "(", "-"))) and last.box.x1 >= box.x1 - 2
    # (not in a document whose body is set solid: a caption there is too; a paragraph's space
    # after its last row parts it from the heading or the body text that follows)
    broken_off = broken_off and line_gap >= 0.1 * size
    # (nor when the line under it is a numbered section heading: "2. DISCUSSIONS" opens the body)
    broken_off = broken_off and not numbered_heading(candidate)
    reach = max(reach, 1.25 * size) if broken_off else reach
    # (a row a tall glyph's box reaches down into stands one of the caption's own steps lower)
    steps = [below.y0 - above.y0 for above, below in zip(rows, rows[1:], strict=False)]
    in_step = bool(steps) and abs(box.y0 - last.box.y0 - sorted(steps)[len(steps) // 2]) <= 0.1 * size
    # (a row with a subscript in it stands a little lower still in such a manuscript)
    loose = line_gap + (0.5 if broken_off else 0.25) * size
    return overlaps and (in_step or -reach_up <= gap <= max(reach, loose)) and same_font


def numbered_heading(line: TextLine) -> bool:
    """A section heading with its number: in capitals ("2. DISCUSSIONS") or bold ("3.1 Data")."""
    if SECTION_HEADING.match(line.text) is None:
        return False
    words = line.text.split()[1:]
    letters = "".join(char for char in " ".join(words) if char.isalpha())
    return len(words) <= 8 and len(letters) >= 2 and (letters.isupper() or line.bold_start)


def force_justified_end(last: TextLine, row: Sequence[Box], caption: Box) -> bool:
    """The row is the caption's last line justified to both edges (a word processor's distributed
    alignment): two words from the caption's left edge to its right one, finishing the sentence the
    line above left open ("... using a physical" + "modified           balance.")."""
    return (
        len(row) == 2
        and abs(row[0].x0 - caption.x0) <= 2
        and abs(row[1].x1 - caption.x1) <= 2
        and not finishes_sentence(last)
    )


def evenly_spread(row: Sequence[Box], caption: Box, size: float) -> bool:
    """The row's words (four or more) stand the same stretched space apart and its last one ends at
    the caption's right edge: a justified line with few words, written word by word ("Middle:   Groundwater
    temperature   with   a ..."). A table's cells or a chart's labels are spaced by their columns."""
    if len(row) < 4 or abs(row[-1].x1 - caption.x1) > 2 or row[0].x0 < caption.x0 - 2:
        return False
    gaps = [after.x0 - before.x1 for before, after in zip(row, row[1:], strict=False)]
    return max(gaps) <= 3 * size and max(gaps) - min(gaps) <= 0.1 * size


def evenly_spread_row(lines: Sequence[TextLine], members: list[int], candidate: TextLine) -> bool:
    """The candidate's row, all its pieces within the caption's rows above it, is evenly spread."""
    box = candidate.box
    above = [lines[member].box for member in members if not lines[member].box.shares_row(box)]
    if not above:
        return False
    caption = union_of(above)
    whole_row = sorted((line.box for line in lines if line.box.shares_row(box)), key=lambda piece: piece.x0)
    row = [piece for piece in whole_row if piece.x1 > caption.x0 and piece.x0 < caption.x1]
    if not evenly_spread(row, caption, candidate.size):
        return False
    # (a table's head runs on past a short caption's edge by a column's spacing; the next column's
    # text stands a gutter off)
    spacing = row[1].x0 - row[0].x1
    return not any(0 < piece.x0 - caption.x1 <= 1.5 * spacing for piece in whole_row)


def in_row_of_cells(lines: Sequence[TextLine], members: list[int], cursor: int) -> bool:
    """The line shares its row with another line under the caption, a wide gap apart: table cells
    (a line of the next column shares the row too, but beside the caption, not under it)."""
    box = lines[cursor].box
    caption = union_of(lines[member].box for member in members)
    row = sorted(
        (
            other.box
            for index, other in enumerate(lines)
            if (index == cursor or index not in members)
            and other.box.shares_row(box)
            and other.box.x1 > caption.x0
            and other.box.x0 < caption.x1
        ),
        key=lambda piece: piece.x0,
    )
    if force_justified_end(lines[members[-1]], row, caption) or evenly_spread_row(
        lines, members, lines[cursor]
    ):
        return False
    # the words of one loosely justified line, written apart, follow each other a space apart; a
    # sub- or superscript inside a piece's span (a formula's) leaves no gap of its own
    reach = 1.5 * lines[cursor].size
    covered = row[0].x1 if row else 0.0
    for piece in row[1:]:
        if piece.x0 - covered > reach:
            return True
        covered = max(covered, piece.x1)
    return False


def ends_paragraph(last: TextLine, following: TextLine) -> bool:
    """`last` closes its paragraph: it finishes a sentence well short of the left-aligned line
    after it (the body text that follows a caption set in the body's own font and block)."""
    finished = last.text.rstrip().endswith((".", "!", "?", ".)"))
    left_aligned = abs(following.box.x0 - last.box.x0) <= 3.0
    return finished and left_aligned and last.box.x1 < following.box.x1 - 0.2 * following.box.width
