/* SPDX-License-Identifier: MIT */
/* cmd.h: the hearthd subcommands main.c dispatches to. Each takes the arguments after its
 * own name, prints its own diagnostics and returns the process exit status. */
#pragma once

#include <stdio.h>

#define EXIT_USAGE 2     /* bad command line or configuration */
#define EXIT_HEARTHD 125 /* hearthd itself failed (like `docker run`), not the command */

/* `hearthd vm run [OPTIONS] -- CMD [ARGS...]` (cmd_vm.c). */
int cmd_vm_run(int argc, char **argv);
/* `hearthd serve [--config FILE] [--data-dir DIR] [--listen HOST:PORT] [--images DIR]`
 * (cmd_serve.c). */
int cmd_serve(int argc, char **argv);
/* `hearthd keys create|list|revoke …` (cmd_keys.c). */
int cmd_keys(int argc, char **argv);
/* `hearthd net down [--config FILE] [--data-dir DIR]` (cmd_net.c). */
int cmd_net(int argc, char **argv);
/* `hearthd disk-key rotate [--config FILE] [--data-dir DIR]` (cmd_disk.c). */
int cmd_disk_key(int argc, char **argv);

/* The help of hearthd and of each command, from one table (cmd_help.c): command NULL or
 * unknown prints the overview. cmd_help_man() prints the hearthd(8) page in roff. */
void cmd_help_print(FILE *f, const char *command);
void cmd_help_man(FILE *f);
/* "hearthd <version> (revision <git describe>)" */
void cmd_version_print(FILE *f);

struct hd_config;
struct store;

/* Shared by serve and keys (cmd_serve.c): defaults, then the config file (config_path NULL = the
 * default path, which may be missing), then the flags given (NULL = not given). Prints its own
 * error and returns -EINVAL. */
int cmd_config_load(struct hd_config *cfg, const char *config_path, const char *data_dir,
                    const char *listen, const char *images);
/* Opens the configured store (`store`, <data_dir>/hearth.db when unset), creating data_dir
 * (0700) when missing. Prints errors (never a password). */
int cmd_store_open(const struct hd_config *cfg, struct store **ret);
