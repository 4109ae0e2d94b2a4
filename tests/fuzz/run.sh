#!/usr/bin/env bash
# run.sh: runs every libFuzzer target in $FUZZ_BIN (default build/fuzz) for FUZZ_SECONDS each
# (default 10), FUZZ_JOBS at a time (default 2), starting from its committed corpus
# tests/fuzz/corpus/<name>/ (read only: what a run finds goes to $FUZZ_OUT/<name>/new/), with
# tests/fuzz/<name>.dict when there is one. FUZZ_TARGETS="dns config" runs only those. Prints one
# line per target and the "harness: N passed, N failed, N skipped" line tests/run.sh counts: a
# crash, leak, timeout or sanitizer report fails its target, and the line names the input
# libFuzzer saved ($FUZZ_OUT/<name>/crash-*, leak-*, timeout-*) and the log beside it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${FUZZ_BIN:-$here/../../build/fuzz}
secs=${FUZZ_SECONDS:-10}
jobs=${FUZZ_JOBS:-2}
out=${FUZZ_OUT:-$bin/out}
only=${FUZZ_TARGETS:-}

# UBSan reports are fatal (the targets are also built with -fno-sanitize-recover); libFuzzer
# turns ASan's leak check on by itself
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}

targets=()
for b in "$bin"/fuzz_*; do
    [ -f "$b" ] && [ -x "$b" ] || continue
    name=${b##*/fuzz_}
    if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then
        continue
    fi
    targets+=("$name")
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "no fuzz targets in $bin (make fuzz builds them)"
    echo "harness: 0 passed, 1 failed, 0 skipped"
    exit 1
fi

run_one() { # name
    local name=$1 dir=$out/$1
    rm -rf "$dir"
    mkdir -p "$dir/new"
    local args=(-max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$dir/")
    [ -f "$here/$name.dict" ] && args+=(-dict="$here/$name.dict")
    local seeds=()
    [ -d "$here/corpus/$name" ] && seeds=("$here/corpus/$name")
    "$bin/fuzz_$name" "${args[@]}" "$dir/new" "${seeds[@]}" >"$dir/log" 2>&1
    echo $? >"$dir/rc"
}

running=0
for t in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
    run_one "$t" &
    running=$((running + 1))
done
wait

passed=0 failed=0
for t in "${targets[@]}"; do
    dir=$out/$t
    rc=$(cat "$dir/rc" 2>/dev/null || echo 99)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
    art=$(ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* "$dir"/slow-unit-* \
        2>/dev/null | head -n 1)
    if [ "$rc" -eq 0 ] && [ -z "$art" ] &&
        ! grep -qE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: ' "$dir/log"; then
        echo "ok   fuzz_$t (${runs:-?} inputs in ${secs} s)"
        passed=$((passed + 1))
        continue
    fi
    echo "FAIL fuzz_$t: exit $rc; input: ${art:-none saved}; log: $dir/log"
    echo "     reproduce: $bin/fuzz_$t ${art:-<input>}"
    # the report itself: from the sanitizer's or libFuzzer's first error line on
    awk '/^==[0-9]+==ERROR|runtime error:|^==[0-9]+== ERROR: libFuzzer/ { on = 1 }
        on && n < 60 { print "     " $0; n++ }' "$dir/log"
    failed=$((failed + 1))
done
echo "harness: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
