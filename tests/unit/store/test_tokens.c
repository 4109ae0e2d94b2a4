/* SPDX-License-Identifier: MIT */
/* test_tokens.c: delegated sandbox tokens in the store (migration 0006): the secret is shown
 * once and only its hash is kept; one token per sandbox; rotate replaces the hash at once;
 * delete revokes; lookup takes the exact token and nothing else; a token dies when its sandbox
 * is destroyed (in the same transaction) or purged; the hint is "…" and the last 4. */
#include "fixture.h"

#include <sqlite3.h>

static int64_t raw_count(const struct fx *f, const char *sql)
{
    long long n = -1;
    return fx_sql(f, sql, &n) == 0 ? n : -1;
}

TEST(token_secret_format)
{
    char t[SBTOKEN_LEN + 1], t2[SBTOKEN_LEN + 1];
    CHECK_EQ(apikey_secret_generate(SBTOKEN_PREFIX, t), 0);
    CHECK_EQ(apikey_secret_generate(SBTOKEN_PREFIX, t2), 0);
    CHECK_EQ(strlen(t), SBTOKEN_LEN);
    CHECK(strncmp(t, "hst_", 4) == 0);
    CHECK(strcmp(t, t2) != 0);
    CHECK(apikey_secret_format_ok(SBTOKEN_PREFIX, t, strlen(t)));
    CHECK(!apikey_format_ok(t, strlen(t)));             /* not an API key */
    CHECK(!apikey_secret_format_ok(SBTOKEN_PREFIX, t, strlen(t) - 1));
    t2[10] = '=';
    CHECK(!apikey_secret_format_ok(SBTOKEN_PREFIX, t2, strlen(t2)));
}

TEST(token_issue_get_rotate_delete_lookup)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_key kb;
    char sb_secret[APIKEY_LEN + 1];
    CHECK_EQ(store_key_create(f.st, "bob", NULL, false, 1000, &kb, sb_secret), 0);
    struct store_sandbox a, b;
    fx_sandbox(&a, "alice", f.key_id, "tok-a", 100);
    fx_sandbox(&b, "alice", f.key_id, "tok-b", 100);
    CHECK_EQ(store_sandbox_insert(f.st, &a, NULL, 0), 0);
    CHECK_EQ(store_sandbox_insert(f.st, &b, NULL, 0), 0);

    struct store_token t, g;
    char s1[SBTOKEN_LEN + 1], s2[SBTOKEN_LEN + 1];
    CHECK_EQ(store_token_get(f.st, "alice", a.id, &g), -ENOENT);
    CHECK_EQ(store_token_issue(f.st, "alice", a.id, true, 2000, &t, s1), -ENOENT); /* no rotate */
    CHECK_EQ(store_token_issue(f.st, "bob", a.id, false, 2000, &t, s1), -ENOENT);  /* not his */
    CHECK_EQ(store_token_issue(f.st, "alice", "sb-nope", false, 2000, &t, s1), -ENOENT);
    CHECK_EQ(store_token_issue(f.st, "alice", a.id, false, 2000, &t, s1), 0);
    CHECK(strncmp(s1, "hst_", 4) == 0);
    CHECK_EQ(strlen(s1), SBTOKEN_LEN);
    CHECK_STR(t.sandbox_id, a.id);
    CHECK_STR(t.user_id, "alice");
    CHECK_EQ(t.created_at, 2000);
    CHECK_EQ(t.rotated_at, 0);
    char want_hint[16];
    snprintf(want_hint, sizeof(want_hint), "\u2026%s", s1 + SBTOKEN_LEN - 4);
    CHECK_STR(t.hint, want_hint);
    CHECK_EQ(store_token_issue(f.st, "alice", a.id, false, 2100, &g, s2), -EEXIST);

    /* only the hash is stored: the plaintext appears nowhere in the database */
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM sandbox_tokens WHERE hint = '%s' OR "
             "CAST(hash AS TEXT) LIKE '%%%s%%'", s1, s1 + 4);
    CHECK_EQ(raw_count(&f, sql), 0);

    struct store_token l;
    CHECK_EQ(store_token_lookup(f.st, s1, strlen(s1), &l), 0);
    CHECK_STR(l.sandbox_id, a.id);
    CHECK_STR(l.user_id, "alice");
    CHECK_EQ(store_token_get(f.st, "alice", a.id, &g), 0);
    CHECK_STR(g.hint, t.hint);
    CHECK_EQ(store_token_get(f.st, "bob", a.id, &g), -ENOENT);
    CHECK_EQ(store_token_get(f.st, "alice", b.id, &g), -ENOENT);

    /* near misses */
    char bad[SBTOKEN_LEN + 2];
    memcpy(bad, s1, sizeof(s1));
    bad[20] = bad[20] == 'A' ? 'B' : 'A';
    CHECK_EQ(store_token_lookup(f.st, bad, SBTOKEN_LEN, &l), -ENOENT);
    CHECK_EQ(store_token_lookup(f.st, s1, SBTOKEN_LEN - 1, &l), -EINVAL);
    CHECK_EQ(store_token_lookup(f.st, "", 0, &l), -EINVAL);
    CHECK_EQ(store_token_lookup(f.st, f.secret, strlen(f.secret), &l), -EINVAL); /* a key */
    memcpy(bad, s1, sizeof(s1));
    bad[30] = '\0';
    CHECK_EQ(store_token_lookup(f.st, bad, SBTOKEN_LEN, &l), -EINVAL);

    /* rotate: the old one fails at once, the new one works */
    CHECK_EQ(store_token_issue(f.st, "alice", a.id, true, 3000, &t, s2), 0);
    CHECK_EQ(t.created_at, 2000);
    CHECK_EQ(t.rotated_at, 3000);
    CHECK(strcmp(s1, s2) != 0);
    CHECK_EQ(store_token_lookup(f.st, s1, strlen(s1), &l), -ENOENT);
    CHECK_EQ(store_token_lookup(f.st, s2, strlen(s2), &l), 0);

    /* delete: revoked at once; a second delete finds nothing */
    CHECK_EQ(store_token_delete(f.st, "bob", a.id, &g), -ENOENT);
    CHECK_EQ(store_token_delete(f.st, "alice", a.id, &g), 0);
    CHECK_EQ(g.rotated_at, 3000);
    CHECK_EQ(store_token_lookup(f.st, s2, strlen(s2), &l), -ENOENT);
    CHECK_EQ(store_token_delete(f.st, "alice", a.id, &g), -ENOENT);
    CHECK_EQ(store_token_issue(f.st, "alice", a.id, false, 4000, &t, s1), 0); /* again */

    store_sandbox_release(&a);
    store_sandbox_release(&b);
    fx_close(&f);
}

TEST(token_dies_with_its_sandbox)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox a;
    fx_sandbox(&a, "alice", f.key_id, "tok-d", 100);
    CHECK_EQ(store_sandbox_insert(f.st, &a, NULL, 0), 0);
    struct store_token t, l;
    char s[SBTOKEN_LEN + 1];
    CHECK_EQ(store_token_issue(f.st, "alice", a.id, false, 2000, &t, s), 0);
    struct store_transition tr = { .from = a.status, .to = STORE_DESTROYING,
                                   .intent = STORE_DESTROYED, .now_ms = 3000 };
    CHECK_EQ(store_sandbox_transition(f.st, a.id, &tr, NULL), 0);
    /* gone in the transaction that started the destroy */
    CHECK_EQ(store_token_lookup(f.st, s, strlen(s), &l), -ENOENT);
    CHECK_EQ(store_token_get(f.st, "alice", a.id, &t), -ENOENT);
    CHECK_EQ(store_token_issue(f.st, "alice", a.id, false, 3100, &t, s), -ESTALE);
    CHECK_EQ(raw_count(&f, "SELECT count(*) FROM sandbox_tokens"), 0);
    store_sandbox_release(&a);

    /* a failed sandbox keeps its token (GET still shows it) until it is destroyed or purged */
    fx_sandbox(&a, "alice", f.key_id, "tok-p", 100);
    CHECK_EQ(store_sandbox_insert(f.st, &a, NULL, 0), 0);
    CHECK_EQ(store_token_issue(f.st, "alice", a.id, false, 2000, &t, s), 0);
    tr = (struct store_transition){ .from = a.status, .to = STORE_FAILED,
                                    .intent = STORE_STATE_NONE, .now_ms = 3000 };
    CHECK_EQ(store_sandbox_transition(f.st, a.id, &tr, NULL), 0);
    CHECK_EQ(store_token_lookup(f.st, s, strlen(s), &l), 0);
    CHECK_EQ(store_sandbox_purge(f.st, 5000), 1);
    CHECK_EQ(raw_count(&f, "SELECT count(*) FROM sandbox_tokens"), 0);
    CHECK_EQ(store_token_lookup(f.st, s, strlen(s), &l), -ENOENT);
    store_sandbox_release(&a);
    fx_close(&f);
}

