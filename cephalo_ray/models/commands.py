"""`cephalo model build-tiny FAMILY OUT` and `cephalo model info PATH`, for people and scripts.

cephalo model build-tiny idefics3 ./tiny-idefics3
cephalo model info ./tiny-idefics3 --json
cephalo model info s3://lab/models/cephalo-4b --image-size 448
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any


def model_info(path: str, image_size: int = 224, endpoint_url: str | None = None) -> dict[str, Any]:
    """Parameters, decoder layers, family and image tokens per `image_size` square image."""
    from PIL import Image

    from cephalo_ray.models.families import decoder_layers, image_tokens_per_image, text_config
    from cephalo_ray.models.loader import load_vlm
    from cephalo_ray.storage import Storage

    loaded = load_vlm(path, device="cpu", storage=Storage(s3_endpoint_url=endpoint_url))
    model = loaded.model
    image = Image.new("RGB", (image_size, image_size), (128, 128, 128))
    return {
        "path": path,
        "family": loaded.facts.family,
        "architecture": type(model).__name__,
        "parameters": sum(parameter.numel() for parameter in model.parameters()),
        "decoder_layers": len(decoder_layers(model)),
        "hidden_size": text_config(model.config).hidden_size,
        "vocab_size": text_config(model.config).vocab_size,
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "image_token": loaded.facts.image_token,
        "image_tokens_per_image": image_tokens_per_image(loaded.processor, image),
        "image_size": image_size,
        "tested_here": loaded.facts.tested_here,
    }


def main(argv: Sequence[str] | None = None, prog: str = "cephalo model") -> int:
    from cephalo_ray.models.tiny import TINY_BUILDERS

    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build-tiny", help="build and save a tiny random-weight model of a family")
    build.add_argument("family", choices=sorted(TINY_BUILDERS))
    build.add_argument("output", help="folder to save the model and processor into")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--layers", type=int, default=2, help="decoder layers of the language model")
    info = commands.add_parser("info", help="parameters, layers, family and image tokens of a model")
    info.add_argument("path", help="hub name, local folder or s3:// folder")
    info.add_argument(
        "--image-size", type=int, default=224, help="side of the square image to count tokens for"
    )
    info.add_argument("--s3-endpoint-url", help="S3-compatible endpoint for s3:// paths")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    arguments = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if arguments.command == "build-tiny":
        from cephalo_ray.models.tiny import build_tiny

        build_tiny(
            arguments.family, arguments.output, seed=arguments.seed, num_hidden_layers=arguments.layers
        )
        print(f"built a tiny {arguments.family} model in {arguments.output}", file=sys.stderr)
        return 0
    try:
        details = model_info(arguments.path, arguments.image_size, arguments.s3_endpoint_url)
    except (OSError, ValueError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    if arguments.json:
        print(json.dumps(details, indent=2))
    else:
        width = max(len(key) for key in details)
        print("\n".join(f"{key:<{width}}  {value}" for key, value in details.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
