"""Running the training function as one process without Ray (the path GPU machines check)."""

from __future__ import annotations

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
