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

/* Every spelling of a command: its name, then its aliases. Returns the count. */
static size_t spellings(const struct cli_command *c, const char *out[4])
{
    size_t n = 0;
    out[n++] = c->name;
    for (size_t i = 0; i < 3 && c->aliases[i]; i++)
        out[n++] = c->aliases[i];
    return n;
}

/* A bash case pattern for every spelling of a command path of depth commands: "sb get|sandbox
 * get", "sb fw clear|sb firewall clear|…". */
static void pattern(const struct cli_command *const *chain, size_t depth)
{
    const char *names[3][4];
    size_t counts[3], idx[3] = { 0 };
    for (size_t d = 0; d < depth; d++)
        counts[d] = spellings(chain[d], names[d]);
    bool first = true;
    for (;;) {
        printf("%s\"", first ? "" : "|");
        for (size_t d = 0; d < depth; d++)
            printf("%s%s", d ? " " : "", names[d][idx[d]]);
        putchar('"');
        first = false;
        size_t d = depth;
        while (d > 0 && ++idx[d - 1] == counts[d - 1])
            idx[--d] = 0;
        if (d == 0)
            return;
    }
}

/* One case per command under chain[0..depth): subcommand words for a group, flags otherwise. */
static void bash_cases(const struct cli_command **chain, size_t depth,
                       const struct cli_command *table)
{
    for (const struct cli_command *c = table; c->name; c++) {
        chain[depth] = c;
        printf("        ");
        pattern(chain, depth + 1);
        printf(") words=\"");
        if (c->sub)
            words(c->sub);
        else
            flags(c->opts);
        if (depth == 0 && strcmp(c->name, "completion") == 0)
            printf(" bash zsh fish");
        printf("\" ;;\n");
        if (c->sub && depth + 1 < 3)
            bash_cases(chain, depth + 1, c->sub);
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
    const struct cli_command *chain[3];
    bash_cases(chain, 0, cli_commands);
    printf("        *) words=\"\" ;;\n"
           "    esac\n"
           "    if [[ $cur == -* ]]; then words=\"$words %s\"; fi\n"
           "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
           "}\n"
           "complete -o default -F _hearth hearth\n",
           globals);
}

/* The subcommands of group c after any spelling of it, and those of its own groups. */
static void fish_group(const struct cli_command *c)
{
    printf("complete -c hearth -f -n '__fish_seen_subcommand_from %s", c->name);
    for (size_t i = 0; i < 3 && c->aliases[i]; i++)
        printf(" %s", c->aliases[i]);
    printf("' -a '");
    words(c->sub);
    printf("'\n");
    for (const struct cli_command *s = c->sub; s->name; s++)
        if (s->sub)
            fish_group(s);
}

static void fish(void)
{
    printf("# hearth fish completion: hearth completion fish | source\n");
    printf("complete -c hearth -f -n __fish_use_subcommand -a '");
    words(cli_commands);
    printf("'\n");
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (c->sub)
            fish_group(c);
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
