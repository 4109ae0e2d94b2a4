/* SPDX-License-Identifier: MIT */
/* plainmig.c: a plain full-RAM restore straight through QEMU (plainmig.h). A blocking QMP
 * exchange is enough here: one client, one command at a time, events skipped. */
#include "plainmig.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/herr.h"
#include "common/mono.h"
#include "daemon/host/qemu.h"
#include "stats.h"

extern char **environ;

struct qmp {
    FILE *f;
};

/* The next reply (a line with "return" or "error"), events skipped; NULL at EOF. */
static json_t *qmp_reply(struct qmp *q)
{
    char line[65536];
    while (fgets(line, sizeof(line), q->f)) {
        json_t *j = json_loads(line, 0, NULL);
        if (j && (json_object_get(j, "return") || json_object_get(j, "error")))
            return j;
        json_decref(j);
    }
    return NULL;
}

static int qmp_do(struct qmp *q, const char *cmd, const char *args, json_t **ret,
                  struct herr *e)
{
    fprintf(q->f, "{\"execute\":\"%s\"%s%s}\n", cmd, args ? ",\"arguments\":" : "",
            args ? args : "");
    fflush(q->f);
    json_t *j = qmp_reply(q);
    if (!j)
        return herr_set(e, -EIO, "QMP %s: no reply", cmd);
    if (json_object_get(j, "error")) {
        const char *d = json_string_value(json_object_get(json_object_get(j, "error"), "desc"));
        herr_set(e, -EIO, "QMP %s: %s", cmd, d ? d : "error");
        json_decref(j);
        return -EIO;
    }
    if (ret)
        *ret = j;
    else
        json_decref(j);
    return 0;
}

static int qmp_connect(const char *sock, int64_t deadline_us, struct qmp *q, struct herr *e)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(sock) >= sizeof(sa.sun_path))
        return herr_set(e, -ENAMETOOLONG, "QMP socket path too long");
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    while (mono_now_us() < deadline_us) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return herr_set(e, -errno, "socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            q->f = fdopen(fd, "r+");
            if (!q->f) {
                close(fd);
                return herr_set(e, -ENOMEM, "fdopen");
            }
            char greeting[4096]; /* {"QMP": …}: neither a return nor an error */
            if (!fgets(greeting, sizeof(greeting), q->f))
                return herr_set(e, -EIO, "QMP closed before its greeting");
            return 0;
        }
        close(fd);
        usleep(1000);
    }
    return herr_set(e, -ETIMEDOUT, "QMP did not come up");
}

static int run_cmd(const char *cmd)
{
    int r = system(cmd);
    return r == 0 ? 0 : -EIO;
}

int plainmig_restore(const char *kernel, const char *disk, unsigned memory_mib,
                     const char *stream, const char *workdir, double *ret_ms, struct herr *e)
{
    char run[PATH_MAX], p[PATH_MAX + 64], cmd[3 * PATH_MAX];
    snprintf(run, sizeof(run), "%s/run", workdir);
    if (mkdir(run, 0700) < 0 && errno != EEXIST)
        return herr_set(e, -errno, "mkdir %s: %s", run, strerror(errno));
    snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 -F qcow2 -b '%s' '%s/disk.qcow2'",
             disk, run);
    if (run_cmd(cmd) < 0)
        return herr_set(e, -EIO, "qemu-img failed");
    snprintf(p, sizeof(p), "%s/mem", run);
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)memory_mib << 20) < 0) {
        if (fd >= 0)
            close(fd);
        return herr_set(e, -EIO, "RAM file");
    }
    close(fd);
    enum qemu_accel want = QEMU_ACCEL_AUTO;
    (void)qemu_accel_from_string(bench_accel(), &want);
    struct qemu_config c = { .kernel = kernel, .run_dir = run,
                             .accel = qemu_accel_resolve(want, "/sys/module", "/dev/kvm"),
                             .vcpus = 1, .memory_mib = memory_mib, .no_sandbox = true,
                             .mem_private = true, .incoming = true, .nic = true };
    char **argv = NULL;
    int r = qemu_argv_build(&c, &argv);
    if (r < 0)
        return herr_set(e, r, "qemu argv: %s", strerror(-r));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    snprintf(p, sizeof(p), "%s/qemu.log", run);
    posix_spawn_file_actions_addopen(&fa, 1, p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    int64_t t0 = mono_now_us();
    r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    qemu_argv_free(argv);
    if (r != 0)
        return herr_set(e, -r, "spawn QEMU: %s", strerror(r));
    struct qmp q = { 0 };
    int64_t dl = t0 + 300000000;
    snprintf(p, sizeof(p), "%s/qmp.sock", run);
    char uri[PATH_MAX + 64];
    snprintf(uri, sizeof(uri), "{\"uri\":\"exec:cat %s\"}", stream);
    r = qmp_connect(p, dl, &q, e);
    if (r == 0)
        r = qmp_do(&q, "qmp_capabilities", NULL, NULL, e);
    if (r == 0)
        r = qmp_do(&q, "migrate-set-capabilities",
                   "{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}",
                   NULL, e);
    if (r == 0)
        r = qmp_do(&q, "migrate-incoming", uri, NULL, e);
    while (r == 0 && mono_now_us() < dl) {
        json_t *j = NULL;
        if ((r = qmp_do(&q, "query-migrate", NULL, &j, e)) < 0)
            break;
        const char *st = json_string_value(json_object_get(json_object_get(j, "return"),
                                                           "status"));
        bool done = st && strcmp(st, "completed") == 0;
        bool failed = st && strcmp(st, "failed") == 0;
        json_decref(j);
        if (failed)
            r = herr_set(e, -EIO, "the incoming migration failed (see %s/qemu.log)", run);
        if (done || failed)
            break;
        usleep(1000);
    }
    if (r == 0)
        r = qmp_do(&q, "cont", NULL, NULL, e);
    if (r == 0)
        *ret_ms = (double)(mono_now_us() - t0) / 1000.0;
    if (q.f)
        fclose(q.f);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run);
    (void)run_cmd(cmd);
    return r;
}
