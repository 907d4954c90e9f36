"""Layout detectors: pymupdf's built-in models on a generated page, the layoutparser wrapper's
render -> detect -> scale -> map path with a tiny real model, the config section, lazy imports."""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pymupdf
import pytest

from cephalo_ray.config import ConfigError, load_config
from cephalo_ray.extract import layout
from cephalo_ray.extract.layout import (
    KINDS,
    DetectorConfig,
    blocks_of,
    build_detector,
    detector_problem,
    label_kind,
    shared_detector,
)
from cephalo_ray.extract.layoutparser_layout import LayoutparserDetector, fetch_to_cache
from cephalo_ray.extract.pymupdf_layout import PymupdfLayoutDetector
from cephalo_ray.storage import Storage
from tests.helpers.servers import MotoS3Server

PARAGRAPH = " ".join(["Layout analysis splits a scanned or born-digital page into typed regions."] * 6)
FIGURE = pymupdf.Rect(120, 250, 490, 540)
CAPTION = pymupdf.Rect(72, 560, 540, 600)
PUBLAYNET = {0: "Text", 1: "Title", 2: "List", 3: "Table", 4: "Figure"}


def overlap(a: tuple[float, ...] | pymupdf.Rect, b: tuple[float, ...] | pymupdf.Rect) -> float:
    """Intersection over the smaller box."""
    a, b = pymupdf.Rect(a), pymupdf.Rect(b)
    return (a & b).get_area() / min(a.get_area(), b.get_area())


def paper_page(graphics: str) -> pymupdf.Document:
    """A paragraph, a raster image or a vector plot, and a `Figure 1.` caption below it."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    assert page.insert_textbox(pymupdf.Rect(72, 72, 540, 230), PARAGRAPH, fontsize=10) > 0
    if graphics == "raster":
        rows, cols = np.mgrid[0:145, 0:185]
        pixels = np.stack([cols * 255 // 185, rows * 255 // 145, (rows + cols) % 256], -1).astype(np.uint8)
        page.insert_image(FIGURE, pixmap=pymupdf.Pixmap(pymupdf.csRGB, 185, 145, pixels.tobytes(), False))
    else:
        shape = page.new_shape()
        shape.draw_line((130, 530), (480, 530))
        shape.draw_line((130, 530), (130, 260))
        shape.draw_polyline([(130 + i * 7, 530 - 220 * abs(np.sin(i / 8))) for i in range(50)])
        shape.finish(color=(0, 0, 1), width=1.5)
        for i in range(6):
            shape.draw_rect(pymupdf.Rect(150 + i * 50, 480 - i * 30, 170 + i * 50, 530))
            shape.finish(fill=(1, 0.5, 0))
        shape.commit()
    caption = "Figure 1. The signal over time; bars count the events in each bin."
    assert page.insert_textbox(CAPTION, caption, fontsize=9) > 0
    return doc


@pytest.fixture(scope="module")
def pymupdf_detector() -> PymupdfLayoutDetector:
    return PymupdfLayoutDetector()


def test_import_loads_no_model_libraries() -> None:
    code = (
        "import sys, cephalo_ray.extract.layout; "
        "print([m for m in ('pymupdf', 'onnxruntime', 'layoutparser', 'PIL', 'cv2') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("graphics", ["raster", "vector"])
def test_pymupdf_detector_finds_the_figure_caption_and_text(
    pymupdf_detector: PymupdfLayoutDetector, graphics: str
) -> None:
    page = paper_page(graphics)[0]
    found = pymupdf_detector.detect(page)
    assert {block.type for block in found} <= set(KINDS)
    assert all(0 < block.score <= 1 for block in found)
    figures = blocks_of(found, "figure")
    assert any(
        overlap(box, FIGURE) > 0.8 and pymupdf.Rect(box).get_area() > 0.6 * FIGURE.get_area()
        for box in figures
    )
    assert any(overlap(box, CAPTION) > 0.8 for box in blocks_of(found, "caption"))
    assert any(overlap(box, (72, 72, 540, 230)) > 0.8 for box in blocks_of(found, "text"))
    assert not any(overlap(box, FIGURE) > 0.5 for box in blocks_of(found, "text"))


def test_pymupdf_detector_scores_filter_and_pickle(pymupdf_detector: PymupdfLayoutDetector) -> None:
    page = paper_page("vector")[0]
    scores = [block.score for block in pymupdf_detector.detect(page)]
    assert len(set(scores)) > 1  # real class probabilities, not a constant
    strict = pickle.loads(pickle.dumps(PymupdfLayoutDetector(score_threshold=max(scores))))
    assert strict._elements is None and strict._pixels is None  # models reload where unpickled
    assert [block.score for block in strict.detect(page)] == [max(scores)]
    assert len(PymupdfLayoutDetector(models="pixels").detect(page)) >= 1
    empty = pymupdf.open()
    assert len(pymupdf_detector.detect(empty.new_page())) == 0


def test_pymupdf_detector_keeps_unrotated_coordinates(pymupdf_detector: PymupdfLayoutDetector) -> None:
    doc = paper_page("raster")
    doc[0].set_rotation(90)
    found = pymupdf_detector.detect(doc[0])
    assert any(overlap(box, FIGURE) > 0.8 for box in blocks_of(found, "figure"))


class DarkRegions:
    """A tiny layout model with layoutparser's interface: each dark connected region is a block,
    class 4 (a PubLayNet figure) when large, class 0 (text) when small; it keeps what it saw."""

    def __init__(self, extra: list[Any] | None = None) -> None:
        self.seen: list[tuple[int, int]] = []
        self.extra = extra or []

    def detect(self, image: Any) -> Any:
        from layoutparser.elements import Layout, Rectangle, TextBlock
        from scipy import ndimage

        self.seen.append(image.size)
        labels, _ = ndimage.label(np.asarray(image.convert("L")) < 128)
        blocks = []
        for rows, cols in ndimage.find_objects(labels):
            box = Rectangle(cols.start, rows.start, cols.stop, rows.stop)
            large = box.width * box.height > 0.01 * image.size[0] * image.size[1]
            blocks.append(TextBlock(box, type=4 if large else 0, score=0.9 if large else 0.4))
        return Layout(blocks + self.extra)


def boxes_page(rotation: int = 0, cropbox: pymupdf.Rect | None = None) -> pymupdf.Page:
    page = pymupdf.open().new_page(width=612, height=792)
    page.draw_rect(pymupdf.Rect(100, 150, 300, 350), color=None, fill=(0, 0, 0))  # no stroke: exact extent
    page.draw_rect(pymupdf.Rect(400, 600, 500, 620), color=None, fill=(0, 0, 0))
    if cropbox is not None:
        page.set_cropbox(cropbox)
    page.set_rotation(rotation)
    return page


@pytest.mark.parametrize("dpi", [50, 72, 150, 300])
def test_layoutparser_wrapper_scales_pixels_back_to_points(dpi: int) -> None:
    model = DarkRegions()
    detector = LayoutparserDetector(model=model, label_map=PUBLAYNET, dpi=dpi, score_threshold=0.3)
    found = detector.detect(boxes_page())
    assert model.seen == [(round(612 * dpi / 72), round(792 * dpi / 72))]
    tolerance = 72 / dpi + 0.01  # a pixel at this resolution
    (figure,) = blocks_of(found, "figure")
    assert np.allclose(figure, (100, 150, 300, 350), atol=tolerance)
    (text,) = blocks_of(found, "text")
    assert np.allclose(text, (400, 600, 500, 620), atol=tolerance)
    assert [block.score for block in found] == [0.9, 0.4]


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_layoutparser_wrapper_answers_in_extraction_coordinates(rotation: int) -> None:
    page = boxes_page(rotation, cropbox=pymupdf.Rect(20, 30, 580, 760))
    drawn = [pymupdf.Rect(drawing["rect"]) for drawing in page.get_drawings()]
    found = LayoutparserDetector(model=DarkRegions(), label_map=PUBLAYNET, dpi=100).detect(page)
    (figure,) = blocks_of(found, "figure")
    assert np.allclose(figure, tuple(drawn[0]), atol=72 / 100 + 0.01)
    assert blocks_of(found, "text") == []  # scored 0.4: under the default threshold


def test_layoutparser_wrapper_maps_labels_and_drops_the_unusable() -> None:
    from layoutparser.elements import Rectangle, TextBlock

    extra = [
        TextBlock(Rectangle(10, 10, 90, 40), type="Table", score=0.8),
        TextBlock(Rectangle(10, 50, 90, 90), type="SeparatorRegion", score=0.99),
        TextBlock(Rectangle(10, 100, 90, 140), type="Wobble", score=0.99),
        TextBlock(Rectangle(10, 150, 90, 190), type=7, score=0.99),
        TextBlock(Rectangle(10, 200, 90, 240), type="Page-header", score=None),
    ]
    found = LayoutparserDetector(model=DarkRegions(extra), label_map=PUBLAYNET, dpi=72).detect(boxes_page())
    assert sorted(block.type for block in found) == ["figure", "header", "table"]
    (header,) = [block for block in found if block.type == "header"]
    assert header.coordinates == (10.0, 200.0, 90.0, 240.0) and header.score == 1.0  # no score: kept


def test_layoutparser_backends_missing_here_say_what_to_install(tmp_path: Path) -> None:
    weights = tmp_path / "model.pth"
    weights.write_bytes(b"w")
    detector = build_detector(
        "layoutparser", config_path="c.yaml", weights_path=str(weights), label_map=PUBLAYNET
    )
    assert detector is not None and detector.name == "layoutparser:detectron2"
    with pytest.raises(ImportError, match="detectron2.*pip install"):
        detector.detect(boxes_page())
    assert "effdet" in (detector_problem("layoutparser", "efficientdet") or "")
    assert "paddle" in (detector_problem("layoutparser", "paddledetection") or "")
    assert detector_problem("pymupdf") is None and detector_problem("none") is None
    with pytest.raises(ValueError, match="backend 'yolo'"):
        LayoutparserDetector(backend="yolo")
    with pytest.raises(ValueError, match="unknown layout label 'Wobble'"):
        LayoutparserDetector(model=DarkRegions(), label_map={0: "Wobble"})


def test_layoutparser_weights_from_s3_are_fetched_once_and_built(
    s3_server: MotoS3Server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import layoutparser

    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    storage.write_bytes(f"s3://{s3_bucket}/models/config.yaml", b"MODEL: {}")
    storage.write_bytes(f"s3://{s3_bucket}/models/weights.pth", b"0123456789")
    storage.write_bytes(f"s3://{s3_bucket}/paddle/inference.pdmodel", b"graph")
    storage.write_bytes(f"s3://{s3_bucket}/paddle/sub/inference.pdiparams", b"params")
    built: list[dict[str, Any]] = []

    class FakeDetectron2(DarkRegions):  # stands in for the class detectron2 would bring
        def __init__(self, **options: Any) -> None:
            super().__init__()
            built.append(options)

    monkeypatch.setattr(layoutparser, "Detectron2LayoutModel", FakeDetectron2, raising=False)
    config = DetectorConfig(
        name="layoutparser",
        config_path=f"s3://{s3_bucket}/models/config.yaml",
        weights_path=f"s3://{s3_bucket}/models/weights.pth",
        label_map=PUBLAYNET,
    )
    options = config.detector_options(s3_endpoint_url=s3_server.endpoint_url)
    detector = build_detector(config.name, cache_dir=str(tmp_path / "cache"), **options)
    assert detector is not None
    assert blocks_of(detector.detect(boxes_page()), "figure")
    (options_seen,) = built
    assert Path(options_seen["model_path"]).read_bytes() == b"0123456789"
    assert Path(options_seen["config_path"]).read_bytes() == b"MODEL: {}"
    assert options_seen["label_map"] == PUBLAYNET
    detector.detect(boxes_page())
    assert len(built) == 1  # built once per instance

    before = Path(options_seen["model_path"]).stat().st_ino
    again = fetch_to_cache(f"s3://{s3_bucket}/models/weights.pth", tmp_path / "cache", storage)
    assert again == options_seen["model_path"] and Path(again).stat().st_ino == before  # reused, not fetched
    time.sleep(1.1)  # S3 keeps modification times in whole seconds
    storage.write_bytes(f"s3://{s3_bucket}/models/weights.pth", b"retrained!")  # the same size
    renewed = fetch_to_cache(f"s3://{s3_bucket}/models/weights.pth", tmp_path / "cache", storage)
    assert Path(renewed).read_bytes() == b"retrained!"
    folder = Path(fetch_to_cache(f"s3://{s3_bucket}/paddle", tmp_path / "cache", storage))
    assert (folder / "sub" / "inference.pdiparams").read_bytes() == b"params"
    assert fetch_to_cache("/local/weights.pth", tmp_path, storage) == "/local/weights.pth"


def test_build_and_share_detectors() -> None:
    assert build_detector("none") is None
    assert isinstance(build_detector("pymupdf", score_threshold=0.2), PymupdfLayoutDetector)
    with pytest.raises(ValueError, match="unknown detector 'yolo'"):
        build_detector("yolo")
    first = shared_detector("pymupdf", score_threshold=0.25)
    assert shared_detector("pymupdf", score_threshold=0.25) is first
    assert shared_detector("pymupdf", score_threshold=0.3) is not first


def test_labels_and_blocks_of() -> None:
    from layoutparser.elements import Layout, Rectangle, TextBlock

    assert [label_kind(name) for name in ("Figure", "TextRegion", "Section-header", "list_item")] == [
        "figure",
        "text",
        "title",
        "list",
    ]
    assert label_kind("SeparatorRegion") is None
    blocks = Layout(
        [TextBlock(Rectangle(1, 2, 3, 4), type="figure"), TextBlock(Rectangle(5, 6, 7, 8), type="text")]
    )
    assert blocks_of(blocks, "figure") == [(1.0, 2.0, 3.0, 4.0)]
    with pytest.raises(ValueError, match="'picture' is not one of"):
        blocks_of(blocks, "picture")


def test_draw_layout_labels_boxes_under_pillow_10() -> None:
    page = boxes_page(rotation=90)
    found = LayoutparserDetector(model=DarkRegions(), label_map=PUBLAYNET).detect(page)
    image = layout.draw_layout(page, found, dpi=72)
    assert image.size == (792, 612)


def extract_config(**detector: Any) -> Any:
    from cephalo_ray.jobs.extract_figures import ExtractConfig

    return ExtractConfig.model_validate({"input": "in", "output": "out", "detector": detector})


def config_error(*overrides: str) -> str:
    from cephalo_ray.jobs.extract_figures import ExtractConfig

    with pytest.raises(ConfigError) as error:
        load_config(ExtractConfig, flags={"input": "in", "output": "out"}, overrides=overrides)
    return str(error.value)


def test_detector_config_defaults_and_valid_sections() -> None:
    assert extract_config().detector == DetectorConfig(name="none", consult="unsure")
    assert extract_config(name="pymupdf", consult="scanned").detector.detector_options() == {
        "score_threshold": 0.5
    }
    assert extract_config(name="layoutparser", config_path="lp://PubLayNet/x/config", weights_path="w.pth")
    paddle = extract_config(
        name="layoutparser", backend="paddledetection", weights_path="s3://b/m", label_map=PUBLAYNET
    )
    assert paddle.detector.detector_options()["backend"] == "paddledetection"


def test_detector_config_errors_name_the_key_and_the_fix() -> None:
    assert "`detector.weights_path`: Value error, required with detector.name=layoutparser" in config_error(
        "detector.name=layoutparser", "detector.config_path=c.yaml", "detector.label_map={0: Figure}"
    )
    assert "`detector.config_path`: Value error, required" in config_error(
        "detector.name=layoutparser", "detector.weights_path=w.pth", "detector.label_map={0: Figure}"
    )
    assert "`detector.label_map`: Value error, required" in config_error(
        "detector.name=layoutparser", "detector.weights_path=w.pth", "detector.config_path=c.yaml"
    )
    assert "unknown layout label 'Wobble'" in config_error(
        "detector.name=layoutparser",
        "detector.weights_path=w",
        "detector.config_path=c",
        "detector.label_map={0: Wobble}",
    )
    assert "remove detector.weights_path" in config_error(
        "detector.name=pymupdf", "detector.weights_path=w.pth"
    )
    assert "`detector.name`" in config_error("detector.name=yolo")
    assert "`detector.consult`" in config_error("detector.consult=sometimes")
    assert "unknown key `detector.dpi`: did you mean `detector.render_dpi`?" in config_error(
        "detector.dpi=200"
    )


def test_detector_flags_parse_from_the_command_line() -> None:
    from cephalo_ray.arguments import parse_config
    from cephalo_ray.jobs.extract_figures import ExtractConfig

    argv = [
        "in",
        "out",
        "--name",
        "layoutparser",
        "--config-path",
        "c.yaml",
        "--weights-path",
        "s3://b/w.pth",
    ]
    argv += ["--label-map", "{0: Text, 4: Figure}", "--render-dpi", "200", "--dpi", "96"]
    config = parse_config(ExtractConfig, argv, prog="cephalo extract")
    assert config.dpi == 96 and config.detector.render_dpi == 200
    assert config.detector.label_map == {0: "Text", 4: "Figure"}
