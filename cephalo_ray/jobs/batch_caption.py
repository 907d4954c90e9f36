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
prompt, answer, finish_reason, model, tokens, seconds), `errors/` (one row per (image, prompt) that
failed: its key, image_id as pair_id, kind and reason; a later answer replaces it), `done/` (the
restart ledger) and `_manifest.json`.

A failure is one image's alone: an answer that fails beside others is asked again on its own. A
transient one (storage did not return the image, out of memory, the engine's worker stopped, a
time-out) is asked again up to `retry.max_retries` times, after `retry.backoff_s`, then twice as
long each time (a stopped worker's model is loaded again first). An engine call that does not
return within `retry.batch_timeout_s` (a hung engine) is such a time-out for each of its answers:
the actor discards that engine and loads a fresh one before asking again. If a failure persists the
answer is recorded as `retry`, the root stays partial, and a rerun asks it again. Any other failure
is the image's own (not an image, or the processor or model refuses it): recorded as `failed` with
its reason, and asked again only with `--retry-failed`. A rerun skips what is answered; a killed run
resumes.

An image of a folder is named by its path inside IN (`image_id`, `/`-separated), so a folder moved,
mounted elsewhere or copied to S3 holds the same images, and IN is not part of the run's identity.
Each answer's `done/` row records where its image was listed (source, size, mtime_ns) and the sha256
of the bytes answered. A rerun trusts an answer without reading the image when the image is listed at
that URI with that size and modification time (the rule extract and rsync use). Anywhere else, or
with another size or time, it reads the image once (Ray tasks, no model) and compares the sha256: the
same bytes keep their answers, committed again naming the new place so that later reruns there read
nothing; other bytes are asked again, and the new answer replaces the old one. Name and size alone
are never trusted: a regenerated figure often keeps both, and a copied file may keep its time. So one
root holds the answers for one folder of images: another folder whose images share names replaces
their answers. An extract or refine root's images are named by their pair_id, as that root names them.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from cephalo_ray.arguments import run_job_main
from cephalo_ray.config import StorageConfig, StrictModel

if TYPE_CHECKING:
    import pyarrow as pa

    from cephalo_ray.caption.stage import EngineLoader

JOB = "caption"
ROOT_COLUMNS = {"extract": ("pairs", "pair_id"), "refine": ("refined", "pair_id")}
# In the run's identity for folders instead of `input`; roots written without it named images by URI.
IMAGE_IDENTITY = {"image_identity": "path inside input + sha256"}


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


class CaptionRetry(StrictModel):
    max_retries: int = Field(
        2,
        ge=0,
        description="tries again after a transient failure (out of memory, a stopped engine, a time-out); "
        "what still fails is asked again by a rerun",
    )
    backoff_s: float = Field(
        1.0, ge=0, description="wait before the first retry; each later one waits twice as long"
    )
    batch_timeout_s: float = Field(
        600.0,
        gt=0,
        description="the most seconds an actor waits for its engine to answer a batch; past it the "
        "engine counts as hung: a time-out for each answer (asked again) and a fresh engine",
    )


class CaptionConfig(StrictModel):
    """`cephalo caption` settings.

    `trust_remote_code: true` (`--trust-remote-code`) lets the model run its checkpoint's own code
    (Phi-3-vision, any `auto_map`); a local one without it is refused before Ray starts. It is not
    part of the run's identity: a root resumes with or without it.
    """

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
    trust_remote_code: bool = Field(
        False,
        description="run the checkpoint's own Python code (Phi-3-vision, any config.json with auto_map); "
        "without it such a model is refused",
    )
    allow_partial: bool = Field(False, description="accept an upstream root that is not complete")
    retry_failed: bool = Field(False, description="ask again for the answers that failed in earlier runs")
    sampling: CaptionSampling = CaptionSampling()
    resources: CaptionResources = CaptionResources()
    retry: CaptionRetry = CaptionRetry()
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


def sources_of(config: CaptionConfig, storage: Any) -> tuple[str, Any, dict[str, Any] | None]:
    """("files", the images as an Arrow table (`IMAGE_COLUMNS`, by image_id), None) or ("root",
    parquet files, upstream info) for the input.

    Raises:
        ConfigError: when the input holds no images.
    """
    from cephalo_ray.caption.identity import IMAGE_SUFFIXES, image_table
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
    try:
        images = image_table(storage.list_input_table(config.input, suffix=""), config.input)
    except FileNotFoundError:
        images = None
    if images is None or images.num_rows == 0:
        raise ConfigError(
            f"{config.input} holds no images ({', '.join(IMAGE_SUFFIXES)}) and is not an output root"
        )
    return "files", images, None


def refuse_remote_code(config: CaptionConfig) -> None:
    """Stop before Ray starts when a local model runs code of its own and the config does not allow
    it (a model on s3:// or the hub is refused by the actor that loads it).

    Raises:
        ConfigError: naming the model, its code files and the key that allows it.
    """
    from cephalo_ray.config import ConfigError
    from cephalo_ray.models.loader import remote_code_refusal

    config_file = Path(config.model, "config.json")
    if not config_file.is_file():
        return
    refusal = remote_code_refusal(json.loads(config_file.read_text()), config.model, config.trust_remote_code)
    if refusal:
        raise ConfigError(f"trust_remote_code (--trust-remote-code): {refusal}")


def refuse_uri_named_root(storage: Any, output: str) -> None:
    """Stop a rerun over a folder into a root written when images were named by their URI: its
    answers cannot be matched with images named by their path inside the input and their bytes.

    Raises:
        ConfigError: naming the fix.
    """
    from cephalo_ray.config import ConfigError
    from cephalo_ray.output_root import read_manifest

    previous = read_manifest(storage, output)
    if not previous or previous.get("job") != JOB or previous.get("upstream"):
        return
    if IMAGE_IDENTITY.keys() <= previous.get("hashed_config", {}).keys():
        return
    raise ConfigError(
        f"{output} was written by an earlier cephalo_ray that named images by their absolute path; "
        "images are now named by their path inside the input and their bytes, so its answers cannot "
        "be matched: write to a new output root (its captions/ stay readable as they are)"
    )


def run(config: CaptionConfig, load_engine: EngineLoader | None = None) -> dict[str, Any]:
    """Answer every pending (image, prompt) and return the final manifest.

    Args:
        load_engine: the importable function each actor loads the model with (default `Engine.load`).
    """
    from cephalo_ray.caption.stage import CAPTIONS_DIR, LAYOUT, STATUS_FAILED, STATUS_RETRY
    from cephalo_ray.ledger import status_is_in
    from cephalo_ray.restart import RootRun
    from cephalo_ray.storage import Storage

    storage = Storage(config.storage.s3_endpoint_url, config.storage.s3_region)
    prompts = read_questions(config.questions, config.prompt)
    json_schema = read_json_schema(config.json_schema)
    refuse_remote_code(config)
    kind, inputs, upstream = sources_of(config, storage)
    runtime = {
        "output",
        "resources",
        "storage",
        "questions",
        "prompt",
        "retry_failed",
        "json_schema",
        "retry",
        "trust_remote_code",  # how the model loads, not what it answers: a root resumes either way
    }
    if kind == "files":
        refuse_uri_named_root(storage, config.output)
        # a folder's images are named inside it: the same images anywhere are the same run
        hashed = {**config.model_dump(exclude=runtime | {"input"}), "prompts": prompts, **IMAGE_IDENTITY}
    else:
        hashed = {**config.model_dump(exclude=runtime), "prompts": prompts}
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
        # Transient failures are always asked again; the images' own with --retry-failed.
        redo = {STATUS_RETRY, STATUS_FAILED} if config.retry_failed else {STATUS_RETRY}
        earlier = root.finished(status_is_in(redo)).num_rows
        print(
            f"caption: {len(prompts)} prompt(s), {earlier} answers from earlier runs, model {model_name}",
            file=sys.stderr,
        )
        run_counts = caption_pending(
            config, root, storage, kind, inputs, prompts, redo, model_name, upstream, json_schema, load_engine
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


def summarise(ledger: pa.Table, run_counts: dict[str, Any]) -> Any:
    """Totals from the settled ledger (Arrow; column-less when empty) beside this run's counts;
    complete when nothing waits a retry."""
    import pyarrow.compute as pc

    from cephalo_ray.caption.stage import STATUS_FAILED, STATUS_OK, STATUS_RETRY
    from cephalo_ray.restart import Summary

    statuses: dict[str, int] = {}
    if ledger.num_rows:
        counted = pc.value_counts(ledger.column("status")).to_pylist()
        statuses = {item["values"]: item["counts"] for item in counted}
    counts = {
        **{key: value for key, value in run_counts.items() if key != "ray_data_stats"},
        "answers": statuses.get(STATUS_OK, 0),
        "failed": statuses.get(STATUS_FAILED, 0),
        "retry": statuses.get(STATUS_RETRY, 0),
    }
    extra = {"ray_data_stats": run_counts["ray_data_stats"]}
    return Summary(counts, complete=counts["retry"] == 0, extra=extra)


def model_label(model: str) -> str:
    path = Path(model.rstrip("/"))
    return path.parent.name if path.name == "model" and path.parent.name else path.name


def caption_pending(
    config: CaptionConfig,
    root: Any,
    storage: Any,
    kind: str,
    inputs: Any,
    prompts: list[str],
    redo: set[str],
    model_name: str,
    upstream: dict[str, Any] | None = None,
    json_schema: str | None = None,
    load_engine: EngineLoader | None = None,
) -> dict[str, Any]:
    """The Ray Data pipeline; returns the run's counts. `inputs` are a folder's images (an Arrow
    table, `IMAGE_COLUMNS`) or an upstream root's files; ledger rows whose status is in `redo` are
    asked again; `json_schema` (checked compact text) constrains every answer; `load_engine` loads
    the actors' model."""

    import ray
    from ray.data import ActorPoolStrategy, DataContext
    from tqdm import tqdm

    from cephalo_ray.caption.identity import (
        PLACE_COLUMNS,
        Recognised,
        answer_items,
        done_lookup,
        keys_of,
        recognise,
        waiting,
    )
    from cephalo_ray.caption.retry import RetryPolicy
    from cephalo_ray.caption.stage import STATUS_FAILED, STATUS_OK, STATUS_RETRY, STATUS_SKIPPED, CaptionStage
    from cephalo_ray.ledger import status_is_in
    from cephalo_ray.models.engine import Engine, EngineOptions, SamplingParams
    from cephalo_ray.models.loader import model_location
    from cephalo_ray.ray_session import connect_ray, parquet_dataset
    from cephalo_ray.restart import merge_in_ray

    # the listing, the ledger and the answers they hold stay Arrow tables: tens of bytes an item
    if kind == "files":
        items = answer_items(inputs, prompts)
        found = recognise(items, root.finished(status_is_in(redo), PLACE_COLUMNS))
    else:
        items = answer_items(pair_ids(storage, inputs), prompts)
        found = Recognised(keys_of(root.finished(status_is_in(redo), ["key"])))
    images_listed = items.num_rows // max(1, len(prompts))

    if not found.to_check and not waiting(items, found.done):
        # every answer exists: no model to load, no image to read
        return nothing_pending(images_listed, len(prompts))
    started_here = connect_ray(config.resources.local_num_cpus)
    try:
        DataContext.get_current().enable_progress_bars = False
        checks = {"checked": found.to_check, "moved": 0, "changed": 0, "unreadable": 0}
        if found.unchecked is not None and found.to_check:
            print(
                f"caption: {found.to_check} images were answered where or when they were listed "
                "otherwise: reading them to compare their bytes",
                file=sys.stderr,
            )
            digests = content_digests(storage, found.unchecked, config.resources.num_cpus)
            found = recognise(items, root.finished(status_is_in(redo), PLACE_COLUMNS), digests)
            adopt(root, storage, found.moved)
            checks.update(moved=found.to_adopt, changed=found.changed, unreadable=found.unreadable)
            print(
                f"caption: {checks['moved']} found answered (their answers now name where they are), "
                f"{found.changed} changed (asked again), {found.unreadable} unreadable (answers kept)",
                file=sys.stderr,
            )
            if not waiting(items, found.done):  # no model to load
                return {**nothing_pending(images_listed, len(prompts)), **checks}
        del items  # the actors get the answered keys alone
        rows: Any  # a Ray Dataset of image rows
        if kind == "files":
            images = inputs.num_rows
            rows = ray.data.from_arrow(image_blocks(inputs, config.resources.batch_size))
        else:
            table = parquet_dataset(storage, inputs, ["pair_id", "image"], config.resources.num_cpus)
            counted = int((upstream or {}).get("rows", -1))
            images = counted if counted >= 0 else table.count()  # the manifest knows; no second read
            rows = table.map_batches(partial(root_rows, source=config.input), batch_format="pyarrow")
        model = model_location(config.model)
        if config.trust_remote_code:
            load_engine = partial(load_engine or Engine.load, trust_remote_code=True)
        batches = max(1, math.ceil(images / config.resources.batch_size))
        dataset = rows.map_batches(
            CaptionStage,
            fn_constructor_kwargs={
                "committer": root.committer,
                "storage": storage,
                "model": model,
                "model_name": model_name,
                "prompts": prompts,
                "done": done_lookup(found.done),
                "params": SamplingParams(**config.sampling.model_dump(), json_schema=json_schema),
                "engine": EngineOptions(
                    dtype=config.dtype,
                    max_batch_size=config.resources.max_batch_size,
                    max_waiting=max(256, config.resources.batch_size * len(prompts)),
                    batch_wait_s=0.0,  # a batch of images arrives whole: nothing to wait for
                ),
                "retry": RetryPolicy(
                    config.retry.max_retries,
                    config.retry.backoff_s,
                    batch_timeout_s=config.retry.batch_timeout_s,
                ),
                "load_engine": load_engine,
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
        outcomes = 0  # one per (image, prompt): the driver holds no image id
        with tqdm(total=images * len(prompts), unit="answer", desc="caption", file=sys.stderr) as bar:
            batch: Any  # a pyarrow.Table (batch_format="pyarrow")
            for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
                for status in batch.column("status").to_pylist():
                    statuses[status] += 1
                tokens += sum(batch.column("completion_tokens").to_pylist())
                busy += sum(batch.column("busy_seconds").to_pylist())
                outcomes += batch.num_rows
                bar.update(batch.num_rows)
                bar.set_postfix(failed=statuses[STATUS_FAILED] + statuses[STATUS_RETRY])
        seconds = time.perf_counter() - started
        ray_data_stats = dataset.stats()
        settle_now(root)  # answers asked again (changed images, retries) replace the old ones first
        root.compact(merge_in_ray)  # small commits into files of target_file_mb, in Ray tasks
    finally:
        if started_here:
            ray.shutdown()
    answered_now = statuses[STATUS_OK]
    return {
        **checks,
        # every image has an outcome for each prompt, unreadable ones too
        "images": outcomes // max(1, len(prompts)),
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


def pair_ids(storage: Any, files: list[str]) -> pa.Table:
    """The image ids (`image_id`) of an upstream root's rows, read without their images."""
    import pyarrow as pa

    table = storage.read_parquet(files, columns=["pair_id"]) if files else None
    ids = table.column("pair_id") if table is not None else pa.chunked_array([], pa.string())
    return pa.table({"image_id": ids})


def image_blocks(images: pa.Table, per_block: int) -> list[pa.Table]:
    """A folder's images as the pipeline's rows (read by URI), in tables of `per_block` rows."""
    import pyarrow as pa

    rows = pa.table(
        {
            "image_id": images.column("image_id"),
            "source": images.column("uri"),
            "uri": images.column("uri"),
            "image": pa.nulls(images.num_rows, pa.binary()),
            "size": images.column("size"),
            "mtime_ns": images.column("mtime_ns"),
        }
    )
    return [rows.slice(start, per_block) for start in range(0, rows.num_rows, per_block)]


def content_digests(storage: Any, images: pa.Table, num_cpus: float) -> pa.Table:
    """The sha256 of each image's bytes (uri, sha256: null where storage did not return it), read
    by Ray tasks."""
    import pyarrow as pa
    import ray

    from cephalo_ray.caption.identity import digest_batch

    uris = images.select(["uri"])
    # blocks of one batch each, so that Ray tasks read them side by side
    listing = ray.data.from_arrow([uris.slice(start, 64) for start in range(0, uris.num_rows, 64)])
    digested = listing.map_batches(
        partial(digest_batch, storage=storage),
        batch_size=64,
        batch_format="pyarrow",
        num_cpus=min(1.0, num_cpus),  # fits wherever an actor of the job fits
    )
    schema = pa.schema([("uri", pa.string()), ("sha256", pa.string())])
    batches = []
    batch: Any  # a pyarrow.Table (batch_format="pyarrow")
    for batch in digested.iter_batches(batch_size=None, batch_format="pyarrow"):
        batches.append(batch.cast(schema))
    return pa.concat_tables(batches) if batches else schema.empty_table()


def adopt(root: Any, storage: Any, moved: pa.Table | None) -> int:
    """Commit the answers of images found answered at another place again, naming where each image
    is now (source, size, mtime_ns), so that later reruns there read nothing, and settle: the older
    commits give these keys up. `moved` holds the images (`IMAGE_COLUMNS`); only their rows of each
    commit are read out of Arrow. Returns how many answers were committed again."""
    import pyarrow.compute as pc

    from cephalo_ray.caption.identity import ledger_schema
    from cephalo_ray.caption.stage import CAPTIONS_DIR, ERRORS_DIR, LEDGER_DIR, captions_schema
    from cephalo_ray.ledger import PARQUET, committed_names
    from cephalo_ray.rows import errors_schema
    from cephalo_ray.storage import join

    if moved is None or moved.num_rows == 0:
        return 0
    ids = moved.column("image_id").combine_chunks()
    adopted = 0
    for name in sorted(committed_names(storage, root.root, LEDGER_DIR)):
        ledger = storage.read_parquet([join(root.root, LEDGER_DIR, name + PARQUET)])
        rows = ledger.filter(pc.is_in(ledger.column("image_id"), value_set=ids))
        if not rows.num_rows:
            continue
        keys = rows.column("key").combine_chunks()
        data = {}
        # (directory, the column that picks its rows, the values picked, the column naming the image)
        for directory, column, wanted, image_column, schema in (
            (CAPTIONS_DIR, "key", keys, "image_id", captions_schema()),
            (ERRORS_DIR, "pair_id", ids, "pair_id", errors_schema()),
        ):
            uri = join(root.root, directory, name + PARQUET)
            found = storage.read_parquet([uri]) if storage.exists(uri) else schema.empty_table()
            picked = found.filter(pc.is_in(found.column(column), value_set=wanted))
            data[directory] = conform(placed(picked, moved, image_column, {"source": "uri"}), schema)
        where = {"source": "uri", "size": "size", "mtime_ns": "mtime_ns"}
        renamed = conform(placed(rows, moved, "image_id", where), ledger_schema())
        names = [f"{key}|{root.run_id}" for key in keys.to_pylist()]
        root.committer.commit(names, data, renamed)
        adopted += renamed.num_rows
    settle_now(root)
    return adopted


def placed(table: pa.Table, images: pa.Table, image_column: str, columns: dict[str, str]) -> pa.Table:
    """`table` with its `columns` (name -> column of `images`) taken from the image its
    `image_column` names (every row names one of `images`)."""
    import pyarrow.compute as pc

    index = pc.index_in(table.column(image_column), value_set=images.column("image_id").combine_chunks())
    for name, source in columns.items():
        values = images.column(source).take(index)
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, values)
        else:
            table = table.append_column(name, values)
    return table


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with the columns of `schema`, in its order and types; columns it lacks (files written
    before they existed) are null, columns it has beyond them are left out."""
    import pyarrow as pa

    return pa.table(
        [
            table.column(field.name).cast(field.type)
            if field.name in table.column_names
            else pa.nulls(table.num_rows, field.type)
            for field in schema
        ],
        schema=schema,
    )


def settle_now(root: Any) -> None:
    """Leave each key committed again in this run in its newest commit before anything compacts: a
    merge of an older commit holding it with a newer commit would outrank the newest one."""
    root.settle()  # keeps the settled ledger as `root.ledger_table`


def nothing_pending(images: int, prompts: int) -> dict[str, Any]:
    """A run's counts when earlier runs answered everything."""
    return {
        "checked": 0,
        "moved": 0,
        "changed": 0,
        "unreadable": 0,
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
