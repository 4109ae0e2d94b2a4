#!/usr/bin/env bash
# run.sh TEST_BINARY...: runs each harness binary, shows its output, and ends with the one line
# CI reads: "N passed, N failed, N skipped". Exits non-zero when any test failed or a binary
# crashed outside its tests.
set -uo pipefail
passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Every test runs in a network namespace of its own (as root), with only lo: whatever the
# hearthd it starts sets up (uplink veth, nftables tables, ip_forward) stays inside, and its
# traffic cannot leave (docs/testing.md). It also gets a mount namespace with a /run/netns of
# its own, so the named namespaces it makes are invisible to runs in parallel (whose clean-up
# below would otherwise delete them) and vanish with it. Named namespaces a test leaves in the
# shared /run/netns (a hearthd's "hearth-<hash>" namespace outlives it by design) are removed
# after it.
isolate=()
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
    isolate=(unshare --net --mount -- sh -c 'mount --make-rprivate / && mkdir -p /run/netns &&
        mount -t tmpfs -o mode=0755 hearth-netns /run/netns && ip link set lo up &&
        exec "$0" "$@"')
fi
netns_list() { ls /run/netns 2>/dev/null | grep '^hearth-' | sort; }
for t in "$@"; do
    echo "== ${t#*/tests/}"
    before=$(netns_list)
    iso=("${isolate[@]}")
    # the SDK and browser suites install from npm first, then isolate themselves
    # (tests/compat/run.sh); a
    # *_hostns.sh test checks hearthd where an operator runs it, in this namespace, with names
    # of its own (tests/cli/test_net_hostns.sh)
    case "$t" in */compat/run.sh | */console/run.sh | *_hostns.sh) iso=() ;; esac
    "${iso[@]}" "$t" >"$log" 2>&1
    rc=$?
    for ns in $(comm -13 <(echo "$before") <(netns_list)); do
        ip netns del "$ns" 2>/dev/null || true
    done
    cat "$log"
    last=$(grep '^harness: ' "$log" | tail -n 1)
    if [[ $last =~ ^harness:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
        skipped=$((skipped + BASH_REMATCH[3]))
        # a binary that reported no failure but exited badly (a sanitizer at exit) still fails
        if [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then
            echo "   ${t##*/} exited $rc after its tests"
            failed=$((failed + 1))
        fi
    else
        echo "   ${t##*/} ended without a summary (exit $rc)"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
