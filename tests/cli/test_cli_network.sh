#!/usr/bin/env bash
# test_cli_network.sh: end-to-end tests of `hearth sb network|firewall|bandwidth` (docs/cli.md
# §7.3) and the networking parts of `sb create --network` and `sb get` against a real
# `hearthd serve` on 127.0.0.1 with real microVMs from $HEARTH_IMAGES (docs/api.md §2.5,
# §2.9, §2.10, §3.6–§3.8): network create/ls/show/rm with -q, --json and confirmation (exit 2
# without --yes), firewall show/set/add/remove/clear with their warnings, bandwidth show/add,
# attach/detach with the members' "reachable as" names, and unknown networks (exit 4).
# Every test is reported skipped, with the reason, while the server answers 501 for
# GET /v1/networks (the routes are not wired yet), when there are no images, or without curl/jq.
# Ends with "harness: N passed, N failed, N skipped" for tests/run.sh.
# Env: HEARTH_BIN (dir with hearth and hearthd; default build/bin), HEARTH_IMAGES (default
# build/images).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${HEARTH_BIN:-$root/build/bin}
images=${HEARTH_IMAGES:-$root/build/images}
hearth=$bin/hearth
hearthd=$bin/hearthd
passed=0 failed=0 skipped=0
tests=(network_crud network_unknown firewall_rules firewall_errors bandwidth_show_add
       attach_detach create_with_network network_rm_detaches)

. "$(dirname "$0")/lib.sh"
cli_start net

# The server side of the networking routes may not exist yet: they then answer 501.
probe=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Api-Key: $key" "$url/v1/networks")
[ "$probe" = 501 ] && skip_all "server answers 501 for GET /v1/networks"

# sandboxes made on first use: "net-a" (running) and "net-b" (running)
made=""
sandbox() {
    case " $made " in *" $1 "*) return 0 ;; esac
    run H --json sb create --name "$1" --rootfs minimal --shape s-1vcpu-256mb &&
        expect_rc 0 || return 1
    made="$made $1"
}

t_network_crud() {
    run H sb net create crud-net && expect_rc 0 && expect_out '^id: *net-' &&
        expect_out '^name: *crud-net$' && expect_out '^members: *0$' || return 1
    run H --json sb network create crud-net2 && expect_rc 0 &&
        expect_json '.name == "crud-net2" and .member_count == 0 and (.id | startswith("net-"))' || return 1
    local id2; id2=$(jq -r .id "$out")
    # a live name is taken: 400 name_taken, exit 5
    run H sb net create crud-net && expect_rc 5 && expect_err 'name_taken' || return 1
    run H sb networks ls && expect_rc 0 && expect_out '^ID  *NAME  *MEMBERS  *CREATED' &&
        expect_out ' crud-net ' && expect_out ' crud-net2 ' || return 1
    run H sb net list -q && expect_rc 0 && expect_out "^$id2\$" && expect_no_out 'NAME' || return 1
    run H sb net ls -q --limit 1 && expect_rc 0 &&
        [ "$(wc -l <"$out")" -eq 1 ] || { why=${why:-"--limit 1 gave $(wc -l <"$out") lines"}; return 1; }
    run H --json sb net ls && expect_rc 0 &&
        expect_json 'type == "array" and any(.[]; .name == "crud-net") and all(.[]; has("members") | not)' || return 1
    run H sb net show crud-net2 && expect_rc 0 && expect_out "^id: *$id2\$" || return 1
    run H --json sb net show "$id2" && expect_rc 0 && expect_json ".id == \"$id2\" and .name == \"crud-net2\"" || return 1
    # confirmation: without a terminal --yes is required (exit 2), and nothing is deleted
    run H sb net rm crud-net && expect_rc 2 && expect_err 'pass --yes' || return 1
    run H sb net show crud-net && expect_rc 0 || return 1
    run H sb net rm --yes crud-net && expect_rc 0 && expect_out ' deleted' || return 1
    run H --json sb net delete -y "$id2" && expect_rc 0 &&
        expect_json ".[0].id == \"$id2\" and .[0].status == \"deleted\"" || return 1
    run H sb net show crud-net && expect_rc 4 && expect_err 'network not found' || return 1
    # the name is free again
    run H sb net create crud-net && expect_rc 0 || return 1
    run H sb net rm -y crud-net && expect_rc 0
}

t_network_unknown() {
    run H sb net show no-such-net && expect_rc 4 && expect_err 'network not found' &&
        expect_err 'HTTP 404' || return 1
    run H sb net rm -y no-such-net && expect_rc 4 || return 1
    run H --json sb net show no-such-net && expect_rc 4 &&
        jq -e '.error.http_status == 404' "$err" >/dev/null || { why=${why:-"stderr: $(cat "$err")"}; return 1; }
    sandbox net-a || return 1
    run H sb net attach net-a no-such-net && expect_rc 4 && expect_err 'network not found' || return 1
    run H sb net detach -y net-a no-such-net && expect_rc 4 || return 1
    run H sb net attach no-such-box some-net && expect_rc 4 && expect_err "sandbox 'no-such-box' not found"
}

t_firewall_rules() {
    sandbox net-a || return 1
    run H sb fw show net-a && expect_rc 0 && expect_out '^all outbound traffic allowed$' || return 1
    run H sb firewall set net-a 'Example.COM,api.example.org:443' 10.1.2.3/8 && expect_rc 0 &&
        expect_out '^example.com$' && expect_out '^api.example.org:443$' &&
        expect_out '^10.0.0.0/8$' && expect_err 'everything not listed is blocked' || return 1
    run H --json sb egress show net-a && expect_rc 0 &&
        expect_json '.egress == ["example.com","api.example.org:443","10.0.0.0/8"]' || return 1
    run H --json sb get net-a && expect_json '.egress | length == 3' || return 1
    run H sb fw add net-a '*.example.net' example.com && expect_rc 0 &&
        expect_out '^\*\.example\.net$' && expect_no_err 'blocked' || return 1
    run H --json sb fw show net-a && expect_json '.egress | length == 4' || return 1
    run H sb fw remove net-a example.com,10.0.0.0/8 not-there.org && expect_rc 0 &&
        expect_no_out '^example.com$' && expect_err "rule 'not-there.org' is not in the list" || return 1
    run H sb fw remove net-a api.example.org:443 '*.example.net' && expect_rc 0 &&
        expect_out '^all outbound traffic allowed$' && expect_err 'last rule was removed' || return 1
    run H --json sb fw show net-a && expect_json '.egress == []' || return 1
    run H sb fw set net-a example.com && expect_rc 0 || return 1
    # clear needs confirmation: exit 2 without --yes, the rules stay
    run H sb fw clear net-a && expect_rc 2 && expect_err 'pass --yes' || return 1
    run H --json sb fw show net-a && expect_json '.egress == ["example.com"]' || return 1
    run H sb fw clear net-a --yes && expect_rc 0 && expect_out '^all outbound traffic allowed$' || return 1
    run H --json sb fw show net-a && expect_json '.egress == []'
}

t_firewall_errors() {
    sandbox net-a || return 1
    # one bad rule: 400, nothing stored
    run H sb fw set net-a example.com '::1' && expect_rc 5 && expect_err 'HTTP 400' || return 1
    run H --json sb fw show net-a && expect_json '.egress == []' || return 1
    run H sb fw show sb-01J0000000000000000000000Z && expect_rc 4 || return 1
    run H sb fw set net-a ', ,' && expect_rc 2 && expect_err 'empty rule'
}

t_bandwidth_show_add() {
    sandbox net-a || return 1
    run H sb bw show net-a && expect_rc 0 && expect_out '^quota: ' && expect_out '^used: ' &&
        expect_out '^remaining: ' && expect_out '^ingress: ' && expect_out '^capped: *no$' || return 1
    run H --json sb bandwidth show net-a && expect_rc 0 &&
        expect_json 'has("quota_bytes") and has("used_bytes") and has("remaining_bytes") and (.capped | type == "boolean")' || return 1
    local q0; q0=$(jq .quota_bytes "$out")
    if [ "$q0" = -1 ]; then
        run H sb bw show net-a && expect_out '^quota: *unmetered$' || return 1
        run H sb bw add net-a && expect_rc 0 && expect_err 'unmetered' && return 0
        return 1
    fi
    run H --json sb bw add net-a && expect_rc 0 &&
        expect_json ".quota_bytes == $q0 + 5368709120" || return 1
    run H --json sb bw recharge net-a 1GiB && expect_rc 0 &&
        expect_json ".quota_bytes == $q0 + 5368709120 + 1073741824" || return 1
    run H sb bw topup net-a 512MiB && expect_rc 0 && expect_out '^quota: ' || return 1
    run H sb bw add net-a 0 && expect_rc 2 || return 1
    run H sb bw add net-a lots && expect_rc 2 || return 1
    # sb get carries the bandwidth view of a running sandbox
    run H --json sb get net-a && expect_rc 0 &&
        expect_json ".bandwidth.quota_bytes == $q0 + 5368709120 + 1073741824 + 536870912" || return 1
    run H sb get net-a && expect_out '^bandwidth: .* used'
}

t_attach_detach() {
    sandbox net-a && sandbox net-b || return 1
    run H sb net create pair && expect_rc 0 || return 1
    run H sb net attach net-a pair && expect_rc 0 && expect_out 'attached to network pair' || return 1
    run H --json sb net attach net-b pair && expect_rc 0 && expect_json '.ok == true' || return 1
    # already a member: still 200
    run H sb net attach net-a pair && expect_rc 0 || return 1
    run H --json sb net show pair && expect_rc 0 && expect_json '.member_count == 2' &&
        expect_json '[.members[].name] | sort == ["net-a","net-b"]' &&
        expect_json 'all(.members[]; .status == "running")' || return 1
    run H sb net show pair && expect_rc 0 && expect_out '^SANDBOX  *NAME  *STATUS  *IP  *REACHABLE AS' &&
        expect_out ' net-a  *running .* net-a\.pair\.hearth\.internal$' &&
        expect_out ' net-b  *running .* net-b\.pair\.hearth\.internal$' || return 1
    run H sb net ls && expect_out ' pair  *2 ' || return 1
    # detach needs confirmation
    run H sb net detach net-a pair && expect_rc 2 && expect_err 'pass --yes' || return 1
    run H sb net detach net-a pair -y && expect_rc 0 && expect_out 'detached from network pair' || return 1
    # not a member any more: still 200
    run H sb net detach net-a pair -y && expect_rc 0 || return 1
    run H --json sb net show pair && expect_json '.member_count == 1 and .members[0].name == "net-b"'
}

t_create_with_network() {
    run H sb net create cnet1 && expect_rc 0 && run H sb net create cnet2 && expect_rc 0 || return 1
    run H --json sb create --name net-c --rootfs minimal --shape s-1vcpu-256mb \
        --network cnet1,cnet2 && expect_rc 0 || return 1
    made="$made net-c"
    local id; id=$(jq -r .id "$out")
    run H --json sb net show cnet1 && expect_json ".members | any(.sandbox_id == \"$id\")" || return 1
    run H --json sb net show cnet2 && expect_json ".members | any(.sandbox_id == \"$id\")" || return 1
    run H sb create --name net-d --rootfs minimal --shape s-1vcpu-256mb --net no-such-net &&
        expect_rc 5 && expect_err 'unknown_reference'
}

t_network_rm_detaches() {
    sandbox net-a && sandbox net-b || return 1
    run H sb net create gone && expect_rc 0 || return 1
    run H sb net attach net-a gone && expect_rc 0 && run H sb net attach net-b gone && expect_rc 0 || return 1
    run H sb net rm -y gone && expect_rc 0 && expect_out 'deleted (2 members detached)' || return 1
    run H sb net show gone && expect_rc 4 || return 1
    # the members live on
    run H --json sb get net-a && expect_json '.status == "running"'
}

cli_run_tests
