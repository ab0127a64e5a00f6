#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Measures surveyor-agent's footprint on this host, as docs/benchmarks.md
# describes: peak RSS and CPU per minute at a 10 s sample interval over
# DURATION seconds (default 150, counted from the first stored report)
# against a local collector, then the time and peak memory of one full
# inventory run (five runs, the median time and the largest peak). The agent
# reports over HTTPS (certs init's CA), as deployed; `plain` measures it over
# plain HTTP instead.
# Usage: packaging/bench-agent.sh [DURATION] [tls|plain]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/packaging/common.sh"
DURATION=${1:-150}
MODE=${2:-tls}

"$ROOT/packaging/install-deps.sh" build >/dev/null
BUILD="$ROOT/build/release"
build_tree "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSURVEYOR_BUILD_TESTS=OFF >/dev/null
BIN="$BUILD/bin"
WORK=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

PORT=$(free_port)
"$BIN/surveyor-collector" token create --store "sqlite:$WORK/s.db" --name bench --role viewer --out "$WORK/token"
TLS=()
AGENT_TLS=()
SCHEME=http
CURL=(curl -s -H "Authorization: Bearer $(cat "$WORK/token")")
if [ "$MODE" = tls ]; then
  "$BIN/surveyor-collector" certs init --dir "$WORK/certs" --host 127.0.0.1 >/dev/null
  TLS=(--tls-cert "$WORK/certs/server.pem" --tls-key "$WORK/certs/server-key.pem")
  AGENT_TLS=(--ca-file "$WORK/certs/ca.pem")
  SCHEME=https
  CURL+=(--cacert "$WORK/certs/ca.pem")
fi
"$BIN/surveyor-collector" --listen "127.0.0.1:$PORT" --store "sqlite:$WORK/s.db" --enrollment-token bench "${TLS[@]}" \
  --log-level warn >"$WORK/collector.log" 2>&1 &
pids+=($!)
sleep 1
"$BIN/surveyor-agent" --collector-url "$SCHEME://127.0.0.1:$PORT" "${AGENT_TLS[@]}" --enrollment-token bench \
  --state-dir "$WORK/agent" --sample-interval 10s --report-interval 60s --log-level warn >"$WORK/agent.log" 2>&1 &
AGENT=$!
pids+=($AGENT)

# CPU: the sum of the first field of /proc/PID/task/*/schedstat (ns on a CPU).
cpu_ns() { cat /proc/"$AGENT"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
stored() { "${CURL[@]}" "$SCHEME://127.0.0.1:$PORT/metrics" | awk '/^surveyor_reports_total\{outcome="stored"\}/ {print $2}'; }
# Start-up (enrollment, the first full inventory) is measured by the inventory
# run below: the window opens once the first report is in.
for _ in $(seq 1 80); do [ -n "$(stored)" ] && break; sleep 1; done
start_cpu=$(cpu_ns)
start=$(date +%s.%N)
sleep "$DURATION"
end_cpu=$(cpu_ns)
end=$(date +%s.%N)
hwm=$(awk '/^VmHWM:/ {print $2}' /proc/"$AGENT"/status)
rss=$(awk '/^VmRSS:/ {print $2}' /proc/"$AGENT"/status)
pss=$(awk '/^Pss:/ {print $2}' /proc/"$AGENT"/smaps_rollup 2>/dev/null || echo "?")
elapsed=$(echo "$end - $start" | bc -l)
cpu_ms_min=$(echo "($end_cpu - $start_cpu) / 1000000 * 60 / $elapsed" | bc -l)
printf 'agent: %.0f s at a 10 s sample interval, 60 s reports, over %s\n' "$elapsed" "$SCHEME"
printf '  peak RSS (VmHWM)   %6.2f MB\n' "$(echo "$hwm / 1024" | bc -l)"
printf '  RSS at the end     %6.2f MB (PSS %s kB)\n' "$(echo "$rss / 1024" | bc -l)" "$pss"
printf '  CPU                %6.2f ms per minute\n' "$cpu_ms_min"
printf '  reports stored     %s\n' "$(stored)"

times=()
peak=0
for _ in 1 2 3 4 5; do
  out=$( { /usr/bin/time -f '%e %M' "$BIN/surveyor-agent" --inventory >/dev/null; } 2>&1 | tail -1)
  times+=("$(echo "$out" | cut -d' ' -f1)")
  m=$(echo "$out" | cut -d' ' -f2)
  [ "$m" -gt "$peak" ] && peak=$m
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
printf 'inventory (surveyor-agent --inventory, 5 runs): median %.0f ms, peak RSS %.2f MB\n' \
  "$(echo "$median * 1000" | bc -l)" "$(echo "$peak / 1024" | bc -l)"
