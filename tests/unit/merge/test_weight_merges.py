"""Weight merges as mergekit defines them, checked against values worked out by hand, and whole
checkpoints merged tensor by tensor."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from cephalo_ray.merge.blending import blend_checkpoints
from cephalo_ray.merge.checkpoint import CheckpointError, CheckpointReader
from cephalo_ray.merge.weights import drop_and_rescale, merge_tensor, slerp, trim
from cephalo_ray.models.tiny import build_tiny


def test_linear_and_task_arithmetic() -> None:
    a, b, base = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 6.0]), torch.tensor([1.0, 1.0])
    assert torch.equal(merge_tensor("linear", [a, b], [3, 1]), torch.tensor([1.5, 3.0]))
    assert torch.equal(merge_tensor("linear", [a, b], [3, 1], normalize=False), torch.tensor([6.0, 12.0]))
    # base + 1 * (a - base) + 0.5 * (b - base), summed (mergekit does not normalize task arithmetic)
    assert torch.allclose(
        merge_tensor("task_arithmetic", [a, b], [1, 0.5], base=base), torch.tensor([2.0, 4.5])
    )


def test_slerp_ends_midpoint_and_parallel_tensors() -> None:
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert torch.allclose(slerp(a, b, 0.0), a) and torch.allclose(slerp(a, b, 1.0), b)
    middle = slerp(a, b, 0.5)
    assert torch.allclose(middle, torch.tensor([1.0, 1.0]) / math.sqrt(2))  # on the arc, not the chord
    assert torch.allclose(slerp(a, 2 * a, 0.5), 1.5 * a)  # parallel: a straight line


def test_ties_trims_elects_signs_and_averages_the_agreeing() -> None:
    base = torch.zeros(4)
    first, second = torch.tensor([1.0, -2.0, 0.1, 3.0]), torch.tensor([2.0, 1.5, -0.2, -1.0])
    # no trimming: signs of the sums are + - - +; each entry averages the deltas that agree
    untrimmed = merge_tensor("ties", [first, second], [1, 1], base=base, density=1.0)
    assert torch.allclose(untrimmed, torch.tensor([1.5, -2.0, -0.2, 3.0]))
    # density 0.5: the first keeps -2 and 3, the second 2 and 1.5; entry 2 has no delta left
    trimmed = merge_tensor("ties", [first, second], [1, 1], base=base, density=0.5)
    assert torch.allclose(trimmed, torch.tensor([2.0, -2.0, 0.0, 3.0]))
    assert torch.equal(trim(first, 0.5), torch.tensor([0.0, -2.0, 0.0, 3.0]))


def test_dare_drops_and_rescales_to_the_same_expectation() -> None:
    delta = torch.ones(100_000)
    dropped = drop_and_rescale(delta, 0.3, torch.Generator().manual_seed(0))
    kept = int((dropped != 0).sum())
    assert abs(kept / delta.numel() - 0.3) < 0.01 and torch.all(dropped[dropped != 0] == 1 / 0.3)
    assert abs(float(dropped.mean()) - 1.0) < 0.02  # the expectation of the delta is unchanged
    again = drop_and_rescale(delta, 0.3, torch.Generator().manual_seed(0))
    assert torch.equal(dropped, again)  # a seed gives the same drops
    base, tuned = torch.zeros(3), [torch.tensor([1.0, -1.0, 2.0]), torch.tensor([3.0, 1.0, -2.0])]
    assert torch.allclose(
        merge_tensor("dare_linear", tuned, [1, 1], base=base, density=1.0, generator=torch.Generator()),
        merge_tensor("task_arithmetic", tuned, [1, 1], base=base),
    )
    assert torch.allclose(
        merge_tensor("dare_ties", tuned, [1, 1], base=base, density=1.0, generator=torch.Generator()),
        merge_tensor("ties", tuned, [1, 1], base=base, density=1.0),
    )


def fine_tune(base: Path, target: Path, seed: int) -> None:
    """A stand-in fine-tune: the base with every weight nudged (same architecture, same files)."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(base)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
    model.save_pretrained(target)
    AutoProcessor.from_pretrained(base).save_pretrained(target)


def test_checkpoints_merge_tensor_by_tensor_and_load(tmp_path: Path) -> None:
    from transformers import AutoModelForImageTextToText

    build_tiny("llava", tmp_path / "base", seed=0)
    fine_tune(tmp_path / "base", tmp_path / "a", seed=1)
    fine_tune(tmp_path / "base", tmp_path / "b", seed=2)
    models = {name: str(tmp_path / name) for name in ("base", "a", "b")}
    record = blend_checkpoints(
        models, "base", "ties", tmp_path / "ties", density=0.5, max_shard_bytes=200_000
    )
    assert record["merged"] == ["a", "b"] and len(record["files"]) > 1  # sharded as it streamed
    merged = CheckpointReader(tmp_path / "ties")
    readers = {name: CheckpointReader(path) for name, path in models.items()}
    for key in readers["base"].keys()[:: max(1, len(readers["base"].keys()) // 12)]:
        expected = merge_tensor(
            "ties",
            [readers["a"].get(key), readers["b"].get(key)],
            [1, 1],
            base=readers["base"].get(key),
            density=0.5,
        )
        assert torch.equal(merged.get(key), expected.to(merged.get(key).dtype)), key
    loaded = AutoModelForImageTextToText.from_pretrained(tmp_path / "ties")
    assert loaded.config.cephalo_merge["kind"] == "ties"
    # weight 1 on one model and 0 on the other is that model, bit for bit
    blend_checkpoints(models, "base", "linear", tmp_path / "just-a", weights={"base": 0, "a": 1, "b": 0})
    just_a = CheckpointReader(tmp_path / "just-a")
    assert all(torch.equal(just_a.get(key), readers["a"].get(key)) for key in readers["a"].keys())
    halves = {"a": models["a"], "b": models["b"]}  # slerp: from the first to the second
    blend_checkpoints(halves, "a", "slerp", tmp_path / "half", t=0.5, dtype="bfloat16")
    half = CheckpointReader(tmp_path / "half")
    key = readers["a"].keys()[0]
    assert half.get(key).dtype == torch.bfloat16 and half.config["dtype"] == "bfloat16"
    assert torch.equal(
        half.get(key), slerp(readers["a"].get(key), readers["b"].get(key), 0.5).to(torch.bfloat16)
    )
    with pytest.raises(ValueError, match="exactly 2"):
        blend_checkpoints(models, "base", "slerp", tmp_path / "three")


def test_models_of_another_shape_are_refused_by_tensor(tmp_path: Path) -> None:
    build_tiny("llava", tmp_path / "base", seed=0)
    build_tiny("llava", tmp_path / "wider", seed=0, intermediate_size=192)
    build_tiny("idefics3", tmp_path / "other")
    with pytest.raises(
        CheckpointError, match=r"is \[192, 64\] in 'wider' but \[128, 64\]|is \[64, 192\] in 'wider'"
    ):
        blend_checkpoints(
            {"base": str(tmp_path / "base"), "wider": str(tmp_path / "wider")},
            "base",
            "linear",
            tmp_path / "w",
        )
    with pytest.raises(CheckpointError, match="'other' has no tensor"):
        blend_checkpoints(
            {"base": str(tmp_path / "base"), "other": str(tmp_path / "other")},
            "base",
            "task_arithmetic",
            tmp_path / "o",
        )
