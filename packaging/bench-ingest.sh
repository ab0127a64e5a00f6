#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ingest through HTTP beside its ceiling (docs/benchmarks.md): the same load
# generator (surveyor-fleetsim: AGENTS agents, 32 keep-alive connections,
# binary reports of 60 samples, DURATION seconds each) against
#   (a) bench_bare_http, a bare Beast server answering 202 without work,
#   (b) the collector on SQLite (synchronous=FULL, group commit),
#   (c) the collector on Redis (appendonly yes, appendfsync everysec),
#   (d) the collector on SQLite paced at 2,000 reports/s, for its latency,
#   (e) two collectors on one Redis, the connections shared between them,
#   (f) the collector on a Redis with a replica, each report acknowledged
#       once the replica has it (store_wait_replicas = 1), beside (c).
# Each collector run ends with fleetsim counting, through the API, the
# samples stored against those acknowledged. Prints the ratios to (a).
# Usage: packaging/bench-ingest.sh [DURATION] [AGENTS]   (default 20 200)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${1:-20}
AGENTS=${2:-200}
. "$ROOT/packaging/bench-lib.sh"
SIM=("$BIN/surveyor-fleetsim" --agents "$AGENTS" --connections 32 --duration "${DURATION}s" --samples 60)

echo "== (a) bare Beast server"
PORT=$(free_port)
"$BUILD/tests/bench/bench_bare_http" --port "$PORT" >/dev/null &
pids+=($!)
wait_port "$PORT"
"${SIM[@]}" --bare --url "http://127.0.0.1:$PORT" | tee "$WORK/bare.txt"
kill "${pids[-1]}"

echo "== (b) collector on SQLite"
collector_run sqlite "sqlite:$WORK/sqlite.db"

echo "== (c) collector on Redis"
start_redis
collector_run redis "redis://127.0.0.1:$REDIS_PORT/bench"
print_redis_memory
stop_pid "$REDIS_PID"

echo "== (d) collector on SQLite, paced at 2,000 reports/s"
collector_run paced "sqlite:$WORK/paced.db" --rate 2000

echo "== (e) two collectors on one Redis, the connections shared between them"
start_redis
store="redis://127.0.0.1:$REDIS_PORT/bench"
run_tokens two "$store"
start_collector two "$store"
first=$COLLECTOR_PORT
start_collector two "$store"
"${SIM[@]}" --url "http://127.0.0.1:$first,http://127.0.0.1:$COLLECTOR_PORT" --enrollment-token-file "$WORK/two/enroll" \
  --verify-token-file "$WORK/two/viewer" | tee "$WORK/two.txt"
stop_pid "${pids[-1]}"
stop_pid "${pids[-2]}"
stop_pid "$REDIS_PID"

echo "== (f) collector on Redis with a replica, store_wait_replicas = 1"
start_redis --repl-diskless-sync-delay 0
master_port=$REDIS_PORT
master_pid=$REDIS_PID
start_redis --replicaof 127.0.0.1 "$master_port"
replica_pid=$REDIS_PID
for _ in $(seq 1 100); do
  redis-cli -p "$REDIS_PORT" info replication | grep -q master_link_status:up && break
  sleep 0.1
done
COLLECTOR_ARGS=(--store-wait-replicas 1)
collector_run wait "redis://127.0.0.1:$master_port/bench"
unset COLLECTOR_ARGS
stop_pid "$replica_pid"
stop_pid "$master_pid"

bare=$(rate_of "$WORK/bare.txt")
awk -v a="$bare" -v s="$(rate_of "$WORK/sqlite.txt")" -v r="$(rate_of "$WORK/redis.txt")" -v t="$(rate_of "$WORK/two.txt")" \
  -v w="$(rate_of "$WORK/wait.txt")" 'BEGIN {
  printf "== ratios to the bare server (%.0f reports/s): SQLite %.2f, Redis %.2f\n", a, s / a, r / a
  printf "== two collectors on one Redis: %.2f x one\n", t / r
  printf "== with store_wait_replicas = 1: %.2f x without\n", w / r }'
