"""What a training run updates: LoRA on the language model, its MLPs only, the projector only,
the layers a merge stacked in, the routers of an MoE, or everything, with the vision tower,
projector and language model frozen by choice.

LoRA targets are matched on the language model alone: a bare `q_proj` pattern would also adapt the
vision tower's attention, which LLaVA-style recipes keep frozen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cephalo_ray.models.families import facts_for, resolve

LORA = "lora"
MLP_ONLY = "mlp_only"  # LoRA on the MLPs only: the preset Cephalo used to make MoE experts
FULL = "full"
PROJECTOR = "projector"  # LLaVA stage 1: only the projector learns
STACKED = "stacked"  # only the decoder layers a layer-stacking merge added (Cephalo 10b/12b)
ROUTER = "router"  # only the routers of an MoE
RECIPES = (LORA, MLP_ONLY, FULL, PROJECTOR, STACKED, ROUTER)
ATTENTION_AND_MLP = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
MLP_MODULES = ("gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Recipe:
    """Flat settings of one recipe (no config object)."""

    name: str = LORA
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: Sequence[str] = field(default_factory=lambda: ATTENTION_AND_MLP)
    train_projector: bool = True
    train_vision: bool = False
    train_language_model: bool = False  # `full` trains it (and asks for this to be said); others freeze it


def lora_target_pattern(model: Any, modules: Sequence[str]) -> str:
    """A peft `target_modules` regex that matches `modules` inside the language model only."""
    language_model = re.escape(facts_for(model).language_model_path)
    names = "|".join(re.escape(name) for name in modules)
    return rf"^(?:base_model\.model\.)?{language_model}\..*\.(?:{names})$"


def apply_recipe(model: Any, recipe: Recipe) -> Any:
    """Freeze and wrap `model` for `recipe`; returns the model to train (a peft model for LoRA)."""
    if recipe.name not in RECIPES:
        raise ValueError(f"recipe {recipe.name!r} is not one of {RECIPES}")
    facts = facts_for(model)
    model.requires_grad_(False)
    if recipe.name in (LORA, MLP_ONLY):
        from peft import LoraConfig, get_peft_model

        modules = MLP_MODULES if recipe.name == MLP_ONLY else tuple(recipe.target_modules)
        # Fully trained parts travel in the adapter too, so base + adapter/ is the model that was trained.
        saved = [facts.connector_path] if recipe.train_projector else []
        saved += [facts.vision_path] if recipe.train_vision else []
        lora = LoraConfig(
            r=recipe.lora_rank,
            lora_alpha=recipe.lora_alpha,
            lora_dropout=recipe.lora_dropout,
            target_modules=lora_target_pattern(model, modules),
            modules_to_save=saved or None,
            bias="none",
        )
        return get_peft_model(model, lora)  # the adapters and the saved modules' copies are trainable
    if recipe.name == STACKED:
        layers = resolve(model, facts.layers_path)
        for number in stacked_layer_numbers(model):
            layers[number].requires_grad_(True)
    if recipe.name == ROUTER:
        for block in router_blocks(model):
            block.gate.requires_grad_(True)
    if recipe.name == FULL:
        resolve(model, facts.language_model_path).requires_grad_(True)
        model.lm_head.requires_grad_(True)
    if recipe.train_projector or recipe.name == PROJECTOR:
        resolve(model, facts.connector_path).requires_grad_(True)
    if recipe.train_vision and recipe.name != PROJECTOR:
        resolve(model, facts.vision_path).requires_grad_(True)
    return model


def stacked_layer_numbers(model: Any) -> list[int]:
    """The layers a `cephalo merge` stacked in, from the record it keeps in the model's config.

    Raises:
        ValueError: for a model that was not built by `cephalo merge`.
    """
    record = getattr(model.config, "cephalo_merge", None) or {}
    if record.get("kind") != "stack":
        raise ValueError(
            "recipe `stacked` trains the layers a `cephalo merge` added, but this model has no merge record "
            "(cephalo_merge in config.json); use another recipe or build the model with `cephalo merge`"
        )
    return list(record["trainable_layers"])


def router_blocks(model: Any) -> list[Any]:
    """The MoE blocks whose routers a `router` recipe trains.

    Raises:
        ValueError: for a dense model, or top-1 routing (its expert weight is always 1: no gradient).
    """
    from cephalo_ray.models.families import moe_blocks

    blocks = moe_blocks(model)
    top_k = getattr(blocks[0].gate, "top_k", 1)
    if top_k < 2:
        raise ValueError(
            "recipe `router` needs experts_per_token >= 2: with top-1 routing the chosen expert's weight is "
            "always 1, so the routers get no gradient; rebuild with `cephalo moe experts_per_token=2` or "
            "keep the routers fitted from prompts"
        )
    return blocks


def trainable_summary(model: Any) -> dict[str, int]:
    trainable = sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
    total = sum(parameter.numel() for parameter in model.parameters())
    return {"trainable_parameters": trainable, "total_parameters": total}
