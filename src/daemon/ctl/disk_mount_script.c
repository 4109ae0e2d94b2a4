/* SPDX-License-Identifier: MIT */
/* disk_mount_script.c: the guest-side scripts of disk mounts and s3fs's arguments
 * (disk_mount_script.h, docs/disks.md "Mounts"). The scripts stay POSIX sh with awk, pgrep
 * and setsid: devbox:1 has them; an image without s3fs gets a clear error. Nothing in them stats
 * a mounted path outside a bounded background listing: a stuck s3fs must never hold a script. */
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
/* answers PATH: whether a listing of PATH ends well within 20 s. ls runs in the background
 * with its output in a file, so that a listing stuck in a FUSE request (a bucket that went
 * away, an s3fs that hangs) costs the script 20 s and never holds the exec; $why says what
 * failed. Deadlines are read from /proc/uptime with the shell's read (no process per turn:
 * under TCG a fork costs tens of milliseconds, so counting turns would not bound time).
 * A listing that ends well must hold "." and "..": s3fs answers a listing of a bucket deleted
 * under it with nothing at all, not even those, and no error. */
#define ANSWERS_FN                                                                              \
    "answers() {\n"                                                                             \
    "  e=/run/hearth-disks/ls.$$; mkdir -p /run/hearth-disks 2>/dev/null\n"                      \
    "  ( exec ls -a \"$1\" >\"$e.o\" 2>\"$e\" ) </dev/null >/dev/null 2>&1 &\n"                     \
    "  lp=$!; read u _ </proc/uptime; end=$(( ${u%.*} + 20 ))\n"                                \
    "  while kill -0 $lp 2>/dev/null; do\n"                                                     \
    "    read u _ </proc/uptime\n"                                                              \
    "    if [ ${u%.*} -ge $end ]; then kill -9 $lp 2>/dev/null; rm -f \"$e\" \"$e.o\"\n"       \
    "      why='no answer within 20 s'; return 1; fi\n"                                         \
    "    sleep 0.2\n"                                                                           \
    "  done\n"                                                                                  \
    "  if wait $lp; then\n"                                                                     \
    "    grep -qx '[.]' \"$e.o\" && { rm -f \"$e\" \"$e.o\"; return 0; }\n"                        \
    "    why='the listing came back empty: is the bucket still there?'\n"                       \
    "  else\n"                                                                                  \
    "    why=$(head -n 1 \"$e\" 2>/dev/null | sed 's/^ls: //' | cut -c1-150)\n"                  \
    "  fi\n"                                                                                    \
    "  rm -f \"$e\" \"$e.o\"; [ -n \"$why\" ] || why='the listing failed'; return 1\n"             \
    "}\n"
/* src_at PATH: the source of the mount at PATH (the last one), read from /proc/mounts.
 * findmnt --mountpoint would resolve PATH first, a stat that hangs on a mount whose s3fs
 * waits for a dead endpoint; mount paths hold no blank or backslash (docs/api.md §3.9.6), so
 * the table's fields are the paths as given. */
#define SRC_FN                                                                                  \
    "src_at() { awk -v p=\"$1\" '$2 == p { s = $1 } END { print s }' /proc/mounts 2>/dev/null; }\n"
/* kills the s3fs processes serving the mount tagged $1 (one that stopped answering) */
#define KILL_FN                                                                                 \
    "kill_tag() {\n"                                                                            \
    "  for s in $(pgrep -x s3fs); do\n"                                                         \
    "    tr '\\0' ' ' </proc/$s/cmdline 2>/dev/null | grep -q \"fsname=$1\\( \\|,\\|$\\)\" &&\n"   \
    "      kill -9 $s 2>/dev/null\n"                                                            \
    "  done\n"                                                                                  \
    "}\n"
/* abort_at PATH: aborts the FUSE connection of the mount at PATH (the kernel's way to end
 * every request stuck on it, docs/disks.md "Mounts"): a process waiting on a request s3fs had
 * taken is not freed by SIGKILL, and while any s3fs thread waits on its own mount, a killed
 * s3fs never closes /dev/fuse. The connection is named by the mount's minor device number, read
 * from mountinfo (no stat of PATH); fusectl is mounted when missing. */
#define ABORT_FN                                                                                \
    "abort_at() {\n"                                                                            \
    "  d=$(awk -v p=\"$1\" '$5 == p { d = $3 } END { print d }' /proc/self/mountinfo 2>/dev/null)\n" \
    "  a=/sys/fs/fuse/connections/${d#*:}/abort; [ -n \"$d\" ] || return 0\n"                     \
    "  [ -e \"$a\" ] || mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null\n"          \
    "  echo 1 >\"$a\" 2>/dev/null; return 0\n"                                                   \
    "}\n"

/* s3fs runs in the foreground of a session of its own (setsid) so that the exec ends while it
 * keeps serving, with its stderr in a file on the guest's /run (tmpfs) for the reason of a
 * failure (s3fs prints no credential at its default log level). A bucket that does not exist
 * or a refused key makes s3fs exit; an endpoint that does not answer leaves a mount whose
 * listing fails: both are errors, and the half-made mount is taken down. A mount already there
 * with the same tag that answers is kept (a resume, a hearthd restart); one that does not
 * answer is taken down with its s3fs; one with another tag (rotated credentials) is unmounted
 * lazily, so files open on it keep working until closed. */
static const char mount_script[] =
    ANSWERS_FN KILL_FN SRC_FN ABORT_FN
    "p=$1 src=$2 opts=$3 tag=$4\n"
    "cur=$(src_at \"$p\")\n"
    "if [ \"$cur\" = \"hearth:$tag\" ] && answers \"$p\"; then exit 0; fi\n"
    "command -v s3fs >/dev/null 2>&1 || { echo 'this image has no s3fs (devbox:1 has it)' >&2; exit 3; }\n"
    "[ -c /dev/fuse ] || { echo 'this guest has no /dev/fuse' >&2; exit 3; }\n"
    "case $cur in\n"
    "'') ;;\n"
    "hearth:*) [ \"$cur\" = \"hearth:$tag\" ] && { kill_tag \"$cur\"; abort_at \"$p\"; }\n"
    "  umount \"$p\" 2>/dev/null || umount -l \"$p\" 2>/dev/null ;;\n"
    "*) echo \"something else is mounted at $p\" >&2; exit 4 ;;\n"
    "esac\n"
    "if [ -e \"$p\" ] && [ ! -d \"$p\" ]; then echo \"$p exists and is not a directory\" >&2; exit 4; fi\n"
    "mkdir -p \"$p\" 2>/dev/null || { echo \"cannot create $p\" >&2; exit 4; }\n"
    "mkdir -p /run/hearth-disks 2>/dev/null; log=/run/hearth-disks/$tag.log\n"
    "setsid s3fs \"$src\" \"$p\" -f -o \"$opts\" </dev/null >/dev/null 2>\"$log\" &\n"
    "pid=$!\n"
    "last() { tail -n 1 \"$log\" 2>/dev/null | tr -d '\\r' | cut -c1-150; }\n"
    "read u _ </proc/uptime; end=$(( ${u%.*} + 30 ))\n"
    "until [ \"$(src_at \"$p\")\" = \"hearth:$tag\" ]; do\n"
    "  read u _ </proc/uptime\n"
    "  if ! kill -0 $pid 2>/dev/null || [ ${u%.*} -ge $end ]; then\n"
    "    w=$(last); kill $pid 2>/dev/null\n"
    "    echo \"s3fs did not mount the bucket (${w:-is it there, and are the credentials right?})\" >&2; exit 5\n"
    "  fi\n"
    "  sleep 0.1\n"
    "done\n"
    "if ! answers \"$p\" || ! kill -0 $pid 2>/dev/null; then\n"
    "  kill -0 $pid 2>/dev/null || why=''\n"
    "  w=$(last); kill -9 $pid 2>/dev/null; abort_at \"$p\"; umount -l \"$p\" 2>/dev/null\n"
    "  [ -n \"$w\" ] || w=$why\n"
    "  echo \"the bucket does not answer (${w:-s3fs exited: is the bucket there, and are the credentials right?})\" >&2; exit 6\n"
    "fi\n";

/* A mount that stays silent for 20 s is taken down with its s3fs and its FUSE connection
 * aborted: that ends the requests stuck on it (a SIGKILL alone does not free a process waiting
 * on a request s3fs has taken), and the next round mounts it again. */
static const char check_script[] =
    ANSWERS_FN KILL_FN SRC_FN ABORT_FN
    "p=$1\n"
    "cur=$(src_at \"$p\")\n"
    "case $cur in\n"
    "hearth:*) ;;\n"
    "*) echo 'the mount is gone from the guest' >&2; exit 1 ;;\n"
    "esac\n"
    "answers \"$p\" && exit 0\n"
    "case $why in 'no answer'*) kill_tag \"$cur\"; abort_at \"$p\"; umount -l \"$p\" 2>/dev/null ;; esac\n"
    "echo \"the mount does not answer: $why\" >&2; exit 1\n";

/* umount, then umount -l when busy (fusermount -u would resolve the path first: a stat) */
static const char unmount_script[] =
    SRC_FN
    "p=$1\n"
    "case $(src_at \"$p\") in hearth:*) ;; *) exit 0 ;; esac\n"
    "umount \"$p\" 2>/dev/null || { umount -l \"$p\" && echo lazy; }\n";

static const char prune_script[] =
    "awk '$1 ~ /^hearth:/ { print $1, $2 }' /proc/mounts 2>/dev/null | while read -r src tgt; do\n"
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
