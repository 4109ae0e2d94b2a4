/* SPDX-License-Identifier: MIT */
/* sqlite_disks.c: S3 disks and their mounts in the SQLite backend (migration 0007). The sealed
 * credentials are an opaque blob here; mounts are read joined with their disk row, deleted or
 * not, so a sandbox can still show and unmount a disk deleted since. Statements are prepared per
 * call: these calls are rare next to sandbox reads. */
#include "daemon/store/sqlite_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* mounts count only in sandboxes that are not terminal (the trigger removes the others' rows;
 * the join is belt and braces) */
#define DISK_COLS                                                                                \
    "d.id, d.user_id, d.name, d.bucket, d.endpoint, d.region, d.path_style, d.sealed, "          \
    "d.created_at, d.updated_at, coalesce(d.deleted_at, 0), "                                    \
    "(SELECT count(*) FROM sandbox_disks m JOIN sandboxes s ON s.id = m.sandbox_id "             \
    "WHERE m.disk_id = d.id AND s.status NOT IN ('destroyed', 'failed')), "                      \
    "(SELECT count(DISTINCT m.sandbox_id) FROM sandbox_disks m JOIN sandboxes s ON "             \
    "s.id = m.sandbox_id WHERE m.disk_id = d.id AND s.status NOT IN ('destroyed', 'failed'))"

#define MOUNT_COLS                                                                               \
    "m.sandbox_id, m.mount_path, m.disk_id, m.sub_path, m.error, d.name, d.bucket, "             \
    "d.endpoint, d.region, m.status, m.created_at, m.updated_at, d.path_style"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const mount_status_names[] = {
    [STORE_MOUNT_PENDING] = "pending",
    [STORE_MOUNT_MOUNTED] = "mounted",
    [STORE_MOUNT_ERROR] = "error",
    [STORE_MOUNT_UNMOUNTING] = "unmounting",
};

const char *store_mount_status_name(enum store_mount_status s)
{
    return (unsigned)s < NELEM(mount_status_names) ? mount_status_names[s] : NULL;
}

/* Runs sql (texts p bound) for its one row of one integer column. */
static int count1(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                  int64_t *out)
{
    return sqlite_select_ints(s, sql, p, np, out, 1);
}

static int read_disk(sqlite3_stmt *q, void *elem)
{
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_disk, f)
        T(0, id), T(1, user_id), T(2, name), T(3, bucket), T(4, endpoint), T(5, region),
#undef T
    };
    struct store_disk *d = elem;
    memset(d, 0, sizeof(*d));
    int r = sqlite_col_texts(q, d, texts, NELEM(texts));
    d->path_style = sqlite3_column_int(q, 6) != 0;
    const void *blob = sqlite3_column_blob(q, 7);
    int len = sqlite3_column_bytes(q, 7);
    if (r == 0 && (len <= 0 || (size_t)len > sizeof(d->sealed) || !blob))
        r = -EUCLEAN;
    if (r == 0) {
        memcpy(d->sealed, blob, (size_t)len);
        d->sealed_len = (size_t)len;
    }
    d->created_at = sqlite3_column_int64(q, 8);
    d->updated_at = sqlite3_column_int64(q, 9);
    d->deleted_at = sqlite3_column_int64(q, 10);
    d->mount_count = (uint64_t)sqlite3_column_int64(q, 11);
    d->sandbox_count = (uint64_t)sqlite3_column_int64(q, 12);
    return r;
}

/* The one disk row sql (texts p bound) selects, or -ENOENT. */
static int disk_one(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                    struct store_disk *ret)
{
    return sqlite_select_one(s, sql, p, np, read_disk, ret);
}

int sqlite_disk_insert(struct store *st, const struct store_disk *d)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { d->id, d->user_id, d->name, d->bucket, d->endpoint, d->region };
    int64_t taken = 0;
    int r = sqlite_tx_begin(s, true);
    /* the live-name index and the primary key both raise -EEXIST: look first to tell them apart
     * (an id collision is a bug, a name collision is the user's) */
    if (r == 0)
        r = count1(s, "SELECT count(*) FROM disks WHERE user_id = ?1 AND name = ?2 AND "
                      "deleted_at IS NULL", p + 1, 2, &taken);
    if (r == 0 && taken > 0)
        r = -EEXIST;
    sqlite3_stmt *q;
    if (r == 0)
        r = sqlite_prepare_bound(s, "INSERT INTO disks (id, user_id, name, kind, bucket, endpoint, "
                                    "region, path_style, sealed, created_at, updated_at) VALUES "
                                    "(?1, ?2, ?3, 's3', ?4, ?5, ?6, ?7, ?8, ?9, ?9)", p, 5, &q);
    if (r == 0) {
        sqlite_bind_text_opt(q, 6, d->region);
        sqlite3_bind_int(q, 7, d->path_style ? 1 : 0);
        sqlite3_bind_blob(q, 8, d->sealed, (int)d->sealed_len, SQLITE_STATIC);
        sqlite3_bind_int64(q, 9, d->created_at);
        r = sqlite_finish(s, q);
        if (r == -EEXIST) /* the primary key: not the user's name */
            r = -EIO;
    }
    return sqlite_tx_end(s, r);
}

int sqlite_disk_get(struct store *st, const char *user_id, const char *ref, struct store_disk *ret)
{
    const char *p[] = { user_id, ref };
    return disk_one(to_sqlite(st),
                    "SELECT " DISK_COLS " FROM disks d WHERE d.user_id = ?1 AND "
                    "(d.id = ?2 OR (d.name = ?2 AND d.deleted_at IS NULL)) "
                    "ORDER BY d.id = ?2 DESC LIMIT 1", p, 2, ret);
}

int sqlite_disk_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                     struct store_disk **ret, size_t *ret_n, uint64_t *ret_total)
{
    void *v = NULL;
    int r = sqlite_select_page(
        to_sqlite(st), "SELECT count(*) FROM disks WHERE user_id = ?1 AND deleted_at IS NULL",
        "SELECT " DISK_COLS " FROM disks d WHERE d.user_id = ?1 AND d.deleted_at IS NULL "
        "ORDER BY d.created_at DESC, d.id DESC LIMIT ?2 OFFSET ?3",
        &user_id, 1, limit, offset, sizeof(struct store_disk), read_disk, &v, ret_n, ret_total);
    if (r == 0)
        *ret = v;
    return r;
}

int sqlite_disk_list_all(struct store *st, struct store_disk **ret, size_t *ret_n)
{
    void *v;
    int r = sqlite_select_all(to_sqlite(st), "SELECT " DISK_COLS " FROM disks d ORDER BY d.id",
                              NULL, 0, sizeof(struct store_disk), 16, read_disk, &v, ret_n);
    if (r == 0)
        *ret = v;
    return r;
}

int sqlite_disk_set_sealed(struct store *st, const char *user_id, const char *id,
                           const uint8_t *sealed, size_t len, int64_t now_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { id, user_id };
    sqlite3_stmt *q;
    /* a credential rotation (user given) moves updated_at; a key rotation re-seals in place */
    int r = sqlite_prepare_bound(s, user_id
        ? "UPDATE disks SET sealed = ?3, updated_at = ?4 WHERE id = ?1 AND user_id = ?2"
        : "UPDATE disks SET sealed = ?3 WHERE id = ?1", p, user_id ? 2 : 1, &q);
    if (r < 0)
        return r;
    sqlite3_bind_blob(q, 3, sealed, (int)len, SQLITE_STATIC);
    if (user_id)
        sqlite3_bind_int64(q, 4, now_ms);
    r = sqlite_step_change(s, q);
    sqlite3_finalize(q);
    return r;
}

int sqlite_disk_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                       uint64_t *ret_sandboxes)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { id, user_id };
    struct store_disk d;
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = disk_one(s, "SELECT " DISK_COLS " FROM disks d WHERE d.id = ?1 AND d.user_id = ?2",
                     p, 2, &d);
    if (r == 0 && d.deleted_at)
        r = -EALREADY;
    if (r == 0 && d.sandbox_count) {
        *ret_sandboxes = d.sandbox_count;
        r = -EBUSY;
    }
    sqlite3_stmt *q;
    if (r == 0)
        r = sqlite_prepare_bound(s, "UPDATE disks SET deleted_at = ?2 WHERE id = ?1", p, 1, &q);
    if (r == 0) {
        sqlite3_bind_int64(q, 2, now_ms);
        r = sqlite_finish(s, q);
    }
    return sqlite_tx_end(s, r);
}

/* Inserts one mount inside the caller's write transaction, after the limit check. */
static int mount_insert(struct sqlite_store *s, const struct store_mount *m)
{
    const char *p[] = { m->sandbox_id, m->mount_path, m->disk_id };
    int64_t have = 0, disk = 0;
    int r = count1(s, "SELECT count(*) FROM sandbox_disks WHERE sandbox_id = ?1", p, 1, &have);
    if (r == 0 && have >= STORE_MAX_MOUNTS) {
        /* the path taken is the more precise answer, whatever the count */
        int64_t same = 0;
        r = count1(s, "SELECT count(*) FROM sandbox_disks WHERE sandbox_id = ?1 AND "
                      "mount_path = ?2", p, 2, &same);
        if (r == 0)
            r = same ? -EEXIST : -E2BIG;
    }
    /* the foreign key would say -ENOENT too, but a deleted disk must not be mounted anew */
    if (r == 0)
        r = count1(s, "SELECT count(*) FROM disks WHERE id = ?3 AND deleted_at IS NULL", p, 3,
                   &disk);
    if (r == 0 && disk == 0)
        r = -ENOENT;
    sqlite3_stmt *q;
    if (r == 0)
        r = sqlite_prepare_bound(s, "INSERT INTO sandbox_disks (sandbox_id, mount_path, disk_id, "
                                    "sub_path, status, error, created_at, updated_at) VALUES "
                                    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", p, 3, &q);
    if (r == 0) {
        sqlite_bind_text_opt(q, 4, m->sub_path);
        sqlite_bind_text(q, 5, store_mount_status_name(m->status));
        sqlite_bind_text_opt(q, 6, m->error);
        sqlite3_bind_int64(q, 7, m->created_at);
        sqlite3_bind_int64(q, 8, m->updated_at ? m->updated_at : m->created_at);
        r = sqlite_finish(s, q);
    }
    return r;
}

int sqlite_mount_add_many(struct store *st, const struct store_mount *m, size_t n)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = sqlite_tx_begin(s, true);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = mount_insert(s, &m[i]);
    return sqlite_tx_end(s, r);
}

static int read_mount(sqlite3_stmt *q, void *elem)
{
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_mount, f)
        T(0, sandbox_id), T(1, mount_path), T(2, disk_id), T(3, sub_path), T(4, error),
        T(5, disk_name), T(6, bucket), T(7, endpoint), T(8, region),
#undef T
    };
    struct store_mount *m = elem;
    memset(m, 0, sizeof(*m));
    int r = sqlite_col_texts(q, m, texts, NELEM(texts));
    const char *st = (const char *)sqlite3_column_text(q, 9);
    bool known = false;
    for (size_t i = 0; st && i < NELEM(mount_status_names); i++)
        if (strcmp(st, mount_status_names[i]) == 0) {
            m->status = (enum store_mount_status)i;
            known = true;
        }
    if (r == 0 && !known)
        r = -EUCLEAN;
    m->created_at = sqlite3_column_int64(q, 10);
    m->updated_at = sqlite3_column_int64(q, 11);
    m->path_style = sqlite3_column_int(q, 12) != 0;
    return r;
}

int sqlite_mount_list(struct store *st, const char *sandbox_id, struct store_mount **ret,
                      size_t *ret_n)
{
    void *v;
    int r = sqlite_select_all(to_sqlite(st),
                              "SELECT " MOUNT_COLS " FROM sandbox_disks m JOIN disks d ON "
                              "d.id = m.disk_id WHERE m.sandbox_id = ?1 ORDER BY m.mount_path",
                              &sandbox_id, 1, sizeof(struct store_mount), 4, read_mount, &v,
                              ret_n);
    if (r == 0)
        *ret = v;
    return r;
}

int sqlite_mount_get(struct store *st, const char *sandbox_id, const char *mount_path,
                     struct store_mount *ret)
{
    const char *p[] = { sandbox_id, mount_path };
    return sqlite_select_one(to_sqlite(st), "SELECT " MOUNT_COLS " FROM sandbox_disks m JOIN "
                             "disks d ON d.id = m.disk_id WHERE m.sandbox_id = ?1 AND "
                             "m.mount_path = ?2", p, 2, read_mount, ret);
}

int sqlite_mount_set_status(struct store *st, const char *sandbox_id, const char *mount_path,
                            enum store_mount_status status, const char *error, int64_t now_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { sandbox_id, mount_path, store_mount_status_name(status) };
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, "UPDATE sandbox_disks SET status = ?3, error = ?4, "
                                    "updated_at = ?5 WHERE sandbox_id = ?1 AND mount_path = ?2",
                                 p, 3, &q);
    if (r < 0)
        return r;
    sqlite_bind_text_opt(q, 4, error);
    sqlite3_bind_int64(q, 5, now_ms);
    r = sqlite_step_change(s, q);
    sqlite3_finalize(q);
    return r;
}

int sqlite_mount_remove(struct store *st, const char *sandbox_id, const char *mount_path)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { sandbox_id, mount_path };
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, "DELETE FROM sandbox_disks WHERE sandbox_id = ?1 AND "
                                    "mount_path = ?2", p, 2, &q);
    if (r < 0)
        return r;
    r = sqlite_step_change(s, q);
    sqlite3_finalize(q);
    return r;
}

int sqlite_mount_sandboxes(struct store *st, const char *host_id, struct store_strv *ret)
{
    struct sqlite_store *s = to_sqlite(st);
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, "SELECT DISTINCT s.id FROM sandboxes s JOIN sandbox_disks m "
                                    "ON m.sandbox_id = s.id WHERE s.host_id = ?1 AND "
                                    "s.status = 'running' ORDER BY s.id", &host_id, 1, &q);
    if (r < 0)
        return r;
    r = sqlite_read_strv(s, q, ret);
    sqlite3_finalize(q);
    return r;
}
