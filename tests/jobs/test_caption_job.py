"""`cephalo caption` on a local Ray with a tiny model: image folders and extract roots, reruns,
unreadable images, and a killed run that resumes without duplicates."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from PIL import Image

from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.samples import gradient_png
from cephalo_ray.storage import Storage
from jobs import batch_caption
from jobs.batch_caption import CaptionConfig
from tests.helpers.roots import make_extract_root, make_pair
from tests.jobs.test_extract_job import wait_until_gone

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "tiny"
    build_tiny("llava", folder)
    return folder


def image_folder(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    for number in range(count):
        Image.new("RGB", (36 + number, 30), (number * 9 % 255, 80, 140)).save(folder / f"fig{number:03d}.png")
    return folder


def answers(output: Path) -> list[dict[str, Any]]:
    return [
        row
        for path in sorted((output / "captions").glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]


def config_for(input_: Path, output: Path, model: Path, **values: Any) -> CaptionConfig:
    base: dict[str, Any] = {
        "input": str(input_),
        "output": str(output),
        "model": str(model),
        "sampling": {"max_tokens": 6},
        "resources": {"actors": 1, "num_cpus": 0.5, "batch_size": 4},
    }
    return CaptionConfig.model_validate({**base, **values})


def test_every_image_answered_once_and_a_rerun_skips_all(
    ray_session: Any, tiny_model: Path, tmp_path: Path
) -> None:
    images = image_folder(tmp_path / "images", 10)
    (images / "broken.png").write_bytes(b"not a png at all")
    (images / "notes.txt").write_text("ignored: not an image")
    manifest = batch_caption.run(config_for(images, tmp_path / "out", tiny_model))
    rows = answers(tmp_path / "out")
    assert sorted(row["image_id"] for row in rows) == sorted(str(path) for path in images.glob("fig*.png"))
    assert all(row["prompt"] == "Describe this figure." and row["model"] == "tiny" for row in rows)
    assert all(row["completion_tokens"] >= 1 and row["seconds"] > 0 for row in rows)
    counts = manifest["counts"]
    assert (counts["images"], counts["answered_now"], counts["failed"]) == (11, 10, 1)
    assert counts["images_per_second"] > 0 and counts["actor_images_per_second"] > 0
    assert "MapBatches(CaptionStage)" in manifest["ray_data_stats"]
    errors = pq.read_table(next((tmp_path / "out" / "errors").glob("*.parquet"))).to_pylist()
    assert errors[0]["source"].endswith("broken.png") and errors[0]["stage"] == "caption"

    again = batch_caption.run(config_for(images, tmp_path / "out", tiny_model))
    counts = again["counts"]
    assert (counts["answered_now"], counts["skipped"], counts["answers"], counts["failed"]) == (0, 11, 10, 1)
    assert len(answers(tmp_path / "out")) == 10


def test_questions_over_an_extract_root(ray_session: Any, tiny_model: Path, tmp_path: Path) -> None:
    pairs = [
        make_pair(f"Figure {number}. Silk fibres under load.", doc=f"d{number}", seed=number)
        for number in range(3)
    ]
    for number, pair in enumerate(pairs):
        pair["image"] = gradient_png(40, 32, number)
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs)
    questions = tmp_path / "questions.yaml"
    questions.write_text("- What is the x axis?\n- How many panels are there?\n")
    manifest = batch_caption.run(
        config_for(tmp_path / "extract", tmp_path / "vqa", tiny_model, questions=str(questions))
    )
    rows = answers(tmp_path / "vqa")
    assert len(rows) == 6 and manifest["counts"]["answers"] == 6
    assert {(row["image_id"], row["prompt"]) for row in rows} == {
        (pair["pair_id"], question)
        for pair in pairs
        for question in ("What is the x axis?", "How many panels are there?")
    }
    assert manifest["upstream"]["job"] == "extract"


@pytest.mark.slow
def test_a_killed_run_resumes_without_duplicates(ray_session: Any, tiny_model: Path, tmp_path: Path) -> None:
    images = image_folder(tmp_path / "images", 24)
    output = tmp_path / "killed"
    command = [sys.executable, "-m", "jobs.batch_caption", str(images), str(output), f"model={tiny_model}"]
    command += [
        "sampling.max_tokens=24",
        "resources.batch_size=2",
        "resources.num_cpus=0.5",
        "resources.local_num_cpus=1",
    ]
    ray_dir = tempfile.mkdtemp(prefix="crc-", dir="/tmp")
    log = open(tmp_path / "job.log", "wb")  # noqa: SIM115 - closed below
    job = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, "RAY_TMPDIR": ray_dir},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 180
        while not list((output / "done").glob("*.parquet")):
            assert job.poll() is None, (tmp_path / "job.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no batch was committed in time"
            time.sleep(0.05)
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
        log.close()
    committed_before = len(list((output / "done").glob("*.parquet")))
    assert committed_before < 12, "the job finished before the kill; nothing was tested"
    resumed = batch_caption.run(config_for(images, output, tiny_model, sampling={"max_tokens": 24}))
    wait_until_gone(ray_dir)
    shutil.rmtree(ray_dir, ignore_errors=True)
    rows = answers(output)
    keys = [row["key"] for row in rows]
    assert len(keys) == len(set(keys)) == 24
    assert resumed["counts"]["skipped"] >= 2 * committed_before >= 2  # two images per committed batch
    assert resumed["counts"]["skipped"] + resumed["counts"]["answered_now"] == 24
