"""PDF bytes -> figure/caption pairs. Pure: bytes and numbers in, rows out; no Ray, no storage.

Each page is read once into plain boxes (text lines, image placements, visible paths); the geometry in
`regions` decides the figures, tables and their captions; the body sentences that cite a label become
its mentions. Failures raise `ExtractError` with a fixed kind so the job records them as error rows.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from cephalo_ray.extract.across_pages import document_habits, pair_across_pages, pair_detected
from cephalo_ray.extract.captions import (
    PLAIN_CHARACTERS,
    find_mentions,
    join_caption_lines,
    numbered_exhibits,
    parse_caption_start,
    split_sentences,
    with_accents_on_letters,
)
from cephalo_ray.extract.geometry import (
    ACROSS_PAGE,
    Box,
    Caption,
    Graphic,
    Item,
    TextLine,
    TextStats,
    on_one_row,
    union_of,
)
from cephalo_ray.extract.layout import LayoutDetector, blocks_of, shared_detector
from cephalo_ray.extract.metadata import DocumentMetadata, document_metadata
from cephalo_ray.extract.page_text import (
    is_wordy,
    join_row_pieces,
    prose_extent,
    running_furniture,
    running_graphics,
    text_stats,
    without_furniture,
    without_margin_text,
)
from cephalo_ray.extract.regions import DEFAULT_HABITS, PageRegions, pair_regions
from cephalo_ray.rows import PairRow

if TYPE_CHECKING:
    import pymupdf

# Error kinds recorded in `errors.error`; each stands for one fixed outcome.
EMPTY = "Empty"
NOT_PDF = "NotPDF"
CORRUPT = "Corrupt"
ENCRYPTED = "Encrypted"
TOO_LARGE = "TooLarge"
TIMEOUT = "Timeout"
CRASHED = "Crashed"
READ_FAILED = "ReadFailed"
FAILED = "Failed"

PDF_MAGIC = b"%PDF-"
PARSER_IMPORTS = ("pymupdf", "numpy", "PIL.Image")  # imported lazily by the parse; a sandbox preloads them
MAGIC_WINDOW = 1024  # the PDF spec lets the header start late; readers accept 1 KiB of junk
BOLD_FLAG = 16
ITALIC_FLAG = 2
MONO_FLAG = 8
# typewriter faces by name where the font does not flag itself: TeX's "CMTT10" / "SFTT1000",
# Latin Modern's and DejaVu's "…Mono", Courier ("pcrr8r"), Consolas, Menlo, Inconsolata, Fira/Source Code
MONO_FONT = re.compile(
    r"mono(?!type)|nimbusmon|courier|consol|menlo|lettergothic|typewriter|code|^(cmtt|sftt|lmtt|ectt|txtt|pcr)",
    re.IGNORECASE,
)
# italic faces by name: "…Italic", "…Oblique", "…-It", TeX's "CMTI10" / "CMMI10" is maths, not prose
ITALIC_FONT = re.compile(r"(?i:italic|oblique)|[-,.](It|Ital|I)$|^CMTI|^SFTI")
# bold faces by name where the font does not flag itself: "…Bold", "…Black", "…Heavy", "…Semibold",
# "…Demi", URW's "…-Medi", TeX's bold extended "CMBX10"/"SFBX1000", and the suffixes typesetting
# systems give bold subsets ("AdvOT6c1def61.B", "Arial,Bold", "Frutiger-Bd")
BOLD_FONT = re.compile(
    r"bold|black|heavy|demi|-medi|^(cm|lm|sf|ec|t1)?bx|[.,-]b$|[.,-]bd$|bd$", re.IGNORECASE
)
WHITE = 0.97  # colour components above this print as white paper
FULL_PAGE_AREA = 0.85  # an image this large on a page without text is a scan
BAR_PEN = 2.0  # points; a stroke this broad may be drawn across its length, as a bar


class ExtractError(Exception):
    """A document that yields nothing, with a fixed `kind` and a readable reason."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class DocumentResult(TypedDict):
    doc_id: str
    pages: int
    scanned_pages: int
    repaired: bool
    pairs: list[PairRow]
    seconds: float
    page_seconds: list[float]
    metadata: DocumentMetadata


class Found(NamedTuple):
    page: int
    item: Item
    png: bytes
    width: int
    height: int


def doc_id_of(pdf_bytes: bytes) -> str:
    return hashlib.sha256(pdf_bytes).hexdigest()


def pair_id_of(doc_id: str, page: int, kind: str, label_or_ordinal: str) -> str:
    return hashlib.sha256(f"{doc_id}|{page}|{kind}|{label_or_ordinal}".encode()).hexdigest()[:16]


def open_pdf(pdf_bytes: bytes) -> pymupdf.Document:
    """Open PDF bytes or raise the `ExtractError` that says why they cannot be used."""
    import pymupdf

    if not pdf_bytes:
        raise ExtractError(EMPTY, "the file has 0 bytes")
    if PDF_MAGIC not in pdf_bytes[:MAGIC_WINDOW]:
        head = pdf_bytes[:16].decode("latin-1").strip()
        raise ExtractError(NOT_PDF, f"no %PDF- header in the first {MAGIC_WINDOW} bytes (starts {head!r})")
    try:
        doc = pymupdf.open(stream=pdf_bytes, filetype="pdf")
    except pymupdf.EmptyFileError as error:
        raise ExtractError(EMPTY, str(error) or "no content") from None
    except (pymupdf.FileDataError, RuntimeError, ValueError) as error:
        raise ExtractError(CORRUPT, f"cannot be parsed: {error}") from None
    if doc.needs_pass:
        doc.close()
        raise ExtractError(ENCRYPTED, "password-protected: a user password is needed to open it")
    if doc.page_count == 0:
        doc.close()
        raise ExtractError(EMPTY, "the PDF has no pages")
    return doc


@dataclass(frozen=True)
class ParseOptions:
    """What shapes the parse of one PDF: built once by the job, handed to every extraction actor.

    These defaults are the only ones: the job's config and `extract_document` take them from here.
    """

    dpi: int = 150
    min_figure_points: float = 36.0
    max_pages: int = 2000
    max_crop_pixels: int = 40_000_000
    keep_uncaptioned: bool = False
    detector: str = "none"
    detector_options: Mapping[str, Any] | None = None
    consult: str = "unsure"

    def as_keywords(self) -> dict[str, Any]:
        """The keyword arguments of `extract_document` (or another parse function)."""
        return {**asdict(self), "detector_options": dict(self.detector_options or {})}


def extract_document(
    pdf_bytes: bytes,
    source: str,
    *,
    dpi: int = ParseOptions.dpi,
    min_figure_points: float = ParseOptions.min_figure_points,
    max_pages: int = ParseOptions.max_pages,
    max_crop_pixels: int = ParseOptions.max_crop_pixels,
    keep_uncaptioned: bool = ParseOptions.keep_uncaptioned,
    detector: str = ParseOptions.detector,
    detector_options: Mapping[str, Any] | None = None,
    consult: str = ParseOptions.consult,
) -> DocumentResult:
    """Find the figures and tables of one PDF with their captions and mentions, cropped to PNG.

    Args:
        pdf_bytes: the whole file.
        source: the input URI, copied onto every row.
        dpi: crop resolution.
        min_figure_points: items narrower and shorter than this (PDF points) are icons, not figures.
        max_pages: documents with more pages are refused as `TooLarge`.
        max_crop_pixels: a crop that would be larger is rendered at a lower DPI to fit.
        keep_uncaptioned: also return large raster images that no caption claims (label None).
        detector: a layout model to consult (`layout.DETECTORS`: "none", "pymupdf", "layoutparser"),
            built once per process with `detector_options`.
        consult: when: "unsure" (pages with a caption the geometry found no figure for, and scans),
            "always" (every page) or "scanned" (pages without a text layer only).

    Raises:
        ExtractError: for an empty, non-PDF, corrupt, encrypted or over-long document.
    """
    started = time.perf_counter()
    doc = open_pdf(pdf_bytes)
    try:
        if doc.page_count > max_pages:
            raise ExtractError(
                TOO_LARGE, f"{doc.page_count} pages is over the cap of {max_pages} (limits.max_pages)"
            )
        doc_id = doc_id_of(pdf_bytes)
        repaired = bool(doc.is_repaired)
        page_seconds = [0.0] * doc.page_count  # where the time goes, page by page
        contents = []
        for index in range(doc.page_count):
            tick = time.perf_counter()
            contents.append(read_page(doc.load_page(index)))
            page_seconds[index] += time.perf_counter() - tick
        furniture = running_furniture([c.lines for c in contents], [c.rect for c in contents])
        banners = running_graphics(
            [c.graphics for c in contents], [c.rect for c in contents], [c.lines for c in contents]
        )
        contents = [
            content._replace(lines=lines, graphics=graphics)
            for content, running, banner in zip(contents, furniture, banners, strict=True)
            for lines, graphics in [
                without_furniture(
                    content.lines,
                    [g for index, g in enumerate(content.graphics) if index not in banner],
                    running,
                    content.rect,
                )
            ]
        ]
        stats = text_stats([content.lines for content in contents])
        text_area = prose_extent([content.lines for content in contents], stats)
        contents = [
            content._replace(lines=without_margin_text(content.lines, content.rect, stats, text_area))
            for content in contents
        ]
        found: list[Found] = []
        body_lines: list[str] = []
        layout_model = shared_detector(detector, **(detector_options or {})) if detector != "none" else None
        regions = pair_pages(contents, stats, keep_uncaptioned, DEFAULT_HABITS, page_seconds)
        habits = document_habits(regions)
        if habits != DEFAULT_HABITS:
            # the document captions some kind on the other side: pair its pages again knowing that
            regions = pair_pages(contents, stats, keep_uncaptioned, habits, page_seconds)
        for page_index, content in enumerate(contents):
            tick = time.perf_counter()
            if content.scanned:
                # no text layer: only a layout model can say where figures are (captions unread)
                found_blocks = detected_blocks(layout_model, doc.load_page(page_index))
                regions[page_index] = PageRegions(
                    [Item(kind, box, None, "raster", "none") for kind, box in found_blocks], [], []
                )
                page_seconds[page_index] += time.perf_counter() - tick
                continue
            page_regions = regions[page_index]
            if layout_model is not None and (
                consult == "always" or (consult == "unsure" and page_regions.unpaired_captions)
            ):
                blocks = detected_blocks(layout_model, doc.load_page(page_index))
                page_regions = regions[page_index] = pair_detected(page_regions, blocks, content.rect)
            page_seconds[page_index] += time.perf_counter() - tick
            caption_lines = {
                index for item in page_regions.items if item.caption for index in item.caption.lines
            }
            inside = [item.box for item in page_regions.items]
            body_lines.extend(
                line.text
                for index, line in enumerate(content.lines)
                if index not in caption_lines
                and not any(box.contains_point(line.box.center_x, line.box.center_y) for box in inside)
            )
        scanned_pages = sum(1 for content in contents if content.scanned)
        for page_index, items in enumerate(pair_across_pages(regions)):
            items = [
                item
                for item in items
                if item.box.width >= min_figure_points or item.box.height >= min_figure_points
            ]
            if not items:
                continue
            tick = time.perf_counter()
            page = doc.load_page(page_index)
            for item in items:
                box = item.box.clip(contents[page_index].rect)
                png, width, height, printed = render_crop(
                    page, box, dpi, max_crop_pixels, trim=item.kind == "figure"
                )
                found.append(Found(page_index + 1, replace(item, box=printed), png, width, height))
            page_seconds[page_index] += time.perf_counter() - tick
        sentences = split_sentences(join_caption_lines(body_lines))
        pairs = build_rows(found, doc_id, source, sentences)
        return {
            "doc_id": doc_id,
            "pages": doc.page_count,
            "scanned_pages": scanned_pages,
            "repaired": repaired,
            "pairs": pairs,
            "seconds": time.perf_counter() - started,
            "page_seconds": page_seconds,
            "metadata": document_metadata(doc),
        }
    finally:
        doc.close()


def pair_pages(
    contents: list[PageContent],
    stats: TextStats,
    keep_uncaptioned: bool,
    habits: Mapping[str, str],
    page_seconds: list[float],
) -> list[PageRegions]:
    """Each page's items by geometry alone (scanned pages have none), timed per page."""
    numbered = numbered_exhibits(line.text for content in contents for line in content.lines)
    regions = []
    for page_index, content in enumerate(contents):
        tick = time.perf_counter()
        if content.scanned:
            regions.append(PageRegions([], [], []))
        else:
            turn = page_turn(content.lines)
            upright = turned_upright(content, turn)
            found = pair_regions(
                upright.lines, upright.graphics, upright.rect, stats, keep_uncaptioned, habits, numbered
            )
            regions.append(turned_back(found, turn, content.rect))
        page_seconds[page_index] += time.perf_counter() - tick
    return regions


TURNED_PAGE_SHARE = 0.6  # of a page's characters set on their side: a page printed sideways


def page_turn(lines: Sequence[TextLine]) -> int:
    """How the page's text runs: 0 upright; 1 or -1 when most of it is set on its side, reading
    upwards or downwards (a wide table printed sideways on a portrait page)."""
    by_turn = {0: 0, 1: 0, -1: 0}
    # running words say how the page reads, where it has them: a diagram's many short labels set on
    # their side (item numbers, loadings) do not turn a page whose caption reads upright
    wordy = [line for line in lines if is_wordy(line.text, 4)]
    for line in wordy or lines:
        by_turn[line.turn] += len(line.text)
    total = sum(by_turn.values())
    for turn in (1, -1):
        if total and by_turn[turn] >= TURNED_PAGE_SHARE * total:
            return turn
    return 0


def turned_box(box: Box, turn: int, rect: Box) -> Box:
    """A page box in the frame where text of that turn reads upright (the page turned a quarter)."""
    if turn == 1:  # reading upwards: the glyphs' tops face the page's left edge
        return Box(rect.y1 - box.y1, box.x0 - rect.x0, rect.y1 - box.y0, box.x1 - rect.x0)
    if turn == -1:  # reading downwards: their tops face the right edge
        return Box(box.y0 - rect.y0, rect.x1 - box.x1, box.y1 - rect.y0, rect.x1 - box.x0)
    return box


def unturned_box(box: Box, turn: int, rect: Box) -> Box:
    """`turned_box` undone: a box of the upright frame back on the page."""
    if turn == 1:
        return Box(rect.x0 + box.y0, rect.y1 - box.x1, rect.x0 + box.y1, rect.y1 - box.x0)
    if turn == -1:
        return Box(rect.x1 - box.y1, rect.y0 + box.x0, rect.x1 - box.y0, rect.y0 + box.x1)
    return box


def turned_upright(content: PageContent, turn: int) -> PageContent:
    """The page as a reader turning it would see it: boxes in the upright frame, lines in its
    reading order."""
    if turn == 0:
        return content
    rect = content.rect
    lines = [
        replace(line, box=turned_box(line.box, turn, rect), turn=line.turn - turn) for line in content.lines
    ]
    lines.sort(key=lambda line: (round(line.box.y0), line.box.x0))
    graphics = [Graphic(turned_box(graphic.box, turn, rect), graphic.kind) for graphic in content.graphics]
    return PageContent(Box(0, 0, rect.height, rect.width), lines, graphics, content.scanned)


def turned_back(regions: PageRegions, turn: int, rect: Box) -> PageRegions:
    """The regions found in the upright frame, in page coordinates."""
    if turn == 0:
        return regions

    def caption_back(caption: Caption | None) -> Caption | None:
        return None if caption is None else replace(caption, box=unturned_box(caption.box, turn, rect))

    def item_back(item: Item) -> Item:
        return replace(item, box=unturned_box(item.box, turn, rect), caption=caption_back(item.caption))

    return regions._replace(
        items=[item_back(item) for item in regions.items],
        unpaired_captions=[
            replace(caption, box=unturned_box(caption.box, turn, rect))
            for caption in regions.unpaired_captions
        ],
        unclaimed=[item_back(item) for item in regions.unclaimed],
        page_height=rect.height,
    )


class PageContent(NamedTuple):
    rect: Box
    lines: list[TextLine]
    graphics: list[Graphic]
    scanned: bool


RADICAL_SIGNS = ("\u221a", "\u221b", "\u221c")  # square, cube and fourth roots


def with_radicals_on_their_rows(lines: list[TextLine]) -> list[TextLine]:
    """A radical sign written on its own whose glyph box stands a row high (TeX's math fonts hang
    the sign's stroke down from its box to the baseline): moved onto the row its foot touches, where
    the text before and after it print, so it reads as a piece of that row, not a line of its own."""
    moved = list(lines)
    lowered_signs: set[int] = set()
    for index, line in enumerate(lines):
        if line.turn != 0 or line.text not in RADICAL_SIGNS:
            continue
        box, height = line.box, line.box.height
        beside = [
            other.box
            for other in lines
            if other is not line and -1.0 <= max(other.box.x0 - box.x1, box.x0 - other.box.x1) <= height
        ]
        lowered = Box(box.x0, box.y0 + 0.8 * height, box.x1, box.y1 + 0.8 * height)
        # (set on its row already where a piece beside it shares more of its height as it stands: a
        # font whose box is where the sign prints)
        if max((other.vertical_overlap(lowered) for other in beside), default=0.0) > max(
            (other.vertical_overlap(box) for other in beside), default=0.0
        ) and any(on_one_row(other, lowered) for other in beside):
            moved[index] = replace(line, box=lowered)
            lowered_signs.add(index)
    # (the sign reads with what it roots, the piece right after it on the row, wherever the PDF
    # wrote either)
    dropped: set[int] = set()
    for index in sorted(lowered_signs):
        line = moved[index]
        for other, piece in enumerate(moved):
            gap = piece.box.x0 - line.box.x1
            if (
                other != index
                and other not in dropped
                and on_one_row(piece.box, line.box)
                and -1.0 <= gap <= line.box.height
            ):
                moved[other] = replace(piece, box=piece.box.union(line.box), text=f"{line.text} {piece.text}")
                dropped.add(index)
                break
    return [line for index, line in enumerate(moved) if index not in dropped]


def read_page(page: pymupdf.Page) -> PageContent:
    """The text lines and graphic elements of a page, as plain boxes (one pass over each)."""
    rect = Box(page.rect.x0, page.rect.y0, page.rect.x1, page.rect.y1)
    lines = read_text_lines(page)
    rotation = page.rotation_matrix if page.rotation else None
    frame = (lambda box: in_page_frame(box, rotation)) if rotation is not None else (lambda box: box)
    from cephalo_ray.extract.image_clips import printed_image_boxes

    placements = [frame(box).clip(rect) for box in printed_image_boxes(page)]
    graphics = [Graphic(box, "image") for box in placements if box.area > 0]
    clips: dict[int, Box] = {}  # the clip in force per nesting level
    tints: list[int] = []  # indices of light panels laid under other things
    banded: dict[int, tuple[Box, Box]] = {}  # paths of two rules, by index
    for drawing in page.get_cdrawings(extended=True):
        level = int(drawing.get("level", 0))
        for closed in [number for number in clips if number >= level]:
            del clips[closed]  # an item at this level ends the clips opened at it or deeper
        inside = clips[max(clips)] if clips else rect
        if drawing["type"] == "clip":
            clips[level] = frame(Box(*drawing["scissor"])).clip(inside)
        elif drawing["type"] != "group" and is_visible(drawing):
            # a stroke is as thick as its pen: straight rules and axes have zero-height rects
            pen = max(float(drawing.get("width") or 0.0), 0.5) / 2 if "s" in drawing["type"] else 0.0
            tint = is_tint(drawing)
            rules = two_rules(drawing)
            if rules is not None:
                banded[len(graphics)] = rules
            for x0, y0, x1, y1 in drawing_pieces(drawing):
                # (a broad pen with butt ends paints a bar across its straight stroke, ending where the
                # stroke ends: a table's vertical rule drawn as a dot-long horizontal line 243 pt thick,
                # a table's shaded band drawn as one line 48 pt thick; a round-capped dot and a hairline
                # keep their pen)
                bar = 2 * pen >= BAR_PEN and not any(drawing.get("lineCap") or (0,))
                along_x = 0.0 if bar and y1 - y0 < 0.01 < x1 - x0 else pen
                along_y = 0.0 if bar and x1 - x0 < 0.01 < y1 - y0 else pen
                # only what its clip lets through prints (plot lines drawn on past their axes)
                box = frame(Box(x0 - along_x, y0 - along_y, x1 + along_x, y1 + along_y)).clip(inside)
                if box.width >= 0 and box.height >= 0:
                    if tint:
                        tints.append(len(graphics))
                    graphics.append(Graphic(box, "path"))
    # a light panel a journal lays under a picture (and its caption) is no ink of the figure
    under_pictures = {
        index
        for index in tints
        if any(lies_within(picture, graphics[index].box, 2.0) for picture in placements if picture.area > 0)
    }
    apart = empty_bands_apart(graphics, banded, lines, rect)
    graphics = [
        piece
        for index, graphic in enumerate(graphics)
        if index not in under_pictures
        for piece in apart.get(index, [graphic])
    ]
    return PageContent(rect, lines, graphics, is_scanned(rect, lines, graphics))


PIECE_GAP = 6.0  # points; rectangles of one path farther apart than this are separate drawings


def drawing_pieces(drawing: dict[str, Any]) -> list[tuple[float, float, float, float]]:
    """The boxes a path paints: its rect, or, for a path made only of rectangles, one box per group
    of them lying close together (a producer that strokes the frames of four charts' legends as one
    path has not drawn one frame round the four)."""
    items = drawing.get("items") or []
    if len(items) < 2 or any(item[0] != "re" for item in items):
        return [tuple(drawing["rect"])]
    pieces: list[Box] = []
    for item in items:
        x0, y0, x1, y1 = item[1]
        piece = Box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        near = [other for other in pieces if piece.near(other, PIECE_GAP)]
        while near:  # (a grown piece may reach pieces the rectangle alone did not)
            for other in near:
                pieces.remove(other)
                piece = piece.union(other)
            near = [other for other in pieces if piece.near(other, PIECE_GAP)]
        pieces.append(piece)
    return [(piece.x0, piece.y0, piece.x1, piece.y1) for piece in pieces]


def two_rules(drawing: dict[str, Any]) -> tuple[Box, Box] | None:
    """The two horizontal rules a path strokes, where it strokes nothing else (its lines lie at two
    heights only)."""
    items = drawing.get("items") or []
    if len(items) < 2 or any(item[0] != "l" or abs(item[1][1] - item[2][1]) >= 0.01 for item in items):
        return None
    rules: dict[float, Box] = {}
    for _, start, end in (item[:3] for item in items):
        rule = Box(min(start[0], end[0]), start[1], max(start[0], end[0]), start[1])
        height = round(start[1], 1)
        rules[height] = rules[height].union(rule) if height in rules else rule
    if len(rules) != 2:
        return None
    upper, lower = sorted(rules.values(), key=lambda rule: rule.y0)
    return upper, lower


def empty_bands_apart(
    graphics: list[Graphic], banded: dict[int, tuple[Box, Box]], lines: Sequence[TextLine], page: Box
) -> dict[int, list[Graphic]]:
    """Per path of two rules across most of the page with nothing drawn or written between them, its
    two rules (a report's frame over an empty band is no drawing the size of the band; a chart's
    gridlines stay one drawing)."""
    apart: dict[int, list[Graphic]] = {}
    for index, (upper, lower) in banded.items():
        band = graphics[index].box
        inside = Box(band.x0, band.y0 + 1, band.x1, band.y1 - 1)
        if inside.height <= 0 or min(upper.width, lower.width) < ACROSS_PAGE * page.width:
            continue
        written = any(inside.contains_point(line.box.center_x, line.box.center_y) for line in lines)
        drawn = any(
            other != index and inside.contains_point(graphic.box.center_x, graphic.box.center_y)
            for other, graphic in enumerate(graphics)
        )
        if not written and not drawn:
            pen = (band.height - abs(lower.y0 - upper.y0)) / 2
            apart[index] = [
                Graphic(Box(rule.x0, rule.y0 - pen, rule.x1, rule.y1 + pen), "path")
                for rule in (upper, lower)
            ]
    return apart


def lies_within(inner: Box, outer: Box, margin: float) -> bool:
    """`inner` lies inside `outer` with at least `margin` to spare on every side."""
    return (
        outer.x0 + margin <= inner.x0
        and inner.x1 <= outer.x1 - margin
        and outer.y0 + margin <= inner.y0
        and inner.y1 <= outer.y1 - margin
    )


TINT = 0.8  # a fill this light in every channel is a panel's background, not a drawing's ink


def is_tint(drawing: dict[str, Any]) -> bool:
    """A light fill with no stroke: the background of a panel or a box."""
    fill = drawing.get("fill") if "f" in drawing["type"] else None
    return fill is not None and "s" not in drawing["type"] and min(fill, default=0.0) >= TINT


def detected_blocks(layout_model: LayoutDetector | None, page: pymupdf.Page) -> list[tuple[str, Box]]:
    """The figure and table blocks a layout model finds on a page (none without a model)."""
    if layout_model is None:
        return []
    layout = layout_model.detect(page)
    return [(kind, Box(*box)) for kind in ("figure", "table") for box in blocks_of(layout, kind)]


def is_visible(drawing: dict[str, Any]) -> bool:
    """Paths painted white on white (backgrounds of plots, knock-outs) are not content."""
    fill = drawing.get("fill") if "f" in drawing["type"] else None
    stroke = drawing.get("color") if "s" in drawing["type"] else None
    return any(colour is not None and min(colour, default=1.0) < WHITE for colour in (fill, stroke))


UNMAPPED_PAGE_SHARE = 0.3  # of a page's printed characters without Unicode: a font that has none


def unmapped_share(blocks: Sequence[dict[str, Any]]) -> float:
    """The share of a text dict's printed characters that read as U+FFFD (no Unicode for the glyph)."""
    printed = unmapped = 0
    for block in blocks:
        for line in block.get("lines", []):
            for span in line["spans"]:
                text = "".join(span["text"].split())
                printed += len(text)
                unmapped += text.count("\ufffd")
    return unmapped / printed if printed else 0.0


def in_plain_characters(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The text blocks with their spans' invisible characters taken out, so a span holding nothing
    else is empty (no line of its own, nothing in a caption) and a word they split reads whole, and
    an expert font's old-style figures and small capitals read as plain ones ("Fig. 5", not
    "Fig. \uf735")."""

    def cleaned(span: dict[str, Any]) -> dict[str, Any]:
        return {**span, "text": span["text"].translate(PLAIN_CHARACTERS)}

    return [
        {
            **block,
            "lines": [
                {**line, "spans": [cleaned(span) for span in line["spans"]]} for line in block["lines"]
            ],
        }
        if block.get("type") == 0
        else block
        for block in blocks
    ]


WATERMARK_SIZE = 36.0  # points; text this large set at a slant is a watermark, not a slanted tick label
UNPRINTED_SIZE = 1.5  # points; text smaller than this prints as a speck (a Word table cell's hidden copy)


def read_text_lines(page: pymupdf.Page) -> list[TextLine]:
    """Text lines in reading order with their block, mean font size and first-span boldness."""
    import pymupdf

    # ligatures expanded ("ﬁ" -> "fi"); images left out of the text dict (decoding them is slow); a
    # glyph with no Unicode reads as U+FFFD, as other readers show it, not as its font-internal code
    # (a control character, or a digit standing in for a "×" or "±")
    flags = (
        pymupdf.TEXTFLAGS_DICT
        & ~pymupdf.TEXT_PRESERVE_LIGATURES
        & ~pymupdf.TEXT_PRESERVE_IMAGES
        & ~pymupdf.TEXT_CID_FOR_UNKNOWN_UNICODE
    )
    blocks = page.get_text("dict", sort=True, flags=flags)["blocks"]
    if unmapped_share(blocks) > UNMAPPED_PAGE_SHARE:
        # a font with no Unicode at all (an old typesetter's): its codes are the only text there
        # is, and they are almost always the standard encoding's letters ("Fig. 1 Crustacean ...")
        flags |= pymupdf.TEXT_CID_FOR_UNKNOWN_UNICODE
        blocks = page.get_text("dict", sort=True, flags=flags)["blocks"]
    blocks = with_caption_rows_apart(page, in_plain_characters(blocks), flags)
    rotation = page.rotation_matrix if page.rotation else None
    lines: list[TextLine] = []
    for block_index, block in enumerate(blocks):
        if block.get("type") != 0:
            continue
        for line in block["lines"]:
            spans = [span for span in line["spans"] if span["text"].strip()]
            if not spans:
                continue
            # (an accent written as a combining mark after its letter, as Word writes Vietnamese,
            # composed onto it: "Hi" + U+0300 + "nh" reads "Hình", the label word it is; and a
            # spacing accent TeX wrote before its letter put on it: "Gr´aficos" reads "Gráficos")
            joined = "".join(span["text"] for span in line["spans"]).strip()
            text = with_accents_on_letters(unicodedata.normalize("NFC", joined))
            box = Box(*line["bbox"])
            worded = [span for span in spans if any(char.isalnum() for char in span["text"])]
            if worded and len(worded) < len(spans):
                # an ornament set far larger than the words it leads ("■INTRODUCTION", a bullet)
                # says nothing of the line's size or extent
                largest = max(span["size"] for span in worded)
                spans = [span for span in spans if span in worded or span["size"] <= 1.5 * largest]
                box = Box(*line["bbox"]).clip(union_of(Box(*span["bbox"]) for span in spans))
            direction = line.get("dir", (1.0, 0.0))
            horizontal = abs(direction[1]) < 0.1
            size = sum(span["size"] * len(span["text"]) for span in spans) / sum(
                len(span["text"]) for span in spans
            )
            if min(abs(direction[0]), abs(direction[1])) >= 0.1 and size >= WATERMARK_SIZE:
                continue  # a watermark across the page ("DRAFT"), in no figure's or caption's text
            if size < UNPRINTED_SIZE:
                continue  # no reader sees it, and its box may stand far taller than its glyphs
            if worded and abs(direction[0]) < 0.1:
                box = within_words_band(box, [Box(*span["bbox"]) for span in worded])
            if horizontal and any(span_is_inflated(span) for span in spans):
                # a symbol font's glyph box may reach far below its baseline (CMSY's "•", "×"):
                # the line is as tall as its glyphs print, not as its font's box
                printed = union_of(printed_span_box(span) for span in spans)
                box = Box(box.x0, max(box.y0, printed.y0), box.x1, min(box.y1, printed.y1))
            first = (worded or spans)[0]  # (an ornament before a bold label says nothing of it)
            bold = bool(first["flags"] & BOLD_FLAG) or is_bold_font(first["font"])
            if rotation is not None:  # a page with /Rotate: as the reader sees it (its crops, its gold)
                box = in_page_frame(box, rotation)
                dx, dy = direction
                direction = (dx * rotation.a + dy * rotation.c, dx * rotation.b + dy * rotation.d)
            turn = (
                0 if abs(direction[1]) < 0.1 or abs(direction[0]) > 0.1 else (1 if direction[1] < 0 else -1)
            )
            italic = all(
                span["flags"] & ITALIC_FLAG or is_italic_font(span["font"]) for span in worded or spans
            )
            # (code set in a typewriter face: a listing, not a table's cells)
            mono = not is_ideographic(text) and all(
                span["flags"] & MONO_FLAG or is_mono_font(span["font"]) for span in worded or spans
            )
            bold_through = all(
                span["flags"] & BOLD_FLAG or is_bold_font(span["font"]) for span in worded or spans
            )
            lines.append(TextLine(box, text, size, bold, block_index, turn, italic, mono, bold_through))
    return join_row_pieces(with_radicals_on_their_rows(lines))


# spaces between two captions set on one row under pictures side by side
CAPTION_ROW_GAP = re.compile(r"(?<=\S)\s{2,}(?=\S)")


def with_caption_rows_apart(
    page: pymupdf.Page, blocks: list[dict[str, Any]], flags: int
) -> list[dict[str, Any]]:
    """Text blocks with a line holding two captions side by side ("Figure 2.4: Crops   Figure 2.5:
    Tobacco", as a word processor sets the captions of two pictures in a row) cut into two lines, one
    per caption, at the run of spaces before the second label."""
    raw: list[dict[str, Any]] | None = None
    for block_index, block in enumerate(blocks):
        if block.get("type") != 0:
            continue
        pieces_of_block = []
        for line_index, line in enumerate(block["lines"]):
            text = "".join(span["text"] for span in line["spans"])
            cut = second_caption_start(text)
            if cut is None:
                pieces_of_block.append(line)
                continue
            if raw is None:
                raw = page.get_text("rawdict", sort=True, flags=flags)["blocks"]
            try:
                raw_line = raw[block_index]["lines"][line_index]
            except (IndexError, KeyError):
                raw_line = None
            pieces = line_cut_at(line, raw_line, cut) if raw_line is not None else None
            pieces_of_block.extend(pieces or [line])
        block["lines"] = pieces_of_block
    return blocks


def second_caption_start(text: str) -> int | None:
    """Where a second caption starts on a line that opens with one, after a run of spaces."""
    if parse_caption_start(text.strip()) is None:
        return None
    for gap in CAPTION_ROW_GAP.finditer(text):
        if parse_caption_start(text[gap.end() :]) is not None:
            return gap.end()
    return None


def line_cut_at(line: dict[str, Any], raw_line: dict[str, Any], cut: int) -> list[dict[str, Any]] | None:
    """A text dict's line as two lines, its characters before and from `cut`, each span's box drawn
    round the characters it keeps (from the same line of the page's raw dict). None where the raw
    line's characters are not the line's."""
    chars = [
        (span_index, char) for span_index, span in enumerate(raw_line["spans"]) for char in span["chars"]
    ]
    if "".join(char["c"] for _, char in chars) != "".join(span["text"] for span in line["spans"]):
        return None
    pieces = []
    for part in (chars[:cut], chars[cut:]):
        spans = []
        for span_index, span in enumerate(line["spans"]):
            kept = [char for index, char in part if index == span_index]
            if not kept or not "".join(char["c"] for char in kept).strip():
                continue
            printed = [char for char in kept if char["c"].strip()] or kept
            box = union_of(Box(*char["bbox"]) for char in printed)
            spans.append(
                dict(span, text="".join(char["c"] for char in kept), bbox=(box.x0, box.y0, box.x1, box.y1))
            )
        if not spans:
            return None
        box = union_of(Box(*span["bbox"]) for span in spans)
        pieces.append(dict(line, spans=spans, bbox=(box.x0, box.y0, box.x1, box.y1)))
    return pieces


def within_words_band(box: Box, words: Sequence[Box]) -> Box:
    """A line set on its side, as wide as its words: a symbol set off their band (a root sign raised
    over "sNN") does not widen it, so its rows stack at their words' spacing."""
    band = union_of(words)
    return Box(max(box.x0, band.x0), box.y0, min(box.x1, band.x1), box.y1)


def in_page_frame(box: Box, rotation: pymupdf.Matrix) -> Box:
    """A box of the page's unrotated content space in the frame of the page as displayed (the frame
    of `page.rect`, its renders and crops), by the `page.rotation_matrix` of a page with /Rotate."""
    import pymupdf

    shown = pymupdf.Rect(box.x0, box.y0, box.x1, box.y1) * rotation
    shown.normalize()
    return Box(shown.x0, shown.y0, shown.x1, shown.y1)


def face_name(name: str) -> str:
    return name.split("+", 1)[-1]  # a subset's tag ("ABCDEF+") is no part of the face's name


def is_italic_font(name: str) -> bool:
    return ITALIC_FONT.search(face_name(name)) is not None


def is_mono_font(name: str) -> bool:
    return MONO_FONT.search(face_name(name)) is not None


# Chinese, Japanese and Korean characters: their fonts set every one in the same width, flagged
# fixed-pitch like a typewriter face, though their text is prose
IDEOGRAPHIC = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def is_ideographic(text: str) -> bool:
    """Half or more of the text's letters are Chinese, Japanese or Korean characters."""
    letters = sum(1 for char in text if char.isalpha())
    return letters > 0 and len(IDEOGRAPHIC.findall(text)) >= 0.5 * letters


def is_bold_font(name: str) -> bool:
    return BOLD_FONT.search(face_name(name)) is not None


def span_is_inflated(span: dict[str, Any]) -> bool:
    x0, y0, x1, y1 = span["bbox"]
    return y1 - y0 > 1.5 * float(span["size"])


def printed_span_box(span: dict[str, Any]) -> Box:
    """A span's box, no taller than its size allows around its baseline where its font's box is
    inflated."""
    x0, y0, x1, y1 = span["bbox"]
    if not span_is_inflated(span):
        return Box(x0, y0, x1, y1)
    size, baseline = float(span["size"]), float(span["origin"][1])
    return Box(x0, max(y0, baseline - 0.9 * size), x1, min(y1, baseline + 0.3 * size))


def is_scanned(rect: Box, lines: list[TextLine], graphics: list[Graphic]) -> bool:
    """A page with no text layer whose content is one page-sized image."""
    return not lines and any(
        graphic.kind == "image" and graphic.box.area >= FULL_PAGE_AREA * rect.area for graphic in graphics
    )


def merge_tiles(boxes: list[Box], gap: float) -> list[Box]:
    """Merge boxes that touch or overlap (figures assembled from tiles) until none do."""
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        result: list[Box] = []
        for box in merged:
            for index, other in enumerate(result):
                if box.near(other, gap):
                    result[index] = other.union(box)
                    changed = True
                    break
            else:
                result.append(box)
        merged = result
    return sorted(merged, key=lambda box: (box.y0, box.x0))


def build_rows(found: list[Found], doc_id: str, source: str, sentences: list[str]) -> list[PairRow]:
    """Rows with stable ids: label on the page, or the item's ordinal on the page when unlabelled."""
    rows: list[PairRow] = []
    seen_keys: set[tuple[int, str, str]] = set()
    ordinals: dict[int, int] = {}
    for page_number, item, png, width, height in found:
        ordinal = ordinals.get(page_number, 0)
        ordinals[page_number] = ordinal + 1
        caption = item.caption
        label = (caption.label.label or None) if caption else None  # (a titled exhibit has none)
        key = label or f"#{ordinal}"
        if (page_number, item.kind, key) in seen_keys:
            key = f"{key}#{ordinal}"
        seen_keys.add((page_number, item.kind, key))
        box = item.box
        rows.append(
            {
                "pair_id": pair_id_of(doc_id, page_number, item.kind, key),
                "doc_id": doc_id,
                "source": source,
                "page": page_number,
                "kind": item.kind,
                "bbox": [box.x0, box.y0, box.x1, box.y1],
                "label": label,
                "caption": caption.text if caption else None,
                "mentions": find_mentions(sentences, label) if label else [],
                "image": png,
                "image_width": width,
                "image_height": height,
                "graphics": item.graphics,
                "caption_bbox": [caption.box.x0, caption.box.y0, caption.box.x1, caption.box.y1]
                if caption
                else None,
                "caption_page": (page_number if item.caption_page is None else item.caption_page + 1)
                if caption
                else None,
            }
        )
    return rows


def crop_dpi(box: Box, dpi: int, max_pixels: int) -> float:
    """The DPI to render `box` at: `dpi`, lowered so the crop stays within `max_pixels`."""
    pixels = (box.width * dpi / 72.0) * (box.height * dpi / 72.0)
    if pixels <= max_pixels:
        return float(dpi)
    return dpi * (max_pixels / pixels) ** 0.5


WHITE_MARGIN = 3.0  # points of blank paper at a figure's edge worth cutting off
INK = 245  # a channel darker than this prints; lighter is paper


def render_crop(
    page: pymupdf.Page, box: Box, dpi: int, max_pixels: int, trim: bool = False
) -> tuple[bytes, int, int, Box]:
    """The crop as PNG, its size in pixels and the box it shows. With `trim`, blank margins of
    `WHITE_MARGIN` or more (an image placed with white paper round its content) are cut off: a
    figure is what prints, not its placement."""
    import pymupdf

    clip = pymupdf.Rect(box.x0, box.y0, box.x1, box.y1)
    zoom = crop_dpi(box, dpi, max_pixels) / 72.0
    pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=clip, alpha=False)
    if trim:
        printed = printed_box(pixmap, box, zoom)
        if printed != box:
            return render_crop(page, printed, dpi, max_pixels)
    return pixmap.tobytes("png"), pixmap.width, pixmap.height, box


def printed_box(pixmap: pymupdf.Pixmap, box: Box, zoom: float) -> Box:
    """`box` without blank margins at least `WHITE_MARGIN` wide (nothing darker than near-white)."""
    import numpy as np

    if pixmap.width < 2 or pixmap.height < 2:
        return box
    pixels: np.ndarray[Any, np.dtype[np.uint8]] = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(
        pixmap.height, pixmap.width, pixmap.n
    )
    strip = max(1, int(WHITE_MARGIN * zoom))
    edges = (pixels[:strip], pixels[-strip:], pixels[:, :strip], pixels[:, -strip:])
    if all((edge < INK).any() for edge in edges):
        return box  # ink along every edge (most figures): nothing to cut, and no full scan
    ink: np.ndarray[Any, np.dtype[np.bool_]] = np.any(pixels < INK, axis=2)
    rows, columns = np.flatnonzero(np.any(ink, axis=1)), np.flatnonzero(np.any(ink, axis=0))
    if rows.size == 0:
        return box  # nothing printed at all: leave it to the caller's checks
    width, height = pixmap.width / zoom, pixmap.height / zoom
    # (the pixmap spans the box; a point of its margin is `zoom` pixels)
    left, top = columns[0] / zoom, rows[0] / zoom
    right, bottom = width - (columns[-1] + 1) / zoom, height - (rows[-1] + 1) / zoom
    cut = [value if value >= WHITE_MARGIN else 0.0 for value in (left, top, right, bottom)]
    if not any(cut):
        return box
    return Box(box.x0 + cut[0], box.y0 + cut[1], box.x1 - cut[2], box.y1 - cut[3])
