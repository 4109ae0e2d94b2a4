#!/usr/bin/env bash
# bench_hostchan.sh: the cost of the host channel (docs/scale-out.md "Host channel"): two real
# hearthds (host-a, host-b) on one SQLite store, certificates from `hearthd ca init` / `hearthd
# cert issue`, one minimal microVM on host-b. Prints medians and p95; asserts nothing:
#
# - exec p50/p95 (`true`, buffered), ROUNDS each: asked of host-b (local) against asked of
#   host-a (forwarded over mutual TLS: one TLS 1.3 handshake per request);
# - a 16 MiB file download: local against forwarded (MiB/s).
# Run by bench/run.sh; needs curl and jq.
set -uo pipefail
BENCH_NAME=hostchan
. "$(dirname "$0")/lib.sh"
ROUNDS=${BENCH_HOSTCHAN_ROUNDS:-30}

[ -x "$bin/hearthd" ] || skip "no $bin/hearthd; run make"
[ -e "$images/minimal.ext4" ] || skip "no minimal image in $images"
command -v jq >/dev/null && command -v curl >/dev/null || skip "needs curl and jq"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p "$tmp/pki"
"$bin/hearthd" ca init "$tmp/pki/ca" >/dev/null || fail "ca init"
for h in host-a host-b; do
    "$bin/hearthd" cert issue --ca "$tmp/pki/ca" --host $h --out "$tmp/pki/$h" --ip 127.0.0.1 \
        >/dev/null || fail "cert issue $h"
done
chan_conf() { # chan_conf HOST PORT
    printf 'host_id = %s\nhost_listen = 127.0.0.1:%s\nhost_address = 127.0.0.1:%s\n' "$1" "$2" "$2"
    printf 'host_tls_ca = %s\nhost_tls_cert = %s\nhost_tls_key = %s\n' "$tmp/pki/$1/ca.crt" \
        "$tmp/pki/$1/host.crt" "$tmp/pki/$1/host.key"
}
pa=$(free_port) pb=$(free_port)
# host-b (runs the VM) through lib.sh, host-a by hand on b's store
hearthd_start --conf "$(chan_conf host-b "$pb")" b
burl=$url bkey=$key
mkdir -p "$tmp/a/data"
{ printf 'ssh_listen = off\ningress_http_listen = off\nmetrics_listen = off\naccel = %s\n' \
    "$bench_accel"; printf 'store = sqlite:%s/hearth.db\n' "$hdata"; chan_conf host-a "$pa"; } \
    >"$tmp/a/hearthd.conf"
"$bin/hearthd" serve --config "$tmp/a/hearthd.conf" --listen 127.0.0.1:0 \
    --data-dir "$tmp/a/data" --images "$images" >"$tmp/a/hearthd.log" 2>&1 &
apid=$!
stop_a() { kill "$apid" 2>/dev/null; wait "$apid" 2>/dev/null; }
bench_exit_hooks+=(stop_a)
for _ in $(seq 1 100); do [ -s "$tmp/a/data/hearthd.port" ] && break; sleep 0.1; done
[ -s "$tmp/a/data/hearthd.port" ] || { tail -n 20 "$tmp/a/hearthd.log"; fail "host-a did not start"; }
aurl=http://127.0.0.1:$(tr -d '\n' <"$tmp/a/data/hearthd.port")

id=$(api -X POST "$burl/v1/sandboxes" \
    -d '{"shape":"s-1vcpu-256mb","rootfs":"minimal","host_id":"host-b"}' | jq -r .data.id)
[ -n "$id" ] && [ "$id" != null ] || fail "create on host-b"
api -X POST "$burl/v1/sandboxes/$id/exec" -d '{"cmd":"sh","args":["-c","head -c 16777216 /dev/zero > /tmp/f"]}' >/dev/null

exec_ms() { # exec_ms URL: one buffered exec of `true`, curl's total time in ms
    curl -s -o /dev/null -w '%{time_total}\n' -H "X-Api-Key: $bkey" \
        -H 'Content-Type: application/json' -X POST "$1/v1/sandboxes/$id/exec" \
        -d '{"cmd":"true"}' | awk '{printf "%.1f\n", $1 * 1000}'
}
for where in local forwarded; do
    u=$burl; [ $where = forwarded ] && u=$aurl
    exec_ms "$u" >/dev/null # warm
    : >"$tmp/$where"
    for _ in $(seq 1 "$ROUNDS"); do exec_ms "$u" >>"$tmp/$where"; done
    echo "exec p50 $where: $(median <"$tmp/$where") ms, p95 $(pct 95 <"$tmp/$where") ms ($ROUNDS rounds)"
done
# the guest's page cache warm first, so neither side pays for the disk
curl -s -o /dev/null -H "X-Api-Key: $bkey" "$burl/v1/sandboxes/$id/files?path=/tmp/f"
for where in local forwarded; do
    u=$burl; [ $where = forwarded ] && u=$aurl
    s=$(curl -s -o /dev/null -w '%{speed_download}' -H "X-Api-Key: $bkey" \
        "$u/v1/sandboxes/$id/files?path=/tmp/f")
    echo "16 MiB download $where: $(awk -v s="$s" 'BEGIN {printf "%.1f", s / 1048576}') MiB/s"
done
api -X DELETE "$burl/v1/sandboxes/$id" >/dev/null
