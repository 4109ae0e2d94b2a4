/* SPDX-License-Identifier: MIT */
/* test_access_token.c: a sandbox's delegated token in the control layer (ctl/access_token.h)
 * and its half of the credential check (ctl/credential.h), on a real SQLite store: create,
 * get, rotate and delete with their errors and the state table of docs/api.md §2.14.3; the
 * check takes a live token (the owner, the one sandbox) and refuses a rotated, revoked,
 * malformed or destroyed sandbox's token; API keys still work beside tokens. */
#include <errno.h>
#include <string.h>

#include "../store/fixture.h"
#include "daemon/ctl/access_token.h"
#include "daemon/ctl/credential.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "harness.h"

static const struct ctl_caller alice = { .user_id = "alice", .key_id = "key", .req_id = "t" };
static const struct ctl_caller bob = { .user_id = "bob", .key_id = "key", .req_id = "t" };

static bool put_row(struct fx *f, const char *name, enum store_state state,
                    char out[STORE_ID_SIZE])
{
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f->key_id, name, 1000);
    sb.status = state;
    REQUIRE(store_sandbox_insert(f->st, &sb, NULL, 0) == 0);
    memcpy(out, sb.id, STORE_ID_SIZE);
    store_sandbox_release(&sb);
    return true;
}

TEST(token_crud_and_errors)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct ctl c;
    ctl_init(&c);
    c.store = f.st;
    char id[STORE_ID_SIZE];
    if (!put_row(&f, "a", STORE_RUNNING, id))
        return;
    struct store_token t;
    struct ctl_error e;
    char s[SBTOKEN_LEN + 1], s2[SBTOKEN_LEN + 1];
    bool on = true;

    CHECK_EQ(ctl_access_token_get(&c, &alice, id, &t, &on, &e), 0);
    CHECK(!on);
    CHECK(ctl_access_token_rotate(&c, &alice, id, &t, s, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    CHECK_STR(e.msg, "access token not found");
    CHECK(ctl_access_token_create(&c, &bob, id, &t, s, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    CHECK_STR(e.msg, "sandbox not found");
    CHECK(ctl_access_token_get(&c, &bob, id, &t, &on, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    CHECK(ctl_access_token_delete(&c, &bob, id, &t, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);

    CHECK_EQ(ctl_access_token_create(&c, &alice, id, &t, s, &e), 0);
    CHECK(ctl_access_token_create(&c, &alice, id, &t, s2, &e) < 0);
    CHECK_EQ(e.code, CTL_E_EXISTS);
    CHECK_STR(ctl_code_to_string(e.code), "already_exists");
    CHECK_EQ(ctl_access_token_get(&c, &alice, id, &t, &on, &e), 0);
    CHECK(on);
    CHECK(strstr(t.hint, s + SBTOKEN_LEN - 4) != NULL);

    struct ctl_credential cr;
    CHECK_EQ(ctl_credential_check(&c, s, strlen(s), &cr), 0);
    CHECK_STR(cr.sandbox_id, id);
    CHECK_STR(cr.user_id, "alice");
    CHECK_STR(cr.key_id, "");
    CHECK(!cr.admin);
    /* the owner's key still works and is no token */
    CHECK_EQ(ctl_credential_check(&c, f.secret, strlen(f.secret), &cr), 0);
    CHECK_STR(cr.sandbox_id, "");

    CHECK_EQ(ctl_access_token_rotate(&c, &alice, id, &t, s2, &e), 0);
    CHECK(t.rotated_at > 0);
    CHECK_EQ(ctl_credential_check(&c, s, strlen(s), &cr), -EACCES);
    CHECK_EQ(ctl_credential_check(&c, s2, strlen(s2), &cr), 0);

    CHECK_EQ(ctl_access_token_delete(&c, &alice, id, &t, &e), 0);
    CHECK(t.created_at > 0); /* the revoked one's record */
    CHECK_EQ(ctl_credential_check(&c, s2, strlen(s2), &cr), -EACCES);
    CHECK_EQ(ctl_access_token_delete(&c, &alice, id, &t, &e), 0); /* none: still fine */
    CHECK_EQ(t.created_at, 0);
    fx_close(&f);
}

TEST(token_states)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct ctl c;
    ctl_init(&c);
    c.store = f.st;
    static const struct {
        enum store_state st;
        bool issue;
    } cases[] = {
        { STORE_CREATING, true }, { STORE_RUNNING, true },   { STORE_PAUSING, true },
        { STORE_PAUSED, true },   { STORE_RESUMING, true },  { STORE_FORKING, true },
        { STORE_ERROR, true },    { STORE_DESTROYING, false }, { STORE_DESTROYED, false },
        { STORE_FAILED, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char id[STORE_ID_SIZE], name[16], s[SBTOKEN_LEN + 1];
        snprintf(name, sizeof(name), "s%zu", i);
        if (!put_row(&f, name, cases[i].st, id))
            return;
        struct store_token t;
        struct ctl_error e;
        bool on;
        int r = ctl_access_token_create(&c, &alice, id, &t, s, &e);
        CHECK_EQ(r == 0, cases[i].issue);
        if (!cases[i].issue) {
            CHECK_EQ(e.code, CTL_E_INVALID_STATE);
            CHECK_STR(e.state, store_state_to_string(cases[i].st));
        }
        /* GET and DELETE answer in every state */
        CHECK_EQ(ctl_access_token_get(&c, &alice, id, &t, &on, &e), 0);
        CHECK_EQ(on, cases[i].issue);
        CHECK_EQ(ctl_access_token_delete(&c, &alice, id, &t, &e), 0);
    }
    fx_close(&f);
}

TEST(credential_refuses_hostile_values)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct ctl c;
    ctl_init(&c);
    c.store = f.st;
    char id[STORE_ID_SIZE], s[SBTOKEN_LEN + 1];
    if (!put_row(&f, "h", STORE_RUNNING, id))
        return;
    struct store_token t;
    struct ctl_error e;
    CHECK_EQ(ctl_access_token_create(&c, &alice, id, &t, s, &e), 0);
    char big[4096];
    memset(big, 'A', sizeof(big));
    memcpy(big, "hst_", 4);
    char nul[SBTOKEN_LEN];
    memcpy(nul, s, SBTOKEN_LEN);
    nul[10] = '\0';
    const struct {
        const char *v;
        size_t len;
    } bad[] = {
        { "", 0 }, { "hst_", 4 }, { "hst_x", 5 }, { big, sizeof(big) }, { big, SBTOKEN_LEN },
        { nul, SBTOKEN_LEN }, { s, SBTOKEN_LEN - 1 }, { "hst_\xff\xfe", 6 },
        { "hk_hst_", 7 }, { "HST_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", SBTOKEN_LEN },
    };
    struct ctl_credential cr;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ(ctl_credential_check(&c, bad[i].v, bad[i].len, &cr), -EACCES);
    CHECK_EQ(ctl_credential_check(&c, NULL, 0, &cr), -EACCES);
    CHECK_EQ(ctl_credential_check(&c, s, SBTOKEN_LEN, &cr), 0);
    fx_close(&f);
}
