/* SPDX-License-Identifier: MIT */
/* test_disk.c: S3 disks in the control layer (ctl/disk.h) without HTTP, on a real store, a real
 * key file and a real s3rver: a create runs the bucket check on the loop and stores sealed
 * credentials that ctl_disk_credentials (the mount code's only way to them) opens again; a
 * rotation replaces them; a blob moved to another disk, tampered with or sealed under a removed
 * key does not open; with disks off every call says so. */
#include <errno.h>
#include <string.h>

#include <event2/event.h>

#include "../store/fixture.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/disk.h"
#include "daemon/disk/endpoint.h"
#include "daemon/disk/seal.h"
#include "s3/s3fx.h"

struct dfx {
    struct fx fx;
    struct event_base *base;
    struct ctl ctl;
    char key_file[160];
};

struct result {
    bool done;
    struct ctl_error e;
    struct store_disk d;
    struct event_base *base;
};

static void on_done(void *ud, const struct ctl_error *e, const struct store_disk *d)
{
    struct result *r = ud;
    r->done = true;
    r->e = *e;
    if (d)
        r->d = *d;
    event_base_loopbreak(r->base);
}

static bool dfx_open(struct dfx *c)
{
    memset(c, 0, sizeof(*c));
    REQUIRE(fx_open(&c->fx, true));
    c->base = event_base_new();
    REQUIRE(c->base != NULL);
    ctl_init(&c->ctl);
    c->ctl.store = c->fx.st;
    c->ctl.base = c->base;
    c->ctl.set.max_disks = 16;
    snprintf(c->key_file, sizeof(c->key_file), "%s/disk.key", c->fx.dir);
    struct disk_cidr allow = { .family = AF_INET, .addr = { 127, 0, 0, 1 }, .prefix = 32 };
    const char *why;
    REQUIRE(ctl_disks_start(&c->ctl, c->key_file, NULL, 0, &allow, 1, &why) == 0);
    return true;
}

static void dfx_close(struct dfx *c)
{
    ctl_disks_stop(&c->ctl);
    event_base_free(c->base);
    (void)unlink(c->key_file);
    fx_close(&c->fx);
}

/* Runs a started operation to its end. */
static bool run(struct dfx *c, struct result *res)
{
    while (!res->done)
        if (event_base_loop(c->base, EVLOOP_ONCE) < 0)
            return false;
    return true;
}

static void checks(struct dfx *c, struct s3fx *s3)
{
    struct ctl_disk_req req = { .name = "data", .bucket = "ctl-disk", .endpoint = s3->endpoint,
                                .path_style = true };
    snprintf(req.creds.access_key, sizeof(req.creds.access_key), "S3RVER");
    snprintf(req.creds.secret_key, sizeof(req.creds.secret_key), "first-secret");
    struct result res = { .base = c->base };
    struct ctl_error e;
    CHECK_EQ(ctl_disk_create(&c->ctl, "alice", &req, on_done, &res, &e), 0);
    CHECK(run(c, &res));
    CHECK_EQ(res.e.code, CTL_OK);
    struct store_disk d = res.d;
    CHECK(strncmp(d.id, "disk_", 5) == 0);
    CHECK(memmem(d.sealed, d.sealed_len, "first-secret", 12) == NULL);

    struct ctl_disk_creds cr;
    CHECK_EQ(ctl_disk_credentials(&c->ctl, &d, &cr), 0);
    CHECK_STR(cr.access_key, "S3RVER");
    CHECK_STR(cr.secret_key, "first-secret");
    ctl_disk_creds_wipe(&cr);
    CHECK_STR(cr.secret_key, "");

    /* a rotation replaces them (probed first) */
    struct ctl_disk_creds next = { 0 };
    snprintf(next.access_key, sizeof(next.access_key), "S3RVER");
    snprintf(next.secret_key, sizeof(next.secret_key), "second-secret");
    res = (struct result){ .base = c->base };
    CHECK_EQ(ctl_disk_rotate(&c->ctl, "alice", "data", &next, on_done, &res, &e), 0);
    CHECK(run(c, &res));
    CHECK_EQ(res.e.code, CTL_OK);
    CHECK_EQ(ctl_disk_credentials(&c->ctl, &res.d, &cr), 0);
    CHECK_STR(cr.secret_key, "second-secret");
    /* refused ones keep them */
    snprintf(next.access_key, sizeof(next.access_key), "UNKNOWN");
    res = (struct result){ .base = c->base };
    CHECK_EQ(ctl_disk_rotate(&c->ctl, "alice", "data", &next, on_done, &res, &e), 0);
    CHECK(run(c, &res));
    CHECK_EQ(res.e.code, CTL_E_PROBE_FAILED);
    CHECK_STR(res.e.field, "config");
    CHECK_STR(res.e.msg, "bucket check failed: access denied (403)");
    struct store_disk now;
    CHECK_EQ(ctl_disk_resolve(&c->ctl, "alice", "data", &now), 0);
    CHECK_EQ(ctl_disk_credentials(&c->ctl, &now, &cr), 0);
    CHECK_STR(cr.secret_key, "second-secret");
    ctl_disk_creds_wipe(&cr);

    /* the blob on another disk's row, or with a byte changed, does not open */
    struct store_disk moved = now;
    snprintf(moved.id, sizeof(moved.id), "disk_01ARZ3NDEKTSV4RRFFQ69G5FAV");
    CHECK_EQ(ctl_disk_credentials(&c->ctl, &moved, &cr), -EBADMSG);
    struct store_disk bent = now;
    bent.sealed[bent.sealed_len - 1] ^= 1;
    CHECK_EQ(ctl_disk_credentials(&c->ctl, &bent, &cr), -EBADMSG);

    /* synchronous refusals: nothing starts */
    req.name = "Bad";
    CHECK(ctl_disk_create(&c->ctl, "alice", &req, on_done, &res, &e) < 0);
    CHECK_STR(e.field, "name");
    req.name = "data";
    CHECK(ctl_disk_create(&c->ctl, "alice", &req, on_done, &res, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NAME_TAKEN);
    req.name = "other";
    req.endpoint = "http://169.254.169.254";
    res = (struct result){ .base = c->base };
    CHECK_EQ(ctl_disk_create(&c->ctl, "alice", &req, on_done, &res, &e), 0);
    CHECK(run(c, &res));
    CHECK_EQ(res.e.code, CTL_E_INVALID);
    CHECK_STR(res.e.field, "config.endpoint");
    c->ctl.set.max_disks = 1;
    req.endpoint = s3->endpoint;
    CHECK(ctl_disk_create(&c->ctl, "alice", &req, on_done, &res, &e) < 0);
    CHECK_EQ(e.code, CTL_E_QUOTA);

    /* a key ring without the sealing key: -ENOKEY (a file restored without its rotation) */
    ctl_disks_stop(&c->ctl);
    CHECK_EQ(ctl_disk_credentials(&c->ctl, &now, &cr), -ENOPROTOOPT);
    CHECK(ctl_disk_create(&c->ctl, "alice", &req, on_done, &res, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_CONFIGURED);
    CHECK(ctl_disk_delete(&c->ctl, "alice", &now, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_CONFIGURED);
    CHECK(!ctl_disks_enabled(&c->ctl));
    (void)unlink(c->key_file);
    const char *why;
    CHECK_EQ(ctl_disks_start(&c->ctl, c->key_file, NULL, 0, NULL, 0, &why), 0);
    CHECK_EQ(ctl_disk_credentials(&c->ctl, &now, &cr), -ENOKEY);

    /* delete: a repeat answers the same */
    CHECK_EQ(ctl_disk_delete(&c->ctl, "alice", &now, &e), 0);
    CHECK_EQ(ctl_disk_delete(&c->ctl, "alice", &now, &e), 0);
}

TEST_SLOW(ctl_disk_create_credentials_rotate, 120)
{
    struct s3fx s3;
    if (!s3fx_start(&s3, "ctl-disk")) {
        s3fx_stop(&s3);
        return;
    }
    struct dfx c;
    if (dfx_open(&c)) {
        checks(&c, &s3);
        dfx_close(&c);
    }
    s3fx_stop(&s3);
}
