/* SPDX-License-Identifier: MIT */
/* guest.h: small chores the API does inside a running guest through the agent (host.h): set
 * its identity after boot, install SSH keys, grow the root file system. Each runs one command
 * asynchronously with a deadline and reports once. */
#pragma once

#include <stddef.h>

struct host;
struct event_base;

/* How a chore ended: err 0 with the command's exit status (0..255, 128+signal), or -errno when
 * it could not run (-ENOENT no VM or no program, -ETIMEDOUT, -ECONNRESET agent lost). msg is a
 * one-line detail (the command's stderr tail, or the agent's error), borrowed for the call. */
typedef void (*guest_done_fn)(void *ud, int err, int status, const char *msg);

/* Runs argv (NULL-terminated; copied) in VM id with the default environment, stdin /dev/null,
 * and timeout_ms (0: none). done runs exactly once from the loop, never from inside this call.
 * Returns 0, or -errno (nothing started, done never runs): -ENOENT/-EBUSY (no running VM),
 * -ENOMEM. */
__attribute__((warn_unused_result))
int guest_run(struct host *h, struct event_base *base, const char *id,
              const char *const *argv, unsigned timeout_ms, guest_done_fn done, void *ud);
/* guest_run with env ("KEY=value" strings, NULL-terminated; NULL: none) added to the default
 * environment. env is used only while the request is encoded and queued, within this call:
 * nothing keeps a copy, so the caller may wipe it as soon as this returns (disk credentials,
 * docs/disks.md "Mounts"). */
__attribute__((warn_unused_result))
int guest_run_env(struct host *h, struct event_base *base, const char *id,
                  const char *const *argv, const char *const *env, unsigned timeout_ms,
                  guest_done_fn done, void *ud);

/* Frees every chore still under way without reporting it: for a stopping hearthd once
 * host_free_keep_vms() dropped the VMs' streams (they never end then, so no chore would ever
 * report). Their owners free their own state the same way (ctl_mount_release). */
void guest_jobs_drop_all(void);

/* argv for setting the hostname (and /etc/hostname) and writing keys (n may be 0: keys are
 * left alone) to /root/.ssh/authorized_keys. Returns a NULL-terminated array borrowing
 * hostname and keys; free() the array only. NULL on out of memory. */
const char **guest_identity_argv(const char *hostname, const char *const *keys, size_t n);

/* argv that grows the guest's root file system (ext4 on /dev/vda, mounted) online to its
 * device: `resize2fs /dev/vda` (every hearth image carries it; docs/images.md). A no-op that
 * exits 0 when the file system fills the device already. Static; do not free. */
const char *const *guest_grow_root_argv(void);
