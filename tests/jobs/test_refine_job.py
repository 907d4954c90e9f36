"""`cephalo refine` against a loopback OpenAI-protocol teacher, scripted per pair by a caption word."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from cephalo_ray.config import ConfigError
from cephalo_ray.jobs import export_dataset, refine_pairs
from cephalo_ray.jobs.refine_pairs import RefineConfig
from cephalo_ray.storage import Storage
from tests.helpers.media import chart
from tests.helpers.roots import make_extract_root, make_pair
from tests.helpers.servers import FakeOpenAIServer, ScriptedReply, chat_completion

GOOD = {
    "qa": [
        {
            "kind": "what",
            "query": "What does the figure show?",
            "answer": "It shows silk fibres under tension.",
        },
        {
            "kind": "mechanism",
            "query": "Why does the fibre stiffen?",
            "answer": "Beta-sheet crystals carry the load.",
        },
    ]
}
Router = Callable[[str, int], ScriptedReply]


def good(_: str = "", __: int = 0) -> ScriptedReply:
    return ScriptedReply(body=chat_completion(json.dumps(GOOD), prompt_tokens=100))


SCRIPTS: dict[str, Router] = {
    "GOOD": good,
    "MALFORMED": lambda *_: ScriptedReply(body=chat_completion("this is { not json")),
    "REFUSE": lambda *_: ScriptedReply(body=chat_completion("I'm sorry, but I can't help with that.")),
    "LIMITED": lambda _, attempt: (
        ScriptedReply(
            429, {"error": {"message": "slow down", "type": "rate_limit_error"}}, {"Retry-After": "0"}
        )
        if attempt == 0
        else good()
    ),
    "BROKEN": lambda *_: ScriptedReply(500, {"error": {"message": "boom", "type": "server_error"}}),
    "HANG": lambda *_: ScriptedReply(body=chat_completion(json.dumps(GOOD)), delay_s=4.0),
    "INVENT": lambda *_: ScriptedReply(
        body=chat_completion(
            json.dumps({"qa": [{"kind": "what", "query": "What is the modulus?", "answer": "It is 77 GPa."}]})
        )
    ),
}


class Teacher:
    """Routes each request by the first script word in its caption; counts attempts per word."""

    def __init__(self, server: FakeOpenAIServer, scripts: dict[str, Router]) -> None:
        self.server = server
        self.attempts: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        server.reset()
        server.default = self.reply
        self.scripts = scripts

    def reply(self, request: dict[str, Any]) -> ScriptedReply:
        content = request["messages"][-1]["content"]
        text = content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)
        word = next((word for word in self.scripts if word in text), "GOOD")
        with self.lock:
            attempt = self.attempts[word]
            self.attempts[word] += 1
        return self.scripts[word](word, attempt)


def pairs_for(words: list[str]) -> list[dict[str, Any]]:
    return [
        make_pair(
            f"Figure {index + 1}. Silk fibres ({word}) under tension.",
            [f"Fig. {index + 1} shows silk."],
            seed=index,
        )
        for index, word in enumerate(words)
    ]


def configure(tmp_path: Path, server: FakeOpenAIServer, **overrides: Any) -> RefineConfig:
    values: dict[str, Any] = {
        "input": str(tmp_path / "extract"),
        "output": str(tmp_path / "refined"),
        "teacher_url": server.base_url,
        "model": "fake-teacher",
        "api_key_env": "CEPHALO_TEST_TEACHER_KEY",
        "val_fraction": 0,  # one document: no val split (tests of the split give several)
        "limits": {"timeout_s": 1.5, "max_retries": 1},
        "resources": {"actors": 1, "concurrency": 8, "batch_size": 16, "num_cpus": 0.25},
    }
    values.update(overrides)
    return RefineConfig.model_validate(values)


def test_rows_errors_retries_and_restart(
    ray_session: Any, openai_server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CEPHALO_TEST_TEACHER_KEY", "sk-test-secret-4242")
    words = ["GOOD", "MALFORMED", "REFUSE", "LIMITED", "BROKEN", "HANG", "INVENT", "GOOD"]
    pairs = pairs_for(words)
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs)
    teacher = Teacher(openai_server, SCRIPTS)
    manifest = refine_pairs.run(configure(tmp_path, openai_server))

    counts = manifest["counts"]
    assert counts["errors_by_kind"] == {
        "Malformed": 1,
        "Refused": 1,
        "ServerError": 1,
        "Timeout": 1,
        "Filtered": 1,
    }
    assert (counts["pairs_ok"], counts["pairs_failed"], counts["pairs_retry"]) == (3, 3, 2), counts
    assert manifest["status"] == "partial"  # the transient failures are owed another try
    assert teacher.attempts["LIMITED"] == 2 and teacher.attempts["BROKEN"] == 2  # the client's retry
    assert manifest["upstream"]["digest"] and manifest["prompt_version"]

    storage = Storage()
    refined = export_dataset.read_refined(storage, str(tmp_path / "refined"), allow_partial=True)
    assert {row["orig_caption"] for row in refined} == {pairs[i]["caption"] for i in (0, 3, 7)}
    for row in refined:
        assert row["qa"] == GOOD["qa"] and row["conversations"][0]["value"].startswith("<image>\n")
        assert (
            row["teacher"] == "openai" and row["model"] == "fake-teacher" and row["split"] in ("train", "val")
        )
        assert row["usage"]["prompt_tokens"] == 100 and row["pdf_name"] == "doc-a.pdf"
    first_request = openai_server.requests[0]
    assert first_request["body"]["response_format"]["type"] == "json_schema"
    secret_seen = any("sk-test-secret-4242" in value for value in first_request["headers"].values())
    assert secret_seen
    for path in (tmp_path / "refined").rglob("*"):
        if path.is_file():
            assert b"sk-test-secret-4242" not in path.read_bytes(), path

    # The teacher recovers: a rerun sends only what failed transiently.
    sent_before = len(openai_server.requests)
    teacher.scripts = {"GOOD": good}
    rerun = refine_pairs.run(configure(tmp_path, openai_server))
    assert len(openai_server.requests) - sent_before == 2
    assert rerun["status"] == "complete" and rerun["counts"]["pairs_cached"] == 6
    assert rerun["counts"]["pairs_ok"] == 5 and rerun["counts"]["pairs_failed"] == 3
    # Error rows describe the latest attempt only: the two transient failures left none behind.
    assert sorted(row["error"] for row in root_rows(tmp_path / "refined", "errors")) == [
        "Filtered",
        "Malformed",
        "Refused",
    ]

    # --retry-failed asks again for the pairs that failed for good; now they pass and their errors go.
    sent_before = len(openai_server.requests)
    retried = refine_pairs.run(configure(tmp_path, openai_server, retry_failed=True))
    assert len(openai_server.requests) - sent_before == 3
    assert (retried["counts"]["pairs_ok"], retried["counts"]["pairs_failed"]) == (8, 0)
    assert root_rows(tmp_path / "refined", "errors") == []
    refined_ids = [row["pair_id"] for row in root_rows(tmp_path / "refined", "refined")]
    assert sorted(refined_ids) == sorted(pair["pair_id"] for pair in pairs)  # each once


def root_rows(root: Path, directory: str) -> list[dict[str, Any]]:
    """The rows of one directory as the root's manifest lists them."""
    manifest = json.loads((root / "_manifest.json").read_text())
    table = Storage().read_parquet([str(root / name) for name in manifest["files"].get(directory, [])])
    return table.to_pylist() if table is not None else []


def test_limit_and_cost_stop_cleanly_and_resume(
    ray_session: Any, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs_for(["GOOD"] * 10))
    Teacher(openai_server, {"GOOD": good})
    limited = refine_pairs.run(configure(tmp_path, openai_server, limit=3))
    assert limited["status"] == "partial" and limited["counts"]["pairs_sent"] == 3
    assert "limit 3" in limited["counts"]["stop_reason"] and len(openai_server.requests) == 3

    price = {"input_usd_per_mtok": 100.0, "output_usd_per_mtok": 0.0}  # 100 prompt tokens = $0.01 a request
    budget = configure(
        tmp_path,
        openai_server,
        price=price,
        max_cost_usd=0.06,
        resources={"actors": 1, "concurrency": 16, "batch_size": 16, "num_cpus": 0.25},
    )
    stopped = refine_pairs.run(budget)
    sent = stopped["counts"]["pairs_sent"]
    assert 1 <= sent < 7 and stopped["status"] == "partial"
    assert "max-cost-usd" in stopped["counts"]["stop_reason"]
    # never over budget, even with 16 requests in flight: each one's worst case was held first
    assert stopped["counts"]["cost_usd"] == pytest.approx(0.01 * sent) and 0.01 * sent <= 0.06
    finished = refine_pairs.run(configure(tmp_path, openai_server, price=price))
    assert finished["status"] == "complete" and finished["counts"]["pairs_sent"] == 7 - sent
    assert finished["counts"]["pairs_ok"] == 10 and len(openai_server.requests) == 10


def test_the_budget_holds_with_16_requests_really_in_flight(
    ray_session: Any, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """A slow teacher and 64 pending pairs keep 16 requests on their way at once; each one's worst
    case is held before it is sent, so the spend never passes --max-cost-usd; the run stops cleanly
    when no worst case fits any more, and a rerun goes on."""
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs_for(["GOOD"] * 64))
    delay_s = 1.5
    body = chat_completion(json.dumps(GOOD), prompt_tokens=100)
    body["usage"].update(completion_tokens=50, total_tokens=150)  # $0.015 a request at the price below
    openai_server.reset()
    openai_server.default = lambda _: ScriptedReply(body=body, delay_s=delay_s)
    price = {"input_usd_per_mtok": 100.0, "output_usd_per_mtok": 100.0}
    common: dict[str, Any] = {
        "price": price,
        "sampling": {"max_tokens": 64},
        "dedup_max_distance": None,
        "limits": {"timeout_s": 30, "max_retries": 0},
        "resources": {"actors": 1, "concurrency": 16, "batch_size": 64, "num_cpus": 0.25},
    }
    dry = refine_pairs.run(configure(tmp_path, openai_server, dry_run=True, **common))
    worst_case = (dry["estimated_prompt_tokens"] / dry["requests"] + 64) * 100 / 1e6
    budget = round(18 * worst_case, 4)  # room for 16 worst cases at once, not for 64 real costs
    assert 64 * 0.015 > budget > 16 * worst_case

    stopped = refine_pairs.run(configure(tmp_path, openai_server, max_cost_usd=budget, **common))
    counts = stopped["counts"]
    sent_at = sorted(request["at"] for request in openai_server.requests)
    in_flight = max(sum(start <= other < start + delay_s for other in sent_at) for start in sent_at)
    assert in_flight >= 16, sent_at  # the first wave really went out together
    assert stopped["status"] == "partial" and "max-cost-usd" in counts["stop_reason"]
    assert counts["pairs_sent"] == len(sent_at) < 64 and counts["pairs_deferred"] == 64 - len(sent_at)
    assert counts["cost_usd"] == pytest.approx(0.015 * len(sent_at)) and counts["cost_usd"] <= budget
    # requests that fit only once those in flight settle waited for them: the budget was used up
    assert counts["cost_usd"] > budget - 1.2 * worst_case
    assert counts["pairs_failed"] == 0 and root_rows(tmp_path / "refined", "errors") == []

    finished = refine_pairs.run(configure(tmp_path, openai_server, **common))
    assert finished["status"] == "complete" and finished["counts"]["pairs_ok"] == 64
    assert finished["counts"]["pairs_sent"] == 64 - len(sent_at) and len(openai_server.requests) == 64


def test_vision_without_a_judge_drops_unverifiable_numbers_and_prompt_echoes(
    ray_session: Any, openai_server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A teacher that sees the image may read a value off it or invent one: with no judge the
    number is dropped by default (and the run says so), kept unchecked when asked; a reply that
    echoes the prompt's instructions loses those pairs."""
    echo = {
        "qa": [
            {
                "kind": "what",
                "query": "What must every answer be grounded in?",
                "answer": "Ground every answer in the caption, the citing sentences or the visible image: "
                "never invent numbers, names or results.",
            },
            {
                "kind": "how_to_read",
                "query": "How to read it (axes, panels, scale bars, legends, colours)?",
                "answer": "Strain runs along the horizontal axis of the plot.",
            },
            GOOD["qa"][0],
        ]
    }
    read_off = {
        "qa": [{"kind": "what", "query": "What is the modulus?", "answer": "The curve reaches 77 GPa."}]
    }
    scripts: dict[str, Router] = {
        "GOOD": good,
        "ECHO": lambda *_: ScriptedReply(body=chat_completion(json.dumps(echo))),
        "READ": lambda *_: ScriptedReply(body=chat_completion(json.dumps(read_off))),
    }
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs_for(["ECHO", "READ", "GOOD"]))
    Teacher(openai_server, scripts)
    manifest = refine_pairs.run(configure(tmp_path, openai_server, vision=True))
    assert "--vision without a judge" in manifest["warnings"][0] and "dropped" in manifest["warnings"][0]
    assert "WARNING: --vision without a judge" in capsys.readouterr().err
    counts = manifest["counts"]
    assert (counts["pairs_ok"], counts["errors_by_kind"]) == (2, {"Filtered": 1})
    [error] = root_rows(tmp_path / "refined", "errors")
    assert error["message"] == "what: unverifiable number (vision without judge): 77 GPa"
    echoed = next(row for row in root_rows(tmp_path / "refined", "refined") if "ECHO" in row["orig_caption"])
    assert echoed["qa"] == [GOOD["qa"][0]]
    assert echoed["dropped"] == [
        "what: prompt echo: the answer repeats the prompt's instructions",
        "how_to_read: prompt echo: the question repeats the prompt's instructions",
    ]

    kept = refine_pairs.run(
        configure(
            tmp_path, openai_server, vision=True, refilter=True, filters={"keep_unverified_numbers": True}
        )
    )
    assert len(openai_server.requests) == 3  # filtered again from the stored replies
    assert kept["counts"]["pairs_ok"] == 3 and "KEPT UNCHECKED" in kept["warnings"][0]
    unchecked = next(
        row for row in root_rows(tmp_path / "refined", "refined") if "READ" in row["orig_caption"]
    )
    assert unchecked["qa"] == read_off["qa"]


def test_replies_are_kept_and_filtered_again_without_asking_again(
    ray_session: Any, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs_for(["GOOD"] * 4))
    Teacher(openai_server, {"GOOD": good})
    price = {"input_usd_per_mtok": 100.0, "output_usd_per_mtok": 0.0}  # $0.01 a request
    strict = configure(tmp_path, openai_server, price=price, filters={"min_answer_chars": 40})
    first = refine_pairs.run(strict)
    assert first["counts"]["errors_by_kind"] == {"Filtered": 4} and len(openai_server.requests) == 4
    replies = root_rows(tmp_path / "refined", "replies")
    assert len(replies) == 4 and all(json.loads(reply["text"]) == GOOD for reply in replies)

    with pytest.raises(ConfigError, match="filters.min_answer_chars 40 -> 20.*--refilter"):
        refine_pairs.run(configure(tmp_path, openai_server, price=price))
    refiltered = refine_pairs.run(configure(tmp_path, openai_server, price=price, refilter=True))
    assert len(openai_server.requests) == 4  # nothing was sent
    counts = refiltered["counts"]
    assert (counts["pairs_ok"], counts["pairs_failed"]) == (4, 0) and refiltered["status"] == "complete"
    assert counts["cost_usd"] == pytest.approx(first["counts"]["cost_usd"]) == pytest.approx(0.04)
    assert all(row["qa"] == GOOD["qa"] for row in root_rows(tmp_path / "refined", "refined"))
    assert root_rows(tmp_path / "refined", "errors") == []
    assert len(root_rows(tmp_path / "refined", "replies")) == 4  # each reply kept once
    again = refine_pairs.run(configure(tmp_path, openai_server, price=price))
    assert again["counts"]["pairs_cached"] == 4 and len(openai_server.requests) == 4


def test_a_judge_drops_answers_the_sources_do_not_support(
    ray_session: Any, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """An off-topic answer passes every text filter (as a teacher's do); the judge catches it."""
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs_for(["GOOD"] * 3))
    off_topic = {
        "qa": [
            GOOD["qa"][0],
            {
                "kind": "what",
                "query": "What is the capital of France?",
                "answer": "Paris is the capital of France.",
            },
        ]
    }
    verdicts = {
        "scores": [
            {"index": 0, "score": 5, "reason": "the caption says so"},
            {"index": 1, "score": 1, "reason": "unrelated to the figure"},
        ]
    }

    def reply(request: dict[str, Any]) -> ScriptedReply:
        if request["messages"][0]["content"].startswith("You check"):
            return ScriptedReply(body=chat_completion(json.dumps(verdicts), prompt_tokens=50))
        return ScriptedReply(body=chat_completion(json.dumps(off_topic), prompt_tokens=100))

    openai_server.reset()
    openai_server.default = reply
    price = {"input_usd_per_mtok": 100.0, "output_usd_per_mtok": 0.0}  # teacher $0.01, judge $0.005
    unjudged = refine_pairs.run(
        configure(tmp_path, openai_server, price=price, output=str(tmp_path / "unjudged"))
    )
    assert unjudged["counts"]["pairs_ok"] == 3
    assert all(len(row["qa"]) == 2 for row in root_rows(tmp_path / "unjudged", "refined"))  # Paris kept

    openai_server.reset()
    openai_server.default = reply
    judged = refine_pairs.run(configure(tmp_path, openai_server, price=price, judge={"enabled": True}))
    assert judged["counts"]["pairs_ok"] == 3 and len(openai_server.requests) == 6
    judge_requests = [
        r["body"]
        for r in openai_server.requests
        if r["body"]["messages"][0]["content"].startswith("You check")
    ]
    assert (
        len(judge_requests) == 3
        and judge_requests[0]["response_format"]["json_schema"]["name"] == "qa_scores"
    )
    assert "Paris is the capital of France." in judge_requests[0]["messages"][1]["content"]
    rows = root_rows(tmp_path / "refined", "refined")
    assert all(row["qa"] == [GOOD["qa"][0]] for row in rows)
    assert all(row["dropped"] == ["what: judge scored 1/5: unrelated to the figure"] for row in rows)
    assert judged["counts"]["cost_usd"] == pytest.approx(3 * 0.015)
    # a looser threshold over the stored verdicts: no request, both answers back
    relaxed = refine_pairs.run(
        configure(
            tmp_path,
            openai_server,
            price=price,
            judge={"enabled": True},
            filters={"judge_min_score": 1},
            refilter=True,
        )
    )
    assert len(openai_server.requests) == 6 and relaxed["counts"]["pairs_ok"] == 3
    assert all(len(row["qa"]) == 2 for row in root_rows(tmp_path / "refined", "refined"))


def test_retries_after_429_go_through_the_requests_per_minute_cap(
    ray_session: Any, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """Every pair's first request is answered 429 with `Retry-After: 0`; the retry must still wait
    for its turn under the cap, with the other pairs' requests, not go out at once."""
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs_for(["FLAKY"] * 12))
    first_attempts: set[str] = set()
    lock = threading.Lock()

    def flaky(request: dict[str, Any]) -> ScriptedReply:
        caption = json.dumps(request["messages"])
        with lock:
            retry = caption in first_attempts
            first_attempts.add(caption)
        if retry:
            return good()
        return ScriptedReply(
            429, {"error": {"message": "slow down", "type": "rate_limit_error"}}, {"Retry-After": "0"}
        )

    openai_server.reset()
    openai_server.default = flaky
    per_minute = 600.0  # one request every 0.1 s
    manifest = refine_pairs.run(
        configure(
            tmp_path,
            openai_server,
            limits={"requests_per_minute": per_minute, "timeout_s": 5, "max_retries": 2},
        )
    )
    assert manifest["counts"]["pairs_ok"] == 12
    sent_at = sorted(request["at"] for request in openai_server.requests)
    assert len(sent_at) == 24  # each pair: a 429, then its answer
    # Start times are reserved 0.1 s apart, so 20 requests take 2 s however many are retries (the
    # 429s' immediate retries went out beside the paced first attempts: 24 requests in ~1.2 s). The
    # first few are left out: the first request's client start-up can make them late, then bunched.
    assert sent_at[23] - sent_at[3] >= 20 * 0.1 * 0.9, sent_at


def test_changed_caption_is_refined_again_and_dry_run_sends_nothing(
    ray_session: Any, openai_server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = pairs_for(["GOOD"] * 3)
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs)
    Teacher(openai_server, {"GOOD": good})
    dry = refine_pairs.run(configure(tmp_path, openai_server, dry_run=True, vision=True))
    assert dry["requests"] == 3 and dry["estimated_prompt_tokens"] > 3 * 765
    assert openai_server.requests == [] and not (tmp_path / "refined").exists()
    assert "nothing was sent" in capsys.readouterr().err

    refine_pairs.run(configure(tmp_path, openai_server))
    pairs[1]["caption"] = "Figure 2. Silk fibres (GOOD) under tension, re-extracted with a longer caption."
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs)
    # a dry run over the existing root counts only what the rerun will send
    dry_rerun = refine_pairs.run(configure(tmp_path, openai_server, dry_run=True))
    assert (dry_rerun["requests"], dry_rerun["pairs_answered_before"]) == (1, 2)
    assert len(openai_server.requests) == 3
    with pytest.raises(ConfigError, match="qa_per_pair"):  # what the run would refuse, refused
        refine_pairs.run(configure(tmp_path, openai_server, dry_run=True, qa_per_pair=2))
    rerun = refine_pairs.run(configure(tmp_path, openai_server))
    assert rerun["counts"]["pairs_sent"] == 1 and rerun["counts"]["pairs_cached"] == 2
    assert len(openai_server.requests) == 4


def test_rejected_key_stops_the_job_with_one_line(
    ray_session: Any, openai_server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs_for(["GOOD"]))
    Teacher(
        openai_server,
        {"GOOD": lambda *_: ScriptedReply(401, {"error": {"message": "bad key", "type": "auth"}})},
    )
    code = refine_pairs.main(
        [
            str(tmp_path / "extract"),
            str(tmp_path / "refined"),
            "--teacher-url",
            openai_server.base_url,
            "--val-fraction",
            "0",
        ]
    )
    assert code == 2 and "bad key" in capsys.readouterr().err


def test_partial_upstream_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs_for(["GOOD"]), status="partial")
    assert refine_pairs.main([str(tmp_path / "extract"), str(tmp_path / "refined")]) == 2
    assert "--allow-partial" in capsys.readouterr().err


def test_a_figure_reprinted_in_another_paper_is_sent_once(
    ray_session: Any, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    import io

    original = chart(7)
    reprint = io.BytesIO()
    original.resize((300, 225)).save(reprint, format="JPEG", quality=70)  # smaller, recompressed
    pairs = pairs_for(["GOOD"] * 3)
    pairs[0]["image"] = png_of(original)
    pairs[1]["image"] = reprint.getvalue()
    pairs[1]["caption"] = (
        "Figure 4. Silk fibres (GOOD) under tension, reproduced from the first paper with its units."
    )
    pairs[1]["doc_id"] = "another-paper"
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs)
    Teacher(openai_server, {"GOOD": good})
    manifest = refine_pairs.run(configure(tmp_path, openai_server))
    assert manifest["counts"]["pairs_duplicate"] == 1 and manifest["counts"]["pairs_ok"] == 2
    assert len(openai_server.requests) == 2
    kept = {row["pair_id"] for row in root_rows(tmp_path / "refined", "refined")}
    assert kept == {pairs[1]["pair_id"], pairs[2]["pair_id"]}  # the better-captioned copy
    assert manifest["status"] == "complete"
    # a rerun over the unchanged upstream reads no pair (no pipeline at all) and counts the same
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(refine_pairs, "refine_pending", lambda *_: pytest.fail("pairs were read again"))
        again = refine_pairs.run(configure(tmp_path, openai_server))
    assert again["status"] == "complete" and len(openai_server.requests) == 2
    assert again["counts"]["pairs_cached"] == 2 and again["counts"]["pairs_duplicate"] == 1
    assert again["counts"]["pairs_ok"] == 2 and again["counts"]["pairs_sent"] == 0
    # with dedup off, both copies are sent
    everything = refine_pairs.run(
        configure(tmp_path, openai_server, output=str(tmp_path / "all"), dedup_max_distance=None)
    )
    assert everything["counts"]["pairs_ok"] == 3 and everything["counts"]["pairs_duplicate"] == 0
    # a changed upstream root is read again (the reprint's better-captioned copy stays cached)
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs[:2])
    changed = refine_pairs.run(configure(tmp_path, openai_server))
    assert changed["counts"]["pairs_in"] == 2 and changed["counts"]["pairs_cached"] == 1


def png_of(image: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_val_split_whole_documents_cannot_give_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs_for(["GOOD"] * 4))  # one document
    assert refine_pairs.main([str(tmp_path / "extract"), str(tmp_path / "refined")]) == 2
    error = capsys.readouterr().err
    assert "val_fraction 0.05" in error and "val_fraction: 0" in error
    assert not (tmp_path / "refined").exists()


def test_template_teacher_and_exports(ray_session: Any, tmp_path: Path) -> None:
    import datasets

    pairs = [
        make_pair(
            f"Figure {i}. Nacre tablet {i}. Bridges join them.",
            [f"Fig. {i} shows nacre."],
            doc=f"d{i}",
            seed=i,
        )
        for i in range(1, 13)
    ]
    stated = {  # half the documents state a licence, as in a mixed corpus
        f"d{i}": {
            "title": f"Nacre tablets, part {i}",
            "authors": ["A. Researcher"],
            "year": 2010 + i,
            "doi": f"10.5555/nacre.{i}",
            "licence": "CC-BY-4.0" if i % 2 else None,
        }
        for i in range(1, 13)
    }
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs, documents=stated)
    config = RefineConfig.model_validate(
        {"input": str(tmp_path / "extract"), "output": str(tmp_path / "refined"), "val_fraction": 0.3}
    )
    manifest = refine_pairs.run(config)
    assert manifest["status"] == "complete" and manifest["counts"]["pairs_ok"] == 12
    assert manifest["counts"]["cost_usd"] == 0 and manifest["hashed_config"]["teacher"] == "template"
    # 12 one-pair documents, 30 % wanted: 4 in val is as near as whole documents get (3.6)
    assert manifest["counts"]["split"] == {
        "train_pairs": 8,
        "val_pairs": 4,
        "train_documents": 8,
        "val_documents": 4,
        "val_fraction_achieved": 0.3333,
    }

    llava = export_dataset.run(
        export_dataset.ExportConfig(input=str(tmp_path / "refined"), output=str(tmp_path / "llava"))
    )
    records = json.loads((tmp_path / "llava" / "llava_train.json").read_text())
    records += json.loads((tmp_path / "llava" / "llava_val.json").read_text())
    assert len(records) == 12 == llava["train"] + llava["val"] and llava["val"] == 4
    assert all((tmp_path / "llava" / record["image"]).read_bytes()[:4] == b"\x89PNG" for record in records)
    assert records[0]["conversations"][0]["value"].startswith("<image>\n")
    by_doi = {record["source"]["doi"]: record["source"] for record in records}
    assert by_doi["10.5555/nacre.3"] == {
        "pdf_name": "d3.pdf",
        "page": 1,
        "title": "Nacre tablets, part 3",
        "authors": ["A. Researcher"],
        "year": 2013,
        "doi": "10.5555/nacre.3",
        "licence": "CC-BY-4.0",
    }
    card = (tmp_path / "llava" / "README.md").read_text()
    assert card.startswith("---\nlicense: other") and "| val | 4 | 4 | 12 |" in card
    assert "Teacher: template" in card and "check each source before redistributing" in card
    assert "- CC-BY-4.0: 6 documents" in card and "- not stated: 6 documents" in card
    assert "| d3.pdf | Nacre tablets, part 3 | 2013 | 10.5555/nacre.3 | CC-BY-4.0 |" in card
    sources = json.loads((tmp_path / "llava" / "sources.json").read_text())
    assert len(sources) == 12 and {source["split"] for source in sources} == {"train", "val"}
    assert all(source["pdf_name"] in card for source in sources)

    hf = export_dataset.run(
        export_dataset.ExportConfig(input=str(tmp_path / "refined"), output=str(tmp_path / "hf"), format="hf")
    )
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))  # the card beside it does not disturb it
    assert "| train | 8 | 8 | 24 |" in (tmp_path / "hf" / "README.md").read_text()
    assert set(loaded) == {"train", "val"} and loaded["train"].num_rows == hf["train"]
    row = loaded["train"][0]
    assert row["doi"].startswith("10.5555/nacre.") and row["title"].startswith("Nacre tablets")
    assert set(row) >= {"image", "query", "answer", "orig_caption", "pdf_name"} and row["image"].size == (
        64,
        48,
    )
    assert sum(len(record["conversations"]) // 2 for record in records) == hf["train"] + hf["val"]


@pytest.mark.parametrize("killed_while_settling", [False, True])
def test_pairs_a_retried_batch_commits_twice_are_kept_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, killed_while_settling: bool
) -> None:
    """A lost worker's batch is retried regrouped on other actors (the extract test's method): the
    same pairs commit again under other names; each is kept once, and a kill while settling heals."""
    from cephalo_ray import ledger
    from cephalo_ray.refine.governor import Governor, Price
    from cephalo_ray.refine.stage import RefineStage

    pairs = pairs_for(["GOOD"] * 5)
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs)
    groupings = [[0, 1, 2], [2, 3, 4], [1]]  # the lost actor's batch, then two overlapping retries

    def lost_worker_pipeline(config: RefineConfig, root: Any, *_: Any) -> tuple[Any, None, float]:
        settings = refine_pairs.refine_settings(config, Price())
        outcomes = refine_pairs.Tally()
        for grouping in groupings:
            stage = RefineStage(
                root.committer, settings, {}, Governor(), None, concurrency=8
            )  # one commit each
            batch = pa.Table.from_pylist([pairs[index] for index in grouping]).select(
                refine_pairs.PAIR_COLUMNS
            )
            result = stage(batch)
            outcomes.add(pa.table({"status": result["status"], "error": result["error"]}))
        if killed_while_settling:  # the driver dies right after the first rewrite has committed
            commit_batch = ledger.commit_batch

            def commit_then_die(*args: Any, **kwargs: Any) -> None:
                commit_batch(*args, **kwargs)
                raise KeyboardInterrupt("killed")

            monkeypatch.setattr(ledger, "commit_batch", commit_then_die)
        return outcomes, None, 0.0

    monkeypatch.setattr(refine_pairs, "refine_pending", lost_worker_pipeline)
    config = RefineConfig.model_validate(
        {"input": str(tmp_path / "extract"), "output": str(tmp_path / "refined"), "val_fraction": 0}
    )
    if killed_while_settling:
        with pytest.raises(KeyboardInterrupt):
            refine_pairs.run(config)
        monkeypatch.undo()
        refine_pairs.run(config)  # a rerun settles the rest and sends nothing again
    else:
        refine_pairs.run(config)
    manifest = json.loads((tmp_path / "refined" / "_manifest.json").read_text())
    refined = sorted(row["pair_id"] for row in root_rows(tmp_path / "refined", "refined"))
    assert refined == sorted(pair["pair_id"] for pair in pairs)  # each pair once, none lost
    assert sorted(row["pair_id"] for row in root_rows(tmp_path / "refined", "done")) == refined
    assert manifest["status"] == "complete" and manifest["counts"]["pairs_ok"] == 5
    on_disk = sorted(
        str(path.relative_to(tmp_path / "refined")) for path in (tmp_path / "refined").rglob("*.parquet")
    )
    assert on_disk == sorted(name for names in manifest["files"].values() for name in names)


def test_s3_to_s3_with_the_template_teacher(ray_session: Any, s3_server: Any, s3_bucket: str) -> None:
    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    pairs = [make_pair(f"Figure {i}. Silk fibres under tension.", doc=f"paper-{i}", seed=i) for i in range(5)]
    make_extract_root(storage, f"s3://{s3_bucket}/extract", pairs)
    config = RefineConfig.model_validate(
        {
            "input": f"s3://{s3_bucket}/extract",
            "output": f"s3://{s3_bucket}/refined",
            "val_fraction": 0.2,
            "storage": {"s3_endpoint_url": s3_server.endpoint_url},
            "resources": {"num_cpus": 0.25},
        }
    )
    manifest = refine_pairs.run(config)
    assert manifest["status"] == "complete" and manifest["counts"]["pairs_ok"] == 5
    rows = export_dataset.read_refined(storage, f"s3://{s3_bucket}/refined", allow_partial=False)
    assert len(rows) == 5 and all(row["teacher"] == "template" for row in rows)
    assert sorted(row["split"] for row in rows) == ["train"] * 4 + ["val"]


@pytest.mark.slow
def test_a_killed_run_resumes_without_duplicates_or_asking_twice(
    ray_session: Any, openai_server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver is killed after answers were committed; the rerun asks only what was not answered."""
    import sys

    from tests.helpers.killed_jobs import gone, kill_when

    pairs = pairs_for(["GOOD"] * 48)
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs)
    openai_server.reset()
    openai_server.default = lambda _: ScriptedReply(body=chat_completion(json.dumps(GOOD)), delay_s=0.5)
    monkeypatch.setenv("CEPHALO_TEST_TEACHER_KEY", "sk-test")
    output = tmp_path / "refined"
    command = [sys.executable, "-m", "cephalo_ray.jobs.refine_pairs", str(tmp_path / "extract"), str(output)]
    command += [
        f"teacher_url={openai_server.base_url}",
        "model=fake-teacher",
        "api_key_env=CEPHALO_TEST_TEACHER_KEY",
        "val_fraction=0",
    ]
    command += ["resources.concurrency=2", "resources.batch_size=4", "resources.local_num_cpus=2"]
    ray_dir = kill_when(
        command, lambda: bool(list((output / "done").glob("*.parquet"))), tmp_path / "job.log", timeout_s=120
    )
    gone(ray_dir)
    asked_before = len(openai_server.requests)
    assert asked_before < 48, "the run finished before the kill; nothing was tested"

    resumed = refine_pairs.run(configure(tmp_path, openai_server))
    refined = [row["pair_id"] for row in root_rows(output, "refined")]
    assert sorted(refined) == sorted(pair["pair_id"] for pair in pairs)  # every pair once
    assert resumed["status"] == "complete" and resumed["counts"]["pairs_ok"] == 48
    asked_after = len(openai_server.requests) - asked_before
    assert asked_after <= 48 - resumed["counts"]["pairs_cached"] and resumed["counts"]["pairs_cached"] >= 2


def test_fractional_actors_on_a_one_cpu_ray_leave_room_for_the_reads(tmp_path: Path) -> None:
    """Two quarter-CPU actors on a one-CPU Ray: reads asking a whole CPU would wait forever."""
    pairs = [make_pair(f"Figure {i}. Nacre tablet {i}.", doc=f"d{i}", seed=i) for i in range(1, 9)]
    make_extract_root(Storage(), str(tmp_path / "extract"), pairs)
    command = [sys.executable, "-m", "cephalo_ray.jobs.refine_pairs", str(tmp_path / "extract")]
    command += [str(tmp_path / "refined"), "val_fraction=0", "dedup_max_distance=null"]
    command += ["resources.local_num_cpus=1", "resources.actors=2", "resources.num_cpus=0.25"]
    command += ["resources.batch_size=1"]  # eight read blocks: several reads wait for a CPU
    environment = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=240)
    assert finished.returncode == 0, finished.stderr[-3000:]
    manifest = json.loads((tmp_path / "refined" / "_manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["counts"]["pairs_ok"] == 8
