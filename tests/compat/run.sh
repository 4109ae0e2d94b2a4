#!/usr/bin/env bash
# tests/compat/run.sh: runs the official CreateOS Sandbox TypeScript SDK, unchanged, against a real
# `hearthd serve` on 127.0.0.1 (docs/compat.md).
#
#  1. installs the SDK pinned by tests/compat/package-lock.json with `npm ci` into a cache
#     directory outside the clone, keyed by the lock file's hash, and reuses it when present;
#  2. starts $HEARTH_BIN/hearthd (default build/bin) on 127.0.0.1 with an ephemeral port, a temp
#     data dir and the images in $HEARTH_IMAGES (default build/images);
#  3. creates the test user's key with `hearthd keys create`, seeds a second user's rows through
#     the store API (build/tests/compat/seed) for the pagination walk;
#  4. runs tests/compat/*.test.mjs with Node's built-in test runner;
#  5. stops hearthd with SIGTERM, cleans up, and prints as its last line
#     `harness: N passed, N failed, N skipped` (tests/run.sh reads it). Exits 1 on any failure.
#
# Environment: HEARTH_BIN, HEARTH_IMAGES, CACHE_DIR (default /var/cache/hearth; falls back to
# ~/.cache/hearth when not writable), HEARTH_KEEP_TEST_DIRS (keep the temp dir), HEARTH_COMPAT_SEED (seed binary),
# HEARTH_COMPAT_FILES (the test files to run, default ./*.test.mjs; e.g. ./templates.test.mjs).
#
# The browser suite (tests/console/run.sh) runs through this same harness with HEARTH_SUITE_DIR
# set to its own directory: its package.json and tests instead of the SDK's, the same hearthd,
# keys, seeded rows and S3 server; HEARTH_SUITE names it in messages.
set -uo pipefail

here=$(cd "${HEARTH_SUITE_DIR:-$(dirname "${BASH_SOURCE[0]}")}" && pwd)
root=$(cd "$here/../.." && pwd)
suite=${HEARTH_SUITE:-compat}
bin=${HEARTH_BIN:-$root/build/bin}
images=${HEARTH_IMAGES:-$root/build/images}
seed=${HEARTH_COMPAT_SEED:-$root/build/tests/compat/seed}

passed=0 failed=0 skipped=0
tmp="" hd_pid=""

summary() {
    echo "harness: $passed passed, $failed failed, $skipped skipped"
}

die() {
    echo "$suite: $*" >&2
    failed=$((failed + 1))
    cleanup
    summary
    exit 1
}

stop_hearthd() {
    [ -n "$hd_pid" ] || return 0
    kill -TERM "$hd_pid" 2>/dev/null
    local i rc=0
    for ((i = 0; i < 200; i++)); do
        kill -0 "$hd_pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$hd_pid" 2>/dev/null; then
        echo "$suite: hearthd did not stop within 10 s of SIGTERM; killing it" >&2
        kill -KILL "$hd_pid" 2>/dev/null
        rc=1
    fi
    wait "$hd_pid" 2>/dev/null
    local st=$?
    hd_pid=""
    if [ "$rc" -ne 0 ] || [ "$st" -ne 0 ]; then
        echo "$suite: hearthd exited $st after SIGTERM" >&2
        return 1
    fi
    return 0
}

cleanup() {
    stop_hearthd || true
    if [ -n "${S3INET_NS:-}" ]; then s3inet_down; fi
    if [ -n "$tmp" ] && [ -d "$tmp" ]; then
        if [ -n "${HEARTH_KEEP_TEST_DIRS:-}" ]; then
            echo "$suite: kept $tmp" >&2
        else
            rm -rf "$tmp"
        fi
    fi
    tmp=""
}
trap 'cleanup' EXIT
trap 'cleanup; exit 130' INT TERM

# ---- 1. the SDK, installed once per lock file ----
command -v node >/dev/null || die "node not found (scripts/install-deps.sh installs it)"
command -v npm >/dev/null || die "npm not found (scripts/install-deps.sh installs it)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old: the SDK and node --test need >= 20"

. "$here/../../scripts/npm_cache.sh"
npm_cache_install "$here" "$suite-" || die "cannot install $here/package.json"
suite_modules=$npm_dir/node_modules
sdk_pkg="$suite_modules/@nodeops-createos/sandbox"
if [ "$suite" = compat ]; then
    [ -f "$sdk_pkg/package.json" ] || die "SDK missing in $npm_dir"
    sdk_version=$(node -p "require('$sdk_pkg/package.json').version")
    echo "$suite: SDK @nodeops-createos/sandbox $sdk_version from $npm_dir"
fi

# The rest runs in a network namespace of its own (as root): hearthd's uplink, nftables tables
# and sandbox traffic stay there (docs/testing.md). npm above needed the real network.
if [ "$(id -u)" -eq 0 ] && [ -z "${HEARTH_COMPAT_NETNS:-}" ] && command -v unshare >/dev/null; then
    export HEARTH_COMPAT_NETNS=1
    trap - EXIT INT TERM
    exec unshare --net -- sh -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi

# ---- 2. hearthd ----
[ -x "$bin/hearthd" ] || die "$bin/hearthd not built (make all)"
if [ ! -x "$seed" ]; then
    make -C "$root" -s "build/tests/compat/seed" >/dev/null || die "cannot build the seed tool"
    seed="$root/build/tests/compat/seed"
fi
tmp=$(mktemp -d /tmp/hearth-compat-XXXXXX) || die "mktemp failed"
data="$tmp/data"
# images: the real ones when present; the tests that need a VM skip themselves otherwise
if [ -d "$images" ]; then
    img_dir=$(cd "$images" && pwd)
else
    echo "$suite: no images dir at $images; readiness and VM tests will say so" >&2
    img_dir="$tmp/images"
    mkdir -p "$img_dir"
fi
cat >"$tmp/hearthd.conf" <<EOF
# written by tests/compat/run.sh
listen = 127.0.0.1:0
metrics_listen = off
ingress_http_listen = 127.0.0.1:0
data_dir = $data
images_dir = $img_dir
region = local
host_id = compat-host
shutdown_timeout_s = 5
EOF
"$bin/hearthd" serve --config "$tmp/hearthd.conf" --listen 127.0.0.1:0 --data-dir "$data" \
    --images "$img_dir" 2>"$tmp/hearthd.log" &
hd_pid=$!
port=""
for ((i = 0; i < 500; i++)); do
    if [ -s "$data/hearthd.port" ]; then
        port=$(<"$data/hearthd.port")
        [ -n "$port" ] && break
    fi
    kill -0 "$hd_pid" 2>/dev/null || { cat "$tmp/hearthd.log" >&2; hd_pid=""; die "hearthd exited early"; }
    sleep 0.02
done
[ -n "$port" ] || die "hearthd wrote no port file"
base="http://127.0.0.1:$port"
echo "$suite: hearthd pid $hd_pid on $base"

key=$("$bin/hearthd" keys --config "$tmp/hearthd.conf" create --user compat --label compat \
    2>/dev/null) || die "hearthd keys create failed"
list_rows=1234
list_key=$("$seed" "$data/hearth.db" compat-list "$list_rows") || die "seeding rows failed"
life_key=$("$seed" "$data/hearth.db" compat-life 3) || die "seeding rows failed"

# the S3 server of the disk tests (disks.test.mjs), reached by hearthd's bucket check and by the
# guests' s3fs (tests/s3/s3inet.sh); without it those tests skip themselves with the reason
. "$root/tests/s3/s3inet.sh"
if s3inet_up "$tmp"; then
    export HEARTH_COMPAT_S3_URL="$S3INET_URL" HEARTH_COMPAT_S3_BUCKET="$S3INET_BUCKET"
else
    export HEARTH_COMPAT_S3_SKIP="$S3INET_WHY"
fi

# ---- 3. the tests ----
tap="$tmp/results.tap"
export CREATEOS_SANDBOX_BASE_URL="$base"
export CREATEOS_SANDBOX_API_KEY="$key"
export HEARTH_COMPAT_LIST_KEY="$list_key" HEARTH_COMPAT_LIST_ROWS="$list_rows"
export HEARTH_COMPAT_LIFE_KEY="$life_key"
export HEARTH_COMPAT_SDK="$sdk_pkg" HEARTH_SUITE_MODULES="$suite_modules"
export HEARTH_COMPAT_ADMIN_KEY
HEARTH_COMPAT_ADMIN_KEY=$(head -n1 "$data/admin.key" 2>/dev/null)
# never let a proxy setting route 127.0.0.1 traffic elsewhere
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

(cd "$here" && node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    ${HEARTH_COMPAT_FILES:-./*.test.mjs})
node_rc=$?

count() { # the summary line "# <name> N" of the TAP output
    local v
    v=$(grep -E "^# $1 [0-9]+$" "$tap" 2>/dev/null | tail -n1 | awk '{print $3}')
    echo "${v:-0}"
}
if [ -s "$tap" ]; then
    passed=$(count pass)
    failed=$(( $(count fail) + $(count cancelled) ))
    skipped=$(( $(count skipped) + $(count todo) ))
else
    echo "$suite: the test runner produced no results" >&2
    failed=1
fi
if [ "$node_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "$suite: node --test exited $node_rc" >&2
    failed=1
fi

# ---- 4. stop, check the daemon's log, clean up ----
if ! stop_hearthd; then
    failed=$((failed + 1))
fi
if grep -qE 'Sanitizer|runtime error:' "$tmp/hearthd.log"; then
    echo "$suite: sanitizer report in hearthd's log:" >&2
    grep -E 'Sanitizer|runtime error:' "$tmp/hearthd.log" >&2
    failed=$((failed + 1))
fi
if [ "$failed" -ne 0 ]; then
    echo "$suite: last lines of hearthd's log:" >&2
    tail -n 20 "$tmp/hearthd.log" >&2
fi
cleanup
summary
[ "$failed" -eq 0 ]
