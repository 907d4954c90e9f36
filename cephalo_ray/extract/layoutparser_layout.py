"""A layoutparser image model (Detectron2, EfficientDet, PaddleDetection) as a layout detector: the page
is rendered, detected and its boxes scaled back to PDF points; config and weights local or s3://."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cephalo_ray.extract.layout import (
    LAYOUTPARSER_BACKENDS,
    as_box,
    detector_problem,
    label_kind,
    layout_of,
    unrotated_page,
    usable,
)

if TYPE_CHECKING:
    import layoutparser
    import pymupdf
    from PIL import Image

    from cephalo_ray.storage import Storage


def cache_dir_default() -> Path:
    from cephalo_ray.storage import cache_dir

    return cache_dir("layout")


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
        page_box = unrotated_page(page)
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
            if kind is not None and score >= self.score_threshold and usable(rect):
                blocks.append((as_box(rect), kind, score))
        return layout_of(blocks)
