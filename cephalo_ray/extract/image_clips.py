"""Where a page's images print: each placement cut to the clip paths in force when it is drawn.

`get_image_info` gives an image's whole placement, but a PDF often places a large picture and clips it
to a frame (a map panel placed 300 pt tall of which 180 pt print, a photo cropped to its column), so
the placement alone makes figure boxes too large. This device replays the page's drawing calls and
keeps the clip stack; shadings, which fill whatever clip holds them, count as images as they do in
`get_image_info`. Imported lazily: it subclasses a pymupdf class.

A picture is also often saved with white margins round what it shows (a chart exported with its
page's white), so its placement reaches into the text or the table above it. Each image is read at
a thumbnail's size and its placement cut to its ink, as a reader sees it; one over most of the page
(a scan, a background, a watermark) keeps its placement.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymupdf

from cephalo_ray.extract.geometry import Box

_mupdf = pymupdf.mupdf
_CLIP_CALLS = ("clip_path", "clip_stroke_path", "clip_text", "clip_stroke_text", "clip_image_mask")
_CALLS = (*_CLIP_CALLS, "begin_mask", "pop_clip", "fill_image", "fill_image_mask", "fill_shade")
THUMBNAIL_PIXELS = 256  # the longer side an image is read at to find its ink (decoders subsample)
PAPER_WHITE = 245  # grey levels above this print as the paper does


def ink_share(image: Any) -> tuple[float, float, float, float] | None:
    """The part of an image's unit square that holds ink, or None where it is all white or cannot
    be read (then its whole placement counts)."""
    try:
        picture = _mupdf.FzImage(_mupdf.ll_fz_keep_image(image))
        width, height = picture.w(), picture.h()
        scale = min(1.0, THUMBNAIL_PIXELS / max(width, height, 1))
        decoded = _mupdf.fz_get_pixmap_from_image(
            picture,
            _mupdf.FzIrect(0, 0, width, height),
            _mupdf.FzMatrix(width * scale, 0, 0, height * scale, 0, 0),
        )
        pixmap = pymupdf.Pixmap(decoded[0] if isinstance(decoded, tuple) else decoded)
        if pixmap.alpha:
            pixmap = pymupdf.Pixmap(pixmap, 0)
        if pixmap.n != 1:
            pixmap = pymupdf.Pixmap(pymupdf.csGRAY, pixmap)
        grey = np.frombuffer(pixmap.samples_mv, dtype=np.uint8).reshape(pixmap.height, pixmap.stride)
        ink = grey[:, : pixmap.width] <= PAPER_WHITE
    except Exception:  # noqa: BLE001 (a picture the decoder refuses still prints its placement)
        return None
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    return (
        columns[0] / pixmap.width,
        rows[0] / pixmap.height,
        (columns[-1] + 1) / pixmap.width,
        (rows[-1] + 1) / pixmap.height,
    )


class _ImageClipDevice(_mupdf.FzDevice2):  # type: ignore[misc,name-defined]
    """Collects image placements cut to the clip in force; every other drawing call is skipped."""

    def __init__(self, page_area: float) -> None:
        super().__init__()
        self.page_area = page_area
        self.clips: list[Any] = []  # fz_rect of each open clip, already cut to the ones below it
        self.printed: list[Any] = []
        for call in _CALLS:
            getattr(self, "use_virtual_" + call)()  # only these calls reach Python

    def _inside(self) -> Any:
        return self.clips[-1] if self.clips else _mupdf.FzRect(_mupdf.FzRect.Fixed_INFINITE)

    def _open(self, bound: Any) -> None:
        self.clips.append(_mupdf.fz_intersect_rect(self._inside(), _mupdf.FzRect(bound)))

    def _placed(self, ctm: Any) -> Any:
        return _mupdf.fz_transform_rect(_mupdf.FzRect(_mupdf.FzRect.Fixed_UNIT), _mupdf.FzMatrix(ctm))

    def clip_path(self, ctx: Any, path: Any, even_odd: Any, ctm: Any, scissor: Any) -> None:
        self._open(_mupdf.ll_fz_bound_path(path, None, ctm))

    def clip_stroke_path(self, ctx: Any, path: Any, stroke: Any, ctm: Any, scissor: Any) -> None:
        self._open(_mupdf.ll_fz_bound_path(path, stroke, ctm))

    def clip_text(self, ctx: Any, text: Any, ctm: Any, scissor: Any) -> None:
        self._open(_mupdf.ll_fz_bound_text(text, None, ctm))

    def clip_stroke_text(self, ctx: Any, text: Any, stroke: Any, ctm: Any, scissor: Any) -> None:
        self._open(_mupdf.ll_fz_bound_text(text, stroke, ctm))

    def clip_image_mask(self, ctx: Any, image: Any, ctm: Any, scissor: Any) -> None:
        self._open(self._placed(ctm))

    def begin_mask(self, ctx: Any, area: Any, luminosity: Any, space: Any, colour: Any, params: Any) -> None:
        self.clips.append(self._inside())  # a soft mask is closed by its own pop_clip

    def pop_clip(self, ctx: Any) -> None:
        if self.clips:
            self.clips.pop()

    def fill_image(self, ctx: Any, image: Any, ctm: Any, alpha: Any, params: Any) -> None:
        placed = self._placed(ctm)
        # (a picture over most of the page is a scan, a background or a watermark: it keeps its
        # placement, by which it is known as such)
        share = (
            ink_share(image)
            if abs(placed.x1 - placed.x0) * abs(placed.y1 - placed.y0) < 0.5 * self.page_area
            else None
        )
        unit = _mupdf.FzRect(*share) if share else _mupdf.FzRect(_mupdf.FzRect.Fixed_UNIT)
        inked = _mupdf.fz_transform_rect(unit, _mupdf.FzMatrix(ctm))
        self.printed.append(_mupdf.fz_intersect_rect(inked, self._inside()))

    def fill_image_mask(
        self, ctx: Any, image: Any, ctm: Any, space: Any, colour: Any, alpha: Any, params: Any
    ) -> None:
        self.printed.append(_mupdf.fz_intersect_rect(self._placed(ctm), self._inside()))

    def fill_shade(self, ctx: Any, shade: Any, ctm: Any, alpha: Any, params: Any) -> None:
        bound = _mupdf.fz_bound_shade(_mupdf.FzShade(_mupdf.ll_fz_keep_shade(shade)), _mupdf.FzMatrix(ctm))
        self.printed.append(_mupdf.fz_intersect_rect(bound, self._inside()))


def printed_image_boxes(page: pymupdf.Page) -> list[Box]:
    """The part of each image (and shading) of a page that its clips let print, in drawing order,
    in the coordinates of `get_image_info`; images clipped away entirely are left out."""
    device = _ImageClipDevice(abs(page.rect.width * page.rect.height))
    unrotated = page.derotation_matrix  # page.run draws the rotated page; get_image_info does not
    ctm = _mupdf.FzMatrix(unrotated.a, unrotated.b, unrotated.c, unrotated.d, unrotated.e, unrotated.f)
    _mupdf.fz_run_page(page.this, device, ctm, _mupdf.FzCookie())
    boxes = [Box(rect.x0, rect.y0, rect.x1, rect.y1) for rect in device.printed]
    return [box for box in boxes if box.width > 0 and box.height > 0]
