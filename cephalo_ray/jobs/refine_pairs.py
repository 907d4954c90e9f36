"""Turn extracted figure/caption pairs into grounded question/answer data with a teacher LLM.

Locally:
    cephalo refine ./out ./refined                                   # offline template teacher
    export OPENAI_API_KEY=...
    cephalo refine ./out ./refined --teacher-url https://api.openai.com/v1 --model gpt-4o --dry-run
    cephalo refine ./out ./refined --teacher-url https://api.openai.com/v1 --model gpt-4o --max-cost-usd 50

On a cluster:
    ray job submit --working-dir . -- python -m cephalo_ray.jobs.refine_pairs \
        --config configs/refine/openai.yaml input=s3://lab/pairs output=s3://lab/refined

IN is an extract root (its manifest must be complete unless --allow-partial). OUT gets `refined/`
(one row per pair: QA, LLaVA conversations, split, usage), `errors/`, `done/` (the restart ledger)
and `_manifest.json`. A rerun sends nothing already answered: the cache key covers caption, mentions,
image, prompt version, model and sampling. Transient failures are asked again on a rerun, the others
with --retry-failed; error rows describe the latest attempt only. --limit and --max-cost-usd stop
cleanly; rerun to go on. With --vision and no judge, answers citing numbers that no caption or citing
sentence states are dropped (filters.keep_unverified_numbers keeps them unchecked); the log and the
manifest's `warnings` say which.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from cephalo_ray.arguments import run_job_main
from cephalo_ray.config import ConfigError, StorageConfig, StrictModel

JOB = "refine"
# USD per million tokens (input, output) for models whose price is public; `price.*` overrides.
PAIR_COLUMNS = [
    "pair_id",
    "doc_id",
    "source",
    "page",
    "kind",
    "graphics",
    "label",
    "caption",
    "mentions",
    "image",
]


class SamplingConfig(StrictModel):
    temperature: float = Field(0.2, ge=0, le=2, description="teacher sampling temperature")
    top_p: float | None = Field(None, gt=0, le=1, description="teacher nucleus sampling")
    max_tokens: int = Field(1024, ge=64, description="most tokens in one teacher reply")
    seed: int | None = Field(None, description="teacher sampling seed, where the endpoint honours it")


class FiltersConfig(StrictModel):
    min_question_chars: int = Field(10, ge=1, description="shorter questions are dropped")
    max_question_chars: int = Field(400, ge=1, description="longer questions are dropped")
    min_answer_chars: int = Field(20, ge=1, description="shorter answers are dropped")
    max_answer_chars: int = Field(2000, ge=1, description="longer answers are dropped")
    restate_threshold: float = Field(
        0.9, gt=0, le=1, description="answers this close to the caption are dropped"
    )
    judge_min_score: int = Field(
        4, ge=1, le=5, description="with judge.enabled: answers the judge scores lower (1-5) are dropped"
    )
    keep_unverified_numbers: bool = Field(
        False,
        description="with --vision and no judge: keep answers citing numbers no text source states (maybe "
        "read off the image, but unchecked) instead of dropping them",
    )
    echo_threshold: float = Field(
        0.6,
        gt=0,
        le=1,
        description="answers or questions whose word trigrams come this much from the prompt's own "
        "instructions are dropped as prompt echoes",
    )


class QAExample(StrictModel):
    kind: str = Field(description="one of the prompt's question kinds")
    query: str = Field(min_length=1, description="the question")
    answer: str = Field(min_length=1, description="its grounded answer")


class FewShotExample(StrictModel):
    label: str | None = Field(None, description="the example figure's label")
    caption: str = Field(min_length=1, description="the example figure's caption")
    mentions: list[str] = Field(default_factory=list, description="sentences citing it")
    figure_type: Literal["plot", "micrograph", "diagram", "table", "other"] = Field("other")
    qa: list[QAExample] = Field(min_length=1, description="the answer the teacher should have given")


class PromptConfig(StrictModel):
    """What the teacher is asked. Part of the output's identity: a changed prompt needs a new root."""

    profile: Literal["science", "materials"] = Field(
        "science",
        description="science: neutral, any field; materials: Cephalo's materials-design questions",
    )
    domain: str | None = Field(None, description="the field named to the teacher (default: the profile's)")
    kinds: dict[str, str] | None = Field(
        None, description="question kind -> what it asks, in order (default: the profile's)"
    )
    language: str = Field("English", description="the language of questions and answers")
    few_shot: list[FewShotExample] = Field(
        default_factory=list, description="worked examples sent before every request"
    )
    route_by_figure_type: bool = Field(
        True, description="ask plots, micrographs, diagrams and tables the questions that suit them"
    )

    @model_validator(mode="after")
    def known_kinds(self) -> PromptConfig:
        kinds = set(self.profile_of().all_kinds())
        for number, example in enumerate(self.few_shot):
            for item in example.qa:
                if item.kind not in kinds:
                    raise ValueError(
                        f"few_shot[{number}].qa: kind {item.kind!r} is not one of the prompt's kinds "
                        f"({', '.join(sorted(kinds))}); add it under prompt.kinds or use one of those"
                    )
        return self

    def profile_of(self) -> Any:
        """The `PromptProfile` these settings describe."""
        import json
        from dataclasses import replace

        from cephalo_ray.refine.prompts import PROFILES, user_prompt

        base = PROFILES[self.profile]
        profile = replace(
            base,
            domain=self.domain or base.domain,
            kinds=tuple(self.kinds.items()) if self.kinds else base.kinds,
            language=self.language,
            route_by_figure_type=self.route_by_figure_type,
        )
        examples = tuple(
            (
                user_prompt(
                    example.label,
                    example.caption,
                    example.mentions,
                    len(example.qa),
                    profile,
                    example.figure_type,
                ),
                json.dumps({"qa": [item.model_dump() for item in example.qa]}),
            )
            for example in self.few_shot
        )
        return replace(profile, few_shot=examples)


class JudgeConfig(StrictModel):
    """A second call per pair that scores each answer for grounding in the caption, the citing
    sentences and (with vision) the image; `filters.judge_min_score` is its threshold."""

    enabled: bool = Field(
        False, description="ask a judge to score every pair's answers", json_schema_extra={"flag": "judge"}
    )
    teacher_url: str | None = Field(
        None,
        description="the judge's endpoint (default: the teacher's)",
        json_schema_extra={"flag": "judge-url"},
    )
    model: str | None = Field(
        None,
        description="the judge model (default: the teacher's)",
        json_schema_extra={"flag": "judge-model"},
    )
    api_key_env: str | None = Field(
        None,
        description="its API key's variable (default: the teacher's)",
        json_schema_extra={"flag": "judge-api-key-env"},
    )
    vision: bool | None = Field(
        None,
        description="show the judge the image (default: as the teacher)",
        json_schema_extra={"flag": "judge-vision"},
    )
    max_tokens: int = Field(
        512,
        ge=64,
        description="most tokens in one judge reply",
        json_schema_extra={"flag": "judge-max-tokens"},
    )


class PriceConfig(StrictModel):
    input_usd_per_mtok: float | None = Field(None, ge=0, description="USD per million prompt tokens")
    output_usd_per_mtok: float | None = Field(None, ge=0, description="USD per million completion tokens")


class RefineResources(StrictModel):
    actors: int = Field(1, ge=1, description="refine actors")
    num_cpus: float = Field(0.25, gt=0, description="CPUs reserved per refine actor (it mostly waits)")
    concurrency: int = Field(16, ge=1, le=1024, description="requests in flight per actor")
    batch_size: int = Field(
        256, ge=1, description="pairs handed to an actor at once (answers commit as they come)"
    )
    target_file_mb: float = Field(
        128.0,
        gt=0,
        description="committed batches smaller than half this are merged into files of about this size",
    )
    local_num_cpus: int | None = Field(None, ge=1, description="CPUs of a local Ray (default: all)")


class RefineLimits(StrictModel):
    requests_per_minute: float | None = Field(None, gt=0, description="cap on requests/min over all actors")
    tokens_per_minute: float | None = Field(
        None, gt=0, description="cap on estimated tokens/min over all actors"
    )
    timeout_s: float = Field(120.0, gt=0, description="seconds one request may take")
    max_retries: int = Field(
        4,
        ge=0,
        description="retries of a request on 429/5xx/time-outs (backoff or Retry-After, under the same caps)",
    )


class RefineConfig(StrictModel):
    """`cephalo refine` settings. The teacher, model, prompt and filter settings define the output."""

    input: str = Field(description="an extract root (local or s3://)")
    output: str = Field(description="the refine root (local or s3://)")
    teacher: Literal["openai", "template"] | None = Field(
        None,
        description="openai (any OpenAI-compatible endpoint) or template (offline); default by teacher_url",
    )
    teacher_url: str | None = Field(None, description="OpenAI-compatible base URL (default: OpenAI's)")
    model: str = Field("gpt-4o", description="teacher model name")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable that holds the API key")
    vision: bool = Field(False, description="send the image too (the teacher must accept images)")
    image_max_side: int = Field(768, ge=64, le=4096, description="longer image side sent to the teacher, px")
    qa_per_pair: int = Field(4, ge=1, le=8, description="question/answer pairs asked per figure")
    val_fraction: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="share of pairs in the val split, by whole documents (0: no val split)",
    )
    json_schema: Literal["auto", "on", "off"] = Field("auto", description="ask for JSON-schema output")
    dry_run: bool = Field(False, description="print requests, tokens and price; send nothing")
    limit: int | None = Field(None, ge=1, description="most new pairs to send this run")
    max_cost_usd: float | None = Field(None, gt=0, description="stop cleanly when the spend reaches this")
    allow_partial: bool = Field(False, description="accept an extract root that is not complete")
    retry_failed: bool = Field(
        False,
        description="ask again for pairs that failed for good in earlier runs (transient ones always are)",
    )
    dedup_max_distance: int | None = Field(
        4,
        ge=0,
        le=16,
        description="figures whose perceptual hashes differ in at most this many of 64 bits are sent once "
        "(the best-captioned copy); null keeps near-duplicates",
    )
    refilter: bool = Field(
        False,
        description="parse and filter every stored teacher reply again with the current filters (sends none of them)",
    )
    sampling: SamplingConfig = SamplingConfig()
    prompt: PromptConfig = PromptConfig()
    judge: JudgeConfig = JudgeConfig()
    filters: FiltersConfig = FiltersConfig()
    price: PriceConfig = PriceConfig()
    resources: RefineResources = RefineResources()
    limits: RefineLimits = RefineLimits()
    storage: StorageConfig = StorageConfig()

    @model_validator(mode="after")
    def resolve_teacher(self) -> RefineConfig:
        if self.teacher is None:
            self.teacher = "openai" if self.teacher_url else "template"
        if self.judge.enabled and self.teacher != "openai":
            raise ValueError(
                "judge.enabled needs an LLM teacher (teacher: openai with teacher_url); the template "
                "teacher's answers are the caption's own sentences"
            )
        return self


def hashed_config(config: RefineConfig) -> dict[str, Any]:
    keys = {
        "teacher",
        "model",
        "vision",
        "image_max_side",
        "qa_per_pair",
        "val_fraction",
        "sampling",
        "prompt",
        "judge",
    }
    values = config.model_dump(include=keys)
    if config.teacher == "template":
        values.update(model=None, vision=False, image_max_side=None, sampling=None, prompt=None, judge=None)
    return values


def resolve_price(config: RefineConfig) -> Any:
    from cephalo_ray.refine.governor import price_of

    model = config.model if config.teacher == "openai" else None
    return price_of(model, config.price.input_usd_per_mtok, config.price.output_usd_per_mtok)


def run(config: RefineConfig) -> dict[str, Any]:
    """Refine to completion (or to the limit or budget) and return the final manifest."""
    from cephalo_ray.ledger import status_is_in
    from cephalo_ray.output_root import read_manifest, read_upstream
    from cephalo_ray.refine.stage import LAYOUT, RETRY
    from cephalo_ray.restart import RootRun
    from cephalo_ray.rows import STATUS_FAILED
    from cephalo_ray.storage import Storage, join

    price = resolve_price(config)
    if config.max_cost_usd is not None and not price.known:
        raise ConfigError(
            f"max_cost_usd needs a price for model {config.model!r}: set price.input_usd_per_mtok and "
            "price.output_usd_per_mtok (USD per million tokens)"
        )
    storage = Storage(config.storage.s3_endpoint_url, config.storage.s3_region)
    upstream, digest = read_upstream(storage, config.input, config.allow_partial)
    pair_files = [join(config.input, name) for name in upstream["files"].get("pairs", [])]
    document_files = [join(config.input, name) for name in upstream["files"].get("documents", [])]
    pairs_in = int(upstream["counts"].get("pairs", 0))
    if config.dry_run:
        return dry_run(config, storage, pair_files, price)
    refuse_changed_filters(read_manifest(storage, config.output), config)
    split = plan_split_of(config, storage, pair_files)
    root = RootRun(
        storage,
        config.output,
        LAYOUT,
        config=config.model_dump(),
        hashed_config=hashed_config(config),
        upstream={"uri": config.input, "digest": digest, "job": upstream.get("job")},
        target_file_bytes=int(config.resources.target_file_mb * 2**20),
    )
    with root:
        # Transient failures are always asked again; others with --retry-failed.
        redo = {RETRY, STATUS_FAILED} if config.retry_failed else {RETRY}
        ledger = root.ledger_table  # Arrow: the driver holds no dict per pair of the ledger
        # --refilter answers pairs again from their stored replies, with today's filters; a pair that
        # --retry-failed asks again is sent to the teacher instead. A pair whose judge failed on the
        # way (a transient error after the teacher replied) goes on from its stored reply.
        stored = replies_to_filter_again(stored_replies(storage, config.output), ledger, config)
        done = answered(ledger, redo, stored)
        print(
            f"refine: {pairs_in} pairs upstream, {len(done)} answered before"
            + (f", {len(stored)} stored replies to filter again" if config.refilter else "")
            + f", teacher {config.teacher}"
            + (f" ({config.model})" if config.teacher == "openai" else ""),
            file=sys.stderr,
        )
        warnings = [warning] if (warning := vision_numbers_warning(config)) else []
        for line in warnings:
            print(f"refine: WARNING: {line}", file=sys.stderr)
        outcomes = Tally()
        stop_reason = None
        seconds = 0.0
        unchanged = finished_on_the_same_upstream(root.previous, digest) and not stored
        if unchanged and (ledger.num_rows == 0 or ledger.filter(status_is_in(redo)).num_rows == 0):
            # nothing upstream changed since a finished run: no pair needs reading again
            print("refine: the upstream root is unchanged since the last finished run", file=sys.stderr)
            outcomes = outcomes_of_a_finished_run(ledger, root.previous)
        elif pair_files:
            outcomes, stop_reason, seconds = refine_pending(
                config,
                root,
                storage,
                pair_files,
                pairs_in,
                done,
                refine_settings(config, price, split),
                stored,
                provenance_by_document(storage, document_files),
            )
        achieved = achieved_split(storage, config.output)
        manifest = root.finish(
            lambda ledger: summarise(
                ledger,
                outcomes,
                pairs_in,
                stop_reason,
                seconds,
                achieved,
                refine_settings(config, price).prompt.version,
                warnings,
            ),
            extra_timings={"refine_seconds": round(seconds, 3)},
        )
    print(summary_text(manifest), file=sys.stderr)
    return manifest


def vision_numbers_warning(config: RefineConfig) -> str | None:
    """What the log and the manifest say when the teacher sees the image and no judge checks the
    numbers it may read there (parsing.py's module docstring has the rule)."""
    if not config.vision or config.judge.enabled or config.teacher != "openai":
        return None
    if config.filters.keep_unverified_numbers:
        return (
            "--vision without a judge and filters.keep_unverified_numbers: answers citing numbers that no "
            "caption or citing sentence states are KEPT UNCHECKED (read off the image, or invented); "
            "enable judge.enabled to score them"
        )
    return (
        "--vision without a judge: answers citing numbers that no caption or citing sentence states are "
        "dropped as 'unverifiable number (vision without judge)', as values read off the image cannot be "
        "checked from text; enable judge.enabled to score them, or set filters.keep_unverified_numbers "
        "to keep them unchecked"
    )


def finished_on_the_same_upstream(previous: dict[str, Any] | None, digest: str) -> bool:
    """Whether the root's last run finished over the upstream root as it is now (same digest)."""
    from cephalo_ray.output_root import STATUS_COMPLETE

    if not previous or previous.get("status") != STATUS_COMPLETE:
        return False
    return bool((previous.get("upstream") or {}).get("digest") == digest)


def replies_to_filter_again(
    stored: Any, ledger: Any, config: RefineConfig
) -> Mapping[str, Mapping[str, str]]:
    """pair_id -> {cache_key, file} of the stored replies this run parses and filters again: all of
    them with --refilter (but those --retry-failed sends to the teacher again), and those of pairs
    whose judge failed on the way (status RETRY). An Arrow-backed lookup: the driver holds no dict
    per stored reply, and it travels to the actors as columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from cephalo_ray.ledger import ColumnLookup
    from cephalo_ray.refine.stage import RETRY
    from cephalo_ray.rows import STATUS_FAILED

    if stored.num_rows == 0:
        return {}
    statuses = (
        ledger.select(["pair_id", "status"])
        if ledger.num_rows
        else pa.table({"pair_id": pa.array([], pa.string()), "status": pa.array([], pa.string())})
    )
    joined = stored.join(statuses, "pair_id", join_type="left outer")
    status = pc.fill_null(joined.column("status"), "")
    keep = pc.equal(status, RETRY)
    if config.refilter:
        refiltered = pc.invert(pc.equal(status, STATUS_FAILED)) if config.retry_failed else pa.scalar(True)
        keep = pc.or_(keep, refiltered)
    kept = joined.filter(keep)
    found = pa.StructArray.from_arrays(
        [kept.column("cache_key").combine_chunks(), kept.column("file").combine_chunks()],
        ["cache_key", "file"],
    )
    return ColumnLookup(kept.column("pair_id"), found)


def answered(ledger: Any, redo: set[str], stored: Mapping[str, Any]) -> Mapping[str, str]:
    """pair_id -> cache key of the pairs the settled ledger (Arrow) holds answered, less those sent
    again (status in `redo`) or filtered again from a stored reply: an Arrow-backed lookup that
    travels to every actor as two columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from cephalo_ray.ledger import ColumnLookup, status_is_in

    if ledger.num_rows == 0:
        return {}
    kept = ledger.select(["pair_id", "cache_key", "status"]).filter(~status_is_in(redo))
    if stored:
        again = stored.key_column if isinstance(stored, ColumnLookup) else pa.array(list(stored), pa.string())
        kept = kept.filter(~pc.field("pair_id").isin(again))
    return ColumnLookup(kept.column("pair_id"), kept.column("cache_key"))


class Tally(Counter[str]):
    """Outcomes of pairs by status (`errors`: by error kind): all the driver keeps of a run's
    outcomes, a few counters however many pairs pass (Ray Data hands each output block over once)."""

    def __init__(
        self, statuses: Mapping[str, int] | None = None, errors: Mapping[str, int] | None = None
    ) -> None:
        super().__init__(statuses or {})
        self.errors = Counter(errors or {})

    def add(self, outcomes: Any) -> None:
        """Count a batch of outcome rows: an Arrow table with `status` and `error` (a kind or null)."""
        import pyarrow.compute as pc

        for found in pc.value_counts(outcomes.column("status")).to_pylist():
            self[found["values"]] += found["counts"]
        errors = outcomes.column("error").drop_null()
        for found in pc.value_counts(errors.filter(pc.not_equal(errors, ""))).to_pylist():
            self.errors[found["values"]] += found["counts"]


def outcomes_of_a_finished_run(ledger: Any, previous: dict[str, Any] | None) -> Tally:
    """What a rerun over unchanged pairs would find, without reading them: every ledger row
    cached, and as many near-duplicates as the finished run skipped (they have no ledger rows)."""
    from cephalo_ray.refine.stage import CACHED, DUPLICATE

    duplicates = int(((previous or {}).get("counts") or {}).get("pairs_duplicate", 0))
    return Tally({CACHED: ledger.num_rows, DUPLICATE: duplicates})


def refine_pending(
    config: RefineConfig,
    root: Any,
    storage: Any,
    pair_files: list[str],
    pairs_in: int,
    done: Mapping[str, str],
    settings: Any,
    stored: Mapping[str, Mapping[str, str]],
    provenance: dict[str, dict[str, Any]],
) -> tuple[Tally, str | None, float]:
    """Run the Ray Data pipeline; returns the pairs' outcomes counted, the stop reason and seconds."""
    import pyarrow.compute as pc
    import ray
    from ray.data import ActorPoolStrategy, DataContext
    from tqdm import tqdm

    from cephalo_ray.errors import find_cause
    from cephalo_ray.ray_session import connect_ray, parquet_dataset
    from cephalo_ray.refine.governor import Governor
    from cephalo_ray.refine.stage import RefineStage
    from cephalo_ray.refine.teacher import TeacherEndpoint, TeacherUnavailable
    from cephalo_ray.restart import merge_in_ray

    started_here = connect_ray(config.resources.local_num_cpus)
    try:
        started = time.perf_counter()
        DataContext.get_current().enable_progress_bars = False
        duplicates = near_duplicate_pairs(config, storage, pair_files)
        governor: Any = (
            ray.remote(Governor)
            .options(num_cpus=0)
            .remote(
                config.limits.requests_per_minute,
                config.limits.tokens_per_minute,
                config.limit,
                config.max_cost_usd,
            )
        )
        teacher = None
        if config.teacher == "openai":
            teacher = TeacherEndpoint(
                base_url=config.teacher_url or "https://api.openai.com/v1",
                model=config.model,
                api_key_env=config.api_key_env,
                timeout_s=config.limits.timeout_s,
                sampling=config.sampling.model_dump(),
                json_schema=config.json_schema,
            )
        batches = max(1, math.ceil(pairs_in / config.resources.batch_size))
        dataset = parquet_dataset(storage, pair_files, PAIR_COLUMNS, config.resources.num_cpus).map_batches(
            RefineStage,
            fn_constructor_kwargs={
                "committer": root.committer,
                "settings": settings,
                "done": done,
                "governor": governor,
                "teacher": teacher,
                "concurrency": config.resources.concurrency,
                "stored_replies": stored,
                "duplicates": duplicates,
                "provenance": provenance,
                "judge": judge_endpoint(config),
            },
            batch_size=config.resources.batch_size,
            batch_format="pyarrow",
            compute=ActorPoolStrategy(size=min(config.resources.actors, batches)),
            num_cpus=config.resources.num_cpus,
            **secret_env(config),
        )
        outcomes = Tally()
        spent = 0.0
        try:
            with tqdm(total=pairs_in, unit="pair", desc="refine", file=sys.stderr) as bar:
                batch: Any  # a pyarrow.Table (batch_format="pyarrow")
                for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
                    outcomes.add(batch)
                    spent += pc.sum(batch.column("cost_usd")).as_py() or 0.0
                    bar.update(batch.num_rows)
                    bar.set_postfix(usd=f"{spent:.4f}", errors=outcomes.errors.total())
        except Exception as error:  # Ray wraps actor errors; surface the teacher's own words
            cause = find_cause(error, TeacherUnavailable)  # Ray wraps it: found by its name
            if cause is not None:
                raise TeacherUnavailable(str(cause)) from None
            raise
        stop_reason = ray.get(governor.state.remote())["stop_reason"]
        seconds = time.perf_counter() - started
        root.compact(merge_in_ray)  # small commits into files of target_file_mb, beside the data
        return outcomes, stop_reason, seconds
    finally:
        if started_here:
            ray.shutdown()


def refuse_changed_filters(previous: dict[str, Any] | None, config: RefineConfig) -> None:
    """Filters are not part of the root's identity (they can be run again over stored replies), but
    a root must not mix rows filtered two ways: changed filters need --refilter."""
    if previous is None or config.refilter:
        return
    before = previous.get("config", {}).get("filters")
    now = config.filters.model_dump()
    if before is not None:  # a key added since the root was written had its default then
        before = {**FiltersConfig().model_dump(), **before}
    if before is not None and before != now:
        changes = ", ".join(
            f"filters.{key} {before.get(key)} -> {value}"
            for key, value in now.items()
            if before.get(key) != value
        )
        raise ConfigError(
            f"{changes}: the root's answers were filtered with the old settings; add --refilter to "
            "filter every stored reply again (no teacher requests), or keep the old filters"
        )


def stored_replies(storage: Any, root: str) -> Any:
    """The teacher replies the root keeps, as an Arrow table (pair_id, cache_key, file): one row per
    pair, from the latest file that holds it."""
    import pyarrow as pa

    from cephalo_ray.ledger import committed_files, committed_names
    from cephalo_ray.refine.stage import LAYOUT, REPLIES_DIR
    from cephalo_ray.storage import join

    assert LAYOUT.ledger_dir is not None
    names = committed_names(storage, root, LAYOUT.ledger_dir)
    parts = []
    for name in committed_files(storage, root, [REPLIES_DIR], names)[REPLIES_DIR]:
        uri = join(root, name)
        table = storage.read_parquet([uri], columns=["pair_id", "cache_key"])
        if table is not None and table.num_rows:
            parts.append(table.append_column("file", pa.array([uri] * table.num_rows, pa.string())))
    empty = pa.schema([("pair_id", pa.string()), ("cache_key", pa.string()), ("file", pa.string())])
    if not parts:
        return empty.empty_table()
    # (a pair answered again in a later file: the later reply stands)
    return last_row_per(pa.concat_tables(parts), "pair_id")


def last_row_per(table: Any, key: str) -> Any:
    """The last row of each value of `key` in an Arrow table (later files are read later), in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ordered = table.append_column("_order", pa.array(range(table.num_rows), pa.int64()))
    latest = ordered.group_by(key).aggregate([("_order", "max")]).column("_order_max")
    return ordered.filter(pc.is_in(ordered.column("_order"), value_set=latest)).drop_columns(["_order"])


def plan_split_of(config: RefineConfig, storage: Any, pair_files: list[str]) -> Any:
    """The train/val assignment of the upstream documents (documents refined before keep theirs).

    Raises:
        ConfigError: when val_fraction asks for a val split that whole documents cannot give.
    """
    import pyarrow.compute as pc

    from cephalo_ray.output_root import manifest_files, read_manifest
    from cephalo_ray.refine.split import plan_split
    from cephalo_ray.storage import join

    upstream = storage.read_parquet(pair_files, columns=["doc_id"])
    pairs_per_document = Counter(
        {
            found["values"]: found["counts"]
            for found in (
                pc.value_counts(upstream.column("doc_id")).to_pylist() if upstream is not None else []
            )
        }
    )
    previous = read_manifest(storage, config.output) or {}
    listed = manifest_files(storage, config.output, previous)
    refined_files = [join(config.output, name) for name in listed.get("refined", [])]
    refined = storage.read_parquet(refined_files, columns=["doc_id", "split"])
    fixed = {}
    if refined is not None and refined.num_rows:  # per document: the split of its latest refined row
        kept = last_row_per(refined, "doc_id")
        fixed = dict(zip(kept.column("doc_id").to_pylist(), kept.column("split").to_pylist(), strict=True))
    plan = plan_split(pairs_per_document, config.val_fraction, fixed)
    if config.val_fraction > 0 and plan.train_pairs and not plan.val_documents:
        smallest = min(pairs_per_document.values())
        raise ConfigError(
            f"val_fraction {config.val_fraction}: {sum(pairs_per_document.values())} pairs in "
            f"{len(pairs_per_document)} documents cannot give a val split by whole documents (the smallest "
            f"has {smallest} pairs, the target is {config.val_fraction * plan.train_pairs:.1f}); set "
            "val_fraction: 0 to refine without a val split, or raise it"
        )
    return plan


def achieved_split(storage: Any, root: str) -> dict[str, Any]:
    """Pairs and documents per split among the refined rows the root holds (counted in Arrow: the
    driver holds no row per pair)."""
    import pyarrow as pa

    from cephalo_ray.ledger import committed_files, committed_names
    from cephalo_ray.refine.stage import LAYOUT, REFINED_DIR
    from cephalo_ray.storage import join

    assert LAYOUT.ledger_dir is not None
    names = committed_names(storage, root, LAYOUT.ledger_dir)
    files = committed_files(storage, root, [REFINED_DIR], names)[REFINED_DIR]
    table = storage.read_parquet([join(root, name) for name in files], columns=["pair_id", "doc_id", "split"])
    if table is None or table.num_rows == 0:
        table = pa.table({name: pa.array([], pa.string()) for name in ("pair_id", "doc_id", "split")})
    # a pair answered again in a later file counts once, with the split of its latest row
    table = last_row_per(table, "pair_id")
    counted = {
        row["split"]: row
        for row in table.group_by("split")
        .aggregate([("pair_id", "count"), ("doc_id", "count_distinct")])
        .to_pylist()
    }
    pairs = {split: counted.get(split, {}).get("pair_id_count", 0) for split in ("train", "val")}
    documents = {split: counted.get(split, {}).get("doc_id_count_distinct", 0) for split in ("train", "val")}
    total = pairs["train"] + pairs["val"]
    return {
        "train_pairs": pairs["train"],
        "val_pairs": pairs["val"],
        "train_documents": documents["train"],
        "val_documents": documents["val"],
        "val_fraction_achieved": round(pairs["val"] / total, 4) if total else 0.0,
    }


def provenance_by_document(storage: Any, document_files: list[str]) -> dict[str, dict[str, Any]]:
    """doc_id -> title, authors, year, doi, licence, from the extract root's documents ledger (roots
    written before it recorded them give nothing)."""
    from cephalo_ray.refine.stage import PROVENANCE_FIELDS

    table = storage.read_parquet(document_files)
    if table is None or "doi" not in table.column_names:
        return {}
    columns = ["doc_id", *PROVENANCE_FIELDS]
    return {row["doc_id"]: row for row in table.select(columns).to_pylist() if row["doc_id"]}


def near_duplicate_pairs(config: RefineConfig, storage: Any, pair_files: list[str]) -> dict[str, str]:
    """pair_id -> the pair kept in its place, over the whole corpus (hashes computed by Ray tasks)."""
    from cephalo_ray.ray_session import parquet_dataset
    from cephalo_ray.refine.dedup import FigurePrint, near_duplicates, prints_of_batch

    if config.dedup_max_distance is None:
        return {}
    columns = ["pair_id", "image", "caption", "mentions"]
    # one task per file, reading and hashing fused: the pass costs one task round, not three
    prints = parquet_dataset(storage, pair_files, columns, config.resources.num_cpus).map_batches(
        prints_of_batch, batch_format="pyarrow", batch_size=256, num_cpus=config.resources.num_cpus
    )
    found = [
        FigurePrint(
            str(row["pair_id"]),
            int(row["phash"], 16),
            float(row["aspect_ratio"]),
            int(row["caption_chars"]),
            int(row["mentions"]),
        )
        for row in prints.iter_rows()
    ]
    duplicates = near_duplicates(found, config.dedup_max_distance)
    if duplicates:
        print(f"refine: {len(duplicates)} near-duplicate figures will not be sent", file=sys.stderr)
    return duplicates


def judge_settings(config: RefineConfig) -> Any:
    from cephalo_ray.refine.governor import price_of
    from cephalo_ray.refine.stage import JudgeSettings

    if not config.judge.enabled:
        return None
    model = config.judge.model or config.model
    same = model == config.model
    price = price_of(
        model,
        config.price.input_usd_per_mtok if same else None,
        config.price.output_usd_per_mtok if same else None,
    )
    vision = config.vision if config.judge.vision is None else config.judge.vision
    return JudgeSettings(vision=vision, max_tokens=config.judge.max_tokens, price=price)


def judge_endpoint(config: RefineConfig) -> Any:
    from cephalo_ray.refine.teacher import TeacherEndpoint

    if not config.judge.enabled:
        return None
    return TeacherEndpoint(
        base_url=config.judge.teacher_url or config.teacher_url or "https://api.openai.com/v1",
        model=config.judge.model or config.model,
        api_key_env=config.judge.api_key_env or config.api_key_env,
        timeout_s=config.limits.timeout_s,
        sampling={},
        json_schema=config.json_schema,
    )


def refine_settings(config: RefineConfig, price: Any, split: Any = None) -> Any:
    """The settings every refine actor gets (flat values, built once here); `split` is the plan
    whose val documents the rows are marked with."""
    from cephalo_ray.refine.parsing import FilterSettings
    from cephalo_ray.refine.stage import RefineSettings

    return RefineSettings(
        teacher=str(config.teacher),
        model=config.model,
        qa_per_pair=config.qa_per_pair,
        vision=config.vision,
        image_max_side=config.image_max_side,
        val_documents=split.val_documents if split is not None else frozenset(),
        prompt=config.prompt.profile_of(),
        judge=judge_settings(config),
        max_retries=config.limits.max_retries,
        sampling=config.sampling.model_dump(),
        filters=FilterSettings(**config.filters.model_dump(), vision=config.vision),
        price=price,
    )


def secret_env(config: RefineConfig) -> dict[str, Any]:
    """Hand the driver's API key to the refine actors in their process environment only.

    Workers on a cluster may not share the driver's environment; the key travels in the actors'
    runtime environment, never in a config, a row, a manifest or a log line.
    """
    names = (
        {config.api_key_env, config.judge.api_key_env or config.api_key_env}
        if config.judge.enabled
        else {config.api_key_env}
    )
    keys = {name: os.environ[name] for name in names if os.environ.get(name)}
    if config.teacher != "openai" or not keys:
        return {}
    return {"runtime_env": {"env_vars": keys}}


def answered_before(config: RefineConfig, storage: Any) -> Mapping[str, str]:
    """pair_id -> cache key of the pairs the output root holds answers for and a run would not send
    again, read without claiming the root; a run that would be refused is refused here too."""
    from cephalo_ray.ledger import latest_ledger
    from cephalo_ray.output_root import read_manifest, refuse_changed_config
    from cephalo_ray.refine.stage import LAYOUT, RETRY
    from cephalo_ray.rows import STATUS_FAILED

    previous = read_manifest(storage, config.output)
    if previous is None:
        return {}
    refuse_changed_config(previous, JOB, hashed_config(config))
    redo = {RETRY, STATUS_FAILED} if config.retry_failed else {RETRY}
    assert LAYOUT.ledger_dir is not None
    return answered(latest_ledger(storage, config.output, LAYOUT.ledger_dir, LAYOUT.key_columns), redo, {})


def dry_run(config: RefineConfig, storage: Any, pair_files: list[str], price: Any) -> dict[str, Any]:
    """Print what a run would send and cost (pairs already answered in the output root are not
    counted); send nothing and write nothing."""
    from cephalo_ray.refine.prompts import estimate_requests, loggable
    from cephalo_ray.refine.stage import key_of

    done = answered_before(config, storage)
    settings = refine_settings(config, price)
    skipped = 0

    def pairs() -> Any:
        nonlocal skipped
        for uri in pair_files:
            table = storage.read_parquet([uri])
            for pair in table.select(PAIR_COLUMNS).to_pylist() if table is not None else []:
                if done.get(pair["pair_id"]) == key_of(pair, settings):
                    skipped += 1
                else:
                    yield pair

    image_side = config.image_max_side if config.vision else None
    requests, prompt_tokens, example = estimate_requests(
        pairs(), config.qa_per_pair, image_side, config.limit, config.prompt.profile_of()
    )
    completion_tokens = requests * config.sampling.max_tokens // 2  # replies use about half their cap
    cost = price.cost(prompt_tokens, completion_tokens) if price.known else None
    if example:
        print("refine --dry-run: the first request would be:", file=sys.stderr)
        for message in loggable(example):
            print(f"  [{message['role']}] {message['content']}", file=sys.stderr)
    cost_text = f"${cost:.2f}" if cost is not None else "unknown (set price.*)"
    print(
        f"refine --dry-run: {requests} requests, ~{prompt_tokens} prompt + ~{completion_tokens} completion tokens, "
        f"estimated cost {cost_text}; {skipped} pairs answered before would not be sent; nothing was sent",
        file=sys.stderr,
    )
    return {
        "dry_run": True,
        "pairs_answered_before": skipped,
        "teacher": config.teacher,
        "model": config.model,
        "requests": requests,
        "estimated_prompt_tokens": prompt_tokens,
        "estimated_completion_tokens": completion_tokens,
        "estimated_cost_usd": round(cost, 4) if cost is not None else None,
    }


def summarise(
    ledger: Any,
    outcomes: Tally,
    pairs_in: int,
    stop_reason: str | None,
    seconds: float,
    split: dict[str, Any],
    prompt_version: str,
    warnings: Sequence[str] = (),
) -> Any:
    """Counts from the settled ledger (an Arrow table) and this run's outcomes; complete when
    nothing waits."""
    import pyarrow.compute as pc

    from cephalo_ray.refine.stage import CACHED, DEFERRED, DUPLICATE, RETRY
    from cephalo_ray.restart import Summary
    from cephalo_ray.rows import STATUS_FAILED, STATUS_OK, refine_ledger_schema

    if ledger.num_rows == 0:
        ledger = refine_ledger_schema().empty_table()
    statuses = outcomes
    sent_now = statuses[STATUS_OK] + statuses[STATUS_FAILED] + statuses[RETRY]

    def having(status: str) -> int:
        return int(ledger.filter(pc.field("status") == status).num_rows)

    def total(column: str) -> Any:
        return pc.sum(ledger.column(column)).as_py() or 0

    counts = {
        "pairs_in": pairs_in,
        "pairs_ok": having(STATUS_OK),
        "pairs_failed": having(STATUS_FAILED),
        "pairs_cached": statuses[CACHED],
        "pairs_sent": sent_now,
        "pairs_deferred": statuses[DEFERRED],
        "pairs_duplicate": statuses[DUPLICATE],
        "pairs_retry": having(RETRY),
        "errors_by_kind": dict(statuses.errors),
        "prompt_tokens": int(total("prompt_tokens")),
        "completion_tokens": int(total("completion_tokens")),
        "cost_usd": round(float(total("cost_usd")), 6),
        "pairs_per_second": round(sent_now / seconds, 2) if seconds else None,
        "stop_reason": stop_reason,
        "split": split,
    }
    finished = sum(statuses.values()) > 0 and statuses[DEFERRED] == 0 and statuses[RETRY] == 0
    extra = {"prompt_version": prompt_version, "warnings": list(warnings)}
    return Summary(counts, complete=finished or pairs_in == 0, extra=extra)


def summary_text(manifest: dict[str, Any]) -> str:
    counts = manifest["counts"]
    errors = (
        ", ".join(f"{kind} {count}" for kind, count in sorted(counts["errors_by_kind"].items())) or "none"
    )
    stop = f"; stopped: {counts['stop_reason']} (rerun to continue)" if counts["stop_reason"] else ""
    split = counts["split"]
    split_text = (
        f"; split {split['train_pairs']} train / {split['val_pairs']} val pairs "
        f"({split['val_documents']} val documents, {split['val_fraction_achieved']:.1%})"
    )
    return (
        f"refine {manifest['status']}: {counts['pairs_in']} pairs ({counts['pairs_ok']} ok, "
        f"{counts['pairs_failed']} failed, {counts['pairs_cached']} cached, {counts['pairs_sent']} sent now, "
        f"{counts.get('pairs_duplicate', 0)} near-duplicates, "
        f"{counts['pairs_retry']} to retry); errors: {errors}; tokens {counts['prompt_tokens']}+"
        f"{counts['completion_tokens']}, ${counts['cost_usd']:.4f}{split_text}{stop}"
    )


def main(argv: Sequence[str] | None = None, prog: str = "python -m cephalo_ray.jobs.refine_pairs") -> int:
    return run_job_main(RefineConfig, run, argv, prog, __doc__)


if __name__ == "__main__":
    sys.exit(main())
