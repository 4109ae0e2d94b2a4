/* SPDX-License-Identifier: MIT */
/* channel.c: opens the byte stream to the host and tracks whether a host is there. The virtio
 * port is found by name because vportNpM numbers follow device order. Knows nothing of frames.
 *
 * virtio-serial facts (checked in a microvm guest on Linux 6.1): while no host has the
 * chardev open, poll() on the port reports POLLHUP at once and read() returns 0, so the port
 * cannot be waited on while disconnected; POLLHUP clears when a host connects. */
#include "agent/channel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/unix_addr.h"

/* Finds /dev/<vportNpM> whose /sys/class/virtio-ports/<vportNpM>/name is the agent port. */
static int find_port(char *ret_path, size_t size)
{
    DIR *d = opendir("/sys/class/virtio-ports");
    if (!d)
        return -ENOENT;
    int r = -ENOENT;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX], name[64] = "";
        snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, name, sizeof(name) - 1);
        close(fd);
        if (n <= 0)
            continue;
        name[n] = 0;
        name[strcspn(name, "\n")] = 0;
        if (strcmp(name, CHANNEL_PORT_NAME) == 0) {
            snprintf(ret_path, size, "/dev/%s", e->d_name);
            r = 0;
            break;
        }
    }
    closedir(d);
    return r;
}

static int open_port(struct channel *ch, const char *path)
{
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    *ch = (struct channel){ .kind = CHANNEL_PORT, .fd = fd, .listen_fd = -1 };
    ch->connected = channel_port_connected(ch);
    return 0;
}

static int open_fd(struct channel *ch, const char *num)
{
    char *end;
    errno = 0;
    long v = strtol(num, &end, 10);
    if (errno || *end || end == num || v < 0 || v > INT_MAX)
        return -EINVAL;
    int fd = (int)v;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    *ch = (struct channel){ .kind = CHANNEL_FD, .fd = fd, .listen_fd = -1, .connected = true };
    return 0;
}

static int open_listen(struct channel *ch, const char *path)
{
    struct sockaddr_un sa;
    int fd = unix_stream_socket(path, &sa);
    if (fd < 0)
        return fd;
    int r;
    (void)unlink(path); /* a stale socket from an earlier run; absence is fine */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
        r = -errno;
        goto out_close;
    }
    *ch = (struct channel){ .kind = CHANNEL_LISTEN, .fd = -1, .listen_fd = fd };
    return 0;
out_close:
    close(fd);
    return r;
}

int channel_open(struct channel *ch, const char *spec)
{
    if (!spec) {
        char path[PATH_MAX];
        int r = find_port(path, sizeof(path));
        if (r < 0)
            return r;
        return open_port(ch, path);
    }
    if (strncmp(spec, "fd:", 3) == 0)
        return open_fd(ch, spec + 3);
    if (spec[0] >= '0' && spec[0] <= '9')
        return open_fd(ch, spec);
    if (strncmp(spec, "listen:", 7) == 0)
        return open_listen(ch, spec + 7);
    return open_port(ch, spec);
}

bool channel_port_connected(struct channel *ch)
{
    if (ch->kind != CHANNEL_PORT)
        return ch->connected;
    struct pollfd p = { .fd = ch->fd, .events = POLLIN };
    if (poll(&p, 1, 0) < 0)
        return ch->connected;
    return !(p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

int channel_accept(struct channel *ch)
{
    int fd = accept4(ch->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    ch->fd = fd;
    ch->connected = true;
    return 0;
}

void channel_disconnect(struct channel *ch)
{
    ch->connected = false;
    if (ch->kind != CHANNEL_PORT && ch->fd >= 0) {
        close(ch->fd);
        ch->fd = -1;
    }
}

void channel_close(struct channel *ch)
{
    if (ch->fd >= 0)
        close(ch->fd);
    if (ch->listen_fd >= 0)
        close(ch->listen_fd);
    ch->fd = ch->listen_fd = -1;
    ch->connected = false;
}
