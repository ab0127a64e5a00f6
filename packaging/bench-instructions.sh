#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Instructions a report (docs/benchmarks.md, "Ingest through HTTP"): the
# collector on SQLite (synchronous=FULL) under callgrind, surveyor-fleetsim's
# 50 agents sending binary reports of 60 samples at 50 reports/s over 8
# connections. The instructions of all the collector's threads are counted
# over WINDOW seconds after WARMUP seconds (the agents' first reports, with
# their inventories, go in the warm-up) and divided by the reports applied
# in between (surveyor_store_reports_applied_total). On a shared machine
# whose speed drifts from one minute to the next, these figures repeat
# where times do not; what the kernel does (system calls, wake-ups) is not
# in them.
# Usage: packaging/bench-instructions.sh [WINDOW] [WARMUP]   (default 16 16)
# COLLECTOR=path (the environment) measures another build of the collector.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WINDOW=${1:-16}
WARMUP=${2:-16}
AGENTS=50
. "$ROOT/packaging/bench-lib.sh"
"$ROOT/packaging/install-deps.sh" profile >/dev/null
COLLECTOR=${COLLECTOR:-$BIN/surveyor-collector}
store="sqlite:$WORK/instructions.db"
mkdir -p "$WORK/instructions"
"$COLLECTOR" enrollment create --store "$store" --uses $((AGENTS + 10)) --expires 2h \
  --out "$WORK/instructions/enroll" >/dev/null
"$COLLECTOR" token create --store "$store" --name "bench-instructions" --role viewer \
  --out "$WORK/instructions/viewer" >/dev/null
port=$(free_port)
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" "$COLLECTOR" --listen "127.0.0.1:$port" \
  --store "$store" --rate-limit 0 --log-level warn >"$WORK/collector.log" 2>&1 &
collector=$!
pids+=("$collector")
up=
for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && up=1 && break; sleep 0.1; done
if [ -z "$up" ]; then
  echo "the collector under valgrind did not answer on port $port in 60 s; its log:" >&2
  cat "$WORK/collector.log" >&2
  exit 1
fi
applied() {
  curl -sf -H "Authorization: Bearer $(cat "$WORK/instructions/viewer")" "http://127.0.0.1:$port/metrics" |
    awk '/^surveyor_store_reports_applied_total/ {print $2}'
}
"$BIN/surveyor-fleetsim" --agents "$AGENTS" --connections 8 --duration "$((WARMUP + WINDOW + 4))s" --rate 50 \
  --samples 60 --url "http://127.0.0.1:$port" --enrollment-token-file "$WORK/instructions/enroll" \
  >"$WORK/fleetsim.txt" 2>&1 &
sim=$!
pids+=("$sim")
sleep "$WARMUP"
# The reports applied are read just outside the counted window (the
# /metrics requests themselves are not counted).
before=$(applied)
callgrind_control -z "$collector" >/dev/null 2>&1
sleep "$WINDOW"
callgrind_control -d "$collector" >/dev/null 2>&1
after=$(applied)
wait "$sim" || true
stop_pid "$collector"
dump=$(find "$WORK" -maxdepth 1 -name 'callgrind.out.*' | head -1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
reports=$(awk -v a="$before" -v b="$after" 'BEGIN {printf "%d", b - a}')
if [ -z "$total" ] || [ "$reports" -le 0 ]; then
  echo "no count: ${reports} reports applied, instructions '${total}' (is the dump $dump there?)" >&2
  exit 1
fi
echo "collector on SQLite under callgrind, $AGENTS agents at 50 reports/s, ${WINDOW} s after ${WARMUP} s:"
echo "  reports applied  $reports"
echo "  instructions     $total, $((total / reports)) a report"
echo "  the functions with the most (inclusive):"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | grep -E 'encode_chunk\[|SqliteReportStore::apply\(|wire::decode<|Evaluator::run\(|prepare_series\(|sight_in\(' |
  sed -E 's/^ *([0-9,]+) +\( *[0-9.]+%\) +(\?\?\?:)?([^(]*).*/\1 \3/' |
  awk -v r="$reports" '{n = $1; gsub(",", "", n); $1 = ""; printf "    %8d a report %s\n", n / r, $0}'
