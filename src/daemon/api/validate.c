/* SPDX-License-Identifier: MIT */
/* validate.c: sandbox request validation (validate.h). Every rule of §3.2.1 maps to one field
 * error; all errors of a body are reported together, and the `code` is the first one's. Input is
 * hostile: lengths are checked before copies, strings may hold NUL (JSON_ALLOW_NUL). */
#include "daemon/api/validate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/sbname.h"
#include "daemon/api/api.h"
#include "daemon/api/auth.h"
#include "daemon/api/catalog.h"

/* ---- field errors ---- */

struct errs {
    json_t *o;          /* NULL until the first error */
    const char *code;   /* the first error's code */
};

__attribute__((format(printf, 4, 5)))
static void err_add(struct errs *e, const char *field, const char *code, const char *fmt, ...)
{
    if (!e->o)
        e->o = json_object();
    if (!e->o || json_object_get(e->o, field))
        return;
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object_set_new(e->o, field, json_string(msg));
    if (!e->code)
        e->code = code;
}

static json_t *err_take(struct errs *e)
{
    json_object_set_new(e->o, "code", json_string(e->code ? e->code : "invalid_request"));
    json_t *o = e->o;
    e->o = NULL;
    return o;
}

#define INVALID "invalid_request"

/* A field that is absent or null (§1.8 item 2) is NULL. */
static json_t *field(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return v && !json_is_null(v) ? v : NULL;
}

static bool get_int(struct errs *e, json_t *body, const char *key, bool *present, int64_t *v)
{
    json_t *j = field(body, key);
    *present = j != NULL;
    if (!j)
        return true;
    if (!json_is_integer(j)) {
        err_add(e, key, INVALID, "must be an integer");
        return false;
    }
    *v = json_integer_value(j);
    return true;
}

static bool get_bool(struct errs *e, json_t *body, const char *key, bool *present, bool *v)
{
    json_t *j = field(body, key);
    *present = j != NULL;
    if (!j)
        return true;
    if (!json_is_boolean(j)) {
        err_add(e, key, INVALID, "must be a boolean");
        return false;
    }
    *v = json_is_true(j);
    return true;
}

/* A string without NUL; NULL when absent or wrong (error recorded). */
static const char *get_str(struct errs *e, json_t *body, const char *key)
{
    json_t *j = field(body, key);
    if (!j)
        return NULL;
    if (!json_is_string(j)) {
        err_add(e, key, INVALID, "must be a string");
        return NULL;
    }
    if (strlen(json_string_value(j)) != json_string_length(j)) {
        err_add(e, key, INVALID, "must not contain NUL");
        return NULL;
    }
    return json_string_value(j);
}

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

int api_egress_rule(const char *rule, size_t len, char out[API_MAX_EGRESS_RULE + 1],
                    const char **why)
{
    char r[API_MAX_EGRESS_RULE + 1];
    *why = "must be 1-260 characters";
    if (len == 0 || len > API_MAX_EGRESS_RULE || memchr(rule, '\0', len))
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
    char norm[API_MAX_EGRESS_RULE + 8];
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
    if (nl + (pl ? pl + 1 : 0) > API_MAX_EGRESS_RULE)
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

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict standard base64 with padding. Returns decoded length or -EINVAL. */
static long b64_decode(const char *s, size_t n, uint8_t *out)
{
    if (n == 0 || n % 4)
        return -EINVAL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = s[i + k] == '=' ? -2 : b64val((unsigned char)s[i + k]);
            if (v[k] == -1)
                return -EINVAL;
        }
        if (v[0] < 0 || v[1] < 0 || (v[2] == -2 && v[3] != -2) ||
            ((v[2] == -2 || v[3] == -2) && i + 4 != n))
            return -EINVAL;
        out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
        if (v[2] >= 0)
            out[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
        if (v[3] >= 0)
            out[o++] = (uint8_t)((v[2] & 3) << 6 | v[3]);
    }
    return (long)o;
}

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

int api_ssh_key(const char *key, size_t len, char **ret, const char **why)
{
    *why = "not an openssh public key";
    if (len == 0 || len > 16384 || memchr(key, '\0', len))
        return -EINVAL;
    const char *p = key, *end = key + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *t = p;
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    size_t tl = (size_t)(p - t);
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *b = p;
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    size_t bl = (size_t)(p - b);
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *c = p;
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
    uint8_t *blob = malloc(bl + 3);
    if (!blob)
        return -ENOMEM;
    long n = b64_decode(b, bl, blob);
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

void api_name_generate(bool suffix, char out[STORE_NAME_SIZE])
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

void api_create_req_release(struct api_create_req *r)
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

static bool env_key_ok(const char *k)
{
    if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '_'))
        return false;
    for (const char *p = k + 1; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
              (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

static void check_envs(struct errs *e, json_t *body, struct api_create_req *out)
{
    json_t *envs = field(body, "envs");
    if (!envs)
        return;
    if (!json_is_object(envs)) {
        err_add(e, "envs", INVALID, "must be an object of strings");
        return;
    }
    size_t n = json_object_size(envs);
    if (n > API_MAX_ENVS) {
        err_add(e, "envs", INVALID, "at most %d entries", API_MAX_ENVS);
        return;
    }
    out->envs = calloc(n ? n : 1, sizeof(*out->envs));
    if (!out->envs) {
        err_add(e, "envs", INVALID, "out of memory");
        return;
    }
    size_t total = 0;
    const char *k;
    json_t *v;
    json_object_foreach(envs, k, v) {
        char f[300];
        snprintf(f, sizeof(f), "envs.%.200s", k);
        if (!env_key_ok(k)) {
            err_add(e, f, INVALID, "invalid key: must match ^[A-Za-z_][A-Za-z0-9_]*$");
            continue;
        }
        if (!json_is_string(v)) {
            err_add(e, f, INVALID, "must be a string");
            continue;
        }
        size_t vl = json_string_length(v);
        if (vl > API_MAX_ENV_VALUE) {
            err_add(e, f, INVALID, "value longer than %d bytes", API_MAX_ENV_VALUE);
            continue;
        }
        if (memchr(json_string_value(v), '\0', vl)) {
            err_add(e, f, INVALID, "value must not contain NUL");
            continue;
        }
        total += strlen(k) + vl;
        out->envs[out->n_envs++] =
            (struct store_env){ .key = k, .value = json_string_value(v), .value_len = vl };
    }
    if (total > API_MAX_ENV_TOTAL)
        err_add(e, "envs", INVALID, "keys and values exceed %d bytes in total",
                API_MAX_ENV_TOTAL);
}

static void check_ssh(struct errs *e, json_t *body, struct api_create_req *out)
{
    json_t *a = field(body, "ssh_pubkeys");
    if (!a)
        return;
    if (!json_is_array(a)) {
        err_add(e, "ssh_pubkeys", INVALID, "must be an array of strings");
        return;
    }
    size_t n = json_array_size(a);
    if (n > STORE_MAX_SSH_KEYS) {
        err_add(e, "ssh_pubkeys", INVALID, "at most %d keys", STORE_MAX_SSH_KEYS);
        return;
    }
    out->ssh = calloc(n ? n : 1, sizeof(char *));
    if (!out->ssh)
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        char f[32];
        snprintf(f, sizeof(f), "ssh_pubkeys[%zu]", i);
        const char *why = "must be a string";
        char *canon = NULL;
        if (!json_is_string(v) ||
            api_ssh_key(json_string_value(v), json_string_length(v), &canon, &why) < 0) {
            err_add(e, f, INVALID, "%s", why);
            continue;
        }
        out->ssh[out->n_ssh++] = canon;
    }
}

static void check_egress(struct errs *e, json_t *body, struct api_create_req *out)
{
    json_t *a = field(body, "egress");
    if (!a)
        return;
    if (!json_is_array(a)) {
        err_add(e, "egress", INVALID, "must be an array of strings");
        return;
    }
    size_t n = json_array_size(a);
    if (n > API_MAX_EGRESS) {
        err_add(e, "egress", INVALID, "at most %d rules", API_MAX_EGRESS);
        return;
    }
    out->egress = calloc(n ? n : 1, sizeof(char *));
    if (!out->egress)
        return;
    bool allow_all = false;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        char f[32], norm[API_MAX_EGRESS_RULE + 1];
        snprintf(f, sizeof(f), "egress[%zu]", i);
        const char *why = "must be a string";
        int r = json_is_string(v)
                    ? api_egress_rule(json_string_value(v), json_string_length(v), norm, &why)
                    : -EINVAL;
        if (r < 0) {
            err_add(e, f, INVALID, "%s", why);
            continue;
        }
        if (r == 1) {
            allow_all = true;
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < out->n_egress && !dup; k++)
            dup = strcmp(out->egress[k], norm) == 0;
        if (!dup && (out->egress[out->n_egress] = strdup(norm)) != NULL)
            out->n_egress++;
    }
    if (allow_all) { /* "*" anywhere means allow all: stored as [] */
        for (size_t i = 0; i < out->n_egress; i++)
            free(out->egress[i]);
        out->n_egress = 0;
    }
}

static bool abs_path_ok(const char *p)
{
    if (p[0] != '/' || strcmp(p, "/") == 0 || p[strlen(p) - 1] == '/')
        return false;
    for (const char *s = p; *s;) {
        s++;
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        s += n;
    }
    static const char *const banned[] = { "/proc", "/sys", "/dev", "/run" };
    for (size_t i = 0; i < 4; i++) {
        size_t bl = strlen(banned[i]);
        if (strncmp(p, banned[i], bl) == 0 && (p[bl] == '\0' || p[bl] == '/'))
            return false;
    }
    return true;
}

static void check_networks(struct errs *e, json_t *body, struct api_create_req *out)
{
    json_t *a = field(body, "networks");
    if (!a)
        return;
    if (!json_is_array(a)) {
        err_add(e, "networks", INVALID, "must be an array of objects");
        return;
    }
    if (json_array_size(a) > API_MAX_NETWORKS) {
        err_add(e, "networks", INVALID, "at most %d networks", API_MAX_NETWORKS);
        return;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i), *id = json_object_get(v, "id");
        char f[40];
        snprintf(f, sizeof(f), "networks[%zu].id", i);
        if (!json_is_object(v) || !json_is_string(id) || json_string_length(id) == 0 ||
            json_string_length(id) > 64 || strlen(json_string_value(id)) != json_string_length(id))
            err_add(e, f, INVALID, "required string of 1-64 characters");
        else /* the caller resolves it against the store */
            out->networks[out->n_networks++] = json_string_value(id);
    }
}

static void check_disks(struct errs *e, json_t *body)
{
    json_t *a = field(body, "disks");
    if (!a)
        return;
    if (!json_is_array(a)) {
        err_add(e, "disks", INVALID, "must be an array of objects");
        return;
    }
    if (json_array_size(a) > API_MAX_DISKS) {
        err_add(e, "disks", INVALID, "at most %d disks", API_MAX_DISKS);
        return;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        char f[48];
        if (!json_is_object(v)) {
            snprintf(f, sizeof(f), "disks[%zu]", i);
            err_add(e, f, INVALID, "must be an object");
            continue;
        }
        json_t *id = json_object_get(v, "disk_id"), *mp = json_object_get(v, "mount_path");
        json_t *sp = field(v, "sub_path");
        snprintf(f, sizeof(f), "disks[%zu].mount_path", i);
        if (!json_is_string(mp) || !abs_path_ok(json_string_value(mp)) ||
            strlen(json_string_value(mp)) != json_string_length(mp))
            err_add(e, f, INVALID, "must be a normalised absolute path outside /proc, /sys, "
                                   "/dev and /run");
        snprintf(f, sizeof(f), "disks[%zu].sub_path", i);
        if (sp && (!json_is_string(sp) || json_string_length(sp) > 1024 ||
                   json_string_value(sp)[0] == '/' || strstr(json_string_value(sp), "..")))
            err_add(e, f, INVALID, "must be a relative path without '..', at most 1024 bytes");
        snprintf(f, sizeof(f), "disks[%zu].disk_id", i);
        if (!json_is_string(id))
            err_add(e, f, INVALID, "required string");
        else /* no disk exists until the disks routes are built */
            err_add(e, f, "unknown_reference", "unknown disk: %.100s", json_string_value(id));
    }
}

int api_validate_create(const struct api_ctx *ctx, const struct api_auth *auth, json_t *body,
                        struct api_create_req *ret, json_t **ret_fail)
{
    struct errs e = { 0 };
    struct api_create_req out = { 0 };
    if (!json_is_object(body)) {
        *ret_fail = json_pack("{s:s,s:s}", "body", "must be a json object", "code", INVALID);
        return 400;
    }
    /* host_id: admin only (hearth chooses, §3.2.1) — a 403 before any 400 */
    json_t *hid = field(body, "host_id");
    if (hid && !auth->admin) {
        *ret_fail = json_pack("{s:s,s:s}", "code", "forbidden", "message",
                              "host_id needs an admin key");
        return 403;
    }
    if (hid && (!json_is_string(hid) || strcmp(json_string_value(hid), ctx->set.host_id) != 0))
        err_add(&e, "host_id", INVALID, "unknown host: %.100s",
                json_is_string(hid) ? json_string_value(hid) : "?");
    else if (hid && ctx->draining)
        err_add(&e, "host_id", INVALID, "host is not active");

    json_t *shape = field(body, "shape");
    if (!shape)
        err_add(&e, "shape", INVALID, "required");
    else if (!json_is_string(shape))
        err_add(&e, "shape", INVALID, "must be a string");
    else if (!(out.shape = api_shape_find(json_string_value(shape))))
        err_add(&e, "shape", "unknown_reference", "unknown shape: %.100s",
                json_string_value(shape));

    const char *rootfs = get_str(&e, body, "rootfs");
    if (!field(body, "rootfs"))
        rootfs = api_rootfs_default();
    if (rootfs && !(out.rootfs = api_rootfs_find(ctx, rootfs)))
        err_add(&e, "rootfs", "unknown_reference", "unknown rootfs: %.100s", rootfs);

    const char *name = get_str(&e, body, "name");
    if (name && !sbname_valid(name, strlen(name)))
        err_add(&e, "name", INVALID, "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
    out.name = name;

    bool present;
    int64_t disk = 0;
    if (get_int(&e, body, "disk_mib", &present, &disk) && present && disk != 0 &&
        (disk < API_MIN_DISK_MIB || disk > ctx->set.max_disk_mib))
        err_add(&e, "disk_mib", INVALID, "must be 0 or from %d to %lld", API_MIN_DISK_MIB,
                (long long)ctx->set.max_disk_mib);
    if (disk < 0)
        disk = 0;
    out.disk_mib = disk ? disk : out.shape ? out.shape->default_disk_mib : 0;

    check_envs(&e, body, &out);
    check_ssh(&e, body, &out);
    check_egress(&e, body, &out);
    (void)get_bool(&e, body, "ingress_enabled", &present, &out.ingress_enabled);
    check_networks(&e, body, &out);
    check_disks(&e, body);

    int64_t ap = 0;
    if (get_int(&e, body, "auto_pause_after_seconds", &present, &ap) && present &&
        (ap < API_AUTO_PAUSE_MIN || ap > API_AUTO_PAUSE_MAX))
        err_add(&e, "auto_pause_after_seconds", INVALID, "must be from %d to %d",
                API_AUTO_PAUSE_MIN, API_AUTO_PAUSE_MAX);
    out.auto_pause_after_seconds = present ? ap : 0;

    const char *region = get_str(&e, body, "region");
    if (region && strcmp(region, ctx->set.region) != 0)
        err_add(&e, "region", INVALID, "unknown region: %.100s", region);

    json_t *ns = field(body, "node_selector");
    if (ns && !json_is_object(ns)) {
        err_add(&e, "node_selector", INVALID, "must be an object of strings");
    } else if (ns && json_object_size(ns) > 0) {
        /* this host carries no operator labels yet, so no non-empty selector matches */
        err_add(&e, "node_selector", "unknown_reference", "no host matches");
    }

    int64_t bq = 0;
    if (get_int(&e, body, "bandwidth_quota_bytes", &present, &bq) && present && bq != 0)
        err_add(&e, "bandwidth_quota_bytes", INVALID, "cannot be set at create");

    if (e.o) {
        api_create_req_release(&out);
        *ret_fail = err_take(&e);
        return 400;
    }
    *ret = out;
    return 0;
}

/* ---- egress (§3.6.2) ---- */

int api_validate_egress(json_t *body, char ***ret, size_t *ret_n, json_t **ret_fail)
{
    struct errs e = { 0 };
    struct api_create_req out = { 0 };
    if (!json_is_object(body)) {
        *ret_fail = json_pack("{s:s,s:s}", "body", "must be a json object", "code", INVALID);
        return 400;
    }
    check_egress(&e, body, &out);
    if (e.o) {
        api_create_req_release(&out);
        *ret_fail = err_take(&e);
        return 400;
    }
    *ret = out.egress;
    *ret_n = out.n_egress;
    return 0;
}

/* ---- PATCH (§3.2.5) ---- */

int api_validate_patch(json_t *body, struct api_patch_req *ret, json_t **ret_fail)
{
    struct errs e = { 0 };
    struct api_patch_req out = { 0 };
    if (!json_is_object(body)) {
        *ret_fail = json_pack("{s:s,s:s}", "body", "must be a json object", "code", INVALID);
        return 400;
    }
    bool has_ingress, has_ap, has_disable, disable = false;
    int64_t ap = 0;
    (void)get_bool(&e, body, "ingress_enabled", &has_ingress, &out.ingress_enabled);
    bool ap_ok = get_int(&e, body, "auto_pause_after_seconds", &has_ap, &ap);
    (void)get_bool(&e, body, "disable_auto_pause", &has_disable, &disable);
    if (ap_ok && has_ap && (ap < API_AUTO_PAUSE_MIN || ap > API_AUTO_PAUSE_MAX))
        err_add(&e, "auto_pause_after_seconds", INVALID, "must be from %d to %d",
                API_AUTO_PAUSE_MIN, API_AUTO_PAUSE_MAX);
    if (has_ap && has_disable && disable)
        err_add(&e, "disable_auto_pause", INVALID,
                "cannot be combined with auto_pause_after_seconds");
    if (!e.o && !has_ingress && !has_ap && !has_disable)
        err_add(&e, "message", INVALID, "nothing to update");
    if (e.o) {
        *ret_fail = err_take(&e);
        return 400;
    }
    out.set_ingress = has_ingress;
    if (has_ap) {
        out.set_auto_pause = true;
        out.auto_pause_after_seconds = ap;
    } else if (has_disable && disable) {
        out.set_auto_pause = true;
        out.auto_pause_after_seconds = 0;
    }
    *ret = out;
    return 0;
}

/* ---- resize (§3.3.4) ---- */

int api_validate_resize(json_t *body, int64_t current_mib, int64_t max_mib, int64_t *ret_mib,
                        json_t **ret_fail)
{
    struct errs e = { 0 };
    if (!json_is_object(body)) {
        *ret_fail = json_pack("{s:s,s:s}", "body", "must be a json object", "code", INVALID);
        return 400;
    }
    bool present;
    int64_t v = 0;
    if (get_int(&e, body, "disk_mib", &present, &v) && !present)
        err_add(&e, "disk_mib", INVALID, "is required");
    else if (!e.o && v <= current_mib)
        err_add(&e, "disk_mib", INVALID, "must be larger than %lld", (long long)current_mib);
    else if (!e.o && v > max_mib)
        err_add(&e, "disk_mib", INVALID, "must be at most %lld", (long long)max_mib);
    if (e.o) {
        *ret_fail = err_take(&e);
        return 400;
    }
    *ret_mib = v;
    return 0;
}

void api_fork_req_release(struct api_fork_req *r)
{
    api_create_req_release(&r->c);
}

int api_validate_fork(const struct api_ctx *ctx, json_t *body, struct api_fork_req *ret,
                      json_t **ret_fail)
{
    struct errs e = { 0 };
    struct api_fork_req out = { 0 };
    if (!json_is_object(body)) {
        *ret_fail = json_pack("{s:s,s:s}", "body", "must be a json object", "code", INVALID);
        return 400;
    }
    bool present;
    (void)get_bool(&e, body, "start_paused", &present, &out.start_paused);
    const char *name = get_str(&e, body, "name");
    if (name && !sbname_valid(name, strlen(name)))
        err_add(&e, "name", INVALID, "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
    out.c.name = name;
    out.set_envs = field(body, "envs") != NULL;
    out.set_ssh = field(body, "ssh_pubkeys") != NULL;
    out.set_egress = field(body, "egress") != NULL;
    check_envs(&e, body, &out.c);
    check_ssh(&e, body, &out.c);
    check_egress(&e, body, &out.c);
    (void)get_bool(&e, body, "ingress_enabled", &out.set_ingress, &out.c.ingress_enabled);
    check_disks(&e, body);
    int64_t ap = 0;
    if (get_int(&e, body, "auto_pause_after_seconds", &present, &ap) && present &&
        (ap < API_AUTO_PAUSE_MIN || ap > API_AUTO_PAUSE_MAX))
        err_add(&e, "auto_pause_after_seconds", INVALID, "must be from %d to %d",
                API_AUTO_PAUSE_MIN, API_AUTO_PAUSE_MAX);
    out.c.auto_pause_after_seconds = present ? ap : 0;
    int64_t bq = 0;
    if (get_int(&e, body, "bandwidth_quota_bytes", &out.set_quota, &bq) && out.set_quota &&
        bq != -1 && bq <= 0)
        err_add(&e, "bandwidth_quota_bytes", INVALID, "must be -1 (unmetered) or positive");
    out.bandwidth_quota_bytes = out.set_quota ? bq : ctx->set.bandwidth_quota_bytes;
    if (e.o) {
        api_fork_req_release(&out);
        *ret_fail = err_take(&e);
        return 400;
    }
    *ret = out;
    return 0;
}
