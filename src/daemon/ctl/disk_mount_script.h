/* SPDX-License-Identifier: MIT */
/* disk_mount_script.h: what the mount code runs in a guest (docs/disks.md "Mounts"): small
 * POSIX shell scripts around s3fs (mount or keep, check, unmount, let go of foreign mounts) and
 * the arguments they take. Pure: no store, no I/O. Credentials are not arguments: they reach
 * s3fs through the exec's environment only (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"

#define DISK_TAG_SIZE 17               /* 16 hex digits and the NUL */
#define DISK_OPTS_SIZE 1024

/* The tag a mount carries in the guest's mount table (fsname=hearth:<tag>): a hash of what
 * decides the mount (disk id, bucket, endpoint, region, path style, sub_path, mount path) and
 * of creds_at, the time the disk's credentials were last set, so that a rotation shows as a
 * different tag and the next (re)start mounts again. */
void disk_script_tag(const struct store_mount *m, int64_t creds_at, char out[DISK_TAG_SIZE]);
/* s3fs's bucket argument: "bucket" or "bucket:/sub_path". -ENAMETOOLONG. */
__attribute__((warn_unused_result))
int disk_script_source(const struct store_mount *m, char *out, size_t len);
/* s3fs's -o list (endpoint URL, signing region, path style, timeouts, caching, the tag).
 * -EINVAL when the endpoint or region holds a byte that would end an option (a comma,
 * a blank, a control character, a quote); -ENAMETOOLONG. */
__attribute__((warn_unused_result))
int disk_script_options(const struct store_mount *m, const char *tag, char *out, size_t len);

/* NULL-terminated argv for `sh -c <script> sh args…`; the pointers borrow the arguments. */
/* Mounts (source, options) at path with tag, or keeps the mount already there when it carries
 * tag and answers. Exit 0: mounted; else one line on stderr says why. */
void disk_script_mount_argv(const char *path, const char *source, const char *opts,
                            const char *tag, const char *argv[9]);
/* Whether a hearth mount is at path and answers (a listing within 20 s). The tag is not
 * compared: a mount made before a credential rotation keeps serving until its next mount. */
void disk_script_check_argv(const char *path, const char *argv[6]);
/* Unmounts what hearth mounted at path: fusermount -u, umount, then umount -l when busy
 * (prints "lazy"). Exit 0 also when nothing of ours is there. */
void disk_script_unmount_argv(const char *path, const char *argv[6]);
/* Lazily unmounts every hearth mount of the guest but those in keep ("hearth:<tag> <path>"
 * each; n ≤ STORE_MAX_MOUNTS): what a fork's child inherited from its source, or a mount whose
 * row went while hearthd was away. argv needs n + 5 entries. */
void disk_script_prune_argv(const char *const *keep, size_t n, const char **argv);
