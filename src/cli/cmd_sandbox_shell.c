/* SPDX-License-Identifier: MIT */
/* placeholder replaced below */
#include "cli/commands.h"
int cmd_sandbox_shell(struct cli *cli, int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_usage_error(cli, "not yet");
}
