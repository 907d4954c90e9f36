"""A larger generated corpus from S3 to S3 with several actors: slow."""

from __future__ import annotations

from typing import Any

import pytest

from cephalo_ray.jobs import extract_figures
from cephalo_ray.output_root import manifest_files, read_upstream
from cephalo_ray.samples import sample_paper
from cephalo_ray.storage import Storage
from tests.helpers.servers import MotoS3Server

pytestmark = pytest.mark.slow


def test_sixty_papers_s3_to_s3(ray_session: Any, s3_server: MotoS3Server, s3_bucket: str) -> None:
    client = s3_server.client()
    expected_pairs = 0
    for seed in range(60):
        paper = sample_paper(seed, figures=1 + seed % 4)
        expected_pairs += len(paper.figures)
        client.put_object(Bucket=s3_bucket, Key=f"corpus/{seed % 7}/paper-{seed}.pdf", Body=paper.pdf)
    config = extract_figures.ExtractConfig.model_validate(
        {
            "input": f"s3://{s3_bucket}/corpus",
            "output": f"s3://{s3_bucket}/out",
            "dpi": 72,
            "storage": {"s3_endpoint_url": s3_server.endpoint_url},
            "resources": {"actors": 2, "num_cpus": 0.5, "docs_per_file": 8},
        }
    )
    manifest = extract_figures.run(config)
    assert manifest["status"] == "complete" and manifest["counts"]["documents_ok"] == 60
    assert manifest["counts"]["pairs"] == expected_pairs
    # eight commits of up to 8 documents, far below target_file_mb: merged into one file each
    assert len(manifest["files"]["documents"]) == len(manifest["files"]["pairs"]) == 1
    data_files = [item["Key"] for item in client.list_objects_v2(Bucket=s3_bucket, Prefix="out/")["Contents"]]
    assert len([key for key in data_files if key.endswith(".parquet")]) == 2  # the merged ones only
    # the manifest summarises its files and names their list, which a downstream job reads back
    listed = manifest["file_list"]
    assert listed["files"] == 2 and listed["by_directory"]["errors"] == {"files": 0, "bytes": 0}
    assert f"out/{listed['path']}" in data_files and listed["bytes"] == sum(
        item["Size"]
        for item in client.list_objects_v2(Bucket=s3_bucket, Prefix="out/")["Contents"]
        if item["Key"].endswith(".parquet")
    )
    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    upstream, _ = read_upstream(storage, f"s3://{s3_bucket}/out")
    assert upstream["files"] == manifest_files(storage, f"s3://{s3_bucket}/out", {"file_list": listed})
