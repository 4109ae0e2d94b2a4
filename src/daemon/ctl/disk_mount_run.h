/* SPDX-License-Identifier: MIT */
/* disk_mount_run.h: the mount work in guests behind disk_mount.h (docs/disks.md "Mounts"):
 * one job at a time per (sandbox, mount path), each a script of disk_mount_script.h run through
 * the agent, its outcome written to the mount's row. For disk_mount.c, which also hands the
 * lifecycle calls of disk_mount.h (ctl_disk_mounts_start, ctl_disk_mounts_watch_*) over. */
#pragma once

struct ctl;

/* Mounts (or keeps) the row (sandbox_id, mount_path) in the running guest, then records
 * mounted or error. Nothing when a job for it is under way (its end looks at the row again). */
void ctl_mount_job_mount(struct ctl *c, const char *sandbox_id, const char *mount_path);
/* Unmounts (sandbox_id, mount_path) in the guest, then removes its row (status unmounting).
 * Nothing when a job is under way: a mount that ends finds the row unmounting and comes here. */
void ctl_mount_job_unmount(struct ctl *c, const char *sandbox_id, const char *mount_path);
/* ctl_disk_mounts_start(): lets go of mounts no row names, then mounts (or keeps) each row. */
void ctl_mount_run_start(struct ctl *c, const char *id);
/* ctl_disk_mounts_watch_start() and _stop(): the round. */
int ctl_mount_watch_start(struct ctl *c);
void ctl_mount_watch_stop(struct ctl *c);
/* ctl_disk_mounts_release(): frees the jobs left (no report will come) and the state. */
void ctl_mount_release(struct ctl *c);
