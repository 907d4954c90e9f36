"""PDF bytes -> figure/caption pairs. Pure: bytes and numbers in, rows out; no Ray, no storage.

This first detector takes embedded raster images (tiles of one figure merged into one box) and pairs
each with the nearest caption block on its page; the body sentences that cite a label become its
mentions. Failures raise `ExtractError` with a fixed kind so the job can record them as error rows.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from cephalo_ray.extract.captions import (
    CaptionLabel,
    find_mentions,
    join_caption_lines,
    parse_caption_start,
    split_sentences,
)
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
MAGIC_WINDOW = 1024  # the PDF spec lets the header start late; readers accept 1 KiB of junk
BOLD_FLAG = 16
TILE_GAP_POINTS = 4.0  # images closer than this are tiles of one figure
MARGIN_BAND = 0.06  # a small image wholly inside the top/bottom 6% of a page is a header or footer logo
FULL_PAGE_AREA = 0.85  # an image this large is a page background or a scan, not a figure
ABOVE_PENALTY_POINTS = 24.0  # captions usually sit below figures; prefer them at equal distance
MAX_CAPTION_GAP = 0.3  # a caption further than this fraction of the page height is not this figure's


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


@dataclass(frozen=True)
class CaptionBlock:
    box: Box
    label: CaptionLabel
    text: str


class Found(NamedTuple):
    page: int
    box: Box
    caption: CaptionBlock | None
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


def extract_document(
    pdf_bytes: bytes,
    source: str,
    *,
    dpi: int = 150,
    min_figure_points: float = 36.0,
    max_pages: int = 2000,
    max_crop_pixels: int = 40_000_000,
) -> DocumentResult:
    """Find the figures of one PDF with their captions and mentions, cropped to PNG.

    Args:
        pdf_bytes: the whole file.
        source: the input URI, copied onto every row.
        dpi: crop resolution.
        min_figure_points: figures narrower or shorter than this (PDF points) are icons, not figures.
        max_pages: documents with more pages are refused as `TooLarge`.
        max_crop_pixels: a crop that would be larger is rendered at a lower DPI to fit.

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
        found: list[Found] = []
        body_lines: list[str] = []
        scanned_pages = 0
        for page_index in range(doc.page_count):
            page = doc.load_page(page_index)
            text_blocks = read_text_blocks(page)
            captions, body = split_captions(text_blocks)
            body_lines.extend(body)
            images = image_boxes(page)
            if is_scanned(page, text_blocks, images):
                scanned_pages += 1
                continue
            figures = merge_tiles(images, TILE_GAP_POINTS)
            figures = [box for box in figures if keep_figure(box, page.rect, min_figure_points)]
            for figure, caption in pair_captions(figures, captions, page.rect.height):
                found.append(
                    Found(page_index + 1, figure, caption, *render_crop(page, figure, dpi, max_crop_pixels))
                )
        sentences = split_sentences(join_caption_lines(body_lines))
        pairs = build_rows(found, doc_id, source, sentences)
        return {
            "doc_id": doc_id,
            "pages": doc.page_count,
            "scanned_pages": scanned_pages,
            "repaired": repaired,
            "pairs": pairs,
            "seconds": time.perf_counter() - started,
        }
    finally:
        doc.close()


def read_text_blocks(page: pymupdf.Page) -> list[dict[str, Any]]:
    """Text blocks of a page in reading order (pymupdf's `dict` form, text blocks only)."""
    import pymupdf

    flags = pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_PRESERVE_LIGATURES  # "ﬁ" -> "fi"
    blocks = page.get_text("dict", sort=True, flags=flags)["blocks"]
    return [block for block in blocks if block.get("type") == 0 and block.get("lines")]


def block_lines(block: dict[str, Any]) -> list[str]:
    return ["".join(span["text"] for span in line["spans"]) for line in block["lines"]]


def first_span_is_bold(block: dict[str, Any]) -> bool:
    spans = [span for span in block["lines"][0]["spans"] if span["text"].strip()]
    return bool(spans) and (bool(spans[0]["flags"] & BOLD_FLAG) or "bold" in spans[0]["font"].lower())


def split_captions(blocks: list[dict[str, Any]]) -> tuple[list[CaptionBlock], list[str]]:
    """Separate caption blocks (they open with a label) from body lines."""
    captions: list[CaptionBlock] = []
    body: list[str] = []
    previous: tuple[CaptionBlock, list[str], dict[str, Any]] | None = None
    for block in blocks:
        lines = block_lines(block)
        box = Box(*block["bbox"])
        label = parse_caption_start(lines[0], label_is_bold=first_span_is_bold(block))
        if label is None and previous is not None and continues_caption(previous[2], block):
            caption, caption_lines, _ = previous
            caption_lines.extend(lines)
            captions[-1] = CaptionBlock(
                caption.box.union(box), caption.label, join_caption_lines(caption_lines)
            )
            previous = (captions[-1], caption_lines, block)
            continue
        previous = None
        if label is None:
            body.extend(lines)
            continue
        captions.append(CaptionBlock(box, label, join_caption_lines(lines)))
        previous = (captions[-1], list(lines), block)
    return captions, body


def font_size(block: dict[str, Any]) -> float:
    sizes = [span["size"] for line in block["lines"] for span in line["spans"] if span["text"].strip()]
    return sum(sizes) / len(sizes) if sizes else 0.0


def continues_caption(caption_block: dict[str, Any], block: dict[str, Any]) -> bool:
    """A block right below a caption block, in the same font size, is the caption's next lines."""
    size = font_size(caption_block)
    gap = block["bbox"][1] - caption_block["bbox"][3]
    overlaps = Box(*block["bbox"]).horizontal_overlap(Box(*caption_block["bbox"])) > 0
    return overlaps and -1.0 <= gap <= 0.8 * size and abs(font_size(block) - size) <= 0.5


def image_boxes(page: pymupdf.Page) -> list[Box]:
    """Visible boxes of the page's embedded images, clipped to the page."""
    rect = page.rect
    boxes = []
    for info in page.get_image_info():
        x0, y0, x1, y1 = info["bbox"]
        box = Box(max(x0, rect.x0), max(y0, rect.y0), min(x1, rect.x1), min(y1, rect.y1))
        if box.width > 0 and box.height > 0:
            boxes.append(box)
    return boxes


def is_scanned(page: pymupdf.Page, text_blocks: list[dict[str, Any]], images: list[Box]) -> bool:
    """A page with no text layer whose content is one page-sized image."""
    page_area = page.rect.width * page.rect.height
    has_text = any(line.strip() for block in text_blocks for line in block_lines(block))
    return not has_text and any(box.area >= FULL_PAGE_AREA * page_area for box in images)


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


def keep_figure(box: Box, page_rect: Any, min_points: float) -> bool:
    """Drop icons, header/footer logos and page backgrounds."""
    if box.width < min_points or box.height < min_points:
        return False
    if box.area >= FULL_PAGE_AREA * page_rect.width * page_rect.height:
        return False
    band = MARGIN_BAND * page_rect.height
    in_top_band = box.y1 <= page_rect.y0 + band
    in_bottom_band = box.y0 >= page_rect.y1 - band
    return not (in_top_band or in_bottom_band)


def pair_captions(
    figures: list[Box], captions: list[CaptionBlock], page_height: float
) -> list[tuple[Box, CaptionBlock | None]]:
    """Give each figure the nearest horizontally overlapping caption, one caption per figure."""
    candidates = []
    for figure_index, figure in enumerate(figures):
        for caption_index, caption in enumerate(captions):
            if figure.horizontal_overlap(caption.box) <= 0:
                continue
            below = caption.box.y0 - figure.y1
            above = figure.y0 - caption.box.y1
            if below >= -TILE_GAP_POINTS:
                gap = max(below, 0.0)
            elif above >= -TILE_GAP_POINTS:
                gap = max(above, 0.0) + ABOVE_PENALTY_POINTS
            else:
                continue  # the caption overlaps the figure: text inside it, not its caption
            if gap <= MAX_CAPTION_GAP * page_height:
                candidates.append((gap, figure_index, caption_index))
    chosen: dict[int, CaptionBlock] = {}
    used: set[int] = set()
    for _, figure_index, caption_index in sorted(candidates):
        if figure_index not in chosen and caption_index not in used:
            chosen[figure_index] = captions[caption_index]
            used.add(caption_index)
    return [(figure, chosen.get(index)) for index, figure in enumerate(figures)]


def build_rows(found: list[Found], doc_id: str, source: str, sentences: list[str]) -> list[PairRow]:
    """Rows with stable ids: label on the page, or the figure's ordinal on the page when unlabelled."""
    rows: list[PairRow] = []
    seen_keys: set[tuple[int, str, str]] = set()
    ordinals: dict[int, int] = {}
    for page_number, box, caption, png, width, height in found:
        ordinal = ordinals.get(page_number, 0)
        ordinals[page_number] = ordinal + 1
        kind = caption.label.kind if caption else "figure"
        label = caption.label.label if caption else None
        key = label or f"#{ordinal}"
        if (page_number, kind, key) in seen_keys:
            key = f"{key}#{ordinal}"
        seen_keys.add((page_number, kind, key))
        rows.append(
            {
                "pair_id": pair_id_of(doc_id, page_number, kind, key),
                "doc_id": doc_id,
                "source": source,
                "page": page_number,
                "kind": kind,
                "bbox": [box.x0, box.y0, box.x1, box.y1],
                "label": label,
                "caption": caption.text if caption else None,
                "mentions": find_mentions(sentences, label) if label else [],
                "image": png,
                "image_width": width,
                "image_height": height,
                "graphics": "raster",
                "caption_bbox": [caption.box.x0, caption.box.y0, caption.box.x1, caption.box.y1]
                if caption
                else None,
                "caption_page": page_number if caption else None,
            }
        )
    return rows


def crop_dpi(box: Box, dpi: int, max_pixels: int) -> float:
    """The DPI to render `box` at: `dpi`, lowered so the crop stays within `max_pixels`."""
    pixels = (box.width * dpi / 72.0) * (box.height * dpi / 72.0)
    if pixels <= max_pixels:
        return float(dpi)
    return dpi * (max_pixels / pixels) ** 0.5


def render_crop(page: pymupdf.Page, box: Box, dpi: int, max_pixels: int) -> tuple[bytes, int, int]:
    import pymupdf

    clip = pymupdf.Rect(box.x0, box.y0, box.x1, box.y1)
    zoom = crop_dpi(box, dpi, max_pixels) / 72.0
    pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=clip, alpha=False)
    return pixmap.tobytes("png"), pixmap.width, pixmap.height
