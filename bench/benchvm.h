/* SPDX-License-Identifier: MIT */
/* benchvm.h: a VM for the benchmarks on hearthd's own engine (host.h) through the blocking
 * adapter (host_sync.h): one host and loop per VM, in a temp run root. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "daemon/host/host_sync.h"

struct herr;

struct bvm_config {
    const char *kernel;          /* vmlinux path */
    const char *rootfs;          /* raw image path (absolute; the host takes no names) */
    unsigned vcpus, memory_mib;
    int boot_timeout_ms;
    bool no_jail;                /* QEMU unconfined (host_config.no_jail) */
};

struct bvm {
    struct host_sync *s;
    struct host *h;              /* host_sync_host(s) */
    char id[HOST_SYNC_ID_SIZE];
};

/* Boots c, or restores the snapshot dir snapshot (shared) when not NULL. 0 and *ret
 * (bvm_free()), or -errno with e. */
int bvm_start(const struct bvm_config *c, const char *snapshot, struct bvm **ret,
              struct herr *e);
/* host_vm_pause() into dir; the VM is gone afterwards (bvm_free() it). */
int bvm_save(struct bvm *vm, const char *dir, struct herr *e);
/* The QEMU pid, 0 when none. */
pid_t bvm_pid(struct bvm *vm);
/* Kills what runs (SIGKILL), removes the run dir and root. NULL is fine. */
void bvm_free(struct bvm *vm);
