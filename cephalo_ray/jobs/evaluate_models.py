"""Compare models on the held-out questions of a refine root, side by side.

    cephalo eval ./refined --model ./runs/r1/model --model ./merged/model --model ./moe/model
    cephalo eval ./refined --model ./runs/r1/model --answers other-system.jsonl --output ./eval
On a cluster (one GPU task per model):
    ray job submit --working-dir . -- python -m cephalo_ray.jobs.evaluate_models --config configs/eval/cluster.yaml

Each model answers, greedily, every teacher question of the val split (with the figure) and a
POPE-style yes/no probe built from the captions (objects a caption names vs. objects only other
captions name). Scores (`cephalo_ray.evaluate.scores`): exact match and contains on short answers,
token F1 and ROUGE-L against the teacher's answers, POPE accuracy / precision / recall / F1 /
yes-ratio. Where questions name their options ("... Answer bar, line or scatter."), the table adds
what answering without the image scores (`chance`, `majority`) and a second table gives exact match
per such question. `--answers F.jsonl` adds answers produced elsewhere ({"id": ..., "answer": ...} per line,
ids from OUT/questions.jsonl). OUT gets questions.jsonl, answers.parquet, scores.json, scores.md
and _manifest.json; the Markdown table is printed. Each model runs as a Ray task
(`resources.num_gpus` per model on a GPU cluster).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from cephalo_ray.arguments import run_job_main
from cephalo_ray.config import ConfigError, StorageConfig, StrictModel

JOB = "eval"


class EvalResources(StrictModel):
    num_cpus: float = Field(1.0, gt=0, description="CPUs of each model's Ray task")
    num_gpus: float = Field(0.0, ge=0, description="GPUs of each model's Ray task")
    max_batch_size: int = Field(32, ge=1, description="questions generated together")
    local_num_cpus: int | None = Field(None, ge=1, description="CPUs of a local Ray (default: all)")


class EvalConfig(StrictModel):
    """`cephalo eval` settings."""

    input: str = Field(description="a refine root (local or s3://)")
    output: str = Field("eval_out", description="where questions, answers and scores go")
    models: list[str] = Field(
        default_factory=list,
        description="models to compare (folders, hub names, s3://)",
        json_schema_extra={"flag": "model"},
    )
    names: list[str] = Field(
        default_factory=list,
        description="a name per model (default: folder names)",
        json_schema_extra={"flag": "name"},
    )
    answer_files: list[str] = Field(
        default_factory=list,
        description=".jsonl answers made elsewhere",
        json_schema_extra={"flag": "answers"},
    )
    split: Literal["val", "train", "all"] = Field("val", description="which rows' questions are asked")
    max_images: int | None = Field(None, ge=1, description="most images evaluated (first by pair_id)")
    short_answer_words: int = Field(
        5, ge=1, description="teacher answers this short are scored by exact match"
    )
    pope_per_image: int = Field(3, ge=0, description="yes (and as many no) probes per image")
    max_tokens: int = Field(32, ge=1, description="most tokens per answer")
    seed: int = Field(0, description="seed of the POPE negatives")
    dtype: str = Field("auto", description="weights dtype")
    allow_partial: bool = Field(False, description="accept a refine root that is not complete")
    resources: EvalResources = EvalResources()
    storage: StorageConfig = StorageConfig()

    @model_validator(mode="after")
    def something_to_compare(self) -> EvalConfig:
        if not self.models and not self.answer_files:
            raise ValueError("give at least one --model or --answers file")
        if self.names and len(self.names) != len(self.models):
            raise ValueError(
                f"names has {len(self.names)} entries for {len(self.models)} models; one --name per --model"
            )
        return self

    def model_names(self) -> list[str]:
        from cephalo_ray.jobs.batch_caption import model_label

        names = self.names or [model_label(model) for model in self.models]
        names += [Path(path).stem for path in self.answer_files]
        if len(set(names)) != len(names):
            raise ConfigError(f"model names repeat: {names}; set --name for each --model")
        return names


def read_rows(config: EvalConfig, storage: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from cephalo_ray.output_root import read_upstream
    from cephalo_ray.storage import join

    upstream, digest = read_upstream(storage, config.input, config.allow_partial)
    files = [join(config.input, name) for name in upstream["files"].get("refined", [])]
    table = storage.read_parquet(files)
    rows = (
        table.select(["pair_id", "split", "qa", "orig_caption", "image"]).to_pylist()
        if table is not None
        else []
    )
    rows = sorted(
        (row for row in rows if config.split == "all" or row["split"] == config.split),
        key=lambda row: row["pair_id"],
    )
    if config.max_images:
        rows = rows[: config.max_images]
    return rows, {"uri": config.input, "digest": digest, "job": upstream.get("job")}


def answer_with_model(
    model: str,
    questions: list[dict[str, Any]],
    images: dict[str, bytes],
    engine_options: Any,
    max_tokens: int,
) -> dict[str, str]:
    """Ray task body: load `model` and answer every question greedily; id -> answer."""
    import io

    from PIL import Image

    from cephalo_ray.models.engine import Engine, SamplingParams, image_messages

    engine = Engine.load(model, engine_options)
    try:
        decoded = {pair_id: Image.open(io.BytesIO(data)).convert("RGB") for pair_id, data in images.items()}
        params = SamplingParams(max_tokens=max_tokens, temperature=0)
        results = engine.generate_many(
            [
                (image_messages(question["question"]), [decoded[question["pair_id"]]], params)
                for question in questions
            ]
        )
        return {
            question["id"]: "" if result["error"] else result["text"]
            for question, result in zip(questions, results, strict=True)
        }
    finally:
        engine.close()


def read_answer_file(path: str) -> dict[str, str]:
    answers = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if line.strip():
            item = json.loads(line)
            if "id" not in item or "answer" not in item:
                raise ConfigError(f'answers: {path}:{number}: each line needs "id" and "answer"')
            answers[str(item["id"])] = str(item["answer"])
    return answers


def run(config: EvalConfig) -> dict[str, Any]:
    """Answer, score and write the comparison; returns the manifest."""
    from cephalo_ray.restart import RootLayout, RootRun, Summary
    from cephalo_ray.storage import Storage

    storage = Storage(config.storage.s3_endpoint_url, config.storage.s3_region)
    names = config.model_names()
    answer_files = {Path(path).stem: read_answer_file(path) for path in config.answer_files}
    rows, upstream = read_rows(config, storage)
    root = RootRun(
        storage,
        config.output,
        RootLayout(job=JOB),
        config=config.model_dump(),
        hashed_config=config.model_dump(exclude={"output", "resources", "storage"}),
        upstream=upstream,
    )
    with root:
        scores, questions, closed, table = answer_and_score(config, storage, rows, names, answer_files)
        counts = {"images": len(rows), "questions": questions, "models": len(names)}
        files = {
            "scores": ["scores.json", "scores.md"],
            "answers": ["answers.parquet"],
            "questions": ["questions.jsonl"],
        }
        extra = {"scores": scores, **closed}
        manifest = root.finish(lambda _: Summary(counts, True, extra=extra, files=files))
    print(table, file=sys.stdout, end="")
    return manifest


def answer_and_score(
    config: EvalConfig,
    storage: Any,
    rows: list[dict[str, Any]],
    names: list[str],
    answer_files: dict[str, dict[str, str]],
) -> tuple[dict[str, Any], int, dict[str, Any], str]:
    """Ask every model every question, score them, and write questions, answers and scores; returns
    the scores by model, the number of questions, the baselines and per-question exact match of
    closed questions (empty when there are none), and the Markdown tables."""
    import pyarrow as pa
    import ray

    from cephalo_ray.evaluate.scores import (
        baseline_scores,
        build_questions,
        closed_table,
        exact_by_question,
        markdown_table,
        score,
    )
    from cephalo_ray.models.engine import EngineOptions
    from cephalo_ray.models.loader import model_location
    from cephalo_ray.ray_session import connect_ray
    from cephalo_ray.storage import join

    questions = build_questions(rows, config.pope_per_image, config.seed)
    print(f"eval: {len(rows)} images, {len(questions)} questions, {len(names)} models", file=sys.stderr)
    answers: dict[str, dict[str, str]] = {}
    if config.models:
        images = {row["pair_id"]: row["image"] for row in rows}
        engine_options = EngineOptions(
            dtype=config.dtype,
            max_batch_size=config.resources.max_batch_size,
            max_waiting=len(questions) + 1,
            batch_wait_s=0.0,  # every question is asked at once
        )
        task = ray.remote(num_cpus=config.resources.num_cpus, num_gpus=config.resources.num_gpus)(
            answer_with_model
        )
        started_here = connect_ray(config.resources.local_num_cpus)
        try:
            shared = (ray.put(questions), ray.put(images))
            locations = [model_location(model) for model in config.models]
            pending = [task.remote(model, *shared, engine_options, config.max_tokens) for model in locations]
            for name, result in zip(names, ray.get(pending), strict=False):
                answers[name] = result
        finally:
            if started_here:
                ray.shutdown()
    answers.update(answer_files)
    scores = {name: score(questions, answers[name], config.short_answer_words) for name in names}
    baselines = baseline_scores(questions, config.short_answer_words)
    table = markdown_table(scores, baselines) + "\n"
    closed: dict[str, Any] = {}
    if baselines:
        by_question = {
            name: exact_by_question(questions, answers[name], config.short_answer_words) for name in names
        }
        by_question.update({f"*{name}*": values["by_question"] for name, values in baselines.items()})
        table += "\nExact match per closed question:\n\n" + closed_table(by_question) + "\n"
        closed = {"baselines": baselines, "exact_by_question": by_question}
    records = [
        {
            "model": name,
            "id": q["id"],
            "pair_id": q["pair_id"],
            "kind": q["kind"],
            "question": q["question"],
            "reference": q["reference"],
            "answer": answers[name].get(q["id"], ""),
        }
        for name in names
        for q in questions
    ]
    storage.write_bytes(
        join(config.output, "questions.jsonl"), "".join(json.dumps(q) + "\n" for q in questions).encode()
    )
    storage.write_parquet(join(config.output, "answers.parquet"), pa.Table.from_pylist(records))
    storage.write_bytes(join(config.output, "scores.json"), json.dumps(scores, indent=2).encode())
    storage.write_bytes(join(config.output, "scores.md"), table.encode())
    return scores, len(questions), closed, table


def main(argv: Sequence[str] | None = None, prog: str = "python -m cephalo_ray.jobs.evaluate_models") -> int:
    """`cephalo eval REFINED [--model M [--name N]]... [--answers F.jsonl]... [--output OUT] [key=value]`."""
    return run_job_main(EvalConfig, run, argv, prog, __doc__, positional=("input",))


if __name__ == "__main__":
    sys.exit(main())
