"""Page geometry -> figure and table regions with their captions. Pure: boxes and strings in, items out.

The page arrives as text lines (with font size and the boldness of their first span) and graphic
elements (image placements and path bounding boxes). The decisions, in order:

1. captions are blocks that open with a label (`captions.parse_caption_start`), continued over the
   blocks right below them in the same font;
2. graphic elements close to each other form clusters; text lines inside a cluster or touching it that
   are not body prose (axis labels, legends, panel letters, table cells) join it;
3. each caption claims the clusters in the zone above, below or beside it, bounded by body text and
   other captions (column-aware), nearest first; their union is the item's box, so every panel of a
   multi-panel figure lands in one item (`claims`);
4. each item's edges are settled: side panels and legends join it, caption rows, notes and paragraph
   ends leave it, a table's notes are trimmed off (`item_edges`).
Clusters no caption claims are dropped unless they are large raster images and the caller keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import NamedTuple

from cephalo_ray.extract.caption_blocks import find_captions, with_panel_legend
from cephalo_ray.extract.captions import CONTINUED, is_continuation, join_caption_lines, opens_continued
from cephalo_ray.extract.claims import (
    CONVENTION_BONUS,
    MIN_THICKNESS,
    Claim,
    beside_captions,
    beside_claim,
    caption_reach,
    chained_costs,
    claim_links,
    give_empty_captions_their_neighbour,
    give_up_second_claims,
    horizontal_span,
    past_table_foot,
    split_at_caption_rows,
    split_between_captions,
    split_between_stacked_captions,
    vertical_claim,
)
from cephalo_ray.extract.clusters import (
    PANEL_LETTER_START,
    build_clusters,
    graphic_clusters,
    split_at_gutter,
    visible_graphics,
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
    is_rule,
    union_of,
)
from cephalo_ray.extract.item_edges import (
    caption_frames,
    centred_under,
    headline_under_title,
    hides_caption,
    in_margin_column,
    in_row_of_its_own,
    is_code,
    item_kind,
    legend_under_title,
    listings_past_table,
    notes_over_caption,
    notes_under_caption,
    over_table_foot,
    sources_under_caption,
    under_table_head,
    with_legend_under_item,
    with_paragraph_ends,
    with_rest_of_legend,
    with_side_panels,
    without_caption_row,
    without_labels_framed_in,
    without_source_rows,
    without_table_notes,
)
from cephalo_ray.extract.page_text import (
    SECTION_HEADING,
    is_numbered_subheading,
    mostly_letters,
    page_footnotes,
)
from cephalo_ray.extract.ruled_floats import (
    ruled_floats,
    with_ruled_tables_apart,
    without_wrapped_algorithm_heads,
)
from cephalo_ray.extract.titled_exhibits import titled_exhibits

# a paragraph of notes opening with its word ("Disclaimer:", "Note:", "*Sources:")
NOTES_WORD = re.compile(r"^\W{0,2}(?:Disclaimers?|Notes?|Sources?)\s*:")
MIN_ITEM_POINTS = 24.0  # items smaller than this in both directions are icons


OTHER_PAGE_AREA = 0.03  # an unclaimed drawing this large may be captioned on the next page


MIN_UNCAPTIONED_AREA = 0.08  # a kept uncaptioned raster figure covers at least this page fraction


def is_section_heading(line: TextLine, stats: TextStats) -> bool:
    """A heading: bold and larger than the body, numbered ("3. Model of ...", "IV. RESULTS") or two
    words or more (a heading whose number the PDF wrote apart); or a subsection's, numbered "4.6",
    in any size."""
    if is_numbered_subheading(line):
        return True
    numbered = SECTION_HEADING.match(line.text) is not None
    return (
        line.bold_start
        and line.size >= stats.body_size + (1.0 if numbered else 1.5)
        and (numbered or len(line.text.split()) >= 2)
        and mostly_letters(line.text)
    )


def without_rows_on_top(cluster: Cluster, rows: Sequence[int], lines: Sequence[TextLine]) -> Cluster:
    """The cluster less the rows it had taken in at its top (a caption's subtitle set close over the
    frame of its chart): it starts under them."""
    taken = [index for index in cluster.lines if index in rows]
    if not taken or cluster.text_only:
        return cluster
    bottom = max(lines[index].box.y1 for index in taken)
    kept = [index for index in cluster.lines if index not in rows]
    if any(lines[index].box.y0 < bottom for index in kept):
        return cluster
    box = cluster.box
    return replace(cluster, box=Box(box.x0, bottom, box.x1, box.y1), lines=kept)


def is_single_column(body: Sequence[Box], text_left: float, text_right: float) -> bool:
    """Most body lines cross the middle of the text area: one column of prose."""
    middle = (text_left + text_right) / 2
    crossing = sum(1 for box in body if box.x0 < middle - 12 and box.x1 > middle + 12)
    return crossing >= 0.5 * len(body)


# where captions sit by default: figure captions below their figure, table captions above their table
DEFAULT_HABITS: Mapping[str, str] = {"figure": "below", "table": "above"}


def pair_regions(
    lines: Sequence[TextLine],
    graphics: Sequence[Graphic],
    page: Box,
    stats: TextStats,
    keep_uncaptioned: bool = False,
    habits: Mapping[str, str] = DEFAULT_HABITS,
    numbered: Collection[str] = (),
) -> PageRegions:
    """Figures and tables of one page, each with its caption where one is found.

    `habits` says per kind whether captions sit "below" or "above" their item in this document
    (`document_habits` learns it from the captions that could only go one way); `numbered` holds the
    numbers of figures the document captions by their number alone (`numbered_exhibits`).
    """
    visible, sidebars = visible_graphics(graphics, lines, page, stats)
    footnotes = page_footnotes(lines, visible, page, stats)
    if footnotes is not None:  # (their rule is no drawing, their lines are the page's text)
        visible = [graphic for graphic in visible if graphic is not footnotes[0]]
        sidebars = [*sidebars, footnotes[1]]
    drawings, rules = drawings_and_rules(visible, page, stats)
    captions = find_captions(
        lines,
        [cluster.box for cluster in drawings if cluster.box.area > 0] + rules,
        stats.body_size,
        stats.line_gap,
        numbered,
    )
    outlines = caption_frames(graphics, captions)
    if outlines:  # (drawn round a caption and its item: the item's drawings are what is inside)
        frames = [piece for outline in outlines for piece in outline]
        visible = [graphic for graphic in visible if graphic not in frames]
        sidebars = [sidebar for sidebar in sidebars if all(sidebar != frame.box for frame in frames)]
        drawings, rules = drawings_and_rules(visible, page, stats)
        captions = without_labels_framed_in(captions, outlines)
    panels = [graphic.box for graphic in graphics if graphic.kind == "path"]
    captions = [with_panel_legend(caption, lines, panels) for caption in captions]
    floats = ruled_floats(captions, graphics, lines, stats)
    captions, floats = without_wrapped_algorithm_heads(captions, floats, lines)
    caption_lines = {index for caption in captions for index in caption.lines}
    clusters, body = build_clusters(lines, drawings, page, caption_lines, stats, floats, sidebars)
    clusters, body = with_paragraph_ends(clusters, body, lines, stats)
    for caption in captions:
        clusters = [without_caption_row(cluster, caption.box, lines) or cluster for cluster in clusters]
    # a "caption" inside a drawing is text of the drawing (a panel title), not a caption, unless
    # it has a row of its own (a word processor's table holding a figure under its captioned row, a
    # report's exhibit banner)
    # (nor is one of two captions side by side, other numbers of the same kind: a frame round a
    # grid of charts, each captioned over it, draws them into one cluster)
    captions = [
        caption
        for caption in captions
        if in_row_of_its_own(caption.box, visible)
        or beside_other_number(caption, captions)
        or not any(hides_caption(cluster, caption.box, lines) for cluster in clusters)
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
    clusters = split_between_stacked_captions(clusters, visible, captions, lines, habits)
    clusters = split_at_caption_rows(clusters, visible, captions, lines)
    clusters = with_ruled_tables_apart(clusters, visible, captions, lines, caption_reach(stats))
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
        index for index, caption in enumerate(captions) if marked_continued(caption) and caption not in heads
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
    reach_from: dict[int, Box] = {}  # per claim, where it measures from when not its caption's box
    sourced: dict[int, list[int]] = {}  # per claim, the rows naming its sources under its caption
    text_blocks: dict[int, list[int]] = {}  # every block's lines but the captions'
    for line_index, line in enumerate(lines):
        if line_index not in caption_lines:
            text_blocks.setdefault(line.block, []).append(line_index)
    in_drawings = {index for cluster in clusters if not cluster.text_only for index in cluster.lines}
    free = [i for i in range(len(lines)) if i not in caption_lines and i not in in_drawings]
    for index, caption in enumerate(captions):
        note = notes_over_caption(caption.box, lines, body, body_blocks, stats)
        prose = [lines[i].box for i in body if i not in note] if note else body_boxes
        headline_rows = headline_under_title(caption, lines, clusters)
        if headline_rows and (
            lines[headline_rows[0]].box.y0 - caption.box.y1 <= 0.25 * lines[headline_rows[0]].size
            or centred_under(caption.box, lines[headline_rows[0]].box)
        ):
            # (set tight under the title, a quarter of its size apart at most, or centred under it, it
            # is the caption's subtitle; set apart at the title's edge, it heads the drawing)
            caption = captions[index] = with_rows(caption, headline_rows, lines)
            clusters = [without_rows_on_top(cluster, headline_rows, lines) for cluster in clusters]
        headline = {lines[i].box for i in headline_rows}
        prose = [box for box in prose if box not in headline]
        blockers = prose + headings + [other.box for j, other in enumerate(captions) if j != index]
        notes = notes_under_caption(caption.box, lines, text_blocks, stats)
        if not notes and habits.get(caption.label.kind) == "above":
            notes = legend_under_title(caption, lines, free, clusters)
        with_notes = list(captions)
        if notes:
            # (a caption heading its item with its notes set under it: the item starts under the notes)
            with_notes[index] = with_rows(caption, notes, lines)
            under_notes = [lines[i].box for i in body if i not in notes and i not in note]
            notes_blockers = (
                under_notes + headings + [other.box for j, other in enumerate(captions) if j != index]
            )
        # (a paragraph naming the sources under a caption heading its item: the claim downward
        # measures from its foot, and the item starts under it; it is neither's)
        sources = [] if notes else sources_under_caption(caption.box, lines, graphics)
        if sources:
            source_boxes = {lines[i].box for i in sources}
            with_sources = list(captions)
            with_sources[index] = replace(caption, box=caption.box.union(union_of(source_boxes)))
            sources_blockers = [box for box in blockers if box not in source_boxes]
            clusters = [without_rows_on_top(cluster, sources, lines) for cluster in clusters]
        span = beside_captions(
            caption.box, captions, horizontal_span(caption.box, text_left, text_right, single_column)
        )
        figure_like = caption.label.kind == "figure"
        # (the rest of a legend under "Fig. 1. (continued)" at the next column's top is level with
        # its figure's top, and no caption set beside it)
        beside = None if index in continued else beside_claim(index, captions, clusters, body_boxes)
        # a narrow caption in a margin column no body text runs through (Emerald's) has its item beside it
        in_margin = beside is not None and in_margin_column(caption.box, body_boxes, stats)
        # (notes in small print between a figure and its caption under it bridge the gap: the
        # claim upward measures from their top)
        over_notes = small_notes_over_caption(caption.box, lines, free, stats)
        with_notes_over = list(captions) if over_notes else captions
        if over_notes:
            with_notes_over[index] = replace(
                caption, box=caption.box.union(union_of(lines[i].box for i in over_notes))
            )
        for upward in () if in_margin else (True, False):
            claimants, stops = captions, blockers
            if over_notes and upward:
                claimants = with_notes_over
            elif notes and not upward:
                claimants, stops = with_notes, notes_blockers
            elif sources and not upward:
                claimants, stops = with_sources, sources_blockers
            claim = vertical_claim(
                index, claimants, clusters, stops, page, span, upward, lines, max_gap, stats.body_size
            )
            if claim is not None and over_notes and upward:
                reach_from[len(claims)] = with_notes_over[index].box
            if claim is None:
                continue
            if beside is not None and claim.box.horizontal_overlap(caption.box) <= 0:
                continue  # wholly off to the side, above or below: a margin caption's figure is beside it
            if min(claim.box.width, claim.box.height) >= MIN_THICKNESS:
                # (a lone rule heading or closing a caption is no side it found an item on)
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
            if sources and not upward:
                reach_from[len(claims)] = with_sources[index].box
                sourced[len(claims)] = sources
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
        costs = chained_costs(
            claim,
            reach_from.get(claim_index, noted.get(claim_index, captions[claim.caption]).box),
            clusters,
            max_gap,
            claim_links(claim, captions, loose, loose_panel_captions),
            lines,
        )
        # (a figure's too: an uncaptioned snippet framed over a diagram is no part of it)
        for listing in listings_past_table(costs, clusters, lines, 1.5 * stats.body_size):
            del costs[listing]
        for cluster_index, cost in costs.items():
            candidates.setdefault(cluster_index, []).append((cost, claim.caption, claim_index))
    # a drawing level with a caption beside it that has nothing above or below to claim is that
    # caption's, however near the figure under it (a stack: one figure captioned at its side, the
    # next one under it captioned below)
    # (a claim above or below that wins none of its drawings leaves its caption unplaced: the figure
    # under a side caption is the next caption's, right over it)
    winning = {min(offers)[2] for offers in candidates.values()}
    placed = {
        claim.caption
        for claim_index, claim in enumerate(claims)
        if claim.placement != "beside" and claim_index in winning
    }
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
        if item_kind(captions[caption_index], box, graphics) == "figure":
            member_indices = without_wider_rule_by_caption(
                member_indices, clusters, captions[caption_index].box
            )
            box = union_of(clusters[index].box for index in member_indices)
        if item_kind(captions[caption_index], box, graphics) == "table":
            placement = claims[claim_index].placement
            kept = under_table_head(member_indices, clusters, graphics, lines, placement)
            kept = over_table_foot(kept, clusters, graphics, lines, placement)
            box = union_of(clusters[index].box for index in kept)
            member_indices = kept
        taken_captions.add(caption_index)
        taken_clusters.update(member_indices)
        caption = noted.get(claim_index, captions[caption_index])
        drawn = combined_graphics([clusters[index] for index in member_indices])
        kind = item_kind(caption, box, graphics)
        if kind == "table":
            box = without_table_notes(box, lines, graphics)
        box = without_source_rows(box, sourced.get(claim_index, []), lines, graphics)
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
    # (an exhibit no number labels, titled over and sourced under: a statistical note's chart)
    in_items = {
        index
        for index, line in enumerate(lines)
        if any(item.box.contains_point(line.box.center_x, line.box.center_y) for item in items)
    }
    # (a title set close over its drawing was taken in as the drawing's text: it is free to be read)
    in_claimed = {index for at in taken_clusters for index in clusters[at].lines}
    titled = titled_exhibits(orphans, lines, graphics, caption_lines | in_claimed | in_items, stats.body_size)
    items.extend(titled)
    orphans = [
        orphan
        for orphan in orphans
        if not any(orphan.box.contains_point(item.box.center_x, item.box.center_y) for item in titled)
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
    # it, so no figure takes it, but it is no figure or table to pair, here or on another page (a
    # chart inside the box is the box's)
    items = [item for item in items if item.caption is None or not is_box_caption(item.caption)]
    return PageRegions(
        sorted(items, key=lambda item: (item.box.y0, item.box.x0)),
        [
            caption
            for index, caption in enumerate(captions)
            if index not in taken_captions and index not in continued and not is_box_caption(caption)
        ],
        orphans,
        page.area,
        page.height,
        tuple(evidence),
        len(body),
        legends_from_before,
    )


def drawings_and_rules(
    visible: Sequence[Graphic], page: Box, stats: TextStats
) -> tuple[list[Cluster], list[Box]]:
    """The page's drawings, and its rules on their own (a grid's too: a caption set in a grid's
    first row ends at the rule under it)."""
    rules = [graphic.box for graphic in visible if is_rule(graphic, 2 * stats.body_size)]
    return graphic_clusters(visible, page), rules


def beside_other_number(caption: Caption, captions: Sequence[Caption]) -> bool:
    """Another caption of the same kind but another number opens on the caption's first row, off
    to its side (neither the rest of an item begun on an earlier page)."""
    first = caption.box.y0
    return not marked_continued(caption) and any(
        other.label.kind == caption.label.kind
        and other.label != caption.label
        and not marked_continued(other)
        and abs(other.box.y0 - first) <= 0.5 * (caption.box.height / max(len(caption.lines), 1))
        and other.box.horizontal_overlap(caption.box) <= 0
        for other in captions
    )


def marked_continued(caption: Caption) -> bool:
    """The caption says its item goes on from an earlier page, its number read or not ("T a b l e"
    set letter-spaced, its "2" written apart, over "(continued)")."""
    return is_continuation(caption.text) or CONTINUED.search(caption.text) is not None


def is_box_caption(caption: Caption) -> bool:
    """A numbered box's title ("Box 2.1"), not a figure or table inside a box ("Box Figure 1.1")."""
    return caption.label.label.startswith("Box") and len(caption.label.label.split()) == 2


def without_wider_rule_by_caption(members: list[int], clusters: Sequence[Cluster], caption: Box) -> list[int]:
    """A figure's clusters less a bare rule between it and its caption that runs well past the
    drawing's sides: an exhibit's rule setting its caption off (a central bank's rules over and
    under the title, across the column, round a narrower chart), not the drawing's own frame."""
    rules = [index for index in members if is_bare_rule(clusters[index])]
    drawing = [index for index in members if index not in rules]
    if not rules or not drawing:
        return members
    body = union_of(clusters[index].box for index in drawing)
    apart = [
        index
        for index in rules
        if parts_caption_from_drawing(caption, clusters[index].box, body)
        and clusters[index].box.width - body.width > 0.1 * clusters[index].box.width
    ]
    return [index for index in members if index not in apart]


def is_bare_rule(cluster: Cluster) -> bool:
    return (
        not cluster.lines
        and cluster.images == 0
        and min(cluster.box.width, cluster.box.height) < MIN_THICKNESS
    )


def parts_caption_from_drawing(caption: Box, rule: Box, drawing: Box) -> bool:
    """The rule lies between the caption and the drawing, above or below them both."""
    return caption.y1 <= rule.y1 <= drawing.y0 + 1 or drawing.y1 - 1 <= rule.y0 <= caption.y0


def small_notes_over_caption(
    caption: Box, lines: Sequence[TextLine], free: Sequence[int], stats: TextStats
) -> list[int]:
    """The lines of a paragraph of notes in small print set right over a caption, opening with its
    word ("Disclaimer: The designations ...", as an agency sets them under its maps), read upward
    from the caption, row by row, no further apart than a blank row."""
    above = sorted(
        (
            index
            for index in free
            if lines[index].box.y1 <= caption.y0 + 1 and lines[index].box.horizontal_overlap(caption) > 0
        ),
        key=lambda index: -lines[index].box.y1,
    )
    rows: list[int] = []
    edge = caption.y0
    for index in above:
        line = lines[index]
        if edge - line.box.y1 > 1.5 * line.size or line.size > stats.body_size - 1.0:
            break
        rows.append(index)
        edge = line.box.y0
    first = min(rows, key=lambda index: lines[index].box.y0, default=None)
    return rows if first is not None and NOTES_WORD.match(lines[first].text) else []


def with_rows(caption: Caption, rows: Sequence[int], lines: Sequence[TextLine]) -> Caption:
    """The caption grown by the rows under it (its subtitle, its notes), their text read after its own."""
    return replace(
        caption,
        box=caption.box.union(union_of(lines[i].box for i in rows)),
        text=join_caption_lines([caption.text] + [lines[i].text for i in rows]),
        lines=caption.lines + tuple(rows),
    )


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
