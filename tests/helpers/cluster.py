"""A real multi-node Ray cluster on this machine: a head and worker nodes as separate `ray start`
processes, each with its own temp dir and free ports, token authentication on, stopped by PID."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.helpers.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).parent / "ray")


class LocalCluster:
    def __init__(self, num_cpus: float = 1) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="crc-", dir="/tmp"))  # short: Ray's socket paths are capped
        self.token = secrets.token_hex(32)
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("RAY_ADDRESS", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
        }
        self.env.update(
            RAY_AUTH_MODE="token",
            RAY_AUTH_TOKEN=self.token,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        self.ports_handed_out: set[int] = set()
        self.gcs_port, self.dashboard_port = self._free_port(), self._free_port()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._start("head", num_cpus, ["--head", "--port", str(self.gcs_port), "--include-dashboard", "true"])
        self.dashboard = f"http://127.0.0.1:{self.dashboard_port}"
        self.wait_for_nodes(1)

    def _free_port(self) -> int:
        """A free port this cluster has not handed out yet: the kernel may offer a just-released
        port again, and two components given one port stop `ray start`."""
        while (port := free_port()) in self.ports_handed_out:
            pass
        self.ports_handed_out.add(port)
        return port

    def _ports(self) -> list[str]:
        # below Linux's ephemeral range (32768+), where free_port()'s picks live: no overlap
        base = random.randrange(20_000, 31_000, 1_000)
        options = [
            "--node-ip-address",
            "127.0.0.1",
            "--min-worker-port",
            str(base),
            "--max-worker-port",
            str(base + 999),
        ]
        for flag in (
            "--node-manager-port",
            "--object-manager-port",
            "--dashboard-agent-listen-port",
            "--dashboard-agent-grpc-port",
            "--runtime-env-agent-port",
            "--metrics-export-port",
        ):
            options += [flag, str(self._free_port())]
        return options

    def _start(self, name: str, num_cpus: float, options: list[str]) -> None:
        command = [
            RAY,
            "start",
            "--block",
            "--num-cpus",
            str(num_cpus),
            "--disable-usage-stats",
            *self._ports(),
            *options,
        ]
        if "--head" in options:
            command += ["--dashboard-host", "127.0.0.1", "--dashboard-port", str(self.dashboard_port)]
            command += ["--ray-client-server-port", str(self._free_port())]
        command += ["--temp-dir", str(self.root / name)]
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - the process owns it
        self.processes[name] = subprocess.Popen(
            command, env=self.env, stdout=log, stderr=log, start_new_session=True
        )

    def add_worker(self, name: str, num_cpus: float = 1, resources: str | None = None) -> None:
        options = ["--address", f"127.0.0.1:{self.gcs_port}"]
        if resources:
            options += ["--resources", resources]
        self._start(name, num_cpus, options)
        self.wait_for_nodes(len(self.processes))

    def alive_nodes(self) -> int:
        result = subprocess.run(
            [RAY, "status", "--address", f"127.0.0.1:{self.gcs_port}"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            return 0
        active = result.stdout.split("Active:", 1)[-1].split("Pending:", 1)[0]
        return sum(1 for line in active.splitlines() if "node_" in line)

    def wait_for_nodes(self, count: int, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while self.alive_nodes() != count:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"ray node {name} exited: {(self.root / f'{name}.log').read_text()[-2000:]}"
                    )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{count} Ray nodes did not come up: {(self.root / 'head.log').read_text()[-2000:]}"
                )
            time.sleep(1)

    def kill(self, name: str) -> None:
        """SIGKILL a node's whole process group: its raylet and workers die as on a lost machine."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def submit(self, entrypoint: str, env_vars: dict[str, str], *extra: str) -> subprocess.Popen[str]:
        """`ray job submit --working-dir <repo> -- ENTRYPOINT` (blocking until the job ends)."""
        import json

        runtime_env = json.dumps({"env_vars": env_vars})
        command = [RAY, "job", "submit", "--address", self.dashboard, "--working-dir", str(REPO_ROOT)]
        command += ["--runtime-env-json", runtime_env, *extra, "--", *shlex.split(entrypoint)]
        return subprocess.Popen(
            command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def stop(self) -> None:
        for name in list(self.processes)[::-1]:
            process = self.processes.pop(name)
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
            except ProcessLookupError:  # the node had already exited
                process.wait()
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
