/* SPDX-License-Identifier: MIT */
/* cmd_version.c: `hearth version` (and `--version`). */
#include "cli/commands.h"

int cmd_version(struct cli *cli, int argc, char **argv)
{
    if (cli->settings.json)
        printf("{\"version\":\"%s\",\"libhearth\":\"%s\"}\n", CLI_VERSION, HEARTH_VERSION);
    else
        printf("hearth %s (libhearth %s)\n", CLI_VERSION, HEARTH_VERSION);
    return CLI_EXIT_OK;
}
