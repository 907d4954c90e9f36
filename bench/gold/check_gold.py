#!/usr/bin/env python
"""Validate the figure/table gold annotations under bench/gold/real.

Checks every JSON file's schema (keys, types, allowed values), that each box
lies inside the page rectangle, that page numbers are in range, and that the
recorded sha256 and page count match the PDF in the corpus directory.
Prints per-document counts (items, figures, tables) and totals.

Usage:
    python bench/gold/check_gold.py [--corpus DIR] [--gold DIR]

Exit status is 1 if any error was found.
"""

import argparse
import collections
import hashlib
import json
import os
import sys

import pymupdf

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_GOLD = os.path.join(HERE, "real")
DEFAULT_CORPUS = os.environ.get("CEPHALO_REAL_CORPUS")  # the real papers are kept outside the repository

KINDS = {"figure", "table"}
FEATURES = {
    "raster",
    "vector",
    "mixed",
    "multi-panel",
    "tiled",
    "caption-below",
    "caption-above",
    "caption-beside",
    "caption-next-column",
    "caption-other-page",
    "full-width",
    "two-column-page",
    "bold-label",
    "table",
}
# tags added with the development corpus (bench/gold/dev); the synthetic papers do not make these
DEV_FEATURES = {
    "label-no-punct",
    "label-other-word",
    "roman-label",
    "table-footnotes",
    "stacked",
    "text-only",
    "text-beside",
    "dense-page",
    "one-column-page",
}
ALL_FEATURES = FEATURES | DEV_FEATURES
DOC_KEYS = {"document": str, "sha256": str, "pages": int, "notes": str, "items": list}
# the development corpus also says where each PDF came from and what kind of layout it has
OPTIONAL_DOC_KEYS = {"venue": str, "field": str, "layout": str, "provenance": dict}
PROVENANCE_KEYS = {"repo", "commit", "path", "sha256"}
ITEM_KEYS = {"page", "kind", "label", "box", "caption", "caption_box", "features"}
OPTIONAL_ITEM_KEYS = {"caption_page"}
TOL = 0.5  # points of slack when checking boxes against page.rect


def is_box(v):
    return (
        isinstance(v, list)
        and len(v) == 4
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
        and v[0] < v[2]
        and v[1] < v[3]
    )


def inside(box, rect):
    return (
        box[0] >= rect.x0 - TOL
        and box[1] >= rect.y0 - TOL
        and box[2] <= rect.x1 + TOL
        and box[3] <= rect.y1 + TOL
    )


def check_file(path, corpus):
    errors = []
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except Exception as exc:  # noqa: BLE001
        return None, [f"cannot read JSON: {exc}"]

    if not isinstance(data, dict):
        return None, ["top level is not an object"]
    for key, typ in DOC_KEYS.items():
        if key not in data:
            errors.append(f"missing key {key!r}")
        elif not isinstance(data[key], typ) or isinstance(data[key], bool):
            errors.append(f"key {key!r} should be {typ.__name__}")
    for key, typ in OPTIONAL_DOC_KEYS.items():
        if key in data and not isinstance(data[key], typ):
            errors.append(f"key {key!r} should be {typ.__name__}")
    if isinstance(data.get("provenance"), dict):
        missing = PROVENANCE_KEYS - set(data["provenance"])
        if missing:
            errors.append(f"provenance lacks {sorted(missing)}")
        pages = data["provenance"].get("pages")  # an excerpt: first and last page of the original
        if pages is not None and not (
            isinstance(pages, list) and len(pages) == 2 and all(isinstance(n, int) for n in pages)
        ):
            errors.append("provenance pages should be [first, last]")
    extra = set(data) - set(DOC_KEYS) - set(OPTIONAL_DOC_KEYS)
    if extra:
        errors.append(f"unexpected keys {sorted(extra)}")
    if errors:
        return data, errors

    pdf_path = os.path.join(corpus, data["document"])
    expected_json = os.path.splitext(data["document"])[0] + ".json"
    if os.path.basename(path) != expected_json:
        errors.append(f"file name should be {expected_json}")
    if not os.path.exists(pdf_path):
        return data, errors + [f"PDF not found: {pdf_path}"]
    with open(pdf_path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    if digest != data["sha256"]:
        errors.append(f"sha256 mismatch (file {digest[:12]}..., gold {data['sha256'][:12]}...)")
    doc = pymupdf.open(pdf_path)
    if doc.page_count != data["pages"]:
        errors.append(f"pages {data['pages']} != PDF page count {doc.page_count}")

    seen = set()
    for i, it in enumerate(data["items"]):
        where = f"item {i}"
        if not isinstance(it, dict):
            errors.append(f"{where}: not an object")
            continue
        where = f"item {i} ({it.get('label')})"
        missing = ITEM_KEYS - set(it)
        if missing:
            errors.append(f"{where}: missing keys {sorted(missing)}")
            continue
        extra = set(it) - ITEM_KEYS - OPTIONAL_ITEM_KEYS
        if extra:
            errors.append(f"{where}: unexpected keys {sorted(extra)}")
        page = it["page"]
        if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= doc.page_count:
            errors.append(f"{where}: page {page!r} out of range 1..{doc.page_count}")
            continue
        rect = doc[page - 1].rect
        if it["kind"] not in KINDS:
            errors.append(f"{where}: kind {it['kind']!r} not in {sorted(KINDS)}")
        if it["label"] is not None and not isinstance(it["label"], str):
            errors.append(f"{where}: label must be a string or null")
        if not is_box(it["box"]):
            errors.append(f"{where}: box must be [x0, y0, x1, y1] with x0<x1, y0<y1")
        elif not inside(it["box"], rect):
            errors.append(f"{where}: box {it['box']} outside page rect {tuple(rect)}")
        cap, cbox = it["caption"], it["caption_box"]
        if cap is None:
            if cbox is not None:
                errors.append(f"{where}: caption_box given without caption")
        else:
            if not isinstance(cap, str) or not cap.strip():
                errors.append(f"{where}: caption must be a non-empty string or null")
            cpage = it.get("caption_page", page)
            if not isinstance(cpage, int) or not 1 <= cpage <= doc.page_count:
                errors.append(f"{where}: caption_page {cpage!r} out of range")
            elif not is_box(cbox):
                errors.append(f"{where}: caption_box must be [x0, y0, x1, y1]")
            elif not inside(cbox, doc[cpage - 1].rect):
                errors.append(f"{where}: caption_box outside page rect")
        feats = it["features"]
        if not isinstance(feats, list) or not all(isinstance(f, str) for f in feats):
            errors.append(f"{where}: features must be a list of strings")
        else:
            bad = set(feats) - ALL_FEATURES
            if bad:
                errors.append(f"{where}: unknown features {sorted(bad)}")
        key = (it["kind"], it["label"])
        if it["label"] is not None and key in seen:
            errors.append(f"{where}: duplicate {it['kind']} label {it['label']!r}")
        seen.add(key)
    return data, errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=DEFAULT_CORPUS, help="directory holding the PDFs")
    ap.add_argument("--gold", default=DEFAULT_GOLD, help="directory holding the gold JSON files")
    args = ap.parse_args(argv)
    if not args.corpus:
        ap.error("name the PDFs with --corpus DIR (or set CEPHALO_REAL_CORPUS)")

    files = sorted(f for f in os.listdir(args.gold) if f.endswith(".json"))
    if not files:
        print(f"no JSON files in {args.gold}")
        return 1
    totals = collections.Counter()
    features = collections.Counter()
    n_err = 0
    print(f"{'document':<58} {'items':>5} {'figs':>5} {'tabs':>5}  status")
    for name in files:
        data, errors = check_file(os.path.join(args.gold, name), args.corpus)
        items = data.get("items", []) if isinstance(data, dict) else []
        items = [it for it in items if isinstance(it, dict)]
        nf = sum(it.get("kind") == "figure" for it in items)
        nt = sum(it.get("kind") == "table" for it in items)
        totals.update(documents=1, items=len(items), figures=nf, tables=nt)
        for it in items:
            features.update(it.get("features") or [])
        status = "ok" if not errors else f"{len(errors)} error(s)"
        print(f"{name[:-5]:<58} {len(items):>5} {nf:>5} {nt:>5}  {status}")
        for e in errors:
            print(f"    ERROR: {e}")
        n_err += len(errors)
    print(
        f"{'TOTAL (' + str(totals['documents']) + ' documents)':<58} "
        f"{totals['items']:>5} {totals['figures']:>5} {totals['tables']:>5}"
    )
    print("features: " + ", ".join(f"{k}={v}" for k, v in sorted(features.items())))
    if n_err:
        print(f"{n_err} error(s)")
    return 1 if n_err else 0


if __name__ == "__main__":
    sys.exit(main())
