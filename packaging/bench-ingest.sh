#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ingest through HTTP beside its ceiling (docs/benchmarks.md): the same load
# generator (surveyor-fleetsim: AGENTS agents, 32 keep-alive connections,
# binary reports of 60 samples, DURATION seconds each) against
#   (a) bench_bare_http, a bare Beast server answering 202 without work,
#   (b) the collector on SQLite (synchronous=FULL, group commit),
#   (c) the collector on Redis (appendonly yes, appendfsync everysec),
# then the collector on SQLite paced at 2,000 reports/s for its latency.
# Each collector run ends with fleetsim counting, through the API, the
# samples stored against those acknowledged. Prints the ratios to (a).
# Usage: packaging/bench-ingest.sh [DURATION] [AGENTS]   (default 20 200)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/packaging/common.sh"
DURATION=${1:-20}
AGENTS=${2:-200}

"$ROOT/packaging/install-deps.sh" build test >/dev/null
BUILD="$ROOT/build/release"
build_tree "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSURVEYOR_BUILD_TESTS=OFF -DSURVEYOR_BUILD_BENCHMARKS=ON >/dev/null
BIN="$BUILD/bin"
WORK=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
rate_of() { awk '/acknowledged/ {for (i = 1; i <= NF; i++) if ($i == "reports/s,") print $(i - 1)}' "$1"; }
SIM=("$BIN/surveyor-fleetsim" --agents "$AGENTS" --connections 32 --duration "${DURATION}s" --samples 60)

echo "== (a) bare Beast server"
PORT=$(free_port)
"$BUILD/tests/bench/bench_bare_http" --port "$PORT" >/dev/null &
pids+=($!)
wait_port "$PORT"
"${SIM[@]}" --bare --url "http://127.0.0.1:$PORT" | tee "$WORK/bare.txt"
kill "${pids[-1]}"

# A collector on STORE, its tokens, fleetsim against it; $1 names the run.
collector_run() {
  local name=$1 store=$2
  shift 2
  local port dir="$WORK/$name"
  mkdir -p "$dir"
  port=$(free_port)
  "$BIN/surveyor-collector" enrollment create --store "$store" --uses $((AGENTS + 10)) --expires 1h --out "$dir/enroll" >/dev/null
  "$BIN/surveyor-collector" token create --store "$store" --name "bench-$name" --role viewer --out "$dir/viewer" >/dev/null
  "$BIN/surveyor-collector" --listen "127.0.0.1:$port" --store "$store" --rate-limit 0 --log-level warn \
    >"$dir/collector.log" 2>&1 &
  pids+=($!)
  wait_port "$port"
  local rss_before
  rss_before=$(awk '/^VmRSS:/ {print $2}' /proc/"${pids[-1]}"/status)
  "${SIM[@]}" --url "http://127.0.0.1:$port" --enrollment-token-file "$dir/enroll" --verify-token-file "$dir/viewer" \
    "$@" | tee "$WORK/$name.txt"
  awk -v b="$rss_before" -v n="$AGENTS" '/^VmHWM:/ {printf "  collector     peak RSS %.1f MB (%.1f MB before the fleet; %.1f kB more per simulated host)\n", $2 / 1024, b / 1024, ($2 - b) / n}' /proc/"${pids[-1]}"/status
  kill "${pids[-1]}"
  wait "${pids[-1]}" 2>/dev/null || true
}

echo "== (b) collector on SQLite"
collector_run sqlite "sqlite:$WORK/sqlite.db"

echo "== (c) collector on Redis"
RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec --dir "$WORK" \
  --logfile "$WORK/redis.log" --daemonize no &
pids+=($!)
REDIS=${pids[-1]}
wait_port "$RPORT"
collector_run redis "redis://127.0.0.1:$RPORT/bench"
echo "  redis         used_memory $(redis-cli -p "$RPORT" info memory | awk -F: '/^used_memory:/ {printf "%.1f MB", $2 / 1048576}') for $AGENTS hosts"
kill "$REDIS"

echo "== (d) collector on SQLite, paced at 2,000 reports/s"
collector_run paced "sqlite:$WORK/paced.db" --rate 2000

bare=$(rate_of "$WORK/bare.txt")
awk -v a="$bare" -v s="$(rate_of "$WORK/sqlite.txt")" -v r="$(rate_of "$WORK/redis.txt")" 'BEGIN {
  printf "== ratios to the bare server (%.0f reports/s): SQLite %.2f, Redis %.2f\n", a, s / a, r / a }'
