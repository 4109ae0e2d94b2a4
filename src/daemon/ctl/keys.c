/* SPDX-License-Identifier: MIT */
/* keys.c: the API's key operations (keys.h). The store keeps keys, their hashes and the
 * last-admin check (one transaction, so two revokes at once cannot both pass it); this file
 * checks values and turns store errors into typed ones. Never logs or keeps a secret. */
#include "daemon/ctl/keys.h"

#include <errno.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/store/ids.h"

#define USER_RULE "must match ^[a-z0-9][a-z0-9_-]{0,62}$"
#define LABEL_RULE "must be at most 200 characters of text, without control characters"

/* The code point of the UTF-8 sequence at s[*i..len), advancing *i; -1 when malformed (bad
 * lead or continuation byte, cut short, overlong, a surrogate or past U+10FFFF). */
static long utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char b = s[(*i)++];
    if (b < 0x80)
        return b;
    size_t n = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
    if (n == 0 || b > 0xf4 || *i + n > len)
        return -1;
    long cp = b & (0x3f >> n);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = s[(*i)++];
        if ((c & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (c & 0x3f);
    }
    static const long min[] = { 0, 0x80, 0x800, 0x10000 };
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    return cp;
}

bool ctl_key_label_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, chars = 0;
    while (i < len) {
        long cp = utf8_next(u, len, &i);
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) /* -1, C0, DEL, C1 */
            return false;
        if (++chars > CTL_KEY_LABEL_MAX)
            return false;
    }
    return true;
}

int ctl_key_list(struct ctl *c, const char *user_id, size_t limit, size_t offset,
                 struct store_key **ret, size_t *ret_n, uint64_t *ret_total, struct ctl_error *e)
{
    int r = store_key_page(c->store, user_id, limit, offset, ret, ret_n, ret_total);
    if (r == -EINVAL)
        return ctl_error_set(e, CTL_E_INVALID, "user", NULL, USER_RULE);
    if (r < 0)
        return ctl_error_internal(e, "list api keys", r);
    return 0;
}

int ctl_key_create(struct ctl *c, const char *user_id, const char *label, bool admin,
                   struct store_key *ret, char ret_secret[APIKEY_LEN + 1], struct ctl_error *e)
{
    if (label && !ctl_key_label_valid(label, strlen(label)))
        return ctl_error_set(e, CTL_E_INVALID, "label", NULL, LABEL_RULE);
    int r = store_key_create(c->store, user_id, label, admin, timefmt_now_ms(), ret, ret_secret);
    if (r == -EINVAL)
        return ctl_error_set(e, CTL_E_INVALID, "user", NULL, USER_RULE);
    if (r == -ENAMETOOLONG) /* a label over the store's bytes: cannot pass the check above */
        return ctl_error_set(e, CTL_E_INVALID, "label", NULL, LABEL_RULE);
    if (r < 0)
        return ctl_error_internal(e, "create api key", r);
    return 0;
}

int ctl_key_revoke(struct ctl *c, const char *ref, size_t ref_len, char ret_id[STORE_ID_SIZE],
                   int64_t *ret_revoked_at, struct ctl_error *e)
{
    char id[STORE_ID_SIZE];
    if (ids_canonical(IDS_KEY_PREFIX, ref, ref_len, id, sizeof(id)) < 0)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "key not found");
    int64_t now = timefmt_now_ms();
    int r = store_key_revoke_keep_admin(c->store, id, now);
    if (r == -ENOENT || r == -EALREADY)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "key not found");
    if (r == -EPERM)
        return ctl_error_set(e, CTL_E_LAST_ADMIN_KEY, NULL, NULL,
                             "this is the last active admin key; create another admin key "
                             "before revoking it (or use 'hearthd keys revoke' on the host)");
    if (r < 0)
        return ctl_error_internal(e, "revoke api key", r);
    memcpy(ret_id, id, STORE_ID_SIZE);
    *ret_revoked_at = now;
    return 0;
}
