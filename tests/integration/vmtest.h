/* SPDX-License-Identifier: MIT */
/* vmtest.h: helpers for integration tests that boot real microVMs from $HEARTH_IMAGES on
 * hearthd's own engine (host.h), blocking through host_sync.h: one host and loop per VM, so a
 * test holds VMs like values. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/host/agent_client.h"
#include "daemon/host/host_sync.h"

struct herr;

/* What a test boots: the host's (kernel, qemu_bin) and the VM's (the rest) settings. */
struct vmtest_config {
    const char *kernel;          /* vmlinux path */
    const char *rootfs;          /* raw image path (made absolute) */
    unsigned vcpus, memory_mib;
    int boot_timeout_ms, stop_timeout_ms;
    const char *qemu_bin;        /* NULL: from PATH */
    const char *init;            /* NULL: the agent; else an init= on the kernel command line */
    const char *hostname;        /* NULL: none */
    const char *extra_append;
};

/* One VM of a test: its own host (run root /tmp/hearth-vmtest.XXXXXX) and its id. */
struct vmt {
    struct host_sync *s;
    struct host *h;              /* host_sync_host(s) */
    char id[HOST_SYNC_ID_SIZE];
    char run_dir[PATH_MAX];      /* <the private run root>/<id> */
};

/* Fills kernel and rootfs paths (PATH_MAX each) from $HEARTH_IMAGES (vmlinux, minimal.ext4);
 * skips the test when they are missing. */
void vmtest_paths(char *kernel, char *rootfs);
/* Fills out (PATH_MAX) with $HEARTH_IMAGES/name; skips the test when it is missing. */
void vmtest_image(char *out, const char *name);
/* A config for the minimal image: 1 vCPU, 256 MiB, tcg/auto, 60 s boot timeout. */
struct vmtest_config vmtest_config(const char *kernel, const char *rootfs);
/* Boots c (snapshot NULL) or restores the snapshot dir (shared, never changed). 0 and *ret
 * (vmtest_free()), or the error as host_sync_errno() with e. */
int vmtest_try_start(const struct vmtest_config *c, const char *snapshot, struct vmt **ret,
                     struct herr *e);
/* Boots c; on failure reports the error and returns NULL. */
struct vmt *vmtest_start(const struct vmtest_config *c);
/* Restores snapshot dir snap with c; on failure reports and returns NULL. */
struct vmt *vmtest_restore(const struct vmtest_config *c, const char *snap);
/* host_vm_pause() into dir: QEMU has exited afterwards (the VM is forgotten on success). */
int vmtest_save(struct vmt *vm, const char *dir, struct herr *e);
/* host_vm_destroy(): POWER, QMP quit, SIGKILL; the run dir goes. */
int vmtest_stop(struct vmt *vm, struct herr *e);
/* True while the host knows the VM and its QEMU runs (after the loop saw what happened). */
bool vmtest_alive(struct vmt *vm);
/* Kills what runs, removes the run dir and root, frees. NULL is fine. */
void vmtest_free(struct vmt *vm);
/* Runs `sh -c script` (stdin_data may be NULL) and buffers 16 MiB of output; returns 0 or the
 * error (reported). */
int vmtest_sh(struct vmt *vm, const char *script, const char *stdin_data,
              struct agent_exec_result *res);
