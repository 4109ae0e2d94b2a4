/* SPDX-License-Identifier: MIT */
/* wire.c: agent channel frame codec and resynchronising reader. Pure byte handling: no I/O, no
 * JSON, no knowledge of streams; hearth-agent and hearthd build their protocols on top. */
#include "common/wire.h"

#include <errno.h>
#include <string.h>

static const uint8_t wire_magic[4] = { 'h', 'r', 't', 'h' };

static const struct {
    uint16_t type;
    const char *name;
} wire_types[] = {
    { WIRE_HELLO, "hello" },         { WIRE_READY, "ready" },       { WIRE_PING, "ping" },
    { WIRE_PONG, "pong" },           { WIRE_ERROR, "error" },       { WIRE_WINDOW, "window" },
    { WIRE_CANCEL, "cancel" },       { WIRE_EXEC, "exec" },         { WIRE_STDIN, "stdin" },
    { WIRE_STDOUT, "stdout" },       { WIRE_STDERR, "stderr" },     { WIRE_EXIT, "exit" },
    { WIRE_SIGNAL, "signal" },       { WIRE_FILE_PUT, "file_put" }, { WIRE_FILE_GET, "file_get" },
    { WIRE_DATA, "data" },           { WIRE_FILE_INFO, "file_info" }, { WIRE_DONE, "done" },
    { WIRE_POWER, "power" },         { WIRE_NETCFG, "netcfg" },
    { WIRE_TCP_OPEN, "tcp_open" },   { WIRE_TCP_CONNECTED, "tcp_connected" },
};

const char *wire_type_to_string(uint16_t type)
{
    for (size_t i = 0; i < sizeof(wire_types) / sizeof(wire_types[0]); i++)
        if (wire_types[i].type == type)
            return wire_types[i].name;
    return "unknown";
}

bool wire_type_known(uint16_t type)
{
    for (size_t i = 0; i < sizeof(wire_types) / sizeof(wire_types[0]); i++)
        if (wire_types[i].type == type)
            return true;
    return false;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Bytes that can be dropped from p before a magic could start: the first offset >= 1 where the
 * remaining bytes are a prefix of the magic or contain it. */
static size_t skip_to_magic(const uint8_t *p, size_t len)
{
    for (size_t i = 1; i < len; i++) {
        size_t n = len - i < sizeof(wire_magic) ? len - i : sizeof(wire_magic);
        if (memcmp(p + i, wire_magic, n) == 0)
            return i;
    }
    return len ? len : 1;
}

int wire_parse(const uint8_t *p, size_t len, struct wire_frame *ret, size_t *ret_skip)
{
    size_t n = len < sizeof(wire_magic) ? len : sizeof(wire_magic);
    if (memcmp(p, wire_magic, n) != 0) {
        *ret_skip = skip_to_magic(p, len);
        return -EBADMSG;
    }
    if (len < WIRE_HEADER_SIZE)
        return -EAGAIN;
    uint32_t plen = get32(p + 12);
    uint16_t type = get16(p + 4);
    if (plen > WIRE_MAX_PAYLOAD || type == 0) {
        *ret_skip = skip_to_magic(p, len);
        return -EBADMSG;
    }
    if (len - WIRE_HEADER_SIZE < plen)
        return -EAGAIN;
    *ret = (struct wire_frame){
        .type = type,
        .flags = get16(p + 6),
        .stream = get32(p + 8),
        .len = plen,
        .payload = p + WIRE_HEADER_SIZE,
    };
    return (int)(WIRE_HEADER_SIZE + plen);
}

void wire_header_put(uint8_t out[WIRE_HEADER_SIZE], uint16_t type, uint16_t flags,
                     uint32_t stream, uint32_t len)
{
    memcpy(out, wire_magic, sizeof(wire_magic));
    put16(out + 4, type);
    put16(out + 6, flags);
    put32(out + 8, stream);
    put32(out + 12, len);
}

int wire_append(struct buf *out, uint16_t type, uint16_t flags, uint32_t stream,
                const void *payload, size_t len)
{
    if (len > WIRE_MAX_PAYLOAD)
        return -EMSGSIZE;
    int r;
    uint8_t *p = buf_reserve(out, WIRE_HEADER_SIZE + len, &r);
    if (!p)
        return r;
    wire_header_put(p, type, flags, stream, (uint32_t)len);
    if (len)
        memcpy(p + WIRE_HEADER_SIZE, payload, len);
    buf_commit(out, WIRE_HEADER_SIZE + len);
    return 0;
}

int wire_append_window(struct buf *out, uint32_t stream, uint32_t credit)
{
    uint8_t p[4];
    put32(p, credit);
    return wire_append(out, WIRE_WINDOW, 0, stream, p, sizeof(p));
}

int wire_window_credit(const struct wire_frame *f, uint32_t *ret_credit)
{
    if (f->len != 4)
        return -EBADMSG;
    *ret_credit = get32(f->payload);
    return 0;
}

void wire_reader_init(struct wire_reader *r)
{
    *r = (struct wire_reader){ 0 };
    /* one maximal frame, plus room for a large read behind it */
    buf_init(&r->in, WIRE_HEADER_SIZE + WIRE_MAX_PAYLOAD + 256u * 1024u);
}

void wire_reader_release(struct wire_reader *r)
{
    buf_release(&r->in);
}

void wire_reader_reset(struct wire_reader *r)
{
    r->in.len = 0;
    r->pending = 0;
}

static void wire_reader_drop_pending(struct wire_reader *r)
{
    buf_consume(&r->in, r->pending);
    r->pending = 0;
}

uint8_t *wire_reader_space(struct wire_reader *r, size_t n)
{
    wire_reader_drop_pending(r);
    return buf_reserve(&r->in, n, NULL);
}

void wire_reader_commit(struct wire_reader *r, size_t n)
{
    buf_commit(&r->in, n);
}

int wire_reader_next(struct wire_reader *r, struct wire_frame *ret)
{
    /* A frame handed out last time is dropped only now, so its payload stayed valid. */
    wire_reader_drop_pending(r);
    for (;;) {
        if (r->in.len == 0)
            return 0;
        size_t skip = 0;
        int n = wire_parse(r->in.data, r->in.len, ret, &skip);
        if (n == -EAGAIN)
            return 0;
        if (n == -EBADMSG) {
            r->resyncs++;
            r->skipped += skip;
            buf_consume(&r->in, skip);
            continue;
        }
        r->pending = (size_t)n;
        return 1;
    }
}
