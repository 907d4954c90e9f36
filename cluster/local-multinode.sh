#!/usr/bin/env bash
# A two-node Ray cluster on one machine (or on two: run the worker part on the second one with
# HEAD=<head ip>), with token authentication, for trying cluster submission without a cloud.
#   cluster/local-multinode.sh start      # head + one worker, dashboard on 127.0.0.1:8265
#   cluster/local-multinode.sh stop       # stops both by PID (never `ray stop`: it kills every Ray)
set -euo pipefail
ROOT=${CEPHALO_CLUSTER_DIR:-/tmp/cephalo-cluster}
RAY=${RAY:-.venv/bin/ray}
HEAD=${HEAD:-127.0.0.1}
export RAY_AUTH_MODE=token
export RAY_AUTH_TOKEN=${RAY_AUTH_TOKEN:-$(cat "$ROOT/token" 2>/dev/null || python3 -c 'import secrets; print(secrets.token_hex(32))')}
case "${1:-start}" in
  start)
    mkdir -p "$ROOT/head" "$ROOT/worker"
    echo "$RAY_AUTH_TOKEN" > "$ROOT/token"; chmod 600 "$ROOT/token"
    setsid "$RAY" start --head --block --node-ip-address "$HEAD" --port 6380 --dashboard-host 127.0.0.1 \
      --dashboard-port 8265 --num-cpus 1 --temp-dir "$ROOT/head" > "$ROOT/head.log" 2>&1 &
    echo $! > "$ROOT/head.pid"; sleep 10
    setsid "$RAY" start --block --address "$HEAD:6380" --node-ip-address 127.0.0.1 --num-cpus 2 \
      --dashboard-agent-listen-port 52366 --metrics-export-port 8081 --min-worker-port 21000 --max-worker-port 21999 \
      --temp-dir "$ROOT/worker" > "$ROOT/worker.log" 2>&1 &
    echo $! > "$ROOT/worker.pid"; sleep 8
    "$RAY" status --address "$HEAD:6380"
    echo "submit with: RAY_AUTH_MODE=token RAY_AUTH_TOKEN=\$(cat $ROOT/token) $RAY job submit --address http://127.0.0.1:8265 --working-dir . --runtime-env cluster/runtime_env.yaml -- python -m cephalo_ray.jobs.extract_figures ..."
    ;;
  stop)
    for node in worker head; do
      if [ -f "$ROOT/$node.pid" ]; then kill -TERM -- "-$(cat "$ROOT/$node.pid")" 2>/dev/null || true; rm -f "$ROOT/$node.pid"; fi
    done
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
