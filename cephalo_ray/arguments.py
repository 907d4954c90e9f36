"""A job's command line, read into its config: every flag is an alias of one config key.

Precedence is defaults < `--config` YAML < flags and positional arguments < `a.b=c` overrides. A list
key takes its flag once per item (`--name a --name b`); the last positional key may be a list and then
takes every remaining value (`cephalo serve A B C`). A field names its own flag with
`Field(..., json_schema_extra={"flag": "name"})` where the key's last part reads badly on the command line.
"""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic.fields import FieldInfo

from cephalo_ray.config import ConfigError, StrictModel, is_override, leaf_fields, load_config

ConfigT = TypeVar("ConfigT", bound=StrictModel)
EXIT_CONFIG = 2


def flag_name(key: str, field: FieldInfo | None = None) -> str:
    """`limits.timeout_s` -> `--timeout-s`, unless the field names its flag."""
    extra = field.json_schema_extra if field is not None and isinstance(field.json_schema_extra, dict) else {}
    return "--" + str(extra.get("flag") or key.rsplit(".", 1)[-1]).replace("_", "-")


def holds_section(field: FieldInfo) -> bool:
    """An optional config section (`Section | None`): no single flag can hold it."""
    return any(
        isinstance(option, type) and issubclass(option, StrictModel)
        for option in typing.get_args(field.annotation)
    )


def is_list(field: FieldInfo) -> bool:
    """A list-valued key (also `list[...] | None`)."""
    annotation = field.annotation
    options = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, type(int | None))
        else (annotation,)
    )
    return any(typing.get_origin(option) is list for option in options)


def build_parser(
    model: type[StrictModel], prog: str, description: str | None, positional: Sequence[str]
) -> argparse.ArgumentParser:
    """A parser whose flags are aliases of the model's leaf keys (`limits.timeout_s` -> `--timeout-s`)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    fields = dict(leaf_fields(model))
    names = " ".join(key.upper() + ("..." if is_list(fields[key]) else "") for key in positional)
    parser.add_argument(
        "arguments",
        nargs="*",
        metavar="ARG",
        help=f"{names} (the keys {', '.join(positional)}), then key.path=value overrides",
    )
    parser.add_argument("--config", metavar="F.yaml", help="YAML file of config keys")
    seen: dict[str, str] = {}
    for key, field in leaf_fields(model):
        if holds_section(field):
            continue  # an optional section (`resources.autoscaling`) is set by its keys: a.b.c=value
        flag = flag_name(key, field)
        if flag in seen:
            raise ValueError(f"flags of {key} and {seen[flag]} collide; rename one of the config keys")
        seen[flag] = key
        default = "required" if field.is_required() else f"default {field.get_default()!r}"
        help_text = f"{field.description or ''} [{key}; {default}]".strip()
        if field.annotation is bool:
            parser.add_argument(
                flag, dest=key, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif is_list(field):
            parser.add_argument(
                flag, dest=key, action="append", default=None, metavar="V", help=f"{help_text} (repeat)"
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
    fields = dict(leaf_fields(model))
    variadic = bool(positional) and is_list(fields[positional[-1]])
    if len(values) > len(positional) and not variadic:
        raise ConfigError(
            f"{prog} takes at most {len(positional)} positional arguments ({', '.join(positional)}), "
            f"got {len(values)}: {values}; write other settings as key=value"
        )
    flags: dict[str, Any] = {key: value for key, value in namespace.items() if value is not None}
    fixed = positional[:-1] if variadic else positional
    flags.update(dict(zip(fixed, values, strict=False)))
    if variadic and values[len(fixed) :]:
        flags[positional[-1]] = values[len(fixed) :]
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
    except (ConfigError, JobError, FileNotFoundError) as error:  # one line, exit 2: the user's to fix
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def log_config(prog: str, config: StrictModel) -> None:
    """The resolved config, once, as one JSON line: what a run did can always be read back."""
    import json

    print(f"{prog}: config {json.dumps(config.model_dump(), sort_keys=True, default=str)}", file=sys.stderr)
