/* SPDX-License-Identifier: MIT */
/* test_crash.c: kill -9 of a process in the middle of using the database. Committed writes
 * survive; a transaction that was open (with its pages already spilled into the WAL) vanishes
 * whole; the file stays consistent and writable. */
#include "fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Forks; the child runs fn(f, arg) and then writes one byte to the pipe and waits forever. The
 * parent waits for that byte (or EOF if the child failed) and returns the child's pid. */
static pid_t spawn_and_wait_ready(struct fx *f, int (*fn)(struct fx *, const char *),
                                  const char *arg, bool *ret_ready)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        if (fn(f, arg) == 0 && write(p[1], "r", 1) == 1)
            for (;;)
                pause();
        _exit(1);
    }
    close(p[1]);
    char c;
    ssize_t n;
    do {
        n = read(p[0], &c, 1);
    } while (n < 0 && errno == EINTR);
    close(p[0]);
    *ret_ready = n == 1;
    return pid;
}

static bool kill9(pid_t pid)
{
    REQUIRE(kill(pid, SIGKILL) == 0);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    return true;
}

/* child: commit a row through the store, then stop without closing anything */
static int child_commit(struct fx *f, const char *name)
{
    struct store *st;
    if (store_open(f->path, &st, NULL, 0) < 0)
        return -1;
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f->key_id, name, 42);
    return store_sandbox_insert(st, &sb, NULL, 0);
}

/* child: open a write transaction, write thousands of rows with large values so that SQLite
 * spills pages into the WAL before commit, and stop there holding the lock */
static int child_hold_tx(struct fx *f, const char *key_id)
{
    sqlite3 *db;
    if (sqlite3_open(f->path, &db) != SQLITE_OK)
        return -1;
    char sql[2048];
    snprintf(sql, sizeof(sql),
             "PRAGMA cache_size = 8;"
             "BEGIN IMMEDIATE;"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
             "INSERT INTO sandboxes (id, user_id, name, hostname, status, shape, vcpu, mem_mib, "
             "disk_mib, rootfs, region, created_at, created_by, updated_at) "
             "SELECT 'sb-crash-' || i, 'alice', 'crash-' || i, 'crash-' || i, 'running', 's', 1, "
             "1, 1, 'r', 'local', i, '%s', i FROM n;"
             "INSERT INTO sandbox_envs (sandbox_id, key, value) "
             "SELECT id, 'K', randomblob(2000) FROM sandboxes WHERE id LIKE 'sb-crash-%%';"
             "UPDATE sandboxes SET status = 'failed' WHERE name = 'committed';",
             key_id);
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static off_t file_size(const char *path, const char *suffix)
{
    char p[200];
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    struct stat s;
    return stat(p, &s) == 0 ? s.st_size : -1;
}

TEST(crash_after_commit_keeps_the_row)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    bool ready;
    pid_t pid = spawn_and_wait_ready(&f, child_commit, "survivor", &ready);
    CHECK(pid > 0);
    CHECK(ready);
    if (!kill9(pid))
        return;
    store_close(f.st);
    char err[200];
    CHECK_EQ(store_open(f.path, &f.st, err, sizeof(err)), 0);
    CHECK_EQ(store_check(f.st), 0);
    struct store_sandbox_page p;
    struct store_list_query q = { .user_id = "alice", .limit = 10 };
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    CHECK_EQ(p.total, 1);
    CHECK_STR(p.items[0].name, "survivor");
    store_sandbox_page_release(&p);
    fx_close(&f);
}

TEST(crash_inside_transaction_leaves_database_consistent)
{
    FX_SQLITE_ONLY("SQLite's WAL file and write lock; test_pg.c kills a PostgreSQL lock holder");
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "committed", 7);
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
    off_t wal_before = file_size(f.path, "-wal");

    bool ready;
    pid_t pid = spawn_and_wait_ready(&f, child_hold_tx, f.key_id, &ready);
    CHECK(pid > 0);
    if (!ready) {
        (void)kill9(pid);
        CHECK(ready);
    }
    /* the uncommitted pages really reached the WAL file */
    CHECK(file_size(f.path, "-wal") > wal_before + 1000000);
    /* WAL: a reader is not blocked by the open write transaction and sees only committed rows */
    struct store_sandbox g;
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
    CHECK_EQ(g.status, STORE_RUNNING);
    store_sandbox_release(&g);
    if (!kill9(pid))
        return;

    /* the parent's handle carries on, then a fresh open recovers the WAL */
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
    store_sandbox_release(&g);
    store_close(f.st);
    char err[200];
    CHECK_EQ(store_open(f.path, &f.st, err, sizeof(err)), 0);
    CHECK_EQ(store_check(f.st), 0);
    struct store_sandbox_page p;
    struct store_list_query q = { .user_id = "alice", .limit = 10 };
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    CHECK_EQ(p.total, 1); /* none of the 3000 */
    CHECK_STR(p.items[0].name, "committed");
    CHECK_EQ(p.items[0].status, STORE_RUNNING); /* the uncommitted UPDATE is gone too */
    store_sandbox_page_release(&p);
    /* and the write lock died with the child */
    struct store_sandbox next;
    fx_sandbox(&next, "alice", f.key_id, "crash-1", 8);
    CHECK_EQ(store_sandbox_insert(f.st, &next, NULL, 0), 0);
    struct store_transition t = { STORE_RUNNING, STORE_PAUSING, STORE_PAUSED, 0, 9 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), 0);
    fx_close(&f);
}

/* child: begin a pause (record the intent) and die before it completes */
static int child_begin_pause(struct fx *f, const char *id)
{
    struct store *st;
    if (store_open(f->path, &st, NULL, 0) < 0)
        return -1;
    struct store_transition t = { STORE_RUNNING, STORE_PAUSING, STORE_PAUSED,
                                  STORE_TR_NO_PENDING, 500 };
    return store_sandbox_transition(st, id, &t, NULL);
}

TEST(crash_leaves_intent_for_reconcile)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox sb, other;
    fx_sandbox(&sb, "alice", f.key_id, "half-paused", 1);
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
    fx_sandbox(&other, "alice", f.key_id, "gone", 2);
    other.status = STORE_DESTROYED;
    CHECK_EQ(store_sandbox_insert(f.st, &other, NULL, 0), 0);
    store_close(f.st);
    f.st = NULL;
    bool ready;
    pid_t pid = spawn_and_wait_ready(&f, child_begin_pause, sb.id, &ready);
    CHECK(pid > 0);
    CHECK(ready);
    if (!kill9(pid))
        return;
    char err[200];
    CHECK_EQ(store_open(f.path, &f.st, err, sizeof(err)), 0);
    struct store_sandbox *v;
    size_t n;
    CHECK_EQ(store_sandbox_list_unsettled(f.st, NULL, &v, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_STR(v[0].id, sb.id);
    CHECK_EQ(v[0].status, STORE_PAUSING);
    CHECK_EQ(v[0].target_state, STORE_PAUSED);
    CHECK_EQ(v[0].intent_started_at, 500);
    store_sandbox_array_free(v, n);
    /* reconcile rolls it back (snapshot never finished): pausing → running, intent cleared */
    struct store_transition t = { STORE_PAUSING, STORE_RUNNING, STORE_STATE_NONE, 0, 600 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), 0);
    CHECK_EQ(store_sandbox_list_unsettled(f.st, NULL, &v, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(v[0].target_state, STORE_STATE_NONE);
    store_sandbox_array_free(v, n);
    fx_close(&f);
}
