"""DeepSpeed configs for ZeRO-2 and ZeRO-3: bf16 on GPUs, fp32 on CPU, optional offload."""

from __future__ import annotations

from typing import Any


def deepspeed_config(
    *,
    zero_stage: int,
    micro_batch_size: int,
    gradient_accumulation_steps: int,
    world_size: int,
    bf16: bool,
    max_grad_norm: float,
    offload_optimizer: bool = False,
    offload_parameters: bool = False,
) -> dict[str, Any]:
    """The config dict `deepspeed.initialize` takes (the optimizer and scheduler are passed as objects)."""
    if zero_stage not in (0, 1, 2, 3):
        raise ValueError(f"zero_stage {zero_stage} is not 0, 1, 2 or 3")
    if offload_parameters and zero_stage != 3:
        raise ValueError("offloading parameters needs zero_stage 3")
    zero: dict[str, Any] = {"stage": zero_stage, "overlap_comm": False, "contiguous_gradients": True}
    if offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if offload_parameters:
        zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    if zero_stage == 3:
        zero["stage3_gather_16bit_weights_on_model_save"] = True
    return {
        "train_micro_batch_size_per_gpu": micro_batch_size,
        "gradient_accumulation_steps": gradient_accumulation_steps,
        "train_batch_size": micro_batch_size * gradient_accumulation_steps * world_size,
        "gradient_clipping": max_grad_norm,
        "bf16": {"enabled": bf16},
        "zero_optimization": zero,
        "zero_allow_untested_optimizer": True,  # torch AdamW: DeepSpeed's CPU Adam compiles for minutes
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
