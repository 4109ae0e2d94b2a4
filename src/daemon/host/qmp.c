/* SPDX-License-Identifier: MIT */
/* qmp.c: QMP client. One command in flight per VM; events go to the owner's callback. Driven
 * by the owner's event loop (host_local.c); never blocks, never logs. Knows nothing about
 * sandboxes or the agent. */
#include "daemon/host/qmp.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/herr.h"
#include "daemon/host/usock.h"

struct qmp_client {
    int fd;                 /* owned, non-blocking */
    struct buf in;          /* bytes read, not yet split into lines; max QMP_MAX_LINE + 1 */
    bool discarding;        /* dropping the rest of an oversized line */
    int64_t next_id;        /* id for the next command */
    uint64_t bad_lines;     /* malformed lines skipped */
    qmp_event_fn on_event;  /* may be NULL */
    void *userdata;         /* passed to on_event */
    bool got_greeting;
    /* the command in flight (qmp_client_send()) */
    qmp_reply_fn on_reply;  /* NULL when none */
    void *reply_ud;
    int64_t async_id;
    struct buf out;         /* queued command bytes (asynchronous use) */
};

int qmp_parse_message(const char *line, size_t len, struct qmp_msg *ret, struct herr *e)
{
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > QMP_MAX_LINE)
        return herr_set(e, -EBADMSG, "qmp line of %zu bytes exceeds %u", len, QMP_MAX_LINE);
    if (memchr(line, 0, len))
        return herr_set(e, -EBADMSG, "qmp line holds a NUL byte");
    json_error_t jerr;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return herr_set(e, -EBADMSG, "qmp line is not JSON: %s", jerr.text);
    struct qmp_msg m = { .root = root };
    if (!json_is_object(root)) {
        herr_set(e, -EBADMSG, "qmp message is not an object");
        goto out_bad;
    }
    json_t *id = json_object_get(root, "id");
    if (json_is_integer(id)) {
        m.has_id = true;
        m.id = json_integer_value(id);
    }
    json_t *v;
    if ((v = json_object_get(root, "QMP"))) {
        if (!json_is_object(v)) {
            herr_set(e, -EBADMSG, "qmp greeting 'QMP' is not an object");
            goto out_bad;
        }
        m.kind = QMP_MSG_GREETING;
    } else if ((v = json_object_get(root, "return"))) {
        m.kind = QMP_MSG_RETURN;
        m.ret = v;
    } else if ((v = json_object_get(root, "error"))) {
        json_t *cls = json_object_get(v, "class"), *desc = json_object_get(v, "desc");
        if (!json_is_object(v) || !json_is_string(cls) || !json_is_string(desc)) {
            herr_set(e, -EBADMSG, "qmp error lacks string 'class' and 'desc'");
            goto out_bad;
        }
        m.kind = QMP_MSG_ERROR;
        m.err_class = json_string_value(cls);
        m.err_desc = json_string_value(desc);
    } else if ((v = json_object_get(root, "event"))) {
        json_t *data = json_object_get(root, "data");
        if (!json_is_string(v) || json_string_length(v) == 0) {
            herr_set(e, -EBADMSG, "qmp event name is not a non-empty string");
            goto out_bad;
        }
        if (data && !json_is_object(data)) {
            herr_set(e, -EBADMSG, "qmp event '%s' data is not an object", json_string_value(v));
            goto out_bad;
        }
        m.kind = QMP_MSG_EVENT;
        m.event = json_string_value(v);
        m.data = data;
    } else {
        herr_set(e, -EBADMSG, "qmp message has no QMP, return, error or event member");
        goto out_bad;
    }
    *ret = m;
    return 0;
out_bad:
    json_decref(root);
    return -EBADMSG;
}

void qmp_msg_release(struct qmp_msg *m)
{
    json_decref(m->root);
    *m = (struct qmp_msg){ 0 };
}

static void qmp_handle_line(struct qmp_client *c, const char *line, size_t len)
{
    struct qmp_msg m;
    if (qmp_parse_message(line, len, &m, NULL) < 0) {
        c->bad_lines++;
        return;
    }
    switch (m.kind) {
    case QMP_MSG_GREETING:
        c->got_greeting = true;
        break;
    case QMP_MSG_EVENT:
        if (c->on_event)
            c->on_event(c->userdata, m.event, m.data);
        break;
    case QMP_MSG_RETURN:
    case QMP_MSG_ERROR:
        if (c->on_reply && m.has_id && m.id == c->async_id) {
            qmp_reply_fn fn = c->on_reply;
            c->on_reply = NULL;
            fn(c->reply_ud, &m);
            break;
        }
        /* A reply to nothing we wait for (a cancelled command's) is dropped. */
        break;
    }
    qmp_msg_release(&m);
}

int qmp_client_on_readable(struct qmp_client *c)
{
    for (;;) {
        int r;
        uint8_t *p = buf_reserve(&c->in, 65536 < c->in.max - c->in.len ? 65536
                                          : c->in.max - c->in.len, &r);
        if (!p || c->in.max == c->in.len)
            return p ? -EMSGSIZE : r;
        size_t room = c->in.max - c->in.len < 65536 ? c->in.max - c->in.len : 65536;
        ssize_t n = read(c->fd, p, room);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return errno == ECONNRESET ? -ECONNRESET : -errno;
        }
        if (n == 0)
            return -ECONNRESET;
        buf_commit(&c->in, (size_t)n);
        size_t start = 0;
        for (;;) {
            uint8_t *nl = memchr(c->in.data + start, '\n', c->in.len - start);
            if (!nl)
                break;
            size_t len = (size_t)(nl - (c->in.data + start));
            if (!c->discarding)
                qmp_handle_line(c, (const char *)c->in.data + start, len);
            c->discarding = false;
            start += len + 1;
        }
        buf_consume(&c->in, start);
        if (c->in.len >= c->in.max) {
            /* an oversized line: drop it up to its newline */
            c->bad_lines++;
            c->discarding = true;
            c->in.len = 0;
        }
    }
}

uint64_t qmp_client_bad_lines(const struct qmp_client *c)
{
    return c->bad_lines;
}

int qmp_client_fd(const struct qmp_client *c)
{
    return c->fd;
}

int qmp_client_new(int fd, qmp_event_fn on_event, void *userdata, struct qmp_client **ret)
{
    struct qmp_client *c = usock_client_alloc(fd, sizeof(*c)); /* reads never block the loop */
    if (!c)
        return -ENOMEM;
    c->fd = fd;
    c->next_id = 1;
    c->on_event = on_event;
    c->userdata = userdata;
    buf_init(&c->in, QMP_MAX_LINE + 1);
    buf_init(&c->out, QMP_MAX_LINE);
    *ret = c;
    return 0;
}

bool qmp_client_greeted(const struct qmp_client *c)
{
    return c->got_greeting;
}

bool qmp_client_want_write(const struct qmp_client *c)
{
    return c->out.len > 0;
}

int qmp_client_on_writable(struct qmp_client *c)
{
    return usock_send_queued(c->fd, &c->out);
}

int qmp_client_send(struct qmp_client *c, const char *cmd, json_t *args, qmp_reply_fn on_reply,
                    void *ud)
{
    if (c->on_reply)
        return -EBUSY;
    int64_t id = c->next_id++;
    json_t *req = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
    if (!req)
        return -ENOMEM;
    if (args && json_object_set(req, "arguments", args) < 0) {
        json_decref(req);
        return -ENOMEM;
    }
    char *s = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!s)
        return -ENOMEM;
    int r = buf_append(&c->out, s, strlen(s));
    if (r == 0)
        r = buf_append(&c->out, "\n", 1);
    free(s);
    if (r < 0)
        return r;
    c->on_reply = on_reply;
    c->reply_ud = ud;
    c->async_id = id;
    return qmp_client_on_writable(c);
}

void qmp_client_cancel_reply(struct qmp_client *c)
{
    c->on_reply = NULL;
}

void qmp_client_free(struct qmp_client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    buf_release(&c->in);
    buf_release(&c->out);
    free(c);
}

void qmp_version_string(json_t *ret, char *out, size_t len)
{
    json_t *v = json_object_get(ret, "qemu");
    const char *pkg = json_string_value(json_object_get(ret, "package"));
    snprintf(out, len, "%lld.%lld.%lld%s%s",
             (long long)json_integer_value(json_object_get(v, "major")),
             (long long)json_integer_value(json_object_get(v, "minor")),
             (long long)json_integer_value(json_object_get(v, "micro")), pkg && *pkg ? " " : "",
             pkg ? pkg : "");
}

enum qmp_migration qmp_migration_state(json_t *ret, const char **ret_status,
                                       const char **ret_why)
{
    const char *st = json_string_value(json_object_get(ret, "status"));
    if (ret_status)
        *ret_status = st ? st : "(none)";
    if (ret_why)
        *ret_why = json_string_value(json_object_get(ret, "error-desc"));
    if (st && strcmp(st, "completed") == 0)
        return QMP_MIGRATION_COMPLETED;
    if (st && (strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0))
        return QMP_MIGRATION_FAILED;
    return QMP_MIGRATION_ACTIVE;
}
