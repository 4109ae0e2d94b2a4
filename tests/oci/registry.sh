#!/usr/bin/env bash
# registry.sh: the OCI registry and test image of the OCI base tests (docs/templates.md "OCI
# bases"): Debian's docker-registry on loopback, and an image built without a container daemon.
#   registry.sh run -d DIR -a ADDR -p PORT [--htpasswd USER:PASS]
#       starts docker-registry with its config and storage in DIR (basic auth when asked), waits
#       until /v2/ answers (at most 30 s), prints its pid. The caller kills it (SIGTERM); it
#       ends by itself after 15 minutes anyway.
#   registry.sh build-image -d DIR -r HOST:PORT/REPO:TAG [--creds USER:PASS] [--pad-mib N]
#                           [--pad-random-mib N] [--hostile HOSTFILE]
#       builds an OCI image in DIR with umoci and pushes it with skopeo (plain HTTP): layer 1 has
#       busybox-static with its applet links, the marker /etc/hearth-oci-test, a setuid copy of
#       busybox /bin/suid-test and /etc/removed; layer 2 deletes /etc/removed (a whiteout);
#       config Env HEARTH_OCI_TEST=1 (and two malformed entries), WorkingDir /work, User root. --pad-mib adds N MiB of zeros
#       (/pad: tiny compressed, big unpacked), --pad-random-mib N MiB of random bytes. --hostile
#       adds a layer of links out of the tree: /etc/hosts -> HOSTFILE (absolute), /etc/hostname
#       -> ../../../..HOSTFILE, and /escape -> HOSTFILE's directory. --hardlink HOSTFILE adds a
#       layer with hard links to HOSTFILE (absolute and through ../), which no unpack may make.
set -euo pipefail
die() { echo "registry.sh: $*" >&2; exit 1; }
usage() { die "usage: registry.sh run -d DIR -a ADDR -p PORT [--htpasswd U:P] | build-image -d DIR -r REF [--creds U:P] [--pad-mib N]"; }

cmd=${1:-}; [ -n "$cmd" ] || usage; shift
dir='' addr=127.0.0.1 port='' htpasswd='' ref='' creds='' pad=0 padr=0 hostile='' hardlink=''
while [ $# -gt 0 ]; do
    case "$1" in
        -d) dir=$2; shift 2 ;;
        -a) addr=$2; shift 2 ;;
        -p) port=$2; shift 2 ;;
        -r) ref=$2; shift 2 ;;
        --htpasswd) htpasswd=$2; shift 2 ;;
        --creds) creds=$2; shift 2 ;;
        --pad-mib) pad=$2; shift 2 ;;
        --pad-random-mib) padr=$2; shift 2 ;;
        --hostile) hostile=$2; shift 2 ;;
        --hardlink) hardlink=$2; shift 2 ;;
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
    # bounded even when the test that started it dies: timeout ends it after 15 minutes (the pid
    # printed is timeout's, which passes a SIGTERM on)
    timeout 900 docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
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
    echo "deleted by the next layer" >"$rootfs/etc/removed"
    [ "$pad" -gt 0 ] && head -c "$((pad * 1024 * 1024))" /dev/zero >"$rootfs/pad"
    [ "$padr" -gt 0 ] && head -c "$((padr * 1024 * 1024))" /dev/urandom >"$rootfs/pad-random"
    umoci repack --image "$layout:img" "$bundle"
    # a second layer with a whiteout: umoci writes .wh.removed
    rm -rf "$bundle"
    umoci unpack --image "$layout:img" "$bundle"
    rm "$bundle/rootfs/etc/removed"
    umoci repack --image "$layout:img" "$bundle"
    if [ -n "$hostile" ]; then
        python3 - "$dir/hostile.tar" "$hostile" <<'PY'
import io, os, sys, tarfile
out, target = sys.argv[1], sys.argv[2]
with tarfile.open(out, "w") as t:
    for name, link in (("etc/hosts", target), ("etc/hostname", "../../../.." + target),
                       ("escape", os.path.dirname(target))):
        i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = link; t.addfile(i)
PY
        umoci raw add-layer --image "$layout:img" "$dir/hostile.tar"
    fi
    if [ -n "$hardlink" ]; then
        python3 - "$dir/hardlink.tar" "$hardlink" <<'PY'
import sys, tarfile
out, target = sys.argv[1], sys.argv[2]
with tarfile.open(out, "w") as t:
    for name, link in (("leak", target), ("leak2", "../../../.." + target)):
        i = tarfile.TarInfo(name); i.type = tarfile.LNKTYPE; i.linkname = link; t.addfile(i)
PY
        umoci raw add-layer --image "$layout:img" "$dir/hardlink.tar"
    fi
    # two Env entries the import must drop: a value over two lines, a key with a space
    umoci config --image "$layout:img" --config.env HEARTH_OCI_TEST=1 \
        --config.env "$(printf 'HEARTH_BAD=line1\nline2')" --config.env "HEARTH BAD=1" \
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
