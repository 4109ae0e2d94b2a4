/* SPDX-License-Identifier: MIT */
/* vmtest.c: image lookup, boot and shell helpers shared by the integration tests. */
#include "vmtest.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/herr.h"
#include "common/mono.h"
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

struct vm_config vmtest_config(const char *kernel, const char *rootfs)
{
    return (struct vm_config){ .kernel = kernel, .rootfs = rootfs, .vcpus = 1,
                               .memory_mib = 256, .boot_timeout_ms = 60000,
                               .stop_timeout_ms = 10000 };
}

struct vm *vmtest_start(const struct vm_config *c)
{
    struct vm *vm = NULL;
    struct herr e = { 0 };
    if (vm_start(c, &vm, &e) < 0) {
        harness_fail(__FILE__, __LINE__, "vm_start: %s", e.msg);
        return NULL;
    }
    return vm;
}

int vmtest_sh(struct vm *vm, const char *script, const char *stdin_data,
              struct agent_exec_result *res)
{
    const char *argv[] = { "sh", "-c", script, NULL };
    struct agent_exec_req req = { .argv = argv, .stdin_pipe = stdin_data != NULL,
                                  .stdin_data = stdin_data,
                                  .stdin_len = stdin_data ? strlen(stdin_data) : 0 };
    struct herr e = { 0 };
    int r = agent_exec(vm_agent(vm), &req, 16u << 20, mono_now_us() + 60000000, res, &e);
    if (r < 0)
        harness_fail(__FILE__, __LINE__, "exec '%s': %s", script, e.msg);
    return r;
}
