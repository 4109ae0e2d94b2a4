# s3inet.sh: sourced by the disk tests, the SDK suite and the disk benchmark: an S3 server that
# both hearthd (the bucket check) and the guests (s3fs) reach, like tests/inetns.c's "internet":
# a named namespace behind a veth pair (198.51.100.1/30 here, .2 there, a default route to it)
# with S3INET_ADDR on its lo, where tests/s3/s3rver.sh serves the bucket S3INET_BUCKET (access
# key and secret S3RVER). Run it only in a network namespace of the caller's own (tests/run.sh,
# compat's unshare, bench/run.sh): it adds a default route.
#   s3inet_up DIR    starts it (objects under DIR/s3); 0 when it answers, else 1 with S3INET_WHY
#   s3inet_down      stops s3rver and deletes the namespace
#   s3_curl ARGS…    curl signed as S3RVER (SigV4, x-amz-content-sha256 set) for host-side reads
#                    and writes: s3_curl "$S3INET_URL/$S3INET_BUCKET/key"
S3INET_ADDR=203.0.113.10
S3INET_PORT=9000
S3INET_BUCKET=hearth-test
S3INET_URL=http://$S3INET_ADDR:$S3INET_PORT
S3INET_NS="" S3INET_PID="" S3INET_WHY=""

s3inet_up() {
    local dir=$1 here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null || { S3INET_WHY="needs root and ip"; return 1; }
    if ip route show default | grep -q .; then
        S3INET_WHY="this network namespace has a default route: run through tests/run.sh"
        return 1
    fi
    "$here/s3rver.sh" path >/dev/null 2>&1 || { S3INET_WHY="no s3rver (node and npm needed)"; return 1; }
    S3INET_NS=hearth-s3-$$
    ip netns add "$S3INET_NS" &&
        ip link add s3up0 type veth peer name eth0 netns "$S3INET_NS" &&
        ip addr add 198.51.100.1/30 dev s3up0 && ip link set s3up0 up &&
        ip route add default via 198.51.100.2 &&
        ip -n "$S3INET_NS" link set lo up &&
        ip -n "$S3INET_NS" addr add 198.51.100.2/30 dev eth0 &&
        ip -n "$S3INET_NS" link set eth0 up &&
        ip -n "$S3INET_NS" route add default via 198.51.100.1 &&
        ip -n "$S3INET_NS" addr add "$S3INET_ADDR/32" dev lo ||
        { S3INET_WHY="cannot build the namespace"; s3inet_down; return 1; }
    mkdir -p "$dir/s3"
    setsid ip netns exec "$S3INET_NS" "$here/s3rver.sh" run -d "$dir/s3" -a "$S3INET_ADDR" \
        -p "$S3INET_PORT" --silent --configure-bucket "$S3INET_BUCKET" >"$dir/s3rver.log" 2>&1 &
    S3INET_PID=$!
    for _ in $(seq 1 150); do
        s3_curl -o /dev/null "$S3INET_URL/$S3INET_BUCKET" && return 0
        kill -0 "$S3INET_PID" 2>/dev/null || break
        sleep 0.1
    done
    S3INET_WHY="s3rver did not answer: $(tail -c 300 "$dir/s3rver.log" 2>/dev/null)"
    s3inet_down
    return 1
}

s3inet_down() {
    # s3rver.sh execs node in its own session (setsid): the group goes with it
    if [ -n "$S3INET_PID" ]; then
        kill -- -"$S3INET_PID" 2>/dev/null || kill "$S3INET_PID" 2>/dev/null
        wait "$S3INET_PID" 2>/dev/null
    fi
    S3INET_PID=""
    [ -n "$S3INET_NS" ] && ip netns del "$S3INET_NS" 2>/dev/null
    ip link del s3up0 2>/dev/null
    S3INET_NS=""
}

s3_curl() {
    curl -sf -m 30 --aws-sigv4 "aws:amz:us-east-1:s3" -u S3RVER:S3RVER \
        -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
