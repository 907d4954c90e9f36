"""Functions that misbehave on purpose: a parser selected by a word in the document's file name (it
runs inside the sandbox's child process, as a hostile PDF would make the real parser behave), and an
engine whose processor fails for chosen images (inside a caption actor, as a real fault would).
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cephalo_ray.extract.document import extract_document


def misbehaving_parse(pdf_bytes: bytes, source: str, **options: Any) -> Any:
    name = source.rsplit("/", 1)[-1]
    if "sigstop" in name:
        os.kill(os.getpid(), signal.SIGSTOP)  # frozen: only a kill from outside ends it
    if "segfault" in name:
        ctypes.string_at(0)
    if "hog" in name:
        hoard = [bytearray(64 * 2**20) for _ in range(1024)]  # 64 GiB, far over any cap
        return len(hoard)
    return extract_document(pdf_bytes, source, **options)


@dataclass(frozen=True)
class ProcessorFaults:
    """An engine (of a caption actor or a Serve replica) whose processor fails for images of chosen
    widths, as real faults would: in whatever batch the image is. Calls are counted in files under
    `counts` (one per width), because the engines live in other processes, which may be replaced.

    Args:
        counts: a folder for the call counts (and `processes`: the process id of every call).
        rejected: widths the processor refuses every time (the image's own fault).
        out_of_memory: (width, calls) pairs: the first `calls` calls with such an image raise
            `torch.OutOfMemoryError` (None: every call).
        worker_dies: widths whose first call from the engine's worker ends that thread.
        hangs: (width, calls) pairs: the first `calls` calls from the engine's worker with such an
            image hold the processor shut for `hang_s` (None: every call), as a hung engine would.
        hang_s: how long a hanging call holds (far past any deadline a test sets).
        rejected_words: words whose prompts the processor refuses every time, whatever the image.
    """

    counts: str
    rejected: frozenset[int] = frozenset()
    out_of_memory: tuple[tuple[int, int | None], ...] = ()
    worker_dies: frozenset[int] = frozenset()
    hangs: tuple[tuple[int, int | None], ...] = ()
    hang_s: float = 120.0
    rejected_words: frozenset[str] = frozenset()

    def load_engine(self, model: str, options: Any, **how: Any) -> Any:
        """`Engine.load`, with this processor in front of the real one (each load counted)."""
        from cephalo_ray.models.engine import Engine

        self.count("loads")
        engine = Engine.load(model, options, **how)
        engine.processor = FaultyProcessor(engine.processor, self)
        return engine

    def calls(self, width: int | str) -> int:
        """How many processor calls held an image of `width` so far (`"loads"`: engines loaded)."""
        path = Path(self.counts) / str(width)
        return path.stat().st_size if path.exists() else 0

    def count(self, width: int | str) -> int:
        """Count one call with an image of `width`; returns the calls so far, this one included."""
        Path(self.counts).mkdir(parents=True, exist_ok=True)
        with open(Path(self.counts) / str(width), "ab") as file:
            file.write(b".")
        return self.calls(width)

    def processes(self) -> list[int]:
        """The process id of every processor call so far, in order."""
        path = Path(self.counts) / "processes"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def first_in_worker(self, width: int) -> bool:
        """Whether this is the first call with an image of `width` from an engine's worker (marked)."""
        Path(self.counts).mkdir(parents=True, exist_ok=True)
        try:
            open(Path(self.counts) / f"{width}-died", "x").close()
            return True
        except FileExistsError:
            return False


class FaultyProcessor:
    """The real processor behind `ProcessorFaults`."""

    def __init__(self, processor: Any, faults: ProcessorFaults) -> None:
        self.processor = processor
        self.faults = faults

    def __getattr__(self, name: str) -> Any:
        return getattr(self.processor, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        import torch

        widths = {image.width for group in kwargs.get("images") or [] for image in group or []}
        Path(self.faults.counts).mkdir(parents=True, exist_ok=True)
        with open(Path(self.faults.counts) / "processes", "a") as file:
            file.write(f"{os.getpid()}\n")
        calls = {width: self.faults.count(width) for width in sorted(widths)}
        if threading.current_thread().name == "cephalo-engine":  # not a check before the engine
            for width in sorted(widths & self.faults.worker_dies):
                if self.faults.first_in_worker(width):
                    raise SystemExit("the worker was stopped")  # a BaseException: the worker ends
            for width, hanging in self.faults.hangs:
                if width in widths and (hanging is None or calls[width] <= hanging):
                    time.sleep(self.faults.hang_s)  # nothing interrupts it: only a fresh engine helps
        rejected = sorted(widths & self.faults.rejected)
        if rejected:
            raise ValueError(f"the processor cannot take an image {rejected[0]} pixels wide")
        texts = kwargs.get("text") or []
        words = sorted(word for word in self.faults.rejected_words if any(word in text for text in texts))
        if words:
            raise ValueError(f"the processor cannot take a prompt with {words[0]!r}")
        for width, failing in self.faults.out_of_memory:
            if width in widths and (failing is None or calls[width] <= failing):
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.processor(*args, **kwargs)


def loaded_modules(pdf_bytes: bytes, source: str, **options: Any) -> list[str]:
    """A parse that reports which modules its process had imported when it was called."""
    import sys

    return sorted(sys.modules)
