#!/usr/bin/env bash
# test_cli_templates.sh: end-to-end test of templates (docs/templates.md) through the CLI,
# against a real `hearthd serve` and real microVMs: `hearth template build` of a tiny Dockerfile
# with a build context directory (tarred and uploaded by the CLI), followed step by step to
# ready; ls, show, show --dockerfile, logs; a sandbox created from the template sees the copied
# file, the RUN step's output and the ENV; a build whose RUN fails exits 1 with its reason; a
# context with a link that leaves it is refused; rm. Ends with "harness: N passed, N failed, N
# skipped"; ONLY="a b" runs some. Env: HEARTH_BIN (default build/bin), HEARTH_IMAGES (default
# build/images). Slow under TCG: every RUN step and the snapshot boot a VM.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${HEARTH_BIN:-$root/build/bin}
images=${HEARTH_IMAGES:-$root/build/images}
hearth=$bin/hearth
hearthd=$bin/hearthd
passed=0 failed=0 skipped=0
tests=(build_ready list_show logs sandbox_from_template build_fails hostile_context rm)
[ -n "${ONLY:-}" ] && read -r -a tests <<<"$ONLY"

. "$(dirname "$0")/lib.sh"
[ -e "$images/debian-12.10240.ext4" ] || skip_all "no debian-12 10 GiB image (devbox:1) in $images; run make images"
cli_start templates

ctx=$tmp/ctx
mkdir -p "$ctx/sub"
echo "hello from the context" >"$ctx/sub/hello.txt"
cat >"$ctx/Dockerfile" <<'EOF'
FROM devbox:1
COPY sub/hello.txt /srv/hello.txt
RUN tr a-z A-Z </srv/hello.txt >/srv/upper.txt
ENV GREETING=hi-from-env
WORKDIR /srv
EOF

t_build_ready() {
    run H template build tiny "$ctx" && expect_rc 0 && expect_out 'Step 1/5 : FROM devbox:1' &&
        expect_out 'Step 3/5 : RUN tr' && expect_err 'build context uploaded' &&
        expect_err 'template tiny .* ready'
}

t_list_show() {
    run H tpl ls && expect_rc 0 && expect_out 'ID *NAME *BASE *STATUS *SIZE *CREATED' &&
        expect_out 'tiny *devbox:1 *ready' || return 1
    run H --json tpl show tiny && expect_rc 0 && expect_json '.status == "ready"' &&
        expect_json '.context | startswith("ctx_")' && expect_json '.ext4_size_bytes > 0' &&
        expect_json 'has("built_at")' && expect_json 'has("dockerfile") | not' || return 1
    run H tpl show tiny --dockerfile && expect_rc 0 && expect_out '^COPY sub/hello.txt' || return 1
    run H tpl show nope && expect_rc 4 && expect_err 'template not found'
}

t_logs() {
    run H tpl logs tiny && expect_rc 0 && expect_out 'Step 2/5 : COPY' || return 1
    run H --json tpl logs -f tiny && expect_rc 0 && expect_out '"final":true,"status":"ready"'
}

t_sandbox_from_template() {
    run H --json sb create --name from-tpl --rootfs tiny && expect_rc 0 || return 1
    local id
    id=$(jq -r .id "$out")
    run H sb exec "$id" -- cat /srv/upper.txt && expect_rc 0 &&
        expect_out 'HELLO FROM THE CONTEXT' || return 1
    run H sb exec "$id" -- cat /etc/environment && expect_rc 0 &&
        expect_out 'GREETING=hi-from-env' || return 1
    run H sb rm -y "$id" && expect_rc 0
}

t_build_fails() {
    printf 'FROM devbox:1\nRUN echo about to fail && exit 3\n' >"$tmp/Dockerfile.bad"
    run H template build broken -f "$tmp/Dockerfile.bad" && expect_rc 1 &&
        expect_out 'about to fail' && expect_err 'broken .* failed' || return 1
    run H --json tpl show broken && expect_json '.status == "failed"' && expect_json 'has("error")'
}

t_hostile_context() {
    mkdir -p "$tmp/evil"
    ln -s ../../../etc/shadow "$tmp/evil/link"
    printf 'FROM devbox:1\nCOPY link /x\n' >"$tmp/evil/Dockerfile"
    run H template build evil "$tmp/evil" && expect_rc 5 && expect_err 'context' || return 1
    run H tpl show evil && expect_rc 4
}

t_rm() {
    run H tpl rm -y tiny broken && expect_rc 0 && expect_out 'deleted' || return 1
    run H tpl ls -q && expect_rc 0 && expect_no_out 'tpl_'
}

cli_run_tests
