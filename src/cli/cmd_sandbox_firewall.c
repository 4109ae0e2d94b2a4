/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_firewall.c: `hearth sb firewall show|set|add|remove|clear` (egress rules) and
 * `hearth sb bandwidth show|add` (docs/cli.md §7.3). add and remove read the stored list, edit it
 * with cli/rules.h and PUT the whole list back; the server validates and normalises rules. */
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/rules.h"
#include "cli/values.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RECHARGE "5GiB"

static const char warn_blocked[] =
    "warning: outbound traffic is now limited to these rules; everything not listed is blocked\n";

/* Prints an Egress view: the rules one per line, or that everything is allowed. */
static void print_egress(struct cli *cli, const hearth_obj *o)
{
    if (cli->settings.json) {
        out_json(hearth_obj_json(o));
        return;
    }
    size_t n = hearth_obj_array_len(o, "egress");
    bool all = n == 0;
    for (size_t i = 0; i < n; i++) {
        const char *r = hearth_obj_array_str(o, "egress", i);
        all |= r && strcmp(r, "*") == 0;
    }
    if (all) {
        printf("all outbound traffic allowed\n");
        return;
    }
    for (size_t i = 0; i < n; i++)
        printf("%s\n", hearth_obj_array_str(o, "egress", i) ?: "");
}

/* The view's rules into r. Returns 0 or an exit code. */
static int rules_from(struct cli *cli, const hearth_obj *o, struct cli_rules *r)
{
    for (size_t i = 0; i < hearth_obj_array_len(o, "egress"); i++) {
        const char *rule = hearth_obj_array_str(o, "egress", i);
        if (rule && cli_rules_add(r, rule) == -ENOMEM)
            return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    }
    return 0;
}

/* The rules typed after <sb>: arguments, each split on commas and spaces. */
static int rules_from_args(struct cli *cli, int argc, char **argv, struct cli_rules *r)
{
    for (int i = 0; i < argc; i++) {
        int n = cli_rules_add_split(r, argv[i]);
        if (n < 0)
            return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
        if (n == 0)
            return cli_usage_error(cli, "empty rule '%.40s'", argv[i]);
    }
    return 0;
}

static int put_rules(struct cli *cli, const char *id, const struct cli_rules *r,
                     hearth_obj **ret)
{
    struct hearth_error e;
    if (hearth_egress_put(cli->client, id, (const char *const *)r->v, r->n, ret, &e) !=
        HEARTH_OK)
        return cli_fail(cli, &e);
    return 0;
}

/* A libhearth GET of one part of a sandbox (its rules, its bandwidth) by id. */
typedef int (*part_get_fn)(hearth_client *c, const char *id, hearth_obj **ret,
                           struct hearth_error *e);

/* `show` of a sandbox part: resolves the reference, GETs the part and prints it. */
static int show_part(struct cli *cli, const char *ref, part_get_fn get,
                     void (*print)(struct cli *cli, const hearth_obj *o))
{
    hearth_obj *sb = NULL, *o = NULL;
    int r = cli_sandbox_resolve(cli, ref, &sb);
    if (r)
        return r;
    struct hearth_error e;
    if (get(cli->client, hearth_obj_str(sb, "id"), &o, &e) != HEARTH_OK)
        r = cli_fail(cli, &e);
    else
        print(cli, o);
    hearth_obj_free(sb);
    hearth_obj_free(o);
    return r;
}

int cmd_firewall_show(struct cli *cli, int argc, char **argv)
{
    return show_part(cli, argv[0], hearth_egress_get, print_egress);
}

int cmd_firewall_set(struct cli *cli, int argc, char **argv)
{
    struct cli_rules want;
    cli_rules_init(&want);
    hearth_obj *sb = NULL, *o = NULL;
    int r = rules_from_args(cli, argc - 1, argv + 1, &want);
    if (r || (r = cli_sandbox_resolve(cli, argv[0], &sb)))
        goto out;
    r = put_rules(cli, hearth_obj_str(sb, "id"), &want, &o);
    if (r)
        goto out;
    print_egress(cli, o);
    if (!cli_rules_allow_all(&want))
        fputs(warn_blocked, stderr);
out:
    cli_rules_release(&want);
    hearth_obj_free(sb);
    hearth_obj_free(o);
    return r;
}

/* add and remove: GET the list, edit it, PUT it back when it changed. */
static int edit_rules(struct cli *cli, int argc, char **argv, bool add)
{
    struct cli_rules typed, cur;
    cli_rules_init(&typed);
    cli_rules_init(&cur);
    hearth_obj *sb = NULL, *old = NULL, *o = NULL;
    struct hearth_error e;
    int r = rules_from_args(cli, argc - 1, argv + 1, &typed);
    if (r || (r = cli_sandbox_resolve(cli, argv[0], &sb)))
        goto out;
    const char *id = hearth_obj_str(sb, "id");
    if (hearth_egress_get(cli->client, id, &old, &e) != HEARTH_OK) {
        r = cli_fail(cli, &e);
        goto out;
    }
    if ((r = rules_from(cli, old, &cur)))
        goto out;
    bool was_all = cli_rules_allow_all(&cur);
    size_t before = cur.n, changed = 0;
    for (size_t i = 0; i < typed.n; i++) {
        if (add) {
            int a = cli_rules_add(&cur, typed.v[i]);
            if (a < 0) {
                r = cli_error(cli, CLI_EXIT_FAIL, "out of memory");
                goto out;
            }
            changed += (size_t)a;
        } else if (cli_rules_remove(&cur, typed.v[i])) {
            changed++;
        } else {
            fprintf(stderr, "warning: rule '%s' is not in the list, ignoring\n", typed.v[i]);
        }
    }
    if (!changed) { /* nothing to store: show the list as it is */
        print_egress(cli, old);
        goto out;
    }
    if ((r = put_rules(cli, id, &cur, &o)))
        goto out;
    print_egress(cli, o);
    if (add && was_all && !cli_rules_allow_all(&cur))
        fputs(warn_blocked, stderr);
    if (!add && before > 0 && cur.n == 0)
        fputs("warning: the last rule was removed; all outbound traffic is now allowed\n",
              stderr);
out:
    cli_rules_release(&typed);
    cli_rules_release(&cur);
    hearth_obj_free(sb);
    hearth_obj_free(old);
    hearth_obj_free(o);
    return r;
}

int cmd_firewall_add(struct cli *cli, int argc, char **argv)
{
    return edit_rules(cli, argc, argv, true);
}

int cmd_firewall_remove(struct cli *cli, int argc, char **argv)
{
    return edit_rules(cli, argc, argv, false);
}

int cmd_firewall_clear(struct cli *cli, int argc, char **argv)
{
    char what[160];
    snprintf(what, sizeof(what), "allow all outbound traffic from '%.100s'", argv[0]);
    int r = cli_confirm(cli, what);
    if (r)
        return r;
    hearth_obj *sb = NULL, *o = NULL;
    struct cli_rules none;
    cli_rules_init(&none);
    if (!(r = cli_sandbox_resolve(cli, argv[0], &sb)) &&
        !(r = put_rules(cli, hearth_obj_str(sb, "id"), &none, &o)))
        print_egress(cli, o);
    hearth_obj_free(sb);
    hearth_obj_free(o);
    return r;
}

/* ---- bandwidth ---- */

static void print_bandwidth(struct cli *cli, const hearth_obj *o)
{
    if (cli->settings.json) {
        out_json(hearth_obj_json(o));
        return;
    }
    struct out_kv kv = { 0 };
    out_kv_add(&kv, "id", "%s", hearth_obj_str(o, "id") ?: "");
    out_bandwidth_kv(&kv, o);
    out_kv_print(&kv, stdout);
}

int cmd_bandwidth_show(struct cli *cli, int argc, char **argv)
{
    return show_part(cli, argv[0], hearth_bandwidth_get, print_bandwidth);
}

int cmd_bandwidth_add(struct cli *cli, int argc, char **argv)
{
    const char *size = argc > 1 ? argv[1] : DEFAULT_RECHARGE;
    uint64_t bytes;
    if (cli_parse_size(size, &bytes, NULL) < 0 || bytes == 0 ||
        bytes > (uint64_t)HEARTH_RECHARGE_MAX)
        return cli_usage_error(cli, "size '%.40s' is not from 1 byte to 1024TiB, e.g. 5GiB",
                               size);
    hearth_obj *sb = NULL, *o = NULL;
    int r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        return r;
    struct hearth_error e;
    if (hearth_bandwidth_recharge(cli->client, hearth_obj_str(sb, "id"), (int64_t)bytes, &o,
                                  &e) != HEARTH_OK) {
        r = cli_fail(cli, &e);
    } else {
        print_bandwidth(cli, o);
        if (!cli->settings.json && hearth_obj_int(o, "quota_bytes", -1) < 0)
            fputs("note: the sandbox is unmetered; nothing was added\n", stderr);
    }
    hearth_obj_free(sb);
    hearth_obj_free(o);
    return r;
}
