/* SPDX-License-Identifier: MIT */
/* main.c: the `hearth` entry point: takes the global flags out of argv wherever they are (up to
 * "--"), loads the config file, resolves the settings (docs/cli.md §2.3) and dispatches. The only
 * place that exits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"

static const char *env(const char *name)
{
    return getenv(name);
}

static void on_config_warn(void *ud, unsigned line, const char *why)
{
    const char *path = ud;
    if (line)
        fprintf(stderr, "warning: config file '%s' line %u: %s, ignoring\n", path, line, why);
    else
        fprintf(stderr, "warning: config file '%s' is %s\n", path, why);
}

/* Global flags: returns the number of argv slots consumed (0 = not a global flag), -1 when a
 * value is missing. */
static int global_flag(struct cli *cli, int argc, char **argv, int i, bool *version)
{
    const char *a = argv[i];
    const char *names[] = { "--api-url", "--api-key", "--output", "-o" };
    const char **dst[] = { &cli->gflags.api_url, &cli->gflags.api_key, &cli->gflags.output,
                           &cli->gflags.output };
    for (size_t k = 0; k < 4; k++) {
        size_t n = strlen(names[k]);
        if (strncmp(a, names[k], n) != 0)
            continue;
        if (a[n] == '=' && k < 3) {
            *dst[k] = a + n + 1;
            return 1;
        }
        if (a[n] == '\0') {
            if (i + 1 >= argc)
                return -1;
            *dst[k] = argv[i + 1];
            return 2;
        }
        if (k == 3) { /* -ojson */
            *dst[k] = a + 2;
            return 1;
        }
    }
    if (strcmp(a, "--json") == 0)
        return cli->gflags.json = true, 1;
    if (strcmp(a, "--no-color") == 0)
        return 1;
    if (strcmp(a, "-d") == 0 || strcmp(a, "--debug") == 0)
        return cli->debug = true, 1;
    if (strcmp(a, "--version") == 0)
        return *version = true, 1;
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc == 2 && strcmp(argv[1], "--help-man") == 0) { /* the build makes hearth.1 so */
        cli_print_man(stdout);
        return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }
    struct cli cli = { 0 };
    cli.args.dashdash = -1;
    cli.stdout_tty = isatty(STDOUT_FILENO);
    cli.stderr_tty = isatty(STDERR_FILENO);

    /* take global flags out of argv (before "--") */
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (!rest) {
        fputs("hearth: out of memory\n", stderr);
        return CLI_EXIT_FAIL;
    }
    int nrest = 0;
    bool version = false, dashdash = false;
    for (int i = 1; i < argc; i++) {
        if (dashdash || strcmp(argv[i], "--") == 0) {
            dashdash = true;
            rest[nrest++] = argv[i];
            continue;
        }
        int used = global_flag(&cli, argc, argv, i, &version);
        if (used < 0) {
            fprintf(stderr, "hearth: flag '%s' needs a value\nhint: see 'hearth --help'\n",
                    argv[i]);
            free(rest);
            return CLI_EXIT_USAGE;
        }
        if (used == 0)
            rest[nrest++] = argv[i];
        i += used > 0 ? used - 1 : 0;
    }

    int rc;
    char err[256];
    if (cli_config_path(env, cli.config_path, sizeof(cli.config_path)) < 0)
        cli.config_path[0] = '\0';
    if (cli.config_path[0] &&
        cli_config_load(cli.config_path, &cli.cfg, on_config_warn, cli.config_path) < 0)
        fprintf(stderr, "warning: cannot read config file '%s', ignoring\n", cli.config_path);
    if (cli_settings_resolve(&cli.gflags, env, &cli.cfg, &cli.settings, err, sizeof(err)) < 0) {
        fprintf(stderr, "hearth: %s\nhint: see 'hearth --help'\n", err);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (version)
        rc = cmd_version(&cli, 0, NULL);
    else
        rc = cli_dispatch(&cli, nrest, rest);
out:
    fflush(stdout);
    hearth_client_free(cli.client);
    cli_args_release(&cli.args);
    cli_config_release(&cli.cfg);
    free(rest);
    return rc;
}
