/* SPDX-License-Identifier: MIT */
/* sandbox_check.c: checks of typed sandbox values (sandbox_check.h). Input is hostile:
 * lengths are checked before copies and strings may hold NUL. */
#include "daemon/ctl/sandbox_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/b64.h"
#include "common/sbname.h"

/* ---- egress (§3.6.3) ---- */

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool host_ok(const char *h, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t lab = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || h[i] == '.') {
            if (lab == 0 || lab > 63 || h[i - lab] == '-' || h[i - 1] == '-')
                return false;
            lab = 0;
            continue;
        }
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
        lab++;
    }
    return true;
}

int ctl_egress_rule_parse(const char *rule, size_t len, char out[CTL_MAX_EGRESS_RULE + 1],
                          const char **why)
{
    char r[CTL_MAX_EGRESS_RULE + 1];
    *why = "must be 1-260 characters";
    if (len == 0 || len > CTL_MAX_EGRESS_RULE || memchr(rule, '\0', len))
        return -EINVAL;
    memcpy(r, rule, len);
    r[len] = '\0';
    if (strcmp(r, "*") == 0)
        return 1;
    *why = "ipv6 is not supported";
    char *colon = strchr(r, ':');
    if (colon && strchr(colon + 1, ':'))
        return -EINVAL;
    if (r[0] == '[')
        return -EINVAL;
    char port[8] = "";
    if (colon) {
        size_t pl = strlen(colon + 1);
        *why = "port must be 1-65535";
        if (!all_digits(colon + 1, pl) || pl > 5 || atoi(colon + 1) < 1 ||
            atoi(colon + 1) > 65535)
            return -EINVAL;
        snprintf(port, sizeof(port), "%d", atoi(colon + 1));
        *colon = '\0';
    }
    char *host = r;
    bool wildcard = false;
    if (strncmp(host, "*.", 2) == 0) {
        wildcard = true;
        host += 2;
    }
    size_t hl = strlen(host);
    char norm[CTL_MAX_EGRESS_RULE + 8];
    char *slash = strchr(host, '/');
    if (slash) {
        *why = "invalid cidr";
        *slash = '\0';
        struct in_addr a;
        size_t plen = strlen(slash + 1);
        if (wildcard || !all_digits(slash + 1, plen) || plen > 2 || atoi(slash + 1) > 32 ||
            inet_pton(AF_INET, host, &a) != 1)
            return -EINVAL;
        int bits = atoi(slash + 1);
        uint32_t mask = bits == 0 ? 0 : htonl(~0u << (32 - bits));
        a.s_addr &= mask;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &a, ip, sizeof(ip));
        snprintf(norm, sizeof(norm), "%s/%d", ip, bits);
    } else {
        struct in_addr a;
        if (inet_pton(AF_INET, host, &a) == 1) {
            *why = "a wildcard needs a host name";
            if (wildcard)
                return -EINVAL;
            snprintf(norm, sizeof(norm), "%s", host);
        } else {
            if (hl > 1 && host[hl - 1] == '.')
                host[--hl] = '\0';
            *why = "invalid host name";
            if (!host_ok(host, hl))
                return -EINVAL;
            const char *last = strrchr(host, '.');
            last = last ? last + 1 : host;
            *why = "invalid ipv4 address";
            if (all_digits(last, strlen(last)))
                return -EINVAL;
            for (size_t i = 0; i < hl; i++)
                if (host[i] >= 'A' && host[i] <= 'Z')
                    host[i] = (char)(host[i] - 'A' + 'a');
            snprintf(norm, sizeof(norm), "%s%s", wildcard ? "*." : "", host);
        }
    }
    size_t nl = strlen(norm), pl = strlen(port);
    *why = "rule too long";
    if (nl + (pl ? pl + 1 : 0) > CTL_MAX_EGRESS_RULE)
        return -EINVAL;
    memcpy(out, norm, nl);
    if (pl) {
        out[nl++] = ':';
        memcpy(out + nl, port, pl);
        nl += pl;
    }
    out[nl] = '\0';
    return 0;
}

/* ---- SSH keys (§3.3.5) ---- */

/* Reads one SSH wire string; returns its length and sets *p, or -1. */
static long ssh_string(const uint8_t **cur, const uint8_t *end, const uint8_t **p)
{
    if (end - *cur < 4)
        return -1;
    uint32_t n = (uint32_t)(*cur)[0] << 24 | (uint32_t)(*cur)[1] << 16 |
                 (uint32_t)(*cur)[2] << 8 | (*cur)[3];
    *cur += 4;
    if ((size_t)(end - *cur) < n)
        return -1;
    *p = *cur;
    *cur += n;
    return (long)n;
}

static const char *const ssh_types[] = {
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
};

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && blank(*p))
        p++;
    return p;
}

static const char *skip_word(const char *p, const char *end)
{
    while (p < end && !blank(*p))
        p++;
    return p;
}

int ctl_ssh_key_parse(const char *key, size_t len, char **ret, const char **why)
{
    *why = "not an openssh public key";
    if (len == 0 || len > 16384 || memchr(key, '\0', len))
        return -EINVAL;
    const char *end = key + len;
    const char *t = skip_blanks(key, end), *p = skip_word(t, end);
    size_t tl = (size_t)(p - t);
    const char *b = skip_blanks(p, end);
    p = skip_word(b, end);
    size_t bl = (size_t)(p - b);
    const char *c = skip_blanks(p, end);
    const char *ce = end;
    while (ce > c && (ce[-1] == ' ' || ce[-1] == '\t' || ce[-1] == '\n' || ce[-1] == '\r'))
        ce--;
    for (const char *q = c; q < ce; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            return -EINVAL;
    const char *type = NULL;
    for (size_t i = 0; i < sizeof(ssh_types) / sizeof(ssh_types[0]); i++)
        if (strlen(ssh_types[i]) == tl && memcmp(ssh_types[i], t, tl) == 0)
            type = ssh_types[i];
    if (!type) {
        *why = "unsupported key type";
        return -EINVAL;
    }
    uint8_t *blob = malloc(B64_DEC_MAX(bl) + 1);
    if (!blob)
        return -ENOMEM;
    long n = bl ? (long)b64_decode(b, bl, blob) : -EINVAL;
    *why = "key data is not valid";
    const uint8_t *cur = blob, *bend = blob + (n > 0 ? n : 0), *s;
    long sl = n > 0 ? ssh_string(&cur, bend, &s) : -1;
    int r = -EINVAL;
    if (sl != (long)tl || memcmp(s, type, tl) != 0)
        goto out;
    if (strcmp(type, "ssh-rsa") == 0) {
        const uint8_t *e, *m;
        long el = ssh_string(&cur, bend, &e), ml = ssh_string(&cur, bend, &m);
        if (el <= 0 || ml <= 0)
            goto out;
        while (ml > 0 && *m == 0) {
            m++;
            ml--;
        }
        long bits = ml * 8;
        for (uint8_t top = ml ? m[0] : 0; ml && !(top & 0x80); top <<= 1)
            bits--;
        *why = "rsa keys need at least 2048 bits";
        if (bits < 2048)
            goto out;
    } else if (strcmp(type, "ssh-ed25519") == 0) {
        const uint8_t *k;
        if (ssh_string(&cur, bend, &k) != 32)
            goto out;
    } else if (strncmp(type, "ecdsa-", 6) == 0) {
        const uint8_t *curve;
        long cl = ssh_string(&cur, bend, &curve);
        if (cl != 8 || memcmp(curve, type + 11, 8) != 0)
            goto out;
    }
    size_t cl = (size_t)(ce - c);
    char *canon = malloc(tl + bl + cl + 3);
    if (!canon) {
        r = -ENOMEM;
        goto out;
    }
    memcpy(canon, t, tl);
    canon[tl] = ' ';
    memcpy(canon + tl + 1, b, bl);
    size_t o = tl + 1 + bl;
    if (cl) {
        canon[o++] = ' ';
        memcpy(canon + o, c, cl);
        o += cl;
    }
    canon[o] = '\0';
    *ret = canon;
    r = 0;
out:
    free(blob);
    return r;
}

/* ---- names ---- */

static const char *const adjectives[] = { "brave", "calm", "eager", "fancy", "gentle", "happy",
                                          "jolly", "kind", "lively", "merry", "nimble", "proud",
                                          "quiet", "swift", "witty", "bold" };
static const char *const animals[] = { "otter", "badger", "falcon", "lynx", "panda", "heron",
                                       "koala", "marten", "puffin", "gecko", "bison", "ferret",
                                       "walrus", "yak", "zebra", "wren" };

void ctl_name_generate(bool suffix, char out[STORE_NAME_SIZE])
{
    uint8_t rnd[4] = { 0 };
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        memset(rnd, 0x5a, sizeof(rnd)); /* names are not secrets; the suffix retry copes */
    const char *a = adjectives[rnd[0] % (sizeof(adjectives) / sizeof(adjectives[0]))];
    const char *b = animals[rnd[1] % (sizeof(animals) / sizeof(animals[0]))];
    if (suffix)
        snprintf(out, STORE_NAME_SIZE, "%s-%s-%02x%02x", a, b, rnd[2], rnd[3]);
    else
        snprintf(out, STORE_NAME_SIZE, "%s-%s", a, b);
}

/* ---- create (§3.2.1) ---- */

void ctl_create_req_release(struct ctl_create_req *r)
{
    free(r->envs);
    for (size_t i = 0; i < r->n_ssh; i++)
        free(r->ssh[i]);
    free(r->ssh);
    for (size_t i = 0; i < r->n_egress; i++)
        free(r->egress[i]);
    free(r->egress);
    memset(r, 0, sizeof(*r));
}
bool ctl_env_key_valid(const char *k)
{
    if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '_'))
        return false;
    for (const char *p = k + 1; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
              (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

/* Bytes a path may not hold: control characters, and blanks and backslashes, which the
 * guest's mount table escapes (the mount code compares paths as written there). */
static bool path_chars_ok(const char *p)
{
    for (const unsigned char *c = (const unsigned char *)p; *c; c++)
        if (*c <= 0x20 || *c == 0x7f || *c == '\\')
            return false;
    return true;
}

/* Whether p is the directory d or inside it. */
static bool path_under(const char *p, const char *d)
{
    size_t n = strlen(d);
    return strncmp(p, d, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

bool ctl_mount_path_valid(const char *p)
{
    size_t len = strlen(p);
    if (p[0] != '/' || len < 2 || len >= STORE_MOUNT_PATH_SIZE || p[len - 1] == '/' ||
        !path_chars_ok(p))
        return false;
    for (const char *s = p; *s;) {
        s++;
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        s += n;
    }
    /* the kernel's and the agent's own trees, and system directories a mount would shadow
     * (docs/api.md §3.9.6): whole trees ... */
    static const char *const trees[] = { "/proc", "/sys", "/dev", "/run", "/etc",
                                         "/bin", "/sbin", "/usr", "/boot" };
    for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++)
        if (path_under(p, trees[i]))
            return false;
    /* /lib, /lib64, /libx32, … and everything in them */
    if (strncmp(p, "/lib", 4) == 0)
        return false;
    /* ... and directories that hold others' data, refused themselves (a mount inside is fine) */
    static const char *const tops[] = { "/var", "/root", "/home", "/tmp", "/opt",
                                        "/srv", "/mnt", "/media" };
    for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++)
        if (strcmp(p, tops[i]) == 0)
            return false;
    return true;
}

bool ctl_sub_path_valid(const char *p)
{
    size_t len = strlen(p);
    if (len == 0)
        return true;
    if (len > 1024 || p[0] == '/' || strstr(p, "//") || !path_chars_ok(p))
        return false;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if ((n == 1 && s[0] == '.') ||
            (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        s += n + (e ? 1 : 0);
    }
    return true;
}

bool ctl_sandbox_name_valid(const char *s, size_t len)
{
    return sbname_valid(s, len);
}

bool ctl_network_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > 63 || strlen(s) != len || strncmp(s, "net-", 4) == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-');
        if (!ok)
            return false;
    }
    return true;
}

bool ctl_auto_pause_valid(int64_t seconds)
{
    return seconds >= CTL_AUTO_PAUSE_MIN && seconds <= CTL_AUTO_PAUSE_MAX;
}

int ctl_egress_list_add(char **v, size_t *n, const char *rule, size_t len, const char **why)
{
    char norm[CTL_MAX_EGRESS_RULE + 1];
    int r = ctl_egress_rule_parse(rule, len, norm, why);
    if (r != 0)
        return r;
    for (size_t k = 0; k < *n; k++)
        if (strcmp(v[k], norm) == 0)
            return 0;
    if (!(v[*n] = strdup(norm)))
        return -ENOMEM;
    (*n)++;
    return 0;
}

void ctl_egress_allow_all(char **v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free(v[i]);
    *n = 0;
}

void ctl_fork_req_release(struct ctl_fork_req *r)
{
    ctl_create_req_release(&r->c);
}
