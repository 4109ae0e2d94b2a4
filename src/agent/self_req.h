/* SPDX-License-Identifier: MIT */
/* self_req.h: the pure parsers of the in-guest self endpoint (docs/api.md §3.15): the head of an
 * HTTP/1.1 request to 127.0.0.1:1029 and a line written to the /run/self FIFO. Both read bytes
 * any guest process can write, so they are bounded, never allocate, and are fuzzed
 * (tests/fuzz/fuzz_self_req.c). No I/O. */
#pragma once

#include <stddef.h>

#define SELF_HEAD_MAX 8192u      /* request line plus headers; more is 431 */
#define SELF_REASON_CHARS 128u   /* characters of a reason kept (docs/api.md §3.15) */
#define SELF_REASON_SIZE (SELF_REASON_CHARS * 4u + 1u)
#define SELF_LINE_MAX 64u        /* a FIFO line longer than this is ignored */

enum self_action {
    SELF_ACTION_NONE,
    SELF_ACTION_PAUSE,
    SELF_ACTION_DELETE,
};

struct self_req {
    int status;                  /* 202, or the error status: 400, 404, 405, 431 */
    enum self_action action;     /* with 202 */
    char reason[SELF_REASON_SIZE]; /* with 202: URL-decoded, valid UTF-8, at most 128 chars */
};

/* Parses the request head in p[0..len) (what was read so far). Returns 0 when the head is not
 * complete yet (and len < SELF_HEAD_MAX), else 1 with ret filled: a request that is not
 * `POST /self/pause|delete[?reason=…]` gets its error status. The body is never looked at. */
int self_req_parse(const char *p, size_t len, struct self_req *ret);

/* The action of one FIFO line (without its newline): "park" pauses, "retire" deletes, a
 * trailing '\r' is allowed; anything else is SELF_ACTION_NONE. */
enum self_action self_fifo_line(const char *p, size_t len);

/* "pause" / "delete" (the SELF frame's action), NULL for SELF_ACTION_NONE. */
const char *self_action_name(enum self_action a);

/* The reason line and text of an error status, for the reply. */
const char *self_status_text(int status);
