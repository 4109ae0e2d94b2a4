# lib.sh: what the end-to-end CLI scripts share, sourced after they set bin, images, hearth,
# hearthd, passed/failed/skipped and tests: the harness summary, skipping every test with a
# reason, and cli_start TAG: a `hearthd serve` on 127.0.0.1 with the real images in a temp dir
# (tmp, data, port, key, url), the H wrapper around the CLI with its key, and a cleanup at exit
# that destroys every sandbox while hearthd runs so no QEMU outlives the script.
summary() { echo "harness: $passed passed, $failed failed, $skipped skipped"; }
skip_all() {
    for t in "${tests[@]}"; do echo "skip $t ($1)"; skipped=$((skipped + 1)); done
    summary
    exit 0
}

cli_start() {
    [ -x "$hearth" ] && [ -x "$hearthd" ] || skip_all "no $hearth or $hearthd; run make"
    [ -e "$images/minimal.ext4" ] && [ -e "$images/vmlinux" ] || skip_all "no images in $images; run make images"
    command -v curl >/dev/null && command -v jq >/dev/null || skip_all "needs curl and jq"

    tmp=$(mktemp -d "/tmp/hearth-cli-$1.XXXXXX")
    data=$tmp/data
    mkdir -p "$data"
    printf 'metrics_listen = off\n' >"$tmp/hearthd.conf"
    "$hearthd" serve --config "$tmp/hearthd.conf" --listen 127.0.0.1:0 --data-dir "$data" \
        --images "$images" >"$tmp/hearthd.log" 2>&1 &
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

    unset HEARTH_API_URL HEARTH_API_KEY HEARTH_OUTPUT CREATEOS_SANDBOX_BASE_URL \
        CREATEOS_SANDBOX_API_KEY XDG_CONFIG_HOME
    export HEARTH_CONFIG=$tmp/config HOME=$tmp
}
