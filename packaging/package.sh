#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian and RPM packages (surveyor-agent, surveyor-collector, surveyor)
# from the release tree, into build/packages/, then lintian's verdict on the
# Debian ones.
# Usage: packaging/package.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/packaging/common.sh"
"$ROOT/packaging/install-deps.sh" build package >/dev/null
BUILD="$ROOT/build/release"
"$ROOT/packaging/build-ui.sh" "$ROOT/build/ui" >/dev/null
build_tree "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSURVEYOR_BUILD_TESTS=OFF -DSURVEYOR_UI_DIR="$ROOT/build/ui" >/dev/null
mkdir -p "$ROOT/build/packages"
rm -f "$ROOT"/build/packages/*.deb "$ROOT"/build/packages/*.rpm
(cd "$BUILD" && cpack -G "DEB;RPM" -B "$ROOT/build/packages" >/dev/null 2>&1) \
  || { echo "package: cpack failed (cd $BUILD && cpack -G 'DEB;RPM' says why)" >&2; exit 1; }
rm -rf "$ROOT/build/packages/_CPack_Packages"
for f in "$ROOT"/build/packages/*.deb "$ROOT"/build/packages/*.rpm; do
  printf '%s  %s kB\n' "$(basename "$f")" "$(( $(stat -c %s "$f") / 1024 ))"
done
# Errors fail the script; the warnings kept are listed in docs/install.md.
rc=0
out=$(lintian --fail-on error --tag-display-limit 0 "$ROOT"/build/packages/*.deb 2>&1) || rc=$?
printf '%s\n' "$out" | grep -v 'root privileges' || true
exit "$rc"
