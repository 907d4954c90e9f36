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


def dry_run_arguments(folder: Path, family: str, rows: int, *overrides: str) -> list[str]:
    """A tiny `family` model at `folder/base` and a refine root of `rows` conversations (every fourth
    for validation) at `folder/refined`; returns the arguments of the finetune job's dry run on them,
    `overrides` before `--dry-run` (its output would be `folder/run`)."""
    from cephalo_ray.storage import Storage
    from tests.helpers.roots import make_refine_root

    build_tiny(family, folder / "base")
    make_refine_root(Storage(), str(folder / "refined"), rows)
    return [
        f"input={folder / 'refined'}",
        f"output={folder / 'run'}",
        f"model={folder / 'base'}",
        *overrides,
        "--dry-run",
    ]


def test_dry_run_reports_token_lengths_and_trains_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cephalo_ray.jobs import finetune_vlm

    arguments = dry_run_arguments(tmp_path, "idefics3", 8)
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


def test_qwen2_vl_takes_its_pixel_bounds_from_config() -> None:
    _, processor = build_tiny("qwen2_vl")
    pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")

    def placeholders(size: tuple[int, int]) -> int:
        text = processor.apply_chat_template([{"role": "user", "content": [{"type": "image"}]}])
        encoded = processor(images=[Image.new("RGB", size)], text=[text], return_tensors="pt")
        return int((encoded["input_ids"] == pad).sum())

    # The real bounds (3136 to 12845056 pixels) keep a 1600 x 800 figure whole, rounded to 28 px: a
    # token per 28 x 28 pixels.
    assert placeholders((1600, 800)) == (1596 // 28) * (812 // 28)
    apply_image_settings(processor, None, None, min_pixels=None, max_pixels=256 * 28 * 28)
    assert 200 <= placeholders((1600, 800)) <= 256
    apply_image_settings(processor, None, None, min_pixels=64 * 28 * 28, max_pixels=None)
    assert placeholders((56, 56)) >= 64  # small figures are enlarged to the floor
    with pytest.raises(ValueError, match="data.image_longest_edge: .*pixel count: set data.max_pixels"):
        apply_image_settings(processor, longest_edge=512, split_images=None)
    with pytest.raises(ValueError, match="data.min_pixels 9000 is above data.max_pixels 5000"):
        apply_image_settings(processor, None, None, min_pixels=9000, max_pixels=5000)


def test_pixel_bounds_are_refused_where_the_processor_has_none() -> None:
    _, processor = build_tiny("idefics3")
    with pytest.raises(ValueError, match="data.max_pixels: Idefics3.* does not bound images by pixel count"):
        apply_image_settings(processor, None, None, max_pixels=100_000)


def test_token_lengths_of_a_model_without_chat_template() -> None:
    """PaliGemma's dry run: prefix and suffix, its 256 image tokens counted."""
    import io

    from cephalo_ray.train.budget import sample_lengths

    _, processor = build_tiny("paligemma")
    buffer = io.BytesIO()
    Image.new("RGB", (300, 100)).save(buffer, format="PNG")
    row = {"image": buffer.getvalue(), "orig_caption": "A silk fibre.", "conversations": []}
    (length,) = sample_lengths([row], processor, "captions", "Describe this figure.")
    prompt = processor.tokenizer("<bos>Describe this figure.\nA silk fibre.<eos>")["input_ids"]
    assert length == 256 + len(prompt)


def test_dry_run_of_a_saved_qwen2_vl_applies_its_pixel_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Loaded from disk (without torchvision too), the processor takes data.max_pixels before counting."""
    import re

    from cephalo_ray.jobs import finetune_vlm

    arguments = dry_run_arguments(tmp_path, "qwen2_vl", 4, "max_length=8192")

    def longest(*overrides: str) -> int:
        assert finetune_vlm.main([*arguments, *overrides]) == 0
        return int(re.search(r"max (\d+);", capsys.readouterr().err).group(1))  # type: ignore[union-attr]

    # 40 x 40 px figures: raised to the 56 x 56 px floor (4 tokens), or to 448 x 448 px (256 tokens)
    assert longest("data.min_pixels=200704") >= longest() + 252
    assert not (tmp_path / "run").exists()
