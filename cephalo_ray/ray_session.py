"""How every job reaches Ray: `RAY_ADDRESS` when set (a cluster, or `ray job submit`), otherwise a
fresh local Ray started with `address="local"`, never a silent attach to whatever runs on the machine."""

from __future__ import annotations

import logging
import os
import sys


def connect_ray(num_cpus: int | None = None) -> bool:
    """Connect to Ray once per process.

    Args:
        num_cpus: CPUs of a local Ray (None: all of the machine's); ignored on a cluster.

    Returns:
        True when this call started the connection (so the caller should shut it down).
    """
    import ray

    if ray.is_initialized():
        return False
    address = os.environ.get("RAY_ADDRESS")
    if address:
        context = ray.init(address=address, logging_level=logging.WARNING, log_to_driver=True)
        dashboard = getattr(context, "dashboard_url", None)
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        where = f"; dashboard http://{dashboard}" if dashboard else ""
        print(f"ray: joined the cluster at {address} ({nodes} nodes{where})", file=sys.stderr)
    else:
        ray.init(address="local", num_cpus=num_cpus, logging_level=logging.WARNING, include_dashboard=False)
    quiet_ray_data()
    return True


def quiet_ray_data() -> None:
    """Ray Data logs every execution plan at INFO; jobs print their own progress and summary."""
    logging.getLogger("ray.data").setLevel(logging.ERROR)
