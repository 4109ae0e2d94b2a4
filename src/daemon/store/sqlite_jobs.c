/* SPDX-License-Identifier: MIT */
/* sqlite_jobs.c: the work queue in the SQLite backend (migration 0011). A claim is one write
 * transaction (BEGIN IMMEDIATE), so of several processes claiming at once each job goes to one:
 * the same guarantee PostgreSQL's FOR UPDATE SKIP LOCKED gives pg_jobs.c. */
#include "daemon/store/sqlite_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JOB_COLS                                                                               \
    "id, host_id, kind, state, user_id, key_id, admin, request, status_code, result, "        \
    "sandbox_id, created_at, coalesce(claimed_at, 0), coalesce(finished_at, 0)"

static int read_job(sqlite3_stmt *q, void *elem)
{
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_job, f)
        T(0, id), T(1, host_id), T(2, kind), T(4, user_id), T(5, key_id), T(10, sandbox_id),
#undef T
    };
    struct store_job j = {
        .admin = sqlite3_column_int(q, 6) != 0,
        .status_code = sqlite3_column_int(q, 8),
        .created_at = sqlite3_column_int64(q, 11),
        .claimed_at = sqlite3_column_int64(q, 12),
        .finished_at = sqlite3_column_int64(q, 13),
    };
    int r = sqlite_col_texts(q, &j, texts, sizeof(texts) / sizeof(texts[0]));
    const char *state = (const char *)sqlite3_column_text(q, 3);
    if (r == 0 && store_job_state_parse(state, &j.state) < 0)
        r = -EUCLEAN;
    if (r == 0 && (r = sqlite_col_strdup(q, 7, &j.request)) == 0 && !j.request)
        r = -EUCLEAN;
    if (r == 0 && (r = sqlite_col_strdup(q, 9, &j.result)) == 0 && !j.result)
        r = -EUCLEAN;
    if (r < 0) {
        store_job_release(&j);
        return r;
    }
    *(struct store_job *)elem = j;
    return 0;
}

int sqlite_job_enqueue(struct store *st, const struct store_job *j)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { j->id, j->host_id, j->kind, j->user_id, j->key_id, j->request };
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s,
                                 "INSERT INTO jobs (id, host_id, kind, state, user_id, key_id, "
                                 "admin, request, created_at) VALUES (?1, ?2, ?3, 'queued', ?4, "
                                 "?5, ?7, ?6, ?8)",
                                 p, 6, &q);
    if (r < 0)
        return r;
    if ((sqlite3_bind_int(q, 7, j->admin ? 1 : 0) | sqlite3_bind_int64(q, 8, j->created_at)) !=
        SQLITE_OK) {
        sqlite3_finalize(q);
        return -ENOMEM;
    }
    return sqlite_finish(s, q);
}

int sqlite_job_get(struct store *st, const char *id, struct store_job *ret)
{
    const char *p[] = { id };
    return sqlite_select_one(to_sqlite(st), "SELECT " JOB_COLS " FROM jobs WHERE id = ?1", p, 1,
                             read_job, ret);
}

int sqlite_job_claim(struct store *st, const char *host_id, int64_t now_ms,
                     struct store_job *ret)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { host_id };
    struct store_job j = { 0 };
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = sqlite_select_one(s,
                              "SELECT " JOB_COLS " FROM jobs WHERE host_id = ?1 AND state = "
                              "'queued' ORDER BY created_at, id LIMIT 1",
                              p, 1, read_job, &j);
    sqlite3_stmt *q = NULL;
    if (r == 0) {
        const char *pu[] = { j.id };
        r = sqlite_prepare_bound(s, "UPDATE jobs SET state = 'running', claimed_at = ?2 "
                                    "WHERE id = ?1 AND state = 'queued'", pu, 1, &q);
    }
    if (r == 0) {
        r = sqlite3_bind_int64(q, 2, now_ms) == SQLITE_OK ? sqlite_step_change(s, q) : -ENOMEM;
        sqlite3_finalize(q);
    }
    r = sqlite_tx_end(s, r);
    if (r < 0) {
        store_job_release(&j);
        return r;
    }
    j.state = STORE_JOB_RUNNING;
    j.claimed_at = now_ms;
    *ret = j;
    return 0;
}

int sqlite_job_finish(struct store *st, const char *id, bool ok, int status_code,
                      const char *result, const char *sandbox_id, int64_t now_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { id, ok ? "done" : "failed", result, sandbox_id };
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s,
                                 "UPDATE jobs SET state = ?2, result = ?3, sandbox_id = ?4, "
                                 "status_code = ?5, finished_at = ?6 WHERE id = ?1 AND state = "
                                 "'running'",
                                 p, 4, &q);
    if (r < 0)
        return r;
    if ((sqlite3_bind_int(q, 5, status_code) | sqlite3_bind_int64(q, 6, now_ms)) != SQLITE_OK) {
        sqlite3_finalize(q);
        return -ENOMEM;
    }
    r = sqlite_step_change(s, q);
    sqlite3_finalize(q);
    return r;
}

int sqlite_job_fail_host(struct store *st, const char *host_id, bool running_only,
                         int status_code, const char *result, int64_t now_ms, uint64_t *ret_n)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { host_id, result };
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s,
                                 running_only
                                     ? "UPDATE jobs SET state = 'failed', result = ?2, "
                                       "status_code = ?3, finished_at = ?4 WHERE host_id = ?1 "
                                       "AND state = 'running'"
                                     : "UPDATE jobs SET state = 'failed', result = ?2, "
                                       "status_code = ?3, finished_at = ?4 WHERE host_id = ?1 "
                                       "AND state IN ('queued', 'running')",
                                 p, 2, &q);
    if (r < 0)
        return r;
    if ((sqlite3_bind_int(q, 3, status_code) | sqlite3_bind_int64(q, 4, now_ms)) != SQLITE_OK) {
        sqlite3_finalize(q);
        return -ENOMEM;
    }
    r = sqlite_step_done(s, q);
    if (r == 0)
        *ret_n = (uint64_t)sqlite3_changes(s->db);
    sqlite3_finalize(q);
    return r;
}

int sqlite_job_purge(struct store *st, int64_t cutoff_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, "DELETE FROM jobs WHERE state IN ('done', 'failed') AND "
                                    "finished_at < ?1", NULL, 0, &q);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(q, 1, cutoff_ms) != SQLITE_OK) {
        sqlite3_finalize(q);
        return -ENOMEM;
    }
    return sqlite_finish(s, q);
}
