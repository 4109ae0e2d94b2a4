/* SPDX-License-Identifier: MIT */
/* access_token.c: issuing, rotating and revoking a sandbox's delegated token (access_token.h).
 * The state rules are docs/api.md §2.14.3's; the store does the rest in one transaction each
 * (a token dies with its sandbox there too). Never logs a secret. */
#include "daemon/ctl/access_token.h"

#include <errno.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_row.h"

/* §2.14.3: create and rotate in every state but destroying, destroyed and failed */
#define TOKEN_ISSUE_STATES STORE_STATES_CONFIGURABLE
#define STATE_MSG "an access token cannot be issued for a sandbox in this state"

static int issue(struct ctl *c, const struct ctl_caller *who, const char *id, bool rotate,
                 struct store_token *ret, char ret_secret[SBTOKEN_LEN + 1], struct ctl_error *e)
{
    enum store_state st = STORE_STATE_NONE;
    int r = ctl_row_state(c, who->user_id, id, &st, e);
    if (r < 0)
        return r;
    if (!(STORE_STATE_BIT(st) & TOKEN_ISSUE_STATES))
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, store_state_to_string(st), "%s",
                             STATE_MSG);
    r = store_token_issue(c->store, who->user_id, id, rotate, timefmt_now_ms(), ret, ret_secret);
    if (r == -EEXIST)
        return ctl_error_set(e, CTL_E_EXISTS, NULL, NULL, "the sandbox has an access token "
                             "already; rotate or revoke it");
    if (r == -ENOENT)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "%s",
                             rotate ? "access token not found" : "sandbox not found");
    if (r == -ESTALE) /* it started going away between the check and the insert */
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, "destroying", "%s", STATE_MSG);
    if (r < 0)
        return ctl_error_internal(e, rotate ? "rotate access token" : "create access token", r);
    return 0;
}

int ctl_access_token_create(struct ctl *c, const struct ctl_caller *who, const char *id,
                            struct store_token *ret, char ret_secret[SBTOKEN_LEN + 1],
                            struct ctl_error *e)
{
    return issue(c, who, id, false, ret, ret_secret, e);
}

int ctl_access_token_rotate(struct ctl *c, const struct ctl_caller *who, const char *id,
                            struct store_token *ret, char ret_secret[SBTOKEN_LEN + 1],
                            struct ctl_error *e)
{
    return issue(c, who, id, true, ret, ret_secret, e);
}

/* GET and DELETE, in any state: the record in *ret (zeroed, *ret_found false, when there is
 * none: DELETE answers 200 even then, §3.13). */
static int meta(struct ctl *c, const struct ctl_caller *who, const char *id, bool revoke,
                struct store_token *ret, bool *ret_found, struct ctl_error *e)
{
    enum store_state st = STORE_STATE_NONE;
    memset(ret, 0, sizeof(*ret));
    *ret_found = false;
    int r = ctl_row_state(c, who->user_id, id, &st, e);
    if (r < 0)
        return r;
    r = revoke ? store_token_delete(c->store, who->user_id, id, ret)
               : store_token_get(c->store, who->user_id, id, ret);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return ctl_error_internal(e, revoke ? "revoke access token" : "read access token", r);
    *ret_found = true;
    return 0;
}

int ctl_access_token_get(struct ctl *c, const struct ctl_caller *who, const char *id,
                         struct store_token *ret, bool *ret_enabled, struct ctl_error *e)
{
    return meta(c, who, id, false, ret, ret_enabled, e);
}

int ctl_access_token_delete(struct ctl *c, const struct ctl_caller *who, const char *id,
                            struct store_token *ret, struct ctl_error *e)
{
    bool found;
    return meta(c, who, id, true, ret, &found, e);
}
