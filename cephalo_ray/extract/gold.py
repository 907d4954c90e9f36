"""Gold figure/table annotations and how extracted pairs are judged against them.

Gold is in the format of `bench/gold/real` (its README): one object per document with `document`,
`sha256`, `pages`, `notes` and `items` (page, kind, label, box, caption, caption_box, features), and
optionally `venue`, `field`, `layout` and `provenance`. It is kept as a folder of such JSON files or
as a JSONL file with one document a line. `bench/score_extraction.py` and `cephalo inspect --gold`
both judge with these functions; only `load_gold` reads files.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from cephalo_ray.extract.captions import PLAIN_CHARACTERS, with_accents_on_letters

IOU_THRESHOLD = 0.5  # a predicted box matches a gold box on the same page from this IoU on
SIMILAR_CAPTION = 0.8  # the caption-similarity ratio from which a matched pair counts as "similar"
COVERED = 0.5  # this share of a box inside another: it takes part in a merge or a split
CONTAINED = 0.9  # this share of a box inside another: the other is too large (or it is too small)

CORRECT = "correct"
CAPTION_MISMATCH = "caption-mismatch"
WRONG_KIND = "wrong-kind"
BOX_MISMATCH = "box-mismatch"
MISSED = "missed"
FALSE_POSITIVE = "false-positive"
OUTCOMES = (CORRECT, CAPTION_MISMATCH, WRONG_KIND, BOX_MISMATCH, MISSED, FALSE_POSITIVE)
MATCHED = frozenset({CORRECT, CAPTION_MISMATCH, WRONG_KIND})
# why a box-mismatched gold item's best overlapping prediction is not it
BOX_DETAILS = ("merged", "split", "too-large", "too-small", "shifted")
REQUIRED_ITEM_KEYS = ("page", "kind", "box")

Row = Mapping[str, Any]
Box = Sequence[float]


class GoldError(ValueError):
    """A gold file that cannot be used; the message names the file (and line)."""


# -- loading -----------------------------------------------------------------------------------


def check_gold_document(data: Any, where: str) -> dict[str, Any]:
    """The document object itself, after the checks that judging relies on.

    Raises:
        GoldError: naming `where` and what is wrong. (`bench/gold/check_gold.py` checks the rest.)
    """
    if not isinstance(data, dict):
        raise GoldError(f"{where}: a gold document is a JSON object, got {type(data).__name__}")
    if not isinstance(data.get("document"), str) or not isinstance(data.get("items"), list):
        raise GoldError(f"{where}: a gold document needs 'document' (a file name) and 'items' (a list)")
    for index, item in enumerate(data["items"]):
        missing = [key for key in REQUIRED_ITEM_KEYS if not isinstance(item, dict) or key not in item]
        if missing:
            raise GoldError(f"{where}: item {index} lacks {missing}")
        if len(item["box"]) != 4:
            raise GoldError(f"{where}: item {index} box is not [x0, y0, x1, y1]")
    return data


def load_gold(path: str | Path) -> list[dict[str, Any]]:
    """Gold documents from a folder of JSON files (sorted by name), a JSONL file, or one JSON file.

    Raises:
        FileNotFoundError: when `path` does not exist.
        GoldError: for a file that is not gold, or a folder without any.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise GoldError(f"{path}: no gold *.json files in this folder")
        return [read_gold_file(file) for file in files]
    if path.suffix == ".jsonl":
        golds = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                where = f"{path}:{number}"
                golds.append(check_gold_document(parse_json(line, where), where))
        return golds
    return [read_gold_file(path)]


def read_gold_file(path: Path) -> dict[str, Any]:
    return check_gold_document(parse_json(path.read_text(encoding="utf-8"), str(path)), str(path))


def parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise GoldError(f"{where}: not JSON ({error})") from error


def base_name(uri: str) -> str:
    return uri.rstrip("/").rpartition("/")[2]


def index_gold(golds: Iterable[Row]) -> dict[str, Row]:
    """Gold documents by `sha256:<hex>` and by `name:<file name>`, for `find_gold`."""
    index: dict[str, Row] = {}
    for gold in golds:
        if gold.get("sha256"):
            index.setdefault(f"sha256:{gold['sha256']}", gold)
        index.setdefault(f"name:{base_name(str(gold['document']))}", gold)
    return index


def find_gold(index: Mapping[str, Row], doc_id: str | None, source: str) -> Row | None:
    """The gold of a document: by sha256 (an extract root's doc_id), else by the source's file name."""
    if doc_id and f"sha256:{doc_id}" in index:
        return index[f"sha256:{doc_id}"]
    return index.get(f"name:{base_name(source)}")


# -- comparing ---------------------------------------------------------------------------------


# a glyph whose font gives no Unicode: read as U+FFFD, or as its raw code (a control character)
UNMAPPED_GLYPH = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")


def normalize_caption(text: str | None) -> str:
    """NFKC, zero-width characters, direction marks and hyphens between letters (or after a closing
    bracket: "(2VO)- Induced") dropped, an expert font's old-style figures and small capitals as
    plain ones, whitespace folded: how gold and found captions are compared. A hyphen at a line end may be a soft one ("In- fected") or a real one
    ("branch- selective"); the text layer rarely says which, so neither side is judged on it. A
    glyph with no Unicode is one unknown character however a reader spelled it (U+FFFD or its raw
    code), and with its width unknown too, so is whether a space stands beside it."""
    # (a spacing accent TeX wrote before its letter is that accented letter, spelled either way)
    text = UNMAPPED_GLYPH.sub("\ufffd", unicodedata.normalize("NFKC", with_accents_on_letters(text or "")))
    # (a text layer may hold invisible characters or not, no reader sees them; an expert font's
    # old-style 5 is a 5 to a reader)
    text = text.translate(PLAIN_CHARACTERS)
    text = re.sub(r"\s*\ufffd\s*", "\ufffd", text)
    text = re.sub(r"([\w)\]])-\s*(\w)", r"\1\2", text)
    return " ".join(text.split())


def same_caption(gold: str | None, found: str | None) -> bool:
    """Equal once normalised, where an unknown glyph on either side (U+FFFD) stands for whatever
    one character, or none, the other side's reader gave it: a font without Unicode spells its
    "=" as "5" or its "Δ" as "D" to a reader that falls back to the glyph's code."""
    a, b = normalize_caption(gold), normalize_caption(found)
    return a == b or reads_as(a, b) or reads_as(b, a)


def reads_as(text: str, with_unknowns: str) -> bool:
    """Whether `text` is `with_unknowns` with each U+FFFD read as one character or none, a space
    on either side of it or not. Walked as the set of places in `text` reached so far (a regular
    expression of one optional part per glyph backtracks for minutes over a caption of fifty of
    them that does not match)."""
    if "\ufffd" not in with_unknowns:
        return False
    places = {0}
    for char in with_unknowns:
        if char != "\ufffd":
            places = {place + 1 for place in places if place < len(text) and text[place] == char}
        else:
            places = {end for place in places for end in glyph_reads(text, place)}
        if not places:
            return False
    return len(text) in places


def glyph_reads(text: str, place: int) -> set[int]:
    """Where an unknown glyph read from `place` may end: a space, one character, a space, each
    there or not."""
    ends: set[int] = set()
    for before in space_skipped(text, place):
        glyph = {before, before + 1} if before < len(text) and not text[before].isspace() else {before}
        for after in glyph:
            ends |= space_skipped(text, after)
    return ends


def space_skipped(text: str, place: int) -> set[int]:
    """`place`, and the place after it where a space stands there."""
    return {place, place + 1} if place < len(text) and text[place].isspace() else {place}


def caption_similarity(gold: str | None, found: str | None) -> float:
    """difflib's ratio of the normalised captions: 1.0 when equal, 0.0 when nothing is shared."""
    return SequenceMatcher(None, normalize_caption(gold), normalize_caption(found), autojunk=False).ratio()


def area(box: Box) -> float:
    x0, y0, x1, y1 = box
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def intersection(a: Box, b: Box) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0


def iou(a: Box, b: Box) -> float:
    inter = intersection(a, b)
    union = area(a) + area(b) - inter
    return inter / union if inter > 0 and union > 0 else 0.0


def match(gold: Sequence[Row], predicted: Sequence[Row]) -> list[tuple[int, int, float]]:
    """One-to-one (gold index, predicted index, IoU) pairs on the same page, best IoU first.

    Gold items carry `box`, predictions `bbox` (an extract root's pair rows); both need `page`.
    """
    candidates = [
        (iou(item["box"], pair["bbox"]), g, p)
        for g, item in enumerate(gold)
        for p, pair in enumerate(predicted)
        if int(item["page"]) == int(pair["page"])
    ]
    used_gold: set[int] = set()
    used_predicted: set[int] = set()
    matches = []
    # ties broken by the lower indexes, so the result does not depend on float noise in sorting
    for overlap, g, p in sorted(candidates, key=lambda entry: (-entry[0], entry[1], entry[2])):
        if overlap < IOU_THRESHOLD or g in used_gold or p in used_predicted:
            continue
        used_gold.add(g)
        used_predicted.add(p)
        matches.append((g, p, overlap))
    return matches


@dataclass(frozen=True)
class Judgement:
    """What became of one gold item, or of one prediction that matched none (a false positive).

    `gold` and `predicted` index the document's gold items and predictions: a gold item's judgement
    names its matched prediction (or none); a false positive's names no gold item. `overlaps` is the
    best-overlapping item on the other side when nothing matched (box-mismatch, false-positive), and
    `iou` the IoU with the matched or overlapping one.
    """

    outcome: str
    page: int
    kind: str
    label: str | None
    gold: int | None
    predicted: int | None
    iou: float = 0.0
    overlaps: int | None = None
    similarity: float = 0.0  # captions of a matched pair (caption_similarity)
    detail: str = ""  # box-mismatch: one of BOX_DETAILS; wrong-kind: the predicted kind
    gold_caption: str | None = None
    predicted_caption: str | None = None
    gold_box: tuple[float, ...] | None = None
    predicted_box: tuple[float, ...] | None = None

    @property
    def similar(self) -> bool:
        """A matched pair of the right kind whose caption is close enough (or equal)."""
        return self.outcome in (CORRECT, CAPTION_MISMATCH) and self.similarity >= SIMILAR_CAPTION

    def as_dict(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def box_mismatch_detail(g: int, p: int, gold: Sequence[Row], predicted: Sequence[Row]) -> str:
    """Why gold item `g` and its best-overlapping prediction `p` (IoU < threshold) differ."""
    item_box, found_box = gold[g]["box"], predicted[p]["bbox"]
    page = int(gold[g]["page"])

    def share_inside(inner: Box, outer: Box) -> float:
        return intersection(inner, outer) / area(inner) if area(inner) > 0 else 0.0

    covered = [
        other
        for other in gold
        if int(other["page"]) == page and share_inside(other["box"], found_box) >= COVERED
    ]
    if len(covered) >= 2:
        return "merged"
    pieces = [
        pair
        for pair in predicted
        if int(pair["page"]) == page and share_inside(pair["bbox"], item_box) >= COVERED
    ]
    if len(pieces) >= 2:
        return "split"
    if share_inside(item_box, found_box) >= CONTAINED:
        return "too-large"
    if share_inside(found_box, item_box) >= CONTAINED:
        return "too-small"
    return "shifted"


def best_overlap(box: Box, page: int, others: Sequence[Row], key: str) -> tuple[int | None, float]:
    """The index and IoU of the item of `others` on `page` that overlaps `box` most (None, 0.0 if none)."""
    best: tuple[int | None, float] = (None, 0.0)
    for index, other in enumerate(others):
        if int(other["page"]) == page:
            overlap = iou(box, other[key])
            if overlap > best[1]:
                best = (index, overlap)
    return best


def judge(gold: Sequence[Row], predicted: Sequence[Row]) -> list[Judgement]:
    """One judgement per gold item (in order), then one per prediction that matched no gold item.

    Args:
        gold: the document's gold items (`page`, `kind`, `label`, `box`, `caption`).
        predicted: its found pairs (`page`, `kind`, `bbox`, `caption`, optionally `label`).
    """
    matched = {g: (p, overlap) for g, p, overlap in match(gold, predicted)}
    used = {p for p, _ in matched.values()}
    judgements = []
    for g, item in enumerate(gold):
        page, box = int(item["page"]), tuple(float(value) for value in item["box"])
        common: dict[str, Any] = {
            "page": page,
            "kind": item["kind"],
            "label": item.get("label"),
            "gold": g,
            "gold_caption": item.get("caption"),
            "gold_box": box,
        }
        if g in matched:
            p, overlap = matched[g]
            found = predicted[p]
            if found["kind"] != item["kind"]:
                outcome, detail = WRONG_KIND, str(found["kind"])
            elif same_caption(item.get("caption"), found.get("caption")):
                outcome, detail = CORRECT, ""
            else:
                outcome, detail = CAPTION_MISMATCH, ""
            judgements.append(
                Judgement(
                    outcome=outcome,
                    predicted=p,
                    iou=overlap,
                    similarity=caption_similarity(item.get("caption"), found.get("caption")),
                    detail=detail,
                    predicted_caption=found.get("caption"),
                    predicted_box=tuple(float(value) for value in found["bbox"]),
                    **common,
                )
            )
            continue
        nearest, overlap = best_overlap(box, page, predicted, "bbox")
        if nearest is None:
            judgements.append(Judgement(outcome=MISSED, predicted=None, **common))
            continue
        judgements.append(
            Judgement(
                outcome=BOX_MISMATCH,
                predicted=None,
                iou=overlap,
                overlaps=nearest,
                detail=box_mismatch_detail(g, nearest, gold, predicted),
                predicted_caption=predicted[nearest].get("caption"),
                predicted_box=tuple(float(value) for value in predicted[nearest]["bbox"]),
                **common,
            )
        )
    for p, found in enumerate(predicted):
        if p in used:
            continue
        page = int(found["page"])
        nearest, overlap = best_overlap(found["bbox"], page, gold, "box")
        judgements.append(
            Judgement(
                outcome=FALSE_POSITIVE,
                page=page,
                kind=str(found["kind"]),
                label=found.get("label"),
                gold=None,
                predicted=p,
                iou=overlap,
                overlaps=nearest,
                predicted_caption=found.get("caption"),
                predicted_box=tuple(float(value) for value in found["bbox"]),
            )
        )
    return judgements


# -- counting ----------------------------------------------------------------------------------


def f1(hits: int, gold: int, predicted: int) -> tuple[float, float, float]:
    """Precision, recall and F1 of `hits` among `predicted` found and `gold` expected."""
    precision = hits / predicted if predicted else 0.0
    recall = hits / gold if gold else 0.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, score


@dataclass
class Tally:
    """Counts behind the scores: pairs with the exact caption, with a similar one, and boxes alone."""

    gold: int = 0
    predicted: int = 0
    correct: int = 0
    similar: int = 0
    boxes: int = 0

    def __iadd__(self, other: Tally) -> Tally:
        for name in ("gold", "predicted", "correct", "similar", "boxes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def scores(self) -> dict[str, float]:
        exact, similar, boxes = (
            f1(hits, self.gold, self.predicted) for hits in (self.correct, self.similar, self.boxes)
        )
        return {
            "precision": exact[0],
            "recall": exact[1],
            "f1": exact[2],
            "precision_similar": similar[0],
            "recall_similar": similar[1],
            "f1_similar": similar[2],
            "f1_boxes": boxes[2],
        }

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), **self.scores()}


def tally(judgements: Iterable[Judgement], predicted: Sequence[Row], kind: str | None = None) -> Tally:
    """The counts of one document's judgements (`judge`), over every kind or over one `kind` only.

    Args:
        judgements: what `judge(gold, predicted)` returned.
        predicted: the same predictions (counted for precision).
        kind: count only gold items and predictions of this kind; a wrong-kind match counts for neither.
    """
    result = Tally(predicted=sum(1 for pair in predicted if kind is None or pair["kind"] == kind))
    for judgement in judgements:
        if judgement.gold is None or (kind is not None and judgement.kind != kind):
            continue
        result.gold += 1
        result.correct += judgement.outcome == CORRECT
        result.similar += judgement.similar
        result.boxes += judgement.outcome in MATCHED and (kind is None or judgement.outcome != WRONG_KIND)
    return result


def outcome_counts(judgements: Iterable[Judgement]) -> dict[str, int]:
    """How many judgements of each outcome, and of each box-mismatch detail (`box-mismatch:merged`)."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for judgement in judgements:
        counts[judgement.outcome] += 1
        if judgement.outcome == BOX_MISMATCH:
            key = f"{BOX_MISMATCH}:{judgement.detail}"
            counts[key] = counts.get(key, 0) + 1
    return counts
