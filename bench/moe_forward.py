"""MoE forward time with only the routed experts computed, against every expert computed densely
(the way the published Cephalo MoE notebook runs its experts), and the memory of a layer-stacking merge.

    python -m bench.moe_forward --experts 4 --hidden 512 --layers 4 --tokens 2048

Part 1 builds K random Llama experts, the MoE of them (top-1 and top-2), and times one forward over
`--tokens` tokens: sparse (transformers' Mixtral block, as exported) versus dense-all-experts (each
expert on every token, weighted by the same router). Part 2 stacks two models (all layers of one +
half of the other) in a fresh process and reports its peak resident memory over the size of one model.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def all_experts_forward(block: Any, hidden_states: Any) -> Any:
    """Every expert on every token, mixed by the router's top-k weights (zero for the others)."""
    import torch

    batch, length, width = hidden_states.shape
    flat = hidden_states.reshape(-1, width)
    _, weights, indices = block.gate(flat)
    mixing = torch.zeros(flat.shape[0], block.experts.num_experts, dtype=flat.dtype)
    mixing.scatter_(1, indices, weights.to(flat.dtype))
    output = torch.zeros_like(flat)
    for expert in range(block.experts.num_experts):
        gate, up = torch.nn.functional.linear(flat, block.experts.gate_up_proj[expert]).chunk(2, dim=-1)
        result = torch.nn.functional.linear(block.experts.act_fn(gate) * up, block.experts.down_proj[expert])
        output += result * mixing[:, expert : expert + 1]
    return output.reshape(batch, length, width)


def timed_forward(model: Any, inputs: Any, repeats: int) -> float:
    import torch

    with torch.no_grad():
        model(inputs)  # warm-up
        started = time.perf_counter()
        for _ in range(repeats):
            model(inputs)
    return (time.perf_counter() - started) / repeats


def forward_times(arguments: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    import torch
    from transformers import AutoModelForCausalLM

    from cephalo_ray.merge.moe import build_moe
    from cephalo_ray.models.tiny import build_tiny_causal_lm

    size = {
        "hidden_size": arguments.hidden,
        "intermediate_size": arguments.hidden * 4,
        "num_hidden_layers": arguments.layers,
        "num_attention_heads": 8,
        "num_key_value_heads": 8,
        "max_position_embeddings": max(arguments.tokens, 512),
    }
    experts = []
    for seed in range(arguments.experts):
        build_tiny_causal_lm("llama", folder / f"expert{seed}", seed=seed, **size)
        experts.append(str(folder / f"expert{seed}"))
    inputs = torch.randint(5, 400, (1, arguments.tokens))
    rows = []
    for top_k in (1, 2):
        build_moe(experts[0], experts, folder / f"moe-top{top_k}", experts_per_token=top_k)
        for implementation in ("grouped_mm", "eager"):
            model = AutoModelForCausalLM.from_pretrained(
                folder / f"moe-top{top_k}", experts_implementation=implementation
            ).eval()
            sparse = timed_forward(model, inputs, arguments.repeats)
            for layer in model.model.layers:
                block = layer.mlp
                block.forward = lambda hidden, block=block: all_experts_forward(block, hidden)
            dense = timed_forward(model, inputs, arguments.repeats)
            rows.append(
                {
                    "top_k": top_k,
                    "experts": arguments.experts,
                    "implementation": implementation,
                    "sparse_s": round(sparse, 4),
                    "all_experts_s": round(dense, 4),
                    "speedup": round(dense / sparse, 2),
                }
            )
    return rows


def anonymous_mb() -> float:
    """Resident memory not backed by files (mapped checkpoint pages are page cache, not counted)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stack_in_child(folder: Path) -> dict[str, Any]:
    """Runs in a fresh process: peak memory of the merge alone, sampled every 5 ms (Linux)."""
    import threading

    import torch  # noqa: F401  (imported before the baseline so it does not count)

    from cephalo_ray.merge.stacking import LayerSlice, stack_layers

    baseline_anonymous = anonymous_mb()
    peak = [baseline_anonymous]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], anonymous_mb())

    sampler = threading.Thread(target=sample)
    sampler.start()
    layers = json.loads((folder / "a" / "config.json").read_text())["num_hidden_layers"]
    started = time.perf_counter()
    record = stack_layers(
        {"a": str(folder / "a"), "b": str(folder / "b")},
        "a",
        [LayerSlice("a", 0, layers - 1), LayerSlice("b", layers // 2, layers - 1)],
        folder / "stacked",
        max_shard_bytes=256 * 1024**2,
    )
    done.set()
    sampler.join()
    return {
        "seconds": time.perf_counter() - started,
        "anonymous_mb": peak[0] - baseline_anonymous,
        "output_bytes": record["bytes"],
    }


def merge_memory(arguments: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from cephalo_ray.models.tiny import build_tiny_causal_lm

    size = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 8, "num_attention_heads": 8}
    for seed, name in enumerate("ab"):
        build_tiny_causal_lm("llama", folder / name, seed=seed, **size)
    model_bytes = sum(path.stat().st_size for path in (folder / "a").glob("*.safetensors"))
    command = [sys.executable, "-m", "bench.moe_forward", "--stack-child", str(folder)]
    result = json.loads(
        subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
    )
    layer_bytes = (result["output_bytes"] - model_bytes) / (size["num_hidden_layers"] // 2)
    model_mb = model_bytes / 1024**2
    return {
        "model_mb": round(model_mb, 1),
        "layer_mb": round(layer_bytes / 1024**2, 1),
        "peak_anonymous_mb": round(result["anonymous_mb"], 1),
        "peak_anonymous_over_model": round(result["anonymous_mb"] / model_mb, 3),
        "seconds": round(result["seconds"], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--experts", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stack-child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.stack_child:
        print(json.dumps(stack_in_child(Path(arguments.stack_child))))
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        rows = forward_times(arguments, Path(scratch))
        print(
            f"{'top-k':>5} {'K':>3} {'experts impl':>12} {'sparse s':>9} {'all experts s':>13} {'speed-up':>8}"
        )
        for row in rows:
            print(
                f"{row['top_k']:>5} {row['experts']:>3} {row['implementation']:>12} {row['sparse_s']:>9} "
                f"{row['all_experts_s']:>13} {row['speedup']:>7}x"
            )
        memory = merge_memory(arguments, Path(scratch) / "merge")
    print(
        f"stacking 8 + 4 layers of {memory['model_mb']} MB models ({memory['layer_mb']} MB per layer) in "
        f"{memory['seconds']} s: peak anonymous memory {memory['peak_anonymous_mb']} MB = "
        f"{memory['peak_anonymous_over_model']} x one model (tensors are memory-mapped from the checkpoints, "
        "so their pages are reclaimable page cache)"
    )
    print(json.dumps({"forward": rows, "merge_memory": memory}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
