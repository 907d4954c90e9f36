"""Generated sample corpora: small scientific-looking PDFs with known figures, and broken inputs.

Used by the tests and by `cephalo demo`; every document is built with pymupdf from a seed, so the
expected pairs are known exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

PAGE_WIDTH, PAGE_HEIGHT = 595.0, 842.0  # A4 in points
MARGIN = 56.0
TOPICS = [
    ("spider silk fibre", "beta-sheet nanocrystals", "toughness"),
    ("collagen fibril", "tropocollagen crosslinks", "stiffness"),
    ("nacre tablet", "mineral bridges", "crack deflection"),
    ("bone lamella", "mineralised collagen", "fracture resistance"),
    ("graphene sheet", "grain boundaries", "tensile strength"),
    ("bamboo culm", "vascular bundles", "bending stiffness"),
]
BAD_KINDS = ("corrupt", "empty", "html", "encrypted", "truncated", "owner_only")


@dataclass(frozen=True)
class SampleFigure:
    page: int
    label: str
    caption: str
    tiles: int


@dataclass
class SamplePaper:
    """A generated paper and the figures it was built with."""

    pdf: bytes
    figures: list[SampleFigure] = field(default_factory=list)


def gradient_png(width: int, height: int, seed: int) -> bytes:
    """A deterministic RGB test image (bands, a gradient and dark blocks), as PNG bytes."""
    import numpy as np
    import pymupdf

    generator = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    base = generator.integers(40, 200, size=3)
    red = (xs * 255 // max(1, width - 1) + base[0]) % 256
    green = ((ys // max(1, height // 6)) * 40 + base[1]) % 256
    blue = ((xs + ys) * 3 + base[2]) % 256
    pixels = np.stack([red, green, blue], axis=-1).astype(np.uint8)
    # a few dark blocks where the seed puts them: distinct figures look distinct (perceptual hashes
    # of the bands and gradient alone are near-equal from seed to seed)
    for _ in range(4):
        x0, y0 = generator.integers(0, max(1, width * 3 // 4)), generator.integers(0, max(1, height * 3 // 4))
        block_w = int(generator.integers(max(1, width // 8), max(2, width // 3)))
        block_h = int(generator.integers(max(1, height // 8), max(2, height // 3)))
        pixels[y0 : y0 + block_h, x0 : x0 + block_w] = generator.integers(0, 90, size=3)
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, width, height, pixels.tobytes(), False)
    return bytes(pixmap.tobytes("png"))


def body_paragraph(rng: random.Random, topic: tuple[str, str, str], cite: str | None) -> str:
    subject, mechanism, prop = topic
    sentences = [
        f"The {subject} derives its {prop} from {mechanism} arranged across several length scales.",
        f"We measured the {prop} of {rng.randint(5, 40)} specimens under quasi-static loading.",
        f"Simulations reproduce the trend within {rng.randint(3, 15)} percent of the experiments.",
    ]
    if cite:
        sentences.insert(1, f"As shown in {cite}, the {mechanism} dominate the response at small strains.")
    return " ".join(sentences)


def sample_paper(seed: int, figures: int = 2, tiled: bool = True) -> SamplePaper:
    """A two-column-free, multi-page paper with `figures` raster figures, captions and mentions.

    Every second figure is assembled from 2x2 image tiles when `tiled`, as many journals do.
    """
    import pymupdf

    rng = random.Random(seed)
    topic = TOPICS[seed % len(TOPICS)]
    doc = pymupdf.open()
    paper = SamplePaper(pdf=b"")
    page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
    page.insert_text((MARGIN, 28), f"Journal of Generated Materials {2020 + seed % 5}", fontsize=8)
    page.insert_textbox(
        pymupdf.Rect(MARGIN, 60, PAGE_WIDTH - MARGIN, 100),
        f"Hierarchical design of the {topic[0]}: a study of {topic[1]}",
        fontsize=15,
        fontname="hebo",
    )
    y = 110.0
    for number in range(1, figures + 1):
        label = f"Figure {number}"
        cite = rng.choice([f"Fig. {number}", f"Figure {number}", f"Figs. {number} and {number + 1}"])
        paragraph = body_paragraph(rng, topic, cite)
        height = 70.0
        if y + height + 330 > PAGE_HEIGHT - MARGIN:
            page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
            y = MARGIN
        page.insert_textbox(pymupdf.Rect(MARGIN, y, PAGE_WIDTH - MARGIN, y + height), paragraph, fontsize=10)
        y += height + 10
        figure_rect = pymupdf.Rect(MARGIN + 60, y, PAGE_WIDTH - MARGIN - 60, y + 200)
        tiles = 4 if tiled and number % 2 == 0 else 1
        insert_figure(page, figure_rect, tiles, seed * 100 + number)
        y = figure_rect.y1 + 8
        caption = (
            f"{label}. Structure of the {topic[0]} at scale {number}: {topic[1]} seen in "
            f"sample {rng.randint(1, 99)}, with the measured {topic[2]} marked."
        )
        page.insert_htmlbox(
            pymupdf.Rect(MARGIN, y, PAGE_WIDTH - MARGIN, y + 40),
            f"<b>{label}.</b> {caption[len(label) + 2 :]}",
            css="* {font-family: sans-serif; font-size: 9pt;}",
        )
        paper.figures.append(SampleFigure(doc.page_count, label, caption, tiles))
        y += 50
    page.insert_textbox(
        pymupdf.Rect(MARGIN, y, PAGE_WIDTH - MARGIN, min(y + 80, PAGE_HEIGHT - MARGIN)),
        body_paragraph(rng, topic, None),
        fontsize=10,
    )
    # what publishers write into a PDF about itself: the info dictionary and XMP (DOI, licence)
    year = 2020 + seed % 5
    doc.set_metadata(
        {
            "title": f"Hierarchical design of the {topic[0]}: a study of {topic[1]}",
            "author": "A. Researcher; B. Scientist",
            "creationDate": f"D:{year}0301120000",
        }
    )
    doc.set_xml_metadata(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/" '
        'xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/">'
        f"<prism:doi>10.5555/cephalo.{seed:04d}</prism:doi>"
        "<xmpRights:WebStatement>https://creativecommons.org/licenses/by/4.0/</xmpRights:WebStatement>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    paper.pdf = doc.tobytes(garbage=3, deflate=True)
    return paper


def insert_figure(page: object, rect: object, tiles: int, seed: int) -> None:
    import pymupdf

    assert isinstance(rect, pymupdf.Rect) and isinstance(page, pymupdf.Page)
    if tiles == 1:
        page.insert_image(
            rect, stream=gradient_png(int(rect.width), int(rect.height), seed), keep_proportion=False
        )
        return
    half_w, half_h = rect.width / 2, rect.height / 2
    for row in range(2):
        for column in range(2):
            x0, y0 = rect.x0 + column * half_w, rect.y0 + row * half_h
            tile = pymupdf.Rect(x0, y0, x0 + half_w, y0 + half_h)
            image = gradient_png(int(half_w), int(half_h), seed * 10 + row * 2 + column)
            page.insert_image(tile, stream=image, keep_proportion=False)


def text_only_paper(seed: int) -> bytes:
    """A paper with body text (and a figure *mention*) but no figures: must yield zero pairs."""
    import pymupdf

    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
    text = "\n\n".join(
        body_paragraph(rng, TOPICS[seed % len(TOPICS)], "Figure 1 of ref. 3") for _ in range(4)
    )
    page.insert_textbox(
        pymupdf.Rect(MARGIN, MARGIN, PAGE_WIDTH - MARGIN, PAGE_HEIGHT - MARGIN), text, fontsize=10
    )
    return bytes(doc.tobytes())


def bad_input(kind: str) -> bytes:
    """Bytes of one kind of broken or protected input (see `BAD_KINDS`)."""
    import pymupdf

    good = sample_paper(99, figures=1, tiled=False).pdf
    if kind == "corrupt":
        return b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
    if kind == "empty":
        return b""
    if kind == "html":
        return b"<!DOCTYPE html><html><body><h1>403 Forbidden</h1></body></html>\n"
    if kind == "truncated":
        return good[: int(len(good) * 0.9)]
    if kind in ("encrypted", "owner_only"):
        doc = pymupdf.open(stream=good, filetype="pdf")
        user_password = "user-secret" if kind == "encrypted" else ""
        permissions = pymupdf.PDF_PERM_ACCESSIBILITY  # type: ignore[attr-defined]  # no print, copy, edit
        return bytes(
            doc.tobytes(
                encryption=pymupdf.PDF_ENCRYPT_AES_256,  # type: ignore[attr-defined]
                owner_pw="owner-secret",
                user_pw=user_password,
                permissions=permissions,
            )
        )
    raise ValueError(f"unknown bad input kind {kind!r}; choose one of {BAD_KINDS}")


def write_sample_corpus(
    folder: str | Path, papers: int = 6, include_bad: bool = True, charts: bool = False
) -> list[Path]:
    """Write `papers` generated papers (one text-only), and one of each bad kind, into `folder`.
    `charts`: the papers hold charts and tables (`chart_paper`) instead of gradient pictures."""
    folder = Path(folder)
    (folder / "journal").mkdir(parents=True, exist_ok=True)
    written = []
    for seed in range(papers):
        path = folder / "journal" / f"paper-{seed:03d}.pdf"
        if seed == papers - 1:
            path.write_bytes(text_only_paper(seed))
        elif charts:
            path.write_bytes(chart_paper(seed, items=4 + seed % 3)[0])
        else:
            path.write_bytes(sample_paper(seed, figures=2 + seed % 3).pdf)
        written.append(path)
    if include_bad:
        (folder / "broken").mkdir(exist_ok=True)
        for kind in BAD_KINDS:
            path = folder / "broken" / f"{kind}.pdf"
            path.write_bytes(bad_input(kind))
            written.append(path)
    return written


# The demo's papers: figures that are charts of a known kind and panel count, and tables, each with a
# caption that says so, as real captions do. Drawn as square rasters: the tiny demo model sees a
# centre crop, which then loses no panel.
CHARTS = ("bar", "line", "scatter")
CHART_NAMES = {
    "bar": ("Bar chart", "Bar graph"),
    "line": ("Line plot", "Line chart"),
    "scatter": ("Scatter plot",),
}
PALETTE = [(0.12, 0.47, 0.71), (1.0, 0.5, 0.05), (0.17, 0.63, 0.17), (0.84, 0.15, 0.16), (0.58, 0.4, 0.74)]
CHART_POINTS = 220.0  # side of a chart or table on the page


@dataclass(frozen=True)
class SampleItem:
    """A figure or table of a chart paper, as drawn."""

    page: int
    label: str
    caption: str
    kind: str  # "figure" or "table"
    chart: str | None  # one of CHARTS for a figure, None for a table
    panels: int  # 0 for a table


FRAME_GREY = (0.75, 0.75, 0.75)


def chart_png(chart: str, panels: int, seed: int, side: int = 240) -> bytes:
    """A square chart of `panels` panels (1 to 3 side by side, 4 as a 2x2 grid), each with its axes
    and bars, a line or points, in a light frame (its ink is the whole square, so its crop stays
    square)."""
    import pymupdf

    if chart not in CHARTS:
        raise ValueError(f"chart {chart!r} is not one of {CHARTS}")
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=side, height=side)
    shape = page.new_shape()
    rows, columns = (2, 2) if panels == 4 else (1, panels)
    gap = side * 0.07
    width = (side - gap * (columns + 1)) / columns
    height = (side - gap * (rows + 1)) / rows
    color = rng.choice(PALETTE)
    for panel in range(panels):
        left = gap + (panel % columns) * (width + gap)
        top = gap + (panel // columns) * (height + gap)
        bottom = top + height
        shape.draw_polyline([(left, top), (left, bottom), (left + width, bottom)])
        shape.finish(color=(0, 0, 0), width=side * 0.012, closePath=False)
        inner_left, inner_width, inner_height = left + width * 0.08, width * 0.88, height * 0.9
        if chart == "bar":
            bars = rng.randint(3, 5)
            step = inner_width / bars
            for number in range(bars):
                bar = inner_height * rng.uniform(0.25, 1.0)
                x0 = inner_left + number * step + step * 0.15
                shape.draw_rect(pymupdf.Rect(x0, bottom - bar, x0 + step * 0.7, bottom))
                shape.finish(color=color, fill=color, width=0)
        elif chart == "line":
            count = rng.randint(5, 8)
            level = rng.uniform(0.2, 0.8)
            points = []
            for number in range(count):
                level = min(0.95, max(0.05, level + rng.uniform(-0.3, 0.3)))
                points.append(
                    (inner_left + inner_width * number / (count - 1), bottom - inner_height * level)
                )
            shape.draw_polyline(points)
            shape.finish(color=color, width=side * 0.045, closePath=False, lineJoin=1, lineCap=1)
        else:
            for _ in range(rng.randint(8, 14)):
                x = inner_left + inner_width * rng.uniform(0.05, 0.95)
                y = bottom - inner_height * rng.uniform(0.05, 0.95)
                shape.draw_circle((x, y), side * 0.03)
                shape.finish(color=color, fill=color, width=0)
    shape.commit()
    page.draw_rect(page.rect, color=FRAME_GREY, width=2)
    return bytes(page.get_pixmap(dpi=72).tobytes("png"))


def table_png(seed: int, side: int = 240) -> bytes:
    """A square booktabs-style table of numbers: a header row, rules, a few rows and columns, in a
    light frame like the charts'."""
    import pymupdf

    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=side, height=side)
    rows, columns = rng.randint(4, 7), rng.randint(3, 4)
    top, bottom, left = side * 0.1, side * 0.9, side * 0.06
    row_height = (bottom - top) / (rows + 1)
    column_width = (side - 2 * left) / columns
    for row in range(rows + 1):
        y = top + (row + 0.7) * row_height
        for column in range(columns):
            text = f"C{column + 1}" if row == 0 else f"{rng.uniform(0, 99):.1f}"
            font = "hebo" if row == 0 else "helv"
            page.insert_text((left + column * column_width + 4, y), text, fontsize=side * 0.06, fontname=font)
    for y in (top, top + row_height, bottom):
        page.draw_line((left, y), (side - left, y), color=(0, 0, 0), width=side * 0.008)
    page.draw_rect(page.rect, color=FRAME_GREY, width=2)
    return bytes(page.get_pixmap(dpi=72).tobytes("png"))


def chart_caption(rng: random.Random, topic: tuple[str, str, str], chart: str, panels: int) -> str:
    """A caption that names the chart type and, for several panels, letters them."""
    subject, mechanism, prop = topic
    name = rng.choice(CHART_NAMES[chart])
    if panels == 1:
        return f"{name} of the {prop} of the {subject} across {rng.randint(3, 12)} samples of {mechanism}."
    letters = [f"({letter}) sample {rng.randint(1, 99)}" for letter in "abcdef"[:panels]]
    listed = ", ".join(letters[:-1]) + f" and {letters[-1]}"
    return f"{name}s of the {prop} of the {subject} for {listed}."


def chart_paper(seed: int, items: int = 4) -> tuple[bytes, list[SampleItem]]:
    """A paper whose figures are charts (bar, line or scatter; 1, 2 or 4 panels) and tables, each with a
    caption that says what it is, and body text that cites it."""
    import pymupdf

    rng = random.Random(seed)
    topic = TOPICS[seed % len(TOPICS)]
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
    page.insert_textbox(
        pymupdf.Rect(MARGIN, 60, PAGE_WIDTH - MARGIN, 100),
        f"Measured {topic[2]} of the {topic[0]}: a study of {topic[1]}",
        fontsize=15,
        fontname="hebo",
    )
    drawn: list[SampleItem] = []
    y, figures, tables = 110.0, 0, 0
    left = (PAGE_WIDTH - CHART_POINTS) / 2
    for number in range(items):
        is_table = rng.random() < 0.2
        if is_table:
            tables += 1
            label, cite = f"Table {tables}", f"Table {tables}"
        else:
            figures += 1
            label, cite = f"Figure {figures}", rng.choice([f"Fig. {figures}", f"Figure {figures}"])
        if y + 70 + CHART_POINTS + 60 > PAGE_HEIGHT - MARGIN:
            page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
            y = MARGIN
        page.insert_textbox(
            pymupdf.Rect(MARGIN, y, PAGE_WIDTH - MARGIN, y + 60),
            body_paragraph(rng, topic, cite),
            fontsize=10,
        )
        y += 70
        image_seed = seed * 100 + number
        if is_table:
            caption = f"{label}. Measured {topic[2]} of the {topic[0]} samples, by {topic[1]}."
            page.insert_htmlbox(
                pymupdf.Rect(MARGIN, y, PAGE_WIDTH - MARGIN, y + 30),
                f"<b>{label}.</b> {caption[len(label) + 2 :]}",
                css="* {font-family: sans-serif; font-size: 9pt;}",
            )
            rect = pymupdf.Rect(left, y + 30, left + CHART_POINTS, y + 30 + CHART_POINTS)
            page.insert_image(rect, stream=table_png(image_seed), keep_proportion=False)
            drawn.append(SampleItem(doc.page_count, label, caption, "table", None, 0))
        else:
            chart, panels = rng.choice(CHARTS), rng.choice([1, 2, 4])
            caption = f"{label}. {chart_caption(rng, topic, chart, panels)}"
            rect = pymupdf.Rect(left, y, left + CHART_POINTS, y + CHART_POINTS)
            page.insert_image(rect, stream=chart_png(chart, panels, image_seed), keep_proportion=False)
            page.insert_htmlbox(
                pymupdf.Rect(MARGIN, rect.y1 + 8, PAGE_WIDTH - MARGIN, rect.y1 + 38),
                f"<b>{label}.</b> {caption[len(label) + 2 :]}",
                css="* {font-family: sans-serif; font-size: 9pt;}",
            )
            drawn.append(SampleItem(doc.page_count, label, caption, "figure", chart, panels))
        y += CHART_POINTS + 50
    # no random file /ID: a seed gives the same bytes, so the same doc_id and train/val split
    return bytes(doc.tobytes(garbage=3, deflate=True, no_new_id=True)), drawn
