/* SPDX-License-Identifier: MIT */
/* test_shell_frames.c: the shell's client frame parser (src/daemon/api/shell_frames.c,
 * docs/api.md §3.12.1): input passed through in pieces, a resize split byte by byte, clamping,
 * unknown types skipped, the limits (1 MiB, a resize of another length) and the error staying,
 * and handing refused input back. */
#include "harness.h"

#include <string.h>

#include "daemon/api/shell_frames.h"

static size_t put(uint8_t *p, uint8_t type, const void *payload, uint32_t len)
{
    p[0] = type;
    p[1] = (uint8_t)(len >> 24), p[2] = (uint8_t)(len >> 16), p[3] = (uint8_t)(len >> 8);
    p[4] = (uint8_t)len;
    memcpy(p + 5, payload, len);
    return 5 + len;
}

TEST(shell_frames_input_resize_skip)
{
    uint8_t b[128];
    size_t n = put(b, 0, "hello", 5);
    n += put(b + n, 7, "junk", 4);                       /* unknown: skipped */
    n += put(b + n, 1, "\x00\x00\x04\x00", 4);           /* 0 x 1024: clamped */
    n += put(b + n, 0, "", 0);                           /* empty input: nothing */
    n += put(b + n, 0, "!", 1);
    struct shell_parser sp;
    shell_parser_init(&sp);
    char in[64] = "";
    size_t inl = 0, off = 0;
    int resizes = 0;
    /* one byte at a time: every split point */
    while (off < n) {
        struct shell_event ev;
        size_t used = shell_parse(&sp, b + off, 1, &ev);
        CHECK(ev.kind != SHELL_EV_ERROR);
        if (ev.kind == SHELL_EV_INPUT) {
            memcpy(in + inl, ev.data, ev.len);
            inl += ev.len;
        }
        if (ev.kind == SHELL_EV_RESIZE) {
            CHECK_EQ(ev.rows, 1);
            CHECK_EQ(ev.cols, 1000);
            resizes++;
        }
        off += used;
        CHECK_EQ(used, 1);
    }
    CHECK_EQ(inl, 6);
    CHECK(memcmp(in, "hello!", 6) == 0);
    CHECK_EQ(resizes, 1);
}

TEST(shell_frames_limits_and_unread)
{
    struct shell_parser sp;
    struct shell_event ev;
    uint8_t big[5] = { 0, 0x00, 0x10, 0x00, 0x01 }; /* 1 MiB + 1 */
    shell_parser_init(&sp);
    CHECK_EQ(shell_parse(&sp, big, sizeof(big), &ev), 0);
    CHECK(ev.kind == SHELL_EV_ERROR);
    uint8_t ok[6] = { 0, 0, 0, 0, 1, 'x' };
    CHECK_EQ(shell_parse(&sp, ok, sizeof(ok), &ev), 0); /* the error stays */
    CHECK(ev.kind == SHELL_EV_ERROR);
    uint8_t max[5] = { 9, 0x00, 0x10, 0x00, 0x00 };  /* exactly 1 MiB, unknown type: fine */
    shell_parser_init(&sp);
    CHECK_EQ(shell_parse(&sp, max, sizeof(max), &ev), 5);
    CHECK(ev.kind == SHELL_EV_NONE);
    uint8_t r3[8] = { 1, 0, 0, 0, 3, 1, 2, 3 };
    shell_parser_init(&sp);
    (void)shell_parse(&sp, r3, sizeof(r3), &ev);
    CHECK(ev.kind == SHELL_EV_ERROR);
    /* refused input comes again */
    uint8_t b[32];
    size_t n = put(b, 0, "abcdef", 6);
    n += put(b + n, 0, "g", 1);
    shell_parser_init(&sp);
    size_t used = shell_parse(&sp, b, n, &ev);
    CHECK(ev.kind == SHELL_EV_INPUT && ev.len == 6);
    shell_parser_unread(&sp, 4); /* "cdef" not taken */
    size_t off = used - 4;
    used = shell_parse(&sp, b + off, n - off, &ev);
    CHECK(ev.kind == SHELL_EV_INPUT && ev.len == 4 && memcmp(ev.data, "cdef", 4) == 0);
    off += used;
    used = shell_parse(&sp, b + off, n - off, &ev);
    CHECK(ev.kind == SHELL_EV_INPUT && ev.len == 1 && ev.data[0] == 'g');
    CHECK_EQ(off + used, n);
}
