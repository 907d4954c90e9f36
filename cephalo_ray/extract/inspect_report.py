"""A static HTML report of an extract root: what a person looks at before training on it.

The builders (`corpus_summary`, `gold_summary`, `pages_to_show`, `page_html`, `pair_html`,
`document_html`, `report_html`) are pure: rows and callbacks in, HTML strings out. `write_report` does
the I/O: it reads the root through `Storage`, re-reads each shown document from its `source`, renders
pages with pymupdf and writes `index.html` with its images beside it (`pages/*.jpg`, `crops/*.png`).
With gold annotations (`cephalo_ray.extract.gold`) the pages also show the gold boxes and, per page,
what went wrong: misses, false positives, caption, kind and box mismatches.
"""

from __future__ import annotations

import datetime
import html
import os
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from cephalo_ray.extract.gold import (
    BOX_MISMATCH,
    CAPTION_MISMATCH,
    CORRECT,
    FALSE_POSITIVE,
    MISSED,
    OUTCOMES,
    WRONG_KIND,
    Judgement,
    Tally,
    find_gold,
    index_gold,
    judge,
    load_gold,
    outcome_counts,
    tally,
)

if TYPE_CHECKING:
    import pymupdf

    from cephalo_ray.storage import Storage

REPORT_DIR = "inspect"
INDEX_NAME = "index.html"
FIGURE_COLOUR = "#1c7ed6"
CAPTION_COLOUR = "#e8590c"
GOLD_COLOUR = "#2f9e44"
MAX_PAGE_PIXELS = 1400  # the long side of a page render; a poster-sized page gets a lower DPI
JPEG_QUALITY = 70
STATUS_ORDER = ("ok", "duplicate", "failed")
OPEN_MENTIONS = 3  # more mentions than this start collapsed
# Every pair column but the crop; `caption_bbox`/`caption_page` are missing in older roots.
PAIR_COLUMNS = (
    "pair_id",
    "doc_id",
    "source",
    "page",
    "kind",
    "bbox",
    "label",
    "caption",
    "mentions",
    "image_width",
    "image_height",
    "graphics",
    "caption_bbox",
    "caption_page",
)

Row = Mapping[str, Any]


class PageImage(NamedTuple):
    """A rendered page: its image URL (relative to the report, or a data URL), its size in pixels,
    and the size of pymupdf's `page.rect` in points, the space that pairs' boxes are measured in."""

    src: str
    width: int
    height: int
    page_width: float
    page_height: float


# 1-based page number -> the rendered page, or a message saying why it could not be rendered
RenderPage = Callable[[int], "PageImage | str"]
# a pair row -> the URL of its crop
ImageSource = Callable[[Row], str]


def escape(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def page_list(pages: Iterable[int]) -> str:
    """`1, 3-5, 9`: page numbers as runs."""
    runs: list[list[int]] = []
    for number in sorted(set(pages)):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


# -- decisions ---------------------------------------------------------------------------------


def corpus_summary(documents: Sequence[Row], pairs: Sequence[Row]) -> dict[str, Any]:
    """Counts over the whole root: documents by status, pages, pairs by kind, failures by kind."""
    failed = [row for row in documents if row["status"] == "failed"]
    return {
        "documents": len(documents),
        "documents_by_status": dict(
            sorted(
                Counter(row["status"] for row in documents).items(), key=lambda item: status_order(item[0])
            )
        ),
        "pages": sum(row["pages"] or 0 for row in documents),
        "scanned_pages": sum(row["scanned_pages"] or 0 for row in documents),
        "documents_with_scanned_pages": sum(bool(row["scanned_pages"]) for row in documents),
        "repaired": sum(bool(row.get("repaired")) for row in documents),
        "pairs": len(pairs),
        "pairs_by_kind": dict(sorted(Counter(row["kind"] for row in pairs).items())),
        "pairs_labelled": sum(row["label"] is not None for row in pairs),
        "pairs_with_caption_box": sum(row.get("caption_bbox") is not None for row in pairs),
        "failures": len(failed),
        "failures_by_error": dict(sorted(Counter(row["error"] or "?" for row in failed).items())),
    }


def status_order(status: str) -> tuple[int, str]:
    return (STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER), status)


def boxed_pages(pairs: Sequence[Row]) -> set[int]:
    """Pages on which a pair's box or its caption's box lies."""
    pages = {int(pair["page"]) for pair in pairs}
    for pair in pairs:
        if pair.get("caption_bbox") is not None and pair.get("caption_page") is not None:
            pages.add(int(pair["caption_page"]))
    return pages


def gold_pages(gold_items: Sequence[Row], judgements: Sequence[Judgement] = ()) -> set[int]:
    """Pages holding a gold box or a judgement against gold (a false positive lies on its own page)."""
    return {int(item["page"]) for item in gold_items} | {judgement.page for judgement in judgements}


def pages_to_show(
    page_count: int,
    pairs: Sequence[Row],
    scanned: Collection[int],
    all_pages: bool,
    gold: Collection[int] = (),
) -> list[int]:
    """Every page with `all_pages`; otherwise those holding a box (found, or `gold`) and scanned ones."""
    if all_pages:
        return list(range(1, page_count + 1))
    shown = boxed_pages(pairs) | set(scanned) | set(gold)
    return sorted(page for page in shown if 1 <= page <= page_count)


def gold_summary(
    judged: Iterable[tuple[Sequence[Judgement], Sequence[Row]]],
    gold_documents: int,
    unmatched: Sequence[str] = (),
) -> dict[str, Any]:
    """Counts over every document that has gold: its judgements (`gold.judge`) and its found pairs.

    Args:
        judged: per document with gold, its judgements and the pairs they were judged from.
        gold_documents: how many gold documents were given.
        unmatched: the gold documents that no document of the root is (by sha256 or file name).
    """
    counts = Tally()
    outcomes = dict.fromkeys(OUTCOMES, 0)
    documents = 0
    for judgements, pairs in judged:
        documents += 1
        counts += tally(judgements, pairs)
        for outcome, count in outcome_counts(judgements).items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
    return {
        "documents": documents,
        "gold_documents": gold_documents,
        "unmatched": list(unmatched),
        "outcomes": outcomes,
        **counts.as_dict(),
    }


# -- HTML pieces -------------------------------------------------------------------------------


def box_html(box: Sequence[float], image: PageImage, css_class: str, tag: str, title: str = "") -> str:
    """An outline over a page image, placed in percent of `page.rect` so it stays on its region at any
    displayed size."""
    x0, y0, x1, y1 = (float(value) for value in box)
    left = 100 * x0 / image.page_width
    top = 100 * y0 / image.page_height
    width = 100 * (x1 - x0) / image.page_width
    height = 100 * (y1 - y0) / image.page_height
    style = f"left:{left:.2f}%;top:{top:.2f}%;width:{width:.2f}%;height:{height:.2f}%"
    title = f"{title or tag}: [{x0:.1f}, {y0:.1f}, {x1:.1f}, {y1:.1f}] pt"
    return (
        f'<div class="box {css_class}" style="{style}" title="{escape(title)}">'
        f'<span class="tag">{escape(tag)}</span></div>'
    )


def pair_name(pair: Row) -> str:
    return str(pair["label"]) if pair["label"] else f"{pair['kind']} (no label)"


def gold_name(item: Row) -> str:
    return str(item["label"]) if item.get("label") else f"{item['kind']} (no label)"


def problem_html(judgement: Judgement, gold_items: Sequence[Row], pairs: Sequence[Row]) -> str:
    """One thing that differs from gold, as a list entry; a caption mismatch shows both captions."""
    name = escape(gold_name(gold_items[judgement.gold]) if judgement.gold is not None else "")
    outcome = judgement.outcome
    if outcome == MISSED:
        text = f"<b>missed</b> {name} ({escape(judgement.kind)}): nothing found over it"
    elif outcome == BOX_MISMATCH:
        found = pairs[judgement.overlaps] if judgement.overlaps is not None else None
        text = f"<b>box mismatch</b> {name}: {escape(judgement.detail)}, best IoU {judgement.iou:.2f}" + (
            f" with the found {escape(pair_name(found))}" if found is not None else ""
        )
    elif outcome == WRONG_KIND:
        text = f"<b>wrong kind</b> {name}: a {escape(judgement.kind)} found as a {escape(judgement.detail)}"
    elif outcome == CAPTION_MISMATCH:
        text = (
            f"<b>caption mismatch</b> {name} (similarity {judgement.similarity:.2f})"
            f'<p class="gold-caption">gold: {escape(judgement.gold_caption or "(none)")}</p>'
            f'<p class="found-caption">found: {escape(judgement.predicted_caption or "(none)")}</p>'
        )
    elif outcome == FALSE_POSITIVE:
        found_name = pair_name(pairs[judgement.predicted]) if judgement.predicted is not None else "?"
        text = f"<b>false positive</b> {escape(found_name)} ({escape(judgement.kind)})"
        if judgement.overlaps is not None:
            text += (
                f": overlaps gold {escape(gold_name(gold_items[judgement.overlaps]))} "
                f"with IoU {judgement.iou:.2f}"
            )
    else:
        text = f"<b>{escape(outcome)}</b> {name}"
    return f'<li class="{escape(outcome)}">{text}</li>'


def problems_html(
    number: int,
    judgements: Sequence[Judgement],
    gold_items: Sequence[Row],
    pairs: Sequence[Row],
    width: int | None = None,
) -> str:
    """The page's differences from gold (a list `width` px wide), or "" when there are none."""
    wrong = [
        judgement for judgement in judgements if judgement.page == number and judgement.outcome != CORRECT
    ]
    if not wrong:
        return ""
    entries = "".join(problem_html(judgement, gold_items, pairs) for judgement in wrong)
    style = f' style="max-width:{width}px"' if width else ""
    return f'<div class="problems"{style}><b>page {number} against gold</b><ul>{entries}</ul></div>'


def page_html(
    number: int,
    image: PageImage | str,
    pairs: Sequence[Row],
    scanned: bool = False,
    gold_items: Sequence[Row] = (),
    judgements: Sequence[Judgement] = (),
) -> str:
    """One page: its render with every pair's box and every caption box on it, tagged with labels.

    With gold, its gold boxes (green, tagged below) and the list of what differs on it (`judgements`
    of the document's `gold_items` against `pairs`, as `gold.judge` returned them).
    """
    heading = f"page {number}" + (" · scanned" if scanned else "")
    if isinstance(image, str):
        return (
            f'<figure class="page"><figcaption>{escape(heading)}</figcaption>'
            f'<p class="note">{escape(image)}</p>{problems_html(number, judgements, gold_items, pairs)}</figure>'
        )
    boxes = []
    for pair in pairs:
        if int(pair["page"]) == number:
            tag = pair_name(pair)
            if pair.get("caption_page") not in (None, number):
                tag += f" (caption on p. {pair['caption_page']})"
            boxes.append(box_html(pair["bbox"], image, "item", tag))
        if pair.get("caption_bbox") is not None and pair.get("caption_page") == number:
            tag = pair_name(pair)  # the colour says it is a caption
            if int(pair["page"]) != number:
                tag += f" (on p. {pair['page']})"
            boxes.append(box_html(pair["caption_bbox"], image, "caption", tag, f"caption of {tag}"))
    for item in gold_items:
        if int(item["page"]) == number:
            boxes.append(box_html(item["box"], image, "gold", gold_name(item), f"gold {gold_name(item)}"))
    problems = problems_html(number, judgements, gold_items, pairs, image.width)
    return (
        f'<figure class="page"><figcaption>{escape(heading)}</figcaption>'
        f'<div class="canvas" style="width:{image.width}px">'
        f'<img src="{escape(image.src)}" width="{image.width}" height="{image.height}" loading="lazy" '
        f'alt="{escape(heading)}">{"".join(boxes)}</div>{problems}</figure>'
    )


def pair_html(pair: Row, src: str) -> str:
    """One crop with its label, kind, graphics, caption and mentions."""
    mentions = list(pair.get("mentions") or [])
    if mentions:
        items = "".join(f"<li>{escape(mention)}</li>" for mention in mentions)
        opened = " open" if len(mentions) <= OPEN_MENTIONS else ""
        mention_block = (
            f"<details{opened}><summary>{plural(len(mentions), 'mention')}</summary>"
            f"<ul>{items}</ul></details>"
        )
    else:
        mention_block = '<p class="missing">no mentions</p>'
    caption = (
        f'<p class="caption">{escape(pair["caption"])}</p>'
        if pair["caption"]
        else '<p class="missing">no caption</p>'
    )
    box = ", ".join(f"{float(value):.0f}" for value in pair["bbox"])
    warn = "" if pair["label"] else " unlabelled"
    return (
        f'<div class="pair{warn}"><div class="pair-head"><b>{escape(pair_name(pair))}</b>'
        f" · {escape(pair['kind'])} · {escape(pair['graphics'])} · p. {escape(pair['page'])}</div>"
        f'<img src="{escape(src)}" loading="lazy" alt="{escape(pair_name(pair))}">'
        f"{caption}{mention_block}"
        f'<div class="meta">{escape(pair["pair_id"])} · {escape(pair["image_width"])}×'
        f"{escape(pair['image_height'])} px · bbox [{box}] pt</div></div>"
    )


def document_anchor(index: int) -> str:
    return f"doc-{index}"


def document_html(
    index: int,
    document: Row,
    pairs: Sequence[Row],
    errors: Sequence[Row],
    render_page: RenderPage | None,
    image_src: ImageSource,
    *,
    pages: Sequence[int] = (),
    scanned: Collection[int] = (),
    notes: Sequence[str] = (),
    warnings: Sequence[str] = (),
    gold_items: Sequence[Row] | None = None,
    judgements: Sequence[Judgement] = (),
) -> str:
    """One document: its ledger facts, its error if it failed, `pages` rendered with boxes, its crops.

    Args:
        index: the document's position in the report (its anchor).
        document: its ledger row (`OUT/documents/`).
        pairs: its pair rows, without `image`.
        errors: its error rows (`OUT/errors/`).
        render_page: renders one page; None when the source could not be opened (say why in `warnings`).
        image_src: the URL of a pair's crop.
        pages: the pages to render (see `pages_to_show`).
        scanned: the document's scanned pages, marked as such.
        notes: sentences for the reader, e.g. which pages are left out.
        warnings: problems the reader should act on, e.g. a source that can no longer be read.
        gold_items: its gold items, drawn in green; None when it has no gold.
        judgements: `gold.judge(gold_items, pairs)`, listed under the pages they are about.
    """
    status = str(document["status"])
    doc_id = str(document.get("doc_id") or "")
    facts = [
        f'<span class="status status-{escape(status)}">{escape(status)}</span>',
        f'doc_id <code title="{escape(doc_id)}">{escape(doc_id[:16] or "-")}</code>',
        plural(int(document["pages"] or 0), "page"),
        plural(int(document["pairs"] or 0), "pair"),
        f"{int(document['scanned_pages'] or 0)} scanned",
    ]
    if document.get("repaired"):
        facts.append("repaired")
    if document.get("seconds") is not None:
        facts.append(f"{float(document['seconds']):.2f} s")
    if gold_items is not None:
        counts = outcome_counts(judgements)
        facts.append(
            f"gold: {plural(len(gold_items), 'item')}, "
            + ", ".join(
                f"{count} {outcome}" for outcome, count in counts.items() if count and ":" not in outcome
            )
        )
    parts = [
        f'<section class="doc" id="{document_anchor(index)}"><h2>{escape(document["source"])}</h2>',
        f'<p class="facts">{" · ".join(facts)}</p>',
    ]
    if status == "failed":
        shown = errors or [{"error": document.get("error"), "message": "", "stage": ""}]
        for error in shown:
            stage = f" ({escape(error['stage'])})" if error.get("stage") else ""
            parts.append(
                f'<p class="error"><b>{escape(error["error"])}</b>{stage}: {escape(error["message"])}</p>'
            )
    parts.extend(f'<p class="warning">{escape(warning)}</p>' for warning in warnings)
    parts.extend(f'<p class="note">{escape(note)}</p>' for note in notes)
    gold_shown = gold_items or ()
    if render_page is not None and pages:
        boxed = boxed_pages(pairs) | set(scanned) | gold_pages(gold_shown, judgements)
        main = [number for number in pages if number in boxed]
        other = [number for number in pages if number not in boxed]
        rendered = {
            number: page_html(number, render_page(number), pairs, number in scanned, gold_shown, judgements)
            for number in pages
        }
        if main:
            parts.append(f'<div class="pages">{"".join(rendered[number] for number in main)}</div>')
        if other:
            parts.append(
                f"<details><summary>{plural(len(other), 'page')} without pairs: {page_list(other)}</summary>"
                f'<div class="pages">{"".join(rendered[number] for number in other)}</div></details>'
            )
    unrendered = sorted({judgement.page for judgement in judgements} - set(pages if render_page else ()))
    # a failed or unreadable document (or a gold page past its end) still says what went wrong
    parts.extend(problems_html(number, judgements, gold_shown, pairs) for number in unrendered)
    if pairs:
        ordered = sorted(pairs, key=lambda pair: (int(pair["page"]), pair["bbox"][1], pair["bbox"][0]))
        parts.append(
            f'<div class="pairs">{"".join(pair_html(pair, image_src(pair)) for pair in ordered)}</div>'
        )
    parts.append("</section>")
    return "".join(parts)


def summary_html(summary: Mapping[str, Any]) -> str:
    def tile(value: str, name: str, detail: str = "") -> str:
        extra = f'<div class="detail">{escape(detail)}</div>' if detail else ""
        return (
            f'<div class="tile"><div class="value">{escape(value)}</div>'
            f'<div class="name">{escape(name)}</div>{extra}</div>'
        )

    def spread(counts: Mapping[str, int]) -> str:
        return ", ".join(f"{name} {count:,}" for name, count in counts.items()) or "none"

    documents = spread(summary["documents_by_status"])
    if summary["repaired"]:
        documents += f" · {summary['repaired']:,} repaired"
    tiles = [
        tile(f"{summary['documents']:,}", "documents", documents),
        tile(f"{summary['pages']:,}", "pages"),
        tile(f"{summary['pairs']:,}", "pairs", spread(summary["pairs_by_kind"])),
        tile(
            f"{summary['pairs_labelled']:,}",
            "labelled pairs",
            f"{summary['pairs_with_caption_box']:,} with a caption box",
        ),
        tile(f"{summary['failures']:,}", "failures", spread(summary["failures_by_error"])),
        tile(
            f"{summary['scanned_pages']:,}",
            "scanned pages",
            f"in {plural(summary['documents_with_scanned_pages'], 'document')}",
        ),
    ]
    return f'<div class="tiles">{"".join(tiles)}</div>'


def gold_summary_html(summary: Mapping[str, Any]) -> str:
    """The counts against gold at the top: each outcome, and pair scores with exact or similar captions."""
    details = {
        key.partition(":")[2]: count for key, count in summary["outcomes"].items() if ":" in key and count
    }
    rows = []
    for outcome in OUTCOMES:
        count = summary["outcomes"].get(outcome, 0)
        why = ", ".join(f"{name} {value}" for name, value in sorted(details.items()))
        extra = f" ({escape(why)})" if outcome == BOX_MISMATCH and why else ""
        side = "found pairs" if outcome == FALSE_POSITIVE else "gold items"
        rows.append(
            f'<tr class="{escape(outcome)}"><td>{escape(outcome)}{extra}</td><td class="num">{count:,}</td>'
            f"<td>{side}</td></tr>"
        )
    scores = (
        f"pairs with the exact caption: P {summary['precision']:.3f} R {summary['recall']:.3f} "
        f"F1 {summary['f1']:.3f} · caption similarity ≥ 0.8: P {summary['precision_similar']:.3f} "
        f"R {summary['recall_similar']:.3f} F1 {summary['f1_similar']:.3f} · boxes alone F1 "
        f"{summary['f1_boxes']:.3f}"
    )
    parts = [
        f"<h3>Against gold ({summary['documents']:,} of {plural(summary['gold_documents'], 'gold document')} "
        f"in this root: {plural(summary['gold'], 'item')}, {plural(summary['predicted'], 'found pair')})</h3>",
        '<table class="docs gold-counts"><thead><tr><th>outcome</th><th>count</th><th>of</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>",
        f'<p class="sub">{escape(scores)}</p>',
    ]
    if summary["unmatched"]:
        parts.append(
            f'<p class="warning">{plural(len(summary["unmatched"]), "gold document")} not in this root '
            f"(by sha256 or file name), not counted: {escape(', '.join(summary['unmatched']))}</p>"
        )
    return "".join(parts)


def source_prefix(sources: Iterable[str]) -> str:
    """The folder or prefix that all sources share (`s3://lab/papers/`), cut at a `/`."""
    folder = os.path.commonprefix(list(sources)).rpartition("/")[0]
    return folder + "/" if folder else ""


def documents_table_html(shown: Sequence[Row], prefix: str = "", first_index: int = 0) -> str:
    """One row per shown document, each linking to its section; sources written after `prefix`."""
    rows = []
    for index, document in enumerate(shown, start=first_index):
        status = escape(document["status"])
        rows.append(
            f'<tr><td><a href="#{document_anchor(index)}">{escape(document["source"][len(prefix) :])}</a></td>'
            f'<td class="status-{status}">{status}</td><td>{escape(document.get("error") or "")}</td>'
            f'<td class="num">{escape(document["pages"])}</td><td class="num">{escape(document["pairs"])}</td>'
            f'<td class="num">{escape(document["scanned_pages"])}</td></tr>'
        )
    return (
        '<table class="docs"><thead><tr><th>source</th><th>status</th><th>error</th><th>pages</th>'
        f"<th>pairs</th><th>scanned</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def failures_html(
    documents: Sequence[Row], errors_by_source: Mapping[str, Sequence[Row]], prefix: str = ""
) -> str:
    """Every failed document of the root (not only the shown ones) with its error message."""
    failed = [row for row in documents if row["status"] == "failed"]
    if not failed:
        return '<p class="note">No document failed.</p>'
    rows = []
    for document in failed:
        errors = errors_by_source.get(document["source"]) or [{"error": document.get("error"), "message": ""}]
        for error in errors:
            rows.append(
                f"<tr><td>{escape(document['source'][len(prefix) :])}</td><td><b>{escape(error['error'])}</b></td>"
                f"<td>{escape(error['message'])}</td></tr>"
            )
    return (
        '<table class="docs failures"><thead><tr><th>source</th><th>error</th><th>message</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def manifest_line(root: str, manifest: Mapping[str, Any]) -> str:
    config = manifest.get("config") or {}
    finished = (manifest.get("timings") or {}).get("finished_at")
    when = (
        datetime.datetime.fromtimestamp(float(finished), tz=datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        )
        if finished
        else "?"
    )
    facts = [
        f"root <code>{escape(root)}</code>",
        f"extract {escape(manifest.get('status'))}",
        f"finished {escape(when)}",
        f"crop dpi {escape(config.get('dpi', '?'))}",
        f"min_figure_points {escape(config.get('min_figure_points', '?'))}",
    ]
    return " · ".join(facts)


STYLE = f"""
body {{ font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212529; margin: 0 24px 64px; }}
h1 {{ font-size: 22px; margin: 18px 0 4px; }}
h2 {{ font-size: 16px; margin: 0 0 4px; word-break: break-all; }}
h3 {{ font-size: 15px; margin: 20px 0 6px; }}
code {{ font-size: 12px; background: #f1f3f5; padding: 0 3px; border-radius: 3px; }}
.sub {{ color: #495057; margin: 0 0 12px; }}
.legend span {{ display: inline-block; width: 22px; height: 10px; margin: 0 4px 0 12px; vertical-align: middle; }}
.tiles {{ display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0; }}
.tile {{ border: 1px solid #dee2e6; border-radius: 6px; padding: 8px 14px; min-width: 150px; background: #f8f9fa; }}
.tile .value {{ font-size: 22px; font-weight: 600; }}
.tile .name {{ color: #495057; }}
.tile .detail {{ color: #868e96; font-size: 12px; }}
table.docs {{ border-collapse: collapse; margin: 6px 0 12px; }}
table.docs th, table.docs td {{ text-align: left; padding: 2px 10px; border-bottom: 1px solid #e9ecef; vertical-align: top; }}
table.docs td.num {{ text-align: right; }}
table.docs td a {{ color: inherit; }}
.status-ok {{ color: #2b8a3e; }}
.status-failed {{ color: #c92a2a; font-weight: 600; }}
.status-duplicate {{ color: #868e96; }}
.status {{ font-weight: 600; }}
section.doc {{ border-top: 2px solid #ced4da; margin-top: 28px; padding-top: 12px; }}
.facts {{ color: #495057; margin: 0 0 8px; }}
.error {{ color: #c92a2a; background: #fff5f5; border-left: 3px solid #c92a2a; padding: 4px 8px; }}
.note {{ color: #666; font-style: italic; }}
.warning {{ color: #5c3c00; background: #fff3bf; border-left: 3px solid #f08c00; padding: 4px 8px; }}
.missing {{ color: #c92a2a; font-style: italic; margin: 4px 0; }}
.pages {{ display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; margin: 8px 0 14px; }}
figure.page {{ margin: 0; max-width: 100%; }}
figure.page figcaption {{ color: #495057; font-size: 12px; }}
.canvas {{ position: relative; max-width: 100%; border: 1px solid #adb5bd; box-shadow: 0 1px 3px #0002; }}
.canvas img {{ display: block; width: 100%; height: auto; }}
.box {{ position: absolute; box-sizing: border-box; border: 2px solid {FIGURE_COLOUR}; background: {FIGURE_COLOUR}10; }}
.box.caption {{ border: 2px dashed {CAPTION_COLOUR}; background: {CAPTION_COLOUR}10; }}
.box .tag {{ position: absolute; left: -2px; bottom: 100%; font-size: 11px; line-height: 14px; color: #fff;
  background: {FIGURE_COLOUR}; padding: 0 4px; white-space: nowrap; border-radius: 2px 2px 0 0; }}
.box.caption .tag {{ background: {CAPTION_COLOUR}; bottom: auto; top: 0; left: auto; right: 0;
  border-radius: 0 0 0 2px; opacity: .85; }}
.box.gold {{ border: 0; outline: 2px solid {GOLD_COLOUR}; outline-offset: 3px; background: transparent; }}
.box.gold .tag {{ background: {GOLD_COLOUR}; bottom: auto; top: calc(100% + 5px); left: -5px;
  border-radius: 0 0 2px 2px; }}
.problems {{ font-size: 13px; margin: 6px 0 0; }}
.problems ul {{ margin: 2px 0; padding-left: 18px; }}
.problems li {{ margin: 2px 0; }}
.problems li.missed, .problems li.false-positive {{ color: #c92a2a; }}
.problems li p {{ margin: 2px 0 2px 8px; color: #495057; }}
.problems li p.gold-caption {{ border-left: 3px solid {GOLD_COLOUR}; padding-left: 6px; }}
.problems li p.found-caption {{ border-left: 3px solid {FIGURE_COLOUR}; padding-left: 6px; }}
.pairs {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 12px; }}
.pair {{ border: 1px solid #dee2e6; border-radius: 6px; padding: 8px 10px; }}
.pair.unlabelled {{ border-color: #f08c00; background: #fff9db; }}
.pair-head {{ margin-bottom: 6px; }}
.pair img {{ display: block; max-width: 100%; max-height: 260px; margin: 0 auto 6px;
  background: repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 0 0 / 16px 16px; border: 1px solid #e9ecef; }}
.pair .caption {{ margin: 4px 0; }}
.pair details {{ color: #495057; font-size: 13px; }}
.pair ul {{ margin: 4px 0; padding-left: 18px; }}
.meta {{ color: #868e96; font-size: 11px; margin-top: 4px; word-break: break-all; }}
"""


def report_html(
    root: str,
    manifest: Mapping[str, Any],
    summary: Mapping[str, Any],
    documents: Sequence[Row],
    shown: Sequence[Row],
    errors_by_source: Mapping[str, Sequence[Row]],
    sections: Sequence[str],
    options: str = "",
    gold: Mapping[str, Any] | None = None,
    beyond_cap: int = 0,
) -> str:
    """The whole page: summary, counts against `gold` (see `gold_summary`), failures, the table of
    shown documents (`beyond_cap` of them past --max-documents for their gold problems), their sections."""
    legend = (
        f'<p class="legend">boxes: <span style="border:2px solid {FIGURE_COLOUR}"></span>figure or table'
        f'<span style="border:2px dashed {CAPTION_COLOUR}"></span>caption'
        + (f'<span style="border:2px solid {GOLD_COLOUR}"></span>gold' if gold is not None else "")
        + "</p>"
    )
    capped = (
        f" (the first {len(shown) - beyond_cap:,} of {len(documents):,}, by source"
        + (f", and {beyond_cap:,} more with gold problems" if beyond_cap else "")
        + "; raise --max-documents for more)"
        if len(shown) < len(documents)
        else ""
    )
    prefix = source_prefix(row["source"] for row in documents)
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            f"<title>cephalo inspect: {escape(root)}</title><style>{STYLE}</style></head><body>",
            "<h1>Extraction report</h1>",
            f'<p class="sub">{manifest_line(root, manifest)}</p>',
            summary_html(summary),
            gold_summary_html(gold) if gold is not None else "",
            legend,
            f'<p class="note">{escape(options)}</p>' if options else "",
            f'<p class="sub">sources under <code>{escape(prefix)}</code></p>' if prefix else "",
            f"<h3>Failures ({summary['failures']:,})</h3>",
            failures_html(documents, errors_by_source, prefix),
            f"<h3>Documents{escape(capped)}</h3>",
            documents_table_html(shown, prefix),
            *sections,
            "</body></html>\n",
        ]
    )


# -- I/O ---------------------------------------------------------------------------------------


def read_rows(storage: Storage, root: str, names: Sequence[str]) -> list[dict[str, Any]]:
    from cephalo_ray.storage import join

    table = storage.read_parquet([join(root, name) for name in names])
    return table.to_pylist() if table is not None else []


def read_pair_metadata(storage: Storage, uris: Sequence[str]) -> list[dict[str, Any]]:
    """Every pair row without its crop (column projection: a big root's images are not read)."""
    import pyarrow.parquet as pq

    if not uris:
        return []
    filesystem, paths = storage.filesystem_and_paths(list(uris))
    rows: list[dict[str, Any]] = []
    for uri, path in zip(uris, paths, strict=True):
        parquet = pq.ParquetFile(path, filesystem=filesystem)
        present = [name for name in PAIR_COLUMNS if name in parquet.schema_arrow.names]
        for row in parquet.read(columns=present).to_pylist():
            rows.append({**dict.fromkeys(PAIR_COLUMNS), **row, "_file": uri})
    return rows


def write_crops(
    storage: Storage, uris: Sequence[str], pair_ids: Collection[str], folder: str
) -> dict[str, str]:
    """Write the crops of the chosen pairs as `folder/crops/<pair_id>.png`; returns pair_id -> URL."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from cephalo_ray.storage import join

    if not uris or not pair_ids:
        return {}
    filesystem, paths = storage.filesystem_and_paths(list(uris))
    written: dict[str, str] = {}
    for path in paths:
        table = pq.ParquetFile(path, filesystem=filesystem).read(columns=["pair_id", "image"])
        table = table.filter(pc.is_in(table.column("pair_id"), value_set=_string_array(pair_ids)))
        for row in table.to_pylist():
            name = f"crops/{row['pair_id']}.png"
            storage.write_bytes(join(folder, name), row["image"])
            written[row["pair_id"]] = name
    return written


def _string_array(values: Collection[str]) -> Any:
    import pyarrow as pa

    return pa.array(sorted(values), type=pa.string())


def render_page_to(
    storage: Storage, doc: pymupdf.Document, folder: str, stem: str, dpi: int
) -> Callable[[int], PageImage | str]:
    """A `RenderPage` that writes each page as `folder/pages/<stem>-<page>.jpg`."""
    from cephalo_ray.storage import join

    def render(number: int) -> PageImage | str:
        try:
            page = doc.load_page(number - 1)
            rect = page.rect
            scale = min(dpi / 72, MAX_PAGE_PIXELS / max(rect.width, rect.height, 1.0))
            pixmap = page.get_pixmap(dpi=max(1, int(72 * scale)), alpha=False)
            data = pixmap.tobytes("jpeg", jpg_quality=JPEG_QUALITY)
        except Exception as error:  # a page that pymupdf cannot draw is reported, not fatal
            return f"page {number} could not be rendered: {type(error).__name__}: {error}"
        name = f"pages/{stem}-{number:04d}.jpg"
        storage.write_bytes(join(folder, name), data)
        return PageImage(name, pixmap.width, pixmap.height, rect.width, rect.height)

    return render


def scanned_page_numbers(doc: pymupdf.Document) -> set[int]:
    """The pages that extraction treats as scans (re-detected: the ledger keeps only their count)."""
    from cephalo_ray.extract.document import read_page

    return {index + 1 for index in range(doc.page_count) if read_page(doc.load_page(index)).scanned}


def open_source(storage: Storage, document: Row) -> tuple[pymupdf.Document | None, str | None]:
    """The document's PDF, re-read from its source, or None and the reason it cannot be used."""
    from cephalo_ray.extract.document import doc_id_of, open_pdf

    try:
        data = storage.read_bytes(document["source"])
    except Exception as error:  # missing, moved, no permission: the report says so and goes on
        return None, f"the source could not be read ({type(error).__name__}: {error}); pages not rendered"
    if document.get("doc_id") and doc_id_of(data) != document["doc_id"]:
        return None, "the source has changed since extraction (its sha256 differs); pages not rendered"
    try:
        return open_pdf(data), None
    except Exception as error:
        return None, f"the source could not be opened ({type(error).__name__}: {error}); pages not rendered"


def write_report(
    storage: Storage,
    root: str,
    output: str | None = None,
    *,
    all_pages: bool = False,
    max_documents: int = 200,
    dpi: int = 60,
    allow_partial: bool = False,
    gold: str | None = None,
) -> dict[str, Any]:
    """Write `output/index.html` (default `root/inspect/`) for an extract root and return what it holds.

    `gold` is a local folder of gold JSON files or a JSONL file (`gold.load_gold`); each gold document
    is compared with the document of the same sha256 (doc_id) or, failing that, file name. Documents
    with gold problems are shown even past `max_documents`.

    Raises:
        UpstreamError: when the root has no manifest or an unfinished one (unless `allow_partial`).
        ConfigError: when the root is not an extract root.
        GoldError, FileNotFoundError: when `gold` cannot be read.
    """
    from cephalo_ray.config import ConfigError
    from cephalo_ray.output_root import read_upstream
    from cephalo_ray.storage import join

    manifest, _ = read_upstream(storage, root, allow_partial)
    if manifest.get("job") != "extract":
        raise ConfigError(
            f"{root} holds the output of `{manifest.get('job')}`; inspect reads an extract root"
        )
    folder = output or join(root, REPORT_DIR)
    files = manifest.get("files", {})
    documents = sorted(read_rows(storage, root, files.get("documents", [])), key=lambda row: row["source"])
    errors = read_rows(storage, root, files.get("errors", []))
    pair_files = [join(root, name) for name in files.get("pairs", [])]
    pairs = read_pair_metadata(storage, pair_files)
    errors_by_source: dict[str, list[Row]] = {}
    for error in errors:
        errors_by_source.setdefault(error["source"], []).append(error)
    # A duplicate's pairs carry the first source seen; match pairs to documents by that source.
    pairs_by_source: dict[str, list[Row]] = {}
    for pair in pairs:
        pairs_by_source.setdefault(pair["source"], []).append(pair)
    first_source = {
        row["doc_id"]: row["source"] for row in documents if row["status"] == "ok" and row["doc_id"]
    }

    golds = load_gold(gold) if gold is not None else []
    gold_index = index_gold(golds)
    # source -> (its gold document, the judgements of its pairs); a duplicate's pairs are its first's
    judged: dict[str, tuple[Row, list[Judgement]]] = {}
    for document in documents:
        found = find_gold(gold_index, document.get("doc_id"), document["source"]) if golds else None
        if found is not None and document["status"] != "duplicate":
            judged[document["source"]] = (
                found,
                judge(found["items"], pairs_by_source.get(document["source"], [])),
            )
    matched_gold = {id(found) for found, _ in judged.values()}
    gold_totals = (
        gold_summary(
            [(judgements, pairs_by_source.get(source, [])) for source, (_, judgements) in judged.items()],
            len(golds),
            [str(entry["document"]) for entry in golds if id(entry) not in matched_gold],
        )
        if gold is not None
        else None
    )

    def has_problems(document: Row) -> bool:
        _, judgements = judged.get(document["source"], ({}, []))
        return any(judgement.outcome != CORRECT for judgement in judgements)

    shown = [
        document
        for index, document in enumerate(documents)
        if index < max_documents or has_problems(document)
    ]
    beyond_cap = len(shown) - min(len(documents), max_documents)
    shown_pairs = [pair for document in shown for pair in pairs_by_source.get(document["source"], [])]
    needed = {pair["_file"] for pair in shown_pairs}
    crops = write_crops(
        storage,
        [uri for uri in pair_files if uri in needed],
        {pair["pair_id"] for pair in shown_pairs},
        folder,
    )

    sections, rendered, unreadable = [], 0, 0
    for index, document in enumerate(shown):
        own_pairs = pairs_by_source.get(document["source"], [])
        own_gold, judgements = judged.get(document["source"], (None, []))
        gold_items: list[Row] | None = list(own_gold["items"]) if own_gold is not None else None
        on_gold = gold_pages(gold_items or (), judgements)
        notes: list[str] = []
        warnings: list[str] = []
        render: RenderPage | None = None
        pages: list[int] = []
        scanned: set[int] = set()
        doc = None
        if document["status"] == "duplicate":
            notes.append(
                f"the same PDF as {first_source.get(document['doc_id'], 'another source')}; its pairs are listed there"
            )
        elif document["status"] == "ok" and (all_pages or own_pairs or document["scanned_pages"] or on_gold):
            doc, problem = open_source(storage, document)
            if doc is None:
                unreadable += 1
                warnings.append(str(problem))
            else:
                if document["scanned_pages"] and not all_pages:
                    scanned = scanned_page_numbers(doc)
                pages = pages_to_show(doc.page_count, own_pairs, scanned, all_pages, on_gold)
                render = render_page_to(storage, doc, folder, str(document["doc_id"])[:16], dpi)
        if document["status"] == "ok" and not all_pages:
            if doc is not None:
                hidden = doc.page_count - len(pages)
            else:  # not opened: nothing to draw on it, or the source is unusable (noted above)
                hidden = (
                    0 if own_pairs or document["scanned_pages"] or on_gold else int(document["pages"] or 0)
                )
            if hidden > 0:
                notes.append(f"{plural(hidden, 'page')} without pairs not shown (--all-pages shows them)")
        if own_gold is not None and own_gold.get("sha256") not in (None, document.get("doc_id")):
            notes.append(f"gold {own_gold['document']} matched by file name: its sha256 differs from doc_id")
        try:
            sections.append(
                document_html(
                    index,
                    document,
                    own_pairs,
                    errors_by_source.get(document["source"], []),
                    render,
                    lambda pair: crops.get(pair["pair_id"], ""),
                    pages=pages,
                    scanned=scanned,
                    notes=notes,
                    warnings=warnings,
                    gold_items=gold_items,
                    judgements=judgements,
                )
            )
        finally:
            if doc is not None:
                doc.close()
        rendered += len(pages) if render is not None else 0

    summary = corpus_summary(documents, pairs)
    options = f"Pages rendered at {dpi} dpi; " + (
        "every page shown."
        if all_pages
        else "only pages with a figure, table or caption"
        + (" found or in gold" if gold is not None else "")
        + ", and scanned pages."
    )
    page = report_html(
        root,
        manifest,
        summary,
        documents,
        shown,
        errors_by_source,
        sections,
        options,
        gold=gold_totals,
        beyond_cap=beyond_cap,
    )
    index_uri = join(folder, INDEX_NAME)
    storage.write_bytes(index_uri, page.encode("utf-8"))
    return {
        "index": index_uri,
        "documents": len(documents),
        "documents_shown": len(shown),
        "pages_rendered": rendered,
        "crops": len(crops),
        "unreadable_sources": unreadable,
        "summary": summary,
        "gold": gold_totals,
    }
