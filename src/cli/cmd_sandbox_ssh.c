/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_ssh.c: `hearth sb ssh <sb> [--gateway host[:port]] [-i key] [--tunnel] [-- cmd…]`
 * (docs/cli.md "sb ssh"): runs the system `ssh` against hearthd's SSH gateway as
 * `<sandbox id>@gateway` (docs/ingress-ssh.md), first adding the identity's public key to the
 * sandbox when it lacks it and pinning the gateway's host keys from GET /v1/ssh-gateway; --tunnel instead takes the guest-sshd path of ssh_guest.c (shared
 * with `sb shell --ssh`). Holds no SSH code of its own. */
#include "cli/commands.h"
#include "cli/output.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ssh_guest.h"
#include "cli/values.h"

#define SSH_DEFAULT_PORT "2222"
/* the name the gateway's keys are pinned under, whatever address reaches it */
#define GATEWAY_ALIAS "hearth-gateway"

const struct cli_opt cmd_sandbox_ssh_opts[] = {
    CLI_VALUE("gateway", "<host>[:<port>]",
              "the SSH gateway (default: HEARTH_SSH_GATEWAY, config ssh_gateway, else the API "
              "host on the port the server names)"),
    { "identity", 'i', CLI_OPT_VALUE, NULL, NULL, "<path>",
      "private key to log in with (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa)" },
    CLI_BOOL("tunnel", "reach the guest's own sshd through a tunnel instead (started when "
                       "not running; needs an image with sshd such as devbox:1)"),
    { "user", 'u', CLI_OPT_VALUE, NULL, NULL, "<name>",
      "with --tunnel: the user to log in as (default root)" },
    CLI_OPT_END,
};

/* host and port of "host", "host:port", "[v6]" or "[v6]:port" into host/port. 0 or -EINVAL. */
static int split_gateway(const char *g, char *host, size_t hlen, char *port, size_t plen)
{
    const char *colon;
    if (g[0] == '[') {
        const char *end = strchr(g, ']');
        if (!end || end == g + 1)
            return -EINVAL;
        if ((size_t)(end - g - 1) >= hlen)
            return -EINVAL;
        snprintf(host, hlen, "%.*s", (int)(end - g - 1), g + 1);
        colon = end[1] == ':' ? end + 1 : NULL;
        if (end[1] && !colon)
            return -EINVAL;
    } else {
        colon = strrchr(g, ':');
        if (colon && strchr(g, ':') != colon)
            colon = NULL; /* a bare IPv6 address: no port */
        size_t n = colon ? (size_t)(colon - g) : strlen(g);
        if (n == 0 || n >= hlen)
            return -EINVAL;
        snprintf(host, hlen, "%.*s", (int)n, g);
    }
    const char *p = colon ? colon + 1 : SSH_DEFAULT_PORT;
    int64_t v;
    if (cli_parse_count(p, 65535, &v) < 0 || v < 1)
        return -EINVAL;
    snprintf(port, plen, "%u", (unsigned)(v & 0xffff));
    return 0;
}

/* The API URL's host (scheme://host[:port]/…), brackets kept off. */
static int api_host(const char *url, char *host, size_t hlen)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n;
    if (*p == '[') {
        const char *end = strchr(p, ']');
        if (!end)
            return -EINVAL;
        p++;
        n = (size_t)(end - p);
    } else {
        n = strcspn(p, ":/?#");
    }
    if (n == 0 || n >= hlen)
        return -EINVAL;
    snprintf(host, hlen, "%.*s", (int)n, p);
    return 0;
}

/* A host key line as a server may send it: "<type> <base64>", nothing that could break out of
 * its known_hosts line. */
static bool key_line_ok(const char *k)
{
    size_t t = strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789-@.");
    return t > 0 && k[t] == ' ' && k[t + 1] && strlen(k) < 4096 &&
           strspn(k + t + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
               strlen(k + t + 1);
}

/* The gateway's host keys as the API answered them (GET /v1/ssh-gateway: authenticated, over
 * the same channel as everything else) into <config dir>/known_hosts.d/gateway under the alias
 * GATEWAY_ALIAS, so that the first connection is already verified rather than trusted. 0, or
 * -errno / -EPROTO (no usable key) after which ssh falls back to the user's own known_hosts. */
static int pin_gateway_keys(struct cli *cli, const hearth_obj *gw, char *path, size_t n)
{
    int r = cli_ssh_known_hosts_path(cli, "gateway", path, n);
    if (r < 0)
        return r;
    char tmp[PATH_MAX + 8];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "we");
    if (!f)
        return -errno;
    size_t good = 0;
    for (size_t i = 0; i < hearth_obj_array_len(gw, "host_keys") && i < 16; i++) {
        const char *k = hearth_obj_array_str(gw, "host_keys", i);
        if (k && key_line_ok(k)) {
            fprintf(f, "%s %s\n", GATEWAY_ALIAS, k);
            good++;
        }
    }
    r = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    if (r == 0 && good == 0)
        r = -EPROTO;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        unlink(tmp);
    return r;
}

static int run_ssh(struct cli *cli, char **args)
{
    fflush(NULL);
    execvp("ssh", args);
    return cli_error(cli, CLI_EXIT_EXEC_NOT_STARTED, "cannot run ssh: %s; install an OpenSSH "
                     "client", strerror(errno));
}

int cmd_sandbox_ssh(struct cli *cli, int argc, char **argv)
{
    if (cli->args.dashdash > 1)
        return cli_usage_error(cli, "unexpected argument '%.60s' before '--'", argv[1]);
    const char *gateway = cli_value(&cli->args, "gateway");
    bool tunnel = cli_flag(&cli->args, "tunnel");
    if (tunnel && gateway)
        return cli_usage_error(cli, "--gateway and --tunnel exclude each other");
    if (tunnel)
        return cli_ssh_guest(cli, argv[0], cli_value(&cli->args, "identity"),
                             cli_value(&cli->args, "user"), argc - 1, argv + 1);
    if (cli_value(&cli->args, "user"))
        return cli_usage_error(cli, "--user needs --tunnel: the gateway logs in as root");
    char host[256], port[8];
    if (!gateway || !gateway[0])
        gateway = getenv("HEARTH_SSH_GATEWAY");
    if (!gateway || !gateway[0])
        gateway = cli->cfg.values[CLI_CFG_SSH_GATEWAY];
    int r = gateway && gateway[0] ? split_gateway(gateway, host, sizeof(host), port, sizeof(port))
                                  : api_host(cli->settings.api_url, host, sizeof(host));
    if (r < 0)
        return cli_usage_error(cli, "bad gateway '%.100s': expected <host>[:<port>]",
                               gateway ? gateway : cli->settings.api_url);
    bool explicit_gateway = gateway && gateway[0];
    if (!explicit_gateway)
        snprintf(port, sizeof(port), "%s", SSH_DEFAULT_PORT);
    /* where the gateway listens and which keys it holds; a server without the route (older
     * hearthd) leaves the defaults and the user's own known_hosts */
    hearth_obj *gw = NULL;
    struct hearth_error e;
    char kh[PATH_MAX] = "";
    if ((r = cli_client_open(cli)) != 0)
        return r;
    if (hearth_ssh_gateway_get(cli->client, &gw, &e) == HEARTH_OK) {
        if (!hearth_obj_bool(gw, "enabled", false) && !explicit_gateway) {
            hearth_obj_free(gw);
            return cli_error(cli, CLI_EXIT_FAIL, "this server runs no SSH gateway (ssh_listen "
                             "is off); use --tunnel to reach the guest's own sshd");
        }
        int64_t p = hearth_obj_int(gw, "port", 0);
        if (!explicit_gateway && p > 0 && p <= 65535)
            snprintf(port, sizeof(port), "%u", (unsigned)p);
        if (hearth_obj_bool(gw, "enabled", false) && pin_gateway_keys(cli, gw, kh, sizeof(kh)) < 0)
            kh[0] = '\0';
        hearth_obj_free(gw);
    }
    char *identity = cli_value(&cli->args, "identity") ? strdup(cli_value(&cli->args, "identity"))
                                                      : cli_ssh_default_identity();
    hearth_obj *sb = NULL;
    int rc = cli_sandbox_resolve(cli, argv[0], &sb);
    if (rc) {
        free(identity);
        return rc;
    }
    char *pub = identity ? cli_read_pubkey(cli, identity) : NULL;
    if (identity && !pub) {
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (pub && (rc = cli_ssh_ensure_key(cli, sb, pub)) != 0)
        goto out;
    char target[512], khopt[PATH_MAX + 32];
    const char *args[64 + 24];
    size_t n = 0;
    args[n++] = "ssh";
    args[n++] = "-p";
    args[n++] = port;
    if (kh[0]) {
        snprintf(khopt, sizeof(khopt), "UserKnownHostsFile=\"%s\"", kh); /* spaces */
        args[n++] = "-o";
        args[n++] = khopt;
        args[n++] = "-o";
        args[n++] = "HostKeyAlias=" GATEWAY_ALIAS;
        args[n++] = "-o";
        args[n++] = "StrictHostKeyChecking=yes";
    }
    snprintf(target, sizeof(target), "%s@%s", hearth_obj_str(sb, "id"), host);
    if (identity) {
        args[n++] = "-i";
        args[n++] = identity;
    }
    args[n++] = target;
    if (argc > 1) {
        if (argc - 1 > 64) {
            rc = cli_usage_error(cli, "too many command arguments (at most 64)");
            goto out;
        }
        args[n++] = "--";
        for (int i = 1; i < argc; i++)
            args[n++] = argv[i];
    }
    args[n] = NULL;
    rc = run_ssh(cli, (char **)args);
out:
    hearth_obj_free(sb);
    free(pub);
    free(identity);
    return rc;
}
