"""Drawings of a page: graphics close together become clusters, the non-prose text touching them
joins them (axis labels, legends, table cells), decorations and rules are told apart. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from cephalo_ray.extract.caption_blocks import opens_caption
from cephalo_ray.extract.caption_continuation import finishes_sentence
from cephalo_ray.extract.geometry import (
    ACROSS_PAGE,
    RULE_THICKNESS,
    Box,
    Cluster,
    Graphic,
    TextLine,
    TextStats,
    union_of,
)
from cephalo_ray.extract.page_text import (
    SECTION_HEADING,
    is_body_line,
    is_full_prose_line,
    is_numbered_subheading,
    is_row_of_cells,
    is_small_print,
    is_wordy,
    mostly_letters,
    underlines_text,
    word_count,
)

HEADING_SCALE = 1.2  # a line this much larger than the body is a heading
GRAPHIC_GAP = 6.0  # paths and images closer than this (points) belong to one drawing


TEXT_GAP = 7.0  # non-body text this close to a drawing is part of it (axis labels, legends)


MARGIN_BAND = 0.055  # elements wholly inside the top/bottom 5.5% of the page are headers and footers


BACKGROUND_AREA = 0.6  # an element this large is a page background or a scan, not a figure...
PAGE_COVER_AREA = 0.85  # ...unless it is an image inside the margins below this (a full-page figure)


# (7), (3.55), (A2), and the chapter's number joined by a hyphen in full-width brackets as Chinese
# theses set it, （3-23）; not (0.088)
EQUATION_NUMBER = re.compile(r"^[(（](?:[A-Z]\.?)?[1-9]\d{0,2}(?:[.-]\d{1,2})?[a-z]?[)）]$")
NUMERIC_CELL = re.compile(r"[-−+]?\(?[\d.,]*\d[\d.,]*\)?%?\**")  # -0.0330***, (0.0066), 12%


def is_decoration(box: Box, page: Box, kind: str = "path") -> bool:
    """Page backgrounds, header/footer ornaments and elements outside the page."""
    if box.width <= 0 or box.height <= 0:
        return True
    if box.area >= BACKGROUND_AREA * page.area:
        # a figure filling its page is one image kept inside the margins; a background comes close to
        # the paper's edges (a frame drawn round the text area is a path, and stays a decoration)
        inset = min(box.x0 - page.x0, page.x1 - box.x1, box.y0 - page.y0, page.y1 - box.y1)
        in_margins = kind == "image" and inset >= 0.03 * min(page.width, page.height)
        if box.area >= PAGE_COVER_AREA * page.area or not in_margins:
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


def panel_off_the_side(graphic: Graphic, graphics: Sequence[Graphic], page: Box) -> bool:
    """A picture in the body rows whose white margin runs off a side of the paper, beside another
    picture of the same height: a row of panels (a bleed ornament stands alone)."""
    box = graphic.box
    if graphic.kind != "image" or box.width < 0.25 * page.width or box.height < 0.1 * page.height:
        return False
    if box.y0 <= page.y0 + 1.0 or box.y1 >= page.y1 - 1.0:
        return False
    return any(
        other is not graphic
        and other.kind == "image"
        and abs(other.box.y0 - box.y0) <= 2.0
        and abs(other.box.y1 - box.y1) <= 2.0
        and other.box.horizontal_overlap(box) <= 0
        for other in graphics
    )


def picture_off_one_side(graphic: Graphic, page: Box) -> bool:
    """A picture half the paper wide or more and a fifth of it high, in the body rows, whose white
    margin runs off one side of the paper only (a screenshot of a table placed wider than the
    text): a picture, where a bleed ornament is a narrow bar or a band across the whole width."""
    box = graphic.box
    if graphic.kind != "image" or box.width < 0.5 * page.width or box.height < 0.2 * page.height:
        return False
    if box.area >= PAGE_COVER_AREA * page.area or box.y0 <= page.y0 + 1.0 or box.y1 >= page.y1 - 1.0:
        return False
    return (box.x0 <= page.x0 + 1.0) != (box.x1 >= page.x1 - 1.0)


def stacked_under_band(graphic: Graphic, graphics: Sequence[Graphic], page: Box) -> bool:
    """A panel as large as a page's background, inside the margins, right under a band of its own
    width (a tall table's body under its header row); a frame round the text area has no band on it."""
    box = graphic.box
    if graphic.kind != "path" or box.area >= PAGE_COVER_AREA * page.area:
        return False
    return any(
        other is not graphic
        and other.kind == "path"
        and abs(other.box.y1 - box.y0) <= 2.0
        and abs(other.box.x0 - box.x0) <= 3.0
        and abs(other.box.x1 - box.x1) <= 3.0
        and other.box.height >= 5.0
        and not is_decoration(other.box, page, other.kind)
        for other in graphics
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
    spans: list[tuple[int, int] | None] = []
    for box in boxes:
        left, top = (box.x0 - page.x0 - half_x) * scale, (box.y0 - page.y0 - half) * scale
        right, bottom = (box.x1 - page.x0 + half_x) * scale, (box.y1 - page.y0 + half) * scale
        if left >= width - 1 or top >= height - 1 or right < 0 or bottom < 0:
            spans.append(None)  # wholly off the page (text a PDF wrote past its edge): a group of its own
            continue
        x0, y0 = int(max(0, left)), int(max(0, top))
        x1, y1 = int(min(width - 1, right)) + 1, int(min(height - 1, bottom)) + 1
        grid[y0:y1, x0:x1] = True
        spans.append((y0, x0))
    labels, _ = ndimage.label(grid)
    groups: dict[int, list[int]] = {}
    for index, span in enumerate(spans):
        key = -1 - index if span is None else int(labels[span])
        groups.setdefault(key, []).append(index)
    return list(groups.values())


def visible_graphics(
    graphics: Sequence[Graphic], lines: Sequence[TextLine], page: Box, stats: TextStats
) -> tuple[list[Graphic], list[Box]]:
    """Drop elements that cannot be what prints: big paths under lines of prose and anything under
    a caption's first line (shadows, masks, images clipped away when printed). Also returns the
    boxes of the sidebars of prose found (their frames dropped, their lines are body text)."""
    prose = [line.box for line in lines if is_full_prose_line(line, stats)]
    opened = [(line.box, opens_caption(lines, index, stats.line_gap)) for index, line in enumerate(lines)]
    labels = [box for box, label in opened if label is not None]
    table_labels = [box for box, label in opened if label is not None and label.kind == "table"]
    tinted = tinted_table_panels(graphics, table_labels, stats)
    wordy = [line.box for line in lines if is_wordy(line.text)]
    kept, sidebars = [], []
    for index, graphic in enumerate(graphics):
        if graphic.kind == "path" and any(highlights(graphic.box, box) for box in wordy):
            continue  # a highlighter's mark behind a line of words (a table's shaded row spans cells)
        if (
            graphic.kind == "path"
            and graphic.box.height <= 1.5
            and underlines_text(graphic.box, lines, stats)
        ):
            continue  # a heading's underline is part of its text
        if graphic.kind == "path" and graphic.box.area > 0.05 * page.area and index not in tinted:
            covered = [box for box in prose if graphic.box.contains_point(box.center_x, box.center_y)]
            # (unless a caption heads or closes it: a framed table of events in sentences)
            if len(covered) >= 2 and not captioned(graphic.box, labels, lines, covered[0].height):
                continue
        if graphic.kind == "path" and index not in tinted and is_text_panel(index, graphics, lines, labels):
            sidebars.append(graphic.box)
            continue
        # an element printed over a caption's first line is clipped away where the caption shows,
        # unless only its edge (an image's white margin) runs into the line from a picture above
        # or below: that picture ends where the caption starts
        over = [box for box in labels if graphic.box.contains_point(box.center_x, box.center_y)]
        if graphic.kind == "path" and any(
            graphic.box.intersection_area(box) >= 0.99 * box.area for box in over
        ):
            continue  # a frame drawn round a figure and its caption together, no part of either
        if over:
            graphic = over_its_caption_trimmed(edge_trimmed(graphic, over), over, lines)
            if any(graphic.box.contains_point(box.center_x, box.center_y) for box in labels):
                continue
        # the side of a frame drawn round a figure and its caption together passes beside the
        # caption; left in, it would make the caption look like text inside the figure (a path,
        # or a thin bar of raster some publishers draw their frames with)
        if graphic.box.width <= 2.5:
            if any(
                graphic.box.y0 < box.y0 - 2
                and graphic.box.y1 > box.y1 + 2
                and graphic.box.height > 3 * box.height
                for box in labels
            ):
                continue
        kept.append(graphic)
    return kept, sidebars


def is_text_panel(
    index: int, graphics: Sequence[Graphic], lines: Sequence[TextLine], labels: Sequence[Box]
) -> bool:
    """A frame or tint round a sidebar of prose ("Key findings", "Overview"): four or more lines of
    words in one column filling it, nothing drawn inside but its own frames and bullets, and no
    caption just above or below it (a figure that is a framed text, a prompt or a listing, has one).
    Left in, it reads as a drawing and joins the nearest figure."""
    box = graphics[index].box
    if box.width < 60 or box.height < 40:
        return False
    inside = [line for line in lines if box.contains_point(line.box.center_x, line.box.center_y)]
    rows: list[list[TextLine]] = []  # (a justified narrow column may come as pieces of a line)
    for line in sorted(inside, key=lambda line: line.box.center_y):
        if rows and abs(rows[-1][0].box.center_y - line.box.center_y) <= 0.3 * line.box.height:
            rows[-1].append(line)
        else:
            rows.append([line])
    text = " ".join(line.text for line in inside)
    if len(rows) < 4 or len(text.split()) < 2 * len(rows) or not mostly_letters(text):
        return False
    # a framed table: its rows are cells columns apart, not lines of prose (code in a typewriter face
    # lines its columns up with spaces, and its panel is the body's: a listing printed in the text)
    celled = sum(
        1 for row in rows if len(row) >= 2 and is_row_of_cells(row) and not all(line.mono for line in row)
    )
    if celled >= 0.5 * len(rows):
        return False
    spans = [union_of([line.box for line in row]) for row in rows]
    # (rows of prose or code filling it, not a chart's legend entries "TB (100)" and its row of
    # tick names, the frame empty between them)
    worded = sum(1 for row in rows if is_wordy(" ".join(line.text for line in row), 3))
    if worded < 0.6 * len(rows) and sum(span.height for span in spans) < 0.35 * box.height:
        return False
    left = min(span.x0 for span in spans)
    one_column = sum(1 for span in spans if span.x0 <= left + 0.15 * box.width)
    widest = max(span.width for span in spans)
    filled = spans[-1].y1 - spans[0].y0
    if one_column < 0.8 * len(spans) or widest < 0.6 * box.width or filled < 0.5 * box.height:
        return False
    for other, graphic in enumerate(graphics):
        if other == index or not box.contains_point(graphic.box.center_x, graphic.box.center_y):
            continue
        if graphic.kind == "image" and graphic.box.area > 0.02 * box.area:
            return False
        nested_frame = graphic.box.width >= 0.9 * box.width and graphic.box.height >= 0.8 * box.height
        small = graphic.box.width <= 12 and graphic.box.height <= 12
        thin = min(graphic.box.width, graphic.box.height) <= RULE_THICKNESS
        if graphic.kind == "path" and not (nested_frame or small or thin):
            return False
    if joined_to_another_box(box, graphics):
        return False
    return not captioned(box, labels, lines, sorted(span.height for span in spans)[len(spans) // 2])


def captioned(box: Box, labels: Sequence[Box], lines: Sequence[TextLine], line_height: float) -> bool:
    """A caption's label row stands just above or just below the box, within three lines of it."""
    return any(
        label_row(label, lines).horizontal_overlap(box) > 0
        and (
            box.y0 - 3 * line_height <= label.y1 <= box.y0 + 1
            or box.y1 - 1 <= label.y0 <= box.y1 + 3 * line_height
        )
        for label in labels
    )


def joined_to_another_box(box: Box, graphics: Sequence[Graphic]) -> bool:
    """A box of text level with another of its size, a connector drawn in the gap between them: the
    steps of a flowchart, not a sidebar of prose."""
    for other in graphics:
        sibling = other.box
        if other.kind != "path" or sibling == box or sibling.width < 0.5 * box.width:
            continue
        level = sibling.vertical_overlap(box) >= 0.8 * min(sibling.height, box.height)
        stacked = sibling.horizontal_overlap(box) >= 0.8 * min(sibling.width, box.width)
        if level and sibling.horizontal_overlap(box) <= 0:
            left, right = sorted((box, sibling), key=lambda b: b.x0)
            gap = Box(left.x1, max(box.y0, sibling.y0), right.x0, min(box.y1, sibling.y1))
        elif stacked and sibling.vertical_overlap(box) <= 0:
            upper, lower = sorted((box, sibling), key=lambda b: b.y0)
            gap = Box(max(box.x0, sibling.x0), upper.y1, min(box.x1, sibling.x1), lower.y0)
        else:
            continue
        if gap.width <= 0 or gap.height <= 0:
            continue
        if any(
            connector.kind == "path" and gap.contains_point(connector.box.center_x, connector.box.center_y)
            for connector in graphics
        ):
            return True
    return False


def label_row(label: Box, lines: Sequence[TextLine]) -> Box:
    """A caption label's line with the title set a tab after it on the same row ("FIGURE 1  Methods"
    at the left of a row of framed boxes): the caption's first row as wide as it prints."""
    row = label
    for line in lines:
        if (
            abs(line.box.center_y - label.center_y) <= 0.3 * label.height
            and label.x1 - 1 <= line.box.x0 <= label.x1 + 2 * label.height
        ):
            row = row.union(line.box)
    return row


def edge_trimmed(graphic: Graphic, labels: Sequence[Box]) -> Graphic:
    """The graphic cut back to the edge of the caption line its border runs into, when the graphic
    reaches only a line or two into it and stands well clear of it on the other side."""
    box = graphic.box
    for label in labels:
        # (a picture's foot may run two lines into its caption below; a frame starting within a line
        # and a half of a caption's foot runs round the caption's own rows)
        clear = 6.0 * label.height
        if label.y0 < box.y1 <= label.y0 + 2.0 * label.height and box.y0 < label.y0 - clear:
            box = Box(box.x0, box.y0, box.x1, label.y0 - 0.5)
        elif label.y1 - 1.5 * label.height <= box.y0 < label.y1 and box.y1 > label.y1 + clear:
            box = Box(box.x0, label.y1 + 0.5, box.x1, box.y1)
    return graphic if box == graphic.box else Graphic(box, graphic.kind)


def over_its_caption_trimmed(graphic: Graphic, labels: Sequence[Box], lines: Sequence[TextLine]) -> Graphic:
    """A picture whose box runs on down through its caption (an image with a blank band at its foot,
    the caption printed over it) cut back to the caption's top: it stands well clear above the label,
    and below the label's top it holds only lines of words (the caption's), down to its foot."""
    box = graphic.box
    for label in labels:
        if not box.contains_point(label.center_x, label.center_y) or box.y0 > label.y0 - 6 * label.height:
            continue
        under = [
            line
            for line in lines
            if line.box.y0 >= label.y0 - 1 and box.contains_point(line.box.center_x, line.box.center_y)
        ]
        if not under:
            continue
        wordy = sum(1 for line in under if is_wordy(line.text))
        # (the caption's rows reach down to the picture's foot, or the foot stops among them)
        if wordy >= 0.5 * len(under):
            box = Box(box.x0, box.y0, box.x1, label.y0 - 0.5)
    return graphic if box == graphic.box else Graphic(box, graphic.kind)


def tinted_table_panels(
    graphics: Sequence[Graphic], table_labels: Sequence[Box], stats: TextStats
) -> set[int]:
    """Indices of the tinted bands a table is printed on: a band starting just under its caption's
    label (or holding it), and each band of the same width stacked right under one of those. Their
    cells may read as prose, yet the panel is the table, not a box of text."""
    bands = {
        index
        for index, graphic in enumerate(graphics)
        for label in table_labels
        if graphic.kind == "path"
        and graphic.box.horizontal_overlap(label) > 0.5 * label.width
        and (
            label.y0 - 1 <= graphic.box.y0 <= label.y1 + stats.body_size
            or graphic.box.contains_point(label.center_x, label.center_y)
        )
    }
    grown = True
    while grown:
        stacked = {
            index
            for index, graphic in enumerate(graphics)
            if index not in bands
            and graphic.kind == "path"
            and any(
                abs(graphic.box.y0 - graphics[band].box.y1) <= 2
                and abs(graphic.box.x0 - graphics[band].box.x0) <= 3
                and abs(graphic.box.x1 - graphics[band].box.x1) <= 3
                for band in bands
            )
        }
        bands |= stacked
        grown = bool(stacked)
    return bands


def highlights(mark: Box, line: Box) -> bool:
    """The mark lies behind the line and no further: about a row high (not a rule), within the
    line's extent."""
    return (
        0.5 * line.height <= mark.height <= 1.5 * line.height
        and mark.vertical_overlap(line) >= 0.7 * mark.height
        and line.x0 - 3 <= mark.x0
        and mark.x1 <= line.x1 + 3
        and mark.width >= 3 * line.height
    )


def graphic_clusters(graphics: Sequence[Graphic], page: Box) -> list[Cluster]:
    """Images and paths close to each other, as clusters; ornaments left out."""
    elements = [
        graphic
        for graphic in graphics
        if not is_decoration(graphic.box, page, graphic.kind)
        or panel_off_the_side(graphic, graphics, page)
        or picture_off_one_side(graphic, page)
        or stacked_under_band(graphic, graphics, page)
    ]
    groups = cluster_boxes([element.box for element in elements], GRAPHIC_GAP, page)
    groups = [part for group in groups for part in without_separating_rules(group, elements, page)]
    clusters = []
    for group in groups:
        box = elements[group[0]].box
        for member in group[1:]:
            box = box.union(elements[member].box)
        # (a strip of picture a few points wide is a rule a converter painted: a table's divider)
        images = sum(
            1
            for member in group
            if elements[member].kind == "image"
            and min(elements[member].box.width, elements[member].box.height) > 2 * RULE_THICKNESS
        )
        clusters.append(Cluster(box, images=images, paths=len(group) - images))
    return clusters


def without_separating_rules(group: list[int], elements: Sequence[Graphic], page: Box) -> list[list[int]]:
    """The group, with a thin rule across the text that only grazes its top or bottom edge taken out
    as a group of its own: a rule under a one-column chart that runs on under the next column's item
    separates the floats from the text, it is not the chart's."""
    rules = [
        index
        for index in group
        if elements[index].kind == "path"
        and elements[index].box.height <= RULE_THICKNESS
        and elements[index].box.width >= ACROSS_PAGE * page.width
    ]
    rest = [index for index in group if index not in rules]
    if not rules or not rest:
        return [group]
    drawing = union_of([elements[index].box for index in rest])
    separating = [
        index
        for index in rules
        if (rule := elements[index].box).width >= 2 * drawing.width
        and (rule.y0 >= drawing.y1 - 1.0 or rule.y1 <= drawing.y0 + 1.0)
    ]
    if not separating:
        return [group]
    kept = [index for index in group if index not in separating]
    parts = cluster_boxes([elements[index].box for index in kept], GRAPHIC_GAP, page)
    return [[kept[member] for member in part] for part in parts] + [[index] for index in separating]


def labels_row_of_numbers(line: TextLine, lines: Sequence[TextLine]) -> bool:
    """The line heads a row of two numeric cells or more set well to its right ("Number of Opt Outs"
    level with "-0.0330***" and "-0.0336***"): standing in a block of its own (or wrapped once), a
    table's row label however long, never a line of prose (a paragraph may run beside one number, a
    chart's tick on its axis)."""
    numbers = [
        other
        for other in lines
        if other is not line
        and other.box.shares_row(line.box)
        and other.box.x0 - line.box.x1 >= 2 * line.size
        and NUMERIC_CELL.fullmatch(other.text.strip()) is not None
        and EQUATION_NUMBER.fullmatch(other.text.strip()) is None
    ]
    return len(numbers) >= 2


def build_clusters(
    lines: Sequence[TextLine],
    clusters: list[Cluster],
    page: Box,
    caption_lines: set[int],
    stats: TextStats,
    floats: Sequence[Box] = (),
    sidebars: Sequence[Box] = (),
) -> tuple[list[Cluster], set[int]]:
    """Graphic clusters grown by the non-body text around them, plus text-only clusters; also the
    indices of body lines. Lines inside `floats` (a ruled algorithm's pseudo-code) are never body;
    lines inside `sidebars` (framed prose) always are."""
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
        in_sidebar = any(box.contains_point(line.box.center_x, line.box.center_y, 1.0) for box in sidebars)
        block = by_block.get(line.block, [line])
        titled = titled_drawing(line, clusters) if not inside and len(block) == 1 else None
        prose = not titled and (in_sidebar or (not inside and is_body_line(line, block, stats)))
        prose = prose and not (len(block) <= 2 and labels_row_of_numbers(line, lines))
        # (a line of running words centred under a drawing, opening with a panel's letter, is the
        # panel's sub-caption, not prose; so is one across the column in a smaller size, further off
        # than the drawing's own text stands: nothing else would take it in)
        across = not inside and line.box.width >= 0.7 * stats.column_width
        panel = titled or (
            subcaptioned_drawing(line, clusters, TEXT_GAP if not prose else 0.0)
            if (prose or across) and not in_sidebar
            else None
        )
        if panel is not None:
            # (joined at once: the chart's own labels that stand between them join it later)
            panel.box = panel.box.union(line.box)
            panel.lines.append(index)
        elif prose:
            body.add(index)
        else:
            free.append(index)
    in_floats: set[int] = set()
    for area in floats:  # a float's lines are its item, however loosely they are set
        members = [
            index
            for index in free
            if index not in in_floats
            and area.contains_point(lines[index].box.center_x, lines[index].box.center_y, 1.0)
        ]
        if members:
            in_floats.update(members)
            box = union_of([area, *(lines[index].box for index in members)])
            clusters.append(Cluster(box, paths=2, lines=members))
    clusters = absorb_text(
        clusters, lines, [index for index in free if index not in in_floats], page, stats.body_size
    )
    absorbed = {index for cluster in clusters for index in cluster.lines}
    clusters.extend(text_clusters(lines, [i for i in free if i not in absorbed], page, stats))
    return clusters, body - with_legends_under_drawings(clusters, body, lines, caption_lines)


def titled_drawing(line: TextLine, drawings: Sequence[Cluster]) -> Cluster | None:
    """The drawing whose title the line is: a line alone in its block, centred over the drawing
    right under it and no wider, however wide it runs ("Balance Before and After Propensity
    Adjustment", "Warping Path" over one of two charts side by side), part of the figure, not prose
    nor a heading. A sentence or a numbered heading over a figure is the text's."""
    words = len(line.text.split())
    if not 2 <= words <= 12 or not mostly_letters(line.text):
        return None
    if finishes_sentence(line) or SECTION_HEADING.match(line.text):
        return None
    box = line.box
    return drawing_centred_on(
        line,
        drawings,
        lambda drawing: (
            drawing.x0 - 2 <= box.x0
            and box.x1 <= drawing.x1 + 2
            and 0 <= drawing.y0 - box.y1 <= 1.5 * line.size
        ),
    )


def drawing_centred_on(
    line: TextLine, drawings: Sequence[Cluster], placed: Callable[[Box], bool]
) -> Cluster | None:
    """The first drawing centred on the line and `placed` (given the drawing's box) where its title
    or sub-caption would stand."""
    box = line.box
    # (a chart is taller than a few lines; a formula's brace under its script is not)
    return next(
        (
            drawing
            for drawing in drawings
            if not drawing.text_only
            and drawing.box.height >= 4 * box.height
            and abs(box.center_x - drawing.box.center_x) <= 0.15 * drawing.box.width
            and placed(drawing.box)
        ),
        None,
    )


# a panel's own caption opens with its letter: "(b) f0 contours ...", "b) Time series ..."
PANEL_LETTER_START = re.compile(r"\(?[a-z]\)\s+\S")


def subcaptioned_drawing(line: TextLine, drawings: Sequence[Cluster], beyond: float = 0.0) -> Cluster | None:
    """The drawing whose sub-caption the line is: a line opening with a panel's letter, centred
    right under the drawing (more than `beyond` under it), however wide it runs ("(b) f0 contours
    plotted separately for each target word"), part of the figure, not prose. (The panel's tick
    labels and axis title may stand between them, not yet joined to the drawing.)"""
    if not PANEL_LETTER_START.match(line.text.strip()):
        return None
    box = line.box
    return drawing_centred_on(line, drawings, lambda drawing: beyond < box.y0 - drawing.y1 <= 3 * line.size)


def with_legends_under_drawings(
    clusters: list[Cluster], body: set[int], lines: Sequence[TextLine], caption_lines: set[int]
) -> set[int]:
    """Joins to each drawing the legend set right under it that read as prose, and returns the
    lines so taken from the body: two or three lines, no wider than the drawing (give or take an
    em), the last one shorter and centred ("Dioxo-decahydroacridine derivatives - 1/0, 3/0, 6/0,
    7/0;" over a centred "QAS - "J" inhibitor", under a chart and over its caption). A paragraph's
    last line starts at its left edge."""
    taken: set[int] = set()
    for index in sorted(body, key=lambda at: lines[at].box.y0):
        if index in taken:
            continue
        line = lines[index]
        under = [
            cluster
            for cluster in clusters
            if not cluster.text_only
            and cluster.box.y0 < line.box.y0
            and -0.3 * line.size <= line.box.y0 - cluster.box.y1 <= 1.5 * line.size
        ]
        if not under:
            continue
        stack = stacked_under(index, lines, caption_lines | {at for cluster in under for at in cluster.lines})
        if not 2 <= len(stack) <= 3:
            continue
        last = lines[stack[-1]]
        left = min(lines[at].box.x0 for at in stack)
        right = max(lines[at].box.x1 for at in stack)
        if last.box.x0 - left < 2 * line.size or abs(last.box.center_x - (left + right) / 2) > line.size:
            continue
        drawing = next(
            (
                cluster
                for cluster in under
                if cluster.box.height >= 4 * line.box.height
                and cluster.box.x0 - line.size <= left
                and right <= cluster.box.x1 + line.size
                and abs((left + right) / 2 - cluster.box.center_x) <= 0.15 * cluster.box.width
            ),
            None,
        )
        if drawing is None:
            continue
        drawing.box = union_of([drawing.box, *(lines[at].box for at in stack)])
        drawing.lines.extend(at for at in stack if at not in drawing.lines)
        taken.update(stack)
    return taken


def stacked_under(index: int, lines: Sequence[TextLine], skip: set[int], most: int = 4) -> list[int]:
    """The line and the lines stacked under it, line under line with no more than half a line
    between them and overlapping it across (at most `most`), whatever blocks the PDF wrote them in
    (a word processor writes each line as its own block), top to bottom."""
    stack = [index]
    while len(stack) < most:
        bottom = lines[stack[-1]].box
        left = min(lines[at].box.x0 for at in stack)
        right = max(lines[at].box.x1 for at in stack)
        size = lines[index].size
        following = next(
            (
                at
                for at, other in enumerate(lines)
                if at not in stack
                and at not in skip
                and other.box.x0 < right
                and left < other.box.x1
                and -0.3 * size <= other.box.y0 - bottom.y1 <= 0.6 * size
            ),
            None,
        )
        if following is None:
            break
        stack.append(following)
    return stack


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
        if any(is_equation_number(lines[member], lines) for member in members) or numbered_row(
            lines, members
        ):
            continue  # a displayed equation: "(7)" at its side
        if is_small_print([lines[member] for member in members], stats):
            continue  # references or notes in small type: prose, though not body-sized
        if numbered_notes([lines[member] for member in members]):
            continue  # a list of notes, one per row ("1Stanford ...: http://...", "2Koblenz ...")
        if sum(1 for member in members if is_wordy(lines[member].text)) >= 0.6 * len(members):
            continue  # running text (a page laid out unlike the rest), not a table's cells
        if hyphenated_breaks([lines[member] for member in members]) >= 2:
            continue  # a narrow paragraph ("the density of formation wa-" + "ter; ..."): prose
        box = union_of(lines[member].box for member in members)
        clusters.append(Cluster(box, lines=members, text_only=True))
    return clusters


def hyphenated_breaks(block_lines: Sequence[TextLine]) -> int:
    """How many lines break a word with a hyphen and the line under them goes on with it in lower
    case: typeset prose does this, a table's cells hardly."""
    rows = sorted(block_lines, key=lambda line: (line.box.y0, line.box.x0))
    return sum(
        1
        for above, below in zip(rows, rows[1:], strict=False)
        if re.search(r"[a-z]-$", above.text.rstrip())
        and below.text.lstrip()[:1].islower()
        and below.box.y0 >= above.box.y1 - 1
        and below.box.horizontal_overlap(above.box) > 0
    )


NOTE_NUMBER = re.compile(r"^\s*(\d{1,2})(?=[^\d\s.,:;%)\-])")


def numbered_notes(block_lines: Sequence[TextLine]) -> bool:
    """Each row is one line opening with the next number of a series (1, 2, 3, ...) stuck to its first
    word: notes or a numbered list, not a table's cells (a table's row numbers stand apart from
    their row's other cells)."""
    rows = sorted(block_lines, key=lambda line: line.box.y0)
    if any(above.box.shares_row(below.box) for above, below in zip(rows, rows[1:], strict=False)):
        return False
    numbers = [NOTE_NUMBER.match(line.text) for line in rows]
    if not all(numbers):
        return False
    values = [int(match[1]) for match in numbers if match]
    return values == list(range(values[0], values[0] + len(values)))


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


def is_equation_number(line: TextLine, lines: Sequence[TextLine]) -> bool:
    """ "(7)" alone on its row; several bracketed numbers side by side are a table's standard
    errors ("(3.556)  (3.495)")."""
    return bool(EQUATION_NUMBER.match(line.text)) and not any(
        other is not line and other.box.shares_row(line.box) and EQUATION_NUMBER.match(other.text)
        for other in lines
    )


def numbered_row(lines: Sequence[TextLine], members: Sequence[int]) -> bool:
    """An equation number stands on the row of one of these lines, to their right (at the margin)."""
    right = max(lines[member].box.x1 for member in members)
    return any(
        is_equation_number(line, lines)
        and line.box.x0 >= right
        and any(line.box.shares_row(lines[member].box) for member in members)
        for line in lines
    )


def absorb_text(
    clusters: list[Cluster], lines: Sequence[TextLine], free: list[int], page: Box, body_size: float
) -> list[Cluster]:
    """Attach free text lines touching a cluster, then merge clusters that now touch, until stable."""
    pending = list(free)
    changed = True
    while changed and clusters:
        changed = False
        remaining = []
        for index in pending:
            box = lines[index].box
            # (a line of running words under a bare rule is a footnote under its separator, a line
            # set larger than the body a heading under the rule that opens its section)
            wordy = is_wordy(lines[index].text) or lines[index].size >= HEADING_SCALE * body_size
            # (a subsection's numbered heading over or under a drawing opens the text after it,
            # however close it stands: "4.6 Results" under a table's foot, in the body's size)
            heading = is_numbered_subheading(lines[index])
            # (so does a heading set larger than the body over a drawing, starting well left of it: a
            # data sheet's "PIN CONFIGURATION AND FUNCTION DESCRIPTIONS" over its centred pin diagram)
            section = (
                lines[index].size >= HEADING_SCALE * body_size
                and word_count(lines[index].text) >= 2
                and mostly_letters(lines[index].text)
            )
            # (a number alone, a tick's label, may stand a little further off an axis drawn alone)
            number = not any(char.isalpha() for char in lines[index].text)
            target = next(
                (
                    cluster
                    for cluster in clusters
                    if cluster.box.near(
                        box, max(TEXT_GAP, box.height) if number and bare_axis(cluster, page) else TEXT_GAP
                    )
                    and not (wordy and bare_rule_above(cluster, box))
                    and not (heading and not cluster.box.y0 < box.center_y < cluster.box.y1)
                    and not (
                        section
                        and box.y1 <= cluster.box.y0 + 1
                        and box.x0 < cluster.box.x0 - 2 * lines[index].size
                    )
                ),
                None,
            )
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


def bare_axis(cluster: Cluster, page: Box) -> bool:
    """The cluster is one thin horizontal stroke and nothing else, shorter than a rule across the page:
    an axis drawn apart from its chart."""
    return (
        not cluster.images
        and not cluster.lines
        and cluster.paths == 1
        and cluster.box.height <= RULE_THICKNESS
        and cluster.box.width < ACROSS_PAGE * page.width
    )


def bare_rule_above(cluster: Cluster, box: Box) -> bool:
    """The cluster is one thin horizontal rule, alone, above the line."""
    rule = cluster.box
    return (
        not cluster.images
        and not cluster.lines
        and cluster.paths <= 2
        and rule.height <= RULE_THICKNESS
        and rule.y1 <= box.center_y
    )


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
