/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_network.c: `hearth sb network create|ls|show|rm|attach|detach` (docs/cli.md §7.3).
 * Network references go to the server as typed (id or name); sandbox references are resolved
 * here (§6.1). `rm` detaches every member before it deletes, as the API requires. */
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/values.h"

#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"

const struct cli_opt cmd_network_ls_opts[] = {
    CLI_FLAGS_PAGE,
    CLI_FLAG_QUIET,
    CLI_OPT_END,
};

static void print_network(const hearth_obj *o)
{
    struct out_kv kv = { 0 };
    char t[64];
    out_kv_add(&kv, "id", "%s", hearth_obj_str(o, "id") ?: "");
    out_kv_add(&kv, "name", "%s", hearth_obj_str(o, "name") ?: "");
    out_kv_add(&kv, "members", "%lld", (long long)hearth_obj_int(o, "member_count", 0));
    out_local_time(hearth_obj_str(o, "created_at"), t, sizeof(t));
    out_kv_add(&kv, "created", "%s", t);
    out_kv_print(&kv, stdout);
}

int cmd_network_ls(struct cli *cli, int argc, char **argv)
{
    struct hearth_page page;
    int r = cli_page_flags(cli, &page);
    if (r)
        return r;
    hearth_list *l = NULL;
    struct hearth_error e;
    if (hearth_network_list(cli->client, &page, &l, &e) != HEARTH_OK)
        return cli_fail(cli, &e);
    size_t n = hearth_list_count(l);
    if (!cli_list_short(cli, l, "id")) {
        static const char *const hdr[] = { "id", "name", "members", "created" };
        struct out_table t;
        out_table_init(&t, 4, hdr);
        int64_t now = timefmt_now_ms();
        for (size_t i = 0; i < n; i++) {
            const hearth_obj *o = hearth_list_item(l, i);
            char members[24], age[32];
            snprintf(members, sizeof(members), "%lld",
                     (long long)hearth_obj_int(o, "member_count", 0));
            out_age(hearth_obj_str(o, "created_at"), now, age, sizeof(age));
            const char *row[] = { hearth_obj_str(o, "id"), hearth_obj_str(o, "name"), members,
                                  age };
            (void)out_table_add(&t, row); /* out of memory: the row is missing, nothing else */
        }
        out_table_finish(&t, stdout);
    }
    hearth_list_free(l);
    return CLI_EXIT_OK;
}

/* The members of a Network (from GET /v1/networks/{ref}) as a table. */
static void print_members(const hearth_obj *o, size_t n)
{
    static const char *const hdr[] = { "sandbox", "name", "status", "ip", "reachable as" };
    struct out_table t;
    out_table_init(&t, 5, hdr);
    const char *net = hearth_obj_str(o, "name");
    for (size_t i = 0; i < n; i++) {
        char p[5][48], fqdn[320];
        static const char *const fields[] = { "sandbox_id", "name", "status", "ip" };
        const char *row[5];
        for (size_t k = 0; k < 4; k++) {
            snprintf(p[k], sizeof(p[k]), "members.%zu.%s", i, fields[k]);
            row[k] = hearth_obj_str(o, p[k]);
        }
        out_member_fqdn(row[1], net, fqdn, sizeof(fqdn));
        row[4] = row[1] ? fqdn : NULL;
        (void)out_table_add(&t, row); /* out of memory: the row is missing, nothing else */
    }
    out_table_finish(&t, stdout);
}

/* The answer of create or show (rc, o and e from the call): the failure, or the Network as
 * JSON, or as its fields and then its members when it has any. */
static int network_answer(struct cli *cli, int rc, hearth_obj *o, const struct hearth_error *e)
{
    if (rc != HEARTH_OK)
        return cli_fail(cli, e);
    if (cli->settings.json) {
        out_json(hearth_obj_json(o));
    } else {
        print_network(o);
        size_t n = hearth_obj_array_len(o, "members");
        if (n) {
            putchar('\n');
            print_members(o, n);
        }
    }
    hearth_obj_free(o);
    return CLI_EXIT_OK;
}

int cmd_network_create(struct cli *cli, int argc, char **argv)
{
    hearth_obj *o = NULL;
    struct hearth_error e;
    int rc = hearth_network_create(cli->client, argv[0], &o, &e);
    return network_answer(cli, rc, o, &e);
}

int cmd_network_show(struct cli *cli, int argc, char **argv)
{
    hearth_obj *o = NULL;
    struct hearth_error e;
    int rc = hearth_network_get(cli->client, argv[0], &o, &e);
    return network_answer(cli, rc, o, &e);
}

/* One `network rm` ref: detach every member, then delete. Fills *ret_id (borrowed from
 * *ret_net, which the caller frees) and *ret_detached; returns 0 or an exit code with e set. */
static int remove_one(struct cli *cli, const char *ref, hearth_obj **ret_net, size_t *ret_detached,
                      struct hearth_error *e)
{
    int rc = hearth_network_get(cli->client, ref, ret_net, e);
    if (rc != HEARTH_OK)
        return cli_exit_for(rc);
    const hearth_obj *net = *ret_net;
    const char *id = hearth_obj_str(net, "id");
    size_t n = hearth_obj_array_len(net, "members");
    for (size_t i = 0; i < n; i++) {
        char path[48];
        snprintf(path, sizeof(path), "members.%zu.sandbox_id", i);
        const char *sid = hearth_obj_str(net, path);
        if (!sid)
            continue;
        rc = hearth_sandbox_network_detach(cli->client, sid, id ? id : ref, NULL, e);
        if (rc != HEARTH_OK)
            return cli_exit_for(rc);
        ++*ret_detached;
    }
    rc = hearth_network_delete(cli->client, id ? id : ref, NULL, e);
    return cli_exit_for(rc);
}

int cmd_network_rm(struct cli *cli, int argc, char **argv)
{
    char what[128];
    snprintf(what, sizeof(what), "delete %d network%s (detaching every member)", argc,
             argc == 1 ? "" : "s");
    return cli_rm_batch(cli, argc, argv, what, "network", "member", remove_one);
}

/* attach and detach: resolve <sb>, then one call. */
static int membership(struct cli *cli, char **argv, bool attach)
{
    if (!attach) {
        char what[192];
        snprintf(what, sizeof(what), "detach '%.80s' from network '%.80s'", argv[0], argv[1]);
        int r = cli_confirm(cli, what);
        if (r)
            return r;
    }
    hearth_obj *sb = NULL, *o = NULL;
    int r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        return r;
    const char *id = hearth_obj_str(sb, "id");
    struct hearth_error e;
    int rc = attach ? hearth_sandbox_network_attach(cli->client, id, argv[1], &o, &e)
                    : hearth_sandbox_network_detach(cli->client, id, argv[1], &o, &e);
    if (rc != HEARTH_OK)
        r = cli_fail(cli, &e);
    else if (cli->settings.json)
        out_json(hearth_obj_json(o));
    else
        printf("%s %s network %s\n", id, attach ? "attached to" : "detached from", argv[1]);
    hearth_obj_free(sb);
    hearth_obj_free(o);
    return r;
}

int cmd_network_attach(struct cli *cli, int argc, char **argv)
{
    return membership(cli, argv, true);
}

int cmd_network_detach(struct cli *cli, int argc, char **argv)
{
    return membership(cli, argv, false);
}
