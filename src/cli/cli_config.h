/* SPDX-License-Identifier: MIT */
/* cli_config.h: the CLI config file (docs/cli.md §2.1) and the precedence of settings (§2.3).
 * The parser and the precedence rule are pure; the file functions do the I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CLI_DEFAULT_API_URL "http://127.0.0.1:8080"
#define CLI_DEFAULT_SHAPE "s-1vcpu-1gb"
#define CLI_CONFIG_MAX (1u << 20)       /* a larger config file is refused */
#define CLI_CONFIG_LINE_MAX 4096

enum cli_config_key {
    CLI_CFG_API_URL,
    CLI_CFG_API_KEY,
    CLI_CFG_OUTPUT,
    CLI_CFG_SHAPE,
    CLI_CFG_ROOTFS,
    CLI_CFG_SSH_GATEWAY, /* `hearth sb ssh`'s gateway, host[:port] */
    CLI_CFG_NKEYS,
};

struct cli_config {
    char *values[CLI_CFG_NKEYS];        /* owned; NULL when the file does not set the key */
};

/* Key names in table order, and lookup by name (-1 when unknown). */
const char *cli_config_key_name(enum cli_config_key k);
int cli_config_key_from_name(const char *name);

/* Called for each line the parser skips: line number (from 1) and why. */
typedef void (*cli_config_warn_fn)(void *ud, unsigned line, const char *why);

/* Parses config text: "key = value" lines, '#' comments, values optionally double-quoted (with
 * \" and \\ escapes). Bad lines (no '=', unknown key, control bytes, NUL, overlong, junk after a
 * quoted value) are skipped with a warning; a later line for the same key wins. Returns 0 or
 * -ENOMEM. cfg must be zeroed or released before. */
int cli_config_parse(const char *text, size_t len, struct cli_config *cfg,
                     cli_config_warn_fn warn, void *ud);
void cli_config_release(struct cli_config *cfg);

/* The config path: $HEARTH_CONFIG, else $XDG_CONFIG_HOME/hearth/config, else
 * $HOME/.config/hearth/config. getenv_fn lets tests supply the environment. Returns 0, or
 * -ENOENT when no variable gives a place, -ENAMETOOLONG. */
typedef const char *(*cli_getenv_fn)(const char *name);
int cli_config_path(cli_getenv_fn getenv_fn, char *out, size_t n);

/* Loads the file at path into cfg (a missing file is an empty config). Warns (through warn,
 * line 0) when the file is readable by group or others. Returns 0 or -errno. */
int cli_config_load(const char *path, struct cli_config *cfg, cli_config_warn_fn warn, void *ud);

/* Sets (value != NULL) or removes (value == NULL) key in the file at path, keeping every other
 * line as it is. Creates the file (mode 0600) and its directory (0700) when missing; the file
 * is replaced atomically and always left 0600. Returns 0 or -errno. */
int cli_config_write_key(const char *path, enum cli_config_key key, const char *value);

/* How a value should be written in the file: quoted when it needs it. Caller frees. */
char *cli_config_quote(const char *value);

/* ---- precedence ---- */

/* Values from the command line (NULL = not given). */
struct cli_global_flags {
    const char *api_url;
    const char *api_key;
    const char *output;         /* -o / --output */
    bool json;                  /* --json */
};

enum cli_source { CLI_SRC_DEFAULT, CLI_SRC_CONFIG, CLI_SRC_CREATEOS_ENV, CLI_SRC_ENV,
                  CLI_SRC_FLAG };

struct cli_settings {
    const char *api_url;        /* borrowed from flags, environment, cfg or a constant */
    const char *api_key;        /* NULL when no source gives one */
    bool json;
    enum cli_source api_url_src, api_key_src, output_src;
};

/* Resolves each setting from the first non-empty source: flag, HEARTH_* variable,
 * CREATEOS_SANDBOX_* variable, config file, default. Returns 0, or -EINVAL with a one-line
 * message in err naming the bad value and its source (an output that is not table/json, a URL
 * that is not http(s) or carries a query or fragment). */
int cli_settings_resolve(const struct cli_global_flags *flags, cli_getenv_fn getenv_fn,
                         const struct cli_config *cfg, struct cli_settings *out, char *err,
                         size_t errlen);
const char *cli_source_name(enum cli_source s);
