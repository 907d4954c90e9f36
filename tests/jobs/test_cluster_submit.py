"""Job submission for real: a head and a worker node started with `ray start` (token auth), the
extraction job submitted with `ray job submit` using the RayJob manifest's entrypoint, S3 on
loopback; then the same with the worker node killed mid-job (slow: a cluster start each)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from cephalo_ray.samples import sample_paper
from cephalo_ray.storage import Storage
from tests.helpers.cluster import REPO_ROOT, LocalCluster

pytestmark = pytest.mark.slow


def rayjob_entrypoint(name: str) -> str:
    entrypoint: str = yaml.safe_load((REPO_ROOT / "manifests" / f"rayjob-{name}.yaml").read_text())["spec"][
        "entrypoint"
    ]
    return entrypoint


def upload_papers(s3_server: Any, count: int, bucket: str = "lab") -> None:
    client = s3_server.client()
    client.create_bucket(Bucket=bucket)
    for seed in range(count):
        client.put_object(
            Bucket=bucket, Key=f"papers/p{seed:03d}.pdf", Body=sample_paper(seed, figures=1 + seed % 2).pdf
        )


def job_env(s3_server: Any) -> dict[str, str]:
    """What the cluster's nodes would have from their role; here the loopback S3 server."""
    return {
        "AWS_ENDPOINT_URL": s3_server.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HF_HUB_OFFLINE": "1",
    }


def read_documents(storage: Storage, root: str) -> list[dict[str, Any]]:
    manifest = json.loads(storage.read_bytes(f"{root}/_manifest.json"))
    table = storage.read_parquet([f"{root}/{name}" for name in manifest["files"]["documents"]])
    return table.to_pylist() if table is not None else []


def test_the_rayjob_entrypoint_runs_on_a_two_node_cluster(s3_server: Any, tmp_path: Path) -> None:
    upload_papers(s3_server, 6)
    entrypoint = rayjob_entrypoint("extract")
    with LocalCluster(num_cpus=1) as cluster:
        cluster.add_worker("worker", num_cpus=1)
        submission = cluster.submit(entrypoint, job_env(s3_server))
        output, _ = submission.communicate(timeout=300)
    assert submission.returncode == 0, output[-3000:]
    assert "succeeded" in output and "extract complete: 6 documents" in output
    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    manifest = json.loads(storage.read_bytes("s3://lab/pairs/_manifest.json"))
    assert manifest["status"] == "complete" and manifest["counts"]["documents_ok"] == 6
    assert sorted(row["source"] for row in read_documents(storage, "s3://lab/pairs")) == [
        f"s3://lab/papers/p{seed:03d}.pdf" for seed in range(6)
    ]


def test_a_lost_worker_node_leaves_every_document_accounted_for_once(s3_server: Any, tmp_path: Path) -> None:
    # a bucket of its own: the S3 server lives for the session, and a root the test above wrote would resume
    upload_papers(s3_server, 24, bucket="lost")
    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    # small batches and two half-CPU actors, so the worker node holds work when it goes
    entrypoint = rayjob_entrypoint("extract") + " input=s3://lost/papers output=s3://lost/pairs"
    entrypoint += " resources.docs_per_file=2 resources.num_cpus=0.5 resources.actors=2"
    with LocalCluster(num_cpus=1) as cluster:
        cluster.add_worker("worker", num_cpus=1)
        submission = cluster.submit(entrypoint, job_env(s3_server))
        deadline = time.monotonic() + 240
        while not storage.list_files("s3://lost/pairs/documents", ".parquet"):
            assert submission.poll() is None, submission.stdout.read()[-3000:] if submission.stdout else ""
            assert time.monotonic() < deadline, "no batch was committed in time"
            time.sleep(0.2)
        committed_before_kill = len(storage.list_files("s3://lost/pairs/documents", ".parquet"))
        cluster.kill("worker")
        output, _ = submission.communicate(timeout=600)
    assert submission.returncode == 0, output[-3000:]
    assert committed_before_kill < 12, "the job had finished before the node was lost; nothing was tested"
    sources = [row["source"] for row in read_documents(storage, "s3://lost/pairs")]
    assert sorted(sources) == [f"s3://lost/papers/p{seed:03d}.pdf" for seed in range(24)]  # each exactly once
    manifest = json.loads(storage.read_bytes("s3://lost/pairs/_manifest.json"))
    assert manifest["status"] == "complete" and manifest["counts"]["documents_ok"] == 24
