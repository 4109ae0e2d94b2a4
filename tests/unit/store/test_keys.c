/* SPDX-License-Identifier: MIT */
/* test_keys.c: API keys: the secret is shown once and only its hash is stored; lookup accepts the
 * exact key and nothing else; revoke is immediate; list never shows secrets; the API's page of
 * active keys and its revoke that keeps the last admin key. */
#include "fixture.h"

#include <sqlite3.h>

TEST(apikey_format_and_hash)
{
    char k[APIKEY_LEN + 1], k2[APIKEY_LEN + 1];
    CHECK_EQ(apikey_generate(k), 0);
    CHECK_EQ(apikey_generate(k2), 0);
    CHECK_EQ(strlen(k), APIKEY_LEN);
    CHECK(strncmp(k, "hk_", 3) == 0);
    CHECK(apikey_format_ok(k, strlen(k)));
    CHECK(strcmp(k, k2) != 0);
    /* 32 bytes in 43 characters: the last one carries 4 bits, so it is one of 16 */
    CHECK(strchr("AEIMQUYcgkosw048", k[APIKEY_LEN - 1]) != NULL);
    /* SHA-256("abc") */
    static const uint8_t abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22,
        0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00,
        0x15, 0xad,
    };
    uint8_t h[32];
    CHECK_EQ(apikey_hash("abc", 3, h), 0);
    CHECK(apikey_hash_equal(h, abc));
    h[31] ^= 1;
    CHECK(!apikey_hash_equal(h, abc));
}

TEST(keys_create_lookup_list_revoke)
{
    struct fx f;
    if (!fx_open(&f, false))
        return;
    struct store_key k1, k2, kb;
    char s1[APIKEY_LEN + 1], s2[APIKEY_LEN + 1], sb[APIKEY_LEN + 1];
    CHECK_EQ(store_key_create(f.st, "alice", "laptop", false, 1000, &k1, s1), 0);
    CHECK_EQ(store_key_create(f.st, "alice", NULL, true, 2000, &k2, s2), 0);
    CHECK_EQ(store_key_create(f.st, "bob", "ci", false, 3000, &kb, sb), 0);
    CHECK(apikey_format_ok(s1, strlen(s1)));
    CHECK(strncmp(k1.id, "key_", 4) == 0);
    CHECK_EQ(strlen(k1.id), IDS_KEY_LEN);
    CHECK(strncmp(k1.prefix, s1, APIKEY_SHOWN_PREFIX_LEN) == 0);
    CHECK_EQ(strlen(k1.prefix), APIKEY_SHOWN_PREFIX_LEN);

    struct store_auth a;
    CHECK_EQ(store_key_lookup(f.st, s1, strlen(s1), &a), 0);
    CHECK_STR(a.key_id, k1.id);
    CHECK_STR(a.user_id, "alice");
    CHECK(!a.admin);
    CHECK_EQ(store_key_lookup(f.st, s2, strlen(s2), &a), 0);
    CHECK(a.admin);
    CHECK_STR(a.key_id, k2.id);
    CHECK_EQ(store_key_lookup(f.st, sb, strlen(sb), &a), 0);
    CHECK_STR(a.user_id, "bob");

    struct store_key *list;
    size_t n;
    CHECK_EQ(store_key_list(f.st, "alice", &list, &n), 0);
    CHECK_EQ(n, 2);
    CHECK_STR(list[0].id, k2.id); /* newest first */
    CHECK_STR(list[1].label, "laptop");
    CHECK_STR(list[0].label, "");
    CHECK(list[0].admin && !list[1].admin);
    CHECK_EQ(list[1].created_at, 1000);
    CHECK_EQ(list[1].last_used_at, 0);
    free(list);
    CHECK_EQ(store_key_list(f.st, NULL, &list, &n), 0);
    CHECK_EQ(n, 3);
    CHECK_STR(list[0].user_id, "bob");
    free(list);
    CHECK_EQ(store_key_list(f.st, "nobody", &list, &n), 0);
    CHECK_EQ(n, 0);
    CHECK(list == NULL);

    CHECK_EQ(store_key_touch(f.st, k1.id, 4242), 0);
    CHECK_EQ(store_key_touch(f.st, "key_nope", 4242), -ENOENT);
    CHECK_EQ(store_key_list(f.st, "alice", &list, &n), 0);
    CHECK_EQ(list[1].last_used_at, 4242);
    free(list);

    CHECK_EQ(store_key_revoke(f.st, k1.id, 5000), 0);
    CHECK_EQ(store_key_lookup(f.st, s1, strlen(s1), &a), -EKEYREVOKED);
    CHECK_EQ(store_key_revoke(f.st, k1.id, 6000), -EALREADY);
    CHECK_EQ(store_key_revoke(f.st, "key_01ARZ3NDEKTSV4RRFFQ69G5FAV", 6000), -ENOENT);
    CHECK_EQ(store_key_revoke(f.st, "", 6000), -ENOENT);
    CHECK_EQ(store_key_lookup(f.st, s2, strlen(s2), &a), 0); /* the other key still works */
    CHECK_EQ(store_key_list(f.st, "alice", &list, &n), 0);
    CHECK_EQ(list[1].revoked_at, 5000);
    CHECK_EQ(list[0].revoked_at, 0);
    free(list);
    fx_close(&f);
}

TEST(keys_only_hash_is_stored)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    store_close(f.st);
    f.st = NULL;
    /* scan every byte of the database files for the secret or its base64 body */
    static const char *const suffixes[] = { "", "-wal" };
    for (int i = 0; i < 2 && !f.pg; i++) {
        char p[300];
        snprintf(p, sizeof(p), "%s%s", f.path, suffixes[i]);
        FILE *fp = fopen(p, "rb");
        if (!fp)
            continue;
        static char data[1 << 20];
        size_t len = fread(data, 1, sizeof(data), fp);
        fclose(fp);
        CHECK(memmem(data, len, f.secret + 3, 20) == NULL);
    }
    long long v = 0;
    CHECK_EQ(fx_sql(&f, "SELECT length(hash) FROM api_keys", &v), 0);
    CHECK_EQ(v, 32);
    CHECK_EQ(fx_sql(&f, "SELECT length(prefix) FROM api_keys", &v), 0);
    CHECK_EQ(v, APIKEY_SHOWN_PREFIX_LEN);
    if (f.pg) { /* PostgreSQL's files are the server's; the secret is not in any column */
        char sql[200];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM api_keys WHERE prefix || label || id "
                                   "LIKE '%%%.20s%%'", f.secret + 3);
        CHECK_EQ(fx_sql(&f, sql, &v), 0);
        CHECK_EQ(v, 0);
    }
    fx_close(&f);
}

TEST(keys_reject_bad_credentials)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    char buf[512];
    struct store_auth a;
    memset(&a, 0x5a, sizeof(a));
    struct store_auth before = a;
    const char *good = f.secret;
    size_t glen = strlen(good);

    /* wrong but well-formed key: unknown */
    char other[APIKEY_LEN + 1];
    CHECK_EQ(apikey_generate(other), 0);
    CHECK_EQ(store_key_lookup(f.st, other, strlen(other), &a), -ENOENT);
    /* one character changed */
    memcpy(buf, good, glen + 1);
    buf[10] = buf[10] == 'A' ? 'B' : 'A';
    CHECK_EQ(store_key_lookup(f.st, buf, glen, &a), -ENOENT);

    static const char *const malformed[] = {
        "", "hk_", "hk", "HK_", "x", "hst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "hk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",    /* 42 */
        "hk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* 44 */
        "hk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",   /* padding */
        "hk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",   /* base64, not base64url */
        "hk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/",
        "hk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",
        "hk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'",
        "hk_AAAAAAAAAAAAAAAAAAAA' OR '1'='1'--AAAAAAAA",
        "hk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xc3",
        " hk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
        CHECK_EQ(store_key_lookup(f.st, malformed[i], strlen(malformed[i]), &a), -EINVAL);
    /* the good key with trailing bytes, or cut short */
    memcpy(buf, good, glen);
    buf[glen] = 'A';
    CHECK_EQ(store_key_lookup(f.st, buf, glen + 1, &a), -EINVAL);
    CHECK_EQ(store_key_lookup(f.st, good, glen - 1, &a), -EINVAL);
    /* an embedded NUL at every position */
    for (size_t i = 0; i < glen; i++) {
        memcpy(buf, good, glen);
        buf[i] = '\0';
        CHECK_EQ(store_key_lookup(f.st, buf, glen, &a), -EINVAL);
    }
    /* overlong */
    memset(buf, 'A', sizeof(buf));
    memcpy(buf, "hk_", 3);
    CHECK_EQ(store_key_lookup(f.st, buf, sizeof(buf), &a), -EINVAL);
    CHECK_EQ(store_key_lookup(f.st, NULL, 0, &a), -EINVAL);
    CHECK_EQ(store_key_lookup(f.st, NULL, 46, &a), -EINVAL);
    CHECK(memcmp(&a, &before, sizeof(a)) == 0); /* never written on failure */
    /* and the good key still works */
    CHECK_EQ(store_key_lookup(f.st, good, glen, &a), 0);
    fx_close(&f);
}

TEST(keys_reject_bad_user_names)
{
    struct fx f;
    if (!fx_open(&f, false))
        return;
    static const char *const bad[] = {
        "", "Alice", "-alice", "_a", "al ice", "a'; DROP TABLE users;--", "al\xc3\xa9",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 64 */
    };
    struct store_key k;
    char s[APIKEY_LEN + 1];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(store_key_create(f.st, bad[i], NULL, false, 1, &k, s), -EINVAL);
        CHECK_EQ(store_user_ensure(f.st, bad[i], 1), -EINVAL);
    }
    CHECK_EQ(store_key_create(f.st, NULL, NULL, false, 1, &k, s), -EINVAL);
    /* 63 characters, digits, _ and - are fine */
    const char *u63 = "a23456789012345678901234567890123456789012345678901234567890123";
    CHECK_EQ(store_key_create(f.st, u63, NULL, false, 1, &k, s), 0);
    CHECK_EQ(store_key_create(f.st, "0a_b-c", NULL, false, 1, &k, s), 0);
    CHECK_EQ(store_user_ensure(f.st, "0a_b-c", 2), 0); /* existing: fine */
    char label[STORE_LABEL_SIZE + 1];
    memset(label, 'l', sizeof(label) - 1);
    label[sizeof(label) - 1] = '\0';
    CHECK_EQ(store_key_create(f.st, "alice", label, false, 1, &k, s), -ENAMETOOLONG);
    CHECK_EQ(store_key_create(f.st, "alice", "it's \"quoted\"; --", false, 1, &k, s), 0);
    struct store_key *list;
    size_t n;
    CHECK_EQ(store_key_list(f.st, "alice", &list, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_STR(list[0].label, "it's \"quoted\"; --");
    free(list);
    CHECK_EQ(store_key_list(f.st, "Bad User", &list, &n), -EINVAL);
    fx_close(&f);
}

TEST(keys_page_lists_active_keys_newest_first)
{
    struct fx f;
    if (!fx_open(&f, false))
        return;
    struct store_key k[5];
    char s[APIKEY_LEN + 1];
    for (int i = 0; i < 5; i++)
        CHECK_EQ(store_key_create(f.st, i < 4 ? "alice" : "bob", NULL, false, 1000 + i, &k[i], s),
                 0);
    CHECK_EQ(store_key_revoke(f.st, k[1].id, 2000), 0);
    struct store_key *v = NULL;
    size_t n = 0;
    uint64_t total = 0;
    CHECK_EQ(store_key_page(f.st, NULL, 2, 0, &v, &n, &total), 0);
    CHECK_EQ(total, 4);
    CHECK_EQ(n, 2);
    CHECK_STR(v[0].id, k[4].id);
    CHECK_STR(v[1].id, k[3].id);
    free(v);
    CHECK_EQ(store_key_page(f.st, "alice", 50, 1, &v, &n, &total), 0);
    CHECK_EQ(total, 3); /* the revoked one is not counted */
    CHECK_EQ(n, 2);
    CHECK_STR(v[0].id, k[2].id);
    CHECK_STR(v[1].id, k[0].id);
    free(v);
    CHECK_EQ(store_key_page(f.st, "alice", 50, 10, &v, &n, &total), 0);
    CHECK_EQ(total, 3);
    CHECK_EQ(n, 0);
    free(v);
    CHECK_EQ(store_key_page(f.st, "nobody", 50, 0, &v, &n, &total), 0);
    CHECK_EQ(total, 0);
    free(v);
    CHECK_EQ(store_key_page(f.st, "Bad User", 50, 0, &v, &n, &total), -EINVAL);
    fx_close(&f);
}

TEST(keys_revoke_keep_admin_refuses_the_last_admin_key)
{
    struct fx f;
    if (!fx_open(&f, false))
        return;
    struct store_key a1, a2, u;
    char s[APIKEY_LEN + 1];
    CHECK_EQ(store_key_create(f.st, "admin", NULL, true, 1000, &a1, s), 0);
    CHECK_EQ(store_key_create(f.st, "ops", NULL, true, 1001, &a2, s), 0);
    CHECK_EQ(store_key_create(f.st, "alice", NULL, false, 1002, &u, s), 0);
    CHECK_EQ(store_key_revoke_keep_admin(f.st, u.id, 2000), 0);
    CHECK_EQ(store_key_revoke_keep_admin(f.st, u.id, 2000), -EALREADY);
    CHECK_EQ(store_key_revoke_keep_admin(f.st, a1.id, 2000), 0); /* another admin key is left */
    CHECK_EQ(store_key_revoke_keep_admin(f.st, a2.id, 2000), -EPERM);
    CHECK_EQ(store_key_revoke_keep_admin(f.st, a1.id, 2000), -EALREADY);
    CHECK_EQ(store_key_revoke_keep_admin(f.st, "key_01ARZ3NDEKTSV4RRFFQ69G5FAV", 2000), -ENOENT);
    CHECK_EQ(store_key_revoke_keep_admin(f.st, "", 2000), -ENOENT);
    struct store_auth a;
    CHECK_EQ(store_key_lookup(f.st, s, strlen(s), &a), -EKEYREVOKED); /* s is u's */
    struct store_key *v = NULL;
    size_t n = 0;
    uint64_t total = 0;
    CHECK_EQ(store_key_page(f.st, NULL, 50, 0, &v, &n, &total), 0);
    CHECK_EQ(total, 1);
    CHECK_STR(v[0].id, a2.id);
    free(v);
    /* the CLI's revoke (on the host) has no such guard */
    CHECK_EQ(store_key_revoke(f.st, a2.id, 3000), 0);
    fx_close(&f);
}
