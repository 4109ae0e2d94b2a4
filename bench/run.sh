#!/usr/bin/env bash
# run.sh BENCH_BINARY...: runs each benchmark in turn on a quiet machine and keeps a copy of
# the report in build/bench-report.txt. Benchmarks print medians and ratios; they assert nothing.
set -uo pipefail
report=${BENCH_REPORT:-build/bench-report.txt}
mkdir -p "$(dirname "$report")"
: > "$report"
rc=0
for b in "$@"; do
    echo "== ${b##*/}" | tee -a "$report"
    "$b" 2>&1 | tee -a "$report" || rc=1
done
echo "report: $report"
exit $rc
