#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make run`: builds the release binaries, starts surveyor-collector on the
# embedded SQLite store in .run/, enrolls a surveyor-agent for this host
# against it, and keeps both running until Ctrl-C.
# Environment: SURVEYOR_PORT (default 8080), SURVEYOR_RUN_DIR (default .run).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/packaging/common.sh"

"$ROOT/packaging/install-deps.sh" build run
BUILD="$ROOT/build/release"
build_tree "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSURVEYOR_BUILD_TESTS=OFF
"$ROOT/packaging/build-ui.sh" "$ROOT/build/ui"
BIN="$BUILD/bin"

PORT=${SURVEYOR_PORT:-8080}
RUN=${SURVEYOR_RUN_DIR:-$ROOT/.run}
mkdir -p "$RUN"
chmod 700 "$RUN"
STORE="sqlite:$RUN/surveyor.db"
# TLS from the start: a quick-start CA and a certificate for this host,
# made once (surveyor-collector certs init; for production use your own CA).
if [ ! -s "$RUN/certs/server.pem" ]; then
  "$BIN/surveyor-collector" certs init --dir "$RUN/certs" --host localhost --host 127.0.0.1
fi
# An admin's API token for the command line, and a one-use enrollment token
# for this host's agent; both made once, in files of mode 0600.
if [ ! -s "$RUN/admin-token" ]; then
  rm -f "$RUN/admin-token"
  "$BIN/surveyor-collector" token create --store "$STORE" --name "admin-$(date +%s)" --role admin \
    --out "$RUN/admin-token"
fi
if [ ! -s "$RUN/enrollment-token" ]; then
  rm -f "$RUN/enrollment-token"
  "$BIN/surveyor-collector" enrollment create --store "$STORE" --uses 1 --expires 1h --out "$RUN/enrollment-token"
fi
URL="https://127.0.0.1:$PORT"

# The children run in their own sessions, so Ctrl-C reaches only this
# script, which stops the agent first (its last report still reaches the
# collector) and the collector after it.
pids=()
stop() {
  trap - INT TERM EXIT
  trap '' PIPE  # the terminal side of a pipe (| tee) may be gone already
  echo "stopping..." 2>/dev/null || true
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  exit 0
}
trap stop INT TERM EXIT

setsid "$BIN/surveyor-collector" --listen "127.0.0.1:$PORT" --store "$STORE" --ui-dir "$ROOT/build/ui" \
  --tls-cert "$RUN/certs/server.pem" --tls-key "$RUN/certs/server-key.pem" &
pids+=($!)
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  kill -0 "${pids[0]}" 2>/dev/null || { echo "surveyor-collector did not start" >&2; exit 1; }
  sleep 0.1
done

setsid "$BIN/surveyor-agent" --collector-url "$URL" --ca-file "$RUN/certs/ca.pem" \
  --enrollment-token-file "$RUN/enrollment-token" --state-dir "$RUN/agent" &
pids+=($!)

cat <<MSG

  Surveyor is running.
    console:    $URL/ui/   (sign in with the token in $RUN/admin-token; the CA below must be trusted)
    API:        $URL/api/v1/cis   (health: $URL/readyz, metrics: $URL/metrics)
    store:      $RUN/surveyor.db
    agent:      reports every 60 s, samples every 10 s
    API token:  $RUN/admin-token (role admin; every /api/v1 request needs one)
    TLS:        HTTPS only; CA $RUN/certs/ca.pem (a quick-start CA made for this run)

  Within a minute, try:
    export SURVEYOR_TOKEN_FILE=$RUN/admin-token SURVEYOR_CA_FILE=$RUN/certs/ca.pem
    $BIN/surveyor --collector $URL ci show $(cat /proc/sys/kernel/hostname)
    curl --cacert $RUN/certs/ca.pem -H "Authorization: Bearer \$(cat $RUN/admin-token)" $URL/api/v1/cis

  Ctrl-C stops both.

MSG
wait
