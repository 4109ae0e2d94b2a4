/* SPDX-License-Identifier: MIT */
/* jail.h: QEMU's confinement, jailer-style (docs/security.md): a plan built by hearthd before
 * the fork (a uid from the configured range, the host paths QEMU may see, the cgroup.procs
 * files to join) and jail_enter(), run by the child between fork and exec: cgroups joined, a
 * private mount namespace whose root is a tmpfs holding only the plan's bind mounts
 * (pivot_root), then no_new_privs, every capability dropped, and the unprivileged uid. Knows
 * nothing of sandboxes or QMP; host_boot.c builds the plan. Never logs (the child writes one
 * line to its stderr, QEMU's log, when a step fails). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/host/cgroup.h"

struct herr;

/* Defaults of the uid range (hearthd's jail_uid_base and jail_uid_count): above the ranges
 * Debian gives users (1000-59999) and systemd's dynamic users (61184-65519), and the size of
 * one subordinate-id block. */
#define JAIL_UID_BASE_DEFAULT 200000u
#define JAIL_UID_COUNT_DEFAULT 65536u
/* Backing chains deeper than this are refused (flattening keeps them short). */
#define JAIL_CHAIN_MAX 32
#define JAIL_BINDS_MAX 64

enum jail_bind_flags {
    JAIL_RO = 1u << 0,      /* read-only */
    JAIL_DEV = 1u << 1,     /* a device node: no nodev */
    JAIL_DIR = 1u << 2,     /* a directory; else a file */
    JAIL_EXEC = 1u << 3,    /* programs and libraries: no noexec */
    JAIL_REC = 1u << 4,     /* a directory with its sub-mounts (a run dir is bound without:
                               the jail's own tmpfs is mounted inside it) */
};

struct jail_bind {
    char *src;              /* host path (owned) */
    char *at;               /* <root><path inside the jail> (owned) */
    unsigned flags;         /* enum jail_bind_flags */
};

struct jail_plan {
    bool confine;           /* false: only join the cgroups (jail = off) */
    uid_t uid;              /* QEMU's uid and gid */
    gid_t gid;
    bool has_dev_gid;       /* QEMU also gets dev_gid as its one supplementary group: the
                               group of /dev/kvm (jail_plan_device_group) */
    gid_t dev_gid;
    char *root;             /* the empty directory the jail's tmpfs is mounted on (owned) */
    struct jail_bind binds[JAIL_BINDS_MAX];
    size_t n_binds;
    char *links[8][2];      /* { <root>/lib, "usr/lib" }: symlinks of a merged /usr (owned) */
    size_t n_links;
    int cg_fds[CGROUP_CTRL_COUNT]; /* cgroup.procs of the VM's cgroups (owned) */
    size_t n_cg;
};

/* A uid for VM id from [base, base + count): a hash of the id, then the next free one, so a
 * VM keeps the same uid across pause and resume as long as no neighbour took it. taken(ud, uid)
 * says a live VM of this host has it. 0 and *ret; -EINVAL (count 0 or the range overflows or
 * reaches uid 0's neighbourhood: base must be >= 1000); -EBUSY (every uid taken). Pure. */
int jail_uid_pick(uint32_t base, uint32_t count, const char *id,
                  bool (*taken)(void *ud, uint32_t uid), void *ud, uint32_t *ret);

/* A plan (caller frees with jail_plan_free()) for QEMU as uid:gid, its tmpfs on root (an empty
 * directory that exists). confine false: a plan that only joins cgroups (uid, root unused).
 * NULL when out of memory. */
struct jail_plan *jail_plan_new(bool confine, uid_t uid, gid_t gid, const char *root);
void jail_plan_free(struct jail_plan *p);
/* Adds a bind of the host path src at the absolute path `path` inside the jail (usually the
 * same string). A path already in the plan is not added twice. 0, -EINVAL (relative, "..",
 * ','), -E2BIG (too many), -ENOMEM. */
__attribute__((warn_unused_result))
int jail_plan_bind(struct jail_plan *p, const char *src, const char *path, unsigned flags);
/* What every QEMU needs: /usr read-only (the binary, its libraries, firmware in /usr/share/qemu),
 * /lib, /lib64, /bin and /sbin as the host has them (symlinks into /usr, or read-only binds),
 * /etc/ld.so.cache, and /dev/null, /dev/zero, /dev/urandom, /dev/random (+ /dev/kvm when kvm,
 * with its group: jail_plan_device_group). 0 or -errno (-EACCES: see there). */
__attribute__((warn_unused_result))
int jail_plan_system(struct jail_plan *p, bool kvm);
/* QEMU, which runs as its own uid without supplementary groups, may open the device dev only
 * through dev's group (udev makes /dev/kvm root:kvm 0660): that group becomes QEMU's one
 * supplementary group. 0; -EACCES when the group may not both read and write dev (a 0600
 * node: only root could open it; give it group access or turn the jail off); -errno. */
__attribute__((warn_unused_result))
int jail_plan_device_group(struct jail_plan *p, const char *dev);
/* Adds read-only binds for the backing chain below the qcow2 file top (which the jail sees
 * already): every backing file, at the path its parent names, bound from its real path. Each
 * must be a regular file; the chain at most JAIL_CHAIN_MAX deep. 0; -ELOOP (too deep);
 * -EINVAL (a layer with an external data file, a backing that is not a regular file); -errno;
 * detail in e. */
__attribute__((warn_unused_result))
int jail_plan_chain(struct jail_plan *p, const char *top, struct herr *e);

/* The backing file name of the qcow2 image at path into out ("" for none, or a file that is
 * not qcow2). -EINVAL for a qcow2 header we refuse: an external data file, a backing name
 * over 1023 bytes or with a NUL; -ENAMETOOLONG; -errno. */
__attribute__((warn_unused_result))
int jail_qcow2_backing(const char *path, char *out, size_t len);

/* Gives dir/name to uid:gid, never through a symlink: only a regular file, directory or
 * socket is changed. 0, -ENOENT (no such file: nothing to do for the caller), -EPERM (a
 * symlink or other type), -errno. */
int jail_chown_at(const char *dir, const char *name, uid_t uid, gid_t gid);

/* In the child between fork and exec, as root: joins the cgroups, then (confine) enters the
 * jail (mount namespace, pivot_root), sets no_new_privs, empties the capability bounding,
 * ambient, inheritable, permitted and effective sets, and becomes uid:gid with no
 * supplementary groups. 0 or -errno (a line naming the failed step went to fd 2). */
int jail_enter(const struct jail_plan *p);

/* hearthd's own capabilities (docs/security.md "hearthd's capabilities"): drops every
 * capability but those hearthd needs from its bounding set, so no program it runs (qemu-img;
 * QEMU with jail = off) can hold any other, even as root, and from its own permitted and
 * effective sets (its inheritable set is emptied). Returns the number dropped from the bounding
 * set, or -errno (-EPERM without CAP_SETPCAP: nothing changed). */
int jail_daemon_bounding(void);
/* The capabilities jail_daemon_bounding() keeps, as names ("cap_net_admin", ...), into out
 * (space-separated). */
void jail_daemon_caps(char *out, size_t len);
