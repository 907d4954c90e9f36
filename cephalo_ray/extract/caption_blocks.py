"""Caption blocks: where a caption opens (a label) and how far it runs (same font, no paragraph
break, no table row, the next column when it wraps). Pure."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import replace

from cephalo_ray.extract.caption_continuation import (
    continues_caption,
    continues_sentence,
    finishes_sentence,
    inside_drawing,
    numbered_heading,
    overlap_allowed,
    rule_between,
    starts_paragraph,
    widest,
)
from cephalo_ray.extract.captions import (
    ACRONYM_WORDS,
    CAPTION_DELIMITER,
    LABEL_AT_START,
    ORNAMENT,
    CaptionLabel,
    is_continuation,
    is_label_alone,
    join_caption_lines,
    label_at_start,
    parse_caption_start,
    parse_numbered_title,
    without_goes_on_note,
)
from cephalo_ray.extract.geometry import (
    Box,
    Caption,
    TextLine,
    on_one_row,
    union_of,
)
from cephalo_ray.extract.page_text import is_wordy


def opens_caption(
    lines: Sequence[TextLine],
    index: int,
    line_gap: float = 0.0,
    numbered: Collection[str] = (),
    drawings: Sequence[Box] = (),
) -> CaptionLabel | None:
    """The label of the caption that line `index` opens, if it opens a paragraph with one (or, in a
    document numbering its figures alone, with one of those `numbered`). A rule between the line and
    the one above it (a ruled algorithm float's top rule over its caption) parts them: the sentence
    above, "The next pseudo-code does it:", runs on into no label under the rule."""
    line = lines[index]
    if drawings and label_at_start(line.text) is not None:
        above = line_above(lines, index)
        if above is not None and rule_between(above.box, line.box, drawings):
            return parse_caption_start(line.text, label_is_bold=line.bold_start)
    if index > 0 and beside_other_caption(lines[index - 1], line):
        return parse_caption_start(line.text, label_is_bold=line.bold_start)
    if index > 0 and title_before_label(lines, lines[index - 1], line):
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
        # (or under a numbered section heading the PDF wrote into its block: "3.1 Distribution ..."
        # over "Tableau 1. Répartition ...")
        bold_caption = (
            line.bold_start
            and (not previous.bold_start or numbered_heading(previous))
            and ended
            and parse_caption_start(line.text) is not None
        )
        resized = abs(previous.size - line.size) >= 1.5 and len(previous.text.strip()) > 3
        if not (heading or bold_caption or resized):
            return None
    above = line_above(lines, index)
    if (
        above is not None
        and not numbered_heading(above)
        and continues_sentence(above, line, max(line_gap, paragraph_spacing(lines, above)))
    ):
        return None  # "... as shown in" + "Fig. 9. For larger ...": a sentence citing a figure
    label = parse_caption_start(line.text, label_is_bold=line.bold_start)
    if label is not None and not line.bold_start and first_row_set_in(lines, index):
        opening = label_at_start(line.text)
        if opening is not None and CAPTION_DELIMITER.match(opening["rest"]) is None:
            return None  # "图3.9 给出了探测器速度变化的仿真曲线，..." set in: a paragraph citing it
    if label is not None or not numbered:
        return label
    # (a number standing alone opens a caption only with its title beside it on the row)
    titled = NUMBER_ALONE.match(line.text) is None or any(
        other.box.shares_row(line.box)
        and 0 <= other.box.x0 - line.box.x1 <= 3 * line.size
        and any(char.isalpha() for char in other.text)
        for other in lines
    )
    return parse_numbered_title(line.text, numbered) if titled else None


def first_row_set_in(lines: Sequence[TextLine], index: int) -> bool:
    """The line is a paragraph's first row, set in from the next row by an em to three and running
    out as far, in the same size and at a line's spacing over it."""
    line = lines[index]
    under = [
        other
        for other in lines
        if other.box.horizontal_overlap(line.box) > 0 and 0 <= other.box.y0 - line.box.y1 <= line.size
    ]
    if not under:
        return False
    below = min(under, key=lambda other: other.box.y0)
    return (
        0.8 * line.size <= line.box.x0 - below.box.x0 <= 3 * line.size
        and abs(line.box.x1 - below.box.x1) <= 2
        and abs(line.size - below.size) <= 0.5
    )


def paragraph_spacing(lines: Sequence[TextLine], line: TextLine) -> float:
    """The white between this line and the one over it where both are full rows of one paragraph
    (same size, flush, as wide), else nothing: a paragraph set looser than the page's usual spacing
    still runs on at its own."""
    index = next(number for number, other in enumerate(lines) if other is line)
    above = line_above(lines, index)
    if above is None or abs(above.size - line.size) > 0.3 or abs(above.box.x0 - line.box.x0) > 3.0:
        return 0.0
    if abs(above.box.x1 - line.box.x1) > 3.0 or line.box.horizontal_overlap(above.box) <= 0:
        return 0.0
    white = max(line.box.y0 - above.box.y1, 0.0)
    # (rows further apart than a double-spaced paragraph's are no paragraph's: two captions as wide)
    return white if white <= 2 * line.size else 0.0


def title_before_label(lines: Sequence[TextLine], previous: TextLine, line: TextLine) -> bool:
    """The line is a label alone ending a row whose title stands before it in the label's face
    ("Protein and energy requirement ...      Table 8.3", as a training manual heads its tables), or
    in a display size larger than the label's, written in one block with it ("Fast payments are
    rising rapidly ...      Graph 1", as a central bank's review heads its charts)."""
    same_face = (
        abs(previous.size - line.size) <= 1.0
        and (previous.bold_start, previous.italic) == (line.bold_start, line.italic)
        and (line.bold_start or line.italic)  # (set apart from the body, which runs upright)
    )
    display_title = previous.block == line.block and previous.size >= line.size + 1.5
    return (
        is_label_alone(line.text)
        and previous.box.shares_row(line.box)
        and previous.box.x1 < line.box.x0
        and (same_face or display_title)
        and len(previous.text.split()) >= 2
        and any(char.isalpha() for char in previous.text)
        and parse_caption_start(previous.text, label_is_bold=previous.bold_start) is None
        # (alone with its title on the row: nothing after the label, nothing between them)
        and not any(
            other.box.shares_row(line.box)
            and (other.box.x0 > line.box.x1 or previous.box.x1 < other.box.center_x < line.box.x0)
            for other in lines
        )
    )


def title_rows_above(lines: Sequence[TextLine], title: int, taken: Collection[int]) -> list[int]:
    """The rows of a title set before its label that stand over the label's row, in the title's
    face and at its left edge, row under row."""
    found: list[int] = []
    top = lines[title]
    while True:
        above = [
            other
            for other, line in enumerate(lines)
            if other not in taken
            and other != title
            and other not in found
            and (line.italic, line.bold_start) == (top.italic, top.bold_start)
            and abs(line.size - top.size) <= 0.5
            and abs(line.box.x0 - top.box.x0) <= 3
            and -0.25 * line.size <= top.box.y0 - line.box.y1 <= 0.6 * line.size
        ]
        if not above:
            return found
        found.append(above[0])
        top = lines[above[0]]


NUMBER_ALONE = re.compile(r"^\s*[A-Z]?\d{1,3}\.\s*$")
# what may follow a label standing alone as a caption: at most a footnote's call ("Figure 3 14")
NOTE_CALL_ALONE = re.compile(r"^[\s\u200b]*(?:\d{1,3}[\s\u200b]*)?$")


def line_above(lines: Sequence[TextLine], index: int) -> TextLine | None:
    """The line printed right above this one in its column: the line before it, unless the PDF wrote
    the page's two columns row by row (the other column's line comes between)."""
    line = lines[index]
    if index > 0 and lines[index - 1].box.horizontal_overlap(line.box) > 0:
        return lines[index - 1]
    over = [
        other
        for other in lines[:index]
        if other.box.horizontal_overlap(line.box) > 0 and other.box.y1 <= line.box.y0 + 1
    ]
    if not over:
        return lines[index - 1] if index > 0 else None
    return max(over, key=lambda other: other.box.y1)


def amid_rows_of_cells(lines: Sequence[TextLine], label: TextLine) -> bool:
    """A table's label alone on its row, with a row of cells tight above it and another tight under
    it: a row heading inside a table ("Table 4" over the rows of a summary table that describe the
    variables of Table 4), not a caption; a caption stands off from the rows of any table beside it."""
    parsed = parse_caption_start(label.text)
    if not is_label_alone(label.text) or parsed is None or parsed.kind != "table":
        return False
    reach = 0.8 * label.size

    def in_row_of_cells(line: TextLine) -> bool:
        # (three pieces at least, two columns of prose make rows of two; running over and under
        # the label, not beside it as a table beside its caption in the margin)
        row = [other.box for other in lines if other is not label and other.box.shares_row(line.box)]
        if line is label or len(row) < 3:
            return False
        return min(box.x0 for box in row) < label.box.center_x < max(box.x1 for box in row)

    above = any(
        in_row_of_cells(line) and -overlap_allowed(line.box, label.box) <= label.box.y0 - line.box.y1 <= reach
        for line in lines
    )
    below = any(
        in_row_of_cells(line) and -overlap_allowed(label.box, line.box) <= line.box.y0 - label.box.y1 <= reach
        for line in lines
    )
    return above and below


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
    # carries in front of it; or, from the margin, the label with nothing after it but a note's
    # call, "Figure 3 14" under the left one of two pictures side by side, as Google Docs sets it)
    clear_of_edges = box.x0 > left + 2 * line.size and box.x1 < right - 2 * line.size
    bare_label = NOTE_CALL_ALONE.match(match["rest"]) is not None and box.x1 < right - 2 * line.size
    near = [drawing for drawing in drawings if drawing.horizontal_overlap(box) > 0]
    over = any(-0.3 * line.size <= box.y0 - drawing.y1 <= 2 * line.size for drawing in near)
    under = any(-0.3 * line.size <= drawing.y0 - box.y1 <= 2 * line.size for drawing in near)
    # (right over one drawing or right under one; between two it is a table's cell between rules)
    touching = over != under
    return (
        parse_caption_start(line.text, label_is_bold=True)
        if (clear_of_edges or bare_label) and touching
        else None
    )


def beside_other_caption(previous: TextLine, line: TextLine) -> bool:
    """The line opens another item's caption right after one on the same row: two figures side by
    side, each caption under its own ("Figure 3.2: ..." and "Figure 3.3: ..." a few points apart)."""
    if not previous.box.shares_row(line.box) or line.box.x0 < previous.box.x1 - 1:
        return False
    ours = parse_caption_start(line.text, label_is_bold=line.bold_start)
    theirs = parse_caption_start(previous.text, label_is_bold=previous.bold_start)
    return ours is not None and theirs is not None and ours != theirs


# a dot leader running to a page number: a line of a table of contents or list of figures
CONTENTS_LEADER = re.compile(r"(?:\.\s?){5,}\s*(?:\d+|[ivxlc]+)\s*$|…\s*\d+\s*$", re.IGNORECASE)


def find_captions(
    lines: Sequence[TextLine],
    drawings: Sequence[Box] = (),
    body_size: float | None = None,
    line_gap: float = 0.0,
    numbered: Collection[str] = (),
) -> list[Caption]:
    """Caption blocks: a block that opens with a label, plus the lines after it in the same block and
    the blocks right below it in the same font size, stopping at lines inside a drawing."""
    captions: list[Caption] = []
    taken: set[int] = set()
    for index, line in enumerate(lines):
        if index in taken:
            continue
        label = opens_caption(lines, index, line_gap, numbered, drawings) or set_apart_by_drawing(
            lines, index, drawings, line_gap
        )
        if label is None or amid_rows_of_cells(lines, line):
            continue
        members = [index]
        # (a title set before its label on the row: the caption reads label first)
        titles = [
            other
            for other, before in enumerate(lines)
            if other != index and other not in taken and title_before_label(lines, before, line)
        ]
        titled = bool(titles)
        if titled:
            title = max(titles, key=lambda other: lines[other].box.x1)
            members += [title, *title_rows_above(lines, title, taken)]
        riders: list[int] = []  # lone symbols of a formula (primes, accents), placed by their row
        cursor = legend_start_under_label(lines, index)
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
            if cursor in members:
                pass  # (a title set before its label, written after it)
            elif rides_on_caption(lines, members, cursor):
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
            earlier = next_row_written_elsewhere(
                lines, members, taken | set(riders), drawings, line_gap, body_size
            )
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
        arranged = in_turned_rows if line.turn and is_turned(line) else in_printed_rows
        ordered = arranged(lines, members) + in_printed_rows(lines, carried)
        if titled:
            ordered = [index, *(member for member in ordered if member != index)]
        if CONTENTS_LEADER.search(" ".join(lines[member].text for member in ordered[:4])):
            continue  # (the entry's title, leader and page written as pieces of their own)
        # (an ornament the PDF wrote twice, once on its own, is no word of the caption)
        words = [lines[member].text for member in ordered if ORNAMENT.sub("", lines[member].text).strip()]
        text = without_goes_on_note(ORNAMENT.sub("", join_caption_lines(words)))
        captions.append(Caption(box, label, text, tuple(ordered), line.bold_start))
        taken.update(members + carried)
    return without_bold_citations(without_stacked_labels(captions, lines))


def without_stacked_labels(captions: list[Caption], lines: Sequence[TextLine]) -> list[Caption]:
    """Captions of one row each, three or more stacked flush left at the lines' pitch, are a table's
    column of labels ("Figure 6  No  90% CIs shown" over "Figure 7" over "Figure A5"), or a list
    of items: no caption opens every row of a column."""
    labelled = [line.box for line in lines if LABEL_AT_START.match(line.text)]

    def stacked(caption: Caption) -> bool:
        first = lines[caption.lines[0]].box
        if not all(lines[index].box.shares_row(first) for index in caption.lines):
            return False
        column = [
            box
            for box in labelled
            if abs(box.x0 - first.x0) <= 1.0 and abs(box.y0 - first.y0) <= 2.5 * first.height
        ]
        return len(column) >= 3

    return [caption for caption in captions if not stacked(caption)]


def legend_start_under_label(lines: Sequence[TextLine], index: int) -> int:
    """Where the caption goes on after its opening line: the next line, or, under a label alone on
    its row and centred over a legend set in two columns, the left column's first row however late
    the PDF wrote it (the right column's rows then join as the column beside)."""
    label = lines[index]
    if not is_label_alone(label.text) or any(
        other is not label and other.box.shares_row(label.box) for other in lines
    ):
        return index + 1
    under = [
        other
        for other, line in enumerate(lines)
        if other > index and 0 <= line.box.y0 - label.box.y1 <= 1.5 * label.size
    ]
    row = [other for other in under if lines[other].box.shares_row(lines[under[0]].box)] if under else []
    left = [other for other in row if lines[other].box.x1 < label.box.center_x]
    right = [other for other in row if lines[other].box.x0 > label.box.center_x]
    if len(left) != 1 or not right or len(left) + len(right) != len(row):
        return index + 1
    return left[0]


def next_row_written_elsewhere(
    lines: Sequence[TextLine],
    members: list[int],
    taken: Collection[int],
    drawings: Sequence[Box],
    line_gap: float,
    body_size: float | None,
) -> int | None:
    """The caption's next row where the PDF wrote it out of order (a turned page's caption whose
    short last row came first in the text layer, a centred caption's last word written after the
    next column): right under the last row, from the caption's left edge or centred under it, and
    reading on from it as a row written in order would (or hanging under the first row's words,
    past its label, as a caption beside prose in a Word report is set)."""
    last = lines[members[-1]]
    left = min(lines[member].box.x0 for member in members)
    centre = union_of(lines[member].box for member in members).center_x
    size = lines[members[0]].size

    def hangs(box: Box) -> bool:
        return len(members) == 1 and 1.5 * size <= box.x0 - left <= 6 * size and box.x1 <= last.box.x1 + 2

    for index in range(len(lines)):
        box = lines[index].box
        if (
            index not in taken
            and index not in members
            and (
                abs(box.x0 - left) <= 2.0
                or (index > members[-1] and (abs(box.center_x - centre) <= 2.0 or hangs(box)))
            )
            and -overlap_allowed(last.box, box)
            <= box.y0 - last.box.y1
            <= max(0.8 * last.size, line_gap + 0.5 * last.size)
            and continues_caption(lines, members, index, drawings, line_gap, body_size)
            # (with no line between: one it skipped (a note under the legend) ended the caption)
            and not any(
                last.box.y1 <= other.box.center_y <= box.y0 and other.box.horizontal_overlap(box) > 0
                for other in lines
            )
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
    """Set vertically (a caption of a table turned on its side): far taller than wide, and long
    or read as turned (a label in small capitals, its title written apart: "TABLE 2.")."""
    return line.box.height > 2 * line.box.width and (len(line.text) > 8 or line.turn != 0)


def continues_turned_caption(
    lines: Sequence[TextLine], members: Sequence[int], cursor: int, drawings: Sequence[Box] = ()
) -> bool:
    """The next line of a turned caption: turned too, in its size, starting level with it and
    beside it at line spacing, with no rule between (its rows read sideways, so rows of cells must
    not join it, nor the table's header beyond its head rule)."""
    last, candidate = lines[members[-1]], lines[cursor]
    if candidate.box.height <= 2 * candidate.box.width:
        return False
    if on_one_turned_row(last, candidate):
        return True  # (its title written apart from a label in small capitals, end to end with it)
    # (in the size of one of its pieces so far: a row may end in a piece set smaller, "or σ2")
    if not any(abs(candidate.size - lines[member].size) <= 0.5 for member in members):
        return False
    near, far = sorted((last.box, candidate.box), key=lambda box: box.x0)
    if any(
        drawing.width <= 3
        and near.x1 - 1 <= drawing.center_x <= far.x0 + 1
        and drawing.vertical_overlap(candidate.box) > 0
        for drawing in drawings
    ):
        return False
    # (level with the last row as a whole: its label and title may be pieces written apart)
    row = union_of(
        lines[member].box
        for member in members
        if lines[member].box.horizontal_overlap(last.box)
        >= 0.5 * min(lines[member].box.width, last.box.width)
    )
    # (or centred on it: a label centred over its title, as a landscape page sets them)
    level = (
        abs(candidate.box.y1 - row.y1) <= 3.0
        or abs(candidate.box.y0 - row.y0) <= 3.0
        or abs(candidate.box.center_y - row.center_y) <= 3.0
    )
    apart = max(candidate.box.x0 - last.box.x1, last.box.x0 - candidate.box.x1)
    return level and -0.5 * last.size <= apart <= 0.8 * last.size


def on_one_turned_row(last: TextLine, candidate: TextLine) -> bool:
    """Two pieces of one row set on its side, written apart: turned alike, abreast across the row's
    thickness, end to end along it, whatever their sizes."""
    across = min(last.box.x1, candidate.box.x1) - max(last.box.x0, candidate.box.x0)
    along = max(candidate.box.y0 - last.box.y1, last.box.y0 - candidate.box.y1)
    return (
        candidate.turn == last.turn != 0
        and across >= 0.7 * min(last.box.width, candidate.box.width)
        and -1.0 <= along <= 1.5 * max(last.size, candidate.size)
    )


def in_turned_rows(lines: Sequence[TextLine], members: Sequence[int]) -> list[int]:
    """A turned caption's lines in the order they read: rows from the page's left for a caption
    reading upwards (from its right reading downwards), each row's pieces from its start."""
    turn = lines[members[0]].turn
    rows: list[list[int]] = []
    for member in sorted(members, key=lambda member: lines[member].box.center_x * turn):
        box = lines[member].box
        row = next(
            (row for row in rows if lines[row[0]].box.horizontal_overlap(box) >= 0.5 * box.width), None
        )
        if row is None:
            rows.append([member])
        else:
            row.append(member)
    return [member for row in rows for member in sorted(row, key=lambda member: -lines[member].box.y0 * turn)]


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
    if any(
        drawing.y0 >= last.box.y1 - 1
        and drawing.horizontal_overlap(box) > 0
        and drawing.height >= 2 * last.size
        for drawing in drawings
    ):
        return []  # its figure (or table) is drawn below it: a caption set over its item
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
    if not any(char.isalpha() for char in first.text):
        return []  # a bare number heading the next column is a chart's tick, no caption's words
    if any(
        drawing.horizontal_overlap(first.box) > 0
        and -1 <= first.box.y0 - drawing.y1 <= 1.5 * first.box.height
        for drawing in drawings
    ) or inside_drawing(first.box, drawings):
        return []  # a chart's label, in or under its drawing, is no next column's head
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
    top = first.box
    if is_turned(first) or last.text.rstrip().endswith((".", "!", "?", ":")):
        return []
    if len(members) > 1 and is_label_alone(first.text):
        # (a label alone over the legend: its columns start under it, the label may reach past them)
        first = lines[members[1]]
        box = union_of(lines[member].box for member in members[1:])
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
        and (0 <= top.y0 - drawing.y1 <= 3 * size or 0 <= drawing.y0 - last.box.y1 <= 3 * size)
        for drawing in drawings
    )
    return right if spanning else []
