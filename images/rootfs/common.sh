# common.sh: helpers sourced by the root filesystem recipes. Not executable on its own.

# Writes the files every hearth guest expects into the tree $1 and installs the agent $2 as
# /sbin/hearth-agent (the kernel runs it as init).
rootfs_finish() {
    local tree=$1 agent=$2
    mkdir -p "$tree"/{proc,sys,dev,run,tmp,root,etc,sbin,var/tmp}
    chmod 1777 "$tree/tmp" "$tree/var/tmp"
    install -m 0755 "$agent" "$tree/sbin/hearth-agent"
    echo sandbox > "$tree/etc/hostname"
    printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n127.0.1.1 sandbox\n' \
        > "$tree/etc/hosts"
    : > "$tree/etc/fstab"
}

# Every root filesystem image is this size: the smallest disk a sandbox may have (docs/api.md
# §3.2.1: disk_mib >= 1024), so no sandbox ever sees a device smaller than its file system.
# hearthd grows the file system to the sandbox's disk at create (resize2fs in the guest). Kept
# here, not in debian-12.sh, so changing it rebuilds the images but not the debootstrap tree.
ROOTFS_SIZE=1G

# Makes a raw ext4 image $2 of size $3 from the tree $1, without loop mounts. The file is sparse:
# only the blocks the tree uses take room.
rootfs_mkfs() {
    local tree=$1 img=$2 size=$3
    rm -f "$img.tmp"
    truncate -s "$size" "$img.tmp"
    mkfs.ext4 -q -F -L hearth-root -E root_owner=0:0 -O ^has_journal -d "$tree" "$img.tmp"
    mv "$img.tmp" "$img"
}
