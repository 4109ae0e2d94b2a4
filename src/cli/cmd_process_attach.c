/* SPDX-License-Identifier: MIT */
/* cmd_process_attach.c: following a managed process (proc_attach.h). The connect call blocks
 * in libhearth, so a second thread with its own client forwards stdin and SIGWINCH; the main
 * client's progress callback (at least once a second) notices a detach. */
#include "cli/proc_attach.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/rawterm.h"

#define DETACH_KEY 0x1d /* Ctrl-] */

struct attach {
    struct cli *cli;
    const char *id, *pid;
    bool pty, raw_json, forward;
    hearth_client *input_client;    /* the thread's own: a client is not shared */
    volatile bool detach, done;
    int exit_code;
    bool have_exit;
    int stop_pipe[2];               /* wakes the thread at the end */
    int winch_fd;                   /* rawterm's SIGWINCH pipe, -1 when not a terminal */
};

static bool on_event(void *ud, const struct hearth_proc_event *ev)
{
    struct attach *a = ud;
    if (a->raw_json) {
        fwrite(ev->line, 1, ev->line_len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    switch (ev->kind) {
    case HEARTH_PROC_DATA:
        if (!a->raw_json) {
            FILE *to = strcmp(ev->stream, "stderr") == 0 ? stderr : stdout;
            fwrite(ev->data, 1, ev->len, to);
            fflush(to);
        }
        break;
    case HEARTH_PROC_EXIT:
        a->exit_code = ev->exit_code;
        a->have_exit = true;
        break;
    case HEARTH_PROC_GAP:
    case HEARTH_PROC_ERROR:
        if (!a->raw_json)
            fprintf(stderr, "\r\nhearth: %s\r\n", ev->message ? ev->message : "stream error");
        break;
    default:
        break;
    }
    return !a->detach;
}

static bool on_progress(void *ud)
{
    struct attach *a = ud;
    return !a->detach;
}

static void send_resize(struct attach *a)
{
    int rows, cols;
    rawterm_size(&rows, &cols);
    struct hearth_error e;
    if (hearth_process_resize(a->input_client, a->id, a->pid, rows, cols, &e) != HEARTH_OK)
        return; /* not a terminal, or gone: the next event says so */
}

/* Forwards stdin (and SIGWINCH) until EOF, a detach or the end. */
static void *input_thread(void *arg)
{
    struct attach *a = arg;
    bool stdin_open = a->forward;
    for (;;) {
        struct pollfd p[3] = { { .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
                               { .fd = a->winch_fd, .events = POLLIN },
                               { .fd = a->stop_pipe[0], .events = POLLIN } };
        if (poll(p, 3, -1) < 0 && errno != EINTR)
            break;
        if (p[2].revents)
            break;
        if (p[1].revents & POLLIN) {
            rawterm_winch_drain();
            send_resize(a);
        }
        if (!(p[0].revents & (POLLIN | POLLHUP)))
            continue;
        char buf[16384];
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n <= 0) {
            stdin_open = false;
            struct hearth_error e;
            if (!a->pty)
                if (hearth_process_close_stdin(a->input_client, a->id, a->pid, &e) != HEARTH_OK)
                    continue; /* it exited meanwhile: nothing to close */
            continue;
        }
        size_t len = (size_t)n;
        char *k = a->pty ? memchr(buf, DETACH_KEY, len) : NULL;
        if (k)
            len = (size_t)(k - buf);
        struct hearth_error e;
        if (len && hearth_process_input(a->input_client, a->id, a->pid, buf, len, NULL, &e) !=
                       HEARTH_OK)
            stdin_open = false; /* exited or stdin closed: the output side ends on its own */
        if (k) {
            a->detach = true;
            break;
        }
    }
    return NULL;
}

int cli_proc_exit_status(int exit_code)
{
    if (exit_code < 0)
        return 0;
    return exit_code <= 255 ? exit_code : CLI_EXIT_EXEC_LOST;
}

int cli_proc_attach(struct cli *cli, const char *id, const char *pid, bool pty, int64_t after,
                    bool follow, bool forward_stdin, bool raw, int *ret_exit_code)
{
    if (ret_exit_code)
        *ret_exit_code = -1;
    struct attach a = { .cli = cli, .id = id, .pid = pid, .pty = pty, .raw_json = raw,
                        .forward = forward_stdin, .exit_code = -1,
                        .stop_pipe = { -1, -1 }, .winch_fd = -1 };
    bool tty_in = isatty(STDIN_FILENO);
    bool raw_term = false;
    pthread_t th;
    bool thread = false;
    if ((forward_stdin || (pty && tty_in)) && follow) {
        a.input_client = hearth_client_new(cli->settings.api_url, cli->settings.api_key);
        if (!a.input_client || pipe(a.stop_pipe) < 0 ||
            (pty && tty_in && (a.winch_fd = rawterm_winch_open()) < 0))
            return cli_error(cli, CLI_EXIT_FAIL, "cannot set up the input side");
        if (pty && tty_in)
            send_resize(&a); /* the local size wins over the one it started with */
        raw_term = pty && tty_in && forward_stdin && !raw && rawterm_enter();
        if (raw_term)
            fprintf(stderr, "hearth: attached to %s; Ctrl-] detaches\r\n", pid);
        thread = pthread_create(&th, NULL, input_thread, &a) == 0;
    }
    hearth_client_set_progress(cli->client, on_progress, &a);
    struct hearth_error e;
    int code = -1;
    int rc = hearth_process_connect(cli->client, id, pid, after, follow, on_event, &a, &code, &e);
    hearth_client_set_progress(cli->client, NULL, NULL);
    if (thread) {
        char c = 1;
        (void)!write(a.stop_pipe[1], &c, 1);
        pthread_join(th, NULL);
    }
    if (raw_term)
        rawterm_leave();
    if (a.input_client) {
        rawterm_winch_close();
        hearth_client_free(a.input_client);
        close(a.stop_pipe[0]);
        close(a.stop_pipe[1]);
    }
    if (a.detach) {
        fprintf(stderr, "\r\nhearth: detached; %s keeps running (hearth sb attach)\n", pid);
        return 0;
    }
    if (rc != HEARTH_OK)
        return cli_fail(cli, &e);
    if (ret_exit_code && a.have_exit)
        *ret_exit_code = a.exit_code < 0 ? 256 : a.exit_code; /* -1: lost, reported as 255 */
    return 0;
}
