/* SPDX-License-Identifier: MIT */
/* cmd_whoami.c: `hearth whoami` — GET /v1/whoami. */
#include "cli/commands.h"
#include "cli/output.h"

int cmd_whoami(struct cli *cli, int argc, char **argv)
{
    hearth_obj *o = NULL;
    struct hearth_error e;
    if (hearth_whoami(cli->client, &o, &e) != HEARTH_OK)
        return cli_fail(cli, &e);
    if (cli->settings.json) {
        out_json(hearth_obj_json(o));
    } else {
        struct out_kv kv = { 0 };
        out_kv_add(&kv, "user", "%s", hearth_obj_str(o, "user_id") ?: "");
        out_kv_add(&kv, "api", "%s", cli->settings.api_url);
        out_kv_add(&kv, "running", "%lld", (long long)hearth_obj_int(o, "stats.running", 0));
        out_kv_add(&kv, "paused", "%lld", (long long)hearth_obj_int(o, "stats.paused", 0));
        out_kv_add(&kv, "other", "%lld", (long long)hearth_obj_int(o, "stats.other", 0));
        out_kv_add(&kv, "total", "%lld", (long long)hearth_obj_int(o, "stats.total", 0));
        out_kv_print(&kv, stdout);
    }
    hearth_obj_free(o);
    return CLI_EXIT_OK;
}
