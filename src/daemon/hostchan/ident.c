/* SPDX-License-Identifier: MIT */
/* ident.c: the forwarded identity headers (ident.h). Strict: every value is checked against
 * the shape the store gives it, so a bug or a hostile peer cannot smuggle anything through. */
#include "daemon/hostchan/ident.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "daemon/store/ids.h"

bool hostchan_ident_header(const char *name, size_t len)
{
    size_t pl = strlen(HOSTCHAN_H_PREFIX);
    return name && len >= pl && strncasecmp(name, HOSTCHAN_H_PREFIX, pl) == 0;
}

/* ^[a-z0-9][a-z0-9_-]{0,62}$ (store.h STORE_USER_SIZE) */
static bool user_ok(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n >= STORE_USER_SIZE)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '_' || c == '-'));
        if (!ok)
            return false;
    }
    return true;
}

/* An id with prefix, canonical (ids_canonical gives it back unchanged). */
static bool id_ok(const char *prefix, const char *v, char *out, size_t size)
{
    size_t n = strlen(v);
    return n < size && ids_canonical(prefix, v, n, out, size) == 0 && strcmp(out, v) == 0;
}

int hostchan_ident_parse(const char *user, const char *key_id, const char *admin,
                         const char *sandbox, struct hostchan_ident *ret, const char **why)
{
    memset(ret, 0, sizeof(*ret));
    const char *vals[] = { user, key_id, admin, sandbox };
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
        if (vals[i] && strlen(vals[i]) > HOSTCHAN_H_VALUE_MAX) {
            *why = "a forwarded identity header is too long";
            return -EINVAL;
        }
    if (!user || !user_ok(user)) {
        *why = "missing or malformed " HOSTCHAN_H_USER;
        return -EINVAL;
    }
    snprintf(ret->user_id, sizeof(ret->user_id), "%s", user);
    bool has_key = key_id && key_id[0], has_sb = sandbox && sandbox[0];
    if (has_key == has_sb) {
        *why = "exactly one of " HOSTCHAN_H_KEY " and " HOSTCHAN_H_SANDBOX " is required";
        return -EINVAL;
    }
    if (has_key && !id_ok(IDS_KEY_PREFIX, key_id, ret->key_id, sizeof(ret->key_id))) {
        *why = "malformed " HOSTCHAN_H_KEY;
        return -EINVAL;
    }
    if (has_sb && !id_ok(IDS_SANDBOX_PREFIX, sandbox, ret->sandbox_id, sizeof(ret->sandbox_id))) {
        *why = "malformed " HOSTCHAN_H_SANDBOX;
        return -EINVAL;
    }
    if (admin && strcmp(admin, "0") != 0 && strcmp(admin, "1") != 0) {
        *why = HOSTCHAN_H_ADMIN " must be 0 or 1";
        return -EINVAL;
    }
    ret->admin = admin && admin[0] == '1';
    if (ret->admin && has_sb) {
        *why = "a delegated token is never admin";
        return -EINVAL;
    }
    return 0;
}

int hostchan_ident_format(const struct hostchan_ident *w, char *out, size_t size)
{
    struct hostchan_ident chk;
    const char *why = "";
    if (hostchan_ident_parse(w->user_id, w->key_id[0] ? w->key_id : NULL, w->admin ? "1" : "0",
                             w->sandbox_id[0] ? w->sandbox_id : NULL, &chk, &why) < 0)
        return -EINVAL;
    int n;
    if (w->key_id[0])
        n = snprintf(out, size, HOSTCHAN_H_USER ": %s\r\n" HOSTCHAN_H_KEY ": %s\r\n"
                     HOSTCHAN_H_ADMIN ": %d\r\n", w->user_id, w->key_id, w->admin ? 1 : 0);
    else
        n = snprintf(out, size, HOSTCHAN_H_USER ": %s\r\n" HOSTCHAN_H_SANDBOX ": %s\r\n"
                     HOSTCHAN_H_ADMIN ": 0\r\n", w->user_id, w->sandbox_id);
    return n > 0 && (size_t)n < size ? 0 : -ENOSPC;
}
