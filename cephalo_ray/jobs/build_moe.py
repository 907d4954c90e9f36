"""Build a Mixture-of-Experts from fine-tuned models and fit its routers from example prompts.

Locally:
    cephalo moe --config configs/moe/tiny-moe.yaml
    cephalo moe --config F.yaml ./moe experts_per_token=2

On a cluster (models and output on s3://, router fitting on a GPU):
    ray job submit --working-dir . -- python -m cephalo_ray.jobs.build_moe --config configs/moe/cephalo-3x-moe.yaml

Each decoder layer's MLP becomes one expert per model (Cephalo-Phi-3-MoE: three fine-tuned models);
attention, norms, embeddings and vision come from `base`. The output is a standard Mixtral
checkpoint (for a VLM: the VLM class with a Mixtral text model), loadable with `from_pretrained`,
running only the top-k experts per token; Phi-3-vision (`phi3_v`, with `trust_remote_code: true`)
keeps its own config and code and gets a model class of its own beside them. With `shared_expert`
(Qwen2 and Llama sources) it is a Qwen2-MoE checkpoint instead: one always-on expert, by default
the base's MLPs, beside the routed ones, each layer computing `weight x shared + (1 - weight) x routed`.
Routers are fitted from each expert's prompts (text, or text + image) as the router sees them at
inference, and from the prompts an expert should not be chosen for (`negative_prompts`); the
per-layer accuracies land in the manifest.
A layer whose router sends fewer held-out tokens to their expert than `router.min_heldout_accuracy`
(default: chance + 0.1) stops the build before anything is published.
Router-only training afterwards: `recipe.name: router` in `cephalo train` (needs experts_per_token >= 2).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from cephalo_ray.arguments import run_job_main
from cephalo_ray.config import StorageConfig, StrictModel
from cephalo_ray.merge.runner import SurgeryResources

JOB = "moe"


class PromptConfig(StrictModel):
    text: str = Field(description="the prompt")
    image: str | None = Field(None, description="a local image file shown with it")


class ExpertConfig(StrictModel):
    name: str = Field(description="the expert's name (reports)")
    model: str = Field(description="the fine-tuned model (local folder or s3://)")
    prompts: list[str | PromptConfig] = Field(
        default_factory=list, description="example prompts of this expert"
    )
    prompts_file: str | None = Field(
        None, description="more prompts: .jsonl (strings or {text, image}) or a YAML/JSON list"
    )
    negative_prompts: list[str | PromptConfig] = Field(
        default_factory=list,
        description="prompts this expert should not be chosen for: its router row is fitted to score them low",
    )
    negative_prompts_file: str | None = Field(
        None, description="more negative prompts, in the format of prompts_file"
    )


class RouterConfig(StrictModel):
    method: Literal["logistic", "mean", "random"] = Field(
        "logistic",
        description="fit routers by logistic regression, by mean inputs (Cephalo), or leave random",
    )
    holdout_fraction: float = Field(
        0.2, ge=0, lt=1, description="prompts per expert kept out to measure routing"
    )
    l2: float = Field(1e-3, ge=0, description="L2 penalty of the logistic fit")
    max_iterations: int = Field(200, ge=1, description="L-BFGS iterations per layer")
    min_heldout_accuracy: float | None = Field(
        None,
        ge=0,
        le=1,
        description="stop the build, publishing nothing, when a layer's router sends fewer of the "
        "held-out tokens to their expert (default: chance, 1/experts, + 0.1; 0 turns the check off)",
    )
    max_tokens_per_expert: int = Field(
        2048,
        ge=1,
        description="router inputs sampled per layer and expert for the logistic fit; memory: layers x "
        "experts x this x hidden x 4 bytes, twice that for experts with negative prompts (the mean fit "
        "uses every token in running sums)",
    )


class SharedExpertConfig(StrictModel):
    model: str | None = Field(
        None, description="the model whose MLPs every token runs (local folder or s3://; default: base)"
    )
    weight: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="each layer's MLP output is weight x shared + (1 - weight) x the routed experts "
        "(exact at 0.5)",
    )


class MoeConfig(StrictModel):
    """`cephalo moe` settings."""

    output: str = Field(description="output root: model/ and _manifest.json (local or s3://)")
    base: str = Field(description="model giving attention, norms, embeddings and vision (local or s3://)")
    experts: list[ExpertConfig] = Field(description="the experts, in router order")
    experts_per_token: int = Field(1, ge=1, description="top-k experts per token (Cephalo: 1)")
    shared_expert: SharedExpertConfig | None = Field(
        None,
        description="add an always-on expert beside the routed ones: the output is then a Qwen2-MoE "
        "checkpoint (qwen2 and llama sources)",
    )
    router: RouterConfig = RouterConfig()
    seed: int = Field(0, description="seed of the random router start and the held-out split")
    max_shard_size_mb: int = Field(2048, ge=1, description="largest safetensors shard written")
    trust_remote_code: bool = Field(
        False,
        description="allow models whose classes are Python files in their folders (Phi-3-vision, phi3_v): "
        "the MoE carries that code and a model class of its own, and loads with trust_remote_code=True",
    )
    resources: SurgeryResources = SurgeryResources()
    storage: StorageConfig = StorageConfig()

    @model_validator(mode="after")
    def enough_experts(self) -> MoeConfig:
        if len(self.experts) < 2:
            raise ValueError(f"experts lists {len(self.experts)} model(s); an MoE needs at least 2")
        if self.experts_per_token > len(self.experts):
            raise ValueError(
                f"experts_per_token {self.experts_per_token} is more than the {len(self.experts)} experts"
            )
        if self.router.method != "random":
            for expert in self.experts:
                if not expert.prompts and not expert.prompts_file:
                    raise ValueError(
                        f"expert {expert.name!r} has no prompts: give prompts or prompts_file, "
                        "or set router.method=random"
                    )
        for expert in self.experts:
            if self.router.method == "random" and (expert.negative_prompts or expert.negative_prompts_file):
                raise ValueError(
                    f"expert {expert.name!r} has negative prompts, which only fitted routers use: "
                    "drop them or set router.method to logistic or mean"
                )
            both = prompts_in_both(expert.prompts, expert.negative_prompts)
            if both:
                raise ValueError(
                    f"expert {expert.name!r} lists {both[0]!r} in both prompts and negative_prompts"
                )
        return self


def prompts_in_both(positives: Sequence[Any], negatives: Sequence[Any]) -> list[str]:
    """Texts (with their image) that are both a positive and a negative prompt of one expert."""

    def key(item: Any) -> tuple[str, str | None]:
        if isinstance(item, str):
            return item, None
        if isinstance(item, PromptConfig):
            return item.text, item.image
        return item["text"], item.get("image")

    listed = {key(item) for item in positives}
    return [key(item)[0] for item in negatives if key(item) in listed]


def read_prompts(expert: dict[str, Any], negative: bool = False) -> list[dict[str, Any]]:
    """The expert's prompts (with `negative`, its negative prompts) as {text, image}, image paths made
    absolute."""
    import yaml

    listed, file_key = (
        ("negative_prompts", "negative_prompts_file") if negative else ("prompts", "prompts_file")
    )
    prompts = [{"text": item} if isinstance(item, str) else dict(item) for item in expert.get(listed) or []]
    for prompt in prompts:
        if prompt.get("image"):
            prompt["image"] = os.path.abspath(prompt["image"])
    if expert.get(file_key):
        path = Path(expert[file_key])
        if not path.is_file():
            raise FileNotFoundError(f"{file_key} {path} of expert {expert['name']!r} does not exist")
        text = path.read_text()
        items = (
            [json.loads(line) for line in text.splitlines() if line.strip()]
            if path.suffix == ".jsonl"
            else yaml.safe_load(text)
        )
        for item in items or []:
            prompt = (
                {"text": item}
                if isinstance(item, str)
                else {"text": item["text"], "image": item.get("image")}
            )
            if prompt.get("image"):
                prompt["image"] = str((path.parent / prompt["image"]).resolve())
            prompts.append(prompt)
    return prompts


def build(config: dict[str, Any], staging: str) -> dict[str, Any]:
    """Ray task body: write the MoE into `staging`, then fit its routers there."""
    from cephalo_ray.merge.moe import build_moe
    from cephalo_ray.merge.runner import local_model

    base = local_model(config["base"], config["storage"])
    experts = [local_model(expert["model"], config["storage"]) for expert in config["experts"]]
    shared = config.get("shared_expert")
    shared_source = None if shared is None else shared["model"] or config["base"]
    record = {
        "sources": {
            "base": config["base"],
            "experts": {e["name"]: e["model"] for e in config["experts"]},
            **({"shared_expert": shared_source} if shared_source else {}),
        },
        "expert_names": [expert["name"] for expert in config["experts"]],
    }
    details = build_moe(
        base,
        experts,
        staging,
        experts_per_token=config["experts_per_token"],
        seed=config["seed"],
        max_shard_bytes=config["max_shard_size_mb"] * 1024**2,
        record=record,
        shared_expert=(
            None
            if shared_source is None
            else base
            if shared_source == config["base"]
            else local_model(shared_source, config["storage"])
        ),
        shared_expert_weight=0.5 if shared is None else shared["weight"],
        trust_remote_code=config["trust_remote_code"],
    )
    details["base"], details["experts"] = config["base"], [expert["model"] for expert in config["experts"]]
    if config["router"]["method"] != "random":
        report = fit_and_store_routers(config, staging)
        details["router"] = report
        details["routed_prompt_accuracy"] = report["routed_prompt_accuracy"]
        details["routed_token_accuracy"] = report["routed_token_accuracy"]
        minimum = heldout_minimum(config["router"]["min_heldout_accuracy"], len(experts))
        details["router_min_heldout_accuracy"] = minimum
        details["router_warning"] = router_problem(report, len(experts), minimum)
    return details


def heldout_minimum(configured: float | None, experts: int) -> float:
    """The per-layer held-out accuracy a build must reach: the configured one, else chance + 0.1."""
    return round(1 / experts + 0.1, 4) if configured is None else configured


def router_problem(report: dict[str, Any], experts: int, minimum: float) -> str | None:
    """Stop the build (nothing is published) when a layer's router sends fewer held-out tokens to
    their own expert than `minimum`; warn when held-out prompts are routed about as well as chance,
    or when nothing was held out to measure.

    Raises:
        JobError: naming the layers under `minimum`, their accuracies and what to change.
    """
    from cephalo_ray.errors import JobError

    advice = "give each expert more, and more distinct, prompts (prompts_file)"
    layers = [(layer["layer"], layer["heldout_accuracy"]) for layer in report["layers"]]
    if any(accuracy is None for _, accuracy in layers):
        return (
            "not every expert had a prompt held out, so the routers' quality is unmeasured: "
            "raise router.holdout_fraction or give each expert more prompts"
        )
    below = [(layer, accuracy) for layer, accuracy in layers if accuracy < minimum]
    if below:
        # one line: the CLI prints a job error's first line
        raise JobError(
            f"the routers of layers {', '.join(f'{layer} ({accuracy:.2f})' for layer, accuracy in below)} "
            f"send fewer held-out tokens to their expert than router.min_heldout_accuracy={minimum} "
            f"(chance is {1 / experts:.2f}; all layers: {', '.join(f'{a:.2f}' for _, a in layers)}); "
            f"{advice}, try router.method={'mean' if report['method'] == 'logistic' else 'logistic'}, "
            "or lower router.min_heldout_accuracy (0 turns the check off)"
        )
    accuracy = report["routed_prompt_accuracy"]
    chance = 1 / experts
    if accuracy is not None and accuracy <= chance + 0.1:
        return (
            f"held-out prompts routed {accuracy:.2f} right, about chance ({chance:.2f} for {experts} experts): "
            f"{advice}"
        )
    away = report.get("negatives_routed_away_prompts")
    if away is not None and away < 0.5:
        return (
            f"only {away:.2f} of the held-out negative prompts were routed away from the expert that lists "
            "them: give more negative prompts, or positive prompts of the experts they belong to"
        )
    return None


def fit_and_store_routers(config: dict[str, Any], folder: str) -> dict[str, Any]:
    """Load the built MoE, fit its routers from the prompts, and write the router weights back."""
    import torch

    from cephalo_ray.merge.checkpoint import CheckpointReader, text_layer_stack, text_section
    from cephalo_ray.merge.moe import router_key
    from cephalo_ray.merge.router import Prompt, fit_routers

    device = "cuda" if config["resources"]["num_gpus"] > 0 and torch.cuda.is_available() else "cpu"
    saved_config = json.loads(Path(folder, "config.json").read_text())
    remote = {"trust_remote_code": True} if config.get("trust_remote_code") else {}
    if "text_config" in saved_config:
        from transformers import AutoModelForImageTextToText as AutoModel
        from transformers import AutoProcessor as AutoInputs
    elif saved_config.get("model_type") == "phi3_v":  # a VLM class of its own code, named a causal LM
        from transformers import AutoModelForCausalLM as AutoModel  # type: ignore[assignment]
        from transformers import AutoProcessor as AutoInputs
    else:
        from transformers import AutoModelForCausalLM as AutoModel  # type: ignore[assignment]
        from transformers import AutoTokenizer as AutoInputs  # type: ignore[assignment]
    model: Any = AutoModel.from_pretrained(folder, dtype="auto", **remote)
    model = model.to(device).eval()
    if AutoInputs.__name__ == "AutoProcessor":  # Qwen2-VL's loads without torchvision this way
        from cephalo_ray.models.loader import load_processor

        processor = load_processor(folder, trust_remote_code=bool(remote))
    else:
        processor = AutoInputs.from_pretrained(folder, **remote)
    prompts = {
        number: [Prompt(item["text"], item.get("image")) for item in read_prompts(expert)]
        for number, expert in enumerate(config["experts"])
    }
    negatives = {
        number: [Prompt(item["text"], item.get("image")) for item in read_prompts(expert, negative=True)]
        for number, expert in enumerate(config["experts"])
    }
    router = config["router"]
    report = fit_routers(
        model,
        processor,
        prompts,
        method=router["method"],
        holdout_fraction=router["holdout_fraction"],
        l2=router["l2"],
        max_iterations=router["max_iterations"],
        seed=config["seed"],
        max_tokens_per_expert=router["max_tokens_per_expert"],
        negatives_by_expert=negatives,
    ).as_dict()
    from cephalo_ray.models.families import moe_blocks

    weights = [block.gate.weight.detach().cpu() for block in moe_blocks(model)]
    reader = CheckpointReader(folder)
    prefix, _ = text_layer_stack(reader)
    model_type = text_section(reader.config)["model_type"]
    write_tensors(
        folder,
        reader.weight_map,
        {router_key(prefix, n, model_type): w for n, w in enumerate(weights)},
    )
    config_path = Path(folder, "config.json")
    saved = json.loads(config_path.read_text())
    saved["cephalo_merge"]["router"] = report
    config_path.write_text(json.dumps(saved, indent=2, sort_keys=True))
    return report


def write_tensors(folder: str, weight_map: dict[str, str], replacements: dict[str, Any]) -> None:
    """Replace tensors in the safetensors shards that hold them, one shard in memory at a time."""
    from safetensors.torch import load_file, save_file

    for file_name in sorted({weight_map[key] for key in replacements}):
        path = str(Path(folder, file_name))
        tensors = load_file(path)
        for key, tensor in replacements.items():
            if weight_map[key] == file_name:
                tensors[key] = tensor.to(tensors[key].dtype).contiguous()
        save_file(tensors, path + ".tmp", metadata={"format": "pt"})
        os.replace(path + ".tmp", path)


def run(config: MoeConfig) -> dict[str, Any]:
    """Build the MoE into `OUT/model/` and return the manifest."""
    from cephalo_ray.errors import JobError
    from cephalo_ray.merge.runner import refuse_remote_code_early, run_build
    from cephalo_ray.models.loader import model_location

    build_config = config.model_dump()
    build_config["base"] = model_location(config.base)
    if config.shared_expert is not None and config.shared_expert.model is not None:
        build_config["shared_expert"]["model"] = model_location(config.shared_expert.model)
    for expert in build_config["experts"]:
        expert["model"] = model_location(expert["model"])
        # images and prompt files resolved here, where they are
        expert["prompts"], expert["prompts_file"] = read_prompts(expert), None
        expert["negative_prompts"] = read_prompts(expert, negative=True)
        expert["negative_prompts_file"] = None
        both = prompts_in_both(expert["prompts"], expert["negative_prompts"])
        if both:
            raise JobError(
                f"expert {expert['name']!r} lists {both[0]!r} in both its prompts and negative prompts"
            )
    sources = [build_config["base"], *(expert["model"] for expert in build_config["experts"])]
    if config.shared_expert is not None and config.shared_expert.model is not None:
        sources.append(build_config["shared_expert"]["model"])
    refuse_remote_code_early(sources, config.trust_remote_code)
    manifest = run_build(JOB, config, build, build_config, config.resources, config.storage)
    details = manifest.get("details", {})
    print(
        f"moe complete: {len(config.experts)} experts x {details.get('layers')} layers, top-{config.experts_per_token}; "
        f"router {config.router.method}: held-out prompts routed right {details.get('routed_prompt_accuracy')}, "
        f"tokens {details.get('routed_token_accuracy')}; model in {config.output}/model",
        file=sys.stderr,
    )
    if details.get("router_warning"):
        print(f"moe: warning: {details['router_warning']}", file=sys.stderr)
    return manifest


def main(argv: Sequence[str] | None = None, prog: str = "python -m cephalo_ray.jobs.build_moe") -> int:
    return run_job_main(MoeConfig, run, argv, prog, __doc__, positional=("output",))


if __name__ == "__main__":
    sys.exit(main())
