#!/usr/bin/env bash
# bench_disks.sh: S3 disks measured through a real `hearthd serve`, a real microVM (devbox:1,
# s3fs) and a real s3rver in a test "internet" namespace (tests/s3/s3inet.sh), for
# docs/disks.md "Numbers". Prints medians and ratios; asserts nothing:
#
# - attach → mounted: POST …/disks, then GET …/disks every 20 ms until `mounted`, ROUNDS times
#   (a new mount path each round, detached after); target ≤ 1 s under TCG;
# - sequential write of a 64 MiB file through the mount (dd conv=fsync) and its read back after
#   dropping the guest's caches, against a direct upload and download of the same object from
#   the host (curl --aws-sigv4), 3 runs each; guest times are the exec's wall time minus the
#   median of an empty exec;
# - `ls` of 1,000 objects (put from the host first) through a fresh mount: the first listing
#   and the median of 3 more.
# Run by bench/run.sh (`make bench`) in a network namespace of its own; needs root, curl, jq.
set -uo pipefail
BENCH_NAME=bench_disks
. "$(dirname "$0")/lib.sh"
ROUNDS=${BENCH_DISK_ROUNDS:-10}
MIB=64
. "$root/tests/s3/s3inet.sh"

[ -x "$bin/hearthd" ] && [ -x "$bin/hearth" ] || skip "no $bin/hearthd; run make"
[ -e "$images/debian-12.ext4" ] || skip "no debian-12 image (devbox:1) in $images"
command -v jq >/dev/null && command -v curl >/dev/null || skip "needs curl and jq"

# the sandbox goes before hearthd stops, the test "internet" after
disks_done() {
    if [ -n "${sb:-}" ]; then
        api -X DELETE "$url/v1/sandboxes/$sb" >/dev/null
        for _ in $(seq 1 150); do
            [ "$(api "$url/v1/sandboxes/$sb" | jq -r .data.status 2>/dev/null)" = destroyed ] && break
            sleep 0.2
        done
    fi
}
bench_exit_hooks+=(disks_done)
bench_stopped_hooks+=(s3inet_down)
s3inet_up "$tmp" || skip "$S3INET_WHY"

hearthd_start main
H() { "$bin/hearth" --api-url "$url" --api-key "$key" "$@" </dev/null; }
bucket=$S3INET_BUCKET
obj=$S3INET_URL/$bucket

printf S3RVER | "$bin/hearth" --api-url "$url" --api-key "$key" sb disk create bench --bucket "$bucket" --endpoint "$S3INET_URL" --path-style \
    --access-key S3RVER --secret-key - >/dev/null || fail "disk create"
sb=$(H --json sb create --name disk-bench --rootfs devbox:1 --shape s-1vcpu-1gb | jq -r .id)
[ -n "$sb" ] && [ "$sb" != null ] || { sb=""; fail "sandbox create"; }

# mount PATH [SUB]: attach and poll every 20 ms; prints the ms to mounted, or "error"
mount_ms() {
    local body t0 st
    body=$(jq -cn --arg p "$1" --arg s "${2:-}" '{disk_id:"bench",mount_path:$p} + (if $s == "" then {} else {sub_path:$s} end)')
    t0=$(now_ms)
    api -X POST -d "$body" "$url/v1/sandboxes/$sb/disks" >/dev/null
    for _ in $(seq 1 3000); do
        st=$(api "$url/v1/sandboxes/$sb/disks?limit=500" |
            jq -r --arg p "$1" '.data.data[] | select(.mount_path == $p) | .mount_status' 2>/dev/null)
        case "$st" in
            mounted) echo $(( $(now_ms) - t0 )); return 0 ;;
            error) echo error; return 1 ;;
        esac
        sleep 0.02
    done
    echo timeout
    return 1
}
unmount() { api -X DELETE "$url/v1/sandboxes/$sb/disks/bench?mount_path=$(jq -rn --arg p "$1" '$p|@uri')" >/dev/null; }
# gexec SCRIPT: wall ms of one exec of sh -c SCRIPT (exit status checked)
gexec_ms() {
    local t0 rc
    t0=$(now_ms)
    H sb exec "$sb" -- sh -c "$1" >/dev/null 2>"$tmp/exec.err"
    rc=$?
    [ "$rc" -eq 0 ] || { echo "exec failed ($rc): $(head -c 200 "$tmp/exec.err")" >&2; echo nan; return 1; }
    echo $(( $(now_ms) - t0 ))
}

echo "machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); guest devbox:1 s-1vcpu-1gb; s3rver $(basename "$(dirname "$(dirname "$(dirname "$("$root/tests/s3/s3rver.sh" path)")")")")"

# 1. attach → mounted
: >"$tmp/attach"
for i in $(seq 1 "$ROUNDS"); do
    ms=$(mount_ms "/mnt/r$i") || { echo "attach round $i: $ms"; continue; }
    echo "$ms" >>"$tmp/attach"
    unmount "/mnt/r$i"
done
a50=$(median <"$tmp/attach")
echo "attach -> mounted: p50 ${a50} ms over $(wc -l <"$tmp/attach") rounds (min $(sort -n "$tmp/attach" | head -1), max $(sort -n "$tmp/attach" | tail -1)); target <= 1000 ms under TCG"

# 2. 64 MiB sequential write and read
mount_ms /mnt/data big >/dev/null || echo "mount /mnt/data failed"
H sb exec "$sb" -- sh -c "head -c $((MIB << 20)) /dev/urandom >/root/src" >/dev/null
head -c $((MIB << 20)) /dev/urandom >"$tmp/src"
: >"$tmp/empty"
for _ in 1 2 3 4 5; do gexec_ms true >>"$tmp/empty"; done
base=$(median <"$tmp/empty")
: >"$tmp/gw"; : >"$tmp/gr"; : >"$tmp/hw"; : >"$tmp/hr"
for r in 1 2 3; do
    w=$(gexec_ms "dd if=/root/src of=/mnt/data/f$r bs=1M conv=fsync 2>/dev/null")
    echo $(( w - base )) >>"$tmp/gw"
    rd=$(gexec_ms "sync; echo 3 >/proc/sys/vm/drop_caches; dd if=/mnt/data/f$r of=/dev/null bs=1M 2>/dev/null")
    echo $(( rd - base )) >>"$tmp/gr"
    t0=$(now_ms); s3_curl -T "$tmp/src" "$obj/big/h$r" >/dev/null; echo $(( $(now_ms) - t0 )) >>"$tmp/hw"
    t0=$(now_ms); s3_curl -o /dev/null "$obj/big/h$r"; echo $(( $(now_ms) - t0 )) >>"$tmp/hr"
done
gw=$(median <"$tmp/gw"); gr=$(median <"$tmp/gr"); hw=$(median <"$tmp/hw"); hr=$(median <"$tmp/hr")
mbps() { awk -v m="$MIB" -v ms="$1" 'BEGIN { if (ms > 0) printf "%.1f", m * 1000 / ms; else print "nan" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "nan" }'; }
echo "write ${MIB} MiB: through the mount ${gw} ms ($(mbps "$gw") MiB/s), host upload ${hw} ms ($(mbps "$hw") MiB/s), ratio $(ratio "$gw" "$hw")x (median of 3; empty exec ${base} ms subtracted)"
echo "read ${MIB} MiB:  through the mount ${gr} ms ($(mbps "$gr") MiB/s), host download ${hr} ms ($(mbps "$hr") MiB/s), ratio $(ratio "$gr" "$hr")x (caches dropped)"
unmount /mnt/data

# 3. ls of 1,000 objects through a fresh mount
seq 1 1000 | xargs -P 8 -I{} sh -c ". '$root/tests/s3/s3inet.sh'; printf x | s3_curl -T - '$obj/many/o{}' >/dev/null"
n=$(s3_curl "$obj?prefix=many/&max-keys=1000" | grep -o '<Key>' | wc -l)
mount_ms /mnt/many many >/dev/null || echo "mount /mnt/many failed"
first=$(gexec_ms "test \$(ls /mnt/many | wc -l) -eq 1000")
: >"$tmp/ls"
for _ in 1 2 3; do gexec_ms "test \$(ls /mnt/many | wc -l) -eq 1000" >>"$tmp/ls"; done
echo "ls of 1000 objects ($n in the bucket): first $(( first - base )) ms, then median $(( $(median <"$tmp/ls" | cut -d. -f1) - base )) ms (empty exec subtracted)"
unmount /mnt/many
