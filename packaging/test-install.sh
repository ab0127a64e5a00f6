#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs, upgrades, removes and purges the Debian packages, then does the
# same with the RPM packages (erase for purge), in a throwaway
# root: this machine's / under an overlay whose upper layer is a tmpfs, in a
# private mount and PID namespace (unshare), with its own /proc, /run and
# /tmp. Nothing it installs, creates or starts outlives it; the network is
# this machine's, and only 127.0.0.1 is used. Root is needed (for unshare
# and dpkg), nothing else.
#   1. make the packages (packaging/package.sh) and the same build again as
#      a higher version (VERSION+1), for the upgrade;
#   2. install them; start the collector and the agent as their users from
#      their units' own ExecStart lines (systemd does not run in the root);
#      enroll the agent with `surveyor-agent enroll` as root; see the host's
#      samples through the CLI;
#   3. upgrade: the agent's identity, the database and a changed conffile
#      are kept, and the collector still knows the host;
#   4. remove keeps configuration and state, purge removes them.
# Usage: packaging/test-install.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" != --in-throwaway-root ]; then
  ROOT=$(cd "$HERE/.." && pwd)
  [ "$(id -u)" -eq 0 ] || { echo "test-install: run as root (unshare and dpkg need it)" >&2; exit 2; }
  started=$(date +%s)
  "$ROOT/packaging/package.sh" >/dev/null 2>&1 || { echo "test-install: packaging/package.sh failed" >&2; exit 1; }
  SCRATCH=$(mktemp -d)
  trap 'rm -rf "$SCRATCH"' EXIT
  VERSION=$(dpkg-deb -f "$ROOT"/build/packages/surveyor-agent_*.deb Version)
  mkdir -p "$SCRATCH/pkg/now"
  cp "$ROOT"/build/packages/*.deb "$ROOT"/build/packages/*.rpm "$SCRATCH/pkg/now/"
  (cd "$ROOT/build/release" && cpack -G "DEB;RPM" -B "$SCRATCH/pkg/next" -D CPACK_PACKAGE_VERSION="$VERSION+1" >/dev/null 2>&1)
  rm -rf "$SCRATCH/pkg/next/_CPack_Packages"
  cp "$HERE/test-install.sh" "$HERE/common.sh" "$SCRATCH/pkg/"
  echo "packages built in $(($(date +%s) - started)) s; into a throwaway root"
  # The root: / as the overlay's lower layer (its own mount only, so this
  # directory is empty there), a tmpfs for the changes, the packages and
  # this script under /srv/surveyor-test.
  unshare --mount --pid --fork --propagation private -- bash -euc '
    T=$1
    mkdir -p "$T/layer"
    mount -t tmpfs -o size=2g,mode=0755 throwaway "$T/layer"
    mkdir -p "$T/layer/upper/srv" "$T/layer/work" "$T/root"
    cp -a "$T/pkg" "$T/layer/upper/srv/surveyor-test"
    mount -t overlay throwaway -o "lowerdir=/,upperdir=$T/layer/upper,workdir=$T/layer/work" "$T/root"
    mount -t proc proc "$T/root/proc"
    mount --rbind /dev "$T/root/dev"
    mount --rbind /sys "$T/root/sys"
    mount -t tmpfs -o mode=0755 run "$T/root/run"
    mount -t tmpfs -o mode=1777 tmp "$T/root/tmp"
    exec env TMPDIR=/tmp chroot "$T/root" /bin/bash /srv/surveyor-test/test-install.sh --in-throwaway-root
  ' test-install "$SCRATCH"
  exit 0
fi

# In the throwaway root from here on.
. "$HERE/common.sh"
if dpkg-query -W surveyor-agent surveyor-collector surveyor >/dev/null 2>&1 || [ -e /etc/surveyor ]; then
  echo "test-install: Surveyor is installed on this machine: its root cannot show a fresh install" >&2
  exit 2
fi
PKG="$HERE/now"
NEXT="$HERE/next"
pids=()
VERSION=$(dpkg-deb -f "$PKG"/surveyor-agent_*.deb Version)

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
exec_start() { grep '^ExecStart=' "/usr/lib/systemd/system/$1.service" | cut -d= -f2-; }
start_as() {  # USER UNIT: the unit's ExecStart as USER, in the background
  runuser -u "$1" -- $(exec_start "$2") >"$WORK/$2.log" 2>&1 &
  pids+=($!)
}
stop_all() {
  for p in "${pids[@]}"; do kill "$p"; done
  wait 2>/dev/null || true
  pids=()
}
http_status() {  # PORT PATH: the status code of a GET on 127.0.0.1
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3
  read -r line <&3
  exec 3<&-
  echo "$line" | cut -d' ' -f2
}
wait_for() {  # SECONDS COMMAND...: until COMMAND succeeds
  local n=$1
  shift
  for _ in $(seq 1 $((n * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# The package manager's verbs, per format. Debian's rpm installs only when
# told --force-debian; --nodeps, because its database lists none of the
# Debian packages the binaries' libraries come from.
install_pkgs() {  # FORMAT DIR
  case $1 in
    deb) dpkg -i "$2"/surveyor_*.deb "$2"/surveyor-collector_*.deb "$2"/surveyor-agent_*.deb ;;
    rpm) rpm -i --force-debian --nodeps "$2"/surveyor-0*.rpm "$2"/surveyor-collector-*.rpm "$2"/surveyor-agent-*.rpm ;;
  esac
}
upgrade_pkgs() {  # FORMAT DIR
  case $1 in
    deb) install_pkgs deb "$2" ;;
    rpm) rpm -U --force-debian --nodeps "$2"/surveyor-0*.rpm "$2"/surveyor-collector-*.rpm "$2"/surveyor-agent-*.rpm ;;
  esac
}
installed_version() {  # FORMAT
  case $1 in
    deb) dpkg-query -W -f '${Version}' surveyor-agent ;;
    rpm) rpm -q --qf '%{VERSION}' surveyor-agent ;;
  esac
}
remove_pkgs() {  # FORMAT
  case $1 in
    deb) dpkg -r surveyor-agent surveyor-collector surveyor ;;
    rpm) rpm -e --nodeps surveyor-agent surveyor-collector surveyor ;;
  esac
}

# One install, run, upgrade and removal of FORMAT's packages, from a root
# without Surveyor's users.
cycle() {
  local format=$1 log
  WORK=$(mktemp -d)
  log="$WORK/$format.log"
  install_pkgs "$format" "$PKG" >"$log" 2>&1 || fail "$format: install: $(cat "$log")"
  id surveyor >/dev/null && id surveyor-agent >/dev/null || fail "$format: the system users"
  [ "$(stat -c %U:%a /var/lib/surveyor-agent)" = surveyor-agent:700 ] || fail "$format: /var/lib/surveyor-agent owner and mode"
  [ "$(stat -c %U:%a /var/lib/surveyor)" = surveyor:750 ] || fail "$format: /var/lib/surveyor owner and mode"
  pass "$format: installed $VERSION: users and state directories"

  PORT=$(free_port)
  URL="http://127.0.0.1:$PORT"
  mkdir -p /etc/surveyor/collector.d /etc/surveyor/agent.d
  echo "listen = \"127.0.0.1:$PORT\"" >/etc/surveyor/collector.d/90-test.toml
  printf 'sample_interval = "1s"\nreport_interval = "2s"\n' >/etc/surveyor/agent.d/90-test.toml
  echo "# changed by the administrator" >>/etc/surveyor/agent.toml
  start_as surveyor surveyor-collector
  wait_for 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" \
    || fail "$format: the collector did not listen: $(cat "$WORK/surveyor-collector.log")"
  [ "$(http_status "$PORT" /ui/fleet)" = 200 ] && [ -f /usr/share/surveyor/ui/index.html ] \
    || fail "$format: the web console is not served from /usr/share/surveyor/ui"
  chmod 0711 "$WORK"  # the collector's user writes the token into out/
  install -d -o surveyor "$WORK/out"
  runuser -u surveyor -- surveyor-collector enrollment create --config /etc/surveyor/collector.toml --uses 1 \
    --out "$WORK/out/enroll" >/dev/null
  chown root "$WORK/out/enroll"
  TOKEN=$(runuser -u surveyor -- surveyor-collector token create --config /etc/surveyor/collector.toml \
    --name install-test --role viewer)
  surveyor-agent enroll --collector "$URL" --token-file "$WORK/out/enroll" >"$WORK/enroll.log" 2>&1 \
    || fail "$format: enroll: $(cat "$WORK/enroll.log")"
  [ "$(stat -c %U /var/lib/surveyor-agent/identity)" = surveyor-agent ] || fail "$format: the identity's owner"
  CI=$(sed -n 's/^ci_id=//p' /var/lib/surveyor-agent/identity)
  start_as surveyor-agent surveyor-agent
  has_samples() { SURVEYOR_TOKEN=$TOKEN surveyor --collector "$URL" ci show "$CI" | grep -q system.cpu.utilization; }
  wait_for 30 has_samples || fail "$format: no samples of $CI: $(cat "$WORK/surveyor-agent.log")"
  pass "$format: collector and agent run as their users from their units; $CI reports"
  stop_all

  local identity
  identity=$(sha256sum /var/lib/surveyor-agent/identity)
  upgrade_pkgs "$format" "$NEXT" >"$log" 2>&1 || fail "$format: upgrade: $(cat "$log")"
  [ "$(installed_version "$format")" = "$VERSION+1" ] || fail "$format: the upgrade"
  [ "$(sha256sum /var/lib/surveyor-agent/identity)" = "$identity" ] || fail "$format: the identity changed in the upgrade"
  grep -q "changed by the administrator" /etc/surveyor/agent.toml || fail "$format: the changed conffile was replaced"
  start_as surveyor surveyor-collector
  wait_for 20 has_samples || fail "$format: the collector lost $CI in the upgrade"
  pass "$format: upgraded to $VERSION+1: identity, database and the changed conffile kept"
  stop_all

  remove_pkgs "$format" >"$log" 2>&1 || fail "$format: remove: $(cat "$log")"
  [ ! -e /usr/bin/surveyor-agent ] || fail "$format: remove left the agent's binary"
  [ -e /var/lib/surveyor-agent/identity ] && [ -e /var/lib/surveyor/surveyor.db ] || fail "$format: remove deleted state"
  case $format in
    deb)
      [ -e /etc/surveyor/agent.toml ] || fail "deb: remove deleted the configuration"
      pass "deb: removed: configuration and state kept"
      dpkg -P surveyor-agent surveyor-collector surveyor >/dev/null 2>&1
      [ ! -e /etc/surveyor/agent.toml ] && [ ! -e /var/lib/surveyor-agent ] && [ ! -e /var/lib/surveyor ] \
        || fail "deb: purge left configuration or state"
      pass "deb: purged: configuration and state gone"
      ;;
    rpm)
      # RPM has no purge: a changed %config file is kept as .rpmsave, state stays.
      grep -q "changed by the administrator" /etc/surveyor/agent.toml.rpmsave \
        || fail "rpm: the changed configuration was not kept as agent.toml.rpmsave"
      pass "rpm: erased: changed configuration kept as .rpmsave, state kept"
      ;;
  esac
  rm -rf "$WORK" /etc/surveyor /var/lib/surveyor /var/lib/surveyor-agent
}

# Metadata: dependencies computed from the binaries, configuration files
# marked as such, in both formats.
for f in agent collector; do
  dpkg-deb -f "$PKG"/surveyor-${f}_*.deb Depends | grep -q 'libstdc++6 (>=' || fail "deb: $f's Depends not computed"
  dpkg-deb -e "$PKG"/surveyor-${f}_*.deb "$HERE/control-$f"
  grep -qx "/etc/surveyor/$f.toml" "$HERE/control-$f/conffiles" || fail "deb: $f.toml is no conffile"
  rpm -qpR "$PKG"/surveyor-$f-*.rpm 2>/dev/null | grep -q '^libstdc++.so.6(GLIBCXX_' || fail "rpm: $f's Requires not computed"
  rpm -qpc "$PKG"/surveyor-$f-*.rpm 2>/dev/null | grep -qx "/etc/surveyor/$f.toml" || fail "rpm: $f.toml is no %config"
done
pass "dependencies computed from the binaries, configuration files marked (deb and rpm)"

cycle deb
# Users stay after a purge, as Debian does; the RPMs must make their own.
userdel surveyor
userdel surveyor-agent
cycle rpm
