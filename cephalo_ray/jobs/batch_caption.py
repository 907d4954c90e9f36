"""Caption or question every image of a corpus with a model: Ray Data actors running the serving
engine (dynamic batching), answers committed batch by batch, restartable.

Locally:
    cephalo caption ./images ./captions --model ./runs/r1/model --prompt "Describe this figure."
    cephalo caption ./demo_out/extract ./vqa --model ./runs/r1/model --questions questions.yaml
    cephalo caption ./images ./facts --model ./runs/r1/model --json-schema figure.schema.json
On a cluster (GPU actors):
    ray job submit --working-dir . -- python -m cephalo_ray.jobs.batch_caption s3://lab/images s3://lab/captions \
        --model s3://lab/runs/r1/model resources.actors=4 resources.num_gpus=1

IN is a folder or s3:// prefix of images (png, jpg, webp, gif, bmp, tif), an extract root (its
figure crops) or a refine root (its images). Every image gets the prompt, or every question of the
questions file (a YAML list or .jsonl of strings); with `--json-schema FILE` every answer is JSON that
follows that schema, enforced while decoding (one that runs out of `max_tokens` stops mid-JSON, with
finish_reason `length`). OUT gets `captions/` (key, image_id, source,
prompt, answer, finish_reason, model, tokens, seconds), `errors/` (unreadable images), `done/` (the
restart ledger) and `_manifest.json`. A rerun skips what is answered (images storage failed to return
are asked again; `--retry-failed` asks again for every failed answer); a killed run resumes.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import Field

from cephalo_ray.arguments import run_job_main
from cephalo_ray.config import StorageConfig, StrictModel

JOB = "caption"
ROOT_COLUMNS = {"extract": ("pairs", "pair_id"), "refine": ("refined", "pair_id")}


class CaptionSampling(StrictModel):
    max_tokens: int = Field(128, ge=1, description="most tokens per answer")
    temperature: float = Field(0.0, ge=0, le=2, description="0: greedy (reproducible)")
    top_p: float = Field(1.0, gt=0, le=1, description="nucleus sampling")
    seed: int | None = Field(None, description="sampling seed")


class CaptionResources(StrictModel):
    actors: int = Field(1, ge=1, description="model actors (each loads the model once)")
    num_cpus: float = Field(1.0, gt=0, description="CPUs per actor")
    num_gpus: float = Field(0.0, ge=0, description="GPUs per actor")
    batch_size: int = Field(
        16, ge=1, description="images handed to an actor at once (answers commit per batch)"
    )
    max_batch_size: int = Field(32, ge=1, description="generations batched together inside an actor")
    local_num_cpus: int | None = Field(None, ge=1, description="CPUs of a local Ray (default: all)")
    target_file_mb: float = Field(
        128.0,
        gt=0,
        description="committed batches smaller than half this are merged into files of about this size",
    )


class CaptionConfig(StrictModel):
    """`cephalo caption` settings."""

    input: str = Field(description="images (folder or s3:// prefix), an extract root or a refine root")
    output: str = Field(description="the caption root (local or s3://)")
    model: str = Field(description="model folder, hub name or s3:// folder")
    model_name: str | None = Field(
        None, description="name recorded in the rows (default: the model's folder)"
    )
    prompt: str = Field(
        "Describe this figure.", description="asked of every image (without a questions file)"
    )
    questions: str | None = Field(
        None, description="a YAML list or .jsonl of questions, each asked of every image"
    )
    json_schema: str | None = Field(
        None, description="a JSON schema file (local path) every answer must follow, as JSON"
    )
    dtype: str = Field("auto", description="weights dtype: auto, float32, bfloat16, float16")
    allow_partial: bool = Field(False, description="accept an upstream root that is not complete")
    retry_failed: bool = Field(False, description="ask again for the answers that failed in earlier runs")
    sampling: CaptionSampling = CaptionSampling()
    resources: CaptionResources = CaptionResources()
    storage: StorageConfig = StorageConfig()


def read_questions(path: str | None, prompt: str) -> list[str]:
    """The prompts asked of every image.

    Raises:
        ConfigError: for a missing or empty questions file.
    """
    import yaml

    from cephalo_ray.config import ConfigError

    if path is None:
        return [prompt]
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"questions: {path} does not exist")
    text = file.read_text()
    items = (
        [json.loads(line) for line in text.splitlines() if line.strip()]
        if file.suffix == ".jsonl"
        else yaml.safe_load(text)
    )
    questions = [item if isinstance(item, str) else str(item.get("question", "")) for item in items or []]
    questions = [question.strip() for question in questions if question and question.strip()]
    if not questions:
        raise ConfigError(f"questions: {path} holds no questions (a list of strings)")
    return questions


def read_json_schema(path: str | None) -> str | None:
    """The answers' JSON schema as compact text, checked by the grammar compiler (None: free text).

    Raises:
        ConfigError: for a missing file, one that is not JSON, or a schema that cannot be enforced.
    """
    from cephalo_ray.config import ConfigError
    from cephalo_ray.models.grammar import GrammarError, check_schema

    if path is None:
        return None
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"json_schema (--json-schema): {path} does not exist")
    try:
        return check_schema(file.read_text())
    except GrammarError as error:
        raise ConfigError(f"json_schema (--json-schema): {path}: {error}") from None
    except ImportError:
        raise ConfigError(
            "json_schema (--json-schema) needs llguidance: pip install 'cephalo_ray[serve]'"
        ) from None


def sources_of(config: CaptionConfig, storage: Any) -> tuple[str, list[str], dict[str, Any] | None]:
    """("files", image URIs, None) or ("root", parquet files, upstream info) for the input.

    Raises:
        ConfigError: when the input holds no images.
    """
    from cephalo_ray.caption.stage import IMAGE_SUFFIXES
    from cephalo_ray.config import ConfigError
    from cephalo_ray.output_root import manifest_uri, read_upstream
    from cephalo_ray.storage import join

    if storage.exists(manifest_uri(config.input)):
        upstream, digest = read_upstream(storage, config.input, config.allow_partial)
        if upstream.get("job") not in ROOT_COLUMNS:
            raise ConfigError(
                f"{config.input} is a `{upstream.get('job')}` root; caption reads extract or refine roots"
            )
        directory, _ = ROOT_COLUMNS[upstream["job"]]
        files = [join(config.input, name) for name in upstream["files"].get(directory, [])]
        rows = int(upstream["counts"].get("pairs" if upstream["job"] == "extract" else "pairs_ok", -1))
        return "root", files, {"uri": config.input, "digest": digest, "job": upstream["job"], "rows": rows}
    images = [
        item.uri for item in storage.list_files(config.input) if item.uri.lower().endswith(IMAGE_SUFFIXES)
    ]
    if not images:
        raise ConfigError(
            f"{config.input} holds no images ({', '.join(IMAGE_SUFFIXES)}) and is not an output root"
        )
    return "files", sorted(images), None


def run(config: CaptionConfig) -> dict[str, Any]:
    """Answer every pending (image, prompt) and return the final manifest."""
    from cephalo_ray.caption.stage import CAPTIONS_DIR, LAYOUT, STATUS_FAILED, STATUS_RETRY
    from cephalo_ray.restart import RootRun
    from cephalo_ray.storage import Storage

    storage = Storage(config.storage.s3_endpoint_url, config.storage.s3_region)
    prompts = read_questions(config.questions, config.prompt)
    json_schema = read_json_schema(config.json_schema)
    kind, inputs, upstream = sources_of(config, storage)
    hashed = {
        **config.model_dump(
            exclude={"output", "resources", "storage", "questions", "prompt", "retry_failed", "json_schema"}
        ),
        "prompts": prompts,
    }
    # The schema itself, not its file name, shapes the answers: an edited file counts. Only when
    # set, so that roots written without one keep their hash.
    shaping = {} if json_schema is None else {"json_schema": json_schema}
    hashed.update(shaping)
    model_name = config.model_name or model_label(config.model)
    root = RootRun(
        storage,
        config.output,
        LAYOUT,
        config={**config.model_dump(), "prompts": prompts, **shaping},
        hashed_config=hashed,
        upstream=upstream,
        target_file_bytes=int(config.resources.target_file_mb * 2**20),
    )
    with root:
        # Images storage failed to return are always asked again; others with --retry-failed.
        redo = {STATUS_RETRY, STATUS_FAILED} if config.retry_failed else {STATUS_RETRY}
        done = {row["key"] for row in root.ledger if row["status"] not in redo}
        print(
            f"caption: {len(prompts)} prompt(s), {len(done)} answers from earlier runs, model {model_name}",
            file=sys.stderr,
        )
        run_counts = caption_pending(
            config, root, storage, kind, inputs, prompts, done, model_name, upstream, json_schema
        )
        manifest = root.finish(lambda ledger: summarise(ledger, run_counts))
    counts = manifest["counts"]
    print(
        f"caption {manifest['status']}: {counts['images']} images x {len(prompts)} prompt(s): "
        f"{counts['answered_now']} answered now, {counts['skipped']} done before, {counts['failed']} failed "
        f"and {counts['retry']} to retry in all; {counts['images_per_second']} images/s, "
        f"{counts['tokens_per_second']} tokens/s; answers in {config.output}/{CAPTIONS_DIR}",
        file=sys.stderr,
    )
    return manifest


def summarise(ledger: list[dict[str, Any]], run_counts: dict[str, Any]) -> Any:
    """Totals from the settled ledger beside this run's counts; complete when nothing waits a retry."""
    from cephalo_ray.caption.stage import STATUS_FAILED, STATUS_OK, STATUS_RETRY
    from cephalo_ray.restart import Summary

    statuses = Counter(row["status"] for row in ledger)
    counts = {
        **{key: value for key, value in run_counts.items() if key != "ray_data_stats"},
        "answers": statuses[STATUS_OK],
        "failed": statuses[STATUS_FAILED],
        "retry": statuses[STATUS_RETRY],
    }
    extra = {"ray_data_stats": run_counts["ray_data_stats"]}
    return Summary(counts, complete=statuses[STATUS_RETRY] == 0, extra=extra)


def model_label(model: str) -> str:
    path = Path(model.rstrip("/"))
    return path.parent.name if path.name == "model" and path.parent.name else path.name


def caption_pending(
    config: CaptionConfig,
    root: Any,
    storage: Any,
    kind: str,
    inputs: list[str],
    prompts: list[str],
    done: set[str],
    model_name: str,
    upstream: dict[str, Any] | None = None,
    json_schema: str | None = None,
) -> dict[str, Any]:
    """The Ray Data pipeline; returns the run's counts. `json_schema` (checked compact text)
    constrains every answer."""

    import ray
    from ray.data import ActorPoolStrategy, DataContext
    from tqdm import tqdm

    from cephalo_ray.caption.stage import (
        STATUS_FAILED,
        STATUS_OK,
        STATUS_RETRY,
        STATUS_SKIPPED,
        CaptionStage,
        item_key,
    )
    from cephalo_ray.models.engine import EngineOptions, SamplingParams
    from cephalo_ray.models.loader import model_location
    from cephalo_ray.ray_session import connect_ray, parquet_dataset
    from cephalo_ray.restart import merge_in_ray

    image_ids = inputs if kind == "files" else pair_ids(storage, inputs)
    if all(item_key(image_id, prompt) in done for image_id in image_ids for prompt in prompts):
        # every answer exists: no model to load, no image to read
        return nothing_pending(len(image_ids), len(prompts))
    started_here = connect_ray(config.resources.local_num_cpus)
    try:
        DataContext.get_current().enable_progress_bars = False
        rows: Any  # a Ray Dataset of image rows
        if kind == "files":
            images = len(inputs)
            rows = ray.data.from_items(
                [{"image_id": uri, "source": uri, "uri": uri, "image": None} for uri in inputs]
            )
        else:
            table = parquet_dataset(storage, inputs, ["pair_id", "image"], config.resources.num_cpus)
            counted = int((upstream or {}).get("rows", -1))
            images = counted if counted >= 0 else table.count()  # the manifest knows; no second read
            rows = table.map_batches(partial(root_rows, source=config.input), batch_format="pyarrow")
        model = model_location(config.model)
        batches = max(1, math.ceil(images / config.resources.batch_size))
        dataset = rows.map_batches(
            CaptionStage,
            fn_constructor_kwargs={
                "committer": root.committer,
                "storage": storage,
                "model": model,
                "model_name": model_name,
                "prompts": prompts,
                "done": done,
                "params": SamplingParams(**config.sampling.model_dump(), json_schema=json_schema),
                "engine": EngineOptions(
                    dtype=config.dtype,
                    max_batch_size=config.resources.max_batch_size,
                    max_waiting=max(256, config.resources.batch_size * len(prompts)),
                    batch_wait_s=0.0,  # a batch of images arrives whole: nothing to wait for
                ),
            },
            batch_size=config.resources.batch_size,
            batch_format="pyarrow",
            compute=ActorPoolStrategy(size=min(config.resources.actors, batches)),
            num_cpus=config.resources.num_cpus,
            num_gpus=config.resources.num_gpus,
        )
        statuses = {STATUS_OK: 0, STATUS_FAILED: 0, STATUS_RETRY: 0, STATUS_SKIPPED: 0}
        tokens = 0
        started = time.perf_counter()
        busy = 0.0  # the actors' working time, model loading excluded
        seen: set[str] = set()
        with tqdm(total=images * len(prompts), unit="answer", desc="caption", file=sys.stderr) as bar:
            batch: Any  # a pyarrow.Table (batch_format="pyarrow")
            for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
                for status in batch.column("status").to_pylist():
                    statuses[status] += 1
                tokens += sum(batch.column("completion_tokens").to_pylist())
                busy += sum(batch.column("busy_seconds").to_pylist())
                seen.update(batch.column("image_id").to_pylist())
                bar.update(batch.num_rows)
                bar.set_postfix(failed=statuses[STATUS_FAILED] + statuses[STATUS_RETRY])
        seconds = time.perf_counter() - started
        ray_data_stats = dataset.stats()
        root.compact(merge_in_ray)  # small commits into files of target_file_mb, in Ray tasks
    finally:
        if started_here:
            ray.shutdown()
    answered_now = statuses[STATUS_OK]
    return {
        "images": len(seen),  # every image has an outcome, unreadable ones too
        "prompts": len(prompts),
        "answered_now": answered_now,
        "skipped": statuses[STATUS_SKIPPED],
        "failed_now": statuses[STATUS_FAILED] + statuses[STATUS_RETRY],
        "generated_tokens": tokens,
        "seconds": round(seconds, 3),
        "images_per_second": round(answered_now / len(prompts) / seconds, 3)
        if seconds and answered_now
        else 0.0,
        # per actor, over its working time: model loading and actor start-up excluded
        "actor_images_per_second": round(answered_now / len(prompts) / busy, 3)
        if busy and answered_now
        else 0.0,
        "tokens_per_second": round(tokens / seconds, 2) if seconds else 0.0,
        "ray_data_stats": ray_data_stats,
    }


def pair_ids(storage: Any, files: list[str]) -> list[str]:
    """The image ids of an upstream root's rows, read without their images."""
    table = storage.read_parquet(files, columns=["pair_id"]) if files else None
    return table.column("pair_id").to_pylist() if table is not None else []


def nothing_pending(images: int, prompts: int) -> dict[str, Any]:
    """A run's counts when earlier runs answered everything."""
    return {
        "images": images,
        "prompts": prompts,
        "answered_now": 0,
        "skipped": images * prompts,
        "failed_now": 0,
        "generated_tokens": 0,
        "seconds": 0.0,
        "images_per_second": 0.0,
        "actor_images_per_second": 0.0,
        "tokens_per_second": 0.0,
        "ray_data_stats": "",
    }


def root_rows(batch: Any, source: str) -> Any:
    """Rows of an extract/refine root as caption inputs (image_id = pair_id)."""
    import pyarrow as pa

    ids = batch.column("pair_id")
    return pa.table(
        {
            "image_id": ids,
            "source": pa.array([f"{source}#{pair_id}" for pair_id in ids.to_pylist()], pa.string()),
            "uri": pa.nulls(batch.num_rows, pa.string()),
            "image": batch.column("image"),
        }
    )


def main(argv: Sequence[str] | None = None, prog: str = "python -m cephalo_ray.jobs.batch_caption") -> int:
    return run_job_main(CaptionConfig, run, argv, prog, __doc__)


if __name__ == "__main__":
    sys.exit(main())
