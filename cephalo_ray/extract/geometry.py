"""The shapes of a page: boxes, text lines, graphics, captions, clusters and items, and the
geometry the extractor reasons with. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cephalo_ray.extract.captions import CaptionLabel


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    @property
    def center_x(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def center_y(self) -> float:
        return (self.y0 + self.y1) / 2

    def union(self, other: Box) -> Box:
        return Box(
            min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1)
        )

    def near(self, other: Box, gap: float) -> bool:
        return (
            self.x0 - gap <= other.x1
            and other.x0 - gap <= self.x1
            and self.y0 - gap <= other.y1
            and other.y0 - gap <= self.y1
        )

    def horizontal_overlap(self, other: Box) -> float:
        return max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))

    def vertical_overlap(self, other: Box) -> float:
        return max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))

    def shares_row(self, other: Box, share: float = 0.5) -> bool:
        """The two overlap vertically by more than `share` of the shorter one: one printed row."""
        return self.vertical_overlap(other) > share * min(self.height, other.height)

    def intersection_area(self, other: Box) -> float:
        return self.horizontal_overlap(other) * self.vertical_overlap(other)

    def contains_point(self, x: float, y: float, margin: float = 0.0) -> bool:
        return self.x0 - margin <= x <= self.x1 + margin and self.y0 - margin <= y <= self.y1 + margin

    def clip(self, other: Box) -> Box:
        return Box(
            max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1)
        )


def union_of(boxes: Iterable[Box]) -> Box:
    """The smallest box holding all of them (at least one)."""
    boxes = iter(boxes)
    union = next(boxes)
    for box in boxes:
        union = union.union(box)
    return union


RULE_THICKNESS = 2.5  # a horizontal path no taller than this is a rule
ACROSS_PAGE = 0.6  # of the page's width: a rule this long runs across the text, not inside a drawing


def is_rule(graphic: Graphic, min_width: float) -> bool:
    # (a strip of image one pixel high is a rule too: some converters paint rules as pictures)
    return graphic.box.height <= RULE_THICKNESS and graphic.box.width >= min_width


def joined_rules(graphics: Sequence[Graphic]) -> list[Box]:
    """Horizontal rules, with the pieces a grid writes cell by cell joined into one rule."""
    pieces = sorted(
        (graphic.box for graphic in graphics if is_rule(graphic, 0.0) and graphic.box.width > 0),
        key=lambda box: (box.y0, box.x0),
    )
    rules: list[Box] = []
    for piece in pieces:
        last = next(
            (
                i
                for i, rule in enumerate(rules)
                if abs(rule.y0 - piece.y0) <= 1.0 and rule.x0 - 2 <= piece.x0 <= rule.x1 + 2
            ),
            None,
        )
        if last is None:
            rules.append(piece)
        else:
            rules[last] = rules[last].union(piece)
    return rules


@dataclass(frozen=True)
class TextLine:
    box: Box
    text: str
    size: float
    bold_start: bool
    block: int  # index of the text block on the page; lines of one block are one paragraph
    turn: int = 0  # 0: upright; 1: set on its side reading upwards; -1: reading downwards
    italic: bool = False  # every word of the line set in italics
    mono: bool = False  # every word of the line set in a typewriter face (code)
    bold: bool = False  # every word of the line set in bold


@dataclass(frozen=True)
class Graphic:
    box: Box
    kind: str  # "image" or "path"


@dataclass(frozen=True)
class Caption:
    box: Box
    label: CaptionLabel
    text: str
    lines: tuple[int, ...]  # indices into the page's lines
    bold_label: bool = False


@dataclass
class Cluster:
    box: Box
    images: int = 0
    paths: int = 0
    lines: list[int] = field(default_factory=list)
    text_only: bool = False

    @property
    def graphics(self) -> str:
        return combined_graphics([self])


@dataclass(frozen=True)
class Item:
    kind: str  # "figure" or "table"
    box: Box
    caption: Caption | None
    graphics: str
    placement: str  # where the caption sits: "below", "above", "beside", "other-page" or "none"
    caption_page: int | None = None  # 0-based page of the caption when not this page


@dataclass(frozen=True)
class TextStats:
    """Document-wide typography: what body prose looks like."""

    body_size: float
    column_width: float
    # white space between consecutive body lines (double spacing: about a line; such lines are
    # often blocks of their own, so blocks are not consulted)
    line_gap: float = 2.0


def on_one_row(a: Box, b: Box) -> bool:
    """Two pieces of text on one printed row: overlapping by half, or one's middle inside the other
    (a subscript or superscript sits half above or below its line)."""
    return a.shares_row(b) or b.y0 <= a.center_y <= b.y1 or a.y0 <= b.center_y <= a.y1


def edge_gap(a: Box, b: Box) -> float:
    """The empty space between two boxes (0 when they touch or overlap)."""
    return max(a.x0 - b.x1, b.x0 - a.x1, a.y0 - b.y1, b.y0 - a.y1, 0.0)


def combined_graphics(clusters: Sequence[Cluster]) -> str:
    images = sum(cluster.images for cluster in clusters)
    paths = sum(cluster.paths for cluster in clusters)
    if images and paths:
        return "mixed"
    return "raster" if images else "vector"
