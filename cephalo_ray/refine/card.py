"""The dataset card written with every export: what the data is, where it came from, how it was
made and what it cost, in the shape of a Hugging Face dataset card (YAML front matter + Markdown).

Figures and captions belong to their papers; the card lists every source document so that a user
can check each one's licence before redistributing the data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))


def size_category(count: int) -> str:
    return next((name for limit, name in SIZE_CATEGORIES if count < limit), "n>1M")


def sources_of(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per source document: its file name, pairs and QA per split."""
    sources: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = sources.setdefault(
            row["doc_id"],
            {
                "pdf_name": row["pdf_name"],
                "doc_id": row["doc_id"],
                "title": row.get("title"),
                "authors": list(row.get("authors") or []),
                "year": row.get("year"),
                "doi": row.get("doi"),
                "licence": row.get("licence"),
                "pairs": 0,
                "qa": 0,
                "split": row["split"],
            },
        )
        entry["pairs"] += 1
        entry["qa"] += len(row["qa"])
    return sorted(sources.values(), key=lambda entry: (entry["pdf_name"], entry["doc_id"]))


def licence_counts(sources: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    counts = Counter(source.get("licence") or "not stated" for source in sources)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def cell(text: str | None) -> str:
    """Text fit for one Markdown table cell."""
    return (text or "").replace("|", "\\|").replace("\n", " ")[:120]


def dataset_card(manifest: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], export_format: str) -> str:
    """The card's Markdown for the rows of a refine root and that root's manifest."""
    config = manifest.get("config", {})
    counts = manifest.get("counts", {})
    pairs = Counter(row["split"] for row in rows)
    qa = Counter()  # type: Counter[str]
    for row in rows:
        qa[row["split"]] += len(row["qa"])
    sources = sources_of(rows)
    documents = Counter(source["split"] for source in sources)
    kinds = Counter(row["kind"] for row in rows)
    teacher = config.get("teacher")
    model = config.get("model") if teacher == "openai" else "template (no LLM)"
    filters = config.get("filters", {})
    lines = [
        "---",
        "license: other",
        "task_categories:",
        "- visual-question-answering",
        "- image-to-text",
        f"size_categories: {size_category(sum(qa.values()))}",
        "---",
        "",
        "# Figure question answering from scientific papers",
        "",
        f"{sum(qa.values())} question/answer pairs about {len(rows)} figures and tables from "
        f"{len(sources)} documents, extracted and refined by cephalo_ray ({export_format} format).",
        "",
        "## Splits",
        "",
        "| split | documents | figures | QA |",
        "|---|---|---|---|",
        *(f"| {split} | {documents[split]} | {pairs[split]} | {qa[split]} |" for split in ("train", "val")),
        "",
        f"Splits are by whole documents (no paper is on both sides); val_fraction asked: "
        f"{config.get('val_fraction')}, achieved: {pairs['val'] / max(1, len(rows)):.3f} of figures.",
        "",
        "## How it was made",
        "",
        f"- Items: {', '.join(f'{count} {kind}s' for kind, count in sorted(kinds.items()))}.",
        f"- Teacher: {teacher}, model {model}; the image was {'sent' if config.get('vision') else 'not sent'}; "
        f"{config.get('qa_per_pair')} questions asked per figure; prompt version {manifest.get('prompt_version')}.",
        f"- Sampling: {config.get('sampling')}.",
        f"- Filters: {', '.join(f'{key} {value}' for key, value in sorted(filters.items()))}; answers must be "
        "grounded in the caption and citing sentences (numbers by value and unit family), and answers "
        "that echo the prompt are dropped.",
        *(f"- Warning: {warning}" for warning in manifest.get("warnings") or []),
        f"- Teacher usage: {counts.get('prompt_tokens', 0)} prompt + {counts.get('completion_tokens', 0)} "
        f"completion tokens, ${counts.get('cost_usd', 0):.4f}; {counts.get('pairs_failed', 0)} figures gave "
        "no usable answer and are left out.",
        f"- Refine root: {manifest.get('run_id')}, upstream digest {manifest.get('upstream', {}).get('digest')}.",
        "",
        "## Sources and licences",
        "",
        "The figures, tables and captions are excerpts of the documents below and remain under their "
        "publishers' terms. The licence column is what each document states about itself (none where "
        "it states nothing); check each source before redistributing this dataset. `sources.json` holds "
        "the same list with authors.",
        "",
        *(f"- {licence}: {count} documents" for licence, count in licence_counts(sources)),
        "",
        "| document | title | year | DOI | licence | figures | QA | split |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {source['pdf_name']} | {cell(source['title'])} | {source['year'] or ''} | {source['doi'] or ''} | "
            f"{source['licence'] or 'not stated'} | {source['pairs']} | {source['qa']} | {source['split']} |"
            for source in sources
        ),
        "",
    ]
    return "\n".join(lines)
