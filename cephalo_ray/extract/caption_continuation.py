"""Whether a caption goes on: the line-by-line rules that decide if the next line still belongs to
the caption above it (same font, no paragraph break, no table row, no body text or note after it).
Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from cephalo_ray.extract.captions import (
    is_label_alone,
    label_language,
    names_source,
    parse_caption_start,
    text_language,
)
from cephalo_ray.extract.geometry import RULE_THICKNESS, Box, TextLine, edge_gap, union_of
from cephalo_ray.extract.page_text import SECTION_HEADING, TICK, is_wordy


def continues_sentence(previous: TextLine, line: TextLine, line_gap: float) -> bool:
    """The line goes on with the unfinished sentence of the line just above it: a full line of the
    same paragraph (same size, aligned, as wide, at the paragraph's spacing), whatever block the PDF
    put each line in."""
    above = previous.box.horizontal_overlap(line.box) > 0
    gap = line.box.y0 - previous.box.y1
    # (lines set with math in them have boxes taller than their leading: they may overlap a little)
    close = -max(1.0, 0.3 * line.size) <= gap <= max(line_gap, 0.0) + 0.25 * line.size
    # (or the paragraph's first row, indented, over its second: "... is shown in" + "Figure 1a. The")
    indent = previous.box.x0 - line.box.x0
    first_row = 3.0 < indent <= 3 * line.size and previous.box.x1 >= line.box.x1 - 6.0
    aligned = (abs(indent) <= 3.0 or first_row) and previous.box.width >= 0.9 * line.box.width
    same_size = abs(previous.size - line.size) <= 0.3
    unfinished = previous.text.rstrip()[-1:].isalnum() or previous.text.rstrip().endswith((",", ";"))
    return above and close and aligned and same_size and unfinished and not previous.bold_start


def widest(lines: Sequence[TextLine], row: Sequence[int]) -> Box:
    return max((lines[member].box for member in row), key=lambda box: box.width)


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
    r"|(?-i:Notes?|NOTES?)\s*:)",
    re.IGNORECASE,
)


# a source cited in parentheses, author and year ("(Jähne, 2012, S. 303)", "(Burger & Burge 2015)",
# "(nach Smith et al., 1999a)"), as a caption set in bold closes on in the upright face
CITED_SOURCE = re.compile(
    r"\((?=[^()]*(\b[A-ZÀ-ÖØ-ÞА-ЯЁ][\w'’-]*|\bal\.)[,\s]+(1[6-9]|20)\d\d[a-z]?\b(?!\s*=))[^()]*\)\.?"
)

# a list item's bullet: the round and square ones, and Word's from the Symbol and Wingdings faces
# (U+F0B7, U+F0A7, U+F0D8, U+F076, U+F0FC where the face maps them to the private use area, a
# middle dot where it maps nothing and the reader takes the Symbol code's Latin-1 character)
LIST_BULLET = re.compile(
    r"^\s*(?:[\u2022\u2023\u25aa\u25cf\u25e6\u2043\uf0b7\uf0a7\uf0d8\uf076\uf0fc]|\u00b7(?=\s))"
)

# the figure's key set as a paragraph of its caption ("Legend: Sites highlighted in yellow ...")
KEY_OPENER = re.compile(r"^\s*(?:Legend|Key|Légende|Legende|Leyenda)\s*:")

LISTING_LABELS = ("Listing", "Algorithm", "Pseudocode", "Procedure", "Program")


def listing_caption(lines: Sequence[TextLine], members: list[int]) -> bool:
    """The caption is a code listing's, its own rows set in no typewriter face: a row of code under
    it starts the listing (a caption may break before a URL set in that face, as its last row)."""
    label = parse_caption_start(lines[members[0]].text)
    return (
        label is not None
        and label.label.startswith(LISTING_LABELS)
        and not any(lines[member].mono for member in members)
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
    if candidate.mono and listing_caption(lines, members):
        return False  # a listing's first row of code under its caption
    ruled_off = rule_between(last.box, candidate.box, drawings)
    if ruled_off and not legend_under_ruled_label(lines, members, candidate, body_size):
        return False  # an algorithm's or a table's head ends the caption
    if candidate.box.shares_row(last.box) and not row_under_tall_glyph(last, candidate):
        return piece_of_same_row(lines, members, candidate)
    if translated_caption(lines, members, candidate, line_gap):
        return True
    if bracketed_headnote(lines, members, candidate, line_gap) or descriptive_headnote(
        lines, members, candidate, body_size
    ):
        return True
    if AFTER_LEGEND.match(candidate.text) or names_source(candidate.text):
        return False  # a legend's DOI, its "continued on next page", its notes or its sources
    if LIST_BULLET.match(candidate.text) and not any(LIST_BULLET.match(lines[m].text) for m in members):
        return False  # a list's first item under the caption, the text's (no caption opened a list)
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
    opened = parse_caption_start(last.text) if label_alone else None
    if (
        opened is not None
        and opened.kind == "figure"
        and in_body_size
        and body_size is not None
        and body_size - last.size >= 0.8
        and abs(candidate.box.x0 - last.box.x0) > 2 * last.size
        and not candidate.bold_start
        and is_wordy(candidate.text, 4)
        and not title_centred_under_label(lines, last, candidate)
    ):
        # (a figure's label alone in the captions' smaller size, centred under its picture: a line
        # in the body's size, not flush with it, is the text resuming; a table's title may run
        # across the page under its label centred over it)
        return False
    if not in_body_size and smaller_legend_under_title(lines, members, candidate):
        return True  # (however short its title's last row ended)
    if body_text_after_caption(lines, members, candidate, line_gap) or unit_under_bold_title(
        lines, members, candidate
    ):
        return False
    # (a caption set apart from the body's size, one row ended well short of the line under it or
    # rows all in bold over a line that is not, and under it a line of words in the body's size:
    # the body text resumes in the caption's block)
    ended_short = len(members) == 1 and last.box.x1 < candidate.box.x1 - 0.3 * candidate.box.width
    bold_rows = all(lines[member].bold for member in members) and not candidate.bold_start
    if (
        in_body_size
        and body_size is not None
        and abs(last.size - body_size) >= 0.8
        and not label_alone
        and (ended_short or bold_rows)
        and is_wordy(candidate.text, 4)
    ):
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
        if numbered_heading(candidate) and (
            candidate.bold_start != last.bold_start or candidate.size >= last.size + 1.0
        ):
            return False  # the next section's numbered heading under a caption that is its label alone
        # (a title in a caption font of its own may stand further off under a label set apart; so may
        # a title in plain italics under a bold label, as APA's style sets them a blank line apart,
        # and a bold title centred under a bold label, as a Word paper's float heads are set)
        own_font = not in_body_size or (candidate.italic and not candidate.bold_start and not last.italic)
        # (or a title centred under a label set a point or more smaller, in small capitals, as a
        # university press sets "FIGURE II" over its title)
        centred_head = (
            (last.bold_start and candidate.bold_start) or candidate.size - last.size >= 1.0
        ) and title_centred_under_label(lines, last, candidate)
        # (a label ruled off from its legend stands as far from it as the rule takes)
        set_apart = ruled_off or ((own_font or centred_head) and alone_on_its_row(lines, last))
        return (
            text_under_label(last, candidate, line_gap, set_apart)
            or title_under_label_set_right(lines, last, candidate)
            or title_promised_by_colon(lines, last, candidate)
        )
    if heads_axis(lines, candidate) or in_row_of_labels(lines, members, candidate):
        return False  # a chart's axis unit over its tick labels ("1000 Mboe" over "900"), or its bar labels
    if not in_body_size and legend_under_title(lines, members, candidate):
        return True
    if key_under_title(lines, members, candidate):
        return True
    if hanging_rows(lines, members, cursor):
        return True
    return next_row_of_caption(lines, members, candidate, line_gap, in_body_size) or double_spaced_run_on(
        lines, members, cursor
    )


def hanging_rows(lines: Sequence[TextLine], members: list[int], cursor: int) -> bool:
    """The caption is set with a hanging indent: its first row starts at the label, the rows under
    it start further in (past the label), and this row and the one under it both start there, one
    under the other, tight under the caption ("Table 1. Sample sizes ... analyses." over "Region:
    WA = ..." and "Highways include ..."). A paragraph indents its first row only."""
    first = lines[members[0]]
    last = lines[members[-1]]
    candidate = lines[cursor]
    if cursor + 1 >= len(lines) or not 1.5 * first.size <= candidate.box.x0 - first.box.x0 <= 6 * first.size:
        return False
    after = lines[cursor + 1]
    indent = candidate.box.x0
    rows_so_far = [lines[member] for member in members[1:]]
    tight = 0.5 * first.size
    return (
        all(abs(row.box.x0 - indent) <= 2.0 for row in rows_so_far)
        and abs(after.box.x0 - indent) <= 2.0
        and all(abs(line.size - first.size) <= 0.3 for line in (candidate, after))
        and -overlap_allowed(last.box, candidate.box) <= candidate.box.y0 - last.box.y1 <= tight
        and -overlap_allowed(candidate.box, after.box) <= after.box.y0 - candidate.box.y1 <= tight
    )


def legend_under_title(lines: Sequence[TextLine], members: list[int], candidate: TextLine) -> bool:
    """A figure's caption in a small font of its own is a title under a bold label, set off by up to
    a blank line from its legend's first paragraph ("Figure 2. Distribution of DH Sites." over "(A)
    The y axis shows ..."): a line of running words in the title's size at the label's left edge."""
    label = lines[members[0]]
    last = lines[members[-1]]
    opened = parse_caption_start(label.text, label_is_bold=label.bold_start)
    gap = candidate.box.y0 - last.box.y1
    return (
        opened is not None
        and opened.kind == "figure"
        and label.bold_start
        and finishes_sentence(last)
        and abs(candidate.size - last.size) <= 0.3
        and abs(candidate.box.x0 - label.box.x0) <= 3.0
        and 0.0 <= gap <= 1.5 * last.size
        and is_wordy(candidate.text)
    )


def smaller_legend_under_title(lines: Sequence[TextLine], members: list[int], candidate: TextLine) -> bool:
    """A legend set a point or so smaller than its caption's title, right under it, its first row
    flush with the label or set in by an em ("Fig. 1. Effects of ASX-O on MBP in SHR" over "Each
    data point represents the mean ± S.E.M."), as pharmaceutical journals set them: a paragraph of
    running words."""
    label = lines[members[0]]
    last = lines[members[-1]]
    gap = candidate.box.y0 - last.box.y1
    return (
        all(lines[m].size - candidate.size >= 0.5 for m in members)
        and last.size - candidate.size <= 1.5
        and 0.0 <= candidate.box.x0 - label.box.x0 <= 2 * last.size
        and -overlap_allowed(last.box, candidate.box) <= gap <= 0.6 * last.size
        and is_wordy(candidate.text)
    )


def key_under_title(lines: Sequence[TextLine], members: list[int], candidate: TextLine) -> bool:
    """A paragraph opening "Legend:" or "Key:" in the caption's size at its left edge, up to a blank
    line under it: the figure's key, part of its caption (a technical study's margin captions)."""
    last = lines[members[-1]]
    gap = candidate.box.y0 - last.box.y1
    return (
        KEY_OPENER.match(candidate.text) is not None
        and abs(candidate.size - last.size) <= 0.3
        and abs(candidate.box.x0 - lines[members[0]].box.x0) <= 3.0
        and -overlap_allowed(last.box, candidate.box) <= gap <= 1.5 * last.size
    )


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
    (a magazine's table panel: "Table 2." over a rule over "Frequency of cosmetic issues ..."), or
    from a bold title centred under it; a table's or an algorithm's head under a rule is no prose,
    and a table's cells are set smaller."""
    label = lines[members[-1]]
    if len(members) != 1 or not is_label_alone(label.text):
        return False
    # (a margin column's legend runs a few words a line: flush with the label and not much wider,
    # where a table's head row spreads across the table)
    narrow_legend = (
        is_wordy(candidate.text, 3)
        and abs(candidate.box.x0 - label.box.x0) <= 2.0
        and candidate.box.width <= 3 * label.box.width
    )
    legend = abs(candidate.size - label.size) <= 0.5 and (is_wordy(candidate.text, 8) or narrow_legend)
    title = (
        body_size is not None
        and body_size - 0.25 <= candidate.size <= label.size + 0.5
        and label.size - candidate.size <= 1.5
        and is_wordy(candidate.text, 4)
    )
    # (or a report's exhibit head: the label centred on a band of its own over a band holding the
    # bold title, centred too and set larger than the label)
    centred_title = (
        candidate.bold_start
        and abs(candidate.box.center_x - label.box.center_x) <= 0.05 * candidate.box.width + 2.0
        and candidate.size >= label.size - 1.5
        and is_wordy(candidate.text, 2)
    )
    return legend or title or centred_title


def row_under_tall_glyph(last: TextLine, candidate: TextLine) -> bool:
    """The line seems to share the last row only because a tall glyph (a root sign, a big bracket)
    stretches its box upwards: it lies under the row, not beside it, and ends a row's depth lower
    (pieces of one row sit side by side; a script under the row is no run of words)."""
    return (
        candidate.box.horizontal_overlap(last.box) > 0.5 * min(candidate.box.width, last.box.width)
        and candidate.box.y1 - last.box.y1 >= 0.6 * last.size
        and is_wordy(candidate.text, 3)
    )


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
    # (a line of the next column a narrow gutter away, set on the body's baselines, stands off the
    # row by half a line, top and bottom alike; a row's pieces in one size share its baseline, and
    # a script or a tall symbol moves only one of its edges)
    ender = max((lines[m] for m in members if lines[m].box.shares_row(box)), key=lambda line: line.box.x1)
    shift_top, shift_bottom = box.y0 - ender.box.y0, box.y1 - ender.box.y1
    if (
        abs(candidate.size - ender.size) <= 0.3
        and min(abs(shift_top), abs(shift_bottom)) > 0.3 * ender.size
        and shift_top * shift_bottom > 0
    ):
        return False
    # (a line of a paragraph set beside the figure, level with the caption's row, goes on from the
    # line of that paragraph right over it, from the same left edge; a piece of the caption's row
    # has no such line over it; the title after a label alone may stand under the one before, as
    # a list of figures sets them)
    own = [lines[m] for m in members]
    if not (len(members) == 1 and is_label_alone(last.text)) and any(
        other is not candidate
        and all(other is not line for line in own)
        and abs(other.box.x0 - box.x0) <= 2.0
        and abs(other.size - candidate.size) <= 0.5
        and -0.3 * candidate.size <= box.y0 - other.box.y1 <= 0.8 * candidate.size
        for other in lines
    ):
        return False
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


# a headnote naming its own item: "This table reports ..." (finance and economics journals set a
# paragraph under the title) or its key, "Légendes : Nombre de reads - ...", set between title and item
HEADNOTE_START = re.compile(
    r"^\s*(?:This (?:table|figure|exhibit|chart)\b|(?:L[ée]gendes?|Legends?|Leyendas?|Legenda)\s*:)",
    re.IGNORECASE,
)
# "The figure displays ...", as working papers set it: a weaker sign, taken only at the caption's
# own spacing
DESCRIBED_ITEM = re.compile(
    r"^\s*The (?:table|figure|exhibit|chart|graph|plot|map|heat ?map|panel)s? (?:displays?|shows?|reports?"
    r"|presents?|plots?|depicts?|illustrates?|summari[sz]es?|lists?)\b",
    re.IGNORECASE,
)


def descriptive_headnote(
    lines: Sequence[TextLine], members: list[int], candidate: TextLine, body_size: float | None = None
) -> bool:
    """A paragraph describing the item ("This table reports ...", or its key, "Légendes : ...") right
    under the caption's title: part of the caption, whatever its size, unless it is the body's paragraph after a caption set
    apart in size ("This figure shows that ..." under a smaller caption)."""
    last = lines[members[-1]]
    this_item = HEADNOTE_START.match(candidate.text) is not None
    if (
        not (this_item or DESCRIBED_ITEM.match(candidate.text))
        or candidate.box.horizontal_overlap(last.box) <= 0
    ):
        return False
    if body_size is not None and abs(candidate.size - body_size) <= 0.5 <= abs(last.size - body_size) - 0.5:
        return False
    return -2.5 <= candidate.box.y0 - last.box.y1 <= (1.5 if this_item else 0.8) * last.size


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


def unit_under_bold_title(lines: Sequence[TextLine], members: list[int], candidate: TextLine) -> bool:
    """A short line in the caption's size but not in its bold, under a caption set bold throughout,
    label and title: the item's unit or axis title over it ("Annual log change × 100" under
    "Table 1. Changes in the College Wage Premium ..."), not a legend, which runs in full rows."""
    caption = union_of(lines[member].box for member in members)
    return (
        all(lines[member].bold for member in members)
        and not candidate.bold
        and not candidate.bold_start
        and abs(candidate.size - lines[members[-1]].size) <= 0.5
        and candidate.box.width < 0.5 * caption.width
        and not finishes_sentence(candidate)
        and not CITED_SOURCE.fullmatch(candidate.text.strip())
    )


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
    # a caption set in italics whose sentence has ended, then an upright line at its left edge
    # further below than the caption's own rows are apart: the body resumes
    italic = all(lines[member].italic for member in members)
    rows = sorted(
        {lines[member].box.y0: lines[member].box for member in members}.values(), key=lambda b: b.y0
    )
    own_gap = min(
        (lower.y0 - upper.y1 for upper, lower in zip(rows, rows[1:], strict=False)), default=line_gap
    )
    apart = box.y0 - last.box.y1 > max(own_gap, 0.0) + 0.3 * last.size
    if italic and not candidate.italic and finishes_sentence(last) and apart and abs(box.x0 - first.x0) <= 3:
        return True
    # (or an upright line that opens an indented paragraph, however the caption's sentence ended)
    if italic and not candidate.italic and opens_indented_paragraph(lines, candidate):
        return True
    return left_room_unused(lines, members, candidate)


def opens_indented_paragraph(lines: Sequence[TextLine], candidate: TextLine) -> bool:
    """The line is a paragraph's first: wordy, set in by an em to four from the line under it in its
    block, which starts the paragraph's left edge, and running out as far right as that line."""
    under = [
        line
        for line in lines
        if line.block == candidate.block
        and line.box.horizontal_overlap(candidate.box) > 0
        and 0 <= line.box.y0 - candidate.box.y1 <= candidate.size
    ]
    if not under or not is_wordy(candidate.text, 6):
        return False
    below = min(under, key=lambda line: line.box.y0)
    indent = candidate.box.x0 - below.box.x0
    return (
        candidate.size <= indent <= 4 * candidate.size and candidate.box.x1 >= below.box.x1 - candidate.size
    )


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
    # (but a row in bold in the bold caption's own block is its next: a first row set in, as a
    # paragraph's, over a last row ending short)
    own_next_row = candidate.block == last.block and last.bold and candidate.bold
    set_before = box.x0 < row.x0 - 2 * em and box.x1 < row.x1 - 2 * em and not own_next_row
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


def title_centred_under_label(lines: Sequence[TextLine], label: TextLine, candidate: TextLine) -> bool:
    """The line stands alone on its row, centred under the label (within two points) and set in from
    both ends of a line near it (a centred title, not a row of prose filling the column)."""
    inset = 2 * candidate.size
    return (
        abs(candidate.box.center_x - label.box.center_x) <= 2.0
        and alone_on_its_row(lines, candidate)
        and any(
            line.box.x0 <= candidate.box.x0 - inset
            and line.box.x1 >= candidate.box.x1 + inset
            and abs(line.box.center_y - candidate.box.center_y) <= 6 * candidate.size
            for line in lines
        )
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


def title_promised_by_colon(lines: Sequence[TextLine], label: TextLine, candidate: TextLine) -> bool:
    """A label ending in a colon alone on a centred row promises its title: the row centred under it
    (within two points), alone on its row, up to two lines' height lower ("Cuadro 1:", a blank line,
    then the title, as a LaTeX class sets the label and title on rows of their own)."""
    gap = candidate.box.y0 - label.box.y1
    return (
        label.text.rstrip().endswith(":")
        and abs(candidate.box.center_x - label.box.center_x) <= 2.0
        and abs(candidate.size - label.size) <= 0.5
        and 0.0 <= gap <= 2.0 * label.size
        and alone_on_its_row(lines, label)
        and alone_on_its_row(lines, candidate)
    )


def title_under_label_set_right(lines: Sequence[TextLine], label: TextLine, candidate: TextLine) -> bool:
    """A label alone at the right of its row over a title centred under it, each alone on its row
    ("Таблица 2.1" flush right, then "Конфигурации VGG" centred and bold, as Russian standards set
    tables); the title is in the label's size and bold, or set in from both sides, unlike the prose
    a label may stand beside or over, which runs from the margin or out to it."""
    gap = candidate.box.y0 - label.box.y1
    return (
        (candidate.bold_start or set_in_from_both_sides(lines, label, candidate))
        and abs(candidate.size - label.size) <= 0.5
        and label.box.x0 >= candidate.box.center_x
        and label.box.x1 >= candidate.box.x1
        and -overlap_allowed(label.box, candidate.box) <= gap <= 1.5 * label.size
        and alone_on_its_row(lines, label)
        and alone_on_its_row(lines, candidate)
    )


def set_in_from_both_sides(lines: Sequence[TextLine], label: TextLine, candidate: TextLine) -> bool:
    """The line ends well short of the label set at the right and starts well in from the lines
    right under it (a table's first row, or the text resuming): a title centred over its table."""
    inset = 2 * candidate.size
    under = [
        line.box.x0
        for line in lines
        if 0
        <= line.box.y0 - candidate.box.y1 + overlap_allowed(candidate.box, line.box)
        <= 3 * candidate.size
        and not line.box.shares_row(candidate.box)
    ]
    return bool(under) and candidate.box.x0 - min(under) >= inset and label.box.x1 - candidate.box.x1 >= inset


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
        # (a caption set solid in a double-spaced manuscript ends where the body's spacing opens
        # under its finished sentence: a heading or the body text follows)
        if spacing and max(spacing) + 0.25 * size < line_gap:
            tight = max(spacing) + 0.25 * size
        # (a caption set apart in size, or in spacing, as loosely as its own rows so far: a thesis
        # in Word sets its captions' rows looser than the body's solid rows)
        apart_in_spacing = bool(spacing) and max(spacing) > line_gap + 0.25 * size
        own_spacing = max(spacing) + 0.1 * size if spacing and (own_size or apart_in_spacing) else 0.0
        return within and -reach_up <= gap <= max(0.5 * size, tight, own_spacing) and same_font
    reach = max(spacing) + 0.3 * size if spacing else 0.6 * size
    # a line broken off mid-sentence as wide as the next goes on in it at a double-spaced
    # manuscript's spacing too (where no body text on the pages showed that spacing)
    text = last.text.rstrip()
    # (or a little short of it where the rows are set ragged right, flush left with the next row;
    # a row closing a bracket reads on only into lower case: "(Strongylocentrotus droebachiensis)"
    # + "within NAFO")
    ragged = aligned and last.box.x1 >= box.x1 - 3 * size
    reads_on = ragged and candidate.text.lstrip()[:1].islower()
    unfinished = (
        text[-1:].isalnum() or text.endswith((",", ";", "(", "-")) or (reads_on and text.endswith(")"))
    )
    broken_off = unfinished and (last.box.x1 >= box.x1 - 2 or ragged)
    # (a line set in by an em or so under a one-row caption opens a paragraph: "Figure 2 shows ...")
    indented = len(members) == 1 and 0.5 * size <= box.x0 - last.box.x0 <= 2 * size
    broken_off = broken_off and not indented
    # (not in a document whose body is set solid: a caption there is too; a paragraph's space
    # after its last row parts it from the heading or the body text that follows; but a caption in
    # italics going on flush left in italics of its size is no upright body text or larger heading)
    italic_run = last.italic and candidate.italic and aligned and abs(candidate.size - last.size) <= 0.5
    broken_off = broken_off and (line_gap >= 0.1 * size or italic_run)
    # (nor when the line under it is a numbered section heading: "2. DISCUSSIONS" opens the body)
    broken_off = broken_off and not numbered_heading(candidate)
    reach = max(reach, 1.25 * size) if broken_off else reach
    # (a row a tall glyph's box reaches down into stands one of the caption's own steps lower)
    steps = [below.y0 - above.y0 for above, below in zip(rows, rows[1:], strict=False)]
    in_step = bool(steps) and abs(box.y0 - last.box.y0 - sorted(steps)[len(steps) // 2]) <= 0.1 * size
    # (so does the row under a first row broken off mid-sentence, one ordinary leading lower: IPA
    # letters and subscripts make boxes taller than their rows, and they overlap)
    in_step = in_step or (not steps and size <= box.y0 - last.box.y0 <= 1.5 * size)
    # (a row with a subscript in it stands a little lower still in such a manuscript)
    loose = line_gap + (0.5 if broken_off else 0.25) * size
    return overlaps and (in_step or -reach_up <= gap <= max(reach, loose)) and same_font


def double_spaced_run_on(lines: Sequence[TextLine], members: list[int], cursor: int) -> bool:
    """The caption's first row, broken off mid-sentence, goes on in a paragraph set double-spaced:
    the line under it and the line under that stand the same step apart, two lines' height, flush
    left with the caption in its font (a Word appendix double-spaces its legends however solid the
    tables that set its body's spacing)."""
    if len(members) != 1 or cursor + 1 >= len(lines):
        return False
    last, candidate, after = lines[members[0]], lines[cursor], lines[cursor + 1]
    size = last.size
    text = last.text.rstrip()
    unfinished = text[-1:].isalnum() or text.endswith((",", ";", "("))
    step = candidate.box.y0 - last.box.y0
    return (
        unfinished
        and not numbered_heading(candidate)
        and 1.5 * size <= step <= 2.6 * size
        and abs(after.box.y0 - candidate.box.y0 - step) <= 0.1 * size
        and all(abs(line.box.x0 - last.box.x0) <= 3.0 for line in (candidate, after))
        and all(abs(line.size - size) <= 0.5 for line in (candidate, after))
        and last.box.x1 >= candidate.box.x1 - 3 * size
    )


def numbered_heading(line: TextLine) -> bool:
    """A section heading with its number: in capitals ("2. DISCUSSIONS") or bold ("3.1 Data")."""
    if SECTION_HEADING.match(line.text) is None:
        return False
    words = line.text.split()[1:]
    letters = "".join(char for char in " ".join(words) if char.isalpha())
    return len(words) <= 12 and len(letters) >= 2 and (letters.isupper() or line.bold_start)


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


CELL_ROW_SHARE = 0.7  # of the shorter line's height two cells of one row overlap


def in_row_of_cells(lines: Sequence[TextLine], members: list[int], cursor: int) -> bool:
    """The line shares its row with another line under the caption, a wide gap apart: table cells
    (a line of the next column shares the row too, but beside the caption, not under it). Cells of
    one row stand on one baseline; a line half a row lower beside it is no cell of its row (a panel's
    title off to the side, under a caption's last row)."""
    box = lines[cursor].box
    caption = union_of(lines[member].box for member in members)
    row = sorted(
        (
            other.box
            for index, other in enumerate(lines)
            if (index == cursor or index not in members)
            and other.box.shares_row(box, CELL_ROW_SHARE)
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
