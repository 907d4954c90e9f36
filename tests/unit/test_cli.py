from __future__ import annotations

import subprocess
import sys

import pytest

from cephalo_ray.arguments import build_parser, flag_name, parse_config
from cephalo_ray.cli import VERBS, main
from cephalo_ray.config import ConfigError, leaf_keys
from cephalo_ray.jobs.extract_figures import ExtractConfig

HEAVY = ("torch", "ray", "transformers", "pymupdf", "pyarrow")


def imported_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(','.join(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(output.strip().splitlines()[-1].split(","))


@pytest.mark.parametrize(
    "code",
    [
        "import cephalo_ray",
        "from cephalo_ray.cli import main\nmain(['--help'])",
        "from cephalo_ray.cli import main\ntry:\n    main(['extract', '--help'])\nexcept SystemExit:\n    pass",  # noqa: E501
    ],
)
def test_help_loads_no_heavy_library(code: str) -> None:
    modules = imported_after(code)
    assert not {name for name in modules if name.split(".")[0] in HEAVY}


def test_every_verb_names_an_importable_job_with_main() -> None:
    import importlib

    for verb, (module_name, summary) in VERBS.items():
        module = importlib.import_module(module_name)
        assert callable(module.main), verb
        assert summary and module.__doc__, verb


def test_every_config_key_has_a_flag_in_help() -> None:
    help_text = build_parser(ExtractConfig, "cephalo extract", None, ("input", "output")).format_help()
    for key in leaf_keys(ExtractConfig):
        if key in ("input", "output"):
            continue
        assert flag_name(key) in help_text, key
        assert key in help_text, key


def test_positional_flags_and_overrides_resolve_in_order() -> None:
    config = parse_config(
        ExtractConfig,
        ["in_dir", "out_dir", "--dpi", "200", "--timeout-s", "9", "dpi=300", "resources.actors=3"],
        "cephalo extract",
    )
    assert (config.input, config.output) == ("in_dir", "out_dir")
    assert config.dpi == 300 and config.limits.timeout_s == 9.0 and config.resources.actors == 3


def test_bad_config_exits_2_naming_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", "in", "out", "limits.timeout=3"]) == 2
    error = capsys.readouterr().err
    assert "limits.timeout" in error and "limits.timeout_s" in error
    with pytest.raises(ConfigError, match="at most 2 positional"):
        parse_config(ExtractConfig, ["a", "b", "c"], "cephalo extract")


def test_unknown_verb_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nonsense"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_list_keys_repeat_their_flag_and_the_last_positional_may_take_many() -> None:
    from cephalo_ray.jobs.evaluate_models import EvalConfig
    from cephalo_ray.jobs.finetune_vlm import TrainConfig
    from cephalo_ray.serve.config import ServeConfig

    serve = parse_config(
        ServeConfig,
        ["./a/model", "./b/model", "--name", "a", "--name", "b", "--num-gpus", "1"],
        "cephalo serve",
        positional=("models",),
    )
    assert serve.models == ["./a/model", "./b/model"] and serve.names == ["a", "b"]
    assert serve.resources.num_gpus == 1.0
    scaled = parse_config(
        ServeConfig, ["./m", "resources.autoscaling.max_replicas=8"], "cephalo serve", positional=("models",)
    )
    assert scaled.resources.autoscaling is not None and scaled.resources.autoscaling.max_replicas == 8

    evaluation = parse_config(
        EvalConfig,
        ["./refined", "--model", "m1", "--model", "m2", "--answers", "other.jsonl"],
        "cephalo eval",
        positional=("input",),
    )
    assert (evaluation.input, evaluation.models, evaluation.answer_files) == (
        "./refined",
        ["m1", "m2"],
        ["other.jsonl"],
    )
    with pytest.raises(ConfigError, match="at most 1 positional"):
        parse_config(EvalConfig, ["./refined", "./extra"], "cephalo eval", positional=("input",))

    train = parse_config(
        TrainConfig,
        ["in", "out", "model=m", "--target-modules", "q_proj", "--target-modules", "v_proj"],
        "cephalo train",
    )
    assert train.recipe.target_modules == ["q_proj", "v_proj"]
