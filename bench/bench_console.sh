#!/usr/bin/env bash
# bench_console.sh: the web console's sandbox list measured in a real headless chromium against
# a real `hearthd serve`, for docs/console.md "Sandboxes: list, create, actions". Prints medians;
# asserts nothing:
#
# - first paint of #/sandboxes for a user with ROWS stored sandboxes (seeded through the store
#   API by build/tests/compat/seed, as tests/compat/run.sh does): ROUNDS cold loads (fresh
#   browser context each: no cache, no storage; the key put in sessionStorage as a sign-in
#   would), from the navigation's start until the first row is in the DOM and a frame has
#   passed (bench/console_paint.mjs); target <= 300 ms on loopback with 1,000 sandboxes.
# Run by bench/run.sh (`make bench`) in a network namespace of its own; needs chromium, node,
# curl, jq and tests/console's packages (puppeteer-core, installed by tests/console/run.sh or
# here when the network allows).
set -uo pipefail
BENCH_NAME=bench_console
. "$(dirname "$0")/lib.sh"
ROUNDS=${BENCH_CONSOLE_ROUNDS:-10}
ROWS=${BENCH_CONSOLE_ROWS:-1000}
seed=${HEARTH_COMPAT_SEED:-$root/build/tests/compat/seed}

[ -x "$bin/hearthd" ] || skip "no $bin/hearthd; run make"
command -v jq >/dev/null && command -v curl >/dev/null || skip "needs curl and jq"
command -v node >/dev/null || skip "needs node"
chromium=${HEARTH_CHROMIUM:-$(command -v chromium || true)}
[ -n "$chromium" ] || skip "no chromium (scripts/install-deps.sh installs it)"
if [ ! -x "$seed" ]; then
    make -C "$root" -s build/tests/compat/seed >/dev/null 2>&1 || skip "cannot build the seed tool"
    seed=$root/build/tests/compat/seed
fi
. "$root/scripts/npm_cache.sh"
npm_cache_install "$root/tests/console" console- 2>/dev/null ||
    skip "tests/console's packages are not installed (run tests/console/run.sh once with the network)"
modules=$npm_dir/node_modules

mkdir -p "$tmp/images"
# no VM is started: an empty images dir will do
hearthd_start --images "$tmp/images" main
key=$("$seed" "$hdata/hearth.db" bench-console "$ROWS") || fail "seeding $ROWS rows failed"
who=$(curl -s -H "X-Api-Key: $key" "$url/v1/whoami" | jq -c .data)
total=$(curl -s -H "X-Api-Key: $key" "$url/v1/sandboxes?limit=1" | jq .data.pagination.total)
[ "$total" = "$ROWS" ] || fail "the list says $total rows, seeded $ROWS"

echo "machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); $ROWS sandboxes stored for the user, pages of 50"
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy
if ! BENCH_URL=$url BENCH_KEY=$key BENCH_WHO=$who BENCH_ROUNDS=$ROUNDS HEARTH_CHROMIUM=$chromium \
        HEARTH_SUITE_MODULES=$modules NO_PROXY=127.0.0.1 node "$root/bench/console_paint.mjs" >"$tmp/out" 2>"$tmp/err"; then
    tail -n 20 "$tmp/err"
    fail "the browser run failed"
fi
cut -d' ' -f1 "$tmp/out" >"$tmp/rows"
cut -d' ' -f2 "$tmp/out" >"$tmp/fcp"
echo "first paint of the sandbox list (first row in the DOM and a frame after it): p50 $(median <"$tmp/rows") ms, p90 $(pct 90 <"$tmp/rows") ms over $(wc -l <"$tmp/rows") cold loads (min $(sort -n "$tmp/rows" | head -1), max $(sort -n "$tmp/rows" | tail -1)); target <= 300 ms on loopback with 1,000 sandboxes"
echo "first contentful paint (the frame, before the rows): p50 $(median <"$tmp/fcp") ms"
