/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_token.c: `hearth sb token create|show|rotate|revoke` (a sandbox's delegated
 * access token, docs/cli.md "Access tokens"), `hearth sb url <sb> <port>` and `hearth sb
 * ingress on|off <sb>` (docs/cli.md "Ingress"). A new token is printed once, on stdout, and
 * never kept; the reminder goes to stderr so that `$(hearth sb token create x)` is the token. */
#include "cli/commands.h"
#include "cli/output.h"

#include <stdlib.h>
#include <string.h>

/* A libhearth call on a sandbox's token by id. */
typedef int (*token_fn)(hearth_client *c, const char *id, hearth_obj **ret,
                        struct hearth_error *e);

/* Resolves ref, calls fn on its id; *ret the answer. Returns 0 or an exit code. */
static int token_call(struct cli *cli, const char *ref, token_fn fn, hearth_obj **ret)
{
    hearth_obj *sb = NULL;
    int r = cli_sandbox_resolve(cli, ref, &sb);
    if (r)
        return r;
    struct hearth_error e;
    if (fn(cli->client, hearth_obj_str(sb, "id"), ret, &e) != HEARTH_OK)
        r = cli_fail(cli, &e);
    hearth_obj_free(sb);
    return r;
}

static void print_meta(struct cli *cli, const hearth_obj *o)
{
    if (cli->settings.json) {
        out_json(hearth_obj_json(o));
        return;
    }
    struct out_kv kv = { 0 };
    bool on = hearth_obj_bool(o, "enabled", false);
    out_kv_add(&kv, "enabled", "%s", on ? "yes" : "no");
    if (hearth_obj_str(o, "token_hint"))
        out_kv_add(&kv, "hint", "%s", hearth_obj_str(o, "token_hint"));
    if (hearth_obj_str(o, "created_at"))
        out_kv_add(&kv, "created", "%s", hearth_obj_str(o, "created_at"));
    if (hearth_obj_str(o, "rotated_at"))
        out_kv_add(&kv, "rotated", "%s", hearth_obj_str(o, "rotated_at"));
    out_kv_print(&kv, stdout);
}

/* create and rotate: the token once on stdout, the reminder on stderr. */
static int issue(struct cli *cli, const char *ref, token_fn fn)
{
    hearth_obj *o = NULL;
    int r = token_call(cli, ref, fn, &o);
    if (r)
        return r;
    if (cli->settings.json) {
        out_json(hearth_obj_json(o));
    } else {
        printf("%s\n", hearth_obj_str(o, "token") ?: "");
        fprintf(stderr, "this token is shown only now and cannot be shown again; it opens "
                        "sandbox '%s' to whoever holds it (revoke: hearth sb token revoke %s)\n",
                ref, ref);
    }
    hearth_obj_free(o);
    return 0;
}

int cmd_token_create(struct cli *cli, int argc, char **argv)
{
    return issue(cli, argv[0], hearth_access_token_create);
}

int cmd_token_rotate(struct cli *cli, int argc, char **argv)
{
    return issue(cli, argv[0], hearth_access_token_rotate);
}

int cmd_token_show(struct cli *cli, int argc, char **argv)
{
    hearth_obj *o = NULL;
    int r = token_call(cli, argv[0], hearth_access_token_get, &o);
    if (!r)
        print_meta(cli, o);
    hearth_obj_free(o);
    return r;
}

int cmd_token_revoke(struct cli *cli, int argc, char **argv)
{
    char what[300];
    snprintf(what, sizeof(what), "Revoke the access token of sandbox '%.200s'; whoever holds it "
             "loses access at once", argv[0]);
    int r = cli_confirm(cli, what);
    if (r)
        return r;
    hearth_obj *o = NULL;
    r = token_call(cli, argv[0], hearth_access_token_delete, &o);
    if (!r && cli->settings.json)
        out_json(hearth_obj_json(o));
    else if (!r)
        printf("revoked\n");
    hearth_obj_free(o);
    return r;
}

/* template with its literal "<port>" replaced by port (a new string, or NULL). */
static char *url_for(const char *template, unsigned port)
{
    const char *at = strstr(template, "<port>");
    char *url = NULL;
    if (at && asprintf(&url, "%.*s%u%s", (int)(at - template), template, port, at + 6) < 0)
        url = NULL;
    return url;
}

int cmd_sandbox_url(struct cli *cli, int argc, char **argv)
{
    char *end = NULL;
    long port = strtol(argv[1], &end, 10);
    if (!*argv[1] || *end || port < 1 || port > 65535 || argv[1][0] == '+' || argv[1][0] == '-')
        return cli_usage_error(cli, "port '%.40s' is not a number from 1 to 65535", argv[1]);
    hearth_obj *sb = NULL;
    int r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        return r;
    const char *tpl = hearth_obj_str(sb, "ingress_url_template");
    char *url = NULL;
    if (!hearth_obj_bool(sb, "ingress_enabled", false))
        r = cli_error(cli, CLI_EXIT_REJECTED, "ingress is off for sandbox '%s'; turn it on with "
                      "'hearth sb ingress on %s'", argv[0], argv[0]);
    else if (!tpl)
        r = cli_error(cli, CLI_EXIT_REJECTED, "the server has no ingress domain configured "
                      "(ingress_domain in hearthd.conf), so sandbox '%s' has no public URL",
                      argv[0]);
    else if (!(url = url_for(tpl, (unsigned)port)))
        r = cli_error(cli, CLI_EXIT_FAIL, "the server's ingress URL template '%.200s' has no "
                      "<port>", tpl);
    if (!r && cli->settings.json) {
        printf("{\"url\":");
        cli_json_str(stdout, url);
        printf("}\n");
    } else if (!r) {
        printf("%s\n", url);
    }
    free(url);
    hearth_obj_free(sb);
    return r;
}

/* PATCH ingress_enabled; prints the template when on. */
static int ingress_set(struct cli *cli, const char *ref, bool on)
{
    hearth_obj *sb = NULL, *res = NULL;
    hearth_body *b = NULL;
    int r = cli_sandbox_resolve(cli, ref, &sb);
    if (r)
        return r;
    struct hearth_error e;
    b = hearth_body_new();
    if (!b || hearth_body_set_bool(b, "ingress_enabled", on) != HEARTH_OK)
        r = cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    else if (hearth_sandbox_patch(cli->client, hearth_obj_str(sb, "id"), b, &res, &e) !=
             HEARTH_OK)
        r = cli_fail(cli, &e);
    if (!r && cli->settings.json) {
        out_json(hearth_obj_json(res));
    } else if (!r && on) {
        const char *tpl = hearth_obj_str(res, "ingress_url_template");
        if (tpl)
            printf("%s\n", tpl);
        else
            printf("on (the server has no ingress domain configured, so no public URL)\n");
    } else if (!r) {
        printf("off\n");
    }
    hearth_body_free(b);
    hearth_obj_free(sb);
    hearth_obj_free(res);
    return r;
}

int cmd_ingress_on(struct cli *cli, int argc, char **argv)
{
    return ingress_set(cli, argv[0], true);
}

int cmd_ingress_off(struct cli *cli, int argc, char **argv)
{
    return ingress_set(cli, argv[0], false);
}
