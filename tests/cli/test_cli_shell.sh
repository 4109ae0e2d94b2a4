#!/usr/bin/env bash
# test_cli_shell.sh: end-to-end tests of `hearth sb shell` and `hearth sb tunnel` against a real
# `hearthd serve` with one real microVM from $HEARTH_IMAGES (docs/cli.md §7.2, docs/api.md
# §3.12): a local port forwarded to a guest echo server (half-close included), the positional
# port form reporting a closed remote port per connection, --stdio, and the shell driven under a
# pseudo-terminal (python3's pty): `stty size` sees the size and a resize, Ctrl-C interrupts a
# command, `exit` ends the CLI with 0 and the terminal is restored; and the WebSocket shell
# driven by Node's own WebSocket client (undici, --experimental-websocket): the credential as
# ?api_key= (redacted from hearthd's log), a resize frame split across binary messages, text
# messages as input, close 1000 when the shell exits; and a sandbox's access token (`sb token
# create|show|rotate|revoke`, runtime commands with the token as the API key, by id only) and
# its public URL (`sb ingress on|off`, `sb url`, with an ingress domain configured). Ends with "harness: N
# passed, N failed, N skipped" for tests/run.sh.
# Env: HEARTH_BIN (dir with hearth and hearthd; default build/bin), HEARTH_IMAGES (default
# build/images).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${HEARTH_BIN:-$root/build/bin}
images=${HEARTH_IMAGES:-$root/build/images}
hearth=$bin/hearth
hearthd=$bin/hearthd
passed=0 failed=0 skipped=0
tests=(tunnel_forward tunnel_closed_port tunnel_stdio shell_pty shell_ws token_and_ingress)

. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip_all "needs python3"
HEARTHD_CONF_EXTRA=$'ingress_domain = sb.example.test\ningress_scheme = https\ningress_public_port = 443\n'
cli_start shell

# one sandbox for every test, with an echo server on 7000 (busybox nc, one cat per connection)
box=""
make_box() {
    [ -n "$box" ] && return 0
    run H --json sb create --name sh-box --rootfs minimal --shape s-1vcpu-256mb && expect_rc 0 ||
        return 1
    box=sh-box
    run H sb exec sh-box -- sh -c 'setsid nc -ll -p 7000 -e cat </dev/null >/dev/null 2>&1 &
        sleep 0.5; netstat -ltn' && expect_rc 0 && expect_out ':7000'
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# starts `hearth sb tunnel ARGS...` in the background (pid in tpid), waits for "forwarding"
tunnel_bg() {
    "$hearth" --api-url "$url" --api-key "$key" sb tunnel "$@" </dev/null >"$out" 2>"$err" &
    tpid=$!
    for _ in $(seq 1 100); do grep -q forwarding "$err" && return 0; sleep 0.1; done
    why="no 'forwarding' line: $(head -c 400 "$err")"
    return 1
}
tunnel_stop() { kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null; }

# sends $2 to 127.0.0.1:$1, half-closes, prints what comes back until EOF
talk() {
    python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(sys.argv[2].encode())
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
sys.stdout.write(data.decode())
PY
}

t_tunnel_forward() {
    make_box || return 1
    local p; p=$(free_port)
    tunnel_bg sh-box --remote 7000 --local "127.0.0.1:$p" || return 1
    expect_err "forwarding 127.0.0.1:$p" || { tunnel_stop; return 1; }
    local got1 got2
    got1=$(talk "$p" "hello-through-tunnel")
    got2=$(talk "$p" "second connection")
    tunnel_stop
    [ "$got1" = "hello-through-tunnel" ] || { why="echo 1: '$got1'"; return 1; }
    [ "$got2" = "second connection" ] || { why="echo 2: '$got2'"; return 1; }
}

t_tunnel_closed_port() {
    make_box || return 1
    local p; p=$(free_port)
    tunnel_bg sh-box 7999 --local "$p" || return 1
    talk "$p" "x" >/dev/null 2>&1
    sleep 0.5
    tunnel_stop
    expect_err "port 7999 in sh-box is not reachable"
}

t_tunnel_stdio() {
    make_box || return 1
    local got
    got=$(printf 'over-stdio' | "$hearth" --api-url "$url" --api-key "$key" sb tunnel sh-box \
        --remote 7000 --stdio 2>"$err")
    rc=$?
    expect_rc 0 || return 1
    [ "$got" = "over-stdio" ] || { why="stdio echo: '$got'"; return 1; }
}

t_shell_pty() {
    make_box || return 1
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$root/tests/cli" python3 - "$hearth" "$url" "$key" >"$out" 2>"$err" <<'PY'
import sys, time
from pty_expect import Pty
hearth, url, key = sys.argv[1:4]
t = Pty([hearth, "--api-url", url, "--api-key", key, "sb", "shell", "sh-box"], 30, 100)
time.sleep(1)
t.send("echo mark-$((6*7))\r")
t.expect("mark-42")
t.send("stty size\r")
t.expect("30 100")
t.setsize(40, 120)
time.sleep(0.5)
t.send("stty size\r")
t.expect("40 120")
t.send("echo $TERM\r")
t.expect("xterm-256color")
t.send("sleep 100; echo not-interrupted\r")
time.sleep(1)
t.send("\x03")
t.send("echo after-$((1+1))\r")
t.expect("after-2", 20)
t.send("exit\r")
print("exit", t.wait())
PY
    rc=$?
    expect_rc 0 && expect_out "exit 0"
}

t_shell_ws() {
    make_box || return 1
    command -v node >/dev/null || { why="node not found"; return 1; }
    local id
    id=$(H --json sb get sh-box | jq -r .id)
    node --experimental-websocket - "$port" "$id" "$key" >"$out" 2>"$err" <<'JS'
const [port, id, key] = process.argv.slice(2);
const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/sandboxes/${id}/shell-ws?api_key=${key}`);
ws.binaryType = "arraybuffer";
let text = "";
let sentExit = false;
const timer = setTimeout(() => { console.error("timeout; got: " + text.slice(-300)); process.exit(1); }, 60000);
ws.onopen = () => {
  const resize = Uint8Array.from([1, 0, 0, 0, 4, 0, 20, 0, 70]); /* 20 x 70, split in two */
  ws.send(resize.slice(0, 3));
  ws.send(resize.slice(3));
  ws.send("stty size; echo ws-$((2*21))\r");
};
ws.onmessage = (ev) => {
  if (typeof ev.data === "string") { console.error("text message from the server"); process.exit(1); }
  text += Buffer.from(ev.data).toString();
  if (!sentExit && text.includes("20 70") && text.includes("ws-42")) {
    sentExit = true;
    ws.send("exit\r");
  }
};
ws.onclose = (ev) => {
  clearTimeout(timer);
  console.log(`close ${ev.code} exit-sent ${sentExit}`);
  process.exit(0);
};
ws.onerror = (ev) => { console.error("error " + (ev.message || "")); };
JS
    rc=$?
    expect_rc 0 && expect_out "close 1000 exit-sent true" || return 1
    ! grep -q -- "$key" "$tmp/hearthd.log" || { why="the api_key is in hearthd's log"; return 1; }
    grep -q 'api_key=REDACTED' "$tmp/hearthd.log" || { why="no redacted shell-ws line in the log"; return 1; }
}

# T TOKEN ARGS...: the CLI with a delegated token as its API key
T() { "$hearth" --api-url "$url" --api-key "$1" "${@:2}" </dev/null; }

t_token_and_ingress() {
    make_box || return 1
    local id tok tok2
    id=$(H --json sb get sh-box | jq -r .id)
    run H sb token show sh-box && expect_rc 0 && expect_out '^enabled: *no' || return 1
    run H sb token create sh-box && expect_rc 0 && expect_out '^hst_' &&
        expect_err 'cannot be shown again' || return 1
    tok=$(head -n 1 "$out")
    run H sb token create sh-box && expect_rc 5 && expect_err 'already_exists' || return 1
    run H sb token show sh-box && expect_rc 0 && expect_out '^enabled: *yes' &&
        expect_out "^hint: *…${tok: -4}\$" && expect_no_out "$tok" || return 1
    run H --json sb token show sh-box && expect_rc 0 &&
        expect_json '.enabled == true and (has("token") | not)' || return 1
    # the token as the API key: runtime commands on its sandbox, by id
    run T "$tok" sb exec "$id" -- echo via-token && expect_rc 0 && expect_out '^via-token$' || return 1
    run env HEARTH_API_KEY="$tok" "$hearth" --api-url "$url" sb get "$id" && expect_rc 0 || return 1
    run T "$tok" sb get sh-box && expect_rc 2 && expect_err 'give the sandbox id' || return 1
    run T "$tok" sb ls && expect_rc 3 || return 1
    run T "$tok" sb token show "$id" && expect_rc 3 && expect_err 'forbidden' || return 1
    run T "$tok" sb rm -y "$id" && expect_rc 3 || return 1
    # rotate: the old token is dead at once
    run H --json sb token rotate sh-box && expect_rc 0 &&
        expect_json '(.token | startswith("hst_")) and .rotated_at != null' || return 1
    tok2=$(jq -r .token "$out")
    run T "$tok" sb get "$id" && expect_rc 3 || return 1
    run T "$tok2" sb get "$id" && expect_rc 0 || return 1
    run H sb token revoke sh-box && expect_rc 2 && expect_err 'pass --yes' || return 1
    run T "$tok2" sb get "$id" && expect_rc 0 || return 1
    run H sb token revoke -y sh-box && expect_rc 0 && expect_out 'revoked' || return 1
    run T "$tok2" sb get "$id" && expect_rc 3 || return 1
    grep -q -- "${tok#hst_}" "$tmp/hearthd.log" && { why="token in hearthd's log"; return 1; }
    # ingress and the URL of a port
    local lid; lid=$(echo "$id" | tr 'A-Z' 'a-z')
    run H sb url sh-box 8080 && expect_rc 5 && expect_err 'ingress is off' || return 1
    run H sb ingress on sh-box && expect_rc 0 &&
        expect_out "^https://<port>-$lid.sb.example.test\$" || return 1
    run H sb url sh-box 8080 && expect_rc 0 && expect_out "^https://8080-$lid.sb.example.test\$" || return 1
    run H --json sb url sh-box 1 && expect_rc 0 &&
        expect_json ".url == \"https://1-$lid.sb.example.test\"" || return 1
    run H sb url sh-box 65536 && expect_rc 2 || return 1
    run H sb ingress off sh-box && expect_rc 0 && expect_out '^off$' || return 1
    run H --json sb get sh-box && expect_json '.ingress_enabled == false' || return 1
    run H sb url sh-box 8080 && expect_rc 5 && expect_err 'ingress is off'
}

cli_run_tests
