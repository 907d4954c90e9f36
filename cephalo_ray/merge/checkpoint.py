"""Streaming access to `save_pretrained` folders: read one tensor at a time, write shards as they fill.

Merges never hold a whole model: a reader hands out single tensors, each through its own mapping of
the file so that its pages leave memory with it, and the writer keeps tensors only until they fill
`max_shard_bytes`, then writes the shard and drops them. Peak resident memory is about two shards
(the pending tensors and their serialised copy) plus the layer being combined, whatever the output
size (tests/unit/merge/test_streaming_memory.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cephalo_ray.models.families import FAMILIES

WEIGHTS_INDEX = "model.safetensors.index.json"
SINGLE_WEIGHTS = "model.safetensors"
# Decoder layers of a language model carry these norms; vision encoders name theirs layer_norm1/2.
DECODER_LAYER_MARKERS = ("input_layernorm", "post_attention_layernorm")
LAYER_KEY = re.compile(r"^(?P<prefix>.+?\.layers)\.(?P<index>\d+)\.(?P<rest>.+)$")
WEIGHT_FILES = re.compile(r"^(model.*\.safetensors|model\.safetensors\.index\.json|pytorch_model.*\.bin.*)$")


class CheckpointError(ValueError):
    """A model folder this project cannot merge (no safetensors, unexpected layout)."""


class CheckpointReader:
    """The tensors of one model folder, by checkpoint key, loaded on demand."""

    def __init__(self, folder: str | Path) -> None:
        from safetensors import safe_open

        self.folder = Path(folder)
        index_file = self.folder / WEIGHTS_INDEX
        if index_file.exists():
            weight_map: dict[str, str] = json.loads(index_file.read_text())["weight_map"]
        elif (self.folder / SINGLE_WEIGHTS).exists():
            with safe_open(str(self.folder / SINGLE_WEIGHTS), "pt") as handle:
                weight_map = {key: SINGLE_WEIGHTS for key in handle.keys()}  # noqa: SIM118 (not a dict)
        else:
            raise CheckpointError(
                f"{self.folder} has no model.safetensors or {WEIGHTS_INDEX}; save the model with "
                "save_pretrained(..., safe_serialization=True)"
            )
        self.weight_map = weight_map
        self.config: dict[str, Any] = json.loads((self.folder / "config.json").read_text())
        self._shapes: dict[str, list[int]] = {}

    def keys(self) -> list[str]:
        return sorted(self.weight_map)

    def get(self, key: str) -> Any:
        """One tensor, backed by its own mapping of the file: the pages it touches leave memory when it
        is dropped. (A handle kept open maps the whole file once, and every page read through it stays
        resident until the handle closes, so a merge would end up holding everything it read.)"""
        from safetensors import safe_open

        with safe_open(str(self.folder / self.weight_map[key]), "pt") as handle:
            return handle.get_tensor(key)

    def shape(self, key: str) -> list[int]:
        if key not in self._shapes:
            from safetensors import safe_open

            with safe_open(str(self.folder / self.weight_map[key]), "pt") as handle:
                for name in handle.keys():  # noqa: SIM118 (not a dict)
                    self._shapes[name] = list(handle.get_slice(name).get_shape())
        return self._shapes[key]


class ShardWriter:
    """Writes tensors into `model-0000i-of-0000n.safetensors` shards plus the index, as they come."""

    def __init__(self, folder: str | Path, max_shard_bytes: int = 2 * 1024**3) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_shard_bytes = max_shard_bytes
        pin_mmap_threshold()
        self._pending: dict[str, Any] = {}
        self._pending_bytes = 0
        self._pending_storages: set[int] = set()
        self._shards: list[list[str]] = []
        self.total_bytes = 0

    def add(self, key: str, tensor: Any) -> None:
        size = tensor.numel() * tensor.element_size()
        if self._pending and self._pending_bytes + size > self.max_shard_bytes:
            self._flush()
        tensor = tensor.contiguous()
        storage = tensor.untyped_storage().data_ptr()
        if storage in self._pending_storages:  # views of one tensor (Phi-3's gate and up): save_file refuses
            tensor = tensor.clone()
        self._pending_storages.add(tensor.untyped_storage().data_ptr())
        self._pending[key] = tensor
        self._pending_bytes += size
        self.total_bytes += size

    def _flush(self) -> None:
        from safetensors.torch import save_file

        number = len(self._shards) + 1
        save_file(self._pending, str(self.folder / f"shard-{number:05d}.tmp"), metadata={"format": "pt"})
        self._shards.append(sorted(self._pending))
        self._pending, self._pending_bytes, self._pending_storages = {}, 0, set()

    def close(self) -> list[str]:
        """Flush the last shard and name the files the way `from_pretrained` expects; returns them."""
        if self._pending or not self._shards:
            self._flush()
        count = len(self._shards)
        names = (
            [SINGLE_WEIGHTS]
            if count == 1
            else [f"model-{i:05d}-of-{count:05d}.safetensors" for i in range(1, count + 1)]
        )
        for number, name in enumerate(names, start=1):
            os.replace(self.folder / f"shard-{number:05d}.tmp", self.folder / name)
        if count > 1:
            weight_map = {key: name for name, keys in zip(names, self._shards, strict=True) for key in keys}
            index = {"metadata": {"total_size": self.total_bytes}, "weight_map": weight_map}
            (self.folder / WEIGHTS_INDEX).write_text(json.dumps(index, indent=2, sort_keys=True))
        return names


def pin_mmap_threshold(threshold_bytes: int = 256 * 1024) -> None:
    """Serve every allocation above `threshold_bytes` by its own mapping (glibc; elsewhere nothing).

    A merge allocates and frees tensors of a few MB all the time. glibc raises its mmap threshold
    after the first such free, so later tensors come from the heap, whose freed holes stay resident:
    a weight merge's peak then wandered between 33 and 52 MB above its start from run to run of the
    same build, and is 33 MB every time with the threshold pinned. The setting is process-wide;
    only a process that allocates many small blocks would notice, and a merge does not."""
    import ctypes
    import ctypes.util

    m_mmap_threshold = -3  # from glibc's malloc.h
    name = ctypes.util.find_library("c")
    try:
        mallopt = getattr(ctypes.CDLL(name), "mallopt", None) if name else None
    except OSError:
        return
    if mallopt is not None:
        mallopt(m_mmap_threshold, threshold_bytes)


def decoder_layer_prefix(keys: Iterable[str], model_type: str | None = None) -> tuple[str, int]:
    """The checkpoint prefix of the language model's decoder layers and how many there are.

    A known VLM family (`model_type` of the checkpoint's config.json) names its text layers in
    `cephalo_ray.models.families`: `model.text_model.layers` for Idefics2, whose connector's perceiver
    resampler has decoder-like layers too, `language_model.model.layers` for a LLaVA checkpoint. For
    any other model (`model.layers` of a causal LM) the stack is the one whose layers have decoder
    norms; a vision encoder's `encoder.layers` names its norms layer_norm1/2.

    Raises:
        CheckpointError: when the stack is missing, ambiguous or not numbered 0..n-1; it lists the
            checkpoint's layer stacks.
    """
    stacks: dict[str, set[int]] = {}
    decoder_like: set[str] = set()
    for key in keys:
        match = LAYER_KEY.match(key)
        if match:
            stacks.setdefault(match["prefix"], set()).add(int(match["index"]))
            if match["rest"].split(".")[0] in DECODER_LAYER_MARKERS:
                decoder_like.add(match["prefix"])
    listed = ", ".join(sorted(stacks)) or "none"
    facts = FAMILIES.get(model_type or "")
    if facts is not None:
        names = (facts.layers_path, *facts.checkpoint_layers_paths)
        found = [name for name in names if name in stacks]
        if len(found) != 1:
            raise CheckpointError(
                f"a {model_type} checkpoint holds its text layers under {' or '.join(names)}; "
                f"this one's layer stacks are: {listed}"
            )
        prefix = found[0]
    elif len(decoder_like) == 1:
        (prefix,) = decoder_like
    else:
        raise CheckpointError(
            f"model_type {model_type!r} is not a family of cephalo_ray.models.families, and its decoder "
            f"stack is not the only one with input_layernorm / post_attention_layernorm: candidates "
            f"{', '.join(sorted(decoder_like)) or 'none'} (all layer stacks: {listed}); add the family "
            "and its `layers_path` there"
        )
    numbers = stacks[prefix]
    if numbers != set(range(len(numbers))):
        raise CheckpointError(f"{prefix} layer numbers are not 0..{len(numbers) - 1}: {sorted(numbers)}")
    return prefix, len(numbers)


def remote_code_refusal(config: dict[str, Any], folder: str | Path, trust_remote_code: bool) -> str | None:
    """Why a build from this model must stop, or None: its classes are Python files in its folder
    (Phi-3-vision's `phi3_v`, any config with an `auto_map`) and the job's config does not say to trust
    that code. The output carries it, and whoever loads the output runs it."""
    model_type = config.get("model_type")
    facts = FAMILIES.get(model_type or "")
    runs_code = (facts is not None and facts.trust_remote_code) or "auto_map" in config
    if not runs_code or trust_remote_code:
        return None
    files = ", ".join(sorted(path.name for path in Path(folder).glob("*.py"))) or "none in the folder"
    return (
        f"{folder} is a {model_type} model whose classes are Python code shipped with it ({files}); "
        "set trust_remote_code: true in the config to build from it (the output carries that code and "
        "loads with trust_remote_code=True)"
    )


def refuse_remote_code(reader: CheckpointReader, trust_remote_code: bool) -> None:
    """Raises CheckpointError when `remote_code_refusal` stops a build from this model."""
    message = remote_code_refusal(reader.config, reader.folder, trust_remote_code)
    if message:
        raise CheckpointError(message)


def split_layer_key(key: str, prefix: str) -> tuple[int, str] | None:
    """`(layer, rest)` when `key` belongs to a decoder layer under `prefix`, else None."""
    if not key.startswith(prefix + "."):
        return None
    index, _, rest = key[len(prefix) + 1 :].partition(".")
    return (int(index), rest) if index.isdigit() else None


def text_layer_stack(reader: CheckpointReader) -> tuple[str, int]:
    """`decoder_layer_prefix` of a model folder, told apart by its config's `model_type`."""
    return decoder_layer_prefix(reader.keys(), reader.config.get("model_type"))


def text_section(config: dict[str, Any]) -> dict[str, Any]:
    """The language model's part of a `config.json` dict (`text_config` inside a VLM)."""
    section = config.get("text_config")
    return section if isinstance(section, dict) else config


def copy_side_files(source: str | Path, target: str | Path) -> list[str]:
    """Copy tokenizer, processor, chat template and generation config files; not weights or config."""
    copied = []
    for path in sorted(Path(source).iterdir()):
        if path.is_file() and not WEIGHT_FILES.match(path.name) and path.name != "config.json":
            if not path.name.startswith("."):
                shutil.copy2(path, Path(target) / path.name)
                copied.append(path.name)
    return copied
