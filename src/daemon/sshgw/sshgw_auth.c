/* SPDX-License-Identifier: MIT */
/* sshgw_auth.c: who may log in to which sandbox over SSH (docs/ingress-ssh.md "Logging in"):
 * a public key only when it is registered on THAT sandbox (docs/api.md §3.3.5); a login by
 * name is resolved among the live sandboxes of that name carrying the offered key, so a key
 * registered on another sandbox never opens this one; a password is an API key of the
 * sandbox's owner or the sandbox's own access token (ctl_credential_check()). Every refusal
 * looks the same to the client, whether or not the sandbox exists. Nothing logs a credential. */
#include "daemon/sshgw/sshgw_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/ctl/credential.h"
#include "daemon/ctl/ctl.h"
#include "daemon/log.h"
#include "daemon/store/state.h"

static bool live(const struct store_sandbox *sb)
{
    return !store_state_is_terminal(sb->status);
}

static bool has_key(const struct store_sandbox *sb, const char *type, const char *b64)
{
    for (size_t i = 0; i < sb->ssh_pubkeys.n; i++)
        if (sshgw_key_matches(sb->ssh_pubkeys.v[i], type, b64))
            return true;
    return false;
}

static void chosen(struct sshgw_conn *c, const struct store_sandbox *sb)
{
    snprintf(c->sandbox_id, sizeof(c->sandbox_id), "%s", sb->id);
    snprintf(c->sandbox_name, sizeof(c->sandbox_name), "%s", sb->name);
    snprintf(c->sandbox_hostname, sizeof(c->sandbox_hostname), "%s", sb->hostname);
    snprintf(c->user_id, sizeof(c->user_id), "%s", sb->user_id);
}

/* The one live sandbox the login names that passes ok(sb, arg), of owner (NULL: any). */
static int resolve(struct sshgw_conn *c, const char *user, const char *owner,
                   bool (*ok)(const struct store_sandbox *, const void *), const void *arg)
{
    char ref[SSHGW_LOGIN_SIZE];
    enum sshgw_login_kind kind = sshgw_login_parse(user, ref);
    struct store *st = c->gw->ctl->store;
    if (kind == SSHGW_LOGIN_ID) {
        struct store_sandbox sb;
        int r = store_sandbox_get(st, owner, ref, &sb);
        if (r == -ENOENT)
            return -EACCES;
        if (r < 0)
            return r;
        r = live(&sb) && ok(&sb, arg) ? 0 : -EACCES;
        if (r == 0)
            chosen(c, &sb);
        store_sandbox_release(&sb);
        return r;
    }
    if (kind != SSHGW_LOGIN_NAME)
        return -EACCES;
    struct store_sandbox_page page;
    int r = store_sandbox_list_by_name(st, ref, &page);
    if (r == -ENOENT)
        return -EACCES;
    if (r < 0)
        return r;
    const struct store_sandbox *found = NULL;
    size_t n = 0;
    for (size_t i = 0; i < page.count; i++) {
        const struct store_sandbox *sb = &page.items[i];
        if (live(sb) && (!owner || strcmp(sb->user_id, owner) == 0) && ok(sb, arg)) {
            found = sb;
            n++;
        }
    }
    /* two users' sandboxes of one name carrying one key: ambiguous, the id must be used */
    r = n == 1 ? 0 : -EACCES;
    if (r == 0)
        chosen(c, found);
    store_sandbox_page_release(&page);
    return r;
}

struct key_arg {
    const char *type, *b64;
};

static bool key_ok(const struct store_sandbox *sb, const void *arg)
{
    const struct key_arg *k = arg;
    return has_key(sb, k->type, k->b64);
}

int sshgw_auth_key(struct sshgw_conn *c, const char *user, ssh_key key)
{
    if (!key || ssh_key_is_public(key) != 1)
        return -EACCES;
    const char *type = ssh_key_type_to_char(ssh_key_type(key));
    if (!type || strstr(type, "-cert"))
        return -EACCES; /* certificates are not registered keys */
    char *b64 = NULL;
    if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
        return -ENOMEM;
    struct key_arg arg = { .type = type, .b64 = b64 };
    int r = resolve(c, user, NULL, key_ok, &arg);
    ssh_string_free_char(b64);
    if (r < 0 && r != -EACCES)
        log_warn(NULL, "ssh: cannot read sandboxes for a key login", "{s:s}", "err",
                 strerror(-r));
    return r;
}

static bool token_ok(const struct store_sandbox *sb, const void *arg)
{
    const struct ctl_credential *cred = arg;
    return !cred->sandbox_id[0] || strcmp(cred->sandbox_id, sb->id) == 0;
}

int sshgw_auth_password(struct sshgw_conn *c, const char *user, const char *password)
{
    if (!password)
        return -EACCES;
    size_t len = strnlen(password, 4097);
    if (len == 0 || len > 4096)
        return -EACCES;
    struct ctl_credential cred;
    int r = ctl_credential_check(c->gw->ctl, password, len, &cred);
    if (r < 0)
        return r == -EACCES ? r : -EACCES;
    return resolve(c, user, cred.user_id, token_ok, &cred);
}
