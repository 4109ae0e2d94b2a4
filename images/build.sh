#!/usr/bin/env bash
# build.sh OUT_DIR AGENT: makes sure the guest kernel and every root filesystem exist in the
# cache ($CACHE_DIR, default /var/cache/hearth), each under the key of its recipe, and links
# them into OUT_DIR as vmlinux, minimal.ext4, debian-base.ext4, debian-12.ext4 and node.ext4
# (each with its <stem>.10240.ext4 variant), with the agent beside them as hearth-agent. Only
# what changed is rebuilt: the kernel when its config or script changes, a Debian tree when its
# recipe or package lists change, the images when the agent changes (seconds). KEYTOOL is
# build/bin/hearth-recipe-key.
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

# --- Debian images: one cached debootstrap tree per image, then tree + agent ---
# debian_image STEM LIST...: the tree of minbase plus the packages of the lists
# (images/rootfs/packages/LIST.list), keyed by debian.sh and those lists only, then the image
# STEM.ext4 (and its variant) keyed by the tree key, the agent and common.sh.
keep=("$mimg" "${mimg%.ext4}.$DEFAULT_DISK_MIB.ext4")
debian_image() {
    local stem=$1 l lists=() inputs=() t tree d img t0
    shift
    for l in "$@"; do
        lists+=("$here/rootfs/packages/$l.list")
        inputs+=("list-$l=$here/rootfs/packages/$l.list")
    done
    t=$("$keytool" script="$here/rootfs/debian.sh" "${inputs[@]}" -s suite=bookworm)
    tree=$cache/trees/$stem-${t:0:16}
    if [ ! -d "$tree" ]; then
        say "debootstrapping $stem ${t:0:16} (minutes)"
        t0=$SECONDS
        "$here/rootfs/debian.sh" tree "$tree" "${lists[@]}"
        say "$stem tree made in $((SECONDS - t0)) s"
    fi
    d=$("$keytool" script="$here/rootfs/debian.sh" common="$here/rootfs/common.sh" \
        agent="$agent" -s tree="${t:0:16}")
    img=$cache/rootfs/$stem-${d:0:16}.ext4
    if [ ! -f "$img" ]; then
        say "building $stem image ${d:0:16}"
        t0=$SECONDS
        "$here/rootfs/debian.sh" image "$img" "$agent" "$tree"
        say "$stem image made in $((SECONDS - t0)) s"
    fi
    link "$img" "$stem.ext4"
    link "$(variant "$img")" "$stem.$DEFAULT_DISK_MIB.ext4"
    keep+=("$img" "${img%.ext4}.$DEFAULT_DISK_MIB.ext4")
}
# The catalog (src/daemon/ctl/catalog.c): devbox:1 keeps the file name debian-12.ext4 that
# tests and docs use; the catalog's debian-12 is debian-base.ext4.
debian_image debian-base debian-base
debian_image debian-12 debian-base devbox
debian_image node debian-base devbox node

# The agent beside the images: OCI template bases get it installed (tpl/oci.h agent_path),
# and `make install-images` copies it with the rest.
link "$agent" hearth-agent

# Images from older recipes are dropped once they have not been linked by any checkout for two
# hours (another checkout may still use one): each is 1 GiB plus a sparse variant, and a busy
# machine makes dozens a day. A link refreshes the image's stamp (IMAGE.used), not the image,
# whose mtime keys golden snapshots and template layers. Trees and kernels stay (rebuilding
# them is slow and a branch switch may want them back).
for f in "${keep[@]}"; do touch "$f.used"; done
for f in "$cache"/rootfs/*.ext4; do
    [ -f "$f" ] || continue
    stamp=$f.used
    [ -f "$stamp" ] || stamp=$f
    if [ -n "$(find "$stamp" -maxdepth 0 -mmin +120 2>/dev/null)" ]; then
        rm -f "$f" "$f.used"
    fi
done
say "ready in $out"
