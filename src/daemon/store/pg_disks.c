/* SPDX-License-Identifier: MIT */
/* pg_disks.c: S3 disks and their mounts in the PostgreSQL backend (migrations_pg/0007), with
 * sqlite_disks.c's semantics call for call. The sealed credentials are an opaque bytea; mounts
 * are read joined with their disk row, deleted or not. Each write holds the store's write lock
 * (pg_tx_begin), so the look-first checks (a live name, the mount cap, a deleted disk) cannot
 * race another hearthd. Mount paths are ordered bytewise (COLLATE "C"), as SQLite orders them,
 * whatever the database's locale. */
#include "daemon/store/pg_internal.h"

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

static int read_disk(const PGresult *res, int row, void *elem)
{
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_disk, f)
        T(0, id), T(1, user_id), T(2, name), T(3, bucket), T(4, endpoint), T(5, region),
#undef T
    };
    struct store_disk *d = elem;
    memset(d, 0, sizeof(*d));
    int r = pg_col_texts(res, row, d, texts, NELEM(texts));
    d->path_style = pg_col_bool(res, row, 6);
    if (r == 0)
        r = pg_col_bytea(res, row, 7, d->sealed, sizeof(d->sealed), &d->sealed_len);
    if (r == 0 && d->sealed_len == 0) /* NOT NULL, and store.c never stores it empty */
        r = -EUCLEAN;
    d->created_at = pg_col_i64(res, row, 8);
    d->updated_at = pg_col_i64(res, row, 9);
    d->deleted_at = pg_col_i64(res, row, 10);
    d->mount_count = (uint64_t)pg_col_i64(res, row, 11);
    d->sandbox_count = (uint64_t)pg_col_i64(res, row, 12);
    return r;
}

int pg_disk_insert(struct store *st, const struct store_disk *d)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    int64_t taken = 0;
    int r = pg_tx_begin(s, true);
    /* the live-name index and the primary key both raise -EEXIST: look first to tell them apart
     * (an id collision is a bug, a name collision is the user's) */
    if (r == 0) {
        pg_params_texts(&pp, (const char *[]){ d->user_id, d->name }, 2);
        r = pg_select_ints(s, "SELECT count(*) FROM disks WHERE user_id = $1 AND name = $2 AND "
                              "deleted_at IS NULL", &pp, &taken, 1);
    }
    if (r == 0 && taken > 0)
        r = -EEXIST;
    if (r == 0) {
        pg_params_texts(&pp, (const char *[]){ d->id, d->user_id, d->name, d->bucket,
                                               d->endpoint }, 5);
        pg_param_text_opt(&pp, d->region);
        pg_param_bool(&pp, d->path_style);
        pg_param_bytea(&pp, d->sealed, d->sealed_len);
        pg_param_i64(&pp, d->created_at);
        r = pg_exec(s, "INSERT INTO disks (id, user_id, name, kind, bucket, endpoint, region, "
                       "path_style, sealed, created_at, updated_at) VALUES "
                       "($1, $2, $3, 's3', $4, $5, $6, $7, $8, $9, $9)", &pp, NULL);
        if (r == -EEXIST) /* the primary key: not the user's name */
            r = -EIO;
    }
    return pg_tx_end(s, r);
}

int pg_disk_get(struct store *st, const char *user_id, const char *ref, struct store_disk *ret)
{
    struct pg_params pp;
    pg_params_texts(&pp, (const char *[]){ user_id, ref }, 2);
    return pg_select_one(to_pg(st),
                         "SELECT " DISK_COLS " FROM disks d WHERE d.user_id = $1 AND "
                         "(d.id = $2 OR (d.name = $2 AND d.deleted_at IS NULL)) "
                         "ORDER BY d.id = $2 DESC LIMIT 1", &pp, read_disk, ret);
}

int pg_disk_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                 struct store_disk **ret, size_t *ret_n, uint64_t *ret_total)
{
    struct pg_params pp;
    pg_params_texts(&pp, &user_id, 1);
    void *v = NULL;
    int r = pg_select_page(
        to_pg(st), "SELECT count(*) FROM disks WHERE user_id = $1 AND deleted_at IS NULL",
        "SELECT " DISK_COLS " FROM disks d WHERE d.user_id = $1 AND d.deleted_at IS NULL "
        "ORDER BY d.created_at DESC, d.id DESC LIMIT $2 OFFSET $3",
        &pp, limit, offset, sizeof(struct store_disk), read_disk, &v, ret_n, ret_total);
    if (r == 0)
        *ret = v;
    return r;
}

int pg_disk_list_all(struct store *st, struct store_disk **ret, size_t *ret_n)
{
    void *v;
    int r = pg_select_all(to_pg(st), "SELECT " DISK_COLS " FROM disks d ORDER BY d.id", NULL,
                          sizeof(struct store_disk), read_disk, &v, ret_n);
    if (r == 0)
        *ret = v;
    return r;
}

int pg_disk_set_sealed(struct store *st, const char *user_id, const char *id,
                       const uint8_t *sealed, size_t len, int64_t now_ms)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    pg_params_texts(&pp, (const char *[]){ id, user_id }, user_id ? 2 : 1);
    pg_param_bytea(&pp, sealed, len);
    if (user_id)
        pg_param_i64(&pp, now_ms);
    int r = pg_tx_begin(s, true);
    /* a credential rotation (user given) moves updated_at; a key rotation re-seals in place */
    if (r == 0)
        r = pg_exec_change(s, user_id
            ? "UPDATE disks SET sealed = $3, updated_at = $4 WHERE id = $1 AND user_id = $2"
            : "UPDATE disks SET sealed = $2 WHERE id = $1", &pp);
    return pg_tx_end(s, r);
}

int pg_disk_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                   uint64_t *ret_sandboxes)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    struct store_disk d;
    int r = pg_tx_begin(s, true);
    if (r == 0) {
        pg_params_texts(&pp, (const char *[]){ id, user_id }, 2);
        r = pg_select_one(s, "SELECT " DISK_COLS " FROM disks d WHERE d.id = $1 AND "
                             "d.user_id = $2", &pp, read_disk, &d);
    }
    if (r == 0 && d.deleted_at)
        r = -EALREADY;
    if (r == 0 && d.sandbox_count) {
        *ret_sandboxes = d.sandbox_count;
        r = -EBUSY;
    }
    if (r == 0) {
        pg_params_texts(&pp, &id, 1);
        pg_param_i64(&pp, now_ms);
        r = pg_exec(s, "UPDATE disks SET deleted_at = $2 WHERE id = $1", &pp, NULL);
    }
    return pg_tx_end(s, r);
}

/* Inserts one mount inside the caller's write transaction, after the limit check. */
static int mount_insert(struct pg_store *s, const struct store_mount *m)
{
    struct pg_params pp;
    pg_params_texts(&pp, (const char *[]){ m->sandbox_id, m->mount_path, m->disk_id }, 3);
    int64_t c[3];
    /* how many the sandbox has, whether this path is one of them, whether the disk is live */
    int r = pg_select_ints(s, "SELECT (SELECT count(*) FROM sandbox_disks WHERE sandbox_id = $1), "
                              "(SELECT count(*) FROM sandbox_disks WHERE sandbox_id = $1 AND "
                              "mount_path = $2), (SELECT count(*) FROM disks WHERE id = $3 AND "
                              "deleted_at IS NULL)", &pp, c, 3);
    /* past the cap, the path taken is the more precise answer */
    if (r == 0 && c[0] >= STORE_MAX_MOUNTS)
        r = c[1] ? -EEXIST : -E2BIG;
    /* the foreign key would say -ENOENT too, but a deleted disk must not be mounted anew */
    if (r == 0 && c[2] == 0)
        r = -ENOENT;
    if (r == 0) {
        pg_param_text_opt(&pp, m->sub_path);
        pg_param_text(&pp, store_mount_status_name(m->status));
        pg_param_text_opt(&pp, m->error);
        pg_param_i64(&pp, m->created_at);
        pg_param_i64(&pp, m->updated_at ? m->updated_at : m->created_at);
        r = pg_exec(s, "INSERT INTO sandbox_disks (sandbox_id, mount_path, disk_id, sub_path, "
                       "status, error, created_at, updated_at) VALUES "
                       "($1, $2, $3, $4, $5, $6, $7, $8)", &pp, NULL);
    }
    return r;
}

int pg_mount_add_many(struct store *st, const struct store_mount *m, size_t n)
{
    struct pg_store *s = to_pg(st);
    int r = pg_tx_begin(s, true);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = mount_insert(s, &m[i]);
    return pg_tx_end(s, r);
}

static int read_mount(const PGresult *res, int row, void *elem)
{
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_mount, f)
        T(0, sandbox_id), T(1, mount_path), T(2, disk_id), T(3, sub_path), T(4, error),
        T(5, disk_name), T(6, bucket), T(7, endpoint), T(8, region),
#undef T
    };
    struct store_mount *m = elem;
    memset(m, 0, sizeof(*m));
    int r = pg_col_texts(res, row, m, texts, NELEM(texts));
    const char *st = pg_col_null(res, row, 9) ? NULL : PQgetvalue(res, row, 9);
    bool known = false;
    for (size_t i = 0; st && i < STORE_MOUNT_UNMOUNTING + 1; i++)
        if (strcmp(st, store_mount_status_name((enum store_mount_status)i)) == 0) {
            m->status = (enum store_mount_status)i;
            known = true;
        }
    if (r == 0 && !known)
        r = -EUCLEAN;
    m->created_at = pg_col_i64(res, row, 10);
    m->updated_at = pg_col_i64(res, row, 11);
    m->path_style = pg_col_bool(res, row, 12);
    return r;
}

int pg_mount_list(struct store *st, const char *sandbox_id, struct store_mount **ret,
                  size_t *ret_n)
{
    struct pg_params pp;
    pg_params_texts(&pp, &sandbox_id, 1);
    void *v;
    int r = pg_select_all(to_pg(st),
                          "SELECT " MOUNT_COLS " FROM sandbox_disks m JOIN disks d ON "
                          "d.id = m.disk_id WHERE m.sandbox_id = $1 "
                          "ORDER BY m.mount_path COLLATE \"C\"",
                          &pp, sizeof(struct store_mount), read_mount, &v, ret_n);
    if (r == 0)
        *ret = v;
    return r;
}

int pg_mount_get(struct store *st, const char *sandbox_id, const char *mount_path,
                 struct store_mount *ret)
{
    struct pg_params pp;
    pg_params_texts(&pp, (const char *[]){ sandbox_id, mount_path }, 2);
    return pg_select_one(to_pg(st), "SELECT " MOUNT_COLS " FROM sandbox_disks m JOIN disks d ON "
                         "d.id = m.disk_id WHERE m.sandbox_id = $1 AND m.mount_path = $2", &pp,
                         read_mount, ret);
}

int pg_mount_set_status(struct store *st, const char *sandbox_id, const char *mount_path,
                        enum store_mount_status status, const char *error, int64_t now_ms)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    pg_params_texts(&pp, (const char *[]){ sandbox_id, mount_path,
                                           store_mount_status_name(status) }, 3);
    pg_param_text_opt(&pp, error);
    pg_param_i64(&pp, now_ms);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_exec_change(s, "UPDATE sandbox_disks SET status = $3, error = $4, updated_at = $5 "
                              "WHERE sandbox_id = $1 AND mount_path = $2", &pp);
    return pg_tx_end(s, r);
}

int pg_mount_remove(struct store *st, const char *sandbox_id, const char *mount_path)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    pg_params_texts(&pp, (const char *[]){ sandbox_id, mount_path }, 2);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_exec_change(s, "DELETE FROM sandbox_disks WHERE sandbox_id = $1 AND "
                              "mount_path = $2", &pp);
    return pg_tx_end(s, r);
}

int pg_mount_sandboxes(struct store *st, const char *host_id, struct store_strv *ret)
{
    struct pg_params pp;
    pg_params_texts(&pp, &host_id, 1);
    return pg_select_strv(to_pg(st), "SELECT DISTINCT s.id FROM sandboxes s JOIN sandbox_disks m "
                                     "ON m.sandbox_id = s.id WHERE s.host_id = $1 AND "
                                     "s.status = 'running' ORDER BY s.id", &pp, ret);
}
