/* SPDX-License-Identifier: MIT */
/* test_context_tar.c: the build context checks (tpl/context_tar.h): real archives made with
 * tar(1) in GNU, pax and ustar formats, hostile ones made with tar (absolute names, escaping
 * and absolute symlinks, FIFOs) and hand-crafted headers (bad checksums, truncation, huge and
 * base-256 sizes, hard links, devices, '..', symlink chains, pax and GNU long names, limits),
 * each with the exact entry number and message. */
#include "daemon/tpl/context_tar.h"
#include "harness.h"
#include "memread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct tpl_ctx_limits lim = { .max_bytes = 1 << 24, .max_entries = 1000 };

static int check(const void *p, size_t n, const struct tpl_ctx_limits *l, struct tpl_ctx_info *info,
                 char *err, size_t errlen)
{
    struct memread m = { p, n, 100 };   /* short reads: the checker's loop must cope */
    return tpl_ctx_check(memread_at, &m, n, l, info, err, errlen);
}

/* --- hand-made archives --- */

struct tarb {
    unsigned char *p;
    size_t n;
};

static void blocks(struct tarb *t, size_t n)
{
    t->p = realloc(t->p, t->n + n * 512);
    memset(t->p + t->n, 0, n * 512);
    t->n += n * 512;
}

static void seal(unsigned char *h)
{
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
}

/* One header (ustar magic, or GNU's when gnu) and size bytes of 'x' as contents. */
static unsigned char *hdr(struct tarb *t, const char *name, char type, uint64_t size,
                          const char *link, bool gnu)
{
    blocks(t, 1);
    unsigned char *h = t->p + t->n - 512;
    strncpy((char *)h, name, 100);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0001750", 8);
    memcpy(h + 116, "0001750", 8);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    memcpy(h + 136, "14707070707", 12);
    h[156] = (unsigned char)type;
    if (link)
        strncpy((char *)h + 157, link, 100);
    memcpy(h + 257, gnu ? "ustar  \0" : "ustar\0" "00", 8);
    seal(h);
    size_t off = t->n - 512;
    if (size && size < (1 << 20)) {
        blocks(t, (size + 511) / 512);
        memset(t->p + off + 512, 'x', size);
    }
    return t->p + off;
}

static void payload(struct tarb *t, const char *name, char type, const char *text)
{
    size_t n = strlen(text);
    size_t off = t->n;
    hdr(t, name, type, n, NULL, type == 'L' || type == 'K');
    memcpy(t->p + off + 512, text, n);
}

/* One pax record with its length right. */
static const char *rec(const char *kv)
{
    static char r[300];
    size_t n = strlen(kv) + 4;          /* "NN " + kv + "\n" */
    if (n >= 100)
        n++;
    snprintf(r, sizeof(r), "%zu %s\n", n, kv);
    return r;
}

static void end(struct tarb *t)
{
    blocks(t, 2);
}

static bool refused(struct tarb *t, int want_r, const char *want, int at)
{
    struct tpl_ctx_info info;
    char err[300];
    int r = check(t->p, t->n, &lim, &info, err, sizeof(err));
    free(t->p);
    t->p = NULL;
    t->n = 0;
    if (r != want_r || strncmp(err, want, strlen(want)) != 0) {
        harness_fail(__FILE__, at, "got %d \"%s\", want %d \"%s\"", r, err, want_r, want);
        return false;
    }
    return true;
}
#define REFUSED(t, r, want) refused(t, r, want, __LINE__)

TEST(ctx_handmade_hostile)
{
    struct tarb t = { 0 };
    hdr(&t, "ok", '0', 3, NULL, false);
    hdr(&t, "../x", '0', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 2 ('../x'): '..' in a name");

    hdr(&t, "a/../../x", '5', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('a/../../x'): '..' in a name");

    hdr(&t, "/etc/passwd", '0', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('/etc/passwd'): an absolute name");

    unsigned char *h = hdr(&t, "f", '0', 0, NULL, false);
    h[0] = 'g';                         /* contents changed after the checksum */
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: a bad header checksum");

    hdr(&t, "f", '0', 1000, NULL, false);
    t.n -= 512;                         /* the second data block is missing */
    REFUSED(&t, -EINVAL, "entry 1: its size (1000) runs past the end of the archive");

    hdr(&t, "f", '0', 0, NULL, false);
    t.n -= 100;
    REFUSED(&t, -EINVAL, "entry 1: the archive is truncated");

    h = hdr(&t, "f", '0', 0, NULL, false);
    memcpy(h + 124, "77777777777", 11); /* 8 GiB - 1 */
    seal(h);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: its size (8589934591) runs past");

    h = hdr(&t, "f", '0', 0, NULL, false);
    memset(h + 124, 0xff, 12);          /* base-256, negative */
    seal(h);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: a bad size field");

    h = hdr(&t, "f", '0', 0, NULL, false);
    memset(h + 124, 0xff, 12);          /* base-256, 2^88 - 1: overflows 64 bits */
    h[124] = 0x80;
    seal(h);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: a bad size field");

    h = hdr(&t, "f", '0', 0, NULL, false);
    memcpy(h + 124, "12x45", 5);
    seal(h);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: a bad size field");

    hdr(&t, "dev", '3', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('dev'): a device node");
    hdr(&t, "blk", '4', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('blk'): a device node");
    hdr(&t, "fifo", '6', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('fifo'): a FIFO");
    hdr(&t, "sp", 'S', 0, NULL, true);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('sp'): sparse files are not supported");
    hdr(&t, "weird", 'Q', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('weird'): an entry of unsupported type 'Q'");

    h = hdr(&t, "f", '0', 0, NULL, false);
    memcpy(h + 257, "XXXXXXXX", 8);
    seal(h);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: not a ustar, GNU or pax header");

    hdr(&t, "d", '5', 10, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('d'): a directory with a size");

    hdr(&t, "f", '0', 0, NULL, false);
    end(&t);
    hdr(&t, "late", '0', 0, NULL, false);
    REFUSED(&t, -EINVAL, "entry 2: data after the end of the archive");
}

TEST(ctx_handmade_links)
{
    struct tarb t = { 0 };
    hdr(&t, "h", '1', 0, "nothere", false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('h'): a hard link to 'nothere', not an earlier file");

    hdr(&t, "h", '1', 0, "later", false);
    hdr(&t, "later", '0', 1, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('h'): a hard link to 'later', not an earlier file");

    hdr(&t, "h", '1', 0, "../outside", false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('h'): a hard link target '../outside' outside the context");

    hdr(&t, "h", '1', 0, "/etc/shadow", false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('h'): an absolute link target '/etc/shadow'");

    hdr(&t, "a/b/l", '2', 0, "../../x", false);   /* inside from a/b */
    hdr(&t, "l2", '1', 0, "a/b/l", false);        /* the same link one level up would leave */
    end(&t);
    REFUSED(&t, -EINVAL, "entry 2 ('l2'): a hard link to 'a/b/l', not an earlier file");

    hdr(&t, "d", '5', 0, NULL, false);
    hdr(&t, "h", '1', 0, "d", false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 2 ('h'): a hard link to 'd', not an earlier file");

    hdr(&t, "l", '2', 0, "../etc/passwd", false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('l'): its target '../etc/passwd' leaves the context");

    hdr(&t, "l", '2', 0, "/etc/passwd", false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('l'): an absolute link target '/etc/passwd'");

    hdr(&t, "l", '2', 0, "", false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('l'): a link without a target");

    hdr(&t, "l", '2', 5, "x", false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('l'): a link with a size");

    /* a/s -> "." (a itself), then a/l -> s/../../x: lexically x, really ../x */
    hdr(&t, "a/s", '2', 0, ".", false);
    hdr(&t, "a/l", '2', 0, "s/../../x", false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 2 ('a/l'): its target goes through the symlink 'a/s'");

    /* an entry whose path goes through a symlink, in either order */
    hdr(&t, "d/x", '0', 0, NULL, false);
    hdr(&t, "d", '2', 0, "sub", false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('d/x'): its path goes through the symlink 'd'");
    hdr(&t, "d", '2', 0, "sub", false);
    hdr(&t, "./d//y", '0', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 2 ('d/y'): its path goes through the symlink 'd'");
}

TEST(ctx_handmade_long_names)
{
    struct tarb t = { 0 };
    payload(&t, "././@LongLink", 'L', "../../evil");
    hdr(&t, "innocent", '0', 0, NULL, true);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('../../evil'): '..' in a name");

    payload(&t, "PaxHeaders/x", 'x', rec("path=/abs/name"));
    hdr(&t, "innocent", '0', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('/abs/name'): an absolute name");

    payload(&t, "PaxHeaders/x", 'x', rec("linkpath=../../../x"));
    hdr(&t, "l", '2', 0, "fine", false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('l'): its target '../../../x' leaves the context");

    /* pax size: the header says 0, the record 2000: the contents must be there */
    payload(&t, "PaxHeaders/x", 'x', rec("size=2000"));
    hdr(&t, "f", '0', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: its size (2000) runs past the end of the archive");

    payload(&t, "PaxHeaders/g", 'g', rec("path=x/y/z"));
    hdr(&t, "f", '0', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: a pax global header setting 'path'");

    payload(&t, "PaxHeaders/x", 'x', "99 path=x\n");
    hdr(&t, "f", '0', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: a malformed pax record");

    payload(&t, "PaxHeaders/x", 'x', "4 \n");
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: a malformed pax record");

    payload(&t, "PaxHeaders/x", 'x', "12 path=abc");
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: a malformed pax record");

    payload(&t, "PaxHeaders/x", 'x', "6 =ab\n");
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: a malformed pax record");

    payload(&t, "PaxHeaders/x", 'x', rec("GNU.sparse.major=1"));
    hdr(&t, "f", '0', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: sparse files are not supported");

    payload(&t, "PaxHeaders/x", 'x', rec("path=abc"));
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: an extended header without its entry");

    hdr(&t, "././@LongLink", 'L', 70000, NULL, true);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1: an extended header of 70000 bytes");

    hdr(&t, "bad\nname", '0', 0, NULL, false);
    end(&t);
    REFUSED(&t, -EINVAL, "entry 1 ('bad?name'): a control character in the name");

    /* a good pax archive, with a long name and a size record */
    char kv[200] = "path=";
    memset(kv + 5, 'n', 160);
    kv[165] = '\0';
    payload(&t, "PaxHeaders/x", 'x', rec(kv));
    hdr(&t, "short", '0', 10, NULL, false);
    end(&t);
    struct tpl_ctx_info info;
    char err[300] = "";
    int r = check(t.p, t.n, &lim, &info, err, sizeof(err));
    free(t.p);
    if (r != 0)
        harness_fail(__FILE__, __LINE__, "%d %s", r, err);
    CHECK_EQ(info.entries, 1);
    CHECK_EQ(info.file_bytes, 10);
}

TEST(ctx_limits_and_empty)
{
    struct tarb t = { 0 };
    struct tpl_ctx_info info;
    char err[300];
    CHECK_EQ(check("", 0, &lim, &info, err, sizeof(err)), 0);
    CHECK_EQ(info.entries, 0);
    for (int i = 0; i < 5; i++)
        hdr(&t, "f", '0', 1, NULL, false);
    end(&t);
    struct tpl_ctx_limits small = { .max_bytes = 1 << 20, .max_entries = 4 };
    CHECK_EQ(check(t.p, t.n, &small, &info, err, sizeof(err)), -EFBIG);
    CHECK_STR(err, "entry 5: more than 4 entries");
    small = (struct tpl_ctx_limits){ .max_bytes = 4096, .max_entries = 100 };
    CHECK_EQ(check(t.p, t.n, &small, &info, err, sizeof(err)), -EFBIG);
    CHECK_STR(err, "the context is 6144 bytes, over the limit of 4096");
    CHECK_EQ(check(t.p, t.n, &lim, &info, err, sizeof(err)), 0);
    CHECK_EQ(info.entries, 5);
    CHECK_EQ(info.file_bytes, 5);
    free(t.p);
}

static long failing_read(void *ud, void *buf, size_t n, uint64_t off)
{
    return -EIO;
}

/* a reader's own failure comes back as it is */
TEST(ctx_reader_error)
{
    char err[300];
    struct tpl_ctx_info info;
    CHECK_EQ(tpl_ctx_check(failing_read, NULL, 1024, &lim, &info, err, sizeof(err)), -EIO);
}

/* --- archives made by tar(1) --- */

static char dir[64];

/* fmt: the first %s is the temporary directory, the second arg, or a long name when arg is
 * NULL */
static bool sh(const char *fmt, const char *arg)
{
    char cmd[1024], lng[71];
    memset(lng, 'n', 70);
    lng[70] = '\0';
    snprintf(cmd, sizeof(cmd), fmt, dir, arg ? arg : lng, lng);
    return system(cmd) == 0;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *p = malloc(1 << 22);
    *n = p ? fread(p, 1, 1 << 22, f) : 0;
    fclose(f);
    return p;
}

static int check_file(const char *path, struct tpl_ctx_info *info, char *err, size_t errlen)
{
    size_t n;
    unsigned char *p = slurp(path, &n);
    if (!p)
        return -ENOENT;
    int r = check(p, n, &lim, info, err, errlen);
    free(p);
    return r;
}

static bool mkctx(void)
{
    snprintf(dir, sizeof(dir), "/tmp/hearth-ctx-XXXXXX");
    if (!mkdtemp(dir))
        return false;
    return sh("cd %s && mkdir -p c/sub/deep && printf hello >c/a && printf 12345678 >c/sub/b && "
              "ln -s ../a c/sub/link && ln c/a c/hard && "
              "mkdir c/sub/deep/%s && printf x >c/sub/deep/%s/"
              "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", NULL);
}

TEST(ctx_real_tars_good)
{
    if (!mkctx())
        harness_skip("cannot make a context directory");
    static const char *const formats[] = { "gnu", "pax", "ustar", "v7" };
    for (size_t i = 0; i < 4; i++) {
        if (!sh(i == 3 ? "cd %s/c && tar --format=%s -cf ../x.tar a"
                       : "cd %s/c && tar --format=%s -cf ../x.tar .", formats[i])) {
            harness_fail(__FILE__, __LINE__, "tar --format=%s failed", formats[i]);
            continue;
        }
        char path[128], err[300] = "";
        snprintf(path, sizeof(path), "%s/x.tar", dir);
        struct tpl_ctx_info info;
        int r = check_file(path, &info, err, sizeof(err));
        if (i == 3) {                   /* v7: no magic at all: refused */
            if (r != -EINVAL || !strstr(err, "not a ustar, GNU or pax header"))
                harness_fail(__FILE__, __LINE__, "v7: %d %s", r, err);
            continue;
        }
        if (r != 0) {
            harness_fail(__FILE__, __LINE__, "%s: %d %s", formats[i], r, err);
            continue;
        }
        /* ., a, hard, sub, sub/b, sub/link, sub/deep, sub/deep/n…, sub/deep/n…/m… */
        if (info.entries != 9 || info.file_bytes != 5 + 8 + 1)
            harness_fail(__FILE__, __LINE__, "%s: %llu entries, %llu bytes", formats[i],
                         (unsigned long long)info.entries, (unsigned long long)info.file_bytes);
    }
    sh("rm -rf %s", "");
}

TEST(ctx_real_tars_hostile)
{
    if (!mkctx())
        harness_skip("cannot make a context directory");
    static const struct {
        const char *make;                   /* %s: the temporary directory */
        const char *want;
    } cases[] = {
        { "cd %s && tar -cPf x.tar %s/c/a 2>/dev/null", "entry 1 ('/tmp/hearth-ctx-" },
        { "cd %s/c && ln -s ../../../etc/passwd sub/evil && tar -cf ../x.tar sub/evil",
          "entry 1 ('sub/evil'): its target '../../../etc/passwd' leaves the context" },
        { "cd %s/c && ln -s /etc/passwd abs && tar -cf ../x.tar abs",
          "entry 1 ('abs'): an absolute link target '/etc/passwd'" },
        { "cd %s/c && mkfifo pipe && tar -cf ../x.tar a pipe", "entry 2 ('pipe'): a FIFO" },
        { "cd %s/c && tar -cf ../x.tar a && head -c 700 ../x.tar >../y.tar && mv ../y.tar ../x.tar",
          "entry 1: its size (5) runs past the end of the archive" },
        { "cd %s/c && tar -cf ../x.tar a && head -c 300 ../x.tar >../y.tar && mv ../y.tar ../x.tar",
          "entry 1: the archive is truncated" },
        { "cd %s/c && tar -cPf ../x.tar ../c/a 2>/dev/null", "entry 1 ('../c/a'): '..' in a name" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (!sh(cases[i].make, dir)) {
            harness_fail(__FILE__, __LINE__, "case %zu: could not make the tar", i);
            continue;
        }
        char path[128], err[300] = "";
        snprintf(path, sizeof(path), "%s/x.tar", dir);
        struct tpl_ctx_info info;
        int r = check_file(path, &info, err, sizeof(err));
        if (r != -EINVAL || strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            harness_fail(__FILE__, __LINE__, "case %zu: %d \"%s\", want \"%s\"", i, r, err,
                         cases[i].want);
    }
    sh("rm -rf %s", "");
}

TEST(ctx_path_inside)
{
    static const struct { const char *p; bool in; } cases[] = {
        { "a", true }, { "./a/../b", true }, { ".", true }, { "./", true }, { "a/b/../..", true },
        { "a//b/", true }, { "../b", false }, { "/b", false }, { "a/../../b", false },
        { "", false }, { "..", false }, { "//x", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (tpl_ctx_path_inside(cases[i].p) != cases[i].in)
            harness_fail(__FILE__, __LINE__, "'%s': want %d", cases[i].p, cases[i].in);
    CHECK(!tpl_ctx_path_inside(NULL));
}
