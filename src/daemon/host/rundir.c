/* SPDX-License-Identifier: MIT */
/* rundir.c: run directory helpers: id check, pid file (write, parse, validate against
 * /proc/PID/stat), removal, and start-failure explanations from the logs it holds. Owns no
 * state; never logs. */
#include "daemon/host/rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/herr.h"
#include "daemon/host/proc.h"
#include "daemon/host/qemu.h"

#define PID_MAX_LIMIT 4194304 /* the kernel's ceiling for pid_max */

bool rundir_id_valid(const char *id)
{
    static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    if (!id || strncmp(id, "sb-", 3) != 0)
        return false;
    const char *u = id + 3;
    size_t n = strnlen(u, 27);
    if (n != 26)
        return false;
    if (u[0] < '0' || u[0] > '7') /* 48-bit timestamp: the first character carries 3 bits */
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr(crockford, u[i]) || u[i] == 0)
            return false;
    return true;
}

int rundir_pidfile_format(pid_t pid, uint64_t starttime, char *out, size_t len)
{
    int n = snprintf(out, len, "%d %llu\n", (int)pid, (unsigned long long)starttime);
    if (n < 0 || (size_t)n >= len)
        return -ENOSPC;
    return n;
}

/* Parses a decimal number without sign or leading zero from s[*pos..len), up to max. */
static int parse_dec(const char *s, size_t len, size_t *pos, uint64_t max, uint64_t *ret)
{
    size_t i = *pos;
    uint64_t v = 0;
    if (i >= len || s[i] < '0' || s[i] > '9')
        return -EBADMSG;
    if (s[i] == '0' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
        return -EBADMSG;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (max - d) / 10)
            return -EBADMSG;
        v = v * 10 + d;
    }
    *pos = i;
    *ret = v;
    return 0;
}

int rundir_pidfile_parse(const char *s, size_t len, pid_t *ret_pid, uint64_t *ret_starttime)
{
    if (!s || len == 0 || len > RUNDIR_PIDFILE_MAX)
        return -EBADMSG;
    size_t pos = 0;
    uint64_t pid, st;
    if (parse_dec(s, len, &pos, PID_MAX_LIMIT, &pid) < 0 || pid < 2)
        return -EBADMSG;
    if (pos >= len || s[pos] != ' ')
        return -EBADMSG;
    pos++;
    if (parse_dec(s, len, &pos, UINT64_MAX, &st) < 0 || st == 0)
        return -EBADMSG;
    if (pos < len && s[pos] == '\n')
        pos++;
    if (pos != len)
        return -EBADMSG;
    *ret_pid = (pid_t)pid;
    *ret_starttime = st;
    return 0;
}

int rundir_stat_starttime(const char *s, size_t len, uint64_t *ret)
{
    const char *end = NULL;
    for (size_t i = len; i > 0; i--) {
        if (s[i - 1] == ')') {
            end = s + i;
            break;
        }
    }
    if (!end)
        return -EBADMSG;
    /* after "pid (comm)" come fields 3.. separated by single spaces: state is field 3 */
    size_t pos = (size_t)(end - s), field = 2;
    while (field < 22) {
        if (pos >= len || s[pos] != ' ')
            return -EBADMSG;
        pos++;
        field++;
        if (field == 22)
            break;
        while (pos < len && s[pos] != ' ' && s[pos] != '\n' && s[pos] != 0)
            pos++;
    }
    uint64_t v;
    if (parse_dec(s, len, &pos, UINT64_MAX, &v) < 0)
        return -EBADMSG;
    if (pos < len && s[pos] != ' ' && s[pos] != '\n')
        return -EBADMSG;
    *ret = v;
    return 0;
}

int rundir_proc_starttime(pid_t pid, uint64_t *ret)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -ESRCH : -errno;
    ssize_t n = read(fd, buf, sizeof(buf));
    int err = errno;
    close(fd);
    if (n < 0)
        return err == ESRCH ? -ESRCH : -err;
    return rundir_stat_starttime(buf, (size_t)n, ret);
}

int rundir_pidfile_write(const char *dir, pid_t pid)
{
    uint64_t st;
    int r = rundir_proc_starttime(pid, &st);
    if (r < 0)
        return r;
    char body[RUNDIR_PIDFILE_MAX + 1], tmp[PATH_MAX], path[PATH_MAX];
    int n = rundir_pidfile_format(pid, st, body, sizeof(body));
    if (n < 0)
        return n;
    if (qemu_run_path(dir, RUNDIR_PIDFILE ".tmp", tmp, sizeof(tmp)) < 0 ||
        qemu_run_path(dir, RUNDIR_PIDFILE, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    if (write(fd, body, (size_t)n) != n) {
        r = errno ? -errno : -EIO;
        close(fd);
        (void)unlink(tmp); /* best effort: a stray temp file is removed with the run dir */
        return r;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        r = -errno;
        (void)unlink(tmp);
        return r;
    }
    return 0;
}

int rundir_pidfile_open(const char *dir, pid_t *ret_pid, int *ret_pidfd)
{
    char path[PATH_MAX], body[RUNDIR_PIDFILE_MAX + 1];
    if (qemu_run_path(dir, RUNDIR_PIDFILE, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EBADMSG;
    }
    ssize_t n = read(fd, body, sizeof(body));
    close(fd);
    if (n < 0)
        return -EBADMSG;
    pid_t pid;
    uint64_t want;
    if (rundir_pidfile_parse(body, (size_t)n, &pid, &want) < 0)
        return -EBADMSG;
    /* Open first, compare after: once the pidfd is held the pid cannot be reused, so a
     * matching start time proves the pidfd names the process we started. */
    int pidfd = pidfd_open(pid, 0);
    if (pidfd < 0)
        return errno == ESRCH ? -ESRCH : -errno;
    uint64_t have;
    int r = rundir_proc_starttime(pid, &have);
    if (r < 0 || have != want) {
        close(pidfd);
        return r < 0 && r != -EBADMSG ? r : -ESRCH;
    }
    *ret_pid = pid;
    *ret_pidfd = pidfd;
    return 0;
}

ssize_t rundir_proc_cmdline(pid_t pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, len - 1);
    int r = n < 0 ? -errno : 0;
    close(fd);
    if (r < 0)
        return r;
    buf[n] = '\0';
    return n;
}

/* Whether process pid is a QEMU (argv[0]'s basename starts with "qemu") with an argument that
 * contains needle ("<run dir>/"). */
static bool cmdline_names(pid_t pid, const char *needle)
{
    char buf[16384];
    ssize_t n = rundir_proc_cmdline(pid, buf, sizeof(buf));
    if (n <= 0)
        return false;
    const char *slash = strrchr(buf, '/');
    if (strncmp(slash ? slash + 1 : buf, "qemu", 4) != 0)
        return false;
    for (const char *a = buf; a < buf + n; a += strlen(a) + 1)
        if (strstr(a, needle))
            return true;
    return false;
}

int rundir_find_qemu(const char *dir, pid_t *ret_pid, int *ret_pidfd)
{
    char needle[PATH_MAX];
    if ((size_t)snprintf(needle, sizeof(needle), "%s/", dir) >= sizeof(needle))
        return -ENAMETOOLONG;
    DIR *d = opendir("/proc");
    if (!d)
        return -errno;
    int r = -ESRCH;
    struct dirent *de;
    while (r == -ESRCH && (de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
        if (!cmdline_names(pid, needle))
            continue;
        int pidfd = pidfd_open(pid, 0);
        if (pidfd < 0)
            continue;
        if (!cmdline_names(pid, needle)) { /* exited and reused between the two reads */
            close(pidfd);
            continue;
        }
        *ret_pid = pid;
        *ret_pidfd = pidfd;
        r = 0;
    }
    closedir(d);
    return r;
}

int rundir_check_file(const char *what, const char *path, struct herr *e)
{
    if (!path || !*path)
        return herr_set(e, -EINVAL, "no %s given", what);
    struct stat st;
    if (stat(path, &st) < 0)
        return herr_set(e, -errno, "%s '%s': %s", what, path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return herr_set(e, -EINVAL, "%s '%s' is not a regular file", what, path);
    if (access(path, R_OK) < 0)
        return herr_set(e, -errno, "%s '%s': %s", what, path, strerror(errno));
    return 0;
}

void rundir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            /* flat dir of our files, plus the empty mount point of a jail; best effort */
            if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR)
                (void)unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
        }
        closedir(d);
    }
    (void)rmdir(dir); /* best effort: a leftover dir is harmless */
}

int rundir_explain_exit(const char *dir, int status, bool status_known, struct herr *e)
{
    char path[PATH_MAX], tail[360], how[64];
    if (status_known)
        proc_status_describe(status, how, sizeof(how));
    else
        snprintf(how, sizeof(how), "exited");
    if (qemu_run_path(dir, "console.log", path, sizeof(path)) == 0) {
        qemu_log_tail(path, tail, sizeof(tail));
        if (strstr(tail, "Kernel panic")) {
            herr_clear(e);
            return herr_set(e, -EIO, "guest kernel panicked during boot: %s", tail);
        }
    }
    tail[0] = 0;
    if (qemu_run_path(dir, "qemu.log", path, sizeof(path)) == 0)
        qemu_log_tail(path, tail, sizeof(tail));
    herr_clear(e);
    return herr_set(e, -ECHILD, "qemu %s during start: %s", how,
                    *tail ? tail : "(qemu.log is empty)");
}

int rundir_explain_timeout(const char *dir, int boot_ms, struct herr *e)
{
    char path[PATH_MAX], tail[360];
    tail[0] = 0;
    if (qemu_run_path(dir, "console.log", path, sizeof(path)) == 0)
        qemu_log_tail(path, tail, sizeof(tail));
    herr_clear(e);
    return herr_set(e, -ETIMEDOUT,
                    "guest agent not ready after %d ms; is init the hearth agent? console: %s",
                    boot_ms, *tail ? tail : "(empty)");
}
