/* SPDX-License-Identifier: MIT */
/* fixture.h: shared set-up for the store tests: a fresh database per test (a file in its own
 * temp directory, or a PostgreSQL database when HEARTH_TEST_PG is set: tests/pgtest.h), a user with a key, and a sandbox row filled with plausible values. Header-only
 * because each test binary links alone. fx_close() also runs a leak check, since the harness
 * ends each test with _exit() and LeakSanitizer would otherwise never look. */
#pragma once

#include "daemon/store/ids.h"
#include "daemon/store/store.h"
#include "harness.h"
#include "pgtest.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

struct fx {
    char dir[64];
    char path[256];                  /* the store location: a file, or a postgresql:// URI */
    bool pg;
    struct store *st;
    char key_id[STORE_ID_SIZE];      /* key of user "alice" */
    char secret[APIKEY_LEN + 1];
};

/* Skips the running test under PostgreSQL, saying why (what it checks is SQLite's own). */
#define FX_SQLITE_ONLY(why)                                                                      \
    do {                                                                                         \
        if (pgtest_uri())                                                                        \
            harness_skip("SQLite only: %s", why);                                                \
    } while (0)

static inline void fx_path(struct fx *f)
{
    if (pgtest_uri()) {
        f->pg = true;
        if (pgtest_db_create(f->path, sizeof(f->path)) < 0)
            harness_fail(__FILE__, __LINE__, "cannot create a PostgreSQL test database");
        return;
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/hearth-store-XXXXXX");
    if (!mkdtemp(f->dir))
        harness_skip("mkdtemp: %s", strerror(errno));
    snprintf(f->path, sizeof(f->path), "%s/hearth.db", f->dir);
}

/* Opens a fresh database; with_key also creates user alice and a key for her. */
static inline bool fx_open(struct fx *f, bool with_key)
{
    memset(f, 0, sizeof(*f));
    fx_path(f);
    char err[256];
    int r = store_open(f->path, &f->st, err, sizeof(err));
    if (r < 0)
        harness_fail(__FILE__, __LINE__, "store_open: %d %s", r, err);
    REQUIRE(r == 0);
    if (with_key) {
        struct store_key k;
        REQUIRE(store_key_create(f->st, "alice", "test", false, 1000, &k, f->secret) == 0);
        memcpy(f->key_id, k.id, sizeof(k.id));
    }
    return true;
}

static inline void fx_remove_files(struct fx *f)
{
    if (f->pg) {
        pgtest_db_drop(f->path);
        return;
    }
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < 4; i++) {
        char p[300];
        snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
        (void)unlink(p); /* missing is fine */
    }
    (void)rmdir(f->dir);
}

/* Runs raw sql on the test's database, either backend; with ret, the first column of the first
 * row as an integer. 0 or -1. */
static inline int fx_sql(const struct fx *f, const char *sql, long long *ret)
{
    if (f->pg)
        return pgtest_sql(f->path, sql, ret);
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int r = -1;
    if (sqlite3_open(f->path, &db) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
            int rc = sqlite3_step(q);
            if (rc == SQLITE_ROW && ret) {
                *ret = sqlite3_column_int64(q, 0);
                r = 0;
            } else if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
                r = ret ? -1 : 0;
            }
        }
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return r;
}

static inline void fx_leak_check(void)
{
#if defined(__SANITIZE_ADDRESS__)
    if (__lsan_do_recoverable_leak_check())
        harness_fail(__FILE__, __LINE__, "memory leaked (see LeakSanitizer report above)");
#endif
}

static inline void fx_close(struct fx *f)
{
    store_close(f->st);
    f->st = NULL;
    fx_remove_files(f);
    fx_leak_check();
}

/* A row owned by user/key with the given name and creation time; status running. */
static inline void fx_sandbox(struct store_sandbox *sb, const char *user, const char *key_id,
                              const char *name, int64_t created_at)
{
    store_sandbox_init(sb);
    if (ids_new_sandbox(sb->id) < 0)
        harness_fail(__FILE__, __LINE__, "ids_new_sandbox");
    snprintf(sb->user_id, sizeof(sb->user_id), "%s", user);
    snprintf(sb->name, sizeof(sb->name), "%s", name);
    sb->status = STORE_RUNNING;
    snprintf(sb->shape, sizeof(sb->shape), "s-1vcpu-1gb");
    sb->vcpu = 1;
    sb->mem_mib = 1024;
    sb->disk_mib = 10240;
    snprintf(sb->rootfs, sizeof(sb->rootfs), "devbox:1");
    snprintf(sb->region, sizeof(sb->region), "local");
    snprintf(sb->created_by, sizeof(sb->created_by), "%s", key_id);
    sb->created_at = created_at;
}
