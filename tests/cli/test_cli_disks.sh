#!/usr/bin/env bash
# test_cli_disks.sh: end-to-end tests of S3 disks (docs/disks.md) through the CLI, against a real
# `hearthd serve`, one real microVM (devbox:1, which carries s3fs) and a real s3rver in a test
# "internet" namespace that hearthd (its bucket check) and the guest (s3fs) both reach
# (tests/s3/s3inet.sh): the catalog (create with the secret on stdin, ls, show, rotate-keys, rm),
# no credential in any answer, log line or file of the data dir, hostile input (bad names,
# buckets, endpoints, an unreachable endpoint, an unknown access key, a missing secret, bad
# mount paths, unknown disks), then attach --wait, a file written in the guest read back from the
# bucket on the host and an object put from the host read in the guest, the mount list, no
# credential in the guest's process list, detach (the objects stay), and rm of a disk still
# mounted (detached first). Ends with "harness: N passed, N failed, N skipped"; ONLY="a b" runs
# some. Env: HEARTH_BIN (default build/bin), HEARTH_IMAGES (default build/images).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${HEARTH_BIN:-$root/build/bin}
images=${HEARTH_IMAGES:-$root/build/images}
hearth=$bin/hearth
hearthd=$bin/hearthd
passed=0 failed=0 skipped=0
tests=(create_stdin list_show no_secret_anywhere hostile_create rotate attach_wait
       guest_writes_host_reads host_writes_guest_reads mount_list hostile_attach
       no_secret_in_guest detach_keeps_objects rm_mounted)
[ -n "${ONLY:-}" ] && read -r -a tests <<<"$ONLY"

. "$(dirname "$0")/lib.sh"
. "$root/tests/s3/s3inet.sh"
[ -e "$images/debian-12.ext4" ] || skip_all "no debian-12 image (devbox:1) in $images; run make images"
s3dir=$(mktemp -d /tmp/hearth-cli-s3.XXXXXX)
s3inet_up "$s3dir" || { rm -rf "$s3dir"; skip_all "$S3INET_WHY"; }
cli_start disks
trap 'cleanup; s3inet_down; rm -rf "$s3dir"' EXIT

ep=$S3INET_URL bucket=$S3INET_BUCKET
# the secret on stdin, as docs/cli.md recommends
D() { "$hearth" --api-url "$url" --api-key "$key" "$@"; }
runin() { local input=$1; shift; "$@" >"$out" 2>"$err" <<<"$input"; rc=$?; }

t_create_stdin() {
    runin S3RVER D --json sb disk create data --bucket "$bucket" --endpoint "$ep" --path-style \
        --access-key S3RVER --secret-key - && expect_rc 0 &&
        expect_json '.id | startswith("disk_")' && expect_json '.name == "data"' &&
        expect_json '.kind == "s3"' && expect_json '.config.use_path_style == true' &&
        expect_json '(.config | has("region")) | not' && expect_json 'has("credentials") | not' &&
        expect_no_err warning
}

t_list_show() {
    run H sb disk ls && expect_rc 0 && expect_out 'ID *NAME *BUCKET *ENDPOINT *CREATED' &&
        expect_out "data *$bucket *$ep" || return 1
    run H --json sb disk show data && expect_rc 0 && expect_json ".config.bucket == \"$bucket\"" ||
        return 1
    run H sb disk show nope && expect_rc 4 && expect_err 'disk not found'
}

t_no_secret_anywhere() {
    # the access key and the secret are both "S3RVER": neither may show up in an answer, the
    # log or any file of the data dir (the store holds them sealed)
    run H --json sb disk ls && expect_no_out S3RVER || return 1
    if grep -rlI --binary-files=text S3RVER "$data" "$tmp/hearthd.log" >/dev/null 2>&1; then
        why="S3RVER in the clear in: $(grep -rl --binary-files=text S3RVER "$data" "$tmp/hearthd.log" | head -3)"
        return 1
    fi
}

t_hostile_create() {
    local c
    # each: exit code, stderr pattern, then the create flags
    while IFS='|' read -r code pat args; do
        [ -z "$code" ] && continue
        # shellcheck disable=SC2086
        runin S3RVER D sb disk create --access-key S3RVER --secret-key - $args &&
            expect_rc "$code" && expect_err "$pat" || { why="[$args] $why"; return 1; }
    done <<EOF2
5|name|Bad_Name --bucket $bucket --endpoint $ep --path-style
5|name|--bucket $bucket --endpoint $ep --path-style -- -lead
5|name|$(printf 'a%.0s' $(seq 1 64)) --bucket $bucket --endpoint $ep --path-style
5|bucket|ok1 --bucket A --endpoint $ep --path-style
5|bucket|ok2 --bucket ..bad.. --endpoint $ep --path-style
5|endpoint|ok3 --bucket $bucket --endpoint ftp://$S3INET_ADDR/ --path-style
5|endpoint|ok4 --bucket $bucket --endpoint http:///nohost --path-style
5|endpoint|ok5 --bucket $bucket --endpoint $ep/?x=1 --path-style
5|bucket check failed|ok6 --bucket $bucket --endpoint http://203.0.113.99:9000 --path-style
5|bucket check failed|ok7 --bucket no-such-bucket --endpoint $ep --path-style
5|name|data --bucket $bucket --endpoint $ep --path-style
EOF2
    # an unknown access key: s3rver answers 403
    runin S3RVER D sb disk create ok8 --bucket "$bucket" --endpoint "$ep" --path-style \
        --access-key NOBODY --secret-key - && expect_rc 5 && expect_err 'bucket check failed' ||
        return 1
    # no secret at all (stdin is no terminal): refused before any request
    run D sb disk create ok9 --bucket "$bucket" --endpoint "$ep" --access-key S3RVER &&
        expect_rc 2 && expect_err 'no secret key' || return 1
    # an oversized body field
    runin S3RVER D sb disk create ok10 --bucket "$bucket" --endpoint "$ep/$(head -c 20000 /dev/zero | tr '\0' a)" \
        --access-key S3RVER --secret-key - && expect_rc 5 || return 1
    run H --json sb disk ls && expect_json 'length == 1' || return 1
    # none of these left anything in the log but the one-line summaries
    kill -0 "$hpid"
}

t_rotate() {
    # an unknown key is refused by the bucket check and the old keys stay in use
    runin S3RVER D sb disk rotate-keys data --access-key NOBODY --secret-key - &&
        expect_rc 5 && expect_err 'bucket check failed' || return 1
    HEARTH_DISK_ACCESS_KEY=S3RVER HEARTH_DISK_SECRET_KEY=S3RVER run D --json sb disk rotate-keys data &&
        expect_rc 0 && expect_json '.name == "data"' && expect_no_out S3RVER
}

box="" id=""
make_box() {
    [ -n "$box" ] && return 0
    run H --json sb create --name disk-box --rootfs devbox:1 --shape s-1vcpu-512mb &&
        expect_rc 0 || return 1
    id=$(jq -r .id "$out")
    box=disk-box
}

t_attach_wait() {
    make_box || return 1
    run H sb disk attach "$box" data /mnt/data --timeout 120s && expect_rc 0 &&
        expect_out 'data mounted at /mnt/data' || return 1
    # the same mount again: no change
    run H --json sb disk attach "$box" data /mnt/data --timeout 60s && expect_rc 0 &&
        expect_json '.mount_status == "mounted"'
}

t_guest_writes_host_reads() {
    [ -n "$box" ] || { why="no sandbox"; return 1; }
    run H sb exec "$box" -- sh -c 'mkdir -p /mnt/data/dir && printf "hello from the guest" >/mnt/data/dir/hello.txt && sync' &&
        expect_rc 0 || return 1
    local got=""
    for _ in $(seq 1 50); do
        got=$(s3_curl "$S3INET_URL/$bucket/dir/hello.txt" 2>/dev/null) && [ -n "$got" ] && break
        sleep 0.2
    done
    [ "$got" = "hello from the guest" ] || { why="object holds '$got'"; return 1; }
}

t_host_writes_guest_reads() {
    [ -n "$box" ] || { why="no sandbox"; return 1; }
    printf 'put by the host' | s3_curl -T - "$S3INET_URL/$bucket/fromhost.txt" >/dev/null ||
        { why="host put failed"; return 1; }
    run H sb exec "$box" -- cat /mnt/data/fromhost.txt && expect_rc 0 && expect_out 'put by the host'
}

t_mount_list() {
    [ -n "$box" ] || { why="no sandbox"; return 1; }
    run H sb disk ls --sandbox "$box" && expect_rc 0 &&
        expect_out 'DISK *MOUNT *SUB-PATH *STATUS *ERROR' && expect_out 'data */mnt/data .*mounted' ||
        return 1
    run H --json sb disk ls --sandbox "$box" && expect_json 'length == 1' &&
        expect_json '.[0].mount_path == "/mnt/data"' && expect_no_out S3RVER || return 1
    # the top-level form and the positional sandbox are the same listing
    run H --json disk list "$box" && expect_json 'length == 1' &&
        expect_json '.[0].mount_path == "/mnt/data"' || return 1
    run H disk ls "$box" --sandbox "$box" && expect_rc 2 && expect_err 'give the sandbox once'
}

t_hostile_attach() {
    [ -n "$box" ] || { why="no sandbox"; return 1; }
    local p
    for p in / /proc/x /sys/fs /dev/shm /run/x /mnt/a/../b /mnt/./a /mnt/a/ //mnt; do
        run H sb disk attach "$box" data "$p" --no-wait && expect_rc 5 || { why="[$p] $why"; return 1; }
    done
    run H sb disk attach "$box" data mnt/rel && expect_rc 2 || return 1
    run H sb disk attach "$box" nope /mnt/nope --no-wait && expect_rc 4 || return 1
    run H sb disk attach "$box" data /mnt/sub --sub-path /abs --no-wait && expect_rc 5 || return 1
    run H sb disk attach "$box" data /mnt/sub --sub-path a/../../b --no-wait && expect_rc 5 || return 1
    # another disk's place: already in use
    run H sb disk attach "$box" data /mnt/data --sub-path other --no-wait && expect_rc 5 &&
        expect_err 'already in use' || return 1
    run H sb disk detach -y "$box" data /mnt/never && expect_rc 0 && expect_out 'nothing to do'
}

t_no_secret_in_guest() {
    [ -n "$box" ] || { why="no sandbox"; return 1; }
    run H sb exec "$box" -- sh -c 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " "' && expect_rc 0 &&
        expect_no_out S3RVER
}

t_detach_keeps_objects() {
    [ -n "$box" ] || { why="no sandbox"; return 1; }
    run H sb disk detach "$box" data /mnt/data && expect_rc 2 || return 1 # no --yes, no terminal
    run H sb disk detach -y "$box" data /mnt/data && expect_rc 0 && expect_out 'detached' || return 1
    run H --json sb disk ls --sandbox "$box" && expect_json 'length == 0' || return 1
    run H sb exec "$box" -- sh -c '! mountpoint -q /mnt/data' && expect_rc 0 || return 1
    [ "$(s3_curl "$S3INET_URL/$bucket/dir/hello.txt")" = "hello from the guest" ] ||
        { why="the object went with the mount"; return 1; }
}

t_rm_mounted() {
    make_box || return 1
    run H sb disk attach "$box" data /mnt/again --timeout 120s && expect_rc 0 || return 1
    run H sb disk rm data && expect_rc 2 || return 1
    run H sb disk rm -y data && expect_rc 0 && expect_out 'deleted (1 mount detached)' || return 1
    run H --json sb disk ls && expect_json 'length == 0' || return 1
    run H sb disk show data && expect_rc 4
}

cli_run_tests
