/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_tunnel.c: `hearth sb tunnel <sb> --remote <port> [--local [addr:]port] [--bind
 * addr] [--stdio]`, also `hearth sb tunnel <sb> <port>` (docs/cli.md §7.2): listens locally and
 * opens one upgrade (docs/api.md §3.12.2) per accepted connection, in a child of its own, until
 * Ctrl-C; --stdio carries one connection over stdin and stdout (ssh's ProxyCommand). */
#include "cli/commands.h"
#include "cli/output.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/values.h"

#define TUN_BUF (64u * 1024u)

const struct cli_opt cmd_sandbox_tunnel_opts[] = {
    CLI_VALUE("remote", "<port>", "the port inside the sandbox (1-65535)"),
    CLI_VALUE("local", "[<addr>:]<port>", "the local port to listen on (default: the remote port)"),
    CLI_VALUE("bind", "<addr>", "the local address to listen on (default 127.0.0.1)"),
    CLI_BOOL("stdio", "carry one connection over stdin and stdout (for ssh's ProxyCommand)"),
    CLI_OPT_END,
};

/* One direction's bytes between a read and the write that takes them. */
struct half {
    char buf[TUN_BUF];
    size_t len, off;
    bool eof;      /* the source ended ... */
    bool shut;     /* ... and the sink was told, after the last byte */
};

static void nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Moves bytes between the local in/out fds and the upgraded connection until both directions
 * ended or one side failed. 0, or -errno. */
static int pipe_conn(hearth_conn *k, int in_fd, int out_fd)
{
    static struct half up, down; /* up: local -> sandbox; one connection per process */
    memset(&up, 0, sizeof(up));
    memset(&down, 0, sizeof(down));
    int kfd = hearth_conn_fd(k);
    nonblock(in_fd);
    nonblock(out_fd);
    while (!(up.shut && down.shut)) {
        struct pollfd p[3] = { { .fd = -1 }, { .fd = -1 }, { .fd = kfd } };
        if (!up.eof && up.len == 0)
            p[0] = (struct pollfd){ .fd = in_fd, .events = POLLIN };
        if (down.len > down.off)
            p[1] = (struct pollfd){ .fd = out_fd, .events = POLLOUT };
        p[2].events = (short)((!down.eof && down.len == 0 ? POLLIN : 0) |
                              (up.len > up.off ? POLLOUT : 0));
        if (!(hearth_conn_buffered(k) && !down.eof && down.len == 0) && poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        /* local -> sandbox */
        if (p[0].revents) {
            ssize_t n = read(in_fd, up.buf, sizeof(up.buf));
            if (n > 0)
                up.len = (size_t)n, up.off = 0;
            else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                up.eof = true;
        }
        if (up.len > up.off) {
            long n = hearth_conn_send(k, up.buf + up.off, up.len - up.off);
            if (n < 0 && n != -EAGAIN)
                return (int)n;
            if (n > 0 && (up.off += (size_t)n) == up.len)
                up.len = up.off = 0;
        }
        if (up.eof && up.len == 0 && !up.shut) {
            up.shut = true;
            (void)hearth_conn_shutdown_write(k);
        }
        /* sandbox -> local */
        if (!down.eof && down.len == 0 && (p[2].revents || hearth_conn_buffered(k))) {
            long n = hearth_conn_recv(k, down.buf, sizeof(down.buf));
            if (n > 0)
                down.len = (size_t)n, down.off = 0;
            else if (n == 0)
                down.eof = true;
            else if (n != -EAGAIN)
                return (int)n;
        }
        if (down.len > down.off) {
            ssize_t n = write(out_fd, down.buf + down.off, down.len - down.off);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return -errno;
            if (n > 0 && (down.off += (size_t)n) == down.len)
                down.len = down.off = 0;
        }
        if (down.eof && down.len == 0 && !down.shut) {
            down.shut = true;
            if (out_fd != STDOUT_FILENO)
                (void)shutdown(out_fd, SHUT_WR);
            else
                close(out_fd);
        }
    }
    return 0;
}

/* Opens the upgrade and reports a refusal (a closed port: 502 port_unreachable) clearly. */
static hearth_conn *open_remote(struct cli *cli, const char *id, const char *name,
                                unsigned port, const char *peer)
{
    hearth_conn *k = NULL;
    struct hearth_error e;
    if (hearth_tunnel_open(cli->client, id, port, &k, &e) == HEARTH_OK)
        return k;
    if (strcmp(e.api_code, "port_unreachable") == 0)
        fprintf(stderr, "hearth: %s%sport %u in %s is not reachable (nothing listens there?)\n",
                peer ? peer : "", peer ? ": " : "", port, name);
    else
        cli_fail(cli, &e);
    return NULL;
}

/* "[addr:]port" into addr (unchanged when absent) and port. */
static int parse_local(const char *s, char *addr, size_t addr_len, unsigned *port)
{
    const char *colon = strrchr(s, ':');
    int64_t v;
    if (colon) {
        size_t n = (size_t)(colon - s);
        if (n == 0 || n >= addr_len)
            return -EINVAL;
        memcpy(addr, s, n);
        addr[n] = 0;
        if (addr[0] == '[' && addr[n - 1] == ']') { /* [::1]:8080 */
            memmove(addr, addr + 1, n - 2);
            addr[n - 2] = 0;
        }
        s = colon + 1;
    }
    if (cli_parse_count(s, 65535, &v) < 0 || v < 1)
        return -EINVAL;
    *port = (unsigned)v;
    return 0;
}

static int listen_on(const char *addr, unsigned port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char ps[8];
    snprintf(ps, sizeof(ps), "%u", port);
    int r = getaddrinfo(addr, ps, &hints, &res);
    if (r != 0)
        return -EADDRNOTAVAIL;
    int fd = -1, err = -EADDRNOTAVAIL;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
                        bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, 64) < 0)) {
            err = -errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd >= 0 ? fd : err;
}

int cmd_sandbox_tunnel(struct cli *cli, int argc, char **argv)
{
    const char *remote = cli_value(&cli->args, "remote");
    const char *local = cli_value(&cli->args, "local");
    const char *bind_addr = cli_value(&cli->args, "bind");
    bool stdio = cli_flag(&cli->args, "stdio");
    if (argc > 2)
        return cli_usage_error(cli, "unexpected argument '%.60s'", argv[2]);
    if (argc == 2 && remote)
        return cli_usage_error(cli, "give the remote port once: as an argument or --remote");
    if (argc == 2)
        remote = argv[1]; /* hearth sb tunnel <sb> <port> */
    int64_t rport;
    if (!remote)
        return cli_usage_error(cli, "missing --remote <port>");
    if (cli_parse_count(remote, 65535, &rport) < 0 || rport < 1)
        return cli_usage_error(cli, "--remote must be a port from 1 to 65535");
    char addr[256] = "127.0.0.1";
    unsigned lport = (unsigned)rport;
    if (bind_addr)
        snprintf(addr, sizeof(addr), "%s", bind_addr);
    if (local && parse_local(local, addr, sizeof(addr), &lport) < 0)
        return cli_usage_error(cli, "--local must be [<addr>:]<port> with a port from 1 to 65535");
    if (stdio && (local || bind_addr))
        return cli_usage_error(cli, "--stdio excludes --local and --bind");

    hearth_obj *sb = NULL;
    int r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        return r;
    char id[128], name[128];
    snprintf(id, sizeof(id), "%s", hearth_obj_str(sb, "id"));
    snprintf(name, sizeof(name), "%s",
             hearth_obj_str(sb, "name") ? hearth_obj_str(sb, "name") : id);
    hearth_obj_free(sb);

    if (stdio) {
        hearth_conn *k = open_remote(cli, id, name, (unsigned)rport, NULL);
        if (!k)
            return CLI_EXIT_FAIL;
        r = pipe_conn(k, STDIN_FILENO, STDOUT_FILENO);
        hearth_conn_close(k);
        return r < 0 ? CLI_EXIT_FAIL : 0;
    }
    int lfd = listen_on(addr, lport);
    if (lfd < 0)
        return cli_error(cli, CLI_EXIT_FAIL, "cannot listen on %s:%u: %s", addr, lport,
                         strerror(-lfd));
    /* children are not waited for: each ends with its connection */
    struct sigaction sa = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "forwarding %s:%u \xe2\x86\x92 %s:%u (Ctrl-C to stop)\n", addr, lport, name,
            (unsigned)rport);
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int cfd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            return cli_error(cli, CLI_EXIT_FAIL, "accept failed: %s", strerror(errno));
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            char peer[80] = "";
            char host[64];
            if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), NULL, 0,
                            NI_NUMERICHOST) == 0)
                snprintf(peer, sizeof(peer), "connection from %s", host);
            hearth_conn *k = open_remote(cli, id, name, (unsigned)rport, peer);
            if (!k)
                _exit(1);
            int pr = pipe_conn(k, cfd, cfd);
            hearth_conn_close(k);
            close(cfd);
            _exit(pr < 0 ? 1 : 0);
        }
        if (pid < 0)
            fprintf(stderr, "hearth: cannot start a connection: %s\n", strerror(errno));
        close(cfd);
    }
}
