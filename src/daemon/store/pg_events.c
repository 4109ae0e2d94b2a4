/* SPDX-License-Identifier: MIT */
/* pg_events.c: a sandbox's event log in the PostgreSQL backend (as sqlite_events.c): append
 * with the next sequence number and trim to the newest STORE_EVENTS_KEEP in one write
 * transaction (the write lock makes max(seq) + 1 race-free); list after a sequence number,
 * oldest first. */
#include "daemon/store/pg_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_COLS "seq, at, kind, actor, reason, detail, timeline"

int pg_event_append(struct store *st, const char *sandbox_id, const struct store_event *ev,
                    int64_t *ret_seq)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    const char *p[] = { sandbox_id, ev->kind, ev->actor, ev->reason, ev->detail, ev->timeline };
    pg_params_texts(&pp, p, 6);
    pg_param_i64(&pp, ev->at);
    int64_t seq = 0;
    int r = pg_tx_begin(s, true);
    if (r == 0) /* no sandbox: the foreign key (-ENOENT) */
        r = pg_select_ints(s, "INSERT INTO sandbox_events (sandbox_id, seq, at, kind, actor, "
                              "reason, detail, timeline) SELECT $1, coalesce(max(seq), 0) + 1, "
                              "$7, $2, $3, $4, $5, $6 FROM sandbox_events WHERE sandbox_id = $1 "
                              "RETURNING seq", &pp, &seq, 1);
    if (r == 0 && ret_seq)
        *ret_seq = seq;
    if (r == 0 && seq > STORE_EVENTS_KEEP) {
        struct pg_params del = { 0 };
        pg_param_text(&del, sandbox_id);
        pg_param_i64(&del, seq - STORE_EVENTS_KEEP);
        r = pg_exec(s, "DELETE FROM sandbox_events WHERE sandbox_id = $1 AND seq <= $2", &del,
                    NULL);
    }
    return pg_tx_end(s, r);
}

static int read_event(const PGresult *res, int row, void *elem)
{
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_event, f)
        T(2, kind), T(3, actor), T(4, reason), T(5, detail), T(6, timeline),
#undef T
    };
    struct store_event *e = elem;
    memset(e, 0, sizeof(*e));
    e->seq = pg_col_i64(res, row, 0);
    e->at = pg_col_i64(res, row, 1);
    return pg_col_texts(res, row, e, texts, sizeof(texts) / sizeof(texts[0]));
}

int pg_event_list(struct store *st, const char *sandbox_id, int64_t after, size_t limit,
                  struct store_event **ret, size_t *ret_n)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, sandbox_id);
    pg_param_i64(&pp, after);
    pg_param_i64(&pp, (int64_t)(limit > INT64_MAX ? INT64_MAX : limit));
    void *v = NULL;
    int r = pg_select_all(to_pg(st), "SELECT " EVENT_COLS " FROM sandbox_events WHERE "
                                     "sandbox_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                          &pp, sizeof(struct store_event), read_event, &v, ret_n);
    if (r < 0) {
        *ret = NULL;
        *ret_n = 0;
        return r;
    }
    *ret = v;
    return 0;
}

int pg_event_last(struct store *st, const char *sandbox_id, const char *kind,
                  struct store_event *ret)
{
    struct pg_params pp = { 0 };
    const char *p[] = { sandbox_id, kind };
    pg_params_texts(&pp, p, 2);
    return pg_select_one(to_pg(st), "SELECT " EVENT_COLS " FROM sandbox_events WHERE "
                                    "sandbox_id = $1 AND kind = $2 ORDER BY seq DESC LIMIT 1",
                         &pp, read_event, ret);
}
