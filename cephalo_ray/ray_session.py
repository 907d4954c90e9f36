"""How every job reaches Ray: `RAY_ADDRESS` when set (a cluster, or `ray job submit`), otherwise a
fresh local Ray started with `address="local"`, never a silent attach to whatever runs on the machine."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any


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


def parquet_dataset(storage: Any, uris: list[str], columns: list[str], num_cpus: float) -> Any:
    """A Ray Dataset of the rows of Parquet files, read by tasks of `num_cpus` (at most 1) each.

    `ray.data.read_parquet` plans a file-listing step whose tasks ask for a whole CPU. Once
    fractional actors hold part of every node's CPU (two 0.25-CPU actors on a one-CPU node, or on
    two one-CPU nodes), no node has a whole CPU left and that step waits forever. Reading each
    file in a task sized like the actors fits wherever an actor does.
    """
    import ray

    def read(batch: dict[str, Any]) -> Any:
        import pyarrow as pa

        table = storage.read_parquet(list(batch["uri"]), columns=columns)
        return table if table is not None else pa.table({column: [] for column in columns})

    listing = ray.data.from_items([{"uri": uri} for uri in uris], override_num_blocks=max(1, len(uris)))
    return listing.map_batches(read, batch_size=1, batch_format="numpy", num_cpus=min(1.0, num_cpus))
