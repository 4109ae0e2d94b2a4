#!/usr/bin/env bash
# minimal.sh OUT.ext4 AGENT: busybox and the agent, a few MB. Boots fastest; for tests and for
# users who bring their own binaries.
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
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    > "$tree/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$tree/etc/group"
rootfs_finish "$tree" "$agent"
rootfs_mkfs "$tree" "$out" 256M
