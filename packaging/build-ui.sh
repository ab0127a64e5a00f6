#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The web console (web/): npm packages from the committed lock file (npm ci),
# the TypeScript checked, and the Vite build into build/ui/, which the
# collector serves (ui_dir). Skipped when web/ has not changed since the last
# build. Usage: packaging/build-ui.sh [OUT_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/build/ui}
"$ROOT/packaging/install-deps.sh" ui
WEB="$ROOT/web"
stamp=$( (cd "$WEB" && find index.html vite.config.ts tsconfig.json package.json package-lock.json src -type f -print0 \
  | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1)
if [ -f "$OUT/index.html" ] && [ "$(cat "${OUT%/}.stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
cd "$WEB"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
SURVEYOR_UI_OUT="$OUT" npm run --silent build >/dev/null
echo "$stamp" >"${OUT%/}.stamp"
echo "web console built in $OUT ($(du -sk "$OUT" | cut -f1) kB)"
