/* SPDX-License-Identifier: MIT */
/* rundir.h: a VM's run directory: id validation, the pid file that lets a later hearthd re-adopt
 * the QEMU inside it (pid plus the process start time, against pid reuse), removal, and
 * reading its logs to explain a failed start. Used by the host's VM files
 * (host_boot.c, host_adopt.c, host_destroy.c). The parsers are pure and take hostile input
 * (a run dir is only as trusted as the disk). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct herr;

#define RUNDIR_ID_MAX 64        /* longest id accepted, without the NUL */
#define RUNDIR_PIDFILE "qemu.pid"
#define RUNDIR_PIDFILE_MAX 64   /* a longer pid file is malformed */

/* True when id is a sandbox id usable as a run dir name: "sb-" then a 26-character ULID in
 * Crockford base32, uppercase (first character 0..7). Rejects NULL, "", ".", "..", '/', NUL
 * bytes and anything else: an id never escapes the run root. */
bool rundir_id_valid(const char *id);

/* Formats the pid file body "<pid> <starttime>\n" into out. Returns the length, or -ENOSPC. */
int rundir_pidfile_format(pid_t pid, uint64_t starttime, char *out, size_t len);
/* Parses a pid file body: two decimal numbers separated by one space, an optional final
 * newline, nothing else; pid in 2..4194304, starttime > 0, no sign, no leading zeros, no
 * overflow. Returns 0 and fills the out-params, or -EBADMSG. */
__attribute__((warn_unused_result))
int rundir_pidfile_parse(const char *s, size_t len, pid_t *ret_pid, uint64_t *ret_starttime);
/* Extracts field 22 (starttime, clock ticks since boot) of a /proc/PID/stat line. comm (field
 * 2) may hold spaces and ')' so fields are counted from the last ')'. 0 or -EBADMSG. */
__attribute__((warn_unused_result))
int rundir_stat_starttime(const char *s, size_t len, uint64_t *ret);
/* Reads /proc/<pid>/stat: 0 and *ret, -ESRCH when no such process, -EBADMSG, -errno. */
int rundir_proc_starttime(pid_t pid, uint64_t *ret);

/* Writes <dir>/qemu.pid for pid (atomically: temp file and rename). 0 or -errno. */
int rundir_pidfile_write(const char *dir, pid_t pid);
/* Reads and validates <dir>/qemu.pid, then opens a pidfd for that pid and checks that the
 * process still has the recorded start time (so a reused pid is never adopted or killed).
 * Returns 0 with *ret_pid and *ret_pidfd (caller closes), -ENOENT (no pid file), -EBADMSG (a
 * malformed one), -ESRCH (the process is gone or the pid was reused), or -errno. */
__attribute__((warn_unused_result))
int rundir_pidfile_open(const char *dir, pid_t *ret_pid, int *ret_pidfd);

/* Reads /proc/<pid>/cmdline into buf (NUL-terminated; its arguments NUL-separated, a cut last
 * one still a string). The byte count, or -errno. */
ssize_t rundir_proc_cmdline(pid_t pid, char *buf, size_t len);
/* Finds a QEMU that names dir in its command line (its sockets and files live there) without a
 * pid file: one spawned by a hearthd killed before it wrote qemu.pid. Opens a pidfd first and
 * checks the command line again after, so a reused pid is never returned. 0 with *ret_pid and
 * *ret_pidfd (caller closes), -ESRCH when there is none, or -errno. */
__attribute__((warn_unused_result))
int rundir_find_qemu(const char *dir, pid_t *ret_pid, int *ret_pidfd);

/* Checks that path names a readable regular file; e names `what` and the path. 0 or -errno. */
__attribute__((warn_unused_result))
int rundir_check_file(const char *what, const char *path, struct herr *e);
/* Removes the (flat) run dir and its files; best effort. */
void rundir_remove(const char *dir);

/* Explains a QEMU that exited during start with wait status `status` (status_known false
 * when it was not our child): -EIO with the console tail for a guest kernel panic, else
 * -ECHILD with the tail of qemu.log. Replaces what e held. */
int rundir_explain_exit(const char *dir, int status, bool status_known, struct herr *e);
/* Explains a start that saw no READY within boot_ms: -ETIMEDOUT with the console tail.
 * Replaces what e held. */
int rundir_explain_timeout(const char *dir, int boot_ms, struct herr *e);
