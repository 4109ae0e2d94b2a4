/* SPDX-License-Identifier: MIT */
/* sandbox_check.h: the typed requests of the sandbox operations and the checks of their
 * values (docs/api.md §1.9, §3.2.1, §3.3.5, §3.6.3): names, env keys, egress rules, SSH keys,
 * mount paths, ranges. Pure: no store, no I/O. Any front end (the API's JSON parser, a future
 * SSH gateway or template builder) turns its input into these and gets the same rules. */
#pragma once

#include "daemon/ctl/placement.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"

struct ctl_shape;
struct ctl_rootfs;

#define CTL_MAX_ENVS 64
#define CTL_MAX_ENV_VALUE 4096
#define CTL_MAX_ENV_TOTAL 65536
#define CTL_MAX_EGRESS 256
#define CTL_MAX_EGRESS_RULE 260
#define CTL_MAX_NETWORKS 8
#define CTL_MAX_DISKS 16
#define CTL_AUTO_PAUSE_MIN 60
#define CTL_AUTO_PAUSE_MAX 86400
#define CTL_MIN_DISK_MIB 1024

/* A checked create request. Strings in envs, name and networks are borrowed; the ssh and
 * egress lists are owned (canonical forms). */
struct ctl_create_req {
    const struct ctl_shape *shape;     /* NULL: unknown (create fails: CTL_E_UNKNOWN_REF) */
    const struct ctl_rootfs *rootfs;   /* NULL: unknown (likewise), unless template_ref */
    const char *template_ref;          /* rootfs named no catalog image: a template id or name
                                          (borrowed), resolved by the create (template.h);
                                          rootfs is then NULL */
    const char *name;                  /* NULL: generate one */
    int64_t disk_mib;                  /* 0: the shape's default */
    struct store_env *envs;            /* owned array, borrowed strings */
    size_t n_envs;
    char **ssh;                        /* owned */
    size_t n_ssh;
    char **egress;                     /* owned; empty = allow all */
    size_t n_egress;
    bool ingress_enabled;
    int64_t auto_pause_after_seconds;  /* 0 = off */
    const char *networks[CTL_MAX_NETWORKS]; /* network refs (id or name), borrowed; resolved
                                               against the store by the create */
    size_t n_networks;
    struct ctl_disk_ref {              /* disks[] (docs/api.md §3.2.1): borrowed strings,
                                          resolved by the create or fork (disk_mount.h) */
        const char *disk;
        const char *mount_path;
        const char *sub_path;          /* NULL: the whole bucket */
    } disks[CTL_MAX_DISKS];
    size_t n_disks;
    struct ctl_selector selector;      /* node_selector (borrowed strings); n 0: any host */
    const char *host_id;               /* admin's pin (borrowed); NULL: placement chooses */
};
void ctl_create_req_release(struct ctl_create_req *r);

/* A checked fork request (§3.3.3). Fields of c apply only where the set_ flag says the request
 * named them (name: when non-NULL; auto_pause: 0 = off, never inherited). */
struct ctl_fork_req {
    struct ctl_create_req c;           /* name, envs, ssh, egress, ingress, auto-pause */
    bool start_paused;
    bool set_envs, set_ssh, set_egress, set_ingress, set_quota;
    int64_t bandwidth_quota_bytes;     /* the request's, or the operator default */
    unsigned count;                    /* (hearth) children to make, 1..CTL_FORK_COUNT_MAX;
                                          0 means 1 */
    /* where the children's ids go (borrowed until the fork's done; NULL: nowhere), in the
       order they were made; *n_children set before done runs */
    char (*children)[STORE_ID_SIZE];
    size_t *n_children;
};
#define CTL_FORK_COUNT_MAX 16
void ctl_fork_req_release(struct ctl_fork_req *r);

/* A checked PATCH (§3.2.5). */
struct ctl_patch_req {
    bool set_ingress;
    bool ingress_enabled;
    bool set_auto_pause;
    int64_t auto_pause_after_seconds;  /* 0 with set_auto_pause: disable */
};

/* A sandbox name (§1.9): ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$. */
bool ctl_sandbox_name_valid(const char *s, size_t len);
/* A network name (§1.9): ^[a-z0-9][a-z0-9-]{0,62}$, not beginning with net-. */
bool ctl_network_name_valid(const char *s, size_t len);
/* An env key: ^[A-Za-z_][A-Za-z0-9_]*$. */
bool ctl_env_key_valid(const char *k);
/* A disk mount path (docs/api.md §3.9.6): normalised, absolute, shorter than
 * STORE_MOUNT_PATH_SIZE, no control character, blank or backslash, not /, outside /proc, /sys,
 * /dev and /run, and shadowing no system directory (not /etc, /bin, /sbin, /lib*, /usr, /boot
 * or inside them; not /var, /root, /home, /tmp, /opt, /srv, /mnt or /media themselves). */
bool ctl_mount_path_valid(const char *p);
/* A disk sub_path: relative, at most 1024 bytes, no empty, `.` or `..` segment, no control
 * character or backslash ("" is the whole bucket). */
bool ctl_sub_path_valid(const char *p);
/* auto_pause_after_seconds in [CTL_AUTO_PAUSE_MIN, CTL_AUTO_PAUSE_MAX]. */
bool ctl_auto_pause_valid(int64_t seconds);

/* One egress rule (§3.6.3) into its stored form (lowercased host, no trailing dot, CIDR host
 * bits cleared) in out. Returns 0, 1 for "*" (allow all), or -EINVAL with *why. */
__attribute__((warn_unused_result))
int ctl_egress_rule_parse(const char *rule, size_t len, char out[CTL_MAX_EGRESS_RULE + 1],
                          const char **why);
/* Adds rule to the list v (n entries, room for one more) in stored form unless it is there
 * already. 0 added or duplicate, 1 "*" (allow all: the caller empties the list at the end with
 * ctl_egress_allow_all), -EINVAL with *why, -ENOMEM. */
__attribute__((warn_unused_result))
int ctl_egress_list_add(char **v, size_t *n, const char *rule, size_t len, const char **why);
/* Frees the n rules of v and sets *n to 0: "*" anywhere means allow all, stored as []. */
void ctl_egress_allow_all(char **v, size_t *n);

/* One OpenSSH public key (§3.3.5) into `<type> <base64>[ <comment>]` (malloc'd, caller frees).
 * Returns 0 or -EINVAL with *why, -ENOMEM. */
__attribute__((warn_unused_result))
int ctl_ssh_key_parse(const char *key, size_t len, char **ret, const char **why);

/* Writes a generated `<adjective>-<animal>` name (with `-<4 hex>` when suffix) into out. */
void ctl_name_generate(bool suffix, char out[STORE_NAME_SIZE]);
