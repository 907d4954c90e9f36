"""Stack decoder layers of fine-tuned models into a deeper model (Cephalo 10b = 32 + 8 layers).

Locally:
    cephalo merge --config configs/merge/tiny-stack.yaml
    cephalo merge --config F.yaml ./merged models.b=./runs/b/model

On a cluster (models and output on s3://):
    ray job submit --working-dir . -- python -m cephalo_ray.jobs.merge_layers --config configs/merge/cephalo-10b.yaml

The recipe lists `slices` of decoder layers (`model`, `first`, `last`, inclusive) in output order;
embeddings, final norm, head, vision tower and connector come from `base`. Tensors stream through
safetensors, so the build holds about one shard in memory. OUT gets `model/` (loadable with
`from_pretrained`; the recipe is kept in its config.json as `cephalo_merge`) and `_manifest.json`.
Train the stacked-in layers only with `recipe.name: stacked` in `cephalo train`
(configs/train/stacked-layers.yaml).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

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
    models: dict[str, str] = Field(description="name -> model folder (local or s3://)")
    base: str = Field(description="model whose embeddings, norm, head, vision tower and connector are kept")
    slices: list[SliceConfig] = Field(description="decoder layers of the output, in order")
    max_shard_size_mb: int = Field(2048, ge=1, description="largest safetensors shard written")
    resources: SurgeryResources = SurgeryResources()
    storage: StorageConfig = StorageConfig()

    @model_validator(mode="after")
    def names_exist(self) -> MergeConfig:
        if self.base not in self.models:
            raise ValueError(
                f"base {self.base!r} is not a key of models ({', '.join(self.models) or 'empty'})"
            )
        for number, piece in enumerate(self.slices):
            if piece.model not in self.models:
                raise ValueError(f"slices[{number}].model {piece.model!r} is not a key of models")
            if piece.first > piece.last:
                raise ValueError(f"slices[{number}]: first {piece.first} is after last {piece.last}")
        if not self.slices:
            raise ValueError("slices is empty: list at least one {model, first, last}")
        return self


def build(config: dict[str, Any], staging: str) -> dict[str, Any]:
    """Ray task body: fetch the models and write the stacked model into `staging`."""
    from cephalo_ray.merge.runner import local_model
    from cephalo_ray.merge.stacking import LayerSlice, stack_layers

    folders = {name: local_model(uri, config["storage"]) for name, uri in config["models"].items()}
    record = stack_layers(
        folders,
        config["base"],
        [LayerSlice(**piece) for piece in config["slices"]],
        staging,
        max_shard_bytes=config["max_shard_size_mb"] * 1024**2,
        sources=config["models"],
    )
    return {**record, "output_layers": len(record["layers"])}


def run(config: MergeConfig) -> dict[str, Any]:
    """Build the stacked model into `OUT/model/` and return the manifest."""
    from cephalo_ray.merge.runner import run_build
    from cephalo_ray.models.loader import model_location

    build_config = config.model_dump()
    build_config["models"] = {name: model_location(uri) for name, uri in config.models.items()}
    manifest = run_build(JOB, config, build, build_config, config.resources, config.storage)
    details = manifest.get("details", {})
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
