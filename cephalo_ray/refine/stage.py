"""Ray adapter of refinement: sends a batch of pairs to the teacher with bounded concurrency, turns
every failure into an error row, and commits the batch (refined and errors first, the ledger last).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from cephalo_ray.refine.figure_types import figure_type
from cephalo_ray.refine.governor import HELD, OVER, Price
from cephalo_ray.refine.parsing import (
    EMPTY,
    FilterSettings,
    RefineError,
    filter_qa,
    llava_conversations,
    parse_reply,
    parse_verdicts,
)
from cephalo_ray.refine.prompts import (
    PromptProfile,
    build_messages,
    cache_key,
    estimate_tokens,
    image_data_url,
    instruction_text,
    judge_messages,
    judge_schema,
    template_qa,
)
from cephalo_ray.refine.split import TRAIN, VAL
from cephalo_ray.refine.teacher import OVER_BUDGET, TRANSIENT, OpenAITeacher, TeacherEndpoint
from cephalo_ray.restart import BatchCommitter, RootLayout
from cephalo_ray.rows import (
    STATUS_FAILED,
    STATUS_OK,
    ErrorRow,
    RefinedRow,
    RefineLedgerRow,
    TeacherReplyRow,
    errors_schema,
    refine_ledger_schema,
    refined_schema,
    replies_schema,
)
from cephalo_ray.storage import name_of

STAGE = "refine"
REFINED_DIR = "refined"
ERRORS_DIR = "errors"
REPLIES_DIR = "replies"
LEDGER_DIR = "done"
# One pair is the restart unit; its refined row or error row follows it by `pair_id`.
LAYOUT = RootLayout(
    job="refine",
    ledger_dir=LEDGER_DIR,
    key_columns=("pair_id",),
    links={
        REFINED_DIR: ("pair_id", "pair_id"),
        ERRORS_DIR: ("pair_id", "pair_id"),
        REPLIES_DIR: ("pair_id", "pair_id"),
    },
)
TEMPLATE = "template"
# Per-pair outcomes reported to the driver.
CACHED = "cached"  # answered by an earlier run with the same cache key
DEFERRED = "deferred"  # not sent: the limit or the budget was reached
RETRY = "retry"  # a transient failure (also its ledger status): sent again on the next run
DUPLICATE = "duplicate"  # a near-duplicate of a better-captioned figure: not sent
COMMIT_INTERVAL_S = 10.0  # the longest an answer waits in memory before it is committed
MAX_RETRY_WAIT_S = 60.0  # a longer Retry-After leaves the pair to a rerun instead
# Requests in flight settle within their time-outs; what a lost actor held never does: stop waiting.
MAX_BUDGET_WAIT_S = 600.0
OVER_BUDGET_TEXT = (
    "the teacher replied, but judging it would pass --max-cost-usd; a rerun judges the kept reply"
)


@dataclass(frozen=True)
class JudgeSettings:
    """How a second model that scores each QA for grounding is used (its endpoint travels apart)."""

    vision: bool
    max_tokens: int
    price: Price = Price()


@dataclass(frozen=True)
class RefineSettings:
    """What shapes a refined row (flat values, no config object)."""

    teacher: str
    model: str
    qa_per_pair: int
    vision: bool
    image_max_side: int
    val_documents: frozenset[str] = frozenset()  # the rest are train (see refine/split.py)
    prompt: PromptProfile = PromptProfile()
    judge: JudgeSettings | None = None
    max_retries: int = 0
    sampling: dict[str, Any] = field(default_factory=dict)
    filters: FilterSettings = FilterSettings()
    price: Price = Price()


class OverBudget(Exception):
    """The next request could overshoot --max-cost-usd: the pair waits for a rerun with more budget."""


@dataclass
class Outcome:
    status: str
    row: RefinedRow | None = None
    error: ErrorRow | None = None
    ledger: RefineLedgerRow | None = None
    reply: TeacherReplyRow | None = None


def call(governor: Any, method: str, *args: Any) -> Any:
    """Call the governor, whether a Ray actor handle or a local object."""
    bound = getattr(governor, method)
    if hasattr(bound, "remote"):
        import ray

        return ray.get(bound.remote(*args))
    return bound(*args)


PROVENANCE_FIELDS = ("title", "authors", "year", "doi", "licence")


def provenance_of(document: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: document.get(name) if name != "authors" else list(document.get(name) or [])
        for name in PROVENANCE_FIELDS
    }


def retry_wait(attempt: int, retry_after_s: float | None) -> float | None:
    """Seconds before retry number `attempt + 1`: what the endpoint asked, else exponential backoff
    with jitter; None when the endpoint asks for longer than a run should wait."""
    import random

    if retry_after_s is not None:
        return retry_after_s if retry_after_s <= MAX_RETRY_WAIT_S else None
    return min(MAX_RETRY_WAIT_S, 0.5 * 2**attempt) * random.uniform(0.75, 1.25)


def type_of(pair: Mapping[str, Any]) -> str:
    return figure_type(pair.get("kind"), pair.get("caption"), pair.get("graphics"))


def key_of(pair: Mapping[str, Any], settings: RefineSettings) -> str:
    model = TEMPLATE if settings.teacher == TEMPLATE else settings.model
    version = settings.prompt.version if settings.teacher != TEMPLATE else "template"
    return cache_key(
        pair["caption"],
        pair["mentions"] or [],
        pair["image"],
        model,
        settings.sampling,
        settings.vision,
        version,
    )


class RefineStage:
    """`map_batches` callable: a batch of extract pairs in, one outcome row per pair out.

    Args:
        committer: commits a group of answers into the output root while this run owns it.
        settings: prompt, teacher and filter settings.
        done: pair_id -> cache key of pairs answered by earlier runs.
        governor: the shared `Governor` (Ray actor handle or local object).
        teacher: the endpoint of an OpenAI-compatible teacher (None: the offline template teacher).
        concurrency: requests in flight at once in this actor; answers commit in groups of this size.
        stored_replies: pair_id -> {cache_key, file} of replies earlier runs kept; a pair whose key
            matches is parsed and filtered from its stored reply, not sent again.
        duplicates: pair_id -> the pair kept in its place (refine/dedup.py); these are not sent.
        provenance: doc_id -> what the document states (title, authors, year, doi, licence).
        judge: the endpoint of the judge (`settings.judge` says how it is used), or None.
    """

    def __init__(
        self,
        committer: BatchCommitter,
        settings: RefineSettings,
        done: Mapping[str, str],
        governor: Any,
        teacher: TeacherEndpoint | None,
        concurrency: int,
        stored_replies: Mapping[str, Mapping[str, str]] | None = None,
        duplicates: Mapping[str, str] | None = None,
        provenance: Mapping[str, Mapping[str, Any]] | None = None,
        judge: TeacherEndpoint | None = None,
    ) -> None:
        self.committer = committer
        self.judge = OpenAITeacher(judge) if judge else None
        self.provenance = provenance or {}
        self.duplicates = duplicates or {}
        self.stored_replies = stored_replies or {}
        self.reply_files: dict[str, dict[str, TeacherReplyRow]] = {}
        self.reply_files_lock = threading.Lock()
        self.settings = settings
        self.done = done
        self.governor = governor
        self.teacher = OpenAITeacher(teacher) if teacher else None
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="teacher")
        self.commit_every = concurrency

    def __call__(self, batch: Any) -> dict[str, list[Any]]:
        columns = batch.to_pydict() if hasattr(batch, "to_pydict") else batch
        pairs = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
        futures = {self.pool.submit(self.process, pair): index for index, pair in enumerate(pairs)}
        outcomes: list[Outcome] = [Outcome(DEFERRED)] * len(pairs)
        unsaved: list[Outcome] = []
        last_commit = time.monotonic()
        # Commit as answers arrive, so a crash loses little more than the requests in flight.
        for future in as_completed(futures):
            outcome = outcomes[futures[future]] = future.result()
            if outcome.ledger:
                unsaved.append(outcome)
            if len(unsaved) >= self.commit_every or time.monotonic() - last_commit > COMMIT_INTERVAL_S:
                self.commit(unsaved)
                unsaved, last_commit = [], time.monotonic()
        self.commit(unsaved)
        return {
            "pair_id": [pair["pair_id"] for pair in pairs],
            "status": [outcome.status for outcome in outcomes],
            "error": [outcome.error["error"] if outcome.error else None for outcome in outcomes],
            "cost_usd": [outcome.ledger["cost_usd"] if outcome.ledger else 0.0 for outcome in outcomes],
        }

    def process(self, pair: dict[str, Any]) -> Outcome:
        if pair["pair_id"] in self.duplicates:
            return Outcome(DUPLICATE)
        key = key_of(pair, self.settings)
        if self.done.get(pair["pair_id"]) == key:
            return Outcome(CACHED)
        if not call(self.governor, "admit"):
            return Outcome(DEFERRED)
        started = time.perf_counter()
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
        replies: list[TeacherReplyRow] = []
        try:
            qa, dropped = self.ask(pair, key, usage, replies)
        except (OverBudget, RefineError) as raised:
            if isinstance(raised, OverBudget) and not replies:
                return Outcome(DEFERRED)
            # a paid reply whose judge does not fit is kept: a rerun judges it without asking again
            error = raised if isinstance(raised, RefineError) else RefineError(OVER_BUDGET, OVER_BUDGET_TEXT)
            failure: ErrorRow = {
                "source": pair["source"],
                "doc_id": pair["doc_id"],
                "pair_id": pair["pair_id"],
                "stage": STAGE,
                "error": error.kind,
                "message": error.message,
            }
            status = RETRY if error.kind in TRANSIENT else STATUS_FAILED
            ledger = self.ledger_row(pair, key, status, error.kind, usage, started)
            return Outcome(status, error=failure, ledger=ledger, reply=replies[0] if replies else None)
        row: RefinedRow = {
            "pair_id": pair["pair_id"],
            "doc_id": pair["doc_id"],
            "split": VAL if pair["doc_id"] in self.settings.val_documents else TRAIN,
            "kind": pair["kind"],
            "label": pair["label"],
            "image": pair["image"],
            "orig_caption": pair["caption"],
            "pdf_name": name_of(pair["source"]),
            "qa": qa,  # type: ignore[typeddict-item]
            "conversations": llava_conversations(qa),
            "teacher": self.settings.teacher,
            "model": TEMPLATE if self.settings.teacher == TEMPLATE else self.settings.model,
            "prompt_version": self.settings.prompt.version,
            "figure_type": type_of(pair),
            "cache_key": key,
            "usage": usage,  # type: ignore[typeddict-item]
            "dropped": dropped,
            "source": pair["source"],
            "page": pair.get("page"),
            **provenance_of(self.provenance.get(pair["doc_id"], {})),  # type: ignore[typeddict-item]
        }
        ledger = self.ledger_row(pair, key, STATUS_OK, None, usage, started)
        return Outcome(STATUS_OK, row=row, ledger=ledger, reply=replies[0] if replies else None)

    def ask(
        self, pair: dict[str, Any], key: str, usage: dict[str, Any], replies: list[TeacherReplyRow]
    ) -> tuple[list[dict[str, str]], list[str]]:
        """QA for one pair: from the template, a stored reply, or the teacher (then the judge, when
        there is one); the reply used is appended to `replies` (it is committed with the outcome)."""
        settings = self.settings
        mentions = pair["mentions"] or []
        if self.teacher is None:
            qa = template_qa(pair["label"], pair["caption"], mentions, settings.qa_per_pair)
            if not qa:
                raise RefineError(EMPTY, "no caption and no mentions to build questions from")
            return qa, []
        stored = self.stored_reply(pair["pair_id"], key)
        image = None
        if settings.vision and stored is None:
            image = image_data_url(pair["image"], settings.image_max_side)
        messages = build_messages(
            pair["label"],
            pair["caption"],
            mentions,
            settings.qa_per_pair,
            image,
            settings.prompt,
            type_of(pair),
        )
        reply_row: dict[str, Any]
        if stored is not None:  # paid for by an earlier run: its usage stays, nothing is billed now
            reply_row = dict(stored)
            usage.update(
                prompt_tokens=stored["prompt_tokens"],
                completion_tokens=stored["completion_tokens"],
                cost_usd=stored["cost_usd"],
            )
        else:
            reply = self.paid_request(self.teacher, settings.price, messages, settings.sampling, usage, None)
            reply_row = {
                "pair_id": pair["pair_id"],
                "cache_key": key,
                "text": reply.text,
                "finish_reason": reply.finish_reason,
                "refusal": reply.refusal,
                "judge_text": None,
                "prompt_tokens": int(usage["prompt_tokens"]),
                "completion_tokens": int(usage["completion_tokens"]),
                "cost_usd": float(usage["cost_usd"]),
            }
        replies.append(reply_row)  # type: ignore[arg-type]  # kept even when the judge fails below
        qa = parse_reply(
            reply_row["text"], reply_row["finish_reason"], reply_row["refusal"], settings.prompt.all_kinds()
        )
        verdicts = None
        if self.judge is not None and settings.judge is not None:
            if not reply_row.get("judge_text"):
                judge_image = None
                if settings.judge.vision:
                    judge_image = image or image_data_url(pair["image"], settings.image_max_side)
                judging = judge_messages(pair["caption"], mentions, qa, judge_image)
                schema = ("qa_scores", judge_schema(len(qa)))
                sampling = {"temperature": 0.0, "max_tokens": settings.judge.max_tokens}
                verdict = self.paid_request(
                    self.judge, settings.judge.price, judging, sampling, usage, schema
                )
                reply_row["judge_text"] = verdict.text
                for name in ("prompt_tokens", "completion_tokens", "cost_usd"):
                    reply_row[name] = usage[name]
            verdicts = parse_verdicts(reply_row["judge_text"], qa)
        instructions = instruction_text(messages, pair["label"], pair["caption"], mentions)
        result = filter_qa(qa, pair["caption"], mentions, settings.filters, verdicts, instructions)
        return result.qa, result.dropped

    def paid_request(
        self,
        client: Any,
        price: Price,
        messages: list[dict[str, Any]],
        sampling: Mapping[str, Any],
        usage: dict[str, Any],
        schema: tuple[str, dict[str, Any]] | None,
    ) -> Any:
        """One request under the budget: its worst case is held first and its real cost recorded;
        its tokens and cost are added to `usage`."""
        prompt_tokens = estimate_tokens(messages)
        answer_tokens = int(sampling.get("max_tokens") or 0)
        worst_case = price.cost(prompt_tokens, answer_tokens) if price.known else 0.0
        wait = self.start(worst_case, prompt_tokens + answer_tokens)
        cost = 0.0
        try:
            reply = self.send(client, messages, prompt_tokens + answer_tokens, schema, wait)
            cost = price.cost(reply.prompt_tokens, reply.completion_tokens)
            usage["prompt_tokens"] += reply.prompt_tokens
            usage["completion_tokens"] += reply.completion_tokens
            usage["cost_usd"] += cost
            return reply
        finally:  # a failed request gives back what was held for it (its cost is unknown: nothing billed)
            call(self.governor, "record", cost, worst_case)

    def start(self, worst_case: float, tokens: int) -> float:
        """Hold a request's worst case and reserve its start time; the seconds to wait before sending.
        While it fits only once requests in flight settle, ask again (they free what they held)."""
        pause, deadline = 0.05, time.monotonic() + MAX_BUDGET_WAIT_S
        while True:
            status, wait = call(self.governor, "start", worst_case, tokens)
            if status == HELD:
                return float(wait)
            if status == OVER or time.monotonic() > deadline:
                raise OverBudget()
            time.sleep(pause)
            pause = min(1.0, pause * 2)

    def stored_reply(self, pair_id: str, key: str) -> TeacherReplyRow | None:
        """The reply an earlier run kept for this pair and this request, read once per file."""
        found = self.stored_replies.get(pair_id)
        if found is None or found["cache_key"] != key:
            return None
        uri = found["file"]
        with self.reply_files_lock:
            if uri not in self.reply_files:
                table = self.committer.storage.read_parquet([uri])
                rows = table.to_pylist() if table is not None else []
                self.reply_files[uri] = {row["pair_id"]: row for row in rows}
            return self.reply_files[uri].get(pair_id)

    def send(
        self,
        client: Any,
        messages: list[dict[str, Any]],
        tokens: int,
        schema: tuple[str, dict[str, Any]] | None,
        first_wait: float = 0.0,
    ) -> Any:
        """One request, retried on transient failures up to `max_retries` times; every attempt waits
        for its start time under the shared caps (the first one's is `first_wait`), and at least as
        long as `Retry-After` asks."""
        for attempt in range(self.settings.max_retries + 1):
            time.sleep(first_wait if attempt == 0 else call(self.governor, "reserve", tokens))
            try:
                return client.ask(
                    messages, self.settings.qa_per_pair, self.settings.prompt.all_kinds(), schema
                )
            except RefineError as error:
                wait = retry_wait(attempt, error.retry_after_s)
                if error.kind not in TRANSIENT or attempt == self.settings.max_retries or wait is None:
                    raise
                time.sleep(wait)
        raise AssertionError("unreachable")

    @staticmethod
    def ledger_row(
        pair: Mapping[str, Any],
        key: str,
        status: str,
        error: str | None,
        usage: Mapping[str, Any],
        started: float,
    ) -> RefineLedgerRow:
        return {
            "pair_id": pair["pair_id"],
            "cache_key": key,
            "status": status,
            "error": error,
            "prompt_tokens": int(usage["prompt_tokens"]),
            "completion_tokens": int(usage["completion_tokens"]),
            "cost_usd": float(usage["cost_usd"]),
            "seconds": time.perf_counter() - started,
        }

    def commit(self, outcomes: list[Outcome]) -> None:
        import pyarrow as pa

        sent = [outcome for outcome in outcomes if outcome.ledger]
        if not sent:
            return
        # This run's attempt: a later run's attempt at the same pair commits under another name.
        keys = [
            f"{o.ledger['pair_id']}|{o.ledger['cache_key']}|{self.committer.run_id}" for o in sent if o.ledger
        ]
        refined = [outcome.row for outcome in sent if outcome.row]
        errors = [outcome.error for outcome in sent if outcome.error]
        ledger = [outcome.ledger for outcome in sent if outcome.ledger]
        replies = [outcome.reply for outcome in sent if outcome.reply]
        data = {
            REFINED_DIR: pa.Table.from_pylist(refined, schema=refined_schema()),
            ERRORS_DIR: pa.Table.from_pylist(errors, schema=errors_schema()),
            REPLIES_DIR: pa.Table.from_pylist(replies, schema=replies_schema()),
        }
        self.committer.commit(keys, data, pa.Table.from_pylist(ledger, schema=refine_ledger_schema()))
