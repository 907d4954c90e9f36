"""Run a job as its own process group with its own local Ray, and SIGKILL all of it once it has
committed something: the driver dies as a machine or a pod would take it, mid-run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def kill_when(command: Sequence[str], ready: Callable[[], bool], log: Path, timeout_s: float = 120.0) -> str:
    """Start `command` and kill its whole process group as soon as `ready()`. Returns the killed job's
    Ray folder: `gone(folder)` waits until its last worker has died (a rerun may start before: it
    must fence out a worker still finishing a batch).

    Raises:
        AssertionError: when the job exits before `ready()` (with its log's end) or takes too long.
    """
    # the job's own Ray, found again below by this path (short: Ray's socket paths are capped)
    ray_dir = tempfile.mkdtemp(prefix="crk-", dir="/tmp")
    with open(log, "wb") as stderr:
        job = subprocess.Popen(
            list(command),
            cwd=REPO_ROOT,
            env={**os.environ, "RAY_TMPDIR": ray_dir},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + timeout_s
            while not ready():
                assert job.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "nothing was committed in time"
                time.sleep(0.05)
        finally:
            os.killpg(job.pid, signal.SIGKILL)  # the driver and the local Ray it started
            job.wait()
    return ray_dir


def gone(ray_dir: str) -> None:
    """Wait until every process of the killed job has died, then remove its Ray folder."""
    wait_until_gone(ray_dir)
    shutil.rmtree(ray_dir, ignore_errors=True)


def wait_until_gone(marker: str, timeout_s: float = 60.0) -> None:
    """Wait until no process has `marker` in its environment (Ray renames its workers' cmdlines)."""
    deadline = time.monotonic() + timeout_s
    alive: list[str] = []
    while time.monotonic() < deadline:
        alive = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                if marker.encode() in environ.read_bytes():
                    alive.append(environ.parent.name)
            except OSError:
                continue
        if not alive:
            return
        time.sleep(0.2)
    raise AssertionError(f"processes {alive} of the killed job still run")
