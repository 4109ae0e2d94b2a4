/* SPDX-License-Identifier: MIT */
/* test_keys.c: the API key routes (docs/api.md §5.1) over real HTTP against a real `hearthd
 * serve`: list, create (the secret once, never again), revoke (at once, for the next request,
 * the caller's own key included), the last active admin key kept (409), admin keys only
 * (403 for user keys and delegated tokens), and hostile input: bad JSON and types, bad user
 * names, oversized and control-character labels, bad ids, paging. Ends each test with the
 * server still answering. */
#include "apitest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/store/fixture.h" /* fx_sandbox() */
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

struct kfx {
    struct hd_server s;
    char alice[APIKEY_LEN + 1];                 /* a user key */
    char hdr_admin[128], hdr_alice[128];
};

static bool fx_start(struct kfx *f)
{
    memset(f, 0, sizeof(*f));
    REQUIRE(hd_prepare(&f->s, NULL, true));
    REQUIRE(hd_start(&f->s));
    char db[256], err[256];
    snprintf(db, sizeof(db), "%s", hd_store(&f->s));
    struct store *st;
    REQUIRE(store_open(db, &st, err, sizeof(err)) == 0);
    struct store_key k;
    int r = store_key_create(st, "alice", "t", false, 1000, &k, f->alice);
    store_close(st);
    REQUIRE(r == 0);
    snprintf(f->hdr_admin, sizeof(f->hdr_admin), "X-Api-Key: %s\r\n", f->s.admin_key);
    snprintf(f->hdr_alice, sizeof(f->hdr_alice), "X-Api-Key: %s\r\n", f->alice);
    return true;
}

/* The server still answers, then it stops cleanly. */
static void fx_end(struct kfx *f)
{
    struct hresp r;
    CHECK_EQ(http_do(f->s.port, "GET", "/healthz", NULL, NULL, &r), 0);
    CHECK_EQ(r.status, 200);
    hresp_free(&r);
    hd_cleanup(&f->s);
}

/* One request; fails the test (showing the body) unless the status is want. */
static bool req(struct kfx *f, const char *method, const char *target, const char *hdr,
                const char *body, int want, struct hresp *r)
{
    REQUIRE(http_do(f->s.port, method, target, hdr, body, r) == 0);
    if (r->status != want)
        harness_fail(__FILE__, __LINE__, "%s %.200s: status %d, want %d; body %.500s", method,
                     target, r->status, want, r->body);
    return r->status == want;
}

static void hdr_of(const char *key, char out[128])
{
    snprintf(out, 128, "X-Api-Key: %s\r\n", key);
}

/* POST /v1/keys with body; on 200 copies the new key and its id out (either may be NULL). */
static bool create(struct kfx *f, const char *hdr, const char *body, char *ret_key,
                   char *ret_id)
{
    struct hresp r;
    bool ok = req(f, "POST", "/v1/keys", hdr, body, 200, &r);
    if (ok) {
        const char *k = jstr(r.json, "data.key"), *id = jstr(r.json, "data.id");
        ok = k && id && strlen(k) == APIKEY_LEN && strlen(id) == IDS_KEY_LEN;
        if (ok && ret_key)
            snprintf(ret_key, APIKEY_LEN + 1, "%s", k);
        if (ok && ret_id)
            snprintf(ret_id, STORE_ID_SIZE, "%s", id);
    }
    hresp_free(&r);
    REQUIRE(ok);
    return true;
}

static int status_of(struct kfx *f, const char *method, const char *target, const char *hdr,
                     const char *body)
{
    return http_status(f->s.port, method, target, hdr, body);
}

TEST(keys_create_list_use_revoke)
{
    struct kfx f;
    if (!fx_start(&f))
        return;
    struct hresp r;
    /* the first-start admin key and alice's */
    CHECK(req(&f, "GET", "/v1/keys", f.hdr_admin, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 2);
    CHECK_STR(jstr(r.json, "data.data.0.user_id"), "admin"); /* alice's is dated 1970 */
    CHECK_STR(jstr(r.json, "data.data.1.user_id"), "alice");
    CHECK(json_is_true(jpath(r.json, "data.data.0.admin")));
    CHECK(json_is_false(jpath(r.json, "data.data.1.admin")));
    CHECK_STR(jstr(r.json, "data.data.0.label"), "first start");
    CHECK(jpath(r.json, "data.data.0.last_used_at") != NULL); /* this very request used it */
    CHECK(strstr(r.body, f.s.admin_key) == NULL && strstr(r.body, f.alice) == NULL);
    hresp_free(&r);

    CHECK(req(&f, "POST", "/v1/keys", f.hdr_admin,
              "{\"user\":\"carol\",\"label\":\"ci runner\",\"admin\":false}", 200, &r));
    const char *key = jstr(r.json, "data.key"), *id = jstr(r.json, "data.id");
    CHECK(key && strncmp(key, "hk_", 3) == 0 && strlen(key) == APIKEY_LEN);
    CHECK(id && strncmp(id, "key_", 4) == 0 && strlen(id) == IDS_KEY_LEN);
    CHECK_STR(jstr(r.json, "data.user_id"), "carol");
    CHECK_STR(jstr(r.json, "data.label"), "ci runner");
    CHECK(json_is_false(jpath(r.json, "data.admin")));
    CHECK(jstr(r.json, "data.created_at") != NULL);
    CHECK(jpath(r.json, "data.last_used_at") == NULL);
    CHECK(strncmp(jstr(r.json, "data.prefix"), key, 10) == 0);
    char cc[64];
    CHECK(hresp_header(&r, "Cache-Control", cc, sizeof(cc)));
    CHECK_STR(cc, "no-store");
    char carol[APIKEY_LEN + 1], carol_id[STORE_ID_SIZE], hdr_carol[128];
    snprintf(carol, sizeof(carol), "%s", key);
    snprintf(carol_id, sizeof(carol_id), "%s", id);
    hdr_of(carol, hdr_carol);
    hresp_free(&r);

    /* the new key works at once, as a user key */
    CHECK(req(&f, "GET", "/v1/whoami", hdr_carol, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.user_id"), "carol");
    CHECK(json_is_false(jpath(r.json, "data.admin")));
    hresp_free(&r);
    /* listed without its secret, with its last use; ?user= narrows */
    CHECK(req(&f, "GET", "/v1/keys?user=carol", f.hdr_admin, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 1);
    CHECK_STR(jstr(r.json, "data.data.0.id"), carol_id);
    CHECK(jpath(r.json, "data.data.0.key") == NULL);
    CHECK(jpath(r.json, "data.data.0.hash") == NULL);
    CHECK(jstr(r.json, "data.data.0.last_used_at") != NULL);
    CHECK(strstr(r.body, carol) == NULL);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/keys?user=nobody", f.hdr_admin, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    CHECK_EQ(json_array_size(jpath(r.json, "data.data")), 0);
    hresp_free(&r);

    /* revoke: the next request with it is 401; again is 404; it leaves the list */
    char t[128];
    snprintf(t, sizeof(t), "/v1/keys/%s", carol_id);
    CHECK(req(&f, "DELETE", t, f.hdr_admin, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.id"), carol_id);
    CHECK(json_is_true(jpath(r.json, "data.revoked")));
    CHECK(jstr(r.json, "data.revoked_at") != NULL);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/whoami", hdr_carol, NULL, 401, &r));
    CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"missing or invalid credential\"}");
    hresp_free(&r);
    CHECK(req(&f, "DELETE", t, f.hdr_admin, NULL, 404, &r));
    CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"key not found\"}");
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/keys?user=carol", f.hdr_admin, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    hresp_free(&r);
    /* the secret never reached the log */
    FILE *lf = fopen(f.s.log, "r");
    CHECK(lf != NULL);
    if (lf) {
        char line[8192];
        bool created = false;
        while (fgets(line, sizeof(line), lf)) {
            CHECK(strstr(line, carol) == NULL);
            created |= strstr(line, "api key created") && strstr(line, carol_id);
        }
        fclose(lf);
        CHECK(created);
    }
    fx_end(&f);
}

TEST(keys_create_defaults_and_admin_keys)
{
    struct kfx f;
    if (!fx_start(&f))
        return;
    struct hresp r;
    /* no body, an empty object, unknown fields and nulls: the caller's user, not admin */
    const char *bodies[] = { NULL, "", "{}", "{\"expires\":\"never\",\"scopes\":[1]}",
                             "{\"user\":null,\"label\":null,\"admin\":null}" };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        CHECK(req(&f, "POST", "/v1/keys", f.hdr_admin, bodies[i], 200, &r));
        CHECK_STR(jstr(r.json, "data.user_id"), "admin");
        CHECK_STR(jstr(r.json, "data.label"), "");
        CHECK(json_is_false(jpath(r.json, "data.admin")));
        hresp_free(&r);
    }
    /* a new admin key can manage keys; a new user key of a new user cannot */
    char adm[APIKEY_LEN + 1], hdr_adm[128], u[APIKEY_LEN + 1], hdr_u[128];
    CHECK(create(&f, f.hdr_admin, "{\"user\":\"ops\",\"admin\":true,\"label\":\"ops\"}", adm,
                 NULL));
    hdr_of(adm, hdr_adm);
    CHECK(req(&f, "GET", "/v1/whoami", hdr_adm, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.user_id"), "ops");
    CHECK(json_is_true(jpath(r.json, "data.admin")));
    hresp_free(&r);
    CHECK(create(&f, hdr_adm, "{\"user\":\"0new_user-1\"}", u, NULL));
    hdr_of(u, hdr_u);
    CHECK_EQ(status_of(&f, "GET", "/v1/keys", hdr_u, NULL), 403);
    /* labels are text: kept verbatim, markup and all; 200 characters of any script */
    CHECK(req(&f, "POST", "/v1/keys", f.hdr_admin,
              "{\"label\":\"<img src=x onerror=alert(1)> \\\"q\\\" 'a' & \\u00e9\\u4e2d\"}", 200,
              &r));
    CHECK_STR(jstr(r.json, "data.label"),
              "<img src=x onerror=alert(1)> \"q\" 'a' & \xc3\xa9\xe4\xb8\xad");
    hresp_free(&r);
    char body[2048];
    int n = snprintf(body, sizeof(body), "{\"label\":\"");
    for (int i = 0; i < 200; i++)
        n += snprintf(body + n, sizeof(body) - (size_t)n, "\xf0\x9f\x94\x91"); /* U+1F511 */
    snprintf(body + n, sizeof(body) - (size_t)n, "\"}");
    CHECK(req(&f, "POST", "/v1/keys", f.hdr_admin, body, 200, &r));
    CHECK_EQ(strlen(jstr(r.json, "data.label")), 800);
    hresp_free(&r);
    fx_end(&f);
}

TEST(keys_refuse_bad_input)
{
    struct kfx f;
    if (!fx_start(&f))
        return;
    struct hresp r;
    char l201[256], l200[256], big[1 << 16];
    snprintf(l201, sizeof(l201), "{\"label\":\"%0201d\"}", 0);
    snprintf(l200, sizeof(l200), "{\"label\":\"%0200d\"}", 0);
    memset(big, 'x', sizeof(big));
    memcpy(big, "{\"label\":\"", 10);
    memcpy(big + sizeof(big) - 3, "\"}", 3);
    static const char u64[] = "a23456789012345678901234567890123456789012345678901234567890123x";
    char long_user[128];
    snprintf(long_user, sizeof(long_user), "{\"user\":\"%s\"}", u64);
    const struct {
        const char *body, *field;
    } bad[] = {
        { "{", "body" },
        { "{\"user\":", "body" },
        { "not json", "body" },
        { "[]", "body" },
        { "\"carol\"", "body" },
        { "42", "body" },
        { "{\"user\":7}", "user" },
        { "{\"user\":[\"carol\"]}", "user" },
        { "{\"user\":\"\"}", "user" },
        { "{\"user\":\"Carol\"}", "user" },
        { "{\"user\":\"-carol\"}", "user" },
        { "{\"user\":\"_carol\"}", "user" },
        { "{\"user\":\"car ol\"}", "user" },
        { "{\"user\":\"car/ol\"}", "user" },
        { "{\"user\":\"carol\\u0000x\"}", "user" },
        { "{\"user\":\"caf\\u00e9\"}", "user" },
        { "{\"user\":\"a'; DROP TABLE api_keys;--\"}", "user" },
        { long_user, "user" },
        { l201, "label" },
        { big, "label" },
        { "{\"label\":7}", "label" },
        { "{\"label\":{}}", "label" },
        { "{\"label\":\"a\\nb\"}", "label" },
        { "{\"label\":\"a\\tb\"}", "label" },
        { "{\"label\":\"a\\u007fb\"}", "label" },
        { "{\"label\":\"a\\u0085b\"}", "label" },
        { "{\"label\":\"a\\u0000b\"}", "label" },
        { "{\"admin\":\"yes\"}", "admin" },
        { "{\"admin\":1}", "admin" },
        { "{\"admin\":[true]}", "admin" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(req(&f, "POST", "/v1/keys", f.hdr_admin, bad[i].body, 400, &r));
        CHECK(hresp_field_is(&r, bad[i].field, "invalid_request", NULL));
        hresp_free(&r);
    }
    CHECK(req(&f, "POST", "/v1/keys", f.hdr_admin, "{\"user\":\"Carol\"}", 400, &r));
    CHECK(hresp_field_is(&r, "user", "invalid_request", "^[a-z0-9][a-z0-9_-]{0,62}$"));
    hresp_free(&r);
    CHECK(req(&f, "POST", "/v1/keys", f.hdr_admin, l201, 400, &r));
    CHECK(hresp_field_is(&r, "label", "invalid_request", "at most 200 characters"));
    hresp_free(&r);
    CHECK_EQ(status_of(&f, "POST", "/v1/keys", f.hdr_admin, l200), 200);
    /* nothing was created by the refused ones: the admin key, alice's, the 200 one */
    CHECK(req(&f, "GET", "/v1/keys", f.hdr_admin, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 3);
    hresp_free(&r);
    /* the list's query */
    const char *bad_q[] = { "/v1/keys?user=Carol", "/v1/keys?user=", "/v1/keys?user=%00",
                            "/v1/keys?limit=-1", "/v1/keys?limit=x", "/v1/keys?offset=-5",
                            "/v1/keys?offset=1.5" };
    for (size_t i = 0; i < sizeof(bad_q) / sizeof(bad_q[0]); i++)
        CHECK_EQ(status_of(&f, "GET", bad_q[i], f.hdr_admin, NULL), 400);
    CHECK(req(&f, "GET", "/v1/keys?user=Carol", f.hdr_admin, NULL, 400, &r));
    CHECK(hresp_field_is(&r, "user", "invalid_request", NULL));
    hresp_free(&r);
    fx_end(&f);
}

TEST(keys_bad_ids_are_404)
{
    struct kfx f;
    if (!fx_start(&f))
        return;
    struct hresp r;
    char longid[5000];
    snprintf(longid, sizeof(longid), "/v1/keys/key_");
    memset(longid + 13, 'A', sizeof(longid) - 14);
    longid[sizeof(longid) - 1] = '\0';
    const char *bad[] = {
        "/v1/keys/nope", "/v1/keys/key_", "/v1/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "/v1/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FA", "/v1/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FAVX",
        "/v1/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FA!",
        "/v1/keys/KEY_01ARZ3NDEKTSV4RRFFQ69G5FAV", "/v1/keys/%2e%2e", "/v1/keys/sb-x",
        "/v1/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FA%C3%A9", longid,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(req(&f, "DELETE", bad[i], f.hdr_admin, NULL, 404, &r));
        CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"key not found\"}");
        hresp_free(&r);
    }
    /* what the HTTP layer refuses first (400) is never a 5xx either */
    const char *odd[] = { "/v1/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FA%00", "/v1/keys/%",
                          "/v1/keys/%zz", "/v1/keys/key_%FF%FE" };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        int st = status_of(&f, "DELETE", odd[i], f.hdr_admin, NULL);
        if (st != 400 && st != 404)
            harness_fail(__FILE__, __LINE__, "DELETE %s: %d, want 400 or 404", odd[i], st);
    }
    /* other shapes of the path are routing's: 404 route not found, 405 with Allow */
    CHECK_EQ(status_of(&f, "DELETE", "/v1/keys/a/b", f.hdr_admin, NULL), 404);
    CHECK(req(&f, "DELETE", "/v1/keys", f.hdr_admin, NULL, 405, &r));
    char allow[64];
    CHECK(hresp_header(&r, "Allow", allow, sizeof(allow)));
    CHECK_STR(allow, "GET, POST");
    hresp_free(&r);
    CHECK_EQ(status_of(&f, "GET", "/v1/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FAV", f.hdr_admin, NULL),
             405);
    CHECK_EQ(status_of(&f, "PUT", "/v1/keys", f.hdr_admin, "{}"), 405);
    /* the id matches in either case */
    char id[STORE_ID_SIZE], t[128];
    CHECK(create(&f, f.hdr_admin, "{\"user\":\"carol\"}", NULL, id));
    snprintf(t, sizeof(t), "/v1/keys/key_");
    for (size_t i = 4; id[i]; i++) {
        size_t n = strlen(t);
        t[n] = (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] + 32 : id[i]);
        t[n + 1] = '\0';
    }
    CHECK(req(&f, "DELETE", t, f.hdr_admin, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.id"), id);
    hresp_free(&r);
    fx_end(&f);
}

/* A sandbox row of alice's with a delegated token, straight through the store. */
static bool alice_token(struct kfx *f, char token[SBTOKEN_LEN + 1], char ret_sb[STORE_ID_SIZE])
{
    char db[256], err[256];
    snprintf(db, sizeof(db), "%s", hd_store(&f->s));
    struct store *st;
    REQUIRE(store_open(db, &st, err, sizeof(err)) == 0);
    struct store_auth a = { 0 };
    int r = store_key_lookup(st, f->alice, strlen(f->alice), &a);
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", a.key_id, "tok-1", 1767225600000);
    if (r == 0)
        r = store_sandbox_insert(st, &sb, NULL, 0);
    struct store_token t;
    if (r == 0)
        r = store_token_issue(st, "alice", sb.id, false, 1767225601000, &t, token);
    memcpy(ret_sb, sb.id, STORE_ID_SIZE);
    store_sandbox_release(&sb);
    store_close(st);
    if (r)
        harness_fail(__FILE__, __LINE__, "token fixture: %d", r);
    return r == 0;
}

TEST(keys_need_an_admin_key)
{
    struct kfx f;
    if (!fx_start(&f))
        return;
    struct hresp r;
    char tok[SBTOKEN_LEN + 1], sb[STORE_ID_SIZE], hdr_tok[128];
    if (!alice_token(&f, tok, sb)) {
        fx_end(&f);
        return;
    }
    snprintf(hdr_tok, sizeof(hdr_tok), "X-Api-Key: %s\r\n", tok);
    char victim[STORE_ID_SIZE], t[128];
    CHECK(create(&f, f.hdr_admin, "{\"user\":\"carol\"}", NULL, victim));
    snprintf(t, sizeof(t), "/v1/keys/%s", victim);
    const struct {
        const char *method, *target, *body;
    } ops[] = {
        { "GET", "/v1/keys", NULL },
        { "POST", "/v1/keys", "{\"user\":\"alice\",\"admin\":true}" },
        { "POST", "/v1/keys", "{" }, /* refused before the body is read */
        { "DELETE", t, NULL },
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        CHECK(req(&f, ops[i].method, ops[i].target, f.hdr_alice, ops[i].body, 403, &r));
        CHECK_STR(jstr(r.json, "data.code"), "forbidden");
        CHECK_STR(jstr(r.json, "data.message"), "admin key required");
        hresp_free(&r);
        CHECK(req(&f, ops[i].method, ops[i].target, hdr_tok, ops[i].body, 403, &r));
        CHECK_STR(jstr(r.json, "data.code"), "forbidden");
        hresp_free(&r);
        CHECK_EQ(status_of(&f, ops[i].method, ops[i].target, NULL, ops[i].body), 401);
        CHECK_EQ(status_of(&f, ops[i].method, ops[i].target,
                           "X-Api-Key: hk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n",
                           ops[i].body), 401);
    }
    /* the token still works where it may, and nothing changed */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", sb);
    CHECK_EQ(status_of(&f, "GET", t, hdr_tok, NULL), 200);
    CHECK(req(&f, "GET", "/v1/keys", f.hdr_admin, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 3);
    hresp_free(&r);
    fx_end(&f);
}

TEST(keys_revoke_self_and_keep_the_last_admin_key)
{
    struct kfx f;
    if (!fx_start(&f))
        return;
    struct hresp r;
    char t[128];
    /* the only admin key cannot revoke itself: 409, and it still works */
    CHECK(req(&f, "GET", "/v1/keys?user=admin", f.hdr_admin, NULL, 200, &r));
    char first[STORE_ID_SIZE];
    snprintf(first, sizeof(first), "%s", jstr(r.json, "data.data.0.id"));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/keys/%s", first);
    CHECK(req(&f, "DELETE", t, f.hdr_admin, NULL, 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "last_admin_key");
    CHECK(strstr(jstr(r.json, "data.message"), "last active admin key") != NULL);
    hresp_free(&r);
    CHECK_EQ(status_of(&f, "GET", "/v1/keys", f.hdr_admin, NULL), 200);

    /* a second admin key revokes itself: this answer is 200, its next request 401 */
    char k2[APIKEY_LEN + 1], id2[STORE_ID_SIZE], hdr2[128];
    CHECK(create(&f, f.hdr_admin, "{\"admin\":true,\"label\":\"second\"}", k2, id2));
    hdr_of(k2, hdr2);
    snprintf(t, sizeof(t), "/v1/keys/%s", id2);
    CHECK(req(&f, "DELETE", t, hdr2, NULL, 200, &r));
    hresp_free(&r);
    CHECK_EQ(status_of(&f, "GET", "/v1/keys", hdr2, NULL), 401);
    CHECK_EQ(status_of(&f, "GET", "/v1/whoami", hdr2, NULL), 401);

    /* a third one revokes the first; then it is the last and keeps itself */
    char k3[APIKEY_LEN + 1], id3[STORE_ID_SIZE], hdr3[128];
    CHECK(create(&f, f.hdr_admin, "{\"user\":\"ops\",\"admin\":true}", k3, id3));
    hdr_of(k3, hdr3);
    snprintf(t, sizeof(t), "/v1/keys/%s", first);
    CHECK(req(&f, "DELETE", t, hdr3, NULL, 200, &r));
    hresp_free(&r);
    CHECK_EQ(status_of(&f, "GET", "/v1/keys", f.hdr_admin, NULL), 401);
    snprintf(t, sizeof(t), "/v1/keys/%s", id3);
    CHECK(req(&f, "DELETE", t, hdr3, NULL, 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "last_admin_key");
    hresp_free(&r);
    /* user keys go whatever is left */
    CHECK(req(&f, "GET", "/v1/keys?user=alice", hdr3, NULL, 200, &r));
    snprintf(t, sizeof(t), "/v1/keys/%s", jstr(r.json, "data.data.0.id"));
    hresp_free(&r);
    CHECK_EQ(status_of(&f, "DELETE", t, hdr3, NULL), 200);
    CHECK_EQ(status_of(&f, "GET", "/v1/whoami", f.hdr_alice, NULL), 401);
    CHECK(req(&f, "GET", "/v1/keys", hdr3, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 1);
    CHECK_STR(jstr(r.json, "data.data.0.id"), id3);
    hresp_free(&r);
    fx_end(&f);
}

TEST(keys_list_pages_newest_first)
{
    struct kfx f;
    if (!fx_start(&f))
        return;
    struct hresp r;
    char ids[5][STORE_ID_SIZE];
    for (int i = 0; i < 5; i++)
        CHECK(create(&f, f.hdr_admin, "{\"user\":\"pager\"}", NULL, ids[i]));
    /* the whole list: newest created_at first (keys made in one millisecond: by id) */
    CHECK(req(&f, "GET", "/v1/keys?user=pager", f.hdr_admin, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 5);
    char all[5][STORE_ID_SIZE];
    for (int i = 0; i < 5; i++) {
        char p[64];
        snprintf(p, sizeof(p), "data.data.%d.id", i);
        snprintf(all[i], sizeof(all[i]), "%s", jstr(r.json, p) ? jstr(r.json, p) : "");
        snprintf(p, sizeof(p), "data.data.%d.created_at", i);
        const char *c = jstr(r.json, p);
        char q[64];
        snprintf(q, sizeof(q), "data.data.%d.created_at", i + 1);
        const char *d = i < 4 ? jstr(r.json, q) : NULL;
        CHECK(c && (!d || strcmp(c, d) >= 0));
    }
    for (int i = 0; i < 5; i++) { /* each key made is listed once */
        int seen = 0;
        for (int k = 0; k < 5; k++)
            seen += strcmp(all[k], ids[i]) == 0;
        CHECK_EQ(seen, 1);
    }
    hresp_free(&r);
    /* pages of 2 give the same order, the last page the rest */
    for (int off = 0; off < 5; off += 2) {
        char t[128];
        snprintf(t, sizeof(t), "/v1/keys?user=pager&limit=2&offset=%d", off);
        CHECK(req(&f, "GET", t, f.hdr_admin, NULL, 200, &r));
        CHECK_EQ(jint(r.json, "data.pagination.total"), 5);
        CHECK_EQ(jint(r.json, "data.pagination.limit"), 2);
        CHECK_EQ(jint(r.json, "data.pagination.offset"), off);
        CHECK_EQ(jint(r.json, "data.pagination.count"), off < 4 ? 2 : 1);
        CHECK_STR(jstr(r.json, "data.data.0.id"), all[off]);
        if (off < 4)
            CHECK_STR(jstr(r.json, "data.data.1.id"), all[off + 1]);
        hresp_free(&r);
    }
    CHECK(req(&f, "GET", "/v1/keys?offset=100&limit=100000", f.hdr_admin, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 7);
    CHECK_EQ(jint(r.json, "data.pagination.limit"), 500);
    CHECK_EQ(jint(r.json, "data.pagination.count"), 0);
    hresp_free(&r);
    fx_end(&f);
}

TEST(keys_cli_and_api_share_the_store_and_the_label_rule)
{
    struct kfx f;
    if (!fx_start(&f))
        return;
    char out[8192], err[4096], label[256];
    snprintf(label, sizeof(label), "%0201d", 0);
    const char *too_long[] = { "keys", "--config", f.s.conf, "create", "--label", label, NULL };
    CHECK_EQ(hd_run(too_long, out, sizeof(out), err, sizeof(err)), 2);
    CHECK(strstr(err, "at most 200 characters") != NULL);
    const char *ctrl[] = { "keys", "--config", f.s.conf, "create", "--label", "a\tb", NULL };
    CHECK_EQ(hd_run(ctrl, out, sizeof(out), err, sizeof(err)), 2);
    /* a key made over the API is listed and revoked on the host, and the other way round */
    char id[STORE_ID_SIZE], key[APIKEY_LEN + 1], hdr[128];
    CHECK(create(&f, f.hdr_admin, "{\"user\":\"carol\",\"label\":\"from the api\"}", key, id));
    hdr_of(key, hdr);
    const char *list[] = { "keys", "--config", f.s.conf, "list", "--user", "carol", NULL };
    CHECK_EQ(hd_run(list, out, sizeof(out), err, sizeof(err)), 0);
    CHECK(strstr(out, id) && strstr(out, "from the api"));
    const char *rev[] = { "keys", "--config", f.s.conf, "revoke", id, NULL };
    CHECK_EQ(hd_run(rev, out, sizeof(out), err, sizeof(err)), 0);
    CHECK_EQ(status_of(&f, "GET", "/v1/whoami", hdr, NULL), 401);
    const char *mk[] = { "keys", "--config", f.s.conf, "create", "--user", "dave", NULL };
    CHECK_EQ(hd_run(mk, out, sizeof(out), err, sizeof(err)), 0);
    struct hresp r;
    CHECK(req(&f, "GET", "/v1/keys?user=dave", f.hdr_admin, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 1);
    char t[128];
    snprintf(t, sizeof(t), "/v1/keys/%s", jstr(r.json, "data.data.0.id"));
    hresp_free(&r);
    CHECK_EQ(status_of(&f, "DELETE", t, f.hdr_admin, NULL), 200);
    fx_end(&f);
}
