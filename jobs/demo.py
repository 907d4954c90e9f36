"""The whole factory, as far as it exists, on a generated sample corpus and a local Ray.

    make demo                      # or: cephalo demo
    cephalo demo demo_out papers=20

Stages so far: generate a sample corpus (papers with raster and tiled figures, a text-only paper,
and one of each broken input) -> extract figure/caption pairs -> refine them into QA conversations
with the offline template teacher -> export LLaVA JSON + images -> assemble a tiny LLaVA model
(random CLIP + Llama, the shape a real run trains) and describe it -> fine-tune it with LoRA on the
refined conversations (Ray Train, DeepSpeed ZeRO-2, CPU). Rerunning resumes; nothing is redone.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from cephalo_ray.cli import run_job_main
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


def run_stages(config: DemoConfig) -> dict[str, Any]:
    from cephalo_ray.samples import write_sample_corpus
    from jobs import export_dataset, extract_figures, refine_pairs

    root = Path(config.output)
    corpus = root / "corpus"
    if not corpus.exists():
        written = write_sample_corpus(corpus, papers=config.papers)
        print(f"demo: wrote {len(written)} sample inputs to {corpus}", file=sys.stderr)
    extract_config = extract_figures.ExtractConfig(
        input=str(corpus),
        output=str(root / "extract"),
        resources=extract_figures.ResourcesConfig(actors=config.actors, num_cpus=0.5, docs_per_file=4),
    )
    extract_manifest = extract_figures.run(extract_config)
    refine_config = refine_pairs.RefineConfig(
        input=str(root / "extract"),
        output=str(root / "refined"),
        teacher="template",
        val_fraction=0.2,
        resources=refine_pairs.RefineResources(actors=1, num_cpus=0.5),
    )
    refine_manifest = refine_pairs.run(refine_config)
    export_counts = export_dataset.run(
        export_dataset.ExportConfig(input=str(root / "refined"), output=str(root / "llava"), format="llava")
    )
    model_details = tiny_model(root / "models")
    train_metrics = train_tiny(root, model_details["path"])
    print(
        f"demo: extract -> {root / 'extract'} ({extract_manifest['counts']['pairs']} pairs), "
        f"refine -> {root / 'refined'} ({refine_manifest['counts']['pairs_ok']} conversations), "
        f"LLaVA export -> {root / 'llava'} ({export_counts}), tiny model -> {model_details['path']} "
        f"({model_details['parameters']} parameters, {model_details['image_tokens_per_image']} image tokens), "
        f"fine-tuned -> {root / 'runs' / 'tiny-lora' / 'model'} (val loss {train_metrics['base_val_loss']:.3f} -> "
        f"{train_metrics['val_loss']:.3f})",
        file=sys.stderr,
    )
    return {
        "extract": extract_manifest,
        "refine": refine_manifest,
        "export": export_counts,
        "model": model_details,
        "train": train_metrics,
    }


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

    from jobs import finetune_vlm

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
            "resources": {"workers": 1, "cpus_per_worker": 1},
        }
    )
    return dict(finetune_vlm.run(config)["counts"])


def main(argv: Sequence[str] | None = None, prog: str = "python -m jobs.demo") -> int:
    return run_job_main(DemoConfig, run, argv, prog, __doc__, positional=("output",))


if __name__ == "__main__":
    sys.exit(main())
