#!/usr/bin/env bash
# debian.sh tree OUT_DIR LIST... | image OUT.ext4 AGENT TREE
#   tree:  debootstraps Debian 12 minbase into OUT_DIR and installs with apt every package the
#          LIST files under packages/ name. Slow (minutes, network); images/build.sh caches the tree by the
#          hash of this file and of the lists. One recipe for every Debian image of the
#          catalog (debian-12, devbox:1, node): they differ only in their lists.
#   image: makes the ext4 image from a cached tree and the agent. Fast (seconds).
# The mirror is the one this host's apt uses, so the recipe names no host of its own.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

usage() {
    echo "usage: debian.sh tree OUT_DIR LIST... | image OUT.ext4 AGENT TREE" >&2
    exit 2
}

apt_mirror() {
    local uri
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' \
        /etc/apt/sources.list 2>/dev/null)
    [ -n "$uri" ] || { echo "debian: no Debian mirror in this host's apt sources" >&2; exit 1; }
    echo "$uri"
}

# The package names of the lists, comma-separated: comments and blank lines dropped, and
# anything but a Debian package name refused (the list reaches debootstrap's command line).
packages() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$@" | awk 'NF' | while read -r p; do
        [[ $p =~ ^[a-z0-9][a-z0-9.+-]+$ ]] || { echo "debian: bad package name: $p" >&2; exit 1; }
        echo "$p"
    done | sort -u | paste -sd, -
}

case ${1:-} in
tree)
    out=${2:-} && [ -n "$out" ] && [ $# -ge 3 ] || usage
    shift 2
    list=$(packages "$@")
    debs=${CACHE_DIR:-/var/cache/hearth}/debs
    rm -rf "$out.tmp"
    mkdir -p "$debs"
    debootstrap --variant=minbase --cache-dir="$debs" bookworm "$out.tmp" "$(apt_mirror)" \
        >"$out.log" 2>&1 || { tail -n 30 "$out.log" >&2; exit 1; }
    # The packages go in with apt in the new tree, not with debootstrap's --include: its
    # resolver leaves packages that depend on virtual ones unconfigured (npm does). The lists
    # debootstrap left serve apt; the debs are shared with debootstrap's cache (bind mount),
    # no service starts (policy-rc.d), and nothing of the host's environment goes in.
    mount -t proc proc "$out.tmp/proc"
    mount --bind "$debs" "$out.tmp/var/cache/apt/archives"
    trap 'umount -l "$out.tmp/var/cache/apt/archives" "$out.tmp/proc" 2>/dev/null || true' EXIT
    printf '#!/bin/sh\nexit 101\n' > "$out.tmp/usr/sbin/policy-rc.d"
    chmod 0755 "$out.tmp/usr/sbin/policy-rc.d"
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive \
        chroot "$out.tmp" apt-get install -y -q --no-install-recommends \
        -o APT::Sandbox::User=root ${list//,/ } >>"$out.log" 2>&1 ||
        { tail -n 30 "$out.log" >&2; exit 1; }
    umount "$out.tmp/var/cache/apt/archives" "$out.tmp/proc"
    trap - EXIT
    rm -f "$out.tmp/usr/sbin/policy-rc.d"
    # Guest-side trims: no apt caches in the image, no machine-id (each sandbox is its own).
    rm -rf "$out.tmp"/var/cache/apt/archives/*.deb "$out.tmp"/var/lib/apt/lists/*
    : > "$out.tmp/etc/machine-id"
    # No SSH host keys in the image: every sandbox would share them, and whoever holds one
    # image could pose as every guest. The CLI generates them in the guest (ssh-keygen -A)
    # the first time it starts sshd there.
    rm -f "$out.tmp"/etc/ssh/ssh_host_*
    # Documentation no guest reads (no man or info reader is installed, the locale is C):
    # ~120 MB of node's tree, which has to fit the 1 GiB file system (common.sh ROOTFS_SIZE)
    # with room to spare. The copyright files stay.
    find "$out.tmp/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$out.tmp/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$out.tmp"/usr/share/{man,info}/* "$out.tmp"/usr/share/locale/*/
    # poweroff/reboot/halt inside the guest go to busybox, which signals PID 1 (the agent);
    # minbase has no init system that would answer them otherwise.
    for cmd in poweroff reboot halt; do
        [ -e "$out.tmp/sbin/$cmd" ] || ln -s /bin/busybox "$out.tmp/sbin/$cmd"
    done
    mv "$out.tmp" "$out"
    ;;
image)
    [ $# -eq 4 ] || usage
    out=$2 agent=$3 tree=$4
    stage=$(mktemp -d "${TMPDIR:-/tmp}/hearth-debian.XXXXXX")
    trap 'rm -rf "$stage"' EXIT
    cp -a "$tree/." "$stage/"
    rootfs_finish "$stage" "$agent"
    rootfs_mkfs "$stage" "$out" "$ROOTFS_SIZE"
    ;;
*)
    usage
    ;;
esac
