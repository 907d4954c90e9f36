"""Run a parse function in a child process that can be killed.

A PDF can loop inside C code, segfault the parser or eat all memory. The parse runs in a long-lived
child (spawned once, reused across documents) under an address-space cap; the parent waits with a
timeout. A hung child is killed (`Timeout`), a dead one reported (`Crashed`), one over its memory
cap reported as `TooLarge`; a fresh child is spawned for the next document.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from cephalo_ray.extract.document import CRASHED, FAILED, TIMEOUT, TOO_LARGE, ExtractError

ParseFunction = Callable[..., Any]
STARTUP_TIMEOUT_S = 120.0  # interpreter start and imports; not charged to any document


def _child_loop(
    connection: Connection, function: ParseFunction, memory_mb: int | None, preload: list[str]
) -> None:
    for module_name in preload:  # before "ready": import time is start-up, not a document's parse
        importlib.import_module(module_name)
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the child stops
    connection.send(("ready",))
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
            out_of_memory = any(
                word in detail.lower() for word in ("malloc", "out of memory", "cannot allocate")
            )
            reply = ("error", TOO_LARGE if out_of_memory else FAILED, detail)
        try:
            connection.send(reply)
        except MemoryError:
            connection.send(("error", TOO_LARGE, f"the result is over the memory cap of {memory_mb} MiB"))


class SandboxedFunction:
    """Calls `function` in a killable child process, one call at a time.

    Args:
        function: a module-level function; the child imports it by `module:qualname`.
        timeout_s: seconds one call may take before the child is killed.
        memory_mb: address-space cap of the child (None: no cap).
        preload: modules the function imports lazily; the child imports them before it reports
            ready, so the first document's timeout is not spent on imports.
    """

    def __init__(
        self,
        function: ParseFunction,
        timeout_s: float,
        memory_mb: int | None,
        preload: tuple[str, ...] = (),
    ) -> None:
        self.function = function
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.preload = preload
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None

    def _start(self) -> Connection:
        if self._process is not None and self._process.poll() is None and self._connection is not None:
            return self._connection
        self.close()
        # A fresh interpreter, not multiprocessing's spawn: inside a Ray worker, spawn would
        # re-import the worker's own main module (and Ray with it) in every child.
        parent_end, child_end = multiprocessing.Pipe(duplex=True)
        target = f"{self.function.__module__}:{self.function.__qualname__}"
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                __name__,
                str(child_end.fileno()),
                target,
                str(self.memory_mb or 0),
                *self.preload,
            ],
            pass_fds=[child_end.fileno()],
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        child_end.close()
        self._connection = parent_end
        if not parent_end.poll(STARTUP_TIMEOUT_S):
            self._stop_child()
            raise ExtractError(CRASHED, f"the parser process did not start within {STARTUP_TIMEOUT_S:g} s")
        try:
            parent_end.recv()
        except (EOFError, OSError):
            exit_code = self._stop_child()
            raise ExtractError(
                CRASHED, f"the parser process failed to start ({describe_exit(exit_code)})"
            ) from None
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
                raise ExtractError(
                    TIMEOUT, f"parsing took longer than {self.timeout_s:g} s (limits.timeout_s)"
                )
            raise ExtractError(CRASHED, f"the parser process died ({describe_exit(exit_code)})")
        if reply[0] == "ok":
            return reply[1]
        raise ExtractError(reply[1], reply[2])

    def _stop_child(self) -> int | None:
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)  # SIGKILL also ends a SIGSTOPped child
        exit_code: int | None = process.wait()
        self._process = None
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
            try:
                self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


def die_with_parent() -> None:
    """In the child before exec: be killed when the parent dies (Linux), so no parse outlives its job."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


def describe_exit(exit_code: int | None) -> str:
    if exit_code is None:
        return "exit status unknown"
    if exit_code < 0:
        try:
            return f"killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"killed by signal {-exit_code}"
    return f"exit code {exit_code}"


def child_main(argv: list[str]) -> None:
    """Entry of the child: `python -m cephalo_ray.extract.sandbox FD MODULE:FUNCTION MEMORY_MB [PRELOAD...]`."""
    fd, target, memory_mb, preload = int(argv[0]), argv[1], int(argv[2]), argv[3:]
    module_name, _, qualname = target.partition(":")
    function: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        function = getattr(function, part)
    _child_loop(Connection(fd), function, memory_mb or None, preload)


if __name__ == "__main__":
    child_main(sys.argv[1:])
