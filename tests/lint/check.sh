# check.sh: sourced by the lint scripts (tests/lint/test_*.sh). check NAME CMD...: runs CMD,
# which prints offenders and fails on any; counts it in $passed or $failed and prints the
# harness's ok/FAIL line (with the offenders, indented, on failure).
passed=0 failed=0
check() {
    local out
    if out=$("${@:2}" 2>&1); then
        echo "ok   $1"; passed=$((passed + 1))
    else
        echo "FAIL $1"; echo "$out" | sed 's/^/     /' | head -20; failed=$((failed + 1))
    fi
}
