/* SPDX-License-Identifier: MIT */
/* test_qmp.c: the QMP line parser with good and hostile lines, and the client against a fake
 * QEMU on a socketpair (events during a command, errors, timeouts, a closed monitor). */
#include "daemon/host/qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/herr.h"
#include "common/mono.h"
#include "daemon/host/usock.h"
#include "harness.h"

TEST(parse_good)
{
    struct qmp_msg m;
    struct herr e = { 0 };
    const char *g = "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7}}, \"capabilities\": []}}\n";
    CHECK_EQ(qmp_parse_message(g, strlen(g), &m, &e), 0);
    CHECK_EQ(m.kind, QMP_MSG_GREETING);
    qmp_msg_release(&m);
    const char *r = "{\"return\": {\"status\": \"running\"}, \"id\": 7}";
    CHECK_EQ(qmp_parse_message(r, strlen(r), &m, &e), 0);
    CHECK_EQ(m.kind, QMP_MSG_RETURN);
    CHECK(m.has_id);
    CHECK_EQ(m.id, 7);
    CHECK_STR(json_string_value(json_object_get(m.ret, "status")), "running");
    qmp_msg_release(&m);
    const char *er = "{\"error\": {\"class\": \"GenericError\", \"desc\": \"nope\"}, \"id\": 2}";
    CHECK_EQ(qmp_parse_message(er, strlen(er), &m, &e), 0);
    CHECK_EQ(m.kind, QMP_MSG_ERROR);
    CHECK_STR(m.err_class, "GenericError");
    CHECK_STR(m.err_desc, "nope");
    qmp_msg_release(&m);
    const char *ev = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
                     "\"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-reset\"}}\r\n";
    CHECK_EQ(qmp_parse_message(ev, strlen(ev), &m, &e), 0);
    CHECK_EQ(m.kind, QMP_MSG_EVENT);
    CHECK_STR(m.event, "SHUTDOWN");
    CHECK_STR(json_string_value(json_object_get(m.data, "reason")), "guest-reset");
    CHECK(!m.has_id);
    qmp_msg_release(&m);
    const char *nodata = "{\"event\": \"STOP\"}";
    CHECK_EQ(qmp_parse_message(nodata, strlen(nodata), &m, &e), 0);
    CHECK(m.data == NULL);
    qmp_msg_release(&m);
    CHECK_EQ(e.code, 0);
}

TEST(parse_hostile)
{
    static const char *const bad[] = {
        "", "\n", "{", "[]", "42", "\"str\"", "null", "{}", "{\"id\":1}",
        "{\"QMP\": 1}", "{\"error\": \"x\"}", "{\"error\": {\"class\": \"A\"}}",
        "{\"error\": {\"class\": 1, \"desc\": \"d\"}}", "{\"event\": 5}", "{\"event\": \"\"}",
        "{\"event\": \"X\", \"data\": [1]}", "{\"return\": {}, \"return\": {}}",
        "{\"return\": {}} trailing", "{\"return\": \"\xff\xfe\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct qmp_msg m = { 0 };
        struct herr e = { 0 };
        int r = qmp_parse_message(bad[i], strlen(bad[i]), &m, &e);
        if (r != -EBADMSG)
            harness_fail(__FILE__, __LINE__, "case %zu '%s': %d", i, bad[i], r);
        CHECK_EQ(r, -EBADMSG);
        CHECK(e.msg[0] != 0);
        CHECK(m.root == NULL);
    }
    /* an embedded NUL */
    const char nul[] = "{\"return\": {}}\0{}";
    struct qmp_msg m;
    struct herr e = { 0 };
    CHECK_EQ(qmp_parse_message(nul, sizeof(nul) - 1, &m, &e), -EBADMSG);
    /* oversized */
    size_t big = QMP_MAX_LINE + 10;
    char *p = malloc(big);
    CHECK(p);
    memset(p, ' ', big);
    p[0] = '{';
    p[big - 1] = '}';
    herr_clear(&e);
    CHECK_EQ(qmp_parse_message(p, big, &m, &e), -EBADMSG);
    CHECK(strstr(e.msg, "exceeds") != NULL);
    free(p);
    /* a non-integer id is not an id */
    const char *sid = "{\"return\": {}, \"id\": \"7\"}";
    CHECK_EQ(qmp_parse_message(sid, strlen(sid), &m, NULL), 0);
    CHECK(!m.has_id);
    qmp_msg_release(&m);
}

static void put(int fd, const char *s)
{
    (void)!write(fd, s, strlen(s));
}

/* Reads one line from fd into buf (blocking). */
static bool get_line(int fd, char *buf, size_t len)
{
    size_t o = 0;
    while (o + 1 < len) {
        if (read(fd, buf + o, 1) != 1)
            return false;
        if (buf[o++] == '\n')
            break;
    }
    buf[o] = 0;
    return true;
}

/* Fake QEMU: greeting, garbage, answers capabilities, then for each command sends an event,
 * a stale reply and then the real reply; "fail" gets an error, "hang" nothing, "bye" closes. */
static void fake_qemu(int fd)
{
    char line[4096];
    put(fd, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n");
    put(fd, "this is not json\n{\"event\": 1}\n");
    while (get_line(fd, line, sizeof(line))) {
        json_t *j = json_loads(line, 0, NULL);
        const char *cmd = json_string_value(json_object_get(j, "execute"));
        json_int_t id = json_integer_value(json_object_get(j, "id"));
        char out[512];
        if (strcmp(cmd, "hang") == 0) {
            json_decref(j);
            continue;
        }
        if (strcmp(cmd, "bye") == 0) {
            json_decref(j);
            break;
        }
        put(fd, "{\"event\": \"STOP\", \"timestamp\": {}}\n");
        snprintf(out, sizeof(out), "{\"return\": {\"stale\": 1}, \"id\": %lld}\n", id + 1000);
        put(fd, out);
        if (strcmp(cmd, "fail") == 0)
            snprintf(out, sizeof(out),
                     "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no\"}, "
                     "\"id\": %lld}\n", id);
        else
            snprintf(out, sizeof(out), "{\"return\": {\"cmd\": \"%s\"}, \"id\": %lld}\n", cmd,
                     id);
        put(fd, out);
        json_decref(j);
    }
    close(fd);
}

static void count_event(void *ud, const char *event, json_t *data)
{
    if (strcmp(event, "STOP") == 0)
        (*(int *)ud)++;
}

/* What the test's event loop saw of one command. */
struct reply {
    bool got;
    bool error;
    char err_class[64];
    json_t *ret;          /* RETURN: the value, owned */
};

static void on_reply(void *ud, const struct qmp_msg *m)
{
    struct reply *r = ud;
    r->got = true;
    r->error = m->kind == QMP_MSG_ERROR;
    if (r->error)
        snprintf(r->err_class, sizeof(r->err_class), "%s", m->err_class);
    else
        r->ret = json_incref(m->ret);
}

/* The owner's event loop in miniature: poll() on the client's fd until done(arg), deadline_us
 * (-ETIMEDOUT) or a broken connection (its error). */
static int drive(struct qmp_client *c, bool (*done)(void *), void *arg, int64_t deadline_us)
{
    while (!done(arg)) {
        struct pollfd p = { .fd = qmp_client_fd(c),
                            .events = POLLIN | (qmp_client_want_write(c) ? POLLOUT : 0) };
        int n = poll(&p, 1, mono_poll_ms(deadline_us));
        if (n == 0)
            return -ETIMEDOUT;
        if (n < 0)
            return -errno;
        int r = (p.revents & POLLOUT) ? qmp_client_on_writable(c) : 0;
        if (r == 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
            r = qmp_client_on_readable(c);
        if (r < 0)
            return r;
    }
    return 0;
}

static bool reply_got(void *arg)
{
    return ((struct reply *)arg)->got;
}

static bool greeted(void *arg)
{
    return qmp_client_greeted(arg);
}

/* Sends cmd and runs the loop until its reply: 0 (*ret owned, may be NULL), -EREMOTEIO with
 * the error class in e, -ETIMEDOUT (the reply is then cancelled), -ECONNRESET. */
static int execute(struct qmp_client *c, const char *cmd, int64_t deadline_us, json_t **ret,
                   struct herr *e)
{
    struct reply r = { 0 };
    int rc = qmp_client_send(c, cmd, NULL, on_reply, &r);
    if (rc == 0)
        rc = drive(c, reply_got, &r, deadline_us);
    if (rc < 0) {
        qmp_client_cancel_reply(c);
        return herr_set(e, rc, "qmp '%s': %s", cmd, strerror(-rc));
    }
    if (r.error)
        return herr_set(e, -EREMOTEIO, "qmp '%s' failed: %s", cmd, r.err_class);
    if (ret)
        *ret = r.ret;
    else
        json_decref(r.ret);
    return 0;
}

TEST(client_against_fake_qemu)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        fake_qemu(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    struct qmp_client *c = NULL;
    struct herr e = { 0 };
    int stops = 0;
    CHECK_EQ(qmp_client_new(sv[0], count_event, &stops, &c), 0);
    CHECK_EQ(drive(c, greeted, c, mono_now_us() + 5000000), 0);
    CHECK_EQ(execute(c, "qmp_capabilities", mono_now_us() + 5000000, NULL, &e), 0);
    CHECK_EQ(stops, 1); /* capabilities came with one STOP */
    CHECK(qmp_client_bad_lines(c) >= 2);
    json_t *ret = NULL;
    CHECK_EQ(execute(c, "query-status", mono_now_us() + 5000000, &ret, &e), 0);
    CHECK_STR(json_string_value(json_object_get(ret, "cmd")), "query-status");
    json_decref(ret);
    CHECK_EQ(stops, 2);
    /* one command at a time */
    struct reply r1 = { 0 }, r2 = { 0 };
    CHECK_EQ(qmp_client_send(c, "query-status", NULL, on_reply, &r1), 0);
    CHECK_EQ(qmp_client_send(c, "query-status", NULL, on_reply, &r2), -EBUSY);
    CHECK_EQ(drive(c, reply_got, &r1, mono_now_us() + 5000000), 0);
    json_decref(r1.ret);
    CHECK_EQ(execute(c, "fail", mono_now_us() + 5000000, NULL, &e), -EREMOTEIO);
    CHECK(strstr(e.msg, "CommandNotFound") != NULL);
    herr_clear(&e);
    int64_t t0 = mono_now_us();
    CHECK_EQ(execute(c, "hang", t0 + 200000, NULL, &e), -ETIMEDOUT);
    CHECK(mono_now_us() - t0 >= 190000);
    herr_clear(&e);
    CHECK_EQ(execute(c, "bye", mono_now_us() + 5000000, NULL, &e), -ECONNRESET);
    qmp_client_free(c);
    waitpid(pid, NULL, 0);
}

/* The host connects once per retry tick (no blocking wait): a socket QEMU has not made yet
 * is -ENOENT, which it retries. */
TEST(connect_missing_socket_is_enoent)
{
    int fd = -1;
    CHECK_EQ(usock_connect("/tmp/definitely-not-here/qmp.sock", &fd), -ENOENT);
    CHECK_EQ(fd, -1);
}

/* query-migrate replies, good and odd: only "completed" ends well, "failed" and "cancelled"
 * end badly, anything else (absent, wrong type, unknown) is still running. */
TEST(migration_state)
{
    static const struct {
        const char *json;
        enum qmp_migration want;
        const char *status, *why;
    } cases[] = {
        { "{\"status\":\"completed\"}", QMP_MIGRATION_COMPLETED, "completed", NULL },
        { "{\"status\":\"failed\",\"error-desc\":\"boom\"}", QMP_MIGRATION_FAILED, "failed",
          "boom" },
        { "{\"status\":\"cancelled\"}", QMP_MIGRATION_FAILED, "cancelled", NULL },
        { "{\"status\":\"active\"}", QMP_MIGRATION_ACTIVE, "active", NULL },
        { "{\"status\":\"Completed\"}", QMP_MIGRATION_ACTIVE, "Completed", NULL },
        { "{\"status\":7,\"error-desc\":3}", QMP_MIGRATION_ACTIVE, "(none)", NULL },
        { "{}", QMP_MIGRATION_ACTIVE, "(none)", NULL },
        { "[\"completed\"]", QMP_MIGRATION_ACTIVE, "(none)", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = json_loads(cases[i].json, 0, NULL);
        CHECK(j != NULL);
        const char *st = NULL, *why = "x";
        CHECK_EQ(qmp_migration_state(j, &st, &why), cases[i].want);
        CHECK_STR(st, cases[i].status);
        if (cases[i].why)
            CHECK_STR(why, cases[i].why);
        else
            CHECK(why == NULL);
        json_decref(j);
    }
    const char *st = NULL;
    CHECK_EQ(qmp_migration_state(NULL, &st, NULL), QMP_MIGRATION_ACTIVE);
    CHECK_STR(st, "(none)");
}
