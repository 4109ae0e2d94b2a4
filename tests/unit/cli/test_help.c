/* SPDX-License-Identifier: MIT */
/* test_help.c: --help and hearth(1) come from the option tables the parser reads (commands.c,
 * manpage.c): every flag of every command has a help line, and the man page names every flag
 * under its command, every command and every global flag. */
#include "cli/commands.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static char *man_text(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        harness_fail(__FILE__, __LINE__, "open_memstream");
    cli_print_man(f);
    fclose(f);
    return text;
}

/* The roff of "--name": each '-' is written "\-". */
static void roff_flag(const char *name, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = "--"; *p && o + 3 < len; p++)
        o += (size_t)snprintf(out + o, len - o, "\\-");
    for (const char *p = name; *p && o + 3 < len; p++)
        o += (size_t)snprintf(out + o, len - o, *p == '-' ? "\\-" : "%c", *p);
}

static void check_opts(const char *where, const struct cli_opt *opts, const char *section)
{
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        if (!o->help || !o->help[0])
            harness_fail(__FILE__, __LINE__, "%s: --%s has no help", where, o->name);
        if ((o->kind == CLI_OPT_BOOL) != (o->value == NULL))
            harness_fail(__FILE__, __LINE__, "%s: --%s: a value flag names its value, a "
                         "switch none", where, o->name);
        char want[128];
        roff_flag(o->name, want, sizeof(want));
        const char *end = strstr(section + 1, ".SS ");
        const char *hit = strstr(section, want);
        if (!hit || (end && hit > end))
            harness_fail(__FILE__, __LINE__, "%s: --%s is not in its man page section", where,
                         o->name);
    }
}

static void walk(const char *man, const char *prefix, const struct cli_command *table)
{
    for (const struct cli_command *c = table; c->name; c++) {
        char path[96];
        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? " " : "", c->name);
        if (!c->summary || !c->summary[0])
            harness_fail(__FILE__, __LINE__, "%s has no summary", path);
        if (c->sub) {
            walk(man, path, c->sub);
            continue;
        }
        char head[200], roffed[160];
        size_t o = 0;
        for (const char *p = path; *p && o + 3 < sizeof(roffed); p++)
            o += (size_t)snprintf(roffed + o, sizeof(roffed) - o, *p == '-' ? "\\-" : "%c", *p);
        snprintf(head, sizeof(head), ".SS \"hearth %s", roffed);
        const char *section = strstr(man, head);
        if (!section) {
            harness_fail(__FILE__, __LINE__, "no man section for 'hearth %s'", path);
            continue;
        }
        check_opts(path, c->opts, section);
    }
}

TEST(every_flag_has_help_and_a_man_entry)
{
    char *man = man_text();
    walk(man, "", cli_commands);
    const char *global = strstr(man, ".SH GLOBAL FLAGS");
    if (!global)
        harness_fail(__FILE__, __LINE__, "no GLOBAL FLAGS section");
    else
        check_opts("global", cli_global_opts, global);
    free(man);
}

/* The flags main.c takes out of argv are the rows of cli_global_opts (the parser's list is
 * written out in main.c; this keeps the two in step by name). */
TEST(global_flags_described)
{
    static const char *const parsed[] = { "api-url", "api-key", "output", "json", "no-color",
                                          "debug", "version", "help", "help-man" };
    for (size_t i = 0; i < sizeof(parsed) / sizeof(parsed[0]); i++) {
        bool found = false;
        for (const struct cli_opt *o = cli_global_opts; o->name; o++)
            found |= strcmp(o->name, parsed[i]) == 0;
        if (!found)
            harness_fail(__FILE__, __LINE__, "global --%s is not described", parsed[i]);
    }
}

TEST(man_page_is_roff)
{
    char *man = man_text();
    CHECK(strncmp(man, ".TH HEARTH 1 ", 13) == 0);
    /* no line may start with a control character that is not a request we wrote */
    for (const char *p = man; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
        if (*p == '\'')
            harness_fail(__FILE__, __LINE__, "a line starts with a quote: %.40s", p);
    free(man);
}
