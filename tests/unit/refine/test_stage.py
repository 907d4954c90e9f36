"""RefineStage without Ray: commit granularity and the JSON-schema fallback, on a loopback teacher."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from cephalo_ray.output_root import build_manifest, write_manifest
from cephalo_ray.refine.governor import Governor
from cephalo_ray.refine.stage import LAYOUT, RefineSettings, RefineStage
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
