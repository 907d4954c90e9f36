"""Synthetic scientific papers with gold figure/table annotations, for measuring the extractor.

One seed gives one PDF of 3-8 pages holding 2-6 figures and tables, laid out the way journals lay
papers out: letter or A4, one or two columns, running headers and footers, raster, tiled, vector,
mixed and multi-panel figures, booktabs, grid and shaded tables, captions below, above, beside, run
on into the next column or onto the next page, and the decoys real papers carry (logos, icons, page
backgrounds, margin stamps, body paragraphs that start with "Figure 3 shows"). The gold, in the
format of bench/gold/real (see its README), is measured from what was drawn: the union of image
rectangles, path extents and the boxes the text layer reports for the inserted strings.

    python -m bench.synthetic_papers OUT_DIR --count 50 [--render]   # NAME.pdf + NAME.json (+ PNGs)
    python -m bench.score_extraction --synthetic 50                  # generate into a temp dir, score
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pymupdf

from bench.synthetic_figures import (
    BOLD,
    NOUNS,
    WHITE,
    Color,
    Pen,
    draw_figure,
    draw_table,
    figure_height,
    figure_spec,
    metrics,
    pixels,
    text_width,
)

FAMILIES = {"times": ("tiro", "tibo", "tiit"), "helvetica": ("helv", "hebo", "heit")}
GAP = 12.0  # points between a float and the body text around it

ADJ = "mean normalized relative cumulative measured predicted average spatial simulated local global".split()
SUBJECTS = (
    "the proposed model|our method|the baseline|the control group|the network|each specimen|"
    "the fitted curve|the ensemble|the treated sample|the simulation"
).split("|")
VERBS = "increases with|depends on|is compared with|decreases with|varies with|saturates with".split("|")
CONDITIONS = (
    "under different loads|for all four datasets|at room temperature|across ten random seeds|"
    "on the validation set|in the treated samples|for increasing batch size|after 24 h|"
    "as a function of depth|in both hemispheres|at high resolution|over the full range"
).split("|")
LONG_WORDS = (
    "structure representation characteristic distribution measurements experimental configuration "
    "performance corresponding"
).split()
EXTRA = [
    "Error bars denote the standard deviation over five runs.",
    "Shaded regions show 95% confidence intervals.",
    "Dashed lines indicate the theoretical prediction.",
    "Values are averaged over three independent experiments.",
    "The inset shows the same data on a logarithmic scale.",
    "All models were trained with identical hyperparameters.",
    "Data points are coloured by condition.",
]
NAMES = "Anna Becker|Wei Zhang|Luis Moreno|Priya Natarajan|Tom Okafor|Sara Lindqvist|Kenji Sato".split("|")
JOURNALS = (
    "Journal of Applied Computation|Physical Review Materials|Nature Methods|Neural Systems Letters|"
    "Proceedings of the Conference on Learning|IEEE Transactions on Imaging|Scientific Reports"
).split("|")
HEADINGS = ["Introduction", "Related Work", "Methods", "Experimental Setup", "Results", "Discussion"]
METHODS = ["Baseline", "ResNet-50", "ViT-B/16", "Ours", "Ours (full)", "w/o attention", "Linear", "GBDT"]
METRICS = ["Acc.", "F1", "Precision", "Recall", "AUC", "Time (s)", "Params (M)", "Error (%)", "BLEU", "mAP"]
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]
# printed label forms; the ones without punctuation are only used with a bold label
FIGURE_LABELS = ["Figure {}.", "Figure {}:", "Fig. {}.", "Fig. {}:", "FIG. {}.", "FIGURE {} |", "Fig. {} |"]
FIGURE_LABELS += ["Figure {}", "Fig. {}"]
TABLE_LABELS = ["Table {}:", "Table {}.", "TABLE {}", "Table {}.", "Table {} |", "Table {}"]


# ---------------------------------------------------------------- paper style


class Style:
    """What a journal fixes for a paper, drawn from the seed: page, columns, fonts, labels, decoys."""

    def __init__(self, seed: int, rng: random.Random) -> None:
        width, height = pymupdf.paper_size(rng.choice(["letter", "a4"]))
        self.width, self.height = float(width), float(height)
        self.force = {3: "next-column", 6: "other-page"}.get(seed % 8, "")  # a hard case this seed must hold
        self.columns = 2 if self.force == "next-column" else rng.choice([1, 2, 2])
        self.margin, self.top, self.bottom = rng.uniform(48, 72), rng.uniform(64, 80), rng.uniform(56, 72)
        self.gutter, self.leading = rng.uniform(12, 24), rng.uniform(1.15, 1.3)
        self.header_gap = rng.uniform(16, 26)  # from the running header's baseline to the body
        self.body, self.bold, self.italic = FAMILIES[rng.choice(["times", "times", "helvetica"])]
        self.size, self.cap_size = rng.choice([9.0, 9.5, 10.0, 10.5]), rng.choice([8.0, 8.5, 9.0])
        self.cap_font, self.fig_font = (
            rng.choice([self.body, self.body, "helv"]),
            rng.choice(["helv", "tiro"]),
        )
        self.tick = round(rng.uniform(5.5, 7.0), 1)
        self.label_bold = rng.random() < 0.55  # a label without punctuation after it is always bold
        self.figure_label = rng.choice([f for f in FIGURE_LABELS if self.label_bold or not f.endswith("}")])
        self.table_label = rng.choice([t for t in TABLE_LABELS if self.label_bold or t != "Table {}"])
        self.roman_tables = self.table_label == "TABLE {}" or rng.random() < 0.15
        self.prefix = "S" if rng.random() < 0.1 else ""  # supplementary material: Figure S1, Table S1
        nature = "|" in self.figure_label
        self.extended_data = rng.randint(1, 2) if nature and rng.random() < 0.5 else 0
        self.journal, self.first_page = rng.choice(JOURNALS), rng.choice([1, 1, rng.randint(2, 1400)])
        self.hyphenate, self.center_short = rng.choice([0.0, 0.3, 0.6]), rng.random() < 0.5
        self.caption_to_figure = rng.random() < 0.3  # one-column papers: captions as wide as the figure
        odds = {"logo": 0.35, "banner": 0.3, "background": 0.12, "rule": 0.5, "stamp": 0.25, "icon": 0.4}
        self.decoys = {name for name, p in odds.items() if rng.random() < p}

    @property
    def text_w(self) -> float:
        return self.width - 2 * self.margin

    @property
    def col_w(self) -> float:
        return (self.text_w - self.gutter * (self.columns - 1)) / self.columns

    @property
    def text_bottom(self) -> float:
        return self.height - self.bottom

    def col_x(self, c: int) -> float:
        return self.margin + c * (self.col_w + self.gutter)


# ---------------------------------------------------------------- text


def take_line(
    words: list[str], avail: float, font: str, size: float, rng: random.Random, hyphenate: float
) -> tuple[str, list[str]]:
    """The words that fit in avail points and the rest; a long word that does not fit is sometimes
    hyphenated ("struc-" ends this line, "ture" starts the rest)."""
    space, used, n = text_width(" ", font, size), 0.0, 0
    while n < len(words):
        w = text_width(words[n], font, size)
        if n and used + space + w > avail:
            break
        used, n = used + (space if n else 0) + w, n + 1
    if n < len(words) and words[n].isalpha() and len(words[n]) >= 8 and rng.random() < hyphenate:
        word = words[n]
        for cut in range(len(word) - 3, 2, -1):
            if used + space + text_width(word[:cut] + "-", font, size) <= avail:
                return " ".join([*words[:n], word[:cut] + "-"]), [word[cut:], *words[n + 1 :]]
    return " ".join(words[:n]), words[n:]


def wrap(
    words: list[str], width: float, font: str, size: float, first: float, rng: random.Random, hyphenate: float
) -> list[str]:
    """Greedy line breaking: the first line has first points, the others width."""
    lines, avail = [], first
    while words:
        line, words = take_line(words, avail, font, size, rng, hyphenate)
        lines.append(line)
        avail = width
    return lines


def phrase(rng: random.Random) -> str:
    return f"{rng.choice(ADJ)} {rng.choice(NOUNS)} {rng.choice(VERBS)} {rng.choice(NOUNS)} {rng.choice(CONDITIONS)}"


def sentence(rng: random.Random) -> str:
    template = rng.choice(
        [
            "{S} {v} the {a} {n} {c}.",
            "We observe that the {a} {n} {v} the {m} {c}.",
            "In contrast to previous work [{r}], {s} {v} the {n} {c}.",
            "This is consistent with the {a} {n} reported by {p} et al. [{r}].",
            "The {n} was estimated from {k} independent measurements {c}.",
            "Moreover, the {a} {n} remains stable {c}, which suggests a robust {m} and a {w} {n}.",
            "{S} reaches a {a} {n} of {x} {c}, a {w} improvement over the {m} of the baseline.",
            "The {w} of the {n} is discussed in Section {k}.",
        ]
    )
    s = rng.choice(SUBJECTS)
    return template.format(
        S=s[0].upper() + s[1:],
        s=s,
        v=rng.choice(VERBS),
        a=rng.choice(ADJ),
        n=rng.choice(NOUNS),
        m=rng.choice(NOUNS),
        c=rng.choice(CONDITIONS),
        r=rng.randint(1, 40),
        p=rng.choice(NAMES).split()[1],
        k=rng.randint(2, 9),
        x=f"{rng.uniform(0.5, 99):.2f}",
        w=rng.choice(LONG_WORDS),
    )


@dataclass
class Item:
    kind: str  # figure | table
    label: str  # gold label: "Figure 3", "Table 4", "Figure S2", "Extended Data Figure 1"
    printed: str  # as printed before the caption text: "Fig. 3.", "TABLE IV", "Extended Data Fig. 1 |"
    cite: str  # as the body cites it: "Fig. 3", "Figure S2", "Table IV"
    spec: dict[str, Any]
    full: bool = False  # spans both columns of a two-column page
    place: str = "below"  # caption below | above | beside | next-column | other-page
    words: list[str] = field(default_factory=list)
    gold: dict[str, Any] = field(default_factory=dict)


class TextFlow:
    """The paper's running body text: sections and paragraphs poured into column regions."""

    def __init__(self, rng: random.Random, st: Style, items: list[Item]) -> None:
        self.rng, self.st = rng, st
        self.figures = [it for it in items if it.kind == "figure"]
        self.tables = [it for it in items if it.kind == "table"]
        self.queue: list[tuple[str, list[str]]] = []
        self.current: tuple[str, list[str]] | None = None
        self.section, self.since_heading, self.fresh = 0, 99, True

    def citation(self) -> str:
        rng = self.rng
        options = [f"[{rng.randint(1, 30)}]"]
        if self.figures:
            f = rng.choice(self.figures)
            options += [f"as shown in {f.cite}", f"({f.cite})", f"see {f.cite}"]
            if f.spec.get("panels", 1) > 1:
                options.append(f"in {f.cite}{rng.choice('ab')}")
            head = f.cite.rsplit(" ", 1)[0]
            same = [g for g in self.figures if g.cite.rsplit(" ", 1)[0] == head]
            if head in ("Fig.", "Figure") and len(same) > 1:
                a, b = sorted(rng.sample(same, 2), key=same.index)
                plural = "Figs." if head == "Fig." else "Figures"
                options.append(f"({plural} {a.cite.split()[-1]} and {b.cite.split()[-1]})")
        if self.tables:
            t = rng.choice(self.tables)
            options += [f"as summarized in {t.cite}", f"({t.cite})"]
        return rng.choice(options)

    def paragraph(self) -> tuple[str, list[str]]:
        rng = self.rng
        if self.since_heading >= rng.randint(3, 6) and self.section < len(HEADINGS):
            self.since_heading, self.section = 0, self.section + 1
            return "h", f"{self.section} {HEADINGS[self.section - 1]}".split()
        self.since_heading += 1
        out = []
        for _ in range(rng.randint(3, 7)):
            s = sentence(rng)
            out.append(s[:-1] + ", " + self.citation() + "." if rng.random() < 0.25 else s)
        return "p", " ".join(out).split()

    def trap(self, item: Item) -> None:
        """Make the next paragraph one that starts like a caption: "Figure 3 shows ..."."""
        rng = self.rng
        name = item.cite.replace("Fig.", "Figure")
        verb = "shows" if item.kind == "figure" else "lists"
        text = f"{name} {verb} the {rng.choice(ADJ)} {rng.choice(NOUNS)} {rng.choice(CONDITIONS)}. "
        if self.current is not None:
            self.queue.insert(0, self.current)
        self.current, self.fresh = ("p", (text + sentence(rng) + " " + sentence(rng)).split()), True

    def fill(self, pen: Pen[Style], x0: float, y0: float, x1: float, y1: float) -> None:
        st = self.st
        size, lead = st.size, st.size * st.leading
        asc, desc = metrics(st.body)
        y, top = y0 + asc * size, True
        while y + desc * size <= y1:
            if self.current is None:
                self.current, self.fresh = (self.queue.pop(0) if self.queue else self.paragraph()), True
            kind, words = self.current
            if kind == "h":
                y += 0 if top else lead * 0.5
                if y + desc * size + 2 * lead > y1:
                    return
                pen.text(x0, y, " ".join(words), st.bold, size)
                y, self.current, top = y + lead * 1.25, None, False
                continue
            indent = size * 1.2 if self.fresh and st.body == "tiro" else 0.0
            line, rest = take_line(words, x1 - x0 - indent, st.body, size, self.rng, st.hyphenate * 0.5)
            pen.text(x0 + indent, y, line, st.body, size)
            y, top, self.fresh = y + lead, False, False
            self.current = ("p", rest) if rest else None
            if not rest and st.body != "tiro":  # sans papers separate paragraphs by space, not indent
                y += lead * 0.4


# ---------------------------------------------------------------- tables


def table_spec(rng: random.Random, st: Style, max_w: float) -> dict[str, Any]:
    cols, rows = rng.randint(3, 7), rng.randint(3, 11)
    header = ["Method", *rng.sample(METRICS, cols - 1)]
    digits = [rng.choice([1, 2, 3]) for _ in range(cols)]
    cells = [
        [rng.choice(METHODS)] + [f"{rng.uniform(0.1, 99.9):.{digits[c]}f}" for c in range(1, cols)]
        for _ in range(rows)
    ]
    font, size, pad = rng.choice([st.body, st.body, "helv"]), st.cap_size, rng.uniform(4, 8)
    while True:
        widths = [
            max(text_width(r[c], BOLD[font], size) for r in [header, *cells]) + 2 * pad
            for c in range(len(header))
        ]
        if sum(widths) <= max_w:
            break
        if size > 6:
            size -= 0.5
        else:  # still too wide: drop a column
            header, cells = header[:-1], [r[:-1] for r in cells]
    row_h, note = size * rng.uniform(1.5, 1.75), "Note: " + sentence(rng) if rng.random() < 0.3 else ""
    style = rng.choices(["booktabs", "grid", "shaded"], [60, 25, 15])[0]
    return {
        "header": header,
        "cells": cells,
        "widths": widths,
        "font": font,
        "size": size,
        "row_h": row_h,
        "style": style,
        "note": note,
        "height": row_h * (rows + 1) + 4,
        "width": sum(widths),
    }


# ---------------------------------------------------------------- captions and items


@dataclass
class Caption:
    lines: list[list[tuple[str, str]]]  # per line, runs of (text, font)
    size: float
    leading: float
    centered: bool

    @property
    def height(self) -> float:
        return len(self.lines) * self.leading

    @property
    def text(self) -> str:
        return " ".join("".join(t for t, _ in line) for line in self.lines)


def make_caption(pen: Pen[Style], item: Item, width: float) -> Caption:
    st, rng = pen.st, pen.rng
    size, font = st.cap_size, st.cap_font
    label_font, lead = BOLD[font] if st.label_bold else font, size * 1.22
    if item.printed.startswith("TABLE"):  # IEEE: "TABLE IV" on its own line, the title in capitals below
        title = " ".join(item.words).split(".")[0].upper().split()
        lines = [[(item.printed, label_font)]] + [
            [(ln, font)] for ln in wrap(title, width, font, size, width, rng, 0)
        ]
        return Caption(lines[:3], size, lead, True)
    prefix, sentences, cut = item.printed + " ", " ".join(item.words).split(". "), False
    while True:  # at most six lines: drop whole sentences from the end
        words = (". ".join(sentences) + ("." if cut else "")).split()
        body = wrap(words, width, font, size, width - text_width(prefix, label_font, size), rng, st.hyphenate)
        if len(body) <= 6 or len(sentences) == 1:
            break
        sentences, cut = sentences[:-1], True
    lines = [[(prefix, label_font), (body[0], font)]] + [[(ln, font)] for ln in body[1:]]
    return Caption(lines, size, lead, st.center_short and len(body) == 1 and item.place != "beside")


def caption_words(rng: random.Random, item: Item, lines: int) -> list[str]:
    title = phrase(rng)
    text = title[0].upper() + title[1:] + ("." if rng.random() < 0.8 or lines > 1 else "")
    for i in range(item.spec.get("panels", 0)):
        text += (
            f" ({'abcdef'[i]}) {rng.choice(ADJ).capitalize()} {rng.choice(NOUNS)} {rng.choice(CONDITIONS)}."
        )
    extra = rng.sample(EXTRA, len(EXTRA))
    while len(text.split()) < (lines - 1) * 12:  # about a column line of words per line asked for
        text += " " + (extra.pop() if extra and rng.random() < 0.4 else sentence(rng))
    return text.split()


def draw_caption(
    pen: Pen[Style], cap: Caption, x: float, y: float, width: float, first: int = 0, last: int | None = None
) -> list[float]:
    asc = metrics(cap.lines[0][-1][1])[0]
    pen.begin()
    for i, line in enumerate(cap.lines[first:last]):
        base, lx = y + asc * cap.size + i * cap.leading, x
        if cap.centered:
            lx += (width - sum(text_width(t, f, cap.size) for t, f in line)) / 2
        for text, f in line:
            lx += pen.text(lx, base, text, f, cap.size)
    return pen.end()


@dataclass
class Block:
    height: float
    draw: Callable[[float, float, float], None]  # (x, y, region width)
    item: Item | None = None
    where: str = "top"  # in a column: top | mid | bottom
    caption_part: bool = False  # a caption whose item sits elsewhere: nothing may go above it


def item_blocks(pen: Pen[Style], item: Item, region: float, max_h: float) -> list[Block]:
    """The block an item occupies in a region of the given width (two when its caption runs on)."""
    st, rng = pen.st, pen.rng
    if item.kind == "table":
        t = item.spec["table"] = table_spec(rng, st, region)
        t["note"] = t["note"] if item.place == "above" else ""  # notes sit under the table, captions over it
        fw, fh, foot = t["width"], t["height"], st.cap_size * 1.3 + 3 if t["note"] else 0.0
    else:
        narrow = st.columns == 1 and item.spec["type"] != "multi"  # a lone chart on a wide page
        low, high = (0.55, 0.68) if item.place == "beside" else (0.5, 0.85) if narrow else (0.8, 1.0)
        fw, foot = region * rng.uniform(low, high), 0.0
        while (fh := figure_height(item.spec, st, fw)) > max_h:
            fw *= 0.92
    beside = item.place == "beside"
    cap_w = region - fw - 14 if beside else fw if st.caption_to_figure and st.columns == 1 else region
    cap = make_caption(pen, item, cap_w)
    if item.place == "next-column" and len(cap.lines) < 2:
        item.place = "below"
    gap = rng.uniform(6, 10)

    def draw_item(x: float, y: float, w: float, cap_lines: int | None = None) -> None:
        left = beside and rng.random() < 0.5  # caption left of the figure, Nature style
        fx = x + w - fw if left else x if beside else x + (w - fw) / 2
        cx = x if left else fx + fw + 14 if beside else x + (w - cap_w) / 2
        fy = y + cap.height + gap if item.place == "above" else y
        pen.begin()
        if item.kind == "table":
            draw_table(pen, item.spec["table"], fx, fy)
        else:
            draw_figure(pen, item.spec, fx, fy, fw, fh)
        raster = "image" in pen.drawn
        item.gold["graphics"] = "mixed" if raster and len(pen.drawn) > 1 else "raster" if raster else "vector"
        item.gold["box"] = pen.end()
        if item.kind == "table" and item.spec["table"]["note"]:  # under the bottom rule, out of the box
            note, size = item.spec["table"]["note"], st.cap_size - 1
            while text_width(note, st.cap_font, size) > w and len(note) > 10:
                note = note[:-10].rstrip() + "."
            pen.text(fx, fy + fh + 3 + metrics(st.cap_font)[0] * size, note, st.cap_font, size)
        if item.place != "other-page":
            cy = y if item.place in ("above", "beside") else fy + fh + foot + gap
            box = draw_caption(pen, cap, cx, cy, cap_w, 0, cap_lines)
            item.gold.update(caption=cap.text, caption_box=box)

    if item.place == "next-column":
        k = rng.randint(1, len(cap.lines) - 1)
        head_h, tail_h = fh + foot + gap + k * cap.leading, (len(cap.lines) - k) * cap.leading
        head = Block(head_h, lambda x, y, w: draw_item(x, y, w, k), item, where="bottom")
        tail = Block(tail_h, lambda x, y, w: draw_caption(pen, cap, x, y, cap_w, k), caption_part=True)
        return [head, tail]
    if item.place == "other-page":

        def caption_only(x: float, y: float, w: float) -> None:
            box = draw_caption(pen, cap, x + (w - cap_w) / 2, y, cap_w)
            item.gold.update(caption=cap.text, caption_box=box, caption_page=pen.page.number + 1)

        return [Block(fh + foot, draw_item, item), Block(cap.height, caption_only, caption_part=True)]
    height = max(fh, cap.height) if beside else fh + foot + gap + cap.height
    return [Block(height, draw_item, item, rng.choice(["top", "top", "bottom", "mid"]))]


def plan_items(rng: random.Random, st: Style) -> list[Item]:
    kinds = ["table" if rng.random() < 0.35 else "figure" for _ in range(rng.randint(2, 6))]
    kinds[0] = "figure" if "figure" not in kinds else kinds[0]
    items, nf, nt = [], 0, 0
    ext_from = kinds.count("figure") - st.extended_data
    for kind in kinds:
        if kind == "figure":
            nf += 1
            ext = nf > ext_from >= 1
            num = str(nf - ext_from) if ext else f"{st.prefix}{nf}"
            printed = ("Extended Data Fig. {} |" if ext else st.figure_label).format(num)
            label = ("Extended Data Figure " if ext else "Figure ") + num
            word = "Extended Data Fig." if ext else "Fig." if printed.lower().startswith("fig.") else "Figure"
        else:
            nt += 1
            num = st.prefix + (ROMAN[nt - 1] if st.roman_tables else str(nt))
            printed, label, word = st.table_label.format(num), f"Table {st.prefix}{nt}", "Table"
        wide = st.columns == 1 or rng.random() < (0.35 if kind == "table" else 0.25)
        spec = figure_spec(rng, wide) if kind == "figure" else {}
        item = Item(kind, label, printed, f"{word} {num}", spec, full=st.columns == 2 and wide)
        if kind == "table":
            item.place = "below" if rng.random() < 0.2 and not printed.startswith("TABLE") else "above"
        else:
            beside = (50 if "|" in printed else 30) if wide else 0
            item.place = rng.choices(["below", "above", "beside"], [78, 6, beside])[0]
            if not item.full and st.columns == 2 and (st.force == "next-column" or rng.random() < 0.04):
                item.place, st.force = "next-column", ""
            elif st.force == "other-page" or rng.random() < 0.03:
                item.place, st.force = "other-page", ""
        lines = rng.choices([1, 2, 3, 4, 5, 6], [20, 25, 22, 15, 10, 8])[0]
        item.words = caption_words(rng, item, max(lines, 3 if item.place == "next-column" else 1))
        items.append(item)
    return items


# ---------------------------------------------------------------- pages


@dataclass
class PagePlan:
    top: list[Block] = field(default_factory=list)  # full text width, under the header
    bottom: list[Block] = field(default_factory=list)  # full text width, above the footer
    columns: list[list[Block]] = field(default_factory=list)
    rank: int = -1  # reading-order slot of the last item placed: later items go after it

    def free(self, st: Style, c: int) -> float:
        band = st.text_bottom - st.top - sum(b.height + GAP for b in self.top + self.bottom)
        return band - sum(b.height + 2 * GAP for b in self.columns[c])

    def blocks(self) -> list[Block]:
        return self.top + self.bottom + sum(self.columns, [])

    def top_free(self) -> bool:
        """Whether a full-width float may still go on top (below a title, above no caption)."""
        return not any(b.item or b.caption_part for b in self.top + [col[0] for col in self.columns if col])


def place(page: PagePlan, blocks: list[Block], st: Style, item: Item, force: bool) -> bool:
    """Put an item's blocks on the page after the items already there, if they fit (always, with
    force: a fresh page). Reading-order slots: top band 0, column c 10c+10 top, +11 mid, +12 bottom,
    bottom band 100."""
    first = blocks[0]
    if item.place == "next-column":
        fits = page.free(st, 0) >= first.height and page.free(st, 1) >= blocks[1].height + 60
        closed = page.columns[1] or any(b.item for b in page.columns[0] if b.where != "top") or page.rank > 12
        if not force and (not fits or closed):
            return False
        first.where, page.rank = "bottom", 12
        page.columns[0].append(first)
        page.columns[1].insert(0, blocks[1])
        return True
    if item.full:
        if not force and min(page.free(st, c) for c in range(st.columns)) < first.height + GAP:
            return False
        if page.top_free() and page.rank <= 0:
            page.top.append(first)
            page.rank = 0
        elif force or not page.bottom and item.place != "other-page":
            page.bottom.append(first)
            page.rank = 100
        else:
            return False
        return True
    for c, col in enumerate(page.columns):
        if not force and (len([b for b in col if b.item]) >= 2 or page.free(st, c) < first.height):
            continue
        if item.place == "other-page":
            where = "" if col else "top"
        elif any(b.where != "top" for b in col):
            where = ""  # something already sits lower in this column
        else:
            where = "bottom" if col else first.where
        rank = 10 * c + {"top": 10, "mid": 11, "bottom": 12, "": 99}[where]
        if force or (where and rank >= page.rank):
            first.where, page.rank = where or "top", rank
            col.append(first)
            return True
    return False


def plan_pages(pen: Pen[Style], items: list[Item], title: Block) -> list[PagePlan]:
    st, rng = pen.st, pen.rng
    pages: list[PagePlan] = []

    def new_page() -> PagePlan:
        pages.append(PagePlan(columns=[[] for _ in range(st.columns)]))
        return pages[-1]

    new_page().top.append(title)
    target = rng.randint(3, 8)
    spread = min(0.8, (target - 1) / len(items))
    for item in items:
        page = pages[-1]
        crowded = any(b.item for b in page.blocks())
        if len(pages) < target - 1 and rng.random() < (spread if crowded else 0.4 if len(pages) == 1 else 0):
            page = new_page()
        region = st.text_w if item.full or st.columns == 1 else st.col_w
        col_h = st.text_bottom - st.top
        max_h = col_h * (rng.uniform(0.55, 0.75) if item.place == "other-page" else rng.uniform(0.3, 0.5))
        blocks = item_blocks(pen, item, region, max_h)
        if not place(page, blocks, st, item, force=False):
            place(new_page(), blocks, st, item, force=True)
        if item.place == "other-page":  # its caption opens the next page
            follow = new_page()
            (follow.top if item.full or st.columns == 1 else follow.columns[0]).insert(0, blocks[1])
    while len(pages) < target:
        new_page()
    return pages


def title_block(pen: Pen[Style]) -> Block:
    st, rng = pen.st, pen.rng
    width, size = st.text_w, rng.uniform(14, 18)
    title = wrap(phrase(rng).title().split(), width * 0.9, st.bold, size, width * 0.9, rng, 0)[:2]
    authors = ", ".join(rng.sample(NAMES, rng.randint(2, 5)))
    place_ = (
        f"Department of {rng.choice(NOUNS).title()}, University of {rng.choice(['Oslo', 'Kyoto', 'Leeds'])}"
    )
    abstract_w = width - (60 if rng.random() < 0.5 else 0)
    text = " ".join(sentence(rng) for _ in range(rng.randint(4, 7))).split()
    abstract = wrap(text, abstract_w, st.body, st.size - 0.5, abstract_w, rng, 0)
    centered, lead = rng.random() < 0.6, (st.size - 0.5) * 1.2
    height = len(title) * size * 1.2 + 8 + st.size * 2.8 + 9 * 1.3 + 10 + len(abstract) * lead + 6

    def draw(x: float, y: float, w: float) -> None:
        def put(text: str, font: str, fs: float, yy: float) -> float:
            tx = x + (w - text_width(text, font, fs)) / 2 if centered else x
            return tx + pen.text(tx, yy + metrics(font)[0] * fs, text, font, fs)

        for i, line in enumerate(title):
            put(line, st.bold, size, y + i * size * 1.2)
        yy = y + len(title) * size * 1.2 + 8
        end = put(authors, st.body, st.size + 0.5, yy)
        if "icon" in st.decoys:  # a tiny author icon after the names: a decoy image
            pen.image(end + 2, yy + 2, end + 9, yy + 9, np.full((8, 8, 3), (166, 206, 57), np.uint8))
        put(place_, st.italic, 8.5, yy + st.size * 1.4)
        yy += st.size * 1.4 + 9 * 1.3 + 10
        put("Abstract", st.bold, st.size, yy)
        yy += st.size * 1.4
        for i, line in enumerate(abstract):
            ay = yy + i * lead + metrics(st.body)[0] * (st.size - 0.5)
            pen.text(x + (w - abstract_w) / 2, ay, line, st.body, st.size - 0.5)

    return Block(height, draw)


def decorate(pen: Pen[Style], pno: int, background: np.ndarray | None) -> None:
    """Page furniture: background picture, running header and footer, logo, banner, margin stamp."""
    st = pen.st
    w, h, x0, x1 = st.width, st.height, st.margin, st.width - st.margin
    if background is not None:
        pen.image(0, 0, w, h, background)
    hy, hs, number = st.top - st.header_gap, 8.0, str(st.first_page + pno)
    if pno == 0 and "banner" in st.decoys:
        pen.rect(0, 14, w, st.top - 10, color=None, fill=(0.1, 0.25, 0.45))
        pen.text(x0, st.top - 22, st.journal.upper(), "hebo", 11, color=WHITE)
    else:
        tx = x0
        if "logo" in st.decoys:
            pen.image(x0, hy - 13, x0 + 16, hy + 3, pixels(pen.np, 16, 16, "photo"))
            tx = x0 + 20
        pen.text(tx, hy, st.journal, st.italic, hs)
        right = number if pno % 2 else f"{st.journal.split()[-1]} {2000 + st.first_page % 24}"
        pen.text(x1 - text_width(right, st.body, hs), hy, right, st.body, hs)
        if "rule" in st.decoys:
            pen.line(x0, hy + 4, x1, hy + 4, width=0.4)
    foot = f"{st.journal} | {number}" if st.first_page > 1 else number
    pen.text((w - text_width(foot, st.body, hs)) / 2, h - st.bottom + 26, foot, st.body, hs)
    if pno == 0 and "stamp" in st.decoys:
        stamp = f"arXiv:{2000 + st.first_page % 500}.{10000 + st.first_page}v2 [cs.CV]"
        pen.text(st.margin / 2, h * 0.7, stamp, "tiro", 14, color=(0.45, 0.45, 0.45), rotate=90)


def render_page(
    pen: Pen[Style],
    doc: pymupdf.Document,
    plan: PagePlan,
    pno: int,
    last: bool,
    flow: TextFlow,
    background: np.ndarray | None,
    trapped: set[str],
) -> None:
    st, rng = pen.st, pen.rng
    pen.new_page(doc)
    decorate(pen, pno, background)
    y, y_end = st.top, st.text_bottom
    for b in plan.top:
        b.draw(st.margin, y, st.text_w)
        y += b.height + GAP
    for b in reversed(plan.bottom):
        y_end -= b.height
        b.draw(st.margin, y_end, st.text_w)
        y_end -= GAP
    fill_last = rng.uniform(0.3, 0.9) if last else 1.0  # the paper ends part way down its last column
    for c, blocks in enumerate(plan.columns):
        x, w = st.col_x(c), st.col_w
        seq: list[Block | None] = [b for b in blocks if b.where == "top"] + [None]
        for b in blocks:
            seq += [b, None] if b.where == "mid" else []
        seq += [b for b in blocks if b.where == "bottom"]
        gaps = sum(GAP for a, b in zip(seq, seq[1:], strict=False) if a is not None or b is not None)
        share = max(0.0, (y_end - y) - sum(b.height for b in blocks) - gaps) / seq.count(None)
        cursor, previous = y, plan.top[-1] if plan.top and c == 0 else None
        for i, entry in enumerate(seq):
            if i and (entry is not None or seq[i - 1] is not None):
                cursor += GAP
            if entry is not None:
                entry.draw(x, cursor, w)
                cursor, previous = cursor + entry.height, entry
                continue
            item = previous.item if previous is not None else None
            first = item is not None and item.kind == "figure" and not trapped
            if item is not None and item.label not in trapped and (first or rng.random() < 0.3):
                flow.trap(item)  # the paragraph under a float starts "Figure 3 shows ..."
                trapped.add(item.label)
            height = share * (fill_last if c == len(plan.columns) - 1 else 1.0)
            flow.fill(pen, x, cursor, x + w, cursor + height)
            cursor += share
    pen.shape.commit()


# ---------------------------------------------------------------- gold

HARD_TAGS = ("caption-next-column", "caption-other-page")
DECOYS = {"logo": "header logo", "banner": "page-1 banner", "background": "page background image"}
DECOYS |= {"icon": "author icon", "rule": "header rule", "stamp": "rotated margin stamp"}


def features(item: Item, st: Style) -> list[str]:
    out = [item.gold["graphics"]] if item.kind == "figure" else ["table"]
    out += ["multi-panel"] if item.spec.get("panels", 1) > 1 else []
    out += ["tiled"] if item.spec.get("type") == "tiled" else []
    hard = {"next-column": ["caption-below", "caption-next-column"], "other-page": ["caption-other-page"]}
    out += hard.get(item.place, [f"caption-{item.place}"])
    out += (["two-column-page"] + (["full-width"] if item.full else [])) if st.columns == 2 else []
    return out + (["bold-label"] if st.label_bold else [])


def gold_item(item: Item, st: Style, page: int) -> dict[str, Any]:
    g = item.gold
    entry = {"page": page, "kind": item.kind, "label": item.label, "box": g["box"], "caption": g["caption"]}
    entry.update(caption_box=g["caption_box"], features=features(item, st))
    return entry | ({"caption_page": g["caption_page"]} if "caption_page" in g else {})


def generate_paper(seed: int) -> tuple[bytes, dict[str, Any]]:
    """One synthetic paper: (PDF bytes, gold dict in bench/gold/real's format). Deterministic by seed."""
    rng, nprng = random.Random(seed), np.random.default_rng(seed)
    st = Style(seed, rng)
    pen = Pen(st, rng, nprng)
    items = plan_items(rng, st)
    pages = plan_pages(pen, items, title_block(pen))
    flow, trapped = TextFlow(rng, st, items), set()
    background = None
    if "background" in st.decoys:  # a faint page-sized picture: decoration, not a figure
        background = np.clip(pixels(nprng, 60, 80, "photo") * 0.12 + 222, 0, 255).astype(np.uint8)
    doc = pymupdf.open()
    for pno, plan in enumerate(pages):
        back = background if pno == 0 or seed % 2 else None
        render_page(pen, doc, plan, pno, pno == len(pages) - 1, flow, back, trapped)
    pdf = doc.tobytes(garbage=3, deflate=True, no_new_id=True)
    page_of = {id(b.item): n + 1 for n, p in enumerate(pages) for b in p.blocks() if b.item}
    gold_items = [gold_item(it, st, page_of[id(it)]) for it in items]
    gold_items.sort(key=lambda e: (e["page"], e["box"][1], e["box"][0]))
    hard = sorted({f for e in gold_items for f in e["features"] if f in HARD_TAGS})
    decoys = ", ".join(["running header and footer"] + [DECOYS[d] for d in sorted(st.decoys)])
    notes = (
        f"Synthetic paper (bench/synthetic_papers.py, seed {seed}): {'A4' if st.width < 600 else 'letter'}, "
        f"{st.columns}-column, {st.body} body, figure labels '{st.figure_label}', table labels "
        f"'{st.table_label}'{', bold labels' if st.label_bold else ''}. Decoys: {decoys}, body paragraphs "
        "that start with a label. Boxes are measured from what was drawn (image rectangles, path extents, "
        "text-layer span boxes)."
    )
    if hard:
        notes += f" Hard cases: {', '.join(hard)} (a split caption's caption_box is its first part)."
    name = f"synthetic-{seed:04d}.pdf"
    sha = hashlib.sha256(pdf).hexdigest()
    return pdf, {"document": name, "sha256": sha, "pages": len(pages), "notes": notes, "items": gold_items}


def write_synthetic_set(folder: str | Path, count: int, start_seed: int = 0) -> list[Path]:
    """Write synthetic-SEED.pdf and its gold synthetic-SEED.json for count seeds; returns the PDF paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(start_seed, start_seed + count):
        pdf, gold = generate_paper(seed)
        path = folder / gold["document"]
        path.write_bytes(pdf)
        path.with_suffix(".json").write_text(json.dumps(gold, indent=1) + "\n")
        paths.append(path)
    return paths


def render_gold(pdf_path: Path, out_dir: Path, dpi: int = 72) -> list[Path]:
    """PNG renders of the pages that hold gold, item boxes in red and caption boxes in blue."""
    gold = json.loads(pdf_path.with_suffix(".json").read_text())
    doc = pymupdf.open(pdf_path)
    marks: dict[int, list[tuple[list[float], Color]]] = {}
    for it in gold["items"]:
        marks.setdefault(it["page"], []).append((it["box"], (1, 0, 0)))
        if it["caption_box"]:
            marks.setdefault(it.get("caption_page", it["page"]), []).append((it["caption_box"], (0, 0, 1)))
    out = []
    for number, boxes in sorted(marks.items()):
        page = doc[number - 1]
        for box, color in boxes:
            page.draw_rect(pymupdf.Rect(box), color=color, width=0.6)
        out.append(out_dir / f"{pdf_path.stem}-p{number}.png")
        page.get_pixmap(dpi=dpi).save(out[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", help="folder for NAME.pdf + NAME.json")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--start-seed", type=int, default=0)
    parser.add_argument("--render", action="store_true", help="also write PNGs with the gold boxes drawn")
    args = parser.parse_args(argv)
    for path in write_synthetic_set(args.out, args.count, args.start_seed):
        if args.render:
            render_gold(path, Path(args.out))
    print(f"wrote {args.count} papers to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
