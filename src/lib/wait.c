/* SPDX-License-Identifier: MIT */
/* wait.c: hearth_sandbox_wait(), waiting for a sandbox's status until a lifecycle transition
 * ends (docs/cli.md §6.2, docs/api.md §2.14.4): with the server's long poll (§5.10), or by
 * polling when the server does not know it. Owns no state between calls; sleeps in short slices so
 * the client's progress callback can animate a spinner or stop the wait. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/lib_internal.h"
#include "common/mono.h"

#define FIRST_POLL_MAX_MS 60000L
#define POLL_START_MS 250L
#define POLL_MAX_MS 2000L
#define POLL_GROW_AFTER_MS 5000L
#define SLICE_MS 100L
#define LONG_POLL_MAX_MS 25000L /* one long poll at most (the server allows 60 s) */

static uint64_t now_ms(void)
{
    return (uint64_t)mono_now_us() / 1000u;
}

/* Sleeps ms, calling the progress callback between slices. false when it said stop. */
static bool nap(hearth_client *c, long ms)
{
    while (ms > 0) {
        if (c->progress_fn && !c->progress_fn(c->progress_ud))
            return false;
        long step = ms < SLICE_MS ? ms : SLICE_MS;
        struct timespec ts = { .tv_sec = step / 1000, .tv_nsec = (step % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        ms -= step;
    }
    return !c->progress_fn || c->progress_fn(c->progress_ud);
}

/* Whether status is one the sandbox cannot leave towards target on its own (docs/api.md §2.14.2):
 * error waits for a resume, failed and destroyed are terminal, destroying ends in destroyed. */
static bool dead_end(const char *target, const char *status)
{
    bool to_destroyed = strcmp(target, "destroyed") == 0;
    return strcmp(status, "error") == 0 || strcmp(status, "failed") == 0 ||
           (!to_destroyed && (strcmp(status, "destroying") == 0 ||
                              strcmp(status, "destroyed") == 0));
}

/* Copies s into a fixed buffer with control characters replaced: it goes to a terminal. */
static void copy_state(char *dst, size_t n, const char *s)
{
    size_t o = 0;
    for (; s[o] && o + 1 < n; o++)
        dst[o] = ((unsigned char)s[o] < 0x20 || s[o] == 0x7f) ? '?' : s[o];
    dst[o] = '\0';
}

HEARTH_EXPORT int hearth_sandbox_wait(hearth_client *c, const char *id,
                                      const struct hearth_wait *w, hearth_obj **ret,
                                      struct hearth_error *reterr)
{
    err_clear(reterr);
    if (!w || !w->target ||
        (strcmp(w->target, "running") != 0 && strcmp(w->target, "paused") != 0 &&
         strcmp(w->target, "destroyed") != 0))
        return err_set(reterr, HEARTH_ERR_INVALID, 0,
                       "cannot wait for '%.40s'; use running, paused or destroyed",
                       w && w->target ? w->target : "");
    if (!id || !*id)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty sandbox id");

    uint64_t start = now_ms();
    uint64_t deadline = w->timeout_ms > 0 ? start + (uint64_t)w->timeout_ms : UINT64_MAX;
    long first = w->first_poll_ms < 0 ? 0 : w->first_poll_ms;
    if (first > FIRST_POLL_MAX_MS)
        first = FIRST_POLL_MAX_MS;
    if (w->timeout_ms > 0 && first > w->timeout_ms)
        first = w->timeout_ms;

    char last[32] = "";
    bool saw_pausing = false;
    bool long_poll = true;      /* until the server shows it does not know wait_for */
    long interval = POLL_START_MS;
    for (;;) {
        hearth_obj *o = NULL;
        int rc;
        if (long_poll) {
            if (c->progress_fn && !c->progress_fn(c->progress_ud))
                return err_set(reterr, HEARTH_ERR_ABORTED, 0, "interrupted");
            /* the server answers once the status is the target or a dead end (docs/api.md
             * §5.10); waiting for paused, it also answers at pausing and, after pausing, at
             * running (a failed snapshot) so that both are told apart as before */
            char wait_for[48];
            snprintf(wait_for, sizeof(wait_for), "%s%s", w->target,
                     strcmp(w->target, "paused") != 0 ? ""
                     : saw_pausing                   ? ",running"
                                                     : ",pausing");
            uint64_t now = now_ms();
            long chunk = deadline == UINT64_MAX || deadline - now > LONG_POLL_MAX_MS
                             ? LONG_POLL_MAX_MS
                             : (long)(deadline - now);
            int timed_out = -1;
            rc = lib_sandbox_wait_get(c, id, wait_for, chunk, &o, &timed_out, reterr);
            if (rc == HEARTH_ERR_RATE_LIMITED) {
                /* the server's waiters are all taken (429 too_many_waiters, after the client's
                 * own retries): poll instead, as with an older server */
                long_poll = false;
                err_clear(reterr);
                rc = hearth_sandbox_get(c, id, &o, reterr);
            } else if (rc == HEARTH_OK && timed_out < 0) {
                long_poll = false; /* an older hearthd: poll as it asks */
                uint64_t spent = now_ms() - start;
                if (first > (long)spent)
                    first -= (long)spent;
                else
                    first = 0;
            }
        } else {
            rc = hearth_sandbox_get(c, id, &o, reterr);
        }
        if (rc != HEARTH_OK)
            return rc;
        const char *status = hearth_obj_str(o, "status");
        if (!status) {
            hearth_obj_free(o);
            return err_set(reterr, HEARTH_ERR_PROTOCOL, 200, "sandbox view has no status");
        }
        char now_state[sizeof(last)];
        copy_state(now_state, sizeof(now_state), status);
        if (strcmp(now_state, last) != 0) {
            memcpy(last, now_state, sizeof(last));
            if (w->on_status)
                w->on_status(w->userdata, last);
        }
        if (strcmp(status, w->target) == 0) {
            if (ret)
                *ret = o;
            else
                hearth_obj_free(o);
            return HEARTH_OK;
        }
        bool snapshot_failed = strcmp(w->target, "paused") == 0 && saw_pausing &&
                               strcmp(status, "running") == 0;
        saw_pausing |= strcmp(status, "pausing") == 0;
        hearth_obj_free(o);
        if (snapshot_failed || dead_end(w->target, last)) {
            if (snapshot_failed)
                err_set(reterr, HEARTH_ERR_STATE, 0,
                        "sandbox '%.60s' is running again: the pause failed", id);
            else
                err_set(reterr, HEARTH_ERR_STATE, 0, "sandbox '%.60s' is %s while waiting for %s",
                        id, last, w->target);
            if (reterr)
                copy_state(reterr->state, sizeof(reterr->state), last);
            return HEARTH_ERR_STATE;
        }
        uint64_t now = now_ms();
        if (now >= deadline) {
            err_set(reterr, HEARTH_ERR_TIMEOUT, 0,
                    "timed out after %.1fs waiting for '%.60s' to be %s (it is %s)",
                    (double)(now - start) / 1000.0, id, w->target, last);
            if (reterr)
                copy_state(reterr->state, sizeof(reterr->state), last);
            return HEARTH_ERR_TIMEOUT;
        }
        if (long_poll)
            continue; /* the next long poll waits on the server */
        if (first > 0) { /* fell back: the 202's hint before the first poll */
            long sleep_ms = first;
            first = 0;
            if (deadline != UINT64_MAX && (uint64_t)sleep_ms > deadline - now)
                sleep_ms = (long)(deadline - now);
            if (!nap(c, sleep_ms))
                return err_set(reterr, HEARTH_ERR_ABORTED, 0, "interrupted");
            continue;
        }
        if (now - start > POLL_GROW_AFTER_MS)
            interval = interval * 5 / 4 > POLL_MAX_MS ? POLL_MAX_MS : interval * 5 / 4;
        long sleep_ms = interval;
        if (deadline != UINT64_MAX && (uint64_t)sleep_ms > deadline - now)
            sleep_ms = (long)(deadline - now);
        if (!nap(c, sleep_ms))
            return err_set(reterr, HEARTH_ERR_ABORTED, 0, "interrupted");
    }
}
