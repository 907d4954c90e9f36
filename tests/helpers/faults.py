"""Parse functions that misbehave on purpose, selected by a word in the document's file name.

They run inside the sandbox's child process, as a hostile PDF would make the real parser behave.
"""

from __future__ import annotations

import ctypes
import os
import signal
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
