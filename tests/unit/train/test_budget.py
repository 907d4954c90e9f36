"""Image settings of tiling processors as config, and the token-length report before a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.train.budget import apply_image_settings, length_report


def image_tokens(processor: Any, size: tuple[int, int]) -> int:
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "?"}]}]
    )
    return int(
        processor(images=[Image.new("RGB", size)], text=[text], return_tensors="pt")["input_ids"].shape[1]
    )


def test_a_tiling_processor_takes_resolution_and_splitting_from_config() -> None:
    _, processor = build_tiny("idefics3")
    wide = (400, 300)
    default = image_tokens(processor, wide)
    apply_image_settings(processor, longest_edge=64, split_images=None)
    smaller = image_tokens(processor, wide)
    apply_image_settings(processor, longest_edge=None, split_images=False)
    single = image_tokens(processor, wide)
    assert default > smaller > single  # fewer tiles, then only the global view


def test_a_fixed_size_processor_refuses_settings_it_does_not_have() -> None:
    _, processor = build_tiny("llava")
    with pytest.raises(ValueError, match="data.image_longest_edge: CLIP.*not by its longest edge"):
        apply_image_settings(processor, longest_edge=64, split_images=None)
    with pytest.raises(ValueError, match="data.split_images: CLIP.* does not split images"):
        apply_image_settings(processor, longest_edge=None, split_images=True)


def test_length_report() -> None:
    report = length_report([100, 120, 130, 400, 2600, 2900], max_length=2048, overflow="drop")
    assert report == {
        "samples": 6,
        "p50_tokens": 130,
        "p95_tokens": 2900,
        "max_tokens": 2900,
        "max_length": 2048,
        "over_max_length": 2,
        "dropped": 2,
    }


def test_dry_run_reports_token_lengths_and_trains_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cephalo_ray.jobs import finetune_vlm
    from cephalo_ray.storage import Storage
    from tests.helpers.roots import make_refine_root

    build_tiny("idefics3", tmp_path / "base")
    make_refine_root(Storage(), str(tmp_path / "refined"), 8)
    arguments = [
        f"input={tmp_path / 'refined'}",
        f"output={tmp_path / 'run'}",
        f"model={tmp_path / 'base'}",
        "--dry-run",
    ]
    assert finetune_vlm.main([*arguments, "max_length=40"]) == 0
    printed = capsys.readouterr().err
    assert (
        "train --dry-run: 6 training rows" in printed and "6 over max_length 40 would be truncated" in printed
    )
    assert finetune_vlm.main([*arguments, "max_length=4096", "data.split_images=false"]) == 0
    assert "0 over max_length 4096" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    # a setting the processor lacks stops a real run before Ray starts
    build_tiny("llava", tmp_path / "llava")
    refused = [*arguments[:2], f"model={tmp_path / 'llava'}", "data.image_longest_edge=64"]
    assert finetune_vlm.main(refused) == 2
    assert "data.image_longest_edge: CLIP" in capsys.readouterr().err and not (tmp_path / "run").exists()
