#!/usr/bin/env bash
# bench_density.sh: how many idle sandboxes this host holds, for docs/performance.md "Density".
# A real `hearthd serve` (golden snapshots on: creates restore the `minimal` golden, as they do
# by default) gets idle s-1vcpu-256mb `minimal` sandboxes in steps (1, 2, 4, 8, 16, 24, 32, …)
# and at each step measures, with every guest idle:
#
# - CPU per idle guest: the QEMUs' utime+stime over IDLE_S seconds, per guest per second;
# - total RSS and PSS of the QEMUs (/proc/PID/smaps_rollup) and the mean per guest;
# - exec `true` wall time (curl's time_total of POST …/exec) on the first sandbox, p50 of RUNS;
#
# then prints the curve and the step where exec p50 has doubled against the best p50 of the
# steps before (normally one sandbox's). Asserts
# nothing. Bounded so a shared machine is not starved: it stops after the step where exec p50
# doubled, at BENCH_DENSITY_MAX sandboxes (64), when MemAvailable would fall under 4 GiB, or
# once BENCH_DENSITY_BUDGET_S (300) seconds have gone by. Run by bench/run.sh (`make bench`)
# in a network namespace of its own; needs root, curl, jq.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${HEARTH_BIN:-$root/build/bin}
images=${HEARTH_IMAGES:-$root/build/images}
MAX=${BENCH_DENSITY_MAX:-64}
BUDGET=${BENCH_DENSITY_BUDGET_S:-300}
IDLE_S=${BENCH_DENSITY_IDLE_S:-10}
RUNS=${BENCH_DENSITY_RUNS:-10}
SHAPE=s-1vcpu-256mb

skip() { echo "skip bench_density: $*"; exit 0; }
[ -x "$bin/hearthd" ] || skip "no $bin/hearthd; run make"
[ -e "$images/minimal.ext4" ] || skip "no minimal image in $images"
command -v jq >/dev/null && command -v curl >/dev/null || skip "needs curl and jq"

tmp=$(mktemp -d /tmp/hearth-bench-density.XXXXXX)
hpid=""
done_() {
    [ -n "$hpid" ] && { kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null; }
    # a QEMU outlives hearthd by design: every one of ours (its files are under $tmp) goes too
    for p in $(pgrep -f "qemu-system.*$tmp/"); do kill "$p" 2>/dev/null; done
    sleep 0.5
    rm -rf "$tmp"
}
trap done_ EXIT

mkdir -p "$tmp/data"
# max_sandboxes = 0: the per-user cap (32) is not what is measured
printf 'metrics_listen = off\nssh_listen = off\ningress_http_listen = off\nmax_sandboxes = 0\n' \
    >"$tmp/hearthd.conf"
"$bin/hearthd" serve --config "$tmp/hearthd.conf" --listen 127.0.0.1:0 --data-dir "$tmp/data" \
    --images "$images" >"$tmp/hearthd.log" 2>&1 &
hpid=$!
for _ in $(seq 1 100); do [ -s "$tmp/data/hearthd.port" ] && [ -s "$tmp/data/admin.key" ] && break; sleep 0.1; done
[ -s "$tmp/data/hearthd.port" ] || { cat "$tmp/hearthd.log"; echo "FAIL bench_density: hearthd did not start"; exit 1; }
url=http://127.0.0.1:$(tr -d '\n' <"$tmp/data/hearthd.port")
key=$(tr -d '\n' <"$tmp/data/admin.key")
api() { curl -s -H "X-Api-Key: $key" -H 'Content-Type: application/json' "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
t_start=$(date +%s)

create() {
    api -X POST -d "$(jq -cn --arg s "$SHAPE" '{shape:$s,rootfs:"minimal"}')" "$url/v1/sandboxes" |
        jq -r '.data.id // empty'
}
qemu_pids() { pgrep -f "qemu-system.*$tmp/data/vms/"; }
# CPU ticks (utime+stime, 1/CLK_TCK s) of the QEMUs of the sandboxes in $ids
ticks() {
    local t=0 p v
    for p in $(qemu_pids); do
        v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && t=$((t + v))
    done
    echo "$t"
}
# "RSS PSS" in MiB summed over the QEMUs
mem() {
    local p
    for p in $(qemu_pids); do cat "/proc/$p/smaps_rollup" 2>/dev/null; done |
        awk '/^Rss:/ {r += $2} /^Pss:/ {s += $2} END {printf "%d %d", r / 1024, s / 1024}'
}
exec_ms() {
    curl -s -o /dev/null -w '%{time_total}\n' -H "X-Api-Key: $key" \
        -H 'Content-Type: application/json' -d '{"cmd":"true"}' "$url/v1/sandboxes/$1/exec" |
        awk '{printf "%.1f\n", $1 * 1000}'
}
mem_avail_mib() { awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo; }

# the first create boots cold and builds the golden snapshot in the background: wait for it, so
# every later create restores it (the default path) and the builder VM is gone
first=$(create)
[ -n "$first" ] || { tail -n 20 "$tmp/hearthd.log"; echo "FAIL bench_density: create failed"; exit 1; }
for _ in $(seq 1 300); do
    ls "$tmp"/data/golden/*/meta.json >/dev/null 2>&1 && [ "$(qemu_pids | wc -l)" -eq 1 ] && break
    sleep 1
done
ids=("$first")
clk=$(getconf CLK_TCK)
echo "idle s-1vcpu-256mb minimal sandboxes (golden restores); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%6s %10s %10s %10s %9s %9s %12s %7s\n' guests "rss_MiB" "pss_MiB" "pss/guest" \
    "rss/guest" "cpu/guest" "exec_p50_ms" "load1"
base=""
doubled=""
for n in 1 2 4 8 16 24 32 40 48 56 64 80 96 112 128; do
    [ "$n" -le "$MAX" ] || break
    while [ "${#ids[@]}" -lt "$n" ]; do
        # ~100 MiB a guest at most (RAM touched plus QEMU): keep 4 GiB for everyone else
        if [ "$(mem_avail_mib)" -lt 4096 ]; then echo "stop: MemAvailable under 4 GiB"; break 2; fi
        id=$(create)
        [ -n "$id" ] || { echo "stop: create $(( ${#ids[@]} + 1 )) failed"; tail -n 3 "$tmp/hearthd.log"; break 2; }
        ids+=("$id")
    done
    sleep 3 # the last restores settle (agent READY, clock set)
    t0=$(ticks)
    sleep "$IDLE_S"
    t1=$(ticks)
    read -r rss pss < <(mem)
    p50=$(for _ in $(seq 1 "$RUNS"); do exec_ms "${ids[0]}"; done | median)
    cpu=$(awk -v d=$((t1 - t0)) -v c="$clk" -v n="$n" -v s="$IDLE_S" \
        'BEGIN {printf "%.1f", d * 1000 / c / n / s}')
    printf '%6d %10d %10d %10d %9d %7sms/s %12s %7s\n' "$n" "$rss" "$pss" $((pss / n)) \
        $((rss / n)) "$cpu" "$p50" "$(cut -d' ' -f1 /proc/loadavg)"
    # the baseline is the best p50 so far (normally one sandbox's): on a shared machine the
    # first step can land in someone else's burst
    if [ -z "$base" ] || awk -v a="$p50" -v b="$base" 'BEGIN {exit !(a < b)}'; then base=$p50; fi
    if [ -z "$doubled" ] && awk -v a="$p50" -v b="$base" 'BEGIN {exit !(a >= 2 * b)}'; then
        doubled=$n
        break
    fi
    if [ $(($(date +%s) - t_start)) -ge "$BUDGET" ]; then
        echo "stop: time budget of ${BUDGET} s used"
        break
    fi
done
if [ -n "$doubled" ]; then
    echo "exec p50 doubled (>= 2 x ${base} ms, the best step before) at $doubled idle sandboxes"
else
    echo "exec p50 did not double up to ${#ids[@]} idle sandboxes (best p50: ${base} ms)"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
