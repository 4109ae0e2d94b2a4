/* SPDX-License-Identifier: MIT */
/* fuzz_agent_client.c: libFuzzer driver for the host side of the agent channel
 * (src/daemon/host/agent_client.c): the input is what a hostile guest's agent sends back. The
 * client sends HELLO and a PING and opens one stream of each kind (exec with stdin, file get, a
 * pushed file put, power, netcfg, exec without stdin: ids 1-6; a terminal exec with live stdin
 * and a resize, a process's attach, input and record: 7-10), then reads the input off a
 * socketpair in chunks of 1 to 4081 bytes (the first byte b picks 1 + 16 b). Callbacks hold
 * credit, fail, cancel their own stream or open a new one when a payload starts with 'H', 'X',
 * 'C' or 'N', so the re-entrant paths run too. 32 '#' in the input become this connection's session
 * (a READY that answers our HELLO). At the end the peer hangs up: every stream must have ended
 * exactly once, with an error and message that are valid UTF-8, and the client is freed.
 * Run: make fuzz FUZZ_TARGETS=agent_client (docs/testing.md "Fuzzing"). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/wire.h"
#include "daemon/host/agent_client.h"

#define MAX_STREAMS 64

struct run {
    struct agent_client *c;
    int opened, ended;
    uint32_t held_stream;         /* the last stream whose credit a callback held */
    size_t held;                  /* bytes held on it */
};

/* Each stream's ud, freed by its on_end: a second end would be a use after free. */
struct sctx {
    struct run *r;
    uint32_t id;
};

static const struct agent_stream_ops ops;

/* A stream's ud, counted as opened; NULL past MAX_STREAMS. */
static struct sctx *sctx_new(struct run *r)
{
    struct sctx *x = r->opened < MAX_STREAMS ? calloc(1, sizeof(*x)) : NULL;
    if (x) {
        x->r = r;
        r->opened++;
    }
    return x;
}

/* The start call refused: no on_end will come. */
static void sctx_refused(struct sctx *x)
{
    x->r->opened--;
    free(x);
}

static void open_exec(struct run *r, bool with_stdin)
{
    static const char *const argv[] = { "/bin/sh", "-c", "cat", NULL };
    static const char *const env[] = { "A=1", "PATH=/bin", NULL };
    static const char stdin_data[4096] = "stdin bytes";
    struct agent_exec_req req = { .argv = argv, .env = env, .cwd = "/root",
                                  .timeout_ms = 1000, .stdin_pipe = with_stdin,
                                  .stdin_data = stdin_data, .stdin_len = sizeof(stdin_data) };
    struct sctx *x = sctx_new(r);
    if (x && agent_exec_start(r->c, &req, &ops, x, &x->id) != 0)
        sctx_refused(x);
}

static int on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct sctx *x = ud;
    if (type != WIRE_STDOUT && type != WIRE_STDERR && type != WIRE_DATA &&
        type != WIRE_PROC_OUTPUT && type != WIRE_PROC_GAP)
        abort();
    /* the client checked a PROC_OUTPUT's header before handing it over */
    if (type == WIRE_PROC_OUTPUT && agent_proc_output_parse(p, len, NULL, NULL, NULL, NULL) < 0)
        abort();
    if (len == 0)
        return 0;
    switch (p[0]) {
    case 'H': /* keep the credit; given back after the read */
        x->r->held_stream = x->id;
        x->r->held += len;
        return AGENT_DATA_HOLD;
    case 'X':
        return -EIO;
    case 'C': /* the consumer drops its own stream from inside the callback (x is freed) */
        (void)agent_stream_cancel(x->r->c, x->id, true); /* a failure ends the stream too */
        return 0;
    case 'N':
        open_exec(x->r, true);
        return 0;
    default:
        return 0;
    }
}

/* Streams 7..10: a terminal with live stdin, a process's attach, input and record. */
static void open_interactive(struct run *r)
{
    struct agent_exec_req pty = { .pty = true, .rows = 24, .cols = 80 };
    uint32_t id;
    struct sctx *x = sctx_new(r);
    if (x && agent_exec_start(r->c, &pty, &ops, x, &id) != 0) {
        sctx_refused(x);
    } else if (x) {
        x->id = id;
        if (agent_stream_write(r->c, id, "ls\n", 3) != 3 || agent_stream_resize(r->c, id, 40, 100))
            abort();
    }
    if ((x = sctx_new(r)) && agent_proc_call(r->c, WIRE_PROC_ATTACH,
                                             "{\"id\":\"p\",\"after\":0}", &ops, x, &x->id))
        sctx_refused(x);
    if ((x = sctx_new(r)) &&
        agent_proc_call(r->c, WIRE_PROC_INPUT, "{\"id\":\"p\",\"size\":2}", &ops, x, &id)) {
        sctx_refused(x);
    } else if (x) {
        x->id = id;
        if (agent_stream_write(r->c, id, "hi", 2) != 2 || agent_stream_finish(r->c, id) < 0)
            abort();
    }
    if ((x = sctx_new(r)) &&
        agent_proc_call(r->c, WIRE_PROC_GET, "{\"id\":\"p\"}", &ops, x, &x->id))
        sctx_refused(x);
}

static void on_info(void *ud, uint64_t size, uint32_t mode)
{
    if (mode > 07777777)
        abort();
}

static void on_end(void *ud, const struct agent_end *end)
{
    struct sctx *x = ud;
    struct run *r = x->r;
    free(x);
    r->ended++;
    if (r->ended > r->opened || !memchr(end->error, '\0', sizeof(end->error)) ||
        !memchr(end->message, '\0', sizeof(end->message)))
        abort();
    if (end->kind == AGENT_END_EXIT && (end->exit_code < -1 || end->exit_code > 255))
        abort();
    /* DONE and EXIT carry their JSON text, NUL-terminated; the others none */
    bool text_expected = end->kind == AGENT_END_DONE || end->kind == AGENT_END_EXIT;
    if (text_expected != (end->json != NULL) || (end->json && strlen(end->json) > (1u << 20)))
        abort();
    /* the error and message reach API answers and log lines as JSON text: valid UTF-8 */
    json_t *text = json_pack("{s:s,s:s}", "error", end->error, "message", end->message);
    if (!text)
        abort();
    json_decref(text);
    /* a callback may open a stream (the contract says so) */
    if (end->kind == AGENT_END_EXIT && end->exit_code == 7)
        open_exec(r, false);
}

static const struct agent_stream_ops ops = { .on_data = on_data, .on_info = on_info,
                                             .on_end = on_end };

/* Drops what the client sent (its WINDOW, PONG, CANCEL and data frames). */
static void drain(int fd)
{
    char scratch[65536];
    while (read(fd, scratch, sizeof(scratch)) > 0)
        ;
}

static void open_all(struct run *r)
{
    open_exec(r, true);
    struct sctx *x = sctx_new(r);
    if (x && agent_file_get_start(r->c, "/etc/hostname", &ops, x, &x->id) != 0)
        sctx_refused(x);
    uint32_t put;
    if ((x = sctx_new(r)) && agent_file_put_push_start(r->c, "/tmp/up", 0644, &ops, x, &put) != 0)
        sctx_refused(x);
    else if (x) {
        static const char bytes[8192] = "upload"; /* x stays untouched: a put gets no data */
        if (agent_stream_write(r->c, put, bytes, sizeof(bytes)) < 0 ||
            agent_stream_finish(r->c, put) < 0)
            abort();
    }
    if ((x = sctx_new(r)) && agent_power_start(r->c, "reboot", &ops, x, &x->id) != 0)
        sctx_refused(x);
    if ((x = sctx_new(r)) &&
        agent_netcfg_start(r->c, "{\"mac\":\"02:00:00:00:00:01\"}", &ops, x, &x->id) != 0)
        sctx_refused(x);
    open_exec(r, false);
    open_interactive(r);
}

/* The session marker: 32 '#' become the client's session, so a READY can answer our HELLO. */
static void put_session(uint8_t *p, size_t len, const char *session)
{
    static const char marker[] = "################################";
    for (size_t i = 0; i + 32 <= len; i++)
        if (memcmp(p + i, marker, 32) == 0)
            memcpy(p + i, session, 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        signal(SIGPIPE, SIG_IGN); /* as hearthd does */
        once = true;
    }
    if (size == 0)
        return 0;
    size_t step = 1 + 16 * (size_t)data[0]; /* 1 byte at a time is fuzz_wire's business */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    (void)fcntl(sv[1], F_SETFL, O_NONBLOCK);
    struct run r = { 0 };
    if (agent_client_new(sv[0], &r.c) < 0)
        abort();
    uint8_t *in = malloc(size - 1 ? size - 1 : 1);
    if (!in)
        abort();
    memcpy(in, data + 1, size - 1);
    put_session(in, size - 1, agent_client_session(r.c));
    if (agent_client_hello(r.c) < 0 || agent_client_ping_send(r.c) < 0)
        abort();
    open_all(&r);
    int rc = 0;
    for (size_t off = 0; off < size - 1 && rc == 0; off += step) {
        size_t n = size - 1 - off < step ? size - 1 - off : step;
        if (write(sv[1], in + off, n) != (ssize_t)n)
            abort(); /* the socket buffer holds far more than one input */
        rc = agent_client_on_readable(r.c);
        if (rc == 0 && r.held) {
            (void)agent_stream_consumed(r.c, r.held_stream, r.held); /* may have ended */
            r.held = 0;
        }
        drain(sv[1]);
    }
    if (rc == 0) {
        close(sv[1]);
        sv[1] = -1;
        rc = agent_client_on_readable(r.c);
        if (rc != -ECONNRESET && rc != -ENOBUFS && rc != -EPIPE)
            abort();
    }
    /* every stream ended, once: the connection is gone */
    if (agent_client_nstreams(r.c) != 0 || r.ended != r.opened)
        abort();
    (void)agent_client_ready(r.c);
    (void)agent_client_pong_seen(r.c);
    agent_client_free(r.c);
    if (sv[1] >= 0)
        close(sv[1]);
    free(in);
    return 0;
}
