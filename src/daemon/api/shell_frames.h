/* SPDX-License-Identifier: MIT */
/* shell_frames.h: the client->server frame stream of a shell (docs/api.md §3.12.1):
 * [type u8][length u32 BE][payload]; 0 input bytes, 1 resize (rows u16 BE, cols u16 BE).
 * An incremental, pure parser of untrusted bytes: no I/O, no allocation, never buffers an input
 * payload (its bytes are handed out as they come). Fuzzed by tests/fuzz/fuzz_shell_frames.c. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHELL_FRAME_MAX (1u << 20) /* a longer payload closes the connection */
#define SHELL_SIZE_MAX 1000        /* rows and cols are clamped to 1..1000 */

enum shell_frame_type {
    SHELL_FRAME_INPUT = 0,
    SHELL_FRAME_RESIZE = 1,
};

struct shell_parser {
    uint8_t head[5];
    size_t head_len;       /* bytes of head[] read so far */
    uint8_t type;
    uint32_t left;         /* payload bytes still to come of the current frame */
    uint8_t size[4];       /* a resize's payload so far */
    size_t size_len;
};

enum shell_event_kind {
    SHELL_EV_NONE,         /* the bytes were all consumed, no event (more needed) */
    SHELL_EV_INPUT,        /* data/len: input bytes (part of a frame's payload) */
    SHELL_EV_RESIZE,       /* rows/cols, clamped to 1..SHELL_SIZE_MAX */
    SHELL_EV_ERROR,        /* error: the stream is malformed; close the connection */
};

struct shell_event {
    enum shell_event_kind kind;
    const uint8_t *data;   /* INPUT: borrowed from the caller's bytes; they end the consumed range */
    size_t len;
    uint16_t rows, cols;
    const char *error;     /* ERROR: static text */
};

void shell_parser_init(struct shell_parser *sp);
/* Reads from p (len bytes) up to and including the next event. Returns the bytes consumed
 * (<= len) and fills *ev; call again with the rest. After SHELL_EV_ERROR the parser stays in
 * error (every later call returns 0 bytes and the error again). */
size_t shell_parse(struct shell_parser *sp, const uint8_t *p, size_t len, struct shell_event *ev);
/* The caller could take only part of an INPUT event: the last n of its bytes are handed out
 * again by the next calls (the caller keeps them at the front of its buffer). */
void shell_parser_unread(struct shell_parser *sp, size_t n);
