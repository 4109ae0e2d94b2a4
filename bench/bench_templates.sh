#!/usr/bin/env bash
# bench_templates.sh: templates measured through a real `hearthd serve` and real microVMs
# (devbox:1 base), for docs/templates.md "Numbers". Prints medians and ratios; asserts nothing:
#
# - cold build of a three-step Dockerfile (three RUN steps on devbox:1) from POST /v1/templates
#   to `ready` (its golden snapshot included), in a fresh data dir: nothing cached;
# - the fully cached rebuild: the same Dockerfile under new names, ROUNDS times (every step a
#   cache hit, the golden snapshot shared); target <= 2 s;
# - create from the ready template against create from the catalog's golden snapshot (devbox:1,
#   warmed first), ROUNDS each, alternating; target: within 10 %;
# - disk used per template layer (allocated bytes of each layer's disk.qcow2).
# Run by bench/run.sh (`make bench`) in a network namespace of its own; needs root, curl, jq.
set -uo pipefail
BENCH_NAME=bench_templates
. "$(dirname "$0")/lib.sh"
ROUNDS=${BENCH_TEMPLATE_ROUNDS:-7}
SHAPE=s-1vcpu-256mb

[ -x "$bin/hearthd" ] || skip "no $bin/hearthd; run make"
[ -e "$images/debian-12.ext4" ] || skip "no debian-12 image (devbox:1) in $images"
command -v jq >/dev/null && command -v curl >/dev/null || skip "needs curl and jq"

hearthd_start main

dockerfile=$'FROM devbox:1\nRUN mkdir -p /opt/app && echo one > /opt/app/1\nRUN head -c 8388608 /dev/urandom > /opt/app/blob\nRUN echo three > /opt/app/3\n'

# build NAME: POST the Dockerfile, poll every 50 ms until ready/failed; prints the ms or "failed"
build_ms() {
    local body t0 st id
    body=$(jq -cn --arg n "$1" --arg d "$dockerfile" '{name:$n,dockerfile:$d}')
    t0=$(now_ms)
    id=$(api -X POST -d "$body" "$url/v1/templates" | jq -r .data.id)
    [ -n "$id" ] && [ "$id" != null ] || { echo failed; return 1; }
    for _ in $(seq 1 12000); do
        st=$(api "$url/v1/templates/$id" | jq -r .data.status)
        case "$st" in
            ready) echo $(( $(now_ms) - t0 )); return 0 ;;
            failed|cancelled) echo failed; api "$url/v1/templates/$id/logs" | tail -n 5 >&2; return 1 ;;
        esac
        sleep 0.05
    done
    echo timeout
    return 1
}
# create ROOTFS: prints the create's wall ms (the API answers when the sandbox runs), destroys it
create_ms() {
    local t0 ms id
    t0=$(now_ms)
    id=$(api -X POST -d "$(jq -cn --arg r "$1" --arg s "$SHAPE" '{shape:$s,rootfs:$r}')" \
        "$url/v1/sandboxes" | jq -r .data.id)
    ms=$(( $(now_ms) - t0 ))
    [ -n "$id" ] && [ "$id" != null ] || { echo failed; return 1; }
    api -X DELETE "$url/v1/sandboxes/$id" >/dev/null
    for _ in $(seq 1 300); do
        [ "$(api "$url/v1/sandboxes/$id" | jq -r .data.status)" = destroyed ] && break
        sleep 0.1
    done
    echo "$ms"
}

echo "machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); base devbox:1, build VM and creates $SHAPE"

cold=$(build_ms bench-cold) || { echo "cold build: $cold"; tail -n 20 "$log"; exit 1; }
echo "cold build (3 RUN steps + golden snapshot): ${cold} ms"
: >"$tmp/cached"
for i in $(seq 1 "$ROUNDS"); do
    ms=$(build_ms "bench-cached-$i") && echo "$ms" >>"$tmp/cached"
done
echo "cached rebuild: p50 $(median <"$tmp/cached") ms over $(wc -l <"$tmp/cached") rounds (min $(sort -n "$tmp/cached" | head -1), max $(sort -n "$tmp/cached" | tail -1)); target <= 2000 ms"

# warm the catalog's golden snapshot for this shape: the first create boots cold and builds it
create_ms devbox:1 >/dev/null
for _ in $(seq 1 600); do grep -q "golden snapshot ready" "$log" && break; sleep 0.1; done
: >"$tmp/cat"; : >"$tmp/tpl"
for i in $(seq 1 "$ROUNDS"); do
    create_ms devbox:1 >>"$tmp/cat"
    create_ms bench-cold >>"$tmp/tpl"
done
c50=$(median <"$tmp/cat"); t50=$(median <"$tmp/tpl")
echo "create from the catalog golden (devbox:1): p50 ${c50} ms; from the template: p50 ${t50} ms; ratio $(ratio "$t50" "$c50") (target <= 1.10; $ROUNDS rounds each, alternating)"

layers=$hdata/templates/layers
n=0; total=0
for d in "$layers"/*/; do
    [ -f "$d/disk.qcow2" ] || continue
    b=$(( $(stat -c %b "$d/disk.qcow2") * 512 ))
    n=$((n + 1)); total=$((total + b))
    echo "layer $(basename "$d" | cut -c1-12): $(awk -v b="$b" 'BEGIN { printf "%.1f", b / 1048576 }') MiB allocated ($(jq -r .text "$d/layer.json" 2>/dev/null | cut -c1-60))"
done
echo "layers: $n, $(awk -v b="$total" 'BEGIN { printf "%.1f", b / 1048576 }') MiB allocated in all (shared by every template above)"
