"""Which clusters each caption claims: the zone above, below or beside it, bounded by body text and
other captions, with a cost per claim; the cheapest claims win, one caption to a cluster. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cephalo_ray.extract.clusters import GRAPHIC_GAP, numbered_row
from cephalo_ray.extract.geometry import (
    RULE_THICKNESS,
    Box,
    Caption,
    Cluster,
    Graphic,
    TextLine,
    TextStats,
    edge_gap,
    is_rule,
    union_of,
)
from cephalo_ray.extract.page_text import is_wordy
from cephalo_ray.extract.ruled_floats import same_span

PANEL_GAP = 30.0  # panels of one figure are at most this far apart
MAX_CAPTION_GAP = 72.0  # a caption further than one inch from its figure is not its caption
SINGLE_SPACED_GAP = 2.0  # white space between the lines of single-spaced prose (TextStats.line_gap)
BESIDE_MAX_GAP = 54.0  # a caption beside its figure sits in the next column (ragged right: measured loosely)
MIN_THICKNESS = 10.0  # items thinner than this in one direction are rules
CONVENTION_BONUS = 10.0  # points of gap forgiven where a caption sits by convention


@dataclass(frozen=True)
class Claim:
    cost: float
    caption: int
    clusters: tuple[int, ...]
    box: Box
    placement: str


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


def caption_reach(stats: TextStats) -> float:
    """How far a caption may sit from its figure: one inch, stretched (at most twice) with the line
    spacing of a double-spaced manuscript or report, whose white space around floats grows alike."""
    spacing = (stats.body_size + stats.line_gap) / (stats.body_size + SINGLE_SPACED_GAP)
    return MAX_CAPTION_GAP * min(max(spacing, 1.0), 2.0)


def vertical_claim(
    caption_index: int,
    captions: Sequence[Caption],
    clusters: Sequence[Cluster],
    blockers: Sequence[Box],
    page: Box,
    span: tuple[float, float],
    upward: bool,
    lines: Sequence[TextLine],
    max_gap: float = MAX_CAPTION_GAP,
    body_size: float | None = None,
) -> Claim | None:
    """The clusters between a caption and the nearest blocker above (or below) it, at most `max_gap`
    away (`lines`: the page's text lines, which the clusters' line indices point into; `body_size`:
    the running text's size, where known)."""
    caption = captions[caption_index].box
    left, right = span

    def overlaps(box: Box) -> bool:
        return min(box.x1, right) - max(box.x0, left) > 0.25 * min(box.width, right - left)

    def blocks(box: Box) -> bool:
        # text beside the figure, clear of the caption's own width, is body text flowing round it
        return overlaps(box) and box.horizontal_overlap(caption) > 0

    alone_on_row = not any(other.box != caption and other.box.shares_row(caption) for other in captions)

    def within(box: Box) -> bool:
        # (or starting where the caption starts: a figure wider than the column of its caption,
        # set flush left with it)
        flush = abs(box.x0 - caption.x0) <= 4.0 and box.x1 > right
        # (or reaching far over into the next column from this one, over or under a caption set at
        # its column's left edge, alone on its row: a page-wide chart over a short caption flush left)
        spread = (
            alone_on_row
            and abs(caption.x0 - left) <= 4.0
            and left <= box.x0 < right
            and box.x1 > right + 0.5 * (right - left)
        )
        return (box.center_x >= left - 2 and box.center_x <= right + 2) or flush or spread

    def astray(cluster: Cluster) -> bool:
        # text alone reaching far over into the next column (a title page's author block) is not
        # the figure of a caption set in one column
        reach = 0.25 * (right - left)
        one_column = right - left < 0.6 * page.width
        return (
            cluster.text_only
            and one_column
            and (cluster.box.x0 < left - reach or cluster.box.x1 > right + reach)
        )

    # a picture may run into the caption's nearest line up to its middle (an image's foot under a
    # label line made tall by its formulae; a turned line's thickness is its width)
    rows = [lines[index].box for index in captions[caption_index].lines] or [caption]
    nearest = min(rows, key=lambda box: box.y0) if upward else max(rows, key=lambda box: box.y1)
    reach = max(3.0, 0.5 * min(nearest.height, nearest.width))

    def on_side(box: Box) -> bool:
        return box.y1 <= caption.y0 + reach if upward else box.y0 >= caption.y1 - reach

    # a text line amid a drawing on the caption's side (a table's note the drawing's rules reach
    # round) belongs to that drawing; it stops nothing
    drawn = [c.box for c in clusters if not c.text_only and on_side(c.box) and within(c.box)]

    def spans(drawing: Box, box: Box) -> bool:
        return drawing.x0 - 1 <= box.x0 and box.x1 <= drawing.x1 + 1

    def sandwiched(box: Box) -> bool:
        # a row between two rules that each run across it, within about a row's height (a table's
        # title row under its top rule, a header row between the top rule and a column group's rule)
        near = max(3.0, 1.2 * box.height)
        above = any(spans(d, box) and -1 <= box.y0 - d.y1 <= near for d in drawn)
        below = any(spans(d, box) and -1 <= d.y0 - box.y1 <= near for d in drawn)
        return above and below

    other_captions = {other.box for other in captions}

    def axis_title(box: Box) -> bool:
        # one line hanging just under a drawing, within its width, no other line beside it above
        # or below (a chart's axis title in the body's size: "Hour of the day (from hour 0 to 23)");
        # never another item's caption
        if box in other_captions:
            return False
        hangs = any(
            d.x0 - 2 <= box.x0 and box.x1 <= d.x1 + 2 and -1 <= box.y0 - d.y1 <= 1.5 * box.height
            for d in drawn
        )
        return hangs and not any(
            other is not box
            and other.horizontal_overlap(box) > 0
            and 0 < abs(other.center_y - box.center_y) <= 1.8 * box.height
            for other in blockers
        )

    def beside_drawing(box: Box) -> bool:
        # a line level with a drawing and clear of it to one side, the drawing several lines high:
        # prose flowing round a figure narrower than its caption (a Word report's wrapped chart)
        return any(
            d.y0 - 1 <= box.center_y <= d.y1 + 1
            and d.height >= 4 * box.height
            and d.horizontal_overlap(box) <= 0
            for d in drawn
        )

    def stops(box: Box) -> bool:
        inside = any(d.contains_point(box.center_x, box.center_y, 1.0) for d in drawn)
        return (
            blocks(box)
            and not inside
            and not sandwiched(box)
            and not axis_title(box)
            and not beside_drawing(box)
        )

    if upward:
        # text boxes run above and below their glyphs (a line's box overlaps the next one's): a
        # drawing may reach into a blocking line's box up to its middle
        limit = max([b.center_y for b in blockers if b.y1 <= caption.y0 + 1 and stops(b)], default=page.y0)
    else:
        limit = min([b.center_y for b in blockers if b.y0 >= caption.y1 - 1 and stops(b)], default=page.y1)

    def before_limit(box: Box) -> bool:
        return box.y0 >= limit - 1 if upward else box.y1 <= limit + 1

    chosen = [
        i
        for i, c in enumerate(clusters)
        if before_limit(c.box) and on_side(c.box) and within(c.box) and not astray(c)
    ]
    # (text alone clear of a figure caption's width is prose flowing beside the figure: a heading
    # and the first lines of a paragraph whose other lines are body text; a table's cells may be)
    figure_caption = captions[caption_index].label.kind == "figure"

    def key_under_drawing(box: Box) -> bool:
        # (text between a drawing over it and the caption, under the drawing: a standard's "Key"
        # list set at the left, the figure's own, not prose beside it)
        return any(
            d.horizontal_overlap(box) > 0 and between_drawing_and_caption(box, d, caption, upward)
            for d in drawn
            if before_limit(d)
        )

    def over_prose_beside(box: Box) -> bool:
        # (text over the prose that flows beside a figure, reaching over that prose, is the page's:
        # a formula set across the page above the figure and the paragraph beside it)
        return any(
            prose.horizontal_overlap(box) > 0
            and prose.horizontal_overlap(caption) <= 0
            and (
                box.y1 <= prose.y0 and prose.y1 <= caption.y0
                if upward
                else caption.y1 <= prose.y0 and prose.y1 <= box.y0
            )
            for prose in blockers
        )

    chosen = [
        i
        for i in chosen
        if (
            clusters[i].box.horizontal_overlap(caption) > 0
            or (overlaps(clusters[i].box) and not (figure_caption and clusters[i].text_only))
            or (clusters[i].text_only and key_under_drawing(clusters[i].box))
        )
        and not (figure_caption and clusters[i].text_only and over_prose_beside(clusters[i].box))
    ]
    # text alone less than two of the caption's rows high is a line of prose or formulae (the rest of
    # a caption), never a table or a figure
    # (unless it is a row of three cells or more: a table's header above its body's first rule)
    row = caption.height / max(len(captions[caption_index].lines), 1)

    # (so is a line of text with a stroke or two drawn at it: a heading's underline, its line
    # maybe set larger than the caption's rows)
    def one_row_high(cluster: Cluster) -> bool:
        if cluster.text_only:
            return cluster.box.height < 1.8 * row
        own = max((lines[index].box.height for index in cluster.lines), default=0.0)
        return cluster.box.height < 1.8 * max(row, own)

    # (but entries side by side on one row, each a drawn mark and its label, are a chart's legend)
    def in_legend_row(i: int) -> bool:
        return clusters[i].paths >= 1 and any(
            j != i and clusters[j].paths >= 1 and clusters[j].box.shares_row(clusters[i].box) for j in chosen
        )

    chosen = [
        i
        for i in chosen
        if not (
            (
                clusters[i].text_only
                or (
                    figure_caption
                    and clusters[i].lines
                    and clusters[i].images == 0
                    and clusters[i].paths <= 2
                    and not in_legend_row(i)
                )
            )
            and one_row_high(clusters[i])
            and not row_of_cells([lines[index].box for index in clusters[i].lines])
        )
    ]

    def nearest_to_caption(boxes: Sequence[Box]) -> Box:
        return max(boxes, key=lambda box: box.y1 if upward else -box.y0)

    def beyond(box: Box, nearest: Box) -> bool:
        return box.y1 <= nearest.y0 if upward else box.y0 >= nearest.y1

    # (a displayed formula numbered at the margin, "(20)" on its row, beyond the rest of what the
    # caption claims is the text's, however many bars and rows its roots and fractions draw; so is
    # one beside the caption's span where the rest stands over it: the text wrapped round a figure)
    numbered = {
        i
        for i in chosen
        if clusters[i].lines and not clusters[i].images and numbered_row(lines, clusters[i].lines)
    }
    others = [clusters[i].box for i in chosen if i not in numbered]
    if numbered and others:
        nearest_other = nearest_to_caption(others)
        over_caption = any(box.horizontal_overlap(caption) > 0 for box in others)
        chosen = [
            i
            for i in chosen
            if i not in numbered
            or not (
                beyond(clusters[i].box, nearest_other)
                or (over_caption and clusters[i].box.horizontal_overlap(caption) <= 0)
            )
        ]
    # (a displayed formula beyond the drawing nearest the caption is the text's, not the figure's)
    drawings = [i for i in chosen if clusters[i].images or clusters[i].paths > 2]
    if drawings:
        nearest_drawing = nearest_to_caption([clusters[i].box for i in drawings])
        chosen = [
            i
            for i in chosen
            if not (
                (
                    is_display_formula(clusters[i], lines, row)
                    or (figure_caption and is_running_text(clusters[i], lines, body_size))
                )
                and beyond(clusters[i].box, nearest_drawing)
            )
        ]
    if not chosen:
        return None
    box = clusters[chosen[0]].box
    for i in chosen[1:]:
        box = box.union(clusters[i].box)
    # (a lone rule that heads or closes the caption is no measure of how near its item is, unless
    # text runs between it and the rest: a table's bottom rule under its loose rows)
    solid = [i for i in chosen if min(clusters[i].box.width, clusters[i].box.height) >= MIN_THICKNESS]
    near = union_of(clusters[i].box for i in solid) if solid else box
    between = Box(box.x0, near.y1, box.x1, box.y1) if upward else Box(box.x0, box.y0, box.x1, near.y0)
    if any(between.contains_point(line.box.center_x, line.box.center_y) for line in lines):
        near = box
    # (a lone rule as wide as the ruled table beyond it is that table's own top rule, however much
    # white a loosely set head row leaves under it: it measures how near the table is)
    elif (
        not figure_caption
        and solid
        and any(i not in solid and same_span(clusters[i].box, near) for i in chosen)
    ):
        near = box
    gap = caption.y0 - near.y1 if upward else near.y0 - caption.y1
    if gap > max_gap:
        return None
    return Claim(max(gap, 0.0), caption_index, tuple(chosen), box, "below" if upward else "above")


def is_running_text(cluster: Cluster, lines: Sequence[TextLine], body_size: float | None) -> bool:
    """Text alone in the body's size (a subscript may take a short line's mean size down a little),
    words running in a line of it: a paragraph or a list of definitions set after a figure ("w1:
    street width at ..."), not a part of it."""
    if body_size is None or not cluster.text_only or not cluster.lines:
        return False
    texts = [lines[index] for index in cluster.lines]
    return all(line.size >= body_size - 1.5 for line in texts) and any(
        is_wordy(line.text) and line.size >= body_size - 0.5 for line in texts
    )


def is_display_formula(cluster: Cluster, lines: Sequence[TextLine], row: float) -> bool:
    """A cluster that reads as a displayed formula: no picture, a fraction bar or two at most, a few
    rows high, an equals sign in its text and no run of words."""
    if cluster.images or cluster.paths > 2 or not cluster.lines or cluster.box.height > 4 * row:
        return False
    texts = [lines[index].text for index in cluster.lines]
    return any("=" in text for text in texts) and not any(is_wordy(text) for text in texts)


def sides_of(members: Sequence[Graphic], cut: float, slack: float) -> tuple[list[Graphic], list[Graphic]]:
    """The graphics left and right of a vertical cut, each allowed `slack` across it."""
    return [g for g in members if g.box.x1 <= cut + slack], [g for g in members if g.box.x0 >= cut - slack]


def gutter_between(members: Sequence[Graphic], low: float, high: float, middle: float) -> float | None:
    """The middle of the white column between graphics, from low to high, nearest `middle` (where two
    pictures abut, their shared edge)."""
    spans = sorted((g.box.x0, g.box.x1) for g in members)
    gutters: list[float] = []
    reach = spans[0][1] if spans else high
    for x0, x1 in spans[1:]:
        if x0 >= reach and low < (reach + x0) / 2 < high:
            gutters.append((reach + x0) / 2)
        reach = max(reach, x1)
    return min(gutters, key=lambda x: abs(x - middle), default=None)


def split_between_captions(
    clusters: list[Cluster],
    graphics: Sequence[Graphic],
    captions: Sequence[Caption],
    lines: Sequence[TextLine],
) -> list[Cluster]:
    """Two captions side by side on a row caption two pictures: a cluster over (or under) both whose
    elements each keep to one side of the middle between the captions (two images whose white margins
    touch) is split there."""
    for left, right in (
        (a.box, b.box) for a in captions for b in captions if a.box.shares_row(b.box) and a.box.x1 <= b.box.x0
    ):
        middle = (left.x1 + right.x0) / 2
        slack = max(3.0, min(10.0, 0.25 * (right.x0 - left.x1)))
        split: list[Cluster] = []
        for cluster in clusters:
            box = cluster.box
            # (a hairline crossing the middle, an image one pixel high, holds nothing of either)
            members = [
                g
                for g in graphics
                if g.box.intersection_area(box) >= 0.9 * g.box.area and min(g.box.width, g.box.height) > 1.0
            ]
            cut = middle
            sides = sides_of(members, cut, slack)
            if sum(map(len, sides)) != len(members):
                # a wide picture over a narrow caption reaches past the middle: the white between the
                # pictures, nearest the middle and between the captions' centres, is where they part
                gutter = gutter_between(members, left.center_x, right.center_x, middle)
                cut = middle if gutter is None else gutter
                sides = sides_of(members, cut, 0.0)
            beside = box.x0 < left.x1 and box.x1 > right.x0  # over (or under) both captions
            if cluster.text_only or not beside or not all(sides) or sum(map(len, sides)) != len(members):
                split.append(cluster)
                continue
            for side, on_left in zip(sides, (True, False), strict=True):
                # (a line running across the cut, under both pictures, is neither's: their shared
                # source line)
                texts = [
                    index
                    for index in cluster.lines
                    if (lines[index].box.center_x < cut) == on_left
                    and not (lines[index].box.x0 < cut - slack and lines[index].box.x1 > cut + slack)
                ]
                images = sum(1 for g in side if g.kind == "image")
                union = union_of([*(g.box for g in side), *(lines[index].box for index in texts)])
                split.append(Cluster(union, images, len(side) - images, texts))
        clusters = split
    return clusters


def split_between_stacked_captions(
    clusters: list[Cluster],
    graphics: Sequence[Graphic],
    captions: Sequence[Caption],
    lines: Sequence[TextLine],
    habits: Mapping[str, str],
) -> list[Cluster]:
    """A cluster right under a caption whose kind heads its items and right over one whose kind
    closes them holds both items, one over the other (a table under its title with a picture set
    right under its last rule, captioned under it): it is split at the widest band of white across
    it that no element crosses, each part going to its caption."""
    split: list[Cluster] = []
    for cluster in clusters:
        box = cluster.box
        heads = [
            caption.box
            for caption in captions
            if habits.get(caption.label.kind) == "above"
            and caption.box.horizontal_overlap(box) > 0
            and -1.0 <= box.y0 - caption.box.y1 <= 1.5 * caption.box.height
        ]
        closes = [
            caption.box
            for caption in captions
            if habits.get(caption.label.kind) == "below"
            and caption.box.horizontal_overlap(box) > 0
            and -1.0 <= caption.box.y0 - box.y1 <= 1.5 * caption.box.height
        ]
        members = [g for g in graphics if g.box.intersection_area(box) >= 0.9 * g.box.area and g.box.area > 0]
        cut = widest_white_band([g.box for g in members] + [lines[index].box for index in cluster.lines], box)
        if cluster.text_only or not heads or not closes or cut is None:
            split.append(cluster)
            continue
        for upper in (True, False):
            side = [g for g in members if (g.box.center_y < cut) == upper]
            texts = [index for index in cluster.lines if (lines[index].box.center_y < cut) == upper]
            images = sum(1 for g in side if g.kind == "image")
            union = union_of([*(g.box for g in side), *(lines[index].box for index in texts)])
            split.append(Cluster(union, images, len(side) - images, texts))
    return split


def widest_white_band(boxes: Sequence[Box], within: Box) -> float | None:
    """The middle of the widest band of white across `within` between the boxes (none crossing it),
    or None where every part touches the next."""
    spans = sorted((b.y0, b.y1) for b in boxes)
    best: tuple[float, float] | None = None
    reach = within.y0
    for top, bottom in spans:
        if top > reach and (best is None or top - reach > best[1] - best[0]):
            best = (reach, top)
        reach = max(reach, bottom)
    return None if best is None or best[0] <= within.y0 else (best[0] + best[1]) / 2


def split_at_caption_rows(
    clusters: list[Cluster],
    graphics: Sequence[Graphic],
    captions: Sequence[Caption],
    lines: Sequence[TextLine],
) -> list[Cluster]:
    """A caption lying across a cluster in a row of its own (a word processor's table holding a
    figure under its captioned row, or one such figure under another) parts it: what lies above the
    caption's row and what lies under it are apart, and the row's own frame belongs to neither."""
    for caption in (caption.box for caption in captions):
        reach = 0.5 * caption.height
        top, bottom = caption.y0 - reach, caption.y1 + reach
        split: list[Cluster] = []
        for cluster in clusters:
            box = cluster.box
            if cluster.text_only or box.intersection_area(caption) <= 0.5 * caption.area:
                split.append(cluster)
                continue
            members = [
                g for g in graphics if g.box.intersection_area(box) >= 0.9 * g.box.area and g.box.area > 0
            ]
            members = [g for g in members if not (g.box.y0 >= top and g.box.y1 <= bottom)]
            above = [g for g in members if g.box.y1 <= caption.y0 + 1]
            below = [g for g in members if g.box.y0 >= caption.y1 - 1]
            if not (above or below) or len(above) + len(below) != len(members):
                split.append(cluster)
                continue
            for side, upper in ((above, True), (below, False)):
                texts = [
                    index
                    for index in cluster.lines
                    if (lines[index].box.center_y < caption.center_y) == upper
                    and not lines[index].box.intersection_area(caption) > 0
                ]
                if not side and not texts:
                    continue
                images = sum(1 for g in side if g.kind == "image")
                union = union_of([*(g.box for g in side), *(lines[index].box for index in texts)])
                split.append(Cluster(union, images, len(side) - images, texts))
        clusters = split
    return clusters


def row_of_cells(boxes: Sequence[Box]) -> bool:
    """Three pieces of text or more side by side, apart: a table's row, not a line of prose."""
    ordered = sorted(boxes, key=lambda box: box.x0)
    return sum(1 for left, right in zip(ordered, ordered[1:], strict=False) if right.x0 > left.x1) >= 2


def beside_claim(
    caption_index: int, captions: Sequence[Caption], clusters: Sequence[Cluster], lines_body: Sequence[Box]
) -> Claim | None:
    """Clusters next to a caption (to its right or left) that share its vertical extent."""
    caption = captions[caption_index].box
    # (the other captions of the caption's row: what lies past one is that caption's)
    side_mates = [
        other.box
        for j, other in enumerate(captions)
        if j != caption_index
        and other.box.vertical_overlap(caption) > 0
        and other.box.horizontal_overlap(caption) <= 0
    ]
    best: Claim | None = None
    best_flanked = False
    for to_right in (True, False):
        chosen = []
        for i, cluster in enumerate(clusters):
            box = cluster.box
            gap = box.x0 - caption.x1 if to_right else caption.x0 - box.x1
            if gap < -2 or box.vertical_overlap(caption) <= 0.3 * min(box.height, caption.height):
                continue
            if past_another_caption(box, caption, side_mates, to_right):
                continue
            # (a figure set to the far side of a wide column may stand further off its caption in
            # the margin column, with nothing between them)
            if BESIDE_MAX_GAP < gap <= 2 * BESIDE_MAX_GAP:
                between = (
                    Box(caption.x1, caption.y0, box.x0, caption.y1)
                    if to_right
                    else Box(box.x1, caption.y0, caption.x0, caption.y1)
                )
                if any(line.intersection_area(between) > 0 for line in lines_body):
                    continue
            elif gap > BESIDE_MAX_GAP:
                continue
            chosen.append(i)
        if not chosen:
            continue
        box = clusters[chosen[0]].box
        for i in chosen[1:]:
            box = box.union(clusters[i].box)
        gap = max(box.x0 - caption.x1 if to_right else caption.x0 - box.x1, 0.0)
        # the other panels of the figure: further out on the same side, close to what is chosen (a
        # figure turned on its side with its caption keeps its sub-captions between its panel rows,
        # which now stand side by side: they may lie twice as far apart)
        turned = caption.height > 3 * caption.width
        reach = 2 * PANEL_GAP if turned else PANEL_GAP
        # (a drawing level with another caption of this caption's column is that caption's: a
        # margin column of captions, each beside its own item of a stack)
        column_mates = [
            other.box
            for j, other in enumerate(captions)
            if j != caption_index
            and other.box.horizontal_overlap(caption) > 0.5 * min(other.box.width, caption.width)
        ]
        grown = True
        while grown:
            grown = False
            for i, cluster in enumerate(clusters):
                on_side = cluster.box.x0 >= caption.x1 - 2 if to_right else cluster.box.x1 <= caption.x0 + 2
                # (or heading it, its first row a little over the drawing's top)
                level_with_other = any(
                    mate.y1 >= cluster.box.y0 + 2 and mate.y0 <= cluster.box.y1 for mate in column_mates
                )
                if (
                    i not in chosen
                    and on_side
                    and not level_with_other
                    and cluster.box.near(box, reach)
                    and not past_another_caption(cluster.box, caption, side_mates, to_right)
                ):
                    chosen.append(i)
                    box = box.union(cluster.box)
                    grown = True
        if min(box.width, box.height) < MIN_THICKNESS:
            continue  # a rule along the caption (a turned table's head rule), not a figure
        claim = Claim(gap + 2 * CONVENTION_BONUS, caption_index, tuple(chosen), box, "beside")
        # (a drawing with another caption of the row past it, on its far side, is flanked by two
        # captions: it goes to the one with no drawing on its other side, as a row of figures each
        # captioned at its left, or each at its right, alternates caption, drawing, caption, drawing)
        flanked = any(
            mate.vertical_overlap(box) > 0
            and (mate.x0 >= box.center_x if to_right else mate.x1 <= box.center_x)
            for mate in side_mates
        )
        if best is None or (flanked, claim.cost) < (best_flanked, best.cost):
            best, best_flanked = claim, flanked
    return best


def between_drawing_and_caption(box: Box, drawing: Box, caption: Box, caption_below: bool) -> bool:
    """The box lies under the drawing and over the caption under it (or over the drawing and under
    the caption over it): a key or a note of the figure, set between the two."""
    if caption_below:
        return drawing.y1 - 1 <= box.y0 and box.y1 <= caption.y0 + 1
    return caption.y1 - 1 <= box.y0 and box.y1 <= drawing.y0 + 1


def past_another_caption(box: Box, caption: Box, side_mates: Sequence[Box], to_right: bool) -> bool:
    """The drawing lies at or past another caption of the caption's row, on that side and level with
    it: two figures each captioned at its left, side by side (the rule under the far label too)."""
    return any(
        mate.vertical_overlap(box) > 0
        and (box.center_x >= mate.x0 if to_right else box.center_x <= mate.x1)
        and (mate.x0 >= caption.x1 if to_right else mate.x1 <= caption.x0)
        for mate in side_mates
    )


def chained_costs(
    claim: Claim,
    caption: Box,
    clusters: Sequence[Cluster],
    max_gap: float = MAX_CAPTION_GAP,
    links: Sequence[Box] = (),
    lines: Sequence[TextLine] = (),
) -> dict[int, float]:
    """Each claimed cluster's distance to the caption along the chain of clusters between them (the
    widest gap crossed, at most `max_gap`), plus the claim's own bias (placement habits, penalties).
    `links` (a table's cells set loose, in no cluster) carry the chain too but are not returned;
    `lines` are the page's text lines, which the clusters' line indices point into."""
    boxes: dict[int, Box] = {index: clusters[index].box for index in claim.clusters}
    # (links take keys after the clusters')
    boxes.update({len(clusters) + number: box for number, box in enumerate(links)})

    def direct(box: Box) -> float:
        # (a drawing off to the side of a caption above or below it is that much further: of two
        # captions side by side on one row, each is nearer the picture over its own width; not so
        # a key set at the side between the caption and the drawing over the caption's width)
        aside = 0.0 if keyed(box) else max(box.x0 - caption.x1, caption.x0 - box.x1, 0.0)
        if claim.placement == "below":
            return caption.y0 - box.y1 + aside
        if claim.placement == "above":
            return box.y0 - caption.y1 + aside
        return max(box.x0 - caption.x1, caption.x0 - box.x1)

    def keyed(box: Box) -> bool:
        if claim.placement not in ("below", "above"):
            return False
        return any(
            other is not box
            and other.horizontal_overlap(caption) > 0
            and other.horizontal_overlap(box) > 0
            and between_drawing_and_caption(box, other, caption, claim.placement == "below")
            for other in (clusters[index].box for index in claim.clusters)
        )

    gaps = {index: max(direct(box), 0.0) for index, box in boxes.items()}
    offset = claim.cost - min(gap for index, gap in gaps.items() if index < len(clusters))
    chained: dict[int, float] = {}
    for index in sorted(gaps, key=lambda i: gaps[i]):
        cost = gaps[index]
        for other, other_cost in chained.items():
            cost = min(cost, max(other_cost, edge_gap(boxes[index], boxes[other])))
        chained[index] = cost
    # a cluster further than a caption may be from its figure, even along the chain, is not a panel;
    # nor is a lone rule at a distance (a header's or a section's rule; a row of a chart's legend
    # entries is none); a margin caption may stand as far from its drawing as `beside_claim` allows
    # across blank paper
    reach = max(max_gap, 2 * BESIDE_MAX_GAP) if claim.placement == "beside" else max_gap
    return {
        index: cost + offset
        for index, cost in chained.items()
        if index < len(clusters)
        and cost <= reach
        and not (
            min(boxes[index].width, boxes[index].height) < MIN_THICKNESS
            and not legend_entry(clusters[index], lines)
            and cost > 2 * GRAPHIC_GAP
        )
    }


def legend_entry(cluster: Cluster, lines: Sequence[TextLine]) -> bool:
    """A mark drawn beside a few words (not a line of prose): an entry of a chart's legend."""
    return (
        cluster.paths >= 1
        and bool(cluster.lines)
        and not is_wordy(" ".join(lines[i].text for i in cluster.lines))
    )


def claim_links(
    claim: Claim, captions: Sequence[Caption], loose: Sequence[Box], panel_captions: Sequence[Box] = ()
) -> list[Box]:
    """A claim's loose lines (neither prose, nor a caption's, nor any cluster's) that carry its
    chain: within a table's claim, the `loose` cells of rows set too far apart to cluster (a
    double-spaced table ruled only at its head and foot); within a figure's claim or between it and
    its caption, over the claim's width, its `panel_captions` ("(b) Logit with Spatial Lag")."""
    caption = captions[claim.caption]
    if caption.label.kind == "table":
        return [box for box in loose if claim.box.contains_point(box.center_x, box.center_y)]
    if claim.placement == "below":
        between = Box(claim.box.x0, claim.box.y1, claim.box.x1, caption.box.y0)
    elif claim.placement == "above":
        between = Box(claim.box.x0, caption.box.y1, claim.box.x1, claim.box.y0)
    else:
        return []
    return [
        box
        for box in panel_captions
        if between.contains_point(box.center_x, box.center_y)
        or claim.box.contains_point(box.center_x, box.center_y)
    ]


def past_table_foot(
    options: Sequence[tuple[float, int, int]],
    claims: Sequence[Claim],
    captions: Sequence[Caption],
    clusters: Sequence[Cluster],
    graphics: Sequence[Graphic],
    cluster_index: int,
) -> list[tuple[float, int, int]]:
    """The options that would give a cluster to a table captioned above it although it lies under
    that table's foot (the bottom rule of the ruled cells nearest the caption), when another caption
    claims it too: a figure stacked under a table is the figure's."""
    if len({caption for _, caption, _ in options}) < 2:
        return []
    box = clusters[cluster_index].box
    beyond = []
    for option in options:
        claim = claims[option[2]]
        caption = captions[claim.caption]
        if caption.label.kind != "table" or claim.placement != "above":
            continue
        nearest = min(claim.clusters, key=lambda index: clusters[index].box.y0)
        table = clusters[nearest].box
        if nearest == cluster_index or len(clusters[nearest].lines) < 4:
            continue
        rules = [
            graphic.box
            for graphic in graphics
            if is_rule(graphic, 0.9 * table.width)
            and table.contains_point(graphic.box.center_x, graphic.box.center_y, 1.0)
        ]
        # (a shaded head row between its rules is no table of its own: its rows follow under it)
        shaded = any(
            graphic.kind == "path"
            and graphic.box.height > 2 * RULE_THICKNESS
            and graphic.box.x0 <= table.x0 + 2
            and graphic.box.x1 >= table.x1 - 2
            and graphic.box.y0 <= table.y0 + 3
            and graphic.box.y1 >= table.y1 - 3
            for graphic in graphics
        )
        ruled = (
            len(rules) >= 2
            and not shaded
            and min(r.y0 for r in rules) <= table.y0 + 2
            and max(r.y1 for r in rules) >= table.y1 - 2
        )
        if ruled and box.y0 >= table.y1:
            beyond.append(option)
    return beyond


def give_empty_captions_their_neighbour(
    best: dict[int, tuple[float, int, int]],
    claims: Sequence[Claim],
    captions: Sequence[Caption],
    clusters: Sequence[Cluster],
    habits: Mapping[str, str],
) -> None:
    """A caption left with nothing takes the cluster right on its usual side when that cluster went,
    as the far end of a chain, to a caption further away that keeps other clusters (a table set just
    above a figure is the table's, not the figure's top panel). A caption holding only what lies
    beside it (a drawing of the next column, level with it) counts as left with nothing: it keeps
    the cheaper of its claims in the end. Changes `best` in place."""
    held: dict[int, list[int]] = {}
    placed: set[int] = set()  # captions holding something above or below them
    for cluster_index, (_, caption_index, claim_index) in best.items():
        held.setdefault(caption_index, []).append(cluster_index)
        if claims[claim_index].placement != "beside":
            placed.add(caption_index)
    for claim_index, claim in sorted(enumerate(claims), key=lambda entry: entry[1].cost):
        caption = captions[claim.caption]
        if claim.caption in placed or claim.placement != habits.get(caption.label.kind, "below"):
            continue
        nearest = min(claim.clusters, key=lambda index: edge_gap(clusters[index].box, caption.box))
        if nearest not in best:
            continue
        _, holder, _ = best[nearest]
        others = [index for index in held[holder] if index != nearest]
        holder_box = captions[holder].box
        gap_to_holder = edge_gap(clusters[nearest].box, holder_box)
        if (
            not others
            or any(edge_gap(clusters[index].box, holder_box) > gap_to_holder for index in others)
            or edge_gap(clusters[nearest].box, caption.box) >= gap_to_holder
        ):
            continue
        best[nearest] = (edge_gap(clusters[nearest].box, caption.box), claim.caption, claim_index)
        held[holder] = others
        held.setdefault(claim.caption, []).append(nearest)
        placed.add(claim.caption)


def give_up_second_claims(
    best: dict[int, tuple[float, int, int]],
    claims: Sequence[Claim],
) -> None:
    """A caption that won clusters on both its sides (set between two figures) keeps one side when
    the other side's clusters are all a caption left with nothing could have: a figure, its caption,
    a figure, its caption (or captions above: the nearer figure is the first caption's only one).
    The side it keeps is its cheaper one where the caption left with nothing could take the other
    (a caption beside a map, the table's caption under it and the table below). A caption left
    with a part of its figure only (its axis labels) may take the rest so, from the dearer side.
    Changes `best` in place."""
    held: dict[int, dict[int, list[int]]] = {}
    for cluster_index, (_, caption_index, claim_index) in best.items():
        held.setdefault(caption_index, {}).setdefault(claim_index, []).append(cluster_index)
    for either_side in (False, True):
        for claim_index, claim in sorted(enumerate(claims), key=lambda entry: entry[1].cost):
            own = {index for part in held.get(claim.caption, {}).values() for index in part}
            if own and (either_side or not own < set(claim.clusters)):
                continue
            holders = {best[index][1:] for index in claim.clusters if index in best and index not in own}
            if len(holders) != 1:
                continue
            ((holder, holder_claim),) = holders
            won = held[holder]
            if len(won) < 2 or set(won[holder_claim]) != set(claim.clusters) - own:
                continue
            if not either_side and holder_claim == min(won, key=lambda index: claims[index].cost):
                continue
            for index in claim.clusters:
                best[index] = (claim.cost, claim.caption, claim_index)
            held[claim.caption] = {claim_index: list(claim.clusters)}
            del won[holder_claim]
