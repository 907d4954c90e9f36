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


def write_sample_corpus(folder: str | Path, papers: int = 6, include_bad: bool = True) -> list[Path]:
    """Write `papers` generated papers (one text-only), and one of each bad kind, into `folder`."""
    folder = Path(folder)
    (folder / "journal").mkdir(parents=True, exist_ok=True)
    written = []
    for seed in range(papers):
        path = folder / "journal" / f"paper-{seed:03d}.pdf"
        path.write_bytes(
            text_only_paper(seed) if seed == papers - 1 else sample_paper(seed, figures=2 + seed % 3).pdf
        )
        written.append(path)
    if include_bad:
        (folder / "broken").mkdir(exist_ok=True)
        for kind in BAD_KINDS:
            path = folder / "broken" / f"{kind}.pdf"
            path.write_bytes(bad_input(kind))
            written.append(path)
    return written
