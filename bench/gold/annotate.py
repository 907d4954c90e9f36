"""Tools for annotating figure/table gold on real PDFs, independent of the extractor.

Each command reads raw pymupdf objects only (text lines, image placements, vector paths), never
`cephalo_ray.extract`, so gold made with it does not inherit the extractor's mistakes.

    python -m bench.gold.annotate render PDF PAGE OUT.png [--dpi 100]   # page with a 50 pt grid
    python -m bench.gold.annotate find PDF 'REGEX'                      # lines matching, with boxes
    python -m bench.gold.annotate objects PDF PAGE                      # lines, images, path groups
    python -m bench.gold.annotate text PDF PAGE X0 Y0 X1 Y1             # the text inside a box
    python -m bench.gold.annotate snap PDF PAGE X0 Y0 X1 Y1             # box tightened to the objects in it
    python -m bench.gold.annotate draw GOLD.json CORPUS_DIR OUT_DIR     # renders with the gold boxes drawn

Coordinates are PDF points in pymupdf's page space (origin top-left), as in the gold files.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

Box = tuple[float, float, float, float]
GRID_POINTS = 50


def _open(path: str) -> Any:
    import pymupdf

    return pymupdf.open(path)


def _lines(page: Any) -> list[tuple[Box, float, bool, str]]:
    """(box, font size, bold, text) per text line."""
    lines = []
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            spans = [span for span in line["spans"] if span["text"].strip()]
            if not spans:
                continue
            text = "".join(span["text"] for span in line["spans"]).strip()
            bold = bool(spans[0]["flags"] & 16) or "bold" in spans[0]["font"].lower()
            lines.append((tuple(line["bbox"]), round(spans[0]["size"], 1), bold, text))
    return lines


def _path_groups(page: Any, gap: float = 3.0) -> list[Box]:
    """Vector paths merged into groups whose boxes lie within `gap` points of each other."""
    boxes: list[list[float]] = []
    for drawing in page.get_drawings():
        rect = drawing["rect"]
        if rect.is_empty and rect.width == 0 and rect.height == 0:
            continue
        boxes.append([rect.x0, rect.y0, rect.x1, rect.y1])
    merged = True
    while merged:
        merged = False
        out: list[list[float]] = []
        for box in boxes:
            for other in out:
                if (
                    box[0] <= other[2] + gap
                    and other[0] <= box[2] + gap
                    and box[1] <= other[3] + gap
                    and other[1] <= box[3] + gap
                ):
                    other[:] = [
                        min(box[0], other[0]),
                        min(box[1], other[1]),
                        max(box[2], other[2]),
                        max(box[3], other[3]),
                    ]
                    merged = True
                    break
            else:
                out.append(list(box))
        boxes = out
    return [(b[0], b[1], b[2], b[3]) for b in boxes]


def _images(page: Any) -> list[Box]:
    return [tuple(info["bbox"]) for info in page.get_image_info() if info["bbox"][2] > info["bbox"][0]]


def _fmt(box: Box) -> str:
    return "[" + ", ".join(f"{v:.1f}" for v in box) + "]"


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def render(pdf: str, page_number: int, out: str, dpi: int) -> None:
    import pymupdf

    page = _open(pdf)[page_number - 1]
    shape = page.new_shape()
    width, height = page.rect.width, page.rect.height
    for x in range(0, int(width) + 1, GRID_POINTS):
        shape.draw_line((x, 0), (x, height))
    for y in range(0, int(height) + 1, GRID_POINTS):
        shape.draw_line((0, y), (width, y))
    shape.finish(color=(1, 0.4, 0.4), width=0.3, stroke_opacity=0.6)
    shape.commit(overlay=True)
    for x in range(0, int(width) + 1, GRID_POINTS):
        page.insert_text((x + 1, 7), str(x), fontsize=6, color=(0.9, 0, 0), overlay=True)
    for y in range(GRID_POINTS, int(height) + 1, GRID_POINTS):
        page.insert_text((1, y - 1), str(y), fontsize=6, color=(0.9, 0, 0), overlay=True)
    page.get_pixmap(matrix=pymupdf.Matrix(dpi / 72, dpi / 72)).save(out)
    print(f"{out}: page {page_number}, {width:.0f} x {height:.0f} pt")


def find(pdf: str, pattern: str) -> None:
    regex = re.compile(pattern)
    for number, page in enumerate(_open(pdf), start=1):
        for box, size, bold, text in _lines(page):
            if regex.search(text):
                print(f"p{number} {_fmt(box)} size {size} {'bold ' if bold else ''}{text[:100]}")


def objects(pdf: str, page_number: int) -> None:
    page = _open(pdf)[page_number - 1]
    print(f"page {page_number}: {page.rect.width:.1f} x {page.rect.height:.1f} pt")
    for box in _images(page):
        print(f"image {_fmt(box)}")
    for box in _path_groups(page):
        print(f"paths {_fmt(box)}")
    for box, size, bold, text in _lines(page):
        print(f"line  {_fmt(box)} size {size} {'bold ' if bold else ''}{text[:90]}")


def text_in(pdf: str, page_number: int, box: Box) -> None:
    import pymupdf

    page = _open(pdf)[page_number - 1]
    print(" ".join(page.get_textbox(pymupdf.Rect(*box)).split()))


def snap(pdf: str, page_number: int, box: Box) -> None:
    """Union of every line, image and path group that overlaps the rough box, clipped to nothing."""
    page = _open(pdf)[page_number - 1]
    parts = [b for b in _images(page) + _path_groups(page) if _overlaps(b, box)]
    parts += [line[0] for line in _lines(page) if _overlaps(line[0], box)]
    if not parts:
        print("nothing in that box")
        return
    union = (
        min(p[0] for p in parts),
        min(p[1] for p in parts),
        max(p[2] for p in parts),
        max(p[3] for p in parts),
    )
    print(_fmt(union))


def draw(gold_path: str, corpus: str, out_dir: str, dpi: int) -> None:
    import pymupdf

    gold = json.loads(Path(gold_path).read_text())
    doc = _open(str(Path(corpus) / gold["document"]))
    colours = {"figure": (0, 0, 1), "table": (0, 0.6, 0)}
    pages: dict[int, Any] = {}
    for item in gold["items"]:
        page = doc[item["page"] - 1]
        page.draw_rect(pymupdf.Rect(item["box"]), color=colours[item["kind"]], width=1.2)
        page.insert_text(
            (item["box"][0] + 2, item["box"][1] + 9),
            f"{item['label']}",
            fontsize=8,
            color=colours[item["kind"]],
        )
        pages[item["page"]] = page
        if item.get("caption_box"):
            caption_page = doc[item.get("caption_page", item["page"]) - 1]
            caption_page.draw_rect(
                pymupdf.Rect(item["caption_box"]), color=(1, 0.5, 0), width=0.8, dashes="[3] 0"
            )
            pages[item.get("caption_page", item["page"])] = caption_page
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    stem = Path(gold["document"]).stem
    for number in sorted(pages):
        out = Path(out_dir) / f"{stem}-p{number}.png"
        doc[number - 1].get_pixmap(matrix=pymupdf.Matrix(dpi / 72, dpi / 72)).save(out)
        print(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("render")
    command.add_argument("pdf")
    command.add_argument("page", type=int)
    command.add_argument("out")
    command.add_argument("--dpi", type=int, default=100)
    command = commands.add_parser("find")
    command.add_argument("pdf")
    command.add_argument("pattern")
    command = commands.add_parser("objects")
    command.add_argument("pdf")
    command.add_argument("page", type=int)
    for name in ("text", "snap"):
        command = commands.add_parser(name)
        command.add_argument("pdf")
        command.add_argument("page", type=int)
        command.add_argument("box", type=float, nargs=4)
    command = commands.add_parser("draw")
    command.add_argument("gold")
    command.add_argument("corpus")
    command.add_argument("out_dir")
    command.add_argument("--dpi", type=int, default=80)
    arguments = parser.parse_args(argv)
    if arguments.command == "render":
        render(arguments.pdf, arguments.page, arguments.out, arguments.dpi)
    elif arguments.command == "find":
        find(arguments.pdf, arguments.pattern)
    elif arguments.command == "objects":
        objects(arguments.pdf, arguments.page)
    elif arguments.command == "text":
        text_in(arguments.pdf, arguments.page, tuple(arguments.box))
    elif arguments.command == "snap":
        snap(arguments.pdf, arguments.page, tuple(arguments.box))
    else:
        draw(arguments.gold, arguments.corpus, arguments.out_dir, arguments.dpi)
    return 0


if __name__ == "__main__":
    sys.exit(main())
