#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages (surveyor-agent, surveyor-collector, surveyor) from the
# release tree, into build/packages/. Usage: packaging/package.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/packaging/common.sh"
"$ROOT/packaging/install-deps.sh" build >/dev/null
BUILD="$ROOT/build/release"
build_tree "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
mkdir -p "$ROOT/build/packages"
(cd "$BUILD" && cpack -G DEB -B "$ROOT/build/packages" >/dev/null)
rm -rf "$ROOT/build/packages/_CPack_Packages"
for f in "$ROOT"/build/packages/*.deb; do
  printf '%s  %s kB\n' "$(basename "$f")" "$(( $(stat -c %s "$f") / 1024 ))"
done
