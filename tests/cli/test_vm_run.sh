#!/usr/bin/env bash
# test_vm_run.sh: `hearthd vm run`, the command a human types to boot an image and run one
# command: output and exit status pass through, usage errors exit 2, a reader that goes away
# (`| head`) stops the command and the VM, and no QEMU is left behind. Real microVMs from
# $HEARTH_IMAGES. Ends with "harness: N passed, N failed, N skipped" for tests/run.sh.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
hearthd=${HEARTH_BIN:-$root/build/bin}/hearthd
images=${HEARTH_IMAGES:-}
passed=0 failed=0 skipped=0
tests=(exit_status_and_streams usage_errors missing_image stdout_reader_gone)

summary() { echo "harness: $passed passed, $failed failed, $skipped skipped"; }
if [ -z "$images" ] || [ ! -e "$images/minimal.ext4" ] || [ ! -x "$hearthd" ]; then
    for t in "${tests[@]}"; do echo "skip $t (no images or no hearthd; run make images)"; done
    skipped=${#tests[@]}
    summary
    exit 0
fi
export HEARTH_IMAGES=$images
tmp=$(mktemp -d /tmp/hearth-vmrun-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
# QEMU processes of this test's VMs (their run dirs are under $TMPDIR/hearth-vm.*)
qemus() { pgrep -f "qemu-system-x86_64.*$tmp" | wc -l; }
export TMPDIR=$tmp

exit_status_and_streams() {
    local out err rc
    out=$(timeout 120 "$hearthd" vm run -- sh -c 'echo out; echo err >&2; exit 7' 2>"$tmp/err")
    rc=$?
    err=$(cat "$tmp/err")
    [ "$rc" = 7 ] || return 1
    [ "$out" = out ] || return 1
    [ "$err" = err ] || return 1
    timeout 120 "$hearthd" vm run -- sh -c 'kill -TERM $$'
    [ $? = $((128 + 15)) ]
}

usage_errors() {
    local rc
    "$hearthd" vm run --vcpus 0 -- true 2>"$tmp/err"; rc=$?
    [ "$rc" = 2 ] && grep -q -- "--vcpus" "$tmp/err" || return 1
    "$hearthd" vm run --memory 2>"$tmp/err"; rc=$?
    [ "$rc" = 2 ] && grep -q "needs a value" "$tmp/err" || return 1
    "$hearthd" vm run true 2>"$tmp/err"; rc=$?
    [ "$rc" = 2 ] && grep -q "after '--'" "$tmp/err"
}

missing_image() {
    local rc
    timeout 60 "$hearthd" vm run --rootfs /nonexistent/rootfs.ext4 -- true 2>"$tmp/err"; rc=$?
    [ "$rc" = 125 ] && grep -q "/nonexistent/rootfs.ext4" "$tmp/err"
}

stdout_reader_gone() {
    local first rc
    first=$(timeout 120 "$hearthd" vm run -- sh -c 'while :; do echo y; done' | head -n 1)
    rc=${PIPESTATUS[0]}
    [ "$first" = y ] && [ "$rc" = 141 ] && [ "$(qemus)" = 0 ]
}

for t in "${tests[@]}"; do
    if "$t"; then ok "$t"; else fail "$t" "$(tail -n 3 "$tmp/err" 2>/dev/null | tr '\n' ' ')"; fi
done
[ "$(qemus)" = 0 ] || { fail no_qemu_left "$(qemus) QEMU processes left"; pkill -9 -f "qemu-system-x86_64.*$tmp"; }
summary
[ "$failed" = 0 ]
