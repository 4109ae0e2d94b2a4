/* SPDX-License-Identifier: MIT */
/* template_oci.c: OCI base imports on a worker thread (template_oci.h). The worker owns only
 * its job's copies (the config, the ref, the result); it ends by writing one byte to a pipe
 * the loop watches, so the loop never blocks and no libevent call happens off the loop. */
#include "daemon/ctl/template_oci.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/ctl/ctl.h"
#include "daemon/tpl/oci.h"

#define MAX_LINES 200

struct tpl_oci_job {
    struct tpl_oci_config cfg;
    char ref[1024];
    tpl_oci_done_fn done;
    void *ud;
    atomic_bool abandoned;
    int pipe_r, pipe_w;
    struct event *ev;
    pthread_t th;
    /* the worker's results, read after the pipe byte */
    int err;
    struct tpl_oci_image img;
    char msg[512];
    char *lines[MAX_LINES];
    size_t n_lines;
};

static void job_free(struct tpl_oci_job *j)
{
    if (j->ev)
        event_free(j->ev);
    if (j->pipe_r >= 0)
        close(j->pipe_r);
    if (j->pipe_w >= 0)
        close(j->pipe_w);
    for (size_t i = 0; i < j->n_lines; i++)
        free(j->lines[i]);
    tpl_oci_image_free(&j->img);
    free(j);
}

static void on_line(void *ud, const char *line)
{
    struct tpl_oci_job *j = ud;
    if (j->n_lines < MAX_LINES && line && (j->lines[j->n_lines] = strdup(line)))
        j->n_lines++;
}

static void *worker(void *arg)
{
    struct tpl_oci_job *j = arg;
    j->err = tpl_oci_import(&j->cfg, j->ref, on_line, j, &j->img, j->msg, sizeof(j->msg));
    char b = 1;
    while (write(j->pipe_w, &b, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct tpl_oci_job *j = arg;
    pthread_join(j->th, NULL);
    if (!atomic_load(&j->abandoned))
        j->done(j->ud, j->err, j->err == 0 ? &j->img : NULL, j->msg, j->lines, j->n_lines);
    job_free(j);
}

int tpl_oci_job_start(struct ctl *c, const char *ref, tpl_oci_done_fn done, void *ud,
                      struct tpl_oci_job **ret)
{
    if (!c->oci || !c->oci->n_reg)
        return -ENOTSUP;
    struct tpl_oci_job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->cfg = *c->oci;
    strncpy(j->ref, ref, sizeof(j->ref) - 1);
    j->done = done;
    j->ud = ud;
    j->pipe_r = j->pipe_w = -1;
    int fds[2];
    int rc = pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0 ? -errno : 0;
    if (rc == 0) {
        j->pipe_r = fds[0];
        j->pipe_w = fds[1];
        j->ev = event_new(c->base, j->pipe_r, EV_READ, on_pipe, j);
        rc = j->ev && event_add(j->ev, NULL) == 0 ? 0 : -ENOMEM;
    }
    if (rc == 0)
        rc = -pthread_create(&j->th, NULL, worker, j);
    if (rc < 0) {
        job_free(j);
        return rc;
    }
    *ret = j;
    return 0;
}

void tpl_oci_job_abandon(struct tpl_oci_job *j)
{
    if (j)
        atomic_store(&j->abandoned, true);
}
