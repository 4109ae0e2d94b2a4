/* SPDX-License-Identifier: MIT */
/* context_tar.c: the checks of context_tar.h over a build context tar (docs/templates.md
 * "Build contexts"). Reads 512-byte headers and skips contents; keeps every entry's name so
 * that, once the whole archive is read, no path may go through a symlink of the archive (a
 * symlink changes what ".." and later names mean, so lexical checks alone would not hold) and
 * hard links name earlier regular files. Strict where tar implementations differ: no ".." in a
 * name, no size on links or directories, nothing but zeros after the end blocks. */
#include "daemon/tpl/context_tar.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

#define BLK 512
#define NAME_MAX_BYTES 4096             /* PATH_MAX: longer names are refused */
#define META_MAX 65536                  /* a pax or GNU long-name header's contents */

enum { E_FILE = 1, E_DIR = 2, E_SYMLINK = 4, E_HARDLINK = 8 };

struct ent {
    char *name;                         /* normalised: no ".", "..", empty or trailing parts */
    uint64_t hash;
    uint64_t index;                     /* 1-based entry number, for messages */
    unsigned flags;                     /* E_*: every kind this name has been in the archive */
    char *target;                       /* a symlink's target as written */
};

struct names {
    struct ent *slot;                   /* open addressing, power-of-two size */
    size_t cap, n;
};

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}
#define FNV0 14695981039346656037ull

static struct ent *names_find(const struct names *t, const char *s, size_t n, uint64_t h)
{
    if (!t->cap)
        return NULL;
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        struct ent *e = &t->slot[i];
        if (!e->name)
            return NULL;
        if (e->hash == h && strlen(e->name) == n && memcmp(e->name, s, n) == 0)
            return e;
    }
}

static struct ent *names_add(struct names *t, const char *s, uint64_t h)
{
    size_t n = strlen(s);
    struct ent *e = names_find(t, s, n, h);
    if (e)
        return e;
    if ((t->n + 1) * 2 > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 64;
        struct ent *ns = calloc(ncap, sizeof(*ns));
        if (!ns)
            return NULL;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slot[i].name)
                continue;
            size_t j = t->slot[i].hash & (ncap - 1);
            while (ns[j].name)
                j = (j + 1) & (ncap - 1);
            ns[j] = t->slot[i];
        }
        free(t->slot);
        t->slot = ns;
        t->cap = ncap;
    }
    size_t i = h & (t->cap - 1);
    while (t->slot[i].name)
        i = (i + 1) & (t->cap - 1);
    t->slot[i] = (struct ent){ .name = strdup(s), .hash = h };
    if (!t->slot[i].name)
        return NULL;
    t->n++;
    return &t->slot[i];
}

static void names_release(struct names *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        free(t->slot[i].name);
        free(t->slot[i].target);
    }
    free(t->slot);
}

/* Lexical normalisation into out (room for strlen(in) + 1): drops empty and "." parts; ".."
 * pops one, or fails when nothing is left to pop. false for an absolute path or an escape. When
 * dotdot is false, any ".." fails. */
static bool norm(const char *in, char *out, bool dotdot)
{
    if (in[0] == '/')
        return false;
    size_t o = 0;
    for (const char *s = in; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (!dotdot || o == 0)
                return false;
            while (o && out[o - 1] != '/')
                o--;
            if (o)
                o--;
        } else if (n && !(n == 1 && s[0] == '.')) {
            if (o)
                out[o++] = '/';
            memcpy(out + o, s, n);
            o += n;
        }
        s += n + (e ? 1 : 0);
    }
    out[o] = '\0';
    return true;
}

bool tpl_ctx_path_inside(const char *name)
{
    if (!name || !*name)
        return false;
    char *tmp = malloc(strlen(name) + 1);
    if (!tmp)
        return false;
    bool ok = norm(name, tmp, true);
    free(tmp);
    return ok;
}

struct tar {
    tpl_ctx_read_fn read_at;
    void *ud;
    uint64_t len, off;
    const struct tpl_ctx_limits *lim;
    char *err;
    size_t errlen;
    uint64_t index;                     /* entry number being read (1-based) */
    char shown[80];                     /* its name for messages, cut */
    struct names names;
};

__attribute__((format(printf, 3, 4))) static int fail(struct tar *t, int r, const char *fmt, ...)
{
    if (!t->err || !t->errlen)
        return r;
    int off;
    if (t->shown[0])
        off = snprintf(t->err, t->errlen, "entry %llu ('%s'): ", (unsigned long long)t->index,
                       t->shown);
    else
        off = snprintf(t->err, t->errlen, "entry %llu: ", (unsigned long long)t->index);
    if (off < 0 || (size_t)off >= t->errlen)
        return r;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err + off, t->errlen - (size_t)off, fmt, ap);
    va_end(ap);
    return r;
}

static void show(struct tar *t, const char *name)
{
    size_t n = strlen(name), k = 0;
    for (size_t i = 0; i < n && k + 4 < sizeof(t->shown); i++) {
        unsigned char c = (unsigned char)name[i];
        t->shown[k++] = (c < 0x20 || c == 0x7f || c >= 0x80) ? '?' : (char)c;
    }
    if (n > sizeof(t->shown) - 5) {
        memcpy(t->shown + k, "...", 3);
        k += 3;
    }
    t->shown[k] = '\0';
}

/* n bytes at off (within len); -EINVAL when the archive ends first. */
static int read_exact(struct tar *t, void *buf, size_t n, uint64_t off)
{
    if (off > t->len || n > t->len - off)
        return fail(t, -EINVAL, "the archive is truncated");
    size_t got = 0;
    while (got < n) {
        long r = t->read_at(t->ud, (char *)buf + got, n - got, off + got);
        if (r < 0)
            return (int)r;
        if (r == 0 || (size_t)r > n - got)
            return fail(t, -EINVAL, "the archive is truncated");
        got += (size_t)r;
    }
    return 0;
}

/* A numeric header field: octal (NUL- or space-terminated) or GNU base-256. */
static int field_num(const unsigned char *f, size_t n, uint64_t *ret)
{
    if (f[0] & 0x80) {
        if (f[0] != 0x80)
            return -EINVAL;             /* negative or a size GNU never writes */
        uint64_t v = 0;
        for (size_t i = 1; i < n; i++) {
            if (v >> 55)
                return -ERANGE;
            v = (v << 8) | f[i];
        }
        *ret = v;
        return 0;
    }
    size_t i = 0;
    while (i < n && f[i] == ' ')
        i++;
    uint64_t v = 0;
    bool digits = false;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v >> 60)
            return -ERANGE;
        v = v * 8 + (f[i] - '0');
        digits = true;
    }
    for (; i < n; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return -EINVAL;
    if (!digits)
        v = 0;
    *ret = v;
    return 0;
}

static bool zero_block(const unsigned char *b)
{
    for (size_t i = 0; i < BLK; i++)
        if (b[i])
            return false;
    return true;
}

static bool checksum_ok(const unsigned char *h)
{
    uint64_t want;
    if (field_num(h + 148, 8, &want) < 0)
        return false;
    unsigned long u = 0;
    long s = 0;
    for (size_t i = 0; i < BLK; i++) {
        unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];
        u += c;
        s += (signed char)c;
    }
    return want == u || (long)want == s;
}

/* What the meta headers (pax 'x', GNU 'L'/'K') set for the next entry. */
struct meta {
    char *path, *linkpath;
    bool has_size;
    uint64_t size;
};

static void meta_release(struct meta *m)
{
    free(m->path);
    free(m->linkpath);
    *m = (struct meta){ 0 };
}

static int set_str(struct tar *t, char **slot, const char *v, size_t n)
{
    if (memchr(v, '\0', n))
        return fail(t, -EINVAL, "a NUL inside a long name");
    if (n == 0 || n > NAME_MAX_BYTES)
        return fail(t, -EINVAL, "a name of %zu bytes (1 to %d)", n, NAME_MAX_BYTES);
    free(*slot);
    *slot = strndup(v, n);
    return *slot ? 0 : -ENOMEM;
}

/* pax records: "<len> <key>=<value>\n", len counting the whole record. */
static int pax(struct tar *t, const char *p, size_t n, bool global, struct meta *m)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i, len = 0;
        while (j < n && p[j] >= '0' && p[j] <= '9' && len < META_MAX + 1)
            len = len * 10 + (size_t)(p[j++] - '0');
        if (j == i || j >= n || p[j] != ' ' || len <= j - i + 1 || len > n - i ||
            p[i + len - 1] != '\n')
            return fail(t, -EINVAL, "a malformed pax record");
        const char *k = p + j + 1, *end = p + i + len - 1;
        const char *eq = memchr(k, '=', (size_t)(end - k));
        if (!eq || eq == k)
            return fail(t, -EINVAL, "a malformed pax record");
        size_t kl = (size_t)(eq - k), vl = (size_t)(end - eq - 1);
        const char *v = eq + 1;
        bool path = kl == 4 && memcmp(k, "path", 4) == 0;
        bool link = kl == 8 && memcmp(k, "linkpath", 8) == 0;
        bool size = kl == 4 && memcmp(k, "size", 4) == 0;
        int r = 0;
        if ((path || link || size) && global)
            return fail(t, -EINVAL, "a pax global header setting '%.*s'", (int)kl, k);
        if (kl >= 11 && memcmp(k, "GNU.sparse.", 11) == 0)
            return fail(t, -EINVAL, "sparse files are not supported");
        if (path)
            r = set_str(t, &m->path, v, vl);
        else if (link)
            r = set_str(t, &m->linkpath, v, vl);
        else if (size) {
            char num[24];
            if (vl == 0 || vl >= sizeof(num))
                return fail(t, -EINVAL, "a bad pax size");
            memcpy(num, v, vl);
            num[vl] = '\0';
            if (parse_u64(num, 0, UINT64_MAX, &m->size) < 0)
                return fail(t, -EINVAL, "a bad pax size");
            m->has_size = true;
        }
        if (r < 0)
            return r;
        i += len;
    }
    return 0;
}

static int read_meta(struct tar *t, uint64_t size, char **ret)
{
    if (size > META_MAX)
        return fail(t, -EINVAL, "an extended header of %llu bytes (at most %d)",
                    (unsigned long long)size, META_MAX);
    char *p = malloc(size + 1);
    if (!p)
        return -ENOMEM;
    int r = read_exact(t, p, size, t->off);
    if (r < 0) {
        free(p);
        return r;
    }
    p[size] = '\0';
    *ret = p;
    return 0;
}

/* Every proper prefix of name (normalised) that is a symlink of the archive, or NULL. */
static const struct ent *through_symlink(const struct names *t, const char *name)
{
    uint64_t h = FNV0;
    for (size_t i = 0; name[i]; i++) {
        if (name[i] == '/') {
            const struct ent *e = names_find(t, name, i, h);
            if (e && (e->flags & E_SYMLINK))
                return e;
        }
        h = fnv(h, name + i, 1);
    }
    return NULL;
}

static int by_index(const void *a, const void *b)
{
    const struct ent *x = *(const struct ent *const *)a, *y = *(const struct ent *const *)b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* One name's checks once the whole archive is known: its path does not go through a symlink,
 * and a symlink resolves inside the context from its own directory without passing through
 * another one. */
static int final_check(struct tar *t, const struct ent *e)
{
    const struct names *ns = &t->names;
    t->index = e->index;
    show(t, e->name);
    const struct ent *s = through_symlink(ns, e->name);
    if (s)
        return fail(t, -EINVAL, "its path goes through the symlink '%.60s'", s->name);
    if (!e->target)
        return 0;
    /* the link's directory, then the target, walked one part at a time: no part on the
     * way may be a symlink (else the lexical walk is not where the kernel would go). The
     * hash of each level is kept so that the walk stays linear in the path's length. */
    size_t dl = strlen(e->name);
    while (dl && e->name[dl - 1] != '/')
        dl--;
    size_t wl = dl + strlen(e->target);
    char *walk = malloc(wl + 1), *cur = malloc(wl + 1);
    uint64_t *hs = malloc((wl + 2) * sizeof(*hs));
    size_t *ls = malloc((wl + 2) * sizeof(*ls));
    if (!walk || !cur || !hs || !ls) {
        free(walk), free(cur), free(hs), free(ls);
        return -ENOMEM;
    }
    memcpy(walk, e->name, dl);
    memcpy(walk + dl, e->target, wl - dl + 1);
    size_t depth = 0;
    hs[0] = FNV0;
    ls[0] = 0;
    bool ok = true;
    const struct ent *via = NULL;
    for (const char *p = walk, *q; ok && !via && *p; p = q + (*q ? 1 : 0)) {
        q = strchrnul(p, '/');
        size_t n = (size_t)(q - p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (depth == 0)
                ok = false;
            else
                depth--;
        } else if (n && !(n == 1 && p[0] == '.')) {
            size_t o = ls[depth];
            uint64_t h = hs[depth];
            if (depth) {
                cur[o++] = '/';
                h = fnv(h, "/", 1);
            }
            memcpy(cur + o, p, n);
            depth++;
            ls[depth] = o + n;
            hs[depth] = fnv(h, p, n);
            const struct ent *s2 = *q ? names_find(ns, cur, ls[depth], hs[depth]) : NULL;
            if (s2 && (s2->flags & E_SYMLINK))
                via = s2;
        }
    }
    free(walk), free(cur), free(hs), free(ls);
    if (via)
        return fail(t, -EINVAL, "its target goes through the symlink '%.60s'", via->name);
    if (!ok)
        return fail(t, -EINVAL, "its target '%.60s' leaves the context", e->target);
    return 0;
}

/* The final checks in archive order, so that the first offending entry is the one named. */
static int final_checks(struct tar *t)
{
    struct names *ns = &t->names;
    const struct ent **v = malloc((ns->n ? ns->n : 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < ns->cap; i++)
        if (ns->slot[i].name)
            v[n++] = &ns->slot[i];
    qsort(v, n, sizeof(*v), by_index);
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++)
        r = final_check(t, v[i]);
    free(v);
    return r;
}

static int entry(struct tar *t, const unsigned char *h, const struct meta *m, uint64_t size,
                 struct tpl_ctx_info *info)
{
    char type = (char)h[156];
    bool gnu = memcmp(h + 257, "ustar  \0", 8) == 0;
    char name[256 + 2 + NAME_MAX_BYTES], link[101];
    const char *prefix = (const char *)h + 345;
    size_t pl = gnu ? 0 : strnlen(prefix, 155), nl = strnlen((const char *)h, 100);
    if (m->path)
        snprintf(name, sizeof(name), "%s", m->path);
    else
        snprintf(name, sizeof(name), "%.*s%s%.*s", (int)pl, prefix, pl ? "/" : "", (int)nl,
                 (const char *)h);
    snprintf(link, sizeof(link), "%.*s", (int)strnlen((const char *)h + 157, 100),
             (const char *)h + 157);
    const char *target = m->linkpath ? m->linkpath : link;
    show(t, name);
    unsigned kind;
    switch (type) {
    case '0': case '\0': case '7':
        kind = E_FILE;
        break;
    case '5':
        kind = E_DIR;
        break;
    case '2':
        kind = E_SYMLINK;
        break;
    case '1':
        kind = E_HARDLINK;
        break;
    case '3':
    case '4':
        return fail(t, -EINVAL, "a device node");
    case '6':
        return fail(t, -EINVAL, "a FIFO");
    case 'S':
        return fail(t, -EINVAL, "sparse files are not supported");
    default:
        return fail(t, -EINVAL, "an entry of unsupported type '%c'",
                    type > 0x20 && type < 0x7f ? type : '?');
    }
    if (kind != E_FILE && size)
        return fail(t, -EINVAL, "a %s with a size", kind == E_DIR ? "directory" : "link");
    if (!name[0])
        return fail(t, -EINVAL, "an empty name");
    if (strlen(name) > NAME_MAX_BYTES)
        return fail(t, -EINVAL, "a name over %d bytes", NAME_MAX_BYTES);
    for (const char *c = name; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return fail(t, -EINVAL, "a control character in the name");
    for (const char *c = target; (kind & (E_SYMLINK | E_HARDLINK)) && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return fail(t, -EINVAL, "a control character in the link target");
    char *nn = malloc(strlen(name) + 1);
    if (!nn)
        return -ENOMEM;
    if (!norm(name, nn, false)) {
        free(nn);
        return fail(t, -EINVAL, name[0] == '/' ? "an absolute name" : "'..' in a name");
    }
    if (!nn[0] && kind != E_DIR) {
        free(nn);
        return fail(t, -EINVAL, "names the context itself");
    }
    int r = 0;
    if (kind == E_SYMLINK || kind == E_HARDLINK) {
        if (!target[0])
            r = fail(t, -EINVAL, "a link without a target");
        else if (target[0] == '/')
            r = fail(t, -EINVAL, "an absolute link target '%.60s'", target);
    }
    if (r == 0 && kind == E_HARDLINK) {
        char *tn = malloc(strlen(target) + 1);
        const struct ent *e = NULL;
        if (!tn)
            r = -ENOMEM;
        else if (!norm(target, tn, false))
            r = fail(t, -EINVAL, "a hard link target '%.60s' outside the context", target);
        else if (!(e = names_find(&t->names, tn, strlen(tn), fnv(FNV0, tn, strlen(tn)))) ||
                 !(e->flags & (E_FILE | E_HARDLINK)))
            r = fail(t, -EINVAL, "a hard link to '%.60s', not an earlier file", target);
        else if (e->flags & (E_SYMLINK | E_DIR))
            r = fail(t, -EINVAL, "a hard link to '%.60s', which was also a link or directory",
                     target);
        free(tn);
    }
    struct ent *e = r ? NULL : names_add(&t->names, nn, fnv(FNV0, nn, strlen(nn)));
    free(nn);
    if (r)
        return r;
    if (!e)
        return -ENOMEM;
    if (!e->index)
        e->index = t->index;
    e->flags |= kind;
    if (kind == E_SYMLINK) {
        free(e->target);
        e->target = strdup(target);
        if (!e->target)
            return -ENOMEM;
    }
    info->entries++;
    if (kind == E_FILE)
        info->file_bytes += size;
    return 0;
}

static int zeros_to_end(struct tar *t)
{
    size_t cap = 65536;
    unsigned char *b = malloc(cap);
    if (!b)
        return -ENOMEM;
    int r = 0;
    while (r == 0 && t->off < t->len) {
        size_t n = t->len - t->off < cap ? (size_t)(t->len - t->off) : cap;
        if ((r = read_exact(t, b, n, t->off)) < 0)
            break;
        for (size_t i = 0; i < n && r == 0; i++)
            if (b[i]) {
                t->shown[0] = '\0';
                r = fail(t, -EINVAL, "data after the end of the archive");
            }
        t->off += n;
    }
    free(b);
    return r;
}

int tpl_ctx_check(tpl_ctx_read_fn read_at, void *ud, uint64_t len,
                  const struct tpl_ctx_limits *lim, struct tpl_ctx_info *info, char *err,
                  size_t errlen)
{
    struct tar t = { .read_at = read_at, .ud = ud, .len = len, .lim = lim, .err = err,
                     .errlen = errlen, .index = 1 };
    struct tpl_ctx_info got = { 0 };
    struct meta m = { 0 };
    unsigned char h[BLK];
    int r = 0;
    if (err && errlen)
        err[0] = '\0';
    if (len > lim->max_bytes) {
        if (err && errlen)
            snprintf(err, errlen, "the context is %llu bytes, over the limit of %llu",
                     (unsigned long long)len, (unsigned long long)lim->max_bytes);
        return -EFBIG;
    }
    bool ended = false;
    while (t.off < len) {
        if ((r = read_exact(&t, h, BLK, t.off)) < 0)
            goto out;
        t.off += BLK;
        if (zero_block(h)) {
            /* the end: a second zero block, or the end of the file */
            ended = true;
            break;
        }
        if (!checksum_ok(h)) {
            r = fail(&t, -EINVAL, "a bad header checksum");
            goto out;
        }
        if (memcmp(h + 257, "ustar\0" "00", 8) != 0 && memcmp(h + 257, "ustar  \0", 8) != 0) {
            r = fail(&t, -EINVAL, "not a ustar, GNU or pax header");
            goto out;
        }
        uint64_t size;
        if (field_num(h + 124, 12, &size) < 0) {
            r = fail(&t, -EINVAL, "a bad size field");
            goto out;
        }
        char type = (char)h[156];
        if (m.has_size && type != 'x' && type != 'g' && type != 'L' && type != 'K')
            size = m.size;
        uint64_t padded = size > UINT64_MAX - (BLK - 1) ? UINT64_MAX : (size + BLK - 1) / BLK * BLK;
        bool data = type == '0' || type == '\0' || type == '7' || type == 'x' || type == 'g' ||
                    type == 'L' || type == 'K';
        if (data && padded > len - t.off) {
            t.shown[0] = '\0';
            r = fail(&t, -EINVAL, "its size (%llu) runs past the end of the archive",
                     (unsigned long long)size);
            goto out;
        }
        if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
            char *p = NULL;
            if ((r = read_meta(&t, size, &p)) < 0)
                goto out;
            if (type == 'L' || type == 'K')
                r = set_str(&t, type == 'L' ? &m.path : &m.linkpath, p, strnlen(p, size));
            else
                r = pax(&t, p, size, type == 'g', &m);
            free(p);
            if (r < 0)
                goto out;
            t.off += padded;
            continue;
        }
        if (got.entries >= lim->max_entries) {
            r = fail(&t, -EFBIG, "more than %llu entries", (unsigned long long)lim->max_entries);
            goto out;
        }
        if ((r = entry(&t, h, &m, size, &got)) < 0)
            goto out;
        if (!data)
            padded = 0;
        meta_release(&m);
        t.off += padded;
        t.index++;
        t.shown[0] = '\0';
    }
    if (m.path || m.linkpath || m.has_size) {
        r = fail(&t, -EINVAL, "an extended header without its entry");
        goto out;
    }
    /* after the end blocks tar pads to its record size with zeros; anything else there is
     * something another extractor might read */
    if (ended && t.off < len && (r = zeros_to_end(&t)) < 0)
        goto out;
    if ((r = final_checks(&t)) < 0)
        goto out;
    *info = got;
out:
    meta_release(&m);
    names_release(&t.names);
    return r;
}
