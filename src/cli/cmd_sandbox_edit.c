/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_edit.c: `hearth sb edit` (PATCH and ssh-pubkeys), `sb resize` and
 * `sb ssh-key add` (docs/cli.md §7.1). */
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/values.h"

#include <stdlib.h>
#include <string.h>

const struct cli_opt cmd_sandbox_edit_opts[] = {
    CLI_VALUE("ingress", "on|off", "publish the ports under the ingress domain or stop"),
    CLI_VALUE("auto-pause", "<duration>|off", "pause after this long idle, or never"),
    CLI_LIST("add-ssh-key", "<path>", "add an SSH public key (keys cannot be removed)"),
    CLI_OPT_END,
};

/* Reads each key file and POSTs them in one call. Returns 0 or an exit code. */
static int add_keys(struct cli *cli, const char *id, const char *const *paths, size_t n,
                    hearth_obj **ret)
{
    char **keys = calloc(n + 1, sizeof(*keys));
    if (!keys)
        return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    int r = 0;
    for (size_t i = 0; i < n && !r; i++)
        if (!(keys[i] = cli_read_pubkey(cli, paths[i])))
            r = CLI_EXIT_USAGE;
    if (!r) {
        struct hearth_error e;
        if (hearth_sandbox_add_ssh_keys(cli->client, id, (const char *const *)keys, n, ret,
                                        &e) != HEARTH_OK)
            r = cli_fail(cli, &e);
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    return r;
}

static void print_settings(const hearth_obj *o, int64_t key_count)
{
    struct out_kv kv = { 0 };
    out_kv_add(&kv, "id", "%s", hearth_obj_str(o, "id") ?: "");
    if (hearth_obj_bool(o, "ingress_enabled", false))
        out_kv_add(&kv, "ingress", "%s", hearth_obj_str(o, "ingress_url_template") ?: "on");
    else
        out_kv_add(&kv, "ingress", "off");
    if (hearth_obj_has(o, "auto_pause_after_seconds"))
        out_kv_add(&kv, "auto-pause", "after %llds idle",
                   (long long)hearth_obj_int(o, "auto_pause_after_seconds", 0));
    else
        out_kv_add(&kv, "auto-pause", "off");
    out_kv_add(&kv, "ssh keys", "%lld",
               (long long)(key_count >= 0 ? key_count
                                          : (int64_t)hearth_obj_array_len(o, "ssh_pubkeys")));
    out_kv_print(&kv, stdout);
}

int cmd_sandbox_edit(struct cli *cli, int argc, char **argv)
{
    const char *ingress = cli_value(&cli->args, "ingress");
    const char *ap = cli_value(&cli->args, "auto-pause");
    size_t nkeys = 0;
    while (cli_value_at(&cli->args, "add-ssh-key", nkeys))
        nkeys++;
    if (!ingress && !ap && !nkeys)
        return cli_usage_error(cli, "nothing to change; give --ingress, --auto-pause or "
                                    "--add-ssh-key");
    if (ingress && strcmp(ingress, "on") != 0 && strcmp(ingress, "off") != 0)
        return cli_usage_error(cli, "--ingress '%.40s' is not 'on' or 'off'", ingress);
    int64_t ap_ms = 0;
    if (ap && strcmp(ap, "off") != 0 && (cli_parse_duration_ms(ap, &ap_ms) < 0 || ap_ms % 1000))
        return cli_usage_error(cli, "--auto-pause '%.40s' is not a duration in whole seconds or "
                                    "'off'",
                               ap);

    hearth_obj *sb = NULL, *res = NULL, *keys = NULL;
    hearth_body *b = NULL;
    int r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        return r;
    const char *id = hearth_obj_str(sb, "id");
    struct hearth_error e;
    if (ingress || ap) {
        b = hearth_body_new();
        if (!b || (ingress && hearth_body_set_bool(b, "ingress_enabled",
                                                   strcmp(ingress, "on") == 0)) ||
            (ap && strcmp(ap, "off") == 0 && hearth_body_set_bool(b, "disable_auto_pause", true)) ||
            (ap && strcmp(ap, "off") != 0 &&
             hearth_body_set_int(b, "auto_pause_after_seconds", ap_ms / 1000))) {
            r = cli_error(cli, CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
        if (hearth_sandbox_patch(cli->client, id, b, &res, &e) != HEARTH_OK) {
            r = cli_fail(cli, &e);
            goto out;
        }
    }
    if (nkeys) {
        const char **paths = calloc(nkeys, sizeof(*paths));
        if (!paths) {
            r = cli_error(cli, CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < nkeys; i++)
            paths[i] = cli_value_at(&cli->args, "add-ssh-key", i);
        r = add_keys(cli, id, paths, nkeys, &keys);
        free(paths);
        if (r)
            goto out;
        hearth_obj_free(res);
        res = NULL;
        if (hearth_sandbox_get(cli->client, id, &res, &e) != HEARTH_OK) {
            r = cli_fail(cli, &e);
            goto out;
        }
    }
    if (cli->settings.json)
        out_json(hearth_obj_json(res));
    else
        print_settings(res, keys ? hearth_obj_int(keys, "count", -1) : -1);
out:
    hearth_body_free(b);
    hearth_obj_free(sb);
    hearth_obj_free(res);
    hearth_obj_free(keys);
    return r;
}

int cmd_sandbox_resize(struct cli *cli, int argc, char **argv)
{
    uint64_t bytes;
    bool unit = false;
    int pr = cli_parse_size(argv[1], &bytes, &unit);
    if (pr < 0 || !unit)
        return cli_usage_error(cli, "size '%.40s' needs a unit, e.g. 20GiB or 20480MiB",
                               argv[1]);
    if (bytes % (1u << 20) || bytes == 0 || (bytes >> 20) > INT32_MAX)
        return cli_usage_error(cli, "size '%.40s' is not a whole number of MiB", argv[1]);
    hearth_obj *sb = NULL, *res = NULL;
    int r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        return r;
    struct hearth_error e;
    if (hearth_sandbox_resize(cli->client, hearth_obj_str(sb, "id"), (int64_t)(bytes >> 20),
                              &res, &e) != HEARTH_OK) {
        r = cli_fail(cli, &e);
    } else if (cli->settings.json) {
        out_json(hearth_obj_json(res));
    } else {
        char disk[32];
        out_mib(hearth_obj_int(res, "disk_mib", 0), disk, sizeof(disk));
        struct out_kv kv = { 0 };
        out_kv_add(&kv, "id", "%s", hearth_obj_str(res, "id") ?: "");
        out_kv_add(&kv, "disk", "%s", disk);
        out_kv_print(&kv, stdout);
    }
    hearth_obj_free(sb);
    hearth_obj_free(res);
    return r;
}

int cmd_sandbox_ssh_key_add(struct cli *cli, int argc, char **argv)
{
    hearth_obj *sb = NULL, *res = NULL;
    int r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        return r;
    r = add_keys(cli, hearth_obj_str(sb, "id"), (const char *const *)argv + 1,
                 (size_t)argc - 1, &res);
    if (!r) {
        if (cli->settings.json)
            out_json(hearth_obj_json(res));
        else
            printf("count: %lld\n", (long long)hearth_obj_int(res, "count", 0));
    }
    hearth_obj_free(sb);
    hearth_obj_free(res);
    return r;
}
