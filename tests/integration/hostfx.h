/* SPDX-License-Identifier: MIT */
/* hostfx.h: the fixture of the integration tests that drive the asynchronous host layer
 * (host.h) on a libevent loop of their own: a host object over the real images in a temp run
 * root, running the loop until enough callbacks came (or a deadline), and sandbox-shaped ids. */
#pragma once

#include <event2/util.h>
#include <limits.h>
#include <stdbool.h>

struct event_base;
struct host;

struct hostfx {
    struct event_base *base;
    struct host *h;
    char images[PATH_MAX];
    char run_root[64];
    bool timed_out;
};

/* Skips the test without images (vmtest_paths); else a loop and a host with a 60 s boot
 * deadline under /tmp/hearth-<tag>.XXXXXX. false on failure (the test has failed). */
bool hostfx_init(struct hostfx *f, const char *tag);
/* host_free() (every VM killed), the loop freed, the run root removed. */
void hostfx_release(struct hostfx *f);
/* Runs the loop until *count >= want or timeout_s; false on timeout. */
bool hostfx_run_until(struct hostfx *f, const int *count, int want, int timeout_s);
/* An evtimer callback (arg: the fixture) that sets timed_out and breaks the loop, for tests
 * that wait on something hostfx_run_until() cannot count. */
void hostfx_on_timeout(evutil_socket_t fd, short what, void *arg);
/* The image path the catalog would give for name: <images>/<name>.ext4 into out (PATH_MAX);
 * the host takes absolute paths only. Returns out. */
const char *hostfx_image(const struct hostfx *f, const char *name, char *out);
/* A new "sb-<ULID>" id. */
void hostfx_new_id(char out[32]);
