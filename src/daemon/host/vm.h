/* SPDX-License-Identifier: MIT */
/* vm.h: one running microVM: run dir, qcow2 layer, the QEMU process (pidfd), its QMP client and
 * its agent client. vm_start() returns only once the agent answered READY, or fails with a
 * reason a user can act on (missing file, QEMU died with its log, guest panic, timeout). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "daemon/host/qemu.h"
#include "daemon/host/snapshot.h"

struct herr;
struct agent_client;
struct qmp_client;
struct vm;

struct vm_config {
    const char *kernel;          /* vmlinux path */
    const char *rootfs;          /* raw ext4 image, used read-only as the qcow2 backing */
    unsigned vcpus;              /* default 1 */
    unsigned memory_mib;         /* default 256 */
    enum qemu_accel accel;       /* AUTO resolves from /sys/module and /dev/kvm */
    const char *run_dir;         /* created (must not exist, or be empty); NULL: a fresh
                                    $TMPDIR/hearth-vm.XXXXXX */
    const char *extra_append;    /* extra kernel arguments, may be NULL */
    const char *hostname;        /* the guest's hostname (common/hostname.h), NULL to leave it:
                                    sent in the agent's HELLO, which a restored guest needs
                                    because it never reads its command line again; a cold boot
                                    may also get it from `hearth.hostname=` in extra_append */
    const char *init;            /* guest init, default /sbin/hearth-agent */
    const char *qemu_bin;        /* default qemu-system-x86_64 from PATH */
    const char *qemu_img;        /* default qemu-img from PATH */
    int boot_timeout_ms;         /* QEMU start to READY; default 30000 */
    int stop_timeout_ms;         /* each stage of vm_stop(); default 10000 */
    bool keep_run_dir;           /* vm_free() leaves the run dir (logs) in place */
};

/* What QMP reported so far. */
struct vm_events {
    bool shutdown;               /* SHUTDOWN seen */
    bool shutdown_guest;         /* ... initiated by the guest */
    char shutdown_reason[32];    /* "guest-shutdown", "guest-reset", "host-qmp-quit", ... */
    unsigned stops, resumes;     /* STOP / RESUME events */
    bool agent_port_open;        /* last VSERPORT_CHANGE of hearth.agent said open */
};

/* Boots a VM per c and waits for its agent. Returns 0 and *ret (vm_free()), or: -EINVAL (bad
 * config), -ENOENT (kernel, rootfs or a QEMU binary missing: e names the path), -ECHILD (QEMU
 * exited during start; e has the tail of qemu.log), -EIO (the guest kernel panicked; e has
 * the console tail), -ETIMEDOUT (no READY within boot_timeout_ms), or -errno. Never hangs
 * past boot_timeout_ms (plus a bounded cleanup). c is borrowed. */
__attribute__((warn_unused_result))
int vm_start(const struct vm_config *c, struct vm **ret, struct herr *e);

/* Powers the guest off via the agent, waits for QEMU to exit (stop_timeout_ms), then asks
 * QMP to quit, then SIGKILLs. Returns 0 when QEMU exited (by any of these), -errno else. */
int vm_stop(struct vm *vm, struct herr *e);
/* SIGKILL to QEMU's process group and reap it. */
void vm_kill(struct vm *vm);
/* Kills QEMU if still alive, frees the clients, removes the run dir unless kept. NULL ok. */
void vm_free(struct vm *vm);

/* True until QEMU exited. */
bool vm_alive(struct vm *vm);
/* Waits until QEMU exits or deadline_us (monotonic µs; < 0 forever). 0 and *ret_status (may
 * be NULL; a wait status), or -ETIMEDOUT. Dispatches QMP events meanwhile. */
int vm_wait_exit(struct vm *vm, int64_t deadline_us, int *ret_status);
/* QEMU's pidfd (readable once it exited); borrowed. */
int vm_pidfd(const struct vm *vm);
/* Borrowed clients; the agent client may be replaced by vm_agent_reconnect(). */
struct agent_client *vm_agent(struct vm *vm);
struct qmp_client *vm_qmp(struct vm *vm);
const char *vm_run_dir(const struct vm *vm);
/* The accelerator actually used. */
enum qemu_accel vm_accel(const struct vm *vm);
/* Reads pending QMP events and returns what was seen. */
const struct vm_events *vm_events(struct vm *vm);
/* Drops the agent connection (the agent cancels that connection's streams). */
void vm_agent_disconnect(struct vm *vm);
/* Drops the agent connection and makes a new one, waiting for READY until deadline_us. */
int vm_agent_reconnect(struct vm *vm, int64_t deadline_us, struct herr *e);

/* --- snapshots (DESIGN.md §4; docs/guests.md "Snapshots (primitive)") ---
 * A snapshot directory holds: mem (the guest RAM file), disk.qcow2 (the disk layer, frozen; its
 * backing is the rootfs image), layer.qcow2 (an empty layer over it that restores copy), state
 * (QEMU device state migrated with x-ignore-shared) and meta.json (format, QEMU version, vCPUs,
 * memory, kernel path and size, state size and SHA-256, and agent_aligned: the agent answered a
 * PING just before the stop, so its reader was between frames and a restore skips the 256 KiB
 * resync preamble). */
#define VM_SNAPSHOT_FORMAT SNAPSHOT_FORMAT /* snapshot.h */

/* Pauses vm, writes its device state to <dir>/state, quits QEMU and moves the RAM file and the
 * disk layer into dir (hard links; a copy across file systems), then writes dir/meta.json.
 * A restored VM (RAM a private mapping of another snapshot's file) has no RAM file to link:
 * its migration stream carries the RAM, which is split out into a new sparse dir/mem, so the
 * snapshot has the same form (docs/guests.md "Snapshots of a restored VM"); its disk.qcow2
 * is a layer whose backing is the earlier snapshot's disk.qcow2, which must stay.
 * dir is created (it may exist empty), absolute, without ','. The VM has exited
 * afterwards whatever the result: vm_free() it. -EINVAL, -ETIMEDOUT, -EIO, -EBADMSG (a
 * stream the split cannot parse), or -errno, with e. */
__attribute__((warn_unused_result))
int vm_snapshot_save(struct vm *vm, const char *dir, struct herr *e);

/* Starts a VM from the snapshot in snapdir: a new run dir (per c), a qcow2 layer over the
 * snapshot's disk, the snapshot's RAM mapped private (copy-on-write, the snapshot is never
 * written, so any number of clones run from it at once), the device state loaded, then the
 * agent reconnected (resync + HELLO, whose time_ns sets the guest clock, whose entropy reseeds
 * the guest's CRNG so clones do not share random numbers, and whose hostname, from c->hostname,
 * names this clone) and READY. c gives kernel, vcpus, memory, timeouts, hostname (rootfs is not
 * used); -EINVAL for a bad hostname. Checks meta.json first: -EBADMSG when the snapshot is
 * unreadable, of another format or its state fails the checksum; -ESTALE when it does not fit c
 * or this QEMU (vCPUs, memory, kernel, QEMU version); e says which. Else as vm_start(). */
__attribute__((warn_unused_result))
int vm_snapshot_restore(const struct vm_config *c, const char *snapdir, struct vm **ret,
                        struct herr *e);
