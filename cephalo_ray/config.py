"""Strict typed configs: defaults < YAML file < command-line flags < `a.b=c` overrides.

Every job's config is a pydantic model built from `StrictModel`, so an unknown or mistyped key stops
the job before Ray starts, with a message that names the key and says how to fix it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

OVERRIDE_PATTERN = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*=")


class ConfigError(ValueError):
    """A config that cannot run; the message names the key and the fix."""


class StrictModel(BaseModel):
    """Base of every config section: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


ConfigT = TypeVar("ConfigT", bound=StrictModel)


def is_override(text: str) -> bool:
    """True for `a.b=c` style arguments."""
    return bool(OVERRIDE_PATTERN.match(text))


def parse_override(text: str) -> tuple[str, Any]:
    """Split `a.b=c` into the dotted key and a YAML-typed value (`3` -> int, `[1,2]` -> list)."""
    if not is_override(text):
        raise ConfigError(f"override {text!r} is not of the form key.path=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def set_dotted(tree: dict[str, Any], dotted_key: str, value: Any) -> None:
    """Set `tree[a][b] = value` for key `a.b`, creating sections on the way."""
    *sections, leaf = dotted_key.split(".")
    node = tree
    for section in sections:
        child = node.setdefault(section, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config key {section!r} is a value, not a section; cannot set {dotted_key}")
        node = child
    node[leaf] = value


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; an empty file is an empty mapping."""
    try:
        loaded = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError as error:
        raise ConfigError(f"config file {path} does not exist; pass an existing --config path") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from error
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys, not {type(loaded).__name__}")
    return loaded


def load_config(
    model: type[ConfigT],
    yaml_path: str | Path | None = None,
    flags: Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
) -> ConfigT:
    """Build a config from its defaults, a YAML file, flag values (dotted keys) and overrides."""
    tree: dict[str, Any] = read_yaml(yaml_path) if yaml_path else {}
    for key, value in (flags or {}).items():
        if value is not None:
            set_dotted(tree, key, value)
    for text in overrides:
        set_dotted(tree, *parse_override(text))
    try:
        return model.model_validate(tree)
    except ValidationError as error:
        raise ConfigError(explain_validation_error(model, error)) from None


def leaf_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, FieldInfo]]:
    """Every dotted key a model accepts with its field, sections expanded."""
    fields = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields.extend(leaf_fields(annotation, f"{prefix}{name}."))
        else:
            fields.append((f"{prefix}{name}", field))
    return fields


def leaf_keys(model: type[BaseModel]) -> list[str]:
    return [key for key, _ in leaf_fields(model)]


def explain_validation_error(model: type[BaseModel], error: ValidationError) -> str:
    """One line per problem: the dotted key, what is wrong, and the fix."""
    known = leaf_keys(model)
    lines = [f"invalid {model.__name__}:"]
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"])
        if problem["type"] == "extra_forbidden":
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            fix = f"did you mean `{close[0]}`?" if close else "remove it; valid keys: " + ", ".join(known)
            lines.append(f"  - unknown key `{key}`: {fix}")
        elif problem["type"] == "missing":
            lines.append(f"  - `{key}` is required: set it in the YAML, by flag, or as {key}=VALUE")
        else:
            lines.append(f"  - `{key}`: {problem['msg']} (got {problem.get('input')!r}); set {key}=VALUE")
    return "\n".join(lines)


def config_hash(values: Mapping[str, Any]) -> str:
    """A stable digest of resolved config values (sorted JSON)."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def changed_keys(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two resolved config trees."""
    changed = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changed.extend(changed_keys(old, new, f"{prefix}{key}."))
        elif old != new:
            changed.append(f"{prefix}{key}")
    return changed


class StorageConfig(StrictModel):
    """Where S3 lives. Credentials are never config: they come from the standard AWS chain."""

    s3_endpoint_url: str | None = Field(
        None,
        description="S3-compatible endpoint, e.g. http://127.0.0.1:9000 (default: AWS or $AWS_ENDPOINT_URL)",
    )
    s3_region: str | None = Field(None, description="S3 region (default: from the AWS chain)")
