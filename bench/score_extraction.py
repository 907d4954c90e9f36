"""Score figure/table extraction against hand-made gold: precision, recall and F1 of pairs.

    python -m bench.score_extraction                       # ours, on bench/gold/real
    python -m bench.score_extraction --peer                # and the pymupdf4llm layout-model peer
    python -m bench.score_extraction --synthetic 50        # on 50 generated papers (seeds 0..49) instead
    python -m bench.score_extraction --synthetic 50 --synthetic-out DIR   # and keep them (PDF + gold JSON)

A predicted pair counts when its box has IoU >= 0.5 with a gold box on the same page (matched one to
one, best IoU first) and its caption equals the gold caption after NFKC, whitespace folding and
de-hyphenation. Printed: overall, per source document, per kind, and recall per gold feature
(vector, multi-panel, caption-above...), plus box-only scores (detection without captions). The
synthetic papers come from bench/synthetic_papers.py, with gold in the same format as bench/gold/real.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
IOU_THRESHOLD = 0.5


def normalize_caption(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"(\w)-\s+(\w)", r"\1\2", text)  # "In- fected" -> "Infected"
    return " ".join(text.split())


def iou(a: Iterable[float], b: Iterable[float]) -> float:
    ax0, ay0, ax1, ay1 = a
    bx0, by0, bx1, by1 = b
    width, height = min(ax1, bx1) - max(ax0, bx0), min(ay1, by1) - max(ay0, by0)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union > 0 else 0.0


def match(gold: list[dict[str, Any]], predicted: list[dict[str, Any]]) -> list[tuple[int, int, float]]:
    """One-to-one (gold index, predicted index, IoU) pairs on the same page, best IoU first."""
    candidates = [
        (iou(item["box"], pair["bbox"]), g, p)
        for g, item in enumerate(gold)
        for p, pair in enumerate(predicted)
        if item["page"] == pair["page"]
    ]
    used_gold: set[int] = set()
    used_predicted: set[int] = set()
    matches = []
    for overlap, g, p in sorted(candidates, reverse=True):
        if overlap < IOU_THRESHOLD or g in used_gold or p in used_predicted:
            continue
        used_gold.add(g)
        used_predicted.add(p)
        matches.append((g, p, overlap))
    return matches


class Tally:
    def __init__(self) -> None:
        self.gold = self.predicted = self.correct = self.boxes = 0

    def add(self, gold: int, predicted: int, correct: int, boxes: int) -> None:
        self.gold += gold
        self.predicted += predicted
        self.correct += correct
        self.boxes += boxes

    def row(self) -> str:
        def f1(hits: int) -> tuple[float, float, float]:
            precision = hits / self.predicted if self.predicted else 0.0
            recall = hits / self.gold if self.gold else 0.0
            return (
                precision,
                recall,
                2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            )

        p, r, f = f1(self.correct)
        bp, br, bf = f1(self.boxes)
        return (
            f"{self.gold:>5} {self.predicted:>5} | pairs P {p:.3f} R {r:.3f} F1 {f:.3f} "
            f"| boxes P {bp:.3f} R {br:.3f} F1 {bf:.3f}"
        )


def ours(pdf: bytes, source: str) -> list[dict[str, Any]]:
    from cephalo_ray.extract.document import extract_document

    result = extract_document(pdf, source, dpi=72)
    return [
        {"page": row["page"], "kind": row["kind"], "bbox": row["bbox"], "caption": row["caption"]}
        for row in result["pairs"]
    ]


def peer(pdf: bytes, source: str) -> list[dict[str, Any]]:
    """pymupdf4llm's layout model: each picture/table box with the nearest caption box above or below."""
    import pymupdf
    import pymupdf4llm

    doc = pymupdf.open(stream=pdf, filetype="pdf")
    layout = json.loads(pymupdf4llm.to_json(doc))
    pairs = []
    for page_info in layout["pages"]:
        number = int(page_info["page_number"])
        page = doc[number - 1]
        boxes = page_info["boxes"]
        captions = [box for box in boxes if box["boxclass"] == "caption"]
        for box in boxes:
            if box["boxclass"] not in ("picture", "table"):
                continue
            rect = (box["x0"], box["y0"], box["x1"], box["y1"])

            def distance(caption: dict[str, Any], rect: tuple[float, ...] = rect) -> float:
                gap = min(abs(caption["y0"] - rect[3]), abs(rect[1] - caption["y1"]))
                overlap = min(caption["x1"], rect[2]) - max(caption["x0"], rect[0])
                return gap if overlap > 0 else gap + 1000

            nearest = min(captions, key=distance, default=None)
            caption = None
            if nearest is not None and distance(nearest) < 100:
                caption = page.get_textbox(
                    pymupdf.Rect(nearest["x0"], nearest["y0"], nearest["x1"], nearest["y1"])
                )
            kind = "figure" if box["boxclass"] == "picture" else "table"
            pairs.append({"page": number, "kind": kind, "bbox": list(rect), "caption": caption})
    return pairs


def score(
    name: str,
    extractor: Callable[[bytes, str], list[dict[str, Any]]],
    golds: list[dict[str, Any]],
    corpus: Path,
) -> dict[str, Any]:
    overall, by_source, by_kind = Tally(), defaultdict(Tally), defaultdict(Tally)
    feature_hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    pages = 0
    started = time.perf_counter()
    for gold in golds:
        pdf = (corpus / gold["document"]).read_bytes()
        predicted = extractor(pdf, gold["document"])
        pages += gold["pages"]
        items = gold["items"]
        matches = match(items, predicted)
        correct = {
            g
            for g, p, _ in matches
            if normalize_caption(items[g]["caption"]) == normalize_caption(predicted[p]["caption"])
        }
        overall.add(len(items), len(predicted), len(correct), len(matches))
        by_source[gold["document"]].add(len(items), len(predicted), len(correct), len(matches))
        for kind in ("figure", "table"):
            kind_items = [g for g, item in enumerate(items) if item["kind"] == kind]
            kind_predicted = sum(1 for pair in predicted if pair["kind"] == kind)
            same_kind = [
                g for g, p, _ in matches if items[g]["kind"] == kind and predicted[p]["kind"] == kind
            ]
            by_kind[kind].add(len(kind_items), kind_predicted, len(set(same_kind) & correct), len(same_kind))
        for g, item in enumerate(items):
            for feature in item["features"]:
                feature_hits[feature][1] += 1
                feature_hits[feature][0] += int(g in correct)
    seconds = time.perf_counter() - started
    print(f"\n== {name}: {pages} pages in {seconds:.1f} s ({pages / seconds:.1f} pages/s)")
    print(f"{'':<48} {'gold':>5} {'found':>5}")
    print(f"{'all':<48} {overall.row()}")
    for kind, tally in sorted(by_kind.items()):
        print(f"{'kind ' + kind:<48} {tally.row()}")
    for source, tally in sorted(by_source.items()):
        print(f"{source[:48]:<48} {tally.row()}")
    print(
        "recall per feature: "
        + ", ".join(f"{feature} {hits}/{total}" for feature, (hits, total) in sorted(feature_hits.items()))
    )
    return {
        "name": name,
        "gold": overall.gold,
        "predicted": overall.predicted,
        "correct": overall.correct,
        "boxes": overall.boxes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gold", default=str(REPO_ROOT / "bench" / "gold" / "real"))
    parser.add_argument("--corpus", default=str(REPO_ROOT.parent / "shared" / "corpus" / "real"))
    parser.add_argument(
        "--peer", action="store_true", help="also score the pymupdf4llm layout-model peer (slow)"
    )
    parser.add_argument(
        "--synthetic",
        type=int,
        metavar="N",
        help="score N generated papers (seeds 0..N-1), not the real gold",
    )
    parser.add_argument(
        "--synthetic-out",
        metavar="DIR",
        help="with --synthetic: keep the papers in DIR (default: a temp dir)",
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="synthetic-papers-") as scratch:
        if arguments.synthetic:
            from bench.synthetic_papers import write_synthetic_set

            corpus = Path(arguments.synthetic_out or scratch)
            started = time.perf_counter()
            paths = [pdf.with_suffix(".json") for pdf in write_synthetic_set(corpus, arguments.synthetic)]
            seconds = time.perf_counter() - started
            print(f"generated {len(paths)} synthetic papers in {corpus} ({seconds:.1f} s)")
        else:
            corpus, paths = Path(arguments.corpus), sorted(Path(arguments.gold).glob("*.json"))
        golds = [json.loads(path.read_text()) for path in paths]
        results = [score("cephalo_ray extract", ours, golds, corpus)]
        if arguments.peer:
            results.append(score("pymupdf4llm layout peer", peer, golds, corpus))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
