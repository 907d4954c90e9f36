"""`cephalo caption` knows an image by its path inside the input folder and by its bytes: the same
folder moved, mounted elsewhere or copied to S3 asks nothing again and loads no model, while an image
whose bytes changed under the same name is asked again and its old answer replaced."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from PIL import Image

from cephalo_ray.config import ConfigError
from cephalo_ray.jobs import batch_caption
from cephalo_ray.jobs.batch_caption import CaptionConfig
from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.output_root import build_manifest, write_manifest
from cephalo_ray.storage import Storage


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "tiny"
    build_tiny("llava", folder)
    return folder


def own_model(tiny_model: Path, tmp_path: Path) -> Path:
    """A copy of the model that the test deletes to prove that a rerun loads none."""
    return Path(shutil.copytree(tiny_model, tmp_path / "models" / "tiny"))


def image_folder(folder: Path, count: int, suffix: str = "png") -> Path:
    (folder / "panels").mkdir(parents=True)
    for number in range(count):
        Image.new("RGB", (36, 30), (number * 40 % 255, 80, 140)).save(folder / f"fig{number}.{suffix}")
    Image.new("RGB", (32, 32), (200, 10, 10)).save(folder / "panels" / f"a.{suffix}")
    return folder


def rows_of(output: Path, directory: str) -> list[dict[str, Any]]:
    return [
        row
        for path in sorted((output / directory).glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]


def config_for(input_: str | Path, output: Path, model: Path, **values: Any) -> CaptionConfig:
    base: dict[str, Any] = {
        "input": str(input_),
        "output": str(output),
        "model": str(model),
        "sampling": {"max_tokens": 4},
        "resources": {"actors": 1, "num_cpus": 0.5, "batch_size": 4},
    }
    return CaptionConfig.model_validate({**base, **values})


def files_match_manifest(output: Path, manifest: dict[str, Any]) -> bool:
    on_disk = sorted(str(path.relative_to(output)) for path in output.rglob("*.parquet"))
    return on_disk == sorted(name for names in manifest["files"].values() for name in names)


def test_a_moved_folder_asks_nothing_again_and_loads_no_model(
    ray_session: Any, tiny_model: Path, tmp_path: Path
) -> None:
    model = own_model(tiny_model, tmp_path)
    figs = image_folder(tmp_path / "data" / "figs", 3)
    output = tmp_path / "out"
    batch_caption.run(config_for(figs, output, model))
    before = {row["key"]: row for row in rows_of(output, "captions")}
    assert sorted(row["image_id"] for row in before.values()) == [
        "fig0.png",
        "fig1.png",
        "fig2.png",
        "panels/a.png",
    ]

    mounted = tmp_path / "mnt" / "x" / "figs"
    mounted.parent.mkdir(parents=True)
    shutil.move(figs, mounted)
    shutil.rmtree(model)  # from here on, loading the model fails
    manifest = batch_caption.run(config_for(mounted, output, model))
    counts = manifest["counts"]
    assert (counts["answered_now"], counts["skipped"], counts["answers"]) == (0, 4, 4)
    assert (counts["checked"], counts["moved"], counts["changed"]) == (4, 4, 0)
    after = {row["key"]: row for row in rows_of(output, "captions")}
    assert {key: row["answer"] for key, row in after.items()} == {
        key: row["answer"] for key, row in before.items()
    }
    assert all(row["source"] == str(mounted / row["image_id"]) for row in after.values())
    assert files_match_manifest(output, manifest)

    # The answers now name the new place: the next rerun there trusts them without reading an image.
    again = batch_caption.run(config_for(mounted, output, model))["counts"]
    assert (again["answered_now"], again["checked"], again["answers"]) == (0, 0, 4)


def test_a_folder_copied_to_s3_asks_nothing_again(
    ray_session: Any, s3_server: Any, s3_bucket: str, tiny_model: Path, tmp_path: Path
) -> None:
    model = own_model(tiny_model, tmp_path)
    figs = image_folder(tmp_path / "figs", 2)
    output = tmp_path / "out"
    batch_caption.run(config_for(figs, output, model))
    client = s3_server.client()
    for path in figs.rglob("*.png"):
        client.put_object(Bucket=s3_bucket, Key=f"figs/{path.relative_to(figs)}", Body=path.read_bytes())
    shutil.rmtree(model)
    storage = {"s3_endpoint_url": s3_server.endpoint_url}
    manifest = batch_caption.run(config_for(f"s3://{s3_bucket}/figs/", output, model, storage=storage))
    counts = manifest["counts"]
    assert (counts["answered_now"], counts["answers"], counts["checked"], counts["moved"]) == (0, 3, 3, 3)
    rows = rows_of(output, "captions")
    assert sorted(row["image_id"] for row in rows) == ["fig0.png", "fig1.png", "panels/a.png"]
    assert all(row["source"] == f"s3://{s3_bucket}/figs/{row['image_id']}" for row in rows)


@pytest.mark.slow  # about 15 s: two caption runs with a model load each
def test_an_image_with_other_bytes_under_the_same_name_is_asked_again(
    ray_session: Any, tiny_model: Path, tmp_path: Path
) -> None:
    # BMP: the same width and height give the same file size, whatever the pixels
    figs = image_folder(tmp_path / "a" / "figs", 3, suffix="bmp")
    output = tmp_path / "out"
    batch_caption.run(config_for(figs, output, tiny_model))

    copy = Path(shutil.copytree(figs, tmp_path / "b" / "figs"))  # keeps modification times
    edited = copy / "fig1.bmp"
    stat = edited.stat()
    Image.new("RGB", (36, 30), (1, 2, 3)).save(edited)
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same name, size and time: other bytes
    assert edited.stat().st_size == stat.st_size
    manifest = batch_caption.run(config_for(copy, output, tiny_model))
    counts = manifest["counts"]
    assert (counts["answered_now"], counts["skipped"], counts["answers"]) == (1, 3, 4)
    assert (counts["checked"], counts["moved"], counts["changed"]) == (4, 3, 1)
    rows = rows_of(output, "captions")
    assert sorted(row["image_id"] for row in rows) == ["fig0.bmp", "fig1.bmp", "fig2.bmp", "panels/a.bmp"]
    assert all(row["source"] == str(copy / row["image_id"]) for row in rows)
    ledger = {row["image_id"]: row for row in rows_of(output, "done")}
    assert ledger["fig1.bmp"]["sha256"] == hashlib.sha256(edited.read_bytes()).hexdigest()
    assert files_match_manifest(output, manifest)

    # An ordinary edit in place (a new modification time) is read again and asked again too.
    Image.new("RGB", (36, 30), (9, 9, 9)).save(copy / "fig2.bmp")
    counts = batch_caption.run(config_for(copy, output, tiny_model))["counts"]
    assert (counts["answered_now"], counts["checked"], counts["changed"], counts["answers"]) == (1, 1, 1, 4)
    assert len(rows_of(output, "captions")) == 4


def test_a_root_that_named_images_by_absolute_path_is_refused_naming_the_fix(tmp_path: Path) -> None:
    figs = image_folder(tmp_path / "figs", 1)
    output = tmp_path / "old"
    config = config_for(figs, output, tmp_path / "no-model")
    # what an earlier version recorded: the input's path in the run's identity, images by their URI
    hashed = {
        **config.model_dump(
            exclude={"output", "resources", "storage", "questions", "prompt", "retry_failed"}
        ),
        "prompts": ["Describe this figure."],
    }
    manifest = build_manifest(
        job="caption",
        run_id="old",
        status="complete",
        files={},
        counts={},
        config=config.model_dump(),
        hashed_config=hashed,
        started_at=0.0,
    )
    write_manifest(Storage(), str(output), manifest)
    with pytest.raises(ConfigError, match="absolute path") as refused:
        batch_caption.run(config)
    assert "new output root" in str(refused.value)
    assert json.loads((output / "_manifest.json").read_text())["run_id"] == "old"  # left as it was


def test_image_names_are_paths_inside_the_input() -> None:
    from cephalo_ray.caption.identity import image_name

    assert image_name("s3://lab/figs/panels/a.png", "s3://lab/figs/") == "panels/a.png"
    assert image_name("s3://lab/figs/a.png", "s3://lab/figs") == "a.png"
    assert image_name("/data/figs/panels/a.png", "/data/figs/") == "panels/a.png"


def test_an_answer_stands_by_where_it_was_listed_or_else_by_its_bytes() -> None:
    import pyarrow as pa

    from cephalo_ray.caption.identity import answer_items, item_key, ledger_schema, recognise

    prompts = ["Describe this figure."]

    def listed(mtime_ns: int | None = 5) -> pa.Table:
        return answer_items(
            pa.table(
                {
                    "image_id": ["a.png"],
                    "uri": ["/new/a.png"],
                    "size": pa.array([10], pa.int64()),
                    "mtime_ns": pa.array([mtime_ns], pa.int64()),
                }
            ),
            prompts,
        )

    def answered(**changes: Any) -> pa.Table:  # the settled ledger's rows that stand
        return pa.Table.from_pylist([{**row, **changes}], schema=ledger_schema())

    def digests(value: str | None) -> pa.Table:
        return pa.table({"uri": ["/new/a.png"], "sha256": pa.array([value], pa.string())})

    image = listed().select(["image_id", "uri", "size", "mtime_ns"])
    key = item_key("a.png", prompts[0])
    row = {"key": key, "image_id": "a.png", "status": "ok", "size": 10, "mtime_ns": 5, "sha256": "s1"}
    same_place = recognise(listed(), answered(source="/new/a.png"))
    assert same_place.done.to_pylist() == [key] and not same_place.to_check  # nothing to read
    elsewhere = answered(source="/old/a.png")
    unchecked = recognise(listed(), elsewhere)
    assert not unchecked.done.to_pylist() and unchecked.unchecked == image
    same_bytes = recognise(listed(), elsewhere, digests("s1"))
    assert same_bytes.done.to_pylist() == [key] and same_bytes.moved == image and same_bytes.changed == 0
    other_bytes = recognise(listed(), elsewhere, digests("s2"))
    assert not other_bytes.done.to_pylist() and not other_bytes.to_adopt and other_bytes.changed == 1
    unreadable = recognise(listed(), elsewhere, digests(None))
    assert unreadable.done.to_pylist() == [key] and unreadable.unreadable == 1 and not unreadable.to_adopt
    retried = recognise(listed(), answered(source="/new/a.png").slice(0, 0))  # a `retry` row: not standing
    assert not retried.done.to_pylist() and not retried.to_check
    # storage that gives no time: read it
    assert recognise(listed(mtime_ns=None), answered(source="/new/a.png")).to_check == 1
