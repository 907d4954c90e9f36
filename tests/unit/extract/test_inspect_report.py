"""The inspect report's HTML, built from rows and a fake page renderer (no PDF, no storage)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from cephalo_ray.extract.gold import judge
from cephalo_ray.extract.inspect_report import (
    PageImage,
    corpus_summary,
    document_html,
    gold_summary,
    page_html,
    page_list,
    pages_to_show,
    pair_html,
    report_html,
    source_prefix,
)

# A US-letter page (612 x 792 pt) rendered at 50 dpi.
IMAGE = PageImage("pages/p.jpg", 425, 550, 612.0, 792.0)


def pair(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "pair_id": "a1b2c3d4e5f60718",
        "doc_id": "d" * 64,
        "source": "s3://lab/papers/silk.pdf",
        "page": 1,
        "kind": "figure",
        "bbox": [61.2, 79.2, 306.0, 396.0],
        "label": "Figure 1",
        "caption": "Figure 1. Silk fibres.",
        "mentions": ["As Figure 1 shows, silk stretches."],
        "image_width": 120,
        "image_height": 90,
        "graphics": "raster",
        "caption_bbox": [61.2, 400.0, 306.0, 420.0],
        "caption_page": 1,
    }
    row.update(values)
    return row


def document(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source": "s3://lab/papers/silk.pdf",
        "size": 1000,
        "mtime_ns": 1,
        "doc_id": "d" * 64,
        "status": "ok",
        "error": None,
        "pages": 3,
        "pairs": 1,
        "scanned_pages": 0,
        "repaired": False,
        "seconds": 0.5,
    }
    row.update(values)
    return row


def boxes(markup: str) -> list[tuple[str, dict[str, float], str]]:
    """(class, style as numbers, tag text) of every drawn box."""
    found = []
    for css_class, style, tag in re.findall(
        r'<div class="box (\w+)" style="([^"]+)"[^>]*><span class="tag">([^<]*)</span>', markup
    ):
        values = {
            key: float(value.rstrip("%")) for key, value in (part.split(":") for part in style.split(";"))
        }
        found.append((css_class, values, tag))
    return found


class TagBalance(HTMLParser):
    VOID = {"img", "meta", "br", "hr", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def test_boxes_are_placed_in_percent_of_the_page_rect() -> None:
    markup = page_html(1, IMAGE, [pair()])
    (item_class, item, item_tag), (caption_class, caption, caption_tag) = boxes(markup)
    assert (item_class, item_tag) == ("item", "Figure 1")
    # x0 61.2 of 612 pt = 10 %, y0 79.2 of 792 pt = 10 %, width 244.8 pt = 40 %, height 316.8 pt = 40 %
    assert item == {"left": 10.0, "top": 10.0, "width": 40.0, "height": 40.0}
    assert (caption_class, caption_tag) == ("caption", "Figure 1")
    assert 'title="caption of Figure 1: [61.2, 400.0, 306.0, 420.0] pt"' in markup
    assert caption["top"] == round(100 * 400 / 792, 2) and caption["height"] == round(100 * 20 / 792, 2)
    assert 'src="pages/p.jpg" width="425" height="550"' in markup and "width:425px" in markup


def test_a_caption_on_another_page_is_drawn_there_and_named() -> None:
    row = pair(page=1, caption_page=2)
    first, second = page_html(1, IMAGE, [row]), page_html(2, IMAGE, [row])
    assert [tag for _, _, tag in boxes(first)] == ["Figure 1 (caption on p. 2)"]
    assert [tag for _, _, tag in boxes(second)] == ["Figure 1 (on p. 1)"]


def test_pairs_without_caption_box_or_label_still_show() -> None:
    row = pair(label=None, caption=None, caption_bbox=None, caption_page=None, mentions=[])
    drawn = boxes(page_html(1, IMAGE, [row]))
    assert [(css_class, tag) for css_class, _, tag in drawn] == [("item", "figure (no label)")]
    card = pair_html(row, "crops/x.png")
    assert "no caption" in card and "no mentions" in card and 'class="pair unlabelled"' in card


def test_captions_and_mentions_are_escaped() -> None:
    hostile = 'Table 2. <script>alert(1)</script> a < b & c > d "quoted"'
    row = pair(kind="table", label="Table 2", caption=hostile, mentions=["x <b>bold</b> & y"])
    card = pair_html(row, 'crops/a"b.png')
    assert "<script>" not in card and "&lt;script&gt;alert(1)&lt;/script&gt;" in card
    assert "a &lt; b &amp; c &gt; d &quot;quoted&quot;" in card
    assert "x &lt;b&gt;bold&lt;/b&gt; &amp; y" in card and 'src="crops/a&quot;b.png"' in card
    page = page_html(1, IMAGE, [pair(label="Figure <1>")])
    assert "Figure &lt;1&gt;" in page and "Figure <1>" not in page


def test_pages_to_show_keeps_boxed_and_scanned_pages_unless_all() -> None:
    rows = [pair(page=2, caption_page=3), pair(page=5, caption_bbox=None, caption_page=None)]
    assert pages_to_show(6, rows, scanned={6}, all_pages=False) == [2, 3, 5, 6]
    assert pages_to_show(6, rows, scanned=(), all_pages=True) == [1, 2, 3, 4, 5, 6]
    assert pages_to_show(4, rows, scanned=(), all_pages=False) == [2, 3]  # a stale page 5 is dropped
    assert page_list([9, 1, 3, 4, 5]) == "1, 3-5, 9"


def test_document_renders_only_the_pages_asked_for_and_collapses_pages_without_pairs() -> None:
    asked: list[int] = []

    def render(number: int) -> PageImage | str:
        asked.append(number)
        return IMAGE._replace(src=f"pages/p{number}.jpg") if number != 3 else "page 3 could not be rendered"

    markup = document_html(
        0, document(), [pair()], [], render, lambda row: f"crops/{row['pair_id']}.png", pages=[1, 2, 3]
    )
    assert asked == [1, 2, 3]
    assert 'id="doc-0"' in markup and "s3://lab/papers/silk.pdf" in markup
    main, collapsed = markup.split("<details><summary>2 pages without pairs: 2-3</summary>")
    assert "pages/p1.jpg" in main and "pages/p2.jpg" in collapsed
    assert "page 3 could not be rendered" in collapsed
    assert 'src="crops/a1b2c3d4e5f60718.png"' in markup


def test_failed_document_shows_its_error_and_no_pages() -> None:
    failed = document(status="failed", error="Corrupt", pages=0, pairs=0)
    error = {"source": failed["source"], "stage": "extract", "error": "Corrupt", "message": "xref <broken>"}
    markup = document_html(0, failed, [], [error], None, lambda row: "", notes=["checked"])
    assert "<b>Corrupt</b> (extract): xref &lt;broken&gt;" in markup
    assert 'class="page"' not in markup and '<p class="note">checked</p>' in markup


def test_report_lists_summary_failures_and_documents() -> None:
    ok = document(source="a.pdf", pages=4, pairs=2, scanned_pages=1)
    failed = document(source="b<&>.pdf", status="failed", error="NotPDF", doc_id=None, pages=0, pairs=0)
    rows = [pair(source="a.pdf"), pair(source="a.pdf", kind="table", label="Table 1", caption_bbox=None)]
    summary = corpus_summary([ok, failed], rows)
    assert summary["documents_by_status"] == {"ok": 1, "failed": 1}
    assert summary["pairs_by_kind"] == {"figure": 1, "table": 1} and summary["pairs_with_caption_box"] == 1
    assert (summary["pages"], summary["scanned_pages"], summary["failures"]) == (4, 1, 1)
    assert summary["failures_by_error"] == {"NotPDF": 1}
    errors = {"b<&>.pdf": [{"source": "b<&>.pdf", "error": "NotPDF", "message": "starts '<html>'"}]}
    sections = [
        document_html(index, row, [], errors.get(row["source"], []), None, lambda row: "")
        for index, row in enumerate([ok, failed])
    ]
    page = report_html(
        "s3://lab/out",
        {"status": "complete", "config": {"dpi": 150}},
        summary,
        [ok, failed],
        [ok, failed],
        errors,
        sections,
    )
    assert page.startswith("<!DOCTYPE html>") and "s3://lab/out" in page
    failures = page.split("<h3>Failures (1)</h3>")[1].split("<h3>")[0]
    assert "b&lt;&amp;&gt;.pdf" in failures and "starts &#x27;&lt;html&gt;&#x27;" in failures
    assert "a.pdf" not in failures
    assert 'href="#doc-0">a.pdf' in page and 'href="#doc-1">b&lt;&amp;&gt;.pdf' in page
    assert "figure 1, table 1" in page and "crop dpi 150" in page
    parser = TagBalance()
    parser.feed(page)
    assert parser.stack == []


def test_a_capped_report_says_how_many_documents_it_leaves_out() -> None:
    rows = [document(source=f"{index}.pdf") for index in range(3)]
    page = report_html("out", {}, corpus_summary(rows, []), rows, rows[:1], {}, [])
    assert "the first 1 of 3, by source" in page


def test_tables_write_sources_after_their_shared_prefix() -> None:
    assert source_prefix(["s3://lab/papers/a/1.pdf", "s3://lab/papers/b.pdf"]) == "s3://lab/papers/"
    assert source_prefix(["/data/x.pdf"]) == "/data/"
    assert source_prefix(["/a.pdf", "s3://lab/b.pdf"]) == "" and source_prefix([]) == ""
    rows = [document(source="s3://lab/papers/a.pdf"), document(source="s3://lab/papers/b.pdf")]
    page = report_html("out", {}, corpus_summary(rows, []), rows, rows, {}, [])
    assert "sources under <code>s3://lab/papers/</code>" in page and 'href="#doc-1">b.pdf</a>' in page


def gold_item(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "page": 1,
        "kind": "figure",
        "label": "Figure 1",
        "box": [61.2, 79.2, 306.0, 396.0],
        "caption": "Figure 1. Silk fibres.",
        "caption_box": None,
        "features": [],
    }
    row.update(values)
    return row


def test_gold_boxes_are_drawn_in_green_and_each_page_lists_what_differs() -> None:
    gold = [
        gold_item(caption="Figure 1. Silk <fibres> under load."),  # found, another caption
        gold_item(page=2, label="Table 1", kind="table", box=[61.2, 100.0, 500.0, 300.0]),  # missed
        gold_item(page=2, label="Figure 2", box=[300.0, 400.0, 500.0, 700.0]),  # found too large
    ]
    found = [
        pair(),
        pair(page=2, label="Figure 2", bbox=[61.2, 400.0, 550.0, 780.0], caption_bbox=None),
        pair(page=3, label=None, caption_bbox=None),
    ]
    judgements = judge(gold, found)
    first = page_html(1, IMAGE, found, gold_items=gold, judgements=judgements)
    assert [(css_class, tag) for css_class, _, tag in boxes(first)] == [
        ("item", "Figure 1"),
        ("caption", "Figure 1"),
        ("gold", "Figure 1"),
    ]
    assert "<b>caption mismatch</b> Figure 1" in first
    assert (
        "gold: Figure 1. Silk &lt;fibres&gt; under load." in first
        and "found: Figure 1. Silk fibres." in first
    )
    second = page_html(2, IMAGE, found, gold_items=gold, judgements=judgements)
    assert "<b>missed</b> Table 1 (table)" in second
    assert "<b>box mismatch</b> Figure 2: too-large, best IoU 0.32 with the found Figure 2" in second
    assert "<b>false positive</b> Figure 2 (figure): overlaps gold Figure 2 with IoU 0.32" in second
    assert "caption mismatch" not in second
    third = page_html(3, "page 3 could not be rendered", found, gold_items=gold, judgements=judgements)
    assert "<b>false positive</b> figure (no label) (figure)</li>" in third

    summary = gold_summary([(judgements, found)], gold_documents=2, unmatched=["bone.pdf"])
    assert summary["outcomes"]["missed"] == 1 and summary["outcomes"]["box-mismatch:too-large"] == 1
    assert (summary["gold"], summary["predicted"], summary["correct"], summary["documents"]) == (3, 3, 0, 1)
    page = report_html(
        "out", {}, corpus_summary([document()], found), [document()], [document()], {}, [], gold=summary
    )
    counts = page.split("<h3>Against gold (1 of 2 gold documents in this root: 3 items, 3 found pairs)</h3>")[
        1
    ]
    assert '<tr class="missed"><td>missed</td><td class="num">1</td>' in counts
    assert "box-mismatch (too-large 1)" in counts and "false-positive" in counts
    assert "1 gold document not in this root (by sha256 or file name), not counted: bone.pdf" in counts
    parser = TagBalance()
    parser.feed(page + first + second + third)
    assert parser.stack == []


def test_document_with_gold_shows_gold_pages_and_lists_problems_it_could_not_draw() -> None:
    gold = [gold_item(page=2), gold_item(page=9, label="Figure 9")]  # page 9 lies past the end
    judgements = judge(gold, [])
    assert pages_to_show(3, [], scanned=(), all_pages=False, gold={2, 9}) == [2]
    markup = document_html(
        0,
        document(pairs=0),
        [],
        [],
        lambda number: IMAGE,
        lambda row: "",
        pages=[2],
        gold_items=gold,
        judgements=judgements,
    )
    assert "gold: 2 items, 2 missed" in markup
    assert "without pairs" not in markup  # the gold page is a main page, not a collapsed one
    assert "<b>page 2 against gold</b>" in markup and "<b>page 9 against gold</b>" in markup
    failed = document_html(
        0,
        document(status="failed", error="Corrupt"),
        [],
        [],
        None,
        lambda row: "",
        gold_items=gold,
        judgements=judgements,
    )
    assert failed.count("<b>missed</b>") == 2
