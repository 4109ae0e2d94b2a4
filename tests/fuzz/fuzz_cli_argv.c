/* SPDX-License-Identifier: MIT */
/* fuzz_cli_argv.c: libFuzzer target for the CLI's argv parser and config file parser. The input
 * is split on NUL bytes into argv (parsed against the sandbox create table) and also parsed whole
 * as a config file. Neither may crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli_config.h"

static const struct cli_opt opts[] = {
    { "shape", 0, CLI_OPT_VALUE, NULL, NULL, "<shape>", "shape" },
    { "name", 0, CLI_OPT_VALUE, NULL, NULL, "<name>", "name" },
    { "env", 'e', CLI_OPT_LIST, NULL, NULL, "<K=V>", "environment" },
    { "ingress", 0, CLI_OPT_BOOL, NULL, NULL, NULL, "ingress" },
    { "network", 0, CLI_OPT_LIST, "net", NULL, "<network>", "network" },
    { "quiet", 'q', CLI_OPT_BOOL, NULL, NULL, NULL, "quiet" },
    { "all", 'a', CLI_OPT_BOOL, NULL, NULL, NULL, "all" },
    { "output", 'o', CLI_OPT_VALUE, NULL, NULL, "<format>", "output" },
    { NULL, 0, 0, NULL, NULL, NULL, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char **argv = calloc(size + 2, sizeof(*argv));
    if (!text || !argv)
        goto out;
    memcpy(text, data, size);
    text[size] = '\0';
    int argc = 0;
    for (size_t i = 0; i <= size;) {
        argv[argc++] = text + i;
        i += strlen(text + i) + 1;
    }
    struct cli_args a;
    char err[256];
    if (cli_args_parse(&a, opts, argc, argv, err, sizeof(err)) == 0) {
        (void)cli_value(&a, "name");
        for (size_t i = 0; cli_value_at(&a, "env", i); i++)
            ;
    }
    cli_args_release(&a);

    struct cli_config cfg = { 0 };
    (void)cli_config_parse((const char *)data, size, &cfg, NULL, NULL);
    cli_config_release(&cfg);
out:
    free(argv);
    free(text);
    return 0;
}
