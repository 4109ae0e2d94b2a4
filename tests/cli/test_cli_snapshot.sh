#!/usr/bin/env bash
# test_cli_snapshot.sh: end-to-end tests of `hearth sb pause|resume|fork|wait` against a real
# `hearthd serve` on 127.0.0.1 with real microVMs from $HEARTH_IMAGES (docs/cli.md §7.1,
# docs/api.md §2.14): pause → paused, resume → running and exec works again, a fork of a paused
# source with --count 2 --paused gives two paused children with forked_from that see the
# source's files, a fork of a running source runs live (the source keeps running), wait's exit codes,
# and `sb logs` / `sb events` (docs/cli.md §7.2): the console text, --tail, the event table and
# its JSON lines naming who paused, resumed and forked, and their errors.
# Every test is reported skipped, with the reason, while the server answers 501 for pause (the
# snapshot routes are not wired yet), when there are no images, or without curl/jq. Ends with
# "harness: N passed, N failed, N skipped" for tests/run.sh.
# Env: HEARTH_BIN (dir with hearth and hearthd; default build/bin), HEARTH_IMAGES (default
# build/images).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${HEARTH_BIN:-$root/build/bin}
images=${HEARTH_IMAGES:-$root/build/images}
hearth=$bin/hearth
hearthd=$bin/hearthd
passed=0 failed=0 skipped=0
tests=(pause_resume_exec pause_errors fork_count_paused fork_child_runs_with_source_files
       fork_running_source_live wait_states logs_and_events)

. "$(dirname "$0")/lib.sh"
cli_start snap

# The server side of pause/resume/fork may not exist yet: the route then answers 501 whatever
# the id. Once it exists, an unknown id is 404.
probe=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-Api-Key: $key" \
    "$url/v1/sandboxes/sb-01J0000000000000000000000Z/pause")
[ "$probe" = 501 ] && skip_all "server answers 501 for POST /v1/sandboxes/{id}/pause"

# one source sandbox for every test, with a file the forks must see
src_id=""
make_source() {
    [ -n "$src_id" ] && return 0
    run H --json sb create --name snap-src --rootfs minimal --shape s-1vcpu-256mb &&
        expect_rc 0 || return 1
    src_id=$(jq -r .id "$out")
    run H sb exec snap-src -- sh -c 'echo from-source >/root/mark' && expect_rc 0
}

t_pause_resume_exec() {
    make_source || return 1
    run H sb pause snap-src && expect_rc 0 && expect_out '^status: *paused$' &&
        expect_err 'paused in' || return 1
    run H --json sb get snap-src && expect_json '.status == "paused" and (.paused_at | type == "string")' || return 1
    # already paused: success at once
    run H --json sb pause snap-src && expect_rc 0 && expect_json '.status == "paused"' || return 1
    # exec needs running: 409, which exec reports as 125
    run H sb exec snap-src -- true && expect_rc 125 || return 1
    run H --json sb resume snap-src && expect_rc 0 && expect_json '.status == "running"' || return 1
    run H sb exec snap-src -- cat /root/mark && expect_rc 0 && expect_out '^from-source$' || return 1
    run H --json sb resume snap-src && expect_rc 0 && expect_json '.status == "running"'
}

t_pause_errors() {
    run H sb pause sb-01J0000000000000000000000Z && expect_rc 4 || return 1
    run H sb resume no-such-box && expect_rc 4 && expect_err "sandbox 'no-such-box' not found" || return 1
    run H sb fork sb-01J0000000000000000000000Z && expect_rc 4
}

kids_json=$tmp/kids.json
t_fork_count_paused() {
    make_source || return 1
    run H sb pause snap-src -q && expect_rc 0 || return 1
    run H --json sb fork snap-src --count 2 --paused --name kid && expect_rc 0 || return 1
    cp "$out" "$kids_json"
    expect_json "length == 2 and all(.[]; .status == \"paused\" and .forked_from == \"$src_id\")" &&
        expect_json '[.[].name] == ["kid-1", "kid-2"]' &&
        expect_json '.[0].id != .[1].id and all(.[]; .id != "'"$src_id"'")' || return 1
    # the source is untouched and can be forked again
    run H --json sb get snap-src && expect_json '.status == "paused"' || return 1
    run H --json sb get kid-2 && expect_json ".status == \"paused\" and .forked_from == \"$src_id\""
}

t_fork_child_runs_with_source_files() {
    [ -s "$kids_json" ] || { why="needs fork_count_paused"; return 1; }
    run H --json sb resume kid-1 && expect_rc 0 && expect_json '.status == "running"' || return 1
    run H sb exec kid-1 -- cat /root/mark && expect_rc 0 && expect_out '^from-source$' || return 1
    # the child's writes stay its own
    run H sb exec kid-1 -- sh -c 'echo from-kid >/root/mark' && expect_rc 0 || return 1
    run H sb resume snap-src -q && expect_rc 0 || return 1
    run H sb exec snap-src -- cat /root/mark && expect_out '^from-source$' || return 1
    # a fork without --paused waits until the child runs; human output names the source
    run H sb pause snap-src -q && expect_rc 0 || return 1
    run H sb fork snap-src --name kid-run && expect_rc 0 && expect_out '^status: *running$' &&
        expect_out "^forked from: *$src_id\$" || return 1
    run H sb exec kid-run -- cat /root/mark && expect_out '^from-source$'
}

t_fork_running_source_live() {
    make_source || return 1
    run H sb resume snap-src -q && expect_rc 0 || return 1
    # a running source forks live (docs/api.md §2.14.6): the child runs with its files, the
    # source keeps running
    run H sb fork snap-src --name kid-live && expect_rc 0 && expect_out '^status: *running$' &&
        expect_out "^forked from: *$src_id\$" || return 1
    run H sb exec kid-live -- cat /root/mark && expect_out '^from-source$' || return 1
    run H --json sb get snap-src && expect_json '.status == "running"' || return 1
    run H sb rm -y kid-live && expect_rc 0
}

t_wait_states() {
    make_source || return 1
    run H sb resume snap-src -q && expect_rc 0 || return 1
    run H --json sb wait snap-src && expect_rc 0 && expect_json '.status == "running"' || return 1
    run H --json sb pause snap-src --no-wait && expect_rc 0 &&
        expect_json '.status == "pausing" or .status == "paused"' || return 1
    run H --json sb wait snap-src --for paused --timeout 2m && expect_rc 0 &&
        expect_json '.status == "paused"' || return 1
    # nothing will resume it: the wait times out with 6 and a hint
    run H sb wait snap-src --for running --timeout 1s && expect_rc 6 && expect_err 'timed out' &&
        expect_err '^hint: hearth sb wait snap-src' || return 1
    run H sb rm -y kid-2 && expect_rc 0 || return 1
    run H --json sb wait kid-2 --for destroyed --timeout 1m && expect_rc 0 &&
        expect_json '.status == "destroyed"' || return 1
    # a destroyed sandbox never runs again: fail fast with 1, not a timeout
    run H sb wait kid-2 --for running --timeout 1m && expect_rc 1 && expect_err 'destroyed'
}

t_logs_and_events() {
    make_source || return 1
    run H sb resume snap-src -q && expect_rc 0 || return 1
    run H sb exec snap-src -- sh -c 'echo cli-console-marker >/dev/console' && expect_rc 0 || return 1
    run H sb logs snap-src && expect_rc 0 && expect_out 'cli-console-marker' || return 1
    run H sb logs snap-src --tail 1 && expect_rc 0 || return 1
    [ "$(wc -l <"$out")" -le 1 ] || { why="--tail 1 printed $(wc -l <"$out") lines"; return 1; }
    run H sb events snap-src && expect_rc 0 && expect_out '^TIME' &&
        expect_out ' paused  *api' && expect_out ' resumed  *api' && expect_out ' forked ' || return 1
    run H sb logs snap-src --events && expect_rc 0 && expect_out ' created ' || return 1
    run H --json sb events snap-src && expect_rc 0 || return 1
    jq -se 'length >= 3 and all(.[]; (.seq | type == "number") and (.kind | type == "string"))' \
        "$out" >/dev/null || { why="events --json: $(head -c 300 "$out")"; return 1; }
    run H sb logs snap-src --tail x && expect_rc 2 || return 1
    run H sb logs no-such-box && expect_rc 4 || return 1
    run H sb events sb-01J0000000000000000000000Z && expect_rc 4
}

cli_run_tests
