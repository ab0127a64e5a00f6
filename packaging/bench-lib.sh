# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the ingest benchmarks (bench-ingest.sh, bench-catchup.sh), which
# set ROOT and source it, then set AGENTS and SIM (the surveyor-fleetsim
# command line). It builds the release tree with the benchmarks (BIN, BUILD)
# and makes a work directory (WORK); the pids of what the scripts start go
# in the array `pids`, killed on exit with WORK removed.
. "$ROOT/packaging/common.sh"
"$ROOT/packaging/install-deps.sh" build test >/dev/null
BUILD="$ROOT/build/release"
build_tree "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSURVEYOR_BUILD_TESTS=OFF -DSURVEYOR_BUILD_BENCHMARKS=ON >/dev/null
BIN="$BUILD/bin"
WORK=$(mktemp -d)
pids=()
budgets=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for g in ${budgets[@]+"${budgets[@]}"}; do rmdir "$g" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
rate_of() { awk '/acknowledged/ {for (i = 1; i <= NF; i++) if ($i == "reports/s,") print $(i - 1)}' "$1"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# In $WORK/NAME: an enrollment token for the fleet (enroll) and a viewer
# token (viewer) on STORE.
run_tokens() {
  local name=$1 store=$2
  mkdir -p "$WORK/$name"
  "$BIN/surveyor-collector" enrollment create --store "$store" --uses $((AGENTS + 10)) --expires 2h \
    --out "$WORK/$name/enroll" >/dev/null
  "$BIN/surveyor-collector" token create --store "$store" --name "bench-$name-$RANDOM" --role viewer \
    --out "$WORK/$name/viewer" >/dev/null
}

# Starts a collector on STORE, logging into $WORK/NAME, with the options in
# the array COLLECTOR_ARGS if set; its port is left in COLLECTOR_PORT, its
# pid last in pids. CBIN (the environment) names another collector binary
# to run, to compare two builds in alternating runs.
start_collector() {
  local name=$1 store=$2 port
  port=$(free_port)
  "${CBIN:-$BIN/surveyor-collector}" --listen "127.0.0.1:$port" --store "$store" --rate-limit 0 --log-level warn \
    ${COLLECTOR_ARGS[@]+"${COLLECTOR_ARGS[@]}"} >"$WORK/$name/collector-$port.log" 2>&1 &
  pids+=($!)
  if ! wait_port "$port"; then
    echo "the collector did not answer on port $port; its log:" >&2
    cat "$WORK/$name/collector-$port.log" >&2 || true
    return 1
  fi
  COLLECTOR_PORT=$port
}

# The collector PID's peak RSS, beside its RSS before the fleet (kB).
print_rss() {
  awk -v b="$2" -v n="$AGENTS" '/^VmHWM:/ {printf "  collector     peak RSS %.1f MB (%.1f MB before the fleet; %.1f kB more per simulated host)\n", $2 / 1024, b / 1024, ($2 - b) / n}' "/proc/$1/status"
}

# A collector on STORE, its tokens, fleetsim against it (extra arguments go
# to fleetsim, and so do those in the array CPU_OF if set, such as
# --cpu-of redis=PID); $1 names the run, its output goes to $WORK/NAME.txt.
# fleetsim prints the CPU the collector (and those) used per report. With
# COLLECTOR_BUDGET set, the collector is held to that many cores.
collector_run() {
  local name=$1 store=$2
  shift 2
  run_tokens "$name" "$store"
  start_collector "$name" "$store"
  local pid=${pids[-1]} before
  [[ -z ${COLLECTOR_BUDGET:-} ]] || cpu_budget "$pid" "$COLLECTOR_BUDGET"
  before=$(rss_kb "$pid")
  "${SIM[@]}" --url "http://127.0.0.1:$COLLECTOR_PORT" --enrollment-token-file "$WORK/$name/enroll" \
    --verify-token-file "$WORK/$name/viewer" --cpu-of "collector=$pid" ${CPU_OF[@]+"${CPU_OF[@]}"} "$@" |
    tee "$WORK/$name.txt"
  print_rss "$pid" "$before"
  stop_pid "$pid"
}

# A throwaway redis-server in $WORK (appendonly yes, appendfsync everysec),
# with the options given; its port in REDIS_PORT, its pid in REDIS_PID.
start_redis() {
  REDIS_PORT=$(free_port)
  mkdir -p "$WORK/redis-$REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec \
    --dir "$WORK/redis-$REDIS_PORT" --logfile "$WORK/redis-$REDIS_PORT.log" --daemonize no "$@" &
  pids+=($!)
  REDIS_PID=${pids[-1]}
  if ! wait_port "$REDIS_PORT"; then
    echo "redis-server did not answer on port $REDIS_PORT; its log:" >&2
    cat "$WORK/redis-$REDIS_PORT.log" >&2 || true
    return 1
  fi
}

print_redis_memory() {
  echo "  redis         used_memory $(redis-cli -p "$REDIS_PORT" info memory | awk -F: '/^used_memory:/ {printf "%.1f MB", $2 / 1048576}') for $AGENTS hosts"
}

# A throwaway Redis Cluster of three masters (start_redis's settings, no
# replicas): its nodes (HOST:PORT) in CLUSTER, their pids in CLUSTER_PID
# by port, the store's URL for prefix $1 in CLUSTER_URL, and in CPU_OF a
# --cpu-of for each node ("redis-store" for the master of the prefix's
# own slot).
start_cluster() {
  CLUSTER=()
  declare -gA CLUSTER_PID=()
  for _ in 1 2 3; do
    start_redis --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000 \
      --cluster-port "$(free_port)"
    CLUSTER+=("127.0.0.1:$REDIS_PORT")
    CLUSTER_PID[$REDIS_PORT]=$REDIS_PID
  done
  redis-cli --cluster create "${CLUSTER[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
  for _ in $(seq 1 100); do
    redis-cli -p "$REDIS_PORT" cluster info | grep -q cluster_state:ok && break
    sleep 0.1
  done
  # shellcheck disable=SC2034  # read by the scripts that source this one
  CLUSTER_URL="redis-cluster://$(IFS=,; echo "${CLUSTER[*]}")/$1"
  CPU_OF=()
  local node port name
  for node in "${CLUSTER[@]}"; do  # the others answer MOVED
    port=${node#*:}
    if [[ $(redis-cli -p "$port" exists "{$1}" 2>&1) == 0 ]]; then name=redis-store; else name=redis-$port; fi
    CPU_OF+=(--cpu-of "$name=${CLUSTER_PID[$port]}")
  done
}

# Each node's keys and memory, then what one host's CI hash (in the
# store's slot) and its inventory (in the host's) take, for prefix $1.
print_cluster_memory() {
  local node port ci
  for node in "${CLUSTER[@]}"; do
    port=${node#*:}
    echo "  node :$port  $(redis-cli -p "$port" dbsize) keys, used_memory $(redis-cli -p "$port" info memory |
      awk -F: '/^used_memory:/ {printf "%.1f MB", $2 / 1048576}')"
  done
  port=${CLUSTER[0]#*:}
  ci=$(redis-cli -c -p "$port" hvals "{$1}:agent-ci" 2>/dev/null | head -1) || true
  [[ -n $ci ]] || return 0
  local hash inventory
  hash=$(redis-cli -c -p "$port" memory usage "{$1}:ci:$ci" samples 0)
  inventory=$(redis-cli -c -p "$port" memory usage "{$1:$ci}:inventory:$ci" samples 0)
  if [[ -n $inventory ]]; then inventory="$inventory bytes"; else inventory=none; fi
  echo "  one host      CI hash $hash bytes, inventory $inventory ($ci)"
}

stop_cluster() {
  local port
  for port in "${!CLUSTER_PID[@]}"; do stop_pid "${CLUSTER_PID[$port]}"; done
}

# Whether cpu_budget can work here: root and a cgroup cpu controller.
cpu_budget_ok() {
  [[ $EUID -eq 0 ]] && { grep -qsw cpu /sys/fs/cgroup/cgroup.controllers || [[ -w /sys/fs/cgroup/cpu ]]; }
}

# Holds process PID (all its threads, and those it starts later) to CORES
# cores of CPU time, as if it ran on a host of that size: a CPU quota of a
# cgroup of its own (cgroup v2's cpu.max, or v1's cpu.cfs_quota_us), removed
# on exit. Needs root and a writable cgroup file system with the cpu
# controller; fails with a message otherwise.
cpu_budget() {
  local pid=$1 cores=$2 g quota
  quota=$(awk -v c="$cores" 'BEGIN {printf "%d", c * 100000}')
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    g=/sys/fs/cgroup/surveyor-bench-$$-$pid
    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control || echo +cpu >/sys/fs/cgroup/cgroup.subtree_control
    mkdir "$g" && echo "$quota 100000" >"$g/cpu.max"
  elif [[ -d /sys/fs/cgroup/cpu ]]; then
    g=/sys/fs/cgroup/cpu/surveyor-bench-$$-$pid
    mkdir "$g" && echo 100000 >"$g/cpu.cfs_period_us" && echo "$quota" >"$g/cpu.cfs_quota_us"
  else
    echo "no cgroup cpu controller to hold a process to a CPU budget" >&2
    return 1
  fi
  budgets+=("$g")
  echo "$pid" >"$g/cgroup.procs"
}
