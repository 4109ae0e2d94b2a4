/* SPDX-License-Identifier: MIT */
/* test_sandbox_ops.c: the control layer's sandbox operations (ctl/sandbox_ops.h) without
 * HTTP, on a real SQLite store in a temp dir and, where an operation reaches the VM layer, a
 * real host (host.h) that runs no VM: create with a bad shape, an unknown rootfs, no VM
 * layer, a full quota or an unknown network (typed error, nothing stored); pause of a paused
 * and of a failed sandbox; resume of a running one; fork of a running one; a destroy racing a
 * pause; destroy of a paused one; the checks and start errors of streams (exec, files); the
 * auto-pauser's table takes only the caller's own running sandboxes with auto-pause. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/ctl/catalog.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/idle.h"
#include "daemon/ctl/sandbox_check.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/host/host.h"
#include "ctlfx.h"
#include "harness.h"

static const struct ctl_caller alice = { .user_id = "alice", .key_id = "key", .req_id = "t" };

struct done_rec {
    int calls;
    struct ctl_error e;
    char id[STORE_ID_SIZE];
};

static void on_done(void *ud, const struct ctl_error *e, const char *id,
                    const struct store_sandbox *sb)
{
    struct done_rec *d = ud;
    d->calls++;
    d->e = *e;
    snprintf(d->id, sizeof(d->id), "%s", id ? id : "");
}

/* ---- create ---- */

static void create_req(struct cfx *c, struct ctl_create_req *cr)
{
    memset(cr, 0, sizeof(*cr));
    cr->shape = ctl_shape_find("s-1vcpu-1gb");
    cr->rootfs = ctl_rootfs_find(&c->ctl, "devbox:1");
}

TEST(create_bad_shape_or_unknown_rootfs_stores_nothing)
{
    struct cfx c;
    if (!cfx_open(&c))
        return;
    CHECK(ctl_shape_find("s-9vcpu-1tb") == NULL);
    CHECK(ctl_rootfs_find(&c.ctl, "no-such-image:1") == NULL);
    CHECK(ctl_rootfs_find(&c.ctl, "minimal") == NULL); /* in the catalog, not in images/ */
    static const struct {
        bool shape, rootfs;
        const char *field;
    } cases[] = { { false, true, "shape" }, { true, false, "rootfs" }, { false, false, "shape" } };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ctl_create_req cr;
        create_req(&c, &cr);
        CHECK(cr.shape && cr.rootfs);
        if (!cases[i].shape)
            cr.shape = ctl_shape_find("s-9vcpu-1tb");
        if (!cases[i].rootfs)
            cr.rootfs = ctl_rootfs_find(&c.ctl, "no-such-image:1");
        struct done_rec d = { 0 };
        struct ctl_error e;
        CHECK_EQ(ctl_sandbox_create(&c.ctl, &alice, &cr, on_done, &d, &e), -ENOENT);
        CHECK_EQ(e.code, CTL_E_UNKNOWN_REF);
        CHECK_STR(ctl_code_to_string(e.code), "unknown_reference");
        CHECK_STR(e.field, cases[i].field);
        CHECK_EQ(d.calls, 0);
        CHECK_EQ(count_rows(&c), 0);
    }
    cfx_close(&c);
}

TEST(create_bad_values_and_no_vm_layer_store_nothing)
{
    struct cfx c;
    if (!cfx_open(&c))
        return;
    struct ctl_create_req cr;
    struct ctl_error e;
    struct done_rec d = { 0 };
    create_req(&c, &cr);
    cr.name = "-bad name";
    CHECK_EQ(ctl_sandbox_create(&c.ctl, &alice, &cr, on_done, &d, &e), -EINVAL);
    CHECK_EQ(e.code, CTL_E_INVALID);
    CHECK_STR(e.field, "name");
    create_req(&c, &cr);
    cr.auto_pause_after_seconds = 5;
    CHECK_EQ(ctl_sandbox_create(&c.ctl, &alice, &cr, on_done, &d, &e), -EINVAL);
    CHECK_STR(e.field, "auto_pause_after_seconds");
    CHECK_STR(e.msg, "must be from 60 to 86400");
    /* a good request without a VM layer: 503 before anything is stored (§1.11) */
    create_req(&c, &cr);
    CHECK_EQ(ctl_sandbox_create(&c.ctl, &alice, &cr, on_done, &d, &e), -EAGAIN);
    CHECK_EQ(e.code, CTL_E_UNAVAILABLE);
    CHECK_STR(e.msg, "the vm layer is not available; retry later");
    CHECK_EQ(d.calls, 0);
    CHECK_EQ(count_rows(&c), 0);
    cfx_close(&c);
}

TEST(create_quota_and_unknown_network_store_nothing)
{
    struct cfx c;
    if (!cfx_open(&c) || !cfx_host(&c))
        return;
    struct ctl_create_req cr;
    struct ctl_error e;
    struct done_rec d = { 0 };
    create_req(&c, &cr);
    cr.networks[0] = "no-such-net";
    cr.n_networks = 1;
    CHECK_EQ(ctl_sandbox_create(&c.ctl, &alice, &cr, on_done, &d, &e), -ENOENT);
    CHECK_EQ(e.code, CTL_E_UNKNOWN_REF);
    CHECK_STR(e.field, "networks[0].id");
    CHECK_STR(e.msg, "unknown network: no-such-net");
    CHECK_EQ(count_rows(&c), 0);
    char id[STORE_ID_SIZE];
    CHECK(put_row(&c, "one", STORE_RUNNING, id));
    c.ctl.set.max_sandboxes = 1;
    create_req(&c, &cr);
    CHECK_EQ(ctl_sandbox_create(&c.ctl, &alice, &cr, on_done, &d, &e), -EDQUOT);
    CHECK_EQ(e.code, CTL_E_QUOTA);
    CHECK_STR(e.msg, "sandbox quota reached: at most 1 sandboxes that are not destroyed or "
                     "failed; destroy one first");
    CHECK_EQ(d.calls, 0);
    CHECK_EQ(count_rows(&c), 1);
    /* a fork's child counts too */
    struct ctl_fork_req fr = { 0 };
    struct ctl_fork *op = NULL;
    CHECK_EQ(ctl_sandbox_fork(&c.ctl, &alice, id, &fr, on_done, &d, &op, &e), -EDQUOT);
    CHECK_EQ(e.code, CTL_E_QUOTA);
    CHECK(op == NULL);
    CHECK_EQ(d.calls, 0);
    cfx_close(&c);
}

/* ---- pause and resume ---- */

TEST(pause_of_paused_is_a_no_op_and_of_failed_is_invalid_state)
{
    struct cfx c;
    if (!cfx_open(&c))
        return;
    char paused[STORE_ID_SIZE], failed[STORE_ID_SIZE];
    CHECK(put_row(&c, "p", STORE_PAUSED, paused));
    CHECK(put_row(&c, "f", STORE_FAILED, failed));
    struct ctl_error e;
    /* what the API does today: a paused sandbox is answered 200 with its view, unchanged;
     * no VM layer is needed for that */
    CHECK_EQ(ctl_sandbox_pause(&c.ctl, &alice, paused, &e), 0);
    CHECK_EQ(row_state(&c, paused), STORE_PAUSED);
    CHECK_EQ(ctl_sandbox_pause(&c.ctl, &alice, failed, &e), -EBUSY);
    CHECK_EQ(e.code, CTL_E_INVALID_STATE);
    CHECK_STR(e.state, "failed");
    CHECK_STR(e.msg, "only a running sandbox can be paused");
    CHECK_EQ(row_state(&c, failed), STORE_FAILED);
    /* someone else's sandbox is not found */
    struct ctl_caller bob = { .user_id = "bob" };
    CHECK_EQ(ctl_sandbox_pause(&c.ctl, &bob, paused, &e), -ENOENT);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    CHECK_STR(e.msg, "sandbox not found");
    cfx_close(&c);
}

TEST(resume_of_running_changes_nothing)
{
    struct cfx c;
    if (!cfx_open(&c))
        return;
    char id[STORE_ID_SIZE], failed[STORE_ID_SIZE];
    CHECK(put_row(&c, "r", STORE_RUNNING, id));
    CHECK(put_row(&c, "f", STORE_FAILED, failed));
    struct ctl_error e;
    CHECK_EQ(ctl_sandbox_resume(&c.ctl, &alice, id, &e), 0);
    CHECK_EQ(row_state(&c, id), STORE_RUNNING);
    CHECK_EQ(ctl_sandbox_resume(&c.ctl, &alice, failed, &e), -EBUSY);
    CHECK_EQ(e.code, CTL_E_INVALID_STATE);
    CHECK_STR(e.msg, "only a paused (or error) sandbox can be resumed");
    cfx_close(&c);
}

/* ---- fork ---- */

TEST(fork_of_running_without_a_vm_is_invalid_state)
{
    struct cfx c;
    if (!cfx_open(&c))
        return;
    char id[STORE_ID_SIZE];
    CHECK(put_row(&c, "src", STORE_RUNNING, id));
    struct ctl_fork_req fr = { 0 };
    struct done_rec d = { 0 };
    struct ctl_error e;
    struct ctl_fork *op = NULL;
    /* no VM layer: 503 first */
    CHECK_EQ(ctl_sandbox_fork(&c.ctl, &alice, id, &fr, on_done, &d, &op, &e), -EAGAIN);
    CHECK_EQ(e.code, CTL_E_UNAVAILABLE);
    CHECK(cfx_host(&c));
    memset(&fr, 0, sizeof(fr));
    /* a running source is snapshotted live: the host knows no such VM */
    CHECK_EQ(ctl_sandbox_fork(&c.ctl, &alice, id, &fr, on_done, &d, &op, &e), 0);
    CHECK(op != NULL);
    CHECK(ctl_fork_live_busy(&c.ctl, id)); /* a pause meanwhile: 409 */
    cfx_settle(&c);
    CHECK_EQ(d.calls, 1);
    CHECK_EQ(d.e.code, CTL_E_INVALID_STATE);
    CHECK_STR(d.e.state, "running");
    CHECK_STR(d.e.msg, "the source's VM is not running");
    CHECK(!ctl_fork_live_busy(&c.ctl, id));
    CHECK_EQ(count_rows(&c), 1); /* no child */
    char dir[1200];
    snprintf(dir, sizeof(dir), "%s/%s", c.ctl.set.snapshots_dir, id);
    CHECK(access(dir, F_OK) != 0); /* no snapshot left */
    cfx_close(&c);
}

/* ---- destroy ---- */

TEST(destroy_racing_a_pause_ends_destroyed)
{
    struct cfx c;
    if (!cfx_open(&c) || !cfx_host(&c))
        return;
    char id[STORE_ID_SIZE];
    CHECK(put_row(&c, "race", STORE_RUNNING, id));
    struct ctl_error e;
    /* the pause records pausing and asks the host, which has no such VM (it fails later) */
    CHECK_EQ(ctl_sandbox_pause(&c.ctl, &alice, id, &e), 0);
    CHECK_EQ(row_state(&c, id), STORE_PAUSING);
    enum store_state s;
    CHECK_EQ(ctl_sandbox_destroy(&c.ctl, &alice, id, &s, &e), 0);
    CHECK_EQ(s, STORE_DESTROYING);
    /* a second delete is idempotent */
    CHECK_EQ(ctl_sandbox_destroy(&c.ctl, &alice, id, &s, &e), 0);
    CHECK_EQ(s, STORE_DESTROYING);
    cfx_settle(&c);
    /* the failed pause does not bring the row back to running */
    CHECK_EQ(row_state(&c, id), STORE_DESTROYED);
    CHECK_EQ(ctl_sandbox_destroy(&c.ctl, &alice, id, &s, &e), 0);
    CHECK_EQ(s, STORE_DESTROYED);
    cfx_close(&c);
}

TEST(destroy_of_paused_needs_no_vm_layer)
{
    struct cfx c;
    if (!cfx_open(&c))
        return;
    char id[STORE_ID_SIZE], running[STORE_ID_SIZE];
    CHECK(put_row(&c, "p", STORE_PAUSED, id));
    CHECK(put_row(&c, "r", STORE_RUNNING, running));
    struct ctl_error e;
    enum store_state s;
    CHECK_EQ(ctl_sandbox_destroy(&c.ctl, &alice, id, &s, &e), 0);
    CHECK_EQ(s, STORE_DESTROYED);
    CHECK_EQ(row_state(&c, id), STORE_DESTROYED);
    /* a running one with a VM to stop: 503 without a VM layer, the row unchanged */
    CHECK_EQ(ctl_sandbox_destroy(&c.ctl, &alice, running, &s, &e), -EAGAIN);
    CHECK_EQ(e.code, CTL_E_UNAVAILABLE);
    CHECK_EQ(row_state(&c, running), STORE_RUNNING);
    cfx_close(&c);
}

/* ---- streams (exec, files) ---- */

static int no_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    return 0;
}

static void no_end(void *ud, const struct agent_end *end)
{
    (*(int *)ud)++;
}

TEST(streams_need_a_running_sandbox_and_a_reachable_vm)
{
    struct cfx c;
    if (!cfx_open(&c))
        return;
    char running[STORE_ID_SIZE], paused[STORE_ID_SIZE];
    CHECK(put_row(&c, "r", STORE_RUNNING, running));
    CHECK(put_row(&c, "p", STORE_PAUSED, paused));
    struct ctl_error e;
    /* the state first, then the VM layer (409 before 503, as the API answers) */
    CHECK_EQ(ctl_sandbox_stream_check(&c.ctl, &alice, paused, &e), -EBUSY);
    CHECK_EQ(e.code, CTL_E_INVALID_STATE);
    CHECK_STR(e.state, "paused");
    CHECK_STR(e.msg, "sandbox is not running");
    CHECK_EQ(ctl_sandbox_stream_check(&c.ctl, &alice, running, &e), -EAGAIN);
    CHECK_EQ(e.code, CTL_E_UNAVAILABLE);
    struct ctl_caller bob = { .user_id = "bob" };
    CHECK_EQ(ctl_sandbox_stream_check(&c.ctl, &bob, running, &e), -ENOENT);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    /* with a host that has no VM for the row: the check passes, the start is "retry later"
     * and leaves nothing behind (no end callback, nothing to free) */
    CHECK(cfx_host(&c));
    CHECK_EQ(ctl_sandbox_stream_check(&c.ctl, &alice, running, &e), 0);
    const char *argv[] = { "true", NULL };
    struct ctl_exec_req req = { .argv = argv };
    struct agent_stream_ops ops = { .on_data = no_data, .on_end = no_end };
    int ends = 0;
    struct ctl_exec *x = (struct ctl_exec *)&ends; /* overwritten on every path */
    uint32_t stream = 0;
    CHECK_EQ(ctl_sandbox_exec_start(&c.ctl, running, &req, &ops, &ends, &x, &stream, &e),
             -EAGAIN);
    CHECK_EQ(e.code, CTL_E_UNAVAILABLE);
    CHECK_STR(e.msg, "the sandbox's vm is not reachable; retry later");
    CHECK(x == NULL);
    CHECK_EQ(ends, 0);
    CHECK_EQ(ctl_sandbox_file_get_start(&c.ctl, running, "/etc/hostname", &ops, &ends, &stream,
                                        &e),
             -EAGAIN);
    CHECK_EQ(e.code, CTL_E_UNAVAILABLE);
    CHECK_EQ(ctl_sandbox_file_put_start(&c.ctl, running, "/tmp/f", 0644, &ops, &ends, &stream,
                                        &e),
             -EAGAIN);
    CHECK_EQ(e.code, CTL_E_UNAVAILABLE);
    cfx_settle(&c);
    CHECK_EQ(ends, 0);
    cfx_close(&c);
}

/* ---- the free-space guard (ctl/space.h) on every guarded operation ---- */

static uint64_t fake_avail, fake_total;

static int fake_fs(const char *path, uint64_t *ret_avail, uint64_t *ret_total)
{
    if (fake_total == 0)
        return -EIO;
    *ret_avail = fake_avail;
    *ret_total = fake_total;
    return 0;
}

TEST(low_disk_refuses_create_pause_fork_and_upload_before_anything_changes)
{
    struct cfx c;
    if (!cfx_open(&c) || !cfx_host(&c))
        return;
    snprintf(c.ctl.set.data_dir, sizeof(c.ctl.set.data_dir), "%s", c.root);
    c.ctl.set.min_free_disk_mib = 2048;
    c.ctl.set.min_free_disk_pct = 5;
    c.ctl.fs_space = fake_fs;
    fake_total = 100ull << 30;          /* 5% = 5 GiB: the larger threshold */
    fake_avail = 4ull << 30;
    char running[STORE_ID_SIZE], paused[STORE_ID_SIZE];
    CHECK(put_row(&c, "r", STORE_RUNNING, running));
    CHECK(put_row(&c, "p", STORE_PAUSED, paused));
    struct ctl_create_req cr;
    struct ctl_error e;
    struct done_rec d = { 0 };
    create_req(&c, &cr);
    CHECK_EQ(ctl_sandbox_create(&c.ctl, &alice, &cr, on_done, &d, &e), -ENOSPC);
    CHECK_EQ(e.code, CTL_E_NO_SPACE);
    CHECK_STR(ctl_code_to_string(e.code), "insufficient_storage");
    CHECK(strstr(e.msg, "not enough free disk space on this host to create") != NULL);
    CHECK_EQ(count_rows(&c), 2);
    CHECK_EQ(ctl_sandbox_pause(&c.ctl, &alice, running, &e), -ENOSPC);
    CHECK_EQ(e.code, CTL_E_NO_SPACE);
    CHECK_EQ(row_state(&c, running), STORE_RUNNING);
    /* the auto-pauser's path alone */
    CHECK_EQ(ctl_sandbox_pause_start(&c.ctl, running, NULL), -ENOSPC);
    CHECK_EQ(row_state(&c, running), STORE_RUNNING);
    struct ctl_fork_req fr = { 0 };
    struct ctl_fork *op = NULL;
    CHECK_EQ(ctl_sandbox_fork(&c.ctl, &alice, paused, &fr, on_done, &d, &op, &e), -ENOSPC);
    CHECK_EQ(e.code, CTL_E_NO_SPACE);
    CHECK(op == NULL);
    CHECK_EQ(d.calls, 0);
    struct agent_stream_ops ops = { .on_data = no_data, .on_end = no_end };
    int ends = 0;
    uint32_t stream = 0;
    CHECK_EQ(ctl_sandbox_file_put_start(&c.ctl, running, "/tmp/f", 0644, &ops, &ends, &stream,
                                        &e),
             -ENOSPC);
    CHECK_EQ(e.code, CTL_E_NO_SPACE);
    /* downloads and execs are not guarded: they write nothing on the host */
    CHECK_EQ(ctl_sandbox_file_get_start(&c.ctl, running, "/etc/hostname", &ops, &ends, &stream,
                                        &e),
             -EAGAIN);
    CHECK_EQ(e.code, CTL_E_UNAVAILABLE);
    /* 5.5 GiB free: an upload (nothing reserved) passes the guard; a create of a 1 GiB shape,
     * whose RAM file may fill, does not */
    fake_avail = 5632ull << 20;
    CHECK_EQ(ctl_sandbox_file_put_start(&c.ctl, running, "/tmp/f", 0644, &ops, &ends, &stream,
                                        &e),
             -EAGAIN);
    CHECK_EQ(e.code, CTL_E_UNAVAILABLE);
    create_req(&c, &cr);
    CHECK_EQ(ctl_sandbox_create(&c.ctl, &alice, &cr, on_done, &d, &e), -ENOSPC);
    CHECK_EQ(count_rows(&c), 2);
    /* a filesystem that cannot be read does not block (the guard never invents a failure) */
    fake_total = 0;
    CHECK_EQ(ctl_sandbox_file_put_start(&c.ctl, running, "/tmp/f", 0644, &ops, &ends, &stream,
                                        &e),
             -EAGAIN);
    cfx_settle(&c);
    CHECK_EQ(ends, 0);
    cfx_close(&c);
}

/* ---- auto-pause activity (idle.h) ---- */

TEST(idle_table_takes_only_the_callers_own_sandboxes)
{
    struct cfx c;
    if (!cfx_open(&c))
        return;
    CHECK_EQ(ctl_idle_start(&c.ctl), 0);
    char on[STORE_ID_SIZE], off[STORE_ID_SIZE], paused[STORE_ID_SIZE];
    CHECK(put_row(&c, "on", STORE_RUNNING, on));
    CHECK(put_row(&c, "off", STORE_RUNNING, off));
    CHECK(put_row(&c, "p", STORE_PAUSED, paused));
    struct store_sandbox_patch p = { .fields = STORE_PATCH_AUTO_PAUSE,
                                     .auto_pause_after_seconds = 60, .now_ms = 2000 };
    CHECK_EQ(store_sandbox_update(c.fx.st, NULL, on, &p), 0);
    CHECK_EQ(store_sandbox_update(c.fx.st, NULL, paused, &p), 0);
    /* another user's requests to alice's sandbox: nothing tracked, so nothing kept awake */
    ctl_idle_touch_request(&c.ctl, "bob", on);
    CHECK_EQ(ctl_idle_tracked(&c.ctl), 0);
    /* made-up ids, one request each: none enters the table */
    for (int i = 0; i < 1000; i++) {
        char id[40];
        snprintf(id, sizeof(id), "sb-%026d", i);
        ctl_idle_touch_request(&c.ctl, "alice", id);
    }
    ctl_idle_touch_request(&c.ctl, "alice", "sb-");
    ctl_idle_touch_request(&c.ctl, "alice", "");
    ctl_idle_touch_request(&c.ctl, NULL, on);
    ctl_idle_touch_request(&c.ctl, "", on);
    CHECK_EQ(ctl_idle_tracked(&c.ctl), 0);
    /* alice's own: not paused or without auto-pause, nothing; running with it, tracked once */
    ctl_idle_touch_request(&c.ctl, "alice", paused);
    ctl_idle_touch_request(&c.ctl, "alice", off);
    CHECK_EQ(ctl_idle_tracked(&c.ctl), 0);
    ctl_idle_touch_request(&c.ctl, "alice", on);
    ctl_idle_touch_request(&c.ctl, "alice", on);
    CHECK_EQ(ctl_idle_tracked(&c.ctl), 1);
    ctl_idle_release(&c.ctl);
    cfx_close(&c);
}
