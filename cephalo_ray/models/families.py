"""What the other stages need to know about each VLM family, in one place.

Training freezes and stacks decoder layers, serving builds prompts with the image placeholder, and
the MoE builder swaps MLPs: all of them ask here instead of probing models ad hoc.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FamilyFacts:
    """Facts about one `model_type`.

    Attributes:
        family: the `config.model_type`.
        layers_path: dotted path from the top model to the language model's decoder `ModuleList`.
        language_model_path: dotted path to the language model (the stack of decoder layers).
        vision_path: dotted path to the vision tower.
        connector_path: dotted path to the projector / connector between vision and language.
        image_token: the placeholder the processor expands into image tokens.
        tested_here: built tiny and loaded from disk in this project's tests; otherwise supported as
            production-only (its checkpoints run remote code, or no tiny builder exists).
        trust_remote_code: its checkpoints run their own Python code: loading them needs the config's
            `trust_remote_code: true`.
        checkpoint_layers_paths: other names of `layers_path` in checkpoint files: transformers still
            saves LLaVA and Qwen2-VL under their pre-4.52 module names, and the Hub holds those.
    """

    family: str
    layers_path: str
    language_model_path: str
    vision_path: str
    connector_path: str
    image_token: str = "<image>"
    tested_here: bool = True
    trust_remote_code: bool = False
    checkpoint_layers_paths: tuple[str, ...] = ()


FAMILIES: dict[str, FamilyFacts] = {
    "llava": FamilyFacts(
        "llava",
        "model.language_model.layers",
        "model.language_model",
        "model.vision_tower",
        "model.multi_modal_projector",
        checkpoint_layers_paths=("language_model.model.layers",),
    ),
    "llava_next": FamilyFacts(
        "llava_next",
        "model.language_model.layers",
        "model.language_model",
        "model.vision_tower",
        "model.multi_modal_projector",
        checkpoint_layers_paths=("language_model.model.layers",),
    ),
    "idefics2": FamilyFacts(
        "idefics2", "model.text_model.layers", "model.text_model", "model.vision_model", "model.connector"
    ),
    "idefics3": FamilyFacts(
        "idefics3", "model.text_model.layers", "model.text_model", "model.vision_model", "model.connector"
    ),
    "smolvlm": FamilyFacts(
        "smolvlm",
        "model.text_model.layers",
        "model.text_model",
        "model.vision_model",
        "model.connector",
    ),
    "qwen2_vl": FamilyFacts(
        "qwen2_vl",
        "model.language_model.layers",
        "model.language_model",
        "model.visual",
        "model.visual.merger",
        image_token="<|image_pad|>",
        checkpoint_layers_paths=("model.layers",),
    ),
    "qwen2_5_vl": FamilyFacts(
        "qwen2_5_vl",
        "model.language_model.layers",
        "model.language_model",
        "model.visual",
        "model.visual.merger",
        image_token="<|image_pad|>",
        checkpoint_layers_paths=("model.layers",),
    ),
    "paligemma": FamilyFacts(
        "paligemma",
        "model.language_model.layers",
        "model.language_model",
        "model.vision_tower",
        "model.multi_modal_projector",
        checkpoint_layers_paths=("language_model.model.layers",),
    ),
    "mllama": FamilyFacts(
        "mllama",
        "model.language_model.layers",
        "model.language_model",
        "model.vision_model",
        "model.multi_modal_projector",
        image_token="<|image|>",
        checkpoint_layers_paths=("language_model.model.layers",),
    ),
    "phi3_v": FamilyFacts(
        "phi3_v",
        "model.layers",
        "model",
        "model.vision_embed_tokens.img_processor",
        "model.vision_embed_tokens.img_projection",
        image_token="<|image_1|>",
        tested_here=False,
        trust_remote_code=True,
    ),
}


class UnknownFamilyError(ValueError):
    """A model whose family this project does not know."""


def facts_for(model_or_config: Any) -> FamilyFacts:
    """The facts of a model or config, by its `model_type`."""
    config = getattr(model_or_config, "config", model_or_config)
    model_type = getattr(config, "model_type", None)
    if model_type not in FAMILIES:
        raise UnknownFamilyError(
            f"model_type {model_type!r} is not a known VLM family; known: {', '.join(sorted(FAMILIES))}"
        )
    return FAMILIES[model_type]


def resolve(model: Any, dotted_path: str) -> Any:
    """`resolve(model, "model.text_model.layers")` -> that submodule."""
    node = model
    for part in dotted_path.split("."):
        node = getattr(node, part)
    return node


def decoder_layers(model: Any) -> Any:
    """The language model's decoder layers (an `nn.ModuleList`)."""
    return resolve(model, facts_for(model).layers_path)


def moe_blocks(model: Any) -> list[Any]:
    """The sparse MoE block of every decoder layer, in order (they have a `gate` router)."""
    layers = decoder_layers(model) if model.config.model_type in FAMILIES else model.model.layers
    blocks = [layer.mlp for layer in layers]
    if not all(hasattr(block, "gate") and hasattr(block, "experts") for block in blocks):
        raise ValueError("the model's MLPs are not sparse MoE blocks with a `gate` router")
    return blocks


def text_config(config: Any) -> Any:
    """The language model's config inside a VLM config."""
    return getattr(config, "text_config", config)


def image_tokens_per_image(processor: Any, image: Any) -> int:
    """How many placeholder tokens the processor puts in the sequence for `image`."""
    token = getattr(processor, "image_token", "<image>")
    token_id = processor.tokenizer.convert_tokens_to_ids(token)
    encoded = processor(images=[image], text=[f"{token}describe"], return_tensors="np")
    return int((encoded["input_ids"] == token_id).sum())
