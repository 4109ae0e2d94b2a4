/* SPDX-License-Identifier: MIT */
/* cmd_host.c: `hearthd host ls|drain|undrain|rm` (docs/scale-out.md "Hosts"): the host registry
 * in the store, read and flagged directly, so it works while serve runs and from any machine
 * that reaches the store. A drain takes effect at the next placement (no restart). */
#include "daemon/cmd/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/config.h"
#include "daemon/ctl/hosts.h"
#include "daemon/store/store.h"

static int list(struct store *st, const struct hd_config *cfg)
{
    struct store_host *h = NULL;
    size_t n = 0;
    int r = store_host_list(st, &h, &n);
    if (r < 0) {
        fprintf(stderr, "hearthd: host: cannot read the hosts: %s\n", strerror(-r));
        return 1;
    }
    int64_t now = timefmt_now_ms();
    printf("%-24s %-9s %-12s %8s %8s %5s %9s %s\n", "ID", "STATUS", "REGION", "FREE_MIB",
           "VMS", "CPUS", "LAST_SEEN", "LABELS");
    for (size_t i = 0; i < n; i++) {
        enum ctl_host_status s =
            ctl_host_status_of(&h[i], now, (int64_t)cfg->host_dead_after_s * 1000);
        printf("%-24s %-9s %-12s %8lld %8lld %5lld %8llds %s\n", h[i].id,
               ctl_host_status_name(s), h[i].region, (long long)h[i].free_mib,
               (long long)h[i].vm_count, (long long)h[i].vcpus,
               (long long)((now - h[i].heartbeat_at) / 1000), h[i].labels);
    }
    free(h);
    return 0;
}

static int act(struct store *st, const char *verb, const char *id)
{
    int r = strcmp(verb, "rm") == 0 ? store_host_delete(st, id)
                                    : store_host_set_drain(st, id, strcmp(verb, "drain") == 0);
    if (r == -ENOENT) {
        fprintf(stderr, "hearthd: host: no host '%s'\n", id);
        return 1;
    }
    if (r == -EBUSY) {
        fprintf(stderr, "hearthd: host: '%s' still has sandboxes; drain it and move or destroy "
                        "them first\n", id);
        return 1;
    }
    if (r < 0) {
        fprintf(stderr, "hearthd: host: %s: %s\n", id, strerror(-r));
        return 1;
    }
    printf("%s %s\n", id, strcmp(verb, "rm") == 0      ? "removed"
                          : strcmp(verb, "drain") == 0 ? "draining"
                                                       : "active");
    return 0;
}

int cmd_host(int argc, char **argv)
{
    const char *config = NULL, *data_dir = NULL, *verb = NULL, *id = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cmd_help_print(stdout, "host");
            return 0;
        }
        const char **dst = strcmp(a, "--config") == 0     ? &config
                           : strcmp(a, "--data-dir") == 0 ? &data_dir
                                                          : NULL;
        if (dst) {
            if (i + 1 >= argc) {
                fprintf(stderr, "hearthd: host: option '%s' needs a value\n", a);
                return EXIT_USAGE;
            }
            *dst = argv[++i];
        } else if (a[0] == '-' || (verb && id)) {
            fprintf(stderr, "hearthd: host: unexpected argument '%s'\n", a);
            cmd_help_print(stderr, "host");
            return EXIT_USAGE;
        } else if (!verb) {
            verb = a;
        } else {
            id = a;
        }
    }
    bool is_ls = verb && (strcmp(verb, "ls") == 0 || strcmp(verb, "list") == 0);
    bool is_act = verb && (strcmp(verb, "drain") == 0 || strcmp(verb, "undrain") == 0 ||
                           strcmp(verb, "rm") == 0);
    if (!is_ls && !is_act) {
        fprintf(stderr, "hearthd: unknown 'host' subcommand '%s'; try 'hearthd host --help'\n",
                verb ? verb : "");
        return EXIT_USAGE;
    }
    if ((is_act && !id) || (is_ls && id)) {
        fprintf(stderr, "hearthd: host %s: %s\n", verb,
                is_act ? "needs a HOST id" : "takes no HOST id");
        return EXIT_USAGE;
    }
    struct hd_config cfg;
    if (cmd_config_load(&cfg, config, data_dir, NULL, NULL) < 0)
        return EXIT_USAGE;
    struct store *st = NULL;
    if (cmd_store_open(&cfg, &st) < 0)
        return 1;
    int rc = is_ls ? list(st, &cfg) : act(st, verb, id);
    store_close(st);
    return rc;
}
