/* SPDX-License-Identifier: MIT */
/* cmd_version.c: `hearth version` (and `--version`): the CLI's and libhearth's versions and the
 * git revision the build came from (`git describe`, "unknown" outside git). */
#include "cli/commands.h"

#include "build_rev.h"

int cmd_version(struct cli *cli, int argc, char **argv)
{
    if (cli->settings.json)
        printf("{\"version\":\"%s\",\"libhearth\":\"%s\",\"revision\":\"%s\"}\n", CLI_VERSION,
               HEARTH_VERSION, HEARTH_BUILD_REV);
    else
        printf("hearth %s (libhearth %s, revision %s)\n", CLI_VERSION, HEARTH_VERSION,
               HEARTH_BUILD_REV);
    return CLI_EXIT_OK;
}
