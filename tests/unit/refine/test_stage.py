"""RefineStage without Ray: commit granularity, the JSON-schema fallback and a budget that runs out
between the teacher and the judge, on a loopback teacher."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cephalo_ray.output_root import build_manifest, write_manifest
from cephalo_ray.refine.governor import Governor, Price
from cephalo_ray.refine.stage import LAYOUT, JudgeSettings, RefineSettings, RefineStage
from cephalo_ray.refine.teacher import TeacherEndpoint
from cephalo_ray.restart import BatchCommitter
from cephalo_ray.storage import Storage
from tests.helpers.roots import make_pair
from tests.helpers.servers import FakeOpenAIServer, ScriptedReply, chat_completion

ANSWER = json.dumps(
    {"qa": [{"kind": "what", "query": "What is shown here?", "answer": "Fibres that stretch under load."}]}
)


def stage_for(root: Path, server: FakeOpenAIServer, concurrency: int) -> RefineStage:
    write_manifest(
        Storage(),
        str(root),
        build_manifest(
            job="refine",
            run_id="run-a",
            status="partial",
            files={},
            counts={},
            config={},
            hashed_config={},
            started_at=time.time(),
        ),
    )
    settings = RefineSettings(teacher="openai", model="m", qa_per_pair=2, vision=False, image_max_side=256)
    options = TeacherEndpoint(
        base_url=server.base_url,
        model="m",
        api_key_env="UNSET_KEY_VARIABLE",
        timeout_s=10,
        sampling={"max_tokens": 256},
    )
    committer = BatchCommitter(Storage(), str(root), LAYOUT, "run-a")
    return RefineStage(committer, settings, {}, Governor(), options, concurrency)


def batch_of(count: int) -> pa.Table:
    pairs = [make_pair(f"Figure {index}. Silk.", doc=f"d{index}") for index in range(count)]
    return pa.Table.from_pylist(pairs)


def test_answers_commit_in_groups_of_the_concurrency(openai_server: FakeOpenAIServer, tmp_path: Path) -> None:
    openai_server.reset()
    openai_server.default = lambda _: ScriptedReply(body=chat_completion(ANSWER))
    stage = stage_for(tmp_path, openai_server, concurrency=2)
    summary = stage(batch_of(6))
    assert summary["status"] == ["ok"] * 6
    assert len(list((tmp_path / "done").glob("*.parquet"))) == 3  # 6 answers, committed 2 at a time
    assert len(list((tmp_path / "refined").glob("*.parquet"))) == 3


def test_endpoint_without_structured_output_falls_back_to_tolerant_parsing(
    openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    openai_server.reset()
    unsupported = {
        "error": {"message": "response_format json_schema is not supported", "type": "invalid_request_error"}
    }

    def reply(request: dict[str, Any]) -> ScriptedReply:
        if "response_format" in request:
            return ScriptedReply(400, unsupported)
        return ScriptedReply(body=chat_completion(f"Here you go:\n```json\n{ANSWER}\n```"))

    openai_server.default = reply
    stage = stage_for(tmp_path, openai_server, concurrency=1)
    assert stage(batch_of(3))["status"] == ["ok"] * 3
    with_schema = [request for request in openai_server.requests if "response_format" in request["body"]]
    assert len(with_schema) == 1 and len(openai_server.requests) == 4  # asked once, then never again


def test_vision_sends_the_resized_image_as_a_data_url(
    openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    openai_server.reset()
    openai_server.default = lambda _: ScriptedReply(body=chat_completion(ANSWER))
    stage = stage_for(tmp_path, openai_server, concurrency=1)
    stage.settings = RefineSettings(
        teacher="openai", model="m", qa_per_pair=2, vision=True, image_max_side=32
    )
    assert stage(batch_of(1))["status"] == ["ok"]
    parts = openai_server.requests[0]["body"]["messages"][-1]["content"]
    assert parts[0]["type"] == "image_url" and parts[0]["image_url"]["url"].startswith(
        "data:image/png;base64,"
    )
    assert parts[1]["type"] == "text" and "Silk." in parts[1]["text"]


def test_a_paid_reply_whose_judge_would_pass_the_budget_is_kept_for_a_rerun(
    openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    def reply(request: dict[str, Any]) -> ScriptedReply:
        if request["messages"][0]["content"].startswith("You check"):
            return ScriptedReply(body=chat_completion('{"scores": [{"index": 0, "score": 5, "reason": ""}]}'))
        return ScriptedReply(body=chat_completion(ANSWER, prompt_tokens=10_000))  # $1 at the price below

    openai_server.reset()
    openai_server.default = reply
    stage = stage_for(tmp_path, openai_server, concurrency=1)
    price = Price(input_usd_per_mtok=100.0, output_usd_per_mtok=0.0)
    judge = JudgeSettings(vision=False, max_tokens=64, price=price)
    stage.settings = RefineSettings(
        teacher="openai", model="m", qa_per_pair=2, vision=False, image_max_side=256, price=price, judge=judge
    )
    stage.judge = stage.teacher
    stage.governor = Governor(max_cost_usd=1.01)  # the teacher's worst case fits, then the judge's does not
    summary = stage(batch_of(1))
    assert summary["status"] == ["retry"] and summary["error"] == ["OverBudget"]
    assert summary["cost_usd"] == [pytest.approx(1.0)] and len(openai_server.requests) == 1
    [kept] = [
        row for path in (tmp_path / "replies").glob("*.parquet") for row in pq.read_table(path).to_pylist()
    ]
    assert kept["text"] == ANSWER and kept["judge_text"] is None and kept["cost_usd"] == pytest.approx(1.0)
