"""Fine-tune a vision-language model on a refine root with Ray Train + DeepSpeed (ZeRO-2/3) + LoRA.

Locally (tiny model, CPU workers):
    cephalo train --config configs/train/tiny.yaml input=./refined output=./runs/r1

Several refine roots are mixed by weight with `inputs` instead of `input` (YAML):
    inputs: [{root: ./refined-silk, weight: 0.7}, {root: ./refined-bone, weight: 0.3}]
and `tracking: {mlflow: {tracking_uri: sqlite:///mlflow.db, experiment: silk}}` logs the run to MLflow.

On a GPU cluster:
    ray job submit --working-dir . -- python -m cephalo_ray.jobs.finetune_vlm \
        --config configs/train/idefics3-lora.yaml input=s3://lab/refined output=s3://lab/runs/r1

LLaVA two-stage: `task: captions` with `recipe.name: projector` aligns the projector on the captions
(stage 1); `task: conversations` with LoRA (or full) then tunes on the QA conversations (stage 2).
OUT gets `model/` (merged, `save_pretrained` + processor), `adapter/` (LoRA), `metrics/` and
`_manifest.json` (OUT local or s3://); Ray Train's checkpoints live under `OUT/checkpoints/` (or
`storage_path`), and a crashed worker resumes from the latest one (`resources.max_failures`), at
the data position it had reached.
Rerun on the same OUT, the job resumes the same run from its last checkpoint (a killed driver loses
only the steps since it); a finished run is not trained again; a changed config is refused by name.
"""

from __future__ import annotations

import importlib.util
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
# Where and how fast, and where metrics go: not what is trained.
HASH_EXCLUDED = {"output", "resources", "storage", "storage_path", "dry_run", "tracking"}


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
    min_pixels: int | None = Field(
        None, ge=784, description="least pixels per image (Qwen2-VL/2.5-VL: a token per 28 x 28 px)"
    )
    max_pixels: int | None = Field(
        None, ge=784, description="most pixels per image (Qwen2-VL/2.5-VL; the real default 12845056)"
    )
    packing: bool = Field(
        False,
        description="pack several training examples into each sequence of at most max_length tokens "
        "(first-fit-decreasing over windows of up to 64 examples; each keeps its own positions and attends only "
        "to itself), so micro-batches hold examples instead of padding; a micro-batch is then "
        "micro_batch_size packed sequences in one row. LLaVA, LLaVA-NeXT, PaliGemma, Idefics2 and Idefics3 only; validation is unpacked",
    )


class InputRoot(StrictModel):
    root: str = Field(description="a refine root (local or s3://)")
    weight: float = Field(
        1.0, gt=0, description="its share of the training examples (weights are normalised)"
    )

    @model_validator(mode="before")
    @classmethod
    def from_flag(cls, value: Any) -> Any:
        """`--inputs ROOT@WEIGHT` on the command line (`@WEIGHT` may be left out: weight 1)."""
        if isinstance(value, str):
            root, at, weight = value.rpartition("@")
            return {"root": root, "weight": weight} if at else {"root": value}
        return value


class MlflowConfig(StrictModel):
    tracking_uri: str = Field(
        description="MLflow tracking URI: http(s)://server, sqlite:///file.db, databricks"
    )
    experiment: str = Field("cephalo-train", description="MLflow experiment name (created when missing)")


class TrackingConfig(StrictModel):
    mlflow: MlflowConfig | None = Field(None, description="log params and metrics to MLflow (rank 0)")


class TrainResources(StrictModel):
    workers: int = Field(2, ge=1, description="Ray Train workers")
    use_gpu: bool = Field(False, description="one GPU per worker")
    cpus_per_worker: float = Field(1.0, gt=0, description="CPUs per training worker")
    max_failures: int = Field(2, ge=0, description="worker failures survived by resuming from a checkpoint")
    local_num_cpus: int | None = Field(None, ge=1, description="CPUs of a local Ray (default: all)")


class TrainConfig(StrictModel):
    """`cephalo train` settings."""

    input: str | None = Field(None, description="a refine root (local or s3://); or several as `inputs`")
    inputs: list[InputRoot] | None = Field(
        None,
        description="refine roots mixed by weight, instead of `input`: YAML [{root: ..., weight: 0.7}, ...], "
        "flags ROOT@WEIGHT",
    )
    output: str = Field(description="the run's output root (local folder or s3://)")
    model: str = Field(description="base model: hub name, local folder or s3://")
    trust_remote_code: bool = Field(
        False, description="run the base model's own Python code (Phi-3-vision); refused unless set"
    )
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
    tracking: TrackingConfig = TrackingConfig()

    @model_validator(mode="after")
    def one_kind_of_input(self) -> TrainConfig:
        if (self.input is None) == (self.inputs is None):
            raise ValueError(
                "set exactly one of `input` (one refine root) and `inputs` (several, mixed by weight: "
                "[{root: ..., weight: ...}]); "
                + ("remove one of them" if self.input is not None else "neither is set")
            )
        if self.inputs is not None:
            roots = [item.root for item in self.inputs]
            if not roots:
                raise ValueError(
                    "`inputs` is empty: list at least one {root: ..., weight: ...}, or use `input`"
                )
            if len(set(roots)) != len(roots):
                raise ValueError(
                    f"`inputs` lists a root twice ({roots}): give it once, with the sum of its weights"
                )
        return self

    @property
    def roots(self) -> list[InputRoot]:
        """The training inputs: `inputs`, or `input` as one root of weight 1."""
        return self.inputs if self.inputs is not None else [InputRoot(root=str(self.input))]

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


def hashed_config(config: TrainConfig) -> dict[str, Any]:
    """The settings that shape the model: a rerun must keep them (the unused input key and packing when
    off are left out, so runs configured before they existed keep their hash)."""
    unused = {"inputs"} if config.inputs is None else {"input"}
    hashed = config.model_dump(exclude=HASH_EXCLUDED | unused)
    if not config.data.packing:  # runs configured before packing existed keep their hash
        del hashed["data"]["packing"]
    return hashed


def settings_for(
    config: TrainConfig, output_dir: str, fail_at_step: int | None = None, run_name: str = "train"
) -> dict[str, Any]:
    from cephalo_ray.train.loop import TrainSettings
    from cephalo_ray.train.tracking import flatten

    mlflow = config.tracking.mlflow

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
        min_pixels=config.data.min_pixels,
        max_pixels=config.data.max_pixels,
        trust_remote_code=config.trust_remote_code,
        packing=config.data.packing,
        s3_endpoint_url=config.storage.s3_endpoint_url,
        fail_at_step=fail_at_step,
        input_weights=[item.weight for item in config.roots],
        mlflow=None
        if mlflow is None
        else {**mlflow.model_dump(), "run_name": run_name, "params": flatten(config.model_dump())},
        **config.deepspeed.model_dump(),
        **config.optim.model_dump(),
    )
    return asdict(settings)


def run(config: TrainConfig, fail_at_step: int | None = None) -> dict[str, Any]:
    """Train to `optim.max_steps` and return the manifest."""
    import os

    from cephalo_ray.config import config_hash
    from cephalo_ray.restart import RootLayout, RootRun, Summary
    from cephalo_ray.storage import Storage, is_s3, join

    storage = Storage(config.storage.s3_endpoint_url, config.storage.s3_region)
    inputs = read_inputs(config, storage)
    files = [uri for item in inputs for uri in item["files"]]
    if config.data.packing:
        check_packing(config, storage)  # before the dry run too: it reports what packing would make
    if config.dry_run:
        return token_budget(config, storage, files)
    if config.tracking.mlflow is not None:
        check_tracking_installed(config.tracking.mlflow.tracking_uri)
    image_settings = (config.data.image_longest_edge, config.data.split_images, config.data.min_pixels)
    if any(value is not None for value in (*image_settings, config.data.max_pixels)):
        checked_processor(config, storage)  # a setting the processor lacks stops here, before Ray
    # Rank 0 writes the model into a local folder; for an s3:// output it uploads it from there.
    on_s3 = is_s3(config.output)
    output_dir = tempfile.mkdtemp(prefix="cephalo-train-") if on_s3 else os.path.abspath(config.output)
    checkpoints = config.storage_path or join(config.output if on_s3 else output_dir, "checkpoints")
    checkpoint_fs = storage.filesystem_and_paths([checkpoints])[0] if is_s3(checkpoints) else None
    hashed = hashed_config(config)
    root = RootRun(
        storage,
        config.output if on_s3 else output_dir,
        RootLayout(job=JOB),
        config=config.model_dump(),
        hashed_config=hashed,
        upstream={
            **inputs[0]["upstream"],
            "roots": [item["upstream"] for item in inputs],  # every input's digest, the first's above
        },
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
        result = fit(config, storage, inputs, output_dir, checkpoints, checkpoint_fs, run_name, fail_at_step)
        metrics = dict(result.metrics or {})
        final = join(config.output if on_s3 else output_dir, "metrics", "final.json")
        if storage.exists(final):  # written by rank 0 after the last report: VQA accuracy and the rest
            metrics.update(json.loads(storage.read_bytes(final)))
        files_written = {
            "model": ["model/"],
            "adapter": ["adapter/"] if os.path.isdir(join(output_dir, "adapter")) else [],
        }
        counts = {key: value for key, value in metrics.items() if isinstance(value, (int, float))}
        extra = {"train_run": run_name, "inputs": input_report(config, inputs, metrics)}
        manifest = root.finish(lambda _: Summary(counts, True, extra=extra, files=files_written))
    print(
        f"train complete: {metrics.get('step')} steps, loss {metrics.get('loss', float('nan')):.4f}, "
        f"val loss {metrics.get('base_val_loss', float('nan')):.4f} -> {metrics.get('val_loss', float('nan')):.4f}, "
        f"VQA F1 {metrics.get('vqa_f1', float('nan')):.3f} on {metrics.get('vqa_samples', 0)} questions; "
        f"model in {join(output_dir, 'model')}",
        file=sys.stderr,
    )
    return manifest


def read_inputs(config: TrainConfig, storage: Any) -> list[dict[str, Any]]:
    """Each training input's upstream record (uri, digest, job), its refined files and its split sizes,
    read through its manifest; a root without training rows stops the job here, before Ray.

    Raises:
        ConfigError, UpstreamError: naming the root and the fix.
    """
    from cephalo_ray.config import ConfigError
    from cephalo_ray.output_root import read_upstream
    from cephalo_ray.storage import join

    inputs = []
    for item in config.roots:
        upstream, digest = read_upstream(storage, item.root, config.allow_partial)
        files = [join(item.root, name) for name in upstream["files"].get("refined", [])]
        table = storage.read_parquet(files, columns=["split"]) if files else None
        splits = table.column("split").to_pylist() if table is not None else []
        if not splits.count("train"):
            raise ConfigError(
                f"{item.root} has no refined training rows to train on: refine more pairs into it, or "
                "remove it from `inputs`"
            )
        inputs.append(
            {
                "files": files,
                "upstream": {"uri": item.root, "digest": digest, "job": upstream.get("job")},
                "weight": item.weight,
                "train_rows": splits.count("train"),
                "val_rows": splits.count("val"),
            }
        )
    return inputs


def input_report(
    config: TrainConfig, inputs: list[dict[str, Any]], metrics: dict[str, Any]
) -> list[dict[str, Any]]:
    """Per input: its root, digest, weight and rows, and the mix the run achieved (rows drawn)."""
    drawn = [int(metrics.get(f"rows_from_input_{index}", 0)) for index in range(len(inputs))]
    total_weight = sum(item["weight"] for item in inputs)
    return [
        {
            **item["upstream"],
            "weight": item["weight"],
            "share_asked": item["weight"] / total_weight,
            "train_rows": item["train_rows"],
            "val_rows": item["val_rows"],
            "rows_drawn": count,
            "share_drawn": count / sum(drawn) if sum(drawn) else 0.0,
        }
        for item, count in zip(inputs, drawn, strict=True)
    ]


def check_tracking_installed(tracking_uri: str) -> None:
    """Stop before Ray when the tracker's packages are missing (workers would fail much later)."""
    from cephalo_ray.config import ConfigError

    needed = ["mlflow"] + (["sqlalchemy", "alembic"] if tracking_uri.startswith("sqlite:") else [])
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"tracking.mlflow is set but {', '.join(missing)} is not installed: "
            "pip install 'cephalo_ray[tracking]', or remove tracking.mlflow"
        )


def check_packing(config: TrainConfig, storage: Any) -> None:
    """Stop before Ray when packed sequences would not train as their separate examples do.

    Raises:
        ConfigError: naming the model's family or attention kernel, and the fix.
    """
    from pathlib import Path

    from cephalo_ray.config import ConfigError
    from cephalo_ray.models.loader import local_model_dir
    from cephalo_ray.train.packing import packing_refusal

    folder = Path(local_model_dir(config.model, storage))
    if not (folder / "config.json").exists():  # a hub name: transformers reads its config
        from transformers import AutoConfig

        model_type = AutoConfig.from_pretrained(
            str(folder), trust_remote_code=config.trust_remote_code
        ).model_type
    else:
        model_type = json.loads((folder / "config.json").read_text()).get("model_type")
    attention = None if config.attn_implementation == "auto" else config.attn_implementation
    refusal = packing_refusal(model_type, attention)
    if refusal:
        raise ConfigError(
            f"data.packing: {refusal}, so packed examples would not train as they do alone; "
            "set data.packing: false"
        )


def checked_processor(config: TrainConfig, storage: Any) -> Any:
    """The model's processor with `data.*` image settings applied.

    Raises:
        ConfigError: a setting this processor does not have.
    """
    from cephalo_ray.config import ConfigError
    from cephalo_ray.models.loader import load_processor, local_model_dir
    from cephalo_ray.train.budget import apply_image_settings

    processor = load_processor(local_model_dir(config.model, storage), config.trust_remote_code)
    try:
        apply_image_settings(
            processor,
            config.data.image_longest_edge,
            config.data.split_images,
            config.data.min_pixels,
            config.data.max_pixels,
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return processor


def token_budget(config: TrainConfig, storage: Any, files: list[str], sample: int = 256) -> dict[str, Any]:
    """Print and return the token lengths of up to `sample` training rows as this config builds them
    (the processor's image settings applied), against `max_length`; loads no weights and starts no Ray."""
    from cephalo_ray.train.budget import length_report, sample_lengths
    from cephalo_ray.train.loop import CAPTION_PROMPT
    from cephalo_ray.train.packing import packing_report

    processor = checked_processor(config, storage)
    rows = []
    for uri in files:
        table = storage.read_parquet([uri], columns=["image", "orig_caption", "conversations", "split"])
        rows += [row for row in (table.to_pylist() if table is not None else []) if row["split"] == "train"]
        if len(rows) >= sample:
            break
    lengths = sample_lengths(rows[:sample], processor, config.task, CAPTION_PROMPT)
    report = length_report(lengths, config.max_length, config.overflow)
    # Dropped rows are not packed; truncated ones are, at max_length.
    kept = [length for length in lengths if config.overflow != "drop" or length <= config.max_length]
    packed = packing_report(kept, config.max_length, config.optim.micro_batch_size)
    if config.data.packing:
        report.update(packed)
    packing_line = (
        f"packing makes {packed['packed_sequences']} sequences of {len(kept)} examples "
        f"({packed['examples_per_sequence']} per sequence, {packed['fill_packed']:.0%} full); unpacked, "
        f"{packed['padding_share_unpacked']:.0%} of each micro-batch would be padding"
    )
    print(
        f"train --dry-run: {report['samples']} training rows: tokens p50 {report['p50_tokens']}, p95 "
        f"{report['p95_tokens']}, max {report['max_tokens']}; {report['over_max_length']} over max_length "
        f"{config.max_length} would be {config.overflow}d; "
        + (packing_line if config.data.packing else f"data.packing is off ({packing_line})")
        + "; nothing was trained",
        file=sys.stderr,
    )
    return {"dry_run": True, **report}


def fit(
    config: TrainConfig,
    storage: Any,
    inputs: list[dict[str, Any]],
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
        datasets: dict[str, Any] = {}
        val_parts = []
        for index, item in enumerate(inputs):
            filesystem, paths = storage.filesystem_and_paths(item["files"])
            columns = ["image", "orig_caption", "conversations", "split"]
            rows = ray.data.read_parquet(paths, filesystem=filesystem, columns=columns)
            train = rows.filter(lambda row: row["split"] == "train")
            if config.data.shuffle:
                train = train.random_shuffle(seed=config.seed)
            datasets[f"train_{index}"] = train  # the worker mixes them by `input_weights`
            val_parts.append(rows.filter(lambda row: row["split"] == "val"))
        datasets["val"] = val_parts[0].union(*val_parts[1:]) if len(val_parts) > 1 else val_parts[0]
        trainer = TorchTrainer(
            train_loop_per_worker=train_worker,  # type: ignore[arg-type]  # returns its summary for local runs
            train_loop_config={
                **settings_for(config, output_dir, fail_at_step, run_name),
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
            datasets=datasets,
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
