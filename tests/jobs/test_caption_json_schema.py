"""`cephalo caption --json-schema FILE` on a local Ray with a tiny model: every answer is JSON that
follows the schema; a bad schema file stops the job before anything starts; the schema is part of
the run's identity, so a rerun with another one is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from PIL import Image

from cephalo_ray.jobs import batch_caption
from tests.helpers.json_answers import ANSWER_SCHEMA, build_json_leaning_tiny, parsed_answer


@pytest.fixture(scope="module")
def leaning_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_json_leaning_tiny(tmp_path_factory.mktemp("model") / "tiny")


def caption(images: Path, output: Path, model: Path, *arguments: str) -> int:
    return batch_caption.main(
        [
            str(images),
            str(output),
            "--model",
            str(model),
            "--max-tokens",
            "160",
            "resources.num_cpus=0.5",
            "resources.batch_size=4",
            *arguments,
        ]
    )


def answers(output: Path) -> list[dict[str, Any]]:
    return [
        row
        for path in sorted((output / "captions").glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]


def test_every_answer_follows_the_schema_and_another_schema_is_refused(
    ray_session: Any, leaning_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for number in range(3):
        Image.new("RGB", (36, 30 + number), (number * 70, 80, 140)).save(images / f"fig{number}.png")
    schema = tmp_path / "answer.schema.json"
    schema.write_text(json.dumps(ANSWER_SCHEMA, indent=2))
    output = tmp_path / "out"

    assert caption(images, output, leaning_model, "--json-schema", str(schema)) == 0
    rows = answers(output)
    assert len(rows) == 3 and all(row["finish_reason"] == "stop" for row in rows)
    for row in rows:
        parsed_answer(row["answer"])
    manifest = json.loads((output / "_manifest.json").read_text())
    assert json.loads(manifest["config"]["json_schema"]) == ANSWER_SCHEMA  # the schema, not its path

    # The same schema from another file resumes (nothing to answer); another schema is refused.
    (tmp_path / "copy.json").write_text(json.dumps(ANSWER_SCHEMA))
    assert caption(images, output, leaning_model, "--json-schema", str(tmp_path / "copy.json")) == 0
    assert json.loads((output / "_manifest.json").read_text())["counts"]["answered_now"] == 0
    capsys.readouterr()
    other = {**ANSWER_SCHEMA, "required": ["answer"]}
    schema.write_text(json.dumps(other))  # the same file, edited
    assert caption(images, output, leaning_model, "--json-schema", str(schema)) == 2
    assert "`json_schema`" in capsys.readouterr().err
    assert caption(images, output, leaning_model) == 2  # without a schema: also another output
    assert "`json_schema`" in capsys.readouterr().err
    assert len(answers(output)) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "not JSON"),
        ('{"type": "object", "properties": {"answer": {"type": "frobnicate"}}}', "frobnicate"),
    ],
)
def test_a_bad_schema_file_stops_the_job_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (36, 30)).save(images / "fig.png")
    schema = tmp_path / "bad.json"
    if content is not None:
        schema.write_text(content)
    # no model and no Ray: the schema is read first, so the job stops before either is needed
    code = caption(images, tmp_path / "out", tmp_path / "no-model", "--json-schema", str(schema))
    error = capsys.readouterr().err
    assert code == 2 and "--json-schema" in error and message in error
    assert not (tmp_path / "out").exists()
