from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from cephalo_ray.config import (
    ConfigError,
    StrictModel,
    changed_keys,
    config_hash,
    load_config,
    parse_override,
)


class Inner(StrictModel):
    timeout_s: float = Field(5.0, gt=0)
    name: str = "a"


class Outer(StrictModel):
    input: str
    dpi: int = 150
    inner: Inner = Inner()


def test_precedence_defaults_yaml_flags_overrides(tmp_path: Path) -> None:
    config_file = tmp_path / "c.yaml"
    config_file.write_text("input: from-yaml\ndpi: 200\ninner:\n  timeout_s: 7\n  name: yaml\n")
    config = load_config(
        Outer,
        config_file,
        flags={"dpi": "300", "inner.name": "flag"},
        overrides=["inner.name=override"],
    )
    assert config.input == "from-yaml"  # YAML over default (required here)
    assert config.dpi == 300  # flag over YAML
    assert config.inner.timeout_s == 7.0  # YAML over default
    assert config.inner.name == "override"  # override over flag


def test_unknown_key_names_the_key_and_a_close_match() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(Outer, overrides=["input=x", "inner.timout_s=3"])
    assert "inner.timout_s" in str(raised.value)
    assert "did you mean `inner.timeout_s`" in str(raised.value)


def test_bad_value_and_missing_key_are_named() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(Outer, overrides=["inner.timeout_s=-1"])
    message = str(raised.value)
    assert "`input` is required" in message
    assert "`inner.timeout_s`" in message and "greater than 0" in message


def test_override_values_are_yaml_typed() -> None:
    assert parse_override("a.b=3") == ("a.b", 3)
    assert parse_override("a=[1, 2]") == ("a", [1, 2])
    assert parse_override("a=s3://bucket/x") == ("a", "s3://bucket/x")
    with pytest.raises(ConfigError):
        parse_override("not an override")


def test_yaml_must_be_a_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(Outer, bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(Outer, tmp_path / "missing.yaml")


def test_changed_keys_and_hash() -> None:
    before = {"dpi": 150, "inner": {"name": "a", "timeout_s": 5}}
    after = {"dpi": 150, "inner": {"name": "b", "timeout_s": 5}}
    assert changed_keys(before, after) == ["inner.name"]
    assert config_hash(before) != config_hash(after)
    assert config_hash(before) == config_hash({"inner": {"timeout_s": 5, "name": "a"}, "dpi": 150})
