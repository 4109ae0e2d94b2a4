#!/usr/bin/env bash
# run.sh: the PostgreSQL tier of `make test` (and all of `make test-pg`): the store unit tests
# and the API tests again, with a throwaway PostgreSQL cluster as every hearthd's store
# (tests/pg/pgserver.sh, docs/testing.md "PostgreSQL"). The binaries come in HEARTH_PG_TESTS
# (space-separated); tests/run.sh runs them, and the last line is the harness summary
# tests/run.sh reads from any test, so this script is one entry of an outer run.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
read -r -a tests <<<"${HEARTH_PG_TESTS:-}"
if ((${#tests[@]} == 0)); then
    echo "    skip: HEARTH_PG_TESTS names no test"
    echo "harness: 0 passed, 0 failed, 1 skipped"
    exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s)
"$here/pgserver.sh" -- "$here/../run.sh" "${tests[@]}" 2>&1 | tee "$out"
echo "    PostgreSQL tier: ${#tests[@]} binaries in $(($(date +%s) - start)) s"
last=$(tail -n 1 "$out")
if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
    echo "harness: $last"
    [ "${BASH_REMATCH[2]}" = 0 ]
else
    echo "harness: 0 passed, 1 failed, 0 skipped"
    exit 1
fi
