/* SPDX-License-Identifier: MIT */
/* test_migsplit.c: the migration stream splitter on synthetic QEMU 7.2 streams built here:
 * the split output and RAM against what was expected, the same result for every chunking,
 * zero pages after written ones, callback errors, and hostile streams (truncated, oversized,
 * out of range, unknown flags, unsupported features) failing with -EBADMSG and a reason. */
#include "daemon/host/migsplit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/herr.h"
#include "harness.h"

#define PAGE MIGSPLIT_PAGE_SIZE
#define MEM_PAGES 16u
#define ROM_PAGES 2u

/* --- building streams: bytes go to the input, and to the expected output when want != NULL */

static void put(struct buf *in, struct buf *want, const void *d, size_t n)
{
    if (buf_append(in, d, n) < 0)
        abort(); /* a test bug: the buffers are unbounded */
    if (want && buf_append(want, d, n) < 0)
        abort();
}

static void put8(struct buf *in, struct buf *want, uint8_t v)
{
    put(in, want, &v, 1);
}

static void put32(struct buf *in, struct buf *want, uint32_t v)
{
    uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };
    put(in, want, b, 4);
}

static void put64(struct buf *in, struct buf *want, uint64_t v)
{
    put32(in, want, (uint32_t)(v >> 32));
    put32(in, want, (uint32_t)v);
}

static void putname(struct buf *in, struct buf *want, const char *s)
{
    put8(in, want, (uint8_t)strlen(s));
    put(in, want, s, strlen(s));
}

/* Header and configuration (machine "microvm", capability x-ignore-shared when ign). */
static void stream_head(struct buf *in, struct buf *want, bool config, bool ign)
{
    put32(in, want, 0x5145564d);
    put32(in, want, 3);
    if (!config)
        return;
    put8(in, want, 0x07);
    put32(in, want, 7);
    put(in, want, "microvm", 7);
    if (ign) {
        put8(in, want, 0x05);
        putname(in, want, "configuration/capabilities");
        put32(in, want, 1);
        put32(in, want, 1);
        putname(in, want, "x-ignore-shared");
    }
}

/* ram START: section 2, MEM_SIZE listing mem (16 pages) and rom (2 pages), EOS, footer. */
static void ram_start(struct buf *in, struct buf *want, bool ign)
{
    put8(in, want, 0x01);
    put32(in, want, 2);
    putname(in, want, "ram");
    put32(in, want, 0);
    put32(in, want, 4);
    put64(in, want, (uint64_t)(MEM_PAGES + ROM_PAGES) * PAGE | 0x04);
    putname(in, want, "mem");
    put64(in, want, (uint64_t)MEM_PAGES * PAGE);
    if (ign)
        put64(in, want, 0);
    putname(in, want, "rom");
    put64(in, want, (uint64_t)ROM_PAGES * PAGE);
    if (ign)
        put64(in, want, 0xffff0000);
}

static void sec(struct buf *in, struct buf *want, uint8_t type)
{
    put8(in, want, type);
    put32(in, want, 2);
}

static void eos(struct buf *in, struct buf *want)
{
    put64(in, want, 0x10);
    put8(in, want, 0x7e);
    put32(in, want, 2);
}

/* A page record; name NULL for CONTINUE. */
static void page(struct buf *in, struct buf *want, const char *name, uint64_t off, uint8_t fill)
{
    put64(in, want, off | 0x08 | (name ? 0 : 0x20));
    if (name)
        putname(in, want, name);
    uint8_t p[PAGE];
    for (size_t i = 0; i < PAGE; i++)
        p[i] = (uint8_t)(fill + i);
    put(in, want, p, PAGE);
}

static void zero(struct buf *in, struct buf *want, const char *name, uint64_t off, uint8_t fill)
{
    put64(in, want, off | 0x02 | (name ? 0 : 0x20));
    if (name)
        putname(in, want, name);
    put8(in, want, fill);
}

/* Device sections, EOF and a vmdescription: passed through unparsed. */
static void devices(struct buf *in, struct buf *want)
{
    put8(in, want, 0x04);
    put32(in, want, 3);
    putname(in, want, "timer");
    put32(in, want, 0);
    put32(in, want, 2);
    put(in, want, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    put8(in, want, 0x7e);
    put32(in, want, 3);
    put8(in, want, 0x00);
    put8(in, want, 0x06);
    put32(in, want, 2);
    put(in, want, "{}", 2);
}

/* The RAM a page record with this fill carries. */
static void fill_page(uint8_t *p, uint8_t fill)
{
    for (size_t i = 0; i < PAGE; i++)
        p[i] = (uint8_t)(fill + i);
}

/* A stream of a restored VM: every mem page once (most zero), rom pages, an iteration of mem
 * pages only (dropped whole), a page rewritten with zeros, a zero page with a fill byte. */
static void good_stream(struct buf *in, struct buf *want, uint8_t *ram, bool config, bool ign)
{
    memset(ram, 0, (size_t)MEM_PAGES * PAGE);
    stream_head(in, want, config, ign);
    ram_start(in, want, ign);
    eos(in, want);
    sec(in, want, 0x02);
    page(in, NULL, "mem", 0, 0x10);
    fill_page(ram, 0x10);
    zero(in, NULL, NULL, 1 * PAGE, 0);
    page(in, NULL, NULL, 2 * PAGE, 0x20);
    zero(in, NULL, NULL, 3 * PAGE, 0x5a);
    memset(ram + 3 * PAGE, 0x5a, PAGE);
    page(in, want, "rom", 0, 0x30);
    zero(in, want, NULL, 1 * PAGE, 0);
    page(in, NULL, "mem", 4 * PAGE, 0x40);
    eos(in, want);
    sec(in, NULL, 0x02); /* only split pages: dropped with its EOS and footer */
    page(in, NULL, "mem", 15 * PAGE, 0x50);
    zero(in, NULL, NULL, 14 * PAGE, 0);
    page(in, NULL, NULL, 13 * PAGE, 0x60);
    eos(in, NULL);
    sec(in, want, 0x03);
    zero(in, NULL, "mem", 2 * PAGE, 0); /* written above: must become zero again */
    page(in, NULL, NULL, 4 * PAGE, 0x41); /* sent again: the last one wins */
    fill_page(ram + 4 * PAGE, 0x41);
    fill_page(ram + 15 * PAGE, 0x50);
    fill_page(ram + 13 * PAGE, 0x60);
    page(in, want, "rom", 1 * PAGE, 0x70);
    eos(in, want);
    devices(in, want);
}

/* --- a sink for both halves --- */

struct sink {
    struct buf out;
    uint8_t ram[MEM_PAGES * PAGE];
    unsigned ram_calls;
    int fail_ram;                /* on_ram returns this when non-zero */
};

static int on_state(void *ud, const void *b, size_t n)
{
    struct sink *k = ud;
    return buf_append(&k->out, b, n);
}

static int on_ram(void *ud, uint64_t off, const void *b, size_t n)
{
    struct sink *k = ud;
    if (k->fail_ram)
        return k->fail_ram;
    if (n != PAGE || off % PAGE || off + n > sizeof(k->ram))
        return -ERANGE; /* the splitter promised whole pages inside the block */
    memcpy(k->ram + off, b, n);
    k->ram_calls++;
    return 0;
}

static const struct migsplit_ops ops = { on_state, on_ram };

static struct sink *sink_new(void)
{
    struct sink *k = calloc(1, sizeof(*k));
    if (k)
        buf_init(&k->out, 1 << 24);
    return k;
}

static void sink_free(struct sink *k)
{
    if (!k)
        return;
    buf_release(&k->out);
    free(k);
}

/* Splits in[0..len) pushed in chunks: chunk 0 means random sizes (seeded). Returns the result
 * of the last push or of finish. */
static int split(const uint8_t *in, size_t len, size_t chunk, unsigned seed, struct sink *k,
                 struct herr *e)
{
    struct migsplit *s = NULL;
    int r = migsplit_new("mem", (uint64_t)MEM_PAGES * PAGE, &ops, k, &s);
    if (r < 0)
        return r;
    srand(seed);
    for (size_t off = 0; off < len && r == 0;) {
        size_t n = chunk ? chunk : 1 + (size_t)rand() % 9000;
        if (n > len - off)
            n = len - off;
        r = migsplit_push(s, in + off, n, e);
        off += n;
    }
    if (r == 0)
        r = migsplit_finish(s, e);
    migsplit_free(s);
    return r;
}

static bool same_result(const struct buf *in, const struct buf *want, const uint8_t *ram,
                        size_t chunk, unsigned seed)
{
    struct sink *k = sink_new();
    REQUIRE(k);
    struct herr e = { 0 };
    int r = split(in->data, in->len, chunk, seed, k, &e);
    if (r != 0)
        harness_fail(__FILE__, __LINE__, "chunk %zu seed %u: %d %s", chunk, seed, r, e.msg);
    bool ok = r == 0 && k->out.len == want->len &&
              memcmp(k->out.data, want->data, want->len) == 0 &&
              memcmp(k->ram, ram, sizeof(k->ram)) == 0;
    if (r == 0 && !ok)
        harness_fail(__FILE__, __LINE__, "chunk %zu seed %u: output %zu bytes (want %zu) or RAM "
                     "differs", chunk, seed, k->out.len, want->len);
    sink_free(k);
    return ok;
}

TEST(splits_pages_out_and_keeps_the_rest)
{
    struct buf in, want;
    buf_init(&in, 1 << 24);
    buf_init(&want, 1 << 24);
    uint8_t *ram = malloc((size_t)MEM_PAGES * PAGE);
    CHECK(ram);
    good_stream(&in, &want, ram, true, true);
    struct sink *k = sink_new();
    CHECK(k);
    struct migsplit *s = NULL;
    CHECK_EQ(migsplit_new("mem", (uint64_t)MEM_PAGES * PAGE, &ops, k, &s), 0);
    struct herr e = { 0 };
    CHECK_EQ(migsplit_push(s, in.data, in.len, &e), 0);
    CHECK_EQ(migsplit_finish(s, &e), 0);
    CHECK_EQ(k->out.len, want.len);
    CHECK(memcmp(k->out.data, want.data, want.len) == 0);
    CHECK(memcmp(k->ram, ram, sizeof(k->ram)) == 0);
    struct migsplit_stats st;
    migsplit_stats(s, &st);
    CHECK_EQ(st.in_bytes, in.len);
    CHECK_EQ(st.out_bytes, want.len);
    CHECK_EQ(st.ram_pages, 8); /* 5 pages, 1 fill, 1 zero over a written page, 1 page again */
    CHECK_EQ(st.zero_pages, 2);
    CHECK_EQ(k->ram_calls, 8);
    migsplit_free(s);
    sink_free(k);
    free(ram);
    buf_release(&in);
    buf_release(&want);
}

TEST(every_chunking_gives_the_same_result)
{
    struct buf in, want;
    buf_init(&in, 1 << 24);
    buf_init(&want, 1 << 24);
    uint8_t *ram = malloc((size_t)MEM_PAGES * PAGE);
    CHECK(ram);
    good_stream(&in, &want, ram, true, true);
    static const size_t chunks[] = { 1, 2, 3, 7, 8, 9, 4095, 4096, 4097, 65536 };
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
        CHECK(same_result(&in, &want, ram, chunks[i], 0));
    for (unsigned seed = 1; seed <= 50; seed++)
        CHECK(same_result(&in, &want, ram, 0, seed));
    free(ram);
    buf_release(&in);
    buf_release(&want);
}

TEST(stream_without_configuration_or_ignore_shared)
{
    for (int v = 0; v < 2; v++) {
        struct buf in, want;
        buf_init(&in, 1 << 24);
        buf_init(&want, 1 << 24);
        uint8_t *ram = malloc((size_t)MEM_PAGES * PAGE);
        CHECK(ram);
        /* no configuration at all; or one without capabilities: no address per block */
        good_stream(&in, &want, ram, v == 1, false);
        CHECK(same_result(&in, &want, ram, 5, 0));
        free(ram);
        buf_release(&in);
        buf_release(&want);
    }
}

TEST(callback_errors_stop_the_split)
{
    struct buf in, want;
    buf_init(&in, 1 << 24);
    buf_init(&want, 1 << 24);
    uint8_t *ram = malloc((size_t)MEM_PAGES * PAGE);
    CHECK(ram);
    good_stream(&in, &want, ram, true, true);
    struct sink *k = sink_new();
    CHECK(k);
    k->fail_ram = -ENOSPC;
    struct migsplit *s = NULL;
    CHECK_EQ(migsplit_new("mem", (uint64_t)MEM_PAGES * PAGE, &ops, k, &s), 0);
    struct herr e = { 0 };
    CHECK_EQ(migsplit_push(s, in.data, in.len, &e), -ENOSPC);
    CHECK_EQ(migsplit_push(s, in.data, 1, &e), -ENOSPC); /* sticky */
    CHECK_EQ(migsplit_finish(s, &e), -ENOSPC);
    migsplit_free(s);
    sink_free(k);
    free(ram);
    buf_release(&in);
    buf_release(&want);
}

TEST(new_checks_its_arguments)
{
    struct migsplit *s = NULL;
    const struct migsplit_ops no_ram = { on_state, NULL };
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    CHECK_EQ(migsplit_new(NULL, PAGE, &ops, NULL, &s), -EINVAL);
    CHECK_EQ(migsplit_new("", PAGE, &ops, NULL, &s), -EINVAL);
    CHECK_EQ(migsplit_new(longname, PAGE, &ops, NULL, &s), -EINVAL);
    CHECK_EQ(migsplit_new("mem", 0, &ops, NULL, &s), -EINVAL);
    CHECK_EQ(migsplit_new("mem", PAGE + 1, &ops, NULL, &s), -EINVAL);
    CHECK_EQ(migsplit_new("mem", MIGSPLIT_MAX_RAM + PAGE, &ops, NULL, &s), -EINVAL);
    CHECK_EQ(migsplit_new("mem", PAGE, &no_ram, NULL, &s), -EINVAL);
    CHECK_EQ(migsplit_new("mem", PAGE, NULL, NULL, &s), -EINVAL);
    migsplit_free(NULL);
}

/* Good header, configuration and ram START up to (not including) the START's EOS. */
static void prefix(struct buf *in)
{
    stream_head(in, NULL, true, true);
    ram_start(in, NULL, true);
}

/* Builds hostile stream i into in; returns a piece of the expected message, NULL past the
 * last case. */
static const char *hostile(int i, struct buf *in)
{
    switch (i) {
    case 0:
        put32(in, NULL, 0x51455600);
        put32(in, NULL, 3);
        return "not a QEMU migration stream";
    case 1:
        put32(in, NULL, 0x5145564d);
        put32(in, NULL, 2);
        return "stream version 2";
    case 2:
        stream_head(in, NULL, true, true);
        put8(in, NULL, 0x42);
        return "unknown section type 0x42";
    case 3:
        stream_head(in, NULL, true, true);
        put8(in, NULL, 0x08);
        return "QEMU_VM_COMMAND";
    case 4:
        prefix(in);
        put64(in, NULL, 0x40);
        return "XBZRLE";
    case 5:
        prefix(in);
        put64(in, NULL, 0x100);
        return "compressed page";
    case 6:
        prefix(in);
        put64(in, NULL, 0x80);
        return "RDMA hook";
    case 7:
        prefix(in);
        put64(in, NULL, 0x200);
        return "unknown RAM record flags 0x200";
    case 8:
        prefix(in);
        put64(in, NULL, 0x0a); /* ZERO | PAGE */
        return "unknown RAM record flags 0xa";
    case 9:
        prefix(in);
        page(in, NULL, "mem", (uint64_t)MEM_PAGES * PAGE, 0);
        return "past the end of block 'mem'";
    case 10:
        prefix(in);
        zero(in, NULL, "rom", 0xfffffffffffff000ull, 0);
        return "past the end of block 'rom'";
    case 11:
        prefix(in);
        page(in, NULL, "nvram", 0, 0);
        return "unknown RAM block 'nvram'";
    case 12:
        prefix(in);
        page(in, NULL, NULL, 0, 0);
        return "continues no previous block";
    case 13:
        prefix(in);
        put64(in, NULL, 0x04 | PAGE);
        return "unexpected RAM size record";
    case 14: /* mem listed with another size */
        stream_head(in, NULL, true, true);
        put8(in, NULL, 0x01);
        put32(in, NULL, 2);
        putname(in, NULL, "ram");
        put32(in, NULL, 0);
        put32(in, NULL, 4);
        put64(in, NULL, 2 * PAGE | 0x04);
        putname(in, NULL, "mem");
        put64(in, NULL, 2 * PAGE);
        put64(in, NULL, 0);
        return "has 8192 bytes, expected 65536";
    case 15: /* a block list without mem */
        stream_head(in, NULL, false, false);
        put8(in, NULL, 0x01);
        put32(in, NULL, 2);
        putname(in, NULL, "ram");
        put32(in, NULL, 0);
        put32(in, NULL, 4);
        put64(in, NULL, PAGE | 0x04);
        putname(in, NULL, "rom");
        put64(in, NULL, PAGE);
        return "no RAM block 'mem'";
    case 16: /* a block larger than the total */
        stream_head(in, NULL, false, false);
        put8(in, NULL, 0x01);
        put32(in, NULL, 2);
        putname(in, NULL, "ram");
        put32(in, NULL, 0);
        put32(in, NULL, 4);
        put64(in, NULL, PAGE | 0x04);
        putname(in, NULL, "rom");
        put64(in, NULL, 2 * PAGE);
        return "exceeds the RAM size record";
    case 17:
        prefix(in);
        eos(in, NULL);
        put8(in, NULL, 0x04);
        return "device state before the 'ram' section ended";
    case 18:
        prefix(in);
        eos(in, NULL);
        put8(in, NULL, 0x01);
        return "a second iterable section";
    case 19:
        stream_head(in, NULL, true, true);
        put8(in, NULL, 0x01);
        put32(in, NULL, 3);
        putname(in, NULL, "block");
        put32(in, NULL, 0);
        put32(in, NULL, 1);
        return "iterable section 'block' cannot be split";
    case 20:
        prefix(in);
        put64(in, NULL, 0x10);
        put8(in, NULL, 0x7e);
        put32(in, NULL, 9);
        return "wrong footer";
    case 21:
        prefix(in);
        eos(in, NULL);
        put8(in, NULL, 0x02);
        put32(in, NULL, 9);
        return "section id 9";
    case 22:
        put32(in, NULL, 0x5145564d);
        put32(in, NULL, 3);
        put8(in, NULL, 0x07);
        put32(in, NULL, 0xffffffff);
        return "machine name of 4294967295 bytes";
    case 23:
        put32(in, NULL, 0x5145564d);
        put32(in, NULL, 3);
        put8(in, NULL, 0x07);
        put32(in, NULL, 7);
        put(in, NULL, "microvm", 7);
        put8(in, NULL, 0x05);
        putname(in, NULL, "configuration/capabilities");
        put32(in, NULL, 1);
        put32(in, NULL, 100000);
        return "100000 capabilities";
    case 24:
        put32(in, NULL, 0x5145564d);
        put32(in, NULL, 3);
        put8(in, NULL, 0x07);
        put32(in, NULL, 7);
        put(in, NULL, "microvm", 7);
        put8(in, NULL, 0x05);
        putname(in, NULL, "configuration/mystery");
        put32(in, NULL, 1);
        return "unknown configuration subsection 'configuration/mystery'";
    case 25:
        put32(in, NULL, 0x5145564d);
        put32(in, NULL, 3);
        put8(in, NULL, 0x07);
        put32(in, NULL, 7);
        put(in, NULL, "microvm", 7);
        put8(in, NULL, 0x05);
        putname(in, NULL, "configuration/target-page-bits");
        put32(in, NULL, 1);
        put32(in, NULL, 16);
        return "target page bits 16";
    case 26:
        put32(in, NULL, 0x5145564d);
        put32(in, NULL, 3);
        put8(in, NULL, 0x05); /* a subsection marker without a configuration */
        return "unknown section type 0x05";
    case 27:
        prefix(in);
        eos(in, NULL);
        put8(in, NULL, 0x07);
        return "configuration section after other sections";
    case 28:
        prefix(in);
        eos(in, NULL);
        sec(in, NULL, 0x03);
        eos(in, NULL);
        sec(in, NULL, 0x02);
        return "outside the 'ram' section";
    case 29:
        prefix(in);
        page(in, NULL, "", 0, 0);
        return "empty RAM block name";
    case 30:
        prefix(in);
        put64(in, NULL, 0x10 | PAGE);
        return "malformed end-of-section record";
    case 31:
        stream_head(in, NULL, true, true);
        put8(in, NULL, 0x01);
        put32(in, NULL, 2);
        putname(in, NULL, "ram");
        put32(in, NULL, 0);
        put32(in, NULL, 5);
        return "'ram' section version 5";
    case 32: /* a zero-length RAM size */
        stream_head(in, NULL, true, true);
        put8(in, NULL, 0x01);
        put32(in, NULL, 2);
        putname(in, NULL, "ram");
        put32(in, NULL, 0);
        put32(in, NULL, 4);
        put64(in, NULL, 0x04);
        return "lists no RAM";
    case 33: /* a page before the RAM size */
        stream_head(in, NULL, true, true);
        put8(in, NULL, 0x01);
        put32(in, NULL, 2);
        putname(in, NULL, "ram");
        put32(in, NULL, 0);
        put32(in, NULL, 4);
        page(in, NULL, "mem", 0, 0);
        return "before the RAM size record";
    case 34: /* mem listed twice */
        stream_head(in, NULL, false, false);
        put8(in, NULL, 0x01);
        put32(in, NULL, 2);
        putname(in, NULL, "ram");
        put32(in, NULL, 0);
        put32(in, NULL, 4);
        put64(in, NULL, 2 * PAGE | 0x04);
        putname(in, NULL, "rom");
        put64(in, NULL, PAGE);
        putname(in, NULL, "rom");
        put64(in, NULL, PAGE);
        return "listed twice";
    default:
        return NULL;
    }
}

TEST(hostile_streams_are_refused)
{
    for (int i = 0;; i++) {
        struct buf in;
        buf_init(&in, 1 << 24);
        const char *want = hostile(i, &in);
        if (!want) {
            buf_release(&in);
            break;
        }
        /* whole, and byte by byte: the same error */
        for (size_t chunk = 0; chunk < 2; chunk++) {
            struct sink *k = sink_new();
            CHECK(k);
            struct herr e = { 0 };
            int r = split(in.data, in.len, chunk ? 1 : in.len, 0, k, &e);
            sink_free(k);
            if (r != -EBADMSG || !strstr(e.msg, want))
                harness_fail(__FILE__, __LINE__, "case %d: %d '%s', want -EBADMSG '%s'", i, r,
                             e.msg, want);
        }
        buf_release(&in);
    }
}

TEST(every_truncation_is_refused_or_complete)
{
    struct buf in, want;
    buf_init(&in, 1 << 24);
    buf_init(&want, 1 << 24);
    uint8_t *ram = malloc((size_t)MEM_PAGES * PAGE);
    CHECK(ram);
    good_stream(&in, &want, ram, true, true);
    /* where the device sections start, the rest passes unparsed: finish succeeds from there */
    size_t devs = in.len - (1 + 4 + 1 + 5 + 8 + 8 + 5 + 1 + 1 + 4 + 2);
    for (size_t len = 0; len < in.len; len += (len < 200 || len > devs - 50) ? 1 : 61) {
        struct sink *k = sink_new();
        CHECK(k);
        struct herr e = { 0 };
        int r = split(in.data, len, 4096, 0, k, &e);
        sink_free(k);
        if (len <= devs && (r != -EBADMSG || !strstr(e.msg, "truncated")))
            harness_fail(__FILE__, __LINE__, "prefix %zu of %zu: %d '%s'", len, in.len, r,
                         e.msg);
        if (len > devs && r != 0)
            harness_fail(__FILE__, __LINE__, "prefix %zu of %zu: %d '%s'", len, in.len, r,
                         e.msg);
    }
    free(ram);
    buf_release(&in);
    buf_release(&want);
}

TEST(random_bytes_never_crash)
{
    struct buf in, want;
    buf_init(&in, 1 << 24);
    buf_init(&want, 1 << 24);
    uint8_t *ram = malloc((size_t)MEM_PAGES * PAGE);
    CHECK(ram);
    good_stream(&in, &want, ram, true, true);
    /* flip bytes of the good stream: any outcome but a crash, a hang or a sanitizer report */
    srand(7);
    uint8_t *copy = malloc(in.len);
    CHECK(copy);
    for (int round = 0; round < 300; round++) {
        memcpy(copy, in.data, in.len);
        for (int f = 0; f < 4; f++)
            copy[(size_t)rand() % in.len] = (uint8_t)rand();
        struct sink *k = sink_new();
        CHECK(k);
        struct herr e = { 0 };
        int r = split(copy, in.len, 0, (unsigned)round, k, &e);
        CHECK(r == 0 || r == -EBADMSG);
        sink_free(k);
    }
    free(copy);
    free(ram);
    buf_release(&in);
    buf_release(&want);
}
