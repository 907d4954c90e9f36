"""`cephalo merge` and `cephalo moe` as Ray tasks on a local Ray: manifests, reruns, s3://, bad configs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from PIL import Image
from transformers import AutoModelForImageTextToText

from cephalo_ray.jobs import build_moe, merge_layers
from cephalo_ray.models.loader import local_model_dir
from cephalo_ray.models.tiny import build_tiny
from cephalo_ray.storage import Storage


@pytest.fixture(scope="module")
def tiny_llavas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("llavas")
    build_tiny("llava", root / "a", seed=0, num_hidden_layers=4)
    build_tiny("llava", root / "b", seed=1, num_hidden_layers=4)
    return root


def write_yaml(path: Path, values: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(values))
    return str(path)


def test_merge_job_builds_reruns_and_refuses_a_changed_recipe(
    ray_session: Any, tiny_llavas: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = {
        "models": {"a": str(tiny_llavas / "a"), "b": str(tiny_llavas / "b")},
        "base": "a",
        "slices": [{"model": "a", "first": 0, "last": 3}, {"model": "b", "first": 2, "last": 3}],
        "resources": {"num_cpus": 0.5},
    }
    config = write_yaml(tmp_path / "stack.yaml", recipe)
    output = tmp_path / "merged"
    assert merge_layers.main(["--config", config, str(output)]) == 0
    manifest = json.loads((output / "_manifest.json").read_text())
    assert manifest["job"] == "merge" and manifest["status"] == "complete"
    assert manifest["details"]["trainable_layers"] == [4, 5] and manifest["counts"]["output_layers"] == 6
    assert sorted(path.name for path in output.iterdir()) == ["_manifest.json", "model"]  # no staging left
    model = AutoModelForImageTextToText.from_pretrained(output / "model")
    assert model.config.text_config.num_hidden_layers == 6

    assert merge_layers.main(["--config", config, str(output)]) == 0  # the same recipe: nothing to do
    assert json.loads((output / "_manifest.json").read_text())["run_id"] == manifest["run_id"]
    assert "already built" in capsys.readouterr().err

    changed = write_yaml(tmp_path / "changed.yaml", {**recipe, "slices": recipe["slices"][:1]})
    assert merge_layers.main(["--config", changed, str(output)]) == 2
    assert "`slices`" in capsys.readouterr().err


def test_weight_merges_run_as_jobs_and_slerp_needs_two(
    ray_session: Any, tiny_llavas: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cephalo_ray.merge.checkpoint import CheckpointReader
    from cephalo_ray.merge.weights import merge_tensor

    models = {"a": str(tiny_llavas / "a"), "b": str(tiny_llavas / "b")}
    config = write_yaml(
        tmp_path / "dare.yaml",
        {
            "models": models,
            "base": "a",
            "method": "dare_ties",
            "density": 0.7,
            "seed": 3,
            "resources": {"num_cpus": 0.5},
        },
    )
    output = tmp_path / "dare"
    assert merge_layers.main(["--config", config, str(output)]) == 0
    manifest = json.loads((output / "_manifest.json").read_text())
    assert manifest["details"]["kind"] == "dare_ties" and manifest["details"]["merged"] == ["b"]
    merged, a, b = (CheckpointReader(folder) for folder in (output / "model", models["a"], models["b"]))
    key = next(key for key in a.keys() if "q_proj.weight" in key)
    import zlib

    generator = torch.Generator().manual_seed(3 ^ zlib.crc32(key.encode()))
    expected = merge_tensor(
        "dare_ties", [b.get(key)], [1.0], base=a.get(key), density=0.7, generator=generator
    )
    assert torch.equal(merged.get(key), expected.to(merged.get(key).dtype))
    assert (
        AutoModelForImageTextToText.from_pretrained(output / "model").config.cephalo_merge["density"] == 0.7
    )
    three = write_yaml(
        tmp_path / "slerp.yaml", {"models": {**models, "c": models["a"]}, "base": "a", "method": "slerp"}
    )
    assert merge_layers.main(["--config", three, str(tmp_path / "slerp")]) == 2
    assert "slerp interpolates exactly 2 models" in capsys.readouterr().err


def test_a_bad_merge_config_names_the_key_before_ray_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_yaml(
        tmp_path / "bad.yaml",
        {"models": {"a": "./a"}, "base": "x", "slices": [{"model": "a", "first": 0, "last": 1}]},
    )
    assert merge_layers.main(["--config", config, str(tmp_path / "out")]) == 2
    assert "base 'x' is not a key of models" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_moe_job_on_s3_fits_routers_from_text_and_image_prompts(
    ray_session: Any, s3_server: Any, s3_bucket: str, tiny_llavas: Path, tmp_path: Path
) -> None:
    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    for name in ("a", "b"):
        for path in sorted((tiny_llavas / name).iterdir()):
            storage.write_bytes(f"s3://{s3_bucket}/models/{name}/{path.name}", path.read_bytes())
    red, blue = tmp_path / "red.png", tmp_path / "blue.png"
    Image.new("RGB", (32, 32), (220, 30, 30)).save(red)
    Image.new("RGB", (32, 32), (30, 30, 220)).save(blue)
    (tmp_path / "biology.jsonl").write_text(
        "\n".join(
            json.dumps({"text": f"cell {word} tissue", "image": "blue.png"})
            for word in ("bone", "gene", "silk")
        )
    )
    output = f"s3://{s3_bucket}/moe"
    config = build_moe.MoeConfig.model_validate(
        {
            "output": output,
            "base": f"s3://{s3_bucket}/models/a",
            "experts": [
                {
                    "name": "mechanics",
                    "model": f"s3://{s3_bucket}/models/a",
                    "prompts": ["steel 4.5 GPa", {"text": "crack 120 MPa", "image": str(red)}, "alloy 17 K"],
                },
                {
                    "name": "biology",
                    "model": f"s3://{s3_bucket}/models/b",
                    "prompts_file": str(tmp_path / "biology.jsonl"),
                },
            ],
            "router": {"holdout_fraction": 0.34},
            "resources": {"num_cpus": 0.5},
            "storage": {"s3_endpoint_url": s3_server.endpoint_url},
        }
    )
    manifest = build_moe.run(config)
    assert json.loads(storage.read_bytes(f"{output}/_manifest.json"))["run_id"] == manifest["run_id"]
    router = manifest["details"]["router"]
    assert (router["fit_prompts"], router["heldout_prompts"]) == (4, 2)
    assert len(router["layers"]) == 4 and router["routed_prompt_accuracy"] is not None
    folder = local_model_dir(f"{output}/model", storage, cache_dir=tmp_path / "cache")
    moe = AutoModelForImageTextToText.from_pretrained(folder).eval()
    assert type(moe.model.language_model).__name__ == "MixtralModel"
    assert moe.config.cephalo_merge["expert_names"] == ["mechanics", "biology"]
    assert moe.config.cephalo_merge["router"]["method"] == "logistic"
    # the fitted routers were written back: they are not the random start of a build without fitting
    random_start = tmp_path / "random"
    from cephalo_ray.merge.moe import build_moe as build_unfitted

    build_unfitted(str(tiny_llavas / "a"), [str(tiny_llavas / "a"), str(tiny_llavas / "b")], random_start)
    unfitted = AutoModelForImageTextToText.from_pretrained(random_start)
    fitted_router = moe.model.language_model.layers[0].mlp.gate.weight
    assert not torch.allclose(fitted_router, unfitted.model.language_model.layers[0].mlp.gate.weight)


def router_report(heldout: list[float | None], prompts: float | None = 0.9) -> dict[str, Any]:
    layers = [{"layer": n, "fit_accuracy": 1.0, "heldout_accuracy": a} for n, a in enumerate(heldout)]
    return {"method": "logistic", "layers": layers, "routed_prompt_accuracy": prompts}


def test_a_layer_routing_held_out_tokens_below_the_minimum_stops_the_build() -> None:
    from cephalo_ray.errors import JobError

    assert build_moe.heldout_minimum(None, 3) == 0.4333 and build_moe.heldout_minimum(0.0, 3) == 0.0
    assert build_moe.router_problem(router_report([0.9, 0.8]), 3, 0.4333) is None
    warning = build_moe.router_problem(router_report([0.9, 0.8], prompts=0.33), 3, 0.4333)
    assert "about chance (0.33 for 3 experts)" in str(warning)
    assert "unmeasured" in str(build_moe.router_problem(router_report([None, None]), 3, 0.4333))
    with pytest.raises(JobError) as stopped:
        build_moe.router_problem(router_report([0.9, 0.55, 0.41]), 2, 0.6)
    message = str(stopped.value)
    assert "layers 1 (0.55), 2 (0.41)" in message and "min_heldout_accuracy=0.6" in message
    assert "chance is 0.50" in message and "more, and more distinct, prompts" in message
    assert "router.method=mean" in message and "\n" not in message  # the CLI prints the first line
    assert build_moe.router_problem(router_report([0.1, 0.2]), 2, 0.0) is None  # 0: the check is off


def test_moe_job_fails_on_routers_under_the_minimum_and_publishes_nothing(
    ray_session: Any, tiny_llavas: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    experts = [
        {"name": name, "model": str(tiny_llavas / name), "prompts": [f"{name} prompt {n}" for n in range(4)]}
        for name in ("a", "b")
    ]
    # no router of random tiny models sends every held-out token (chat template included) right
    recipe = {"base": str(tiny_llavas / "a"), "experts": experts, "router": {"min_heldout_accuracy": 1.0}}
    output = tmp_path / "moe"
    config = write_yaml(tmp_path / "moe.yaml", {**recipe, "resources": {"num_cpus": 0.5}})
    assert build_moe.main(["--config", config, str(output)]) == 2
    error = capsys.readouterr().err
    assert "min_heldout_accuracy=1.0" in error and "router.method=mean" in error and "prompts" in error
    assert not (output / "model").exists()
    assert json.loads((output / "_manifest.json").read_text())["status"] == "partial"


def test_phi3_v_merges_and_moes_need_trust_remote_code_in_the_config(
    ray_session: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.merge.test_phi3_v_surgery import write_phi3_v

    models = {name: str(write_phi3_v(tmp_path / name, seed)) for seed, name in enumerate(("a", "b"))}
    recipe = {
        "models": models,
        "base": "a",
        "slices": [{"model": "a", "first": 0, "last": 2}, {"model": "b", "first": 2, "last": 2}],
        "resources": {"num_cpus": 0.5},
    }
    config = write_yaml(tmp_path / "stack.yaml", recipe)
    assert merge_layers.main(["--config", config, str(tmp_path / "stack")]) == 2  # before Ray starts
    assert "set trust_remote_code: true" in capsys.readouterr().err
    assert not (tmp_path / "stack").exists()
    assert merge_layers.main(["--config", config, str(tmp_path / "stack"), "trust_remote_code=true"]) == 0
    stacked = tmp_path / "stack" / "model"
    assert json.loads((stacked / "config.json").read_text())["num_hidden_layers"] == 4
    assert (stacked / "modeling_phi3_v.py").is_file()

    experts = [{"name": name, "model": folder} for name, folder in models.items()]
    moe = {"base": models["a"], "experts": experts, "router": {"method": "random"}, "trust_remote_code": True}
    config = write_yaml(tmp_path / "moe.yaml", {**moe, "resources": {"num_cpus": 0.5}})
    assert build_moe.main(["--config", config, str(tmp_path / "moe")]) == 0
    built = json.loads((tmp_path / "moe" / "model" / "config.json").read_text())
    assert built["auto_map"]["AutoModelForCausalLM"] == "modeling_phi3_v_moe.Phi3VMoeForCausalLM"
    assert (tmp_path / "moe" / "model" / "modeling_phi3_v_moe.py").is_file()
