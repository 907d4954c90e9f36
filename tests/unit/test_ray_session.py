from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

PROBE = """
import os, ray
from cephalo_ray.ray_session import connect_ray
started = connect_ray(num_cpus=1)
print(started, ray.get_runtime_context().gcs_address, ray.cluster_resources().get("CPU"))
"""


def test_without_ray_address_a_job_starts_its_own_local_ray(ray_session: Any) -> None:
    """Another Ray runs on this machine (the test session's); the job must not attach to it."""
    session_gcs = ray_session.get_runtime_context().gcs_address
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    output = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    started, gcs_address, cpus = output.strip().splitlines()[-1].split()
    assert started == "True" and gcs_address != session_gcs and float(cpus) == 1.0


def test_with_ray_address_a_job_joins_that_cluster(ray_session: Any) -> None:
    session_gcs = ray_session.get_runtime_context().gcs_address
    env = {**os.environ, "RAY_ADDRESS": session_gcs}
    output = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    started, gcs_address, cpus = output.strip().splitlines()[-1].split()
    assert started == "True" and gcs_address == session_gcs and float(cpus) == 2.0
