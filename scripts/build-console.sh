#!/usr/bin/env bash
# build-console.sh OUT_DIR: builds the web console (console/, docs/console.md) into OUT_DIR:
# index.html, app.js, app.css. The packages come from console/package-lock.json through `npm ci`
# into the cache outside the clone (scripts/npm_cache.sh, keyed by the lock's hash), so the
# build is reproducible from the lock file and costs no network after the first time; esbuild
# bundles and minifies. hearthd compiles OUT_DIR in (scripts/embed-console.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: build-console.sh OUT_DIR}
command -v node >/dev/null || { echo "build-console: node not found (make deps installs it)" >&2; exit 1; }
. "$root/scripts/npm_cache.sh"
npm_cache_install "$root/console" console-build- || { echo "build-console: npm ci failed" >&2; exit 1; }
mkdir -p "$out"
node "$root/console/build.mjs" "$npm_dir/node_modules" "$out"
