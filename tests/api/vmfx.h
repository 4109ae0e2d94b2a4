/* SPDX-License-Identifier: MIT */
/* vmfx.h: the fixture of the API tests that run real microVMs: a `hearthd serve` on the real
 * images ($HEARTH_IMAGES), JSON calls that check their status, create / destroy / exec
 * helpers, a kill -9 and restart of hearthd, and the check that no QEMU outlives a test. */
#pragma once

#include "apitest.h"

struct vfx {
    struct hd_server s;
    char hdr[160];
};

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

/* Starts hearthd with the real images linked in (skips without $HEARTH_IMAGES). */
bool vfx_start_conf(struct vfx *f, const char *extra_conf);
bool vfx_start(struct vfx *f);
/* QEMU processes whose command line names our temp dir; with kill_them, SIGKILLs them. */
int qemu_left(const struct vfx *f, bool kill_them);
/* Entries in data/vms. */
int run_dirs(const struct vfx *f);
/* Fails the test if a QEMU was left running (and kills it), then removes the temp dir. */
void vfx_end(struct vfx *f);
/* One request with the admin key; fails the test unless the status is want. */
bool call(struct vfx *f, const char *method, const char *target, const char *body, int want,
          struct hresp *r);
/* POST /v1/sandboxes; the new id in id (status must be running). */
bool create(struct vfx *f, const char *body, char id[64]);
const char *status_of(struct vfx *f, const char *id, char out[32]);
/* DELETE, then wait (<= 30 s) for destroyed. */
bool destroy(struct vfx *f, const char *id);
bool exec_json(struct vfx *f, const char *id, const char *body, int want, struct hresp *r);
bool exec_stdout(struct vfx *f, const char *id, const char *body, char *out, size_t len);
/* Runs `sh -c script` in the guest; its stdout in out, trailing newlines kept. */
bool exec_sh(struct vfx *f, const char *id, const char *script, char *out, size_t len);
/* exec_sh() with the trailing newlines cut. */
bool exec_sh_trim(struct vfx *f, const char *id, const char *script, char *out, size_t len);
/* Polls GET until id's status is want, for at most timeout_ms; fails the test otherwise. */
bool wait_status_ms(struct vfx *f, const char *id, const char *want, int timeout_ms);
/* kill -9 hearthd and start it again on the same data dir. */
bool crash_restart(struct vfx *f);
/* Stops hearthd cleanly (its VMs stay) and starts it with HEARTH_CRASH_AT=step. */
bool vfx_start_armed(struct vfx *f, const char *step);
/* Waits (<= 120 s) for hearthd to die by SIGKILL at step (a failure of the test otherwise),
 * closes fd (a request left waiting; -1 for none), then starts it again unarmed. */
bool vfx_died_and_restarted(struct vfx *f, const char *step, int fd);
/* Starts hearthd again on the same data dir after it died (port files cleared first). */
bool vfx_restart(struct vfx *f);
/* Sends one request without waiting for the answer; the connected socket, or -1. */
int send_only(struct vfx *f, const char *method, const char *target, const char *body);
/* Taps in hearthd's network namespace (named from its data dir), or -1. */
int vfx_taps(const struct vfx *f);
bool link_image(const char *src_dir, const char *dst_dir, const char *name);
