"""pymupdf's own layout models (offline ONNX, on CPU) as a layout detector."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cephalo_ray.extract.layout import (
    PIXEL_MODEL,
    PYMUPDF_KINDS,
    PYMUPDF_LAYOUT_INSTALL,
    as_box,
    layout_of,
    unrotated_page,
    usable,
)

if TYPE_CHECKING:
    import layoutparser
    import pymupdf


class _RecordingSession:
    """An onnxruntime session that keeps its last outputs: pymupdf's `predict` drops the class
    probabilities that the blocks' scores come from."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.outputs: list[Any] | None = None

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self.outputs = self.session.run(*args, **kwargs)
        return self.outputs

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


class PymupdfLayoutDetector:
    """pymupdf 2.0's built-in layout models, offline, on CPU (AGPL-3.0 like pymupdf).

    Two models, both loaded once per instance on the first `detect`:
    - `elements`: the graph network pymupdf4llm uses: it classes the page's text lines (body, title,
      caption, table, text inside a picture, header, footer, formula, list) from their geometry and
      the page image. It sees no image or drawing as such, and nothing on a page without text.
    - `pixels`: pymupdf's page-image model (`feature_imf2.onnx`), whose detection heads box pictures
      and tables from the rendered page, raster and vector alike, scans included.

    With both (the default) pictures and tables come from `pixels`, an element box of the same kind
    mostly inside one of them is dropped, and the other kinds come from `elements` (from `pixels`
    only on a page without a text layer). Scores are class probabilities (for an element block, the
    mean over its lines); blocks under `score_threshold` are dropped.

    Args:
        score_threshold: the lowest score kept, 0..1.
        models: "both", "elements" or "pixels".
    """

    name = "pymupdf"

    def __init__(
        self, score_threshold: float = 0.5, models: Literal["both", "elements", "pixels"] = "both"
    ) -> None:
        if models not in ("both", "elements", "pixels"):
            raise ValueError(f"models={models!r}: use 'both', 'elements' or 'pixels'")
        self.score_threshold = score_threshold
        self.models = models
        self._elements: Any = None
        self._pixels: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_elements": None, "_pixels": None}  # models reload where unpickled

    def load(self) -> None:
        """Load the ONNX models now (`detect` does it on first use)."""
        try:
            import pymupdf.layout
            from pymupdf.layout.onnx.BoxRFDGNN import BoxRFDGNN
            from pymupdf.layout.onnx.common_util import make_session
            from pymupdf.layout.onnx.ImageFeatureExtractorV2 import ImageFeatureExtractorV2
        except ImportError as error:
            raise ImportError(f"the pymupdf layout detector needs {PYMUPDF_LAYOUT_INSTALL}") from error
        if self.models != "pixels" and self._elements is None:
            model = BoxRFDGNN(enable_inference_cache=False, use_sort=False)
            model.table_grid_extractor = None  # table cell grids: costly, and we only need the boxes
            model.session = _RecordingSession(model.session)
            self._elements = model
        if self.models != "elements" and self._pixels is None:
            path = Path(pymupdf.layout.__file__).parent / "resources" / "onnx" / PIXEL_MODEL
            self._pixels = ImageFeatureExtractorV2(make_session(str(path), ["CPUExecutionProvider"]))

    def detect(self, page: pymupdf.Page) -> layoutparser.Layout:
        """The page's blocks (see the class docstring)."""
        self.load()
        elements = self._element_blocks(page) if self._elements is not None else []
        pixels = self._pixel_blocks(page) if self._pixels is not None else []
        if elements:
            regions = [(box, kind) for box, kind, _ in pixels if kind in ("figure", "table")]
            elements = [item for item in elements if not _mostly_inside(item[0], item[1], regions)]
            pixels = [item for item in pixels if item[1] in ("figure", "table")]
        kept = [item for item in elements + pixels if item[2] >= self.score_threshold]
        return layout_of(kept)

    def _element_blocks(
        self, page: pymupdf.Page
    ) -> list[tuple[tuple[float, float, float, float], str, float]]:
        import numpy as np
        import pymupdf

        session = self._elements.session
        session.outputs = None
        groups = self._elements.predict(page, return_raw=True)
        probabilities = None
        if session.outputs is not None:
            logits = np.asarray(session.outputs[0], dtype=np.float64)
            probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
            probabilities /= probabilities.sum(axis=1, keepdims=True)
        blocks = []
        for group in groups:
            kind = PYMUPDF_KINDS.get(group["class_name"])
            rect = pymupdf.Rect(group["group_bbox"][:4])
            if kind is None or not usable(rect):
                continue
            lines = list(group.get("indicies") or [])
            if probabilities is not None and lines:
                score = float(probabilities[lines, group["group_class"]].mean())
            else:  # a box pymupdf added itself (no lines behind it) carries its own score
                score = float(group.get("score", 1.0))
            blocks.append((as_box(rect), kind, score))
        return blocks

    def _pixel_blocks(self, page: pymupdf.Page) -> list[tuple[tuple[float, float, float, float], str, float]]:
        import numpy as np
        import pymupdf

        # One pixel per point is plenty: the model sees the page at 300 x 300.
        pixmap = page.get_pixmap(alpha=False, colorspace=pymupdf.csRGB)
        image = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.width, 3)
        if image.min() == image.max():  # a blank page: the model's contrast stretch would make it black
            return []
        self._pixels.predict(image)
        found = self._pixels.get_layout_detections()
        page_box = unrotated_page(page)
        blocks = []
        for box, name, score in zip(found["boxes"], found["names"], found["scores"], strict=True):
            kind = PYMUPDF_KINDS.get(name)
            rect = (pymupdf.Rect(box) * page.derotation_matrix) & page_box
            if kind is not None and usable(rect):
                blocks.append((as_box(rect), kind, float(score)))
        return blocks


def _mostly_inside(
    box: tuple[float, float, float, float],
    kind: str,
    regions: list[tuple[tuple[float, float, float, float], str]],
) -> bool:
    area = max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)
    for region, region_kind in regions:
        if region_kind != kind:
            continue
        width = min(box[2], region[2]) - max(box[0], region[0])
        height = min(box[3], region[3]) - max(box[1], region[1])
        if width > 0 and height > 0 and width * height >= 0.5 * area:
            return True
    return False
