"""Score figure/table extraction against hand-made gold: precision, recall and F1 of pairs.

    python -m bench.score_extraction                       # ours, on bench/gold/real
    python -m bench.score_extraction --peer                # and the pymupdf4llm layout-model peer
    python -m bench.score_extraction --gold bench/gold/dev --corpus $CEPHALO_DEV_CORPUS
    python -m bench.score_extraction --gold G --split split.json --half tune --json scores.json
    python -m bench.score_extraction --detector pymupdf [--consult always]   # and with the layout model
    python -m bench.score_extraction --synthetic 50        # on 50 generated papers (seeds 0..49) instead
    python -m bench.score_extraction --synthetic 50 --synthetic-out DIR   # and keep them (PDF + gold JSON)

A predicted pair counts when its box has IoU >= 0.5 with a gold box on the same page (matched one to
one, best IoU first), its kind is the gold kind and its caption equals the gold caption after NFKC,
whitespace folding, de-hyphenation, dropping zero-width characters and direction marks and reading
an expert font's old-style figures as plain ones (a glyph with no Unicode counts as one unknown
character, however the text layer was read: U+FFFD or a raw control code); a second score accepts captions whose similarity ratio is
>= 0.8. The judging lives in `cephalo_ray.extract.gold`. Printed: overall, per kind, per venue (the
gold's `venue`, else the document), per field, recall per gold feature (vector, multi-panel,
caption-above...), box-only F1 (detection without captions) and how many items end as each outcome
(missed, box-mismatch and why, caption-mismatch, wrong-kind, false-positive). `--split`
(`bench/gold/dev_split.json`: layout families and the two halves) with `--half` scores one half
only; `--json` writes every number. The synthetic papers come from bench/synthetic_papers.py, with gold in the same format.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cephalo_ray.extract.gold import (
    OUTCOMES,
    Tally,
    judge,
    load_gold,
    outcome_counts,
    read_gold_file,
    tally,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
EXPECTED = REPO_ROOT / "bench" / "gold" / "dev_expected.json"
KINDS = ("figure", "table")


def ours(pdf: bytes, source: str, detector: str = "none", consult: str = "unsure") -> list[dict[str, Any]]:
    from cephalo_ray.extract.document import extract_document

    result = extract_document(pdf, source, dpi=72, detector=detector, consult=consult)
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


def venue_of(gold: dict[str, Any]) -> str:
    return str(gold.get("venue") or gold["document"])


def score_row(tally_: Tally) -> str:
    scores = tally_.scores()
    return (
        f"{tally_.gold:>5} {tally_.predicted:>5} | exact P {scores['precision']:.3f} R {scores['recall']:.3f} "
        f"F1 {scores['f1']:.3f} | sim>=0.8 F1 {scores['f1_similar']:.3f} | boxes F1 {scores['f1_boxes']:.3f}"
    )


def score(
    name: str,
    extractor: Callable[[bytes, str], list[dict[str, Any]]],
    golds: Sequence[dict[str, Any]],
    corpus: Path,
) -> dict[str, Any]:
    """Run `extractor` on every gold document, print the scores and return them."""
    overall = Tally()
    groups: dict[str, dict[str, Tally]] = {
        "kind": defaultdict(Tally),
        "venue": defaultdict(Tally),
        "field": defaultdict(Tally),
    }
    features: dict[str, dict[str, int]] = defaultdict(lambda: {"gold": 0, "correct": 0, "similar": 0})
    outcomes: dict[str, int] = {}
    by_document: dict[str, dict[str, Any]] = {}
    pages = 0
    started = time.perf_counter()
    for gold in golds:
        pdf = (corpus / gold["document"]).read_bytes()
        predicted = extractor(pdf, gold["document"])
        pages += gold["pages"]
        judgements = judge(gold["items"], predicted)
        document = tally(judgements, predicted)
        overall += document
        by_document[gold["document"]] = document.as_dict()
        groups["venue"][venue_of(gold)] += document
        groups["field"][str(gold.get("field") or "unknown")] += document
        for kind in KINDS:
            groups["kind"][kind] += tally(judgements, predicted, kind)
        for judgement in judgements:
            if judgement.gold is None:
                continue
            for feature in gold["items"][judgement.gold]["features"]:
                counts = features[feature]
                counts["gold"] += 1
                counts["correct"] += judgement.outcome == "correct"
                counts["similar"] += judgement.similar
        for outcome, count in outcome_counts(judgements).items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
    seconds = time.perf_counter() - started
    print(
        f"\n== {name}: {len(golds)} documents, {pages} pages in {seconds:.1f} s ({pages / seconds:.1f} pages/s)"
    )
    print(f"{'':<48} {'gold':>5} {'found':>5}")
    print(f"{'all':<48} {score_row(overall)}")
    for group, tallies in groups.items():
        if group == "field" and list(tallies) == ["unknown"]:
            continue  # gold without fields (the real set): one line that repeats "all"
        for key, group_tally in sorted(tallies.items()):
            print(f"{(group + ' ' + key)[:48]:<48} {score_row(group_tally)}")
    print(
        "recall per feature (exact, similar): "
        + ", ".join(
            f"{feature} {counts['correct']}/{counts['gold']} {counts['similar']}/{counts['gold']}"
            for feature, counts in sorted(features.items())
        )
    )
    details = ", ".join(
        f"{key.partition(':')[2]} {count}" for key, count in sorted(outcomes.items()) if ":" in key
    )
    print(
        "outcomes: "
        + ", ".join(f"{outcome} {outcomes.get(outcome, 0)}" for outcome in OUTCOMES)
        + (f" (box-mismatch: {details})" if details else "")
    )
    return {
        "name": name,
        "documents": len(golds),
        "pages": pages,
        "seconds": round(seconds, 3),
        "overall": overall.as_dict(),
        "by_document": by_document,
        **{
            f"by_{group}": {key: value.as_dict() for key, value in sorted(tallies.items())}
            for group, tallies in groups.items()
        },
        "by_feature": {
            feature: {
                **counts,
                "recall": counts["correct"] / counts["gold"],
                "recall_similar": counts["similar"] / counts["gold"],
            }
            for feature, counts in sorted(features.items())
        },
        "outcomes": outcomes,
    }


def split_half(golds: list[dict[str, Any]], split_file: str, half: str) -> list[dict[str, Any]]:
    """The gold documents in `half` of the split file; says which documents fall in neither.

    A split is `{"families": {family: [document stems]}, "tune": [families], "heldback": [families]}`:
    documents of one layout family (a publisher's template: ACS, IEEE, REVTeX...) stay on one side,
    so the held-back half has no layout the tuning saw.
    """
    split = json.loads(Path(split_file).read_text())
    if not isinstance(split, dict) or not all(
        isinstance(split.get(name), list) for name in ("tune", "heldback")
    ):
        raise SystemExit(f'{split_file}: a split is a JSON object {{"tune": [...], "heldback": [...]}}')
    overlap = set(split["tune"]) & set(split["heldback"])
    if overlap:
        raise SystemExit(f"{split_file}: in both halves: {sorted(overlap)}")
    family_of = {stem: family for family, stems in split.get("families", {}).items() for stem in stems}

    def group(gold: dict[str, Any]) -> str:
        return family_of.get(Path(gold["document"]).stem, venue_of(gold))

    known = set(split["tune"]) | set(split["heldback"])
    neither = sorted(gold["document"] for gold in golds if group(gold) not in known)
    if neither:
        print(f"{len(neither)} documents in neither half, not scored: {', '.join(neither)}")
    chosen = set(split[half])
    return [gold for gold in golds if group(gold) in chosen]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--gold",
        default=str(REPO_ROOT / "bench" / "gold" / "real"),
        help="a folder of gold JSON files or a JSONL file",
    )
    parser.add_argument(
        "--corpus",
        default=os.environ.get("CEPHALO_REAL_CORPUS"),
        help="the folder of the gold's PDFs (default: $CEPHALO_REAL_CORPUS)",
    )
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
    parser.add_argument(
        "--split", metavar="FILE", help="JSON: layout families of the documents and the two halves"
    )
    parser.add_argument(
        "--detector",
        default="none",
        choices=("none", "pymupdf"),
        help="also score extraction consulting this layout model (slow where consulted)",
    )
    parser.add_argument("--consult", default="unsure", choices=("unsure", "always"))
    parser.add_argument("--half", choices=("tune", "heldback"), help="with --split: the half to score")
    parser.add_argument("--json", metavar="OUT", help="also write every number to this JSON file")
    parser.add_argument(
        "--record",
        action="store_true",
        help="write each document's counts to bench/gold/dev_expected.json (the dev corpus's floor; "
        "with --split, the half's documents only)",
    )
    arguments = parser.parse_args()
    if arguments.record and (arguments.synthetic or Path(arguments.gold).name != "dev"):
        parser.error("--record takes the development corpus: --gold bench/gold/dev (with --split, one half)")
    if not arguments.synthetic and not arguments.corpus:
        parser.error("name the gold's PDFs with --corpus DIR (or set CEPHALO_REAL_CORPUS)")
    if bool(arguments.split) != bool(arguments.half):
        parser.error("--split and --half go together")
    with tempfile.TemporaryDirectory(prefix="synthetic-papers-") as scratch:
        if arguments.synthetic:
            from bench.synthetic_papers import write_synthetic_set

            corpus = Path(arguments.synthetic_out or scratch)
            started = time.perf_counter()
            paths = [pdf.with_suffix(".json") for pdf in write_synthetic_set(corpus, arguments.synthetic)]
            seconds = time.perf_counter() - started
            print(f"generated {len(paths)} synthetic papers in {corpus} ({seconds:.1f} s)")
            golds = [read_gold_file(path) for path in paths]
        else:
            corpus, golds = Path(arguments.corpus), load_gold(arguments.gold)
        if arguments.split:
            golds = split_half(golds, arguments.split, arguments.half)
            print(f"{arguments.half} half of {arguments.split}: {len(golds)} documents")
        results = [score("cephalo_ray extract", ours, golds, corpus)]
        if arguments.record:
            # with --split, only the scored half's documents are rewritten; the others keep theirs
            counts = json.loads(EXPECTED.read_text()) if arguments.split and EXPECTED.exists() else {}
            recorded = {
                document: {key: row[key] for key in ("gold", "predicted", "correct")}
                for document, row in results[0]["by_document"].items()
            }
            counts = dict(sorted({**counts, **recorded}.items()))
            EXPECTED.write_text(json.dumps(counts, indent=1) + "\n")
            print(f"recorded {len(recorded)} documents in {EXPECTED}")
        if arguments.detector != "none":
            name = f"cephalo_ray extract + {arguments.detector} layout model ({arguments.consult})"

            def consulting(pdf: bytes, source: str) -> list[dict[str, Any]]:
                return ours(pdf, source, arguments.detector, arguments.consult)

            results.append(score(name, consulting, golds, corpus))
        if arguments.peer:
            results.append(score("pymupdf4llm layout peer", peer, golds, corpus))
    if arguments.json:
        report = {
            "gold": f"synthetic {arguments.synthetic}" if arguments.synthetic else arguments.gold,
            "split": arguments.split,
            "half": arguments.half,
            "results": results,
        }
        Path(arguments.json).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps([{"name": result["name"], **result["overall"]} for result in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
