"""An item's edges once its clusters are claimed: side panels and legends that join it, caption rows,
notes and paragraph ends that do not, a table's notes trimmed off, and the kind of an exhibit. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from cephalo_ray.extract.captions import (
    continued_legend,
    is_label_alone,
    join_caption_lines,
    names_source,
    opens_continued,
    parse_caption_start,
)
from cephalo_ray.extract.claims import MIN_THICKNESS, PANEL_GAP
from cephalo_ray.extract.geometry import (
    Box,
    Caption,
    Cluster,
    Graphic,
    Item,
    TextLine,
    TextStats,
    edge_gap,
    is_rule,
    joined_rules,
    union_of,
)
from cephalo_ray.extract.page_text import NOTES_OPENER, is_wordy


def with_side_panels(
    item: Item,
    clusters: Sequence[Cluster],
    taken: set[int],
    lines: Sequence[TextLine],
    captions: Sequence[Box],
) -> Item:
    """A figure over (or under) a short caption at its left also holds the unclaimed panels beside it.

    A caption that ends before the figure's right half reaches only the column it starts in, so the
    panels of a full-width figure over it are left unclaimed. A panel joins (`taken` grows) when it
    shares the figure's row, lies on the figure's side of the caption, and the grown box holds no
    other caption and no text outside the drawings, nor is there text between the panel and the
    caption's row (its own caption, or body text between).
    """
    caption = item.caption
    if caption is None or item.kind != "figure" or item.placement not in ("below", "above"):
        return item
    under = item.placement == "above"  # the figure under its caption
    box = item.box
    graphics = item.graphics
    grown = True
    while grown:
        grown = False
        for index, cluster in enumerate(clusters):
            panel = cluster.box
            if (
                index in taken
                or cluster.text_only
                or panel.center_x < caption.box.x1
                or panel.vertical_overlap(box) <= 0
                or (panel.y0 < caption.box.y1 if under else panel.y1 > caption.box.y0)
                or panel.x0 - box.x1 > (2 * PANEL_GAP if level_with(panel, box) else PANEL_GAP)
                or min(panel.width, panel.height) < MIN_THICKNESS
            ):
                continue
            union = box.union(panel)
            between = (
                Box(panel.x0, caption.box.y0, panel.x1, panel.y0)
                if under
                else Box(panel.x0, panel.y1, panel.x1, caption.box.y1)
            )
            # (another caption right over the panel, or right under it, is the panel's own)
            own = any(
                other != caption.box
                and other.horizontal_overlap(panel) > 0
                and (0 <= panel.y0 - other.y1 <= PANEL_GAP or 0 <= other.y0 - panel.y1 <= PANEL_GAP)
                for other in captions
            )
            if (
                own
                or any(other != caption.box and other.intersection_area(union) > 0 for other in captions)
                or any(
                    (
                        not any(line_index in other.lines for other in clusters)
                        and union.contains_point(line.box.center_x, line.box.center_y)
                    )
                    # (text between is no drawing's, whatever block it reads as: the references
                    # running down the next column under a table there)
                    or (
                        not any(line_index in other.lines for other in clusters if not other.text_only)
                        and between.contains_point(line.box.center_x, line.box.center_y)
                    )
                    for line_index, line in enumerate(lines)
                    if line_index not in caption.lines
                )
            ):
                continue
            taken.add(index)
            box = union
            graphics = graphics if cluster.graphics == graphics else "mixed"
            grown = True
    return item if box == item.box else Item(item.kind, box, caption, graphics, item.placement)


def level_with(panel: Box, box: Box) -> bool:
    """The panel's top or bottom is the figure's: set in one row with it, however far apart."""
    return abs(panel.y0 - box.y0) <= 2.0 or abs(panel.y1 - box.y1) <= 2.0


def row_padding(caption: Box) -> float:
    """How far a rule framing a caption's row may stand off its text: half the row, and a point
    more of a cell's padding (a Word table's merged caption row)."""
    return 0.5 * caption.height + 1.0


def without_caption_row(cluster: Cluster, caption: Box, lines: Sequence[TextLine]) -> Cluster | None:
    """A ruled table whose last (or first) row is its caption, a cell across the grid (a word
    processor's merged row, often shaded): the caption is the table's, and the table ends at its
    last row of cells. None where the caption is not such a row of this cluster."""
    if cluster.text_only or len(cluster.lines) < 3:
        return None
    box = cluster.box
    # (the row spans the grid; its text may be short, set from the grid's left edge or centred)
    across = (
        caption.width >= 0.6 * box.width
        or caption.x0 - box.x0 <= 0.05 * box.width
        or abs(caption.center_x - box.center_x) <= 0.05 * box.width
    )
    if box.intersection_area(caption) <= 0.5 * caption.area or not across:
        return None
    cells = [lines[index].box for index in cluster.lines]
    reach = row_padding(caption)  # (the grid's own rule or shading may frame the caption's row)
    if cluster.images:
        # (a frame round a picture or chart, its caption on bands across the frame's head: a
        # report's exhibit box; the item starts under the caption's bands)
        if caption.y0 - box.y0 <= reach and all(cell.y0 >= caption.y1 - 1 for cell in cells):
            return replace(cluster, box=Box(box.x0, min(cell.y0 for cell in cells), box.x1, box.y1))
        return None
    if box.y1 - caption.y1 <= reach and all(cell.y1 <= caption.y0 + 1 for cell in cells):
        return replace(cluster, box=Box(box.x0, box.y0, box.x1, max(cell.y1 for cell in cells)))
    if caption.y0 - box.y0 <= reach and all(cell.y0 >= caption.y1 - 1 for cell in cells):
        return replace(cluster, box=Box(box.x0, min(cell.y0 for cell in cells), box.x1, box.y1))
    return None


def with_paragraph_ends(
    clusters: list[Cluster], body: set[int], lines: Sequence[TextLine], stats: TextStats
) -> tuple[list[Cluster], set[int]]:
    """Text alone whose first line goes on with the unfinished sentence of a body line just above
    it is the end of that paragraph (its lines broken into pieces by a sub- or superscript, so not
    read as body lines), not a table's text for a caption under it to claim."""
    kept: list[Cluster] = []
    body = set(body)
    for cluster in clusters:
        top = min(cluster.lines, key=lambda index: (lines[index].box.y0, lines[index].box.x0), default=None)
        first = lines[top] if cluster.text_only and top is not None else None
        if first is not None and any(goes_on_from(lines[index], first, stats) for index in body):
            body.update(cluster.lines)
            continue
        kept.append(cluster)
    return kept, body


def goes_on_from(body_line: TextLine, line: TextLine, stats: TextStats) -> bool:
    """The line is the next one of the body line's unfinished sentence: right under it at the
    paragraph's spacing, from the same left edge, after a line that runs the column's width (its
    size may read a little smaller, lowered by a script in it)."""
    gap = line.box.y0 - body_line.box.y1
    return (
        -1.0 <= gap <= stats.line_gap + 0.25 * stats.body_size
        and abs(line.box.x0 - body_line.box.x0) <= 3.0
        and body_line.box.width >= 0.9 * stats.column_width
        and abs(line.size - body_line.size) <= 0.6
        and (body_line.text.rstrip()[-1:].isalnum() or body_line.text.rstrip().endswith((",", ";")))
    )


# "DEC, diethylcarbamazine; Ag+, antigen positive; Doxy, doxycycline": a term, then what it stands for
ABBREVIATION_ENTRY = re.compile(r"^\S{1,15}(?: \S{1,15})?\s*[,=:]\s")


def is_abbreviation_list(text: str) -> bool:
    """Three or more entries apart by semicolons, (nearly) each a short term and its expansion."""
    text = re.sub(r"^\s*abbreviations?\s*:\s*", "", text, flags=re.IGNORECASE)
    entries = [entry.strip() for entry in text.split(";") if entry.strip()]
    listed = sum(1 for entry in entries if ABBREVIATION_ENTRY.match(entry) and len(entry.split()) <= 10)
    return len(entries) >= 3 and listed >= 0.75 * len(entries)


def notes_under_caption(
    caption: Box, lines: Sequence[TextLine], blocks: Mapping[int, list[int]], stats: TextStats
) -> list[int]:
    """The lines of a paragraph of notes ("Notes: This table summarizes ...", or a headnote in square
    brackets) set right under a caption, over the caption's width: when the caption heads its item,
    the notes are the caption's and the item starts under them. `blocks` holds the line indices of
    the page's text blocks."""
    for members in blocks.values():
        ordered = sorted(members, key=lambda index: (lines[index].box.y0, lines[index].box.x0))
        box = union_of(lines[index].box for index in members)
        if not -1.0 <= box.y0 - caption.y1 <= 2 * stats.body_size:
            continue
        if box.horizontal_overlap(caption) < 0.5 * min(box.width, caption.width):
            continue
        if NOTES_OPENER.match(lines[ordered[0]].text) or is_headnote(
            lines[ordered[0]].text, lines[ordered[-1]].text
        ):
            return ordered
    return []


def legend_under_title(
    caption: Caption, lines: Sequence[TextLine], free: Sequence[int], clusters: Sequence[Cluster]
) -> list[int]:
    """The rest of the paragraph of prose between a table caption's title row, with no full stop, and
    the drawing right under that paragraph: a manuscript's legend to a table captioned above it ("Table
    S1. Model parameters" + "Parameters from the most parsimonious models ..." + the table), of which
    the caption may hold the first rows. Empty unless the paragraph (`free`: the page's lines in no
    caption and no drawing) runs unbroken from the caption down to a drawing across its width."""
    first = min(caption.lines, key=lambda index: (lines[index].box.y0, lines[index].box.x0))
    if caption.label.kind != "table" or lines[first].text.rstrip().endswith("."):
        return []
    title = caption.box
    ordered = sorted(
        (index for index in free if lines[index].box.y0 > title.y1 - 1),
        key=lambda index: (lines[index].box.y0, lines[index].box.x0),
    )
    taken: list[int] = []
    reach = title
    for index in ordered:
        box = lines[index].box
        if box.y0 - reach.y1 > 1.5 * box.height + 2 or len(taken) >= LEGEND_ROWS:
            break
        if box.horizontal_overlap(reach) <= 0:
            break
        taken.append(index)
        reach = reach.union(box)
    # (prose of two rows at least, not a listing's code nor a table's loose cells, nor the table's
    # sources: a line of its own naming them is neither the caption's nor the item's)
    rows = {round(lines[index].box.y0) for index in taken}
    if len(rows) < 2 or any(lines[index].mono for index in taken) or names_source(lines[taken[0]].text):
        return []
    if sum(is_wordy(lines[index].text) for index in taken) < 0.5 * len(taken):
        return []
    legend = union_of(lines[index].box for index in taken)
    for cluster in clusters:
        if cluster.text_only or cluster.box.horizontal_overlap(legend) < 0.5 * legend.width:
            continue
        gap = cluster.box.y0 - legend.y1
        if 0 <= gap <= 2 * lines[taken[-1]].box.height + 4:
            return taken
    return []


def headline_under_title(
    caption: Caption, lines: Sequence[TextLine], clusters: Sequence[Cluster]
) -> list[int]:
    """The rows of a headline set under a figure's one-row title, smaller than the title and at its
    left edge, with the drawing right under them ("Figure 1.6. Global Growth-at-Risk" + "Global
    financial stability risks ... have declined only slightly" + the panels, as financial
    institutions' reports set their charts): part of the figure, no prose its claim must stop at.
    A title of several rows has the headline under its last ("FIGURE 2.6" + a bold title over two
    rows + "As the income of a country improves, so does food security.")."""
    if not caption.lines:
        return []
    title = max((lines[index] for index in caption.lines), key=lambda line: line.box.y1)
    if len(caption.lines) > 1 and not title.bold_start:
        return []  # (a legend's last row in the text's face, a source line under it, is no title)
    rows: list[int] = []
    bottom = title.box.y1
    for index in sorted(range(len(lines)), key=lambda index: lines[index].box.y0):
        line = lines[index]
        if index in caption.lines or line.box.center_y <= bottom:
            continue
        if line.box.horizontal_overlap(title.box) <= 0:
            continue  # (the other column's text, level with it)
        if line.box.y0 - bottom > (1.0 if not rows else 0.5) * line.size:
            break
        # (a centred row stands alone under the title; a table's middle header cell has its row's others)
        centred_alone = centred_under(title.box, line.box) and not any(
            other is not line
            and other.box.shares_row(line.box)
            and other.box.horizontal_overlap(caption.box) > 0
            for other in lines
        )
        aligned = abs(line.box.x0 - title.box.x0) <= 3 or centred_alone
        if rows and not (aligned and abs(line.size - lines[rows[0]].size) <= 0.3):
            break  # (the drawing's own lettering starts)
        if not aligned or line.size > title.size - 0.5 or len(rows) >= 3:
            return []
        rows.append(index)
        bottom = line.box.y1
    if not rows:
        return []
    headline = union_of(lines[index].box for index in rows)
    # (rows centred under the title go with a title centred over its drawing)
    centred = any(centred_under(title.box, lines[index].box) for index in rows)
    # (the frame of a drawing may have taken centred rows in already, as lettering over it)
    drawn = any(
        not cluster.text_only
        and cluster.box.horizontal_overlap(headline) > 0
        and (
            -1 <= cluster.box.y0 - headline.y1 <= 2 * lines[rows[-1]].box.height
            or (
                centred
                and set(rows) <= set(cluster.lines)
                and cluster.box.y1 > headline.y1 + lines[rows[-1]].box.height
            )
        )
        and (not centred or abs(cluster.box.center_x - title.box.center_x) <= 0.05 * cluster.box.width)
        for cluster in clusters
    )
    return rows if drawn else []


def centred_under(title: Box, row: Box) -> bool:
    """The row is centred under the title, not set at its left edge (a centred caption's subtitle)."""
    return abs(row.center_x - title.center_x) <= 3 and abs(row.x0 - title.x0) > 3


LEGEND_ROWS = 30  # pieces of lines of a legend between an item's title and the item, at most


def is_headnote(first: str, last: str) -> bool:
    """A paragraph in square brackets from its first line to its last: the abbreviations and notes a
    US Geological Survey table sets under its title ("[sub., subwatershed; U, undeveloped ...]")."""
    return first.lstrip().startswith("[") and last.rstrip().endswith("]")


def notes_over_caption(
    caption: Box, lines: Sequence[TextLine], body: set[int], blocks: Mapping[int, list[int]], stats: TextStats
) -> set[int]:
    """The lines of a figure's list of abbreviations set right above its caption (some journals
    print it between the figure and the caption): no body text that parts a figure from its caption.
    `blocks` holds the line indices of each of the page's text blocks that holds body text."""
    for members in blocks.values():
        box = union_of(lines[index].box for index in members)
        if not 0 <= caption.y0 - box.y1 <= 2 * stats.body_size:
            continue
        if box.horizontal_overlap(caption) < 0.5 * min(box.width, caption.width):
            continue
        ordered = sorted(members, key=lambda index: (lines[index].box.y0, lines[index].box.x0))
        if is_abbreviation_list(" ".join(lines[index].text for index in ordered)):
            return body.intersection(members)
    return set()


def in_margin_column(caption: Box, body: Sequence[Box], stats: TextStats) -> bool:
    """The caption is narrow (under two fifths of a column) and stands where no body line of the
    page runs, over or under it: a column of the margin that holds captions and running heads."""
    return (
        len(body) >= 5
        and caption.width < 0.4 * stats.column_width
        and not any(box.horizontal_overlap(caption) > 0 for box in body)
    )


def hides_caption(cluster: Cluster, caption: Box, lines: Sequence[TextLine]) -> bool:
    """The caption lies inside this cluster, so it is text of the drawing (a panel title).

    A text-only cluster counts only where its own lines across the caption's width come within a
    panel gap of it: two columns of small print (a reference list) read as one cluster span the
    page, yet a caption well above the short left column is outside the text.
    """
    if cluster.box.intersection_area(caption) <= 0.5 * caption.area:
        return False
    if not cluster.text_only or not cluster.lines:
        return True
    over = [lines[index].box for index in cluster.lines if lines[index].box.horizontal_overlap(caption) > 0]
    if not over:
        return False
    text = union_of(over)
    return text.y0 - PANEL_GAP <= caption.center_y <= text.y1 + PANEL_GAP


FRAME_THICKNESS = 1.5  # points; a frame's edges (a one-cell table's borders) are hairlines


def caption_frames(graphics: Sequence[Graphic], captions: Sequence[Caption]) -> list[list[Graphic]]:
    """Frames drawn round an item and its caption together: a rectangle (one path, or the hairline
    pieces of a one-cell table's borders) holding a caption at its inner top or foot, within two of
    the caption's rows, and a drawing beside the caption inside it. The frame sets the float off
    from the page; it is no part of the figure, and the caption in it is no panel's title (an IMF
    note's framed exhibits, a bulletin's boxed charts). Each frame's pieces, one list a frame."""
    if not captions:
        return []
    hairlines = [
        graphic
        for graphic in graphics
        if graphic.kind == "path" and min(graphic.box.width, graphic.box.height) <= FRAME_THICKNESS
    ]
    # (a border's pieces grown from those running along a caption's top or foot, so a chart's
    # thousands of hairlines are never all compared)
    seeds = [piece for piece in hairlines if any(along_caption(piece.box, caption) for caption in captions)]
    outlines: list[list[Graphic]] = [[graphic] for graphic in graphics if graphic.kind == "path"]
    grown: set[int] = set()
    for seed in seeds:
        if id(seed) not in grown:
            outline = touching_piece(seed, hairlines)
            grown.add(id(seed))
            if outline is not None and len(outline) >= 4:
                grown.update(id(piece) for piece in outline)
                outlines.append(outline)
    frames: list[list[Graphic]] = []
    for outline in outlines:
        box = union_of(piece.box for piece in outline)
        if len(outline) > 1 and not all(on_border(piece.box, box) for piece in outline):
            continue  # (a table's grid: rules inside it too)
        if any(frames_caption(box, caption, graphics, outline) for caption in captions):
            frames.append(outline)
    return frames


def without_labels_framed_in(
    captions: Sequence[Caption], outlines: Sequence[Sequence[Graphic]]
) -> list[Caption]:
    """The captions, less those a frame holds inside, away from its edges, of the other kind than
    the caption at its edge: text of the framed item (a framed table's rows "Figure 6  No ...",
    listing where each figure's estimates come from)."""
    kept = list(captions)
    for outline in outlines:
        box = union_of(piece.box for piece in outline)
        inside = [
            caption for caption in kept if box.contains_point(caption.box.center_x, caption.box.center_y)
        ]
        own = [caption for caption in inside if at_frame_edge(box, caption)]
        kinds = {caption.label.kind for caption in own}
        kept = [
            caption
            for caption in kept
            if caption not in inside or caption in own or not kinds or caption.label.kind in kinds
        ]
    return kept


def at_frame_edge(box: Box, caption: Caption) -> bool:
    """The caption stands at the frame's inner top or foot, within two of its rows."""
    row = row_height(caption)
    return caption.box.y0 - box.y0 <= 2 * row or box.y1 - caption.box.y1 <= 2 * row


def along_caption(piece: Box, caption: Caption) -> bool:
    """A horizontal piece over the caption's top or under its foot, within two of its rows (or
    crossing its glyphs' box, whose ascent may reach past the frame)."""
    row = row_height(caption)
    return (
        piece.width >= max(piece.height, 0.5 * caption.box.width)
        and piece.horizontal_overlap(caption.box) > 0
        and (
            -0.5 * row <= caption.box.y0 - piece.y1 <= 2 * row
            or -0.5 * row <= piece.y0 - caption.box.y1 <= 2 * row
        )
    )


def row_height(caption: Caption) -> float:
    return caption.box.height / max(len(caption.lines), 1)


FRAME_PIECES = 32  # a frame's border is drawn in a few pieces; a grid of rules runs to hundreds


def touching_piece(seed: Graphic, pieces: Sequence[Graphic]) -> list[Graphic] | None:
    """The seed and every piece joined to it through pieces touching (within a point): one outline;
    None where that runs past `FRAME_PIECES` (a table's grid, no frame)."""
    joined, frontier = {id(seed)}, [seed]
    outline = [seed]
    while frontier:
        current = frontier.pop()
        for piece in pieces:
            if id(piece) not in joined and current.box.near(piece.box, 1.0):
                joined.add(id(piece))
                outline.append(piece)
                frontier.append(piece)
                if len(outline) > FRAME_PIECES:
                    return None
    return outline


def on_border(piece: Box, outline: Box) -> bool:
    return (
        min(abs(piece.y0 - outline.y0), abs(piece.y1 - outline.y1)) <= FRAME_THICKNESS
        and piece.width >= piece.height
    ) or (
        min(abs(piece.x0 - outline.x0), abs(piece.x1 - outline.x1)) <= FRAME_THICKNESS
        and piece.height > piece.width
    )


def frames_caption(
    box: Box, caption: Caption, graphics: Sequence[Graphic], outline: Sequence[Graphic]
) -> bool:
    row = row_height(caption)
    slack = 0.25 * row
    inside = box.contains_point(caption.box.x0, caption.box.y0, slack) and box.contains_point(
        caption.box.x1, caption.box.y1, slack
    )
    if not (inside and at_frame_edge(box, caption)):
        return False
    # (the drawing may be one picture or many strokes: a circuit's switches and wires)
    held = [
        other.box
        for other in graphics
        if other not in outline
        and box.contains_point(other.box.x0, other.box.y0, 1.0)
        and box.contains_point(other.box.x1, other.box.y1, 1.0)
        and other.box.vertical_overlap(caption.box) <= 0
    ]
    return bool(held) and union_of(held).area >= 0.1 * box.area


def in_row_of_its_own(caption: Box, graphics: Sequence[Graphic]) -> bool:
    """The caption fills a row of its own across the item: ruled above and below across its width
    (a word processor's cell over the item's cell) or set on a band a row high (a report's exhibit
    banner, white on black). It is no panel's title: a drawing's lettering is not set apart so."""
    # (a grid draws its rules cell by cell)
    reach = row_padding(caption)
    across = [
        rule for rule in joined_rules(graphics) if rule.x0 <= caption.x0 + 1 and rule.x1 >= caption.x1 - 1
    ]
    over = any(-1.0 <= caption.y0 - rule.y1 <= reach for rule in across)
    under = any(-1.0 <= rule.y0 - caption.y1 <= reach for rule in across)
    banner = any(
        graphic.kind == "path"
        and graphic.box.contains_point(caption.center_x, caption.center_y)
        and graphic.box.x0 <= caption.x0 + 1
        and graphic.box.x1 >= caption.x1 - 1
        and caption.height < graphic.box.height <= caption.height + reach
        for graphic in graphics
    )
    return (over and under) or banner


def is_code(cluster: Cluster, lines: Sequence[TextLine]) -> bool:
    """The cluster is text in a typewriter face and nothing pictured: a code listing."""
    return cluster.images == 0 and bool(cluster.lines) and all(lines[index].mono for index in cluster.lines)


def listings_past_table(
    costs: Mapping[int, float], clusters: Sequence[Cluster], lines: Sequence[TextLine], gap: float
) -> set[int]:
    """Of a table's (or a figure's) claimed clusters, the code listings standing apart beyond the
    table (a framed snippet under a grid of numbers, or over a diagram, more than `gap` of white
    between): listings are figures of their own, uncaptioned here, not rows of the table."""
    listings = [index for index in costs if is_code(clusters[index], lines)]
    table = [index for index in costs if index not in listings and not clusters[index].text_only]
    if not listings or not table:
        return set()
    nearest = min(costs[index] for index in table)
    body = union_of(clusters[index].box for index in table)
    return {
        index
        for index in listings
        if costs[index] > nearest
        and clusters[index].box.vertical_overlap(body) <= 0
        and edge_gap(clusters[index].box, body) > gap
    }


def with_legend_under_item(
    item: Item, lines: Sequence[TextLine], claimed: set[int], stats: TextStats
) -> Item:
    """A label alone over its figure with the legend under the figure (a review journal's "Figure 1",
    the picture, then its legend in the label's small size): the legend's paragraph, right under
    the item and no part of anything else, joins the caption."""
    caption = item.caption
    if caption is None or item.placement != "above" or not is_label_alone(caption.text):
        return item
    size = lines[caption.lines[0]].size
    if abs(size - stats.body_size) < 0.5:
        return item  # (text in the body's size under a figure is the body's)
    box = item.box
    under = [
        index
        for index, line in enumerate(lines)
        if index not in claimed
        and 0 <= line.box.y0 - box.y1 <= 2.5 * size
        and line.box.horizontal_overlap(box) > 0.5 * line.box.width
        and abs(line.size - size) <= 0.5
        and is_wordy(line.text, 4)
        and parse_caption_start(line.text, label_is_bold=line.bold_start) is None
    ]
    if not under:
        return item
    first = min(under, key=lambda index: lines[index].box.y0)
    legend = sorted(
        (
            index
            for index, line in enumerate(lines)
            if index not in claimed
            and line.block == lines[first].block
            and line.box.y0 >= lines[first].box.y0
        ),
        key=lambda index: (lines[index].box.y0, lines[index].box.x0),
    )
    text = join_caption_lines([caption.text, *(lines[index].text for index in legend)])
    return replace(item, caption=replace(caption, text=text, lines=caption.lines + tuple(legend)))


def with_rest_of_legend(item: Item, continuations: Sequence[Caption]) -> Item:
    """An item whose legend ends "(continued)" takes the rest from under "Fig. 1. (continued)"
    on its page (the next column's top)."""
    caption = item.caption
    if caption is None:
        return item
    rest = next(
        (other for other in continuations if other.label == caption.label and opens_continued(other.text)),
        None,
    )
    if rest is None:
        return item
    text = continued_legend(caption.text, rest.text)
    return replace(item, caption=replace(caption, text=text, lines=caption.lines + rest.lines))


# (a superscript note number or letter reads run into its note's first word: "1Douglas Island Pink
# and Chum", "aGroup was coded as ...")
FOOTNOTE_START = re.compile(
    r"^(?:[*\u2020\u2021\u00a7\u00b6#\u00b9\u00b2\u00b3\u2070-\u2079]|[a-z]\s|\(?[a-z]\)|(?-i:\d{1,2}[A-Z][a-z])"
    r"|(?-i:[a-z][A-Z][a-z]{2})"
    r"|notes?\b|abbreviations?\b|sources?\b|data\b)",
    re.IGNORECASE,
)


# Business and policy journals number their tables and charts as one series of exhibits.
EITHER_KIND_LABELS = ("Exhibit",)


def item_kind(caption: Caption, box: Box, graphics: Sequence[Graphic]) -> str:
    """The caption's kind; an exhibit is a table when nothing is drawn in its box but rules and
    bands across it (row shading), and a figure when it holds an image or drawn marks."""
    if not caption.label.label.startswith(EITHER_KIND_LABELS):
        return caption.label.kind
    inside = [graphic for graphic in graphics if graphic.box.intersection_area(box) > 0.5 * graphic.box.area]
    if any(graphic.kind == "image" for graphic in inside):
        return "figure"
    rows: dict[tuple[int, int], list[tuple[float, float]]] = {}  # a band drawn cell by cell: one row
    for graphic in inside:
        if min(graphic.box.width, graphic.box.height) > 3:
            key = (round(graphic.box.y0), round(graphic.box.y1))
            rows.setdefault(key, []).append((graphic.box.x0, graphic.box.x1))
    return "table" if all(covered(spans) >= 0.8 * box.width for spans in rows.values()) else "figure"


def covered(spans: Sequence[tuple[float, float]]) -> float:
    """The length a set of intervals covers, overlaps counted once."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def under_table_head(
    members: list[int],
    clusters: Sequence[Cluster],
    graphics: Sequence[Graphic],
    lines: Sequence[TextLine],
    placement: str,
) -> list[int]:
    """The clusters of a table captioned under it that lie under its head: when the cluster nearest
    the caption is ruled at its top and its foot, what stands more than two rows above its top rule
    (an uncaptioned table of the text, a display) is no row of it, unless a rule heads them all."""
    if placement != "below" or len(members) < 2:
        return members
    nearest = max(members, key=lambda index: clusters[index].box.y1)
    table = clusters[nearest].box
    rules = [
        graphic.box
        for graphic in graphics
        if is_rule(graphic, 0.9 * table.width)
        and table.contains_point(graphic.box.center_x, graphic.box.center_y, 1.0)
    ]
    sizes = sorted(lines[index].size for index in clusters[nearest].lines)
    if not sizes or not rules:
        return members
    ruled = min(rule.y0 for rule in rules) <= table.y0 + 2 and max(rule.y1 for rule in rules) >= table.y1 - 2
    row = sizes[len(sizes) // 2]
    if not ruled:
        return members
    # (unless a rule across them all heads them: a frame round a puzzle, its table and its answer grid)
    whole = union_of(clusters[index].box for index in members)
    if any(
        is_rule(graphic, 0.9 * whole.width) and abs(graphic.box.y0 - whole.y0) <= 2 for graphic in graphics
    ):
        return members
    return [index for index in members if clusters[index].box.y1 >= table.y0 - 2 * row]


def side_bordered(graphics: Sequence[Graphic], x: float, top: float, bottom: float) -> bool:
    """A border runs down at `x` from `top` to `bottom`, whole or cell by cell."""
    spans = [
        (graphic.box.y0, graphic.box.y1)
        for graphic in graphics
        if graphic.box.height > graphic.box.width
        and abs(graphic.box.center_x - x) <= 3
        and graphic.box.y1 > top
        and graphic.box.y0 < bottom
    ]
    return covered([(max(y0, top), min(y1, bottom)) for y0, y1 in spans]) >= 0.9 * (bottom - top)


def over_table_foot(
    members: list[int],
    clusters: Sequence[Cluster],
    graphics: Sequence[Graphic],
    lines: Sequence[TextLine],
    placement: str,
) -> list[int]:
    """The clusters of a table captioned above it that are rows of it: when the cluster nearest the
    caption is ruled at its top and its foot, a picture more than two rows under its bottom rule (an
    uncaptioned panel of a figure captioned overleaf) is no row of it."""
    if placement != "above" or len(members) < 2:
        return members
    nearest = min(members, key=lambda index: clusters[index].box.y0)
    table = clusters[nearest].box
    # (a word processor writes a rule cell by cell)
    rules = [
        rule
        for rule in joined_rules(graphics)
        if rule.width >= 0.9 * table.width and table.contains_point(rule.center_x, rule.center_y, 1.0)
    ]
    sizes = sorted(lines[index].size for index in clusters[nearest].lines)
    if not sizes or len(rules) < 2:
        return members
    if min(rule.y0 for rule in rules) > table.y0 + 2 or max(rule.y1 for rule in rules) < table.y1 - 2:
        return members
    foot = table.y1 + 2 * sizes[len(sizes) // 2]
    return [index for index in members if not (clusters[index].images and clusters[index].box.y0 > foot)]


def without_table_notes(box: Box, lines: Sequence[TextLine], graphics: Sequence[Graphic]) -> Box:
    """A ruled table's box ends at its last rule: the notes under it (one line to a row, smaller
    than the cells, opening with a note mark or running on as a paragraph), anything set well apart
    under it, and whatever they dragged in (a footer rule, the margin) are left out. Rows of cells
    under the last rule (a table ruled only at its head) stay."""
    rules = [
        rule
        for rule in joined_rules(graphics)
        if rule.width >= 0.25 * box.width and box.contains_point(rule.center_x, rule.center_y, 1.0)
    ]
    if len(rules) < 2:
        return box
    top = min(rules, key=lambda rule: rule.y0)
    own = sorted(
        (rule for rule in rules if abs(rule.x0 - top.x0) <= 6 and abs(rule.x1 - top.x1) <= 6),
        key=lambda rule: rule.y0,
    )
    bottom = max(rule.y1 for rule in own)
    inside = [line for line in lines if box.contains_point(line.box.center_x, line.box.center_y, 1.0)]
    # (a rule closing the notes under the table's last rule is no rule of the table: a journal rules
    # off the notes too, and the notes between open with their first mark)
    if len(own) >= 3:
        closed = sorted(
            (line for line in inside if own[-2].y1 < line.box.center_y < own[-1].y0),
            key=lambda line: line.box.y0,
        )
        # (unless the grid's side borders run down beside them: a last row of the frame)
        framed = side_bordered(graphics, top.x0, own[-2].y1, own[-1].y0)
        if (
            closed
            and not framed
            and FOOTNOTE_START.match(closed[0].text)
            and sum(is_wordy(line.text) for line in closed) >= 0.6 * len(closed)
        ):
            bottom = own[-2].y1
    cells = [line for line in inside if line.box.center_y < bottom]
    notes = [line for line in inside if line.box.center_y > bottom]
    if len(own) < 2 or not cells or not notes:
        return box
    # (a second panel ruled on its own under the first, "(b) Consonant inventory", is no note: two
    # rules of one span at least, as wide as the first's, where a footer's rule dragged in is one and
    # a display equation's fraction bars are narrower)
    under = [
        rule for rule in rules if rule.y0 > max(rule.y1 for rule in own) + 1 and rule.width >= 0.9 * top.width
    ]
    if any(
        abs(a.x0 - b.x0) <= 6 and abs(a.x1 - b.x1) <= 6 for i, a in enumerate(under) for b in under[i + 1 :]
    ):
        return box
    # (rules narrower than the box rule a table the notes under it made wider: its cells lie
    # between the rules' ends)
    if top.width < 0.5 * box.width and any(
        line.box.x0 < top.x0 - 6 or line.box.x1 > top.x1 + 6 for line in cells
    ):
        return box
    one_per_row = not any(a.box.shares_row(b.box) for i, a in enumerate(notes) for b in notes[i + 1 :])
    cell_size = sorted(line.size for line in cells)[len(cells) // 2]
    smaller = all(line.size <= cell_size - 0.3 for line in notes)
    marked = FOOTNOTE_START.match(min(notes, key=lambda line: line.box.y0).text) is not None
    # (or a paragraph of notes running the table's width in the cells' own size)
    running = [line for line in notes if is_wordy(line.text) and line.box.width >= 0.8 * top.width]
    paragraph = len(notes) >= 2 and len(running) >= 0.6 * (len(notes) - 1)  # (its last line may end short)
    # (what starts two rows' height under the last rule is no note of the table: a display equation
    # or a paragraph the claim dragged in)
    apart = min(line.box.y0 for line in notes) - bottom > 2 * cell_size
    # (nor, under a grid framed all round, a row reaching out past the frame: the page's text)
    first = min(notes, key=lambda line: line.box.y0)
    past_rules = side_bordered(graphics, top.x0, top.y0, bottom) and any(
        line.box.x0 < top.x0 - 6 or line.box.x1 > top.x1 + 6
        for line in notes
        if line.box.shares_row(first.box)
    )
    if not (apart or past_rules or (one_per_row and (smaller or marked or paragraph))):
        return box
    kept = [line.box for line in cells] + [
        graphic.box
        for graphic in graphics
        if box.contains_point(graphic.box.center_x, graphic.box.center_y, 1.0)
        and graphic.box.center_y <= bottom + 1
    ]
    return union_of(kept).clip(box)


def sources_under_caption(caption: Box, lines: Sequence[TextLine], graphics: Sequence[Graphic]) -> list[int]:
    """The rows of a paragraph naming an item's sources set right under a caption heading the item
    ("Sources: Uruguayan Economics and Finance Ministry; ..." over a table's top rule): neither the
    caption's nor the item's. Its rows are flush left with its first, one line to a row, a line's
    height apart at most, with no rule between them."""
    under = sorted(
        (
            index
            for index, line in enumerate(lines)
            if line.box.y0 >= caption.y1 - 1 and line.box.horizontal_overlap(caption) > 0
        ),
        key=lambda index: lines[index].box.y0,
    )
    if not under or not names_source(lines[under[0]].text):
        return []
    source = lines[under[0]]
    if (
        source.box.y0 - caption.y1 > 2 * source.size
        or sum(line.box.shares_row(source.box) for line in lines) > 1
    ):
        return []  # (set apart from the caption, or a row of cells)
    rules = joined_rules(graphics)
    rows = [under[0]]
    end = source.box
    for index in under[1:]:
        line = lines[index]
        if line.box.y0 <= end.y1 - 0.5 * line.size:
            continue  # (a piece of a row already passed)
        if (
            sum(other.box.shares_row(line.box) for other in lines) > 1  # (a table's row of cells)
            or abs(line.box.x0 - source.box.x0) > 2
            or abs(line.size - source.size) > 0.5
            or line.box.y0 - end.y1 > source.size
            or any(end.y1 - 1 <= rule.y0 and rule.y1 <= line.box.y0 + 1 for rule in rules)
        ):
            break
        rows.append(index)
        end = line.box
    return rows


def without_source_rows(
    box: Box, rows: Sequence[int], lines: Sequence[TextLine], graphics: Sequence[Graphic]
) -> Box:
    """The item's box starts under the rows naming its sources (`sources_under_caption`) where a
    cluster took them in with its rows."""
    if not rows:
        return box
    end = max(lines[index].box.y1 for index in rows)
    rest = [line.box for line in lines if line.box.y0 >= end - 1] + [
        graphic.box for graphic in graphics if graphic.box.y0 >= end - 1
    ]
    rest = [part for part in rest if box.contains_point(part.center_x, part.center_y, 1.0)]
    if box.y0 > end or not rest:
        return box
    kept = union_of(rest)
    return Box(max(box.x0, kept.x0), kept.y0, min(box.x1, kept.x1), box.y1)
