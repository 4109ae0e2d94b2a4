/* SPDX-License-Identifier: MIT */
/* snapshot.h: the on-disk format of a VM snapshot (docs/snapshots.md), written and read
 * by the host layer (host_snapshot.c). A snapshot directory holds:
 *   mem         the guest RAM file (sparse; the memory-backend-file QEMU mapped)
 *   disk.qcow2  the frozen disk layer; its backing chain ends at the rootfs image
 *   state       QEMU's device state, migrated with x-ignore-shared (no RAM pages)
 *   meta.json   format, QEMU version, vCPUs, memory, kernel, state size and SHA-256, the RAM
 *               file's checksum (ramsum.h)
 * meta.json is written last (rename), after every file and the directory are fsynced, so a
 * directory without it is not a snapshot and one with it survives a crash or power loss. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct herr;

#define SNAPSHOT_FORMAT 1

struct snapshot_meta {
    unsigned vcpus, memory_mib;
    char qemu_version[128];      /* "7.2.11 Debian 1:7.2+dfsg-7+deb12u12" (query-version) */
    char kernel[PATH_MAX];       /* absolute */
    int64_t kernel_size;
    uint64_t state_size;         /* filled by snapshot_meta_write() */
    char state_sha256[65];       /* filled by snapshot_meta_write() */
    char mem_xxh128[33];         /* the RAM file's ramsum, filled by snapshot_meta_write();
                                    "" when read from a snapshot made before it existed */
    uint64_t mem_data_bytes;     /* how much of the RAM file the checksum read */
    double mem_sync_ms, mem_sum_ms; /* what the RAM file's fsync and checksum cost */
    bool agent_aligned;          /* the agent's reader was between frames at the stop: a
                                    restore needs no resync preamble */
    bool nic;                    /* the VM had the virtio-net NIC (qemu_config.nic), so its
                                    restore must have it too; false in snapshots made before
                                    VMs had one (meta.json without "nic") */
    char accel[8];               /* "tcg" or "kvm": the accelerator that ran the VM; a restore
                                    under the other one is refused (the CPU models differ);
                                    "" in snapshots made before it was recorded */
};

/* True when dir holds a finished snapshot: meta.json exists (it is written last). Cheap: one
 * access(); snapshot_verify() is the full check. */
bool snapshot_is_complete(const char *dir);

/* SHA-256 of a file (64 hex digits) and its size. 0 or -errno. */
int snapshot_file_sha256(const char *path, char hex[65], uint64_t *ret_size);

/* Makes dir durable and describes it: fsyncs dir/mem (its writeback started first, so the
 * checksum's reads overlap the disk writes) and dir/disk.qcow2, checksums dir/state and
 * dir/mem into m, writes dir/meta.json (temp file, fsync, rename), then fsyncs dir and its
 * parent. 0, or -EIO (empty state) / -errno with e. */
__attribute__((warn_unused_result))
int snapshot_meta_write(const char *dir, struct snapshot_meta *m, struct herr *e);

enum snapshot_verify_flags {
    SNAPSHOT_VERIFY_RAM = 1u << 0, /* also the RAM file's checksum (O(data in the file)) */
};

/* Reads dir/meta.json and checks it against the files and what the restore wants: format,
 * vCPUs and memory, kernel path and size, RAM file size, disk layer present, state checksum,
 * and with SNAPSHOT_VERIFY_RAM the RAM file's checksum (when meta.json records one).
 * 0 with *ret; -ENOENT (no meta.json), -EBADMSG (unreadable, other format, a file missing or
 * the checksum fails), -ESTALE (taken with another shape or kernel); e says which. The QEMU
 * version is the caller's to compare (it needs a running QEMU). */
__attribute__((warn_unused_result))
int snapshot_verify(const char *dir, unsigned vcpus, unsigned memory_mib,
                    const char *kernel_abs, unsigned flags, struct snapshot_meta *ret,
                    struct herr *e);

/* fsyncs the directory path (its entries: a link, a rename, a new file). 0 or -errno. */
int snapshot_fsync_dir(const char *path);

/* Hard-links src to dst, or copies it (copy_file_range) across file systems. 0 or -errno. */
int snapshot_link_or_copy(const char *src, const char *dst);
/* Copies src to a new file dst, fsync'd. 0 or -errno (-EEXIST when dst exists). */
int snapshot_copy_file(const char *src, const char *dst);
/* Copies the regular file src to dst (created 0600, must not exist) with its holes: only the
 * data extents (SEEK_DATA / SEEK_HOLE) are copied, the size kept. Not fsynced: for a RAM file
 * a VM is about to map. 0 or -errno (dst removed). */
int snapshot_copy_sparse(const char *src, const char *dst);
/* Removes a snapshot directory: meta.json first (so a crash midway leaves no half snapshot that
 * looks whole), then the files, then the directory. 0 or -errno; ENOENT is success. */
int snapshot_remove(const char *dir);
