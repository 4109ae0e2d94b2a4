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
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${HEARTH_BIN:-$root/build/bin}
images=${HEARTH_IMAGES:-$root/build/images}
ROUNDS=${BENCH_TEMPLATE_ROUNDS:-7}
SHAPE=s-1vcpu-256mb

skip() { echo "skip bench_templates: $*"; exit 0; }
[ -x "$bin/hearthd" ] || skip "no $bin/hearthd; run make"
[ -e "$images/debian-12.ext4" ] || skip "no debian-12 image (devbox:1) in $images"
command -v jq >/dev/null && command -v curl >/dev/null || skip "needs curl and jq"

tmp=$(mktemp -d /tmp/hearth-bench-tpl.XXXXXX)
hpid=""
done_() {
    [ -n "$hpid" ] && { kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null; }
    # a QEMU outlives hearthd by design: any left of ours (its files are under $tmp) goes too
    for p in $(pgrep -f "qemu-system.*$tmp/"); do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap done_ EXIT

mkdir -p "$tmp/data"
printf 'metrics_listen = off\nssh_listen = off\ningress_http_listen = off\n' >"$tmp/hearthd.conf"
"$bin/hearthd" serve --config "$tmp/hearthd.conf" --listen 127.0.0.1:0 --data-dir "$tmp/data" \
    --images "$images" >"$tmp/hearthd.log" 2>&1 &
hpid=$!
for _ in $(seq 1 100); do [ -s "$tmp/data/hearthd.port" ] && [ -s "$tmp/data/admin.key" ] && break; sleep 0.1; done
[ -s "$tmp/data/hearthd.port" ] || { cat "$tmp/hearthd.log"; echo "FAIL bench_templates: hearthd did not start"; exit 1; }
url=http://127.0.0.1:$(tr -d '\n' <"$tmp/data/hearthd.port")
key=$(tr -d '\n' <"$tmp/data/admin.key")
api() { curl -s -H "X-Api-Key: $key" -H 'Content-Type: application/json' "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }

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

cold=$(build_ms bench-cold) || { echo "cold build: $cold"; cat "$tmp/hearthd.log" | tail -n 20; exit 1; }
echo "cold build (3 RUN steps + golden snapshot): ${cold} ms"
: >"$tmp/cached"
for i in $(seq 1 "$ROUNDS"); do
    ms=$(build_ms "bench-cached-$i") && echo "$ms" >>"$tmp/cached"
done
echo "cached rebuild: p50 $(median <"$tmp/cached") ms over $(wc -l <"$tmp/cached") rounds (min $(sort -n "$tmp/cached" | head -1), max $(sort -n "$tmp/cached" | tail -1)); target <= 2000 ms"

# warm the catalog's golden snapshot for this shape: the first create boots cold and builds it
create_ms devbox:1 >/dev/null
for _ in $(seq 1 600); do grep -q "golden snapshot ready" "$tmp/hearthd.log" && break; sleep 0.1; done
: >"$tmp/cat"; : >"$tmp/tpl"
for i in $(seq 1 "$ROUNDS"); do
    create_ms devbox:1 >>"$tmp/cat"
    create_ms bench-cold >>"$tmp/tpl"
done
c50=$(median <"$tmp/cat"); t50=$(median <"$tmp/tpl")
echo "create from the catalog golden (devbox:1): p50 ${c50} ms; from the template: p50 ${t50} ms; ratio $(ratio "$t50" "$c50") (target <= 1.10; $ROUNDS rounds each, alternating)"

layers=$tmp/data/templates/layers
n=0; total=0
for d in "$layers"/*/; do
    [ -f "$d/disk.qcow2" ] || continue
    b=$(( $(stat -c %b "$d/disk.qcow2") * 512 ))
    n=$((n + 1)); total=$((total + b))
    echo "layer $(basename "$d" | cut -c1-12): $(awk -v b="$b" 'BEGIN { printf "%.1f", b / 1048576 }') MiB allocated ($(jq -r .text "$d/layer.json" 2>/dev/null | cut -c1-60))"
done
echo "layers: $n, $(awk -v b="$total" 'BEGIN { printf "%.1f", b / 1048576 }') MiB allocated in all (shared by every template above)"
