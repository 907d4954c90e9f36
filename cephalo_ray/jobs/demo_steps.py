"""What each step of the demo does on its tiny models (train, merge, MoE, serve, caption, eval); `demo.py`
runs them in order and tabulates them."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

IMAGE_SIZE = 64  # pixels the tiny CLIP sees: 64 patches, enough to tell bars, lines, points and panels
TRAIN_STEPS = 200


def tiny_model(folder: Path) -> dict[str, Any]:
    """Assemble a tiny LLaVA from a random CLIP encoder and a random Llama, once, and describe it."""
    import torch
    from transformers import CLIPVisionModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    from cephalo_ray.models.assemble import assemble_llava
    from cephalo_ray.models.commands import model_info
    from cephalo_ray.models.tiny import build_tiny_causal_lm, tiny_clip_vision_config

    target = folder / "tiny-llava"
    if not (target / "config.json").exists():
        torch.manual_seed(0)
        vision = tiny_clip_vision_config()
        vision.image_size = IMAGE_SIZE
        CLIPVisionModel(vision).save_pretrained(folder / "tiny-clip")
        size = {"shortest_edge": IMAGE_SIZE}
        crop = {"height": IMAGE_SIZE, "width": IMAGE_SIZE}
        CLIPImageProcessorPil(size=size, crop_size=crop).save_pretrained(folder / "tiny-clip")
        # 0.02 is sized for thousands of dimensions: at width 64 it keeps every logit within about
        # +-1, so the frozen head can never make one answer likely whatever LoRA learns. 0.2 gives
        # logits (and attention) a trained model's spread.
        build_tiny_causal_lm("llama", folder / "tiny-llama", initializer_range=0.2)
        assemble_llava(str(folder / "tiny-clip"), str(folder / "tiny-llama"), target)
    return model_info(str(target), image_size=IMAGE_SIZE)


def train_tiny(root: Path, model_path: str) -> dict[str, Any]:
    """A LoRA run (and the projector) of the tiny model on the refined conversations, once."""
    import json

    from cephalo_ray.jobs import finetune_vlm

    output = root / "runs" / "tiny-lora"
    if (output / "_manifest.json").exists():
        return dict(json.loads((output / "_manifest.json").read_text())["counts"])
    config = finetune_vlm.TrainConfig.model_validate(
        {
            "input": str(root / "refined"),
            "output": str(output),
            "model": model_path,
            "max_length": 512,
            "eval_every": TRAIN_STEPS,
            "checkpoint_every": TRAIN_STEPS,
            "recipe": {"name": "lora", "lora_rank": 8, "lora_alpha": 16, "train_projector": True},
            "optim": {
                "learning_rate": 0.003,
                "projector_learning_rate": 0.01,  # a fresh projector learns faster than the adapters
                "max_steps": TRAIN_STEPS,
                "micro_batch_size": 8,  # 16 a step: on CPU a step's fixed cost outweighs its samples
            },
            "resources": {"workers": 2, "cpus_per_worker": 0.5},
        }
    )
    return dict(finetune_vlm.run(config)["counts"])


def merge_tiny(root: Path, fine_tuned: str) -> dict[str, Any]:
    """LLaMA-Pro's block expansion of the fine-tuned model: its layers, then a copy of its last layer
    stacked in as an identity block (output projections zeroed), so the deeper model starts out
    answering exactly as the fine-tuned one and `cephalo train recipe.name=stacked` trains the new layer
    from there. (Stacking the untrained base's layers would bring back what the fine-tune changed.)"""
    from cephalo_ray.jobs import merge_layers

    config = merge_layers.MergeConfig.model_validate(
        {
            "output": str(root / "merged" / "stack"),
            "models": {"tuned": fine_tuned},
            "base": "tuned",
            "slices": [{"model": "tuned", "first": 0, "last": 1}, {"model": "tuned", "first": 1, "last": 1}],
            "init": "identity",
            "resources": {"num_cpus": 0.5},
        }
    )
    return merge_layers.run(config)


def moe_tiny(root: Path, base: str, fine_tuned: str) -> dict[str, Any]:
    """A 2-expert MoE on the fine-tuned model: the untrained model's MLPs for general prompts, the
    fine-tuned ones for the refined figure questions (text + image), routers fitted from both and
    weighting the two experts' outputs per token.
    Attention, projector and embeddings come from the fine-tuned model, which trained them too: an
    MoE on the untrained base would lose what the fine-tune learned there."""
    import pyarrow.parquet as pq

    from cephalo_ray.jobs import build_moe

    prompts_dir = root / "merged" / "moe-prompts"
    prompts_dir.mkdir(parents=True, exist_ok=True)
    figure_prompts: list[dict[str, str]] = []
    for number, path in enumerate(sorted((root / "refined" / "refined").glob("*.parquet"))):
        for row in pq.read_table(path, columns=["image", "conversations"]).to_pylist()[
            : 10 - len(figure_prompts)
        ]:
            image = prompts_dir / f"figure-{number}-{len(figure_prompts)}.png"
            image.write_bytes(row["image"])
            question = row["conversations"][0]["value"].replace("<image>", "").strip()
            figure_prompts.append({"text": question, "image": str(image)})
    general = [
        "Write a short poem about the sea.",
        "What is the capital of France?",
        "Translate good morning into German.",
        "List three colours of the rainbow.",
        "How many days are in a leap year?",
        "Tell me a joke about cats.",
    ]
    config = build_moe.MoeConfig.model_validate(
        {
            "output": str(root / "merged" / "moe"),
            "base": fine_tuned,
            "experts": [
                {"name": "general", "model": base, "prompts": general},
                {"name": "figures", "model": fine_tuned, "prompts": figure_prompts},
            ],
            # two tiny experts trained for seconds: the demo shows the build and reports its routing
            # accuracy, it does not hold them to the default bar of real experts
            "router": {"holdout_fraction": 0.34, "min_heldout_accuracy": 0},
            # Both experts weighted by the router, not the top one alone: the chat template's opening
            # tokens read the same in both kinds of prompt, and a hard choice flips them to the
            # untrained expert often enough to cost a tenth of the answers (0.74 to 0.86 over router
            # fits of one fine-tune; weighted, 0.87 for each, the fine-tune alone 0.88).
            "experts_per_token": 2,
            "resources": {"num_cpus": 0.5},
        }
    )
    return build_moe.run(config)


def serve_and_ask(root: Path, fine_tuned: str) -> dict[str, Any]:
    """Serve the fine-tuned, stacked and MoE models in one app, ask the fine-tuned one about a figure
    with the `openai` client, and take the app down again."""
    import base64
    import socket

    import openai
    import pyarrow.parquet as pq
    from ray import serve

    from cephalo_ray.jobs.serve import ServeConfig, start

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    names = ["cephalo-tiny", "cephalo-tiny-stacked", "cephalo-tiny-moe"]
    models = [fine_tuned, str(root / "merged" / "stack" / "model"), str(root / "merged" / "moe" / "model")]
    config = ServeConfig(
        models=models, names=names, port=port, app_name="demo", blocking=False, resources={"num_cpus": 0.5}
    )
    row = (
        pq.read_table(sorted((root / "refined" / "refined").glob("*.parquet"))[0]).slice(0, 1).to_pylist()[0]
    )
    image_url = "data:image/png;base64," + base64.b64encode(row["image"]).decode()
    question = row["conversations"][0]["value"].replace("<image>", "").strip()
    reference = row["conversations"][1]["value"]
    try:
        start(config)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0)
        started = time.monotonic()
        reply = client.chat.completions.create(
            model="cephalo-tiny",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": image_url}},
                        {"type": "text", "text": question},
                    ],
                }
            ],
            max_tokens=16,
            temperature=0,
        )
        seconds = time.monotonic() - started
        served = sorted(model.id for model in client.models.list())
    finally:
        serve.shutdown()
    answer = reply.choices[0].message.content
    print(
        f"demo: asked cephalo-tiny {question!r} -> {answer!r} (the teacher: {reference!r})", file=sys.stderr
    )
    usage = reply.usage
    return {
        "models": served,
        "completion_tokens": usage.completion_tokens if usage else 0,
        "seconds": seconds,
    }


def caption_figures(root: Path, fine_tuned: str) -> dict[str, Any]:
    """Caption every extracted figure with the fine-tuned model (one actor, batched)."""
    from cephalo_ray.jobs import batch_caption

    config = batch_caption.CaptionConfig.model_validate(
        {
            "input": str(root / "extract"),
            "output": str(root / "captions"),
            "model": fine_tuned,
            "model_name": "cephalo-tiny",
            "sampling": {"max_tokens": 12},
            "resources": {"actors": 1, "num_cpus": 0.5, "batch_size": 16},
        }
    )
    return batch_caption.run(config)


def evaluate_models_side_by_side(root: Path, base: str, fine_tuned: str) -> dict[str, Any]:
    """The untrained, fine-tuned, stacked and MoE models on the questions of the held-out (val)
    documents, side by side, with what guessing scores."""
    from cephalo_ray.jobs import evaluate_models

    config = evaluate_models.EvalConfig.model_validate(
        {
            "input": str(root / "refined"),
            "output": str(root / "eval"),
            "models": [
                base,
                fine_tuned,
                str(root / "merged" / "stack" / "model"),
                str(root / "merged" / "moe" / "model"),
            ],
            "names": ["untrained", "fine-tuned", "stacked", "moe"],
            "max_tokens": 12,
            "pope_per_image": 1,
            "resources": {"num_cpus": 0.5},
        }
    )
    return evaluate_models.run(config)
