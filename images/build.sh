#!/usr/bin/env bash
# build.sh OUT_DIR AGENT: makes sure the guest kernel and every root filesystem exist in the
# cache ($CACHE_DIR, default /var/cache/hearth), each under the key of its recipe, and links
# them into OUT_DIR as vmlinux, minimal.ext4 and debian-12.ext4. Only what changed is rebuilt:
# the kernel when its config or script changes, the Debian tree when its recipe changes, the
# images when the agent changes (seconds). KEYTOOL is build/bin/hearth-recipe-key.
set -euo pipefail
out=${1:?usage: build.sh OUT_DIR AGENT} agent=${2:?usage: build.sh OUT_DIR AGENT}
here=$(cd "$(dirname "$0")" && pwd)
cache=${CACHE_DIR:-/var/cache/hearth}
keytool=${KEYTOOL:?KEYTOOL must name hearth-recipe-key}
export CACHE_DIR=$cache

mkdir -p "$cache"/{kernel,trees,rootfs} "$out"
# One builder at a time per cache: a second `make images` waits instead of racing.
exec 9>"$cache/.lock"
flock 9

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo none; }
say() { echo "images: $*" >&2; }
link() { ln -sfn "$1" "$out/$2"; }

# The file system of an image is 1 GiB, the smallest disk a sandbox may have; a sandbox with a
# larger disk grows it in the guest (resize2fs, ~0.3 s under TCG for 10 GiB). So that a create
# with the default disk (10 GiB) pays nothing, each image also comes grown to that size, made
# here offline in a fraction of a second: <name>.10240.ext4. The API picks it when it fits.
DEFAULT_DISK_MIB=10240
variant() {
    local img=$1 v=${1%.ext4}.$DEFAULT_DISK_MIB.ext4
    if [ ! -f "$v" ]; then
        cp --sparse=always "$img" "$v.tmp"
        truncate -s "${DEFAULT_DISK_MIB}M" "$v.tmp"
        e2fsck -fy "$v.tmp" >/dev/null 2>&1 || true # resize2fs insists on a fresh check
        resize2fs -f "$v.tmp" >/dev/null 2>&1
        mv "$v.tmp" "$v"
    fi
    echo "$v"
}

# --- kernel ---
k=$("$keytool" config="$here/kernel/microvm.config" script="$here/kernel/build.sh" \
    -s linux-source="$(pkgver linux-source-6.1)")
kdir=$cache/kernel/${k:0:16}
if [ ! -f "$kdir/vmlinux" ]; then
    say "building kernel ${k:0:16} (about 5 minutes)"
    t0=$SECONDS
    "$here/kernel/build.sh" "$kdir"
    say "kernel built in $((SECONDS - t0)) s"
fi
link "$kdir/vmlinux" vmlinux

# --- minimal: busybox + resize2fs (from the host's e2fsprogs) + agent ---
m=$("$keytool" script="$here/rootfs/minimal.sh" common="$here/rootfs/common.sh" agent="$agent" \
    -s busybox="$(pkgver busybox-static)" -s e2fsprogs="$(pkgver e2fsprogs)")
mimg=$cache/rootfs/minimal-${m:0:16}.ext4
if [ ! -f "$mimg" ]; then
    say "building minimal ${m:0:16}"
    "$here/rootfs/minimal.sh" "$mimg" "$agent"
fi
link "$mimg" minimal.ext4
link "$(variant "$mimg")" minimal.$DEFAULT_DISK_MIB.ext4

# --- debian-12: cached debootstrap tree, then tree + agent ---
t=$("$keytool" script="$here/rootfs/debian-12.sh" -s suite=bookworm)
tree=$cache/trees/debian-12-${t:0:16}
if [ ! -d "$tree" ]; then
    say "debootstrapping debian-12 ${t:0:16} (a few minutes)"
    t0=$SECONDS
    "$here/rootfs/debian-12.sh" tree "$tree"
    say "debian-12 tree made in $((SECONDS - t0)) s"
fi
d=$("$keytool" script="$here/rootfs/debian-12.sh" common="$here/rootfs/common.sh" \
    agent="$agent" -s tree="${t:0:16}")
dimg=$cache/rootfs/debian-12-${d:0:16}.ext4
if [ ! -f "$dimg" ]; then
    say "building debian-12 image ${d:0:16}"
    "$here/rootfs/debian-12.sh" image "$dimg" "$agent" "$tree"
fi
link "$dimg" debian-12.ext4
link "$(variant "$dimg")" debian-12.$DEFAULT_DISK_MIB.ext4

# Images from older recipes of the same name are dropped once a newer one is linked; trees
# and kernels stay (rebuilding them is slow and a branch switch may want them back).
find "$cache/rootfs" -maxdepth 1 -name '*.ext4' -mmin +1440 \
    ! -samefile "$mimg" ! -samefile "$dimg" ! -samefile "${mimg%.ext4}.$DEFAULT_DISK_MIB.ext4" \
    ! -samefile "${dimg%.ext4}.$DEFAULT_DISK_MIB.ext4" -delete 2>/dev/null || true
say "ready in $out"
