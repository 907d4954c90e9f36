"""The training presets of merged models: only stacked-in layers, or only MoE routers, learn."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoModelForImageTextToText

from cephalo_ray.merge.moe import build_moe
from cephalo_ray.merge.stacking import LayerSlice, stack_layers
from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.train.recipes import Recipe, apply_recipe


@pytest.fixture(scope="module")
def llavas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("llavas")
    build_tiny("llava", root / "a", seed=0, num_hidden_layers=3)
    build_tiny("llava", root / "b", seed=1, num_hidden_layers=3)
    return root


def trainable(model: object) -> set[str]:
    return {name for name, parameter in model.named_parameters() if parameter.requires_grad}  # type: ignore[attr-defined]


def test_stacked_recipe_trains_only_the_stacked_in_layers(llavas: Path, tmp_path: Path) -> None:
    slices = [LayerSlice("a", 0, 2), LayerSlice("b", 1, 2), LayerSlice("a", 2, 2, train=False)]
    stack_layers({"a": str(llavas / "a"), "b": str(llavas / "b")}, "a", slices, tmp_path / "stack")
    model = AutoModelForImageTextToText.from_pretrained(tmp_path / "stack")
    apply_recipe(model, Recipe(name="stacked", train_projector=False))
    names = trainable(model)
    layers = {int(name.split(".layers.")[1].split(".")[0]) for name in names}
    assert layers == {3, 4}
    assert all(name.startswith("model.language_model.layers.") for name in names)
    per_layer = sum(p.numel() for p in model.model.language_model.layers[3].parameters())
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 2 * per_layer


def test_stacked_recipe_needs_a_merged_model(llavas: Path) -> None:
    model = AutoModelForImageTextToText.from_pretrained(llavas / "a")
    with pytest.raises(ValueError, match="no merge record"):
        apply_recipe(model, Recipe(name="stacked"))


def test_router_recipe_trains_only_routers_and_refuses_top_1(llavas: Path, tmp_path: Path) -> None:
    experts = [str(llavas / "a"), str(llavas / "b")]
    build_moe(experts[0], experts, tmp_path / "top2", experts_per_token=2)
    model = AutoModelForImageTextToText.from_pretrained(tmp_path / "top2")
    apply_recipe(model, Recipe(name="router", train_projector=False))
    assert trainable(model) == {f"model.language_model.layers.{n}.mlp.gate.weight" for n in range(3)}
    build_moe(experts[0], experts, tmp_path / "top1", experts_per_token=1)
    with pytest.raises(ValueError, match="experts_per_token >= 2"):
        apply_recipe(AutoModelForImageTextToText.from_pretrained(tmp_path / "top1"), Recipe(name="router"))
