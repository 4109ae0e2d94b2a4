/* SPDX-License-Identifier: MIT */
/* test_keys.c: the API's key operations in the control layer (ctl/keys.h) on a real SQLite
 * store: the label rule (UTF-8, code points, control characters) case by case, create's
 * typed errors, revoke's id forms, 404s and the kept last admin key. */
#include <errno.h>
#include <string.h>

#include "../store/fixture.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/keys.h"
#include "harness.h"

TEST(label_rule)
{
    char s200[201], s201[202], e200[401], e201[403];
    memset(s200, 'a', 200);
    s200[200] = '\0';
    memset(s201, 'a', 201);
    s201[201] = '\0';
    for (int i = 0; i < 200; i++)
        memcpy(e200 + 2 * i, "\xc3\xa9", 2);
    e200[400] = '\0';
    memcpy(e201, e200, 400);
    memcpy(e201 + 400, "\xc3\xa9", 3);
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        { "", true },
        { "laptop", true },
        { "<img src=x onerror=alert(1)>", true },
        { "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x94\x91", true },   /* 2, 3 and 4 bytes */
        { "\xc2\xa0nbsp", true },                                /* U+00A0: past C1 */
        { "a\tb", false },
        { "a\nb", false },
        { "a\x1f", false },
        { "a\x7f", false },
        { "a\xc2\x80", false },                                  /* U+0080: C1 */
        { "a\xc2\x9f", false },                                  /* U+009F: C1 */
        { "\xc0\xaf", false },                                   /* overlong '/' */
        { "\xe0\x80\xaf", false },                               /* overlong, 3 bytes */
        { "\xed\xa0\x80", false },                               /* a surrogate */
        { "\xf4\x90\x80\x80", false },                           /* past U+10FFFF */
        { "\xf5\x80\x80\x80", false },
        { "\xff", false },
        { "\x80", false },                                       /* a lone continuation */
        { "\xc3", false },                                       /* cut short */
        { "\xe4\xb8", false },
        { "\xc3\x28", false },                                   /* bad continuation */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (ctl_key_label_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
            harness_fail(__FILE__, __LINE__, "case %zu: want %d", i, cases[i].ok);
    CHECK(ctl_key_label_valid(s200, 200));
    CHECK(!ctl_key_label_valid(s201, 201));
    CHECK(ctl_key_label_valid(e200, 400));
    CHECK(!ctl_key_label_valid(e201, 402));
    CHECK(!ctl_key_label_valid("a\0b", 3)); /* an embedded NUL */
}

TEST(create_list_revoke_errors)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct ctl c;
    ctl_init(&c);
    c.store = f.st;
    struct store_key k;
    char secret[APIKEY_LEN + 1];
    struct ctl_error e;
    CHECK_EQ(ctl_key_create(&c, "Bad", NULL, false, &k, secret, &e), -EINVAL);
    CHECK_EQ(e.code, CTL_E_INVALID);
    CHECK_STR(e.field, "user");
    CHECK_EQ(ctl_key_create(&c, "carol", "a\nb", false, &k, secret, &e), -EINVAL);
    CHECK_STR(e.field, "label");
    CHECK_EQ(ctl_key_create(&c, "carol", "ops", true, &k, secret, &e), 0);
    CHECK(apikey_format_ok(secret, strlen(secret)));
    CHECK(k.admin);
    char first[STORE_ID_SIZE];
    memcpy(first, k.id, sizeof(first));

    struct store_key *v = NULL;
    size_t n = 0;
    uint64_t total = 0;
    CHECK_EQ(ctl_key_list(&c, NULL, 50, 0, &v, &n, &total, &e), 0);
    CHECK_EQ(total, 2); /* alice's (fixture.h) and carol's */
    free(v);
    CHECK_EQ(ctl_key_list(&c, "No Such", 50, 0, &v, &n, &total, &e), -EINVAL);
    CHECK_STR(e.field, "user");

    char id[STORE_ID_SIZE];
    int64_t at = 0;
    static const char *const bad[] = { "", "key_", "nope", "key_01ARZ3NDEKTSV4RRFFQ69G5FAV",
                                       "KEY_01ARZ3NDEKTSV4RRFFQ69G5FAV" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(ctl_key_revoke(&c, bad[i], strlen(bad[i]), id, &at, &e), -ENOENT);
        CHECK_EQ(e.code, CTL_E_NOT_FOUND);
        CHECK_STR(e.msg, "key not found");
    }
    /* the only admin key: kept */
    CHECK_EQ(ctl_key_revoke(&c, first, strlen(first), id, &at, &e), -EPERM);
    CHECK_EQ(e.code, CTL_E_LAST_ADMIN_KEY);
    CHECK(strstr(e.msg, "last active admin key") != NULL);
    /* with a second one it goes, by a lower-case id too; then the second is the last */
    CHECK_EQ(ctl_key_create(&c, "ops", NULL, true, &k, secret, &e), 0);
    char lower[STORE_ID_SIZE];
    memcpy(lower, first, sizeof(lower));
    for (char *p = lower + 4; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    CHECK_EQ(ctl_key_revoke(&c, lower, strlen(lower), id, &at, &e), 0);
    CHECK_STR(id, first);
    CHECK(at > 0);
    CHECK_EQ(ctl_key_revoke(&c, first, strlen(first), id, &at, &e), -ENOENT); /* again */
    CHECK_EQ(ctl_key_revoke(&c, k.id, strlen(k.id), id, &at, &e), -EPERM);
    CHECK_EQ(ctl_key_revoke(&c, f.key_id, strlen(f.key_id), id, &at, &e), 0); /* a user key */
    fx_close(&f);
}
