/* SPDX-License-Identifier: MIT */
/* qemu.h: the QEMU `microvm` command line for one VM, the accelerator choice, and the per-VM
 * qcow2 disk layer. The argv builder is a pure function of its config so it is unit-tested;
 * spawning goes through proc.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct herr;

enum qemu_accel {
    QEMU_ACCEL_AUTO = 0, /* kvm where kvm_intel/kvm_amd is loaded and /dev/kvm opens, else tcg */
    QEMU_ACCEL_KVM,
    QEMU_ACCEL_TCG,
};

/* "auto", "kvm", "tcg". */
const char *qemu_accel_to_string(enum qemu_accel a);
/* Parses one of the names above; -EINVAL otherwise. */
int qemu_accel_from_string(const char *s, enum qemu_accel *ret);

/* Resolves AUTO: KVM when sys_module_dir (normally "/sys/module") holds kvm_intel or kvm_amd
 * and kvm_dev (normally "/dev/kvm") opens read-write, TCG otherwise. KVM and TCG pass through.
 * A software-only kvm (e.g. kvm_pvm, nested paravirt) is deliberately not KVM (DESIGN.md §2). */
enum qemu_accel qemu_accel_resolve(enum qemu_accel want, const char *sys_module_dir,
                                   const char *kvm_dev);

/* The id of the guest's memory backend, which is also the name of its RAM block in a migration
 * stream (QEMU 7.2 names a backend's block by its id; seen in a stream dump). */
#define QEMU_RAM_BLOCK "mem"

/* The TCG translation buffer in MiB (-accel tcg,tb-size=N; qemu.c says why this size). */
#define QEMU_TCG_TB_MIB "32"

struct qemu_config {
    const char *qemu_bin;     /* default "qemu-system-x86_64" (PATH) when NULL */
    const char *kernel;       /* vmlinux path */
    const char *run_dir;      /* absolute; holds mem, disk.qcow2, *.sock, *.log; no ',' */
    enum qemu_accel accel;    /* KVM or TCG (resolve AUTO first) */
    unsigned vcpus;           /* 1..64 */
    unsigned memory_mib;      /* 64..65536 */
    const char *init;         /* guest init, default "/sbin/hearth-agent" */
    const char *extra_append; /* appended to the kernel command line, may be NULL */
    bool no_sandbox;          /* leave out -sandbox on (debugging only) */
    bool strict_sandbox;      /* -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,
                                 resourcecontrol=deny (the jail; docs/security.md) */
    const char *mem_path;     /* RAM file; NULL: <run_dir>/mem. Absolute, no ',' */
    bool mem_private;         /* share=off: a private copy-on-write mapping of mem_path (a
                                 snapshot restore); default share=on */
    bool incoming;            /* -incoming defer: wait for migrate-incoming (a restore) */
    bool nic;                 /* add the virtio-net NIC (netdev net0); false only to restore a
                                 snapshot taken before VMs had one */
    int net_fd;               /* > 0: an open tap fd with this number in QEMU (IFF_TAP |
                                 IFF_NO_PI | IFF_VNET_HDR); else a hub port without a link */
    const char *mac;          /* the NIC's MAC "xx:xx:xx:xx:xx:xx"; NULL: QEMU's default */
};

/* Builds the NULL-terminated argv for c. Returns 0 and *ret_argv (caller frees with
 * qemu_argv_free()), -EINVAL for a config QEMU would misparse (missing fields, run_dir with a
 * ',' or not absolute, AUTO accel, sizes out of range, a mac that is not 6 hex octets), or
 * -ENOMEM. The NIC comes after every other device, so the older devices keep their
 * virtio-mmio slots and a restore finds the device set the snapshot was taken with. */
__attribute__((warn_unused_result))
int qemu_argv_build(const struct qemu_config *c, char ***ret_argv);
void qemu_argv_free(char **argv);

/* True for "xx:xx:xx:xx:xx:xx" (hex, either case) naming a unicast address. */
bool qemu_mac_valid(const char *mac);

/* Paths inside a run dir, written to out (len bytes): "<run_dir>/<name>". -ENAMETOOLONG. */
int qemu_run_path(const char *run_dir, const char *name, char *out, size_t len);

/* Creates <out> as a qcow2 layer whose backing is the raw image at backing_abs (absolute),
 * running qemu_img (default "qemu-img") and waiting up to timeout_ms. Its output goes to
 * log_path. Errors: -ENOENT (qemu-img missing), -EIO (it failed; e carries its output tail),
 * -ETIMEDOUT. */
__attribute__((warn_unused_result))
int qemu_disk_create(const char *qemu_img, const char *backing_abs, const char *out,
                     const char *log_path, int timeout_ms, struct herr *e);

/* The qemu-img argv (NULL-terminated; free with qemu_argv_free()) that creates out as a qcow2
 * layer over the raw image backing_abs (absolute), of size_mib MiB virtual size (0: the
 * backing's size). Pure. 0, -EINVAL or -ENOMEM. */
__attribute__((warn_unused_result))
int qemu_disk_argv(const char *qemu_img, const char *backing_abs, const char *out,
                   uint64_t size_mib, char ***ret_argv);
/* Same, over a backing of format backing_fmt ("raw" or "qcow2"). */
__attribute__((warn_unused_result))
int qemu_disk_argv_fmt(const char *qemu_img, const char *backing_abs, const char *backing_fmt,
                       const char *out, uint64_t size_mib, char ***ret_argv);
/* qemu_disk_create() over a backing of format backing_fmt ("raw" or "qcow2"). */
__attribute__((warn_unused_result))
int qemu_disk_create_fmt(const char *qemu_img, const char *backing_abs, const char *backing_fmt,
                         const char *out, const char *log_path, int timeout_ms, struct herr *e);
/* Turns qemu-img's wait status into 0 (success) or -EIO with its log tail in e. */
int qemu_disk_explain(const char *qemu_img, const char *backing_abs, const char *out,
                      const char *log_path, int status, struct herr *e);

/* Copies up to len-1 bytes of the end of the file at path into out, single line breaks
 * turned into " | " so it fits an error message. Empty string when unreadable. */
void qemu_log_tail(const char *path, char *out, size_t len);
