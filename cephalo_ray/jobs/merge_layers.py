"""Merge fine-tuned models: stack their decoder layers into a deeper model (Cephalo 10b = 32 + 8
layers), or merge them weight by weight (linear, SLERP, task arithmetic, TIES, DARE, as mergekit).

Locally:
    cephalo merge --config configs/merge/tiny-stack.yaml
    cephalo merge --config F.yaml ./merged models.b=./runs/b/model

On a cluster (models and output on s3://):
    ray job submit --working-dir . -- python -m cephalo_ray.jobs.merge_layers --config configs/merge/cephalo-10b.yaml

`method: stack` (the default) lists `slices` of decoder layers (`model`, `first`, `last`, inclusive)
in output order; embeddings, final norm, head, vision tower and connector come from `base`. The
weight methods combine every tensor of the `models` (fine-tunes of one base) with `weights`; the
task-vector methods (task_arithmetic, ties, dare_linear, dare_ties) add the fine-tunes' differences
from `base` to it, `density` sets how much of each difference TIES keeps or DARE keeps in
expectation, and `t` is SLERP's position from the first model to the second (configs/merge/). Tensors stream through
safetensors, so the build holds about one shard in memory. OUT gets `model/` (loadable with
`from_pretrained`; the recipe is kept in its config.json as `cephalo_merge`) and `_manifest.json`.
Train the stacked-in layers only with `recipe.name: stacked` in `cephalo train`
(configs/train/stacked-layers.yaml).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from cephalo_ray.arguments import run_job_main
from cephalo_ray.config import StorageConfig, StrictModel
from cephalo_ray.merge.runner import SurgeryResources

JOB = "merge"


class SliceConfig(StrictModel):
    model: str = Field(description="name of a model in `models`")
    first: int = Field(ge=0, description="first decoder layer (inclusive)")
    last: int = Field(ge=0, description="last decoder layer (inclusive)")
    train: bool | None = Field(
        None, description="train these layers in the stacked preset (default: all but slice 0)"
    )


class MergeConfig(StrictModel):
    """`cephalo merge` settings."""

    output: str = Field(description="output root: model/ and _manifest.json (local or s3://)")
    models: dict[str, str] = Field(description="name -> model folder (local or s3://), in order")
    base: str = Field(
        description="model whose embeddings, norm, head, vision tower and connector (stack), or config "
        "and files and task-vector origin (weight methods), are kept"
    )
    method: Literal["stack", "linear", "slerp", "task_arithmetic", "ties", "dare_linear", "dare_ties"] = (
        Field("stack", description="stack decoder layers, or merge weights by one of mergekit's methods")
    )
    slices: list[SliceConfig] = Field(
        default_factory=list, description="method stack: decoder layers of the output, in order"
    )
    weights: dict[str, float] = Field(
        default_factory=dict, description="weight methods: name -> weight (default 1 each)"
    )
    t: float = Field(0.5, ge=0, le=1, description="slerp: 0 is the first model, 1 the second")
    density: float = Field(
        1.0, gt=0, le=1, description="ties / dare: share of each fine-tune's difference kept"
    )
    normalize: bool | None = Field(
        None, description="divide by the sum of weights (default: mergekit's for the method)"
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="weight methods: output dtype (auto: as the base stores each tensor)"
    )
    seed: int = Field(0, description="dare: seed of the random drops")
    max_shard_size_mb: int = Field(2048, ge=1, description="largest safetensors shard written")
    init: Literal["copy", "identity"] = Field(
        "copy",
        description="stack: trained slices copied as they are, or identity (attention and MLP output "
        "projections zeroed: the model starts out as the base and the new layers learn from there)",
    )
    trust_remote_code: bool = Field(
        False,
        description="allow models whose classes are Python files in their folders (Phi-3-vision, "
        "phi3_v); the output carries that code and loads with trust_remote_code=True",
    )
    resources: SurgeryResources = SurgeryResources()
    storage: StorageConfig = StorageConfig()

    @model_validator(mode="after")
    def names_exist(self) -> MergeConfig:
        from cephalo_ray.merge.blending import merging_models

        if self.base not in self.models:
            raise ValueError(
                f"base {self.base!r} is not a key of models ({', '.join(self.models) or 'empty'})"
            )
        for name in self.weights:
            if name not in self.models:
                raise ValueError(f"weights.{name} is not a key of models ({', '.join(self.models)})")
        if self.method != "stack":
            if self.init != "copy":
                raise ValueError(
                    f"init: {self.init} applies to method stack; method {self.method} merges weights"
                )
            if self.slices:
                raise ValueError(f"slices belong to method stack; method {self.method} merges whole models")
            merged = merging_models(self.method, list(self.models), self.base)
            if self.method == "slerp" and len(merged) != 2:
                raise ValueError(f"method slerp interpolates exactly 2 models; models has {len(merged)}")
            if not merged:
                raise ValueError(
                    f"method {self.method} adds fine-tunes' differences to the base: list at least one model "
                    "besides base in models"
                )
            return self
        for number, piece in enumerate(self.slices):
            if piece.model not in self.models:
                raise ValueError(f"slices[{number}].model {piece.model!r} is not a key of models")
            if piece.first > piece.last:
                raise ValueError(f"slices[{number}]: first {piece.first} is after last {piece.last}")
        if not self.slices:
            raise ValueError("slices is empty: list at least one {model, first, last}")
        return self


def build(config: dict[str, Any], staging: str) -> dict[str, Any]:
    """Ray task body: fetch the models and write the merged model into `staging`."""
    from cephalo_ray.merge.blending import blend_checkpoints
    from cephalo_ray.merge.runner import local_model
    from cephalo_ray.merge.stacking import LayerSlice, stack_layers

    folders = {name: local_model(uri, config["storage"]) for name, uri in config["models"].items()}
    if config["method"] != "stack":
        return blend_checkpoints(
            folders,
            config["base"],
            config["method"],
            staging,
            weights=config["weights"],
            t=config["t"],
            density=config["density"],
            normalize=config["normalize"],
            dtype=config["dtype"],
            seed=config["seed"],
            max_shard_bytes=config["max_shard_size_mb"] * 1024**2,
            sources=config["models"],
            trust_remote_code=config["trust_remote_code"],
        )
    record = stack_layers(
        folders,
        config["base"],
        [LayerSlice(**piece) for piece in config["slices"]],
        staging,
        max_shard_bytes=config["max_shard_size_mb"] * 1024**2,
        sources=config["models"],
        init=config["init"],
        trust_remote_code=config["trust_remote_code"],
    )
    return {**record, "output_layers": len(record["layers"])}


def run(config: MergeConfig) -> dict[str, Any]:
    """Build the stacked model into `OUT/model/` and return the manifest."""
    from cephalo_ray.merge.runner import refuse_remote_code_early, run_build
    from cephalo_ray.models.loader import model_location

    build_config = config.model_dump()
    build_config["models"] = {name: model_location(uri) for name, uri in config.models.items()}
    refuse_remote_code_early(build_config["models"].values(), config.trust_remote_code)
    manifest = run_build(JOB, config, build, build_config, config.resources, config.storage)
    details = manifest.get("details", {})
    if config.method != "stack":
        print(
            f"merge complete: {config.method} of {', '.join(details.get('merged', []))} onto {config.base}; "
            f"model in {config.output}/model",
            file=sys.stderr,
        )
        return manifest
    print(
        f"merge complete: {details.get('output_layers')} layers "
        f"({', '.join(f'{s.model} {s.first}..{s.last}' for s in config.slices)}), "
        f"stacked-in layers {details.get('trainable_layers')}; model in {config.output}/model",
        file=sys.stderr,
    )
    return manifest


def main(argv: Sequence[str] | None = None, prog: str = "python -m cephalo_ray.jobs.merge_layers") -> int:
    return run_job_main(MergeConfig, run, argv, prog, __doc__, positional=("output",))


if __name__ == "__main__":
    sys.exit(main())
