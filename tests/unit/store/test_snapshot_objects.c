/* SPDX-License-Identifier: MIT */
/* test_snapshot_objects.c: the upload records of snapshots on S3 (store.h, migration 0010) on
 * SQLite, and on PostgreSQL when HEARTH_TEST_PG is set: put replaces the whole record, get of
 * an unknown dir is -ENOENT, durable_at 0 reads back as 0 (NULL), the pending list holds only
 * what is not durable, oldest first, delete is idempotent, hostile arguments are refused. */
#include "fixture.h"

static void obj(struct store_snapobj *o, const char *dir, int64_t created)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->dir, sizeof(o->dir), "%s", dir);
    snprintf(o->manifest_key, sizeof(o->manifest_key), "manifests/%s.json", dir + 1);
    snprintf(o->host_id, sizeof(o->host_id), "host-a");
    o->created_at = o->last_used_at = created;
    o->local = true;
}

TEST(snapobj_put_get_list_delete)
{
    struct fx f;
    if (!fx_open(&f, false))
        return;
    struct store_snapobj a, b, got;
    obj(&a, "/d/snapshots/sb-1/01A", 2000);
    obj(&b, "/d/snapshots/sb-2/01B", 1000);
    CHECK_EQ(store_snapobj_get(f.st, a.dir, &got), -ENOENT);
    CHECK_EQ(store_snapobj_put(f.st, &a), 0);
    CHECK_EQ(store_snapobj_put(f.st, &b), 0);
    CHECK_EQ(store_snapobj_get(f.st, a.dir, &got), 0);
    CHECK_STR(got.manifest_key, a.manifest_key);
    CHECK_STR(got.host_id, "host-a");
    CHECK_EQ(got.durable_at, 0);
    CHECK(got.local);
    CHECK_EQ(got.created_at, 2000);
    struct store_snapobj *v;
    size_t n;
    CHECK_EQ(store_snapobj_list(f.st, true, &v, &n), 0);
    CHECK_EQ(n, 2);
    CHECK_STR(v[0].dir, b.dir); /* oldest first */
    free(v);
    /* durable, evicted: every field replaced */
    a.durable_at = 5000;
    a.upload_ms = 3000;
    a.bytes = a.uploaded_bytes = 1ll << 33;
    a.local_bytes = 12345;
    a.attempts = 3;
    a.local = false;
    snprintf(a.last_error, sizeof(a.last_error), "%s", "");
    CHECK_EQ(store_snapobj_put(f.st, &a), 0);
    CHECK_EQ(store_snapobj_get(f.st, a.dir, &got), 0);
    CHECK_EQ(got.durable_at, 5000);
    CHECK_EQ(got.upload_ms, 3000);
    CHECK_EQ(got.bytes, 1ll << 33);
    CHECK_EQ(got.attempts, 3);
    CHECK(!got.local);
    CHECK_EQ(store_snapobj_list(f.st, true, &v, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_STR(v[0].dir, b.dir);
    free(v);
    CHECK_EQ(store_snapobj_list(f.st, false, &v, &n), 0);
    CHECK_EQ(n, 2);
    free(v);
    /* a failure's record */
    snprintf(b.last_error, sizeof(b.last_error), "cannot connect");
    b.attempts = 1;
    CHECK_EQ(store_snapobj_put(f.st, &b), 0);
    CHECK_EQ(store_snapobj_get(f.st, b.dir, &got), 0);
    CHECK_STR(got.last_error, "cannot connect");
    CHECK_EQ(store_snapobj_delete(f.st, b.dir), 0);
    CHECK_EQ(store_snapobj_delete(f.st, b.dir), 0);
    CHECK_EQ(store_snapobj_get(f.st, b.dir, &got), -ENOENT);
    /* hostile arguments */
    struct store_snapobj bad;
    obj(&bad, "/x", 1);
    bad.manifest_key[0] = '\0';
    CHECK_EQ(store_snapobj_put(f.st, &bad), -EINVAL);
    CHECK_EQ(store_snapobj_get(f.st, "", &got), -EINVAL);
    CHECK_EQ(store_snapobj_delete(f.st, ""), -EINVAL);
    char long_dir[STORE_SNAPOBJ_DIR_SIZE + 10];
    memset(long_dir, 'a', sizeof(long_dir) - 1);
    long_dir[sizeof(long_dir) - 1] = '\0';
    CHECK_EQ(store_snapobj_get(f.st, long_dir, &got), -ENOENT);
    fx_close(&f);
}
