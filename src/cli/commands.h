/* SPDX-License-Identifier: MIT */
/* commands.h: the command table (commands.c) and every command handler. A handler receives the
 * positional arguments (flags already parsed into cli->args, counts already checked) and returns
 * the process exit code. To add a command: write cmd_<name>() in a cmd_*.c file with its option
 * table on top, declare both here and add one row to the table. */
#pragma once

#include <stdio.h>

#include "cli/args.h"
#include "cli/cli.h"

enum cli_cmd_flags {
    CLI_CMD_CLIENT = 1u << 0,       /* needs a libhearth client (the API URL) */
};

typedef int (*cli_handler_fn)(struct cli *cli, int argc, char **argv);

struct cli_command {
    const char *name;               /* NULL ends a table */
    const char *aliases[3];         /* other names, NULL-padded */
    const struct cli_command *sub;  /* a group's subcommands, or NULL */
    const struct cli_opt *opts;     /* flags (NULL = none) */
    int min_args, max_args;         /* positional arguments; max -1 = no limit */
    unsigned flags;                 /* enum cli_cmd_flags */
    cli_handler_fn handler;
    const char *args_usage;         /* "<sb> <size>" */
    const char *summary;
};

extern const struct cli_command cli_commands[];

/* Dispatches argv (argv[0] = the command name; global flags already removed). Returns the exit
 * code. */
int cli_dispatch(struct cli *cli, int argc, char **argv);
/* Finds a command by name or alias in a table. */
const struct cli_command *cli_command_find(const struct cli_command *table, const char *name);
/* Top-level help on f. */
void cli_print_help(FILE *f);
/* The global flags (parsed by main.c), described like a command's. */
extern const struct cli_opt cli_global_opts[];
/* "-o, --output table|json" for one option row. */
void cli_opt_names(const struct cli_opt *o, char *out, size_t len);
/* "<title>:" then one line per option with its help. */
void cli_print_opts(FILE *f, const char *title, const struct cli_opt *opts);
/* The hearth(1) man page in roff, from the command table and its option tables (manpage.c). */
void cli_print_man(FILE *f);

/* Opens cli->client from the resolved settings. Returns 0 or an exit code. */
int cli_client_open(struct cli *cli);

/* ---- option tables and handlers ---- */

/* Flags that mean the same in every command that has them. */
#define CLI_FLAG_QUIET { "quiet", 'q', CLI_OPT_BOOL, NULL, NULL, NULL, "no progress; print only ids" }
#define CLI_FLAGS_PAGE                                                                           \
    CLI_VALUE("limit", "<n>", "items per page, 1 to 500 (default 50)"),                        \
        CLI_VALUE("offset", "<n>", "items to skip (default 0)")
#define CLI_FLAGS_WAIT                                                                           \
    CLI_BOOL("no-wait", "return once the server accepted the request"),                        \
        CLI_VALUE("timeout", "<duration>", "how long to wait (default 5m; exit 6 when over)")

/* The commands with flags of their own have a table cmd_<name>_opts in their file (pause's
 * serves resume too, files' push and pull). */
#define CLI_OPT_TABLES(X)                                                                        \
    X(hosts) X(sandbox_create) X(sandbox_list) X(sandbox_pause) X(sandbox_fork)                \
    X(sandbox_wait) X(sandbox_edit) X(sandbox_exec) X(sandbox_files) X(network_ls)            \
    X(sandbox_logs) X(disk_create) X(disk_rotate) X(disk_ls) X(disk_attach) X(disk_detach)   \
    X(process_run) X(process_start) X(process_shell) X(process_attach) X(process_input)        \
    X(process_resize) X(process_wait) X(process_stop)                                          \
    X(template_submit) X(template_show) X(template_logs)
#define CLI_DECLARE_OPTS(name) extern const struct cli_opt cmd_##name##_opts[];
CLI_OPT_TABLES(CLI_DECLARE_OPTS)
#undef CLI_DECLARE_OPTS

/* Every handler has the type cli_handler_fn; the X list names them, grouped by file. */
#define CLI_HANDLERS(X)                                                                          \
    X(whoami) X(hosts) X(status) X(version) X(completion)                                      \
    X(config_set) X(config_get) X(config_unset) X(config_show) X(config_path)                  \
    X(sandbox_create) X(sandbox_list) X(sandbox_get) X(sandbox_rm)                             \
    X(sandbox_pause) X(sandbox_resume) X(sandbox_fork) X(sandbox_wait)                         \
    X(sandbox_edit) X(sandbox_resize) X(sandbox_ssh_key_add)                                   \
    X(sandbox_exec) X(sandbox_push) X(sandbox_pull)                                            \
    X(firewall_show) X(firewall_set) X(firewall_add) X(firewall_remove) X(firewall_clear)      \
    X(bandwidth_show) X(bandwidth_add)                                                         \
    X(network_create) X(network_ls) X(network_show) X(network_rm) X(network_attach)            \
    X(network_detach)                                                                          \
    X(disk_create) X(disk_ls) X(disk_show) X(disk_rm) X(disk_rotate) X(disk_attach)            \
    X(disk_detach) X(disk_mounts)                                                              \
    X(template_submit) X(template_ls) X(template_show) X(template_logs) X(template_rm)        \
    X(sandbox_logs) X(sandbox_events)                                                          \
    X(process_run) X(process_start) X(process_shell) X(process_attach) X(process_ls)           \
    X(process_get) X(process_input) X(process_close_stdin) X(process_resize)                   \
    X(process_signal) X(process_wait) X(process_stop)                                          \
    X(token_create) X(token_show) X(token_rotate) X(token_revoke)                              \
    X(sandbox_url) X(ingress_on) X(ingress_off)
#define CLI_DECLARE_HANDLER(name) int cmd_##name(struct cli *cli, int argc, char **argv);
CLI_HANDLERS(CLI_DECLARE_HANDLER)
#undef CLI_DECLARE_HANDLER
/* shell and tunnel (cmd_sandbox_shell.c, cmd_sandbox_tunnel.c) */
extern const struct cli_opt cmd_sandbox_tunnel_opts[];
extern const struct cli_opt cmd_sandbox_shell_opts[];
/* ssh through the gateway (cmd_sandbox_ssh.c) */
extern const struct cli_opt cmd_sandbox_ssh_opts[];
int cmd_sandbox_ssh(struct cli *cli, int argc, char **argv);
int cmd_sandbox_shell(struct cli *cli, int argc, char **argv);
int cmd_sandbox_tunnel(struct cli *cli, int argc, char **argv);
