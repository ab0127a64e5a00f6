# SPDX-License-Identifier: Apache-2.0
# Shared by the development scripts: configure and build one build tree.
# Usage: build_tree DIR [cmake options...]
build_tree() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$ROOT" -B "$dir" -G Ninja "$@"
  else
    cmake "$dir" "$@" >/dev/null
  fi
  cmake --build "$dir" -j "$(nproc)"
}

# A TCP port on 127.0.0.1 that nothing listens on right now, below the
# kernel's range of ephemeral ports: one from that range may be taken as
# the local port of an outgoing connection before the server binds it.
free_port() {
  local p low=32768 high
  read -r low high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [ "$low" -gt 21000 ] 2>/dev/null || low=61000
  for _ in $(seq 1 50); do
    p=$(shuf -i "20000-$((low - 1))" -n 1)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}
