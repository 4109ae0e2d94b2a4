/* SPDX-License-Identifier: MIT */
/* cli.h: the context every command receives, the exit codes of docs/cli.md §5 and the helpers that
 * commands share (errors, usage errors, sandbox references). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/args.h"
#include "cli/cli_config.h"
#include "hearth/hearth.h"

#define CLI_VERSION "0.1.0"

enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_AUTH = 3,
    CLI_EXIT_NOT_FOUND = 4,
    CLI_EXIT_REJECTED = 5,
    CLI_EXIT_TIMEOUT = 6,
    CLI_EXIT_UNREACHABLE = 7,
    CLI_EXIT_INTERRUPTED = 130,
    /* exec: the CLI or API failed before the command started, and a lost stream */
    CLI_EXIT_EXEC_FAILED = 125,
    CLI_EXIT_EXEC_NOT_STARTED = 127,
    CLI_EXIT_EXEC_LOST = 255,
};

struct cli_command;

struct cli {
    char config_path[4096];         /* "" when no place for it is known */
    struct cli_config cfg;          /* the file's values */
    struct cli_global_flags gflags; /* global flags from the command line */
    struct cli_settings settings;   /* resolved (§2.3) */
    bool debug;
    bool stdout_tty, stderr_tty;
    hearth_client *client;          /* created by the dispatcher for commands that need it */
    struct cli_args args;           /* the running command's flags and arguments */
    const struct cli_command *cmd;  /* the running command */
    char cmd_name[64];              /* "sb get", for messages */
};

/* Maps a libhearth error to the exit code of docs/cli.md §5. */
int cli_exit_for(int hearth_err);

/* Prints a failed call on stderr (human or JSON form per --json) and returns its exit code. */
int cli_fail(struct cli *cli, const struct hearth_error *e);

/* Prints "hearth: <cmd>: <message>" and a hint on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "error: <message>" on stderr (JSON form with --json); returns code. */
int cli_error(struct cli *cli, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* docs/cli.md §6.3: with --yes (-y, --force) in the running command's flags, proceeds; on a
 * terminal asks "<what>. Proceed? [y/N]"; otherwise refuses. Returns 0 to go on, else CLI_EXIT_USAGE
 * after printing why. The command's option table must have "yes". */
int cli_confirm(struct cli *cli, const char *what);
/* --yes (-y, --force) alone: the option table of a command that asks cli_confirm(). */
extern const struct cli_opt cli_confirm_opts[];

/* Writes s as a JSON string literal (quotes included) on f. */
void cli_json_str(FILE *f, const char *s);

/* The answer of a batch command (rm of several refs) in JSON: item i opens with
 * `{"ref":<ref>` (after a comma unless first) and `,"id":<id>` when id is known; a failed one
 * adds `,"error":<message>`. The command adds its own fields and the closing brace. */
void cli_json_batch_item(int i, const char *ref, const char *id);
void cli_json_batch_error(const struct hearth_error *e);

/* `rm <ref>…` of a resource that must be detached before it is deleted (network, disk): asks
 * cli_confirm(what), then for each ref calls remove(cli, ref, &obj, &detached, &e) (0 or an exit
 * code with e set; obj, freed here, gives the id) and prints "<id> deleted (N <detached_noun>s
 * detached)", the error prefixed with "<noun> '<ref>'", or in JSON one array of batch items with
 * "detached" and "status". Returns the one ref's exit code, or 1 when any of several failed. */
typedef int (*cli_remove_fn)(struct cli *cli, const char *ref, hearth_obj **ret_obj,
                             size_t *ret_detached, struct hearth_error *e);
int cli_rm_batch(struct cli *cli, int argc, char **argv, const char *what, const char *noun,
                 const char *detached_noun, cli_remove_fn remove);

/* The --json and -q forms of a list: the items as one JSON array, or the string field
 * quiet_field of each item one per line (with -q). Returns true when it printed (the caller
 * prints its table otherwise). */
bool cli_list_short(struct cli *cli, const hearth_list *l, const char *quiet_field);

/* Reads the running command's --limit (1 to 500, default 50) and --offset (default 0) flags
 * into a page without a status filter. Returns 0, or CLI_EXIT_USAGE after printing why. */
int cli_page_flags(struct cli *cli, struct hearth_page *ret);

/* Resolves a sandbox reference (id or name, docs/cli.md §6.1) into a new object (its SandboxView).
 * On failure prints the error and returns the exit code (4 when nothing matches). */
int cli_sandbox_resolve(struct cli *cli, const char *ref, hearth_obj **ret);

/* Reads an SSH public key for --ssh-key / --add-ssh-key: a .pub file, or <path>.pub given a
 * private key. Returns a malloc'd single line, or NULL after printing why. */
char *cli_read_pubkey(struct cli *cli, const char *path);

/* Adds the running command's --ssh-key flags (files read, comma-separated values split) to
 * body.ssh_pubkeys, and its --egress flags to body.egress. Return 0 or an exit code (after
 * printing why). */
int cli_ssh_key_flags(struct cli *cli, hearth_body *b);
int cli_egress_flags(struct cli *cli, hearth_body *b);
/* Adds the running command's --disk <ref>:<mount-path>[:<sub-path>] flags to body.disks (create
 * and fork). Returns 0 or an exit code (after printing why). */
int cli_disk_flags(struct cli *cli, hearth_body *b);

/* Adds the --env KEY=VALUE / --env KEY flags of the running command to body[field]. Returns 0
 * or an exit code (after printing why). */
int cli_env_flags(struct cli *cli, hearth_body *b, const char *field);
