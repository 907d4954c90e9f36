"""The whole factory, as far as it exists, on a generated sample corpus and a local Ray.

    make demo                      # or: cephalo demo
    cephalo demo demo_out papers=20

Stages so far: generate a sample corpus (papers with raster and tiled figures, a text-only paper,
and one of each broken input) -> extract figure/caption pairs -> write an HTML report of them
(pages with figure and caption boxes drawn, crops, errors) -> refine them into QA conversations
with the offline template teacher -> export LLaVA JSON + images -> assemble a tiny LLaVA model
(random CLIP + Llama, the shape a real run trains) and describe it -> fine-tune it with LoRA on the
refined conversations (Ray Train, DeepSpeed ZeRO-2, CPU) -> stack the base's layers and the
fine-tuned model's last layer into a deeper model -> build a 2-expert MoE (base + fine-tuned) with
routers fitted from general prompts and the refined figure questions -> serve all three with Ray
Serve behind the OpenAI API and ask one question with the `openai` client -> caption every extracted
figure in batch -> compare the three models on the held-out questions (VQA, POPE, similarity).
Rerunning resumes; nothing is redone.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from cephalo_ray.arguments import run_job_main
from cephalo_ray.config import StrictModel


class DemoConfig(StrictModel):
    """`cephalo demo` settings."""

    output: str = Field("demo_out", description="demo root: corpus/ and one folder per stage")
    papers: int = Field(8, ge=2, le=500, description="generated papers in the sample corpus")
    actors: int = Field(2, ge=1, description="extraction actors")


def run(config: DemoConfig) -> dict[str, Any]:
    import ray

    from cephalo_ray.ray_session import connect_ray

    started_here = connect_ray()  # one Ray for every stage of the demo
    try:
        return run_stages(config)
    finally:
        if started_here:
            ray.shutdown()


@dataclass
class StageResult:
    name: str
    artifact: str
    summary: str
    seconds: float
    details: Any


def run_stages(config: DemoConfig) -> dict[str, Any]:
    """Run the stages in order, timing each; a failing stage stops the demo with its error."""
    root = Path(config.output)
    state: dict[str, Any] = {"root": root, "config": config}
    stages: list[tuple[str, Callable[[dict[str, Any]], tuple[str, str, Any]]]] = [
        ("corpus", stage_corpus),
        ("extract", stage_extract),
        ("inspect", stage_inspect),
        ("refine", stage_refine),
        ("export", stage_export),
        ("model", stage_model),
        ("train", stage_train),
        ("merge", stage_merge),
        ("moe", stage_moe),
        ("serve", stage_serve),
        ("caption", stage_caption),
        ("eval", stage_eval),
    ]
    results: list[StageResult] = []
    for name, stage in stages:
        print(f"demo: stage {name} ...", file=sys.stderr)
        started = time.monotonic()
        artifact, summary, details = stage(state)
        results.append(StageResult(name, artifact, summary, time.monotonic() - started, details))
        state[name] = details
    print(stage_table(results), file=sys.stderr)
    return {result.name: result.details for result in results}


def stage_table(results: list[StageResult]) -> str:
    lines = ["", "demo: every stage, where its output is and how long it took", ""]
    lines.append(f"{'stage':<8} {'seconds':>8}  {'output':<44} summary")
    for result in results:
        lines.append(f"{result.name:<8} {result.seconds:>8.1f}  {result.artifact:<44} {result.summary}")
    lines.append(f"{'total':<8} {sum(result.seconds for result in results):>8.1f}")
    return "\n".join(lines)


def stage_corpus(state: dict[str, Any]) -> tuple[str, str, Any]:
    from cephalo_ray.samples import write_sample_corpus

    corpus = state["root"] / "corpus"
    if not corpus.exists():
        write_sample_corpus(corpus, papers=state["config"].papers)
    files = sorted(str(path.relative_to(corpus)) for path in corpus.rglob("*") if path.is_file())
    return str(corpus), f"{len(files)} inputs: generated papers, a text-only paper, broken files", files


def stage_extract(state: dict[str, Any]) -> tuple[str, str, Any]:
    from cephalo_ray.jobs import extract_figures

    root = state["root"]
    config = extract_figures.ExtractConfig(
        input=str(root / "corpus"),
        output=str(root / "extract"),
        resources=extract_figures.ResourcesConfig(
            actors=state["config"].actors, num_cpus=0.5, docs_per_file=4
        ),
    )
    manifest = extract_figures.run(config)
    counts = manifest["counts"]
    return (
        str(root / "extract"),
        f"{counts['pairs']} pairs, {counts.get('documents_failed', 0)} error rows",
        manifest,
    )


def stage_inspect(state: dict[str, Any]) -> tuple[str, str, Any]:
    from cephalo_ray.jobs import inspect_report

    result = inspect_report.run(inspect_report.InspectConfig(input=str(state["root"] / "extract")))
    summary = (
        f"{result['documents_shown']} documents, {result['pages_rendered']} pages, {result['crops']} crops"
    )
    return str(result["index"]), summary, result


def stage_refine(state: dict[str, Any]) -> tuple[str, str, Any]:
    from cephalo_ray.jobs import refine_pairs

    root = state["root"]
    config = refine_pairs.RefineConfig(
        input=str(root / "extract"),
        output=str(root / "refined"),
        teacher="template",
        val_fraction=0.35,  # enough held-out documents that each of the 2 training workers gets some
        resources=refine_pairs.RefineResources(actors=1, num_cpus=0.5),
    )
    manifest = refine_pairs.run(config)
    return (
        str(root / "refined"),
        f"{manifest['counts']['pairs_ok']} conversations (template teacher)",
        manifest,
    )


def stage_export(state: dict[str, Any]) -> tuple[str, str, Any]:
    from cephalo_ray.jobs import export_dataset

    root = state["root"]
    counts = export_dataset.run(
        export_dataset.ExportConfig(input=str(root / "refined"), output=str(root / "llava"), format="llava")
    )
    return str(root / "llava"), f"LLaVA JSON + images {counts}", counts


def stage_model(state: dict[str, Any]) -> tuple[str, str, Any]:
    details = tiny_model(state["root"] / "models")
    summary = (
        f"tiny LLaVA, {details['parameters']} parameters, {details['image_tokens_per_image']} image tokens"
    )
    return str(details["path"]), summary, details


def stage_train(state: dict[str, Any]) -> tuple[str, str, Any]:
    metrics = train_tiny(state["root"], state["model"]["path"])
    summary = f"LoRA, 2 workers, ZeRO-2: val loss {metrics['base_val_loss']:.3f} -> {metrics['val_loss']:.3f}"
    return str(state["root"] / "runs" / "tiny-lora" / "model"), summary, metrics


def fine_tuned(state: dict[str, Any]) -> str:
    return str(state["root"] / "runs" / "tiny-lora" / "model")


def stage_merge(state: dict[str, Any]) -> tuple[str, str, Any]:
    manifest = merge_tiny(state["root"], state["model"]["path"], fine_tuned(state))
    summary = f"{manifest['counts']['output_layers']} layers: base 0-1 + fine-tuned 1"
    return str(state["root"] / "merged" / "stack" / "model"), summary, manifest


def stage_moe(state: dict[str, Any]) -> tuple[str, str, Any]:
    manifest = moe_tiny(state["root"], state["model"]["path"], fine_tuned(state))
    accuracy = manifest["details"].get("routed_prompt_accuracy")
    return (
        str(state["root"] / "merged" / "moe" / "model"),
        f"2 experts, held-out prompts routed right: {accuracy}",
        manifest,
    )


def stage_serve(state: dict[str, Any]) -> tuple[str, str, Any]:
    served = serve_and_ask(state["root"], fine_tuned(state))
    summary = f"{len(served['models'])} models behind /v1; one answer of {served['completion_tokens']} tokens"
    return "http://127.0.0.1:<port>/v1 (stopped)", summary, served


def stage_caption(state: dict[str, Any]) -> tuple[str, str, Any]:
    manifest = caption_figures(state["root"], fine_tuned(state))
    counts = manifest["counts"]
    summary = f"{counts['answers']} captions, {counts['actor_images_per_second']} images/s per actor"
    return str(state["root"] / "captions"), summary, manifest


def stage_eval(state: dict[str, Any]) -> tuple[str, str, Any]:
    manifest = evaluate_three(state["root"], fine_tuned(state))
    return (
        str(state["root"] / "eval" / "scores.md"),
        f"{len(manifest['scores'])} models side by side",
        manifest,
    )


def tiny_model(folder: Path) -> dict[str, Any]:
    """Assemble a tiny LLaVA from a random CLIP encoder and a random Llama, once, and describe it."""
    from cephalo_ray.models.assemble import assemble_llava
    from cephalo_ray.models.commands import model_info
    from cephalo_ray.models.tiny import build_tiny_causal_lm, build_tiny_vision_encoder

    target = folder / "tiny-llava"
    if not (target / "config.json").exists():
        build_tiny_vision_encoder("clip", folder / "tiny-clip")
        build_tiny_causal_lm("llama", folder / "tiny-llama")
        assemble_llava(str(folder / "tiny-clip"), str(folder / "tiny-llama"), target)
    return model_info(str(target), image_size=64)


def train_tiny(root: Path, model_path: str) -> dict[str, Any]:
    """A short LoRA run of the tiny model on the refined conversations, once."""
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
            "eval_every": 10,
            "checkpoint_every": 10,
            "recipe": {"name": "lora", "lora_rank": 8, "lora_alpha": 16},
            "optim": {"learning_rate": 0.002, "max_steps": 10, "micro_batch_size": 2},
            "resources": {"workers": 2, "cpus_per_worker": 0.5},
        }
    )
    return dict(finetune_vlm.run(config)["counts"])


def merge_tiny(root: Path, base: str, fine_tuned: str) -> dict[str, Any]:
    """Cephalo's 10b recipe in miniature: all layers of the base, then the fine-tuned model's last one."""
    from cephalo_ray.jobs import merge_layers

    config = merge_layers.MergeConfig.model_validate(
        {
            "output": str(root / "merged" / "stack"),
            "models": {"base": base, "tuned": fine_tuned},
            "base": "base",
            "slices": [{"model": "base", "first": 0, "last": 1}, {"model": "tuned", "first": 1, "last": 1}],
            "resources": {"num_cpus": 0.5},
        }
    )
    return merge_layers.run(config)


def moe_tiny(root: Path, base: str, fine_tuned: str) -> dict[str, Any]:
    """A 2-expert MoE: the base for general prompts, the fine-tuned model for the refined figure
    questions (text + image), routers fitted from both."""
    import pyarrow.parquet as pq

    from cephalo_ray.jobs import build_moe

    prompts_dir = root / "merged" / "moe-prompts"
    prompts_dir.mkdir(parents=True, exist_ok=True)
    figure_prompts: list[dict[str, str]] = []
    for number, path in enumerate(sorted((root / "refined" / "refined").glob("*.parquet"))[:2]):
        for row in pq.read_table(path, columns=["image", "conversations"]).to_pylist()[:5]:
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
            "base": base,
            "experts": [
                {"name": "general", "model": base, "prompts": general},
                {"name": "figures", "model": fine_tuned, "prompts": figure_prompts},
            ],
            "router": {"holdout_fraction": 0.34},
            "resources": {"num_cpus": 0.5},
        }
    )
    return build_moe.run(config)


def serve_and_ask(root: Path, fine_tuned: str) -> dict[str, Any]:
    """Serve the fine-tuned, stacked and MoE models in one app, ask the fine-tuned one about a figure
    with the `openai` client, and take the app down again."""
    import base64
    import socket
    import time

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
        f"demo: asked cephalo-tiny {question!r} -> {answer!r} (a tiny random model: noise)", file=sys.stderr
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


def evaluate_three(root: Path, fine_tuned: str) -> dict[str, Any]:
    """The fine-tuned, stacked and MoE models on the refined val questions, side by side."""
    from cephalo_ray.jobs import evaluate_models

    config = evaluate_models.EvalConfig.model_validate(
        {
            "input": str(root / "refined"),
            "output": str(root / "eval"),
            "models": [
                fine_tuned,
                str(root / "merged" / "stack" / "model"),
                str(root / "merged" / "moe" / "model"),
            ],
            "names": ["fine-tuned", "stacked", "moe"],
            "max_tokens": 12,
            "resources": {"num_cpus": 0.5},
        }
    )
    return evaluate_models.run(config)


def main(argv: Sequence[str] | None = None, prog: str = "python -m cephalo_ray.jobs.demo") -> int:
    return run_job_main(DemoConfig, run, argv, prog, __doc__, positional=("output",))


if __name__ == "__main__":
    sys.exit(main())
