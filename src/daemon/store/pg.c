/* SPDX-License-Identifier: MIT */
/* pg.c: the PostgreSQL store backend's handle (libpq). One connection, used synchronously from
 * the thread that owns the store; one transaction per public call; writers serialised by a
 * transaction-scoped advisory lock (the store's write lock, as SQLite's BEGIN IMMEDIATE);
 * numbered migrations (migrations_pg/) tracked in the hearth_schema table, each applied in its
 * own transaction under a second advisory lock so hearthds starting together migrate once.
 * A connection found lost is re-made at the start of the next call. Owns the PGconn; sees only
 * input store.c has checked; never logs; never shows the password (docs/store.md).
 * The parameter and result helpers live in pg_rows.c; the calls themselves in pg_keys.c, pg_sb.c,
 * pg_events.c, pg_tokens.c, pg_net.c, pg_disks.c and pg_templates.c. */
#include "daemon/store/pg_internal.h"

#include "daemon/store/migrations.h"
#include "common/mono.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_advisory_xact_lock(class, key) pairs: class 'hrth', then which lock */
#define LOCK_CLASS "1752331368"
#define LOCK_MIGRATE LOCK_CLASS ", 1"
#define LOCK_WRITE LOCK_CLASS ", 2"

#define CONNECT_TIMEOUT_S "5"
#define RECONNECT_GAP_US 1000000
#define LOCK_TIMEOUT "5s"
#define STATEMENT_TIMEOUT "30s"

/* ---- errors ---- */

static int errno_from_sqlstate(const char *st)
{
    if (!st || strlen(st) != 5)
        return -EIO;
    if (strcmp(st, "23505") == 0)
        return -EEXIST;                 /* unique_violation */
    if (strcmp(st, "23503") == 0)
        return -ENOENT;                 /* foreign_key_violation */
    if (strncmp(st, "23", 2) == 0 || strncmp(st, "22", 2) == 0)
        return -EINVAL;                 /* other constraints, bad data */
    if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 || strcmp(st, "55P03") == 0 ||
        strcmp(st, "53300") == 0)
        return -EBUSY;                  /* serialization, deadlock, lock, too many connections */
    if (strcmp(st, "53100") == 0)
        return -ENOSPC;
    if (strcmp(st, "53200") == 0)
        return -ENOMEM;
    if (strcmp(st, "25006") == 0)
        return -EROFS;                  /* read_only_sql_transaction (a standby) */
    if (strncmp(st, "28", 2) == 0 || strcmp(st, "42501") == 0)
        return -EACCES;
    if (strcmp(st, "54000") == 0 || strcmp(st, "54001") == 0)
        return -E2BIG;
    if (strncmp(st, "XX", 2) == 0 && st[2] == '0' && (st[4] == '1' || st[4] == '2'))
        return -EUCLEAN;                /* data_corrupted, index_corrupted */
    return -EIO;
}

/* Replaces every occurrence of secret (when at least 2 bytes) in msg by "***". */
static void scrub_one(char *msg, size_t size, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    if (n < 2)
        return;
    for (char *p = strstr(msg, secret); p; p = strstr(p + 3, secret)) {
        size_t tail = strlen(p + n) + 1;
        if (n < 3 && (size_t)(p - msg) + 3 + tail > size)
            break;
        memmove(p + 3, p + n, tail);
        memcpy(p, "***", 3);
    }
}

/* A libpq message may quote part of the connection string back (a malformed URI): the password
 * never stays in what the store reports, as written or percent-decoded. */
static void scrub(struct pg_store *s)
{
    scrub_one(s->base.errmsg, sizeof(s->base.errmsg), s->secret);
    scrub_one(s->base.errmsg, sizeof(s->base.errmsg), s->secret_decoded);
}

/* One line of libpq's message (it ends in a newline and may run on with DETAIL lines). */
static void set_err(struct pg_store *s, const char *what, const char *msg)
{
    size_t n = strcspn(msg, "\n");
    store_set_errmsg(&s->base, "postgresql: %s%.*s", what, (int)n, msg);
    scrub(s);
}

/* Records why res (possibly NULL) failed and returns the mapped -errno. */
static int fail_result(struct pg_store *s, const PGresult *res)
{
    s->sqlstate[0] = '\0';
    s->constraint[0] = '\0';
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *con = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    if (st)
        (void)snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", st);
    if (con)
        (void)snprintf(s->constraint, sizeof(s->constraint), "%s", con);
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !*msg)
        msg = PQerrorMessage(s->conn);
    set_err(s, "", msg && *msg ? msg : "unknown error");
    if (PQstatus(s->conn) != CONNECTION_OK)
        return -EIO;
    if (!res)
        return -ENOMEM;
    return errno_from_sqlstate(st);
}

const char *pg_last_sqlstate(const struct pg_store *s)
{
    return s->sqlstate;
}

const char *pg_last_constraint(const struct pg_store *s)
{
    return s->constraint;
}

/* ---- the connection ---- */

/* Notices (NOTICE, WARNING) would go to stderr by default; the store never logs. */
static void quiet_notices(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Connects s->conn from s->conninfo: 0, or -EIO (-EACCES for a refused login) with the reason
 * (libpq's message names no password). */
static int connect_db(struct pg_store *s)
{
    /* connect_timeout first: a value in the URI overrides it */
    /* keepalives: a server that vanished without closing (a partition, a dead host) is noticed
     * within about 25 s instead of the kernel's hours */
    const char *const keys[] = { "connect_timeout", "application_name", "keepalives_idle",
                                 "keepalives_interval", "keepalives_count", "dbname", NULL };
    const char *const vals[] = { CONNECT_TIMEOUT_S, "hearthd", "10", "5", "3", s->conninfo,
                                 NULL };
    if (s->conn)
        PQfinish(s->conn);
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (!s->conn) {
        store_set_errmsg(&s->base, "postgresql %s: out of memory", s->where);
        return -ENOMEM;
    }
    if (PQstatus(s->conn) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(s->conn);
        set_err(s, "cannot connect: ", msg && *msg ? msg : "unknown error");
        bool auth = msg && (strstr(msg, "password") || strstr(msg, "authentication"));
        return auth ? -EACCES : -EIO;
    }
    (void)PQsetNoticeProcessor(s->conn, quiet_notices, NULL);
    /* UTC and plain text: nothing here depends on the server's defaults */
    /* lock_timeout: a write waits for the write lock as long as SQLite's busy timeout, then
     * fails with -EBUSY; statement_timeout: nothing holds hearthd's loop for ever */
    PGresult *res = PQexec(s->conn, "SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'; "
                                    "SET standard_conforming_strings = on; "
                                    "SET lock_timeout = '" LOCK_TIMEOUT "'; "
                                    "SET statement_timeout = '" STATEMENT_TIMEOUT "'");
    int r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : fail_result(s, res);
    PQclear(res);
    return r;
}

/* True when the server has closed the connection or sent something while it was idle (a
 * shutdown notice): checked without blocking before a call's first statement. */
static bool conn_lost(struct pg_store *s)
{
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK)
        return true;
    struct pollfd p = { .fd = PQsocket(s->conn), .events = POLLIN };
    if (p.fd < 0)
        return true;
    if (poll(&p, 1, 0) > 0) {
        if (!PQconsumeInput(s->conn))
            return true;
        PGnotify *n;
        while ((n = PQnotifies(s->conn)))
            PQfreemem(n);
    }
    return PQstatus(s->conn) != CONNECTION_OK;
}

/* Re-makes a lost connection, at most once per RECONNECT_GAP_US: while the server is away a call
 * fails at once with the last attempt's reason instead of blocking hearthd's loop for up to the
 * connect timeout on every call. */
static int reconnect(struct pg_store *s)
{
    int64_t now = mono_now_us();
    if (now < s->retry_at_us) {
        if (!strstr(s->base.errmsg, "retrying"))
            store_set_errmsg(&s->base, "postgresql: not connected, retrying within a second");
        return -EIO;
    }
    int r = connect_db(s);
    s->retry_at_us = r < 0 ? now + RECONNECT_GAP_US : 0;
    return r;
}

/* Makes sure s has a usable connection before a call's first statement. */
static int ensure_conn(struct pg_store *s)
{
    if (!conn_lost(s))
        return 0;
    return reconnect(s);
}

/* ---- statements ---- */

static bool is_select(const char *sql)
{
    while (*sql == ' ' || *sql == '\n' || *sql == '(')
        sql++;
    return strncmp(sql, "SELECT", 6) == 0 || strncmp(sql, "WITH", 4) == 0 ||
           strncmp(sql, "select", 6) == 0;
}

static PGresult *send_sql(struct pg_store *s, const char *sql, const struct pg_params *pp)
{
    if (!pp || pp->n == 0)
        return PQexecParams(s->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
    return PQexecParams(s->conn, sql, pp->n, NULL, pp->v, pp->len, pp->fmt, 0);
}

int pg_exec(struct pg_store *s, const char *sql, const struct pg_params *pp, PGresult **ret)
{
    if (ret)
        *ret = NULL;
    if (pp && pp->overflow) {
        store_set_errmsg(&s->base, "postgresql: too many parameters");
        return -E2BIG;
    }
    s->sqlstate[0] = s->constraint[0] = '\0';
    bool alone = !s->in_tx;
    if (alone) {
        int r = ensure_conn(s);
        if (r < 0)
            return r;
    }
    PGresult *res = send_sql(s, sql, pp);
    ExecStatusType st = PQresultStatus(res);
    if (alone && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
        PQstatus(s->conn) != CONNECTION_OK && is_select(sql)) {
        /* a read lost with its connection changed nothing: one more try on a new one */
        PQclear(res);
        int r = reconnect(s);
        if (r < 0)
            return r;
        res = send_sql(s, sql, pp);
        st = PQresultStatus(res);
    }
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        int r = fail_result(s, res);
        PQclear(res);
        return r;
    }
    if (ret)
        *ret = res;
    else
        PQclear(res);
    return 0;
}

int pg_exec_count(struct pg_store *s, const char *sql, const struct pg_params *pp,
                  uint64_t *ret_n)
{
    PGresult *res;
    int r = pg_exec(s, sql, pp, &res);
    if (r < 0)
        return r;
    if (ret_n) {
        const char *t = PQcmdTuples(res);
        *ret_n = t && *t ? strtoull(t, NULL, 10) : 0;
    }
    PQclear(res);
    return 0;
}

int pg_exec_change(struct pg_store *s, const char *sql, const struct pg_params *pp)
{
    uint64_t n = 0;
    int r = pg_exec_count(s, sql, pp, &n);
    return r == 0 && n == 0 ? -ENOENT : r;
}

/* Runs a parameterless command on the connection as it is (no reconnect, no retry). */
static int command(struct pg_store *s, const char *sql)
{
    PGresult *res = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int r = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : fail_result(s, res);
    PQclear(res);
    return r;
}

/* BEGIN on a connection made sure of; a BEGIN lost with its connection did nothing, so it is
 * tried once more on a new one. */
static int begin(struct pg_store *s, const char *sql)
{
    int r = ensure_conn(s);
    if (r < 0)
        return r;
    r = command(s, sql);
    if (r < 0 && PQstatus(s->conn) != CONNECTION_OK) {
        if ((r = reconnect(s)) < 0)
            return r;
        r = command(s, sql);
    }
    return r;
}

int pg_tx_begin(struct pg_store *s, bool write)
{
    if (s->in_tx) {
        store_set_errmsg(&s->base, "postgresql: nested transaction");
        return -EINVAL;
    }
    int r = begin(s, write ? "BEGIN ISOLATION LEVEL READ COMMITTED"
                           : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (r < 0)
        return r;
    s->in_tx = true;
    if (write && (r = command(s, "SELECT pg_advisory_xact_lock(" LOCK_WRITE ")")) < 0)
        return r; /* pg_tx_end() rolls back */
    return 0;
}

int pg_tx_end(struct pg_store *s, int r)
{
    if (!s->in_tx)
        return r;
    s->in_tx = false;
    if (r == 0) {
        r = command(s, "COMMIT");
        if (r == 0)
            return 0;
        if (PQstatus(s->conn) != CONNECTION_OK) {
            /* the COMMIT may or may not have reached the server: say so, never repeat it */
            store_set_errmsg(&s->base, "postgresql %s: connection lost at commit; the outcome "
                                       "is unknown", s->where);
            return -EIO;
        }
    }
    if (PQstatus(s->conn) == CONNECTION_OK &&
        PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        char keep[sizeof(s->base.errmsg)];
        memcpy(keep, s->base.errmsg, sizeof(keep));
        /* rolling back can only fail with the connection; keep the first error */
        PQclear(PQexec(s->conn, "ROLLBACK"));
        memcpy(s->base.errmsg, keep, sizeof(keep));
    }
    return r;
}

/* ---- open, migrate, close ---- */

static int read_version(struct pg_store *s, int *ret)
{
    int64_t v = 0;
    /* to_regclass first: a SELECT naming a missing table fails at parse time */
    PGresult *res;
    int r = pg_exec(s, "SELECT to_regclass('hearth_schema') IS NOT NULL", NULL, &res);
    if (r < 0)
        return r;
    bool exists = pg_col_bool(res, 0, 0);
    PQclear(res);
    if (exists && (r = pg_select_ints(s, "SELECT coalesce(max(version), 0) FROM hearth_schema",
                                      NULL, &v, 1)) < 0)
        return r;
    *ret = (int)v;
    return 0;
}

/* Applies migration m unless the database already has it: one transaction each under the
 * migration lock, re-reading the version under it because another hearthd may have migrated
 * meanwhile. DDL is transactional in PostgreSQL, so a failure leaves the schema whole. */
static int apply_migration(struct pg_store *s, const struct store_migration *m)
{
    int r = begin(s, "BEGIN ISOLATION LEVEL READ COMMITTED");
    if (r < 0)
        return r;
    s->in_tx = true;
    int cur = 0;
    /* no timeouts here: another hearthd may hold the lock for as long as its migration takes,
     * and a migration of a big table may run for minutes */
    if ((r = command(s, "SET LOCAL lock_timeout = 0; SET LOCAL statement_timeout = 0")) == 0 &&
        (r = command(s, "SELECT pg_advisory_xact_lock(" LOCK_MIGRATE ")")) == 0 &&
        (r = command(s, "CREATE TABLE IF NOT EXISTS hearth_schema ("
                        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                        "applied_at BIGINT NOT NULL)")) == 0)
        r = read_version(s, &cur);
    if (r == 0 && cur < m->version) {
        r = command(s, m->sql);
        if (r < 0) {
            char why[sizeof(s->base.errmsg)];
            memcpy(why, s->base.errmsg, sizeof(why));
            store_set_errmsg(&s->base, "migration %04d_%s failed: %s", m->version, m->name, why);
        } else {
            struct pg_params pp = { 0 };
            pg_param_i64(&pp, m->version);
            pg_param_text(&pp, m->name);
            r = pg_exec(s, "INSERT INTO hearth_schema (version, name, applied_at) VALUES "
                           "($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
                        &pp, NULL);
        }
    }
    return pg_tx_end(s, r);
}

static int migrate(struct pg_store *s)
{
    size_t n;
    const struct store_migration *m = store_migrations_pg(&n);
    size_t n_sqlite;
    (void)store_migrations(&n_sqlite);
    for (size_t i = 0; i < n; i++) {
        if (m[i].version != (int)i + 1) {
            store_set_errmsg(&s->base, "embedded migrations are not numbered 1..%zu", n);
            return -EUCLEAN;
        }
    }
    if (n != n_sqlite) {
        store_set_errmsg(&s->base, "%zu PostgreSQL migrations for %zu SQLite ones", n, n_sqlite);
        return -EUCLEAN;
    }
    /* read the version before anything writes: a database from a newer hearthd stays untouched */
    int cur = 0;
    int r = read_version(s, &cur);
    if (r < 0)
        return r;
    if (cur > (int)n) {
        store_set_errmsg(&s->base,
                         "schema version %d is newer than this hearthd knows (%zu); "
                         "upgrade hearthd or restore an older database",
                         cur, n);
        return -ENOTSUP;
    }
    for (size_t i = (size_t)(cur < 0 ? 0 : cur); i < n; i++) {
        r = apply_migration(s, &m[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Copies location into out with the password of a URI's user-info ("user:pw@") replaced by
 * "***", and any password=... keyword value too. */
void store_pg_redact(const char *location, char *out, size_t size)
{
    if (size == 0)
        return;
    size_t o = 0;
    const char *p = location;
    const char *scheme = strstr(p, "://");
    const char *at = NULL, *colon = NULL;
    if (scheme) {
        const char *auth = scheme + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *a = memchr(auth, '@', alen);
        /* the last '@' of the authority ends the user-info (a password may hold '@') */
        for (const char *q = auth; q < auth + alen; q++)
            if (*q == '@')
                a = q;
        if (a) {
            at = a;
            colon = memchr(auth, ':', (size_t)(a - auth));
        }
    }
    for (; *p && o + 1 < size; p++) {
        if (colon && p == colon + 1) {
            const char *stars = "***";
            for (; *stars && o + 1 < size; stars++)
                out[o++] = *stars;
            p = at - 1; /* resume at '@' */
            continue;
        }
        out[o++] = *p;
        /* password=VALUE as a query parameter or a keyword=value pair */
        if ((p == location || p[-1] == '?' || p[-1] == '&' || p[-1] == ' ') &&
            strncmp(p, "password=", 9) == 0) {
            for (int k = 1; k < 9 && o + 1 < size; k++)
                out[o++] = p[k];
            p += 8;
            for (const char *stars = "***"; *stars && o + 1 < size; stars++)
                out[o++] = *stars;
            while (p[1] && p[1] != '&' && p[1] != ' ')
                p++;
        }
    }
    out[o] = '\0';
}

static void free_secret(char *v)
{
    if (v) {
        explicit_bzero(v, strlen(v));
        free(v);
    }
}

/* The password of a URI's user-info, as written and percent-decoded, for scrub(): -ENOMEM or 0
 * (both NULL when there is none). A password=... parameter is found the same way. */
static int find_secret(struct pg_store *s, const char *location)
{
    const char *start = NULL;
    size_t len = 0;
    const char *auth = strstr(location, "://");
    if (auth) {
        auth += 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *q = auth; q < auth + alen; q++)
            if (*q == '@')
                at = q;
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            start = colon + 1;
            len = (size_t)(at - start);
        }
    }
    const char *kw = strstr(location, "password=");
    if (!start && kw) {
        start = kw + 9;
        len = strcspn(start, "& ");
    }
    if (!start || len == 0)
        return 0;
    if (!(s->secret = strndup(start, len)) || !(s->secret_decoded = malloc(len + 1)))
        return -ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (start[i] == '%' && i + 2 < len && (hi = pg_hexval(start[i + 1])) >= 0 &&
            (lo = pg_hexval(start[i + 2])) >= 0) {
            s->secret_decoded[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            s->secret_decoded[o++] = start[i];
        }
    }
    s->secret_decoded[o] = '\0';
    return 0;
}

static void pg_close(struct store *st)
{
    struct pg_store *s = to_pg(st);
    if (s->conn)
        PQfinish(s->conn);
    free_secret(s->conninfo);
    free_secret(s->secret);
    free_secret(s->secret_decoded);
    free(s);
}

static const struct store_ops pg_ops;

int store_pg_open(const char *location, struct store **ret_st, char *reterr, size_t reterr_len)
{
    struct pg_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->base.ops = &pg_ops;
    store_pg_redact(location, s->where, sizeof(s->where));
    s->conninfo = strdup(location);
    int r = s->conninfo ? find_secret(s, location) : -ENOMEM;
    if (r == 0)
        r = connect_db(s);
    if (r == 0)
        r = migrate(s);
    if (r < 0) {
        if (reterr && reterr_len > 0)
            (void)snprintf(reterr, reterr_len, "cannot open store '%s': %s", s->where,
                           s->base.errmsg); /* both scrubbed */
        pg_close(&s->base);
        return r;
    }
    *ret_st = &s->base;
    return 0;
}

static int pg_schema_version(struct store *st, int *ret_version)
{
    struct pg_store *s = to_pg(st);
    int r = ensure_conn(s);
    return r < 0 ? r : read_version(s, ret_version);
}

/* PostgreSQL checks its own pages and enforces foreign keys as it writes, so what is left to
 * check is that the schema is the one this binary migrates to. */
static int pg_check(struct store *st)
{
    int v = 0;
    int r = pg_schema_version(st, &v);
    if (r < 0)
        return r;
    if (v != store_migrations_latest()) {
        store_set_errmsg(st, "schema version %d, expected %d", v, store_migrations_latest());
        return -EUCLEAN;
    }
    return 0;
}

static const struct store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .schema_version = pg_schema_version,
    .check = pg_check,
    .user_ensure = pg_user_ensure,
    .key_insert = pg_key_insert,
    .key_find = pg_key_find,
    .key_touch = pg_key_touch,
    .key_list = pg_key_list,
    .key_page = pg_key_page,
    .key_revoke = pg_key_revoke,
    .sb_insert = pg_sb_insert,
    .sb_get = pg_sb_get,
    .sb_get_by_ip = pg_sb_get_by_ip,
    .sb_get_ingress_name = pg_sb_get_ingress_name,
    .sb_list_by_name = pg_sb_list_by_name,
    .sb_list = pg_sb_list,
    .sb_count = pg_sb_count,
    .sb_update = pg_sb_update,
    .sb_transition = pg_sb_transition,
    .sb_ssh_add = pg_sb_ssh_add,
    .sb_envs_get = pg_sb_envs_get,
    .sb_list_unsettled = pg_sb_list_unsettled,
    .sb_purge = pg_sb_purge,
    .snapshot_refs = pg_snapshot_refs,
    .event_append = pg_event_append,
    .event_list = pg_event_list,
    .event_last = pg_event_last,
    .token_insert = pg_token_insert,
    .token_rotate = pg_token_rotate,
    .token_get = pg_token_get,
    .token_delete = pg_token_delete,
    .token_find = pg_token_find,
    .network_insert = pg_network_insert,
    .network_get = pg_network_get,
    .network_list = pg_network_list,
    .network_delete = pg_network_delete,
    .network_subnets = pg_network_subnets,
    .member_add = pg_member_add,
    .member_remove = pg_member_remove,
    .member_list = pg_member_list,
    .ips_in_use = pg_ips_in_use,
    .disk_insert = pg_disk_insert,
    .disk_get = pg_disk_get,
    .disk_list = pg_disk_list,
    .disk_list_all = pg_disk_list_all,
    .disk_set_sealed = pg_disk_set_sealed,
    .disk_delete = pg_disk_delete,
    .mount_add_many = pg_mount_add_many,
    .mount_list = pg_mount_list,
    .mount_get = pg_mount_get,
    .mount_set_status = pg_mount_set_status,
    .mount_remove = pg_mount_remove,
    .mount_sandboxes = pg_mount_sandboxes,
    .template_insert = pg_template_insert,
    .template_get = pg_template_get,
    .template_list = pg_template_list,
    .template_list_status = pg_template_list_status,
    .template_list_all = pg_template_list_all,
    .template_update = pg_template_update,
    .template_delete = pg_template_delete,
    .template_sandboxes = pg_template_sandboxes,
    .template_log_append = pg_template_log_append,
    .template_log_read = pg_template_log_read,
    .host_report = pg_host_report,
    .host_list = pg_host_list,
    .host_get = pg_host_get,
    .host_set_drain = pg_host_set_drain,
    .host_delete = pg_host_delete,
    .job_enqueue = pg_job_enqueue,
    .job_claim = pg_job_claim,
    .job_finish = pg_job_finish,
    .job_get = pg_job_get,
    .job_fail_host = pg_job_fail_host,
    .job_purge = pg_job_purge,
    .snapobj_put = pg_snapobj_put,
    .snapobj_get = pg_snapobj_get,
    .snapobj_list = pg_snapobj_list,
    .snapobj_delete = pg_snapobj_delete,
};
