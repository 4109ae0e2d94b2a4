/* SPDX-License-Identifier: MIT */
/* vmtest.h: helpers for integration tests that boot real microVMs from $HEARTH_IMAGES. */
#pragma once

#include <stddef.h>

#include "daemon/host/agent_client.h"
#include "daemon/host/vm.h"

/* Fills kernel and rootfs paths (PATH_MAX each) from $HEARTH_IMAGES (vmlinux, minimal.ext4);
 * skips the test when they are missing. */
void vmtest_paths(char *kernel, char *rootfs);
/* Fills out (PATH_MAX) with $HEARTH_IMAGES/name; skips the test when it is missing. */
void vmtest_image(char *out, const char *name);
/* A config for the minimal image: 1 vCPU, 256 MiB, tcg/auto, 60 s boot timeout. */
struct vm_config vmtest_config(const char *kernel, const char *rootfs);
/* Boots c; on failure reports the error and returns NULL. */
struct vm *vmtest_start(const struct vm_config *c);
/* Runs `sh -c script` (stdin_data may be NULL) and buffers 16 MiB of output; returns 0 or the
 * error (reported). */
int vmtest_sh(struct vm *vm, const char *script, const char *stdin_data,
              struct agent_exec_result *res);
