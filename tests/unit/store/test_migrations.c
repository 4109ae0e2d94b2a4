/* SPDX-License-Identifier: MIT */
/* test_migrations.c: a new database gets every embedded migration; reopening changes nothing; a
 * database from a newer hearthd, or a file that is not a database, is refused untouched. */
#include "daemon/store/migrations.h"
#include "fixture.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

static int raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

TEST(migrations_are_numbered_from_one)
{
    size_t n;
    const struct store_migration *m = store_migrations(&n);
    CHECK(n >= 1);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(m[i].version, (int)i + 1);
        CHECK(m[i].name && m[i].name[0]);
        CHECK(strstr(m[i].sql, "CREATE") || strstr(m[i].sql, "ALTER"));
    }
    CHECK_EQ(store_migrations_latest(), (int)n);
    CHECK_STR(m[0].name, "initial");
}

TEST(migrations_from_empty_database)
{
    struct fx f;
    if (!fx_open(&f, false))
        return;
    int v = 0;
    CHECK_EQ(store_schema_version(f.st, &v), 0);
    CHECK_EQ(v, store_migrations_latest());
    CHECK_EQ(store_check(f.st), 0);
    CHECK_STR(store_errmsg(f.st), "");
    if (f.pg) { /* the rest is about SQLite's files; test_pg.c checks PostgreSQL's schema */
        fx_close(&f);
        return;
    }
    /* secrets live here: owner-only, the WAL included */
    struct stat sbuf;
    CHECK_EQ(stat(f.path, &sbuf), 0);
    CHECK_EQ(sbuf.st_mode & 077, 0);
    char wal[300];
    snprintf(wal, sizeof(wal), "%s-wal", f.path);
    CHECK_EQ(stat(wal, &sbuf), 0);
    CHECK_EQ(sbuf.st_mode & 077, 0);
    store_close(f.st);
    f.st = NULL;
    /* WAL mode sticks to the file; the schema is all there */
    CHECK_EQ(raw_int(f.path, "PRAGMA user_version"), store_migrations_latest());
    CHECK_EQ(raw_int(f.path, "SELECT count(*) FROM sqlite_schema WHERE name IN ('users', "
                             "'api_keys', 'sandboxes', 'sandbox_envs', 'sandbox_egress', "
                             "'sandbox_ssh_keys', 'sandboxes_live_hostname', 'sandboxes_ip')"),
             8);
    sqlite3 *db;
    CHECK_EQ(sqlite3_open(f.path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    CHECK_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    CHECK_EQ(sqlite3_step(q), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
    fx_close(&f);
}

TEST(migrations_reopen_is_idempotent)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "keep-me", 5000);
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
    store_close(f.st);
    for (int i = 0; i < 3; i++) {
        char err[200];
        CHECK_EQ(store_open(f.path, &f.st, err, sizeof(err)), 0);
        int v = 0;
        CHECK_EQ(store_schema_version(f.st, &v), 0);
        CHECK_EQ(v, store_migrations_latest());
        struct store_sandbox got;
        CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &got), 0);
        CHECK_STR(got.name, "keep-me");
        store_sandbox_release(&got);
        store_close(f.st);
    }
    f.st = NULL;
    long long rows = 0;
    CHECK_EQ(fx_sql(&f, "SELECT count(*) FROM sandboxes", &rows), 0);
    CHECK_EQ(rows, 1);
    if (f.pg) {
        fx_remove_files(&f);
        fx_leak_check();
        return;
    }
    /* "sqlite:" prefix names the same file */
    char loc[300], err[200];
    snprintf(loc, sizeof(loc), "sqlite:%s", f.path);
    CHECK_EQ(store_open(loc, &f.st, err, sizeof(err)), 0);
    fx_close(&f);
}

TEST(migrations_refuse_newer_database)
{
    FX_SQLITE_ONLY("a newer schema in PostgreSQL is test_pg.c's pg_refuses_newer_schema");
    struct fx f;
    memset(&f, 0, sizeof(f));
    fx_path(&f);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", store_migrations_latest() + 1);
    CHECK_EQ(raw_exec(f.path, "CREATE TABLE future (x INTEGER)"), SQLITE_OK);
    CHECK_EQ(raw_exec(f.path, sql), SQLITE_OK);
    char err[300] = "untouched";
    struct store *st = (struct store *)0x1;
    CHECK_EQ(store_open(f.path, &st, err, sizeof(err)), -ENOTSUP);
    CHECK(st == (struct store *)0x1); /* not written on failure */
    CHECK(strstr(err, "newer than this hearthd knows") != NULL);
    CHECK(strstr(err, f.path) != NULL);
    /* nothing changed: version, tables, journal mode */
    CHECK_EQ(raw_int(f.path, "PRAGMA user_version"), store_migrations_latest() + 1);
    CHECK_EQ(raw_int(f.path, "SELECT count(*) FROM sqlite_schema"), 1);
    CHECK_EQ(raw_int(f.path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode='wal'"),
             0);
    fx_remove_files(&f);
    fx_leak_check();
}

TEST(migrations_refuse_garbage_file_and_bad_locations)
{
    FX_SQLITE_ONLY("a garbage file; the locations are checked in the SQLite run");
    struct fx f;
    memset(&f, 0, sizeof(f));
    fx_path(&f);
    int fd = open(f.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    char junk[4096];
    memset(junk, 'x', sizeof(junk));
    CHECK_EQ(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    struct store *st = NULL;
    char err[300];
    CHECK_EQ(store_open(f.path, &st, err, sizeof(err)), -EUCLEAN);
    CHECK(strstr(err, "cannot open store") != NULL);
    fx_remove_files(&f);

    CHECK_EQ(store_open("", &st, err, sizeof(err)), -EINVAL);
    CHECK_EQ(store_open(NULL, &st, err, sizeof(err)), -EINVAL);
    CHECK_EQ(store_open("sqlite:", &st, err, sizeof(err)), -EINVAL);
    /* nothing listens on port 1: refused at once, the password never shown */
    CHECK_EQ(store_open("postgres://u:sekrit@127.0.0.1:1/hearth", &st, err, sizeof(err)), -EIO);
    CHECK(strstr(err, "cannot connect") != NULL);
    CHECK(strstr(err, "u:***@127.0.0.1:1") != NULL);
    CHECK(strstr(err, "sekrit") == NULL);
    CHECK_EQ(store_open("/nonexistent-dir/x/hearth.db", &st, NULL, 0), -ENOENT);
    store_close(NULL); /* harmless */
    fx_leak_check();
}

TEST(migrations_two_handles_on_one_file)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store *other;
    char err[200];
    CHECK_EQ(store_open(f.path, &other, err, sizeof(err)), 0);
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "shared", 7000);
    CHECK_EQ(store_sandbox_insert(other, &sb, NULL, 0), 0);
    struct store_sandbox got;
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &got), 0);
    store_sandbox_release(&got);
    store_close(other);
    fx_close(&f);
}
