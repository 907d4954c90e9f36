"""Fit the routers of an MoE from example prompts of each expert (Cephalo's method, corrected).

Each expert comes with prompts of the kind it should answer. The prompts of expert e run through the
MoE itself with every router forced to pick e, so the hidden states reaching layer L are exactly
those the model produces when routing is right; each router's input is recorded per token as the
router sees it (after the post-attention norm). Each layer's router is then fitted to separate the
experts: multinomial logistic regression (`logistic`, default) or the normalised mean of each
expert's inputs (`mean`, the original Cephalo recipe). Held-out prompts measure the fit per layer
and, run through the fitted model unforced, how often their tokens are routed to their own expert.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

METHODS = ("logistic", "mean")


@dataclass(frozen=True)
class Prompt:
    text: str
    image: str | None = None  # a local image file


@dataclass
class LayerFit:
    layer: int
    fit_accuracy: float
    heldout_accuracy: float | None


@dataclass
class RouterReport:
    method: str
    layers: list[LayerFit] = field(default_factory=list)
    fit_prompts: int = 0
    heldout_prompts: int = 0
    routed_token_accuracy: float | None = None  # held-out tokens sent to their own expert, all layers
    routed_prompt_accuracy: float | None = None  # held-out prompts whose router mass is most on their expert

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "fit_prompts": self.fit_prompts,
            "heldout_prompts": self.heldout_prompts,
            "routed_token_accuracy": self.routed_token_accuracy,
            "routed_prompt_accuracy": self.routed_prompt_accuracy,
            "layers": [vars(layer) for layer in self.layers],
        }


@contextmanager
def recording_routers(
    blocks: Sequence[Any], force_expert: int | None = None
) -> Iterator[tuple[list[list[Any]], list[list[Any]]]]:
    """Record each router's inputs and logits; with `force_expert`, every token goes to that expert."""
    import torch

    inputs: list[list[Any]] = [[] for _ in blocks]
    logits_seen: list[list[Any]] = [[] for _ in blocks]

    def hook_for(number: int) -> Callable[..., Any]:
        def hook(module: Any, arguments: tuple[Any, ...], output: Any) -> Any:
            hidden = arguments[0].reshape(-1, arguments[0].shape[-1])
            inputs[number].append(hidden.detach().float())
            logits, scores, indices = output
            logits_seen[number].append(logits.detach().float())
            if force_expert is not None:
                indices = torch.full_like(indices, force_expert)
                scores = torch.full_like(scores, 1.0 / scores.shape[-1])
            return logits, scores, indices

        return hook

    handles = [block.gate.register_forward_hook(hook_for(number)) for number, block in enumerate(blocks)]
    try:
        yield inputs, logits_seen
    finally:
        for handle in handles:
            handle.remove()


def encode_prompt(processor: Any, prompt: Prompt, is_vlm: bool) -> dict[str, Any]:
    """Model inputs of one prompt, through the chat template when the model has one."""
    tokenizer = getattr(processor, "tokenizer", processor)
    if not is_vlm:
        if getattr(tokenizer, "chat_template", None):
            messages = [{"role": "user", "content": prompt.text}]
            text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        else:
            text = prompt.text
        return dict(tokenizer([text], return_tensors="pt"))
    from PIL import Image

    content: list[dict[str, Any]] = [{"type": "image"}] if prompt.image else []
    content.append({"type": "text", "text": prompt.text})
    text = processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)
    images = [Image.open(prompt.image).convert("RGB")] if prompt.image else None
    return dict(processor(images=images, text=[text], return_tensors="pt"))


def run_prompts(
    model: Any, blocks: Sequence[Any], encoded: Sequence[dict[str, Any]], force_expert: int | None = None
) -> tuple[list[Any], list[list[Any]]]:
    """Per layer, the router inputs of all tokens of `encoded` (tokens x hidden), and per prompt and
    layer the router logits of its tokens (tokens x experts)."""
    import torch

    per_layer: list[list[Any]] = [[] for _ in blocks]
    routes: list[list[Any]] = []
    device = next(model.parameters()).device
    with torch.no_grad(), recording_routers(blocks, force_expert) as (inputs, logits_seen):
        for batch in encoded:
            model(**{key: value.to(device) for key, value in batch.items()})
            routes.append([logits.pop().cpu() for logits in logits_seen])
            for number, recorded in enumerate(inputs):
                per_layer[number].append(recorded.pop().cpu())
    return [torch.cat(parts) for parts in per_layer], routes


def fit_router(
    features: Sequence[Any], method: str = "logistic", l2: float = 1e-3, max_iterations: int = 200
) -> Any:
    """Router weights (experts x hidden, no bias, as Mixtral's) separating `features[e]` (tokens of e)."""
    import torch

    if method not in METHODS:
        raise ValueError(f"router method {method!r} is not one of {METHODS}")
    if method == "mean":
        means = torch.stack([torch.nn.functional.normalize(part, dim=-1).mean(0) for part in features])
        return torch.nn.functional.normalize(means, dim=-1)
    inputs = torch.cat(list(features))
    labels = torch.cat([torch.full((len(part),), number) for number, part in enumerate(features)])
    # Balanced classes: an expert with many more example tokens must not win by default.
    class_weights = torch.tensor([len(inputs) / (len(features) * max(len(part), 1)) for part in features])
    scale = inputs.pow(2).mean().sqrt().clamp_min(1e-6)  # well-conditioned steps; undone at the end
    weights = torch.zeros(len(features), inputs.shape[1], requires_grad=True)
    optimizer = torch.optim.LBFGS([weights], max_iter=max_iterations, line_search_fn="strong_wolfe")

    def loss_of() -> Any:
        optimizer.zero_grad()
        logits = (inputs / scale) @ weights.T
        loss = (
            torch.nn.functional.cross_entropy(logits, labels, weight=class_weights)
            + l2 * weights.pow(2).sum()
        )
        loss.backward()
        return loss

    optimizer.step(loss_of)
    return (weights / scale).detach()


def token_accuracy(weights: Any, features: Sequence[Any]) -> float:
    correct = sum(
        int(((part @ weights.T).argmax(-1) == number).sum()) for number, part in enumerate(features)
    )
    return correct / max(sum(len(part) for part in features), 1)


def split_prompts(
    prompts: Sequence[Prompt], holdout_fraction: float, seed: int
) -> tuple[list[Prompt], list[Prompt]]:
    """(fit, held out): a seeded shuffle; at least one prompt is always kept for fitting."""
    shuffled = list(prompts)
    random.Random(seed).shuffle(shuffled)
    held = min(int(round(len(shuffled) * holdout_fraction)), len(shuffled) - 1)
    return shuffled[held:], shuffled[:held]


def fit_routers(
    model: Any,
    processor: Any,
    prompts_by_expert: Mapping[int, Sequence[Prompt]],
    method: str = "logistic",
    holdout_fraction: float = 0.2,
    l2: float = 1e-3,
    max_iterations: int = 200,
    seed: int = 0,
) -> RouterReport:
    """Fit every router of `model` in place from each expert's prompts; report the accuracies."""
    import torch

    from cephalo_ray.models.families import moe_blocks

    blocks = moe_blocks(model)
    experts = len(blocks[0].gate.weight)
    if sorted(prompts_by_expert) != list(range(experts)):
        raise ValueError(
            f"prompts are needed for each of the {experts} experts, got {sorted(prompts_by_expert)}"
        )
    is_vlm = hasattr(model.config, "text_config")
    report = RouterReport(method)
    fit_features: list[list[Any]] = [[] for _ in blocks]
    heldout_features: list[list[Any]] = [[] for _ in blocks]
    heldout: list[tuple[int, dict[str, Any]]] = []
    for expert in range(experts):
        fit, held = split_prompts(prompts_by_expert[expert], holdout_fraction, seed)
        report.fit_prompts += len(fit)
        report.heldout_prompts += len(held)
        for prompts, sink in ((fit, fit_features), (held, heldout_features)):
            encoded = [encode_prompt(processor, prompt, is_vlm) for prompt in prompts]
            if encoded:
                per_layer, _ = run_prompts(model, blocks, encoded, force_expert=expert)
                for number, layer_inputs in enumerate(per_layer):
                    sink[number].append(layer_inputs)
        heldout.extend((expert, encode_prompt(processor, prompt, is_vlm)) for prompt in held)
    for number, block in enumerate(blocks):
        weights = fit_router(fit_features[number], method, l2, max_iterations)
        block.gate.weight.data.copy_(weights.to(block.gate.weight.dtype))
        held = heldout_features[number]
        report.layers.append(
            LayerFit(
                number,
                round(token_accuracy(weights, fit_features[number]), 4),
                round(token_accuracy(weights, held), 4) if len(held) == experts else None,
            )
        )
    if heldout:
        _, routes = run_prompts(model, blocks, [batch for _, batch in heldout])
        token_hits = token_total = prompt_hits = 0
        for (expert, _), layers in zip(heldout, routes, strict=True):
            logits = torch.cat(layers)
            token_hits += int((logits.argmax(-1) == expert).sum())
            token_total += len(logits)
            # The prompt's expert: the most router probability over its tokens and layers, so tokens
            # every expert shares (chat template, punctuation) weigh little against confident ones.
            prompt_hits += int(logits.softmax(-1).sum(0).argmax() == expert)
        report.routed_token_accuracy = round(token_hits / token_total, 4)
        report.routed_prompt_accuracy = round(prompt_hits / len(heldout), 4)
    return report
