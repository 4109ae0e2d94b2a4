#!/usr/bin/env bash
# minimal.sh OUT.ext4 AGENT: busybox, resize2fs and the agent, a few MB. Boots fastest; for
# tests and for users who bring their own binaries.
set -euo pipefail
out=${1:?usage: minimal.sh OUT.ext4 AGENT} agent=${2:?usage: minimal.sh OUT.ext4 AGENT}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

tree=$(mktemp -d "${TMPDIR:-/tmp}/hearth-minimal.XXXXXX")
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,etc}
install -m 0755 /bin/busybox "$tree/bin/busybox"
# One symlink per applet, made on the host so the image needs no first-boot step.
/bin/busybox --list-full | while read -r applet; do
    [ -e "$tree/$applet" ] || ln -s /bin/busybox "$tree/$applet"
done
# busybox has no resize2fs, and hearthd grows every guest's root file system with it: take the
# host's (e2fsprogs) with exactly the shared libraries ldd names and the dynamic loader, at the
# paths the binary asks for. build.sh keys this image on the e2fsprogs version too.
install -m 0755 /sbin/resize2fs "$tree/sbin/resize2fs"
ldd /sbin/resize2fs | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
while read -r lib; do
    mkdir -p "$tree$(dirname "$lib")"
    cp -L "$lib" "$tree$lib"
done
[ -x "$tree/lib64/ld-linux-x86-64.so.2" ] || { echo "minimal: no loader" >&2; exit 1; }
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    > "$tree/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$tree/etc/group"
rootfs_finish "$tree" "$agent"
rootfs_mkfs "$tree" "$out" "$ROOTFS_SIZE"
