#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ingest through HTTP beside its ceiling (docs/benchmarks.md): the same load
# generator (surveyor-fleetsim: AGENTS agents, 32 keep-alive connections,
# binary reports of 60 samples, DURATION seconds each) against
#   (a) bench_bare_http, a bare Beast server answering 202 without work,
#   (b) the collector on SQLite (synchronous=FULL, group commit),
#   (c) the collector on Redis (appendonly yes, appendfsync everysec),
#   (d) the collector on SQLite paced at 2,000 reports/s, for its latency,
#   (e) two collectors on one Redis, the agents shared between them,
#   (f) the collector on a Redis with a replica, each report acknowledged
#       once the replica has it (store_wait_replicas = 1), beside (c),
#   (g) the collector on a Redis Cluster of three masters (the store's own
#       keys in the hash slot of its prefix, each host's agent, window and
#       series in a slot of their own, so on all three), beside (c), with
#       every node's CPU and keys,
#   (h) one collector on Redis held to BUDGET cores of CPU (a cgroup quota,
#       as on a host of that size; default 0.4), then two on one Redis, each
#       held to BUDGET: whether a second collector adds its own CPU's worth
#       when it has one, which (e) cannot show on a machine whose cores one
#       collector, Redis and fleetsim already fill. BUDGET_ROUNDS rounds
#       (default 3) of the two, alternating: the ratio of their sums, as
#       a collector held to a quota varies much from run to run. Needs root.
# Each collector run ends with fleetsim counting, through the API, the
# samples stored against those acknowledged, and prints the CPU the
# collector, Redis and fleetsim used per report. Prints the ratios to (a).
# Usage: packaging/bench-ingest.sh [DURATION] [AGENTS]   (default 20 200)
# RUNS="a b d" (the environment) runs only those; the default is all eight.
# CONNECTIONS (default 32) is the number of fleetsim's connections.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${1:-20}
AGENTS=${2:-200}
. "$ROOT/packaging/bench-lib.sh"
RUNS=${RUNS:-a b c d e f g h}
BUDGET=${BUDGET:-0.4}
BUDGET_ROUNDS=${BUDGET_ROUNDS:-3}
want() { [[ " $RUNS " == *" $1 "* ]]; }
SIM=("$BIN/surveyor-fleetsim" --agents "$AGENTS" --connections "${CONNECTIONS:-32}" --duration "${DURATION}s" --samples 60)

if want a; then
echo "== (a) bare Beast server"
PORT=$(free_port)
"$BUILD/tests/bench/bench_bare_http" --port "$PORT" >/dev/null &
pids+=($!)
wait_port "$PORT"
"${SIM[@]}" --bare --url "http://127.0.0.1:$PORT" --cpu-of "bare=${pids[-1]}" | tee "$WORK/bare.txt"
kill "${pids[-1]}"
fi

if want b; then
echo "== (b) collector on SQLite"
collector_run sqlite "sqlite:$WORK/sqlite.db"
fi

if want c; then
echo "== (c) collector on Redis"
start_redis
CPU_OF=(--cpu-of "redis=$REDIS_PID")
collector_run redis "redis://127.0.0.1:$REDIS_PORT/bench"
unset CPU_OF
print_redis_memory
stop_pid "$REDIS_PID"
fi

if want d; then
echo "== (d) collector on SQLite, paced at 2,000 reports/s"
collector_run paced "sqlite:$WORK/paced.db" --rate 2000
fi

# Two collectors on a fresh Redis, the fleet's agents shared between
# them, each held to $2 cores when given; fleetsim's output in $WORK/$1.txt.
two_collectors() {
  local name=$1 budget=${2:-} store first
  start_redis
  store="redis://127.0.0.1:$REDIS_PORT/bench"
  run_tokens "$name" "$store"
  start_collector "$name" "$store"
  [[ -z $budget ]] || cpu_budget "${pids[-1]}" "$budget"
  first=$COLLECTOR_PORT
  start_collector "$name" "$store"
  [[ -z $budget ]] || cpu_budget "${pids[-1]}" "$budget"
  "${SIM[@]}" --url "http://127.0.0.1:$first,http://127.0.0.1:$COLLECTOR_PORT" --enrollment-token-file "$WORK/$name/enroll" \
    --verify-token-file "$WORK/$name/viewer" --cpu-of "collector1=${pids[-2]}" --cpu-of "collector2=${pids[-1]}" \
    --cpu-of "redis=$REDIS_PID" | tee "$WORK/$name.txt"
  stop_pid "${pids[-1]}"
  stop_pid "${pids[-2]}"
  stop_pid "$REDIS_PID"
}

if want e; then
echo "== (e) two collectors on one Redis, the agents shared between them"
two_collectors two
fi

if want f; then
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
CPU_OF=(--cpu-of "redis=$master_pid" --cpu-of "replica=$replica_pid")
collector_run wait "redis://127.0.0.1:$master_port/bench"
unset COLLECTOR_ARGS CPU_OF
stop_pid "$replica_pid"
stop_pid "$master_pid"
fi

if want g; then
echo "== (g) collector on a Redis Cluster of three masters"
start_cluster bench
collector_run cluster "$CLUSTER_URL"
unset CPU_OF
print_cluster_memory bench
stop_cluster
fi

if want h && ! cpu_budget_ok; then
  echo "== (h) skipped: it needs root and a cgroup cpu controller to hold each collector to $BUDGET cores"
elif want h; then
for i in $(seq 1 "$BUDGET_ROUNDS"); do
  echo "== (h) collectors on one Redis, each held to $BUDGET cores, round $i of $BUDGET_ROUNDS"
  start_redis
  CPU_OF=(--cpu-of "redis=$REDIS_PID")
  COLLECTOR_BUDGET=$BUDGET collector_run "budget1-$i" "redis://127.0.0.1:$REDIS_PORT/bench"
  unset CPU_OF
  stop_pid "$REDIS_PID"
  two_collectors "budget2-$i" "$BUDGET"
  awk -v one="$(rate_of "$WORK/budget1-$i.txt")" -v two="$(rate_of "$WORK/budget2-$i.txt")" \
    'BEGIN { printf "  round %d       %.0f and %.0f reports/s: %.2f x one\n", '"$i"', one, two, two / one }'
done
fi

rate() { [[ -f "$WORK/$1.txt" ]] && rate_of "$WORK/$1.txt" || echo 0; }
# The sum of the rates of the runs named $1-1, $1-2, ...
rates() { cat "$WORK/$1"-*.txt 2>/dev/null | rate_of /dev/stdin | awk '{ s += $1 } END { print s + 0 }'; }
awk -v a="$(rate bare)" -v s="$(rate sqlite)" -v r="$(rate redis)" -v t="$(rate two)" -v w="$(rate wait)" \
  -v c="$(rate cluster)" -v b1="$(rates budget1)" -v b2="$(rates budget2)" -v q="$BUDGET" -v n="$BUDGET_ROUNDS" 'BEGIN {
  if (a > 0 && (s > 0 || r > 0)) {
    line = sprintf("== ratios to the bare server (%.0f reports/s):", a)
    if (s > 0) line = line sprintf(" SQLite %.2f", s / a)
    if (r > 0) line = line (s > 0 ? "," : "") sprintf(" Redis %.2f", r / a)
    print line
  }
  if (r > 0 && t > 0) printf "== two collectors on one Redis: %.2f x one\n", t / r
  if (r > 0 && w > 0) printf "== with store_wait_replicas = 1: %.2f x without\n", w / r
  if (r > 0 && c > 0) printf "== on a Redis Cluster: %.2f x one Redis\n", c / r
  if (b1 > 0 && b2 > 0) printf "== two collectors on one Redis, each held to %s cores: %.2f x one (%d rounds)\n", q, b2 / b1, n }'
