#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The series store benchmark of docs/benchmarks.md on both stores: ingest
# rate, compaction, bytes per sample and 30-day query times (bench_series),
# on the dataset of ../shared/bench/gen_series.py (6 hosts x 8 series, 10 s,
# 7 days: 2,903,040 samples), then the chunk codec alone (bench_codec).
# SQLite runs on a fresh file; Redis on a throwaway redis-server whose own
# figures (used_memory, the RDB file after SAVE) give its size.
# Usage: packaging/bench-series.sh [HOSTS DAYS STEP]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/packaging/common.sh"
HOSTS=${1:-6} DAYS=${2:-7} STEP=${3:-10}

"$ROOT/packaging/install-deps.sh" build test >/dev/null
BUILD="$ROOT/build/release"
build_tree "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSURVEYOR_BUILD_TESTS=OFF -DSURVEYOR_BUILD_BENCHMARKS=ON >/dev/null
WORK=$(mktemp -d)
REDIS_PID=
cleanup() { [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

GEN="$ROOT/../shared/bench/gen_series.py"
[ -f "$GEN" ] || { echo "needs $GEN" >&2; exit 1; }
python3 "$GEN" "$WORK/data" "$HOSTS" "$DAYS" "$STEP" >/dev/null
DATA="$WORK/data/data.jsonl"
SAMPLES=$(wc -l <"$DATA")

echo "== SQLite (synchronous=full, WAL)"
"$BUILD/tests/bench/bench_series" "sqlite:$WORK/bench.db" "$DATA"

echo "== Redis"
PORT=$(free_port)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --dbfilename bench.rdb \
  --logfile "$WORK/redis.log" --daemonize no &
REDIS_PID=$!
for _ in $(seq 1 50); do redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
used() { redis-cli -p "$PORT" info memory | awk -F: '/^used_memory:/ {print $2 + 0}'; }
# First the dataset alone, for its size; then a second run (under another key
# prefix, after FLUSHALL) that also times the 30-day queries.
base=$(used)
"$BUILD/tests/bench/bench_series" "redis://127.0.0.1:$PORT/bench" "$DATA" --no-query
after=$(used)
redis-cli -p "$PORT" save >/dev/null
rdb=$(stat -c %s "$WORK/bench.rdb")
awk -v b="$base" -v a="$after" -v r="$rdb" -v n="$SAMPLES" 'BEGIN {
  printf "size (redis): used_memory grew by %d bytes = %.3f bytes/sample; RDB file %d bytes = %.3f bytes/sample\n",
         a - b, (a - b) / n, r, r / n }'
echo "bytes per key kind (MEMORY USAGE of every key, summed by a server-side script):"
redis-cli -p "$PORT" --no-raw eval "
  local cursor, sum, count = '0', {}, {}
  repeat
    local r = redis.call('SCAN', cursor, 'MATCH', ARGV[1] .. ':*', 'COUNT', 1000)
    cursor = r[1]
    for _, k in ipairs(r[2]) do
      local kind = string.match(k, '^[^:]*:([^:]*)')
      sum[kind] = (sum[kind] or 0) + redis.call('MEMORY', 'USAGE', k, 'SAMPLES', 0)
      count[kind] = (count[kind] or 0) + 1
    end
  until cursor == '0'
  local out = {}
  for kind, b in pairs(sum) do table.insert(out, kind .. ' ' .. count[kind] .. ' ' .. b) end
  return out" 0 bench | tr -d '"' | awk -v n="$SAMPLES" '{ printf "  %-10s %6d keys %10d bytes = %.3f bytes/sample\n",
    $2, $3, $4, $4 / n }' | sort
redis-cli -p "$PORT" flushall >/dev/null
"$BUILD/tests/bench/bench_series" "redis://127.0.0.1:$PORT/q" "$DATA" | grep -E "^(ingest|query)"

echo "== chunk codec alone (4-hour blocks)"
"$BUILD/tests/bench/bench_codec" "$DATA"
