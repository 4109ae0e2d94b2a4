/* SPDX-License-Identifier: MIT */
/* pg_jobs.c: the work queue in the PostgreSQL backend (as sqlite_jobs.c). A claim takes the
 * oldest queued job of the host with FOR UPDATE SKIP LOCKED, so claimers never wait on each
 * other and each job goes to exactly one; enqueue and finish NOTIFY `hearth_jobs` with the
 * host id, so a waiting hearthd can wake at once (docs/scale-out.md "Work queue"). */
#include "daemon/store/pg_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JOB_COLS                                                                               \
    "id, host_id, kind, state, user_id, key_id, admin, request, status_code, result, "        \
    "sandbox_id, created_at, coalesce(claimed_at, 0), coalesce(finished_at, 0)"

static int read_job(const PGresult *res, int row, void *elem)
{
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_job, f)
        T(0, id), T(1, host_id), T(2, kind), T(4, user_id), T(5, key_id), T(10, sandbox_id),
#undef T
    };
    struct store_job j = {
        .admin = pg_col_bool(res, row, 6),
        .status_code = (int)pg_col_i64(res, row, 8),
        .created_at = pg_col_i64(res, row, 11),
        .claimed_at = pg_col_i64(res, row, 12),
        .finished_at = pg_col_i64(res, row, 13),
    };
    int r = pg_col_texts(res, row, &j, texts, sizeof(texts) / sizeof(texts[0]));
    if (r == 0 && store_job_state_parse(PQgetvalue(res, row, 3), &j.state) < 0)
        r = -EUCLEAN;
    if (r == 0 && (r = pg_col_strdup(res, row, 7, &j.request)) == 0 && !j.request)
        r = -EUCLEAN;
    if (r == 0 && (r = pg_col_strdup(res, row, 9, &j.result)) == 0 && !j.result)
        r = -EUCLEAN;
    if (r < 0) {
        store_job_release(&j);
        return r;
    }
    *(struct store_job *)elem = j;
    return 0;
}

/* NOTIFY in the caller's transaction: delivered at its commit, never for a rolled-back one. */
static int notify(struct pg_store *s, const char *host_id)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, host_id);
    return pg_exec(s, "SELECT pg_notify('hearth_jobs', $1)", &pp, NULL);
}

int pg_job_enqueue(struct store *st, const struct store_job *j)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    const char *p[] = { j->id, j->host_id, j->kind, j->user_id, j->key_id, j->request };
    pg_params_texts(&pp, p, 6);
    pg_param_bool(&pp, j->admin);
    pg_param_i64(&pp, j->created_at);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_exec(s,
                    "INSERT INTO jobs (id, host_id, kind, state, user_id, key_id, request, "
                    "admin, created_at) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8)",
                    &pp, NULL);
    if (r == 0)
        r = notify(s, j->host_id);
    return pg_tx_end(s, r);
}

int pg_job_get(struct store *st, const char *id, struct store_job *ret)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, id);
    return pg_select_one(to_pg(st), "SELECT " JOB_COLS " FROM jobs WHERE id = $1", &pp,
                         read_job, ret);
}

int pg_job_claim(struct store *st, const char *host_id, int64_t now_ms, struct store_job *ret)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, host_id);
    pg_param_i64(&pp, now_ms);
    /* one statement: atomic alone, and SKIP LOCKED keeps claimers from waiting on each other */
    return pg_select_one(to_pg(st),
                         "UPDATE jobs SET state = 'running', claimed_at = $2 WHERE id = "
                         "(SELECT id FROM jobs WHERE host_id = $1 AND state = 'queued' "
                         "ORDER BY created_at, id FOR UPDATE SKIP LOCKED LIMIT 1) "
                         "RETURNING " JOB_COLS,
                         &pp, read_job, ret);
}

int pg_job_finish(struct store *st, const char *id, bool ok, int status_code,
                  const char *result, const char *sandbox_id, int64_t now_ms)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    const char *p[] = { id, ok ? "done" : "failed", result, sandbox_id };
    pg_params_texts(&pp, p, 4);
    pg_param_i64(&pp, status_code);
    pg_param_i64(&pp, now_ms);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_exec_change(s,
                           "UPDATE jobs SET state = $2, result = $3, sandbox_id = $4, "
                           "status_code = $5, finished_at = $6 WHERE id = $1 AND state = "
                           "'running'",
                           &pp);
    if (r == 0)
        r = notify(s, "finished");
    return pg_tx_end(s, r);
}

int pg_job_fail_host(struct store *st, const char *host_id, bool running_only, int status_code,
                     const char *result, int64_t now_ms, uint64_t *ret_n)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    pg_param_text(&pp, host_id);
    pg_param_text(&pp, result);
    pg_param_i64(&pp, status_code);
    pg_param_i64(&pp, now_ms);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_exec_count(s,
                          running_only
                              ? "UPDATE jobs SET state = 'failed', result = $2, status_code = "
                                "$3, finished_at = $4 WHERE host_id = $1 AND state = 'running'"
                              : "UPDATE jobs SET state = 'failed', result = $2, status_code = "
                                "$3, finished_at = $4 WHERE host_id = $1 AND state IN "
                                "('queued', 'running')",
                          &pp, ret_n);
    if (r == 0 && *ret_n)
        r = notify(s, "finished");
    return pg_tx_end(s, r);
}

int pg_job_purge(struct store *st, int64_t cutoff_ms)
{
    struct pg_params pp = { 0 };
    pg_param_i64(&pp, cutoff_ms);
    return pg_exec_count(to_pg(st),
                         "DELETE FROM jobs WHERE state IN ('done', 'failed') AND finished_at < $1",
                         &pp, NULL);
}
