"""Batch captioning throughput: images/s of `cephalo caption` with the engine batching inside each
actor, against one image at a time, on a tiny LLaVA and generated images (one local Ray for both).

    python -m bench.caption_throughput --images 96 --max-tokens 24

Both runs answer the same images with the same prompt, greedily; only `resources.max_batch_size`
differs (32 vs 1). Rates come from each run's manifest: the steady rate while the actor works (the
ratio), and the whole rate with model loading.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=192)
    parser.add_argument("--max-tokens", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=32, help="images handed to the actor at once")
    arguments = parser.parse_args()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import ray
    from PIL import Image

    from cephalo_ray.jobs.batch_caption import CaptionConfig, run
    from cephalo_ray.models.tiny import build_tiny

    folder = Path(tempfile.mkdtemp(prefix="cephalo-bench-"))
    build_tiny("llava", folder / "tiny")
    (folder / "images").mkdir()
    for number in range(arguments.images):
        Image.new("RGB", (40 + number % 7, 32), (number * 5 % 255, 120, 60)).save(
            folder / "images" / f"{number:04d}.png"
        )
    ray.init(
        address="local",
        include_dashboard=False,
        logging_level="ERROR",
        _temp_dir=tempfile.mkdtemp(prefix="crb-", dir="/tmp"),
    )
    results = {}
    try:
        for label, batch in (("batched", 32), ("one at a time", 1)):
            config = CaptionConfig.model_validate(
                {
                    "input": str(folder / "images"),
                    "output": str(folder / f"out-{batch}"),
                    "model": str(folder / "tiny"),
                    "sampling": {"max_tokens": arguments.max_tokens},
                    "resources": {"actors": 1, "batch_size": arguments.batch_size, "max_batch_size": batch},
                }
            )
            results[label] = run(config)["counts"]
    finally:
        ray.shutdown()
    print(f"{arguments.images} images, {arguments.max_tokens} tokens each, one actor, tiny LLaVA on CPU")
    for label, counts in results.items():
        print(
            f"{label:>14}: {counts['actor_images_per_second']:7.2f} images/s while the actor works, "
            f"{counts['images_per_second']:7.2f} images/s with model loading, {counts['tokens_per_second']:9.1f} tokens/s"
        )
    ratio = (
        results["batched"]["actor_images_per_second"] / results["one at a time"]["actor_images_per_second"]
    )
    print(f"batching speed-up while the actor works: {ratio:.2f}x (goal >= 4x)")
    print(json.dumps({"results": results, "speedup": ratio}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
