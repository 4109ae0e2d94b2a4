/* SPDX-License-Identifier: MIT */
/* sqlite_events.c: a sandbox's event log in the SQLite backend (migration 0005): append with
 * the next sequence number and trim to the newest STORE_EVENTS_KEEP in one transaction; list
 * after a sequence number, oldest first. */
#include "daemon/store/sqlite_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sqlite_event_append(struct store *st, const char *sandbox_id, const struct store_event *ev,
                        int64_t *ret_seq)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { sandbox_id, ev->kind, ev->actor, ev->reason, ev->detail, ev->timeline };
    sqlite3_stmt *q = NULL;
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = sqlite_prepare_bound(s, "INSERT INTO sandbox_events (sandbox_id, seq, at, kind, actor, "
                                 "reason, detail, timeline) SELECT ?1, coalesce(max(seq), 0) + 1, "
                                 "?7, ?2, ?3, ?4, ?5, ?6 FROM sandbox_events WHERE sandbox_id = ?1 "
                                 "RETURNING seq", p, 6, &q); /* no sandbox: the foreign key */
    if (r == 0) {
        sqlite3_bind_int64(q, 7, ev->at);
        r = sqlite_step_one(s, q);
        int64_t seq = r == 0 ? sqlite3_column_int64(q, 0) : 0;
        sqlite3_finalize(q);
        q = NULL;
        if (r == 0 && ret_seq)
            *ret_seq = seq;
        if (r == 0 && seq > STORE_EVENTS_KEEP)
            r = sqlite_prepare_bound(s, "DELETE FROM sandbox_events WHERE sandbox_id = ?1 AND "
                                     "seq <= ?2", p, 1, &q);
        if (r == 0 && q) {
            sqlite3_bind_int64(q, 2, seq - STORE_EVENTS_KEEP);
            r = sqlite_step_done(s, q);
            sqlite3_finalize(q);
        }
    }
    return sqlite_tx_end(s, r);
}

static int read_event(sqlite3_stmt *q, void *elem)
{
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_event, f)
        T(2, kind), T(3, actor), T(4, reason), T(5, detail), T(6, timeline),
#undef T
    };
    struct store_event *e = elem;
    memset(e, 0, sizeof(*e));
    e->seq = sqlite3_column_int64(q, 0);
    e->at = sqlite3_column_int64(q, 1);
    return sqlite_col_texts(q, e, texts, sizeof(texts) / sizeof(texts[0]));
}

int sqlite_event_list(struct store *st, const char *sandbox_id, int64_t after, size_t limit,
                      struct store_event **ret, size_t *ret_n)
{
    struct sqlite_store *s = to_sqlite(st);
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, "SELECT seq, at, kind, actor, reason, detail, timeline FROM "
                                 "sandbox_events WHERE sandbox_id = ?1 AND seq > ?2 "
                                 "ORDER BY seq LIMIT ?3", &sandbox_id, 1, &q);
    if (r < 0)
        return r;
    sqlite3_bind_int64(q, 2, after);
    sqlite3_bind_int64(q, 3, (int64_t)limit);
    void *v = NULL;
    r = sqlite_read_all(s, q, sizeof(struct store_event), limit < 16 ? limit : 16, read_event, &v,
                        ret_n);
    sqlite3_finalize(q);
    if (r < 0) {
        free(v);
        *ret = NULL;
        *ret_n = 0;
        return r;
    }
    *ret = v;
    return 0;
}

int sqlite_event_last(struct store *st, const char *sandbox_id, const char *kind,
                      struct store_event *ret)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { sandbox_id, kind };
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, "SELECT seq, at, kind, actor, reason, detail, timeline FROM "
                                 "sandbox_events WHERE sandbox_id = ?1 AND kind = ?2 "
                                 "ORDER BY seq DESC LIMIT 1", p, 2, &q);
    if (r < 0)
        return r;
    r = sqlite_step_one(s, q);
    if (r == 0)
        r = read_event(q, ret);
    sqlite3_finalize(q);
    return r;
}
