#!/usr/bin/env bash
# test_ops.sh: what an operator gets (docs/operations.md "Installing"): `make install` with
# DESTDIR and PREFIX puts the expected files in place and never overwrites a config; the
# installed hearthd runs; --version names the git revision; the man pages render without
# warnings and describe every flag the parsers take; `hearthd serve` tells a real NOTIFY_SOCKET
# READY=1 once listening and STOPPING=1 on SIGTERM; every metric the Grafana dashboard
# (docs/grafana-dashboard.json) queries is exported by a live hearthd. Ends with the harness
# line for tests/run.sh.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${HEARTH_BIN:-$root/build/bin}
hearth=$bin/hearth
hearthd=$bin/hearthd
passed=0 failed=0 skipped=0
tests=(version_names_revision man_pages_render hearthd_flags_described cli_flags_described
       install_destdir_prefix install_keeps_config sd_notify_ready_stopping
       dashboard_metrics_exported)
summary() { echo "harness: $passed passed, $failed failed, $skipped skipped"; }
if [ ! -x "$hearthd" ] || [ ! -x "$hearth" ]; then
    for t in "${tests[@]}"; do echo "skip $t (no $hearthd or $hearth; run make)"; done
    skipped=${#tests[@]}; summary; exit 0
fi
tmp=$(mktemp -d /tmp/hearth-ops-test.XXXXXX)
hpid=""
cleanup() { [ -n "$hpid" ] && kill "$hpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
why=""

t_version_names_revision() {
    local d c
    d=$("$hearthd" --version) || { why="hearthd --version failed"; return 1; }
    [[ $d =~ ^hearthd\ [0-9]+\.[0-9]+\.[0-9]+\ \(revision\ ([0-9a-f]{7,}(-dirty)?|unknown)\)$ ]] ||
        { why="hearthd --version: '$d'"; return 1; }
    [ "$("$hearthd" version)" = "$d" ] || { why="hearthd version differs from --version"; return 1; }
    c=$("$hearth" version) || { why="hearth version failed"; return 1; }
    [[ $c =~ \(libhearth\ [0-9.]+,\ revision\ ([0-9a-f]{7,}(-dirty)?|unknown)\)$ ]] ||
        { why="hearth version: '$c'"; return 1; }
    "$hearth" --json version | jq -e '.revision | length > 0' >/dev/null ||
        { why="hearth --json version has no revision"; return 1; }
    # inside git the revision is the repository's (a build may be older than HEAD: same prefix
    # length and hex is all we can ask of a binary built earlier)
    if git -C "$root" rev-parse >/dev/null 2>&1; then
        [[ $d != *unknown* ]] || { why="built in git but revision unknown"; return 1; }
    fi
}

# man -l renders both; groff -ww reports no warning for either.
t_man_pages_render() {
    local p
    for p in "$hearthd" "$hearth"; do
        "$p" --help-man >"$tmp/page" || { why="$p --help-man failed"; return 1; }
        MANWIDTH=80 man -l "$tmp/page" >"$tmp/rendered" 2>"$tmp/man.err" </dev/null ||
            { why="man -l failed for $p: $(head -c 300 "$tmp/man.err")"; return 1; }
        [ -s "$tmp/rendered" ] || { why="man -l rendered nothing for $p"; return 1; }
        groff -man -ww -z "$tmp/page" 2>"$tmp/groff.err"
        [ ! -s "$tmp/groff.err" ] || { why="groff warns for $p: $(head -c 300 "$tmp/groff.err")"; return 1; }
    done
    grep -q 'SEE ALSO' "$tmp/rendered" || { why="no SEE ALSO in hearth(1)"; return 1; }
}

# Every "--flag" literal the hearthd parsers compare against is in the man page and in the
# --help of hearthd or of its command.
t_hearthd_flags_described() {
    "$hearthd" --help-man >"$tmp/hd.8"
    { "$hearthd" --help; for c in serve keys "vm run" "disk-key rotate" "ca init" "cert issue" version; do "$hearthd" $c --help 2>&1; done; } >"$tmp/hd.help"
    local f missing=""
    for f in $(grep -ohE '"--[a-z][a-z-]*"' "$root"/src/daemon/cmd/*.c | tr -d '"' | sort -u); do
        grep -qF -- "$(echo "$f" | sed 's/-/\\-/g')" "$tmp/hd.8" || missing+=" $f(man)"
        grep -qF -- "$f" "$tmp/hd.help" || missing+=" $f(help)"
    done
    [ -z "$missing" ] || { why="not described:$missing"; return 1; }
}

# The CLI's global flags are parsed in main.c by name: each is in `hearth --help` and hearth(1).
# (Command flags are the option tables themselves: tests/unit/cli/test_help.c.)
t_cli_flags_described() {
    "$hearth" --help >"$tmp/h.help" 2>&1
    "$hearth" --help-man >"$tmp/h.1"
    local f missing=""
    for f in $(grep -ohE '"--[a-z][a-z-]*"' "$root"/src/cli/main.c | tr -d '"' | sort -u); do
        grep -qF -- "$f" "$tmp/h.help" || missing+=" $f(help)"
        grep -qF -- "$(echo "$f" | sed 's/-/\\-/g')" "$tmp/h.1" || missing+=" $f(man)"
    done
    [ -z "$missing" ] || { why="not described:$missing"; return 1; }
}

expected_files=(usr/sbin/hearthd usr/bin/hearth usr/lib/libhearth.a usr/lib/libhearth.so.0
    usr/lib/libhearth.so usr/lib/pkgconfig/hearth.pc usr/include/hearth/hearth.h
    usr/share/man/man1/hearth.1 usr/share/man/man8/hearthd.8
    usr/lib/systemd/system/hearthd.service etc/hearth/hearthd.conf.sample etc/hearth/hearthd.conf
    usr/share/bash-completion/completions/hearth usr/share/doc/hearth/openapi.json
    usr/share/doc/hearth/grafana-dashboard.json)

# a make of its own: not the jobserver of a `make test` this may run under
do_install() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$root" -s install DESTDIR="$1" \
    PREFIX=/usr >"$tmp/install.log" 2>&1; }

t_install_destdir_prefix() {
    local d=$tmp/root1 f missing="" extra
    do_install "$d" || { why="make install failed: $(tail -c 400 "$tmp/install.log")"; return 1; }
    for f in "${expected_files[@]}"; do [ -e "$d/$f" ] || missing+=" $f"; done
    [ -z "$missing" ] || { why="missing:$missing"; return 1; }
    # nothing outside DESTDIR's /usr and /etc, and nothing unexpected inside
    extra=$(cd "$d" && find . -type f -o -type l | sed 's|^\./||' | sort |
        comm -23 - <(printf '%s\n' "${expected_files[@]}" | sort))
    [ -z "$extra" ] || { why="unexpected files: $extra"; return 1; }
    "$d/usr/sbin/hearthd" --version | grep -q '^hearthd ' || { why="installed hearthd does not run"; return 1; }
    grep -q '^ExecStart=/usr/sbin/hearthd serve$' "$d/usr/lib/systemd/system/hearthd.service" ||
        { why="unit's ExecStart is not the installed hearthd"; return 1; }
    grep -q '^Type=notify$' "$d/usr/lib/systemd/system/hearthd.service" || { why="unit not Type=notify"; return 1; }
    if command -v systemd-analyze >/dev/null; then
        # unknown keys and bad values are the unit's own; a missing binary on this host is not
        systemd-analyze verify "$d/usr/lib/systemd/system/hearthd.service" 2>&1 |
            grep -v -e 'is not executable' -e "Command 'man" -e 'network-online' >"$tmp/verify" || true
        [ ! -s "$tmp/verify" ] || { why="systemd-analyze: $(head -c 300 "$tmp/verify")"; return 1; }
    fi
    "$d/usr/sbin/hearthd" serve --config "$d/etc/hearth/hearthd.conf" --help >/dev/null ||
        { why="hearthd serve --help failed"; return 1; }
    MANWIDTH=80 man -l "$d/usr/share/man/man8/hearthd.8" | grep -q 'hearthd' ||
        { why="installed hearthd.8 does not render"; return 1; }
}

t_install_keeps_config() {
    local d=$tmp/root2
    mkdir -p "$d/etc/hearth"
    printf 'listen = 127.0.0.1:1\n' >"$d/etc/hearth/hearthd.conf"
    do_install "$d" || { why="make install failed: $(tail -c 400 "$tmp/install.log")"; return 1; }
    [ "$(cat "$d/etc/hearth/hearthd.conf")" = "listen = 127.0.0.1:1" ] ||
        { why="an existing hearthd.conf was overwritten"; return 1; }
    cmp -s "$d/etc/hearth/hearthd.conf.sample" "$root/etc/hearthd.conf.sample" ||
        { why="the sample was not installed"; return 1; }
}

# A unix datagram socket stands in for systemd: READY=1 arrives once the port file exists (the
# listener is bound), STOPPING=1 after SIGTERM, then hearthd exits 0.
t_sd_notify_ready_stopping() {
    command -v python3 >/dev/null || { why="needs python3"; return 1; }
    local sock=$tmp/notify.sock data=$tmp/data
    mkdir -p "$data"
    printf 'metrics_listen = off\ningress_http_listen = off\n' >"$tmp/n.conf"
    python3 - "$sock" "$tmp/msgs" "$hearthd" "$tmp/n.conf" "$data" "$tmp/hd.log" <<'PY'
import os, signal, socket, subprocess, sys, time
sock, out, hearthd, conf, data, log = sys.argv[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock)
s.settimeout(60)
env = dict(os.environ, NOTIFY_SOCKET=sock)
p = subprocess.Popen([hearthd, "serve", "--config", conf, "--listen", "127.0.0.1:0",
                      "--data-dir", data], env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
msgs = []
try:
    m = s.recv(4096).decode()
    msgs.append(m)
    ready_port = os.path.exists(os.path.join(data, "hearthd.port"))
    msgs.append("port_file_at_ready=%s" % ready_port)
    msgs.append("pid_ok=%s" % ("MAINPID=%d" % p.pid in m))
    p.send_signal(signal.SIGTERM)
    msgs.append(s.recv(4096).decode())
    msgs.append("exit=%d" % p.wait(60))
finally:
    if p.poll() is None:
        p.kill()
        p.wait()
open(out, "w").write("\n".join(msgs) + "\n")
PY
    [ -s "$tmp/msgs" ] || { why="no notification; log: $(tail -c 400 "$tmp/hd.log")"; return 1; }
    grep -q '^READY=1$' "$tmp/msgs" || { why="no READY=1: $(cat "$tmp/msgs")"; return 1; }
    grep -q '^port_file_at_ready=True$' "$tmp/msgs" || { why="READY=1 before listening"; return 1; }
    grep -q '^pid_ok=True$' "$tmp/msgs" || { why="READY without MAINPID: $(cat "$tmp/msgs")"; return 1; }
    grep -q '^STOPPING=1$' "$tmp/msgs" || { why="no STOPPING=1: $(cat "$tmp/msgs")"; return 1; }
    grep -q '^exit=0$' "$tmp/msgs" || { why="hearthd did not exit 0: $(cat "$tmp/msgs")"; return 1; }
}

# Every hearth_* name in the dashboard's queries (less _bucket/_sum/_count) has a "# TYPE" line
# in a live hearthd's /metrics.
t_dashboard_metrics_exported() {
    local dash=$root/docs/grafana-dashboard.json data=$tmp/mdata name missing=""
    jq -e '.panels | length > 0' "$dash" >/dev/null || { why="dashboard is not JSON with panels"; return 1; }
    mkdir -p "$data"
    printf 'metrics_listen = 127.0.0.1:0\ningress_http_listen = off\n' >"$tmp/m.conf"
    "$hearthd" serve --config "$tmp/m.conf" --listen 127.0.0.1:0 --data-dir "$data" >"$tmp/m.log" 2>&1 &
    hpid=$!
    for _ in $(seq 1 100); do [ -s "$data/metrics.port" ] && break; sleep 0.1; done
    [ -s "$data/metrics.port" ] || { why="hearthd did not start: $(tail -c 300 "$tmp/m.log")"; return 1; }
    curl -sf "http://127.0.0.1:$(tr -d '\n' <"$data/metrics.port")/metrics" >"$tmp/scrape" ||
        { why="cannot scrape /metrics"; return 1; }
    kill "$hpid"; wait "$hpid" 2>/dev/null; hpid=""
    for name in $(jq -r '.. | .expr? // empty' "$dash" | grep -oE 'hearth_[a-z_]+' |
                  sed -E 's/_(bucket|sum|count)$//' | sort -u); do
        grep -q "^# TYPE $name " "$tmp/scrape" || missing+=" $name"
    done
    [ -z "$missing" ] || { why="dashboard uses metrics hearthd does not export:$missing"; return 1; }
}

for t in "${tests[@]}"; do
    why=""
    if "t_$t"; then echo "ok   $t"; passed=$((passed + 1)); else echo "FAIL $t: $why"; failed=$((failed + 1)); fi
done
summary
[ "$failed" -eq 0 ]
