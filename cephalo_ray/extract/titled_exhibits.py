"""Exhibits titled but not numbered: a statistical note's chart or table under a bold title (with its
subtitle and unit lines), over its notes and a "Source:" line, as statistics offices and ministries
set them. No label names such a drawing; the title over it and the source line under it together
mark it as an exhibit, and the title is its caption.

Pure functions over one page's text lines and the drawings no numbered caption claimed."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from cephalo_ray.extract.captions import SOURCE_OPENING, CaptionLabel, join_caption_lines
from cephalo_ray.extract.geometry import Box, Caption, Graphic, Item, TextLine, union_of

TITLE_ROWS = 4  # a title, a subtitle and a unit line at most ("(séries brutes)", "En %")
NOTE_ROWS = 12  # rows of notes that may stand between an exhibit and its source line
TABLE_TEXT_SHARE = 0.15  # of its box: a table's cells cover this much of it or more, a chart's labels less


def exhibit_above_source(
    box: Box, lines: Sequence[TextLine], graphics: Sequence[Graphic], body_size: float
) -> Box | None:
    """The exhibit in the drawing's box, over a "Source:" line: the source line stands under the
    drawing or inside the foot of its box (the notes over it taken into the drawing as its text),
    after notes in a smaller size stacked right over it. The exhibit ends over those notes; None
    where no source line closes the drawing."""
    source = next(
        (
            line
            for line in sorted(lines, key=lambda line: line.box.y0)
            if SOURCE_OPENING.match(line.text)
            and box.x0 - 4 <= line.box.x0 < box.x1
            and box.y0 < line.box.y0 <= box.y1 + 2 * line.box.height
        ),
        None,
    )
    if source is None:
        return None
    parts = [
        graphic.box for graphic in graphics if box.contains_point(graphic.box.center_x, graphic.box.center_y)
    ]
    # (the notes: rows in a smaller size stacked over the source line, up to the drawing, whose own
    # cells or labels may be as small: a row something drawn reaches below is the drawing's)
    top = source.box.y0
    for line in sorted(lines, key=lambda line: -line.box.y1):
        if line.box.y1 > top or line is source or not box.x0 - 4 <= line.box.x0 < box.x1:
            continue
        drawn_round = any(
            part.y1 > line.box.center_y and part.horizontal_overlap(line.box) > 0 for part in parts
        )
        if top - line.box.y1 > 0.6 * line.box.height or line.size >= body_size - 0.25 or drawn_round:
            break
        top = line.box.y0
    parts = [part for part in parts if part.y1 <= top + 2]
    if not parts:
        return None
    drawn = union_of(parts)
    texts = [
        line.box
        for line in lines
        if box.contains_point(line.box.center_x, line.box.center_y)
        and drawn.y0 - 2 <= line.box.y0
        and line.box.y1 <= top + 1
    ]
    return union_of([drawn, *texts])


def title_over(box: Box, lines: Sequence[TextLine], taken: Collection[int]) -> list[int]:
    """The lines of the title block right over the drawing, top first: up to four rows stacked tight
    and flush left with each other, starting over the drawing (a title may run wider than a narrow
    chart), the top one (or two) in bold and the ones under it not, nothing stacked right over it;
    none where no such block stands."""
    over = sorted(
        (
            index
            for index, line in enumerate(lines)
            if index not in taken
            and line.box.y1 <= box.y0 + 2
            and box.x0 - 4 <= line.box.x0 < box.x1
            and line.box.x1 > box.x0
        ),
        key=lambda index: -lines[index].box.y1,
    )
    block: list[int] = []
    top = box.y0
    for index in over:
        line = lines[index]
        if any(line.box.shares_row(lines[member].box) for member in block):
            return []  # a row of several pieces: a table's head or a chart's legend, no title
        # (the title's last row sits close over the drawing, its rows set solid)
        if top - line.box.y1 > (1.0 if not block else 0.5) * line.box.height:
            break
        if block and abs(line.box.x0 - lines[block[-1]].box.x0) > 3:
            break
        if block and lines[block[-1]].bold_start and not line.bold_start:
            break  # the title's first row is the top bold one: what stands over it is the text's
        block.append(index)
        top = line.box.y0
        if len(block) > TITLE_ROWS:
            return []
    if not block or not lines[block[-1]].bold_start or lines[block[-1]].text.rstrip().endswith("."):
        return []
    # (a paragraph's last rows set right over a drawing are no title: the title stands apart)
    above = [
        line
        for index, line in enumerate(lines)
        if index not in block
        and line.box.horizontal_overlap(lines[block[-1]].box) > 0
        and 0 <= top - line.box.y1 <= 0.5 * line.box.height
    ]
    return [] if above else block[::-1]


def drawn_kind(box: Box, lines: Sequence[TextLine]) -> str:
    """A table when text covers much of the exhibit (its cells), a chart when little does (its ticks
    and legend)."""
    inside = [line.box for line in lines if box.contains_point(line.box.center_x, line.box.center_y)]
    covered = sum(line.width * line.height for line in inside)
    return "table" if covered >= TABLE_TEXT_SHARE * box.area else "figure"


def titled_exhibits(
    orphans: Sequence[Item],
    lines: Sequence[TextLine],
    graphics: Sequence[Graphic],
    taken: Collection[int],
    body_size: float,
) -> list[Item]:
    """The drawings no caption claimed that stand under a title and over a source line, each an
    item captioned by its title (no label: nothing numbers it)."""
    found = []
    used: set[int] = set(taken)
    for orphan in orphans:
        exhibit = exhibit_above_source(orphan.box, lines, graphics, body_size)
        if exhibit is None:
            continue
        title = title_over(exhibit, lines, used)
        if not title:
            continue
        used.update(title)
        kind = drawn_kind(exhibit, lines)
        text = join_caption_lines([lines[index].text for index in title])
        box = union_of(lines[index].box for index in title)
        caption = Caption(box, CaptionLabel(kind, ""), text, tuple(title), lines[title[0]].bold_start)
        found.append(Item(kind, exhibit, caption, orphan.graphics, "above"))
    return found
