/* SPDX-License-Identifier: MIT */
/* ctlfx.h: the control layer's test fixture, included by the tests in tests/unit/ctl that drive
 * operations: a real SQLite store in a temp dir (../store/fixture.h) with alice's key, an
 * images dir with a fake kernel and image, a ctl on a loop, optionally a real host object that
 * runs no VM, rows put in any state, and a loop run to let the host answer. */
#pragma once

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "../store/fixture.h"
#include "daemon/ctl/ctl.h"
#include "daemon/host/host.h"
#include "harness.h"

struct cfx {
    struct fx fx;                   /* the store (fixture.h) */
    char root[64];                  /* images/, vms/, snapshots/ */
    struct event_base *base;
    struct host *host;              /* NULL unless cfx_host() */
    struct ctl ctl;
};

static inline bool touch(const char *dir, const char *name)
{
    char p[1300];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    return true;
}

/* A store with alice's key, an images dir with a (fake) kernel and default image, and a ctl
 * on a loop with no VM layer. */
static inline bool cfx_open(struct cfx *c)
{
    memset(c, 0, sizeof(*c));
    REQUIRE(fx_open(&c->fx, true));
    snprintf(c->root, sizeof(c->root), "/tmp/hearth-ctl-XXXXXX");
    REQUIRE(mkdtemp(c->root) != NULL);
    c->base = event_base_new();
    REQUIRE(c->base != NULL);
    ctl_init(&c->ctl);
    c->ctl.store = c->fx.st;
    c->ctl.base = c->base;
    struct ctl_settings *s = &c->ctl.set;
    snprintf(s->region, sizeof(s->region), "local");
    snprintf(s->host_id, sizeof(s->host_id), "test");
    snprintf(s->images_dir, sizeof(s->images_dir), "%s/images", c->root);
    snprintf(s->snapshots_dir, sizeof(s->snapshots_dir), "%s/snapshots", c->root);
    s->max_disk_mib = 262144;
    s->bandwidth_quota_bytes = -1;
    REQUIRE(mkdir(s->images_dir, 0700) == 0);
    REQUIRE(touch(s->images_dir, "vmlinux"));
    REQUIRE(touch(s->images_dir, "debian-12.ext4"));
    return true;
}

/* A real host object on the loop (no VM runs: operations on ids it does not know fail). */
static inline bool cfx_host(struct cfx *c)
{
    char run_root[128];
    snprintf(run_root, sizeof(run_root), "%s/vms", c->root);
    struct host_config hc = { .images_dir = c->ctl.set.images_dir, .run_root = run_root,
                              .accel = "tcg", .cgroup_root = "" };
    REQUIRE(host_new(c->base, &hc, &c->host) == 0);
    c->ctl.host = c->host;
    return true;
}

static inline int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)remove(p); /* test scratch: best effort */
    return 0;
}

static inline void cfx_close(struct cfx *c)
{
    host_free(c->host);
    event_base_free(c->base);
    (void)nftw(c->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    fx_close(&c->fx);
}

/* Runs the loop for 2 s: the host answers unknown VMs from the loop at once. */
static inline void cfx_settle(struct cfx *c)
{
    uint64_t until = harness_now_us() + 2000000;
    while (harness_now_us() < until) {
        struct timeval tv = { 0, 20000 };
        event_base_loopexit(c->base, &tv);
        event_base_dispatch(c->base);
    }
}

static inline uint64_t count_rows(struct cfx *c)
{
    uint64_t n[STORE_STATE__COUNT], total = 0;
    if (store_sandbox_count(c->fx.st, "alice", n) < 0)
        return UINT64_MAX;
    for (int s = 0; s < STORE_STATE__COUNT; s++)
        total += n[s];
    return total;
}

/* Inserts alice's sandbox in state with an id in out. */
static inline bool put_row(struct cfx *c, const char *name, enum store_state state,
                    char out[STORE_ID_SIZE])
{
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", c->fx.key_id, name, 1000);
    sb.status = state;
    if (state == STORE_RUNNING)
        sb.qemu_pid = 999999; /* a VM the host layer would have to stop */
    if (state == STORE_PAUSED) {
        char dir[1200];
        snprintf(dir, sizeof(dir), "%s/%s/01HZZZZZZZZZZZZZZZZZZZZZZZ",
                 c->ctl.set.snapshots_dir, sb.id);
        sb.snapshot_dir = strdup(dir);
        REQUIRE(sb.snapshot_dir != NULL);
    }
    REQUIRE(store_sandbox_insert(c->fx.st, &sb, NULL, 0) == 0);
    memcpy(out, sb.id, STORE_ID_SIZE);
    store_sandbox_release(&sb);
    return true;
}

static inline enum store_state row_state(struct cfx *c, const char *id)
{
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    enum store_state s = store_sandbox_get(c->fx.st, NULL, id, &sb) == 0 ? sb.status
                                                                          : STORE_STATE_NONE;
    store_sandbox_release(&sb);
    return s;
}
