# lib.sh: what the end-to-end CLI scripts share, sourced after they set bin, images, hearth,
# hearthd, passed/failed/skipped and tests: the harness summary, skipping every test with a
# reason; cli_start TAG [no-images]: a `hearthd serve` on 127.0.0.1 (with the real images unless
# no-images; $HEARTHD_CONF_EXTRA appended to its config) in a temp dir (tmp, data, port, key, url), the H wrapper around the CLI with its
# key, and a cleanup at exit that destroys every sandbox while hearthd runs so no QEMU outlives
# the script; run and the expect_* checks (they set why); cli_run_tests: every t_<name> of
# tests, the harness line, and the exit status.
summary() { echo "harness: $passed passed, $failed failed, $skipped skipped"; }
skip_all() {
    for t in "${tests[@]}"; do echo "skip $t ($1)"; skipped=$((skipped + 1)); done
    summary
    exit 0
}

cli_start() {
    [ -x "$hearth" ] && [ -x "$hearthd" ] || skip_all "no $hearth or $hearthd; run make"
    local with_images=()
    if [ "${2:-}" != no-images ]; then
        with_images=(--images "$images")
        [ -e "$images/minimal.ext4" ] && [ -e "$images/vmlinux" ] || skip_all "no images in $images; run make images"
        command -v curl >/dev/null && command -v jq >/dev/null || skip_all "needs curl and jq"
    fi

    tmp=$(mktemp -d "/tmp/hearth-cli-$1.XXXXXX")
    data=$tmp/data
    mkdir -p "$data"
    # no metrics listener unless HEARTHD_METRICS_LISTEN names one (127.0.0.1:0: metrics.port in
    # the data dir): its fixed default port would collide with any other hearthd
    # the SSH gateway and the ingress on free ports (ssh.port, ingress-http.port in the data
    # dir); HEARTHD_CONF_EXTRA adds lines
    printf 'metrics_listen = %s\nssh_listen = 127.0.0.1:0\ningress_http_listen = 127.0.0.1:0\n%s' \
        "${HEARTHD_METRICS_LISTEN:-off}" "${HEARTHD_CONF_EXTRA:-}" >"$tmp/hearthd.conf"
    "$hearthd" serve --config "$tmp/hearthd.conf" --listen 127.0.0.1:0 --data-dir "$data" \
        "${with_images[@]}" >"$tmp/hearthd.log" 2>&1 &
    hpid=$!
    H() { "$hearth" --api-url "$url" --api-key "$key" "$@" </dev/null; }
    cleanup() {
        # destroy what the tests made while hearthd still runs, so no QEMU outlives the test
        if [ -n "${url:-}" ]; then
            for id in $(H sb ls --all -q 2>/dev/null); do H sb rm -y "$id" >/dev/null 2>&1; done
            for id in $(H sb ls -q 2>/dev/null); do H sb wait "$id" --for destroyed --timeout 30s >/dev/null 2>&1; done
        fi
        kill "$hpid" 2>/dev/null
        wait "$hpid" 2>/dev/null
        pkill -9 -f "qemu-system.*$tmp/" 2>/dev/null
        rm -rf "$tmp"
    }
    trap cleanup EXIT
    for _ in $(seq 1 100); do
        [ -s "$data/hearthd.port" ] && [ -s "$data/admin.key" ] && break
        kill -0 "$hpid" 2>/dev/null || break
        sleep 0.1
    done
    if ! [ -s "$data/hearthd.port" ]; then
        echo "hearthd did not start:"; sed 's/^/    /' "$tmp/hearthd.log"
        for t in "${tests[@]}"; do echo "FAIL $t (hearthd did not start)"; failed=$((failed + 1)); done
        summary
        exit 1
    fi
    port=$(tr -d '\n' <"$data/hearthd.port")
    key=$(tr -d '\n' <"$data/admin.key")
    url=http://127.0.0.1:$port

    # the CLI sees only what we give it: no user config, no inherited HEARTH_* settings
    unset HEARTH_API_URL HEARTH_API_KEY HEARTH_OUTPUT CREATEOS_SANDBOX_BASE_URL \
        CREATEOS_SANDBOX_API_KEY XDG_CONFIG_HOME
    export HEARTH_CONFIG=$tmp/config HOME=$tmp
    out=$tmp/out err=$tmp/err
}

# run CMD...: runs it with stdout and stderr captured; sets rc. The expect_* checks set why.
why=""
run() { "$@" >"$out" 2>"$err" </dev/null; rc=$?; }
expect_rc() { [ "$rc" -eq "$1" ] || { why="exit $rc, want $1; stderr: $(head -c 400 "$err")"; return 1; }; }
expect_out() { grep -q -- "$1" "$out" || { why="stdout lacks '$1': $(head -c 400 "$out")"; return 1; }; }
expect_no_out() { ! grep -q -- "$1" "$out" || { why="stdout has '$1': $(head -c 400 "$out")"; return 1; }; }
expect_err() { grep -q -- "$1" "$err" || { why="stderr lacks '$1': $(head -c 400 "$err")"; return 1; }; }
expect_no_err() { ! grep -q -- "$1" "$err" || { why="stderr has '$1': $(head -c 400 "$err")"; return 1; }; }
expect_json() { jq -e "$1" "$out" >/dev/null 2>&1 || { why="stdout JSON fails '$1': $(head -c 400 "$out")"; return 1; }; }
expect_err_json() { jq -e "$1" "$err" >/dev/null 2>&1 || { why="stderr JSON fails '$1': $(head -c 400 "$err")"; return 1; }; }

# Runs t_<name> for every name in tests, then fails once more if hearthd died meanwhile.
cli_run_tests() {
    for t in "${tests[@]}"; do
        why=""
        if "t_$t"; then
            echo "ok   $t"; passed=$((passed + 1))
        else
            echo "FAIL $t: $why"; failed=$((failed + 1))
        fi
    done
    if ! kill -0 "$hpid" 2>/dev/null; then
        echo "FAIL hearthd exited during the tests:"; sed 's/^/    /' "$tmp/hearthd.log"
        failed=$((failed + 1))
    fi
    summary
    [ "$failed" -eq 0 ]
}
