"""Export a refine root for training code outside this project.

    cephalo export ./refined ./llava_data --format llava    # llava_train.json, llava_val.json, images/
    cephalo export ./refined ./hf_dataset --format hf       # a `datasets` DatasetDict folder (train, val)

LLaVA: one record per pair (`id`, `image`, `conversations`), images as PNG files beside the JSON;
the output may be a local folder or s3://. Hugging Face: Cephalo's flat shape, one QA per row
(`image`, `query`, `answer`, `orig_caption`, `pdf_name`, plus `pair_id` and `kind`), saved with
`save_to_disk` into a local folder; load it with `datasets.load_from_disk`.

Both get a dataset card (`README.md`: splits, sources, teacher, prompt version, filters, cost) and
`sources.json` (every source document with its figures, QA and split).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from cephalo_ray.arguments import run_job_main
from cephalo_ray.config import ConfigError, StorageConfig, StrictModel

SPLITS = ("train", "val")


class ExportConfig(StrictModel):
    """`cephalo export` settings."""

    input: str = Field(description="a refine root (local or s3://)")
    output: str = Field(description="the export folder (llava: local or s3://; hf: local)")
    format: Literal["llava", "hf"] = Field(
        "llava", description="llava (JSON + images) or hf (datasets folder)"
    )
    allow_partial: bool = Field(False, description="export a refine root that is not complete")
    storage: StorageConfig = StorageConfig()


def read_refined(storage: Any, root: str, allow_partial: bool) -> list[dict[str, Any]]:
    """The refine root's rows, as its manifest lists them, one per pair."""
    from cephalo_ray.output_root import read_upstream
    from cephalo_ray.storage import join

    manifest, _ = read_upstream(storage, root, allow_partial)
    if manifest.get("job") != "refine":
        raise ConfigError(f"{root} holds the output of `{manifest.get('job')}`; export reads a refine root")
    table = storage.read_parquet([join(root, name) for name in manifest["files"].get("refined", [])])
    rows = table.to_pylist() if table is not None else []
    return sorted({row["pair_id"]: row for row in rows}.values(), key=lambda row: row["pair_id"])


def provenance(row: dict[str, Any]) -> dict[str, Any]:
    """Where a figure comes from, as its refined row carries it (rows of older roots lack it)."""
    return {
        "pdf_name": row["pdf_name"],
        "page": row.get("page"),
        "title": row.get("title"),
        "authors": list(row.get("authors") or []),
        "year": row.get("year"),
        "doi": row.get("doi"),
        "licence": row.get("licence"),
    }


def export_llava(storage: Any, rows: list[dict[str, Any]], output: str) -> dict[str, int]:
    from cephalo_ray.storage import join

    records: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
    for row in rows:
        image_name = f"images/{row['pair_id']}.png"
        storage.write_bytes(join(output, image_name), row["image"])
        records[row["split"]].append(
            {
                "id": row["pair_id"],
                "image": image_name,
                "conversations": row["conversations"],
                "source": provenance(row),
            }
        )
    for split, items in records.items():
        storage.write_bytes(join(output, f"llava_{split}.json"), json.dumps(items, indent=1).encode())
    return {split: len(items) for split, items in records.items()}


def export_hf(rows: list[dict[str, Any]], output: str) -> dict[str, int]:
    import datasets

    features = datasets.Features(
        {
            "image": datasets.Image(),
            "query": datasets.Value("string"),
            "answer": datasets.Value("string"),
            "orig_caption": datasets.Value("string"),
            "pdf_name": datasets.Value("string"),
            "pair_id": datasets.Value("string"),
            "kind": datasets.Value("string"),
            "page": datasets.Value("int32"),
            "title": datasets.Value("string"),
            "authors": datasets.Sequence(datasets.Value("string")),
            "year": datasets.Value("int32"),
            "doi": datasets.Value("string"),
            "licence": datasets.Value("string"),
        }
    )
    columns: dict[str, dict[str, list[Any]]] = {split: {name: [] for name in features} for split in SPLITS}
    for row in rows:
        for item in row["qa"]:
            split = columns[row["split"]]
            split["image"].append({"bytes": row["image"], "path": None})
            split["query"].append(item["query"])
            split["answer"].append(item["answer"])
            split["orig_caption"].append(row["orig_caption"])
            split["pdf_name"].append(row["pdf_name"])
            split["pair_id"].append(row["pair_id"])
            split["kind"].append(item["kind"])
            for name, value in provenance(row).items():
                if name != "pdf_name":  # a column of its own above
                    split[name].append(value)
    dataset = datasets.DatasetDict(
        {split: datasets.Dataset.from_dict(values, features=features) for split, values in columns.items()}
    )
    dataset.save_to_disk(output)
    return {split: len(values["query"]) for split, values in columns.items()}


def write_card(storage: Any, config: ExportConfig, rows: list[dict[str, Any]]) -> None:
    """README.md (the dataset card) and sources.json beside the exported data."""
    from cephalo_ray.output_root import read_manifest
    from cephalo_ray.refine.card import dataset_card, sources_of
    from cephalo_ray.storage import join

    manifest = read_manifest(storage, config.input) or {}
    storage.write_bytes(
        join(config.output, "README.md"), dataset_card(manifest, rows, config.format).encode()
    )
    storage.write_bytes(join(config.output, "sources.json"), json.dumps(sources_of(rows), indent=1).encode())


def run(config: ExportConfig) -> dict[str, int]:
    from cephalo_ray.storage import Storage, is_s3

    storage = Storage(config.storage.s3_endpoint_url, config.storage.s3_region)
    rows = read_refined(storage, config.input, config.allow_partial)
    if config.format == "hf":
        if is_s3(config.output):
            raise ConfigError("format=hf writes a local folder; export locally, then copy it to S3")
        counts = export_hf(rows, config.output)
    else:
        counts = export_llava(storage, rows, config.output)
    write_card(storage, config, rows)
    print(f"export {config.format}: {counts} into {config.output}", file=sys.stderr)
    return counts


def main(argv: Sequence[str] | None = None, prog: str = "python -m cephalo_ray.jobs.export_dataset") -> int:
    return run_job_main(ExportConfig, run, argv, prog, __doc__)


if __name__ == "__main__":
    sys.exit(main())
