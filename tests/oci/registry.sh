#!/usr/bin/env bash
# registry.sh: the OCI registry and test image of the OCI base tests (docs/templates.md "OCI
# bases"): Debian's docker-registry on loopback, and an image built without a container daemon.
#   registry.sh run -d DIR -a ADDR -p PORT [--htpasswd USER:PASS]
#       starts docker-registry with its config and storage in DIR (basic auth when asked), waits
#       until /v2/ answers (at most 30 s), prints its pid. The caller kills it.
#   registry.sh build-image -d DIR -r HOST:PORT/REPO:TAG [--creds USER:PASS] [--pad-mib N]
#       builds an OCI image in DIR (busybox-static with its applet links, the marker
#       /etc/hearth-oci-test, Env HEARTH_OCI_TEST=1, WorkingDir /work, and N MiB of random data in
#       /pad when asked) with umoci and pushes it with skopeo (plain HTTP).
set -euo pipefail
die() { echo "registry.sh: $*" >&2; exit 1; }
usage() { die "usage: registry.sh run -d DIR -a ADDR -p PORT [--htpasswd U:P] | build-image -d DIR -r REF [--creds U:P] [--pad-mib N]"; }

cmd=${1:-}; [ -n "$cmd" ] || usage; shift
dir='' addr=127.0.0.1 port='' htpasswd='' ref='' creds='' pad=0
while [ $# -gt 0 ]; do
    case "$1" in
        -d) dir=$2; shift 2 ;;
        -a) addr=$2; shift 2 ;;
        -p) port=$2; shift 2 ;;
        -r) ref=$2; shift 2 ;;
        --htpasswd) htpasswd=$2; shift 2 ;;
        --creds) creds=$2; shift 2 ;;
        --pad-mib) pad=$2; shift 2 ;;
        *) usage ;;
    esac
done
[ -n "$dir" ] || usage
mkdir -p "$dir"

run() {
    [ -n "$port" ] || usage
    case "$addr" in 127.*|::1) ;; *) die "listen on loopback only (got $addr)" ;; esac
    mkdir -p "$dir/storage"
    local auth=''
    if [ -n "$htpasswd" ]; then
        local u=${htpasswd%%:*} p=${htpasswd#*:}
        # bcrypt is the only hash docker-registry's htpasswd accepts; python3's crypt module
        # makes it (Debian 12's Python 3.11; the module is deprecated, hence the filter).
        python3 -W ignore -c 'import crypt,sys; print(sys.argv[1] + ":" + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
            "$u" "$p" >"$dir/htpasswd"
        auth="auth:
  htpasswd:
    realm: hearth-test
    path: $dir/htpasswd"
    fi
    cat >"$dir/config.yml" <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: $addr:$port
$auth
CONF
    docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
    local pid=$!
    local i
    for i in $(seq 1 300); do
        # 200 without auth, 401 with: either way it answers
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$addr:$port/v2/" || true)
        case "$code" in 200|401) echo "$pid"; return 0 ;; esac
        kill -0 "$pid" 2>/dev/null || { cat "$dir/registry.log" >&2; die "docker-registry exited"; }
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    die "docker-registry did not answer on $addr:$port in 30 s"
}

build_image() {
    [ -n "$ref" ] || usage
    local layout=$dir/layout bundle=$dir/bundle
    rm -rf "$layout" "$bundle"
    umoci init --layout "$layout"
    umoci new --image "$layout:img"
    umoci unpack --image "$layout:img" "$bundle"
    local rootfs=$bundle/rootfs
    mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,work}
    install -m 0755 /bin/busybox "$rootfs/bin/busybox"
    /bin/busybox --list-full | while read -r applet; do
        [ -e "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
    done
    echo "hearth oci test image" >"$rootfs/etc/hearth-oci-test"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
    # a setuid file: the import must not keep the bit (docs/templates.md "OCI bases")
    install -m 4755 /bin/busybox "$rootfs/bin/suid-test"
    if [ "$pad" -gt 0 ]; then
        head -c "$((pad * 1024 * 1024))" /dev/urandom >"$rootfs/pad"
    fi
    umoci repack --image "$layout:img" "$bundle"
    umoci config --image "$layout:img" --config.env HEARTH_OCI_TEST=1 \
        --config.workingdir /work --config.user root
    local cargs=()
    [ -n "$creds" ] && cargs=(--dest-creds "$creds")
    timeout 300 skopeo copy -q --dest-tls-verify=false "${cargs[@]}" "oci:$layout:img" "docker://$ref"
    rm -rf "$bundle"
}

case "$cmd" in
    run) run ;;
    build-image) build_image ;;
    *) usage ;;
esac
