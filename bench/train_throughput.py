"""Training throughput and memory on a tiny model, one worker process per setting (no Ray):
samples/s, tokens/s, the share of padding in the micro-batches and peak resident memory for ZeRO-2
full, ZeRO-3 full, ZeRO-2 LoRA and ZeRO-2 LoRA with `data.packing` (one sequence of `max_length`
tokens per micro-batch instead of 4 padded samples; its samples/s is not counted).

    python -m bench.train_throughput --steps 30

Each setting runs in its own process so that its peak memory is its own; the first steps (warm-up)
count in the rates. Ratios (speed, memory) are against ZeRO-2 full fine-tuning.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

SETTINGS = {
    "zero2-full": {"zero_stage": 2, "recipe": "full"},
    "zero3-full": {"zero_stage": 3, "recipe": "full"},
    "zero2-lora": {"zero_stage": 2, "recipe": "lora"},
    "zero2-lora-packed": {"zero_stage": 2, "recipe": "lora", "packing": True},
}
MAX_LENGTH = 256  # longer than every sample here: only packing makes use of it


def one_run(name: str, steps: int, family: str) -> dict[str, float]:
    """Runs inside the child process."""
    from cephalo_ray.models.tiny import build_tiny
    from cephalo_ray.samples import gradient_png
    from cephalo_ray.train.loop import TrainSettings, train_worker
    from cephalo_ray.train.recipes import Recipe

    choice = SETTINGS[name]
    folder = Path(tempfile.mkdtemp())
    build_tiny(family, folder / "base")
    answer = "The silk fibre stretches because beta sheets carry the load. "
    rows = [  # answers of 1 to 4 sentences: figure Q&A is short and uneven
        {
            "image": gradient_png(40, 40, i),
            "orig_caption": "c",
            "conversations": [
                {"from": "human", "value": "<image>\nWhat is shown?"},
                {"from": "gpt", "value": (answer * (1 + i % 4)).strip()},
            ],
        }
        for i in range(16)
    ]
    packing = bool(choice.get("packing"))
    settings = TrainSettings(
        model=str(folder / "base"),
        output_dir=str(folder / "run"),
        recipe=asdict(Recipe(name=str(choice["recipe"]), train_language_model=choice["recipe"] == "full")),
        zero_stage=int(choice["zero_stage"]),
        max_steps=steps,
        eval_every=10**6,
        micro_batch_size=1 if packing else 4,
        max_length=MAX_LENGTH,
        packing=packing,
        packing_window=16,
    )
    started = time.perf_counter()
    metrics = train_worker(asdict(settings), rows=rows, val_rows=rows[:1])
    return {
        "seconds": metrics["seconds"],
        "wall": time.perf_counter() - started,
        "samples_per_s": float("nan") if packing else steps * settings.micro_batch_size / metrics["seconds"],
        "tokens_per_s": metrics["tokens"] / metrics["seconds"],
        "padding_share": metrics["padding_share"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "trainable": metrics["trainable_parameters"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--family", default="idefics3")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(one_run(arguments.child, arguments.steps, arguments.family)))
        return
    from cephalo_ray.train.packing import PACKABLE_FAMILIES

    results = {}
    for index, name in enumerate(SETTINGS):
        if SETTINGS[name].get("packing") and arguments.family not in PACKABLE_FAMILIES:
            print(f"{name}: skipped, packing is refused for {arguments.family} (try --family llava)")
            continue
        env = {**os.environ, "RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"}
        env["MASTER_PORT"] = str(29650 + index)
        command = [
            sys.executable,
            "-m",
            "bench.train_throughput",
            "--child",
            name,
            "--steps",
            str(arguments.steps),
            "--family",
            arguments.family,
        ]
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        results[name] = json.loads(output.strip().splitlines()[-1])
    base = results["zero2-full"]
    print(
        f"{'setting':<18} {'samples/s':>10} {'tokens/s':>9} {'padding':>8} {'peak MB':>9} {'trainable':>10}  "
        "ratios vs zero2-full (tokens/s, memory)"
    )
    for name, result in results.items():
        print(
            f"{name:<18} {result['samples_per_s']:>10.1f} {result['tokens_per_s']:>9.0f} "
            f"{result['padding_share']:>8.0%} {result['peak_rss_mb']:>9.0f} {result['trainable']:>10}  "
            f"{result['tokens_per_s'] / base['tokens_per_s']:.2f}, {result['peak_rss_mb'] / base['peak_rss_mb']:.2f}"
        )


if __name__ == "__main__":
    main()
