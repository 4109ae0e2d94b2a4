/* SPDX-License-Identifier: MIT */
/* cmd_status.c: `hearth status` — /healthz then /readyz; exit 0 when ready, 7 when not. */
#include "cli/commands.h"
#include "cli/output.h"

int cmd_status(struct cli *cli, int argc, char **argv)
{
    struct hearth_error e;
    if (hearth_healthz(cli->client, &e) != HEARTH_OK) {
        cli_fail(cli, &e);
        return CLI_EXIT_UNREACHABLE;
    }
    hearth_obj *o = NULL;
    int rc = hearth_readyz(cli->client, &o, &e);
    if (rc != HEARTH_OK && !o) {
        cli_fail(cli, &e);
        hearth_obj_free(o);
        return CLI_EXIT_UNREACHABLE;
    }
    bool ready = rc == HEARTH_OK && hearth_obj_bool(o, "ready", false);
    if (cli->settings.json) {
        out_json(hearth_obj_json(o));
    } else {
        struct out_kv kv = { 0 };
        out_kv_add(&kv, "api", "%s", cli->settings.api_url);
        out_kv_add(&kv, "healthy", "yes");
        if (ready)
            out_kv_add(&kv, "ready", "yes");
        else
            out_kv_add(&kv, "ready", "no (%s)", hearth_obj_str(o, "reason") ?: "unknown");
        out_kv_print(&kv, stdout);
    }
    hearth_obj_free(o);
    return ready ? CLI_EXIT_OK : CLI_EXIT_UNREACHABLE;
}
