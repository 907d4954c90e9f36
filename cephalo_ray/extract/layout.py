"""Layout detectors: one PDF page in, typed blocks out, for the extractor to consult where its own
geometry is unsure.

Every detector answers `detect(page) -> layoutparser.Layout` of `TextBlock(Rectangle(x0, y0, x1, y1),
type=KIND, score=p)`: PDF points, origin top-left, in the coordinates pymupdf's own extraction
reports (`get_text`, `get_image_info`, `get_drawings`: `page.rect` coordinates on an unrotated page),
with `type` one of `KINDS` whatever the model's own classes are.

- `PymupdfLayoutDetector` (`pymupdf_layout.py`): pymupdf 2.0's own ONNX models, offline, on CPU.
- `LayoutparserDetector` (`layoutparser_layout.py`): a layoutparser image model (Detectron2, EfficientDet, PaddleDetection) from
  a config and weights path, local or `s3://`: the page is rendered, detected and scaled back.

pymupdf, onnxruntime, layoutparser and Pillow are imported on first use, never by importing this.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, Protocol

import yaml
from pydantic import Field, ValidationInfo, field_validator

from cephalo_ray.config import StrictModel

if TYPE_CHECKING:
    import layoutparser
    import pymupdf
    from PIL import Image


KINDS = ("figure", "table", "caption", "text", "title", "header", "footer", "formula", "list")

# The classes of pymupdf's layout models (its element and pixel models share them) -> KINDS.
PYMUPDF_KINDS = {
    "text": "text",
    "title": "title",
    "section-header": "title",
    "picture": "figure",
    "table": "table",
    "caption": "caption",
    "formula": "formula",
    "list-item": "list",
    "page-header": "header",
    "page-footer": "footer",
    "footnote": "text",
}

# Labels of layoutparser's model catalog (PubLayNet, PrimaLayout, HJDataset, NewspaperNavigator,
# TableBank, MFD) and of DocLayNet, lower-cased with `-` for spaces; None: known, of no use here.
LABEL_KINDS: dict[str, str | None] = {
    **{kind: kind for kind in KINDS},
    **PYMUPDF_KINDS,
    "paragraph": "text",
    "plain-text": "text",
    "textregion": "text",
    "text-region": "text",
    "list-region": "list",
    "title-region": "title",
    "headline": "title",
    "subtitle": "title",
    "heading": "title",
    "section-title": "title",
    "tableregion": "table",
    "table-region": "table",
    "image": "figure",
    "imageregion": "figure",
    "image-region": "figure",
    "graphicregion": "figure",
    "chart": "figure",
    "photograph": "figure",
    "illustration": "figure",
    "map": "figure",
    "comics/cartoon": "figure",
    "editorial-cartoon": "figure",
    "figure-caption": "caption",
    "table-caption": "caption",
    "equation": "formula",
    "mathsregion": "formula",
    "isolate-formula": "formula",
    "header": "header",
    "page-number": "footer",
    "separatorregion": None,
    "otherregion": None,
    "noiseregion": None,
    "other": None,
    "page-frame": None,
    "row": None,
    "advertisement": None,
    "abandon": None,
}

# Backend name -> layoutparser model class, and what to install when the class is missing (layoutparser
# only exports a backend's class when that backend imports).
LAYOUTPARSER_BACKENDS = {
    "detectron2": "Detectron2LayoutModel",
    "efficientdet": "EfficientDetLayoutModel",
    "paddledetection": "PaddleDetectionLayoutModel",
}
BACKEND_INSTALL = {
    "detectron2": "detectron2 beside torch: pip install 'detectron2@git+https://github.com/facebookresearch/detectron2.git'",
    "efficientdet": "effdet: pip install 'layoutparser[effdet]'",
    "paddledetection": "paddlepaddle: pip install 'layoutparser[paddledetection]'",
}
LAYOUT_INSTALL = "pip install 'cephalo_ray[layout]'"
PYMUPDF_LAYOUT_INSTALL = "pymupdf>=2.0 (it ships the layout models): pip install -U 'pymupdf>=2.0'"
PIXEL_MODEL = "feature_imf2.onnx"  # pymupdf's page-image model with picture/table detection heads
MIN_SIDE = 2.0  # points; thinner boxes are rules and stray glyphs (pymupdf4llm drops them too)


class LayoutDetector(Protocol):
    """A page in, blocks out (see the module docstring for the coordinates and `KINDS`)."""

    name: str

    def detect(self, page: pymupdf.Page) -> layoutparser.Layout: ...


def label_kind(label: str) -> str | None:
    """The kind (one of `KINDS`) a model's label names; None for labels of no use (separators).

    Raises:
        ValueError: for a label that no table here knows, naming the kinds to map it to.
    """
    key = str(label).strip().lower().replace("_", "-").replace(" ", "-")
    if key not in LABEL_KINDS:
        raise ValueError(f"unknown layout label {label!r}: name it as one of {', '.join(KINDS)}")
    return LABEL_KINDS[key]


def blocks_of(layout: Iterable[Any], kind: str) -> list[tuple[float, float, float, float]]:
    """The (x0, y0, x1, y1) boxes of the blocks of one kind, in the layout's order."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    boxes = []
    for block in layout:
        if block.type == kind:
            x0, y0, x1, y1 = block.coordinates
            boxes.append((float(x0), float(y0), float(x1), float(y1)))
    return boxes


def layout_of(blocks: list[tuple[tuple[float, float, float, float], str, float]]) -> layoutparser.Layout:
    from layoutparser.elements import Layout, Rectangle, TextBlock

    ordered = sorted(blocks, key=lambda item: (round(item[0][1], 1), item[0][0]))
    return Layout(
        [
            TextBlock(Rectangle(*box), type=kind, score=round(score, 4), id=index)
            for index, (box, kind, score) in enumerate(ordered)
        ]
    )


def unrotated_page(page: pymupdf.Page) -> pymupdf.Rect:
    return page.rect * page.derotation_matrix  # the unrotated page, where extraction coordinates live


def usable(rect: pymupdf.Rect) -> bool:
    return rect.width > MIN_SIDE and rect.height > MIN_SIDE


def as_box(rect: pymupdf.Rect) -> tuple[float, float, float, float]:
    return (float(rect.x0), float(rect.y0), float(rect.x1), float(rect.y1))


def draw_layout(page: pymupdf.Page, layout: Iterable[Any], dpi: int = 96) -> Image.Image:
    """The page rendered at `dpi` with the layout's boxes and kinds drawn on it (for looking at)."""
    import layoutparser
    import pymupdf
    from layoutparser.elements import Layout, Rectangle, TextBlock
    from PIL import Image, ImageFont

    if not hasattr(ImageFont.FreeTypeFont, "getsize"):  # Pillow >= 10 removed it; layoutparser uses it

        def getsize(font: Any, text: str) -> tuple[int, int]:
            left, top, right, bottom = font.getbbox(text)
            return right - left, bottom - top

        ImageFont.FreeTypeFont.getsize = getsize  # type: ignore[attr-defined]
    to_pixels = page.rotation_matrix * pymupdf.Matrix(dpi / 72, dpi / 72)
    pixmap = page.get_pixmap(dpi=dpi, alpha=False, colorspace=pymupdf.csRGB)
    image = Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)
    in_pixels = Layout(
        [
            TextBlock(Rectangle(*as_box(pymupdf.Rect(*block.coordinates) * to_pixels)), type=block.type)
            for block in layout
        ]
    )
    return layoutparser.draw_box(image, in_pixels, box_width=2, show_element_type=True)


def detector_problem(name: str, backend: str | None = None) -> str | None:
    """Why detector `name` (with a layoutparser `backend`) cannot load here, naming what to install;
    None when it can. No model is built (finding pymupdf's layout imports pymupdf)."""
    import importlib.util

    if name == "pymupdf":
        try:
            found = importlib.util.find_spec("pymupdf.layout") is not None
        except ImportError:
            found = False
        return None if found else f"detector.name=pymupdf needs {PYMUPDF_LAYOUT_INSTALL}"
    if name != "layoutparser":
        return None if name in DETECTORS else f"unknown detector {name!r}: use one of {', '.join(DETECTORS)}"
    backend = backend or "detectron2"
    if backend not in LAYOUTPARSER_BACKENDS:
        return f"detector.backend={backend!r} is not one of {', '.join(LAYOUTPARSER_BACKENDS)}"
    try:
        import layoutparser
    except ImportError:
        return f"detector.name=layoutparser needs layoutparser: {LAYOUT_INSTALL}"
    if not hasattr(layoutparser, LAYOUTPARSER_BACKENDS[backend]):
        return (
            f"detector.backend={backend} needs layoutparser's {LAYOUTPARSER_BACKENDS[backend]}, which "
            f"needs {BACKEND_INSTALL[backend]}"
        )
    return None


# name -> the detector's class, imported when first built ("module:Class"; None: no detector)
DETECTORS: dict[str, str | None] = {
    "none": None,
    "pymupdf": "cephalo_ray.extract.pymupdf_layout:PymupdfLayoutDetector",
    "layoutparser": "cephalo_ray.extract.layoutparser_layout:LayoutparserDetector",
}
_SHARED: dict[str, LayoutDetector | None] = {}


def build_detector(name: str, **options: Any) -> LayoutDetector | None:
    """A detector by name ("none" gives None), built with the options of its class; nothing loads
    until its first `detect`."""
    import importlib

    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}: use one of {', '.join(DETECTORS)}")
    target = DETECTORS[name]
    if target is None:
        return None
    module, _, class_name = target.partition(":")
    detector: LayoutDetector = getattr(importlib.import_module(module), class_name)(**options)
    return detector


def shared_detector(name: str, **options: Any) -> LayoutDetector | None:
    """`build_detector`, once per process and distinct options: a long-lived worker that parses one
    document per call keeps its loaded model."""
    key = json.dumps([name, options], sort_keys=True, default=repr)
    if key not in _SHARED:
        _SHARED[key] = build_detector(name, **options)
    return _SHARED[key]


class DetectorConfig(StrictModel):
    """`extract.detector`: the layout model the extractor consults, and when."""

    name: Literal["none", "pymupdf", "layoutparser"] = Field(
        "none", description="layout detector: none, pymupdf (built in, offline) or layoutparser"
    )
    consult: Literal["unsure", "always", "scanned"] = Field(
        "unsure", description="when to ask it: where the geometry is unsure, on every page, or on scans"
    )
    score_threshold: float = Field(0.5, ge=0, le=1, description="detector blocks scoring lower are ignored")
    backend: Literal["detectron2", "efficientdet", "paddledetection"] = Field(
        "detectron2", description="layoutparser model family (layoutparser only)"
    )
    config_path: str | None = Field(
        None,
        validate_default=True,
        description="layoutparser model config: path, s3:// or lp:// (EfficientDet: a model name)",
    )
    weights_path: str | None = Field(
        None, validate_default=True, description="layoutparser model weights: path or s3:// URI"
    )
    label_map: dict[int, str] | None = Field(
        None,
        validate_default=True,
        description="layoutparser class id -> label, e.g. {0: Text, 1: Title, 2: List, 3: Table, 4: Figure}",
    )
    render_dpi: int = Field(144, ge=36, le=600, description="page render resolution for layoutparser")

    @field_validator("label_map", mode="before")
    @classmethod
    def _parse_label_map(cls, value: Any) -> Any:
        return yaml.safe_load(value) if isinstance(value, str) else value  # a flag gives text

    @field_validator("config_path", "weights_path", "label_map")
    @classmethod
    def _layoutparser_paths(cls, value: Any, info: ValidationInfo) -> Any:
        name, key = info.data.get("name"), info.field_name
        if name is None:  # `name` itself failed; its error says so
            return value
        if name != "layoutparser":
            if value is not None:
                raise ValueError(f"only used with detector.name=layoutparser: remove detector.{key}")
            return value
        if key == "weights_path" and not value:
            raise ValueError(
                "required with detector.name=layoutparser: the model weights, a local path or s3:// URI"
            )
        if key == "config_path" and not value and info.data.get("backend") != "paddledetection":
            raise ValueError(
                "required with detector.name=layoutparser: the model config (a path, s3:// URI or lp:// name)"
            )
        if key == "label_map":
            if not value and not str(info.data.get("config_path") or "").startswith("lp://"):
                raise ValueError(
                    "required with detector.name=layoutparser (only an lp:// config brings its own): "
                    "class id -> label, e.g. {0: Text, 1: Title, 2: List, 3: Table, 4: Figure}"
                )
            for label in (value or {}).values():
                label_kind(label)
        return value

    def detector_options(
        self, s3_endpoint_url: str | None = None, s3_region: str | None = None
    ) -> dict[str, Any]:
        """The keyword arguments of `build_detector(self.name, ...)` (`consult` is the caller's)."""
        if self.name == "pymupdf":
            return {"score_threshold": self.score_threshold}
        if self.name == "layoutparser":
            return {
                "backend": self.backend,
                "config_path": self.config_path,
                "weights_path": self.weights_path,
                "label_map": self.label_map,
                "dpi": self.render_dpi,
                "score_threshold": self.score_threshold,
                "s3_endpoint_url": s3_endpoint_url,
                "s3_region": s3_region,
            }
        return {}
