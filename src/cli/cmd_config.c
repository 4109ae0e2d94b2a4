/* SPDX-License-Identifier: MIT */
/* cmd_config.c: `hearth config set|get|unset|show|path` on the config file (docs/cli.md §2.1). */
#include "cli/commands.h"
#include "cli/output.h"

#include <errno.h>
#include <string.h>

static int key_arg(struct cli *cli, const char *name)
{
    int k = cli_config_key_from_name(name);
    if (k < 0)
        cli_usage_error(cli, "unknown config key '%.40s'; keys: api_url, api_key, output, shape, "
                             "rootfs, ssh_gateway",
                        name);
    return k;
}

static int need_path(struct cli *cli)
{
    if (cli->config_path[0])
        return 0;
    return cli_error(cli, CLI_EXIT_FAIL,
                     "no config file location; set HOME, XDG_CONFIG_HOME or HEARTH_CONFIG");
}

/* Sets key k to v in the config file (removes it when v is NULL). Returns the exit code. */
static int write_key(struct cli *cli, int k, const char *v)
{
    int r = need_path(cli);
    if (r)
        return r;
    r = cli_config_write_key(cli->config_path, (enum cli_config_key)k, v);
    if (r < 0)
        return cli_error(cli, CLI_EXIT_FAIL, "cannot write config file '%s': %s",
                         cli->config_path, strerror(-r));
    return CLI_EXIT_OK;
}

int cmd_config_set(struct cli *cli, int argc, char **argv)
{
    int k = key_arg(cli, argv[0]);
    if (k < 0)
        return CLI_EXIT_USAGE;
    const char *v = argv[1];
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return cli_usage_error(cli, "value for '%s' contains a control character",
                                   argv[0]);
    if (k == CLI_CFG_OUTPUT && strcmp(v, "table") != 0 && strcmp(v, "json") != 0)
        return cli_usage_error(cli, "output '%.40s' is not 'table' or 'json'", v);
    if (k == CLI_CFG_API_URL &&
        ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) || strpbrk(v, "?# ")))
        return cli_usage_error(cli, "api_url '%.80s' must be an http(s) URL without query or "
                                    "fragment",
                               v);
    return write_key(cli, k, v);
}

int cmd_config_get(struct cli *cli, int argc, char **argv)
{
    int k = key_arg(cli, argv[0]);
    if (k < 0)
        return CLI_EXIT_USAGE;
    const char *v = cli->cfg.values[k];
    if (!v)
        return CLI_EXIT_FAIL; /* like `git config`: unset prints nothing and fails */
    printf("%s\n", v);
    return CLI_EXIT_OK;
}

int cmd_config_unset(struct cli *cli, int argc, char **argv)
{
    int k = key_arg(cli, argv[0]);
    if (k < 0)
        return CLI_EXIT_USAGE;
    return write_key(cli, k, NULL);
}

/* "…abcd": only the last 4 characters of a key are ever shown. */
static void mask(const char *key, char *out, size_t n)
{
    size_t l = strlen(key);
    snprintf(out, n, "…%s", l > 4 ? key + l - 4 : "");
}

int cmd_config_show(struct cli *cli, int argc, char **argv)
{
    char masked[16];
    if (cli->settings.json) {
        fputs("{", stdout);
        bool first = true;
        for (int k = 0; k < CLI_CFG_NKEYS; k++) {
            const char *v = cli->cfg.values[k];
            if (!v)
                continue;
            if (k == CLI_CFG_API_KEY) {
                mask(v, masked, sizeof(masked));
                v = masked;
            }
            printf("%s\"%s\":\"", first ? "" : ",", cli_config_key_name(k));
            for (const char *p = v; *p; p++) /* no control characters: the parser refuses them */
                printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
            fputs("\"", stdout);
            first = false;
        }
        fputs("}\n", stdout);
        return CLI_EXIT_OK;
    }
    struct out_kv kv = { 0 };
    out_kv_add(&kv, "file", "%s", cli->config_path[0] ? cli->config_path : "(none)");
    for (int k = 0; k < CLI_CFG_NKEYS; k++) {
        const char *v = cli->cfg.values[k];
        if (v && k == CLI_CFG_API_KEY) {
            mask(v, masked, sizeof(masked));
            v = masked;
        }
        out_kv_add(&kv, cli_config_key_name(k), "%s", v ? v : "(unset)");
    }
    out_kv_print(&kv, stdout);
    return CLI_EXIT_OK;
}

int cmd_config_path(struct cli *cli, int argc, char **argv)
{
    int r = need_path(cli);
    if (r)
        return r;
    printf("%s\n", cli->config_path);
    return CLI_EXIT_OK;
}
