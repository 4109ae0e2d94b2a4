#!/usr/bin/env bash
# tests/console/run.sh: the web console's browser tests (docs/console.md): Debian's chromium,
# headless, driven by puppeteer-core (pinned by this directory's package-lock.json), against a
# real `hearthd serve` with the real images, started and stopped by the SDK suite's harness
# (tests/compat/run.sh, which this runs with HEARTH_SUITE_DIR set here). Screenshots of every
# page go to $HEARTH_SCREENSHOTS (default build/console-screenshots) for review. Last line:
# `harness: N passed, N failed, N skipped`.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
chromium=${HEARTH_CHROMIUM:-$(command -v chromium || true)}
if [ -z "$chromium" ]; then
    echo "console: chromium not found (scripts/install-deps.sh installs Debian's chromium)" >&2
    echo "harness: 0 passed, 1 failed, 0 skipped"
    exit 1
fi
export HEARTH_CHROMIUM=$chromium
export HEARTH_SCREENSHOTS=${HEARTH_SCREENSHOTS:-$root/build/console-screenshots}
mkdir -p "$HEARTH_SCREENSHOTS"
HEARTH_SUITE_DIR=$here HEARTH_SUITE=console HEARTH_COMPAT_FILES=${HEARTH_CONSOLE_FILES:-} \
    exec "$root/tests/compat/run.sh"
