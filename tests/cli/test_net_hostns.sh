#!/usr/bin/env bash
# test_net_hostns.sh: hearthd's host networking the way an operator runs it: in the namespace
# the script starts in, which tests/run.sh does NOT replace by a private one for *_hostns.sh
# (run by hand, it is the machine's root namespace). Every hearthd has a data dir of its own
# under /tmp, so its namespace, uplink and table names (derived from the data dir's hash) are
# its own; everything the script makes (veth links, namespaces, tables) is removed at exit.
# Covers: a clean stop removes the namespace, uplink and table when no VM runs; `hearthd net
# down` removes what a killed hearthd left and is idempotent; a stale uplink of the same
# instance is removed at start; a /30 another interface holds is avoided (automatic) or refused
# with an actionable message (configured), and a refused start leaves nothing behind; a stale
# instance (killed, its namespace and uplink left) does not take the next one's traffic.
# Ends with "harness: N passed, N failed, N skipped" for tests/run.sh.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
hearthd=${HEARTH_BIN:-$root/build/bin}/hearthd
passed=0 failed=0 skipped=0
tests=(stop_removes_network net_down_after_kill stale_own_uplink_removed
       taken_uplink_avoided_or_refused stale_instance_does_not_collide)
summary() { echo "harness: $passed passed, $failed failed, $skipped skipped"; }
if [ "$(id -u)" -ne 0 ] || [ ! -x "$hearthd" ] || ! command -v ip >/dev/null ||
   ! command -v nft >/dev/null; then
    for t in "${tests[@]}"; do echo "skip $t (needs root, ip, nft and $hearthd)"; done
    skipped=${#tests[@]}
    summary
    exit 0
fi
tmp=$(mktemp -d /tmp/hearth-hostns.XXXXXX)
links=()
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    for d in "$tmp"/d*/; do
        [ -d "$d" ] && "$hearthd" net down --config "$tmp/c.conf" --data-dir "${d%/}/data" >/dev/null 2>&1
    done
    for l in "${links[@]}"; do ip link del "$l" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
printf 'metrics_listen = off\n' >"$tmp/c.conf"
why=""

# start NAME [EXTRA_CONF]: a hearthd on data dir $tmp/NAME/data (config $tmp/NAME/c.conf);
# waits for its api port; sets pid.
start() {
    local d=$tmp/$1
    mkdir -p "$d/data"
    { cat "$tmp/c.conf"; printf '%s\n' "${2:-}"; } >"$d/c.conf"
    rm -f "$d/data/hearthd.port"
    "$hearthd" serve --config "$d/c.conf" --listen 127.0.0.1:0 --data-dir "$d/data" \
        --images "$d/none" >>"$d/log" 2>&1 &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 1 100); do
        [ -s "$d/data/hearthd.port" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    why="hearthd $1 did not start: $(tail -c 600 "$d/log")"
    return 1
}
stop() { kill -TERM "$pid"; wait "$pid" 2>/dev/null; }
kill9() { kill -9 "$pid"; wait "$pid" 2>/dev/null; }
# names NAME: ns and up of that instance (from its log)
names() {
    ns=$(grep -o '"msg":"networking ready","namespace":"[^"]*' "$tmp/$1/log" | tail -n 1 | sed 's/.*"//')
    up=$(grep -o '"msg":"networking ready","namespace":"[^"]*","uplink":"[^"]*' "$tmp/$1/log" | tail -n 1 | sed 's/.*"//')
    transit=$(grep -o '"transit":"[^"]*' "$tmp/$1/log" | tail -n 1 | sed 's/.*"//')
    [ -n "$ns" ] && [ -n "$up" ] && [ -n "$transit" ] || { why="no 'networking ready' in $1's log: $(tail -c 600 "$tmp/$1/log")"; return 1; }
}
present() {
    [ -e "/run/netns/$ns" ] || { why="namespace $ns missing"; return 1; }
    ip link show "$up" >/dev/null 2>&1 || { why="uplink $up missing"; return 1; }
    nft list table inet "hearth-$ns" >/dev/null 2>&1 || { why="table hearth-$ns missing"; return 1; }
}
absent() {
    [ ! -e "/run/netns/$ns" ] || { why="namespace $ns left"; return 1; }
    ! ip link show "$up" >/dev/null 2>&1 || { why="uplink $up left"; return 1; }
    ! nft list table inet "hearth-$ns" >/dev/null 2>&1 || { why="table hearth-$ns left"; return 1; }
}
# next_ip A.B.C.D: A.B.C.(D+1)
next_ip() { local a=${1%.*}; echo "$a.$(( ${1##*.} + 1 ))"; }

t_stop_removes_network() {
    start d1 || return 1
    names d1 || return 1
    present || return 1
    stop
    grep -q '"msg":"networking removed: no vm runs"' "$tmp/d1/log" || { why="no removal logged"; return 1; }
    absent
}

t_net_down_after_kill() {
    start d2 || return 1
    names d2 || return 1
    kill9
    present || return 1    # a crash leaves everything, like VMs left running would need
    local out
    out=$("$hearthd" net down --config "$tmp/d2/c.conf" --data-dir "$tmp/d2/data") ||
        { why="net down failed: $out"; return 1; }
    echo "$out" | grep -q "namespace $ns: removed" || { why="net down said: $out"; return 1; }
    absent || return 1
    out=$("$hearthd" net down --config "$tmp/d2/c.conf" --data-dir "$tmp/d2/data") ||
        { why="second net down failed: $out"; return 1; }
    echo "$out" | grep -q "namespace $ns: absent" || { why="second net down said: $out"; return 1; }
    "$hearthd" net down --bogus >/dev/null 2>&1; [ $? -eq 2 ] || { why="bad flag not exit 2"; return 1; }
    "$hearthd" net up >/dev/null 2>&1; [ $? -eq 2 ] || { why="net up not exit 2"; return 1; }
    "$hearthd" net down --data-dir >/dev/null 2>&1; [ $? -eq 2 ] || { why="missing value not exit 2"; return 1; }
}

t_stale_own_uplink_removed() {
    start d3 || return 1
    names d3 || return 1
    stop
    # the root end of a veth whose namespace is gone (a namespace deleted by hand while a tap
    # held it, or a crash during set-up): same name, no peer in the namespace
    ip link add "$up" type veth peer name "ht$$" || { why="cannot make a veth"; return 1; }
    links+=("$up" "ht$$")
    start d3 || return 1
    grep -q 'removed the stale uplink' "$tmp/d3/log" || { why="stale uplink not reported: $(tail -c 600 "$tmp/d3/log")"; return 1; }
    present || return 1
    ip netns exec "$ns" ip link show uplink >/dev/null 2>&1 || { why="no uplink in the namespace"; return 1; }
    stop
    absent
}

t_taken_uplink_avoided_or_refused() {
    start d4 || return 1
    names d4 || return 1
    local first=$transit
    stop
    # another interface takes the /30 this instance prefers
    local dl="hd$$"
    ip link add "$dl" type veth peer name "he$$" && links+=("$dl") &&
        ip addr add "$(next_ip "$first")/30" dev "$dl" || { why="cannot make a veth"; return 1; }
    start d4 || return 1
    names d4 || return 1
    [ "$transit" != "$first" ] || { why="kept the taken /30 $first"; return 1; }
    grep -q "is used by interface '$dl'" "$tmp/d4/log" || { why="collision not logged: $(tail -c 600 "$tmp/d4/log")"; return 1; }
    ip -4 addr show dev "$up" | grep -q "$(next_ip "$transit")/30" || { why="uplink lacks $transit"; return 1; }
    stop
    absent || return 1
    # configured explicitly: refused with a message naming the interface, nothing left
    start d4b "net_uplink_cidr = $first/30" || return 1
    grep -q "networking unavailable" "$tmp/d4b/log" &&
        grep -q "already used by interface '$dl'" "$tmp/d4b/log" &&
        grep -q "hearthd net down" "$tmp/d4b/log" || { why="refusal not logged: $(tail -c 600 "$tmp/d4b/log")"; return 1; }
    local ns2
    ns2=$(grep -o '"namespace":"[^"]*' "$tmp/d4b/log" | tail -n 1 | sed 's/.*"//')
    stop
    [ ! -e "/run/netns/$ns2" ] || { why="refused start left namespace $ns2"; return 1; }
    ip link del "$dl"
}

t_stale_instance_does_not_collide() {
    # instance B learns its preferred /30, then a killed instance A that used exactly that /30
    # is left behind (namespace, uplink, table): B must take another and still route
    start d5b || return 1
    names d5b || return 1
    local pref=$transit
    stop
    start d5a "net_uplink_cidr = $pref/30" || return 1
    names d5a || return 1
    local a_ns=$ns a_up=$up
    kill9
    start d5b || return 1
    names d5b || return 1
    [ "$transit" != "$pref" ] || { why="B shares $pref with the stale A"; return 1; }
    grep -q "is used by interface '$a_up'" "$tmp/d5b/log" || { why="stale A not named: $(tail -c 600 "$tmp/d5b/log")"; return 1; }
    # replies to B's namespace end leave through B's uplink, not into the stale A's
    local b_end
    b_end=$(next_ip "$(next_ip "$transit")")
    ip -o route get "$b_end" | grep -q "dev $up " ||
        { why="route to $b_end: $(ip -o route get "$b_end")"; return 1; }
    stop
    absent || return 1
    "$hearthd" net down --config "$tmp/d5a/c.conf" --data-dir "$tmp/d5a/data" >/dev/null
    ns=$a_ns up=$a_up absent
}

for t in "${tests[@]}"; do
    why=""
    if "t_$t"; then
        echo "ok   $t"; passed=$((passed + 1))
    else
        echo "FAIL $t: $why"; failed=$((failed + 1))
        [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null
    fi
done
summary
[ "$failed" -eq 0 ]
