/* SPDX-License-Identifier: MIT */
/* test_buf.c: the growable buffer keeps its ceiling and its contents. */
#include "common/buf.h"
#include "harness.h"

#include <errno.h>
#include <stdlib.h>

TEST(buf_append_and_take)
{
    struct buf b;
    buf_init(&b, 1024);
    CHECK_EQ(buf_append(&b, "hello", 5), 0);
    CHECK_EQ(buf_appendf(&b, " %d", 42), 0);
    CHECK_EQ(b.len, 8);
    size_t len;
    char *s = (char *)buf_take(&b, &len);
    CHECK_EQ(len, 8);
    CHECK_STR(s, "hello 42");
    free(s);
    CHECK_EQ(b.len, 0);
    CHECK(b.data == NULL);
}

TEST(buf_ceiling_is_hard)
{
    struct buf b;
    buf_init(&b, 10);
    CHECK_EQ(buf_append(&b, "0123456789", 10), 0);
    CHECK_EQ(buf_append(&b, "x", 1), -EMSGSIZE);
    CHECK_EQ(b.len, 10);                      /* unchanged by the failed append */
    CHECK_EQ(buf_appendf(&b, "%s", "y"), -EMSGSIZE);
    CHECK_EQ(buf_append(&b, "x", SIZE_MAX), -EMSGSIZE); /* overflowing length */
    int err = 0;
    CHECK(buf_reserve(&b, 1, &err) == NULL);
    CHECK_EQ(err, -EMSGSIZE);
    buf_release(&b);
}

TEST(buf_consume_and_reserve)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    CHECK_EQ(buf_append(&b, "abcdef", 6), 0);
    buf_consume(&b, 2);
    CHECK_EQ(b.len, 4);
    CHECK(memcmp(b.data, "cdef", 4) == 0);
    buf_consume(&b, 100); /* clamped */
    CHECK_EQ(b.len, 0);
    uint8_t *p = buf_reserve(&b, 4096, NULL);
    CHECK(p != NULL);
    memset(p, 'z', 4096);
    buf_commit(&b, 4096);
    CHECK_EQ(b.len, 4096);
    CHECK_EQ(b.data[4095], 'z');
    buf_release(&b);
    buf_release(&b); /* twice is harmless */
}

TEST(buf_zero_length_append_allocates_nothing)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_EQ(buf_append(&b, NULL, 0), 0);
    CHECK(b.data == NULL);
    CHECK_EQ(buf_append(&b, "a", 1), -EMSGSIZE);
}
