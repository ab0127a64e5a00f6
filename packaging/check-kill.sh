#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# No acknowledged report lost when the collector is killed under load
# (docs/operations.md, "Durability"): surveyor-fleetsim (AGENTS agents, 32
# keep-alive connections, binary reports of 60 samples) sends for DURATION
# seconds while the collector is killed with SIGKILL KILLS times, each time
# started again at once on the same port and store. fleetsim sends every
# report that got no answer again under its sequence, as an agent does (the
# collector answers "duplicate" for one it had stored), and at the end
# counts through the API the samples stored against those acknowledged:
# equal, or the script fails.
# Usage: packaging/check-kill.sh [sqlite|redis] [KILLS] [AGENTS]
#   (default sqlite 3 200; redis: a throwaway redis-server with
#   appendfsync always, the collector alone killed)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIND=${1:-sqlite}
KILLS=${2:-3}
AGENTS=${3:-200}
. "$ROOT/packaging/bench-lib.sh"
case "$KIND" in
  sqlite) store="sqlite:$WORK/kill.db" ;;
  redis)
    start_redis --appendfsync always
    store="redis://127.0.0.1:$REDIS_PORT/kill"
    ;;
  *) echo "usage: $0 [sqlite|redis] [KILLS] [AGENTS]" >&2; exit 2 ;;
esac
run_tokens kill "$store"
port=$(free_port)
start() {
  "$BIN/surveyor-collector" --listen "127.0.0.1:$port" --store "$store" --rate-limit 0 --log-level warn \
    >>"$WORK/kill/collector.log" 2>&1 &
  pids+=($!)
  if ! wait_port "$port"; then
    echo "the collector did not answer on port $port; its log:" >&2
    cat "$WORK/kill/collector.log" >&2
    exit 1
  fi
}
start
DURATION=$((3 * KILLS + 5))
"$BIN/surveyor-fleetsim" --agents "$AGENTS" --connections 32 --duration "${DURATION}s" --samples 60 \
  --url "http://127.0.0.1:$port" --enrollment-token-file "$WORK/kill/enroll" \
  --verify-token-file "$WORK/kill/viewer" >"$WORK/sim.txt" 2>&1 &
sim=$!
for k in $(seq 1 "$KILLS"); do
  sleep 3
  kill -9 "${pids[-1]}"
  wait "${pids[-1]}" 2>/dev/null || true
  echo "== SIGKILL $k of $KILLS, started again"
  start
done
status=0
wait "$sim" || status=$?
grep -v '^enroll' "$WORK/sim.txt"
exit "$status"
