#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make test`: installs what the tests need, builds everything with
# AddressSanitizer and UndefinedBehaviorSanitizer (warnings are errors),
# builds the web console, starts a throwaway redis-server and a Redis Cluster
# of three masters on free loopback ports, runs every test with CTest (the console's in headless Chromium; its
# screenshots in build/asan/ui-artifacts/), and stops what it started; then, as root, the packages' install
# test in a throwaway root.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/packaging/common.sh"

"$ROOT/packaging/install-deps.sh" build test ui browser
"$ROOT/packaging/build-ui.sh" "$ROOT/build/ui"
BUILD="$ROOT/build/asan"
build_tree "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DSURVEYOR_SANITIZE=ON -DSURVEYOR_WERROR=ON -DSURVEYOR_BUILD_TESTS=ON

WORK=$(mktemp -d)
REDIS_PID=
CLUSTER_PIDS=()
cleanup() {
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  for pid in "${CLUSTER_PIDS[@]}"; do if kill "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi; done
  rm -rf "$WORK"
}
trap cleanup EXIT

for _ in 1 2 3 4 5; do
  PORT=$(free_port)
  redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
    --logfile "$WORK/redis.log" --daemonize no &
  REDIS_PID=$!
  for _ in $(seq 1 50); do
    if redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; then break 2; fi
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill "$REDIS_PID" 2>/dev/null || true
  REDIS_PID=
done
[ -n "$REDIS_PID" ] || { echo "could not start redis-server" >&2; cat "$WORK/redis.log" >&2; exit 1; }
echo "redis-server for the tests on 127.0.0.1:$PORT"

export SURVEYOR_TEST_REDIS="127.0.0.1:$PORT"

# And a Redis Cluster of three masters, shared the same way by the tests
# that need one and not one of their own (test::test_redis_cluster()).
cluster_up() {
  local nodes=() port dir
  CLUSTER_PIDS=()
  for _ in 1 2 3; do
    port=$(free_port)
    dir="$WORK/cluster-$port"
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --logfile "$dir/log" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000 \
      --cluster-port "$(free_port)" --daemonize no &
    CLUSTER_PIDS+=($!)
    nodes+=("127.0.0.1:$port")
    for _ in $(seq 1 50); do
      redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
      sleep 0.1
    done
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes 2>&1 | grep -q "All 16384 slots covered" ||
    return 1
  for node in "${nodes[@]}"; do
    for _ in $(seq 1 100); do
      redis-cli -p "${node#*:}" cluster info 2>/dev/null | grep -q cluster_state:ok && continue 2
      sleep 0.1
    done
    return 1
  done
  SURVEYOR_TEST_REDIS_CLUSTER=$(IFS=,; echo "${nodes[*]}")
}
for _ in 1 2 3; do
  cluster_up && break
  for pid in "${CLUSTER_PIDS[@]}"; do if kill "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi; done
  CLUSTER_PIDS=()
done
[ -n "${SURVEYOR_TEST_REDIS_CLUSTER:-}" ] || { echo "could not start a Redis Cluster" >&2; exit 1; }
echo "Redis Cluster for the tests on $SURVEYOR_TEST_REDIS_CLUSTER"
export SURVEYOR_TEST_REDIS_CLUSTER
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TMPDIR="$WORK"
ctest --test-dir "$BUILD" -j "$(nproc)" --output-on-failure --timeout 300

# The packages: built, checked by lintian, installed, upgraded, removed and
# purged in a throwaway root (packaging/test-install.sh), which needs root.
if [ "$(id -u)" -eq 0 ]; then
  "$ROOT/packaging/test-install.sh"
else
  echo "NOT RUN: the package install test (packaging/test-install.sh) needs root" >&2
fi
