/* SPDX-License-Identifier: MIT */
/* cmd_pki.c: `hearthd ca init DIR` and `hearthd cert issue` (docs/scale-out.md "Host channel"):
 * a self-hoster makes the fleet's CA and each host's certificate with hearthd itself, no
 * openssl(1) recipe. The work is in hostchan/pki.c. */
#include "daemon/cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/herr.h"
#include "daemon/hostchan/pki.h"

static int parse_days(const char *v, unsigned *ret)
{
    char *end = NULL;
    long d = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || d < 1 || d > 36500) {
        fprintf(stderr, "hearthd: bad --days '%s': expected 1-36500\n", v ? v : "");
        return -1;
    }
    *ret = (unsigned)d;
    return 0;
}

static int ca_init(int argc, char **argv)
{
    const char *dir = NULL;
    bool force = false;
    unsigned days = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cmd_help_print(stdout, "ca init");
            return 0;
        }
        if (strcmp(argv[i], "--force") == 0) {
            force = true;
        } else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
            if (parse_days(argv[++i], &days) < 0)
                return EXIT_USAGE;
        } else if (argv[i][0] != '-' && !dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "hearthd: unexpected '%s'; usage: hearthd ca init DIR [--days N] "
                    "[--force]\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!dir) {
        fprintf(stderr, "hearthd: usage: hearthd ca init DIR [--days N] [--force]\n");
        return EXIT_USAGE;
    }
    struct herr e = { 0 };
    if (hostchan_ca_init(dir, days, force, &e) < 0) {
        fprintf(stderr, "hearthd: ca init: %s\n", e.msg);
        return 1;
    }
    printf("CA written: %s/" HOSTCHAN_CA_KEY " (keep it secret) and %s/" HOSTCHAN_CA_CERT "\n",
           dir, dir);
    return 0;
}

static const char issue_usage[] =
    "usage: hearthd cert issue --ca DIR --host ID --out DIR [--ip ADDR]... [--dns NAME]... "
    "[--days N] [--force]";

static int cert_issue(int argc, char **argv)
{
    struct hostchan_issue in = { 0 };
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cmd_help_print(stdout, "cert issue");
            return 0;
        }
        if (strcmp(a, "--force") == 0) {
            in.force = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "hearthd: '%s' needs a value; %s\n", a, issue_usage);
            return EXIT_USAGE;
        }
        i++;
        if (strcmp(a, "--ca") == 0) {
            in.ca_dir = v;
        } else if (strcmp(a, "--host") == 0) {
            in.host_id = v;
        } else if (strcmp(a, "--out") == 0) {
            in.out_dir = v;
        } else if (strcmp(a, "--days") == 0) {
            if (parse_days(v, &in.days) < 0)
                return EXIT_USAGE;
        } else if (strcmp(a, "--ip") == 0 && in.n_ips < HOSTCHAN_MAX_NAMES) {
            in.ips[in.n_ips++] = v;
        } else if (strcmp(a, "--dns") == 0 && in.n_dns < HOSTCHAN_MAX_NAMES) {
            in.dns[in.n_dns++] = v;
        } else {
            fprintf(stderr, "hearthd: unexpected '%s' (at most %d --ip and --dns); %s\n", a,
                    HOSTCHAN_MAX_NAMES, issue_usage);
            return EXIT_USAGE;
        }
    }
    if (!in.ca_dir || !in.host_id || !in.out_dir) {
        fprintf(stderr, "hearthd: --ca, --host and --out are required; %s\n", issue_usage);
        return EXIT_USAGE;
    }
    struct herr e = { 0 };
    if (hostchan_cert_issue(&in, &e) < 0) {
        fprintf(stderr, "hearthd: cert issue: %s\n", e.msg);
        return 1;
    }
    printf("host certificate for '%s' written: %s/" HOSTCHAN_HOST_KEY ", %s/" HOSTCHAN_HOST_CERT
           ", %s/" HOSTCHAN_CA_CERT "\n", in.host_id, in.out_dir, in.out_dir, in.out_dir);
    return 0;
}

int cmd_ca(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "init") == 0)
        return ca_init(argc - 1, argv + 1);
    fprintf(stderr, "hearthd: unknown 'ca' subcommand '%s'; try 'hearthd ca init DIR'\n",
            argc >= 1 ? argv[0] : "");
    return EXIT_USAGE;
}

int cmd_cert(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "issue") == 0)
        return cert_issue(argc - 1, argv + 1);
    fprintf(stderr, "hearthd: unknown 'cert' subcommand '%s'; %s\n", argc >= 1 ? argv[0] : "",
            issue_usage);
    return EXIT_USAGE;
}
