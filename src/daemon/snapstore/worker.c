/* SPDX-License-Identifier: MIT */
/* worker.c: threads that report to the loop through a pipe (worker.h). */
#include "daemon/snapstore/worker.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct snap_worker {
    pthread_t th;
    int pipe_r, pipe_w;
    struct event *ev;
    snap_work_fn work;
    snap_done_fn done;
    void *arg;
    struct snap_worker *next;               /* the live list (loop thread only) */
};

static struct snap_worker *live;
static unsigned n_live;

static void *thread_main(void *p)
{
    struct snap_worker *w = p;
    w->work(w->arg);
    char b = 1;
    while (write(w->pipe_w, &b, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

static void destroy(struct snap_worker *w)
{
    if (w->ev)
        event_free(w->ev);
    if (w->pipe_r >= 0)
        close(w->pipe_r);
    if (w->pipe_w >= 0)
        close(w->pipe_w);
    free(w);
}

static void unlink_live(struct snap_worker *w)
{
    for (struct snap_worker **pp = &live; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            n_live--;
            return;
        }
}

static void on_pipe(evutil_socket_t fd, short what, void *p)
{
    struct snap_worker *w = p;
    pthread_join(w->th, NULL);
    unlink_live(w);
    snap_done_fn done = w->done;
    void *arg = w->arg;
    destroy(w);
    done(arg); /* may start another worker */
}

int snap_worker_start(struct event_base *base, snap_work_fn work, snap_done_fn done, void *arg)
{
    struct snap_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->pipe_r = w->pipe_w = -1;
    w->work = work;
    w->done = done;
    w->arg = arg;
    int fds[2];
    int r = pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0 ? -errno : 0;
    if (r == 0) {
        w->pipe_r = fds[0];
        w->pipe_w = fds[1];
        w->ev = event_new(base, w->pipe_r, EV_READ, on_pipe, w);
        if (!w->ev || event_add(w->ev, NULL) < 0)
            r = -ENOMEM;
    }
    if (r == 0 && pthread_create(&w->th, NULL, thread_main, w) != 0)
        r = -EAGAIN;
    if (r < 0) {
        destroy(w);
        return r;
    }
    w->next = live;
    live = w;
    n_live++;
    return 0;
}

unsigned snap_worker_running(void)
{
    return n_live;
}

void snap_worker_drain(void)
{
    while (live) {
        struct snap_worker *w = live;
        live = w->next;
        n_live--;
        pthread_join(w->th, NULL);
        destroy(w);
    }
}
