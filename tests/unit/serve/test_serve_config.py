"""`cephalo serve` refuses unsafe or inconsistent settings before Ray starts."""

from __future__ import annotations

import pytest

from cephalo_ray.jobs import serve
from cephalo_ray.serve.config import config_from_args


def test_binding_beyond_loopback_needs_an_api_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve.main(["./model", "--host", "0.0.0.0"]) == 2
    assert "api_key_env" in capsys.readouterr().err


def test_the_key_variable_must_hold_a_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CEPHALO_UNSET_KEY", raising=False)
    assert serve.main(["./model", "--host", "0.0.0.0", "--api-key-env", "CEPHALO_UNSET_KEY"]) == 2
    assert "CEPHALO_UNSET_KEY is empty or unset" in capsys.readouterr().err


def test_names_are_one_per_model_and_default_to_folders(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve.main(["./a/model", "./b/model", "--name", "only-one"]) == 2
    assert "one --name per model" in capsys.readouterr().err
    config = config_from_args({"model": "./runs/r1/model,./merged/moe"})
    assert config.served_names() == ["r1", "moe"]
    assert config_from_args({"model": "./x", "port": "9001"}).port == 9001
