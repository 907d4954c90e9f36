"""The per-worker training function: DeepSpeed over a VLM, with or without Ray.

Under Ray Train it reads its shards of the refine roots through `ray.train.get_dataset_shard`, reports
metrics and checkpoints, and resumes from `ray.train.get_checkpoint()`. Alone (one process,
`RANK=0 WORLD_SIZE=1`), it takes the rows directly and checkpoints into `checkpoint_dir` when given, so
the GPU paths and resuming can be checked where Ray is absent. A checkpoint records the step and the
rows each rank has drawn; a resumed run skips those rows and sees what an uninterrupted one would.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cephalo_ray.train.budget import apply_image_settings
from cephalo_ray.train.collate import (
    ANSWERS,
    Example,
    TooLongError,
    build_example,
    collate,
    has_chat_template,
)
from cephalo_ray.train.deepspeed_config import deepspeed_config
from cephalo_ray.train.mixing import MixedRows, RowSource, skip_for_rank
from cephalo_ray.train.packing import (
    IMAGE_AXIS,
    PACKING_WINDOW,
    collate_packed,
    pack,
    packing_refusal,
)
from cephalo_ray.train.recipes import Recipe, apply_recipe, trainable_summary
from cephalo_ray.train.report import ScalarLog, plot_loss_curve, vqa_accuracy
from cephalo_ray.train.tracking import MlflowRun

CAPTION_PROMPT = "Describe this figure."


@dataclass
class TrainSettings:
    """Everything one worker needs, as plain values (it travels to Ray workers as a dict)."""

    model: str
    output_dir: str  # local folder for the final model, adapter and metrics
    recipe: dict[str, Any] = field(default_factory=lambda: asdict(Recipe()))
    task: str = "conversations"  # or "captions": LLaVA stage 1, the caption is the answer
    masking: str = ANSWERS
    max_length: int = 2048
    overflow: str = "truncate"
    zero_stage: int = 2
    bf16: bool | None = None  # None: bf16 on CUDA, fp32 on CPU
    offload_optimizer: bool = False
    offload_parameters: bool = False
    micro_batch_size: int = 1
    gradient_accumulation_steps: int = 1
    learning_rate: float = 2e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    max_steps: int = 100
    max_grad_norm: float = 1.0
    eval_every: int = 50
    checkpoint_every: int = 50
    seed: int = 0
    s3_endpoint_url: str | None = None
    vqa_samples: int = 16  # validation questions answered by the exported model at the end (0: none)
    quantize_4bit: bool = False  # QLoRA: load the base model in 4 bit (CUDA and bitsandbytes only)
    attn_implementation: str | None = None  # sdpa, eager, flash_attention_2 (None: transformers' choice)
    gradient_checkpointing: bool = False  # recompute activations in the backward pass: less memory
    projector_learning_rate: float | None = None  # the projector's own rate (None: learning_rate)
    image_longest_edge: int | None = None  # the processor's resolution (tiling processors)
    split_images: bool | None = None  # the processor's tile splitting (None: as it is)
    min_pixels: int | None = None  # Qwen2-VL's least pixels per image (None: the processor's)
    max_pixels: int | None = None  # Qwen2-VL's most pixels per image (None: the processor's)
    trust_remote_code: bool = False  # run a checkpoint's own Python code (Phi-3-vision); refused otherwise
    upload_to: str | None = None  # an s3:// output root: rank 0 uploads model, adapter and metrics there
    fail_at_step: int | None = None  # fault injection for tests: one worker exits once at this step
    # One weight per training input (Ray datasets train_0, train_1, ...): its share of the rows drawn.
    input_weights: list[float] = field(default_factory=lambda: [1.0])
    checkpoint_dir: str | None = None  # without Ray: checkpoint here and resume from the latest one
    mlflow: dict[str, Any] | None = None  # tracking_uri, experiment, run_name, params: rank 0 logs there
    packing: bool = False  # several examples per sequence of at most max_length tokens (train/packing.py)
    packing_window: int = PACKING_WINDOW  # most examples packed together


@dataclass
class PackedPosition:
    """Where a packed stream is between two micro-batches: a resumed run draws the window again from its
    first row, packs it the same way and skips the micro-batches already taken."""

    window_start: int = 0  # rows drawn before the window in training
    batches_done: int = 0  # its micro-batches already yielded


class InjectedFailure(RuntimeError):
    """`fail_at_step` without Ray: the run stops as a crashed worker would."""


def cosine_with_warmup(warmup_steps: int, max_steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, max_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def row_to_example(row: dict[str, Any], processor: Any, settings: TrainSettings) -> Any:
    from PIL import Image

    image = Image.open(io.BytesIO(row["image"])).convert("RGB")
    if settings.task == "captions":
        conversations = [
            {"from": "human", "value": f"<image>\n{CAPTION_PROMPT}"},
            {"from": "gpt", "value": row["orig_caption"] or ""},
        ]
    else:
        conversations = row["conversations"]
    return build_example(
        processor, conversations, [image], settings.masking, settings.max_length, settings.overflow
    )


def examples(
    stream: MixedRows, processor: Any, settings: TrainSettings, counts: dict[str, int]
) -> Iterator[Example]:
    """Endless training examples from the stream's rows; over-long samples counted (and dropped when
    `overflow` is drop). Reads a row only when asked for the next example."""
    epochs_at_last_fit = list(stream.epochs)
    for row in stream:
        try:
            example = row_to_example(row, processor, settings)
        except TooLongError:
            counts["dropped_too_long"] += 1
            # Two epochs on from the last fit, every input has been read through with nothing fitting.
            if all(now - then >= 2 for now, then in zip(stream.epochs, epochs_at_last_fit, strict=True)):
                raise ValueError("no training example fits: every sample was dropped") from None
            continue
        epochs_at_last_fit = list(stream.epochs)
        counts["truncated"] += int(example.truncated)
        yield example
    raise AssertionError("the training stream is endless")


def batches(
    stream: MixedRows, processor: Any, settings: TrainSettings, counts: dict[str, int]
) -> Iterator[dict[str, Any]]:
    """Endless micro-batches over the stream's rows. Between two batches `stream.drawn` is exactly the
    rows they took, so a checkpoint can record it."""
    pending = []
    for example in examples(stream, processor, settings, counts):
        pending.append(example)
        if len(pending) == settings.micro_batch_size:
            yield collate(pending, processor.tokenizer.pad_token_id)
            pending = []
    raise AssertionError("the training stream is endless")


def packed_batches(
    stream: MixedRows,
    processor: Any,
    settings: TrainSettings,
    counts: dict[str, int],
    position: PackedPosition,
    skip_batches: int = 0,
    image_axis: int = 0,
) -> Iterator[dict[str, Any]]:
    """Endless packed micro-batches: each window of up to `packing_window` examples (to the first of an
    input's next epoch) packed first-fit-decreasing into sequences of at most `max_length` tokens,
    `micro_batch_size` sequences per micro-batch (one row). Between two batches `position` is where a
    resumed run starts; `skip_batches` is its `batches_done`; `image_axis` is the family's
    (`packing.IMAGE_AXIS`)."""
    made = examples(stream, processor, settings, counts)
    while True:
        start = stream.drawn
        window = [next(made)]
        # A window ends where an input starts another epoch: a small shard is not read many times over.
        epochs = list(stream.epochs)
        while len(window) < settings.packing_window and stream.epochs == epochs:
            window.append(next(made))
        bins = pack([example.length for example in window], settings.max_length, seed=settings.seed + start)
        size = settings.micro_batch_size
        groups = [
            [index for members in bins[at : at + size] for index in members]
            for at in range(0, len(bins), size)
        ]
        for number in range(skip_batches, len(groups)):
            finished = number + 1 == len(groups)
            position.window_start, position.batches_done = (
                (stream.drawn, 0) if finished else (start, number + 1)
            )
            yield collate_packed([window[index] for index in groups[number]], image_axis)
        skip_batches = 0


def train_worker(
    config: dict[str, Any],
    rows: list[dict[str, Any]] | None = None,
    val_rows: list[dict[str, Any]] | None = None,
    input_rows: list[list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Train on this worker; returns the final metrics on rank 0.

    Args:
        config: `TrainSettings` as a dict.
        rows, val_rows: the data when running without Ray (sharded here by rank).
        input_rows: instead of `rows`, the training rows of each input, mixed by `input_weights`.
    """
    import deepspeed
    import torch

    from cephalo_ray.models.loader import load_vlm
    from cephalo_ray.storage import Storage

    settings = TrainSettings(**config)
    in_ray = rows is None and input_rows is None
    rank, world_size = worker_rank()
    torch.manual_seed(settings.seed)
    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported() if settings.bf16 is None else settings.bf16
    if not cuda:
        deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False  # skips a 76 s compile, same results
    deepspeed.init_distributed(dist_backend="nccl" if cuda else "gloo")
    device = f"cuda:{torch.cuda.current_device()}" if cuda else "cpu"
    # Loaded in the dtype it trains in: a bf16 run never holds a full fp32 copy of the model.
    loaded = load_vlm(
        settings.model,
        dtype="bfloat16" if bf16 else "float32",
        device=device,
        storage=Storage(settings.s3_endpoint_url),
        quantize_4bit=settings.quantize_4bit,
        attn_implementation=settings.attn_implementation,
        trust_remote_code=settings.trust_remote_code,
    )
    if settings.packing:
        refusal = packing_refusal(
            loaded.facts.family, getattr(loaded.model.config, "_attn_implementation", None)
        )
        if refusal:  # the job refuses it before Ray; a direct caller is stopped here
            raise ValueError(f"packing: {refusal}")
    processor = loaded.processor
    processor.tokenizer.padding_side = "right"  # training pads on the right; generation on the left
    apply_image_settings(
        processor,
        settings.image_longest_edge,
        settings.split_images,
        settings.min_pixels,
        settings.max_pixels,
    )
    base = loaded.model
    if settings.quantize_4bit:
        from peft import prepare_model_for_kbit_training

        base = prepare_model_for_kbit_training(
            base, use_gradient_checkpointing=settings.gradient_checkpointing
        )
    elif settings.gradient_checkpointing:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        base.enable_input_require_grads()  # frozen embeddings: checkpointed blocks still get gradients
    model = apply_recipe(base, Recipe(**settings.recipe))
    sizes = trainable_summary(model)  # before ZeRO-3 partitions the parameters away
    groups = parameter_groups(model, loaded.facts.connector_path, settings)
    trainable = [parameter for group in groups for parameter in group["params"]]
    optimizer = torch.optim.AdamW(groups, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, cosine_with_warmup(settings.warmup_steps, settings.max_steps)
    )
    ds_config = deepspeed_config(
        zero_stage=settings.zero_stage,
        micro_batch_size=settings.micro_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        world_size=world_size,
        bf16=bf16,
        max_grad_norm=settings.max_grad_norm,
        offload_optimizer=settings.offload_optimizer,
        offload_parameters=settings.offload_parameters,
    )
    engine, _, _, _ = deepspeed.initialize(
        model=model, model_parameters=trainable, optimizer=optimizer, lr_scheduler=scheduler, config=ds_config
    )
    train_sources, val_source = data_sources(
        in_ray, input_rows or [rows or []], val_rows, rank, world_size, len(settings.input_weights)
    )
    counts = {"dropped_too_long": 0, "truncated": 0}
    start_step, saved = restore(engine, in_ray, settings.checkpoint_dir)
    stream = MixedRows(
        train_sources,
        settings.input_weights,
        settings.seed,
        skip=skip_for_rank(dict(saved.get("rows_drawn", {})), rank, world_size),
    )
    log_path = Path(settings.output_dir, "metrics", f"steps-rank{rank}.jsonl")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, Any] = {
        "zero_stage": engine.zero_optimization_stage(),
        "world_size": world_size,
        "attn_implementation": getattr(base.config, "_attn_implementation", None),
        "gradient_checkpointing": bool(getattr(base, "is_gradient_checkpointing", False)),
        "quantized_4bit": bool(getattr(base, "is_loaded_in_4bit", False)),
        "learning_rates": [group["lr"] for group in groups],
        **sizes,
    }
    # ZeRO-3 replaces each parameter by a partition handle (`ds_id`); record what share was partitioned
    parameters = list(engine.module.parameters())
    metrics["partitioned_share"] = sum(hasattr(parameter, "ds_id") for parameter in parameters) / len(
        parameters
    )
    scalars = ScalarLog(Path(settings.output_dir, "metrics", "tensorboard"), enabled=rank == 0)
    tracker = MlflowRun.start(settings.mlflow) if rank == 0 and settings.mlflow else None
    val_points: list[tuple[int, float]] = []
    vqa_rows: list[dict[str, Any]] = []
    if start_step == 0:
        metrics["val_loss"] = metrics["base_val_loss"] = evaluate(
            engine, val_source, processor, settings, device
        )
        val_points.append((0, metrics["val_loss"]))
        scalars.add(0, **{"val/loss": metrics["val_loss"]})
        if tracker:
            tracker.log(0, val_loss=metrics["val_loss"])
    position = PackedPosition(window_start=stream.drawn)
    if settings.packing:
        taken = dict(saved.get("packed_batches_done", {}))
        # With another number of workers the window is another one: start it from its beginning.
        skip_batches = int(taken.get(str(rank), 0)) if len(taken) == world_size else 0
        image_axis = IMAGE_AXIS[loaded.facts.family]
        micro_batches = packed_batches(
            stream, processor, settings, counts, position, skip_batches, image_axis
        )
    else:
        micro_batches = batches(stream, processor, settings, counts)
    tokens = slots = 0
    started = time.perf_counter()
    for step in range(start_step, settings.max_steps):
        if (
            settings.fail_at_step == step
            and rank == world_size - 1
            and not Path(settings.output_dir, ".failed_once").exists()
        ):
            Path(settings.output_dir, ".failed_once").touch()
            if not in_ray:
                raise InjectedFailure(f"injected failure before step {step + 1}")
            wait_until_reports_collected()
            os._exit(1)  # a crashed worker, for the fault-tolerance test
        loss = 0.0
        for _ in range(settings.gradient_accumulation_steps):
            batch = {key: on_device(value, device) for key, value in next(micro_batches).items()}
            if bf16 and "pixel_values" in batch:
                batch["pixel_values"] = batch["pixel_values"].to(torch.bfloat16)
            mask = batch.get("attention_mask")  # packed rows have none: every token is real
            tokens += int(mask.sum()) if mask is not None else batch["input_ids"].numel()
            slots += batch["input_ids"].numel()
            # training never reads a KV cache: building one costs memory per layer for nothing
            batch.setdefault("use_cache", False)
            output = engine(**batch)
            engine.backward(output.loss)
            engine.step()
            loss += output.loss.item() / settings.gradient_accumulation_steps
        learning_rate = float(scheduler.get_last_lr()[0])
        with log_path.open("a") as log:
            record = {"step": step + 1, "loss": loss, "lr": learning_rate, "rows_drawn": stream.drawn}
            log.write(json.dumps(record) + "\n")
        metrics.update(
            step=step + 1,
            loss=loss,
            seconds=time.perf_counter() - started,
            tokens=tokens,
            padding_share=1 - tokens / slots,
            **counts,
        )
        scalars.add(step + 1, **{"train/loss": loss, "train/lr": learning_rate})
        if tracker:
            tracker.log(step + 1, loss=loss, lr=learning_rate, tokens=tokens)
        done = step + 1 == settings.max_steps
        if (step + 1) % settings.eval_every == 0 or done:
            vqa_rows.clear()
            metrics["val_loss"] = evaluate(engine, val_source, processor, settings, device, keep=vqa_rows)
            metrics["best_val_loss"] = min(metrics.get("best_val_loss", math.inf), metrics["val_loss"])
            val_points.append((step + 1, metrics["val_loss"]))
            scalars.add(step + 1, **{"val/loss": metrics["val_loss"]})
            if tracker:
                tracker.log(step + 1, val_loss=metrics["val_loss"])
        checkpointing = in_ray or bool(settings.checkpoint_dir)  # the same on every rank: all_reduce inside
        if checkpointing and ((step + 1) % settings.checkpoint_every == 0 or done):
            # A packed run restarts its window: the rows before it, and its micro-batches already taken.
            rows_taken = position.window_start if settings.packing else stream.drawn
            state = {"step": step + 1, "rows_drawn": drawn_per_rank(rows_taken, device)}
            if settings.packing:
                state["packed_batches_done"] = drawn_per_rank(position.batches_done, device)
            if in_ray:
                report_checkpoint(engine, state, metrics)
            elif settings.checkpoint_dir:
                save_local_checkpoint(engine, state, Path(settings.checkpoint_dir))
    # Every rank draws the same mix, so the whole run's counts are rank 0's times the ranks; summed anyway.
    metrics.update(
        {
            f"rows_from_input_{index}": count
            for index, count in enumerate(summed_over_ranks(stream.drawn_per_source, device))
        }
    )
    export(engine, processor, settings, rank)
    scalars.close()
    if rank == 0:
        metrics_dir = Path(settings.output_dir, "metrics")
        plot_loss_curve(log_path, val_points, metrics_dir / "loss.png")
        # The serving engine asks in chat form: a model without a chat template (PaliGemma) is not asked.
        if settings.vqa_samples and has_chat_template(processor):
            metrics.update(vqa_accuracy(Path(settings.output_dir, "model"), vqa_rows, settings.vqa_samples))
        (metrics_dir / "final.json").write_text(json.dumps(metrics, indent=2, default=float))
        if tracker:
            tracker.finish(metrics)
        if settings.upload_to:
            upload_folder(Path(settings.output_dir), settings.upload_to, settings.s3_endpoint_url)
    return metrics


def on_device(value: Any, device: str) -> Any:
    """A tensor moved to `device`; other batch values (a packed batch's `use_cache`) as they are."""
    return value.to(device) if hasattr(value, "to") else value


def parameter_groups(model: Any, connector_path: str, settings: TrainSettings) -> list[dict[str, Any]]:
    """Optimizer groups: the projector at `projector_learning_rate` (when set), the rest at
    `learning_rate` (LLaVA trains a fresh projector faster than LoRA adapters)."""
    connector = connector_path.split(".")[-1]
    projector: list[Any] = []
    others: list[Any] = []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            in_projector = f".{connector}." in f".{name}."
            (projector if in_projector and settings.projector_learning_rate else others).append(parameter)
    groups = [{"params": others, "lr": settings.learning_rate}]
    if projector:
        groups.append({"params": projector, "lr": settings.projector_learning_rate})
    return [group for group in groups if group["params"]]


def worker_rank() -> tuple[int, int]:
    try:
        import ray.train

        context = ray.train.get_context()
        return context.get_world_rank(), context.get_world_size()
    except (ImportError, RuntimeError, AttributeError):
        return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def data_sources(
    in_ray: bool,
    input_rows: list[list[dict[str, Any]]],
    val_rows: list[dict[str, Any]] | None,
    rank: int,
    world_size: int,
    inputs: int,
) -> tuple[list[RowSource], RowSource]:
    """One epoch-starting source per training input (Ray datasets `train_<i>`), and the validation rows."""
    if in_ray:
        import ray.train

        shards = [ray.train.get_dataset_shard(f"train_{index}") for index in range(inputs)]
        val_shard = ray.train.get_dataset_shard("val")
        return [shard_epochs(shard) for shard in shards], (
            lambda: iter(val_shard.iter_rows()) if val_shard else iter(())
        )
    if len(input_rows) != inputs:
        raise ValueError(f"{len(input_rows)} lists of training rows for {inputs} input weights")
    own_val = (val_rows or [])[rank::world_size]
    return [list_epochs(rows[rank::world_size]) for rows in input_rows], (lambda: iter(own_val))


def shard_epochs(shard: Any) -> RowSource:
    return lambda: iter(shard.iter_rows())


def list_epochs(rows: list[dict[str, Any]]) -> RowSource:
    return lambda: iter(rows)


def evaluate(
    engine: Any,
    source: Callable[[], Iterator[dict[str, Any]]],
    processor: Any,
    settings: TrainSettings,
    device: str,
    keep: list[dict[str, Any]] | None = None,
) -> float:
    """Mean loss over this worker's validation rows, averaged over workers.

    Rows are read only here, by every worker together: Ray Data's split shards advance in step, so a
    worker that reads its shard alone later would wait for the others forever. `keep` collects up to
    `settings.vqa_samples` of them for the final VQA check.
    """
    import torch
    import torch.distributed as dist

    engine.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for row in source():
            if keep is not None and len(keep) < settings.vqa_samples:
                keep.append(row)
            try:
                example = row_to_example(row, processor, settings)
            except TooLongError:
                continue
            batch = {
                key: value.to(device)
                for key, value in collate([example], processor.tokenizer.pad_token_id).items()
            }
            total += engine(**batch, use_cache=False).loss.float().item()
            count += 1
    engine.train()
    sums = torch.tensor([total, count], dtype=torch.float64, device=device)
    if dist.is_initialized():
        dist.all_reduce(sums)
    return float(sums[0] / sums[1]) if sums[1] else float("nan")


def wait_until_reports_collected(limit_s: float = 60.0) -> None:
    """Block until Ray Train's controller has taken this worker's queued reports.

    The controller polls workers every few seconds; a worker that dies before the poll loses the
    checkpoint it reported. The injected crash waits so that it tests resuming, not that race.
    """
    from ray.train.v2._internal.execution.context import get_train_context

    queue = get_train_context().get_result_queue()
    deadline = time.monotonic() + limit_s
    while not queue.empty() and time.monotonic() < deadline:
        time.sleep(0.1)


def drawn_per_rank(drawn: int, device: str) -> dict[str, int]:
    """Rows each rank has drawn, by rank: every rank writes the same `state.json` into a checkpoint."""
    rank, world_size = worker_rank()
    slots = [drawn if index == rank else 0 for index in range(world_size)]
    return {str(index): count for index, count in enumerate(summed_over_ranks(slots, device))}


def summed_over_ranks(values: list[int], device: str) -> list[int]:
    import torch
    import torch.distributed as dist

    totals = torch.tensor(values, dtype=torch.int64, device=device)
    if dist.is_initialized():
        dist.all_reduce(totals)
    return [int(value) for value in totals.tolist()]


def report_checkpoint(engine: Any, state: dict[str, Any], metrics: dict[str, Any]) -> None:
    import ray.train

    with tempfile.TemporaryDirectory() as folder:
        engine.save_checkpoint(folder, tag="engine")
        Path(folder, "state.json").write_text(json.dumps(state))
        ray.train.report(dict(metrics), checkpoint=ray.train.Checkpoint.from_directory(folder))


def save_local_checkpoint(engine: Any, state: dict[str, Any], folder: Path) -> None:
    """Without Ray: the engine under a tag per step, then `state.json` naming it (written last, so a
    crash mid-save leaves the previous checkpoint in force)."""
    tag = f"step-{state['step']}"
    engine.save_checkpoint(str(folder), tag=tag)
    if worker_rank()[0] == 0:
        Path(folder, "state.json.tmp").write_text(json.dumps({**state, "tag": tag}))
        os.replace(Path(folder, "state.json.tmp"), Path(folder, "state.json"))


def restore(engine: Any, in_ray: bool, checkpoint_dir: str | None) -> tuple[int, dict[str, Any]]:
    """Resume from the latest checkpoint (Ray Train's, or `checkpoint_dir` without Ray).

    Returns:
        The step to continue from and the saved state: `rows_drawn` by each rank by then and, for a
        packed run, `packed_batches_done` (empty when starting).
    """
    if not in_ray:
        if not checkpoint_dir or not Path(checkpoint_dir, "state.json").exists():
            return 0, {}
        state = json.loads(Path(checkpoint_dir, "state.json").read_text())
        engine.load_checkpoint(checkpoint_dir, tag=state["tag"])
        return int(state["step"]), state
    import ray.train

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        return 0, {}
    with checkpoint.as_directory() as folder:
        engine.load_checkpoint(folder, tag="engine")
        state = json.loads(Path(folder, "state.json").read_text())
    # Checkpoints written before positions were recorded restart the stream from its beginning.
    return int(state["step"]), state


def export(engine: Any, processor: Any, settings: TrainSettings, rank: int) -> None:
    """Write `model/` (merged, `save_pretrained`) and, for LoRA, `adapter/`; rank 0 writes."""
    import deepspeed

    module = engine.module
    parameters = list(module.parameters())
    with deepspeed.zero.GatheredParameters(parameters, modifier_rank=0, enabled=settings.zero_stage == 3):
        if rank == 0:
            processor.tokenizer.padding_side = "left"
            if hasattr(module, "merge_and_unload"):
                module.save_pretrained(Path(settings.output_dir, "adapter"))
                module = module.merge_and_unload()
            module.save_pretrained(Path(settings.output_dir, "model"))
            processor.save_pretrained(Path(settings.output_dir, "model"))


def upload_folder(folder: Path, target: str, s3_endpoint_url: str | None) -> None:
    """Copy a local run folder (model, adapter, metrics) to an s3:// output root."""
    from cephalo_ray.storage import Storage, join

    storage = Storage(s3_endpoint_url)
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".failed_once" not in path.name:
            storage.write_bytes(join(target, *path.relative_to(folder).parts), path.read_bytes())
