"""Session-scoped servers (S3 on loopback, a fake OpenAI endpoint, one local Ray), always stopped."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Set before anything starts Ray or a child process, so workers and sandboxes inherit them.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # keep Ray on 127.0.0.1
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
for key, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[key] = value
os.environ.pop("RAY_ADDRESS", None)
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.helpers.servers import FakeOpenAIServer, MotoS3Server  # noqa: E402


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoS3Server]:
    server = MotoS3Server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def s3_bucket(s3_server: MotoS3Server) -> str:
    """A fresh, empty bucket; returns its name."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def openai_server() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """One local Ray for the whole test session (never attached to a machine-wide Ray)."""
    import ray

    temp_dir = tempfile.mkdtemp(prefix="cr-ray-", dir="/tmp")
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        _temp_dir=temp_dir,
        logging_level="WARNING",
        configure_logging=True,
    )
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def sample_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated papers plus one of each broken input kind (see `cephalo_ray.samples`)."""
    from cephalo_ray.samples import write_sample_corpus

    folder = tmp_path_factory.mktemp("corpus")
    write_sample_corpus(folder, papers=5)
    return folder
