/* SPDX-License-Identifier: MIT */
/* migsplit.c: the migration stream splitter (migsplit.h). Parses the stream header, the
 * configuration section and the iterable "ram" section record by record; page records of the
 * split block go to on_ram, all other bytes to on_state. From the first device section on the
 * rest passes through unparsed. Owns only its staging buffers; does no I/O of its own. */
#include "daemon/host/migsplit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/herr.h"

/* Stream constants of QEMU 7.2 (migration/savevm.h, migration/ram.c). */
#define VM_MAGIC 0x5145564du /* "QEVM" */
#define VM_VERSION 3u
#define VM_EOF 0x00
#define VM_SECTION_START 0x01
#define VM_SECTION_PART 0x02
#define VM_SECTION_END 0x03
#define VM_SECTION_FULL 0x04
#define VM_SUBSECTION 0x05
#define VM_CONFIGURATION 0x07
#define VM_COMMAND 0x08
#define VM_SECTION_FOOTER 0x7e

#define RAM_FLAG_FULL 0x01u /* obsolete */
#define RAM_FLAG_ZERO 0x02u
#define RAM_FLAG_MEM_SIZE 0x04u
#define RAM_FLAG_PAGE 0x08u
#define RAM_FLAG_EOS 0x10u
#define RAM_FLAG_CONTINUE 0x20u
#define RAM_FLAG_XBZRLE 0x40u
#define RAM_FLAG_HOOK 0x80u
#define RAM_FLAG_COMPRESS 0x100u
#define RAM_FLAG_MASK ((uint64_t)MIGSPLIT_PAGE_SIZE - 1) /* flags sit below the page offset */
#define RAM_SECTION_VERSION 4u

#define MAX_MACHINE_NAME 256u /* "microvm"; the configuration carries it with a be32 length */
#define MAX_CAPS 64u          /* capabilities listed by the configuration (7.2 lists <= 1) */
#define TOKEN_MAX MIGSPLIT_PAGE_SIZE /* largest unit we stage: one page */

/* What the next token (of p->need bytes) is. */
enum st {
    ST_HEADER,      /* magic + version: 8 */
    ST_TOP,         /* a section type, or a configuration subsection marker: 1 */
    ST_CONF_LEN,    /* machine name length: 4 */
    ST_CONF_NAME,   /* machine name: n */
    ST_SUB_LEN,     /* subsection name length: 1 */
    ST_SUB_NAME,    /* subsection name + version: n + 4 */
    ST_SUB_FIELDS,  /* target-page-bits (4) or uuid (16) */
    ST_CAPS_COUNT,  /* capability count: 4 */
    ST_CAP_LEN,     /* capability name length: 1 */
    ST_CAP_NAME,    /* capability name: n */
    ST_SEC_ID,      /* section id after START/PART/END: 4 */
    ST_SEC_IDLEN,   /* START: idstr length: 1 */
    ST_SEC_IDSTR,   /* START: idstr + instance id + version: n + 8 */
    ST_REC,         /* ram record header (offset | flags): 8 */
    ST_REC_NAMELEN, /* block name length: 1 */
    ST_REC_NAME,    /* block name: n */
    ST_REC_ZERO,    /* fill byte: 1 */
    ST_REC_PAGE,    /* page data: MIGSPLIT_PAGE_SIZE */
    ST_BLK_LEN,     /* MEM_SIZE list: name length: 1 */
    ST_BLK_NAME,    /* name + used length [+ address with x-ignore-shared]: n + 8 [+ 8] */
    ST_FOOTER,      /* footer marker + section id: 5 */
    ST_PASS,        /* device sections and the rest: copied unparsed */
    ST_ERROR,
};

struct block {
    char name[256];             /* idstr, NUL-terminated */
    uint64_t size;              /* used length */
};

struct migsplit {
    struct migsplit_ops ops;
    void *ud;
    char split_name[256];       /* the block whose pages leave the stream */
    uint64_t split_size;
    uint64_t *written;          /* bitmap: split pages given to on_ram with non-zero content */
    enum st st;
    size_t need;                /* size of the next token */
    size_t have;                /* bytes of it staged in tok */
    uint8_t tok[TOKEN_MAX];
    uint64_t pos;               /* stream offset of the next token */
    int err;                    /* sticky error, 0 while fine */
    struct migsplit_stats stats;
    /* configuration */
    bool in_config;             /* a subsection marker may follow */
    bool seen_section;          /* a section (or configuration) came after the header */
    unsigned sub;               /* ST_SUB_FIELDS: which subsection (1 page bits, 2 uuid) */
    unsigned seen_subs;         /* bit per subsection kind already read */
    uint32_t caps_left;
    bool ignore_shared;         /* x-ignore-shared is on: MEM_SIZE lists an address per block */
    /* the ram section */
    int sec_type;               /* type of the section being read */
    bool ram_started, ram_ended;
    uint32_t ram_id;            /* section id of "ram" */
    bool mem_size_seen;
    uint64_t blocks_left;       /* MEM_SIZE bytes not yet covered by listed blocks */
    struct block blocks[MIGSPLIT_MAX_BLOCKS];
    unsigned nblocks;
    int cur;                    /* block of the last named record, -1 none (CONTINUE's) */
    /* the record being read */
    uint64_t rec_off;           /* page offset */
    unsigned rec_kind;          /* RAM_FLAG_ZERO or RAM_FLAG_PAGE */
    bool rec_split;             /* of the split block: leaves the stream */
    uint8_t rec[8 + 1 + 255];   /* header and name, held until the block is known */
    size_t rec_len;
    /* A part section is held back until it carries a kept record: one holding only pages of
     * the split block is dropped whole, as a share=on source would not have sent it. */
    uint8_t part[5];            /* type + section id */
    size_t part_len;            /* 5 while held, else 0 */
    bool part_empty;            /* the section being read is dropped at its EOS */
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

int migsplit_new(const char *block, uint64_t block_size, const struct migsplit_ops *ops,
                 void *ud, struct migsplit **ret)
{
    if (!block || !*block || strlen(block) > 255 || !ops || !ops->on_state || !ops->on_ram ||
        block_size == 0 || block_size % MIGSPLIT_PAGE_SIZE || block_size > MIGSPLIT_MAX_RAM)
        return -EINVAL;
    struct migsplit *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    uint64_t pages = block_size / MIGSPLIT_PAGE_SIZE;
    s->written = calloc((size_t)((pages + 63) / 64), sizeof(*s->written));
    if (!s->written) {
        free(s);
        return -ENOMEM;
    }
    s->ops = *ops;
    s->ud = ud;
    memcpy(s->split_name, block, strlen(block) + 1);
    s->split_size = block_size;
    s->st = ST_HEADER;
    s->need = 8;
    s->cur = -1;
    *ret = s;
    return 0;
}

void migsplit_free(struct migsplit *s)
{
    if (!s)
        return;
    free(s->written);
    free(s);
}

void migsplit_stats(const struct migsplit *s, struct migsplit_stats *ret)
{
    *ret = s->stats;
}

static int emit(struct migsplit *s, const void *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (s->part_len) {
        size_t held = s->part_len;
        s->part_len = 0;
        int r = emit(s, s->part, held);
        if (r < 0)
            return r;
    }
    s->stats.out_bytes += len;
    return s->ops.on_state(s->ud, buf, len);
}

/* -EBADMSG with the offset of the token being parsed. */
__attribute__((format(printf, 3, 4)))
static int bad(struct migsplit *s, struct herr *e, const char *fmt, ...)
{
    char why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return herr_set(e, -EBADMSG, "migration stream at byte %llu: %s",
                    (unsigned long long)s->pos, why);
}

static void next(struct migsplit *s, enum st st, size_t need)
{
    s->st = st;
    s->need = need;
}

/* A length-prefixed name token: at least one byte, as QEMU never sends an empty idstr. */
static int name_len(struct migsplit *s, uint8_t n, const char *what, struct herr *e)
{
    if (n == 0)
        return bad(s, e, "empty %s", what);
    return 0;
}

static int find_block(const struct migsplit *s, const uint8_t *name, size_t n)
{
    for (unsigned i = 0; i < s->nblocks; i++)
        if (strlen(s->blocks[i].name) == n && memcmp(s->blocks[i].name, name, n) == 0)
            return (int)i;
    return -1;
}

/* A section type at the top level (or a subsection marker right after the configuration). */
static int on_top(struct migsplit *s, uint8_t t, struct herr *e)
{
    if (t == VM_SUBSECTION && s->in_config) {
        next(s, ST_SUB_LEN, 1);
        return emit(s, &t, 1);
    }
    s->in_config = false;
    switch (t) {
    case VM_CONFIGURATION:
        if (s->seen_section)
            return bad(s, e, "configuration section after other sections");
        s->seen_section = true;
        next(s, ST_CONF_LEN, 4);
        return emit(s, &t, 1);
    case VM_SECTION_START:
    case VM_SECTION_PART:
    case VM_SECTION_END:
        if (t == VM_SECTION_START && s->ram_started)
            return bad(s, e, "a second iterable section starts (only 'ram' can be split)");
        if (t != VM_SECTION_START && (!s->ram_started || s->ram_ended))
            return bad(s, e, "section part or end outside the 'ram' section");
        s->seen_section = true;
        s->sec_type = t;
        next(s, ST_SEC_ID, 4);
        if (t == VM_SECTION_PART) {
            s->part[0] = t;
            return 0;
        }
        return emit(s, &t, 1);
    case VM_SECTION_FULL:
    case VM_EOF:
        if (!s->ram_ended)
            return bad(s, e, "device state before the 'ram' section ended");
        next(s, ST_PASS, 0);
        return emit(s, &t, 1);
    case VM_COMMAND:
        return bad(s, e, "a QEMU_VM_COMMAND (postcopy or return path) cannot be split");
    default:
        return bad(s, e, "unknown section type 0x%02x", t);
    }
}

static int on_sub_name(struct migsplit *s, const uint8_t *t, struct herr *e)
{
    static const struct { const char *name; unsigned kind; } subs[] = {
        { "configuration/target-page-bits", 1 },
        { "configuration/uuid", 2 },
        { "configuration/capabilities", 3 },
    };
    size_t n = s->need - 4;
    unsigned kind = 0;
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (strlen(subs[i].name) == n && memcmp(subs[i].name, t, n) == 0)
            kind = subs[i].kind;
    if (kind == 0)
        return bad(s, e, "unknown configuration subsection '%.*s'", (int)n, (const char *)t);
    if (s->seen_subs & (1u << kind))
        return bad(s, e, "configuration subsection '%.*s' twice", (int)n, (const char *)t);
    s->seen_subs |= 1u << kind;
    if (be32(t + n) != 1)
        return bad(s, e, "configuration subsection '%.*s' has version %u, expected 1", (int)n,
                   (const char *)t, be32(t + n));
    s->sub = kind;
    if (kind == 3)
        next(s, ST_CAPS_COUNT, 4);
    else
        next(s, ST_SUB_FIELDS, kind == 1 ? 4 : 16);
    return 0;
}

/* Resolves the block of the record being read and forwards what is held of it. */
static int on_rec_block(struct migsplit *s, int b, struct herr *e)
{
    if (s->rec_off > s->blocks[b].size || s->blocks[b].size - s->rec_off < MIGSPLIT_PAGE_SIZE)
        return bad(s, e, "page at offset 0x%llx is past the end of block '%s' (%llu bytes)",
                   (unsigned long long)s->rec_off, s->blocks[b].name,
                   (unsigned long long)s->blocks[b].size);
    s->cur = b;
    s->rec_split = strcmp(s->blocks[b].name, s->split_name) == 0;
    if (s->rec_kind == RAM_FLAG_ZERO)
        next(s, ST_REC_ZERO, 1);
    else
        next(s, ST_REC_PAGE, MIGSPLIT_PAGE_SIZE);
    return s->rec_split ? 0 : emit(s, s->rec, s->rec_len);
}

static const char *flag_name(unsigned kind)
{
    switch (kind) {
    case RAM_FLAG_XBZRLE:
        return "an XBZRLE page (capability xbzrle)";
    case RAM_FLAG_COMPRESS:
        return "a compressed page (capability compress)";
    case RAM_FLAG_HOOK:
        return "an RDMA hook";
    case RAM_FLAG_FULL:
        return "an obsolete full-RAM record";
    default:
        return NULL;
    }
}

static int on_rec(struct migsplit *s, const uint8_t *t, struct herr *e)
{
    uint64_t v = be64(t);
    unsigned flags = (unsigned)(v & RAM_FLAG_MASK), kind = flags & ~RAM_FLAG_CONTINUE;
    uint64_t addr = v & ~RAM_FLAG_MASK;
    switch (kind) {
    case RAM_FLAG_EOS:
        if (flags != kind || addr != 0)
            return bad(s, e, "malformed end-of-section record 0x%llx", (unsigned long long)v);
        next(s, ST_FOOTER, 5);
        if (s->part_len) {
            s->part_len = 0;
            s->part_empty = true;
            return 0;
        }
        return emit(s, t, 8);
    case RAM_FLAG_MEM_SIZE:
        if (flags != kind || s->mem_size_seen || s->sec_type != VM_SECTION_START)
            return bad(s, e, "unexpected RAM size record 0x%llx", (unsigned long long)v);
        s->mem_size_seen = true;
        s->blocks_left = addr;
        if (addr == 0)
            return bad(s, e, "RAM size record lists no RAM");
        next(s, ST_BLK_LEN, 1);
        return emit(s, t, 8);
    case RAM_FLAG_ZERO:
    case RAM_FLAG_PAGE:
        if (!s->mem_size_seen)
            return bad(s, e, "page record before the RAM size record");
        s->rec_kind = kind;
        s->rec_off = addr;
        memcpy(s->rec, t, 8);
        s->rec_len = 8;
        if (flags & RAM_FLAG_CONTINUE) {
            if (s->cur < 0)
                return bad(s, e, "page record continues no previous block");
            return on_rec_block(s, s->cur, e);
        }
        next(s, ST_REC_NAMELEN, 1);
        return 0;
    default: {
        const char *what = flag_name(kind);
        if (what)
            return bad(s, e, "%s cannot be split; turn that migration capability off", what);
        return bad(s, e, "unknown RAM record flags 0x%x", flags);
    }
    }
}

static int on_blk_name(struct migsplit *s, const uint8_t *t, struct herr *e)
{
    size_t len = s->need, n = len - (s->ignore_shared ? 16 : 8);
    uint64_t size = be64(t + n);
    if (find_block(s, t, n) >= 0)
        return bad(s, e, "RAM block '%.*s' listed twice", (int)n, (const char *)t);
    if (s->nblocks == MIGSPLIT_MAX_BLOCKS)
        return bad(s, e, "more than %u RAM blocks", MIGSPLIT_MAX_BLOCKS);
    if (size > s->blocks_left)
        return bad(s, e, "RAM block '%.*s' (%llu bytes) exceeds the RAM size record", (int)n,
                   (const char *)t, (unsigned long long)size);
    struct block *b = &s->blocks[s->nblocks++];
    memcpy(b->name, t, n);
    b->name[n] = 0;
    b->size = size;
    if (strcmp(b->name, s->split_name) == 0 && size != s->split_size)
        return bad(s, e, "RAM block '%s' has %llu bytes, expected %llu", b->name,
                   (unsigned long long)size, (unsigned long long)s->split_size);
    s->blocks_left -= size;
    if (s->blocks_left > 0) {
        next(s, ST_BLK_LEN, 1);
    } else {
        if (find_block(s, (const uint8_t *)s->split_name, strlen(s->split_name)) < 0)
            return bad(s, e, "the stream has no RAM block '%s'", s->split_name);
        next(s, ST_REC, 8);
    }
    return emit(s, t, len);
}

static bool page_written(const struct migsplit *s, uint64_t page)
{
    return s->written[page / 64] & (1ull << (page % 64));
}

static void page_mark(struct migsplit *s, uint64_t page, bool on)
{
    if (on)
        s->written[page / 64] |= 1ull << (page % 64);
    else
        s->written[page / 64] &= ~(1ull << (page % 64));
}

/* A zero-page record of the split block: the RAM file is zero there unless an earlier record
 * of this stream wrote the page (a page dirtied between iterations is sent again). */
static int on_split_zero(struct migsplit *s, uint8_t fill)
{
    uint64_t page = s->rec_off / MIGSPLIT_PAGE_SIZE;
    if (fill == 0 && !page_written(s, page)) {
        s->stats.zero_pages++;
        return 0;
    }
    uint8_t buf[MIGSPLIT_PAGE_SIZE];
    memset(buf, fill, sizeof(buf));
    page_mark(s, page, fill != 0);
    s->stats.ram_pages++;
    return s->ops.on_ram(s->ud, s->rec_off, buf, sizeof(buf));
}

/* Processes one complete token t of s->need bytes. */
static int step(struct migsplit *s, const uint8_t *t, struct herr *e)
{
    size_t n = s->need; /* next() below changes s->need */
    switch (s->st) {
    case ST_HEADER:
        if (be32(t) != VM_MAGIC)
            return bad(s, e, "not a QEMU migration stream (magic 0x%08x)", be32(t));
        if (be32(t + 4) != VM_VERSION)
            return bad(s, e, "stream version %u, expected %u", be32(t + 4), VM_VERSION);
        next(s, ST_TOP, 1);
        return emit(s, t, 8);
    case ST_TOP:
        return on_top(s, t[0], e);
    case ST_CONF_LEN: {
        uint32_t name = be32(t);
        if (name == 0 || name > MAX_MACHINE_NAME)
            return bad(s, e, "machine name of %u bytes", name);
        next(s, ST_CONF_NAME, name);
        return emit(s, t, 4);
    }
    case ST_CONF_NAME:
        s->in_config = true;
        next(s, ST_TOP, 1);
        return emit(s, t, n);
    case ST_SUB_LEN:
        if (name_len(s, t[0], "subsection name", e) < 0)
            return -EBADMSG;
        next(s, ST_SUB_NAME, (size_t)t[0] + 4);
        return emit(s, t, 1);
    case ST_SUB_NAME: {
        int r = on_sub_name(s, t, e);
        return r < 0 ? r : emit(s, t, n);
    }
    case ST_SUB_FIELDS:
        if (s->sub == 1 && be32(t) != 12)
            return bad(s, e, "target page bits %u, expected 12", be32(t));
        s->in_config = true;
        next(s, ST_TOP, 1);
        return emit(s, t, n);
    case ST_CAPS_COUNT:
        s->caps_left = be32(t);
        if (s->caps_left > MAX_CAPS)
            return bad(s, e, "%u capabilities listed", s->caps_left);
        s->in_config = true;
        if (s->caps_left)
            next(s, ST_CAP_LEN, 1);
        else
            next(s, ST_TOP, 1);
        return emit(s, t, 4);
    case ST_CAP_LEN:
        if (name_len(s, t[0], "capability name", e) < 0)
            return -EBADMSG;
        next(s, ST_CAP_NAME, t[0]);
        return emit(s, t, 1);
    case ST_CAP_NAME: {
        if (n == strlen("x-ignore-shared") && memcmp(t, "x-ignore-shared", n) == 0)
            s->ignore_shared = true;
        if (--s->caps_left)
            next(s, ST_CAP_LEN, 1);
        else
            next(s, ST_TOP, 1);
        return emit(s, t, n);
    }
    case ST_SEC_ID:
        if (s->sec_type == VM_SECTION_START) {
            s->ram_id = be32(t);
            next(s, ST_SEC_IDLEN, 1);
        } else {
            if (be32(t) != s->ram_id)
                return bad(s, e, "section id %u is not the 'ram' section's (%u)", be32(t),
                           s->ram_id);
            next(s, ST_REC, 8);
            if (s->sec_type == VM_SECTION_PART) {
                memcpy(s->part + 1, t, 4);
                s->part_len = 5;
                return 0;
            }
        }
        return emit(s, t, 4);
    case ST_SEC_IDLEN:
        if (name_len(s, t[0], "section name", e) < 0)
            return -EBADMSG;
        next(s, ST_SEC_IDSTR, (size_t)t[0] + 8);
        return emit(s, t, 1);
    case ST_SEC_IDSTR:
        if (n - 8 != 3 || memcmp(t, "ram", 3) != 0)
            return bad(s, e, "iterable section '%.*s' cannot be split (only 'ram')",
                       (int)(n - 8), (const char *)t);
        if (be32(t + n - 4) != RAM_SECTION_VERSION)
            return bad(s, e, "'ram' section version %u, expected %u", be32(t + n - 4),
                       RAM_SECTION_VERSION);
        s->ram_started = true;
        next(s, ST_REC, 8);
        return emit(s, t, n);
    case ST_REC:
        return on_rec(s, t, e);
    case ST_REC_NAMELEN:
        if (name_len(s, t[0], "RAM block name", e) < 0)
            return -EBADMSG;
        s->rec[s->rec_len++] = t[0];
        next(s, ST_REC_NAME, t[0]);
        return 0;
    case ST_REC_NAME: {
        int b = find_block(s, t, n);
        if (b < 0)
            return bad(s, e, "page of unknown RAM block '%.*s'", (int)n, (const char *)t);
        memcpy(s->rec + s->rec_len, t, n);
        s->rec_len += n;
        return on_rec_block(s, b, e);
    }
    case ST_REC_ZERO:
        next(s, ST_REC, 8);
        return s->rec_split ? on_split_zero(s, t[0]) : emit(s, t, 1);
    case ST_REC_PAGE:
        next(s, ST_REC, 8);
        if (!s->rec_split)
            return emit(s, t, MIGSPLIT_PAGE_SIZE);
        page_mark(s, s->rec_off / MIGSPLIT_PAGE_SIZE, true);
        s->stats.ram_pages++;
        return s->ops.on_ram(s->ud, s->rec_off, t, MIGSPLIT_PAGE_SIZE);
    case ST_BLK_LEN:
        if (name_len(s, t[0], "RAM block name", e) < 0)
            return -EBADMSG;
        next(s, ST_BLK_NAME, (size_t)t[0] + (s->ignore_shared ? 16 : 8));
        return emit(s, t, 1);
    case ST_BLK_NAME:
        return on_blk_name(s, t, e);
    case ST_FOOTER:
        if (t[0] != VM_SECTION_FOOTER || be32(t + 1) != s->ram_id)
            return bad(s, e, "missing or wrong footer of the 'ram' section");
        if (s->sec_type == VM_SECTION_END)
            s->ram_ended = true;
        next(s, ST_TOP, 1);
        if (s->part_empty) {
            s->part_empty = false;
            return 0;
        }
        return emit(s, t, 5);
    case ST_PASS:
    case ST_ERROR:
        break;
    }
    return herr_set(e, -EINVAL, "migration stream splitter in state %d", (int)s->st);
}

/* The split broke with r: it stays broken (later pushes fail with r). */
static int split_fail(struct migsplit *s, int r)
{
    s->err = r;
    s->st = ST_ERROR;
    return r;
}

int migsplit_push(struct migsplit *s, const void *buf, size_t len, struct herr *e)
{
    const uint8_t *p = buf;
    if (s->err)
        return herr_set(e, s->err, "migration stream: an earlier error stopped the split");
    s->stats.in_bytes += len;
    while (len > 0 && s->st != ST_PASS) {
        const uint8_t *t;
        if (s->have == 0 && len >= s->need) {
            t = p; /* whole token in the input: no copy (most pages arrive this way) */
            p += s->need;
            len -= s->need;
        } else {
            size_t k = s->need - s->have < len ? s->need - s->have : len;
            memcpy(s->tok + s->have, p, k);
            s->have += k;
            p += k;
            len -= k;
            if (s->have < s->need)
                break;
            s->have = 0;
            t = s->tok;
        }
        size_t consumed = s->need;
        int r = step(s, t, e);
        if (r < 0)
            return split_fail(s, r);
        s->pos += consumed;
    }
    if (len > 0) {
        int r = emit(s, p, len);
        if (r < 0)
            return split_fail(s, r);
        s->pos += len;
    }
    return 0;
}

int migsplit_finish(struct migsplit *s, struct herr *e)
{
    if (s->err)
        return herr_set(e, s->err, "migration stream: an earlier error stopped the split");
    if (s->st != ST_PASS) {
        s->err = -EBADMSG;
        return herr_set(e, -EBADMSG, "migration stream truncated at byte %llu (state %d)",
                        (unsigned long long)(s->pos + s->have), (int)s->st);
    }
    return 0;
}
