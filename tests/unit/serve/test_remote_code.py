"""A model whose checkpoint carries its own code (`auto_map`) is served only when its options allow
it: without them the job stops before Ray starts, naming the key; with them its code loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cephalo_ray.config import ConfigError
from cephalo_ray.jobs import serve
from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.serve.config import TrustingLoader, config_from_args, settings_of

CONFIGURATION = '''from transformers import LlavaConfig


class RemoteLlavaConfig(LlavaConfig):
    """The checkpoint's own configuration class: a subclass, as a real one would be a new class."""
'''
MODELING = """from transformers import LlavaForConditionalGeneration

from .configuration_remote_llava import RemoteLlavaConfig


class RemoteLlava(LlavaForConditionalGeneration):
    config_class = RemoteLlavaConfig
"""


def remote_code_model(folder: Path) -> Path:
    """A tiny LLaVA whose config.json maps its classes to code files beside it, as Phi-3-vision's does."""
    build_tiny("llava", folder)
    (folder / "configuration_remote_llava.py").write_text(CONFIGURATION)
    (folder / "modeling_remote_llava.py").write_text(MODELING)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {
        "AutoConfig": "configuration_remote_llava.RemoteLlavaConfig",
        "AutoModelForImageTextToText": "modeling_remote_llava.RemoteLlava",
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return folder


@pytest.fixture(scope="module")
def remote_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return remote_code_model(tmp_path_factory.mktemp("remote") / "remote-llava")


def test_a_model_with_its_own_code_is_refused_before_ray_starts_naming_the_key(
    remote_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve.main([str(remote_model), "--name", "remote"]) == 2
    error = capsys.readouterr().err
    assert "model_options.remote.trust_remote_code" in error
    assert "configuration_remote_llava.py, modeling_remote_llava.py" in error
    with pytest.raises(ConfigError, match="model_options names \\['other'\\]"):
        config_from_args({"model": str(remote_model), "model_options.other.trust_remote_code": "true"})


def test_with_its_options_the_model_loads_with_its_own_code(remote_model: Path) -> None:
    from cephalo_ray.models.engine import Engine, EngineOptions
    from cephalo_ray.models.loader import RemoteCodeRefused

    other = str(remote_model.parent / "plain")
    config = config_from_args(
        {
            "model": f"{remote_model},{other}",
            "name": "remote,plain",
            "model_options.remote.trust_remote_code": "true",
        }
    )
    settings = settings_of(config)
    assert isinstance(settings.load_engine, TrustingLoader)
    assert settings.load_engine.trusted == {str(remote_model)}  # only the model whose options say so
    assert settings_of(config_from_args({"model": other})).load_engine is None  # nothing to trust

    with pytest.raises(RemoteCodeRefused, match="set trust_remote_code"):
        Engine.load(str(remote_model), EngineOptions(), device="cpu")
    engine = settings.load_engine(str(remote_model), EngineOptions(batch_wait_s=0.0), device="cpu")
    try:
        assert type(engine.model).__name__ == "RemoteLlava"  # the checkpoint's own class
    finally:
        engine.close()
