/* SPDX-License-Identifier: MIT */
/* manpage.c: `hearth --help-man`: the hearth(1) man page in roff, walked from the same command
 * and option tables that print --help and that the parser reads (commands.c), so the page
 * cannot describe a flag the CLI does not take or miss one it does. The build installs it. */
#include "cli/commands.h"
#include "common/roff.h"

#include <string.h>

static void man_opts(FILE *f, const struct cli_opt *opts)
{
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        char names[128];
        cli_opt_names(o, names, sizeof(names));
        fputs(".TP\n.B ", f);
        roff_text(f, names);
        fputs("\n", f);
        roff_text(f, o->help ? o->help : "");
        if (o->kind == CLI_OPT_LIST)
            fputs(" (repeatable; values may also be comma-separated)", f);
        fputs("\n", f);
    }
}

static void man_aliases(FILE *f, const struct cli_command *c)
{
    if (!c->aliases[0])
        return;
    fputs("Aliases: ", f);
    for (size_t i = 0; i < 3 && c->aliases[i]; i++) {
        fputs(i ? ", " : "", f);
        roff_text(f, c->aliases[i]);
    }
    fputs(".\n", f);
}

/* Every leaf under table, as "hearth <path> <args>", its summary and its flags. */
static void man_commands(FILE *f, const char *prefix, const struct cli_command *table)
{
    for (const struct cli_command *c = table; c->name; c++) {
        char path[96];
        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? " " : "", c->name);
        if (c->sub) { /* a group: its summary and aliases, then its commands */
            fputs(".SS \"hearth ", f);
            roff_text(f, path);
            fputs(" ...\"\n", f);
            roff_text(f, c->summary);
            fputs(".\n", f);
            man_aliases(f, c);
            man_commands(f, path, c->sub);
            continue;
        }
        fputs(".SS \"hearth ", f);
        roff_text(f, path);
        if (c->args_usage[0]) {
            fputs(" ", f);
            roff_text(f, c->args_usage);
        }
        fputs("\"\n", f);
        roff_text(f, c->summary);
        fputs(".\n", f);
        man_aliases(f, c);
        man_opts(f, c->opts);
    }
}

void cli_print_man(FILE *f)
{
    fprintf(f, ".TH HEARTH 1 \"\" \"hearth %s\" \"User Commands\"\n", CLI_VERSION);
    fputs(".SH NAME\nhearth \\- command-line client of the hearth sandbox API\n"
          ".SH SYNOPSIS\n.B hearth\n[global flags] <command> [subcommand] [flags] [args] "
          "[\\-\\- cmd...]\n"
          ".SH DESCRIPTION\nhearth creates, runs commands in, pauses, forks and destroys "
          "microVM sandboxes through the hearth API (hearthd). Flags may come before or after "
          "positional arguments; \\fB\\-\\-\\fR ends flag parsing. Results go to stdout; "
          "progress, hints and warnings to stderr.\n"
          ".SH GLOBAL FLAGS\nAccepted anywhere before \\fB\\-\\-\\fR.\n", f);
    man_opts(f, cli_global_opts);
    fputs(".SH COMMANDS\n", f);
    man_commands(f, "", cli_commands);
    fputs(".SH ENVIRONMENT\n"
          ".TP\n.B HEARTH_API_URL\\fR, \\fBHEARTH_API_KEY\\fR, \\fBHEARTH_OUTPUT\n"
          "the API URL, key and output format when no flag gives them\n"
          ".TP\n.B CREATEOS_SANDBOX_BASE_URL\\fR, \\fBCREATEOS_SANDBOX_API_KEY\n"
          "read after the HEARTH_ variables (what the CreateOS SDKs read)\n"
          ".TP\n.B HEARTH_CONFIG\nthe config file's path\n"
          ".SH FILES\n"
          ".TP\n.I $XDG_CONFIG_HOME/hearth/config\\fR, \\fI~/.config/hearth/config\n"
          "config file: \\fIkey = value\\fR lines for api_url, api_key, output, shape, rootfs "
          "(see \\fBhearth config\\fR)\n"
          ".SH EXIT STATUS\n"
          ".TP\n0\nsuccess\n.TP\n1\nfailure\n.TP\n2\nusage error\n"
          ".TP\n3\nauthentication or permission\n.TP\n4\nnot found\n"
          ".TP\n5\nrejected (conflict, bad state, limit)\n.TP\n6\ntimed out waiting\n"
          ".TP\n7\nserver unreachable or not ready\n"
          ".TP\n125, 127, 255\n\\fBexec\\fR: the CLI failed, the command did not start, "
          "the stream was lost; otherwise \\fBexec\\fR exits with the command's status\n"
          ".TP\n130\ninterrupted\n"
          ".SH SEE ALSO\n.BR hearthd (8)\n", f);
}
