/* SPDX-License-Identifier: MIT */
/* test_disks.c: S3 disks and their mounts in the store (migration 0007): names unique per user
 * among live disks, reads by id or name, paging, deletes refused while sandboxes mount the disk,
 * at most 16 mounts per sandbox, all-or-none batches, the trigger that drops a sandbox's mounts
 * when it turns destroying, destroyed or failed, and mounts that keep showing their disk after
 * it is gone. */
#include "fixture.h"

#include <sqlite3.h>

static void fill_disk(struct store_disk *d, const char *user, const char *id, const char *name,
                      int64_t at)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "%s", id);
    snprintf(d->user_id, sizeof(d->user_id), "%s", user);
    snprintf(d->name, sizeof(d->name), "%s", name);
    snprintf(d->bucket, sizeof(d->bucket), "bucket-%s", name);
    snprintf(d->endpoint, sizeof(d->endpoint), "https://s3.example.com");
    d->path_style = true;
    memcpy(d->sealed, "\x01sealed", 7);
    d->sealed_len = 7;
    d->created_at = at;
}

static bool add_disk(struct fx *f, const char *user, const char *id, const char *name, int want)
{
    struct store_disk d;
    fill_disk(&d, user, id, name, 1000);
    int r = store_disk_insert(f->st, &d);
    if (r != want)
        harness_fail(__FILE__, __LINE__, "insert %s: %d, want %d", name, r, want);
    return r == want;
}

static bool add_sb(struct fx *f, const char *name, char id[STORE_ID_SIZE])
{
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f->key_id, name, 2000);
    snprintf(sb.host_id, sizeof(sb.host_id), "h1");
    REQUIRE(store_sandbox_insert(f->st, &sb, NULL, 0) == 0);
    memcpy(id, sb.id, STORE_ID_SIZE);
    return true;
}

static struct store_mount mount_of(const char *sb, const char *path, const char *disk)
{
    struct store_mount m = { .status = STORE_MOUNT_PENDING, .created_at = 3000 };
    snprintf(m.sandbox_id, sizeof(m.sandbox_id), "%s", sb);
    snprintf(m.mount_path, sizeof(m.mount_path), "%s", path);
    snprintf(m.disk_id, sizeof(m.disk_id), "%s", disk);
    return m;
}

#define D1 "disk_01ARZ3NDEKTSV4RRFFQ69G5FA1"
#define D2 "disk_01ARZ3NDEKTSV4RRFFQ69G5FA2"
#define D3 "disk_01ARZ3NDEKTSV4RRFFQ69G5FA3"

TEST(disks_names_get_list)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    CHECK(add_disk(&f, "alice", D1, "data", 0));
    CHECK(add_disk(&f, "alice", D2, "data", -EEXIST));
    CHECK(add_disk(&f, "alice", D2, "logs", 0));
    CHECK(add_disk(&f, "nobody", D3, "x", -ENOENT)); /* unknown user */
    CHECK(add_disk(&f, "alice", D3, "", -EINVAL));

    struct store_disk d;
    fill_disk(&d, "alice", D3, "big", 1000);
    d.sealed_len = 0;
    CHECK_EQ(store_disk_insert(f.st, &d), -EMSGSIZE);
    d.sealed_len = STORE_SEALED_MAX + 1;
    CHECK_EQ(store_disk_insert(f.st, &d), -EMSGSIZE);
    fill_disk(&d, "alice", D3, "big", 1000);
    memset(d.endpoint, 'a', sizeof(d.endpoint)); /* no terminator */
    CHECK_EQ(store_disk_insert(f.st, &d), -ENAMETOOLONG);
    fill_disk(&d, "alice", D3, "big", 1000);
    memset(d.bucket, 'b', sizeof(d.bucket));
    CHECK_EQ(store_disk_insert(f.st, &d), -ENAMETOOLONG);

    struct store_disk g;
    CHECK_EQ(store_disk_get(f.st, "alice", "data", &g), 0);
    CHECK_STR(g.id, D1);
    CHECK_STR(g.bucket, "bucket-data");
    CHECK_STR(g.endpoint, "https://s3.example.com");
    CHECK_STR(g.region, "");
    CHECK(g.path_style);
    CHECK_EQ(g.sealed_len, 7);
    CHECK(memcmp(g.sealed, "\x01sealed", 7) == 0);
    CHECK(g.updated_at == 1000 && g.deleted_at == 0);
    CHECK_EQ(store_disk_get(f.st, "alice", D2, &g), 0);
    CHECK_STR(g.name, "logs");
    CHECK_EQ(store_disk_get(f.st, "bob", D2, &g), -ENOENT);
    CHECK_EQ(store_disk_get(f.st, "alice", "nope", &g), -ENOENT);
    char longref[200];
    memset(longref, 'x', sizeof(longref) - 1);
    longref[sizeof(longref) - 1] = '\0';
    CHECK_EQ(store_disk_get(f.st, "alice", longref, &g), -ENOENT);

    /* region round trip */
    fill_disk(&d, "alice", D3, "eu", 1500);
    snprintf(d.region, sizeof(d.region), "eu-west-1");
    d.path_style = false;
    CHECK_EQ(store_disk_insert(f.st, &d), 0);
    CHECK_EQ(store_disk_get(f.st, "alice", "eu", &g), 0);
    CHECK_STR(g.region, "eu-west-1");
    CHECK(!g.path_style);

    struct store_disk *v;
    size_t n;
    uint64_t total;
    CHECK_EQ(store_disk_list(f.st, "alice", 2, 0, &v, &n, &total), 0);
    CHECK_EQ(total, 3);
    CHECK_EQ(n, 2);
    CHECK_STR(v[0].name, "eu"); /* newest first, then id descending */
    CHECK_STR(v[1].id, D2);
    free(v);
    CHECK_EQ(store_disk_list(f.st, "alice", 2, 2, &v, &n, &total), 0);
    CHECK_EQ(n, 1);
    CHECK_STR(v[0].id, D1);
    free(v);
    CHECK_EQ(store_disk_list(f.st, "alice", 0, 0, &v, &n, &total), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(total, 3);
    free(v);
    CHECK_EQ(store_disk_list(f.st, "bob", 10, 0, &v, &n, &total), 0);
    CHECK_EQ(total, 0);
    free(v);

    /* credential rotation (user given) moves updated_at; key rotation (NULL) keeps it */
    CHECK_EQ(store_disk_set_sealed(f.st, "alice", D1, (const uint8_t *)"new", 3, 7000), 0);
    CHECK_EQ(store_disk_get(f.st, "alice", D1, &g), 0);
    CHECK(g.updated_at == 7000 && g.sealed_len == 3);
    CHECK_EQ(store_disk_set_sealed(f.st, NULL, D1, (const uint8_t *)"newer", 5, 8000), 0);
    CHECK_EQ(store_disk_get(f.st, "alice", D1, &g), 0);
    CHECK(g.updated_at == 7000 && g.sealed_len == 5);
    CHECK_EQ(store_disk_set_sealed(f.st, "bob", D1, (const uint8_t *)"x", 1, 9000), -ENOENT);
    CHECK_EQ(store_disk_set_sealed(f.st, NULL, D1, (const uint8_t *)"x", 0, 9000), -EMSGSIZE);
    CHECK_EQ(store_disk_set_sealed(f.st, NULL, "disk_none", (const uint8_t *)"x", 1, 9000),
             -ENOENT);
    fx_close(&f);
}

TEST(disks_delete_busy_and_trigger)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    CHECK(add_disk(&f, "alice", D1, "data", 0));
    char a[STORE_ID_SIZE], b[STORE_ID_SIZE];
    if (!add_sb(&f, "a", a) || !add_sb(&f, "b", b))
        return;
    struct store_mount m = mount_of(a, "/mnt/data", D1);
    CHECK_EQ(store_mount_add(f.st, &m), 0);
    CHECK_EQ(store_mount_add(f.st, &m), -EEXIST);
    m = mount_of(a, "/mnt/other", D1); /* the same disk at a second path */
    snprintf(m.sub_path, sizeof(m.sub_path), "team/x");
    CHECK_EQ(store_mount_add(f.st, &m), 0);
    m = mount_of(b, "/mnt/data", D1);
    CHECK_EQ(store_mount_add(f.st, &m), 0);
    m = mount_of(b, "/mnt/z", "disk_unknown");
    CHECK_EQ(store_mount_add(f.st, &m), -ENOENT);
    m = mount_of("sb-unknown", "/mnt/z", D1);
    CHECK_EQ(store_mount_add(f.st, &m), -ENOENT);

    struct store_disk g;
    CHECK_EQ(store_disk_get(f.st, "alice", D1, &g), 0);
    CHECK_EQ(g.mount_count, 3);
    CHECK_EQ(g.sandbox_count, 2);

    uint64_t sbs = 0;
    CHECK_EQ(store_disk_delete(f.st, "alice", D1, 4000, &sbs), -EBUSY);
    CHECK_EQ(sbs, 2);
    /* a starts being destroyed, b fails: their mounts leave with the state change, so the
     * disk can be deleted right after its sandboxes were */
    struct store_transition t = { .from = STORE_RUNNING, .to = STORE_DESTROYING,
                                  .intent = STORE_STATE_NONE, .now_ms = 5000 };
    CHECK_EQ(store_sandbox_transition(f.st, a, &t, NULL), 0);
    struct store_mount *v;
    size_t n;
    CHECK_EQ(store_mount_list(f.st, a, &v, &n), 0);
    CHECK_EQ(n, 0);
    free(v);
    CHECK_EQ(store_disk_delete(f.st, "alice", D1, 5500, &sbs), -EBUSY);
    CHECK_EQ(sbs, 1);
    t.to = STORE_FAILED;
    CHECK_EQ(store_sandbox_transition(f.st, b, &t, NULL), 0);
    CHECK_EQ(store_disk_delete(f.st, "bob", D1, 6000, NULL), -ENOENT);
    CHECK_EQ(store_disk_delete(f.st, "alice", D1, 6000, NULL), 0);
    CHECK_EQ(store_disk_delete(f.st, "alice", D1, 6000, NULL), -EALREADY);
    CHECK_EQ(store_disk_delete(f.st, "alice", "disk_none", 6000, NULL), -ENOENT);
    CHECK_EQ(store_disk_get(f.st, "alice", "data", &g), -ENOENT);
    CHECK_EQ(store_disk_get(f.st, "alice", D1, &g), 0); /* by id, deleted too */
    CHECK(g.deleted_at == 6000);
    /* the name is free again; a deleted disk cannot be mounted anew */
    CHECK(add_disk(&f, "alice", D2, "data", 0));
    char c[STORE_ID_SIZE];
    if (!add_sb(&f, "c", c))
        return;
    m = mount_of(c, "/mnt/old", D1);
    CHECK_EQ(store_mount_add(f.st, &m), -ENOENT);

    struct store_disk *all;
    CHECK_EQ(store_disk_list_all(f.st, &all, &n), 0);
    CHECK_EQ(n, 2);
    CHECK_STR(all[0].id, D1);
    CHECK_STR(all[1].id, D2);
    free(all);
    fx_close(&f);
}

TEST(disks_mounts_limit_batch_status)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    CHECK(add_disk(&f, "alice", D1, "data", 0));
    char a[STORE_ID_SIZE], b[STORE_ID_SIZE];
    if (!add_sb(&f, "a", a) || !add_sb(&f, "b", b))
        return;
    for (int i = 0; i < 17; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/mnt/d%02d", i);
        struct store_mount m = mount_of(a, path, D1);
        CHECK_EQ(store_mount_add(f.st, &m), i < STORE_MAX_MOUNTS ? 0 : -E2BIG);
    }
    struct store_mount m = mount_of(a, "/mnt/d00", D1); /* full, and taken: the path says more */
    CHECK_EQ(store_mount_add(f.st, &m), -EEXIST);

    /* all or none: the second of three collides with the first */
    struct store_mount batch[3] = { mount_of(b, "/x", D1), mount_of(b, "/x", D1),
                                    mount_of(b, "/y", D1) };
    CHECK_EQ(store_mount_add_many(f.st, batch, 3), -EEXIST);
    struct store_mount *v;
    size_t n;
    CHECK_EQ(store_mount_list(f.st, b, &v, &n), 0);
    CHECK_EQ(n, 0);
    free(v);
    batch[2] = mount_of(b, "/y", "disk_unknown");
    batch[1] = mount_of(b, "/w", D1);
    CHECK_EQ(store_mount_add_many(f.st, batch, 3), -ENOENT);
    CHECK_EQ(store_mount_list(f.st, b, &v, &n), 0);
    CHECK_EQ(n, 0);
    free(v);
    batch[2] = mount_of(b, "/y", D1);
    CHECK_EQ(store_mount_add_many(f.st, batch, 3), 0);
    struct store_mount over[STORE_MAX_MOUNTS + 1];
    for (size_t i = 0; i < STORE_MAX_MOUNTS + 1; i++)
        over[i] = mount_of(b, "/o", D1);
    CHECK_EQ(store_mount_add_many(f.st, over, STORE_MAX_MOUNTS + 1), -E2BIG);
    struct store_mount mixed[2] = { mount_of(b, "/m1", D1), mount_of(a, "/m2", D1) };
    CHECK_EQ(store_mount_add_many(f.st, mixed, 2), -EINVAL);

    CHECK_EQ(store_mount_list(f.st, b, &v, &n), 0);
    CHECK_EQ(n, 3);
    CHECK_STR(v[0].mount_path, "/w"); /* by path */
    CHECK_STR(v[1].mount_path, "/x");
    CHECK_STR(v[2].mount_path, "/y");
    CHECK_EQ(v[0].status, STORE_MOUNT_PENDING);
    free(v);

    struct store_mount g;
    CHECK_EQ(store_mount_set_status(f.st, b, "/x", STORE_MOUNT_ERROR, "s3fs exited", 4000), 0);
    CHECK_EQ(store_mount_get(f.st, b, "/x", &g), 0);
    CHECK_EQ(g.status, STORE_MOUNT_ERROR);
    CHECK_STR(g.error, "s3fs exited");
    CHECK(g.updated_at == 4000 && g.created_at == 3000);
    CHECK_EQ(store_mount_set_status(f.st, b, "/x", STORE_MOUNT_MOUNTED, NULL, 5000), 0);
    CHECK_EQ(store_mount_get(f.st, b, "/x", &g), 0);
    CHECK_EQ(g.status, STORE_MOUNT_MOUNTED);
    CHECK_STR(g.error, "");
    CHECK_EQ(store_mount_set_status(f.st, b, "/nope", STORE_MOUNT_MOUNTED, NULL, 5000), -ENOENT);
    CHECK_EQ(store_mount_set_status(f.st, b, "/x", (enum store_mount_status)9, NULL, 5000),
             -EINVAL);
    char longerr[STORE_MOUNT_ERROR_SIZE + 8];
    memset(longerr, 'e', sizeof(longerr) - 1);
    longerr[sizeof(longerr) - 1] = '\0';
    CHECK_EQ(store_mount_set_status(f.st, b, "/x", STORE_MOUNT_ERROR, longerr, 5000),
             -ENAMETOOLONG);
    CHECK_EQ(store_mount_get(f.st, b, "/nope", &g), -ENOENT);
    CHECK_EQ(store_mount_remove(f.st, b, "/w"), 0);
    CHECK_EQ(store_mount_remove(f.st, b, "/w"), -ENOENT);

    CHECK_STR(store_mount_status_name(STORE_MOUNT_UNMOUNTING), "unmounting");
    CHECK(store_mount_status_name((enum store_mount_status)42) == NULL);
    fx_close(&f);
}

TEST(disks_mount_sandboxes_and_deleted_disk_fields)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    CHECK(add_disk(&f, "alice", D1, "data", 0));
    char a[STORE_ID_SIZE], b[STORE_ID_SIZE], c[STORE_ID_SIZE];
    if (!add_sb(&f, "a", a) || !add_sb(&f, "b", b) || !add_sb(&f, "c", c))
        return;
    struct store_sandbox_patch p = { .fields = STORE_PATCH_HOST, .host_id = "h2" };
    CHECK_EQ(store_sandbox_update(f.st, "alice", c, &p), 0);
    struct store_mount m = mount_of(a, "/d", D1);
    snprintf(m.sub_path, sizeof(m.sub_path), "pre/fix");
    CHECK_EQ(store_mount_add(f.st, &m), 0);
    m = mount_of(c, "/d", D1);
    CHECK_EQ(store_mount_add(f.st, &m), 0);
    struct store_strv ids;
    CHECK_EQ(store_mount_sandboxes(f.st, "h1", &ids), 0);
    CHECK_EQ(ids.n, 1); /* b holds no mount, c is on h2 */
    if (ids.n == 1)
        CHECK_STR(ids.v[0], a);
    store_strv_free(&ids);
    struct store_transition t = { .from = STORE_RUNNING, .to = STORE_PAUSING,
                                  .intent = STORE_STATE_NONE, .now_ms = 5000 };
    CHECK_EQ(store_sandbox_transition(f.st, a, &t, NULL), 0);
    CHECK_EQ(store_mount_sandboxes(f.st, "h1", &ids), 0);
    CHECK_EQ(ids.n, 0); /* only running ones */
    store_strv_free(&ids);

    /* the disk goes (its mount in c is removed first); a's mount still shows its disk */
    CHECK_EQ(store_mount_remove(f.st, c, "/d"), 0);
    CHECK_EQ(store_mount_remove(f.st, a, "/d"), 0);
    m = mount_of(a, "/d", D1);
    snprintf(m.sub_path, sizeof(m.sub_path), "pre/fix");
    CHECK_EQ(store_mount_add(f.st, &m), 0);
    /* delete is refused while the mount is there, so mark the disk deleted behind the store's
     * back (as an older daemon's crash between the two could leave it) */
    uint64_t sbs;
    CHECK_EQ(store_disk_delete(f.st, "alice", D1, 6000, &sbs), -EBUSY);
    CHECK_EQ(fx_sql(&f, "UPDATE disks SET deleted_at = 6000", NULL), 0);
    struct store_mount g;
    CHECK_EQ(store_mount_get(f.st, a, "/d", &g), 0);
    CHECK_STR(g.disk_name, "data");
    CHECK_STR(g.bucket, "bucket-data");
    CHECK_STR(g.endpoint, "https://s3.example.com");
    CHECK_STR(g.sub_path, "pre/fix");
    CHECK(g.path_style);
    fx_close(&f);
}
