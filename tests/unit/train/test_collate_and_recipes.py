"""Loss masks against hand-computed ones, and what each recipe lets train."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from PIL import Image

from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.train.collate import IGNORE_INDEX, TooLongError, build_example, collate
from cephalo_ray.train.recipes import Recipe, apply_recipe, lora_target_pattern

IMAGE = Image.new("RGB", (40, 40), (20, 120, 200))
CONVERSATION = [
    {"from": "human", "value": "<image>\nWhat is shown?"},
    {"from": "gpt", "value": "Silk fibres."},
]


@pytest.fixture(scope="module")
def llava() -> tuple[Any, Any]:
    return build_tiny("llava")


def test_answer_mask_equals_the_hand_computed_one(llava: tuple[Any, Any]) -> None:
    _, processor = llava
    example = build_example(processor, CONVERSATION, [IMAGE], masking="answers")
    ids = example.inputs["input_ids"][0].tolist()
    answer = processor.tokenizer("Silk fibres.</s>", add_special_tokens=False)["input_ids"]
    expected = [IGNORE_INDEX] * (len(ids) - len(answer)) + answer  # the answer closes the sequence
    assert ids[-len(answer) :] == answer
    assert example.inputs["labels"][0].tolist() == expected


def test_prompt_and_answer_mask_drops_only_image_and_pad_tokens(llava: tuple[Any, Any]) -> None:
    _, processor = llava
    example = build_example(processor, CONVERSATION, [IMAGE], masking="prompt_and_answer")
    image_id = processor.tokenizer.convert_tokens_to_ids("<image>")
    ids = example.inputs["input_ids"][0].tolist()
    expected = [IGNORE_INDEX if token == image_id else token for token in ids]
    assert ids.count(image_id) == 16 and example.inputs["labels"][0].tolist() == expected


def test_multi_turn_answers_are_each_kept(llava: tuple[Any, Any]) -> None:
    _, processor = llava
    turns = CONVERSATION + [{"from": "human", "value": "Why?"}, {"from": "gpt", "value": "Beta sheets."}]
    example = build_example(processor, turns, [IMAGE], masking="answers")
    kept = [token for token in example.inputs["labels"][0].tolist() if token != IGNORE_INDEX]
    assert processor.tokenizer.decode(kept) == "Silk fibres.</s>Beta sheets.</s>"


def test_overflow_truncates_or_drops_and_batches_pad_labels(llava: tuple[Any, Any]) -> None:
    _, processor = llava
    long_answer = [CONVERSATION[0], {"from": "gpt", "value": "silk " * 200}]
    truncated = build_example(processor, long_answer, [IMAGE], max_length=64)
    assert (
        truncated.truncated
        and truncated.inputs["input_ids"].shape[1] == 64 == truncated.inputs["labels"].shape[1]
    )
    with pytest.raises(TooLongError):
        build_example(processor, long_answer, [IMAGE], max_length=64, overflow="drop")
    with pytest.raises(TooLongError, match="image tokens"):
        build_example(processor, CONVERSATION, [IMAGE], max_length=8)
    short = build_example(processor, CONVERSATION, [IMAGE])
    batch = collate([truncated, short], processor.tokenizer.pad_token_id)
    assert batch["labels"].shape == (2, 64) and (batch["labels"][1, short.length :] == IGNORE_INDEX).all()
    assert (batch["attention_mask"][1, short.length :] == 0).all()


@pytest.mark.parametrize("family", ["llava", "idefics3"])
def test_lora_targets_the_language_model_only(family: str) -> None:
    model, _ = build_tiny(family)
    pattern = lora_target_pattern(model, ["q_proj"])
    wrapped = apply_recipe(
        model, Recipe(name="lora", target_modules=["q_proj", "v_proj"], train_projector=False)
    )
    adapted = [name for name, _ in wrapped.named_parameters() if "lora_" in name]
    assert adapted and all(("language_model" in name or "text_model" in name) for name in adapted)
    assert "vision" not in pattern and not [name for name in adapted if "vision" in name]
    trainable = [name for name, parameter in wrapped.named_parameters() if parameter.requires_grad]
    assert trainable == adapted


def test_projector_recipe_trains_only_the_projector() -> None:
    model, _ = build_tiny("llava")
    prepared = apply_recipe(model, Recipe(name="projector"))
    trainable = {name for name, parameter in prepared.named_parameters() if parameter.requires_grad}
    assert trainable and all(name.startswith("model.multi_modal_projector.") for name in trainable)
    full = apply_recipe(
        build_tiny("llava")[0], Recipe(name="full", train_language_model=True, train_vision=True)
    )
    assert all(parameter.requires_grad for parameter in full.parameters())
    assert isinstance(next(full.parameters()), torch.nn.Parameter)


# llava-hf/llava-1.5-7b-hf's chat template: an answer is followed by a space, never by </s>.
LLAVA_15_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}"
    "{% endif %}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}"
    "{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


def test_answers_end_with_a_labelled_eos_even_where_the_template_writes_none() -> None:
    _, processor = build_tiny("llava")
    eos = processor.tokenizer.eos_token_id
    turns = [
        *CONVERSATION,
        {"from": "human", "value": "And the scale?"},
        {"from": "gpt", "value": "Ten microns."},
    ]
    own = build_example(processor, turns, [IMAGE]).inputs["labels"][0].tolist()
    assert own.count(eos) == 2  # the tiny template closes answers with </s> itself: nothing added
    processor.chat_template = LLAVA_15_TEMPLATE
    example = build_example(processor, turns, [IMAGE])
    labels = example.inputs["labels"][0].tolist()
    kept = [token for token in labels if token != IGNORE_INDEX]
    assert kept.count(eos) == 2  # each answer teaches the model to stop ...
    answer = processor.tokenizer("Ten microns.", add_special_tokens=False)["input_ids"]
    end = next(i + len(answer) for i in range(len(kept)) if kept[i : i + len(answer)] == answer)
    assert kept[end] == eos  # ... right after its last word


def test_a_micro_batch_of_images_split_into_different_tile_counts_trains() -> None:
    model, processor = build_tiny("idefics3")
    wide, square = Image.new("RGB", (120, 40), (200, 30, 30)), Image.new("RGB", (40, 40), (30, 200, 30))
    examples = [build_example(processor, CONVERSATION, [picture]) for picture in (wide, square)]
    tiles = [example.inputs["pixel_values"].shape[1] for example in examples]
    assert tiles[0] != tiles[1]  # the real processor's splitting: the wide figure has more tiles
    batch = collate(examples, processor.tokenizer.pad_token_id)
    assert batch["pixel_values"].shape[:2] == (2, max(tiles))
    loss = model(**batch).loss
    assert torch.isfinite(loss)
    loss.backward()


def test_a_lora_adapter_carries_the_projector_it_trained(tmp_path: Any) -> None:
    """base + adapter/ must be the model that was trained: the fully trained projector travels too."""
    from peft import PeftModel

    base, processor = build_tiny("llava")
    base.save_pretrained(tmp_path / "base")
    trained = apply_recipe(build_tiny("llava")[0], Recipe(name="lora", train_projector=True))
    trainable = [name for name, parameter in trained.named_parameters() if parameter.requires_grad]
    assert any("multi_modal_projector" in name for name in trainable) and any(
        "lora_" in name for name in trainable
    )
    with torch.no_grad():  # as training would: the projector and the adapters move
        for parameter in trained.parameters():
            if parameter.requires_grad:
                parameter.add_(0.05 * torch.randn_like(parameter))
    trained.save_pretrained(tmp_path / "adapter")
    reloaded = PeftModel.from_pretrained(type(base).from_pretrained(tmp_path / "base"), tmp_path / "adapter")
    example = build_example(processor, CONVERSATION, [IMAGE])
    inputs = {key: value for key, value in example.inputs.items() if key != "labels"}
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**inputs).logits, trained.eval()(**inputs).logits)
    with pytest.raises(ValueError, match="train_language_model=true"):
        from cephalo_ray.jobs.finetune_vlm import RecipeConfig

        RecipeConfig(name="full")
