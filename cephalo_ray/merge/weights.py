"""Weight merges of models that share one architecture (fine-tunes of one base), tensor by tensor, as
mergekit defines them: linear averaging, SLERP, task arithmetic, TIES and DARE.

Pure functions on torch tensors, computed in float32. The task-vector methods work on deltas
from the base (`fine-tune - base`):
- task arithmetic: base + sum(weight_i * delta_i)
- TIES: each delta keeps its `density` share of largest-magnitude entries; each entry's sign is
  elected by the weighted sum of the trimmed deltas; the deltas that agree with it are averaged
  (weighted) and added to the base.
- DARE: each delta entry is dropped with probability 1 - density and the rest rescaled by
  1 / density; then summed (dare_linear) or combined by TIES' sign election (dare_ties).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

LINEAR = "linear"
SLERP = "slerp"
TASK_ARITHMETIC = "task_arithmetic"
TIES = "ties"
DARE_LINEAR = "dare_linear"
DARE_TIES = "dare_ties"
WEIGHT_METHODS = (LINEAR, SLERP, TASK_ARITHMETIC, TIES, DARE_LINEAR, DARE_TIES)
TASK_VECTOR_METHODS = (TASK_ARITHMETIC, TIES, DARE_LINEAR, DARE_TIES)
# mergekit's defaults: averages for linear and the sign-consensus methods, plain sums otherwise
NORMALIZE_BY_DEFAULT = {LINEAR: True, TASK_ARITHMETIC: False, TIES: True, DARE_LINEAR: False, DARE_TIES: True}


def linear(tensors: Sequence[Any], weights: Sequence[float], normalize: bool = True) -> Any:
    """The weighted sum (divided by the sum of weights when `normalize`)."""
    total = sum(weight * tensor.float() for weight, tensor in zip(weights, tensors, strict=True))
    return total / sum(weights) if normalize else total


def slerp(a: Any, b: Any, t: float, eps: float = 1e-8) -> Any:
    """Spherical interpolation from `a` (t=0) to `b` (t=1) along the arc between their directions;
    nearly parallel tensors are interpolated linearly (the arc is a line there)."""
    import torch

    a32, b32 = a.float(), b.float()
    a_unit = a32 / (a32.norm() + eps)
    b_unit = b32 / (b32.norm() + eps)
    cosine = torch.clamp((a_unit * b_unit).sum(), -1.0, 1.0)
    if abs(float(cosine)) > 1 - 1e-6:
        return (1 - t) * a32 + t * b32
    angle = torch.arccos(cosine)
    sine = torch.sin(angle)
    return (torch.sin((1 - t) * angle) / sine) * a32 + (torch.sin(t * angle) / sine) * b32


def trim(delta: Any, density: float) -> Any:
    """Keep the `density` share of entries with the largest magnitude; zero the rest."""
    import torch

    if density >= 1.0:
        return delta
    keep = int(round(delta.numel() * density))
    if keep <= 0:
        return torch.zeros_like(delta)
    threshold = delta.abs().flatten().kthvalue(delta.numel() - keep + 1).values
    return torch.where(delta.abs() >= threshold, delta, torch.zeros_like(delta))


def drop_and_rescale(delta: Any, density: float, generator: Any) -> Any:
    """DARE: drop each entry with probability 1 - density, rescale the survivors by 1 / density."""
    import torch

    if density >= 1.0:
        return delta
    keep = torch.rand(delta.shape, generator=generator) < density
    return torch.where(keep, delta / density, torch.zeros_like(delta))


def sign_consensus(deltas: Sequence[Any], weights: Sequence[float], normalize: bool = True) -> Any:
    """TIES: per entry, the weighted sum of the deltas whose sign agrees with the elected one (the
    sign of the weighted sum), divided by their weights' sum when `normalize`."""
    import torch

    weighted = torch.stack([weight * delta for weight, delta in zip(weights, deltas, strict=True)])
    elected = torch.sign(weighted.sum(dim=0))
    agrees = (torch.sign(weighted) == elected) & (weighted != 0)
    scale = torch.tensor(list(weights), dtype=weighted.dtype).view(-1, *([1] * (weighted.dim() - 1)))
    total = (weighted * agrees).sum(dim=0)
    if not normalize:
        return total
    counted = (scale * agrees).sum(dim=0)
    return torch.where(counted != 0, total / counted.clamp(min=1e-12), torch.zeros_like(total))


def merge_tensor(
    method: str,
    tensors: Sequence[Any],
    weights: Sequence[float],
    *,
    base: Any = None,
    t: float = 0.5,
    density: float = 1.0,
    normalize: bool | None = None,
    generator: Any = None,
) -> Any:
    """One merged tensor (float32) of `tensors` (the fine-tunes) by `method`.

    Args:
        base: the common base's tensor (task-vector methods).
        t: SLERP's position between the two tensors.
        density: share of delta entries TIES keeps / DARE keeps in expectation.
        normalize: divide sums by the sum of weights (None: mergekit's default for the method).
        generator: a seeded `torch.Generator` (DARE's random drops).
    """
    divide = NORMALIZE_BY_DEFAULT.get(method, True) if normalize is None else normalize
    if method == LINEAR:
        return linear(tensors, weights, divide)
    if method == SLERP:
        if len(tensors) != 2:
            raise ValueError(f"slerp merges exactly 2 models, got {len(tensors)}")
        return slerp(tensors[0], tensors[1], t)
    if base is None:
        raise ValueError(f"{method} needs the base model's tensor")
    base32 = base.float()
    deltas = [tensor.float() - base32 for tensor in tensors]
    if method in (DARE_LINEAR, DARE_TIES):
        deltas = [drop_and_rescale(delta, density, generator) for delta in deltas]
    if method == TIES:
        deltas = [trim(delta, density) for delta in deltas]
    if method in (TIES, DARE_TIES):
        return base32 + sign_consensus(deltas, weights, divide)
    if method in (TASK_ARITHMETIC, DARE_LINEAR):
        scale = sum(weights) if divide else 1.0
        return base32 + sum(weight * delta for weight, delta in zip(weights, deltas, strict=True)) / scale
    raise ValueError(f"merge method {method!r} is not one of {WEIGHT_METHODS}")
