#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The web console's speed (docs/benchmarks.md): builds the release binaries
# and the console, then web/tests/bench-ui.mjs measures in headless Chromium
# the fleet page with HOSTS hosts and a 30-day chart of 1-minute samples.
# Usage: packaging/bench-ui.sh [HOSTS] [RUNS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/packaging/common.sh"
"$ROOT/packaging/install-deps.sh" build ui browser >/dev/null
BUILD="$ROOT/build/release"
build_tree "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSURVEYOR_BUILD_TESTS=OFF >/dev/null
"$ROOT/packaging/build-ui.sh" "$ROOT/build/ui"
cd "$ROOT/web"
HOSTS=${1:-10000} RUNS=${2:-5} SURVEYOR_BIN_DIR="$BUILD/bin" SURVEYOR_UI_DIR="$ROOT/build/ui" node tests/bench-ui.mjs
