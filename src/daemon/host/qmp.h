/* SPDX-License-Identifier: MIT */
/* qmp.h: QMP (QEMU Machine Protocol) client over a Unix socket, asynchronous only: the owner's
 * event loop calls qmp_client_on_readable()/_on_writable(). One command in flight at a time;
 * events (SHUTDOWN, STOP, RESUME, VSERPORT_CHANGE, ...) go to the owner's callback as they
 * arrive, including while a command waits for its reply. The line parser is
 * separate and pure so it is tested with hostile input. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct herr;

#define QMP_MAX_LINE (1024u * 1024u) /* a longer line is malformed */

enum qmp_msg_kind {
    QMP_MSG_GREETING, /* {"QMP":{...}} */
    QMP_MSG_RETURN,   /* {"return":..., "id":n} */
    QMP_MSG_ERROR,    /* {"error":{"class":"...","desc":"..."}, "id":n} */
    QMP_MSG_EVENT,    /* {"event":"NAME","data":{...},"timestamp":{...}} */
};

struct qmp_msg {
    enum qmp_msg_kind kind;
    json_t *root;            /* owned; release with qmp_msg_release() */
    json_t *ret;             /* RETURN: the "return" value, borrowed from root */
    const char *event;       /* EVENT: name, borrowed from root */
    json_t *data;            /* EVENT: "data" object or NULL, borrowed from root */
    const char *err_class;   /* ERROR: "class", borrowed from root */
    const char *err_desc;    /* ERROR: "desc", borrowed from root */
    bool has_id;             /* an integer "id" was present */
    int64_t id;              /* that id */
};

/* Parses one QMP line (without or with its trailing newline). Returns 0 and fills *ret, or
 * -EBADMSG with the reason in e for: length over QMP_MAX_LINE, an embedded NUL, invalid JSON,
 * duplicate keys, a non-object, no QMP/return/error/event member, an error without string
 * class and desc, an event without a string name or with a non-object data. Pure. */
__attribute__((warn_unused_result))
int qmp_parse_message(const char *line, size_t len, struct qmp_msg *ret, struct herr *e);
/* Frees what qmp_parse_message() filled; accepts a zeroed msg. */
void qmp_msg_release(struct qmp_msg *m);

/* Called for each event; event and data (may be NULL) are borrowed for the call only. */
typedef void (*qmp_event_fn)(void *userdata, const char *event, json_t *data);

struct qmp_client;

/* Closes the socket and frees the client; a pending on_reply is not called. NULL is fine. */
void qmp_client_free(struct qmp_client *c);

/* The socket, for an event loop: call qmp_client_on_readable() when it polls readable. */
int qmp_client_fd(const struct qmp_client *c);
/* Reads what is available and dispatches events. Returns 0, -ECONNRESET when QEMU closed the
 * socket (it exited), or -errno. Malformed lines are skipped and counted. */
int qmp_client_on_readable(struct qmp_client *c);
/* Lines skipped as malformed so far. */
uint64_t qmp_client_bad_lines(const struct qmp_client *c);

/* --- use from an event loop (host_local.c); nothing here waits --- */

/* Called with the reply (RETURN or ERROR; borrowed for the call) of qmp_client_send(). Not
 * called when the connection breaks or the client is freed first. */
typedef void (*qmp_reply_fn)(void *ud, const struct qmp_msg *reply);

/* Wraps a connected fd (takes ownership, even on failure; made non-blocking) without any I/O:
 * the greeting arrives through qmp_client_on_readable() (see qmp_client_greeted()). 0 or
 * -ENOMEM. */
__attribute__((warn_unused_result))
int qmp_client_new(int fd, qmp_event_fn on_event, void *userdata, struct qmp_client **ret);
/* True once QEMU's greeting was read. */
bool qmp_client_greeted(const struct qmp_client *c);
/* Queues cmd (args borrowed, may be NULL) and writes what the socket takes; on_reply runs
 * from a later qmp_client_on_readable(). One asynchronous command at a time: -EBUSY. 0,
 * -ENOMEM, -ECONNRESET or -errno. Never waits. */
__attribute__((warn_unused_result))
int qmp_client_send(struct qmp_client *c, const char *cmd, json_t *args, qmp_reply_fn on_reply,
                    void *ud);
/* Forgets the pending on_reply (its owner goes away); the reply is then dropped. */
void qmp_client_cancel_reply(struct qmp_client *c);
/* True while command bytes are queued: wait for the fd to be writable. */
bool qmp_client_want_write(const struct qmp_client *c);
/* Writes queued bytes. 0, -ECONNRESET or -errno. */
int qmp_client_on_writable(struct qmp_client *c);

/* Where a migration is, from a query-migrate reply's "return" value. */
enum qmp_migration {
    QMP_MIGRATION_ACTIVE,    /* anything but the two ends (setup, active, device, ...) */
    QMP_MIGRATION_COMPLETED,
    QMP_MIGRATION_FAILED,    /* "failed" or "cancelled" */
};
/* Reads ret: the state, with *ret_status the status string ("(none)" when absent) and *ret_why
 * QEMU's error-desc or NULL; both borrowed from ret (may be NULL). Pure. */
enum qmp_migration qmp_migration_state(json_t *ret, const char **ret_status,
                                       const char **ret_why);

/* Formats a query-version reply's "return" value as "7.2.11 Debian 1:7.2+dfsg-7+deb12u12"
 * (what a snapshot records: a restore needs the very same QEMU). NULL or odd input gives
 * "0.0.0". */
void qmp_version_string(json_t *ret, char *out, size_t len);
