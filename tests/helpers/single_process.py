"""Running the training function as one process without Ray (the path GPU machines check)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from cephalo_ray.samples import gradient_png
from tests.helpers.servers import free_port

CONVERSATION = [
    {"from": "human", "value": "<image>\nWhat is shown?"},
    {"from": "gpt", "value": "Silk fibres."},
]


def as_single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment torch.distributed reads for a world of one process on loopback."""
    for key, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MASTER_PORT", str(free_port()))


def training_rows(count: int, prefix: str = "row") -> list[dict[str, Any]]:
    """`count` one-turn rows with distinct 40x40 images, as a refine root holds them; `pair_id` is
    `<prefix>-<index>`, so a test can tell which rows a run drew."""
    return [
        {
            "pair_id": f"{prefix}-{index}",
            "image": gradient_png(40, 40, index),
            "orig_caption": "c",
            "conversations": CONVERSATION,
        }
        for index in range(count)
    ]


def crash_and_resume(
    folder: Path, drawn: list[Any], worker_rows: dict[str, Any], **settings: Any
) -> tuple[list[Any], list[Any], list[Any]]:
    """Six steps of a LoRA on a tiny LLaVA (built at `folder/base`), checkpointed every two steps: a
    whole run into `folder/whole`, then one into `folder/interrupted` that fails at step 5 (its last
    checkpoint is at step 4), then that one again, resuming. `worker_rows` go to `train_worker` and
    `settings` to `TrainSettings`; returns what the test recorded into `drawn` during each run."""
    from cephalo_ray.models.tiny import build_tiny
    from cephalo_ray.train.loop import InjectedFailure, TrainSettings, train_worker
    from cephalo_ray.train.recipes import Recipe

    build_tiny("llava", folder / "base")

    def run(name: str, fail_at_step: int | None = None) -> list[Any]:
        drawn.clear()
        run_settings = TrainSettings(
            model=str(folder / "base"),
            output_dir=str(folder / name),
            recipe=asdict(Recipe(name="lora", lora_rank=4, lora_alpha=8)),
            max_steps=6,
            eval_every=6,
            checkpoint_every=2,
            vqa_samples=0,
            checkpoint_dir=str(folder / name / "checkpoints"),
            fail_at_step=fail_at_step,
            **settings,
        )
        try:
            train_worker(asdict(run_settings), **worker_rows)
        except InjectedFailure:
            pass
        return list(drawn)

    return run("whole"), run("interrupted", fail_at_step=5), run("interrupted")
