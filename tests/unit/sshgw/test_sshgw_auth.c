/* SPDX-License-Identifier: MIT */
/* test_sshgw_auth.c: who may log in to which sandbox over SSH (sshgw_auth.c) on a real store:
 * a key opens only the sandboxes it is registered on (by name among them, or by id), names
 * shared by two users resolve by key, an ambiguous name or a destroyed sandbox is refused; a
 * password is an API key of the owner (any of their sandboxes) or the sandbox's own token. */
#include "../ctl/ctlfx.h"

#include <errno.h>

#include "daemon/ctl/access_token.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/sshgw/sshgw_internal.h"

struct afx {
    struct cfx c;
    struct sshgw gw;
    struct sshgw_conn conn;
    char pub[3][128];        /* "ssh-ed25519 <b64>" */
    ssh_key key[3];
    char bob_secret[APIKEY_LEN + 1];
    char bob_key_id[STORE_ID_SIZE];
};

static bool gen_key(struct afx *a, int i)
{
    ssh_key k = NULL;
    char *b64 = NULL;
    REQUIRE(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &k) == SSH_OK);
    REQUIRE(ssh_pki_export_pubkey_base64(k, &b64) == SSH_OK);
    snprintf(a->pub[i], sizeof(a->pub[i]), "ssh-ed25519 %s", b64);
    ssh_string_free_char(b64);
    REQUIRE(ssh_pki_export_privkey_to_pubkey(k, &a->key[i]) == SSH_OK);
    ssh_key_free(k);
    return true;
}

/* A row of user (alice with the fixture's key, bob with his) named name in state, with the
 * keys whose bits are set in mask. */
static bool row(struct afx *a, const char *user, const char *name, enum store_state state,
                unsigned mask, char id[STORE_ID_SIZE])
{
    struct store_sandbox sb;
    fx_sandbox(&sb, user, strcmp(user, "bob") == 0 ? a->bob_key_id : a->c.fx.key_id, name,
               1000);
    sb.status = state;
    char *keys[3];
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        if (mask & (1u << i))
            keys[n++] = a->pub[i];
    sb.ssh_pubkeys.v = n ? keys : NULL;
    sb.ssh_pubkeys.n = n;
    REQUIRE(store_sandbox_insert(a->c.fx.st, &sb, NULL, 0) == 0);
    memcpy(id, sb.id, STORE_ID_SIZE);
    sb.ssh_pubkeys.v = NULL; /* borrowed */
    sb.ssh_pubkeys.n = 0;
    store_sandbox_release(&sb);
    return true;
}

static bool afx_open(struct afx *a)
{
    memset(a, 0, sizeof(*a));
    REQUIRE(cfx_open(&a->c));
    struct store_key k;
    REQUIRE(store_key_create(a->c.fx.st, "bob", "t", false, 1000, &k, a->bob_secret) == 0);
    memcpy(a->bob_key_id, k.id, sizeof(k.id));
    for (int i = 0; i < 3; i++)
        REQUIRE(gen_key(a, i));
    a->gw.ctl = &a->c.ctl;
    a->conn.gw = &a->gw;
    return true;
}

static void afx_close(struct afx *a)
{
    for (int i = 0; i < 3; i++)
        ssh_key_free(a->key[i]);
    cfx_close(&a->c);
}

/* The sandbox a key login as user picks, "" when refused. */
static const char *by_key(struct afx *a, const char *user, int key)
{
    memset(a->conn.sandbox_id, 0, sizeof(a->conn.sandbox_id));
    int r = sshgw_auth_key(&a->conn, user, a->key[key]);
    return r == 0 ? a->conn.sandbox_id : r == -EACCES ? "" : "store error";
}

static const char *by_password(struct afx *a, const char *user, const char *pw)
{
    memset(a->conn.sandbox_id, 0, sizeof(a->conn.sandbox_id));
    int r = sshgw_auth_password(&a->conn, user, pw);
    return r == 0 ? a->conn.sandbox_id : r == -EACCES ? "" : "store error";
}

TEST(sshgw_auth_keys)
{
    struct afx a;
    CHECK(afx_open(&a));
    char web_a[STORE_ID_SIZE], db_a[STORE_ID_SIZE], web_b[STORE_ID_SIZE], api_b[STORE_ID_SIZE],
        old_a[STORE_ID_SIZE], dup_a[STORE_ID_SIZE], dup_b[STORE_ID_SIZE],
        paused_a[STORE_ID_SIZE];
    CHECK(row(&a, "alice", "web", STORE_RUNNING, 1u << 0, web_a));
    CHECK(row(&a, "alice", "db", STORE_RUNNING, 1u << 1, db_a));
    CHECK(row(&a, "bob", "web", STORE_RUNNING, 1u << 1, web_b));
    CHECK(row(&a, "bob", "api", STORE_RUNNING, 3u, api_b));
    CHECK(row(&a, "alice", "old", STORE_DESTROYED, 1u << 2, old_a));
    CHECK(row(&a, "alice", "dup", STORE_RUNNING, 1u << 2, dup_a));
    CHECK(row(&a, "bob", "dup", STORE_RUNNING, 1u << 2, dup_b));
    CHECK(row(&a, "alice", "nap", STORE_PAUSED, 1u << 0, paused_a));

    /* by name: the one sandbox of that name that carries the key */
    CHECK_STR(by_key(&a, "web", 0), web_a);
    CHECK_STR(by_key(&a, "web", 1), web_b);
    CHECK_STR(by_key(&a, "web", 2), "");
    CHECK_STR(by_key(&a, "db", 1), db_a);
    CHECK_STR(by_key(&a, "db", 0), ""); /* registered elsewhere (web), not here */
    CHECK_STR(by_key(&a, "api", 0), api_b);
    CHECK_STR(by_key(&a, "nap", 0), paused_a); /* paused: the login wakes it */
    CHECK_STR(by_key(&a, "old", 2), "");       /* destroyed */
    CHECK_STR(by_key(&a, "dup", 2), "");       /* two users, one key: ambiguous */
    CHECK_STR(by_key(&a, "nope", 0), "");
    /* by id, in either case; the key must be on that one */
    CHECK_STR(by_key(&a, web_a, 0), web_a);
    CHECK_STR(by_key(&a, web_a, 1), "");
    CHECK_STR(by_key(&a, dup_b, 2), dup_b);
    CHECK_STR(by_key(&a, old_a, 2), "");
    char lower[STORE_ID_SIZE];
    snprintf(lower, sizeof(lower), "sb-%s", web_a + 3);
    for (char *p = lower + 3; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    CHECK_STR(by_key(&a, lower, 0), web_a);
    CHECK_STR(by_key(&a, "sb-01ZZZZZZZZZZZZZZZZZZZZZZZZ", 0), "");
    /* hostile user names */
    CHECK_STR(by_key(&a, "", 0), "");
    CHECK_STR(by_key(&a, "web\n", 0), "");
    CHECK_STR(by_key(&a, "web' OR 1=1 --", 0), "");
    CHECK_STR(by_key(&a, "%", 0), "");
    CHECK(sshgw_auth_key(&a.conn, "web", NULL) == -EACCES);
    afx_close(&a);
}

TEST(sshgw_auth_passwords)
{
    struct afx a;
    CHECK(afx_open(&a));
    char web_a[STORE_ID_SIZE], db_a[STORE_ID_SIZE], web_b[STORE_ID_SIZE];
    CHECK(row(&a, "alice", "web", STORE_RUNNING, 0, web_a));
    CHECK(row(&a, "alice", "db", STORE_RUNNING, 0, db_a));
    CHECK(row(&a, "bob", "web", STORE_RUNNING, 0, web_b));
    /* an API key: any of its user's sandboxes, by name or id; never another user's */
    CHECK_STR(by_password(&a, "web", a.c.fx.secret), web_a);
    CHECK_STR(by_password(&a, "db", a.c.fx.secret), db_a);
    CHECK_STR(by_password(&a, web_b, a.c.fx.secret), "");
    CHECK_STR(by_password(&a, "web", a.bob_secret), web_b);
    CHECK_STR(by_password(&a, web_a, a.bob_secret), "");
    CHECK_STR(by_password(&a, "web", "hk_wrong"), "");
    CHECK_STR(by_password(&a, "web", ""), "");
    CHECK(sshgw_auth_password(&a.conn, "web", NULL) == -EACCES);
    /* a delegated token: its own sandbox only */
    struct ctl_caller who = { .user_id = "alice", .key_id = a.c.fx.key_id };
    struct store_token t;
    char tok[SBTOKEN_LEN + 1];
    struct ctl_error e;
    CHECK(ctl_access_token_create(&a.c.ctl, &who, web_a, &t, tok, &e) == 0);
    CHECK_STR(by_password(&a, "web", tok), web_a);
    CHECK_STR(by_password(&a, web_a, tok), web_a);
    CHECK_STR(by_password(&a, "db", tok), "");
    CHECK_STR(by_password(&a, web_b, tok), "");
    CHECK(ctl_access_token_delete(&a.c.ctl, &who, web_a, &t, &e) == 0);
    CHECK_STR(by_password(&a, "web", tok), ""); /* revoked at once */
    afx_close(&a);
}
