/* SPDX-License-Identifier: MIT */
/* test_wire.c: the agent channel framing (src/common/wire.c): parsing split at every byte,
 * resynchronisation over garbage, malformed headers, window credit and the reader. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"
#include "harness.h"

static size_t frame(uint8_t *out, uint16_t type, uint16_t flags, uint32_t stream,
                    const char *payload)
{
    size_t len = strlen(payload);
    wire_header_put(out, type, flags, stream, (uint32_t)len);
    memcpy(out + WIRE_HEADER_SIZE, payload, len);
    return WIRE_HEADER_SIZE + len;
}

TEST(wire_parse_every_split)
{
    uint8_t b[64];
    size_t n = frame(b, WIRE_EXEC, WIRE_F_EOF, 0x01020304, "{\"argv\":[]}");
    for (size_t cut = 0; cut < n; cut++) {
        struct wire_frame f;
        size_t skip = 0;
        CHECK_EQ(wire_parse(b, cut, &f, &skip), -EAGAIN);
    }
    struct wire_frame f;
    size_t skip = 0;
    CHECK_EQ(wire_parse(b, n, &f, &skip), (int)n);
    CHECK_EQ(f.type, WIRE_EXEC);
    CHECK_EQ(f.flags, WIRE_F_EOF);
    CHECK_EQ(f.stream, 0x01020304);
    CHECK_EQ(f.len, n - WIRE_HEADER_SIZE);
    CHECK(memcmp(f.payload, "{\"argv\":[]}", f.len) == 0);
}

TEST(wire_parse_malformed)
{
    static const struct {
        uint16_t type;
        uint32_t len;
    } cases[] = { { 0, 0 }, { WIRE_PING, WIRE_MAX_PAYLOAD + 1 }, { WIRE_PING, 0xffffffffu } };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[WIRE_HEADER_SIZE];
        wire_header_put(b, cases[i].type, 0, 1, cases[i].len);
        struct wire_frame f;
        size_t skip = 0;
        CHECK_EQ(wire_parse(b, sizeof(b), &f, &skip), -EBADMSG);
        CHECK_EQ(skip, sizeof(b)); /* no other magic inside */
    }
    /* The maximum itself is fine (incomplete here). */
    uint8_t b[WIRE_HEADER_SIZE];
    wire_header_put(b, WIRE_PING, 0, 1, WIRE_MAX_PAYLOAD);
    struct wire_frame f;
    size_t skip = 0;
    CHECK_EQ(wire_parse(b, sizeof(b), &f, &skip), -EAGAIN);
    /* Unknown types parse: the receiver answers them. */
    wire_header_put(b, 999, 0, 1, 0);
    CHECK_EQ(wire_parse(b, sizeof(b), &f, &skip), (int)WIRE_HEADER_SIZE);
    CHECK(!wire_type_known(999));
    CHECK(wire_type_known(WIRE_POWER));
    CHECK_STR(wire_type_to_string(WIRE_FILE_GET), "file_get");
    CHECK_STR(wire_type_to_string(999), "unknown");
}

TEST(wire_parse_garbage_skip)
{
    const uint8_t junk[] = "xxhrtxhrth";
    struct wire_frame f;
    size_t skip = 0;
    CHECK_EQ(wire_parse(junk, 10, &f, &skip), -EBADMSG);
    CHECK_EQ(skip, 6); /* "hrtx" is no magic; "hrth" at 6 is */
    CHECK_EQ(wire_parse(junk + 2, 8, &f, &skip), -EBADMSG);
    CHECK_EQ(skip, 4);
    CHECK_EQ(wire_parse(junk + 6, 4, &f, &skip), -EAGAIN);
    /* A trailing partial magic is kept. */
    CHECK_EQ(wire_parse((const uint8_t *)"abh", 3, &f, &skip), -EBADMSG);
    CHECK_EQ(skip, 2);
}

/* Garbage, two frames and a truncated-looking header, fed one byte at a time and in one go. */
TEST(wire_reader_resync_every_split)
{
    uint8_t stream[256];
    size_t n = 0;
    memcpy(stream, "garbage hr", 10);
    n = 10;
    n += frame(stream + n, WIRE_PING, 0, 1, "one");
    memcpy(stream + n, "hrth\x00\x00", 6); /* type 0: malformed */
    n += 6;
    wire_header_put(stream + n, WIRE_PING, 0, 2, WIRE_MAX_PAYLOAD + 5); /* oversized */
    n += WIRE_HEADER_SIZE;
    n += frame(stream + n, WIRE_PONG, WIRE_F_EOF, 2, "two");
    for (size_t step = 1; step <= n; step++) {
        struct wire_reader r;
        wire_reader_init(&r);
        int got = 0;
        for (size_t off = 0; off < n; off += step) {
            size_t k = n - off < step ? n - off : step;
            uint8_t *p = wire_reader_space(&r, k);
            CHECK(p);
            memcpy(p, stream + off, k);
            wire_reader_commit(&r, k);
            struct wire_frame f;
            while (wire_reader_next(&r, &f) == 1) {
                if (got == 0) {
                    CHECK_EQ(f.type, WIRE_PING);
                    CHECK_EQ(f.stream, 1);
                    CHECK(f.len == 3 && memcmp(f.payload, "one", 3) == 0);
                } else {
                    CHECK_EQ(f.type, WIRE_PONG);
                    CHECK_EQ(f.flags, WIRE_F_EOF);
                    CHECK(f.len == 3 && memcmp(f.payload, "two", 3) == 0);
                }
                got++;
            }
        }
        CHECK_EQ(got, 2);
        CHECK(r.resyncs >= 3);
        wire_reader_release(&r);
    }
}

TEST(wire_reader_reset_drops_partial)
{
    struct wire_reader r;
    wire_reader_init(&r);
    uint8_t b[64];
    size_t n = frame(b, WIRE_PING, 0, 1, "abcdef");
    uint8_t *p = wire_reader_space(&r, n);
    memcpy(p, b, n - 2);
    wire_reader_commit(&r, n - 2);
    struct wire_frame f;
    CHECK_EQ(wire_reader_next(&r, &f), 0);
    wire_reader_reset(&r);
    p = wire_reader_space(&r, n);
    memcpy(p, b, n);
    wire_reader_commit(&r, n);
    CHECK_EQ(wire_reader_next(&r, &f), 1);
    CHECK(f.len == 6 && memcmp(f.payload, "abcdef", 6) == 0);
    CHECK_EQ(wire_reader_next(&r, &f), 0);
    wire_reader_release(&r);
}

TEST(wire_append_and_window)
{
    struct buf out;
    buf_init(&out, 1024);
    CHECK_EQ(wire_append_window(&out, 7, 0x10203040), 0);
    struct wire_frame f;
    size_t skip;
    CHECK_EQ(wire_parse(out.data, out.len, &f, &skip), (int)WIRE_HEADER_SIZE + 4);
    CHECK_EQ(f.type, WIRE_WINDOW);
    uint32_t credit = 0;
    CHECK_EQ(wire_window_credit(&f, &credit), 0);
    CHECK_EQ(credit, 0x10203040);
    f.len = 3;
    CHECK_EQ(wire_window_credit(&f, &credit), -EBADMSG);
    f.len = 5;
    CHECK_EQ(wire_window_credit(&f, &credit), -EBADMSG);
    /* Too large for the frame format, and too large for the buffer. */
    CHECK_EQ(wire_append(&out, WIRE_DATA, 0, 1, NULL, WIRE_MAX_PAYLOAD + 1), -EMSGSIZE);
    static uint8_t big[2048];
    size_t before = out.len;
    CHECK_EQ(wire_append(&out, WIRE_DATA, 0, 1, big, sizeof(big)), -EMSGSIZE);
    CHECK_EQ(out.len, before);
    buf_release(&out);
}
