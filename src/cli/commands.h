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

/* Opens cli->client from the resolved settings. Returns 0 or an exit code. */
int cli_client_open(struct cli *cli);

/* ---- handlers and their option tables ---- */
int cmd_whoami(struct cli *cli, int argc, char **argv);
int cmd_hosts(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_hosts_opts[];
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_completion(struct cli *cli, int argc, char **argv);

int cmd_config_set(struct cli *cli, int argc, char **argv);
int cmd_config_get(struct cli *cli, int argc, char **argv);
int cmd_config_unset(struct cli *cli, int argc, char **argv);
int cmd_config_show(struct cli *cli, int argc, char **argv);
int cmd_config_path(struct cli *cli, int argc, char **argv);

int cmd_sandbox_create(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_sandbox_create_opts[];
int cmd_sandbox_list(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_sandbox_list_opts[];
int cmd_sandbox_get(struct cli *cli, int argc, char **argv);
int cmd_sandbox_rm(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_sandbox_rm_opts[];

int cmd_sandbox_pause(struct cli *cli, int argc, char **argv);
int cmd_sandbox_resume(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_sandbox_pause_opts[];
int cmd_sandbox_fork(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_sandbox_fork_opts[];
int cmd_sandbox_wait(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_sandbox_wait_opts[];

int cmd_sandbox_edit(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_sandbox_edit_opts[];
int cmd_sandbox_resize(struct cli *cli, int argc, char **argv);
int cmd_sandbox_ssh_key_add(struct cli *cli, int argc, char **argv);

int cmd_sandbox_exec(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_sandbox_exec_opts[];

int cmd_sandbox_push(struct cli *cli, int argc, char **argv);
int cmd_sandbox_pull(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_sandbox_files_opts[];

int cmd_firewall_show(struct cli *cli, int argc, char **argv);
int cmd_firewall_set(struct cli *cli, int argc, char **argv);
int cmd_firewall_add(struct cli *cli, int argc, char **argv);
int cmd_firewall_remove(struct cli *cli, int argc, char **argv);
int cmd_firewall_clear(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_firewall_clear_opts[];
int cmd_bandwidth_show(struct cli *cli, int argc, char **argv);
int cmd_bandwidth_add(struct cli *cli, int argc, char **argv);

int cmd_network_create(struct cli *cli, int argc, char **argv);
int cmd_network_ls(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_network_ls_opts[];
int cmd_network_show(struct cli *cli, int argc, char **argv);
int cmd_network_rm(struct cli *cli, int argc, char **argv);
int cmd_network_attach(struct cli *cli, int argc, char **argv);
int cmd_network_detach(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_network_confirm_opts[];
