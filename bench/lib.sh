# bench/lib.sh: what the shell benchmarks share (sourced, never run): paths, skip and fail, a
# scratch dir cleaned at exit, a real `hearthd serve` on it, the API through curl, and the
# order statistics they print. Set BENCH_NAME before sourcing. The accelerator is the run's
# $HEARTH_ACCEL (auto, kvm or tcg; default auto, as in stats.c's bench_accel()).
# shellcheck shell=bash
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${HEARTH_BIN:-$root/build/bin}
images=${HEARTH_IMAGES:-$root/build/images}
case ${HEARTH_ACCEL:-auto} in auto | kvm | tcg) bench_accel=${HEARTH_ACCEL:-auto} ;; *) bench_accel=auto ;; esac

skip() { echo "skip $BENCH_NAME: $*"; exit 0; }
fail() { echo "FAIL $BENCH_NAME: $*"; exit 1; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# pct P: the nearest-rank P-th percentile of the numbers on stdin
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {if (NR == 0) { print "nan"; exit } i = int((NR * p + 99) / 100); if (i < 1) i = 1; print a[i]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
api() { curl -s -H "X-Api-Key: $key" -H 'Content-Type: application/json' "$@"; }

# The scratch dir. At exit: every hook in bench_exit_hooks (hearthd still runs), then hearthd
# and any QEMU whose files are under $tmp stop, then every hook in bench_stopped_hooks, then
# the dir goes.
tmp=$(mktemp -d "/tmp/hearth-bench-$BENCH_NAME.XXXXXX")
hpid=""
bench_exit_hooks=()
bench_stopped_hooks=()
hearthd_stop() {
    [ -n "$hpid" ] && { kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null; }
    hpid=""
    # a QEMU outlives hearthd by design: any left of ours (its files are under $tmp) goes too
    local p
    for p in $(pgrep -f "qemu-system.*$tmp/"); do kill "$p" 2>/dev/null; done
}
bench_done() {
    local h
    for h in "${bench_exit_hooks[@]}"; do "$h"; done
    hearthd_stop
    for h in "${bench_stopped_hooks[@]}"; do "$h"; done
    rm -rf "$tmp"
}
trap bench_done EXIT

# hearthd_start [--bin DIR] [--images DIR] [--metrics] [--conf TEXT] NAME: a fresh data dir
# $tmp/NAME/data and a real hearthd on loopback (SSH and ingress off; TEXT appended to its
# config). Sets url, key, log, hdata, and murl with --metrics. Fails the benchmark when
# hearthd does not start within 10 s.
hearthd_start() {
    local hbin=$bin himages=$images metrics=off conf=""
    while [ $# -gt 1 ]; do
        case $1 in
            --bin) hbin=$2; shift 2 ;;
            --images) himages=$2; shift 2 ;;
            --metrics) metrics=127.0.0.1:0; shift ;;
            --conf) conf=$2; shift 2 ;;
            *) break ;;
        esac
    done
    local d=$tmp/$1
    mkdir -p "$d/data"
    printf 'metrics_listen = %s\nssh_listen = off\ningress_http_listen = off\naccel = %s\n%s\n' \
        "$metrics" "$bench_accel" "$conf" >"$d/hearthd.conf"
    "$hbin/hearthd" serve --config "$d/hearthd.conf" --listen 127.0.0.1:0 --data-dir "$d/data" \
        --images "$himages" >"$d/hearthd.log" 2>&1 &
    hpid=$!
    local _
    for _ in $(seq 1 100); do
        [ -s "$d/data/hearthd.port" ] && [ -s "$d/data/admin.key" ] &&
            { [ "$metrics" = off ] || [ -s "$d/data/metrics.port" ]; } && break
        sleep 0.1
    done
    [ -s "$d/data/hearthd.port" ] || { tail -n 20 "$d/hearthd.log"; fail "hearthd did not start"; }
    url=http://127.0.0.1:$(tr -d '\n' <"$d/data/hearthd.port")
    key=$(tr -d '\n' <"$d/data/admin.key")
    log=$d/hearthd.log
    hdata=$d/data
    murl=""
    [ "$metrics" = off ] || murl=http://127.0.0.1:$(tr -d '\n' <"$d/data/metrics.port")/metrics
}
