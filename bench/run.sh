#!/usr/bin/env bash
# run.sh BENCH_BINARY...: runs each benchmark in turn on a quiet machine and keeps a copy of
# the report in build/bench-report.txt. Benchmarks print medians and ratios; they assert nothing.
set -uo pipefail
report=${BENCH_REPORT:-build/bench-report.txt}
mkdir -p "$(dirname "$report")"
: > "$report"
rc=0
# the machine state the numbers come from: load, CPUs, the accelerator asked for
kvm=no
[ -e /sys/module/kvm_intel ] || [ -e /sys/module/kvm_amd ] && kvm=yes
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), accel ${HEARTH_ACCEL:-auto}" \
     "(kvm module: $kvm), $(date -u +%FT%TZ)" | tee -a "$report"
# each benchmark in a network namespace of its own (as root), like the tests: the hearthds they
# start set up their uplinks and nftables tables there; named namespaces left behind are removed
isolate=()
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
    isolate=(unshare --net -- sh -c 'ip link set lo up && exec "$0" "$@"')
fi
netns_list() { ls /run/netns 2>/dev/null | grep '^hearth-' | sort; }
for b in "$@"; do
    echo "== ${b##*/}" | tee -a "$report"
    before=$(netns_list)
    # the store benchmark compares SQLite with a throwaway PostgreSQL cluster of its own
    wrap=()
    case ${b##*/} in bench_store) wrap=("$(dirname "$0")/../tests/pg/pgserver.sh" --) ;; esac
    "${isolate[@]}" "${wrap[@]}" "$b" 2>&1 | tee -a "$report" || rc=1
    for ns in $(comm -13 <(echo "$before") <(netns_list)); do
        ip netns del "$ns" 2>/dev/null || true
    done
done
echo "report: $report"
exit $rc
