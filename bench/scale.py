"""How time, driver memory, S3 requests and files grow with the corpus.

    python -m bench.scale --papers 300 1000 3000                  # extract, refine, caption
    python -m bench.scale --papers 100 300 --stages extract --json scale.json

Generated papers (cached under ~/.cache/cephalo_ray/scale-papers, so a second run reuses them) go
to an S3 served by moto on loopback, inside this process behind a counter of requests by verb. A
two-node Ray cluster (head and worker as separate `ray start` processes) runs each stage's job as
the cluster's driver would be run: a separate process, whose peak RSS is read from the kernel
(`wait4`). Per stage and corpus size it records wall time, pages/s, driver peak RSS, S3 requests by
verb, objects and bytes written and the manifest's size; then the same for a rerun that has nothing
to do. Between sizes it prints each quantity's growth exponent (log ratio over log size ratio: 1.0
is linear) and the rerun's cost as a share of the first run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers.cluster import LocalCluster, free_port  # noqa: E402

BUCKET = "scale"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cephalo_ray" / "scale-papers"
STAGES = ("extract", "refine", "caption")
WRITES = ("PUT", "POST", "DELETE")
# moto accepts any keys; the jobs' drivers and Ray workers get the same through their environment
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class CountingS3:
    """moto's S3 on 127.0.0.1, in a thread of this process, counting requests by verb."""

    def __init__(self) -> None:
        import logging

        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

        moto_app = DomainDispatcherApplication(create_backend_app)
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

        def counting_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            with self.lock:
                self.counts[
                    request_kind(
                        environ["REQUEST_METHOD"],
                        environ.get("PATH_INFO", ""),
                        environ.get("QUERY_STRING", ""),
                    )
                ] += 1
            return moto_app(environ, start_response)

        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, counting_app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.counts)

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1")

    def stop(self) -> None:
        self.server.shutdown()


def request_kind(method: str, path: str, query: str) -> str:
    """An S3 request's billing class: LIST (a bucket GET), GET, HEAD, PUT, POST (multipart), DELETE."""
    key = path.strip("/").partition("/")[2]
    if method == "GET" and (not key or "list-type" in query):
        return "LIST"
    return method


def cached_paper(seed: int) -> bytes:
    from cephalo_ray.samples import sample_paper

    path = CACHE / f"paper-{seed:06d}.pdf"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sample_paper(seed, figures=1 + seed % 3, tiled=seed % 2 == 0).pdf)
    return path.read_bytes()


def upload_corpus(s3: CountingS3, papers: int) -> str:
    """N distinct papers under their own prefix; returns its s3:// URI."""
    from concurrent.futures import ThreadPoolExecutor

    client = s3.client()
    prefix = f"papers-{papers}"

    def put(seed: int) -> None:
        client.put_object(
            Bucket=BUCKET, Key=f"{prefix}/{seed % 97:02d}/paper-{seed:06d}.pdf", Body=cached_paper(seed)
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(papers)))
    return f"s3://{BUCKET}/{prefix}"


def written(s3: CountingS3, root: str) -> tuple[int, int, int]:
    """Objects and bytes under an s3:// root, and the size of its manifest."""
    client = s3.client()
    prefix = root.removeprefix(f"s3://{BUCKET}/") + "/"
    objects = size = manifest = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            objects += 1
            size += item["Size"]
            if item["Key"].endswith("_manifest.json"):
                manifest = item["Size"]
    return objects, size, manifest


# The driver reports its own high-water mark at exit: a child's ru_maxrss starts from this (large,
# S3-holding) process's size, while VmHWM starts afresh with the exec'd program.
PEAK_WRAPPER = """
import atexit, os, runpy, sys
def report():
    with open('/proc/self/status') as status, open(os.environ['CEPHALO_PEAK_FILE'], 'w') as out:
        out.write(next(line for line in status if line.startswith('VmHWM')).split()[1])
atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)
"""


def run_driver(command: Sequence[str], env: dict[str, str], log: Path) -> tuple[float, int]:
    """Run one job's driver (`python -m MODULE ARGS`) as its own process; its wall seconds and peak
    RSS in bytes."""
    assert command[1] == "-m"
    peak_file = log.with_suffix(".peak")
    wrapped = [command[0], "-c", PEAK_WRAPPER, *command[2:]]
    started = time.perf_counter()
    with log.open("ab") as sink:
        result = subprocess.run(
            wrapped, env={**env, "CEPHALO_PEAK_FILE": str(peak_file)}, stdout=sink, stderr=sink
        )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed; see {log}:\n{log.read_text()[-3000:]}")
    return seconds, int(peak_file.read_text()) * 1024


def stage_command(stage: str, source: str, output: str, endpoint: str, model: str | None) -> list[str]:
    storage = [f"storage.s3_endpoint_url={endpoint}"]
    if stage == "extract":
        return [
            sys.executable,
            "-m",
            "cephalo_ray.jobs.extract_figures",
            f"input={source}",
            f"output={output}",
            "dpi=72",
            "resources.num_cpus=0.5",
            *storage,
        ]
    if stage == "refine":
        return [
            sys.executable,
            "-m",
            "cephalo_ray.jobs.refine_pairs",
            f"input={source}",
            f"output={output}",
            "teacher=template",
            "val_fraction=0.05",
            "resources.actors=2",
            *storage,
        ]
    return [
        sys.executable,
        "-m",
        "cephalo_ray.jobs.batch_caption",
        source,
        output,
        f"model={model}",
        "sampling.max_tokens=8",
        "resources.actors=1",  # two half-CPU actors on two one-CPU nodes would leave no room for reads
        "resources.num_cpus=0.5",
        *storage,
    ]


def measure(
    s3: CountingS3, stage: str, command: list[str], output: str, env: dict[str, str], log: Path
) -> dict[str, Any]:
    before = s3.snapshot()
    seconds, peak_rss = run_driver(command, env, log)
    requests = s3.snapshot() - before
    objects, size, manifest_bytes = written(s3, output)
    manifest = json.loads(
        s3.client()
        .get_object(Bucket=BUCKET, Key=output.removeprefix(f"s3://{BUCKET}/") + "/_manifest.json")["Body"]
        .read()
    )
    return {
        "stage": stage,
        "seconds": round(seconds, 2),
        "driver_peak_rss_mb": round(peak_rss / 2**20, 1),
        "requests": dict(sorted(requests.items())),
        "requests_total": sum(requests.values()),
        "writes": sum(requests[verb] for verb in WRITES),
        "objects": objects,
        "bytes": size,
        "manifest_bytes": manifest_bytes,
        "pages": manifest["counts"].get("pages"),
        "status": manifest["status"],
    }


def growth(rows: Sequence[dict[str, Any]], sizes: Sequence[int], field: str) -> list[float | None]:
    """Growth exponents of `field` between consecutive corpus sizes."""
    exponents: list[float | None] = []
    for (small, n_small), (large, n_large) in zip(
        zip(rows, sizes, strict=True), zip(rows[1:], sizes[1:], strict=True), strict=False
    ):
        a, b = small.get(field), large.get(field)
        exponents.append(round(math.log(b / a) / math.log(n_large / n_small), 3) if a and b else None)
    return exponents


FIELDS = ("seconds", "driver_peak_rss_mb", "requests_total", "writes", "objects", "bytes", "manifest_bytes")


def report(results: dict[str, dict[int, dict[str, dict[str, Any]]]], sizes: Sequence[int]) -> None:
    for stage, by_size in results.items():
        print(f"\n== {stage}")
        header = f"{'papers':>7} {'run':>6} {'s':>8} {'pages/s':>8} {'rss MB':>7} {'requests':>9} {'writes':>7} {'objects':>8} {'MB':>8} {'manifest':>9}"
        print(header)
        for papers in sizes:
            for run in ("first", "rerun"):
                row = by_size[papers][run]
                rate = f"{row['pages'] / row['seconds']:.1f}" if row.get("pages") and run == "first" else "-"
                print(
                    f"{papers:>7} {run:>6} {row['seconds']:>8.1f} {rate:>8} {row['driver_peak_rss_mb']:>7.0f} "
                    f"{row['requests_total']:>9} {row['writes']:>7} {row['objects']:>8} {row['bytes'] / 2**20:>8.1f} "
                    f"{row['manifest_bytes']:>9}"
                )
        firsts = [by_size[papers]["first"] for papers in sizes]
        reruns = [by_size[papers]["rerun"] for papers in sizes]
        for field in FIELDS:
            print(f"   growth exponent of {field}: {growth(firsts, sizes, field)}")
        print(f"   growth exponent of the rerun's requests: {growth(reruns, sizes, 'requests_total')}")
        print(f"   growth exponent of the rerun's driver RSS: {growth(reruns, sizes, 'driver_peak_rss_mb')}")
        for papers in sizes:
            first, rerun = by_size[papers]["first"], by_size[papers]["rerun"]
            print(
                f"   {papers} papers: rerun time / first = {rerun['seconds'] / first['seconds']:.3f}, "
                f"rerun requests {dict(rerun['requests'])}"
            )
        if stage == "extract" and len(sizes) > 1:
            rates = [row["pages"] / row["seconds"] for row in firsts]
            print(f"   pages/s at the largest / smallest size: {rates[-1] / rates[0]:.2f} (target >= 0.85)")
            print(
                f"   driver RSS at the largest / smallest size: {firsts[-1]['driver_peak_rss_mb'] / firsts[0]['driver_peak_rss_mb']:.2f} (target <= 1.5)"
            )


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, nargs="+", default=[300, 1000, 3000])
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--worker-cpus", type=int, default=1, help="CPUs of each of the two nodes")
    parser.add_argument("--json", help="write the numbers here")
    args = parser.parse_args(list(argv) if argv is not None else None)
    sizes = sorted(args.papers)

    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)
    s3 = CountingS3()
    scratch = Path(tempfile.mkdtemp(prefix="cephalo-scale-"))
    log = scratch / "jobs.log"
    results: dict[str, dict[int, dict[str, dict[str, Any]]]] = {stage: {} for stage in args.stages}
    try:
        s3.client().create_bucket(Bucket=BUCKET)
        model = None
        if "caption" in args.stages:
            from cephalo_ray.models.tiny import build_tiny

            model = str(scratch / "tiny-llava")
            build_tiny("llava", model)
        with LocalCluster(num_cpus=args.worker_cpus) as cluster:
            cluster.add_worker("worker", num_cpus=args.worker_cpus)
            env = {
                **cluster.env,
                "RAY_ADDRESS": f"127.0.0.1:{cluster.gcs_port}",
                **CREDENTIALS,
                "HF_HUB_OFFLINE": "1",
                "TQDM_DISABLE": "1",
            }
            for papers in sizes:
                started = time.perf_counter()
                source = upload_corpus(s3, papers)
                print(f"{papers} papers uploaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
                upstream = source
                for stage in args.stages:
                    output = f"s3://{BUCKET}/out-{papers}/{stage}"
                    stage_input = upstream if stage != "caption" else f"s3://{BUCKET}/out-{papers}/extract"
                    command = stage_command(stage, stage_input, output, s3.endpoint_url, model)
                    first = measure(s3, stage, command, output, env, log)
                    rerun = measure(s3, stage, command, output, env, log)
                    results[stage][papers] = {"first": first, "rerun": rerun}
                    print(
                        f"{stage} {papers}: {first['seconds']:.0f} s, rerun {rerun['seconds']:.0f} s",
                        file=sys.stderr,
                    )
                    upstream = output
    finally:
        s3.stop()
    report(results, sizes)
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": sizes, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
