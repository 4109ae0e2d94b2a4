/* SPDX-License-Identifier: MIT */
/* args.h: the CLI's argv parser. Flags may come before or after positional arguments; "--" ends
 * flag parsing. Pure (no I/O), unit-tested and fuzzed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum cli_opt_kind {
    CLI_OPT_BOOL,           /* --flag */
    CLI_OPT_VALUE,          /* --flag VALUE or --flag=VALUE; the last one wins */
    CLI_OPT_LIST,           /* repeatable --flag VALUE; every value kept in order */
};

struct cli_opt {
    const char *name;       /* long name without "--"; NULL ends a table */
    char short_name;        /* 0 when none */
    enum cli_opt_kind kind;
    const char *alias;      /* another long name, or NULL */
    const char *alias2;     /* a third long name, or NULL */
    const char *value;      /* what the value is, for help ("<duration>"); NULL for a bool */
    const char *help;       /* one line for --help and hearth(1) (every flag has one) */
};

/* Table rows for the common case: a long name only. */
#define CLI_BOOL(name, help) { (name), 0, CLI_OPT_BOOL, NULL, NULL, NULL, (help) }
#define CLI_VALUE(name, value, help) { (name), 0, CLI_OPT_VALUE, NULL, NULL, (value), (help) }
#define CLI_LIST(name, value, help) { (name), 0, CLI_OPT_LIST, NULL, NULL, (value), (help) }
#define CLI_OPT_END { NULL }

struct cli_args {
    const struct cli_opt *opts;
    size_t nopts;
    unsigned *count;        /* per option: times given */
    const char **last;      /* per option: last value */
    const char **vals;      /* every value in order… */
    size_t *val_opt;        /* …with its option index */
    size_t nvals;
    char **pos;             /* positional arguments (borrowed from argv) */
    int npos;
    int dashdash;           /* index in pos of the first argument after "--", or -1 */
};

/* Parses argv[0..argc) against opts (NULL-name terminated; may be NULL). On a usage error
 * returns -EINVAL with one line naming the problem in err; -ENOMEM when out of memory. The
 * result borrows argv; release it with cli_args_release() in every case. */
int cli_args_parse(struct cli_args *a, const struct cli_opt *opts, int argc, char **argv,
                   char *err, size_t errlen);
void cli_args_release(struct cli_args *a);

/* Lookups by long name (an unknown name is a programming error and reads as absent). */
bool cli_flag(const struct cli_args *a, const char *name);
unsigned cli_flag_count(const struct cli_args *a, const char *name);
const char *cli_value(const struct cli_args *a, const char *name);
/* The i-th value of a list option, NULL past the end. */
const char *cli_value_at(const struct cli_args *a, const char *name, size_t i);
