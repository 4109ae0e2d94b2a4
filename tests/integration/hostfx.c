/* SPDX-License-Identifier: MIT */
/* hostfx.c: see hostfx.h. */
#include "hostfx.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/ulid.h"
#include "daemon/host/host.h"
#include "harness.h"
#include "vmtest.h"

bool hostfx_init(struct hostfx *f, const char *tag)
{
    char kernel[PATH_MAX], rootfs[PATH_MAX];
    vmtest_paths(kernel, rootfs);
    snprintf(f->images, sizeof(f->images), "%s", getenv("HEARTH_IMAGES"));
    snprintf(f->run_root, sizeof(f->run_root), "/tmp/hearth-%s.XXXXXX", tag);
    REQUIRE(mkdtemp(f->run_root));
    f->base = event_base_new();
    REQUIRE(f->base);
    struct host_config c = { .images_dir = f->images, .run_root = f->run_root,
                             .boot_timeout_ms = 60000, .stop_timeout_ms = 10000 };
    REQUIRE(host_new(f->base, &c, &f->h) == 0);
    return true;
}

void hostfx_release(struct hostfx *f)
{
    host_free(f->h);
    f->h = NULL;
    if (f->base)
        event_base_free(f->base);
    /* the host makes golden/ under its run root; both are empty once every VM is gone */
    char golden[sizeof(f->run_root) + 8];
    snprintf(golden, sizeof(golden), "%s/golden", f->run_root);
    rmdir(golden);
    rmdir(f->run_root);
}

void hostfx_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct hostfx *f = arg;
    f->timed_out = true;
    event_base_loopbreak(f->base);
}

bool hostfx_run_until(struct hostfx *f, const int *count, int want, int timeout_s)
{
    struct event *t = evtimer_new(f->base, hostfx_on_timeout, f);
    struct timeval tv = { .tv_sec = timeout_s };
    evtimer_add(t, &tv);
    f->timed_out = false;
    while (*count < want && !f->timed_out)
        event_base_loop(f->base, EVLOOP_ONCE);
    event_free(t);
    return *count >= want;
}

void hostfx_new_id(char out[32])
{
    char u[ULID_LEN + 1];
    if (ulid_generate(u) < 0)
        abort();
    snprintf(out, 32, "sb-%s", u);
}

const char *hostfx_image(const struct hostfx *f, const char *name, char *out)
{
    if (snprintf(out, PATH_MAX, "%s/%s.ext4", f->images, name) >= PATH_MAX)
        out[0] = 0; /* too long: the create fails as invalid */
    return out;
}
