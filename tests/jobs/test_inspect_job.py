"""`cephalo inspect` on a real extract root: the sample corpus plus a scanned page, one source gone."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from cephalo_ray.cli import main
from cephalo_ray.jobs import extract_figures
from cephalo_ray.samples import gradient_png
from cephalo_ray.storage import Storage, join
from tests.helpers.servers import MotoS3Server

GONE = "journal/paper-001.pdf"  # deleted after extraction: its source can no longer be read


def scanned_pdf() -> bytes:
    """One page that is nothing but a page-sized image: what extraction counts as a scan."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_image(page.rect, stream=gradient_png(300, 424, 7))
    data: bytes = doc.tobytes()
    doc.close()
    return data


@pytest.fixture(scope="module")
def extract_root(
    ray_session: Any, sample_corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("inspect")
    corpus = folder / "corpus"
    shutil.copytree(sample_corpus, corpus)
    (corpus / "scans").mkdir()
    (corpus / "scans" / "scan.pdf").write_bytes(scanned_pdf())
    config = extract_figures.ExtractConfig.model_validate(
        {
            "input": str(corpus),
            "output": str(folder / "extract"),
            "dpi": 72,
            "resources": {"actors": 2, "num_cpus": 0.5, "docs_per_file": 4},
            "limits": {"timeout_s": 60},
        }
    )
    manifest = extract_figures.run(config)
    assert manifest["status"] == "complete" and manifest["counts"]["scanned_pages"] == 1
    (corpus / GONE).unlink()
    storage = Storage()
    tables = {
        kind: storage.read_parquet([join(str(folder / "extract"), name) for name in names])
        for kind, names in manifest["files"].items()
    }
    rows = {kind: table.to_pylist() if table is not None else [] for kind, table in tables.items()}
    return {"root": folder / "extract", "corpus": corpus, "manifest": manifest, **rows}


def test_report_shows_every_document_its_crops_and_errors(
    extract_root: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    root: Path = extract_root["root"]
    assert main(["inspect", str(root)]) == 0
    assert f"-> {root / 'inspect' / 'index.html'}" in capsys.readouterr().err
    page = (root / "inspect" / "index.html").read_text()

    documents = extract_root["documents"]
    assert len(documents) == 12
    for document in documents:
        assert html.escape(document["source"]) in page, document["source"]
    for error in extract_root["errors"]:
        assert f"<b>{error['error']}</b> (extract): {html.escape(error['message'])}" in page
    assert len(extract_root["errors"]) == 4

    for pair in extract_root["pairs"]:
        crop = root / "inspect" / "crops" / f"{pair['pair_id']}.png"
        assert crop.read_bytes() == pair["image"]
        assert f'src="crops/{pair["pair_id"]}.png"' in page
        assert html.escape(pair["caption"] or "no caption") in page

    rendered = re.findall(r'<img src="(pages/[^"]+\.jpg)"', page)
    assert rendered and all((root / "inspect" / name).read_bytes()[:2] == b"\xff\xd8" for name in rendered)
    drawn = len(re.findall(r'class="box item"', page))
    gone = [pair for pair in extract_root["pairs"] if pair["source"].endswith(GONE)]
    assert gone and drawn == len(extract_root["pairs"]) - len(gone)  # every box but the gone source's
    assert page.count('class="box caption"') >= 1
    assert "the source could not be read" in page and "page 1 · scanned" in page
    assert "page without pairs not shown" in page  # the text-only paper


def test_all_pages_into_another_folder_and_a_document_cap(
    extract_root: dict[str, Any], tmp_path: Path
) -> None:
    report = tmp_path / "report"
    assert (
        main(["inspect", str(extract_root["root"]), str(report), "--all-pages", "--max-documents", "6"]) == 0
    )
    page = (report / "index.html").read_text()
    assert "the first 6 of 12, by source" in page  # broken/*: 4 failed, owner_only, truncated
    assert page.count('<section class="doc"') == 6
    assert "Failures (4)" in page  # every failure is listed, shown in detail or not
    assert "1 page without pairs: 1" in page  # truncated.pdf: drawn, collapsed
    assert "not shown" not in page
    assert len(list((report / "pages").glob("*.jpg"))) == 2


def test_report_from_and_into_s3(
    extract_root: dict[str, Any], s3_server: MotoS3Server, s3_bucket: str
) -> None:
    client = s3_server.client()
    root: Path = extract_root["root"]
    for path in sorted(root.rglob("*")):
        if path.is_file() and "inspect" not in path.relative_to(root).parts:
            client.upload_file(str(path), s3_bucket, f"runs/extract/{path.relative_to(root)}")
    uri = f"s3://{s3_bucket}/runs/extract"
    assert main(["inspect", uri, "--s3-endpoint-url", s3_server.endpoint_url, "--max-documents", "5"]) == 0
    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    page = storage.read_bytes(f"{uri}/inspect/index.html").decode()
    crops = re.findall(r'src="(crops/[0-9a-f]{16}\.png)"', page)
    assert crops and all(storage.exists(f"{uri}/inspect/{name}") for name in crops)
    assert "the first 5 of 12" in page


def test_a_root_without_manifest_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path)]) == 2
    assert "_manifest.json" in capsys.readouterr().err


def gold_of(extract_root: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Gold that describes the extracted corpus, with one item left out, one invented and one caption
    changed; returns it and those three items (`changed` holds the found caption as `found`)."""
    golds: dict[str, dict[str, Any]] = {}
    for document in extract_root["documents"]:
        if document["status"] == "ok":
            golds[document["source"]] = {
                "document": Path(document["source"]).name,
                "sha256": document["doc_id"],
                "pages": document["pages"],
                "notes": "",
                "venue": "Journal of Generated Materials",
                "items": [],
            }
    for pair in sorted(extract_root["pairs"], key=lambda row: (row["source"], row["page"], row["bbox"][1])):
        golds[pair["source"]]["items"].append(
            {
                "page": pair["page"],
                "kind": pair["kind"],
                "label": pair["label"],
                "box": pair["bbox"],
                "caption": pair["caption"],
                "caption_box": pair["caption_bbox"],
                "features": [],
            }
        )
    paper = next(gold for source, gold in golds.items() if source.endswith("journal/paper-002.pdf"))
    left_out = paper["items"].pop()  # extraction finds it: a false positive
    changed = {**paper["items"][0], "found": paper["items"][0]["caption"]}
    paper["items"][0]["caption"] = "Figure 1. What the annotator wrote instead."
    text_only = next(gold for source, gold in golds.items() if source.endswith("journal/paper-004.pdf"))
    invented = {**paper["items"][0], "label": "Figure 9", "page": 1, "box": [100.0, 500.0, 400.0, 700.0]}
    text_only["items"] = [invented]  # a figure where the text-only paper has none: a miss
    text_only["sha256"] = "0" * 64  # found by its file name instead
    absent = {**paper, "document": "never-extracted.pdf", "sha256": "1" * 64}
    return [*golds.values(), absent], {"left_out": left_out, "changed": changed, "invented": invented}


def test_report_against_gold_draws_gold_boxes_and_lists_misses_and_false_positives(
    extract_root: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    golds, wrong = gold_of(extract_root)
    gold_file = tmp_path / "gold.jsonl"
    gold_file.write_text("".join(json.dumps(gold) + "\n" for gold in golds))
    report = tmp_path / "report"
    assert main(["inspect", str(extract_root["root"]), str(report), "--gold", str(gold_file)]) == 0
    assert "against gold: " in capsys.readouterr().err
    page = (report / "index.html").read_text()

    in_root = len(golds) - 1
    counts = page.split(f"<h3>Against gold ({in_root} of {in_root + 1} gold documents in this root")[1]
    counts = counts.split("<h3>")[0]
    for outcome, count in [
        ("missed", 1),
        ("false-positive", 1),
        ("caption-mismatch", 1),
        ("box-mismatch", 0),
    ]:
        assert f'<td>{outcome}</td><td class="num">{count}</td>' in counts, outcome
    assert "not counted: never-extracted.pdf" in counts
    assert "<b>missed</b> Figure 9 (figure)" in page
    assert f"<b>false positive</b> {wrong['left_out']['label']} (figure)</li>" in page
    assert "gold: Figure 1. What the annotator wrote instead." in page
    assert f"found: {html.escape(wrong['changed']['found'])}" in page
    assert "matched by file name" in page
    # the text-only paper's page 1 holds no pair but a gold problem: it is drawn with the gold box
    text_only = page.split("journal/paper-004.pdf</h2>")[1].split('<section class="doc"')[0]
    assert 'class="box gold"' in text_only and "page 1 against gold" in text_only
    gone = page.split(f"{GONE}</h2>")[1].split('<section class="doc"')[0]
    assert "the source could not be read" in gone and 'class="box gold"' not in gone
    items = sum(len(gold["items"]) for gold in golds[:-1])
    drawn = page.count('class="box gold"')
    assert drawn == items - sum(1 for pair in extract_root["pairs"] if pair["source"].endswith(GONE))

    capped = tmp_path / "capped"
    assert (
        main(
            [
                "inspect",
                str(extract_root["root"]),
                str(capped),
                "--gold",
                str(gold_file),
                "--max-documents",
                "1",
            ]
        )
        == 0
    )
    page = (capped / "index.html").read_text()
    assert "the first 1 of 12, by source, and 2 more with gold problems" in page
    assert "journal/paper-002.pdf</h2>" in page and "journal/paper-004.pdf</h2>" in page
