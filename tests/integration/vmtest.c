/* SPDX-License-Identifier: MIT */
/* vmtest.c: image lookup, boot and shell helpers shared by the integration tests. */
#include "vmtest.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/herr.h"
#include "common/mono.h"
#include "common/ulid.h"
#include "harness.h"

void vmtest_paths(char *kernel, char *rootfs)
{
    const char *dir = getenv("HEARTH_IMAGES");
    if (!dir || !*dir)
        harness_skip("HEARTH_IMAGES is not set");
    snprintf(kernel, PATH_MAX, "%s/vmlinux", dir);
    snprintf(rootfs, PATH_MAX, "%s/minimal.ext4", dir);
    if (access(kernel, R_OK) < 0 || access(rootfs, R_OK) < 0)
        harness_skip("no vmlinux or minimal.ext4 in '%s'; run make images", dir);
}

void vmtest_image(char *out, const char *name)
{
    const char *dir = getenv("HEARTH_IMAGES");
    if (!dir || !*dir)
        harness_skip("HEARTH_IMAGES is not set");
    snprintf(out, PATH_MAX, "%s/%s", dir, name);
    if (access(out, R_OK) < 0)
        harness_skip("no '%s' in '%s'; run make images", name, dir);
}

struct vmtest_config vmtest_config(const char *kernel, const char *rootfs)
{
    return (struct vmtest_config){ .kernel = kernel, .rootfs = rootfs, .vcpus = 1,
                                   .memory_mib = 256, .boot_timeout_ms = 60000,
                                   .stop_timeout_ms = 10000 };
}

int vmtest_try_start(const struct vmtest_config *c, const char *snapshot, struct vmt **ret,
                     struct herr *e)
{
    struct vmt *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return herr_set(e, -ENOMEM, "out of memory");
    /* the host takes absolute image paths only (the catalog is the control layer's) */
    char rootfs[PATH_MAX] = "";
    if (c->rootfs && (c->rootfs[0] == '/' || !realpath(c->rootfs, rootfs)))
        snprintf(rootfs, sizeof(rootfs), "%s", c->rootfs);
    const char *dir = getenv("HEARTH_IMAGES");
    struct host_config hc = { .images_dir = dir ? dir : "/nonexistent",
                              .kernel = c->kernel, .qemu_bin = c->qemu_bin,
                              .boot_timeout_ms = c->boot_timeout_ms,
                              .stop_timeout_ms = c->stop_timeout_ms, .cgroup_root = "" };
    int r = host_sync_new_private(&hc, "hearth-vmtest", vm->id, &vm->s);
    if (r < 0) {
        free(vm);
        return herr_set(e, r, "host_sync_new_private: %s", strerror(-r));
    }
    vm->h = host_sync_host(vm->s);
    snprintf(vm->run_dir, sizeof(vm->run_dir), "%s/%s", host_sync_run_root(vm->s), vm->id);
    /* another init: the kernel takes the last init= of its command line */
    char append[PATH_MAX + 64];
    snprintf(append, sizeof(append), "%s%sinit=%s", c->extra_append ? c->extra_append : "",
             c->extra_append ? " " : "", c->init ? c->init : "");
    struct host_vm_spec spec = { .id = vm->id, .rootfs = rootfs, .vcpus = c->vcpus,
                                 .memory_mib = c->memory_mib, .hostname = c->hostname,
                                 .extra_append = c->init ? append : c->extra_append,
                                 .snapshot = snapshot };
    r = host_sync_vm_create(vm->s, &spec, e);
    if (r < 0) {
        vmtest_free(vm);
        return r;
    }
    *ret = vm;
    return 0;
}

struct vmt *vmtest_start(const struct vmtest_config *c)
{
    struct vmt *vm = NULL;
    struct herr e = { 0 };
    if (vmtest_try_start(c, NULL, &vm, &e) < 0) {
        harness_fail(__FILE__, __LINE__, "vm start: %s", e.msg);
        return NULL;
    }
    return vm;
}

struct vmt *vmtest_restore(const struct vmtest_config *c, const char *snap)
{
    struct vmt *vm = NULL;
    struct herr e = { 0 };
    if (vmtest_try_start(c, snap, &vm, &e) < 0) {
        harness_fail(__FILE__, __LINE__, "vm restore: %s", e.msg);
        return NULL;
    }
    return vm;
}

int vmtest_save(struct vmt *vm, const char *dir, struct herr *e)
{
    return host_sync_vm_pause(vm->s, vm->id, dir, e);
}

int vmtest_stop(struct vmt *vm, struct herr *e)
{
    return host_sync_vm_destroy(vm->s, vm->id, e);
}

static bool never(void *arg)
{
    return false;
}

bool vmtest_alive(struct vmt *vm)
{
    /* let the loop see a pidfd that became readable */
    (void)host_sync_run(vm->s, never, NULL, mono_now_us());
    return host_vm_pid(vm->h, vm->id) > 0;
}

void vmtest_free(struct vmt *vm)
{
    if (!vm)
        return;
    host_sync_free(vm->s);
    free(vm);
}

int vmtest_sh(struct vmt *vm, const char *script, const char *stdin_data,
              struct agent_exec_result *res)
{
    const char *argv[] = { "sh", "-c", script, NULL };
    struct agent_exec_req req = { .argv = argv, .stdin_pipe = stdin_data != NULL,
                                  .stdin_data = stdin_data,
                                  .stdin_len = stdin_data ? strlen(stdin_data) : 0 };
    struct herr e = { 0 };
    int r = host_sync_exec(vm->s, vm->id, &req, 16u << 20, mono_now_us() + 60000000, res, &e);
    if (r < 0)
        harness_fail(__FILE__, __LINE__, "exec '%s': %s", script, e.msg);
    return r;
}
