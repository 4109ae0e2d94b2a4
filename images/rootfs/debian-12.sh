#!/usr/bin/env bash
# debian-12.sh tree OUT_DIR | image OUT.ext4 AGENT TREE
#   tree:  debootstraps Debian 12 (minbase plus the packages below) into OUT_DIR. Slow
#          (minutes, network); images/build.sh caches the tree by the hash of this file.
#   image: makes the ext4 image from a cached tree and the agent. Fast (seconds).
# The mirror is the one this host's apt uses, so the recipe names no host of its own.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

# What docs/images.md lists and the catalog (src/daemon/ctl/catalog.c) promises for devbox:1.
# tar is in minbase already (Essential); it is named so the list says what the image promises.
# openssh-server gives /usr/sbin/sshd for `hearth sb ssh --tunnel` (docs/ingress-ssh.md); it is
# not started here: the agent is PID 1 and there is no init system to start it.
# s3fs (s3fs-fuse, with fuse and libfuse2) mounts S3 disks (docs/disks.md "Mounts"): the agent
# runs it as root with the credentials in its environment only.
packages=bash,coreutils,python3,curl,ca-certificates,iproute2,procps,less,busybox,tar,git
packages+=,openssh-server,openssh-sftp-server,s3fs

apt_mirror() {
    local uri
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' \
        /etc/apt/sources.list 2>/dev/null)
    [ -n "$uri" ] || { echo "debian-12: no Debian mirror in this host's apt sources" >&2; exit 1; }
    echo "$uri"
}

case ${1:-} in
tree)
    out=${2:?usage: debian-12.sh tree OUT_DIR}
    rm -rf "$out.tmp"
    mkdir -p "${CACHE_DIR:-/var/cache/hearth}/debs"
    debootstrap --variant=minbase --include="$packages" \
        --cache-dir="${CACHE_DIR:-/var/cache/hearth}/debs" bookworm "$out.tmp" "$(apt_mirror)" \
        >"$out.log" 2>&1 || { tail -n 30 "$out.log" >&2; exit 1; }
    # Guest-side trims: no apt caches in the image, no machine-id (each sandbox is its own).
    rm -rf "$out.tmp"/var/cache/apt/archives/*.deb "$out.tmp"/var/lib/apt/lists/*
    : > "$out.tmp/etc/machine-id"
    # No SSH host keys in the image: every sandbox would share them, and whoever holds one
    # image could pose as every guest. The CLI generates them in the guest (ssh-keygen -A)
    # the first time it starts sshd there.
    rm -f "$out.tmp"/etc/ssh/ssh_host_*
    # poweroff/reboot/halt inside the guest go to busybox, which signals PID 1 (the agent);
    # minbase has no init system that would answer them otherwise.
    for cmd in poweroff reboot halt; do
        [ -e "$out.tmp/sbin/$cmd" ] || ln -s /bin/busybox "$out.tmp/sbin/$cmd"
    done
    mv "$out.tmp" "$out"
    ;;
image)
    out=${2:?usage: debian-12.sh image OUT.ext4 AGENT TREE} agent=${3:?} tree=${4:?}
    stage=$(mktemp -d "${TMPDIR:-/tmp}/hearth-debian.XXXXXX")
    trap 'rm -rf "$stage"' EXIT
    cp -a "$tree/." "$stage/"
    rootfs_finish "$stage" "$agent"
    rootfs_mkfs "$stage" "$out" "$ROOTFS_SIZE"
    ;;
*)
    echo "usage: debian-12.sh tree OUT_DIR | image OUT.ext4 AGENT TREE" >&2
    exit 2
    ;;
esac
