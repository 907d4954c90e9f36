"""`cephalo caption` on a local Ray with a tiny model: image folders and extract roots, reruns,
unreadable images, and a killed run that resumes without duplicates."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from cephalo_ray.jobs import batch_caption
from cephalo_ray.jobs.batch_caption import CaptionConfig
from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.samples import gradient_png
from cephalo_ray.storage import Storage
from tests.helpers.killed_jobs import gone, kill_when
from tests.helpers.roots import make_extract_root, make_pair


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
    assert sorted(row["image_id"] for row in rows) == sorted(path.name for path in images.glob("fig*.png"))
    assert all(row["source"] == str(images / row["image_id"]) for row in rows)
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
    assert again["ray_data_stats"] == ""  # nothing pending: no pipeline ran, no model was loaded
    assert len(answers(tmp_path / "out")) == 10

    # The image is repaired: --retry-failed asks again, and its error row goes with the old attempt.
    Image.new("RGB", (40, 32), (10, 200, 30)).save(images / "broken.png", format="PNG")
    retried = batch_caption.run(config_for(images, tmp_path / "out", tiny_model, retry_failed=True))
    counts = retried["counts"]
    assert (counts["answered_now"], counts["skipped"], counts["answers"], counts["failed"]) == (1, 10, 11, 0)
    assert retried["files"]["errors"] == [] and not list((tmp_path / "out" / "errors").glob("*.parquet"))
    assert len(answers(tmp_path / "out")) == 11


@pytest.mark.parametrize("killed_while_settling", [False, True])
def test_answers_a_retried_batch_commits_twice_are_kept_once(
    ray_session: Any,
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    killed_while_settling: bool,
) -> None:
    """A lost worker's batch is retried regrouped on other actors (the extract test's method): the
    same answers commit again under other names; each is kept once, and a kill while settling heals."""
    from cephalo_ray import ledger
    from cephalo_ray.caption.identity import PLACE_COLUMNS, answer_items, done_lookup, recognise
    from cephalo_ray.caption.stage import CaptionStage
    from cephalo_ray.models.engine import EngineOptions, SamplingParams

    images = image_folder(tmp_path / "images", 5)
    groupings = [[0, 1, 2], [2, 3, 4], [1]]  # the lost actor's batch, then two overlapping retries
    columns = pa.schema(
        [
            ("image_id", pa.string()),
            ("source", pa.string()),
            ("uri", pa.string()),
            ("image", pa.binary()),
            ("size", pa.int64()),
            ("mtime_ns", pa.int64()),
        ]
    )

    def lost_worker_pipeline(
        config: CaptionConfig,
        root: Any,
        storage: Storage,
        kind: str,
        inputs: pa.Table,
        prompts: list[str],
        redo: set[str],
        *_: Any,
    ) -> dict[str, Any]:
        params = SamplingParams(**config.sampling.model_dump())
        options = EngineOptions(batch_wait_s=0.0)
        standing = root.finished(ledger.status_is_in(redo), PLACE_COLUMNS)
        done = done_lookup(recognise(answer_items(inputs, prompts), standing).done)
        stage = CaptionStage(root.committer, storage, str(tiny_model), "tiny", prompts, done, params, options)
        images = inputs.to_pylist()
        try:
            for grouping in groupings:
                rows = [
                    {
                        "image_id": images[i]["image_id"],
                        "source": images[i]["uri"],
                        "uri": images[i]["uri"],
                        "image": None,
                        "size": images[i]["size"],
                        "mtime_ns": images[i]["mtime_ns"],
                    }
                    for i in grouping
                ]
                stage(pa.Table.from_pylist(rows, schema=columns))
        finally:
            stage.engine.close()
        if killed_while_settling:  # the driver dies right after the first rewrite has committed
            commit_batch = ledger.commit_batch

            def commit_then_die(*args: Any, **kwargs: Any) -> None:
                commit_batch(*args, **kwargs)
                raise KeyboardInterrupt("killed")

            monkeypatch.setattr(ledger, "commit_batch", commit_then_die)
        speeds = {"images_per_second": 0.0, "tokens_per_second": 0.0}
        return {"images": inputs.num_rows, "answered_now": 5, "skipped": 0, **speeds, "ray_data_stats": ""}

    monkeypatch.setattr(batch_caption, "caption_pending", lost_worker_pipeline)
    config = config_for(images, tmp_path / "out", tiny_model)
    if killed_while_settling:
        with pytest.raises(KeyboardInterrupt):
            batch_caption.run(config)
        monkeypatch.undo()  # the rerun is a real one: it settles the rest and answers nothing again
    manifest = batch_caption.run(config)
    assert sorted(row["image_id"] for row in answers(tmp_path / "out")) == sorted(
        path.name for path in images.glob("*.png")
    )
    assert manifest["status"] == "complete" and manifest["counts"]["answers"] == 5
    if killed_while_settling:
        assert manifest["counts"]["answered_now"] == 0 and manifest["counts"]["skipped"] == 5
    on_disk = sorted(
        str(path.relative_to(tmp_path / "out")) for path in (tmp_path / "out").rglob("*.parquet")
    )
    assert on_disk == sorted(name for names in manifest["files"].values() for name in names)


def test_a_model_with_its_own_code_answers_only_with_trust_remote_code(
    ray_session: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.serve.test_remote_code import remote_code_model

    model = remote_code_model(tmp_path / "remote")
    images = image_folder(tmp_path / "images", 2)
    output = tmp_path / "out"
    assert batch_caption.main([str(images), str(output), "--model", str(model)]) == 2
    assert "trust_remote_code (--trust-remote-code)" in capsys.readouterr().err
    assert not output.exists()  # refused before the root is claimed
    manifest = batch_caption.run(config_for(images, output, model, trust_remote_code=True))
    assert manifest["counts"]["answers"] == 2 and {row["model"] for row in answers(output)} == {"remote"}
    # how the model loads is not the run's identity: the root resumes either way
    assert "trust_remote_code" not in manifest["hashed_config"]


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
    command = [
        sys.executable,
        "-m",
        "cephalo_ray.jobs.batch_caption",
        str(images),
        str(output),
        f"model={tiny_model}",
    ]
    command += [
        "sampling.max_tokens=24",
        "resources.batch_size=2",
        "resources.num_cpus=0.5",
        "resources.local_num_cpus=1",
    ]
    ray_dir = kill_when(
        command, lambda: bool(list((output / "done").glob("*.parquet"))), tmp_path / "job.log", timeout_s=180
    )
    committed_before = len(list((output / "done").glob("*.parquet")))
    assert committed_before < 12, "the job finished before the kill; nothing was tested"
    resumed = batch_caption.run(config_for(images, output, tiny_model, sampling={"max_tokens": 24}))
    gone(ray_dir)
    rows = answers(output)
    keys = [row["key"] for row in rows]
    assert len(keys) == len(set(keys)) == 24
    assert resumed["counts"]["skipped"] >= 2 * committed_before >= 2  # two images per committed batch
    assert resumed["counts"]["skipped"] + resumed["counts"]["answered_now"] == 24
