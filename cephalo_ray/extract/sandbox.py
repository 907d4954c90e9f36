"""Run a parse function in a child process that can be killed.

A PDF can loop inside C code, segfault the parser or eat all memory. The parse runs in a long-lived
child (spawned once, reused across documents) under an address-space cap; the parent waits with a
timeout. A hung child is killed (`Timeout`), a dead one reported (`Crashed`), one over its memory
cap reported as `TooLarge`; a fresh child is spawned for the next document.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from cephalo_ray.extract.document import CRASHED, FAILED, TIMEOUT, TOO_LARGE, ExtractError

ParseFunction = Callable[..., Any]


def _child_loop(connection: Connection, function: ParseFunction, memory_mb: int | None) -> None:
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the child stops
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        args, kwargs = message
        try:
            reply: tuple[Any, ...] = ("ok", function(*args, **kwargs))
        except ExtractError as error:
            reply = ("error", error.kind, error.message)
        except MemoryError:
            reply = ("error", TOO_LARGE, f"parsing needed more than the memory cap of {memory_mb} MiB")
        except Exception as error:  # any other failure of one document must not end the worker
            detail = traceback.format_exception_only(type(error), error)[-1].strip()
            out_of_memory = any(word in detail.lower() for word in ("malloc", "out of memory", "cannot allocate"))
            reply = ("error", TOO_LARGE if out_of_memory else FAILED, detail)
        try:
            connection.send(reply)
        except MemoryError:
            connection.send(("error", TOO_LARGE, f"the result is over the memory cap of {memory_mb} MiB"))


class SandboxedFunction:
    """Calls `function` in a killable child process, one call at a time.

    Args:
        function: a module-level (importable) function; the child imports it by reference.
        timeout_s: seconds one call may take before the child is killed.
        memory_mb: address-space cap of the child (None: no cap).
    """

    def __init__(self, function: ParseFunction, timeout_s: float, memory_mb: int | None) -> None:
        self.function = function
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._connection: Connection | None = None

    def _start(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._connection is not None:
            return self._connection
        self.close()
        parent_end, child_end = self._context.Pipe(duplex=True)
        self._process = self._context.Process(
            target=_child_loop, args=(child_end, self.function, self.memory_mb), daemon=True
        )
        self._process.start()
        child_end.close()
        self._connection = parent_end
        return parent_end

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run one call.

        Raises:
            ExtractError: `Timeout`, `Crashed` or `TooLarge` from the child's fate, or the error the
                function itself raised.
        """
        connection = self._start()
        try:
            connection.send((args, kwargs))
            ready = connection.poll(self.timeout_s)
            reply = connection.recv() if ready else None
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            reply = None
            ready = True
        if reply is None:
            exit_code = self._stop_child()
            if not ready:
                raise ExtractError(TIMEOUT, f"parsing took longer than {self.timeout_s:g} s (limits.timeout_s)")
            raise ExtractError(CRASHED, f"the parser process died ({describe_exit(exit_code)})")
        if reply[0] == "ok":
            return reply[1]
        raise ExtractError(reply[1], reply[2])

    def _stop_child(self) -> int | None:
        process = self._process
        if process is None:
            return None
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)  # SIGKILL also ends a SIGSTOPped child
        process.join(timeout=10)
        exit_code = process.exitcode
        self.close()
        return exit_code

    def close(self) -> None:
        """Stop the child, if any."""
        if self._connection is not None:
            try:
                self._connection.send(None)
            except OSError:
                pass
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.join(timeout=1)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=5)
            self._process = None


def describe_exit(exit_code: int | None) -> str:
    if exit_code is None:
        return "exit status unknown"
    if exit_code < 0:
        try:
            return f"killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"killed by signal {-exit_code}"
    return f"exit code {exit_code}"
