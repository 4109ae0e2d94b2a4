#!/usr/bin/env bash
# bench_snapstore.sh: snapshots on S3 (docs/snapshots.md "Snapshots on S3") measured through a
# real `hearthd serve`, a real 256 MiB microVM (minimal, idle) and a real s3rver on loopback.
# Prints medians of ROUNDS rounds; asserts nothing. Each round:
#
# - pause, then resume at once: a same-host resume from the local snapshot (its upload, still
#   running, is cancelled when the resume consumes the snapshot);
# - pause again and wait for its `snapshot_durable` event: pause→durable time, and the bytes the
#   upload covered and sent (hearth_snapshot_upload_bytes_total deltas);
# - with snapshot_cache_mib = 0 the durable snapshot is evicted at once; resume: a resume that
#   fetches the snapshot from S3 first (the issue's "cross-host resume" on one host), against
#   the same-host resume above.
# Needs curl, jq, node (s3rver).
set -uo pipefail
BENCH_NAME=bench_snapstore
. "$(dirname "$0")/lib.sh"
ROUNDS=${BENCH_SNAPSTORE_ROUNDS:-5}

[ -x "$bin/hearthd" ] || skip "no $bin/hearthd; run make"
[ -e "$images/minimal.ext4" ] || skip "no minimal image in $images"
command -v jq >/dev/null && command -v curl >/dev/null || skip "needs curl and jq"
"$root/tests/s3/s3rver.sh" path >/dev/null 2>&1 || skip "s3rver is not installed (node/npm)"

s3port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/s3"
"$root/tests/s3/s3rver.sh" run -d "$tmp/s3" -a 127.0.0.1 -p "$s3port" --silent \
    --configure-bucket snaps >/dev/null 2>&1 &
s3pid=$!
s3_down() { kill "$s3pid" 2>/dev/null; wait "$s3pid" 2>/dev/null; }
bench_stopped_hooks+=(s3_down)
for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$s3port") 2>/dev/null && break
    sleep 0.1
done
printf 'S3RVER\n' >"$tmp/s3.secret"

hearthd_start --metrics --conf "lifecycle_hold_ms = 0
snapshot_store = s3
snapshot_s3_endpoint = http://127.0.0.1:$s3port
snapshot_s3_bucket = snaps
snapshot_s3_access_key = S3RVER
snapshot_s3_secret_key_file = $tmp/s3.secret
snapshot_cache_mib = 0" main

sb=""
sb_done() { [ -n "$sb" ] && api -X DELETE "$url/v1/sandboxes/$sb" >/dev/null; sleep 1; }
bench_exit_hooks+=(sb_done)
sb=$(api -X POST -d '{"shape":"s-1vcpu-256mb","rootfs":"minimal"}' "$url/v1/sandboxes" |
    jq -r .data.id)
[ -n "$sb" ] && [ "$sb" != null ] || { sb=""; fail "create"; }

status() { api "$url/v1/sandboxes/$sb" | jq -r .data.status; }
# wait_status S: polls every 10 ms (≤ 120 s); prints nothing, fails on timeout
wait_status() {
    for _ in $(seq 1 12000); do
        [ "$(status)" = "$1" ] && return 0
        sleep 0.01
    done
    fail "never $1"
}
events() { api "$url/v1/sandboxes/$sb/events?limit=256" | jq -r "[.data.events[] | select(.kind == \"$1\")] | length"; }
metric() { curl -s "$murl" | awk -v s="$1" 'index($0, s) == 1 { print $NF }'; }
local_snaps() { find "$hdata/snapshots/$sb" -name meta.json 2>/dev/null | wc -l; }

wait_status running
sleep 2 # the guest settles (idle)
: >"$tmp/local" ; : >"$tmp/s3res" ; : >"$tmp/durable" ; : >"$tmp/plain" ; : >"$tmp/sent"
for r in $(seq 1 "$ROUNDS"); do
    api -X POST "$url/v1/sandboxes/$sb/pause" >/dev/null
    wait_status paused
    t0=$(now_ms)
    api -X POST "$url/v1/sandboxes/$sb/resume" >/dev/null
    wait_status running
    echo $(( $(now_ms) - t0 )) >>"$tmp/local"

    n=$(events snapshot_durable)
    p0=$(metric 'hearth_snapshot_upload_bytes_total{kind="plain"}')
    s0=$(metric 'hearth_snapshot_upload_bytes_total{kind="sent"}')
    api -X POST "$url/v1/sandboxes/$sb/pause" >/dev/null
    wait_status paused
    t0=$(now_ms)
    for _ in $(seq 1 6000); do
        [ "$(events snapshot_durable)" -gt "$n" ] && break
        sleep 0.02
    done
    [ "$(events snapshot_durable)" -gt "$n" ] || fail "round $r: never durable"
    echo $(( $(now_ms) - t0 )) >>"$tmp/durable"
    p1=$(metric 'hearth_snapshot_upload_bytes_total{kind="plain"}')
    s1=$(metric 'hearth_snapshot_upload_bytes_total{kind="sent"}')
    awk -v a="$p0" -v b="$p1" 'BEGIN { printf "%.1f\n", (b - a) / 1048576 }' >>"$tmp/plain"
    awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.1f\n", (b - a) / 1048576 }' >>"$tmp/sent"
    for _ in $(seq 1 500); do [ "$(local_snaps)" = 0 ] && break; sleep 0.02; done
    [ "$(local_snaps)" = 0 ] || fail "round $r: not evicted"
    t0=$(now_ms)
    api -X POST "$url/v1/sandboxes/$sb/resume" >/dev/null
    wait_status running
    echo $(( $(now_ms) - t0 )) >>"$tmp/s3res"
done

lm=$(median <"$tmp/local"); sm=$(median <"$tmp/s3res")
echo "bench_snapstore: 256 MiB idle guest (minimal), $ROUNDS rounds, s3rver on loopback, accel $bench_accel"
echo "  pause -> durable in S3      p50 $(median <"$tmp/durable") ms  (p90 $(pct 90 <"$tmp/durable") ms)"
echo "  bytes covered / sent        p50 $(median <"$tmp/plain") MiB / $(median <"$tmp/sent") MiB per upload"
echo "  resume, same host (local)   p50 $lm ms  (p90 $(pct 90 <"$tmp/local") ms)"
echo "  resume, fetched from S3     p50 $sm ms  (p90 $(pct 90 <"$tmp/s3res") ms)  $(ratio "$sm" "$lm")x"
echo "  uploads $(metric hearth_snapshot_uploads_total) ok, $(metric hearth_snapshot_upload_failures_total) failed; chunks stored $(metric 'hearth_snapshot_upload_chunks_total{result="stored"}'), shared $(metric 'hearth_snapshot_upload_chunks_total{result="shared"}')"
