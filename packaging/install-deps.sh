#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages Surveyor needs to build, test and run, and
# only those that are missing. Usage: packaging/install-deps.sh [build|test|run|fuzz|package|profile|ui|browser]...
# (default: build, test and run). Runs apt-get as root, or through sudo when not root.
set -euo pipefail

build_pkgs=(
  g++ cmake ninja-build ccache pkg-config make
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libcereal-dev libhwloc-dev libhiredis-dev libsqlite3-dev nettle-dev zlib1g-dev libre2-dev libssl-dev
  libmbedtls-dev libjemalloc-dev
  libtomlplusplus-dev libspdlog-dev libcli11-dev libhowardhinnant-date-dev
)
test_pkgs=(libgtest-dev libgmock-dev libbenchmark-dev redis-server redis-tools hwloc procps util-linux iproute2 openssl
  monitoring-plugins-basic tzdata)
fuzz_pkgs=(clang libclang-rt-14-dev)
package_pkgs=(dpkg-dev lintian rpm)
profile_pkgs=(valgrind curl)
run_pkgs=(ca-certificates tzdata)
# The web console's build (web/: npm ci, vite): Debian's Node.js and npm,
# unless a Node.js with its npm is installed already.
ui_pkgs=()
command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 || ui_pkgs=(nodejs npm)
# Its tests: Debian's Chromium, driven by playwright-core (web/package.json).
browser_pkgs=(chromium fonts-dejavu-core)

want=()
[ $# -eq 0 ] && set -- build test run
for set_name in "$@"; do
  case "$set_name" in
    build) want+=("${build_pkgs[@]}") ;;
    test) want+=("${test_pkgs[@]}") ;;
    run) want+=("${run_pkgs[@]}") ;;
    fuzz) want+=("${fuzz_pkgs[@]}") ;;
    package) want+=("${package_pkgs[@]}") ;;
    profile) want+=("${profile_pkgs[@]}") ;;
    ui) want+=("${ui_pkgs[@]}") ;;
    browser) want+=("${browser_pkgs[@]}") ;;
    *) echo "install-deps: unknown set '$set_name' (build, test, run, fuzz, package, profile, ui, browser)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# Package postinst scripts must not start services (redis-server) on the host:
# the project starts its own throwaway instances.
"${sudo_cmd[@]}" env RUNLEVEL=1 apt-get update -qq
"${sudo_cmd[@]}" env RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}"
