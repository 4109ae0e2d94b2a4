/* SPDX-License-Identifier: MIT */
/* channel.h: the byte stream to the host. In the guest it is the virtio-serial port named
 * "hearth.agent"; for tests on the host it can be an inherited fd or a listening Unix socket.
 * The channel only opens, accepts and tracks connection state; framing lives in wire.c and
 * the protocol in proto.c. */
#pragma once

#include <stdbool.h>

#define CHANNEL_PORT_NAME "hearth.agent"

enum channel_kind {
    CHANNEL_PORT,   /* virtio-serial port: the fd stays open, the host comes and goes */
    CHANNEL_FD,     /* an inherited socket or pipe: its end is the end of the agent */
    CHANNEL_LISTEN, /* a Unix socket we listen on: one host at a time, reconnects accepted */
};

struct channel {
    enum channel_kind kind;
    int fd;          /* the byte stream, -1 when none (listen mode between hosts) */
    int listen_fd;   /* CHANNEL_LISTEN only, else -1 */
    bool connected;  /* a host is there: bytes can flow */
};

/* Opens the channel described by spec, or the virtio port found by name when spec is NULL:
 *   "fd:N" or "N"   an inherited fd (made O_NONBLOCK and O_CLOEXEC)
 *   "listen:PATH"   a Unix socket listening at PATH (a stale PATH is replaced)
 *   PATH            a character device, used like the virtio port
 * Returns 0, -ENOENT when the virtio port does not exist (yet), or another -errno. */
int channel_open(struct channel *ch, const char *spec);
/* For CHANNEL_PORT: polls the port without blocking and returns true when a host is connected
 * (POLLHUP clear). Other kinds: returns ch->connected. */
bool channel_port_connected(struct channel *ch);
/* CHANNEL_LISTEN: accepts a waiting host. Returns 0 (ch->fd set, connected), -EAGAIN or -errno. */
int channel_accept(struct channel *ch);
/* The host went away: CHANNEL_LISTEN closes the connection, CHANNEL_PORT keeps the fd,
 * CHANNEL_FD closes it. Sets connected to false. */
void channel_disconnect(struct channel *ch);
void channel_close(struct channel *ch);
