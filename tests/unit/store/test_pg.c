/* SPDX-License-Identifier: MIT */
/* test_pg.c: what only the PostgreSQL backend has. Without a cluster: a bad or unreachable
 * location fails at open with a clear message that never holds the password. With one
 * (HEARTH_TEST_PG, tests/pg/pgserver.sh): the schema and its version table, a schema newer than
 * the binary refused untouched, several processes opening one new database migrate it once,
 * conflicting transitions from several processes (exactly one wins), a connection the server
 * drops (the next call re-connects; while the database refuses connections calls fail with a
 * clear error, and work again after), and a process killed holding the write lock. */
#include "daemon/store/migrations.h"
#include "daemon/store/store_backend.h"
#include "fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#define NEED_PG()                                                                                \
    do {                                                                                         \
        if (!pgtest_uri())                                                                       \
            harness_skip("needs HEARTH_TEST_PG (tests/pg/pgserver.sh)");                        \
    } while (0)

TEST(pg_redacts_passwords)
{
    char out[256];
    store_pg_redact("postgresql://hearth:s3cr%40t@db.example:5432/hearth?sslmode=require", out,
                    sizeof(out));
    CHECK_STR(out, "postgresql://hearth:***@db.example:5432/hearth?sslmode=require");
    store_pg_redact("postgres://user@host/db", out, sizeof(out));
    CHECK_STR(out, "postgres://user@host/db");
    store_pg_redact("postgres://host/db?user=u&password=hunter22&sslmode=disable", out,
                    sizeof(out));
    CHECK_STR(out, "postgres://host/db?user=u&password=***&sslmode=disable");
    store_pg_redact("postgresql://a:b@c@h/d", out, sizeof(out)); /* '@' inside the password */
    CHECK_STR(out, "postgresql://a:***@h/d");
    store_pg_redact("postgresql://u:pw@h/d", out, 8); /* truncated, still terminated */
    CHECK_EQ(strlen(out), 7);
}

TEST(pg_bad_locations_fail_clearly_without_the_password)
{
    static const char *const bad[] = {
        "postgresql://hearth:topsecretpw@127.0.0.1:1/hearth",          /* nothing listens */
        "postgresql://hearth:topsecretpw@127.0.0.1:1/hearth?connect_timeout=zz",
        "postgresql://hearth:topsecretpw%zz@127.0.0.1:1/hearth",        /* bad escape */
        "postgres://hearth:topsecretpw@[::1/hearth",                   /* bad host */
        "postgresql://hearth@127.0.0.1:1/hearth?password=topsecretpw&bogus=1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct store *st = (struct store *)0x1;
        char err[512] = "";
        int r = store_open(bad[i], &st, err, sizeof(err));
        CHECK(r < 0);
        CHECK(st == (struct store *)0x1);
        CHECK(strstr(err, "cannot open store 'postgres") != NULL);
        if (strstr(err, "topsecretpw"))
            harness_fail(__FILE__, __LINE__, "password in '%s'", err);
    }
}

TEST(pg_schema_and_version_table)
{
    NEED_PG();
    struct fx f;
    if (!fx_open(&f, true))
        return;
    CHECK(f.pg);
    long long v = 0;
    CHECK_EQ(fx_sql(&f, "SELECT max(version) FROM hearth_schema", &v), 0);
    CHECK_EQ(v, store_migrations_latest());
    CHECK_EQ(fx_sql(&f, "SELECT count(*) FROM hearth_schema", &v), 0);
    CHECK_EQ(v, store_migrations_latest());
    /* every SQLite table has its PostgreSQL twin */
    CHECK_EQ(fx_sql(&f, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND "
                        "tablename IN ('users', 'api_keys', 'sandboxes', 'sandbox_envs', "
                        "'sandbox_egress', 'sandbox_ssh_keys', 'networks', 'network_members', "
                        "'sandbox_events', 'sandbox_tokens', 'disks', 'sandbox_disks', "
                        "'templates', 'template_logs')", &v), 0);
    CHECK_EQ(v, 14);
    CHECK_EQ(fx_sql(&f, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal", &v), 0);
    CHECK_EQ(v, 3);
    /* the same numbers and names as SQLite's */
    size_t n, n_pg;
    const struct store_migration *m = store_migrations(&n), *mp = store_migrations_pg(&n_pg);
    CHECK_EQ(n, n_pg);
    for (size_t i = 0; i < n && i < n_pg; i++) {
        CHECK_EQ(m[i].version, mp[i].version);
        CHECK_STR(m[i].name, mp[i].name);
    }
    CHECK_EQ(store_check(f.st), 0);
    fx_close(&f);
}

TEST(pg_refuses_newer_schema)
{
    NEED_PG();
    char uri[256], sql[200];
    CHECK(pgtest_db_create(uri, sizeof(uri)) == 0);
    snprintf(sql, sizeof(sql), "CREATE TABLE future (x int); CREATE TABLE hearth_schema ("
                               "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at "
                               "BIGINT NOT NULL); INSERT INTO hearth_schema VALUES (%d, 'x', 0)",
             store_migrations_latest() + 1);
    CHECK_EQ(pgtest_sql(uri, sql, NULL), 0);
    struct store *st = (struct store *)0x1;
    char err[512] = "";
    CHECK_EQ(store_open(uri, &st, err, sizeof(err)), -ENOTSUP);
    CHECK(st == (struct store *)0x1);
    CHECK(strstr(err, "newer than this hearthd knows") != NULL);
    CHECK(strstr(err, "***") != NULL);                   /* the location, redacted */
    CHECK(strstr(err, "hearth-test-secret") == NULL);
    long long v = 0;
    CHECK_EQ(pgtest_sql(uri, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", &v),
             0);
    CHECK_EQ(v, 2); /* untouched: future and hearth_schema alone */
    CHECK_EQ(pgtest_sql(uri, "SELECT max(version) FROM hearth_schema", &v), 0);
    CHECK_EQ(v, store_migrations_latest() + 1);
    pgtest_db_drop(uri);
    fx_leak_check();
}

/* Forks n children that each run fn(uri, i) once the parent says go; returns how many exited 0
 * and writes each one's exit status into codes. */
static int run_children(int n, const char *uri, int (*fn)(const char *uri, int i), int *codes)
{
    int go[2];
    REQUIRE(pipe2(go, O_CLOEXEC) == 0);
    pid_t pids[16];
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(go[1]);
            char c;
            if (read(go[0], &c, 1) != 0) /* EOF: go */
                _exit(99);
            _exit(fn(uri, i) & 0xff);
        }
    }
    close(go[0]);
    close(go[1]);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        int st = 0;
        REQUIRE(waitpid(pids[i], &st, 0) == pids[i]);
        codes[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 200;
        ok += codes[i] == 0;
    }
    return ok;
}

static int child_open(const char *uri, int i)
{
    struct store *st;
    int r = store_open(uri, &st, NULL, 0);
    if (r == 0)
        store_close(st);
    return r == 0 ? 0 : 1;
}

TEST(pg_concurrent_starts_migrate_once)
{
    NEED_PG();
    char uri[256];
    CHECK(pgtest_db_create(uri, sizeof(uri)) == 0);
    int codes[8];
    CHECK_EQ(run_children(8, uri, child_open, codes), 8);
    long long v = 0;
    CHECK_EQ(pgtest_sql(uri, "SELECT count(*) FROM hearth_schema", &v), 0);
    CHECK_EQ(v, store_migrations_latest());
    pgtest_db_drop(uri);
    fx_leak_check();
}

static char shared_sb_id[STORE_ID_SIZE];

/* child: one pause attempt with no intent pending allowed; 0 won, 1 stale, 2 busy, 3 other */
static int child_pause(const char *uri, int i)
{
    struct store *st;
    if (store_open(uri, &st, NULL, 0) < 0)
        return 3;
    struct store_transition t = { STORE_RUNNING, STORE_PAUSING, STORE_PAUSED,
                                  STORE_TR_NO_PENDING, 1000 + i };
    int r = store_sandbox_transition(st, shared_sb_id, &t, NULL);
    store_close(st);
    return r == 0 ? 0 : r == -ESTALE ? 1 : r == -EBUSY ? 2 : 3;
}

TEST(pg_conflicting_transitions_one_wins)
{
    NEED_PG();
    struct fx f;
    if (!fx_open(&f, true))
        return;
    for (int round = 0; round < 3; round++) {
        struct store_sandbox sb;
        char name[32];
        snprintf(name, sizeof(name), "contended-%d", round);
        fx_sandbox(&sb, "alice", f.key_id, name, 10 + round);
        CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
        memcpy(shared_sb_id, sb.id, sizeof(shared_sb_id));
        int codes[8];
        CHECK_EQ(run_children(8, f.path, child_pause, codes), 1);
        for (int i = 0; i < 8; i++)
            CHECK(codes[i] <= 2); /* the losers were told why */
        struct store_sandbox got;
        CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &got), 0);
        CHECK_EQ(got.status, STORE_PAUSING);
        CHECK_EQ(got.target_state, STORE_PAUSED);
        store_sandbox_release(&got);
    }
    /* two handles in one process: the second sees the first's change at once */
    struct store *other;
    char err[512];
    CHECK_EQ(store_open(f.path, &other, err, sizeof(err)), 0);
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "two-handles", 50);
    CHECK_EQ(store_sandbox_insert(other, &sb, NULL, 0), 0);
    struct store_transition t = { STORE_RUNNING, STORE_PAUSING, STORE_PAUSED, 0, 60 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), 0);
    CHECK_EQ(store_sandbox_transition(other, sb.id, &t, NULL), -ESTALE);
    /* a name collision is -EEXIST on either handle */
    struct store_sandbox dup;
    fx_sandbox(&dup, "alice", f.key_id, "two-handles", 70);
    CHECK_EQ(store_sandbox_insert(f.st, &dup, NULL, 0), -EEXIST);
    store_close(other);
    fx_close(&f);
}

/* Runs admin sql with %s replaced by the database of uri. */
static int admin_on(const char *uri, const char *fmt)
{
    char db[64], sql[300];
    REQUIRE(pgtest_uri_db(uri, db, sizeof(db)));
    snprintf(sql, sizeof(sql), fmt, db);
    return pgtest_admin(sql);
}

#define KICK "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'"

TEST(pg_lost_connection_reconnects)
{
    NEED_PG();
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "survives", 5);
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
    struct store_sandbox got;

    /* the server drops the connection while idle: the next read and write just work */
    CHECK_EQ(admin_on(f.path, KICK), 0);
    usleep(100000);
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &got), 0);
    store_sandbox_release(&got);
    CHECK_EQ(admin_on(f.path, KICK), 0);
    usleep(100000);
    struct store_transition t = { STORE_RUNNING, STORE_PAUSING, STORE_PAUSED, 0, 6 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), 0);

    /* the database goes away: calls fail with a clear error, nothing crashes */
    CHECK_EQ(admin_on(f.path, "ALTER DATABASE %s ALLOW_CONNECTIONS false"), 0);
    CHECK_EQ(admin_on(f.path, KICK), 0);
    usleep(100000);
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &got), -EIO);
    CHECK(strstr(store_errmsg(f.st), "postgresql") != NULL);
    CHECK(strstr(store_errmsg(f.st), "hearth-test-secret") == NULL);
    struct store_transition back = { STORE_PAUSING, STORE_PAUSED, STORE_STATE_NONE, 0, 7 };
    /* the next calls fail at once, without a connection attempt each */
    uint64_t t0 = harness_now_us();
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &back, NULL), -EIO);
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &back, NULL), -EIO);
    if (harness_now_us() - t0 < 500 * 1000)
        CHECK(strstr(store_errmsg(f.st), "retrying") != NULL);

    /* and back: the same handle carries on (after the 1 s between reconnects), the failed
     * write was not applied */
    CHECK_EQ(admin_on(f.path, "ALTER DATABASE %s ALLOW_CONNECTIONS true"), 0);
    int r = -EIO;
    for (int i = 0; i < 30 && (r = store_sandbox_get(f.st, "alice", sb.id, &got)) == -EIO; i++)
        usleep(100 * 1000);
    CHECK_EQ(r, 0);
    CHECK_EQ(got.status, STORE_PAUSING);
    store_sandbox_release(&got);
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &back, NULL), 0);
    fx_close(&f);
}

/* child: takes the store's write lock by hand and waits to be killed */
static int child_hold_lock(struct fx *f, int ready_fd)
{
    PGconn *c = PQconnectdb(f->path);
    if (PQstatus(c) != CONNECTION_OK)
        return 1;
    PGresult *res = PQexec(c, "BEGIN; SELECT pg_advisory_xact_lock(1752331368, 2); "
                              "UPDATE sandboxes SET status = 'error'");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return 2;
    if (write(ready_fd, "r", 1) != 1)
        return 3;
    for (;;)
        pause();
}

TEST(pg_killed_lock_holder_releases_the_lock)
{
    NEED_PG();
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "locked", 5);
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        _exit(child_hold_lock(&f, p[1]));
    }
    close(p[1]);
    char c;
    CHECK_EQ(read(p[0], &c, 1), 1);
    close(p[0]);
    /* a reader is not blocked by the open write transaction and sees only committed rows */
    struct store_sandbox got;
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &got), 0);
    CHECK_EQ(got.status, STORE_RUNNING);
    store_sandbox_release(&got);
    kill(pid, SIGKILL);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    /* the server rolls the dead client's transaction back and the lock goes with it */
    uint64_t t0 = harness_now_us();
    struct store_transition t = { STORE_RUNNING, STORE_PAUSING, STORE_PAUSED, 0, 9 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), 0);
    CHECK(harness_now_us() - t0 < 10 * 1000000);
    fx_close(&f);
}
