/* SPDX-License-Identifier: MIT */
/* pgtest.h: a fresh PostgreSQL database per test when HEARTH_TEST_PG names a running cluster
 * (tests/pg/pgserver.sh sets it: a URI of a maintenance database, as a role that may create
 * databases). The store unit tests (tests/unit/store/fixture.h) and the API harness
 * (tests/api/apitest.c) use it; without HEARTH_TEST_PG they run on SQLite as always.
 * Header-only: each test binary links alone. */
#pragma once

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The cluster's URI, or NULL when the tests run on SQLite. */
static inline const char *pgtest_uri(void)
{
    const char *u = getenv("HEARTH_TEST_PG");
    return u && *u ? u : NULL;
}

/* Writes base with its database (the URI's path) replaced by db into out. */
static inline bool pgtest_uri_with_db(const char *base, const char *db, char *out, size_t size)
{
    const char *auth = strstr(base, "://");
    if (!auth)
        return false;
    auth += 3;
    size_t alen = strcspn(auth, "/?");
    const char *query = strchr(auth + alen, '?');
    int n = snprintf(out, size, "%.*s/%s%s", (int)(auth + alen - base), base, db,
                     query ? query : "");
    return n > 0 && (size_t)n < size;
}

/* The database a URI names (its path, up to '?'), into out. */
static inline bool pgtest_uri_db(const char *uri, char *out, size_t size)
{
    const char *auth = strstr(uri, "://");
    if (!auth)
        return false;
    auth += 3;
    const char *slash = auth + strcspn(auth, "/?");
    if (*slash != '/')
        return false;
    size_t n = strcspn(slash + 1, "?");
    if (n == 0 || n >= size)
        return false;
    memcpy(out, slash + 1, n);
    out[n] = '\0';
    return true;
}

/* Runs one command on the cluster's maintenance database: 0 or -1 (the reason on stderr). */
static inline int pgtest_admin(const char *sql)
{
    PGconn *c = PQconnectdb(pgtest_uri());
    int r = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *res = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(res);
        r = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
        if (r < 0)
            fprintf(stderr, "pgtest: %s: %s", sql, PQresultErrorMessage(res));
        PQclear(res);
    } else {
        fprintf(stderr, "pgtest: cannot connect: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return r;
}

/* Creates a new empty database and writes its URI into out: 0 or -1. */
static inline int pgtest_db_create(char *out, size_t size)
{
    static unsigned counter;
    char db[64], sql[128];
    snprintf(db, sizeof(db), "hearth_t_%d_%u_%u", (int)getpid(), ++counter,
             (unsigned)(rand() & 0xffff));
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8'", db);
    if (pgtest_admin(sql) < 0)
        return -1;
    return pgtest_uri_with_db(pgtest_uri(), db, out, size) ? 0 : -1;
}

/* Drops the database of uri (made by pgtest_db_create), closing its other connections. */
static inline void pgtest_db_drop(const char *uri)
{
    char db[64], sql[128];
    if (!pgtest_uri() || !pgtest_uri_db(uri, db, sizeof(db)) || strncmp(db, "hearth_t_", 9))
        return;
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    (void)pgtest_admin(sql);
}

/* Runs sql on the database of uri; with ret, reads the first column of the first row as an
 * integer (0 for NULL). 0, or -1 with the reason on stderr. */
static inline int pgtest_sql(const char *uri, const char *sql, long long *ret)
{
    PGconn *c = PQconnectdb(uri);
    int r = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *res = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(res);
        r = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
        if (r < 0)
            fprintf(stderr, "pgtest: %s: %s", sql, PQresultErrorMessage(res));
        else if (ret)
            *ret = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)
                       ? strtoll(PQgetvalue(res, 0, 0), NULL, 10)
                       : 0;
        if (r == 0 && ret && PQntuples(res) < 1)
            r = -1;
        PQclear(res);
    } else {
        fprintf(stderr, "pgtest: cannot connect: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return r;
}

/* Takes the store's write lock (pg.c's advisory lock, LOCK_WRITE) in a transaction on a new
 * connection to uri's database: every store write then waits, and fails with -EBUSY after the
 * store's lock_timeout, until pgtest_release(). NULL on failure. */
static inline PGconn *pgtest_hold_write_lock(const char *uri)
{
    PGconn *c = PQconnectdb(uri);
    PGresult *res = PQstatus(c) == CONNECTION_OK
                        ? PQexec(c, "BEGIN; SELECT pg_advisory_xact_lock(1752331368, 2)")
                        : NULL;
    bool ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    if (!ok) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

static inline void pgtest_release(PGconn *c)
{
    if (c) {
        PQclear(PQexec(c, "ROLLBACK"));
        PQfinish(c);
    }
}
