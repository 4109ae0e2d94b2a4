/* SPDX-License-Identifier: MIT */
/* cmd_hosts.c: `hearth hosts [--limit N] [--offset N]` — GET /v1/hosts (admin keys). */
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/values.h"

#include <stdlib.h>
#include <string.h>

const struct cli_opt cmd_hosts_opts[] = {
    CLI_FLAGS_PAGE,
    CLI_OPT_END,
};

int cmd_hosts(struct cli *cli, int argc, char **argv)
{
    struct hearth_page page = { .limit = 500 };
    const char *v;
    if ((v = cli_value(&cli->args, "limit")) && cli_parse_count(v, 500, &page.limit) < 0)
        return cli_usage_error(cli, "--limit '%s' is not a number from 1 to 500", v);
    if ((v = cli_value(&cli->args, "offset")) && cli_parse_count(v, INT64_MAX, &page.offset) < 0)
        return cli_usage_error(cli, "--offset '%s' is not a number", v);
    hearth_list *l = NULL;
    struct hearth_error e;
    if (hearth_hosts_list(cli->client, &page, &l, &e) != HEARTH_OK)
        return cli_fail(cli, &e);
    if (cli->settings.json) {
        char *j = hearth_list_json(l);
        out_json(j);
        free(j);
    } else {
        static const char *const hdr[] = { "id", "status", "free", "vms", "rootfs" };
        struct out_table t;
        out_table_init(&t, 5, hdr);
        for (size_t i = 0; i < hearth_list_count(l); i++) {
            const hearth_obj *o = hearth_list_item(l, i);
            char mem[32], vms[24], rootfs[256] = "";
            out_mib(hearth_obj_int(o, "free_mib", 0), mem, sizeof(mem));
            snprintf(vms, sizeof(vms), "%lld", (long long)hearth_obj_int(o, "vm_count", 0));
            for (size_t k = 0; k < hearth_obj_array_len(o, "rootfses"); k++) {
                size_t used = strlen(rootfs);
                snprintf(rootfs + used, sizeof(rootfs) - used, "%s%s", k ? "," : "",
                         hearth_obj_array_str(o, "rootfses", k) ?: "");
            }
            const char *row[] = { hearth_obj_str(o, "id"), hearth_obj_str(o, "status"), mem, vms,
                                  rootfs };
            (void)out_table_add(&t, row); /* out of memory: the row is missing, nothing else */
        }
        out_table_finish(&t, stdout);
    }
    hearth_list_free(l);
    return CLI_EXIT_OK;
}
