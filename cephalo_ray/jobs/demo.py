"""The whole factory, as far as it exists, on a generated sample corpus and a local Ray.

    make demo                      # or: cephalo demo
    cephalo demo demo_out papers=20

Stages so far: generate a sample corpus (papers whose figures are bar, line and scatter charts of one
to three panels, and tables, captioned as such; a text-only paper; one of each broken input) ->
extract figure/caption pairs -> write an HTML report of them (pages with figure and caption boxes
drawn, crops, errors) -> refine them into QA conversations with the offline template teacher, whose
questions have one-word answers the captions state (table or figure, chart type, panel count) ->
export LLaVA JSON + images -> assemble a tiny LLaVA model (random CLIP + Llama, the shape a real run
trains) and describe it -> fine-tune it with LoRA and its projector on the refined conversations (Ray
Train, DeepSpeed ZeRO-2, CPU) -> deepen the fine-tuned model by a copy of its last layer stacked in
as an identity block (LLaMA-Pro: it starts out answering as the fine-tuned model) -> build a 2-expert
MoE on the fine-tuned model (the untrained and the fine-tuned MLPs as experts) with routers fitted
from general prompts and the refined figure questions -> serve all three with Ray Serve behind the
OpenAI API and ask one question with the `openai` client -> caption every extracted figure in batch
-> compare the untrained, fine-tuned, stacked and MoE models on the questions of held-out documents,
which only the image answers, beside what guessing scores. Rerunning resumes; nothing is redone.
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
from cephalo_ray.jobs.demo_steps import (
    caption_figures,
    evaluate_models_side_by_side,
    merge_tiny,
    moe_tiny,
    serve_and_ask,
    tiny_model,
    train_tiny,
)


class DemoConfig(StrictModel):
    """`cephalo demo` settings."""

    output: str = Field("demo_out", description="demo root: corpus/ and one folder per stage")
    papers: int = Field(80, ge=2, le=500, description="generated papers in the sample corpus")
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
        write_sample_corpus(corpus, papers=state["config"].papers, charts=True)
    files = sorted(str(path.relative_to(corpus)) for path in corpus.rglob("*") if path.is_file())
    return str(corpus), f"{len(files)} inputs: chart papers, a text-only paper, broken files", files


def stage_extract(state: dict[str, Any]) -> tuple[str, str, Any]:
    from cephalo_ray.jobs import extract_figures

    root = state["root"]
    config = extract_figures.ExtractConfig(
        input=str(root / "corpus"),
        output=str(root / "extract"),
        dpi=72,  # crops of about 220 px: more than the tiny model's 64, and quick to resize each step
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
        # One question a figure, which of its closed ones turns with the caption: a tiny model learns
        # single-turn questions, as evaluation asks them, far better than 3-turn conversations.
        qa_per_pair=1,
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
    summary = (
        f"LoRA + projector, {metrics['step']} steps, 2 workers, ZeRO-2: "
        f"val loss {metrics['base_val_loss']:.3f} -> {metrics['val_loss']:.3f}"
    )
    return str(state["root"] / "runs" / "tiny-lora" / "model"), summary, metrics


def fine_tuned(state: dict[str, Any]) -> str:
    return str(state["root"] / "runs" / "tiny-lora" / "model")


def stage_merge(state: dict[str, Any]) -> tuple[str, str, Any]:
    manifest = merge_tiny(state["root"], fine_tuned(state))
    summary = (
        f"{manifest['counts']['output_layers']} layers: fine-tuned 0-1 + its layer 1 as an identity block"
    )
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
    manifest = evaluate_models_side_by_side(state["root"], state["model"]["path"], fine_tuned(state))
    exact = {name: values["exact_match"] or 0.0 for name, values in manifest["scores"].items()}
    chance = manifest.get("baselines", {}).get("chance", {}).get("exact_match") or 0.0
    summary = (
        f"held-out exact match: untrained {exact['untrained']:.3f}, fine-tuned {exact['fine-tuned']:.3f}, "
        f"stacked {exact['stacked']:.3f}, moe {exact['moe']:.3f}, chance {chance:.3f}"
    )
    return str(state["root"] / "eval" / "scores.md"), summary, manifest


def main(argv: Sequence[str] | None = None, prog: str = "python -m cephalo_ray.jobs.demo") -> int:
    return run_job_main(DemoConfig, run, argv, prog, __doc__, positional=("output",))


if __name__ == "__main__":
    sys.exit(main())
