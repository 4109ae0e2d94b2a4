#!/usr/bin/env bash
# test_cli_process.sh: end-to-end tests of the managed-process commands (docs/cli.md "Managed
# processes") against a real `hearthd serve` with a real microVM from $HEARTH_IMAGES: the
# issue's short forms `sb start|ps|attach|kill`, `proc run` with piped stdin and its exit code,
# `proc wait`, `input`/`close-stdin`, `signal` names, a PTY shell driven under a pseudo-terminal
# (script(1)): `stty size`, Ctrl-] detach and re-attach; and the CLI's usage errors. One
# sandbox serves every test. Skipped without images, curl/jq, or while the server answers 501.
# Ends with "harness: N passed, N failed, N skipped" for tests/run.sh.
# Env: HEARTH_BIN (default build/bin), HEARTH_IMAGES (default build/images).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${HEARTH_BIN:-$root/build/bin}
images=${HEARTH_IMAGES:-$root/build/images}
hearth=$bin/hearth
hearthd=$bin/hearthd
passed=0 failed=0 skipped=0
tests=(short_forms run_stdin_exit_code input_close_wait signal_names pty_shell_under_script
       usage_errors)

. "$(dirname "$0")/lib.sh"
cli_start proc

probe=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Api-Key: $key" \
    "$url/v1/sandboxes/sb-01J0000000000000000000000Z/processes")
[ "$probe" = 501 ] && skip_all "server answers 501 for GET /v1/sandboxes/{id}/processes"

box_made=""
box() {
    [ -n "$box_made" ] && return 0
    run H sb create --name procs --rootfs minimal --shape s-1vcpu-256mb && expect_rc 0 || return 1
    box_made=1
}

t_short_forms() {
    box || return 1
    run H sb start procs -- sh -c 'echo started; sleep 1000' && expect_rc 0 &&
        expect_out '^proc_' || return 1
    local pid
    pid=$(cat "$out")
    run H sb ps procs && expect_rc 0 && expect_out "^PROCESS ID" && expect_out "$pid" &&
        expect_out 'running' || return 1
    # attach replays and follows; --no-follow ends after the replay (of what the guest's shell
    # has printed by then: ask again until its first line is there, at most ~20 s)
    local i
    for i in $(seq 100); do
        run H sb attach procs "$pid" --no-follow && expect_rc 0 || return 1
        grep -q '^started$' "$out" && break
        sleep 0.2
    done
    expect_out '^started$' || return 1
    run H --json sb ps procs && expect_json "(.[0].process_id == \"$pid\")" || return 1
    run H sb kill procs "$pid" -y --grace 0s && expect_rc 0 || return 1
    run H sb proc get procs "$pid" && expect_rc 4
}

t_run_stdin_exit_code() {
    box || return 1
    # piped stdin becomes input, then stdin is closed: cat ends
    "$hearth" --api-url "$url" --api-key "$key" sb proc run procs -- sh -c 'cat; exit 7' \
        <<<"through-stdin" >"$out" 2>"$err"
    rc=$?
    expect_rc 7 && expect_out '^through-stdin$' || return 1
    run H sb proc run procs -- sh -c 'echo out; echo err >&2; exit 0' && expect_rc 0 &&
        expect_out '^out$' && expect_err '^err$' || return 1
    run H sb proc run procs -- /no/such/program && expect_rc 127 && expect_err 'spawn_failed'
}

t_input_close_wait() {
    box || return 1
    run H sb proc start procs -- cat && expect_rc 0 || return 1
    local pid
    pid=$(cat "$out")
    run H sb proc input procs "$pid" --text 'abc' && expect_rc 0 || return 1
    run H sb proc input procs "$pid" --base64 'ZGVm' && expect_rc 0 || return 1
    run H sb proc close-stdin procs "$pid" && expect_rc 0 || return 1
    run H sb proc wait procs "$pid" --timeout 30s && expect_rc 0 || return 1
    run H sb proc attach procs "$pid" --no-follow && expect_out '^abcdef$' || return 1
    run H sb proc input procs "$pid" --text x && expect_rc 5
}

t_signal_names() {
    box || return 1
    run H sb proc start procs -- sleep 1000 && expect_rc 0 || return 1
    local pid
    pid=$(cat "$out")
    run H sb proc signal procs "$pid" NOPE && expect_rc 2 || return 1
    run H sb proc signal procs "$pid" term && expect_rc 0 || return 1
    run H sb proc wait procs "$pid" --timeout 30s && expect_rc 143 || return 1
    run H --json sb proc get procs "$pid" && expect_json '.signal == "SIGTERM"'
}

t_pty_shell_under_script() {
    box || return 1
    command -v script >/dev/null || { why="needs script(1)"; return 1; }
    # a real terminal of 30x100 for the CLI; the shell sees its size, prints it, exits 3
    local cmd="stty rows 30 cols 100; $hearth --api-url $url --api-key $key sb proc shell procs --cmd sh"
    { sleep 3; printf 'stty size\n'; sleep 2; printf 'exit 3\n'; sleep 2; } |
        script -qec "$cmd" /dev/null >"$out" 2>"$err"
    rc=$?
    expect_out '30 100' || return 1
    # detach with Ctrl-] leaves it running
    { sleep 3; printf '\035'; sleep 1; } |
        script -qec "$hearth --api-url $url --api-key $key sb proc shell procs --cmd sh" /dev/null \
            >"$out" 2>"$err"
    grep -q 'detached' "$out" "$err" || { why="no detach message: $(head -c 300 "$out")"; return 1; }
    run H --json sb ps procs && expect_json '[.[] | select(.kind == "pty" and .state == "running")] | length >= 1'
}

t_usage_errors() {
    run H sb proc input procs proc_x && expect_rc 2 && expect_err 'exactly one of' || return 1
    run H sb proc resize procs proc_x --rows 10 && expect_rc 2 || return 1
    run H sb proc resize procs proc_x --rows 0 --cols 10 && expect_rc 2 || return 1
    run H sb proc stop procs proc_x --grace 2m -y && expect_rc 2 || return 1
    run H sb start procs && expect_rc 2
}

cli_run_tests
