"""Layout detectors: one PDF page in, typed blocks out, for the extractor to consult where its own
geometry is unsure.

Every detector answers `detect(page) -> layoutparser.Layout` of `TextBlock(Rectangle(x0, y0, x1, y1),
type=KIND, score=p)`: PDF points, origin top-left, in the coordinates pymupdf's own extraction
reports (`get_text`, `get_image_info`, `get_drawings`: `page.rect` coordinates on an unrotated page),
with `type` one of `KINDS` whatever the model's own classes are.

- `PymupdfLayoutDetector`: pymupdf 2.0's own ONNX models, offline, on CPU.
- `LayoutparserDetector`: a layoutparser image model (Detectron2, EfficientDet, PaddleDetection) from
  a config and weights path, local or `s3://`: the page is rendered, detected and scaled back.

pymupdf, onnxruntime, layoutparser and Pillow are imported on first use, never by importing this.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import yaml
from pydantic import Field, ValidationInfo, field_validator

from cephalo_ray.config import StrictModel

if TYPE_CHECKING:
    import layoutparser
    import pymupdf
    from PIL import Image

    from cephalo_ray.storage import Storage

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


def _layout(blocks: list[tuple[tuple[float, float, float, float], str, float]]) -> layoutparser.Layout:
    from layoutparser.elements import Layout, Rectangle, TextBlock

    ordered = sorted(blocks, key=lambda item: (round(item[0][1], 1), item[0][0]))
    return Layout(
        [
            TextBlock(Rectangle(*box), type=kind, score=round(score, 4), id=index)
            for index, (box, kind, score) in enumerate(ordered)
        ]
    )


def _page_box(page: pymupdf.Page) -> pymupdf.Rect:
    return page.rect * page.derotation_matrix  # the unrotated page, where extraction coordinates live


def _usable(rect: pymupdf.Rect) -> bool:
    return rect.width > MIN_SIDE and rect.height > MIN_SIDE


def _box(rect: pymupdf.Rect) -> tuple[float, float, float, float]:
    return (float(rect.x0), float(rect.y0), float(rect.x1), float(rect.y1))


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
        return _layout(kept)

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
            if kind is None or not _usable(rect):
                continue
            lines = list(group.get("indicies") or [])
            if probabilities is not None and lines:
                score = float(probabilities[lines, group["group_class"]].mean())
            else:  # a box pymupdf added itself (no lines behind it) carries its own score
                score = float(group.get("score", 1.0))
            blocks.append((_box(rect), kind, score))
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
        page_box = _page_box(page)
        blocks = []
        for box, name, score in zip(found["boxes"], found["names"], found["scores"], strict=True):
            kind = PYMUPDF_KINDS.get(name)
            rect = (pymupdf.Rect(box) * page.derotation_matrix) & page_box
            if kind is not None and _usable(rect):
                blocks.append((_box(rect), kind, float(score)))
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


def cache_dir_default() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cephalo_ray" / "layout"


def fetch_to_cache(uri: str, cache_dir: str | Path, storage: Storage) -> str:
    """A local path for `uri`: itself when local; for `s3://` a copy under `cache_dir` (one file, or
    every file under a prefix, e.g. a Paddle model folder), fetched once per object version (URI,
    size and modification time), so retrained weights of the same size are fetched again."""
    from cephalo_ray.storage import is_s3, name_of

    if not is_s3(uri):
        return uri
    single = storage.stat(uri)
    files = [single] if single.size is not None else storage.list_files(uri)
    if not files:
        raise FileNotFoundError(f"{uri} is neither a file nor a prefix with files in it")
    version = json.dumps([uri] + [[item.uri, item.size, item.mtime_ns] for item in files])
    target = Path(cache_dir) / hashlib.sha256(version.encode()).hexdigest()[:16]
    if single.size is not None:
        _download(storage, uri, target / name_of(uri), single.size)
        return str(target / name_of(uri))
    prefix = uri.rstrip("/") + "/"
    for item in files:
        _download(storage, item.uri, target / item.uri[len(prefix) :], item.size)
    return str(target)


def _download(storage: Storage, uri: str, path: Path, size: int | None) -> None:
    if path.is_file() and path.stat().st_size == size:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(storage.read_bytes(uri))
    os.replace(partial, path)  # actors on one node may fetch at once: each rename is whole


class LayoutparserDetector:
    """A layoutparser image model on the rendered page.

    The page is rendered at `dpi`, the model's pixel boxes are scaled back to points (and unrotated,
    for a rotated page), its labels mapped to `KINDS` through `label_map` and `LABEL_KINDS`; blocks
    with labels of no use, or under `score_threshold`, are dropped. The model is built on the first
    `detect`, once per instance; `s3://` paths are fetched to `cache_dir` first.

    Args:
        backend: a key of `LAYOUTPARSER_BACKENDS`.
        config_path: the model config (a path, `s3://` URI or layoutparser `lp://` name; for
            EfficientDet a model name such as `tf_efficientdet_d0`).
        weights_path: the weights file (for Paddle, the inference folder), local or `s3://`.
        label_map: model class id -> label (`{0: "Text", 4: "Figure"}`); labels are names in
            `LABEL_KINDS` or `KINDS` themselves.
        dpi: render resolution.
        score_threshold: the lowest score kept, 0..1.
        extra_config: passed to the layoutparser class as is.
        device: e.g. "cpu" or "cuda" (layoutparser's default when None).
        model: an object with layoutparser's `detect(PIL image) -> Layout` to use instead of
            building one (tests, or a model built elsewhere).
        cache_dir: where `s3://` files are fetched to (default `~/.cache/cephalo_ray/layout`).
        s3_endpoint_url, s3_region: the S3 endpoint, as in the job's `storage` config.
    """

    def __init__(
        self,
        backend: str = "detectron2",
        config_path: str | None = None,
        weights_path: str | None = None,
        label_map: dict[int, str] | None = None,
        dpi: int = 144,
        score_threshold: float = 0.5,
        extra_config: Any = None,
        device: str | None = None,
        model: Any = None,
        cache_dir: str | Path | None = None,
        s3_endpoint_url: str | None = None,
        s3_region: str | None = None,
    ) -> None:
        if model is None and backend not in LAYOUTPARSER_BACKENDS:
            raise ValueError(f"backend {backend!r} is not one of {', '.join(LAYOUTPARSER_BACKENDS)}")
        self.label_map = {int(key): str(value) for key, value in (label_map or {}).items()}
        for label in self.label_map.values():
            label_kind(label)  # an unknown label fails here, not on the first page
        self.name = f"layoutparser:{backend}" if model is None else f"layoutparser:{type(model).__name__}"
        self.backend = backend
        self.config_path = config_path
        self.weights_path = weights_path
        self.dpi = dpi
        self.score_threshold = score_threshold
        self.extra_config = extra_config
        self.device = device
        self.cache_dir = Path(cache_dir) if cache_dir else cache_dir_default()
        self.s3_endpoint_url = s3_endpoint_url
        self.s3_region = s3_region
        self._injected = model
        self._model: Any = model

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": self._injected}  # a built model reloads where unpickled

    def load(self) -> None:
        """Fetch the files and build the model now (`detect` does it on first use)."""
        if self._model is not None:
            return
        problem = detector_problem("layoutparser", self.backend)
        if problem:
            raise ImportError(problem)
        import layoutparser

        from cephalo_ray.storage import Storage

        if not self.weights_path:
            raise ValueError("LayoutparserDetector needs weights_path (a local path or s3:// URI)")
        storage = Storage(self.s3_endpoint_url, self.s3_region)
        config_path = fetch_to_cache(self.config_path, self.cache_dir, storage) if self.config_path else None
        options: dict[str, Any] = {
            "config_path": config_path,
            "model_path": fetch_to_cache(self.weights_path, self.cache_dir, storage),
            "label_map": self.label_map or None,
            "device": self.device,
        }
        if self.extra_config is not None:
            options["extra_config"] = self.extra_config
        self._model = getattr(layoutparser, LAYOUTPARSER_BACKENDS[self.backend])(**options)

    def render(self, page: pymupdf.Page) -> Image.Image:
        """The page as the model sees it: RGB at `dpi`."""
        import pymupdf
        from PIL import Image

        zoom = self.dpi / 72
        pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False, colorspace=pymupdf.csRGB)
        return Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)

    def detect(self, page: pymupdf.Page) -> layoutparser.Layout:
        """The page's blocks (see the class docstring)."""
        import pymupdf

        self.load()
        found = self._model.detect(self.render(page))
        to_points = pymupdf.Matrix(72 / self.dpi, 72 / self.dpi) * page.derotation_matrix
        page_box = _page_box(page)
        blocks = []
        for block in found:
            label = block.type
            if not isinstance(label, str):  # a class id the model had no name for
                label = self.label_map.get(int(label), "")
            try:
                kind = label_kind(label)
            except ValueError:
                kind = None
            score = 1.0 if block.score is None else float(block.score)
            rect = (pymupdf.Rect(*block.coordinates) * to_points) & page_box
            if kind is not None and score >= self.score_threshold and _usable(rect):
                blocks.append((_box(rect), kind, score))
        return _layout(blocks)


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
            TextBlock(Rectangle(*_box(pymupdf.Rect(*block.coordinates) * to_pixels)), type=block.type)
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


def _no_detector(**_: Any) -> None:
    return None


DETECTORS: dict[str, Callable[..., LayoutDetector | None]] = {
    "none": _no_detector,
    "pymupdf": PymupdfLayoutDetector,
    "layoutparser": LayoutparserDetector,
}
_SHARED: dict[str, LayoutDetector | None] = {}


def build_detector(name: str, **options: Any) -> LayoutDetector | None:
    """A detector by name ("none" gives None), built with the options of its class; nothing loads
    until its first `detect`."""
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}: use one of {', '.join(DETECTORS)}")
    return DETECTORS[name](**options)


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
