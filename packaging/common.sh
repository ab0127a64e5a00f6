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

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(shuf -i 20000-60999 -n 1)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}
