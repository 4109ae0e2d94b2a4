#!/usr/bin/env bash
# bench_cli_wait.sh: what a person waits for (docs/performance.md "Waiting"): the wall time of
# each CLI lifecycle command (`hearth sb create`, `pause`, `resume`, `fork`, `rm`) on real
# microVMs against the server's own time for the same operation, medians over ROUNDS rounds.
# The server's time is the operation's own duration, from its request to the sandbox's settled
# state, as hearthd measures it for the metric hearth_lifecycle_duration_seconds{op} (docs/
# operations.md "Metrics"): the growth of its _sum over one command (one operation each). For
# `rm` that is the whole destroy, which the CLI does not wait for. The difference is what the
# person waits for beyond the server: process start, config, name resolution, polling. Prints
# medians; asserts nothing.
# BENCH_CLI_WAIT_BEFORE=<dir> also runs the rounds with the hearth and hearthd found in <dir>
# (an older build) for a before/after line. Run by bench/run.sh (`make bench`); needs curl, jq.
set -uo pipefail
BENCH_NAME=bench_cli_wait
. "$(dirname "$0")/lib.sh"
ROUNDS=${BENCH_CLI_WAIT_ROUNDS:-5}
SHAPE=s-1vcpu-256mb
ROOTFS=minimal

[ -x "$bin/hearthd" ] && [ -x "$bin/hearth" ] || skip "no $bin/hearthd or hearth; run make"
[ -e "$images/minimal.ext4" ] || skip "no minimal image in $images"
command -v jq >/dev/null && command -v curl >/dev/null || skip "needs curl and jq"

# op_sum OP: hearth_lifecycle_duration_seconds_sum{op="OP"} in ms now
op_sum() {
    curl -s "$murl" | awk -v k="hearth_lifecycle_duration_seconds_sum{op=\"$1\"}" \
        '$1 == k { printf "%.1f\n", $2 * 1000 }'
}
# timed OP OUTFILE ARGS…: the CLI command's wall ms and the server's ms for op OP, on one line.
# A destroy settles after the CLI returned: wait for its sum to move.
timed() {
    local op=$1 out=$2 b w a
    shift 2
    b=$(op_sum "$op")
    w=$(cli "$out" "$@") || return 1
    for _ in $(seq 1 100); do
        a=$(op_sum "$op")
        [ "$a" != "$b" ] && break
        sleep 0.05
    done
    echo "$w $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", a - b }')"
}

# cli OUTFILE ARGS…: runs hearth ARGS with --json, the output into OUTFILE; prints its wall ms
cli() {
    local out=$1 t0
    shift
    t0=$(now_ms)
    HOME=$tmp HEARTH_API_URL=$url HEARTH_API_KEY=$key "$hbin/hearth" --json "$@" >"$out" 2>"$tmp/cli.err" ||
        { echo "hearth $*: $(tail -n 3 "$tmp/cli.err")" >&2; return 1; }
    echo $(( $(now_ms) - t0 ))
}

# one_set BINDIR NAME: ROUNDS rounds of create, pause, fork, resume, rm; the samples in $tmp/NAME.*
one_set() {
    hbin=$1
    hearthd_start --bin "$1" --metrics "$2"
    local s=$tmp/$2 id kid
    # warm the golden snapshot of this rootfs and shape: the first create boots cold
    id=$(cli "$s/c.json" sb create --shape "$SHAPE" --rootfs "$ROOTFS" >/dev/null && jq -r '.id' "$s/c.json")
    [ -n "$id" ] && [ "$id" != null ] || { tail -n 20 "$log"; fail "warm-up create"; }
    for _ in $(seq 1 600); do grep -q "golden snapshot ready" "$log" && break; sleep 0.1; done
    cli "$s/x.json" sb rm --yes "$id" >/dev/null
    for i in $(seq 1 "$ROUNDS"); do
        timed create "$s/c.json" sb create --shape "$SHAPE" --rootfs "$ROOTFS" >>"$s.create" || break
        id=$(jq -r '.id' "$s/c.json")
        timed pause "$s/p.json" sb pause "$id" >>"$s.pause" || break
        timed fork "$s/f.json" sb fork "$id" >>"$s.fork" || break
        kid=$(jq -r '.id' "$s/f.json")
        timed resume "$s/r.json" sb resume "$id" >>"$s.resume" || break
        timed destroy "$s/x.json" sb rm --yes "$id" >>"$s.rm" || break
        cli "$s/x.json" sb rm --yes "$kid" >/dev/null
    done
    hearthd_stop
}

# report NAME LABEL
report() {
    local s=$tmp/$1 op
    for op in create pause resume fork rm; do
        [ -s "$s.$op" ] || { echo "$2 $op: no samples"; continue; }
        local wall srv
        wall=$(cut -d' ' -f1 "$s.$op" | median)
        srv=$(cut -d' ' -f2 "$s.$op" | median)
        printf '%s %-6s CLI wall p50 %6s ms, server p50 %6s ms, CLI overhead %6s ms (%d rounds)%s\n' \
            "$2" "$op" "$wall" "$srv" "$(awk -v a="$wall" -v b="$srv" 'BEGIN { printf "%.0f", a - b }')" \
            "$(wc -l <"$s.$op")" "$( [ "$op" = rm ] && echo '; the CLI does not wait for the destroy')"
    done
}

echo "machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); rootfs $ROOTFS, shape $SHAPE; targets: CLI wall within 100 ms of the server's time"
if [ -n "${BENCH_CLI_WAIT_BEFORE:-}" ]; then
    one_set "$BENCH_CLI_WAIT_BEFORE" before
    report before "before:"
fi
one_set "$bin" now
report now "$( [ -n "${BENCH_CLI_WAIT_BEFORE:-}" ] && echo "after: " || echo "")"
