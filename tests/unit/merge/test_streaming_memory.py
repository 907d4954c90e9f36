"""Merges hold about two shards and one layer, not the output: each build runs in a fresh process
whose peak resident memory (VmHWM, file-backed pages of mapped checkpoints included) is compared
with its resident memory just before the build, after the same imports.

Measured on two ~82 MB tiny Llamas (10 MB layers) with 10 MB shards: the peak grew by 126 MB (stack,
122 MB out), 195 MB (linear, 82 MB out) and 137 MB (MoE, 130 MB out) while every tensor was read
through one long-lived mapping per file; by 21, 33 and 24 MB, the same in every run, once each
tensor has its own mapping and large allocations are mapped rather than left as heap holes (33 to
52 MB from run to run for the weight merge before that).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cephalo_ray.models.tiny import build_tiny_causal_lm

SHARD_MB = 10
# ~10 MB per decoder layer, ~82 MB per model: the output is many shards
SIZE = {
    "hidden_size": 512,
    "intermediate_size": 1024,
    "num_hidden_layers": 8,
    "num_attention_heads": 8,
    "num_key_value_heads": 8,
}

CHILD = """
import json, sys
from pathlib import Path

import safetensors.torch  # noqa: F401  (the writer's lazy import: not the build's memory)

from cephalo_ray.merge.blending import blend_checkpoints
from cephalo_ray.merge.moe import build_moe, moe_config
from cephalo_ray.merge.stacking import LayerSlice, stack_layers

root, kind, shard = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]) * 1024**2
a, b = str(root / "a"), str(root / "b")
moe_config(json.loads((root / "a" / "config.json").read_text()), 2, 1)  # its lazy imports: not the build


def kilobytes(field):
    lines = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in lines if line.startswith(field + ":"))


before = kilobytes("VmRSS")
if kind == "stack":
    slices = [LayerSlice("a", 0, 7), LayerSlice("b", 4, 7)]
    record = stack_layers({"a": a, "b": b}, "a", slices, root / kind, max_shard_bytes=shard)
elif kind == "linear":
    record = blend_checkpoints({"a": a, "b": b}, "a", "linear", root / kind, max_shard_bytes=shard)
else:
    record = build_moe(a, [a, b], root / kind, max_shard_bytes=shard)
growth = (kilobytes("VmHWM") - before) * 1024
print(json.dumps({"growth": growth, "bytes": record["bytes"], "files": len(record["files"])}))
"""


@pytest.fixture(scope="module")
def wide_llamas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wide")
    for seed, name in enumerate("ab"):
        build_tiny_causal_lm("llama", root / name, seed=seed, **SIZE)
    return root


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc (Linux)")
@pytest.mark.parametrize("kind", ["stack", "linear", "moe"])
def test_a_merge_larger_than_its_shards_peaks_far_below_its_output(wide_llamas: Path, kind: str) -> None:
    command = [sys.executable, "-c", CHILD, str(wide_llamas), kind, str(SHARD_MB)]
    result = subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    measured = json.loads(result.stdout.splitlines()[-1])
    assert measured["bytes"] > 8 * SHARD_MB * 1024**2 and measured["files"] >= 8
    megabytes = {key: round(measured[key] / 1024**2, 1) for key in ("growth", "bytes")}
    # about 2 shards and a layer (30 MB) here; the whole output before
    assert measured["growth"] < measured["bytes"] / 2, megabytes
