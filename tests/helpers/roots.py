"""Build small output roots directly, so downstream stages are tested on exactly the rows they need."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pyarrow as pa

from cephalo_ray.output_root import STATUS_COMPLETE, build_manifest, write_manifest
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
    }


def make_extract_root(
    storage: Storage, root: str, pairs: list[dict[str, Any]], status: str = STATUS_COMPLETE
) -> None:
    """An extract root with one pairs file and a manifest, as `cephalo extract` would leave it."""
    storage.write_parquet(
        join(root, "pairs", "part-0.parquet"), pa.Table.from_pylist(pairs, schema=pairs_schema())
    )
    manifest = build_manifest(
        job="extract",
        run_id="fixture",
        status=status,
        files={"pairs": ["pairs/part-0.parquet"], "documents": [], "errors": []},
        counts={"pairs": len(pairs)},
        config={},
        hashed_config={},
        started_at=time.time(),
    )
    write_manifest(storage, root, manifest)
