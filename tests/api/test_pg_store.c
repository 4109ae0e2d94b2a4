/* SPDX-License-Identifier: MIT */
/* test_pg_store.c: `hearthd serve` with PostgreSQL as its store (docs/store.md "PostgreSQL
 * backend"), the hostile cases. Without a cluster: a store URI that cannot be reached, or that
 * is not a store location at all, stops hearthd at start with a clear message and a non-zero
 * exit, the password nowhere in what it prints. With one (HEARTH_TEST_PG): the server drops
 * hearthd's connection while it serves (the next request just works), then the database
 * refuses connections for a while (requests fail with a 5xx, hearthd stays up and logs the
 * cause) and comes back (the same hearthd serves again, nothing lost). */
#include "apitest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"

#define SECRET "topsecretpw"

/* Writes a config for s's dirs with store = loc (no other store line). */
static bool write_conf(struct hd_server *s, const char *loc)
{
    FILE *f = fopen(s->conf, "w");
    REQUIRE(f);
    fprintf(f, "listen = 127.0.0.1:0\nmetrics_listen = 127.0.0.1:0\ningress_http_listen = off\n"
               "data_dir = %s\nimages_dir = %s\nstore = %s\n", s->data, s->images, loc);
    fclose(f);
    return true;
}

TEST(pgstore_bad_location_stops_start_without_the_password)
{
    struct hd_server s;
    if (!hd_prepare(&s, NULL, true))
        return;
    static const struct {
        const char *loc;
        const char *says;   /* in the message */
    } cases[] = {
        { "postgresql://hearth:" SECRET "@127.0.0.1:1/hearth", "cannot connect" },
        { "postgres://hearth:" SECRET "@127.0.0.1:1/hearth?connect_timeout=2", "cannot connect" },
        { "postgresql://hearth:" SECRET "%zz@127.0.0.1:1/hearth", "cannot open store" },
        { "mysql://hearth:" SECRET "@127.0.0.1/hearth", "bad value for 'store'" },
        { "sqlite:relative/path", "bad value for 'store'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (!write_conf(&s, cases[i].loc))
            break;
        const char *argv[] = { "serve", "--config", s.conf, NULL };
        char out[4096], err[4096];
        int rc = hd_run(argv, out, sizeof(out), err, sizeof(err));
        if (rc == 0 || !strstr(err, cases[i].says) || strstr(err, SECRET) || strstr(out, SECRET))
            harness_fail(__FILE__, __LINE__, "%s: exit %d, stderr '%s'", cases[i].loc, rc, err);
        CHECK(rc != 0);
    }
    hd_cleanup(&s);
}

#define KICK "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'"

/* Runs admin sql with %s replaced by the database of uri. */
static int admin_on(const char *uri, const char *fmt)
{
    char db[64], sql[300];
    if (!pgtest_uri_db(uri, db, sizeof(db)))
        return -1;
    snprintf(sql, sizeof(sql), fmt, db);
    return pgtest_admin(sql);
}

static int list_status(struct hd_server *s)
{
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "X-Api-Key: %s\r\n", s->admin_key);
    return http_status(s->port, "GET", "/v1/sandboxes", hdr, NULL);
}

static bool log_has(const struct hd_server *s, const char *needle)
{
    FILE *f = fopen(s->log, "r");
    char line[4096];
    bool found = false;
    while (f && !found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

TEST(pgstore_server_goes_away_and_comes_back)
{
    if (!pgtest_uri())
        harness_skip("needs HEARTH_TEST_PG (tests/pg/pgserver.sh)");
    struct hd_server s;
    if (!hd_prepare(&s, NULL, true) || !hd_start(&s))
        return;
    CHECK(s.pg);
    CHECK_EQ(list_status(&s), 200);

    /* the server drops the connection between requests: the next one reconnects */
    CHECK_EQ(admin_on(hd_store(&s), KICK), 0);
    usleep(100 * 1000);
    CHECK_EQ(list_status(&s), 200);

    /* the database refuses connections: requests fail (5xx), hearthd stays up */
    CHECK_EQ(admin_on(hd_store(&s), "ALTER DATABASE %s ALLOW_CONNECTIONS false"), 0);
    CHECK_EQ(admin_on(hd_store(&s), KICK), 0);
    usleep(100 * 1000);
    for (int i = 0; i < 5; i++) {
        int st = list_status(&s);
        if (st < 500 || st > 599)
            harness_fail(__FILE__, __LINE__, "request %d with the store away: %d", i, st);
    }
    CHECK(kill(s.pid, 0) == 0);
    struct hresp r;
    CHECK_EQ(http_do(s.port, "GET", "/healthz", NULL, NULL, &r), 0);
    hresp_free(&r);

    /* back: the same hearthd serves again (it retries the connection once a second) */
    CHECK_EQ(admin_on(hd_store(&s), "ALTER DATABASE %s ALLOW_CONNECTIONS true"), 0);
    int st = 0;
    for (int i = 0; i < 30 && (st = list_status(&s)) != 200; i++)
        usleep(100 * 1000);
    CHECK_EQ(st, 200);
    CHECK(!log_has(&s, "hearth-test-secret"));
    CHECK(log_has(&s, "hearth:***@")); /* the ready line names the store, redacted */
    hd_cleanup(&s);
}
