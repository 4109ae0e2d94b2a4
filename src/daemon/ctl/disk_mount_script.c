/* SPDX-License-Identifier: MIT */
/* disk_mount_script.c: the guest-side scripts of disk mounts and s3fs's arguments
 * (disk_mount_script.h, docs/disks.md "Mounts"). The scripts stay POSIX sh with util-linux
 * (findmnt, setsid, timeout): devbox:1 has them; an image without s3fs gets a clear error. */
#include "daemon/ctl/disk_mount_script.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* s3fs runs in the foreground of a session of its own (setsid) so that the exec ends while it
 * keeps serving, with its stderr in a file on the guest's /run for the reason of a failure
 * (s3fs prints no credential at its default log level). A bucket that does not exist or a
 * refused key makes s3fs exit; an endpoint that does not answer leaves a mount whose listing
 * fails: both are errors, and the half-made mount is taken down. */
static const char mount_script[] =
    "p=$1 src=$2 opts=$3 tag=$4\n"
    "cur=$(findmnt -n -o SOURCE --mountpoint \"$p\" 2>/dev/null)\n"
    "if [ \"$cur\" = \"hearth:$tag\" ] && timeout -k 2 20 ls \"$p\" >/dev/null 2>&1; then\n"
    "  exit 0\n"
    "fi\n"
    "command -v s3fs >/dev/null 2>&1 || { echo 'this image has no s3fs (devbox:1 has it)' >&2; exit 3; }\n"
    "[ -c /dev/fuse ] || { echo 'this guest has no /dev/fuse' >&2; exit 3; }\n"
    "case $cur in\n"
    "'') ;;\n"
    "hearth:*) umount \"$p\" 2>/dev/null || umount -l \"$p\" 2>/dev/null ;;\n"
    "*) echo \"something else is mounted at $p\" >&2; exit 4 ;;\n"
    "esac\n"
    "if [ -e \"$p\" ] && [ ! -d \"$p\" ]; then echo \"$p exists and is not a directory\" >&2; exit 4; fi\n"
    "mkdir -p \"$p\" 2>/dev/null || { echo \"cannot create $p\" >&2; exit 4; }\n"
    "mkdir -p /run/hearth-disks 2>/dev/null; log=/run/hearth-disks/$tag.log\n"
    "setsid s3fs \"$src\" \"$p\" -f -o \"$opts\" </dev/null >/dev/null 2>\"$log\" &\n"
    "pid=$!\n"
    "why() { tail -n 1 \"$log\" 2>/dev/null | tr -d '\\r' | cut -c1-150; }\n"
    "i=0\n"
    "until [ \"$(findmnt -n -o SOURCE --mountpoint \"$p\" 2>/dev/null)\" = \"hearth:$tag\" ]; do\n"
    "  if ! kill -0 $pid 2>/dev/null || [ $i -ge 300 ]; then\n"
    "    w=$(why); kill $pid 2>/dev/null\n"
    "    echo \"s3fs did not mount the bucket (${w:-is it there, and are the credentials right?})\" >&2; exit 5\n"
    "  fi\n"
    "  sleep 0.1; i=$((i+1))\n"
    "done\n"
    "if ! err=$(timeout -k 2 20 ls \"$p\" 2>&1 >/dev/null) || ! kill -0 $pid 2>/dev/null; then\n"
    "  w=$(why); umount -l \"$p\" 2>/dev/null; kill $pid 2>/dev/null\n"
    "  [ -n \"$w\" ] || w=$(printf '%s' \"$err\" | head -n 1 | sed 's/^ls: //' | cut -c1-150)\n"
    "  echo \"the bucket does not answer (${w:-s3fs exited: is the bucket there, and are the credentials right?})\" >&2; exit 6\n"
    "fi\n";

static const char check_script[] =
    "p=$1\n"
    "case $(findmnt -n -o SOURCE --mountpoint \"$p\" 2>/dev/null) in\n"
    "hearth:*) ;;\n"
    "*) echo 'the mount is gone from the guest' >&2; exit 1 ;;\n"
    "esac\n"
    "if ! err=$(timeout -k 2 20 ls \"$p\" 2>&1 >/dev/null); then\n"
    "  w=$(printf '%s' \"$err\" | head -n 1 | sed 's/^ls: //' | cut -c1-150)\n"
    "  echo \"the mount does not answer${w:+: $w}\" >&2; exit 1\n"
    "fi\n";

static const char unmount_script[] =
    "p=$1\n"
    "case $(findmnt -n -o SOURCE --mountpoint \"$p\" 2>/dev/null) in hearth:*) ;; *) exit 0 ;; esac\n"
    "fusermount -u \"$p\" 2>/dev/null || umount \"$p\" 2>/dev/null || { umount -l \"$p\" && echo lazy; }\n";

static const char prune_script[] =
    "command -v findmnt >/dev/null 2>&1 || exit 0\n"
    "findmnt -rn -o SOURCE,TARGET | while read -r src tgt; do\n"
    "  case $src in hearth:*) ;; *) continue ;; esac\n"
    "  keep=0\n"
    "  for k in \"$@\"; do [ \"$k\" = \"$src $tgt\" ] && keep=1; done\n"
    "  [ $keep = 1 ] || umount -l \"$tgt\" 2>/dev/null\n"
    "done\n"
    "exit 0\n";

/* FNV-1a, 64 bits: a tag, not a secret (it names no credential) */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv(h, s, strlen(s) + 1); /* the NUL separates fields */
}

void disk_script_tag(const struct store_mount *m, int64_t creds_at, char out[DISK_TAG_SIZE])
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv_str(h, m->disk_id);
    h = fnv_str(h, m->bucket);
    h = fnv_str(h, m->endpoint);
    h = fnv_str(h, m->region);
    h = fnv_str(h, m->path_style ? "1" : "0");
    h = fnv_str(h, m->sub_path);
    h = fnv_str(h, m->mount_path);
    h = fnv(h, &creds_at, sizeof(creds_at));
    snprintf(out, DISK_TAG_SIZE, "%016llx", (unsigned long long)h);
}

int disk_script_source(const struct store_mount *m, char *out, size_t len)
{
    int n = m->sub_path[0] ? snprintf(out, len, "%s:/%s", m->bucket, m->sub_path)
                           : snprintf(out, len, "%s", m->bucket);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Whether s can sit inside s3fs's comma-separated -o list. */
static bool opt_safe(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c <= 0x20 || *c >= 0x7f || *c == ',' || *c == '"' || *c == '\'' || *c == '\\')
            return false;
    return true;
}

int disk_script_options(const struct store_mount *m, const char *tag, char *out, size_t len)
{
    if (!opt_safe(m->endpoint) || !opt_safe(m->region) || !m->endpoint[0])
        return -EINVAL;
    /* connect_timeout and retries: a dead endpoint fails a listing in seconds, not minutes;
     * stat_cache_expire: objects changed elsewhere show within 5 s (docs/disks.md "Mounts");
     * nonempty: a mount may hide files of the guest's directory until it goes */
    int n = snprintf(out, len,
                     "url=%s,endpoint=%s%s,connect_timeout=5,readwrite_timeout=30,retries=2,"
                     "stat_cache_expire=5,nonempty,fsname=hearth:%s",
                     m->endpoint, m->region[0] ? m->region : "us-east-1",
                     m->path_style ? ",use_path_request_style" : "", tag);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void disk_script_mount_argv(const char *path, const char *source, const char *opts,
                            const char *tag, const char *argv[9])
{
    const char *v[9] = { "/bin/sh", "-c", mount_script, "sh", path, source, opts, tag, NULL };
    memcpy(argv, v, sizeof(v));
}

void disk_script_check_argv(const char *path, const char *argv[6])
{
    const char *v[6] = { "/bin/sh", "-c", check_script, "sh", path, NULL };
    memcpy(argv, v, sizeof(v));
}

void disk_script_unmount_argv(const char *path, const char *argv[6])
{
    const char *v[6] = { "/bin/sh", "-c", unmount_script, "sh", path, NULL };
    memcpy(argv, v, sizeof(v));
}

void disk_script_prune_argv(const char *const *keep, size_t n, const char **argv)
{
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = prune_script;
    argv[3] = "sh";
    for (size_t i = 0; i < n; i++)
        argv[4 + i] = keep[i];
    argv[4 + n] = NULL;
}
