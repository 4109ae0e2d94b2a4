/* SPDX-License-Identifier: MIT */
/* snapshots.h: the snapshot-native lifecycle of spec/API.md §2.14 and §3.3.1–§3.3.3: pause,
 * resume, fork, auto-pause, golden snapshots for create, and the lifetime of snapshot
 * directories (docs/snapshots.md). Drives host.h; every transition is a durable intent. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct api_call;
struct api_ctx;
struct store_sandbox;

void api_sandbox_pause(struct api_call *call);
void api_sandbox_resume(struct api_call *call);
void api_sandbox_fork(struct api_call *call);

/* Removes the snapshot directory dir (and then its parents, recursively) when nothing needs it
 * any more: no live row names it as snapshot_dir or base_dir and no other snapshot is a disk
 * child of it. Golden snapshots are never removed here. NULL or "" does nothing. */
void api_snapshot_release(struct api_ctx *ctx, const char *dir);

/* The golden snapshot for booting image (absolute) with this shape and disk: its directory in
 * out (PATH_MAX) and true when it exists and is complete. */
bool api_golden_find(struct api_ctx *ctx, const char *image, unsigned vcpus, unsigned mem_mib,
                     uint64_t disk_mib, char *out);
/* Starts building that golden snapshot in the background (a cold-booted VM of its own, its
 * file system grown to the disk when grow, paused into the golden dir) unless it exists or is
 * being built. Errors are logged. */
void api_golden_build(struct api_ctx *ctx, const char *image, unsigned vcpus, unsigned mem_mib,
                      uint64_t disk_mib, uint32_t cpu_quota_pct, bool grow);
/* A golden snapshot that failed to restore (another QEMU, a corrupt file): removed, so the
 * next create cold-boots and rebuilds it. */
void api_golden_discard(struct api_ctx *ctx, const char *dir);

/* Auto-pause (§2.14.8): marks sandbox id active now (an API request addressed to it), or
 * opens/closes a long-lived stream (exec) that keeps it active while open. */
void api_idle_touch(struct api_ctx *ctx, const char *id);
void api_idle_stream(struct api_ctx *ctx, const char *id, bool open);
/* Starts the auto-pause timer on ctx->base (checks every few seconds). 0 or -ENOMEM. */
int api_idle_start(struct api_ctx *ctx);
/* At shutdown, before the host goes: golden snapshots being built are abandoned and their
 * VMs killed (host_vm_discard()). */
void api_snapshots_stop(struct api_ctx *ctx);
/* Frees the golden and auto-pause bookkeeping (serve.c at exit). */
void api_snapshots_release(struct api_ctx *ctx);
