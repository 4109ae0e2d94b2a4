/* SPDX-License-Identifier: MIT */
/* main.c: hearthd entry point. A small dispatcher: `serve` runs the daemon (cmd_serve.c), `keys`
 * manages API keys (cmd_keys.c), `vm run` boots one VM and runs a command (cmd_vm.c), `net
 * down` removes an instance's sandbox network (cmd_net.c), `disk-key rotate` rotates the disk
 * key (cmd_disk.c); help, the man page and the version
 * come from cmd_help.c. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "daemon/cmd/cmd.h"

int main(int argc, char **argv)
{
    setvbuf(stderr, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        fputs("hearthd: no command given; try 'hearthd serve' or 'hearthd --help'\n", stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        cmd_help_print(stdout, NULL);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        cmd_version_print(stdout);
        return 0;
    }
    if (strcmp(cmd, "--help-man") == 0) {
        cmd_help_man(stdout);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "keys") == 0)
        return cmd_keys(argc - 2, argv + 2);
    if (strcmp(cmd, "net") == 0)
        return cmd_net(argc - 2, argv + 2);
    if (strcmp(cmd, "host") == 0)
        return cmd_host(argc - 2, argv + 2);
    if (strcmp(cmd, "ca") == 0)
        return cmd_ca(argc - 2, argv + 2);
    if (strcmp(cmd, "cert") == 0)
        return cmd_cert(argc - 2, argv + 2);
    if (strcmp(cmd, "disk-key") == 0)
        return cmd_disk_key(argc - 2, argv + 2);
    if (strcmp(cmd, "vm") == 0) {
        if (argc >= 3 && strcmp(argv[2], "run") == 0)
            return cmd_vm_run(argc - 3, argv + 3);
        fprintf(stderr, "hearthd: unknown 'vm' subcommand '%s'; try 'hearthd vm run'\n",
                argc >= 3 ? argv[2] : "");
        return EXIT_USAGE;
    }
    fprintf(stderr, "hearthd: unknown command '%s'; try 'hearthd --help'\n", cmd);
    return EXIT_USAGE;
}
