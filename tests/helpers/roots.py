"""Build small output roots directly, so downstream stages are tested on exactly the rows they need."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pyarrow as pa

from cephalo_ray.output_root import STATUS_COMPLETE, build_manifest, read_manifest, write_manifest
from cephalo_ray.rows import pairs_schema
from cephalo_ray.samples import gradient_png
from cephalo_ray.storage import Storage, join


def make_pair(
    caption: str, mentions: list[str] | None = None, doc: str = "doc-a", page: int = 1, seed: int = 0
) -> dict[str, Any]:
    doc_id = hashlib.sha256(doc.encode()).hexdigest()
    label = caption.split(".")[0] if caption.startswith(("Figure", "Table")) else None
    pair_id = hashlib.sha256(f"{doc_id}|{page}|{caption}".encode()).hexdigest()[:16]
    return {
        "pair_id": pair_id,
        "doc_id": doc_id,
        "source": f"s3://lab/papers/{doc}.pdf",
        "page": page,
        "kind": "table" if caption.startswith("Table") else "figure",
        "bbox": [10.0, 20.0, 300.0, 220.0],
        "label": label,
        "caption": caption,
        "mentions": mentions or [],
        "image": gradient_png(64, 48, seed),
        "image_width": 64,
        "image_height": 48,
        "graphics": "raster",
        "caption_bbox": None,
        "caption_page": None,
    }


def make_extract_root(
    storage: Storage,
    root: str,
    pairs: list[dict[str, Any]],
    status: str = STATUS_COMPLETE,
    documents: dict[str, dict[str, Any]] | None = None,
) -> None:
    """An extract root with one pairs file and a manifest, as `cephalo extract` would leave it;
    `documents` (doc name -> title, authors, year, doi, licence) fills its documents ledger."""
    from cephalo_ray.rows import documents_schema

    table = pa.Table.from_pylist(pairs, schema=pairs_schema())
    write_root(
        storage, root, "extract", "pairs", table, ("documents", "errors"), {"pairs": len(pairs)}, status
    )
    if documents:
        rows = [
            {
                "source": f"s3://lab/papers/{doc}.pdf",
                "doc_id": hashlib.sha256(doc.encode()).hexdigest(),
                "status": "ok",
                **stated,
            }
            for doc, stated in documents.items()
        ]
        storage.write_parquet(
            join(root, "documents", "part-0.parquet"), pa.Table.from_pylist(rows, schema=documents_schema())
        )
        manifest = read_manifest(storage, root)
        assert manifest is not None
        manifest["files"]["documents"] = ["documents/part-0.parquet"]
        write_manifest(storage, root, manifest)


def make_refine_root(storage: Storage, root: str, count: int, val_every: int = 4) -> list[dict[str, Any]]:
    """A refine root of `count` one-turn conversations; every `val_every`-th row is in `val`."""
    from cephalo_ray.rows import refined_schema

    rows = []
    for index in range(count):
        answer = f"Silk fibre {index} stretches under load."
        rows.append(
            {
                "pair_id": f"{index:016x}",
                "doc_id": f"doc-{index}",
                "split": "val" if index % val_every == val_every - 1 else "train",
                "kind": "figure",
                "label": f"Figure {index}",
                "image": gradient_png(40, 40, index),
                "orig_caption": f"Figure {index}. Silk fibre {index} under load.",
                "pdf_name": f"paper-{index}.pdf",
                "qa": [{"kind": "what", "query": "What is shown?", "answer": answer}],
                "conversations": [
                    {"from": "human", "value": "<image>\nWhat is shown?"},
                    {"from": "gpt", "value": answer},
                ],
                "teacher": "template",
                "model": "template",
                "prompt_version": "qa-v1",
                "cache_key": f"key-{index}",
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0},
                "dropped": [],
            }
        )
    table = pa.Table.from_pylist(rows, schema=refined_schema())
    write_root(
        storage, root, "refine", "refined", table, ("errors", "done"), {"pairs_ok": count}, STATUS_COMPLETE
    )
    return rows


def write_root(
    storage: Storage,
    root: str,
    job: str,
    rows_dir: str,
    table: pa.Table,
    empty_dirs: tuple[str, ...],
    counts: dict[str, Any],
    status: str,
) -> None:
    """One data file and a manifest listing it, as the job named `job` would leave its root."""
    storage.write_parquet(join(root, rows_dir, "part-0.parquet"), table)
    files = {rows_dir: [f"{rows_dir}/part-0.parquet"], **{name: [] for name in empty_dirs}}
    manifest = build_manifest(
        job=job,
        run_id="fixture",
        status=status,
        files=files,
        counts=counts,
        config={},
        hashed_config={},
        started_at=time.time(),
    )
    write_manifest(storage, root, manifest)
