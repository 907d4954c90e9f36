"""`cephalo <verb> ...`: one verb per job, imported only when chosen so `cephalo --help` stays instant.

Every flag of a verb is an alias of one config key; precedence is
defaults < `--config` YAML < flags and positional IN/OUT < `a.b=c` overrides.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from cephalo_ray.arguments import EXIT_CONFIG

# verb -> (job module, one-line summary). A job module exposes `main(argv, prog) -> int`.
VERBS: dict[str, tuple[str, str]] = {
    "extract": (
        "cephalo_ray.jobs.extract_figures",
        "find figures and captions in PDFs (folder, glob, s3://, list file)",
    ),
    "inspect": (
        "cephalo_ray.jobs.inspect_report",
        "an HTML report of an extract root: pages with boxes, crops, errors",
    ),
    "refine": (
        "cephalo_ray.jobs.refine_pairs",
        "turn pairs into grounded QA data with a teacher LLM (or a template)",
    ),
    "export": (
        "cephalo_ray.jobs.export_dataset",
        "write a refine root as LLaVA JSON + images or a Hugging Face dataset",
    ),
    "train": (
        "cephalo_ray.jobs.finetune_vlm",
        "fine-tune a VLM on a refine root: Ray Train + DeepSpeed ZeRO-2/3 + LoRA",
    ),
    "merge": (
        "cephalo_ray.jobs.merge_layers",
        "stack decoder layers of fine-tuned models into a deeper model",
    ),
    "moe": (
        "cephalo_ray.jobs.build_moe",
        "build a Mixture-of-Experts from fine-tuned models; fit routers from prompts",
    ),
    "serve": ("cephalo_ray.jobs.serve", "serve models behind an OpenAI-compatible API with Ray Serve"),
    "caption": (
        "cephalo_ray.jobs.batch_caption",
        "caption or question every image of a folder, extract root or refine root",
    ),
    "eval": (
        "cephalo_ray.jobs.evaluate_models",
        "compare models on a refine root's held-out questions (VQA, POPE, similarity)",
    ),
    "model": (
        "cephalo_ray.models.commands",
        "build-tiny FAMILY OUT | info PATH: tiny models and model facts",
    ),
    "demo": ("cephalo_ray.jobs.demo", "run the factory end to end on a generated sample corpus"),
}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] in ("-h", "--help"):
        print(top_level_help())
        return 0
    if arguments[0] == "--version":
        from importlib.metadata import version

        print(f"cephalo_ray {version('cephalo_ray')}")
        return 0
    verb = arguments[0]
    if verb not in VERBS:
        print(f"cephalo: unknown command {verb!r}; choose one of: {', '.join(VERBS)}", file=sys.stderr)
        return EXIT_CONFIG
    module = importlib.import_module(VERBS[verb][0])
    exit_code: int = module.main(arguments[1:], prog=f"cephalo {verb}")
    return exit_code


def top_level_help() -> str:
    width = max(len(verb) for verb in VERBS)
    lines = [
        "usage: cephalo <command> [IN] [OUT] [--config F.yaml] [--flag VALUE ...] [key.path=value ...]",
        "",
        "A Ray factory for domain vision-language models.",
        "",
        "commands:",
        *(f"  {verb:<{width}}  {summary}" for verb, (_, summary) in VERBS.items()),
        "",
        "`cephalo <command> --help` lists every flag; each flag is an alias of one config key.",
        "Ray: $RAY_ADDRESS when set (a cluster), otherwise a local Ray started for the job.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
