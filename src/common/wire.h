/* SPDX-License-Identifier: MIT */
/* wire.h: framing of the hearth agent channel (docs/agent-protocol.md), shared by hearth-agent
 * and hearthd. A frame is a 16-byte little-endian header followed by len payload bytes:
 *
 *   0  4  magic "hrth"        8  4  stream id (0 = channel control)
 *   4  2  type (enum wire_type) 12 4  payload length (<= WIRE_MAX_PAYLOAD)
 *   6  2  flags (enum wire_flags)
 *
 * The channel is one byte stream that may carry garbage (a peer restarting mid-frame, a hostile
 * guest), so the parser reports a bad header with the number of bytes to skip to the next
 * candidate magic and the reader resynchronises there. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define WIRE_HEADER_SIZE 16u
#define WIRE_MAX_PAYLOAD (256u * 1024u)   /* any frame; larger is malformed */
#define WIRE_DATA_CHUNK (64u * 1024u)     /* what senders put in one data frame */
#define WIRE_INITIAL_WINDOW (1024u * 1024u) /* credit each direction of a stream starts with */
#define WIRE_VERSION 1

enum wire_type {
    WIRE_HELLO = 1,      /* host->agent, stream 0, JSON {"version"} */
    WIRE_READY = 2,      /* agent->host, stream 0, JSON {"version","agent","boot_id",...} */
    WIRE_PING = 3,       /* either; answered by PONG with the same stream and payload */
    WIRE_PONG = 4,
    WIRE_ERROR = 5,      /* either; JSON {"error":"ENOENT","message":...}; ends the stream */
    WIRE_WINDOW = 6,     /* either; 4-byte LE credit increment for the stream */
    WIRE_CANCEL = 7,     /* host->agent; abort the stream (kill its process group) */
    WIRE_EXEC = 16,      /* host->agent; opens a stream; JSON request */
    WIRE_STDIN = 17,     /* host->agent data; WIRE_F_EOF closes the child's stdin */
    WIRE_STDOUT = 18,    /* agent->host data */
    WIRE_STDERR = 19,    /* agent->host data */
    WIRE_EXIT = 20,      /* agent->host JSON {"exit_code"|"signal","timed_out"}; ends the stream */
    WIRE_SIGNAL = 21,    /* host->agent JSON {"signal":n} */
    WIRE_RESIZE = 22,    /* host->agent JSON {"rows","cols"} on an EXEC stream with a pty */
    WIRE_FILE_PUT = 32,  /* host->agent; opens a stream; JSON {"path","mode","size"} */
    WIRE_FILE_GET = 33,  /* host->agent; opens a stream; JSON {"path"} */
    WIRE_DATA = 34,      /* file bytes, either direction; WIRE_F_EOF marks the last */
    WIRE_FILE_INFO = 35, /* agent->host JSON {"size","mode"} before a FILE_GET's data */
    WIRE_DONE = 36,      /* agent->host JSON {"size"}; a FILE_PUT committed; ends the stream */
    WIRE_POWER = 48,     /* host->agent JSON {"action":"poweroff"|"reboot"} */
    WIRE_NETCFG = 49,    /* host->agent; opens a stream; JSON net object; DONE {} or ERROR */
    /* managed processes (docs/agent-protocol.md "Managed processes"): each request opens a
     * stream answered by DONE <JSON> or ERROR; ATTACH streams output until its DONE */
    WIRE_PROC_START = 64,  /* host->agent, opens; JSON {"id","argv"?,"env","cwd","pty"?,...} */
    WIRE_PROC_LIST = 65,   /* host->agent, opens; {} -> DONE {"processes":[record...]} */
    WIRE_PROC_GET = 66,    /* host->agent, opens; {"id"} -> DONE record */
    WIRE_PROC_ATTACH = 67, /* host->agent, opens; {"id","after","follow"} -> PROC_OUTPUT... */
    WIRE_PROC_OUTPUT = 68, /* agent->host data: [seq u64 LE][stream u8][bytes] */
    WIRE_PROC_GAP = 69,    /* agent->host JSON {"oldest_available_seq"} before replay */
    WIRE_PROC_INPUT = 70,  /* host->agent, opens; {"id","size"} then DATA -> DONE {"input_seq"} */
    WIRE_PROC_CTL = 71,    /* host->agent, opens; {"id","op",...} -> DONE record */
    WIRE_PROC_WAIT = 72,   /* host->agent, opens; {"id","scope","timeout_ms"} -> DONE record */
    /* TCP tunnels into the guest (docs/agent-protocol.md "Tunnels") */
    WIRE_TCP_OPEN = 80,      /* host->agent, opens; {"port"} -> TCP_CONNECTED, DATA..., DONE */
    WIRE_TCP_CONNECTED = 81, /* agent->host JSON {} once the guest connection is up */
    /* agent->host, stream 0: the guest asks to be paused or destroyed (self-signal) */
    WIRE_SELF = 96,          /* JSON {"action":"pause"|"delete","reason":"..."} */
};

enum wire_flags {
    WIRE_F_EOF = 1u << 0, /* last data frame of this direction of the stream */
};

struct wire_frame {
    uint16_t type;
    uint16_t flags;
    uint32_t stream;
    uint32_t len;
    const uint8_t *payload; /* borrowed from the parsed buffer */
};

/* Name of a frame type for logs and errors ("exec"); "unknown" for anything else. */
const char *wire_type_to_string(uint16_t type);
/* True for a type this version of the protocol defines. */
bool wire_type_known(uint16_t type);

/* Parses one frame at the start of (p, len).
 * Returns > 0: bytes consumed, *ret filled, its payload pointing into p.
 *         -EAGAIN: a frame may start here but is not complete yet.
 *         -EBADMSG: no valid header here; *ret_skip (>= 1) bytes can be dropped before the next
 *                   possible magic. Unknown types are not malformed: they parse, and the
 *                   receiver answers them with WIRE_ERROR. */
int wire_parse(const uint8_t *p, size_t len, struct wire_frame *ret, size_t *ret_skip);

/* Writes a header for a frame into out. */
void wire_header_put(uint8_t out[WIRE_HEADER_SIZE], uint16_t type, uint16_t flags,
                     uint32_t stream, uint32_t len);
/* Appends a whole frame to an output buffer. Returns 0, -EMSGSIZE (payload too large or the
 * buffer is full) or -ENOMEM. */
__attribute__((warn_unused_result))
int wire_append(struct buf *out, uint16_t type, uint16_t flags, uint32_t stream,
                const void *payload, size_t len);
/* Appends a WINDOW frame granting credit bytes. */
__attribute__((warn_unused_result))
int wire_append_window(struct buf *out, uint32_t stream, uint32_t credit);
/* Reads the credit of a WINDOW frame's payload; -EBADMSG unless it is exactly 4 bytes. */
int wire_window_credit(const struct wire_frame *f, uint32_t *ret_credit);

/* Incremental reader over a byte stream: feed bytes in, take frames out. */
struct wire_reader {
    struct buf in;          /* unparsed bytes, at most one frame plus one read's worth */
    uint64_t skipped;       /* garbage bytes dropped while resynchronising, ever */
    uint64_t resyncs;       /* times a bad header was met */
    size_t pending;         /* bytes of the frame last handed out, dropped on the next call */
};

void wire_reader_init(struct wire_reader *r);
void wire_reader_release(struct wire_reader *r);
/* Drops whatever partial frame is buffered (the peer went away). */
void wire_reader_reset(struct wire_reader *r);
/* Room for reading straight from an fd: returns a pointer to at least n free bytes or NULL
 * (-ENOMEM). Call wire_reader_commit() with what was read. */
uint8_t *wire_reader_space(struct wire_reader *r, size_t n);
void wire_reader_commit(struct wire_reader *r, size_t n);
/* Takes the next complete frame. Returns 1 and fills *ret (payload valid until the next call to
 * wire_reader_next/space/reset), 0 when more bytes are needed. Garbage is skipped and counted. */
int wire_reader_next(struct wire_reader *r, struct wire_frame *ret);
