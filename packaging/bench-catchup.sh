#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Catch-up after an outage (docs/benchmarks.md, "Catch-up after an outage"):
# AGENTS simulated agents (default 10,000) each come back with BACKLOG
# reports spooled (default 60: an hour at one report a minute, 60 samples
# each) and send them one at a time, as the agent does, over 32 keep-alive
# connections, to a collector on SQLite (synchronous=FULL), then on Redis
# (appendonly yes, appendfsync everysec), then on a Redis Cluster of three
# masters (the same settings; each host's agent, window and series in a slot
# of their own).
# Prints the time until every report was acknowledged, counts the stored
# samples through the API, and prints Redis's memory (each node's).
# Usage: packaging/bench-catchup.sh [AGENTS] [BACKLOG]
# RUNS="sqlite redis cluster" (the environment; the default) runs those.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AGENTS=${1:-10000}
BACKLOG=${2:-60}
. "$ROOT/packaging/bench-lib.sh"
SIM=("$BIN/surveyor-fleetsim" --agents "$AGENTS" --connections 32 --samples 60 --backlog "$BACKLOG")
RUNS=${RUNS:-sqlite redis cluster}
want() { [[ " $RUNS " == *" $1 "* ]]; }

if want sqlite; then
echo "== catch-up on SQLite: $AGENTS agents with $BACKLOG reports each"
collector_run sqlite "sqlite:$WORK/catchup.db"
echo "  database      $(du -sm "$WORK"/catchup.db* | awk '{s += $1} END {print s}') MB"
fi

if want redis; then
echo "== catch-up on Redis: $AGENTS agents with $BACKLOG reports each"
start_redis
CPU_OF=(--cpu-of "redis=$REDIS_PID")
collector_run redis "redis://127.0.0.1:$REDIS_PORT/bench"
unset CPU_OF
print_redis_memory
stop_pid "$REDIS_PID"
fi

if want cluster; then
echo "== catch-up on a Redis Cluster of three masters: $AGENTS agents with $BACKLOG reports each"
start_cluster bench
collector_run cluster "$CLUSTER_URL"
unset CPU_OF
print_cluster_memory bench
stop_cluster
fi
