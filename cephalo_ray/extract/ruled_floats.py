"""Ruled floats of a page: algorithm and listing floats between a rule under their caption and a
rule of the same span further down, and ruled tables under their caption, kept whole and apart from a
drawing set right under them. Their lines read like prose but belong to the float. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from cephalo_ray.extract.geometry import (
    RULE_THICKNESS,
    Box,
    Caption,
    Cluster,
    Graphic,
    TextLine,
    TextStats,
    joined_rules,
    union_of,
)
from cephalo_ray.extract.page_text import NOTES_OPENER, is_body_line, underlines_text

RULED_FLOAT_LABELS = ("Algorithm", "Listing", "Procedure", "Pseudocode")


def ruled_floats(
    captions: Sequence[Caption], graphics: Sequence[Graphic], lines: Sequence[TextLine], stats: TextStats
) -> list[Box]:
    """The areas of ruled algorithm floats: a caption labelled Algorithm or Listing with a rule just
    above or below it and a rule of the same length further down, the float's foot. Their lines of
    pseudo-code read like prose but belong to the float. Ruled tables under their caption too."""
    # (a grid's rules written cell by cell are one rule: a Word table's first cell is often narrow)
    rules = [
        rule
        for rule in joined_rules(graphics)
        if rule.width >= 60 and not underlines_text(rule, lines, stats)
    ]
    areas = ruled_tables(captions, rules, lines, stats) + banded_tables(
        captions, graphics, rules, lines, stats
    )
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
            framed = frame_closed_under(head, box, rules, graphics)
            if framed is not None:  # (the caption set at the foot of its boxed float, inside the frame)
                areas.append(framed)
                break
            feet = [rule for rule in rules if rule.y0 > box.y1 + 10 and same_span(rule, head)]
            if feet:
                foot = min(feet, key=lambda rule: rule.y0)
                areas.append(Box(head.x0, box.y1, head.x1, foot.y1))
                break
            end = runs_to_page_foot(head, lines) if abs(head.y0 - box.y1) <= 5 else None
            if end is not None:
                areas.append(Box(head.x0, box.y1, head.x1, end))
                break
    return areas


def without_wrapped_algorithm_heads(
    captions: Sequence[Caption], floats: Sequence[Box], lines: Sequence[TextLine]
) -> tuple[list[Caption], list[Box]]:
    """An algorithm's ruled float set inside a figure captioned under its foot rule ("Algorithm 1
    GrowTokenTree" between its rules, "図4: GrowTokenTree の擬似コード" under them): the figure's
    caption is the item's, and the algorithm's head a row of its float. Returns the captions less
    those heads and the floats grown over them."""
    heads: list[Caption] = []
    grown = list(floats)
    for caption in captions:
        if not caption.label.label.startswith(RULED_FLOAT_LABELS):
            continue
        size = max(lines[index].size for index in caption.lines)
        for at, area in enumerate(grown):
            if abs(area.y0 - caption.box.y1) > 0.5 or area.horizontal_overlap(caption.box) <= 0:
                continue  # (not the float under this head)
            # (a table's caption there heads the table under it, no caption of the float's)
            if any(
                not other.label.label.startswith(RULED_FLOAT_LABELS)
                and other.label.kind == "figure"
                and 0 <= other.box.y0 - area.y1 <= 3 * size
                and other.box.horizontal_overlap(area) >= 0.5 * other.box.width
                for other in captions
            ):
                heads.append(caption)
                grown[at] = area.union(caption.box)
            break
    return [caption for caption in captions if caption not in heads], grown


def runs_to_page_foot(head: Box, lines: Sequence[TextLine]) -> float | None:
    """Where a float ruled only at its top ends when it is broken across pages (a listing going on
    overleaf): its lines under the rule run on, no wider apart than a blank row or two, to the last
    line of the page in its span (a page number aside). None when anything else follows them."""
    below = sorted(
        (
            line
            for line in lines
            if line.box.y0 > head.y1 - 1 and head.x0 - 2 <= line.box.center_x <= head.x1 + 2
        ),
        key=lambda line: line.box.y0,
    )
    end, taken = head.y1, 0
    for index, line in enumerate(below):
        if line.box.y0 - end > 2.5 * line.box.height:
            # (only a page number or a short running foot may stand further down)
            if any(other.box.width > 0.2 * head.width for other in below[index:]):
                return None
            break
        end, taken = max(end, line.box.y1), taken + 1
    return end if taken >= 2 else None


def same_span(rule: Box, other: Box) -> bool:
    """Two rules of one float: they start and end within a few points of each other."""
    return abs(rule.x0 - other.x0) <= 4 and abs(rule.x1 - other.x1) <= 4


def frame_closed_under(
    head: Box, caption: Box, rules: Sequence[Box], graphics: Sequence[Graphic]
) -> Box | None:
    """The float above a caption whose rule under it closes a frame: a rule of its span higher up,
    joined to it by a vertical rule at each end (an algorithm boxed with its caption at its foot).
    Returns the frame's inside above the caption."""
    if head.y0 < caption.y1 - 5:
        return None
    tops = [rule for rule in rules if rule.y1 < caption.y0 - 10 and same_span(rule, head)]
    for top in sorted(tops, key=lambda rule: -rule.y0):
        if side_rule(top, head, head.x0, graphics) and side_rule(top, head, head.x1, graphics):
            return Box(head.x0, top.y1, head.x1, caption.y0)
    return None


def side_rule(top: Box, bottom: Box, x: float, graphics: Sequence[Graphic]) -> bool:
    """A vertical rule at `x` runs from the top rule down to the bottom one (a frame's side)."""
    return any(
        graphic.box.width <= RULE_THICKNESS
        and abs(graphic.box.center_x - x) <= 3
        and graphic.box.y0 <= top.y1 + 3
        and graphic.box.y1 >= bottom.y0 - 3
        for graphic in graphics
    )


def ruled_tables(
    captions: Sequence[Caption], rules: Sequence[Box], lines: Sequence[TextLine], stats: TextStats
) -> list[Box]:
    """Tables under their caption from the rule just below it down to the last rule of the same
    length that follows with neither a caption nor mostly prose before it. Cells written as sentences
    (a table of research questions) read like prose but belong to the table."""
    # (a caption written into one block with the table's header row says nothing of that row)
    in_captions = {index for caption in captions for index in caption.lines}
    blocks: dict[int, list[TextLine]] = {}
    for index, line in enumerate(lines):
        if index not in in_captions:
            blocks.setdefault(line.block, []).append(line)
    areas = []
    for caption in captions:
        if caption.label.kind != "table":
            continue
        box = caption.box
        # (within two lines of the body: a Word manuscript leaves a blank paragraph after the caption)
        reach = 2 * stats.body_size
        heads = [
            rule
            for rule in rules
            if rule.horizontal_overlap(box) > 0.5 * box.width and 0 <= rule.y0 - box.y1 <= reach
        ]
        if not heads:
            continue
        head = heads[0]
        lower_rules = sorted(
            (rule for rule in rules if rule.y0 > head.y1 and same_span(rule, head)), key=lambda rule: rule.y0
        )
        foot = head
        for rule in lower_rules:
            between = [
                line
                for line in lines
                if foot.y1 < line.box.center_y < rule.y0 and head.x0 - 2 <= line.box.center_x <= head.x1 + 2
            ]
            if any(foot.y1 < other.box.center_y < rule.y0 and other is not caption for other in captions):
                break  # the next table's rules
            # (notes under the table's bottom rule close it: a rule further down heads the next float)
            first = min(between, key=lambda line: line.box.y0, default=None)
            if first is not None and NOTES_OPENER.match(first.text):
                break
            prose = sum(1 for line in between if is_body_line(line, blocks.get(line.block, [line]), stats))
            # (sentences set smaller than the body between the rules are the table's: a list of
            # guidelines or questions ruled as a table)
            sizes = sorted(line.size for line in between)
            smaller = bool(sizes) and sizes[len(sizes) // 2] <= stats.body_size - 0.8
            if prose >= 0.5 * len(between) > 0 and not smaller:
                break  # a paragraph of the page between this table and a rule further down
            foot = rule
        if foot is not head:
            areas.append(Box(head.x0, head.y0, head.x1, foot.y1))
    return areas


def banded_tables(
    captions: Sequence[Caption],
    graphics: Sequence[Graphic],
    rules: Sequence[Box],
    lines: Sequence[TextLine],
    stats: TextStats,
) -> list[Box]:
    """Tables of text under their caption whose head is a filled band a row or two high holding the
    column's title ("Advantages" on a coloured strip) and whose rows are sentences or bullets: they
    run from the band to the first rule of its span below, or, with none, to the foot of the page."""
    areas = []
    for caption in captions:
        if caption.label.kind != "table":
            continue
        box = caption.box
        bands = [
            band
            for band in joined_bands(graphics, stats)
            if band.width >= 60
            and band.horizontal_overlap(box) > 0.5 * box.width
            and 0 <= band.y0 - box.y1 <= stats.body_size
            and any(band.contains_point(line.box.center_x, line.box.center_y, 0.5) for line in lines)
        ]
        if not bands:
            continue
        band = min(bands, key=lambda band: band.y0)
        others = [other.box for other in captions if other is not caption and other.box.y0 > band.y1]
        stop = min((other.y0 for other in others if other.horizontal_overlap(band) > 0), default=float("inf"))
        # (rows drawn under the band, shaded or framed, make a grid the drawing itself delimits)
        drawn = [
            graphic.box
            for graphic in graphics
            if graphic.box.height > RULE_THICKNESS
            and graphic.box.y1 > band.y1 + 1
            and graphic.box.y0 < min(stop, band.y1 + 3 * stats.body_size)
            and graphic.box.horizontal_overlap(band) > 0
        ]
        if drawn:
            continue
        feet = [rule for rule in rules if band.y1 < rule.y0 < stop and same_span(rule, band)]
        if feet:
            areas.append(Box(band.x0, band.y0, band.x1, min(rule.y1 for rule in feet)))
            continue
        end = runs_to_page_foot(band, lines)
        if end is not None and end < stop:
            areas.append(Box(band.x0, band.y0, band.x1, end))
    return areas


def joined_bands(graphics: Sequence[Graphic], stats: TextStats) -> list[Box]:
    """Filled bands a row or two high (a header whose cells wrap onto a second row), the pieces of
    one row (a header row shaded cell by cell) joined."""
    pieces = sorted(
        (
            graphic.box
            for graphic in graphics
            if graphic.kind == "path" and RULE_THICKNESS < graphic.box.height <= 3.5 * stats.body_size
        ),
        key=lambda box: (box.y0, box.x0),
    )
    bands: list[Box] = []
    for piece in pieces:
        row = next(
            (
                index
                for index, band in enumerate(bands)
                if abs(band.y0 - piece.y0) <= 1.0
                and abs(band.y1 - piece.y1) <= 1.0
                and band.x0 - 2 <= piece.x0 <= band.x1 + 2
            ),
            None,
        )
        if row is None:
            bands.append(piece)
        else:
            bands[row] = bands[row].union(piece)
    return bands


def table_rules_under(
    caption: Caption, captions: Sequence[Caption], rules: Sequence[Box], reach: float
) -> Box | None:
    """Where a table captioned above it runs: from the first rule under the caption to the last of
    the rules of that same span below it (three at least: top, head and bottom rules), no other
    caption between them."""
    under = [
        rule
        for rule in rules
        if 0 <= rule.y0 - caption.box.y1 <= reach and rule.horizontal_overlap(caption.box) > 0
    ]
    if not under:
        return None
    top = min(under, key=lambda rule: rule.y0)
    if top.width < 0.5 * caption.box.width:
        return None  # a cell's border in a grid, not a rule across the table
    same_span = sorted(
        (
            rule
            for rule in rules
            if rule.y0 >= top.y0 and abs(rule.x0 - top.x0) <= 2 and abs(rule.x1 - top.x1) <= 2
        ),
        key=lambda rule: rule.y0,
    )
    kept = [top]
    for rule in same_span[1:]:
        if any(kept[-1].y1 <= other.box.y0 and other.box.y1 <= rule.y0 for other in captions):
            break
        kept.append(rule)
    if len(kept) < 3:
        return None
    return Box(top.x0, top.y0, top.x1, kept[-1].y1)


def with_ruled_tables_apart(
    clusters: list[Cluster],
    graphics: Sequence[Graphic],
    captions: Sequence[Caption],
    lines: Sequence[TextLine],
    reach: float,
) -> list[Cluster]:
    """A table set right on top of a figure: a cluster that runs from inside the table's rules past
    its bottom rule into the drawing below is cut at that rule, and the table's parts between its
    rules become one cluster (its caption then takes it whole, however near the figure's caption)."""
    # (a grid's rules written cell by cell are the rules across it they make: a Word table's)
    rules = joined_rules(graphics)
    for caption in captions:
        table = table_rules_under(caption, captions, rules, reach) if caption.label.kind == "table" else None
        if table is not None:
            clusters = ruled_table_apart(clusters, graphics, lines, table)
    return clusters


RULED_SLACK = 2.0  # points a table's part may stand off its rules


def within_rules(box: Box, table: Box) -> bool:
    """The box lies between a table's top and bottom rules, under them."""
    return (
        box.y0 >= table.y0 - RULED_SLACK
        and box.y1 <= table.y1 + RULED_SLACK
        and box.horizontal_overlap(table) > 0
    )


def ruled_table_apart(
    clusters: list[Cluster], graphics: Sequence[Graphic], lines: Sequence[TextLine], table: Box
) -> list[Cluster]:
    """`with_ruled_tables_apart` for one table's ruled extent."""

    def members_of(cluster: Cluster) -> list[Graphic]:
        return [g for g in graphics if g.box.intersection_area(cluster.box) >= 0.9 * g.box.area]

    def spanned(members: Sequence[Graphic]) -> bool:
        # (the rules span what of the cluster starts between them: a grid's short cell borders are
        # no table's rules; a framed picture under the table may be the wider)
        return all(
            table.x0 - RULED_SLACK <= g.box.x0 and g.box.x1 <= table.x1 + RULED_SLACK
            for g in members
            if g.box.y0 < table.y1 - RULED_SLACK
        )

    straddling = [
        (cluster, members)
        for cluster in clusters
        if table.y0 - RULED_SLACK <= cluster.box.y0 <= table.y1 and cluster.box.y1 > table.y1 + RULED_SLACK
        for members in [members_of(cluster)]
        if spanned(members)
    ]
    parts = [cluster for cluster in clusters if within_rules(cluster.box, table)]
    rest: list[Cluster] = []
    for cluster, members in straddling:
        below = [g for g in members if not within_rules(g.box, table)]
        # (nothing but rules under that rule, the borders of more rows, or a rule running down
        # past it from inside the table, a stub column's: the table goes on, the rule was a midrule)
        if all(min(g.box.width, g.box.height) <= RULE_THICKNESS for g in below) or any(
            g.box.y0 < table.y1 - RULED_SLACK for g in below
        ):
            continue
        texts = [index for index in cluster.lines if not within_rules(lines[index].box, table)]
        images = sum(1 for g in below if g.kind == "image")
        rest.append(
            Cluster(
                union_of([*(g.box for g in below), *(lines[i].box for i in texts)]),
                images,
                len(below) - images,
                texts,
            )
        )
        within = [g for g in members if within_rules(g.box, table)]
        if within:
            texts = [index for index in cluster.lines if within_rules(lines[index].box, table)]
            box = union_of([*(g.box for g in within), *(lines[i].box for i in texts)])
            parts.append(Cluster(box, 0, len(within), texts))
    if not rest or not parts:
        return clusters
    whole = Cluster(
        union_of(part.box for part in parts),
        sum(part.images for part in parts),
        sum(part.paths for part in parts),
        sorted(index for part in parts for index in part.lines),
        all(part.text_only for part in parts),
    )
    split = [cluster for cluster, _ in straddling]
    kept = [cluster for cluster in clusters if cluster not in split and not within_rules(cluster.box, table)]
    return [*kept, whole, *rest]
