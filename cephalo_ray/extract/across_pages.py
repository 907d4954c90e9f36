"""Pairing across a document's pages: where the document puts its captions (its habits), captions
paired with a drawing on the page before or after theirs, legends going on under "(continued)" on
the next page, and a layout model's blocks for captions left alone. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cephalo_ray.extract.captions import continued_legend
from cephalo_ray.extract.claims import CONVENTION_BONUS, MAX_CAPTION_GAP
from cephalo_ray.extract.geometry import Box, Caption, Item
from cephalo_ray.extract.regions import DEFAULT_HABITS, OTHER_PAGE_AREA, PageRegions


def document_habits(pages: Sequence[PageRegions]) -> dict[str, str]:
    """Where this document puts its captions, per kind: the side most of its unambiguous captions
    sit on ("below" or "above"), the common habit where the document does not say. Journals that
    caption tables below them would otherwise hand each caption the table under it."""
    habits = dict(DEFAULT_HABITS)
    for kind in habits:
        seen = [placement for page in pages for k, placement in page.evidence if k == kind]
        below, above = seen.count("below"), seen.count("above")
        if below >= 2 * above + 1:
            habits[kind] = "below"
        elif above >= 2 * below + 1:
            habits[kind] = "above"
    return habits


def pair_detected(regions: PageRegions, detected: Sequence[tuple[str, Box]], page: Box) -> PageRegions:
    """Give the page's unpaired captions the figures and tables a layout model found there, each
    caption the nearest block of its kind above, below or beside it that no item covers yet."""
    items = list(regions.items)
    free = [
        (kind, box)
        for kind, box in detected
        if not any(box.intersection_area(item.box) > 0.3 * min(box.area, item.box.area) for item in items)
    ]
    unpaired = []
    for caption in regions.unpaired_captions:
        options = []
        for index, (kind, box) in enumerate(free):
            if kind != caption.label.kind:
                continue
            if box.horizontal_overlap(caption.box) > 0:
                gap = max(caption.box.y0 - box.y1, box.y0 - caption.box.y1, 0.0)
            elif box.vertical_overlap(caption.box) > 0:
                gap = max(box.x0 - caption.box.x1, caption.box.x0 - box.x1, 0.0) + 2 * CONVENTION_BONUS
            else:
                continue
            if gap <= MAX_CAPTION_GAP:
                options.append((gap, index))
        if not options:
            unpaired.append(caption)
            continue
        _, index = min(options)
        kind, box = free.pop(index)
        items.append(Item(kind, box, caption, "raster", "detected"))
    return regions._replace(
        items=sorted(items, key=lambda item: (item.box.y0, item.box.x0)), unpaired_captions=unpaired
    )


BARE_PAGE_LINES = 3  # a page with no more running text than this (a page number, a running head)


def is_bare(page: PageRegions) -> bool:
    """The page holds captions and nothing else: no drawing, next to no running text."""
    return not page.items and not page.unclaimed and page.body_lines <= BARE_PAGE_LINES


def holds_floats_alone(page: PageRegions) -> bool:
    """The page holds drawings and nothing else: no caption, next to no running text."""
    return not page.items and not page.unpaired_captions and page.body_lines <= BARE_PAGE_LINES


def neighbour_pages(caption: Box, page_height: float, number: int, bare: bool = False) -> list[int]:
    """Where an unpaired caption's figure may be: the page before when the caption heads its page,
    the page after when it ends it; either when its page holds no drawing and next to no running
    text (a manuscript's full-page figure with its caption on a page of its own)."""
    if bare:
        return [number - 1, number + 1]
    pages = []
    if caption.y0 <= 0.3 * page_height:
        pages.append(number - 1)
    if caption.y1 >= 0.7 * page_height:
        pages.append(number + 1)
    return pages


def at_next_columns_top(caption: Box, drawing: Box, page_height: float) -> bool:
    """The caption ends its column low on the page and the drawing opens the column to its right."""
    return (
        caption.y1 >= 0.7 * page_height
        and drawing.y0 <= 0.3 * page_height
        and drawing.x0 >= caption.x1 - 2.0
        and drawing.y1 < caption.y0
    )


def pair_across_pages(pages: Sequence[PageRegions]) -> list[list[Item]]:
    """Items per page after pairing each unpaired caption with an unclaimed drawing on its own page
    of floats, or on the page before it (the caption went on to the next page) or after it (a
    caption facing its figure): the largest, preferring one in the caption's column. The item
    stays on the drawing's page; `caption_page` records where the caption was."""
    items = [list(page.items) for page in pages]
    taken: set[tuple[int, int]] = set()
    # (a label some item on a page already has, found again with nothing by it, is a sentence that
    # cites it from the top of the next page: "... are displayed in" + "Table 3. The classifier ...")
    paired = {item.caption.label for page in pages for item in page.items if item.caption is not None}
    for number, page in enumerate(pages):
        for caption in page.unpaired_captions:
            if caption.label in paired:
                continue
            # (on a page of floats, next to no running text, a drawing of its own page further off
            # than a caption may stand from its figure comes first: a map clipped to a small part of
            # its frame, high over its caption)
            own = [number] if page.body_lines <= BARE_PAGE_LINES else []
            options = [
                (
                    other == number,
                    drawing.box.horizontal_overlap(caption.box) > 0,
                    drawing.box.area,
                    other,
                    index,
                )
                for other in own + neighbour_pages(caption.box, page.page_height, number, is_bare(page))
                if 0 <= other < len(pages)
                for index, drawing in enumerate(pages[other].unclaimed)
                if (other, index) not in taken
                and drawing.box.area >= OTHER_PAGE_AREA * pages[other].page_area
            ]
            # (a caption ending its column heads the drawing at the top of the next one, where
            # that drawing has no caption of its own: a report set in two columns)
            options += [
                (True, False, drawing.box.area, number, index)
                for index, drawing in enumerate(page.unclaimed)
                if (number, index) not in taken
                and drawing.box.area >= OTHER_PAGE_AREA * page.page_area
                and at_next_columns_top(caption.box, drawing.box, page.page_height)
            ]
            if not options:
                continue
            *_, other, index = max(options)
            taken.add((other, index))
            drawing = pages[other].unclaimed[index]
            if other == number and at_next_columns_top(caption.box, drawing.box, page.page_height):
                item = Item(caption.label.kind, drawing.box, caption, drawing.graphics, "above")
            elif other == number:
                above = drawing.box.center_y < caption.box.center_y
                box = drawing.box
                if len(page.unpaired_captions) == 1:
                    # (the page's one caption: every drawing on that side of it is a panel of its figure)
                    box = with_free_panels(box, pages, number, taken, (caption.box.center_y, above))
                placement = "below" if above else "above"
                item = Item(caption.label.kind, box, caption, drawing.graphics, placement)
            else:
                box = drawing.box
                if len(page.unpaired_captions) == 1 and holds_floats_alone(pages[other]):
                    # (a page of drawings alone facing the page's one caption: they are the panels
                    # of its figure, however far apart)
                    box = with_free_panels(box, pages, other, taken)
                item = Item(caption.label.kind, box, caption, drawing.graphics, "other-page", number)
            items[other].append(item)
    for number, page in enumerate(pages):
        for rest in page.continued_legends if number > 0 else ():
            with_legend_from_next_page(items, number - 1, rest)
    return without_repeated_captions(items)


def with_free_panels(
    box: Box,
    pages: Sequence[PageRegions],
    number: int,
    taken: set[tuple[int, int]],
    side: tuple[float, bool] | None = None,
) -> Box:
    """`box` grown by the drawings of page `number` no caption has taken yet, which are taken now;
    with `side` (a height, and whether above it), only those whose middle lies on that side."""
    for index, panel in enumerate(pages[number].unclaimed):
        on_side = side is None or (panel.box.center_y < side[0]) == side[1]
        if on_side and (number, index) not in taken:
            taken.add((number, index))
            box = box.union(panel.box)
    return box


def without_repeated_captions(items: list[list[Item]]) -> list[list[Item]]:
    """A caption repeated word for word over an item on the next page heads the rest of the same item
    (a long table set over pages under its full title each time, with no "continued"): the item is
    the one on the page where the caption first stood."""

    def key(item: Item) -> tuple[str, str, str] | None:
        if item.caption is None:
            return None
        return (item.kind, item.caption.label.label, " ".join(item.caption.text.split()))

    kept: list[list[Item]] = []
    before: set[tuple[str, str, str]] = set()
    for page_items in items:
        kept.append([item for item in page_items if key(item) not in before])
        before = {found for found in map(key, page_items) if found is not None}
    return kept


def with_legend_from_next_page(items: list[list[Item]], number: int, rest: Caption) -> None:
    """The item whose caption is on page `number` (0-based) with the label of `rest`, a legend going
    on under "Figure 8. (continued)." on the page after, takes that legend's text."""
    for page in range(max(number - 1, 0), min(number + 2, len(items))):
        for index, item in enumerate(items[page]):
            caption = item.caption
            caption_page = item.caption_page if item.caption_page is not None else page
            if caption is None or caption.label != rest.label or caption_page != number:
                continue
            text = continued_legend(caption.text, rest.text)
            items[page][index] = replace(item, caption=replace(caption, text=text))
            return
