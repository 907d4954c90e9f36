"""Fine-tune a vision-language model on a refine root with Ray Train + DeepSpeed (ZeRO-2/3) + LoRA.

Locally (tiny model, CPU workers):
    cephalo train --config configs/train/tiny.yaml input=./refined output=./runs/r1

On a GPU cluster:
    ray job submit --working-dir . -- python -m cephalo_ray.jobs.finetune_vlm \
        --config configs/train/idefics3-lora.yaml input=s3://lab/refined output=s3://lab/runs/r1

LLaVA two-stage: `task: captions` with `recipe.name: projector` aligns the projector on the captions
(stage 1); `task: conversations` with LoRA (or full) then tunes on the QA conversations (stage 2).
OUT gets `model/` (merged, `save_pretrained` + processor), `adapter/` (LoRA), `metrics/` and
`_manifest.json` (OUT local or s3://); Ray Train's checkpoints live under `OUT/checkpoints/` (or
`storage_path`), and a crashed worker resumes from the latest one (`resources.max_failures`).
Rerun on the same OUT, the job resumes the same run from its last checkpoint (a killed driver loses
only the steps since it); a finished run is not trained again; a changed config is refused by name.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Literal

from pydantic import Field, model_validator

from cephalo_ray.arguments import run_job_main
from cephalo_ray.config import StorageConfig, StrictModel

JOB = "train"
HASH_EXCLUDED = {"output", "resources", "storage", "storage_path", "dry_run"}  # where and how fast, not what


class RecipeConfig(StrictModel):
    name: Literal["lora", "mlp_only", "full", "projector", "stacked", "router"] = Field(
        "lora", description="what the run updates (stacked: a merge's new layers; router: an MoE's routers)"
    )
    lora_rank: int = Field(16, ge=1, description="LoRA rank")
    lora_alpha: int = Field(32, ge=1, description="LoRA alpha")
    lora_dropout: float = Field(0.05, ge=0, lt=1, description="LoRA dropout")
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        description="LoRA targets, matched inside the language model only",
    )
    train_projector: bool = Field(True, description="train the projector / connector")
    train_vision: bool = Field(False, description="train the vision tower")
    train_language_model: bool = Field(False, description="train the whole language model (recipe full)")
    quantize_4bit: bool = Field(
        False, description="QLoRA: 4-bit base model (CUDA GPUs with bitsandbytes only)"
    )

    @model_validator(mode="after")
    def language_model_with_full_only(self) -> RecipeConfig:
        if self.name == "full" and not self.train_language_model:
            raise ValueError(
                "recipe.name=full trains the whole language model: set recipe.train_language_model=true, "
                "or recipe.name=projector to train the projector alone"
            )
        if self.train_language_model and self.name != "full":
            raise ValueError(
                f"recipe.train_language_model=true needs recipe.name=full; recipe {self.name} keeps the "
                "language model's weights frozen"
            )
        return self


class OptimConfig(StrictModel):
    learning_rate: float = Field(2e-4, gt=0, description="peak learning rate (cosine after warm-up)")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    warmup_steps: int = Field(0, ge=0, description="linear warm-up steps")
    max_steps: int = Field(100, ge=1, description="optimizer steps")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping norm")
    projector_learning_rate: float | None = Field(
        None, gt=0, description="the projector's own peak learning rate (default: learning_rate)"
    )
    micro_batch_size: int = Field(1, ge=1, description="samples per worker per micro-step")
    gradient_accumulation_steps: int = Field(1, ge=1, description="micro-steps per optimizer step")


class DeepSpeedConfig(StrictModel):
    zero_stage: Literal[0, 1, 2, 3] = Field(2, description="DeepSpeed ZeRO stage")
    bf16: bool | None = Field(None, description="bf16 (default: on CUDA GPUs that have it; fp32 on CPU)")
    offload_optimizer: bool = Field(False, description="optimizer states in CPU memory")
    offload_parameters: bool = Field(False, description="parameters in CPU memory (ZeRO-3)")


class DataConfig(StrictModel):
    image_longest_edge: int | None = Field(
        None,
        ge=16,
        description="resize images so their longest side is this many px (tiling processors: Idefics3, SmolVLM)",
    )
    split_images: bool | None = Field(
        None, description="cut large images into tiles (tiling processors; default: the processor's)"
    )
    shuffle: bool = Field(True, description="shuffle the training rows once, with `seed`")


class TrainResources(StrictModel):
    workers: int = Field(2, ge=1, description="Ray Train workers")
    use_gpu: bool = Field(False, description="one GPU per worker")
    cpus_per_worker: float = Field(1.0, gt=0, description="CPUs per training worker")
    max_failures: int = Field(2, ge=0, description="worker failures survived by resuming from a checkpoint")
    local_num_cpus: int | None = Field(None, ge=1, description="CPUs of a local Ray (default: all)")


class TrainConfig(StrictModel):
    """`cephalo train` settings."""

    input: str = Field(description="a refine root (local or s3://)")
    output: str = Field(description="the run's output root (local folder or s3://)")
    model: str = Field(description="base model: hub name, local folder or s3://")
    task: Literal["conversations", "captions"] = Field("conversations", description="train on QA or captions")
    masking: Literal["answers", "prompt_and_answer"] = Field(
        "answers", description="which tokens count in the loss"
    )
    max_length: int = Field(2048, ge=16, description="longest sample in tokens")
    overflow: Literal["truncate", "drop"] = Field("truncate", description="what happens to longer samples")
    eval_every: int = Field(50, ge=1, description="validation loss every N steps")
    vqa_samples: int = Field(16, ge=0, description="validation questions the final model answers (0: none)")
    checkpoint_every: int = Field(50, ge=1, description="checkpoint every N steps")
    seed: int = Field(0, description="random seed")
    attn_implementation: Literal["auto", "sdpa", "eager", "flash_attention_2"] = Field(
        "auto", description="attention kernel (flash_attention_2 needs the flash-attn package and a GPU)"
    )
    gradient_checkpointing: bool = Field(
        False, description="recompute activations in the backward pass: much less memory, ~30 % slower"
    )
    allow_partial: bool = Field(False, description="accept a refine root that is not complete")
    storage_path: str | None = Field(None, description="Ray Train checkpoints (default: OUT/checkpoints)")
    dry_run: bool = Field(
        False, description="report token lengths of the training rows against max_length, then stop"
    )
    data: DataConfig = DataConfig()
    recipe: RecipeConfig = RecipeConfig()
    optim: OptimConfig = OptimConfig()
    deepspeed: DeepSpeedConfig = DeepSpeedConfig()
    resources: TrainResources = TrainResources()
    storage: StorageConfig = StorageConfig()

    @model_validator(mode="after")
    def quantization_fits(self) -> TrainConfig:
        if not self.recipe.quantize_4bit:
            return self
        if not self.resources.use_gpu:
            raise ValueError(
                "recipe.quantize_4bit (QLoRA) needs CUDA GPUs: set resources.use_gpu: true, or "
                "recipe.quantize_4bit: false to train in full precision"
            )
        if self.recipe.name not in ("lora", "mlp_only"):
            raise ValueError(
                f"recipe.quantize_4bit trains adapters over a frozen 4-bit model; recipe {self.recipe.name} "
                "updates base weights: use recipe.name lora or mlp_only"
            )
        if self.deepspeed.zero_stage == 3:
            raise ValueError(
                "recipe.quantize_4bit cannot be partitioned by ZeRO-3 (4-bit weights are not sharded): set "
                "deepspeed.zero_stage: 2"
            )
        return self


def settings_for(config: TrainConfig, output_dir: str, fail_at_step: int | None = None) -> dict[str, Any]:
    from cephalo_ray.train.loop import TrainSettings

    settings = TrainSettings(
        model=config.model,
        output_dir=output_dir,
        recipe=config.recipe.model_dump(exclude={"quantize_4bit"}),
        quantize_4bit=config.recipe.quantize_4bit,
        vqa_samples=config.vqa_samples,
        task=config.task,
        masking=config.masking,
        max_length=config.max_length,
        overflow=config.overflow,
        eval_every=config.eval_every,
        checkpoint_every=config.checkpoint_every,
        seed=config.seed,
        attn_implementation=None if config.attn_implementation == "auto" else config.attn_implementation,
        gradient_checkpointing=config.gradient_checkpointing,
        image_longest_edge=config.data.image_longest_edge,
        split_images=config.data.split_images,
        s3_endpoint_url=config.storage.s3_endpoint_url,
        fail_at_step=fail_at_step,
        **config.deepspeed.model_dump(),
        **config.optim.model_dump(),
    )
    return asdict(settings)


def run(config: TrainConfig, fail_at_step: int | None = None) -> dict[str, Any]:
    """Train to `optim.max_steps` and return the manifest."""
    import os

    from cephalo_ray.config import ConfigError, config_hash
    from cephalo_ray.output_root import read_upstream
    from cephalo_ray.restart import RootLayout, RootRun, Summary
    from cephalo_ray.storage import Storage, is_s3, join

    storage = Storage(config.storage.s3_endpoint_url, config.storage.s3_region)
    upstream, digest = read_upstream(storage, config.input, config.allow_partial)
    files = [join(config.input, name) for name in upstream["files"].get("refined", [])]
    if not files:
        raise ConfigError(f"{config.input} has no refined rows to train on")
    if config.dry_run:
        return token_budget(config, storage, files)
    if config.data.image_longest_edge is not None or config.data.split_images is not None:
        checked_processor(config, storage)  # a setting the processor lacks stops here, before Ray
    # Rank 0 writes the model into a local folder; for an s3:// output it uploads it from there.
    on_s3 = is_s3(config.output)
    output_dir = tempfile.mkdtemp(prefix="cephalo-train-") if on_s3 else os.path.abspath(config.output)
    checkpoints = config.storage_path or join(config.output if on_s3 else output_dir, "checkpoints")
    checkpoint_fs = storage.filesystem_and_paths([checkpoints])[0] if is_s3(checkpoints) else None
    hashed = config.model_dump(exclude=HASH_EXCLUDED)
    root = RootRun(
        storage,
        config.output if on_s3 else output_dir,
        RootLayout(job=JOB),
        config=config.model_dump(),
        hashed_config=hashed,
        upstream={"uri": config.input, "digest": digest, "job": upstream.get("job")},
    )
    with root:
        finished = root.finished_before()
        if finished:
            print(
                f"train: {config.output} holds a finished run of this config; nothing to do", file=sys.stderr
            )
            return finished
        # One run name per config: Ray Train resumes a run of that name from its checkpoints.
        run_name = f"train-{config_hash(hashed)[:12]}"
        result = fit(config, storage, files, output_dir, checkpoints, checkpoint_fs, run_name, fail_at_step)
        metrics = dict(result.metrics or {})
        final = join(config.output if on_s3 else output_dir, "metrics", "final.json")
        if storage.exists(final):  # written by rank 0 after the last report: VQA accuracy and the rest
            metrics.update(json.loads(storage.read_bytes(final)))
        files_written = {
            "model": ["model/"],
            "adapter": ["adapter/"] if os.path.isdir(join(output_dir, "adapter")) else [],
        }
        counts = {key: value for key, value in metrics.items() if isinstance(value, (int, float))}
        manifest = root.finish(
            lambda _: Summary(counts, True, extra={"train_run": run_name}, files=files_written)
        )
    print(
        f"train complete: {metrics.get('step')} steps, loss {metrics.get('loss', float('nan')):.4f}, "
        f"val loss {metrics.get('base_val_loss', float('nan')):.4f} -> {metrics.get('val_loss', float('nan')):.4f}, "
        f"VQA F1 {metrics.get('vqa_f1', float('nan')):.3f} on {metrics.get('vqa_samples', 0)} questions; "
        f"model in {join(output_dir, 'model')}",
        file=sys.stderr,
    )
    return manifest


def checked_processor(config: TrainConfig, storage: Any) -> Any:
    """The model's processor with `data.*` image settings applied.

    Raises:
        ConfigError: a setting this processor does not have.
    """
    from transformers import AutoProcessor

    from cephalo_ray.config import ConfigError
    from cephalo_ray.models.loader import local_model_dir
    from cephalo_ray.train.budget import apply_image_settings

    processor = AutoProcessor.from_pretrained(local_model_dir(config.model, storage))
    try:
        apply_image_settings(processor, config.data.image_longest_edge, config.data.split_images)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return processor


def token_budget(config: TrainConfig, storage: Any, files: list[str], sample: int = 256) -> dict[str, Any]:
    """Print and return the token lengths of up to `sample` training rows as this config builds them
    (the processor's image settings applied), against `max_length`; loads no weights and starts no Ray."""
    from cephalo_ray.train.budget import length_report, sample_lengths
    from cephalo_ray.train.loop import CAPTION_PROMPT

    processor = checked_processor(config, storage)
    rows = []
    for uri in files:
        table = storage.read_parquet([uri], columns=["image", "orig_caption", "conversations", "split"])
        rows += [row for row in (table.to_pylist() if table is not None else []) if row["split"] == "train"]
        if len(rows) >= sample:
            break
    report = length_report(
        sample_lengths(rows[:sample], processor, config.task, CAPTION_PROMPT),
        config.max_length,
        config.overflow,
    )
    print(
        f"train --dry-run: {report['samples']} training rows: tokens p50 {report['p50_tokens']}, p95 "
        f"{report['p95_tokens']}, max {report['max_tokens']}; {report['over_max_length']} over max_length "
        f"{config.max_length} would be {config.overflow}d; nothing was trained",
        file=sys.stderr,
    )
    return {"dry_run": True, **report}


def fit(
    config: TrainConfig,
    storage: Any,
    files: list[str],
    output_dir: str,
    checkpoints: str,
    checkpoint_fs: Any,
    run_name: str,
    fail_at_step: int | None,
) -> Any:
    """Run Ray Train to the last step (resuming `run_name` where it has checkpoints); returns its result."""
    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from cephalo_ray.models.loader import model_location
    from cephalo_ray.ray_session import connect_ray
    from cephalo_ray.storage import is_s3
    from cephalo_ray.train.loop import train_worker

    on_s3 = is_s3(config.output)
    started_here = connect_ray(config.resources.local_num_cpus)
    try:
        filesystem, paths = storage.filesystem_and_paths(files)
        columns = ["image", "orig_caption", "conversations", "split"]
        rows = ray.data.read_parquet(paths, filesystem=filesystem, columns=columns)
        train = rows.filter(lambda row: row["split"] == "train")
        if config.data.shuffle:
            train = train.random_shuffle(seed=config.seed)
        val = rows.filter(lambda row: row["split"] == "val")
        trainer = TorchTrainer(
            train_loop_per_worker=train_worker,  # type: ignore[arg-type]  # returns its summary for local runs
            train_loop_config={
                **settings_for(config, output_dir, fail_at_step),
                "model": model_location(config.model),
                "upload_to": config.output if on_s3 else None,
            },
            scaling_config=ScalingConfig(
                num_workers=config.resources.workers,
                use_gpu=config.resources.use_gpu,
                resources_per_worker={"CPU": config.resources.cpus_per_worker},
            ),
            torch_config=TorchConfig(backend="nccl" if config.resources.use_gpu else "gloo"),
            run_config=RunConfig(
                name=run_name,
                storage_path=checkpoints[len("s3://") :] if checkpoint_fs else checkpoints,
                storage_filesystem=checkpoint_fs,
                failure_config=FailureConfig(max_failures=config.resources.max_failures),
                checkpoint_config=CheckpointConfig(
                    num_to_keep=2, checkpoint_score_attribute="val_loss", checkpoint_score_order="min"
                ),
            ),
            datasets={"train": train, "val": val},
        )
        result = trainer.fit()
    finally:
        if started_here:
            ray.shutdown()
    if result.error:
        raise result.error
    return result


def main(argv: Sequence[str] | None = None, prog: str = "python -m cephalo_ray.jobs.finetune_vlm") -> int:
    return run_job_main(TrainConfig, run, argv, prog, __doc__)


if __name__ == "__main__":
    sys.exit(main())
