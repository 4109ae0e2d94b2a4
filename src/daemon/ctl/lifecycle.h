/* SPDX-License-Identifier: MIT */
/* lifecycle.h: VM exits the control layer did not ask for. */
#pragma once

struct host_exit;

/* host_exit_fn for host_set_on_exit() (ud: the struct ctl): a VM that died unasked turns its
 * running sandbox `failed` and its run dir is removed; rows in other states are left to the
 * operation that owns them. */
void ctl_on_vm_exit(void *ud, const char *id, const struct host_exit *ex);
