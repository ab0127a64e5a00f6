#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs, upgrades, removes and purges the Debian packages on THIS machine
# (as root: it creates the users surveyor and surveyor-agent, /etc/surveyor
# and /var/lib/surveyor*), so run it on a throwaway machine or container:
#   1. make the packages (packaging/package.sh) and the same build again as
#      a higher version (VERSION+1), for the upgrade;
#   2. install them; start the collector and the agent as their users from
#      their units' own ExecStart lines (systemd need not run); enroll the
#      agent with --enroll as root; see the host's samples through the CLI;
#   3. upgrade: the agent's identity, the database and a changed conffile
#      are kept, and the collector still knows the host;
#   4. remove keeps configuration and state, purge removes them.
# Usage: packaging/test-install.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/packaging/common.sh"
[ "$(id -u)" -eq 0 ] || { echo "test-install: run as root (it installs packages)" >&2; exit 2; }
if dpkg-query -W surveyor-agent surveyor-collector surveyor >/dev/null 2>&1 || [ -e /etc/surveyor ]; then
  echo "test-install: Surveyor is installed here already; refusing to touch it" >&2
  exit 2
fi

"$ROOT/packaging/package.sh" >/dev/null 2>&1 || { echo "test-install: packaging/package.sh failed" >&2; exit 1; }
PKG="$ROOT/build/packages"
WORK=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  dpkg -P surveyor-agent surveyor-collector surveyor >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
VERSION=$(dpkg-deb -f "$PKG"/surveyor-agent_*.deb Version)
(cd "$ROOT/build/release" && cpack -G DEB -B "$WORK/next" -D CPACK_PACKAGE_VERSION="$VERSION+1" >/dev/null 2>&1)

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
exec_start() { grep '^ExecStart=' "/lib/systemd/system/$1.service" | cut -d= -f2-; }
start_as() {  # USER UNIT: the unit's ExecStart as USER, in the background
  runuser -u "$1" -- $(exec_start "$2") >"$WORK/$2.log" 2>&1 &
  pids+=($!)
}
wait_for() {  # SECONDS COMMAND...: until COMMAND succeeds
  local n=$1
  shift
  for _ in $(seq 1 $((n * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

dpkg -i "$PKG"/surveyor_*.deb "$PKG"/surveyor-collector_*.deb "$PKG"/surveyor-agent_*.deb >/dev/null 2>&1
id surveyor >/dev/null && id surveyor-agent >/dev/null || fail "the system users"
[ "$(stat -c %U:%a /var/lib/surveyor-agent)" = surveyor-agent:700 ] || fail "/var/lib/surveyor-agent owner and mode"
[ "$(stat -c %U:%a /var/lib/surveyor)" = surveyor:750 ] || fail "/var/lib/surveyor owner and mode"
pass "installed $VERSION: users and state directories"

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
mkdir -p /etc/surveyor/collector.d /etc/surveyor/agent.d
echo "listen = \"127.0.0.1:$PORT\"" >/etc/surveyor/collector.d/90-test.toml
printf 'sample_interval = "1s"\nreport_interval = "2s"\n' >/etc/surveyor/agent.d/90-test.toml
echo "# changed by the administrator" >>/etc/surveyor/agent.toml
start_as surveyor surveyor-collector
wait_for 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" || fail "the collector did not listen: $(cat "$WORK/surveyor-collector.log")"
chmod 0711 "$WORK"  # the collector's user writes the token into out/
install -d -o surveyor "$WORK/out"
runuser -u surveyor -- surveyor-collector enrollment create --config /etc/surveyor/collector.toml --uses 1 \
  --out "$WORK/out/enroll" >/dev/null
chown root "$WORK/out/enroll"
TOKEN=$(runuser -u surveyor -- surveyor-collector token create --config /etc/surveyor/collector.toml \
  --name install-test --role viewer)
surveyor-agent --config /etc/surveyor/agent.toml --enroll --collector-url "$URL" \
  --enrollment-token-file "$WORK/out/enroll" >"$WORK/enroll.log" 2>&1 || fail "--enroll: $(cat "$WORK/enroll.log")"
[ "$(stat -c %U /var/lib/surveyor-agent/identity)" = surveyor-agent ] || fail "the identity's owner"
CI=$(sed -n 's/^ci_id=//p' /var/lib/surveyor-agent/identity)
start_as surveyor-agent surveyor-agent
has_samples() { SURVEYOR_TOKEN=$TOKEN surveyor --collector "$URL" ci show "$CI" | grep -q system.cpu.utilization; }
wait_for 30 has_samples || fail "no samples of $CI: $(cat "$WORK/surveyor-agent.log")"
pass "collector and agent run as their users from their units; $CI reports"

for p in "${pids[@]}"; do kill "$p"; done
wait 2>/dev/null || true
pids=()
identity=$(sha256sum /var/lib/surveyor-agent/identity)
dpkg -i "$WORK"/next/surveyor_*.deb "$WORK"/next/surveyor-collector_*.deb "$WORK"/next/surveyor-agent_*.deb >/dev/null 2>&1
[ "$(dpkg-query -W -f '${Version}' surveyor-agent)" = "$VERSION+1" ] || fail "the upgrade"
[ "$(sha256sum /var/lib/surveyor-agent/identity)" = "$identity" ] || fail "the identity changed in the upgrade"
grep -q "changed by the administrator" /etc/surveyor/agent.toml || fail "the changed conffile was replaced"
start_as surveyor surveyor-collector
wait_for 20 has_samples || fail "the collector lost $CI in the upgrade"
pass "upgraded to $VERSION+1: identity, database and the changed conffile kept"
for p in "${pids[@]}"; do kill "$p"; done
wait 2>/dev/null || true
pids=()

dpkg -r surveyor-agent surveyor-collector surveyor >/dev/null
[ -e /etc/surveyor/agent.toml ] && [ -e /var/lib/surveyor-agent/identity ] && [ -e /var/lib/surveyor/surveyor.db ] \
  || fail "remove deleted configuration or state"
pass "removed: configuration and state kept"
dpkg -P surveyor-agent surveyor-collector surveyor >/dev/null 2>&1
[ ! -e /etc/surveyor/agent.toml ] && [ ! -e /var/lib/surveyor-agent ] && [ ! -e /var/lib/surveyor ] \
  || fail "purge left configuration or state"
pass "purged: configuration and state gone"
