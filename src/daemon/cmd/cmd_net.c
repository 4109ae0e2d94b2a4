/* SPDX-License-Identifier: MIT */
/* cmd_net.c: `hearthd net down [--data-dir DIR] [--config FILE]`: removes one instance's
 * sandbox network from the host (its namespace with every tap and route in it, the uplink veth
 * and the root-namespace nftables table; docs/networking.md "Stopping and net down"). The
 * names come from the same configuration `serve` reads, so it finds exactly that instance's
 * objects and nothing of another's. Idempotent. */
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/cmd/cmd.h"
#include "daemon/config.h"
#include "daemon/net/net.h"
#include "daemon/net/netns.h"


static int net_down(int argc, char **argv)
{
    const char *config = NULL, *data_dir = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cmd_help_print(stdout, "net down");
            return 0;
        }
        const char **dst = strcmp(a, "--config") == 0     ? &config
                           : strcmp(a, "--data-dir") == 0 ? &data_dir
                                                          : NULL;
        if (!dst) {
            fprintf(stderr, "hearthd: net down: unknown option '%s'\n", a);
            cmd_help_print(stderr, "net down");
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "hearthd: net down: option '%s' needs a value\n", a);
            return EXIT_USAGE;
        }
        *dst = argv[++i];
    }
    struct hd_config cfg;
    if (cmd_config_load(&cfg, config, data_dir, NULL, NULL) < 0)
        return EXIT_USAGE;
    char ns[CONFIG_NAME_SIZE], uplink[16], path[128];
    config_net_names(&cfg, ns, uplink);
    snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, ns);
    bool had_ns = access(path, F_OK) == 0, had_uplink = if_nametoindex(uplink) > 0;
    bool auto_uplink;
    struct net_config nc = { .ns_name = ns, .uplink_root_if = uplink,
                             .uplink_net = config_net_uplink(&cfg, &auto_uplink),
                             .sandbox_net = cfg.net_sandbox_net,
                             .sandbox_prefix = cfg.net_sandbox_prefix,
                             .networks_net = cfg.net_networks_net,
                             .networks_prefix = cfg.net_networks_prefix };
    char err[512];
    if (net_teardown(&nc, err, sizeof(err)) < 0) {
        fprintf(stderr, "hearthd: net down: %s\n", err);
        return EXIT_HEARTHD;
    }
    printf("namespace %s: %s\nuplink %s: %s\ntable inet hearth-%s: removed\n", ns,
           had_ns ? "removed" : "absent", uplink, had_uplink ? "removed" : "absent", ns);
    return 0;
}

int cmd_net(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "down") == 0)
        return net_down(argc - 1, argv + 1);
    if (argc >= 1 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0)) {
        cmd_help_print(stdout, "net down");
        return 0;
    }
    fprintf(stderr, "hearthd: unknown 'net' subcommand '%s'; try 'hearthd net down'\n",
            argc >= 1 ? argv[0] : "");
    return EXIT_USAGE;
}
