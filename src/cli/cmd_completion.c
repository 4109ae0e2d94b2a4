/* SPDX-License-Identifier: MIT */
/* cmd_completion.c: `hearth completion bash|zsh|fish`, generated from the command table so it
 * never drifts from the commands that exist. */
#include "cli/commands.h"

#include <string.h>

static const char globals[] = "--api-url --api-key --output --json --no-color --debug --help "
                              "--version";

static void words(const struct cli_command *table)
{
    for (const struct cli_command *c = table; c->name; c++) {
        printf(" %s", c->name);
        for (size_t i = 0; i < 3 && c->aliases[i]; i++)
            printf(" %s", c->aliases[i]);
    }
}

static void flags(const struct cli_opt *opts)
{
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        printf(" --%s", o->name);
        if (o->alias)
            printf(" --%s", o->alias);
        if (o->alias2)
            printf(" --%s", o->alias2);
    }
}

/* A bash case pattern for every spelling of "parent cmd": "sb get|sandbox get". */
static void pattern(const struct cli_command *parent, const struct cli_command *c)
{
    const char *pn[4] = { parent ? parent->name : NULL };
    size_t np = 1;
    for (size_t i = 0; parent && i < 3 && parent->aliases[i]; i++)
        pn[np++] = parent->aliases[i];
    const char *cn[4] = { c->name };
    size_t nc = 1;
    for (size_t i = 0; i < 3 && c->aliases[i]; i++)
        cn[nc++] = c->aliases[i];
    bool first = true;
    for (size_t i = 0; i < np; i++)
        for (size_t k = 0; k < nc; k++) {
            printf("%s\"%s%s%s\"", first ? "" : "|", pn[i] ? pn[i] : "", pn[i] ? " " : "",
                   cn[k]);
            first = false;
        }
}

static void bash_cases(const struct cli_command *parent, const struct cli_command *table)
{
    for (const struct cli_command *c = table; c->name; c++) {
        if (c->sub && !parent) {
            printf("        ");
            pattern(NULL, c);
            printf(") words=\"");
            words(c->sub);
            printf("\" ;;\n");
            bash_cases(c, c->sub);
        } else if (c->sub) {
            printf("        ");
            pattern(parent, c);
            printf(") words=\"");
            words(c->sub);
            printf("\" ;;\n");
        } else {
            printf("        ");
            pattern(parent, c);
            printf(") words=\"");
            flags(c->opts);
            if (!parent && strcmp(c->name, "completion") == 0)
                printf(" bash zsh fish");
            printf("\" ;;\n");
        }
    }
}

static void bash(void)
{
    printf("# hearth bash completion: source <(hearth completion bash)\n"
           "_hearth() {\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} path=\"\" words=\"\" i w\n"
           "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "        w=${COMP_WORDS[i]}\n"
           "        [[ $w == -- ]] && return 0\n"
           "        [[ $w == -* ]] && continue\n"
           "        path=\"${path:+$path }$w\"\n"
           "    done\n"
           "    case \"$path\" in\n"
           "        \"\") words=\"");
    words(cli_commands);
    printf("\" ;;\n");
    bash_cases(NULL, cli_commands);
    printf("        *) words=\"\" ;;\n"
           "    esac\n"
           "    if [[ $cur == -* ]]; then words=\"$words %s\"; fi\n"
           "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
           "}\n"
           "complete -o default -F _hearth hearth\n",
           globals);
}

static void fish(void)
{
    printf("# hearth fish completion: hearth completion fish | source\n");
    printf("complete -c hearth -f -n __fish_use_subcommand -a '");
    words(cli_commands);
    printf("'\n");
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        if (!c->sub)
            continue;
        printf("complete -c hearth -f -n '__fish_seen_subcommand_from %s", c->name);
        for (size_t i = 0; i < 3 && c->aliases[i]; i++)
            printf(" %s", c->aliases[i]);
        printf("' -a '");
        words(c->sub);
        printf("'\n");
    }
    for (const char *p = globals; *p;) {
        const char *e = strchr(p, ' ');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        printf("complete -c hearth -l '%.*s'\n", (int)n - 2, p + 2);
        p += n + (e ? 1 : 0);
    }
}

int cmd_completion(struct cli *cli, int argc, char **argv)
{
    if (strcmp(argv[0], "bash") == 0) {
        bash();
    } else if (strcmp(argv[0], "zsh") == 0) {
        printf("# hearth zsh completion (through bashcompinit): source <(hearth completion zsh)\n"
               "autoload -U +X bashcompinit && bashcompinit\n");
        bash();
    } else if (strcmp(argv[0], "fish") == 0) {
        fish();
    } else {
        return cli_usage_error(cli, "unknown shell '%.20s'; use bash, zsh or fish", argv[0]);
    }
    return CLI_EXIT_OK;
}
