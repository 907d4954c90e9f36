"""`cephalo train` on a local Ray with 2 CPU workers and DeepSpeed, on tiny models."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from cephalo_ray.jobs import finetune_vlm
from cephalo_ray.jobs.finetune_vlm import TrainConfig
from cephalo_ray.models.loader import load_vlm
from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.storage import Storage
from tests.helpers.killed_jobs import gone, kill_when
from tests.helpers.roots import make_refine_root


def config_for(tmp_path: Path, name: str, **overrides: Any) -> TrainConfig:
    values: dict[str, Any] = {
        "input": str(tmp_path / "refined"),
        "output": str(tmp_path / name),
        "model": str(tmp_path / "base"),
        "max_length": 256,
        "eval_every": 5,
        "checkpoint_every": 5,
        "recipe": {"name": "full", "train_language_model": True},
        "optim": {"learning_rate": 0.003, "max_steps": 15, "micro_batch_size": 2},
        "resources": {"workers": 2, "cpus_per_worker": 0.5},
    }
    for key, value in overrides.items():
        values[key] = {**values.get(key, {}), **value} if isinstance(value, dict) else value
    if values["recipe"]["name"] != "full":  # the language model trains under `full` only
        values["recipe"]["train_language_model"] = False
    return TrainConfig.model_validate(values)


def step_losses(output: Path) -> list[float]:
    lines = (output / "metrics" / "steps-rank0.jsonl").read_text().splitlines()
    return [json.loads(line)["loss"] for line in lines]


@pytest.mark.slow  # about 3 minutes on 2 cores: the default suite must stay under 10
@pytest.mark.timeout(600)  # twice that, for a busy machine
def test_zero2_and_zero3_agree_overfit_and_export(ray_session: Any, tmp_path: Path) -> None:
    build_tiny("llava", tmp_path / "base")
    make_refine_root(Storage(), str(tmp_path / "refined"), 10)
    zero2 = finetune_vlm.run(config_for(tmp_path, "zero2", deepspeed={"zero_stage": 2}))
    zero3 = finetune_vlm.run(config_for(tmp_path, "zero3", deepspeed={"zero_stage": 3}))
    assert zero2["counts"]["zero_stage"] == 2 and zero3["counts"]["zero_stage"] == 3
    assert zero2["counts"]["world_size"] == 2
    assert zero3["counts"]["partitioned_share"] == 1.0 and zero2["counts"]["partitioned_share"] == 0.0
    losses2, losses3 = step_losses(tmp_path / "zero2"), step_losses(tmp_path / "zero3")
    assert len(losses2) == len(losses3) == 15
    assert all(abs(a - b) < 1e-3 * max(1.0, abs(a)) for a, b in zip(losses2, losses3, strict=True))
    assert losses2[-1] < 0.75 * losses2[0]  # 8 samples, 15 steps: clearly overfitting
    counts = zero2["counts"]
    assert counts["val_loss"] < counts["base_val_loss"]

    exported = load_vlm(str(tmp_path / "zero3" / "model"), device="cpu")
    content = [{"type": "image"}, {"type": "text", "text": "What is shown?"}]
    prompt = exported.processor.apply_chat_template(
        [{"role": "user", "content": content}], add_generation_prompt=True
    )
    inputs = exported.processor(images=[Image.new("RGB", (40, 40))], text=[prompt], return_tensors="pt")
    generated = exported.model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert generated.shape[1] == inputs["input_ids"].shape[1] + 4
    base = load_vlm(str(tmp_path / "base"), device="cpu").model.state_dict()
    trained = exported.model.state_dict()
    assert not torch.equal(base["lm_head.weight"], trained["lm_head.weight"])


@pytest.mark.slow  # about 60 s: two Ray Train runs
def test_llava_two_stages_change_only_what_they_train(ray_session: Any, tmp_path: Path) -> None:
    build_tiny("llava", tmp_path / "base")
    make_refine_root(Storage(), str(tmp_path / "refined"), 6)
    stage1 = config_for(
        tmp_path,
        "stage1",
        task="captions",
        recipe={"name": "projector"},
        optim={"max_steps": 4},
        resources={"workers": 1},
    )
    finetune_vlm.run(stage1)
    base = load_vlm(str(tmp_path / "base"), device="cpu").model.state_dict()
    after1 = load_vlm(str(tmp_path / "stage1" / "model"), device="cpu").model.state_dict()
    changed1 = {name for name in base if not torch.equal(base[name], after1[name])}
    assert changed1 and all(name.startswith("model.multi_modal_projector.") for name in changed1)

    stage2 = config_for(
        tmp_path,
        "stage2",
        model=str(tmp_path / "stage1" / "model"),
        recipe={"name": "lora", "train_language_model": False, "lora_rank": 4, "lora_alpha": 8},
        optim={"max_steps": 4},
        resources={"workers": 1},
    )
    finetune_vlm.run(stage2)
    after2 = load_vlm(str(tmp_path / "stage2" / "model"), device="cpu").model.state_dict()
    changed2 = {name for name in after1 if not torch.equal(after1[name], after2[name])}
    lora_targets = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    for name in changed2:
        merged_lora = name.startswith("model.language_model.") and name.split(".")[-2] in lora_targets
        assert merged_lora or name.startswith("model.multi_modal_projector."), name
    assert any(name.startswith("model.multi_modal_projector.") for name in changed2)
    assert any(name.startswith("model.language_model.") for name in changed2)
    assert (tmp_path / "stage2" / "adapter" / "adapter_config.json").exists()


@pytest.mark.slow
def test_a_crashed_worker_resumes_from_the_last_checkpoint(ray_session: Any, tmp_path: Path) -> None:
    build_tiny("idefics3", tmp_path / "base")
    make_refine_root(Storage(), str(tmp_path / "refined"), 8)
    config = config_for(
        tmp_path,
        "crashed",
        recipe={"name": "lora", "train_language_model": False},
        optim={"max_steps": 10},
        checkpoint_every=4,
        eval_every=4,
    )
    manifest = finetune_vlm.run(config, fail_at_step=6)  # the last worker exits before step 7
    steps = [
        json.loads(line)["step"]
        for line in (tmp_path / "crashed" / "metrics" / "steps-rank0.jsonl").read_text().splitlines()
    ]
    assert (tmp_path / "crashed" / ".failed_once").exists()
    assert all(steps.count(step) == 1 for step in range(1, 5))  # at or before the checkpoint: never again
    assert steps.count(7) <= 1 and max(steps) == 10 and steps[-1] == 10
    assert len(steps) > 10  # something after the checkpoint did run twice: the crash happened
    assert manifest["counts"]["step"] == 10


@pytest.mark.slow
def test_a_killed_driver_resumes_the_same_run_and_a_finished_run_is_not_repeated(
    ray_session: Any, tmp_path: Path
) -> None:
    build_tiny("idefics3", tmp_path / "base")
    make_refine_root(Storage(), str(tmp_path / "refined"), 8)
    overrides: dict[str, Any] = {
        "recipe": {"name": "lora"},
        "optim": {"max_steps": 12},
        "checkpoint_every": 4,
        "eval_every": 4,
        "resources": {"workers": 1},
    }
    config = config_for(tmp_path, "killed", **overrides)
    output = tmp_path / "killed"
    command = [sys.executable, "-m", "cephalo_ray.jobs.finetune_vlm", f"input={config.input}"]
    command += [f"output={output}", f"model={config.model}", "max_length=256", "checkpoint_every=4"]
    command += [
        "eval_every=4",
        "recipe.name=lora",
        "optim.max_steps=12",
        "optim.learning_rate=0.003",
    ]
    command += ["optim.micro_batch_size=2", "resources.workers=1", "resources.cpus_per_worker=0.5"]
    command += ["resources.local_num_cpus=2"]
    ray_dir = kill_when(
        command,
        lambda: bool(list((output / "checkpoints").glob("train-*/checkpoint_manager_snapshot.json"))),
        tmp_path / "job.log",
        timeout_s=300,
    )
    gone(ray_dir)
    steps_before = [
        json.loads(line)["step"]
        for line in (output / "metrics" / "steps-rank0.jsonl").read_text().splitlines()
    ]
    assert max(steps_before) < 12, "the run finished before the kill; nothing was tested"
    assert json.loads((output / "_manifest.json").read_text())["status"] == "partial"

    manifest = finetune_vlm.run(config)
    steps = [
        json.loads(line)["step"]
        for line in (output / "metrics" / "steps-rank0.jsonl").read_text().splitlines()
    ]
    assert all(steps.count(step) == 1 for step in range(1, 5))  # before the first checkpoint: never again
    assert steps[-1] == 12 and manifest["counts"]["step"] == 12 and manifest["status"] == "complete"
    assert len(list((output / "checkpoints").glob("train-*"))) == 1  # the same run, resumed
    assert (output / "model" / "config.json").exists()

    again = finetune_vlm.run(config)  # a finished run is not trained again
    assert len((output / "metrics" / "steps-rank0.jsonl").read_text().splitlines()) == len(steps)
    assert again["counts"] == manifest["counts"] and again["status"] == "complete"


def test_a_changed_config_is_refused_naming_its_keys(tmp_path: Path) -> None:
    from cephalo_ray.config import ConfigError
    from cephalo_ray.restart import RootLayout, RootRun

    make_refine_root(Storage(), str(tmp_path / "refined"), 4)
    first = config_for(tmp_path, "run")
    hashed = finetune_vlm.hashed_config(first)
    with RootRun(Storage(), first.output, RootLayout(job="train"), config={}, hashed_config=hashed):
        pass  # the root a killed first run leaves: claimed, partial
    changed = config_for(tmp_path, "run", optim={"learning_rate": 0.01}, resources={"workers": 1})
    with pytest.raises(ConfigError, match=r"`optim.learning_rate`: 0.003 -> 0.01"):
        finetune_vlm.run(changed)
    assert "resources" not in str(hashed)  # resources may change between runs


def test_qlora_on_cpu_is_refused_before_ray_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = finetune_vlm.main(
        [f"input={tmp_path}", f"output={tmp_path / 'run'}", f"model={tmp_path}", "recipe.quantize_4bit=true"]
    )
    assert code == 2 and "needs CUDA GPUs" in capsys.readouterr().err


@pytest.mark.slow  # about 50 s: a Ray Train run with its report (the demo trains end to end too)
def test_run_leaves_curve_tensorboard_and_vqa(ray_session: Any, tmp_path: Path) -> None:
    build_tiny("idefics3", tmp_path / "base")
    make_refine_root(Storage(), str(tmp_path / "refined"), 8)
    manifest = finetune_vlm.run(
        config_for(
            tmp_path, "report", recipe={"name": "lora"}, optim={"max_steps": 4}, resources={"workers": 1}
        )
    )
    metrics = tmp_path / "report" / "metrics"
    assert (metrics / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert list((metrics / "tensorboard").glob("events.out.tfevents.*"))
    counts = manifest["counts"]
    assert counts["vqa_samples"] == 2 and 0.0 <= counts["vqa_f1"] <= 1.0
    assert counts["base_val_loss"] > 0 and counts["step"] == 4


@pytest.mark.slow  # about 30 s: a Ray Train run writing to S3
def test_output_and_checkpoints_on_s3(
    ray_session: Any, s3_server: Any, s3_bucket: str, tmp_path: Path
) -> None:
    build_tiny("llava", tmp_path / "base")
    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    make_refine_root(storage, f"s3://{s3_bucket}/refined", 6)
    config = config_for(
        tmp_path,
        "unused",
        input=f"s3://{s3_bucket}/refined",
        output=f"s3://{s3_bucket}/runs/r1",
        storage={"s3_endpoint_url": s3_server.endpoint_url},
        recipe={"name": "lora"},
        optim={"max_steps": 2},
        checkpoint_every=2,
        resources={"workers": 1},
    )
    manifest = finetune_vlm.run(config)
    assert manifest["counts"]["step"] == 2 and "vqa_f1" in manifest["counts"]
    for name in ("model/config.json", "adapter/adapter_config.json", "metrics/loss.png", "_manifest.json"):
        assert storage.exists(f"s3://{s3_bucket}/runs/r1/{name}"), name
    checkpoints = storage.list_files(f"s3://{s3_bucket}/runs/r1/checkpoints")
    assert any(item.uri.endswith("state.json") for item in checkpoints)
