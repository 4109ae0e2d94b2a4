/* SPDX-License-Identifier: MIT */
/* proc_usage.c: a QEMU's usage from /proc (proc_usage.h), for what its cgroup does not account.
 * Every read is bounded (4 KiB per file); a file that is missing or unparsable leaves its field
 * unknown. */
#include "daemon/host/proc_usage.h"

#include "common/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads dir/name (or the path when dir is NULL) into buf, NUL-terminated. 0 or -errno. */
static int read_small(const char *dir, const char *name, char *buf, size_t len)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s%s%s", dir ? dir : "", dir ? "/" : "", name) >=
        sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    ssize_t n = fd_read_full(fd, buf, len - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return 0;
}

int proc_parse_stat_ticks(const char *text, uint64_t *ret_ticks)
{
    /* "pid (comm) state ppid ..." where comm may hold spaces and ')': fields count from the
     * last ')'. utime and stime are fields 14 and 15, the 12th and 13th after it. */
    const char *p = strrchr(text, ')');
    if (!p)
        return -EINVAL;
    p++;
    uint64_t v[2];
    for (int field = 1, got = 0; got < 2; field++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return -EINVAL;
        if (field >= 12) {
            if (*p < '0' || *p > '9')
                return -EINVAL;
            char *end;
            errno = 0;
            unsigned long long x = strtoull(p, &end, 10);
            if (errno || end == p || (*end != ' ' && *end != '\0' && *end != '\n'))
                return -EINVAL;
            v[got++] = x;
        }
        p += strcspn(p, " ");
    }
    *ret_ticks = v[0] + v[1];
    return 0;
}

int proc_parse_status_field(const char *text, const char *name, uint64_t *ret)
{
    size_t nl = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, name, nl) != 0 || p[nl] != ':')
            continue;
        const char *q = p + nl + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(q, &end, 10);
        if (errno || end == q)
            return -ENOENT;
        bool kb = strncmp(end, " kB", 3) == 0;
        if (kb && v > UINT64_MAX / 1024)
            return -ENOENT;
        *ret = kb ? v * 1024 : v;
        return 0;
    }
    return -ENOENT;
}

int proc_read_usage(pid_t pid, struct proc_usage *u)
{
    if (pid <= 0)
        return -EINVAL;
    char path[64], buf[4096];
    uint64_t v;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int r = read_small(NULL, path, buf, sizeof(buf));
    if (r < 0)
        return r == -ENOENT ? -ESRCH : r;
    long hz = sysconf(_SC_CLK_TCK);
    if (!u->has_cpu && hz > 0 && proc_parse_stat_ticks(buf, &v) == 0) {
        u->cpu_usec = v * (1000000u / (uint64_t)hz);
        u->has_cpu = true;
    }
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (read_small(NULL, path, buf, sizeof(buf)) < 0)
        return 0;
    if (!u->has_memory && proc_parse_status_field(buf, "VmRSS", &v) == 0) {
        u->memory_bytes = v;
        u->has_memory = true;
    }
    if (!u->has_pids && proc_parse_status_field(buf, "Threads", &v) == 0) {
        u->pids = v;
        u->has_pids = true;
    }
    return 0;
}
