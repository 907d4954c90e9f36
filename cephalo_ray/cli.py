"""`cephalo <verb> ...`: one verb per job, imported only when chosen so `cephalo --help` stays instant.

Every flag of a verb is an alias of one config key; precedence is
defaults < `--config` YAML < flags and positional IN/OUT < `a.b=c` overrides.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cephalo_ray.config import ConfigError, StrictModel, is_override, leaf_fields, load_config

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

ConfigT = TypeVar("ConfigT", bound=StrictModel)
EXIT_CONFIG = 2


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


def flag_name(key: str) -> str:
    return "--" + key.rsplit(".", 1)[-1].replace("_", "-")


def build_parser(
    model: type[StrictModel], prog: str, description: str | None, positional: Sequence[str]
) -> argparse.ArgumentParser:
    """A parser whose flags are aliases of the model's leaf keys (`limits.timeout_s` -> `--timeout-s`)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = " ".join(key.upper() for key in positional)
    parser.add_argument(
        "arguments",
        nargs="*",
        metavar="ARG",
        help=f"{names} (the keys {', '.join(positional)}), then key.path=value overrides",
    )
    parser.add_argument("--config", metavar="F.yaml", help="YAML file of config keys")
    seen: dict[str, str] = {}
    for key, field in leaf_fields(model):
        flag = flag_name(key)
        if flag in seen:
            raise ValueError(f"flags of {key} and {seen[flag]} collide; rename one of the config keys")
        seen[flag] = key
        default = "required" if field.is_required() else f"default {field.get_default()!r}"
        help_text = f"{field.description or ''} [{key}; {default}]".strip()
        if field.annotation is bool:
            parser.add_argument(
                flag, dest=key, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            parser.add_argument(flag, dest=key, default=None, metavar="V", help=help_text)
    return parser


def parse_config(
    model: type[ConfigT],
    argv: Sequence[str],
    prog: str,
    description: str | None = None,
    positional: Sequence[str] = ("input", "output"),
) -> ConfigT:
    """Resolve a job's config from its command line.

    Raises:
        ConfigError: naming the offending key and the fix.
    """
    parser = build_parser(model, prog, description, positional)
    namespace = vars(parser.parse_intermixed_args(list(argv)))
    arguments = namespace.pop("arguments")
    yaml_path = namespace.pop("config")
    overrides = [argument for argument in arguments if is_override(argument)]
    values = [argument for argument in arguments if not is_override(argument)]
    if len(values) > len(positional):
        raise ConfigError(
            f"{prog} takes at most {len(positional)} positional arguments ({', '.join(positional)}), "
            f"got {len(values)}: {values}; write other settings as key=value"
        )
    flags: dict[str, Any] = {key: value for key, value in namespace.items() if value is not None}
    flags.update(dict(zip(positional, values, strict=False)))
    return load_config(model, yaml_path, flags, overrides)


def run_job_main(
    model: type[ConfigT],
    run: Callable[[ConfigT], Any],
    argv: Sequence[str] | None,
    prog: str,
    description: str | None,
    positional: Sequence[str] = ("input", "output"),
) -> int:
    """Parse, run, and turn a config or upstream problem into one clear message and exit code 2."""
    from cephalo_ray.errors import JobError

    try:
        config = parse_config(model, sys.argv[1:] if argv is None else argv, prog, description, positional)
        log_config(prog, config)
        run(config)
    except (ConfigError, JobError, FileNotFoundError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def log_config(prog: str, config: StrictModel) -> None:
    """The resolved config, once, as one JSON line: what a run did can always be read back."""
    import json

    print(f"{prog}: config {json.dumps(config.model_dump(), sort_keys=True, default=str)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
