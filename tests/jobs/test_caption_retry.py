"""`cephalo caption` when generation fails: a failing batch is asked again row by row so only the bad
image fails; transient failures (out of memory, a stopped engine, a time-out, an engine that hangs
past the deadline) are asked again after a wait and, if they persist, left for a rerun; an image the
processor refuses fails for good, with its reason. The retry rules on a scripted generator, then the
job on a local Ray with a tiny model whose processor fails or hangs for chosen images inside the
engine's worker (`tests/helpers/faults.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from PIL import Image

from cephalo_ray.caption.retry import (
    ENGINE_UNAVAILABLE,
    OUT_OF_MEMORY,
    REJECTED,
    TIMEOUT,
    RetryPolicy,
    answer_kind,
    error_kind,
    exception_kind,
    generate_with_retries,
)
from cephalo_ray.jobs import batch_caption
from cephalo_ray.jobs.batch_caption import CaptionConfig
from cephalo_ray.models.engine import STOPPED, EngineBusyError, Failure
from cephalo_ray.models.tiny import build_tiny
from tests.helpers.faults import ProcessorFaults

OOM_TEXT = "generation failed: OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
OOM = (OOM_TEXT, Failure.OUT_OF_MEMORY)
POISONED = ("generation failed: IndexError: index out of range", Failure.ERROR)
REFUSED = ("generation failed: ValueError: the processor cannot take this image", Failure.ERROR)


class ScriptedGenerator:
    """Answers requests (strings) as the engine would, failing as `failures` say: request -> the
    (message, kind) of its first calls' failures, in order; a request named `poison` fails every
    batch it is in."""

    def __init__(self, failures: dict[str, list[tuple[str, Failure]]] | None = None) -> None:
        self.failures = {request: list(errors) for request, errors in (failures or {}).items()}
        self.calls: list[list[str]] = []

    def __call__(self, requests: Sequence[str]) -> list[dict[str, Any]]:
        self.calls.append(list(requests))
        if "poison" in requests and len(requests) > 1:
            return [{"error": POISONED[0], "failure": POISONED[1]} for _ in requests]
        answers = []
        for request in requests:
            errors = self.failures.get(request, [])
            error, failure = errors.pop(0) if errors else (None, None)
            if request == "poison":
                error, failure = REFUSED
            answers.append(
                {"error": error, "failure": failure, "text": None if error else f"about {request}"}
            )
        return answers


def test_an_answers_kind_is_the_engines_failure_kind_not_its_words() -> None:
    boom = {"error": "generation failed: RuntimeError: boom", "failure": Failure.OUT_OF_MEMORY}
    assert answer_kind(boom) == OUT_OF_MEMORY
    assert answer_kind({"error": STOPPED, "failure": Failure.UNAVAILABLE}) == ENGINE_UNAVAILABLE
    assert answer_kind({"error": "TimeoutError: took longer than 600 s", "failure": "timeout"}) == TIMEOUT
    said_oom = "generation failed: ValueError: out of memory is not what this is"
    assert answer_kind({"error": said_oom, "failure": Failure.ERROR}) == REJECTED


def test_exceptions_raised_here_are_classified_by_their_type() -> None:
    import torch

    assert exception_kind(torch.OutOfMemoryError("CUDA out of memory")) == OUT_OF_MEMORY
    assert exception_kind(MemoryError()) == OUT_OF_MEMORY
    assert exception_kind(EngineBusyError("the generation worker has stopped")) == ENGINE_UNAVAILABLE
    assert exception_kind(TimeoutError("took longer than 600 s")) == TIMEOUT
    assert exception_kind(ValueError("cannot identify image file")) == REJECTED


def test_an_answer_that_comes_as_text_alone_is_classified_by_its_words() -> None:
    assert answer_kind({"error": OOM_TEXT}) == OUT_OF_MEMORY  # no `failure`: a generator that says text only
    assert error_kind(OOM_TEXT) == OUT_OF_MEMORY
    assert error_kind("generation failed: RuntimeError: CUDA error: out of memory") == OUT_OF_MEMORY
    assert error_kind("generation failed: MemoryError: ") == OUT_OF_MEMORY
    assert error_kind(STOPPED) == ENGINE_UNAVAILABLE
    assert error_kind("EngineBusyError: 300 requests are waiting") == ENGINE_UNAVAILABLE
    assert error_kind("generation failed: TimeoutError: the read timed out") == TIMEOUT
    assert (
        error_kind("generation failed: ValueError: Image features and image tokens do not match") == REJECTED
    )
    assert error_kind("UnidentifiedImageError: cannot identify image file") == REJECTED


def test_a_failing_batch_is_asked_again_row_by_row_and_only_the_bad_row_fails() -> None:
    generate = ScriptedGenerator()
    waits: list[float] = []
    answers = generate_with_retries(["a", "poison", "b"], generate, RetryPolicy(), waits.append)
    assert [answer["text"] for answer in answers] == ["about a", None, "about b"]
    assert answers[1]["error_kind"] == REJECTED and "cannot take this image" in answers[1]["error"]
    assert [answer["attempts"] for answer in answers] == [2, 2, 2]
    assert generate.calls == [["a", "poison", "b"], ["a"], ["poison"], ["b"]]
    assert waits == []  # the image's own fault is not waited for, nor asked again


def test_a_transient_failure_is_asked_again_after_growing_waits_until_it_heals_or_retries_run_out() -> None:
    generate = ScriptedGenerator({"flaky": [OOM] * 3, "stuck": [OOM] * 10, "a": [OOM]})
    waits: list[float] = []
    policy = RetryPolicy(max_retries=3, backoff_s=0.5)
    answers = generate_with_retries(["a", "flaky", "stuck"], generate, policy, waits.append)
    a, flaky, stuck = answers
    assert (a["text"], a["attempts"]) == ("about a", 2)  # the batch failed; alone it passed
    assert (flaky["text"], flaky["attempts"], flaky["error_kind"]) == ("about flaky", 4, None)
    assert (stuck["error_kind"], stuck["attempts"]) == (OUT_OF_MEMORY, 5)  # batch, alone, 3 retries
    assert waits == [0.5, 1.0, 2.0]
    assert RetryPolicy(backoff_s=1.0, max_backoff_s=3.0).wait_s(5) == 3.0


def test_an_engine_that_refuses_the_whole_call_fails_every_row_with_its_reason() -> None:
    calls: list[int] = []

    def stopped(requests: Sequence[str]) -> list[dict[str, Any]]:
        calls.append(len(requests))
        raise EngineBusyError("the generation worker has stopped")

    answers = generate_with_retries(
        ["a", "b"], stopped, RetryPolicy(max_retries=1, backoff_s=0), lambda s: None
    )
    assert [answer["error_kind"] for answer in answers] == [ENGINE_UNAVAILABLE] * 2
    assert answers[0]["error"] == "EngineBusyError: the generation worker has stopped"
    assert calls == [2, 1, 1, 1, 1] and [answer["attempts"] for answer in answers] == [3, 3]


def test_an_engine_call_past_its_deadline_is_a_time_out_of_each_request_asked_again() -> None:
    calls: list[list[str]] = []

    def hung_once(requests: Sequence[str]) -> list[dict[str, Any]]:
        calls.append(list(requests))
        if len(calls) == 1:
            raise TimeoutError(f"{len(requests)} generations took longer than 600 s")
        return [{"error": None, "failure": None, "text": f"about {request}"} for request in requests]

    answers = generate_with_retries(["a", "b"], hung_once, RetryPolicy(), lambda s: None)
    assert [answer["text"] for answer in answers] == ["about a", "about b"]
    assert calls == [["a", "b"], ["a"], ["b"]] and [answer["attempts"] for answer in answers] == [2, 2]


def test_an_engine_that_refuses_the_call_as_set_up_stops_the_batch() -> None:
    def text_only(requests: Sequence[str]) -> list[dict[str, Any]]:
        raise ValueError("this model takes text only; remove the image parts")

    with pytest.raises(ValueError, match="text only"):
        generate_with_retries(["a", "b"], text_only, RetryPolicy(), lambda s: None)


# The job: images told apart by their width, which the faulty processor looks at.
GOOD = (36, 37, 38, 39)
POISON, FLAKY, PERSISTENT, KILLER = 50, 51, 52, 53


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "tiny"
    build_tiny("llava", folder)
    return folder


def image_folder(folder: Path, widths: Sequence[int]) -> Path:
    folder.mkdir(parents=True)
    for width in widths:
        Image.new("RGB", (width, 30), (width * 3 % 255, 80, 140)).save(folder / f"w{width}.png")
    return folder


def config_for(images: Path, output: Path, model: Path) -> CaptionConfig:
    return CaptionConfig.model_validate(
        {
            "input": str(images),
            "output": str(output),
            "model": str(model),
            "sampling": {"max_tokens": 4},
            # one batch: every image starts beside the others
            "resources": {"actors": 1, "num_cpus": 0.5, "batch_size": 8},
            "retry": {"max_retries": 2, "backoff_s": 0.05},
        }
    )


def rows_of(output: Path, directory: str) -> list[dict[str, Any]]:
    return [
        row
        for path in sorted((output / directory).glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]


def test_only_the_poison_image_fails_a_healing_one_is_answered_and_a_persisting_one_waits_for_a_rerun(
    ray_session: Any, tiny_model: Path, tmp_path: Path
) -> None:
    images = image_folder(tmp_path / "images", [*GOOD, POISON, FLAKY, PERSISTENT])
    output = tmp_path / "out"
    # The batch fails (poison and out of memory); alone in the engine, and then alone again from the
    # actor, the flaky image fails too: its fourth call is the first after a wait, and it heals.
    faults = ProcessorFaults(
        str(tmp_path / "calls"),
        rejected=frozenset({POISON}),
        out_of_memory=((FLAKY, 3), (PERSISTENT, None)),
    )
    manifest = batch_caption.run(config_for(images, output, tiny_model), load_engine=faults.load_engine)
    counts = manifest["counts"]
    assert manifest["status"] == "partial"  # an answer waits for a rerun
    assert (counts["answers"], counts["failed"], counts["retry"]) == (5, 1, 1)
    answered = sorted(row["image_id"] for row in rows_of(output, "captions"))
    assert answered == sorted(f"w{width}.png" for width in [*GOOD, FLAKY])
    assert faults.calls(FLAKY) == 4
    errors = {row["pair_id"]: row for row in rows_of(output, "errors")}
    assert set(errors) == {f"w{POISON}.png", f"w{PERSISTENT}.png"}
    poison, persistent = errors[f"w{POISON}.png"], errors[f"w{PERSISTENT}.png"]
    assert poison["error"] == "Rejected" and "cannot take an image 50 pixels wide" in poison["message"]
    assert "asked again only with --retry-failed" in poison["message"]
    assert persistent["error"] == "OutOfMemory" and "CUDA out of memory" in persistent["message"]
    assert persistent["message"].startswith("asked 4 times, a rerun asks again")  # batch, alone, 2 retries
    poison_calls = faults.calls(POISON)

    # The rerun asks the persisting one again (memory is free now); the poison image is not asked.
    healed = ProcessorFaults(str(tmp_path / "calls"), rejected=frozenset({POISON}))
    rerun = batch_caption.run(config_for(images, output, tiny_model), load_engine=healed.load_engine)
    counts = rerun["counts"]
    assert rerun["status"] == "complete"
    assert (
        counts["answered_now"],
        counts["skipped"],
        counts["answers"],
        counts["failed"],
        counts["retry"],
    ) == (
        1,
        6,
        6,
        1,
        0,
    )
    assert healed.calls(POISON) == poison_calls
    assert [row["pair_id"] for row in rows_of(output, "errors")] == [f"w{POISON}.png"]
    assert len(rows_of(output, "captions")) == 6


def test_an_engine_whose_worker_dies_is_loaded_again_and_every_image_answered(
    ray_session: Any, tiny_model: Path, tmp_path: Path
) -> None:
    images = image_folder(tmp_path / "images", [*GOOD, KILLER])
    faults = ProcessorFaults(str(tmp_path / "calls"), worker_dies=frozenset({KILLER}))
    manifest = batch_caption.run(
        config_for(images, tmp_path / "out", tiny_model), load_engine=faults.load_engine
    )
    counts = manifest["counts"]
    assert manifest["status"] == "complete"
    assert (counts["answered_now"], counts["failed"], counts["retry"]) == (5, 0, 0)
    assert faults.calls(KILLER) == 2  # it ended the worker once, and was answered by the new engine
    assert rows_of(tmp_path / "out", "errors") == []


HEALS, STUCK = 54, 55  # hang the engine: the first call only, or every call


@pytest.mark.slow  # about 25 s on a local Ray; the rules are tested above without it
def test_a_hung_engine_is_given_up_at_the_deadline_replaced_and_its_answers_asked_again(
    ray_session: Any, tiny_model: Path, tmp_path: Path
) -> None:
    images = image_folder(tmp_path / "images", [*GOOD, HEALS, STUCK])
    output = tmp_path / "out"
    faults = ProcessorFaults(str(tmp_path / "calls"), hangs=((HEALS, 1), (STUCK, None)))
    config = config_for(images, output, tiny_model).model_copy(
        update={"retry": batch_caption.CaptionRetry(max_retries=1, backoff_s=0.05, batch_timeout_s=3)}
    )
    manifest = batch_caption.run(config, load_engine=faults.load_engine)
    counts = manifest["counts"]
    assert manifest["status"] == "partial"  # the one that hangs every time waits for a rerun
    assert (counts["answers"], counts["failed"], counts["retry"]) == (5, 0, 1)
    answered = sorted(row["image_id"] for row in rows_of(output, "captions"))
    assert answered == sorted(f"w{width}.png" for width in [*GOOD, HEALS])
    # the batch hung (both), then alone on a fresh engine one healed and one hung again, twice
    assert (faults.calls(HEALS), faults.calls(STUCK)) == (2, 3)
    assert faults.calls("loads") == 3  # the first engine, and one after each engine given up on
    [stuck] = rows_of(output, "errors")
    assert (stuck["pair_id"], stuck["error"]) == (f"w{STUCK}.png", TIMEOUT)
    assert stuck["message"].startswith("asked 3 times, a rerun asks again")  # batch, alone, 1 retry
    assert "took longer than 3 s" in stuck["message"]


@pytest.mark.slow  # about 25 s on a local Ray; the rules are tested above without it
def test_a_later_answer_replaces_exactly_its_own_error_row_beside_another_prompt_of_the_image(
    ray_session: Any, tiny_model: Path, tmp_path: Path
) -> None:
    from cephalo_ray.caption.identity import item_key

    images = image_folder(tmp_path / "images", [GOOD[0]])
    questions = tmp_path / "questions.yaml"
    questions.write_text("- What is shown?\n- Which axes are there?\n")
    output = tmp_path / "out"
    config = config_for(images, output, tiny_model).model_copy(update={"questions": str(questions)})
    # one prompt of the image is refused, the other answered: one commit holds both outcomes
    faults = ProcessorFaults(str(tmp_path / "calls"), rejected_words=frozenset({"shown"}))
    first = batch_caption.run(config, load_engine=faults.load_engine)
    assert (first["counts"]["answers"], first["counts"]["failed"]) == (1, 1)
    [error] = rows_of(output, "errors")
    image_id = f"w{GOOD[0]}.png"
    assert (error["pair_id"], error["key"], error["error"]) == (
        image_id,
        item_key(image_id, "What is shown?"),
        REJECTED,
    )

    # asked again and answered: its error row goes, while the image's other answer keeps its commit
    healed = ProcessorFaults(str(tmp_path / "calls")).load_engine
    rerun = batch_caption.run(config.model_copy(update={"retry_failed": True}), load_engine=healed)
    assert rerun["status"] == "complete"
    assert (rerun["counts"]["answered_now"], rerun["counts"]["answers"], rerun["counts"]["failed"]) == (
        1,
        2,
        0,
    )
    assert rows_of(output, "errors") == [] and rerun["files"]["errors"] == []
    assert len(rows_of(output, "captions")) == 2
