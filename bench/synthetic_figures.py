"""Drawing for bench/synthetic_papers.py: the pen, raster pictures, charts, panels, figures, tables.

Everything here draws onto a page through Pen, which also measures what it drew: the boxes the gold
annotations are made of. The paper's layout (style, text, captions, pages) stays in synthetic_papers,
which imports this module; this module imports nothing from it.
"""

from __future__ import annotations

import functools
import math
import random
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import pymupdf

Color = tuple[float, float, float]
BLACK: Color = (0.0, 0.0, 0.0)
WHITE: Color = (1.0, 1.0, 1.0)
PALETTE: list[Color] = [(0.12, 0.47, 0.71), (1.0, 0.5, 0.05), (0.17, 0.63, 0.17), (0.84, 0.15, 0.16)]
BOLD = {"tiro": "tibo", "helv": "hebo", "cour": "cobo"}
VIRIDIS = np.array([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)], float)

NOUNS = (
    "accuracy|loss|distribution|response|signal|temperature|concentration|error|throughput|attention map|"
    "spectrum|trajectory|density|correlation|variance|latency|energy|yield|expression level|strain"
).split("|")
AXES = (
    "Accuracy (%)|Loss|Intensity (a.u.)|Time (s)|Epoch|Depth (m)|Frequency (Hz)|Temperature (K)|"
    "Density|Voltage (mV)|Number of samples|Strain (%)"
).split("|")
LEGEND = ["Ours", "Baseline", "Control", "Treated", "w/o attention", "Theory", "Experiment", "Model A"]
BOXES = "Input Encoder Decoder Attention Pooling Classifier Sensor Filter Output Loss Embedding".split()


class Sheet(Protocol):
    """What the drawing reads of a paper's style; bench.synthetic_papers.Style has all of it."""

    width: float
    height: float
    fig_font: str
    tick: float


StyleT = TypeVar("StyleT", bound=Sheet, covariant=True)


# ---------------------------------------------------------------- pen


@functools.lru_cache(maxsize=16)
def font_table(fontname: str) -> tuple[float, float, tuple[float, ...]]:
    """(ascender, descender, advances of codes 0-255) per point, as the text layer measures spans."""
    f = pymupdf.Font(fontname)
    return f.ascender, -f.descender, tuple(f.glyph_advance(i) for i in range(256))


def metrics(fontname: str) -> tuple[float, float]:
    return font_table(fontname)[:2]


@functools.lru_cache(maxsize=1 << 16)
def text_width(text: str, fontname: str, size: float) -> float:
    advances = font_table(fontname)[2]
    return size * sum(advances[ord(c)] for c in text)


class Pen(Generic[StyleT]):
    """Draws on the current page; between begin() and end() it measures everything it draws."""

    def __init__(self, st: StyleT, rng: random.Random, nprng: np.random.Generator) -> None:
        self.st, self.rng, self.np = st, rng, nprng
        self.box: list[float] | None = None
        self.drawn: set[str] = set()

    def new_page(self, doc: pymupdf.Document) -> None:
        self.page = doc.new_page(width=self.st.width, height=self.st.height)
        self.shape = self.page.new_shape()
        self.fonts: set[str] = set()

    def begin(self) -> None:
        self.box, self.drawn = [math.inf, math.inf, -math.inf, -math.inf], set()

    def end(self) -> list[float]:
        box, self.box = self.box or [0.0] * 4, None
        return [round(v, 1) for v in box]

    def grow(self, x0: float, y0: float, x1: float, y1: float, what: str) -> None:
        if self.box is not None:
            b = self.box
            b[0], b[1], b[2], b[3] = min(b[0], x0), min(b[1], y0), max(b[2], x1), max(b[3], y1)
            self.drawn.add(what)

    def text(
        self, x: float, y: float, s: str, font: str, size: float, color: Color = BLACK, rotate: int = 0
    ) -> float:
        """Write s with its baseline starting at (x, y); rotate=90 runs it upwards. Returns its width."""
        # the content stream Shape.insert_text writes, without its per-call font lookup (10x faster)
        size = round(size, 2)
        if font not in self.fonts:
            self.page.insert_font(fontname=font)
            self.fonts.add(font)
        width, (asc, desc) = text_width(s, font, size), metrics(font)
        h = self.st.height
        cm, left, top = ("0 1 -1 0 0 0 cm\n", h - y, -x) if rotate == 90 else ("", x, h - y)
        rgb = " ".join(f"{c:g}" for c in color)
        self.shape.text_cont += (
            f"\nq\n{cm}BT\n1 0 0 1 {left:.3f} {top:.3f} Tm\n/{font} {size:g} Tf {rgb} rg "
            f"[<{s.encode('latin-1').hex()}>]TJ\nET\nQ\n"
        )
        if rotate == 90:
            self.grow(x - asc * size, y - width, x + desc * size, y, "text")
        else:
            self.grow(x, y - asc * size, x + width, y + desc * size, "text")
        return width

    def path(
        self,
        pts: list[tuple[float, float]],
        color: Color | None = BLACK,
        fill: Color | None = None,
        width: float = 0.6,
        closed: bool = False,
        dashes: str | None = None,
    ) -> None:
        self.shape.draw_polyline(pts)
        self.shape.finish(width=width, color=color, fill=fill, closePath=closed, dashes=dashes)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        self.grow(min(xs), min(ys), max(xs), max(ys), "path")

    def line(
        self, x0: float, y0: float, x1: float, y1: float, color: Color = BLACK, width: float = 0.6
    ) -> None:
        self.path([(x0, y0), (x1, y1)], color=color, width=width)

    def rect(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        color: Color | None = BLACK,
        fill: Color | None = None,
        width: float = 0.6,
        radius: float | None = None,
    ) -> None:
        self.shape.draw_rect(pymupdf.Rect(x0, y0, x1, y1), radius=radius)
        self.shape.finish(width=width, color=color, fill=fill)
        self.grow(x0, y0, x1, y1, "path")

    def circle(self, x: float, y: float, r: float, fill: Color) -> None:
        # four Bezier arcs written directly: Shape.draw_circle costs 10x more, and scatter plots have many
        k, cx, cy = 0.5523 * r, x, self.st.height - y
        arcs = [(r, 0, r, k, k, r, 0, r), (0, r, -k, r, -r, k, -r, 0), (-r, 0, -r, -k, -k, -r, 0, -r),
                (0, -r, k, -r, r, -k, r, 0)]  # fmt: skip
        path = f"{cx + r:.2f} {cy:.2f} m\n" + "".join(
            " ".join(f"{cx + a[i]:.2f} {cy + a[i + 1]:.2f}" for i in (2, 4, 6)) + " c\n" for a in arcs
        )
        self.shape.totalcont += f"q\n{' '.join(f'{c:g}' for c in fill)} rg\n{path}f\nQ\n"
        self.grow(x - r, y - r, x + r, y + r, "path")

    def image(self, x0: float, y0: float, x1: float, y1: float, pixels: np.ndarray) -> None:
        h, w = pixels.shape[:2]
        pix = pymupdf.Pixmap(pymupdf.csRGB, w, h, np.ascontiguousarray(pixels, np.uint8).tobytes(), 0)
        self.page.insert_image(pymupdf.Rect(x0, y0, x1, y1), pixmap=pix)
        self.grow(x0, y0, x1, y1, "image")


# ---------------------------------------------------------------- raster images


def upsample(low: np.ndarray, h: int, w: int) -> np.ndarray:
    low = low.reshape(low.shape[0], low.shape[1], -1)
    ys, xs = np.linspace(0, low.shape[0] - 1, h), np.linspace(0, low.shape[1] - 1, w)
    y0, x0 = ys.astype(int), xs.astype(int)
    y1, x1 = np.minimum(y0 + 1, low.shape[0] - 1), np.minimum(x0 + 1, low.shape[1] - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = low[y0][:, x0] * (1 - fx) + low[y0][:, x1] * fx
    return top * (1 - fy) + (low[y1][:, x0] * (1 - fx) + low[y1][:, x1] * fx) * fy


def colormap(values: np.ndarray) -> np.ndarray:
    f = (values - values.min()) / (np.ptp(values) + 1e-9) * (len(VIRIDIS) - 1)
    return np.stack([np.interp(f, np.arange(len(VIRIDIS)), VIRIDIS[:, c]) for c in range(3)], axis=-1)


def pixels(nprng: np.random.Generator, w_pt: float, h_pt: float, look: str) -> np.ndarray:
    """An RGB picture for a w_pt x h_pt box, without white margins: its visible extent is its box."""
    scale = min(nprng.uniform(1.0, 1.8), math.sqrt(60000 / max(w_pt * h_pt, 1.0)))
    w, h = max(8, int(w_pt * scale)), max(8, int(h_pt * scale))
    if look == "micrograph":
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.full((h, w, 3), nprng.uniform(5, 30))
        tint = nprng.uniform(0.2, 1.0, 3)
        for _ in range(int(nprng.integers(8, 24))):
            cx, cy, s = nprng.uniform(0, w), nprng.uniform(0, h), nprng.uniform(2, 0.08 * max(w, h) + 3)
            img += 220 * tint * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))[..., None]
    elif look == "heat":
        img = colormap(
            upsample(nprng.random((int(nprng.integers(3, 7)), int(nprng.integers(3, 7)))), h, w)[..., 0]
        )
    elif look == "gel":
        img = np.full((h, w, 3), 200.0)
        lanes = int(nprng.integers(4, 10))
        for i in range(lanes):
            for _ in range(int(nprng.integers(2, 6))):
                y, x0, x1 = (
                    int(nprng.uniform(0.1, 0.9) * h),
                    int(i * w / lanes + 2),
                    int((i + 0.8) * w / lanes),
                )
                img[y : y + max(2, h // 30), x0:x1] = nprng.uniform(20, 120)
    else:  # photo-like smooth colour field
        img = upsample(
            nprng.uniform(20, 220, (int(nprng.integers(3, 8)), int(nprng.integers(3, 8)), 3)), h, w
        )
    return np.clip(img + nprng.normal(0, 6, (h, w, 1)), 0, 235).astype(np.uint8)


# ---------------------------------------------------------------- figures


def ticks(rng: random.Random) -> list[str]:
    lo, step = rng.choice([0, 0, 0, -1, 10, 100]), rng.choice([0.2, 0.5, 1, 2, 5, 10, 20, 50])
    return [f"{lo + i * step:.1f}" if step < 1 else f"{lo + i * step:g}" for i in range(rng.randint(4, 6))]


def draw_axes(
    pen: Pen[Sheet],
    x: float,
    y: float,
    w: float,
    h: float,
    xt: list[tuple[float, str]],
    yt: list[str],
    right: float = 0.0,
) -> tuple[float, float, float, float]:
    """Spines, ticks, tick labels, axis labels and maybe a title inside [x, x+w] x [y, y+h]; returns
    the plotting rectangle. The y-axis label, rotated, sits left of the tick labels."""
    rng, f, ts = pen.rng, pen.st.fig_font, pen.st.tick
    ls, (asc, desc), tick = ts + 1, metrics(pen.st.fig_font), 2.5
    xlabel = rng.choice(AXES) if rng.random() < 0.85 else ""
    ylabel = rng.choice(AXES) if rng.random() < 0.85 else ""
    title = f"{rng.choice(LEGEND)} {rng.choice(NOUNS)}" if rng.random() < 0.25 else ""
    left = max(text_width(t, f, ts) for t in yt) + tick + 1.5 + ((asc + desc) * ls + 1.5 if ylabel else 0)
    ax0, ax1 = x + left, x + w - right - max(2.0, text_width(xt[-1][1], f, ts) / 2 + 1)
    ay0 = y + ((asc + desc) * ls + 2 if title else 0) + (asc + desc) * ts / 2
    ay1 = y + h - (tick + 1.5 + (asc + desc) * ts + ((asc + desc) * ls + 1.5 if xlabel else 0))
    while len(xt) > 2 and sum(text_width(t, f, ts) for _, t in xt) > 0.75 * (ax1 - ax0):
        xt = xt[::2]  # small panels get fewer ticks, as plotting libraries do
    while len(yt) > 2 and (ay1 - ay0) / (len(yt) - 1) < ts * 1.6:
        yt = yt[::2]
    if ax1 - ax0 < 15 or ay1 - ay0 < 12:  # too small for axes: a bare frame
        pen.rect(x, y, x + w, y + h)
        return x, y, x + w, y + h
    if rng.random() < 0.5:
        pen.rect(ax0, ay0, ax1, ay1, width=0.5)
    else:
        pen.path([(ax0, ay0), (ax0, ay1), (ax1, ay1)], width=0.5)
    grid = rng.random() < 0.3
    for i, label in enumerate(yt):
        ty = ay1 - i / (len(yt) - 1) * (ay1 - ay0)
        pen.line(ax0 - tick, ty, ax0, ty, width=0.4)
        if grid and 0 < i < len(yt) - 1:
            pen.line(ax0, ty, ax1, ty, color=(0.85, 0.85, 0.85), width=0.3)
        pen.text(ax0 - tick - 1.5 - text_width(label, f, ts), ty + (asc - desc) * ts / 2, label, f, ts)
    for frac, label in xt:
        tx = ax0 + frac * (ax1 - ax0)
        pen.line(tx, ay1, tx, ay1 + tick, width=0.4)
        pen.text(tx - text_width(label, f, ts) / 2, ay1 + tick + 1.5 + asc * ts, label, f, ts)
    if xlabel:
        base = ay1 + tick + 1.5 + (asc + desc) * ts + 1.5 + asc * ls
        pen.text((ax0 + ax1) / 2 - text_width(xlabel, f, ls) / 2, base, xlabel, f, ls)
    if ylabel:
        pen.text(x + asc * ls, (ay0 + ay1) / 2 + text_width(ylabel, f, ls) / 2, ylabel, f, ls, rotate=90)
    if title:
        pen.text((ax0 + ax1) / 2 - text_width(title, BOLD[f], ls) / 2, y + asc * ls, title, BOLD[f], ls)
    return ax0, ay0, ax1, ay1


def draw_plot(pen: Pen[Sheet], x: float, y: float, w: float, h: float) -> None:
    """A vector chart: lines, scatter markers, error bars or bars, with axes and maybe a legend
    (inside the axes, or outside to their right)."""
    rng, ts, f = pen.rng, pen.st.tick, pen.st.fig_font
    kind, series = rng.choice(["line", "line", "scatter", "bar", "errorbar"]), rng.randint(1, 3)
    if kind == "bar":
        cats = rng.sample("ABCDEFG", rng.randint(3, 6))
        xt = [((i + 0.5) / len(cats), c) for i, c in enumerate(cats)]
    else:
        labels = ticks(rng)
        xt = [(i / (len(labels) - 1), t) for i, t in enumerate(labels)]
    names = rng.sample(LEGEND, series)
    lw = max(text_width(nm, f, ts) for nm in names) + 16
    legend = rng.choice(["in", "in", "out", ""]) if series > 1 else ""
    legend = "" if legend == "out" and lw > w * 0.35 else legend
    ax0, ay0, ax1, ay1 = draw_axes(pen, x, y, w, h, xt, ticks(rng), right=lw + 2 if legend == "out" else 0)
    aw, ah = ax1 - ax0, ay1 - ay0
    for s in range(series):
        color = PALETTE[s]
        if kind == "bar":
            bw = aw / len(xt) * 0.8 / series
            for i in range(len(xt)):
                bx = ax0 + (i + 0.1) / len(xt) * aw + s * bw
                pen.rect(bx, ay1 - rng.uniform(0.15, 0.9) * ah, bx + bw, ay1, color=None, fill=color)
        elif kind == "scatter":
            r = rng.choice([1.2, 1.6, 2.0])
            for px, py in np.clip(
                pen.np.normal(rng.uniform(0.3, 0.7), 0.15, (rng.randint(15, 60), 2)), 0.06, 0.94
            ):
                pen.circle(ax0 + px * aw, ay1 - py * ah, r, fill=color)
        else:
            n = rng.randint(8, 50)
            t = np.linspace(0, 1, n)
            curve = rng.uniform(0.2, 1) * (1 - np.exp(-t * rng.uniform(1, 8))) + 0.05 * pen.np.normal(size=n)
            curve = 0.08 + 0.84 * (curve - curve.min()) / (np.ptp(curve) + 1e-9) * rng.uniform(0.6, 1)
            pts = [(ax0 + a * aw, ay1 - b * ah) for a, b in zip(t, curve, strict=True)]
            pen.path(pts, color=color, width=0.9, dashes="[2 1] 0" if s == 2 else None)
            for px, py in pts[:: max(1, n // 8)] if kind == "errorbar" else []:
                e = rng.uniform(1.5, 4)
                pen.line(px, max(ay0, py - e), px, min(ay1, py + e), color=color, width=0.5)
    if legend == "out" or legend == "in" and aw > lw + 10 and ah > series * ts * 1.3 + 8:
        lx = ax1 + 4 if legend == "out" else ax0 + 4 if rng.random() < 0.5 else ax1 - lw - 4
        for i, name in enumerate(names):
            ly = ay0 + 4 + (i + 0.5) * ts * 1.3
            pen.line(lx + 1, ly, lx + 11, ly, color=PALETTE[i], width=1.2)
            pen.text(lx + 14, ly + ts * 0.35, name, f, ts)


def draw_heatmap(pen: Pen[Sheet], x: float, y: float, w: float, h: float) -> None:
    """A raster heat map inside vector axes, with a colour bar: a mixed figure."""
    st, asc, desc = pen.st, *metrics(pen.st.fig_font)
    bar = [f"{v:.1f}" for v in np.linspace(0, pen.rng.choice([1, 2, 5]), 4)]
    labels = [str(i) for i in range(pen.rng.randint(4, 8))]
    right = 12 + max(text_width(b, st.fig_font, st.tick) for b in bar)
    xt = [(i / (len(labels) - 1), t) for i, t in enumerate(labels)]
    ax0, ay0, ax1, ay1 = draw_axes(pen, x, y, w, h, xt, ticks(pen.rng), right=right)
    pen.image(ax0, ay0, ax1, ay1, pixels(pen.np, ax1 - ax0, ay1 - ay0, "heat"))
    pen.image(
        ax1 + 4, ay0, ax1 + 10, ay1, colormap(np.linspace(1, 0, 64)[:, None].repeat(4, 1)).astype(np.uint8)
    )
    for i, b in enumerate(bar):
        pen.text(ax1 + 12, ay1 - i / 3 * (ay1 - ay0) + (asc - desc) * st.tick / 2, b, st.fig_font, st.tick)


def draw_diagram(pen: Pen[Sheet], x: float, y: float, w: float, h: float) -> None:
    """Labelled boxes joined by arrows, in one or two rows."""
    rng, f = pen.rng, pen.st.fig_font
    rows, n, gap, vgap = 2 if h / w > 0.4 else 1, rng.randint(3, 5), rng.uniform(12, 22), 14.0
    bw, bh = (w - gap * (n - 1)) / n, (h - vgap * (rows - 1)) / rows
    fill = rng.choice([(0.86, 0.92, 0.98), (0.95, 0.9, 0.8), (0.9, 0.95, 0.88), None])
    asc, desc = metrics(f)
    for r in range(rows):
        by = y + r * (bh + vgap)
        for i in range(n):
            bx = x + i * (bw + gap)
            pen.rect(
                bx, by, bx + bw, by + bh, fill=fill, width=0.7, radius=0.15 if rng.random() < 0.5 else None
            )
            label, fs = rng.choice(BOXES), pen.st.tick + 1
            while text_width(label, f, fs) > bw - 4 and fs > 4:
                fs -= 0.5
            pen.text(
                bx + (bw - text_width(label, f, fs)) / 2, by + bh / 2 + (asc - desc) * fs / 2, label, f, fs
            )
            if i < n - 1:
                ay, tip = by + bh / 2, bx + bw + gap
                pen.line(bx + bw, ay, tip - 3, ay, width=0.7)
                pen.path(
                    [(tip, ay), (tip - 4, ay - 2), (tip - 4, ay + 2)], fill=BLACK, closed=True, width=0.3
                )
        if r < rows - 1:
            pen.line(x + w - bw / 2, by + bh, x + w - bw / 2, by + bh + vgap, width=0.7)


def draw_panel(pen: Pen[Sheet], kind: str, x: float, y: float, w: float, h: float) -> None:
    rng = pen.rng
    if kind in ("plot", "heatmap", "diagram"):
        {"plot": draw_plot, "heatmap": draw_heatmap, "diagram": draw_diagram}[kind](pen, x, y, w, h)
    elif kind == "tiled":  # one picture cut into abutting tiles, as some PDF producers store images
        rows, cols = rng.choice([(1, 2), (2, 1), (2, 2), (1, 3), (3, 1), (2, 3)])
        img = pixels(pen.np, w, h, rng.choice(["photo", "micrograph", "heat"]))
        ph, pw = img.shape[:2]
        for r in range(rows):
            for c in range(cols):
                tile = img[r * ph // rows : (r + 1) * ph // rows, c * pw // cols : (c + 1) * pw // cols]
                tx0, tx1 = x + c * w / cols, x + (c + 1) * w / cols
                pen.image(tx0, y + r * h / rows, tx1, y + (r + 1) * h / rows, tile)
    else:  # a raster look; a micrograph may get a vector scale bar and live text: mixed
        pen.image(x, y, x + w, y + h, pixels(pen.np, w, h, kind))
        if kind == "micrograph" and rng.random() < 0.6 and w > 40:
            pen.rect(x + w - 26, y + h - 6, x + w - 6, y + h - 4.5, color=None, fill=WHITE)
            pen.text(
                x + w - 28, y + h - 8, f"{rng.choice([10, 20, 50, 100])} \u00b5m", "helv", 5.5, color=WHITE
            )


def letter_row(spec: dict[str, Any], st: Sheet) -> float:
    asc, desc = metrics(st.fig_font)
    return 0.0 if spec["letters"] == "none" else (asc + desc) * (st.tick + 1.5) + 1.5


def figure_height(spec: dict[str, Any], st: Sheet, w: float) -> float:
    frame = 8.0 if spec["frame"] else 0.0
    if spec["type"] != "multi":
        return (w - frame) * spec["aspect"] + frame
    rows, cols, gap = spec["rows"], spec["cols"], spec["gap"]
    pw = (w - frame - gap * (cols - 1)) / cols
    return rows * (pw * spec["aspect"] + letter_row(spec, st)) + gap * (rows - 1) + frame


def draw_figure(pen: Pen[Sheet], spec: dict[str, Any], x: float, y: float, w: float, h: float) -> None:
    st = pen.st
    if spec["frame"]:
        pen.rect(x, y, x + w, y + h, width=0.5)
        x, y, w, h = x + 4, y + 4, w - 8, h - 8
    if spec["type"] != "multi":
        draw_panel(pen, spec["type"], x, y, w, h)
        return
    rows, cols, gap, style = spec["rows"], spec["cols"], spec["gap"], spec["letters"]
    pw, ph, extra = (w - gap * (cols - 1)) / cols, (h - gap * (rows - 1)) / rows, letter_row(spec, st)
    fs, asc = st.tick + 1.5, metrics(st.fig_font)[0]
    for i, kind in enumerate(spec["kinds"]):
        px, py = x + i % cols * (pw + gap), y + i // cols * (ph + gap)
        if style == "sub":  # a sub-caption under the panel: "(a) Validation set"
            draw_panel(pen, kind, px, py, pw, ph - extra)
            sub = f"({'abcdef'[i]}) {pen.rng.choice(LEGEND)}"
            pen.text(
                px + (pw - text_width(sub, st.fig_font, fs)) / 2,
                py + ph - extra + 1.5 + asc * fs,
                sub,
                st.fig_font,
                fs,
            )
            continue
        if style != "none":
            letter = {"paren": f"({'abcdef'[i]})", "bold": "abcdef"[i], "upper": "ABCDEF"[i]}[style]
            pen.text(px, py + asc * fs, letter, st.fig_font if style == "paren" else BOLD[st.fig_font], fs)
        draw_panel(pen, kind, px, py + extra, pw, ph - extra)


def figure_spec(rng: random.Random, wide: bool) -> dict[str, Any]:
    kind = rng.choices(
        ["raster", "tiled", "plot", "multi", "heatmap", "micrograph", "diagram"], [12, 8, 24, 32, 8, 8, 8]
    )[0]
    spec: dict[str, Any] = {"type": kind, "aspect": rng.uniform(0.55, 0.85), "frame": rng.random() < 0.08}
    if kind == "raster":
        spec.update(type=rng.choice(["photo", "micrograph", "gel"]), aspect=rng.uniform(0.5, 1.0))
    elif kind == "diagram":
        spec["aspect"] = rng.uniform(0.15, 0.3) if wide else rng.uniform(0.25, 0.55)
    elif kind == "multi":
        n = rng.randint(2, 6 if wide else 4)
        shapes = {
            2: [(1, 2), (2, 1)],
            3: [(1, 3), (3, 1)] if wide else [(3, 1)],
            4: [(2, 2), (1, 4)] if wide else [(2, 2)],
        }
        rows, cols = rng.choice(shapes.get(n, [(2, 3), (3, 2)] if n == 6 else [(2, 3)]))
        mode = rng.choice(["plot", "plot", "images", "mixed"])
        if mode == "mixed":
            kinds = [rng.choice(["plot", "heatmap", "micrograph", "photo"]) for _ in range(n)]
        else:
            kinds = [rng.choice(["photo", "micrograph", "gel"]) if mode == "images" else "plot"] * n
        letters = rng.choice(["paren", "bold", "upper", "sub", "none" if mode == "images" else "paren"])
        spec.update(
            rows=rows,
            cols=cols,
            gap=rng.uniform(6, 14),
            kinds=kinds,
            panels=n,
            letters=letters,
            aspect=rng.uniform(0.65, 0.95),
        )
    return spec


# ---------------------------------------------------------------- tables


def draw_table(pen: Pen[Sheet], t: dict[str, Any], x: float, y: float) -> None:
    """Rules and cell text from y (the top rule) to y + t["height"] (the bottom rule)."""
    font, size, row_h, widths = t["font"], t["size"], t["row_h"], t["widths"]
    asc, desc = metrics(font)
    x1, y1, rows = x + t["width"], y + t["height"], [t["header"], *t["cells"]]
    columns = range(1, len(widths))
    best = {
        c: max(range(len(t["cells"])), key=lambda r, c=c: float(t["cells"][r][c]))
        for c in columns
        if pen.rng.random() < 0.5
    }
    if t["style"] == "shaded":
        for r in range(1, len(rows), 2):
            pen.rect(x, y + 3 + r * row_h, x1, y + 3 + (r + 1) * row_h, color=None, fill=(0.92, 0.92, 0.92))
    for r, row in enumerate(rows):
        ry = y + (2 if r == 0 else 3) + r * row_h
        base, cx = ry + row_h / 2 + (asc - desc) * size / 2, x
        for c, cell in enumerate(row):
            f = BOLD[font] if r == 0 and t["style"] != "grid" or best.get(c) == r - 1 else font
            centered = c > 0 or t["style"] == "grid"
            pen.text(
                cx + (widths[c] - text_width(cell, f, size)) / 2 if centered else cx + 4, base, cell, f, size
            )
            cx += widths[c]
        if t["style"] == "grid" and r:
            pen.line(x, ry, x1, ry, width=0.4)
    if t["style"] == "grid":
        pen.rect(x, y, x1, y1, width=0.5)
        for cx in np.cumsum(widths[:-1]) + x:
            pen.line(float(cx), y, float(cx), y1, width=0.4)
    else:
        pen.line(x, y, x1, y, width=0.8)
        pen.line(x, y + 2.5 + row_h, x1, y + 2.5 + row_h, width=0.5)
        pen.line(x, y1, x1, y1, width=0.8)
