/* SPDX-License-Identifier: MIT */
/* disk_mount_run.h: the mount work in guests behind disk_mount.h (docs/disks.md "Mounts"):
 * one job at a time per (sandbox, mount path), each a script of disk_mount_script.h run through
 * the agent, its outcome written to the mount's row. For disk_mount.c; the lifecycle hooks
 * and the 30 s round (ctl_disk_mounts_start, ctl_disk_mounts_watch_*) live here too. */
#pragma once

struct ctl;

/* Mounts (or keeps) the row (sandbox_id, mount_path) in the running guest, then records
 * mounted or error. Nothing when a job for it is under way (its end looks at the row again). */
void ctl_mount_job_mount(struct ctl *c, const char *sandbox_id, const char *mount_path);
/* Unmounts (sandbox_id, mount_path) in the guest, then removes its row (status unmounting).
 * Nothing when a job is under way: a mount that ends finds the row unmounting and comes here. */
void ctl_mount_job_unmount(struct ctl *c, const char *sandbox_id, const char *mount_path);
