/* SPDX-License-Identifier: MIT */
/* oci_ref.c: the strict OCI reference grammar of the distribution spec (lowercase repository
 * components, the tag pattern, sha256 digests), the registry allow list and its config value
 * (docs/templates.md "OCI bases"). A reference reaches skopeo only after this accepted it. */
#include "daemon/tpl/oci_ref.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>


static bool is_lower_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool is_alnum(char ch)
{
    return is_lower_alnum(ch) || (ch >= 'A' && ch <= 'Z');
}

/* One DNS label or IPv4 octet run: alnum, inner '-' only. */
static bool host_part_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

/* host[:port] with a port of 1..65535 (no sign, no leading zero). s is n bytes. */
static bool host_ok(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t hn = colon ? (size_t)(colon - s) : n;
    if (hn == 0 || hn > 253)
        return false;
    for (size_t i = 0; i < hn;) {
        const char *dot = memchr(s + i, '.', hn - i);
        size_t len = dot ? (size_t)(dot - (s + i)) : hn - i;
        if (!host_part_ok(s + i, len))
            return false;
        i += len + (dot ? 1 : 0);
        if (dot && i == hn)
            return false; /* trailing dot */
    }
    if (!colon)
        return true;
    const char *p = colon + 1;
    size_t pn = n - hn - 1;
    if (pn == 0 || pn > 5 || p[0] == '0')
        return false;
    unsigned port = 0;
    for (size_t i = 0; i < pn; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        port = port * 10 + (unsigned)(p[i] - '0');
    }
    return port >= 1 && port <= 65535;
}

/* A registry host as docker tells it from a repository: has '.' or ':', or is localhost. */
static bool looks_like_host(const char *s, size_t n)
{
    return memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && memcmp(s, "localhost", 9) == 0);
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool component_ok(const char *s, size_t n)
{
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n;) {
        if (is_lower_alnum(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        if (s[i] == '.')
            j = i + 1;
        else if (s[i] == '_')
            j = (i + 1 < n && s[i + 1] == '_') ? i + 2 : i + 1;
        else if (s[i] == '-')
            while (j < n && s[j] == '-')
                j++;
        else
            return false;
        if (j >= n || !is_lower_alnum(s[j]))
            return false; /* a separator is followed by alnum */
        i = j;
    }
    return true;
}

/* [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
static bool tag_ok(const char *s, size_t n)
{
    if (n == 0 || n > 128 || !(is_alnum(s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

static bool digest_ok(const char *s, size_t n)
{
    if (n != 7 + 64 || memcmp(s, "sha256:", 7) != 0)
        return false;
    for (size_t i = 7; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int tpl_oci_ref_parse(const char *ref, struct tpl_oci_ref *ret, const char **why)
{
    memset(ret, 0, sizeof(*ret));
    size_t n = strnlen(ref, TPL_OCI_REF_MAX + 1);
    if (n == 0 || n > TPL_OCI_REF_MAX)
        return *why = "empty or longer than 512 bytes", -EINVAL;
    const char *slash = memchr(ref, '/', n);
    if (!slash || !looks_like_host(ref, (size_t)(slash - ref)))
        return *why = "no registry host (host[:port]/repository)", -EINVAL;
    size_t hn = (size_t)(slash - ref);
    if (!host_ok(ref, hn))
        return *why = "bad registry host", -EINVAL;
    const char *rest = slash + 1, *end = ref + n;
    const char *at = memchr(rest, '@', (size_t)(end - rest));
    if (at) {
        if (!digest_ok(at + 1, (size_t)(end - at - 1)))
            return *why = "bad digest (sha256:<64 lowercase hex>)", -EINVAL;
        memcpy(ret->digest, at + 1, (size_t)(end - at - 1));
        end = at;
    }
    /* a tag's ':' is the last one after the last '/' */
    const char *lastslash = rest;
    for (const char *p = rest; p < end; p++)
        if (*p == '/')
            lastslash = p;
    const char *colon = memchr(lastslash, ':', (size_t)(end - lastslash));
    if (colon) {
        if (!tag_ok(colon + 1, (size_t)(end - colon - 1)))
            return *why = "bad tag", -EINVAL;
        memcpy(ret->tag, colon + 1, (size_t)(end - colon - 1));
        end = colon;
    }
    size_t rn = (size_t)(end - rest);
    if (rn == 0 || hn + 1 + rn > 255)
        return *why = "repository empty or name longer than 255 bytes", -EINVAL;
    for (const char *p = rest; p < end;) {
        const char *s = memchr(p, '/', (size_t)(end - p));
        size_t len = s ? (size_t)(s - p) : (size_t)(end - p);
        if (!component_ok(p, len))
            return *why = "bad repository (lowercase a-z 0-9 and . _ __ - between)", -EINVAL;
        p += len + (s ? 1 : 0);
        if (s && p == end)
            return *why = "bad repository (trailing '/')", -EINVAL;
    }
    memcpy(ret->host, ref, hn);
    memcpy(ret->repo, rest, rn);
    return 0;
}

bool tpl_oci_ref_allowed(const struct tpl_oci_config *c, const char *ref, size_t *ret_reg)
{
    struct tpl_oci_ref r;
    const char *why;
    if (!c || !ref || tpl_oci_ref_parse(ref, &r, &why) < 0)
        return false;
    for (size_t i = 0; i < c->n_reg; i++) {
        /* DNS names are case-blind; a port is digits */
        if (strcasecmp(c->reg[i].host, r.host) == 0) {
            if (ret_reg)
                *ret_reg = i;
            return true;
        }
    }
    return false;
}

int tpl_oci_registries_parse(const char *s, struct tpl_oci_config *c, const char **why)
{
    c->n_reg = 0;
    if (s[strspn(s, " \t")] == '\0')
        return 0; /* blank: OCI bases off */
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0)
            return *why = "empty entry", -EINVAL;
        const char *sp = memchr(p, ' ', n);
        const char *tab = memchr(p, '\t', n);
        if (!sp || (tab && tab < sp))
            sp = tab;
        size_t hn = sp ? (size_t)(sp - p) : n;
        bool insecure = false;
        if (sp) {
            const char *w = sp;
            while (w < p + n && (*w == ' ' || *w == '\t'))
                w++;
            if ((size_t)(p + n - w) != 8 || memcmp(w, "insecure", 8) != 0)
                return *why = "expected host[:port], optionally followed by ' insecure'", -EINVAL;
            insecure = true;
        }
        if (!host_ok(p, hn) || hn >= sizeof(c->reg[0].host))
            return *why = "bad registry host[:port]", -EINVAL;
        if (c->n_reg == TPL_OCI_MAX_REGISTRIES)
            return *why = "more than 16 registries", -EINVAL;
        memcpy(c->reg[c->n_reg].host, p, hn);
        c->reg[c->n_reg].host[hn] = '\0';
        c->reg[c->n_reg].insecure = insecure;
        c->n_reg++;
        if (!comma)
            break;
        p = comma + 1;
        if (!p[strspn(p, " \t")])
            return *why = "empty entry", -EINVAL;
    }
    return 0;
}
