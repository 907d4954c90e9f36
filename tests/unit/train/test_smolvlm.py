"""A tiny SmolVLM with its processor set as HuggingFaceTB/SmolVLM-Instruct's: it loads back as saved,
places as many image tokens as the real settings give, and trains on a micro-batch of a wide and a tall
figure that split into different numbers of tiles."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from cephalo_ray.models.families import image_tokens_per_image
from cephalo_ray.models.loader import load_processor
from cephalo_ray.models.tiny import SMOLVLM_CHAT_TEMPLATE, build_tiny
from cephalo_ray.train.budget import apply_image_settings
from cephalo_ray.train.collate import IGNORE_INDEX, build_example, collate
from tests.unit.train.test_families import TURNS, kept_text, takes_a_step

# The real checkpoint's settings (preprocessor_config.json, processor_config.json), written out here so
# the test checks the builder against them rather than against itself.
LONGEST_EDGE, TILE, TOKENS_PER_TILE = 1536, 384, 81
WIDE = Image.new("RGB", (1000, 600), (200, 30, 30))
TALL = Image.new("RGB", (300, 900), (30, 200, 30))


def tiles_with_global_view(width: int, height: int) -> int:
    """Tiles of the real processor: the longest side resized to 1536 px, each side cut into 384 px tiles
    (the last one padded), plus one global view."""
    scale = LONGEST_EDGE / max(width, height)
    return math.ceil(width * scale / TILE) * math.ceil(height * scale / TILE) + 1


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    folder = tmp_path_factory.mktemp("smolvlm")
    model, processor = build_tiny("smolvlm", folder)
    return folder, model, processor


def test_the_saved_tiny_smolvlm_loads_with_the_real_processor_settings(saved: tuple[Path, Any, Any]) -> None:
    from transformers import SmolVLMForConditionalGeneration, SmolVLMProcessor

    folder, built, _ = saved
    processor = load_processor(str(folder))
    assert isinstance(processor, SmolVLMProcessor) and processor.image_seq_len == TOKENS_PER_TILE
    assert processor.chat_template == SMOLVLM_CHAT_TEMPLATE
    image_processor = processor.image_processor
    assert image_processor.do_image_splitting and image_processor.resample == 1
    assert image_processor.size.longest_edge == LONGEST_EDGE
    assert image_processor.max_image_size == {"longest_edge": TILE}
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What?"}]}]
    rendered = processor.apply_chat_template(messages, add_generation_prompt=True)
    assert rendered == "<|im_start|>User:<image>What?<end_of_utterance>\nAssistant:"
    model = SmolVLMForConditionalGeneration.from_pretrained(folder)
    assert model.config.model_type == "smolvlm" and model.config.scale_factor == 3
    vision = model.config.vision_config
    assert (vision.image_size, vision.patch_size) == (TILE, 14)
    assert all(torch.equal(value, built.state_dict()[name]) for name, value in model.state_dict().items())


def test_a_1000_by_600_figure_takes_the_real_number_of_image_tokens(saved: tuple[Path, Any, Any]) -> None:
    processor = load_processor(str(saved[0]))
    expected = tiles_with_global_view(1000, 600) * TOKENS_PER_TILE
    assert expected == (3 * 4 + 1) * 81  # 1536 x 922 px: 3 rows of 4 tiles
    assert image_tokens_per_image(processor, WIDE) == expected


def test_the_dry_run_levers_resize_and_stop_splitting(saved: tuple[Path, Any, Any]) -> None:
    processor = load_processor(str(saved[0]))
    apply_image_settings(processor, longest_edge=768, split_images=None)
    assert image_tokens_per_image(processor, WIDE) == (2 * 2 + 1) * TOKENS_PER_TILE  # 768 x 461 px
    apply_image_settings(processor, longest_edge=None, split_images=False)
    assert image_tokens_per_image(processor, WIDE) == TOKENS_PER_TILE  # the global view alone


def test_the_answer_mask_keeps_each_answer_and_its_turn_end(saved: tuple[Path, Any, Any]) -> None:
    processor = saved[2]
    example = build_example(processor, TURNS, [TALL], masking="answers")
    labels = example.inputs["labels"][0]
    # "Assistant:" closes the prompt, so each answer keeps the space the template writes before it
    assert (
        kept_text(processor, labels) == " Silk fibres.<end_of_utterance>\n Beta sheets.<end_of_utterance>\n"
    )


def test_a_micro_batch_of_a_wide_and_a_tall_figure_takes_a_training_step(
    saved: tuple[Path, Any, Any],
) -> None:
    _, model, processor = saved
    examples = [build_example(processor, TURNS, [image]) for image in (WIDE, TALL)]
    batch = collate(examples, processor.tokenizer.pad_token_id)
    longest = max(example.length for example in examples)
    assert batch["input_ids"].shape == batch["labels"].shape == (2, longest)
    # 13 tiles for the wide figure, 2 x 4 + 1 for the tall one, padded with all-zero tiles
    assert [tiles_with_global_view(*image.size) for image in (WIDE, TALL)] == [13, 9]
    assert batch["pixel_values"].shape == (2, 13, 3, TILE, TILE)
    assert not batch["pixel_values"][1, 9:].any()
    shorter = min(range(2), key=lambda index: examples[index].length)
    assert (batch["labels"][shorter, examples[shorter].length :] == IGNORE_INDEX).all()
    takes_a_step(model, batch)
