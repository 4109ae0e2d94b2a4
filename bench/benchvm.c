/* SPDX-License-Identifier: MIT */
/* benchvm.c: see benchvm.h. */
#include "benchvm.h"
#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/herr.h"
#include "common/ulid.h"

int bvm_start(const struct bvm_config *c, const char *snapshot, struct bvm **ret,
              struct herr *e)
{
    struct bvm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return herr_set(e, -ENOMEM, "out of memory");
    const char *dir = getenv("HEARTH_IMAGES");
    struct host_config hc = { .images_dir = dir ? dir : "build/images", .accel = bench_accel(),
                              .kernel = c->kernel,
                              .boot_timeout_ms = c->boot_timeout_ms, .cgroup_root = "",
                              .no_jail = c->no_jail };
    int r = host_sync_new_private(&hc, "hearth-benchvm", vm->id, &vm->s);
    if (r < 0) {
        free(vm);
        return herr_set(e, r, "host_sync_new_private: %s", strerror(-r));
    }
    vm->h = host_sync_host(vm->s);
    struct host_vm_spec spec = { .id = vm->id, .rootfs = c->rootfs, .vcpus = c->vcpus,
                                 .memory_mib = c->memory_mib, .snapshot = snapshot };
    r = host_sync_vm_create(vm->s, &spec, e);
    if (r < 0) {
        bvm_free(vm);
        return r;
    }
    *ret = vm;
    return 0;
}

int bvm_save(struct bvm *vm, const char *dir, struct herr *e)
{
    return host_sync_vm_pause(vm->s, vm->id, dir, e);
}

pid_t bvm_pid(struct bvm *vm)
{
    return host_vm_pid(vm->h, vm->id);
}

void bvm_free(struct bvm *vm)
{
    if (!vm)
        return;
    host_sync_free(vm->s);
    free(vm);
}
