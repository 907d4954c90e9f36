"""MoE forward time with only the routed experts computed, against every expert computed densely
(the way the published Cephalo MoE notebook runs its experts), and the peak memory of merges.

    python -m bench.moe_forward --experts 4 --hidden 512 --layers 4 --tokens 2048

Part 1 builds K random Llama experts, the MoE of them (top-1 and top-2), and times one forward over
`--tokens` tokens: sparse (transformers' Mixtral block, as exported) versus dense-all-experts (each
expert on every token, weighted by the same router). Part 2 builds, each in a fresh process, a stack
(all layers of one model + half of the other), a linear weight merge and a 2-expert MoE of two models
larger than the shard size (`--shard-mb`), and reports each process's peak resident memory
(VmHWM: heap, tensors and mapped checkpoint pages alike) over a process that only imports the
same modules, as a ratio to the output and to the shard size. Streaming keeps it near two shards and
a layer, whatever the output size.
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


MERGE_KINDS = ("stack", "linear", "moe")


def merge_in_child(folder: Path, kind: str, shard_mb: int) -> dict[str, Any]:
    """Runs in a fresh process: one build (`none`: only the imports, the baseline)."""
    import safetensors.torch  # noqa: F401  (the shard writer's lazy import, in the baseline too)

    from cephalo_ray.merge.blending import blend_checkpoints
    from cephalo_ray.merge.moe import build_moe, moe_config
    from cephalo_ray.merge.stacking import LayerSlice, stack_layers

    a, b = str(folder / "a"), str(folder / "b")
    base_config = json.loads((folder / "a" / "config.json").read_text())
    moe_config(base_config, 2, 1)  # its lazy transformers imports, in the baseline too
    layers = base_config["num_hidden_layers"]
    shard = shard_mb * 1024**2
    started = time.perf_counter()
    if kind == "stack":
        slices = [LayerSlice("a", 0, layers - 1), LayerSlice("b", layers // 2, layers - 1)]
        record = stack_layers({"a": a, "b": b}, "a", slices, folder / kind, max_shard_bytes=shard)
    elif kind == "linear":
        record = blend_checkpoints({"a": a, "b": b}, "a", "linear", folder / kind, max_shard_bytes=shard)
    elif kind == "moe":
        record = build_moe(a, [a, b], folder / kind, max_shard_bytes=shard)
    else:
        record = {"bytes": 0}
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "output_bytes": record["bytes"], "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's peak resident memory: every resident page, file-backed pages of mapped
    checkpoints included, not only the heap. VmHWM, not ru_maxrss: a child's ru_maxrss starts from the
    size of the process that forked it (Linux carries it over exec), which here is the forward part's."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def child_peak(folder: Path, kind: str, shard_mb: int) -> tuple[dict[str, Any], float]:
    """A build's result and the peak resident memory (MB) of the fresh process that ran it."""
    command = [sys.executable, "-m", "bench.moe_forward", "--merge-child", str(folder), kind, str(shard_mb)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = json.loads(output.splitlines()[-1])
    return result, result["peak_rss_mb"]


def merge_memory(arguments: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    from cephalo_ray.models.tiny import build_tiny_causal_lm

    size = {
        "hidden_size": arguments.merge_hidden,
        "intermediate_size": arguments.merge_hidden * 4,
        "num_hidden_layers": 8,
        "num_attention_heads": 8,
        "num_key_value_heads": 8,
    }
    for seed, name in enumerate("ab"):
        build_tiny_causal_lm("llama", folder / name, seed=seed, **size)
    model_bytes = sum(path.stat().st_size for path in (folder / "a").glob("*.safetensors"))
    layer_bytes = 4 * 4 * size["hidden_size"] ** 2 + 3 * 4 * size["hidden_size"] * size["intermediate_size"]
    _, baseline = child_peak(folder, "none", arguments.shard_mb)
    rows = []
    for kind in MERGE_KINDS:
        result, peak = child_peak(folder, kind, arguments.shard_mb)
        growth = peak - baseline
        output_mb = result["output_bytes"] / 1024**2
        rows.append(
            {
                "kind": kind,
                "model_mb": round(model_bytes / 1024**2, 1),
                "layer_mb": round(layer_bytes / 1024**2, 1),
                "shard_mb": arguments.shard_mb,
                "output_mb": round(output_mb, 1),
                "peak_rss_mb": round(peak, 1),
                "peak_rss_growth_mb": round(growth, 1),
                "growth_over_output": round(growth / output_mb, 3),
                "growth_over_shard": round(growth / arguments.shard_mb, 2),
                "seconds": round(result["seconds"], 2),
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--experts", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--merge-hidden", type=int, default=1024, help="hidden size of the merged models")
    parser.add_argument("--shard-mb", type=int, default=64, help="max shard size of the merges")
    parser.add_argument("--merge-child", nargs=3, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.merge_child:
        folder, kind, shard_mb = arguments.merge_child
        print(json.dumps(merge_in_child(Path(folder), kind, int(shard_mb))))
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
    first = memory[0]
    print(
        f"merges of two {first['model_mb']} MB models ({first['layer_mb']} MB per layer) into "
        f"{first['shard_mb']} MB shards; peak RSS (VmHWM) of the build's process over a process that "
        "only imports the same modules:"
    )
    print(
        f"{'merge':>6} {'output MB':>9} {'peak RSS MB':>11} {'growth MB':>9} {'/ output':>8} {'/ shard':>7} {'s':>6}"
    )
    for row in memory:
        print(
            f"{row['kind']:>6} {row['output_mb']:>9} {row['peak_rss_mb']:>11} {row['peak_rss_growth_mb']:>9} "
            f"{row['growth_over_output']:>8} {row['growth_over_shard']:>7} {row['seconds']:>6}"
        )
    print(json.dumps({"forward": rows, "merge_memory": memory}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
