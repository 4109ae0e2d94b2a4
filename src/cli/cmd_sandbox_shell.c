/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_shell.c: `hearth sb shell <sb>` (docs/cli.md §7.2): a terminal in the sandbox
 * through the upgrade of docs/api.md §3.12.1. The local terminal goes raw (restored on every
 * way out), its size is sent first and again on SIGWINCH, keystrokes go as input frames and
 * the shell's output is written as it comes. The protocol does not carry the shell's exit
 * status: a session the server ended exits 0, a lost connection 1. --ssh (or -i, -u) takes the
 * guest-sshd path of ssh_guest.c instead, the same as `sb ssh --tunnel`. */
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/rawterm.h"
#include "cli/ssh_guest.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHELL_CHUNK 4096

const struct cli_opt cmd_sandbox_shell_opts[] = {
    CLI_BOOL("ssh", "log in with the system ssh to the guest's own sshd through a tunnel "
                    "(started when not running; needs an image with sshd such as devbox:1)"),
    { "identity", 'i', CLI_OPT_VALUE, NULL, NULL, "<path>",
      "private key for --ssh (implies it; default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa)" },
    { "user", 'u', CLI_OPT_VALUE, NULL, NULL, "<name>",
      "the user to log in as with --ssh (implies it; default root)" },
    CLI_OPT_END,
};

static int send_frame(hearth_conn *k, uint8_t type, const void *p, uint32_t len)
{
    uint8_t head[5];
    hearth_shell_frame_head(head, type, len);
    int r = hearth_conn_send_all(k, head, sizeof(head));
    return r < 0 || len == 0 ? r : hearth_conn_send_all(k, p, len);
}

/* The terminal's size as a resize frame (rawterm_size(): 24x80 when there is no terminal). */
static int send_size(hearth_conn *k)
{
    int rows, cols;
    rawterm_size(&rows, &cols);
    uint8_t p[4] = { (uint8_t)(rows >> 8), (uint8_t)rows, (uint8_t)(cols >> 8), (uint8_t)cols };
    return send_frame(k, HEARTH_SHELL_RESIZE, p, sizeof(p));
}

/* Writes all of p to stdout (blocking). */
static int out_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = { .fd = STDOUT_FILENO, .events = POLLOUT };
            (void)poll(&pf, 1, -1);
            continue;
        }
        if (w <= 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Runs the session: 0 when the server ended it, -errno when the connection failed. */
static int session(hearth_conn *k, int winch_fd)
{
    char buf[SHELL_CHUNK];
    bool in_eof = false;
    if (send_size(k) < 0)
        return -EPIPE;
    for (;;) {
        struct pollfd p[3] = {
            { .fd = hearth_conn_fd(k), .events = POLLIN },
            { .fd = in_eof ? -1 : STDIN_FILENO, .events = POLLIN },
            { .fd = winch_fd, .events = POLLIN },
        };
        if (!hearth_conn_buffered(k) && poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (p[0].revents || hearth_conn_buffered(k)) {
            long n = hearth_conn_recv(k, buf, sizeof(buf));
            if (n == 0)
                return 0; /* the shell exited: the server closed (§3.12.1) */
            if (n < 0 && n != -EAGAIN)
                return (int)n;
            if (n > 0 && out_all(buf, (size_t)n) < 0)
                return -EIO;
        }
        if (p[1].revents) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n > 0 && send_frame(k, HEARTH_SHELL_INPUT, buf, (uint32_t)n) < 0)
                return -EPIPE;
            if (n == 0)
                in_eof = true; /* piped input ended: keep showing output until the end */
        }
        if (p[2].revents) {
            rawterm_winch_drain();
            if (send_size(k) < 0)
                return -EPIPE;
        }
    }
}

int cmd_sandbox_shell(struct cli *cli, int argc, char **argv)
{
    const char *identity = cli_value(&cli->args, "identity");
    const char *user = cli_value(&cli->args, "user");
    if (cli_flag(&cli->args, "ssh") || identity || user) {
        if (cli->args.dashdash > 1)
            return cli_usage_error(cli, "unexpected argument '%.60s' before '--'", argv[1]);
        return cli_ssh_guest(cli, argv[0], identity, user, argc - 1, argv + 1);
    }
    if (argc > 1)
        return cli_usage_error(cli, "a command after '--' needs --ssh (or use `hearth sb exec`)");
    hearth_obj *sb = NULL;
    int r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        return r;
    hearth_conn *k = NULL;
    struct hearth_error e;
    int rc = hearth_shell_open(cli->client, hearth_obj_str(sb, "id"), &k, &e);
    hearth_obj_free(sb);
    if (rc != HEARTH_OK)
        return cli_fail(cli, &e);
    int winch_fd = rawterm_winch_open();
    if (winch_fd < 0) {
        hearth_conn_close(k);
        return cli_error(cli, CLI_EXIT_FAIL, "cannot create a pipe: %s", strerror(-winch_fd));
    }
    signal(SIGPIPE, SIG_IGN);
    (void)rawterm_enter();
    r = session(k, winch_fd);
    rawterm_leave();
    rawterm_winch_close();
    hearth_conn_close(k);
    if (r < 0)
        return cli_error(cli, CLI_EXIT_FAIL, "the shell's connection was lost: %s",
                         strerror(-r));
    return CLI_EXIT_OK;
}
