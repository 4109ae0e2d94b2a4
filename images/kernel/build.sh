#!/usr/bin/env bash
# build.sh OUT_DIR: builds the hearth guest kernel (an ELF vmlinux) from Debian's linux-source-6.1
# with microvm.config merged over allnoconfig. Writes OUT_DIR/vmlinux and OUT_DIR/config.
set -euo pipefail
out=${1:?usage: build.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
src_tar=/usr/src/linux-source-6.1.tar.xz
[ -r "$src_tar" ] || { echo "kernel: '$src_tar' missing; run scripts/install-deps.sh" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hearth-kernel.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xf "$src_tar"
cd "$work"/linux-source-6.1
make -s ARCH=x86_64 allnoconfig KCONFIG_ALLCONFIG="$here/microvm.config" >/dev/null
# Every line of the recipe must have taken: a silently dropped option is a recipe bug.
missing=0
while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    opt=${line%%=*} val=${line#*=}
    if [ "$val" = n ]; then
        grep -qx "$opt=y" .config && { echo "kernel: $opt still set" >&2; missing=1; }
    else
        grep -qx "$line" .config || { echo "kernel: $line did not take" >&2; missing=1; }
    fi
done < "$here/microvm.config"
[ "$missing" = 0 ] || exit 1
make -s ARCH=x86_64 -j"$(nproc)" vmlinux KBUILD_BUILD_TIMESTAMP='@0' KBUILD_BUILD_USER=hearth KBUILD_BUILD_HOST=hearth
mkdir -p "$out"
cp vmlinux "$out/vmlinux.tmp" && mv "$out/vmlinux.tmp" "$out/vmlinux"
cp .config "$out/config"
