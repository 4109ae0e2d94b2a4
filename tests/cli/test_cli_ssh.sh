#!/usr/bin/env bash
# test_cli_ssh.sh: end-to-end tests of hearthd's SSH gateway (docs/ingress-ssh.md "SSH gateway")
# with the real OpenSSH client against one real microVM (devbox:1, which has python3 and
# sftp-server) and a second sandbox that only carries another key: exec with exit codes (0, 7,
# killed by a signal), stdout and stderr kept apart, stdin piped through sha256sum, a shell on
# a PTY driven by python3's pty, a 64 MiB -L transfer checked by SHA-256, sftp put/get (and a
# clear refusal where the image has no sftp-server), a key of another sandbox and an unknown
# sandbox refused alike, a destination outside the sandbox refused, password login with an API
# key and with a delegated token (its own sandbox only, revoked at once), hostile clients
# (garbage and an oversized banner, idle connections past the cap and the grace time while a
# login still works, an env request flood), the session cap on a multiplexed connection,
# `hearth sb ssh`, the guest's own sshd through a tunnel (`sb ssh --tunnel`, `sb shell --ssh`:
# exit status, a PTY, sshd started once and reused, another user, the minimal image's clear
# refusal, host keys that differ per sandbox and none in the image), a paused sandbox resumed
# on login, a destroy ending a session, host keys kept across a restart, the gateway's counters
# on the metrics listener, and brute force limited per source address. Ends with
# "harness: N passed, N failed, N skipped"; ONLY="a b" runs some.
# Env: HEARTH_BIN (default build/bin), HEARTH_IMAGES (default build/images).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${HEARTH_BIN:-$root/build/bin}
images=${HEARTH_IMAGES:-$root/build/images}
hearth=$bin/hearth
hearthd=$bin/hearthd
passed=0 failed=0 skipped=0
tests=(exec_status exec_streams exec_stdin shell_pty forward_64mib sftp sftp_missing wrong_key
       forward_refused password_apikey hostile_banner unauth_cap env_flood max_sessions cli_ssh
       tunnel_exec tunnel_shell tunnel_minimal tunnel_hostkeys password_token paused_resume destroy_ends_session hostkey_persist metrics brute_force)

. "$(dirname "$0")/lib.sh"
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null && command -v python3 >/dev/null ||
    skip_all "needs ssh, ssh-keygen and python3"
[ -e "$images/debian-12.ext4" ] || skip_all "no debian-12 image in $images; run make images"
HEARTHD_CONF_EXTRA=$'ssh_password_auth = on\nssh_login_grace_s = 4\nssh_max_unauth = 8\nssh_max_sessions = 3\n'
HEARTHD_METRICS_LISTEN=127.0.0.1:0
cli_start ssh

for _ in $(seq 1 50); do [ -s "$data/ssh.port" ] && break; sleep 0.1; done
sport=$(tr -d '\n' <"$data/ssh.port")
kh=$tmp/known_hosts
for k in ed25519 ecdsa; do
    printf '[127.0.0.1]:%s %s\n' "$sport" "$(cut -d' ' -f1,2 "$data/ssh/ssh_host_${k}_key.pub")"
done >"$kh"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/id" -C mine >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$tmp/other" -C other >/dev/null
sshopts=(-p "$sport" -o BatchMode=yes -o UserKnownHostsFile="$kh" -o StrictHostKeyChecking=yes
         -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o LogLevel=ERROR
         -o ConnectTimeout=30 -o HostKeyAlgorithms=ssh-ed25519)
S() { ssh "${sshopts[@]}" -i "$tmp/id" "$@"; }

box="" id=""
make_box() {
    [ -n "$box" ] && return 0
    run H --json sb create --name ssh-box --rootfs devbox:1 --shape s-1vcpu-512mb \
        --ssh-key "$tmp/id.pub" && expect_rc 0 || return 1
    id=$(jq -r .id "$out")
    box=ssh-box
}

t_exec_status() {
    make_box || return 1
    S ssh-box@127.0.0.1 true </dev/null >"$out" 2>"$err"; rc=$?
    expect_rc 0 || return 1
    S ssh-box@127.0.0.1 'exit 7' </dev/null >"$out" 2>"$err"; rc=$?
    expect_rc 7 || return 1
    # killed by a signal: exit-signal, which ssh reports as 255
    S "$id@127.0.0.1" 'kill -KILL $$' </dev/null >"$out" 2>"$err"; rc=$?
    expect_rc 255
}

t_exec_streams() {
    make_box || return 1
    S ssh-box@127.0.0.1 'echo to-out; echo to-err >&2; echo more-out' </dev/null >"$out" 2>"$err"
    rc=$?
    expect_rc 0 && expect_out to-out && expect_out more-out && expect_err to-err &&
        expect_no_out to-err && expect_no_err to-out
}

t_exec_stdin() {
    make_box || return 1
    head -c 3000000 /dev/urandom >"$tmp/in.bin"
    local want got
    want=$(sha256sum <"$tmp/in.bin" | cut -d' ' -f1)
    got=$(S ssh-box@127.0.0.1 sha256sum <"$tmp/in.bin" 2>"$err" | cut -d' ' -f1)
    [ "$got" = "$want" ] || { why="stdin sha256 '$got', want '$want'; $(head -c 300 "$err")"; return 1; }
}

t_shell_pty() {
    make_box || return 1
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$root/tests/cli" python3 - "$sport" "$kh" "$tmp/id" >"$out" 2>"$err" <<'PY'
import sys
from pty_expect import Pty
port, kh, key = sys.argv[1:4]
t = Pty(["ssh", "-tt", "-p", port, "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=" + kh,
         "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
         "-o", "HostKeyAlgorithms=ssh-ed25519", "-i", key, "ssh-box@127.0.0.1"], 30, 100)
t.expect("#")                    # the root prompt of the login shell
t.send("echo hi-$((6*7)); tty; stty size\r")
t.expect("hi-42")
t.expect("/dev/pts/")
t.expect("30 100")               # pty-req's size
t.setsize(40, 120)               # window-change
t.send("stty size\r")
t.expect("40 120")
t.send("exit 3\r")
print("exit", t.wait())
PY
    rc=$?
    expect_rc 0 && expect_out "exit 3"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

t_forward_64mib() {
    make_box || return 1
    S ssh-box@127.0.0.1 'mkdir -p /srv; head -c 67108864 /dev/urandom >/srv/big
        sha256sum /srv/big | cut -d" " -f1 >/srv/big.sum; cd /srv
        (setsid python3 -m http.server 8000 >/dev/null 2>&1 </dev/null &); sleep 1; cat /srv/big.sum' \
        </dev/null >"$out" 2>"$err" || { why="server: $(head -c 300 "$err")"; return 1; }
    local want lp got
    want=$(tr -d '\n' <"$out")
    lp=$(free_port)
    S -N -o ExitOnForwardFailure=yes -L "$lp:localhost:8000" ssh-box@127.0.0.1 </dev/null 2>"$err" &
    local fpid=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$lp/big.sum" && break; sleep 0.2; done
    got=$(curl -s --max-time 600 "http://127.0.0.1:$lp/big" | sha256sum | cut -d' ' -f1)
    kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
    [ -n "$want" ] && [ "$got" = "$want" ] || { why="-L sha256 '$got', want '$want'"; return 1; }
}

t_sftp() {
    make_box || return 1
    head -c 2000000 /dev/urandom >"$tmp/put.bin"
    printf 'put %s /root/put.bin\nget /root/put.bin %s\n' "$tmp/put.bin" "$tmp/got.bin" >"$tmp/batch"
    sftp -P "$sport" -o BatchMode=yes -o UserKnownHostsFile="$kh" -o GlobalKnownHostsFile=/dev/null \
        -o IdentitiesOnly=yes -o LogLevel=ERROR -o HostKeyAlgorithms=ssh-ed25519 -i "$tmp/id" \
        -b "$tmp/batch" ssh-box@127.0.0.1 >"$out" 2>"$err"
    rc=$?
    expect_rc 0 || return 1
    cmp -s "$tmp/put.bin" "$tmp/got.bin" || { why="sftp round trip differs"; return 1; }
    local remote
    remote=$(S ssh-box@127.0.0.1 'sha256sum /root/put.bin' </dev/null | cut -d' ' -f1)
    [ "$remote" = "$(sha256sum <"$tmp/put.bin" | cut -d' ' -f1)" ] || { why="remote sum '$remote'"; return 1; }
}

other=""
t_wrong_key_box() {
    [ -n "$other" ] && return 0
    run H --json sb create --name ssh-other --rootfs minimal --shape s-1vcpu-256mb \
        --ssh-key "$tmp/other.pub" && expect_rc 0 || return 1
    other=ssh-other
}

# the minimal image has no sftp-server: the client hears why
t_sftp_missing() {
    t_wrong_key_box || return 1
    printf 'ls\n' >"$tmp/batch2"
    sftp -P "$sport" -o BatchMode=yes -o UserKnownHostsFile="$kh" -o GlobalKnownHostsFile=/dev/null \
        -o IdentitiesOnly=yes -o LogLevel=ERROR -o HostKeyAlgorithms=ssh-ed25519 -i "$tmp/other" \
        -b "$tmp/batch2" ssh-other@127.0.0.1 >"$out" 2>"$err"
    rc=$?
    [ "$rc" -ne 0 ] || { why="sftp succeeded on minimal"; return 1; }
    expect_err "this sandbox has no sftp server"
}

t_wrong_key() {
    make_box || return 1
    # the other key is registered, but on another sandbox
    t_wrong_key_box || return 1
    ssh "${sshopts[@]}" -i "$tmp/other" ssh-box@127.0.0.1 true </dev/null >"$out" 2>"$err"; rc=$?
    expect_rc 255 && expect_err "Permission denied" || return 1
    local e1; e1=$(cat "$err")
    ssh "${sshopts[@]}" -i "$tmp/other" "$id@127.0.0.1" true </dev/null >"$out" 2>"$err"; rc=$?
    expect_rc 255 && expect_err "Permission denied" || return 1
    # an unknown sandbox fails the same way
    S no-such-box@127.0.0.1 true </dev/null >"$out" 2>"$err"; rc=$?
    expect_rc 255 || return 1
    # the same answer, but for the user name ssh repeats
    [ "$(sed 's/^[^:]*: //' "$err")" = "$(printf '%s\n' "$e1" | sed 's/^[^:]*: //')" ] ||
        { why="unknown sandbox: '$(cat "$err")' vs '$e1'"; return 1; }
    # and the other key does open its own sandbox
    ssh "${sshopts[@]}" -i "$tmp/other" ssh-other@127.0.0.1 'echo own' </dev/null >"$out" 2>"$err"
    rc=$?
    expect_rc 0 && expect_out own
}

t_forward_refused() {
    make_box || return 1
    local lp; lp=$(free_port)
    # LogLevel=INFO first (ssh keeps the first value): the open failure is logged at info
    ssh -o LogLevel=INFO "${sshopts[@]}" -i "$tmp/id" -N -L "$lp:10.0.0.1:80" ssh-box@127.0.0.1 \
        </dev/null 2>"$err" &
    local fpid=$!
    sleep 2
    curl -s --max-time 5 "http://127.0.0.1:$lp/" >/dev/null 2>&1
    sleep 0.5
    kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
    expect_err "administratively prohibited"
}

t_password_apikey() {
    make_box || return 1
    printf '#!/bin/sh\necho "%s"\n' "$key" >"$tmp/askpass"
    chmod 700 "$tmp/askpass"
    SSH_ASKPASS="$tmp/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
        ssh -p "$sport" -o UserKnownHostsFile="$kh" -o GlobalKnownHostsFile=/dev/null \
        -o PreferredAuthentications=password -o PubkeyAuthentication=no -o LogLevel=ERROR \
        -o HostKeyAlgorithms=ssh-ed25519 -o NumberOfPasswordPrompts=1 \
        ssh-box@127.0.0.1 'echo by-password' </dev/null >"$out" 2>"$err"
    rc=$?
    expect_rc 0 && expect_out by-password || return 1
    # a wrong password fails, and the key never shows in hearthd's log
    printf '#!/bin/sh\necho hk_wrongwrongwrong\n' >"$tmp/askpass"
    SSH_ASKPASS="$tmp/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
        ssh -p "$sport" -o UserKnownHostsFile="$kh" -o GlobalKnownHostsFile=/dev/null \
        -o PreferredAuthentications=password -o PubkeyAuthentication=no -o LogLevel=ERROR \
        -o HostKeyAlgorithms=ssh-ed25519 -o NumberOfPasswordPrompts=1 \
        ssh-box@127.0.0.1 true </dev/null >"$out" 2>"$err"
    rc=$?
    expect_rc 255 || return 1
    ! grep -q -- "$key" "$tmp/hearthd.log" && ! grep -q hk_wrongwrongwrong "$tmp/hearthd.log" ||
        { why="a credential in hearthd.log"; return 1; }
}

# pw_ssh PASSWORD USER CMD [ssh options...]: one password attempt
pw_ssh() {
    local pw=$1 user=$2 cmd=$3
    shift 3
    printf '#!/bin/sh\necho "%s"\n' "$pw" >"$tmp/askpass"
    chmod 700 "$tmp/askpass"
    SSH_ASKPASS="$tmp/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
        ssh -p "$sport" -o UserKnownHostsFile="$kh" -o GlobalKnownHostsFile=/dev/null \
        -o PreferredAuthentications=password -o PubkeyAuthentication=no -o LogLevel=ERROR \
        -o HostKeyAlgorithms=ssh-ed25519 -o NumberOfPasswordPrompts=1 -o ConnectTimeout=30 \
        "$@" "$user@127.0.0.1" "$cmd" </dev/null >"$out" 2>"$err"
    rc=$?
}

t_password_token() {
    make_box || return 1
    t_wrong_key_box || return 1
    local tok
    tok=$(curl -s -X POST -H "X-Api-Key: $key" "$url/v1/sandboxes/$id/access-token" |
        jq -r '.data.token // .token')
    [ "${tok#hst_}" != "$tok" ] || { why="no token: '$tok'"; return 1; }
    pw_ssh "$tok" ssh-box 'echo by-token'
    expect_rc 0 && expect_out by-token || return 1
    pw_ssh "$tok" "$id" 'echo by-token-id'
    expect_rc 0 && expect_out by-token-id || return 1
    # the token opens its own sandbox only
    pw_ssh "$tok" ssh-other 'echo wrong'
    expect_rc 255 && expect_no_out wrong || return 1
    ! grep -q -- "$tok" "$tmp/hearthd.log" || { why="the token in hearthd.log"; return 1; }
    # revoked: refused at once
    curl -s -o /dev/null -X DELETE -H "X-Api-Key: $key" \
        "$url/v1/sandboxes/$id/access-token"
    pw_ssh "$tok" ssh-box 'echo revoked'
    expect_rc 255 && expect_no_out revoked
}

t_paused_resume() {
    make_box || return 1
    S ssh-box@127.0.0.1 'echo kept >/tmp/marker' </dev/null >"$out" 2>"$err" || return 1
    run H sb pause ssh-box && expect_rc 0 || return 1
    run H --json sb get ssh-box && expect_json '.status == "paused"' || return 1
    S ssh-box@127.0.0.1 'cat /tmp/marker' </dev/null >"$out" 2>"$err"; rc=$?
    expect_rc 0 && expect_out kept || return 1
    run H --json sb get ssh-box && expect_json '.status == "running"'
}

# last: it gets 127.0.0.2 limited; every other test logs in from 127.0.0.1
# metric NAME{LABELS}: that series' value on the metrics listener, or -1
metric() {
    curl -s "http://127.0.0.1:$(tr -d '\n' <"$data/metrics.port")/metrics" |
        awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? -1 : v) }'
}

# the gateway counts on the metrics listener (docs/operations.md "Metrics"): a key login, an
# exec channel, its bytes, a refused password (from an address of its own, so the brute-force
# table of 127.0.0.1 stays untouched) and that edge's failure
t_metrics() {
    make_box || return 1
    local k=(
        'hearth_ssh_logins_total{method="publickey",result="ok"}'
        'hearth_ssh_channels_total{kind="exec"}'
        'hearth_ssh_bytes_total{direction="in"}'
        'hearth_ssh_bytes_total{direction="out"}'
        'hearth_ssh_logins_total{method="password",result="refused"}'
        'hearth_auth_failures_total{edge="ssh"}'
    ) before=() i v
    for i in "${!k[@]}"; do before[i]=$(metric "${k[i]}"); done
    [ "${before[0]}" != -1 ] || { why="no ${k[0]} on the metrics listener"; return 1; }
    echo metrics-in | S ssh-box@127.0.0.1 cat >"$out" 2>"$err"; rc=$?
    expect_rc 0 && expect_out metrics-in || return 1
    pw_ssh hk_wrongmetrics ssh-box true -b 127.0.0.3
    expect_rc 255 || return 1
    for i in "${!k[@]}"; do
        v=$(metric "${k[i]}")
        [ "$v" -gt "${before[i]}" ] 2>/dev/null || { why="${k[i]}: ${before[i]} then $v"; return 1; }
    done
    v=$(metric hearth_ssh_connections)
    [ "$v" -ge 0 ] 2>/dev/null || { why="hearth_ssh_connections: $v"; return 1; }
}

t_brute_force() {
    make_box || return 1
    local i
    for i in $(seq 1 11); do
        pw_ssh "hk_wrong$i" ssh-box true -b 127.0.0.2
    done
    # limited now: even the right API key is refused from there, without a check
    pw_ssh "$key" ssh-box 'echo should-not' -b 127.0.0.2
    expect_rc 255 && expect_no_out should-not || return 1
    grep -q '"ssh: refusing a connection from an address with too many failed logins"' \
        "$tmp/hearthd.log" || { why="no refusal in hearthd.log"; return 1; }
    # another address is not affected
    pw_ssh "$key" ssh-box 'echo other-source'
    expect_rc 0 && expect_out other-source
}

t_hostile_banner() {
    python3 - "$sport" >"$out" 2>"$err" <<'PY'
import socket, sys
port = int(sys.argv[1])
def probe(data):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    banner = s.recv(256)
    assert banner.startswith(b"SSH-2.0-"), banner
    try:
        s.sendall(data)
        while s.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    s.close()
probe(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\x00\xff" * 100)
probe(b"SSH-2.0-" + b"A" * 200000 + b"\r\n")
probe(b"\x00" * 70000)
print("closed")
PY
    rc=$?
    expect_rc 0 && expect_out closed || return 1
    S ssh-box@127.0.0.1 'echo still-serving' </dev/null >"$out" 2>"$err"; rc=$?
    expect_rc 0 && expect_out still-serving
}

t_unauth_cap() {
    make_box || return 1
    # 6 idle connections (under the cap of 8): a login still works meanwhile; 6 more: the ones
    # past the cap are closed at once; after the grace time (4 s) every idle one is closed
    python3 - "$sport" "$tmp/id" "$kh" >"$out" 2>"$err" <<'PY'
import socket, subprocess, sys, time
port, key, kh = int(sys.argv[1]), sys.argv[2], sys.argv[3]
idle = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(6)]
for s in idle:
    assert s.recv(256).startswith(b"SSH-2.0-")
ssh = ["ssh", "-p", str(port), "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=" + kh,
       "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
       "-o", "HostKeyAlgorithms=ssh-ed25519", "-i", key, "ssh-box@127.0.0.1", "echo login-ok"]
r = subprocess.run(ssh, capture_output=True, timeout=60)
assert b"login-ok" in r.stdout, r
more = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(6)]
refused = 0
for s in more:
    s.settimeout(3)
    try:
        if not s.recv(256):
            refused += 1
    except (ConnectionResetError, socket.timeout):
        refused += 1
assert refused >= 4, refused
time.sleep(6)
closed = 0
for s in idle:
    s.settimeout(5)
    try:
        while s.recv(4096):
            pass
        closed += 1
    except ConnectionResetError:
        closed += 1
assert closed == 6, closed
r = subprocess.run(ssh, capture_output=True, timeout=60)
assert b"login-ok" in r.stdout, r
print("cap-ok", refused, closed)
PY
    rc=$?
    expect_rc 0 && expect_out cap-ok
}

t_env_flood() {
    make_box || return 1
    local setenv="LANG=C.UTF-8 LC_TIME=C"
    for i in $(seq 1 300); do setenv+=" X$i=$i"; done
    S -o SetEnv="$setenv" ssh-box@127.0.0.1 'echo "lang=$LANG time=$LC_TIME x1=${X1:-unset}"' \
        </dev/null >"$out" 2>"$err"
    rc=$?
    expect_rc 0 && expect_out "lang=C.UTF-8 time=C x1=unset"
}

# one connection multiplexed by ssh's ControlMaster: 3 sessions at once (ssh_max_sessions),
# the 4th refused on it while they run, and one accepted again after they ended
t_max_sessions() {
    make_box || return 1
    local sock=$tmp/mux i pids=()
    S -o ControlMaster=yes -o ControlPath="$sock" -o ControlPersist=no -N ssh-box@127.0.0.1 \
        </dev/null 2>"$err" &
    local mpid=$!
    for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
    for i in 1 2 3; do
        S -o ControlPath="$sock" ssh-box@127.0.0.1 "sleep 4; echo s$i" </dev/null >"$tmp/s$i" 2>&1 &
        pids+=($!)
    done
    sleep 2
    S -o ControlPath="$sock" ssh-box@127.0.0.1 'echo fourth' </dev/null >"$out" 2>"$err"
    local rc4=$?
    for p in "${pids[@]}"; do wait "$p"; done
    S -o ControlPath="$sock" ssh-box@127.0.0.1 'echo after' </dev/null >"$tmp/after" 2>&1
    local rc5=$?
    kill "$mpid" 2>/dev/null; wait "$mpid" 2>/dev/null
    # ssh says the master refused, then falls back to a connection of its own
    grep -q "Session open refused by peer" "$err" || { why="4th session: rc $rc4 $(cat "$err")"; return 1; }
    for i in 1 2 3; do grep -q "s$i" "$tmp/s$i" || { why="session $i: $(cat "$tmp/s$i")"; return 1; }; done
    [ "$rc5" -eq 0 ] && grep -q after "$tmp/after" || { why="after: rc $rc5 $(cat "$tmp/after")"; return 1; }
}

t_cli_ssh() {
    make_box || return 1
    mkdir -p "$HOME/.ssh" "$tmp/wrap"
    cp "$tmp/other" "$HOME/.ssh/id_ed25519" && cp "$tmp/other.pub" "$HOME/.ssh/id_ed25519.pub"
    # no known_hosts of ours: the CLI pins the gateway's keys from GET /v1/ssh-gateway itself
    # (ssh would otherwise read the passwd home's, so the wrapper first in PATH keeps it quiet)
    printf '#!/bin/sh\nexec %s -o BatchMode=yes -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR "$@"\n' \
        "$(command -v ssh)" >"$tmp/wrap/ssh"
    chmod +x "$tmp/wrap/ssh"
    local PATH="$tmp/wrap:$PATH" pin=$tmp/known_hosts.d/gateway
    # the default identity is not on ssh-box yet: the CLI adds it, then logs in; no --gateway:
    # the API host on the port the API names
    "$hearth" --api-url "$url" --api-key "$key" sb ssh ssh-box \
        -- echo via-cli '$((40+2))' </dev/null >"$out" 2>"$err"
    rc=$?
    expect_rc 0 && expect_out "via-cli 42" || return 1
    local want
    want=$(for k in ed25519 ecdsa; do
        printf 'hearth-gateway %s\n' "$(cut -d' ' -f1,2 "$data/ssh/ssh_host_${k}_key.pub")"; done)
    [ "$(cat "$pin")" = "$want" ] || { why="pinned: $(cat "$pin")"; return 1; }
    run H --json sb get ssh-box && expect_json '.ssh_pubkeys | length == 2' || return 1
    HEARTH_SSH_GATEWAY="127.0.0.1:$sport" "$hearth" --api-url "$url" --api-key "$key" \
        sb ssh ssh-box -- 'exit 5' </dev/null >"$out" 2>"$err"
    rc=$?
    expect_rc 5 || return 1
    run H sb ssh ssh-box --gateway '[::1' && expect_rc 2 && expect_err "bad gateway" || return 1
    # a gateway with other keys than the API named (here another hearthd) is refused by ssh
    local d=$tmp/mitm p mport
    mkdir -p "$d/data"
    printf 'metrics_listen = off\nssh_listen = 127.0.0.1:0\n' >"$d/conf"
    "$hearthd" serve --config "$d/conf" --listen 127.0.0.1:0 --data-dir "$d/data" >"$d/log" 2>&1 &
    p=$!
    for _ in $(seq 1 100); do [ -s "$d/data/ssh.port" ] && break; sleep 0.1; done
    mport=$(tr -d '\n' <"$d/data/ssh.port")
    run H sb ssh ssh-box --gateway "127.0.0.1:$mport" -- echo should-not-run
    kill "$p"; wait "$p" 2>/dev/null
    expect_rc 255 && expect_err "Host key verification failed" && expect_no_out should-not-run
}

# --- the guest's own sshd through `sb tunnel --stdio` (docs/ingress-ssh.md) ---
sshd_pid() { H sb exec ssh-box -- cat /run/sshd.pid 2>/dev/null | tr -d '\n'; }

# the first call starts sshd (host keys made in the guest), the second reuses it
t_tunnel_exec() {
    make_box || return 1
    run H sb ssh --tunnel ssh-box -i "$tmp/id" -- 'echo hi; exit 5'
    expect_rc 5 && expect_out '^hi$' || return 1
    local kh1=$tmp/known_hosts.d/$id pid1 pid2
    [ -s "$kh1" ] && grep -qi "^$id " "$kh1" || { why="no $kh1 entry for $id"; return 1; }
    pid1=$(sshd_pid)
    run H sb ssh --tunnel ssh-box -i "$tmp/id" -- 'echo again'
    expect_rc 0 && expect_out '^again$' && expect_no_err 'Permanently added' || return 1
    pid2=$(sshd_pid)
    [ -n "$pid1" ] && [ "$pid1" = "$pid2" ] || { why="sshd pid '$pid1' then '$pid2'"; return 1; }
    # --user needs --tunnel; a user the guest does not have is named
    run H sb ssh ssh-box -u root && expect_rc 2 && expect_err 'needs --tunnel' || return 1
    run H sb ssh --tunnel ssh-box -i "$tmp/id" -u nobody-here -- true
    expect_rc 2 && expect_err "no user 'nobody-here'" || return 1
    # another user gets the key in their own authorized_keys
    run H sb exec ssh-box -- useradd -m -s /bin/bash dev && expect_rc 0 || return 1
    run H sb ssh --tunnel ssh-box -i "$tmp/id" -u dev -- 'whoami; pwd'
    expect_rc 0 && expect_out '^dev$' && expect_out '^/home/dev$'
}

t_tunnel_shell() {
    make_box || return 1
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$root/tests/cli" python3 - "$hearth" "$url" "$key" \
        "$tmp/id" >"$out" 2>"$err" <<'PY'
import sys
from pty_expect import Pty
hearth, url, key, ident = sys.argv[1:5]
t = Pty([hearth, "--api-url", url, "--api-key", key, "sb", "shell", "--ssh", "ssh-box",
         "-i", ident], 30, 100)
t.expect("#")
t.send("echo hi-$((6*7)); tty; stty size\r")
t.expect("hi-42")
t.expect("/dev/pts/")
t.expect("30 100")
t.send("exit 3\r")
print("exit", t.wait())
PY
    rc=$?
    expect_rc 0 && expect_out "exit 3" || return 1
    run H sb shell ssh-box -- true && expect_rc 2 && expect_err 'needs --ssh'
}

# minimal has no sshd: said so, before ssh is run
t_tunnel_minimal() {
    t_wrong_key_box || return 1
    run H sb shell ssh-other --ssh -i "$tmp/other"
    expect_rc 5 && expect_err 'has no /usr/sbin/sshd' && expect_err 'devbox:1'
}

# every sandbox makes its own host keys: none are in the image
t_tunnel_hostkeys() {
    make_box || return 1
    if command -v debugfs >/dev/null; then
        debugfs -R 'ls /etc/ssh' "$images/debian-12.ext4" >"$out" 2>/dev/null
        expect_out sshd_config && expect_no_out ssh_host_ || return 1
    fi
    run H --json sb create --name ssh-box2 --rootfs devbox:1 --shape s-1vcpu-512mb \
        --ssh-key "$tmp/id.pub" && expect_rc 0 || return 1
    local id2 k1 k2
    id2=$(jq -r .id "$out")
    run H sb ssh --tunnel ssh-box2 -i "$tmp/id" -- true
    expect_rc 0 || return 1
    H sb rm -y ssh-box2 >/dev/null 2>&1
    k1=$(awk '$2 == "ssh-ed25519" { print $3 }' "$tmp/known_hosts.d/$id")
    k2=$(awk '$2 == "ssh-ed25519" { print $3 }' "$tmp/known_hosts.d/$id2")
    [ -n "$k1" ] && [ -n "$k2" ] && [ "$k1" != "$k2" ] || { why="host keys '$k1' and '$k2'"; return 1; }
}

t_destroy_ends_session() {
    t_wrong_key_box || return 1
    ssh "${sshopts[@]}" -i "$tmp/other" ssh-other@127.0.0.1 'echo started; sleep 300' \
        </dev/null >"$out" 2>"$err" &
    local spid=$!
    for _ in $(seq 1 100); do grep -q started "$out" && break; sleep 0.2; done
    H sb rm -y ssh-other >/dev/null 2>&1
    wait "$spid"; rc=$?
    expect_rc 255 && expect_err "hearth: the sandbox stopped"
}

# the host keys survive a restart (a second hearthd on a data dir of its own, no VMs)
t_hostkey_persist() {
    local d=$tmp/persist fp1 fp2
    mkdir -p "$d/data"
    printf 'metrics_listen = off\nssh_listen = 127.0.0.1:0\n' >"$d/conf"
    for i in 1 2; do
        "$hearthd" serve --config "$d/conf" --listen 127.0.0.1:0 --data-dir "$d/data" \
            >"$d/log$i" 2>&1 &
        local p=$!
        for _ in $(seq 1 100); do [ -s "$d/data/ssh.port" ] && break; sleep 0.1; done
        kill "$p"; wait "$p" 2>/dev/null
    done
    fp1=$(grep '"ssh host key"' "$d/log1" | jq -r .fingerprint | sort)
    fp2=$(grep '"ssh host key"' "$d/log2" | jq -r .fingerprint | sort)
    [ -n "$fp1" ] && [ "$fp1" = "$fp2" ] || { why="fingerprints '$fp1' then '$fp2'"; return 1; }
    [ "$(stat -c %a "$d/data/ssh/ssh_host_ed25519_key")" = 600 ] || { why="key mode"; return 1; }
}

[ -n "${ONLY:-}" ] && read -r -a tests <<<"$ONLY"
cli_run_tests
