/* SPDX-License-Identifier: MIT */
/* test_disks.c: `hearth sb disk …` and `--disk` on create and fork, run through the dispatcher
 * against the scripted HTTP server of tests/fakehttp.c: usage errors (and a missing secret)
 * before any request, where the secret key comes from (stdin, a file, the environment, a flag
 * with a warning) and that it is never printed, the requests on the wire, the attach wait
 * (pending → mounted, error → exit 1), rm detaching a disk in use, tables, JSON and exit codes. */
#include "clirun.h"
#include "fakehttp.h"

#define SB OK("{\"id\":\"sb-1\",\"name\":\"web\",\"status\":\"running\"}")
#define DISK_JSON                                                                                \
    "{\"id\":\"disk_01J\",\"name\":\"data\",\"kind\":\"s3\",\"config\":{\"bucket\":\"b1\","      \
    "\"endpoint\":\"http://10.0.0.1:9000\",\"use_path_style\":true},"                            \
    "\"created_at\":\"2026-12-07T11:00:00Z\"}"
#define DISK OK(DISK_JSON)
#define MOUNTS(st, extra)                                                                        \
    OK("{\"data\":[{\"disk_id\":\"disk_01J\",\"name\":\"data\",\"kind\":\"s3\",\"config\":"      \
       "{\"bucket\":\"b1\",\"endpoint\":\"http://e\",\"use_path_style\":true},"                  \
       "\"mount_path\":\"/mnt/data\",\"mount_status\":\"" st "\"" extra "}],"                    \
       "\"pagination\":{\"total\":1,\"limit\":500,\"offset\":0,\"count\":1}}")

#define CREATE "sb", "disk", "create", "data"
#define S3 "--bucket", "b1", "--endpoint", "http://10.0.0.1:9000"

TEST(usage_errors_before_any_request)
{
    unsetenv("HEARTH_DISK_SECRET_KEY");
    unsetenv("HEARTH_DISK_ACCESS_KEY");
    char big[] = "/tmp/hearth-test-big-XXXXXX";
    int fd = mkstemp(big);
    char junk[2048];
    memset(junk, 'k', sizeof(junk));
    CHECK(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
    close(fd);
    struct {
        const char *in;
        const char *const *argv;
        const char *err;
    } cases[] = {
        { NULL, ARGV(CREATE, "--endpoint", "http://e", "--access-key", "a"), "missing --bucket" },
        { NULL, ARGV(CREATE, "--bucket", "b", "--access-key", "a"), "missing --endpoint" },
        { "s\n", ARGV(CREATE, S3, "--secret-key", "-"), "missing --access-key" },
        /* stdin is no terminal: no prompt, a usage error naming the ways to give it */
        { NULL, ARGV(CREATE, S3, "--access-key", "a"), "no secret key: give --secret-key -" },
        { "\n", ARGV(CREATE, S3, "--access-key", "a", "--secret-key", "-"),
          "the secret key is empty" },
        { NULL, ARGV(CREATE, S3, "--access-key", "a", "--secret-key", "-"),
          "the secret key is empty" },
        { NULL, ARGV(CREATE, S3, "--access-key", "a", "--secret-key", "x", "--secret-key-file",
                     "/etc/hostname"),
          "exclude each other" },
        { NULL, ARGV(CREATE, S3, "--access-key", "a", "--secret-key-file", "/nonexistent/k"),
          "cannot read the secret key from /nonexistent/k" },
        { NULL, ARGV(CREATE, S3, "--access-key", "a", "--secret-key-file", big),
          "longer than 1024 bytes" },
        { NULL, ARGV("sb", "disk", "rotate-keys", "data", "--access-key", "a"),
          "no secret key" },
        { NULL, ARGV("sb", "disk", "create"), "missing argument <name>" },
        { NULL, ARGV("sb", "disk", "attach", "sb-1", "data", "mnt/x"), "is not absolute" },
        { NULL, ARGV("sb", "disk", "attach", "sb-1", "data", "/mnt/x", "--no-wait",
                     "--timeout", "5s"),
          "exclude each other" },
        { NULL, ARGV("sb", "disk", "attach", "sb-1", "data", "/mnt/x", "--timeout", "soon"),
          "is not a duration" },
        { NULL, ARGV("sb", "disk", "attach", "sb-1", "data"), "missing argument <mount-path>" },
        { NULL, ARGV("sb", "disk", "detach", "sb-1", "data", "/mnt/x"), "--yes" },
        { NULL, ARGV("sb", "disk", "rm", "data"), "--yes" },
        { NULL, ARGV("sb", "create", "--disk", "data"), "is not <ref>:<mount-path>" },
        { NULL, ARGV("sb", "create", "--disk", ":/mnt/x"), "is not <ref>:<mount-path>" },
        { NULL, ARGV("sb", "create", "--disk", "data:mnt"), "is not <ref>:<mount-path>" },
        { NULL, ARGV("sb", "fork", "sb-1", "--disk", "data"), "is not <ref>:<mount-path>" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r;
        run_in(NULL, false, cases[i].in, cases[i].argv, &r); /* port 9: no request may work */
        if (r.rc != 2 || !has(r.err, cases[i].err))
            harness_fail(__FILE__, __LINE__, "case %zu: rc %d\nstderr: %s", i, r.rc, r.err);
    }
    unlink(big);
}

TEST(create_reads_the_secret_from_stdin_and_never_prints_it)
{
    static const struct fake_reply s[] = { { 200, NULL, DISK }, { 200, NULL, DISK } };
    struct fake_http f;
    if (!fake_http_start(&f, s, 2))
        return;
    struct run a, b;
    run_in(f.url, false, "Sup3r/Secret+Key\r\n",
           ARGV(CREATE, S3, "--access-key", "AKID", "--secret-key", "-", "--path-style",
                "--region", "eu-west-1"),
           &a);
    run_in(f.url, true, "k2\n", ARGV(CREATE, S3, "--access-key", "AKID", "--secret-key", "-"),
           &b);
    fake_http_stop(&f);
    EXPECT(a, 0, "bucket", "");
    CHECK(has(a.out, "disk_01J") && has(a.out, "http://10.0.0.1:9000") && has(a.out, "yes"));
    CHECK(!has(a.out, "Sup3r") && !has(a.err, "Sup3r") && !has(a.err, "warning"));
    CHECK(has(f.log, "POST /v1/disks HTTP/1.1\n{\"name\":\"data\",\"kind\":\"s3\",\"config\":{"
                     "\"bucket\":\"b1\",\"endpoint\":\"http://10.0.0.1:9000\",\"region\":"
                     "\"eu-west-1\",\"use_path_style\":true},\"credentials\":{\"access_key\":"
                     "\"AKID\",\"secret_key\":\"Sup3r/Secret+Key\"}}\n"));
    /* --json: the payload as is; no --path-style is an explicit false */
    EXPECT(b, 0, "\"id\":\"disk_01J\"", "");
    CHECK(has(f.log, "\"use_path_style\":false},\"credentials\":{\"access_key\":\"AKID\","
                     "\"secret_key\":\"k2\"}}"));
}

TEST(secret_from_env_file_and_flag)
{
    static const struct fake_reply s[] = { { 200, NULL, DISK }, { 200, NULL, DISK },
                                           { 200, NULL, DISK } };
    struct fake_http f;
    if (!fake_http_start(&f, s, 3))
        return;
    char path[] = "/tmp/hearth-test-sk-XXXXXX";
    int fd = mkstemp(path);
    CHECK(write(fd, "fromfile\n", 9) == 9);
    close(fd);
    setenv("HEARTH_DISK_ACCESS_KEY", "ENVAK", 1);
    setenv("HEARTH_DISK_SECRET_KEY", "fromenv", 1);
    struct run a, b, c;
    run_cli(f.url, false, ARGV(CREATE, S3), &a);
    run_cli(f.url, false, ARGV("sb", "disk", "rotate-keys", "data", "--access-key", "AK2",
                               "--secret-key-file", path),
            &b);
    unsetenv("HEARTH_DISK_ACCESS_KEY");
    unsetenv("HEARTH_DISK_SECRET_KEY");
    run_cli(f.url, false, ARGV("sb", "disk", "rotate", "data", "--access-key", "AK3",
                               "--secret-key", "onargv"),
            &c);
    fake_http_stop(&f);
    unlink(path);
    EXPECT(a, 0, "disk_01J", "");
    CHECK(!has(a.err, "warning"));
    CHECK(has(f.log, "\"credentials\":{\"access_key\":\"ENVAK\",\"secret_key\":\"fromenv\"}"));
    EXPECT(b, 0, "disk_01J", "");
    CHECK(has(f.log, "PATCH /v1/disks/data HTTP/1.1\n{\"credentials\":{\"access_key\":\"AK2\","
                     "\"secret_key\":\"fromfile\"}}\n"));
    /* the spec's literal value works, with a warning about ps and shell history */
    EXPECT(c, 0, "disk_01J", "visible to other local users");
    CHECK(!has(c.err, "onargv") && !has(c.out, "onargv"));
    CHECK(has(f.log, "{\"credentials\":{\"access_key\":\"AK3\",\"secret_key\":\"onargv\"}}"));
}

TEST(server_errors_map_to_exit_codes)
{
    static const struct fake_reply s[] = {
        { 400, NULL, "{\"status\":\"fail\",\"data\":{\"config\":\"bucket check failed: 403 "
                     "Forbidden\",\"code\":\"disk_probe_failed\"}}" },
        { 404, NULL, "{\"status\":\"fail\",\"data\":\"disk not found\"}" },
#define NOT_CONFIGURED                                                                           \
    { 503, NULL, "{\"status\":\"error\",\"message\":\"disks API not configured\","             \
                 "\"data\":{\"code\":\"disks_not_configured\"}}" }
        NOT_CONFIGURED, NOT_CONFIGURED, NOT_CONFIGURED, /* 503 is retried twice */
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 5))
        return;
    struct run a, b, c;
    run_in(f.url, false, "sk", ARGV(CREATE, S3, "--access-key", "a", "--secret-key", "-"), &a);
    run_cli(f.url, false, ARGV("sb", "disk", "show", "nope"), &b);
    run_cli(f.url, true, ARGV("sb", "disks", "ls"), &c);
    fake_http_stop(&f);
    EXPECT(a, 5, "", "bucket check failed: 403 Forbidden");
    EXPECT(b, 4, "", "disk not found");
    EXPECT(c, 7, "", "\"code\":\"disks_not_configured\"");
}

TEST(ls_and_show)
{
    static const struct fake_reply s[] = {
        { 200, NULL, OK("{\"data\":[" DISK_JSON "],\"pagination\":{\"total\":1,\"limit\":50,"
                        "\"offset\":0,\"count\":1}}") },
        { 200, NULL, OK("{\"data\":[" DISK_JSON "],\"pagination\":{\"total\":1,\"limit\":50,"
                        "\"offset\":0,\"count\":1}}") },
        { 200, NULL, DISK },
        { 200, NULL, SB },
        { 200, NULL, MOUNTS("error", ",\"sub_path\":\"team\",\"mount_error\":\"403 Forbidden\"") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 5))
        return;
    struct run a, b, c, d;
    run_cli(f.url, false, ARGV("sb", "disk", "ls"), &a);
    run_cli(f.url, true, ARGV("sb", "disk", "list", "--limit", "5"), &b);
    run_cli(f.url, false, ARGV("sb", "disk", "get", "data"), &c);
    run_cli(f.url, false, ARGV("sb", "disk", "ls", "--sandbox", "sb-1"), &d);
    fake_http_stop(&f);
    EXPECT(a, 0, "ID", "");
    CHECK(has(a.out, "NAME") && has(a.out, "BUCKET") && has(a.out, "ENDPOINT") &&
          has(a.out, "CREATED") && has(a.out, "disk_01J") && has(a.out, "b1"));
    EXPECT(b, 0, "[{\"id\":\"disk_01J\"", "");
    CHECK(has(f.log, "GET /v1/disks?offset=0&limit=5 HTTP/1.1\n"));
    EXPECT(c, 0, "endpoint", "");
    CHECK(has(c.out, "http://10.0.0.1:9000") && has(c.out, "us-east-1"));
    EXPECT(d, 0, "SUB-PATH", "");
    CHECK(has(d.out, "DISK") && has(d.out, "MOUNT") && has(d.out, "STATUS") &&
          has(d.out, "ERROR") && has(d.out, "/mnt/data") && has(d.out, "team") &&
          has(d.out, "403 Forbidden"));
    CHECK(has(f.log, "GET /v1/sandboxes/sb-1/disks?offset=0&limit=50 HTTP/1.1\n"));
}

TEST(attach_waits_until_mounted)
{
    static const struct fake_reply s[] = {
        { 200, NULL, SB },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"ok\":true}") },
        { 200, NULL, MOUNTS("pending", "") },
        { 200, NULL, MOUNTS("mounted", "") },
        /* --json --no-wait */
        { 200, NULL, SB },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"ok\":true}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 6))
        return;
    struct run a, b;
    run_cli(f.url, false, ARGV("sb", "disk", "attach", "sb-1", "data", "/mnt/data",
                               "--sub-path", "team/a"),
            &a);
    run_cli(f.url, true, ARGV("sb", "disk", "mount", "sb-1", "data", "/mnt/data", "--no-wait"),
            &b);
    fake_http_stop(&f);
    EXPECT(a, 0, "sb-1: data mounted at /mnt/data", "mounted");
    CHECK(has(f.log, "POST /v1/sandboxes/sb-1/disks HTTP/1.1\n{\"disk_id\":\"data\","
                     "\"mount_path\":\"/mnt/data\",\"sub_path\":\"team/a\"}\n"));
    CHECK_EQ(fake_http_count(f.log, "GET /v1/sandboxes/sb-1/disks?"), 2);
    EXPECT(b, 0, "{\"id\":\"sb-1\",\"ok\":true}", "");
}

TEST(attach_error_and_timeout)
{
    static const struct fake_reply s[] = {
        { 200, NULL, SB },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"ok\":true}") },
        { 200, NULL, MOUNTS("error", ",\"mount_error\":\"s3fs: bucket b1 403\"") },
        { 200, NULL, SB },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"ok\":true}") },
        { 200, NULL, MOUNTS("pending", "") },
        { 200, NULL, MOUNTS("pending", "") },
        { 200, NULL, MOUNTS("pending", "") },
        { 200, NULL, MOUNTS("pending", "") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 9))
        return;
    struct run a, b;
    run_cli(f.url, false, ARGV("sb", "disk", "attach", "sb-1", "disk_01J", "/mnt/data"), &a);
    run_cli(f.url, false, ARGV("sb", "disk", "attach", "sb-1", "data", "/mnt/data",
                               "--timeout", "400ms"),
            &b);
    fake_http_stop(&f);
    /* the id matches as well as the name */
    EXPECT(a, 1, "", "s3fs: bucket b1 403");
    EXPECT(b, 6, "", "not mounted");
}

TEST(detach_sends_the_mount_path_as_a_query)
{
    static const struct fake_reply s[] = {
        { 200, NULL, SB },
        { 200, NULL, OK("{\"detached\":true}") },
        /* the server unmounts in the background: the CLI waits until the row is gone */
        { 200, NULL, OK("{\"data\":[{\"disk_id\":\"disk_01J\",\"name\":\"data\","
                        "\"mount_path\":\"/mnt/a b&c\",\"mount_status\":\"unmounting\"}],"
                        "\"pagination\":{\"total\":1,\"limit\":500,\"offset\":0,"
                        "\"count\":1}}") },
        { 200, NULL, OK("{\"data\":[],\"pagination\":{\"total\":0,\"limit\":500,"
                        "\"offset\":0,\"count\":0}}") },
        { 200, NULL, SB },
        { 200, NULL, OK("{\"detached\":false}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 6))
        return;
    struct run a, b;
    run_cli(f.url, false, ARGV("sb", "disk", "detach", "sb-1", "data", "/mnt/a b&c", "--yes"), &a);
    run_cli(f.url, false, ARGV("sb", "disk", "unmount", "sb-1", "data", "/mnt/x", "-y"), &b);
    fake_http_stop(&f);
    EXPECT(a, 0, "data detached from /mnt/a b&c", "");
    CHECK(has(f.log, "DELETE /v1/sandboxes/sb-1/disks/data?mount_path=%2Fmnt%2Fa%20b%26c "
                     "HTTP/1.1\n"));
    EXPECT(b, 0, "nothing to do", "");
    CHECK_EQ(fake_http_count(f.log, "GET /v1/sandboxes/sb-1/disks?"), 2);
}

TEST(rm_detaches_a_disk_in_use_then_deletes)
{
    static const struct fake_reply s[] = {
        { 200, NULL, DISK },
        { 409, NULL, "{\"status\":\"fail\",\"data\":{\"code\":\"in_use\","
                     "\"message\":\"disk is attached to 1 sandbox\"}}" },
        { 200, NULL, OK("{\"data\":[{\"id\":\"sb-2\",\"status\":\"destroyed\"},"
                        "{\"id\":\"sb-1\",\"status\":\"paused\"}],\"pagination\":{\"total\":2,"
                        "\"limit\":500,\"offset\":0,\"count\":2}}") },
        { 200, NULL, MOUNTS("mounted", "") },
        { 200, NULL, OK("{\"detached\":true}") },
        { 409, NULL, "{\"status\":\"fail\",\"data\":{\"code\":\"in_use\","
                     "\"message\":\"disk is attached to 1 sandbox\"}}" }, /* still unmounting */
        { 200, NULL, OK("{\"deleted\":true}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 7))
        return;
    struct run a;
    run_cli(f.url, false, ARGV("sb", "disk", "rm", "data", "--yes"), &a);
    fake_http_stop(&f);
    EXPECT(a, 0, "disk_01J deleted (1 mount detached)", "");
    CHECK_EQ(fake_http_count(f.log, "DELETE /v1/disks/disk_01J HTTP/1.1"), 3);
    CHECK(!has(f.log, "/v1/sandboxes/sb-2/disks"));
    CHECK(has(f.log, "DELETE /v1/sandboxes/sb-1/disks/disk_01J?mount_path=%2Fmnt%2Fdata "));
}

TEST(create_and_fork_send_disks)
{
    static const struct fake_reply s[] = {
        { 200, NULL, SB },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"name\":\"web\",\"status\":\"paused\"}") },
        { 200, NULL, OK("{\"id\":\"sb-3\",\"name\":\"kid\",\"status\":\"running\","
                        "\"forked_from\":\"sb-1\"}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 3))
        return;
    struct run a, b;
    run_cli(f.url, true, ARGV("sb", "create", "--disk", "data:/mnt/data:team/a",
                              "--disk", "disk_01J:/srv,logs:/var/logs"),
            &a);
    run_cli(f.url, true, ARGV("sb", "fork", "sb-1", "--disk", "data:/mnt/d", "--no-wait"), &b);
    fake_http_stop(&f);
    EXPECT(a, 0, "\"id\":\"sb-1\"", "");
    CHECK(has(f.log, "\"disks\":[{\"disk_id\":\"data\",\"mount_path\":\"/mnt/data\","
                     "\"sub_path\":\"team/a\"},{\"disk_id\":\"disk_01J\",\"mount_path\":"
                     "\"/srv\"},{\"disk_id\":\"logs\",\"mount_path\":\"/var/logs\"}]"));
    EXPECT(b, 0, "sb-3", "");
    CHECK(has(f.log, "POST /v1/sandboxes/sb-1/fork HTTP/1.1\n{\"disks\":[{\"disk_id\":"
                     "\"data\",\"mount_path\":\"/mnt/d\"}]}"));
}
