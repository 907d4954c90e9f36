"""Fit the routers of an MoE from example prompts of each expert (Cephalo's method, corrected).

Each expert comes with prompts of the kind it should answer. The prompts of expert e run through the
MoE itself with every router forced to pick e, so the hidden states reaching layer L are exactly
those the model produces when routing is right; each router's input is recorded per token as the
router sees it (after the post-attention norm). Each layer's router is then fitted to separate the
experts: multinomial logistic regression (`logistic`, default) or the normalised mean of each
expert's inputs (`mean`, the original Cephalo recipe). Held-out prompts measure the fit per layer
and, run through the fitted model unforced, how often their tokens are routed to their own expert.

An expert may also list negative prompts, those it should not be chosen for (mergekit's
`negative_prompts`). They run forced to that same expert, so they differ from its own prompts in
content only, and its router row is fitted to score them low: `mean` subtracts their mean input
(mergekit's gate), `logistic` adds the likelihood of "not this expert" for each of their tokens.

Prompts run one at a time and their router inputs are reduced as they pass (`router_inputs`: running
sums, a bounded sample per layer and expert), so memory does not grow with prompts x tokens.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

METHODS = ("logistic", "mean")
# VLM families whose prompts are plain text naming the image by a placeholder (no processor template)
PLAIN_TEXT_TEMPLATES = ("phi3_v",)


@dataclass(frozen=True)
class Prompt:
    text: str
    image: str | None = None  # a local image file


@dataclass
class LayerFit:
    layer: int
    fit_accuracy: float
    heldout_accuracy: float | None
    # negative prompts' tokens the router does not send to the expert that lists them
    negative_fit_rejection: float | None = None
    negative_heldout_rejection: float | None = None


@dataclass
class RouterReport:
    method: str
    layers: list[LayerFit] = field(default_factory=list)
    fit_prompts: int = 0
    heldout_prompts: int = 0
    routed_token_accuracy: float | None = None  # held-out tokens sent to their own expert, all layers
    routed_prompt_accuracy: float | None = None  # held-out prompts whose router mass is most on their expert
    stored_token_rows: int = 0  # router inputs held at once while fitting, all layers and experts
    negative_fit_prompts: int = 0
    negative_heldout_prompts: int = 0
    # held-out negative prompts, unforced: tokens and prompts kept away from the expert listing them
    negatives_routed_away_tokens: float | None = None
    negatives_routed_away_prompts: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "fit_prompts": self.fit_prompts,
            "heldout_prompts": self.heldout_prompts,
            "routed_token_accuracy": self.routed_token_accuracy,
            "routed_prompt_accuracy": self.routed_prompt_accuracy,
            "stored_token_rows": self.stored_token_rows,
            "negative_fit_prompts": self.negative_fit_prompts,
            "negative_heldout_prompts": self.negative_heldout_prompts,
            "negatives_routed_away_tokens": self.negatives_routed_away_tokens,
            "negatives_routed_away_prompts": self.negatives_routed_away_prompts,
            "layers": [vars(layer) for layer in self.layers],
        }


@contextmanager
def recording_routers(
    blocks: Sequence[Any],
    force_expert: int | None = None,
    visit: Callable[[int, Any, Any], None] | None = None,
) -> Iterator[None]:
    """While open, `visit(layer, inputs, logits)` sees each router's inputs (tokens x hidden) and
    logits (tokens x experts) as they pass; with `force_expert`, every token goes to that expert.
    Nothing is kept here: what to keep is the visitor's choice."""
    import torch

    def hook_for(number: int) -> Callable[..., Any]:
        def hook(module: Any, arguments: tuple[Any, ...], output: Any) -> Any:
            logits, scores, indices = output
            if visit is not None:
                hidden = arguments[0].reshape(-1, arguments[0].shape[-1])
                visit(number, hidden.detach().float(), logits.detach().float())
            if force_expert is not None:
                indices = torch.full_like(indices, force_expert)
                scores = torch.full_like(scores, 1.0 / scores.shape[-1])
            return logits, scores, indices

        return hook

    handles = [block.gate.register_forward_hook(hook_for(number)) for number, block in enumerate(blocks)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def encode_prompt(
    processor: Any, prompt: Prompt, is_vlm: bool, image_placeholder: str | None = None
) -> dict[str, Any]:
    """Model inputs of one prompt, through the chat template when the model has one. With
    `image_placeholder` (Phi-3-vision's `<|image_1|>`) the prompt goes through the tokenizer's template
    as plain text that names its image, since that family's processor has no template of its own."""
    tokenizer = getattr(processor, "tokenizer", processor)
    if not is_vlm:
        if getattr(tokenizer, "chat_template", None):
            messages = [{"role": "user", "content": prompt.text}]
            text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        else:
            text = prompt.text
        return dict(tokenizer([text], return_tensors="pt"))
    from PIL import Image

    images = [Image.open(prompt.image).convert("RGB")] if prompt.image else None
    if image_placeholder is not None:
        plain = (f"{image_placeholder}\n" if prompt.image else "") + prompt.text
        messages = [{"role": "user", "content": plain}]
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        pictures = {"images": images} if images else {}  # a text-only prompt needs no image processor
        return dict(processor(text=text, return_tensors="pt", **pictures))
    content: list[dict[str, Any]] = [{"type": "image"}] if prompt.image else []
    content.append({"type": "text", "text": prompt.text})
    text = processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)
    return dict(processor(images=images, text=[text], return_tensors="pt"))


def run_prompts(
    model: Any,
    blocks: Sequence[Any],
    encoded: Iterable[dict[str, Any]],
    visit: Callable[[int, Any, Any], None],
    force_expert: int | None = None,
) -> None:
    """Run each prompt's inputs through `model`, one prompt at a time, showing every router's inputs
    and logits to `visit` (see `recording_routers`)."""
    import torch

    device = next(model.parameters()).device
    with torch.no_grad(), recording_routers(blocks, force_expert, visit):
        for batch in encoded:
            model(**{key: value.to(device) for key, value in batch.items()})


def fit_router(
    features: Sequence[Any],
    method: str = "logistic",
    l2: float = 1e-3,
    max_iterations: int = 200,
    negatives: Sequence[Any] | None = None,
) -> Any:
    """Router weights (experts x hidden, no bias, as Mixtral's) separating `features[e]` (tokens of e);
    `negatives[e]`, when given and not empty, are tokens that e's row must score low."""
    import torch

    if method not in METHODS:
        raise ValueError(f"router method {method!r} is not one of {METHODS}")
    if negatives is not None and len(negatives) != len(features):
        raise ValueError(f"negatives for {len(negatives)} experts, features for {len(features)}")
    listed = {number: part for number, part in enumerate(negatives or []) if part is not None and len(part)}
    if method == "mean":
        rows = []
        for number, part in enumerate(features):
            row = torch.nn.functional.normalize(part, dim=-1).mean(0)
            if number in listed:
                row = row - torch.nn.functional.normalize(listed[number], dim=-1).mean(0)
            rows.append(row)
        return torch.nn.functional.normalize(torch.stack(rows), dim=-1)
    inputs = torch.cat(list(features))
    labels = torch.cat([torch.full((len(part),), number) for number, part in enumerate(features)])
    # Balanced classes: an expert with many more example tokens must not win by default.
    class_weights = torch.tensor([len(inputs) / (len(features) * max(len(part), 1)) for part in features])
    scale = torch.cat([inputs, *listed.values()]).pow(2).mean().sqrt().clamp_min(1e-6)
    weights = torch.zeros(len(features), inputs.shape[1], requires_grad=True)
    optimizer = torch.optim.LBFGS([weights], max_iter=max_iterations, line_search_fn="strong_wolfe")

    def loss_of() -> Any:
        optimizer.zero_grad()
        logits = (inputs / scale) @ weights.T
        loss = (
            torch.nn.functional.cross_entropy(logits, labels, weight=class_weights)
            + l2 * weights.pow(2).sum()
        )
        for number, part in listed.items():
            # weighed as one expert's own tokens are in the balanced cross-entropy: 1 / experts
            loss = loss + not_expert_loss((part / scale) @ weights.T, number) / len(features)
        loss.backward()
        return loss

    optimizer.step(loss_of)
    return (weights / scale).detach()


def not_expert_loss(logits: Any, expert: int) -> Any:
    """Mean -log(1 - p_expert) over tokens (tokens x experts logits), computed stably.

    A negative prompt says only "not this expert", so its likelihood is the probability of all the
    other experts together: it names none of them (labelling it with each other expert would claim
    they are equally right). With 2 experts it is the cross-entropy of the other expert's label.
    """
    others = logits.clone()
    others[:, expert] = float("-inf")
    return (logits.logsumexp(-1) - others.logsumexp(-1)).mean()


def token_accuracy(weights: Any, features: Sequence[Any]) -> float:
    correct = sum(
        int(((part @ weights.T).argmax(-1) == number).sum()) for number, part in enumerate(features)
    )
    return correct / max(sum(len(part) for part in features), 1)


def token_rejection(weights: Any, negatives: Sequence[Any]) -> float | None:
    """The share of negative tokens not routed to the expert that lists them (None: no negatives)."""
    total = sum(len(part) for part in negatives)
    if total == 0:
        return None
    away = sum(
        int(((part @ weights.T).argmax(-1) != number).sum())
        for number, part in enumerate(negatives)
        if len(part)
    )
    return away / total


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
    max_tokens_per_expert: int = 2048,
    negatives_by_expert: Mapping[int, Sequence[Prompt]] | None = None,
) -> RouterReport:
    """Fit every router of `model` in place from each expert's prompts and, where given, the prompts
    it should not be chosen for (`negatives_by_expert`); report the accuracies.

    Memory does not grow with the prompts: each layer keeps per expert the running sums of the `mean`
    fit and a seeded sample of at most `max_tokens_per_expert` tokens (`router_inputs`), as much again
    for its negative prompts, and the held-out prompts are scored as they run. Negative prompts are
    split as the others are; the held-out ones measure how often they are kept away from their expert.
    """
    from cephalo_ray.merge.router_inputs import LayerRouterInputs
    from cephalo_ray.models.families import FAMILIES, moe_blocks

    if method not in METHODS:
        raise ValueError(f"router method {method!r} is not one of {METHODS}")
    blocks = moe_blocks(model)
    experts = len(blocks[0].gate.weight)
    if sorted(prompts_by_expert) != list(range(experts)):
        raise ValueError(
            f"prompts are needed for each of the {experts} experts, got {sorted(prompts_by_expert)}"
        )
    negatives_by_expert = {key: value for key, value in (negatives_by_expert or {}).items() if value}
    if not set(negatives_by_expert) <= set(range(experts)):
        raise ValueError(f"negative prompts name experts {sorted(negatives_by_expert)}; there are {experts}")
    model_type = model.config.model_type
    is_vlm = hasattr(model.config, "text_config") or model_type in FAMILIES
    placeholder = FAMILIES[model_type].image_token if model_type in PLAIN_TEXT_TEMPLATES else None

    def encoded(prompts: Sequence[Prompt]) -> Iterator[dict[str, Any]]:
        # one at a time: a VLM prompt's pixels can weigh tens of megabytes
        return (encode_prompt(processor, prompt, is_vlm, placeholder) for prompt in prompts)

    report = RouterReport(method)
    splits = [split_prompts(prompts_by_expert[expert], holdout_fraction, seed) for expert in range(experts)]
    negative_splits = [
        split_prompts(negatives_by_expert[expert], holdout_fraction, seed)
        if expert in negatives_by_expert
        else ([], [])
        for expert in range(experts)
    ]
    kept = [
        LayerRouterInputs(experts, max_tokens_per_expert, seed * 7919 + number)
        for number in range(len(blocks))
    ]
    for expert, ((fit, held), (negative_fit, negative_held)) in enumerate(
        zip(splits, negative_splits, strict=True)
    ):
        report.fit_prompts += len(fit)
        report.heldout_prompts += len(held)
        report.negative_fit_prompts += len(negative_fit)
        report.negative_heldout_prompts += len(negative_held)

        def keep(layer: int, inputs: Any, logits: Any, expert: int = expert) -> None:
            kept[layer].add(expert, inputs)

        def keep_negative(layer: int, inputs: Any, logits: Any, expert: int = expert) -> None:
            kept[layer].add_negative(expert, inputs)

        run_prompts(model, blocks, encoded(fit), keep, force_expert=expert)
        run_prompts(model, blocks, encoded(negative_fit), keep_negative, force_expert=expert)
    for number, block in enumerate(blocks):
        sampled, negatives = kept[number].sampled(), kept[number].sampled_negatives()
        weights = (
            kept[number].mean_router()
            if method == "mean"
            else fit_router(sampled, method, l2, max_iterations, negatives)
        )
        block.gate.weight.data.copy_(weights.to(block.gate.weight.dtype))
        rejection = token_rejection(weights, negatives)
        report.layers.append(
            LayerFit(
                number,
                round(token_accuracy(weights, sampled), 4),
                None,
                None if rejection is None else round(rejection, 4),
            )
        )
    report.stored_token_rows = sum(layer.stored_rows for layer in kept)
    kept.clear()  # the samples are not needed to score the held-out prompts
    heldout = [held for _, held in splits]
    if all(heldout):
        heldout_accuracy = forced_accuracy(model, blocks, [encoded(prompts) for prompts in heldout])
        for layer, accuracy in zip(report.layers, heldout_accuracy, strict=True):
            layer.heldout_accuracy = round(accuracy, 4)
    if any(heldout):
        scored = ((expert, batch) for expert, prompts in enumerate(heldout) for batch in encoded(prompts))
        report.routed_token_accuracy, report.routed_prompt_accuracy = routed_accuracy(model, blocks, scored)
    negative_heldout = [held for _, held in negative_splits]
    if any(negative_heldout):
        rejections = forced_accuracy(
            model, blocks, [encoded(prompts) for prompts in negative_heldout], away=True
        )
        for layer, rejection in zip(report.layers, rejections, strict=True):
            layer.negative_heldout_rejection = round(rejection, 4)
        scored = (
            (expert, batch) for expert, prompts in enumerate(negative_heldout) for batch in encoded(prompts)
        )
        tokens, prompts = routed_accuracy(model, blocks, scored)
        report.negatives_routed_away_tokens = round(1 - tokens, 4)
        report.negatives_routed_away_prompts = round(1 - prompts, 4)
    return report


def forced_accuracy(
    model: Any,
    blocks: Sequence[Any],
    encoded_by_expert: Sequence[Iterable[dict[str, Any]]],
    away: bool = False,
) -> list[float]:
    """Per layer, the share of the tokens of expert e's prompts that the router sends to e (with
    `away`: does not send to e, for its negative prompts), each prompt run with every router forced
    to e (so each layer sees the inputs the fit saw)."""
    hits, totals = [0] * len(blocks), [0] * len(blocks)
    for expert, encoded in enumerate(encoded_by_expert):

        def count(layer: int, inputs: Any, logits: Any, expert: int = expert) -> None:
            hits[layer] += int(((logits.argmax(-1) == expert) != away).sum())
            totals[layer] += len(logits)

        run_prompts(model, blocks, encoded, count, force_expert=expert)
    return [hit / max(total, 1) for hit, total in zip(hits, totals, strict=True)]


def routed_accuracy(
    model: Any, blocks: Sequence[Any], heldout: Iterable[tuple[int, dict[str, Any]]]
) -> tuple[float, float]:
    """(tokens, prompts) of held-out `(expert, inputs)` routed to their expert by the fitted model,
    unforced, over all layers."""
    import torch

    token_hits = token_total = prompt_hits = prompts = 0
    for expert, batch in heldout:
        layers: list[Any] = []

        def record(layer: int, inputs: Any, logits: Any, layers: list[Any] = layers) -> None:
            layers.append(logits.cpu())

        run_prompts(model, blocks, [batch], record)
        logits = torch.cat(layers)
        token_hits += int((logits.argmax(-1) == expert).sum())
        token_total += len(logits)
        # The prompt's expert: the most router probability over its tokens and layers, so tokens
        # every expert shares (chat template, punctuation) weigh little against confident ones.
        prompt_hits += int(logits.softmax(-1).sum(0).argmax() == expert)
        prompts += 1
    return round(token_hits / max(token_total, 1), 4), round(prompt_hits / max(prompts, 1), 4)
