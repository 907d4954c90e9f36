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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from cephalo_ray.extract.caption_blocks import find_captions, with_panel_legend
from cephalo_ray.extract.captions import (
    continued_legend,
    is_continuation,
    is_label_alone,
    join_caption_lines,
    opens_continued,
    parse_caption_start,
)
from cephalo_ray.extract.clusters import (
    GRAPHIC_GAP,
    PANEL_LETTER_START,
    build_clusters,
    graphic_clusters,
    ruled_floats,
    split_at_gutter,
    visible_graphics,
    with_ruled_tables_apart,
)
from cephalo_ray.extract.geometry import (
    Box,
    Caption,
    Cluster,
    Graphic,
    Item,
    TextLine,
    TextStats,
    combined_graphics,
    edge_gap,
    is_rule,
    joined_rules,
    union_of,
)
from cephalo_ray.extract.page_text import SECTION_HEADING, is_wordy, mostly_letters

PANEL_GAP = 30.0  # panels of one figure are at most this far apart


MAX_CAPTION_GAP = 72.0  # a caption further than one inch from its figure is not its caption
SINGLE_SPACED_GAP = 2.0  # white space between the lines of single-spaced prose (TextStats.line_gap)


BESIDE_MAX_GAP = 54.0  # a caption beside its figure sits in the next column (ragged right: measured loosely)


MIN_ITEM_POINTS = 24.0  # items smaller than this in both directions are icons


MIN_THICKNESS = 10.0  # items thinner than this in one direction are rules


CONVENTION_BONUS = 10.0  # points of gap forgiven where a caption sits by convention


OTHER_PAGE_AREA = 0.03  # an unclaimed drawing this large may be captioned on the next page


MIN_UNCAPTIONED_AREA = 0.08  # a kept uncaptioned raster figure covers at least this page fraction


@dataclass(frozen=True)
class Claim:
    cost: float
    caption: int
    clusters: tuple[int, ...]
    box: Box
    placement: str


NOTES_OPENER = re.compile(r"\s*(?:Notes?|NOTES?)\s*[:.]")


def is_section_heading(line: TextLine, stats: TextStats) -> bool:
    """A heading: bold and larger than the body, numbered ("3. Model of ...", "IV. RESULTS") or two
    words or more (a heading whose number the PDF wrote apart)."""
    numbered = SECTION_HEADING.match(line.text) is not None
    return (
        line.bold_start
        and line.size >= stats.body_size + (1.0 if numbered else 1.5)
        and (numbered or len(line.text.split()) >= 2)
        and mostly_letters(line.text)
    )


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
) -> Claim | None:
    """The clusters between a caption and the nearest blocker above (or below) it, at most `max_gap`
    away (`lines`: the page's text lines, which the clusters' line indices point into)."""
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

    def stops(box: Box) -> bool:
        inside = any(d.contains_point(box.center_x, box.center_y, 1.0) for d in drawn)
        return blocks(box) and not inside and not sandwiched(box) and not axis_title(box)

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
    chosen = [
        i
        for i in chosen
        if clusters[i].box.horizontal_overlap(caption) > 0
        or (overlaps(clusters[i].box) and not (figure_caption and clusters[i].text_only))
    ]
    # text alone less than two of the caption's rows high is a line of prose or formulae (the rest of
    # a caption), never a table or a figure
    # (unless it is a row of three cells or more: a table's header above its body's first rule)
    row = caption.height / max(len(captions[caption_index].lines), 1)
    # (so is a line of text with a stroke or two drawn at it: a heading's underline)
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
                )
            )
            and clusters[i].box.height < 1.8 * row
            and not row_of_cells([lines[index].box for index in clusters[i].lines])
        )
    ]
    if not chosen:
        return None
    box = clusters[chosen[0]].box
    for i in chosen[1:]:
        box = box.union(clusters[i].box)
    gap = caption.y0 - box.y1 if upward else box.y0 - caption.y1
    if gap > max_gap:
        return None
    return Claim(max(gap, 0.0), caption_index, tuple(chosen), box, "below" if upward else "above")


def sides_of(members: Sequence[Graphic], cut: float, slack: float) -> tuple[list[Graphic], list[Graphic]]:
    """The graphics left and right of a vertical cut, each allowed `slack` across it."""
    return [g for g in members if g.box.x1 <= cut + slack], [g for g in members if g.box.x0 >= cut - slack]


def gutter_between(members: Sequence[Graphic], low: float, high: float, middle: float) -> float | None:
    """The middle of the white column between graphics, from low to high, nearest `middle`."""
    spans = sorted((g.box.x0, g.box.x1) for g in members)
    gutters: list[float] = []
    reach = spans[0][1] if spans else high
    for x0, x1 in spans[1:]:
        if x0 > reach and low < (reach + x0) / 2 < high:
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
                texts = [index for index in cluster.lines if (lines[index].box.center_x < cut) == on_left]
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
    best: Claim | None = None
    for to_right in (True, False):
        chosen = []
        for i, cluster in enumerate(clusters):
            box = cluster.box
            gap = box.x0 - caption.x1 if to_right else caption.x0 - box.x1
            if gap < -2 or box.vertical_overlap(caption) <= 0.3 * min(box.height, caption.height):
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
                level_with_other = any(
                    mate.y0 >= cluster.box.y0 - 2 and mate.y0 <= cluster.box.y1 for mate in column_mates
                )
                if i not in chosen and on_side and not level_with_other and cluster.box.near(box, reach):
                    chosen.append(i)
                    box = box.union(cluster.box)
                    grown = True
        if min(box.width, box.height) < MIN_THICKNESS:
            continue  # a rule along the caption (a turned table's head rule), not a figure
        claim = Claim(gap + 2 * CONVENTION_BONUS, caption_index, tuple(chosen), box, "beside")
        if best is None or claim.cost < best.cost:
            best = claim
    return best


def chained_costs(
    claim: Claim,
    caption: Box,
    clusters: Sequence[Cluster],
    max_gap: float = MAX_CAPTION_GAP,
    links: Sequence[Box] = (),
) -> dict[int, float]:
    """Each claimed cluster's distance to the caption along the chain of clusters between them (the
    widest gap crossed, at most `max_gap`), plus the claim's own bias (placement habits, penalties).
    `links` (a table's cells set loose, in no cluster) carry the chain too but are not returned."""
    boxes: dict[int, Box] = {index: clusters[index].box for index in claim.clusters}
    # (links take keys after the clusters')
    boxes.update({len(clusters) + number: box for number, box in enumerate(links)})

    def direct(box: Box) -> float:
        # (a drawing off to the side of a caption above or below it is that much further: of two
        # captions side by side on one row, each is nearer the picture over its own width)
        aside = max(box.x0 - caption.x1, caption.x0 - box.x1, 0.0)
        if claim.placement == "below":
            return caption.y0 - box.y1 + aside
        if claim.placement == "above":
            return box.y0 - caption.y1 + aside
        return max(box.x0 - caption.x1, caption.x0 - box.x1)

    gaps = {index: max(direct(box), 0.0) for index, box in boxes.items()}
    offset = claim.cost - min(gap for index, gap in gaps.items() if index < len(clusters))
    chained: dict[int, float] = {}
    for index in sorted(gaps, key=lambda i: gaps[i]):
        cost = gaps[index]
        for other, other_cost in chained.items():
            cost = min(cost, max(other_cost, edge_gap(boxes[index], boxes[other])))
        chained[index] = cost
    # a cluster further than a caption may be from its figure, even along the chain, is not a panel;
    # nor is a lone rule at a distance (a header's or a section's rule); a margin caption may stand
    # as far from its drawing as `beside_claim` allows across blank paper
    reach = max(max_gap, 2 * BESIDE_MAX_GAP) if claim.placement == "beside" else max_gap
    return {
        index: cost + offset
        for index, cost in chained.items()
        if index < len(clusters)
        and cost <= reach
        and not (min(boxes[index].width, boxes[index].height) < MIN_THICKNESS and cost > 2 * GRAPHIC_GAP)
    }


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
        ruled = (
            len(rules) >= 2
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


# where captions sit by default: figure captions below their figure, table captions above their table
DEFAULT_HABITS: Mapping[str, str] = {"figure": "below", "table": "above"}


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
                    not any(line_index in other.lines for other in clusters)
                    and (
                        union.contains_point(line.box.center_x, line.box.center_y)
                        or between.contains_point(line.box.center_x, line.box.center_y)
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


def without_caption_row(cluster: Cluster, caption: Box, lines: Sequence[TextLine]) -> Cluster | None:
    """A ruled table whose last (or first) row is its caption, a cell across the grid (a word
    processor's merged row, often shaded): the caption is the table's, and the table ends at its
    last row of cells. None where the caption is not such a row of this cluster."""
    if cluster.text_only or cluster.images or len(cluster.lines) < 3:
        return None
    box = cluster.box
    # (the row spans the grid; its text may be short, set from the grid's left edge)
    across = caption.width >= 0.6 * box.width or caption.x0 - box.x0 <= 0.05 * box.width
    if box.intersection_area(caption) <= 0.5 * caption.area or not across:
        return None
    cells = [lines[index].box for index in cluster.lines]
    reach = 0.5 * caption.height  # (the grid's own rule or shading may frame the caption's row)
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
    """The lines of a paragraph of notes ("Notes: This table summarizes ...") set right under a
    caption, over the caption's width: when the caption heads its item, the notes are the caption's
    and the item starts under them. `blocks` holds the line indices of the page's text blocks."""
    for members in blocks.values():
        ordered = sorted(members, key=lambda index: (lines[index].box.y0, lines[index].box.x0))
        box = union_of(lines[index].box for index in members)
        if not -1.0 <= box.y0 - caption.y1 <= 2 * stats.body_size:
            continue
        if box.horizontal_overlap(caption) < 0.5 * min(box.width, caption.width):
            continue
        if NOTES_OPENER.match(lines[ordered[0]].text):
            return ordered
    return []


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


def is_code(cluster: Cluster, lines: Sequence[TextLine]) -> bool:
    """The cluster is text in a typewriter face and nothing pictured: a code listing."""
    return cluster.images == 0 and bool(cluster.lines) and all(lines[index].mono for index in cluster.lines)


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
    visible, sidebars = visible_graphics(graphics, lines, page, stats)
    drawings = graphic_clusters(visible, page)
    # (a grid's own rules too: a caption set in a grid's first row ends at the rule under it)
    rules = [graphic.box for graphic in visible if is_rule(graphic, 2 * stats.body_size)]
    captions = find_captions(
        lines,
        [cluster.box for cluster in drawings if cluster.box.area > 0] + rules,
        stats.body_size,
        stats.line_gap,
    )
    panels = [graphic.box for graphic in graphics if graphic.kind == "path"]
    captions = [with_panel_legend(caption, lines, panels) for caption in captions]
    caption_lines = {index for caption in captions for index in caption.lines}
    floats = ruled_floats(captions, graphics, lines, stats)
    clusters, body = build_clusters(lines, drawings, page, caption_lines, stats, floats, sidebars)
    clusters, body = with_paragraph_ends(clusters, body, lines, stats)
    for caption in captions:
        clusters = [without_caption_row(cluster, caption.box, lines) or cluster for cluster in clusters]
    # a "caption" inside a drawing is text of the drawing (a panel title), not a caption
    captions = [
        caption
        for caption in captions
        if not any(hides_caption(cluster, caption.box, lines) for cluster in clusters)
    ]
    body_boxes = [lines[index].box for index in body]
    # a heading stops a claim as body text does (nothing is drawn across one)
    headings = [
        line.box
        for index, line in enumerate(lines)
        if index not in caption_lines and is_section_heading(line, stats)
    ]
    # the text area: where body lines run, or (on a page whose text the PDF wrote in pieces too short
    # to read as prose) where any text or drawing runs (a page holding one figure whose lettering is
    # drawn as outlines has no text but its caption)
    ends = (
        body_boxes
        if len(body_boxes) >= 5
        else [line.box for line in lines] + [cluster.box for cluster in clusters if not cluster.text_only]
    )
    text_left = min([box.x0 for box in ends] + [c.box.x0 for c in captions], default=page.x0)
    text_right = max([box.x1 for box in ends] + [c.box.x1 for c in captions], default=page.x1)
    single_column = is_single_column(body_boxes, text_left, text_right)
    if not single_column:
        middle = (text_left + text_right) / 2
        clusters = [part for cluster in clusters for part in split_at_gutter(cluster, lines, middle)]
    clusters = split_between_captions(clusters, visible, captions, lines)
    clusters = with_ruled_tables_apart(clusters, visible, captions, lines, rules, caption_reach(stats))
    # a legend ending "(continued)" whose rest stands on the page under "Fig. 1. (continued)" heads
    # its item; any other caption marked so is the rest of an item begun earlier
    rest_labels = {caption.label for caption in captions if opens_continued(caption.text)}
    heads = [
        caption
        for caption in captions
        if caption.label in rest_labels
        and is_continuation(caption.text)
        and not opens_continued(caption.text)
    ]
    continued = {
        index
        for index, caption in enumerate(captions)
        if is_continuation(caption.text) and caption not in heads
    }
    claims: list[Claim] = []
    sides: dict[int, set[str]] = {}  # per caption, the sides where it found something to claim
    max_gap = caption_reach(stats)
    prose_blocks = {lines[index].block for index in body}
    body_blocks: dict[int, list[int]] = {}
    for line_index, line in enumerate(lines):
        if line.block in prose_blocks:
            body_blocks.setdefault(line.block, []).append(line_index)
    noted: dict[int, Caption] = {}  # per claim, its caption grown by the notes under it
    text_blocks: dict[int, list[int]] = {}  # every block's lines but the captions'
    for line_index, line in enumerate(lines):
        if line_index not in caption_lines:
            text_blocks.setdefault(line.block, []).append(line_index)
    for index, caption in enumerate(captions):
        note = notes_over_caption(caption.box, lines, body, body_blocks, stats)
        prose = [lines[i].box for i in body if i not in note] if note else body_boxes
        blockers = prose + headings + [other.box for j, other in enumerate(captions) if j != index]
        notes = notes_under_caption(caption.box, lines, text_blocks, stats)
        with_notes = list(captions)
        if notes:
            # (a caption heading its item with its notes set under it: the item starts under the notes)
            with_notes[index] = replace(
                caption,
                box=caption.box.union(union_of(lines[i].box for i in notes)),
                text=join_caption_lines([caption.text] + [lines[i].text for i in notes]),
                lines=caption.lines + tuple(notes),
            )
            under_notes = [lines[i].box for i in body if i not in notes and i not in note]
            notes_blockers = (
                under_notes + headings + [other.box for j, other in enumerate(captions) if j != index]
            )
        span = beside_captions(
            caption.box, captions, horizontal_span(caption.box, text_left, text_right, single_column)
        )
        figure_like = caption.label.kind == "figure"
        # (the rest of a legend under "Fig. 1. (continued)" at the next column's top is level with
        # its figure's top, and no caption set beside it)
        beside = None if index in continued else beside_claim(index, captions, clusters, body_boxes)
        # a narrow caption in a margin column no body text runs through (Emerald's) has its item beside it
        in_margin = beside is not None and in_margin_column(caption.box, body_boxes, stats)
        for upward in () if in_margin else (True, False):
            if notes and not upward:
                claim = vertical_claim(
                    index, with_notes, clusters, notes_blockers, page, span, upward, lines, max_gap
                )
            else:
                claim = vertical_claim(
                    index, captions, clusters, blockers, page, span, upward, lines, max_gap
                )
            if claim is None:
                continue
            if beside is not None and claim.box.horizontal_overlap(caption.box) <= 0:
                continue  # wholly off to the side, above or below: a margin caption's figure is beside it
            sides.setdefault(index, set()).add(claim.placement)
            # figure captions sit below (strong habit), table captions above (a weaker one), unless
            # this document is seen to do otherwise
            conventional = claim.placement == habits.get(caption.label.kind, "below")
            bonus = CONVENTION_BONUS if figure_like else CONVENTION_BONUS / 2
            cost = claim.cost - (bonus if conventional else 0.0)
            if figure_like and all(clusters[i].text_only for i in claim.clusters):
                cost += 3 * CONVENTION_BONUS  # figures are drawn; text alone is more likely a table
            if caption.label.kind == "table" and all(is_code(clusters[i], lines) for i in claim.clusters):
                cost += 3 * CONVENTION_BONUS  # code set in a typewriter face is a listing, not a table
            if notes and not upward:
                noted[len(claims)] = with_notes[index]
            claims.append(Claim(cost, claim.caption, claim.clusters, claim.box, claim.placement))
        if beside is not None:
            claims.append(beside)
    # each cluster goes to the caption it is nearest to, through the panels between them (so a
    # panel row far from its caption still follows it, and a table never joins the figure below)
    candidates: dict[int, list[tuple[float, int, int]]] = {}
    in_clusters = {index for cluster in clusters for index in cluster.lines}
    in_captions = {index for caption in captions for index in caption.lines}
    loose = [
        line.box
        for index, line in enumerate(lines)
        if index not in body and index not in in_clusters and index not in in_captions
    ]
    loose_panel_captions = [
        line.box
        for index, line in enumerate(lines)
        if index not in body
        and index not in in_clusters
        and index not in in_captions
        and PANEL_LETTER_START.match(line.text.strip())
    ]
    for claim_index, claim in enumerate(claims):
        for cluster_index, cost in chained_costs(
            claim,
            noted.get(claim_index, captions[claim.caption]).box,
            clusters,
            max_gap,
            claim_links(claim, captions, loose, loose_panel_captions),
        ).items():
            candidates.setdefault(cluster_index, []).append((cost, claim.caption, claim_index))
    # a drawing level with a caption beside it that has nothing above or below to claim is that
    # caption's, however near the figure under it (a stack: one figure captioned at its side, the
    # next one under it captioned below)
    placed = {claim.caption for claim in claims if claim.placement != "beside"}
    for cluster_index, offers in candidates.items():
        level = [
            offer
            for offer in offers
            if claims[offer[2]].placement == "beside"
            and offer[1] not in placed
            and clusters[cluster_index].box.vertical_overlap(captions[offer[1]].box)
            >= 0.8 * captions[offer[1]].box.height
        ]
        if level:
            candidates[cluster_index] = level
    best: dict[int, tuple[float, int, int]] = {}
    for cluster_index, offers in candidates.items():
        demoted = past_table_foot(offers, claims, captions, clusters, graphics, cluster_index)
        best[cluster_index] = min(offers, key=lambda offer: (offer in demoted, offer))
    give_empty_captions_their_neighbour(best, claims, captions, clusters, habits)
    give_up_second_claims(best, claims)
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
        if item_kind(captions[caption_index], box, graphics) == "table":
            kept = under_table_head(member_indices, clusters, graphics, lines, claims[claim_index].placement)
            box = union_of(clusters[index].box for index in kept)
            member_indices = kept
        taken_captions.add(caption_index)
        taken_clusters.update(member_indices)
        caption = noted.get(claim_index, captions[caption_index])
        drawn = combined_graphics([clusters[index] for index in member_indices])
        kind = item_kind(caption, box, graphics)
        if kind == "table":
            box = without_table_notes(box, lines, graphics)
        items.append(Item(kind, box, caption, drawn, claims[claim_index].placement))
    items = [
        with_side_panels(item, clusters, taken_clusters, lines, [caption.box for caption in captions])
        for item in items
    ]
    claimed_lines = {index for cluster in clusters for index in cluster.lines} | caption_lines | body
    items = [with_legend_under_item(item, lines, claimed_lines, stats) for item in items]
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
    # the rest of an item continued from an earlier page is part of that item, not one of its own
    rests = [captions[index] for index in continued]
    # (a legend going on under "Figure 8. (continued)." with no head and no drawing of its own on
    # this page finishes the legend of the item on the page before; one over the item's further
    # panels or rows is that part's caption)
    headed = {caption.label for caption in heads}
    over_parts = {item.caption for item in items if item.caption in rests}
    legends_from_before = tuple(
        rest
        for rest in rests
        if opens_continued(rest.text) and rest.label not in headed and rest not in over_parts
    )
    items = [
        with_rest_of_legend(item, rests) if item.caption in heads else item
        for item in items
        if item.caption is None or item.caption not in rests
    ]
    # a numbered box is a panel of text (a review's "Box 1", a report's "BOX 2"): its caption claims
    # it, so no figure takes it, but it is no figure or table to pair
    items = [item for item in items if item.caption is None or not item.caption.label.label.startswith("Box")]
    return PageRegions(
        sorted(items, key=lambda item: (item.box.y0, item.box.x0)),
        [
            caption
            for index, caption in enumerate(captions)
            if index not in taken_captions and index not in continued
        ],
        orphans,
        page.area,
        page.height,
        tuple(evidence),
        len(body),
        legends_from_before,
    )


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


# (a superscript note number reads run into its note's first word: "1Douglas Island Pink and Chum")
FOOTNOTE_START = re.compile(
    r"^(?:[*\u2020\u2021\u00a7\u00b6#\u00b9\u00b2\u00b3\u2070-\u2079]|[a-z]\s|\(?[a-z]\)|(?-i:\d{1,2}[A-Z][a-z])"
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
    own = [rule for rule in rules if abs(rule.x0 - top.x0) <= 6 and abs(rule.x1 - top.x1) <= 6]
    bottom = max(rule.y1 for rule in own)
    inside = [line for line in lines if box.contains_point(line.box.center_x, line.box.center_y, 1.0)]
    cells = [line for line in inside if line.box.center_y < bottom]
    notes = [line for line in inside if line.box.center_y > bottom]
    if len(own) < 2 or not cells or not notes:
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
    if not (apart or (one_per_row and (smaller or marked or paragraph))):
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
    body_lines: int = 0  # lines of running text (not captions, not inside drawings)
    # legends going on under "Fig. 8. (continued)." whose item is on an earlier page
    continued_legends: tuple[Caption, ...] = ()
