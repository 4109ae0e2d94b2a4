#!/usr/bin/env bash
# bench_pool.sh: create through the API with warm pools (docs/performance.md "Warm pools"), on a
# real `hearthd serve` and real minimal microVMs (s-1vcpu-256mb). Prints medians; asserts nothing:
#
# - create p50, one at a time, ROUNDS each: a pool hit (the pool has a ready VM: waited for
#   between rounds) against a miss (a golden restore: hearthd without pools, golden snapshot
#   built first) against a cold boot (golden_snapshots = off); target hit <= 30 ms;
# - creates/s sustained with 2 in flight, BURST creates, with a pool of 2, with a pool of BURST
#   and without (golden restores); target >= 10/s with pools. The pool refills one restore at a
#   time, so a burst longer than the pool runs at the restore rate once the pool is empty: the
#   hit share is shown.
# Each sandbox is destroyed after its round (not timed). Run by bench/run.sh; needs curl, jq.
set -uo pipefail
BENCH_NAME=pool
. "$(dirname "$0")/lib.sh"
ROUNDS=${BENCH_POOL_ROUNDS:-10}
BURST=${BENCH_POOL_BURST:-20}
BODY='{"shape":"s-1vcpu-256mb","rootfs":"minimal"}'
POOL='minimal/s-1vcpu-256mb'

[ -x "$bin/hearthd" ] || skip "no $bin/hearthd; run make"
[ -e "$images/minimal.ext4" ] || skip "no minimal image in $images"
command -v jq >/dev/null && command -v curl >/dev/null || skip "needs curl and jq"

metric() { curl -s "$murl" | awk -v s="$1" 'index($0, s " ") == 1 {print $2}'; }
ready() { metric "hearth_pool_vms{pool=\"$POOL\",state=\"ready\"}"; }
hits() { metric "hearth_pool_takes_total{pool=\"$POOL\",result=\"hit\"}"; }

# wait_ready N: until the pool has N ready VMs (at most 10 minutes: a golden build first)
wait_ready() {
    for _ in $(seq 1 3000); do [ "$(ready)" = "$1" ] && return 0; sleep 0.2; done
    fail "the pool did not warm"
}
# wait_golden: until a golden snapshot is complete (its meta.json is written last)
wait_golden() {
    for _ in $(seq 1 3000); do ls "$hdata"/golden/*/meta.json >/dev/null 2>&1 && return 0; sleep 0.2; done
    fail "no golden snapshot"
}
# create_ms: one create; prints "ms id" (curl's own total time)
create_ms() {
    local out
    out=$(api -w '\n%{time_total}' -X POST -d "$BODY" "$url/v1/sandboxes")
    local id=$(echo "$out" | head -n -1 | jq -r .data.id) t=$(echo "$out" | tail -n 1)
    echo "$(awk -v t="$t" 'BEGIN {printf "%.1f", t * 1000}') $id"
}
destroy() {
    api -X DELETE "$url/v1/sandboxes/$1" >/dev/null
    for _ in $(seq 1 300); do
        [ "$(api "$url/v1/sandboxes/$1" | jq -r .data.status)" = destroyed ] && return
        sleep 0.1
    done
}
destroy_all() {
    for id in $(api "$url/v1/sandboxes?status=running&limit=100" | jq -r '.data.data[].id'); do destroy "$id"; done
}
# rounds FILE [wait_pool]: ROUNDS creates one at a time, ms into FILE
rounds() {
    : >"$1"
    for _ in $(seq 1 "$ROUNDS"); do
        [ -n "${2:-}" ] && wait_ready "$2"
        set -- "$1" "${2:-}" $(create_ms)
        echo "$3" >>"$1"
        destroy "$4"
        set -- "$1" "$2"
    done
}
# burst: BURST creates, 2 in flight; prints creates/s
burst() {
    local t0=$(date +%s%N)
    seq 1 "$BURST" | xargs -P 2 -I{} sh -c "curl -s -o /dev/null -H 'X-Api-Key: $key' -H 'Content-Type: application/json' -X POST -d '$BODY' '$url/v1/sandboxes'"
    local t1=$(date +%s%N)
    awk -v n="$BURST" -v ns=$((t1 - t0)) 'BEGIN {printf "%.1f", n / (ns / 1e9)}'
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. pools: hits, then a burst with a pool of 2
hearthd_start --metrics --conf "warm_pool = \"$POOL=2\"
warm_pool_min_free_mib = 0" pool
wait_ready 2
rounds "$tmp/ms-hit" 2
# the take's own steps as hearthd logged them (docs/performance.md "Warm pools")
grep -o '"msg":"pool: identity applied"[^}]*' "$log" | sed 's/.*"ms":\([0-9.]*\).*/\1/' >"$tmp/ms-take"
grep -o '"spawn_ms":[0-9.]*' "$log" | cut -d: -f2 >"$tmp/ms-spawn-hit"
wait_ready 2
h0=$(hits)
pool_rate=$(burst)
h1=$(hits)
destroy_all
hearthd_stop

# 1b. a pool as large as the burst: what the creates cost when none has to wait for a restore
hearthd_start --metrics --conf "warm_pool = \"$POOL=$BURST\"
warm_pool_min_free_mib = 0" poolbig
wait_ready "$BURST"
h0=$(hits)
big_rate=$(burst)
big_hits=$(( $(hits) - h0 ))
destroy_all
hearthd_stop

# 2. no pools: golden restores (the golden snapshot is built by the first create)
hearthd_start golden
set -- $(create_ms); destroy "$2"; wait_golden
rounds "$tmp/ms-miss"
grep -o '"spawn_ms":[0-9.]*' "$log" | cut -d: -f2 | tail -n "$ROUNDS" >"$tmp/ms-spawn-miss"
golden_rate=$(burst)
destroy_all
hearthd_stop

# 3. cold boots
hearthd_start --conf "golden_snapshots = off" cold
rounds "$tmp/ms-cold"
hearthd_stop

echo "create p50, one at a time, $ROUNDS rounds (ms; curl's time_total):"
echo "  pool hit       $(median <"$tmp/ms-hit")   (target <= 30; in hearthd: $(median <"$tmp/ms-spawn-hit"), the take's steps $(median <"$tmp/ms-take"))"
echo "  golden restore $(median <"$tmp/ms-miss")   (in hearthd: $(median <"$tmp/ms-spawn-miss"))"
echo "  cold boot      $(median <"$tmp/ms-cold")"
echo "creates/s, $BURST creates, 2 in flight:"
echo "  pool of 2      $pool_rate   (target >= 10; $((h1 - h0)) of $BURST were hits)"
echo "  pool of $BURST     $big_rate   ($big_hits of $BURST were hits)"
echo "  no pool        $golden_rate"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
