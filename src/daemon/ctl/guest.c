/* SPDX-License-Identifier: MIT */
/* guest.c: one-shot commands in a guest for the API's own chores (guest.h). Owns a copy of the
 * argv and the output buffer of each chore until its done callback returned; knows nothing of
 * the store or HTTP. */
#include "daemon/ctl/guest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/wire.h"
#include "daemon/host/host.h"

#define GUEST_OUT_MAX (64u << 10)

struct guest_job {
    struct host *h;
    char id[72];
    char **argv;                 /* owned copy */
    struct agent_exec_req req;
    struct agent_stream_ops ops;
    struct buf err;              /* stderr (bounded) */
    struct event *ev;            /* reports from the loop */
    int rc, status;
    char msg[320];
    guest_done_fn done;
    void *ud;
    struct guest_job *next;      /* the chores under way (all_jobs); the loop's thread only */
};

static struct guest_job *all_jobs;

static const char *const default_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", NULL
};

static void job_free(struct guest_job *j)
{
    if (!j)
        return;
    for (struct guest_job **p = &all_jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    if (j->argv)
        for (char **a = j->argv; *a; a++)
            free(*a);
    free(j->argv);
    buf_release(&j->err);
    if (j->ev)
        event_free(j->ev);
    free(j);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
    struct guest_job *j = arg;
    j->done(j->ud, j->rc, j->status, j->msg);
    job_free(j);
}

static int on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct guest_job *j = ud;
    if (type == WIRE_STDERR) {
        size_t room = j->err.max - j->err.len;
        if (buf_append(&j->err, p, len < room ? len : room) < 0)
            return 0; /* out of memory: the detail is only for a log line */
    }
    return 0;
}

static void on_end(void *ud, const struct agent_end *end)
{
    struct guest_job *j = ud;
    switch (end->kind) {
    case AGENT_END_EXIT:
        j->rc = 0;
        j->status = end->signal ? 128 + end->signal : end->exit_code;
        if (end->timed_out)
            j->rc = -ETIMEDOUT;
        snprintf(j->msg, sizeof(j->msg), "%.*s", (int)(j->err.len < 200 ? j->err.len : 200),
                 j->err.data ? (const char *)j->err.data : "");
        for (char *c = j->msg; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        break;
    case AGENT_END_DONE:
        j->rc = 0;
        break;
    default:
        j->rc = end->err < 0 ? end->err : -EIO;
        snprintf(j->msg, sizeof(j->msg), "%.31s%s%.255s", end->error, end->error[0] ? ": " : "",
                 end->message);
        break;
    }
    event_active(j->ev, EV_TIMEOUT, 0);
}

/* default_env followed by extra (NULL-terminated): a NULL-terminated array of borrowed
 * pointers (free() the array only), or NULL on out of memory. */
static const char **env_join(const char *const *extra)
{
    size_t nd = sizeof(default_env) / sizeof(default_env[0]) - 1, ne = 0;
    while (extra && extra[ne])
        ne++;
    const char **v = calloc(nd + ne + 1, sizeof(*v));
    if (!v)
        return NULL;
    for (size_t i = 0; i < nd; i++)
        v[i] = default_env[i];
    for (size_t i = 0; i < ne; i++)
        v[nd + i] = extra[i];
    return v;
}

int guest_run(struct host *h, struct event_base *base, const char *id,
              const char *const *argv, unsigned timeout_ms, guest_done_fn done, void *ud)
{
    return guest_run_env(h, base, id, argv, NULL, timeout_ms, done, ud);
}

int guest_run_env(struct host *h, struct event_base *base, const char *id,
                  const char *const *argv, const char *const *env, unsigned timeout_ms,
                  guest_done_fn done, void *ud)
{
    struct guest_job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    size_t n = 0;
    while (argv[n])
        n++;
    j->h = h;
    snprintf(j->id, sizeof(j->id), "%s", id);
    j->done = done;
    j->ud = ud;
    buf_init(&j->err, GUEST_OUT_MAX);
    j->argv = calloc(n + 1, sizeof(*j->argv));
    j->ev = event_new(base, -1, 0, on_report, j);
    if (!j->argv || !j->ev)
        goto out_nomem;
    for (size_t i = 0; i < n; i++)
        if (!(j->argv[i] = strdup(argv[i])))
            goto out_nomem;
    /* the extra env is borrowed only for host_vm_exec(), which encodes and queues the
     * request before it returns: the job never points at it afterwards */
    const char **envv = env ? env_join(env) : NULL;
    if (env && !envv)
        goto out_nomem;
    j->req = (struct agent_exec_req){ .argv = (const char *const *)j->argv,
                                      .env = envv ? envv : default_env, .cwd = "/",
                                      .timeout_ms = timeout_ms };
    j->ops = (struct agent_stream_ops){ .on_data = on_data, .on_end = on_end };
    int r = host_vm_exec(h, id, &j->req, &j->ops, j, NULL);
    j->req.env = default_env;
    free(envv);
    if (r < 0) {
        job_free(j);
        return r;
    }
    j->next = all_jobs;
    all_jobs = j;
    return 0;
out_nomem:
    job_free(j);
    return -ENOMEM;
}

void guest_jobs_drop_all(void)
{
    while (all_jobs)
        job_free(all_jobs);
}

/* $1 hostname, then the keys. Busybox and Debian both have hostname(1), mkdir, chmod, printf. */
static const char identity_script[] =
    "set -e\n"
    "hostname \"$1\" 2>/dev/null || printf '%s' \"$1\" > /proc/sys/kernel/hostname\n"
    "printf '%s\\n' \"$1\" > /etc/hostname\n"
    "shift\n"
    "if [ $# -gt 0 ]; then\n"
    "  mkdir -p /root/.ssh && chmod 700 /root/.ssh\n"
    "  printf '%s\\n' \"$@\" > /root/.ssh/authorized_keys.tmp\n"
    "  chmod 600 /root/.ssh/authorized_keys.tmp\n"
    "  mv -f /root/.ssh/authorized_keys.tmp /root/.ssh/authorized_keys\n"
    "fi\n";

const char **guest_identity_argv(const char *hostname, const char *const *keys, size_t n)
{
    const char **v = calloc(n + 6, sizeof(*v));
    if (!v)
        return NULL;
    size_t i = 0;
    v[i++] = "/bin/sh";
    v[i++] = "-c";
    v[i++] = identity_script;
    v[i++] = "sh";
    v[i++] = hostname;
    for (size_t k = 0; k < n; k++)
        v[i++] = keys[k];
    v[i] = NULL;
    return v;
}

const char *const *guest_grow_root_argv(void)
{
    static const char *const argv[] = { "resize2fs", "/dev/vda", NULL };
    return argv;
}
