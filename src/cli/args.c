/* SPDX-License-Identifier: MIT */
/* args.c: argv parsing for the CLI: long flags (--x, --x=v), short flags (-x, -xv, -abc for
 * booleans), "--" and "-" as arguments. Knows nothing about commands. */
#include "cli/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_args_release(struct cli_args *a)
{
    free(a->count);
    free(a->last);
    free(a->vals);
    free(a->val_opt);
    free(a->pos);
    memset(a, 0, sizeof(*a));
    a->dashdash = -1;
}

static long find_long(const struct cli_args *a, const char *name, size_t len)
{
    for (size_t i = 0; i < a->nopts; i++) {
        const struct cli_opt *o = &a->opts[i];
        const char *names[] = { o->name, o->alias, o->alias2 };
        for (size_t k = 0; k < 3; k++)
            if (names[k] && strlen(names[k]) == len && strncmp(names[k], name, len) == 0)
                return (long)i;
    }
    return -1;
}

static long find_short(const struct cli_args *a, char c)
{
    for (size_t i = 0; i < a->nopts; i++)
        if (a->opts[i].short_name && a->opts[i].short_name == c)
            return (long)i;
    return -1;
}

static void record(struct cli_args *a, size_t i, const char *v)
{
    a->count[i]++;
    if (v) {
        a->last[i] = v;
        a->vals[a->nvals] = v;
        a->val_opt[a->nvals++] = i;
    }
}

/* Records value-taking option i. Its value is v (after '=' or the short letter) or, when v is
 * NULL, the next argument argv[*k + 1]; flag names the option as typed ("--name", "-c"). */
static int take_value(struct cli_args *a, size_t i, const char *v, char **argv, size_t n,
                      size_t *k, const char *flag, char *err, size_t errlen)
{
    const struct cli_opt *o = &a->opts[i];
    if (!v) {
        if (*k + 1 >= n) {
            snprintf(err, errlen, "flag '%s' needs a value", flag);
            return -EINVAL;
        }
        v = argv[++*k];
    }
    if (o->kind == CLI_OPT_VALUE && a->count[i] > 0 && a->last[i] && strcmp(a->last[i], v) != 0) {
        snprintf(err, errlen, "flag '--%s' given twice", o->name);
        return -EINVAL;
    }
    record(a, i, v);
    return 0;
}

/* Copies an argument into a message, cut short and with control characters replaced. */
static const char *shown(const char *s, char *tmp, size_t n)
{
    size_t o = 0;
    for (; s[o] && o + 1 < n; o++)
        tmp[o] = ((unsigned char)s[o] < 0x20 || s[o] == 0x7f) ? '?' : s[o];
    tmp[o] = '\0';
    if (s[o] && n > 4)
        memcpy(tmp + n - 4, "...", 4);
    return tmp;
}

int cli_args_parse(struct cli_args *a, const struct cli_opt *opts, int argc, char **argv,
                   char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    a->dashdash = -1;
    a->opts = opts;
    while (opts && opts[a->nopts].name)
        a->nopts++;
    size_t n = argc > 0 ? (size_t)argc : 0;
    a->count = calloc(a->nopts + 1, sizeof(*a->count));
    a->last = calloc(a->nopts + 1, sizeof(*a->last));
    a->vals = calloc(n + 1, sizeof(*a->vals));
    a->val_opt = calloc(n + 1, sizeof(*a->val_opt));
    a->pos = calloc(n + 1, sizeof(*a->pos));
    if (!a->count || !a->last || !a->vals || !a->val_opt || !a->pos) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    char tmp[80];
    for (size_t k = 0; k < n; k++) {
        char *arg = argv[k];
        if (a->dashdash >= 0 || arg[0] != '-' || arg[1] == '\0') {
            a->pos[a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            a->dashdash = a->npos;
            continue;
        }
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            long i = find_long(a, name, len);
            if (i < 0) {
                snprintf(err, errlen, "unknown flag '--%.*s'", (int)(len > 60 ? 60 : len),
                         shown(name, tmp, sizeof(tmp)));
                return -EINVAL;
            }
            const struct cli_opt *o = &a->opts[i];
            if (o->kind == CLI_OPT_BOOL) {
                if (eq) {
                    snprintf(err, errlen, "flag '--%s' takes no value", o->name);
                    return -EINVAL;
                }
                record(a, (size_t)i, NULL);
                continue;
            }
            char flag[80];
            snprintf(flag, sizeof(flag), "--%s", o->name);
            int r = take_value(a, (size_t)i, eq ? eq + 1 : NULL, argv, n, &k, flag, err, errlen);
            if (r < 0)
                return r;
            continue;
        }
        /* short flags: -a, -abc (booleans), -o VALUE, -oVALUE */
        for (const char *p = arg + 1; *p; p++) {
            long i = find_short(a, *p);
            if (i < 0) {
                char c[2] = { *p, 0 };
                snprintf(err, errlen, "unknown flag '-%s'", shown(c, tmp, sizeof(tmp)));
                return -EINVAL;
            }
            const struct cli_opt *o = &a->opts[i];
            if (o->kind == CLI_OPT_BOOL) {
                record(a, (size_t)i, NULL);
                continue;
            }
            char flag[3] = { '-', *p, '\0' };
            int r = take_value(a, (size_t)i, p[1] ? p + 1 : NULL, argv, n, &k, flag, err, errlen);
            if (r < 0)
                return r;
            break;
        }
    }
    return 0;
}

static long index_of(const struct cli_args *a, const char *name)
{
    for (size_t i = 0; i < a->nopts; i++)
        if (strcmp(a->opts[i].name, name) == 0)
            return (long)i;
    return -1;
}

bool cli_flag(const struct cli_args *a, const char *name)
{
    return cli_flag_count(a, name) > 0;
}

unsigned cli_flag_count(const struct cli_args *a, const char *name)
{
    long i = index_of(a, name);
    return i < 0 ? 0 : a->count[i];
}

const char *cli_value(const struct cli_args *a, const char *name)
{
    long i = index_of(a, name);
    return i < 0 ? NULL : a->last[i];
}

const char *cli_value_at(const struct cli_args *a, const char *name, size_t want)
{
    long i = index_of(a, name);
    if (i < 0)
        return NULL;
    size_t seen = 0;
    for (size_t k = 0; k < a->nvals; k++)
        if (a->val_opt[k] == (size_t)i && seen++ == want)
            return a->vals[k];
    return NULL;
}
