/* SPDX-License-Identifier: MIT */
/* commands.c: the one command table, help text, and the dispatcher: it finds the command, parses
 * its flags, checks the number of arguments, opens the client when needed and calls the
 * handler. */
#include "cli/commands.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_command sandbox_ssh_key_cmds[] = {
    { "add", { NULL }, NULL, NULL, 2, -1, CLI_CMD_CLIENT, cmd_sandbox_ssh_key_add,
      "<sb> <pubkey-file>...", "Add SSH public keys (hearth addition; same as edit --add-ssh-key)" },
    { NULL },
};

static const struct cli_command sandbox_firewall_cmds[] = {
    { "show", { NULL }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_firewall_show, "<sb>",
      "Print the egress rules" },
    { "set", { NULL }, NULL, NULL, 2, -1, CLI_CMD_CLIENT, cmd_firewall_set, "<sb> <rule>...",
      "Replace the rules; everything not listed is blocked" },
    { "add", { NULL }, NULL, NULL, 2, -1, CLI_CMD_CLIENT, cmd_firewall_add, "<sb> <rule>...",
      "Append rules (hearth addition)" },
    { "remove", { NULL }, NULL, NULL, 2, -1, CLI_CMD_CLIENT, cmd_firewall_remove,
      "<sb> <rule>...", "Drop rules; dropping the last allows all traffic (hearth addition)" },
    { "clear", { NULL }, NULL, cli_confirm_opts, 1, 1, CLI_CMD_CLIENT, cmd_firewall_clear,
      "<sb> [--yes]", "Allow all outbound traffic" },
    { NULL },
};

static const struct cli_command sandbox_bandwidth_cmds[] = {
    { "show", { NULL }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_bandwidth_show, "<sb>",
      "Quota, used, remaining and ingress bytes" },
    { "add", { "recharge", "topup" }, NULL, NULL, 1, 2, CLI_CMD_CLIENT, cmd_bandwidth_add,
      "<sb> [<size>]", "Add to the egress quota (default 5GiB)" },
    { NULL },
};

static const struct cli_command sandbox_network_cmds[] = {
    { "create", { NULL }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_network_create, "<name>",
      "Create a private network" },
    { "ls", { "list" }, NULL, cmd_network_ls_opts, 0, 0, CLI_CMD_CLIENT, cmd_network_ls,
      "[--limit <n>] [--offset <n>] [-q]", "List networks" },
    { "show", { NULL }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_network_show, "<ref>",
      "Show a network and its members" },
    { "rm", { "delete" }, NULL, cli_confirm_opts, 1, -1, CLI_CMD_CLIENT, cmd_network_rm,
      "<ref>... [--yes]", "Detach every member, then delete networks" },
    { "attach", { NULL }, NULL, NULL, 2, 2, CLI_CMD_CLIENT, cmd_network_attach, "<sb> <net>",
      "Add a sandbox to a network" },
    { "detach", { NULL }, NULL, cli_confirm_opts, 2, 2, CLI_CMD_CLIENT,
      cmd_network_detach, "<sb> <net> [--yes]", "Remove a sandbox from a network" },
    { NULL },
};

/* templates built from a Dockerfile (docs/cli.md "template") */
static const struct cli_command template_cmds[] = {
    { "build", { "submit", "create" }, NULL, cmd_template_submit_opts, 1, 2, CLI_CMD_CLIENT,
      cmd_template_submit,
      "<name> [<context-dir>] [-f <Dockerfile|->] [--base <rootfs>] [--no-cache] "
      "[--start-cmd <cmd>] [--ready-port <n>|--ready-file <path>|--ready-cmd <cmd>|"
      "--ready-delay <ms>] [--ready-timeout <s>] [--no-follow]",
      "Build a template from a Dockerfile and follow its build (exit 1 when it fails)" },
    /* paging and -q, the same flags as network ls */
    { "ls", { "list" }, NULL, cmd_network_ls_opts, 0, 0, CLI_CMD_CLIENT, cmd_template_ls, "",
      "List templates" },
    { "show", { "get" }, NULL, cmd_template_show_opts, 1, 1, CLI_CMD_CLIENT, cmd_template_show,
      "<ref> [--dockerfile]", "Show a template (or its Dockerfile)" },
    { "logs", { NULL }, NULL, cmd_template_logs_opts, 1, 1, CLI_CMD_CLIENT, cmd_template_logs,
      "<ref> [-f] [--attempt <n>]", "Print a template's build log (-f: until the build ends)" },
    { "rm", { "delete" }, NULL, cli_confirm_opts, 1, -1, CLI_CMD_CLIENT, cmd_template_rm,
      "<ref>... [--yes]", "Delete templates (a build in progress is cancelled)" },
    { NULL },
};

/* S3 disks and their mounts (docs/cli.md §7.4) */
static const struct cli_command sandbox_disk_cmds[] = {
    { "create", { NULL }, NULL, cmd_disk_create_opts, 1, 1, CLI_CMD_CLIENT, cmd_disk_create,
      "<name> --bucket <b> --endpoint <url> --access-key <k> [--secret-key -|--secret-key-file "
      "<path>] [--region <r>] [--path-style]",
      "Register an S3 bucket as a disk (the server checks it first)" },
    { "ls", { "list" }, NULL, cmd_disk_ls_opts, 0, 1, CLI_CMD_CLIENT, cmd_disk_ls,
      "[<sb> | --sandbox <sb>] [--limit <n>] [--offset <n>] [-q]",
      "List disks, or one sandbox's mounts (<sb> or --sandbox)" },
    { "show", { "get" }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_disk_show, "<ref>",
      "Show a disk (never its credentials)" },
    { "rm", { "delete" }, NULL, cli_confirm_opts, 1, -1, CLI_CMD_CLIENT, cmd_disk_rm,
      "<ref>... [--yes]", "Detach disks from every sandbox, then delete them (not the bucket)" },
    { "attach", { "mount" }, NULL, cmd_disk_attach_opts, 3, 3, CLI_CMD_CLIENT, cmd_disk_attach,
      "<sb> <disk> <mount-path> [--sub-path <prefix>] [--no-wait] [--timeout <duration>]",
      "Mount a disk in a running sandbox and wait until it is mounted" },
    { "detach", { "unmount" }, NULL, cmd_disk_detach_opts, 3, 3, CLI_CMD_CLIENT,
      cmd_disk_detach, "<sb> <disk> <mount-path> [--yes] [--no-wait] [--timeout <duration>]",
      "Unmount a disk from a sandbox and wait until it is gone" },
    { "rotate-keys", { "rotate" }, NULL, cmd_disk_rotate_opts, 1, 1, CLI_CMD_CLIENT,
      cmd_disk_rotate, "<ref> --access-key <k> [--secret-key -|--secret-key-file <path>]",
      "Replace a disk's S3 credentials (hearth addition)" },
    { NULL },
};

/* a sandbox's delegated access token (docs/cli.md "Access tokens") */
static const struct cli_command sandbox_token_cmds[] = {
    { "create", { NULL }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_token_create, "<sb>",
      "Issue the sandbox's access token and print it once" },
    { "show", { NULL }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_token_show, "<sb>",
      "Whether it has a token, its hint and times (never the token)" },
    { "rotate", { NULL }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_token_rotate, "<sb>",
      "Replace the token (the old one stops working at once) and print the new one once" },
    { "revoke", { "rm", "delete" }, NULL, cli_confirm_opts, 1, 1, CLI_CMD_CLIENT,
      cmd_token_revoke, "<sb> [--yes]", "Revoke the token at once" },
    { NULL },
};

static const struct cli_command sandbox_ingress_cmds[] = {
    { "on", { NULL }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_ingress_on, "<sb>",
      "Publish the sandbox's ports under the ingress domain; prints the URL template" },
    { "off", { NULL }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_ingress_off, "<sb>",
      "Stop publishing its ports" },
    { NULL },
};

/* managed processes (docs/cli.md "Managed processes") */
static const struct cli_command sandbox_process_cmds[] = {
    { "run", { NULL }, NULL, cmd_process_run_opts, 1, -1, CLI_CMD_CLIENT, cmd_process_run,
      "<sb> [flags] -- <cmd> [args...]",
      "Start a process, stream its output, wait and exit with its code" },
    { "start", { NULL }, NULL, cmd_process_start_opts, 1, -1, CLI_CMD_CLIENT, cmd_process_start,
      "<sb> [flags] -- <cmd> [args...]", "Start a process and print its id" },
    { "shell", { NULL }, NULL, cmd_process_shell_opts, 1, 1, CLI_CMD_CLIENT, cmd_process_shell,
      "<sb> [--cmd <program>] [--no-attach]",
      "Start a persistent shell on a pseudo-terminal and attach (Ctrl-] detaches)" },
    { "attach", { "connect" }, NULL, cmd_process_attach_opts, 1, 2, CLI_CMD_CLIENT,
      cmd_process_attach, "<sb> [<pid>]",
      "Follow a process's output (the newest live one without <pid>)" },
    { "ls", { "list", "ps" }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_process_ls, "<sb>",
      "List a sandbox's processes, newest first" },
    { "get", { NULL }, NULL, NULL, 2, 2, CLI_CMD_CLIENT, cmd_process_get, "<sb> <pid>",
      "Show one process" },
    { "input", { NULL }, NULL, cmd_process_input_opts, 2, 2, CLI_CMD_CLIENT, cmd_process_input,
      "<sb> <pid> --text <s>|--file <path|->|--base64 <b64>", "Write to a process's stdin" },
    { "close-stdin", { NULL }, NULL, NULL, 2, 2, CLI_CMD_CLIENT, cmd_process_close_stdin,
      "<sb> <pid>", "Close a pipe process's stdin" },
    { "resize", { NULL }, NULL, cmd_process_resize_opts, 2, 2, CLI_CMD_CLIENT,
      cmd_process_resize, "<sb> <pid> --rows <n> --cols <n>", "Resize a process's terminal" },
    { "signal", { NULL }, NULL, NULL, 3, 3, CLI_CMD_CLIENT, cmd_process_signal,
      "<sb> <pid> <SIG>", "Signal a process (TERM or SIGTERM, INT, KILL, ...)" },
    { "wait", { NULL }, NULL, cmd_process_wait_opts, 2, 2, CLI_CMD_CLIENT, cmd_process_wait,
      "<sb> <pid> [--all] [--timeout <duration>]",
      "Wait until a process exits and exit with its code" },
    { "stop", { "kill", "rm" }, NULL, cmd_process_stop_opts, 2, 2, CLI_CMD_CLIENT,
      cmd_process_stop, "<sb> <pid> [--grace <duration>] [--yes]",
      "Stop a process tree (SIGTERM, then SIGKILL) and remove its record" },
    { NULL },
};

static const struct cli_command sandbox_cmds[] = {
    { "create", { "c" }, NULL, cmd_sandbox_create_opts, 0, 0, CLI_CMD_CLIENT,
      cmd_sandbox_create, "[flags]", "Create a sandbox and wait until it runs" },
    { "list", { "ls" }, NULL, cmd_sandbox_list_opts, 0, 0, CLI_CMD_CLIENT, cmd_sandbox_list,
      "[flags]", "List sandboxes (non-terminal states unless --all or --status)" },
    { "get", { NULL }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_sandbox_get, "<sb>",
      "Show one sandbox" },
    { "rm", { "delete", "destroy" }, NULL, cli_confirm_opts, 1, -1, CLI_CMD_CLIENT,
      cmd_sandbox_rm, "<sb>...", "Destroy sandboxes" },
    { "edit", { NULL }, NULL, cmd_sandbox_edit_opts, 1, 1, CLI_CMD_CLIENT, cmd_sandbox_edit,
      "<sb> [--ingress on|off] [--auto-pause <duration>|off] [--add-ssh-key <path>]",
      "Change ingress, auto-pause or add SSH keys" },
    { "pause", { NULL }, NULL, cmd_sandbox_pause_opts, 1, 1, CLI_CMD_CLIENT, cmd_sandbox_pause,
      "<sb> [--no-wait] [--timeout <duration>]", "Pause (snapshot) a sandbox and wait until paused" },
    { "resume", { NULL }, NULL, cmd_sandbox_pause_opts, 1, 1, CLI_CMD_CLIENT,
      cmd_sandbox_resume, "<sb> [--no-wait] [--timeout <duration>]",
      "Resume a paused sandbox and wait until running" },
    { "fork", { NULL }, NULL, cmd_sandbox_fork_opts, 1, 1, CLI_CMD_CLIENT, cmd_sandbox_fork,
      "<sb> [--count <n>] [--paused] [--name <name>] [--ssh-key <path>] [--egress <rule>] "
      "[--disk <ref>:<mount>[:<sub>]]",
      "Copy a running or paused sandbox into new ones and wait until they run" },
    { "wait", { NULL }, NULL, cmd_sandbox_wait_opts, 1, 1, CLI_CMD_CLIENT, cmd_sandbox_wait,
      "<sb> [--for running|paused|destroyed] [--timeout <duration>]",
      "Wait until a sandbox reaches a state" },
    { "resize", { NULL }, NULL, NULL, 2, 2, CLI_CMD_CLIENT, cmd_sandbox_resize, "<sb> <size>",
      "Grow the root disk (size with a unit: 20GiB)" },
    { "exec", { NULL }, NULL, cmd_sandbox_exec_opts, 1, -1, CLI_CMD_CLIENT, cmd_sandbox_exec,
      "<sb> [flags] -- <cmd> [args...]", "Run a command; exits with its status" },
    { "push", { "upload", "cp-up" }, NULL, cmd_sandbox_files_opts, 3, 3, CLI_CMD_CLIENT,
      cmd_sandbox_push, "<sb> <local|-> <remote-path>", "Upload a file" },
    { "pull", { "download", "cp-down" }, NULL, cmd_sandbox_files_opts, 3, 3, CLI_CMD_CLIENT,
      cmd_sandbox_pull, "<sb> <remote-path> <local|->", "Download a file" },
    { "shell", { "sh" }, NULL, cmd_sandbox_shell_opts, 1, -1, CLI_CMD_CLIENT, cmd_sandbox_shell,
      "<sb> [--ssh] [-i <key>] [-u <user>] [-- <cmd> [args...]]",
      "Open an interactive shell (a terminal in the sandbox; --ssh: through its own sshd)" },
    { "tunnel", { "tun" }, NULL, cmd_sandbox_tunnel_opts, 1, 2, CLI_CMD_CLIENT,
      cmd_sandbox_tunnel,
      "<sb> [<port>] [--remote <port>] [--local [<addr>:]<port>] [--bind <addr>] [--stdio]",
      "Forward a local TCP port to a port in the sandbox" },
    { "ssh", { NULL }, NULL, cmd_sandbox_ssh_opts, 1, -1, CLI_CMD_CLIENT, cmd_sandbox_ssh,
      "<sb> [--gateway <host>[:<port>]] [-i <key>] [--tunnel [-u <user>]] [-- <cmd> [args...]]",
      "Log in with the system ssh through hearthd's SSH gateway (--tunnel: the guest's sshd)" },
    { "ssh-key", { NULL }, sandbox_ssh_key_cmds, NULL, 0, 0, 0, NULL, "<subcommand>",
      "SSH public keys: add" },
    { "firewall", { "fw", "egress" }, sandbox_firewall_cmds, NULL, 0, 0, 0, NULL, "<subcommand>",
      "Egress rules: show, set, add, remove, clear" },
    { "bandwidth", { "bw" }, sandbox_bandwidth_cmds, NULL, 0, 0, 0, NULL, "<subcommand>",
      "Egress quota: show, add" },
    { "network", { "net", "networks" }, sandbox_network_cmds, NULL, 0, 0, 0, NULL,
      "<subcommand>", "Private networks: create, ls, show, rm, attach, detach" },
    { "disk", { "disks" }, sandbox_disk_cmds, NULL, 0, 0, 0, NULL, "<subcommand>",
      "S3 disks: create, ls, show, rm, attach, detach, rotate-keys" },
    { "template", { "templates", "tpl" }, template_cmds, NULL, 0, 0, 0, NULL, "<subcommand>",
      "Templates from a Dockerfile: build, ls, show, logs, rm" },
    { "token", { NULL }, sandbox_token_cmds, NULL, 0, 0, 0, NULL, "<subcommand>",
      "Delegated access token: create, show, rotate, revoke" },
    { "url", { NULL }, NULL, NULL, 2, 2, CLI_CMD_CLIENT, cmd_sandbox_url, "<sb> <port>",
      "Print the public URL of a port (ingress must be on)" },
    { "ingress", { NULL }, sandbox_ingress_cmds, NULL, 0, 0, 0, NULL, "<subcommand>",
      "Public ingress: on, off" },
    { "logs", { NULL }, NULL, cmd_sandbox_logs_opts, 1, 1, CLI_CMD_CLIENT, cmd_sandbox_logs,
      "<sb> [-f] [--tail <n>] [--events]",
      "Print the console log (-f: follow until it stops; --events: the event log)" },
    { "events", { NULL }, NULL, cmd_sandbox_logs_opts, 1, 1, CLI_CMD_CLIENT,
      cmd_sandbox_events, "<sb> [-f]",
      "Print the event log: who paused, resumed, forked or destroyed it, and why" },
    /* managed processes, and the short forms of process ls|start|attach|stop */
    { "process", { "proc" }, sandbox_process_cmds, NULL, 0, 0, 0, NULL, "<subcommand>",
      "Managed processes: run, start, shell, attach, ls, get, input, close-stdin, resize, "
      "signal, wait, stop" },
    { "ps", { NULL }, NULL, NULL, 1, 1, CLI_CMD_CLIENT, cmd_process_ls, "<sb>",
      "List a sandbox's processes (process ls)" },
    { "start", { NULL }, NULL, cmd_process_start_opts, 1, -1, CLI_CMD_CLIENT, cmd_process_start,
      "<sb> [flags] -- <cmd> [args...]", "Start a process and print its id (process start)" },
    { "attach", { NULL }, NULL, cmd_process_attach_opts, 1, 2, CLI_CMD_CLIENT,
      cmd_process_attach, "<sb> [<pid>]", "Follow a process's output (process attach)" },
    { "kill", { NULL }, NULL, cmd_process_stop_opts, 2, 2, CLI_CMD_CLIENT, cmd_process_stop,
      "<sb> <pid> [--grace <duration>] [--yes]", "Stop a process tree (process stop)" },
    { NULL },
};

static const struct cli_command config_cmds[] = {
    { "set", { NULL }, NULL, NULL, 2, 2, 0, cmd_config_set, "<key> <value>", "Set a key" },
    { "get", { NULL }, NULL, NULL, 1, 1, 0, cmd_config_get, "<key>", "Print a key's value" },
    { "unset", { NULL }, NULL, NULL, 1, 1, 0, cmd_config_unset, "<key>", "Remove a key" },
    { "show", { NULL }, NULL, NULL, 0, 0, 0, cmd_config_show, "",
      "Show the file's settings (the key masked)" },
    { "path", { NULL }, NULL, NULL, 0, 0, 0, cmd_config_path, "", "Print the config file path" },
    { NULL },
};

const struct cli_command cli_commands[] = {
    { "sandbox", { "sb" }, sandbox_cmds, NULL, 0, 0, 0, NULL, "<subcommand>",
      "Create, list, inspect and use sandboxes" },
    /* the same table as `sandbox disk`: disks are the user's, not one sandbox's */
    { "disk", { "disks" }, sandbox_disk_cmds, NULL, 0, 0, 0, NULL, "<subcommand>",
      "S3 disks (same as sandbox disk): create, ls, show, rm, attach, detach, rotate-keys" },
    /* the same table as `sandbox template`: templates are the user's */
    { "template", { "templates", "tpl" }, template_cmds, NULL, 0, 0, 0, NULL, "<subcommand>",
      "Templates from a Dockerfile (same as sandbox template): build, ls, show, logs, rm" },
    { "whoami", { NULL }, NULL, NULL, 0, 0, CLI_CMD_CLIENT, cmd_whoami, "",
      "Identity and sandbox counts" },
    { "hosts", { NULL }, NULL, cmd_hosts_opts, 0, 0, CLI_CMD_CLIENT, cmd_hosts, "",
      "Host list (admin keys only)" },
    { "status", { NULL }, NULL, NULL, 0, 0, CLI_CMD_CLIENT, cmd_status, "",
      "Server health and readiness; exit 0 when ready, 7 when not" },
    { "config", { NULL }, config_cmds, NULL, 0, 0, 0, NULL, "<subcommand>",
      "Read and write the config file" },
    { "version", { NULL }, NULL, NULL, 0, 0, 0, cmd_version, "",
      "Print the CLI version and the build's git revision" },
    { "completion", { NULL }, NULL, NULL, 1, 1, 0, cmd_completion, "bash|zsh|fish",
      "Print a shell completion script" },
    { NULL },
};

/* main.c parses these (before the command's own flags); here they are only described. */
const struct cli_opt cli_global_opts[] = {
    CLI_VALUE("api-url", "<url>", "base URL of the hearth API (default " CLI_DEFAULT_API_URL ")"),
    CLI_VALUE("api-key", "<key>", "API key (hk_...) or delegated token (hst_...)"),
    { "output", 'o', CLI_OPT_VALUE, NULL, NULL, "table|json", "output format (default table)" },
    CLI_BOOL("json", "same as -o json"),
    CLI_BOOL("no-color", "disable colour"),
    { "debug", 'd', CLI_OPT_BOOL, NULL, NULL, NULL, "log each HTTP exchange on stderr" },
    { "help", 'h', CLI_OPT_BOOL, NULL, NULL, NULL, "help for hearth or any command" },
    CLI_BOOL("version", "print the version and the build's git revision"),
    CLI_BOOL("help-man", "print the hearth(1) manual page in roff"),
    CLI_OPT_END,
};

const struct cli_command *cli_command_find(const struct cli_command *table, const char *name)
{
    for (const struct cli_command *c = table; c && c->name; c++) {
        if (strcmp(c->name, name) == 0)
            return c;
        for (size_t i = 0; i < 3 && c->aliases[i]; i++)
            if (strcmp(c->aliases[i], name) == 0)
                return c;
    }
    return NULL;
}

static void print_table(FILE *f, const struct cli_command *table)
{
    for (const struct cli_command *c = table; c->name; c++) {
        char names[64];
        snprintf(names, sizeof(names), "%s%s%s%s%s", c->name, c->aliases[0] ? ", " : "",
                 c->aliases[0] ? c->aliases[0] : "", c->aliases[1] ? ", " : "",
                 c->aliases[1] ? c->aliases[1] : "");
        fprintf(f, "  %-22s %s\n", names, c->summary);
    }
}

void cli_print_help(FILE *f)
{
    fputs("usage: hearth [global flags] <command> [subcommand] [flags] [args] [-- cmd...]\n\n"
          "commands:\n",
          f);
    print_table(f, cli_commands);
    fputc('\n', f);
    cli_print_opts(f, "global flags", cli_global_opts);
}

void cli_opt_names(const struct cli_opt *o, char *out, size_t len)
{
    snprintf(out, len, "%s%c%s--%s%s%s%s%s%s%s", o->short_name ? "-" : "",
             o->short_name ? o->short_name : ' ', o->short_name ? ", " : "", o->name,
             o->alias ? ", --" : "", o->alias ? o->alias : "", o->alias2 ? ", --" : "",
             o->alias2 ? o->alias2 : "", o->value ? " " : "", o->value ? o->value : "");
    if (!o->short_name) /* drop the placeholder for a missing short name */
        memmove(out, out + 1, strlen(out));
}

void cli_print_opts(FILE *f, const char *title, const struct cli_opt *opts)
{
    if (!opts || !opts->name)
        return;
    fprintf(f, "%s:\n", title);
    for (const struct cli_opt *o = opts; o->name; o++) {
        char s[128];
        cli_opt_names(o, s, sizeof(s));
        fprintf(f, "  %s%-*s %s%s\n", o->short_name ? "" : "    ",
                o->short_name ? 28 : 24, s, o->help ? o->help : "",
                o->kind == CLI_OPT_LIST ? " (repeatable)" : "");
    }
}

static void print_command_help(FILE *f, const char *path, const struct cli_command *c)
{
    fprintf(f, "usage: hearth %s %s\n%s\n", path, c->args_usage, c->summary);
    if (c->sub) {
        fputs("\nsubcommands:\n", f);
        print_table(f, c->sub);
    }
    if (c->opts) {
        fputc('\n', f);
        cli_print_opts(f, "flags", c->opts);
    }
}

int cli_usage_error(struct cli *cli, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++) /* values typed by the user must not drive the terminal */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    const char *name = cli->cmd_name[0] ? cli->cmd_name : NULL;
    fprintf(stderr, "hearth: %s%s%s\n", name ? name : "", name ? ": " : "", msg);
    if (cli->cmd)
        fprintf(stderr, "hint: hearth %s %s (see 'hearth %s --help')\n", cli->cmd_name,
                cli->cmd->args_usage, cli->cmd_name);
    else
        fputs("hint: see 'hearth --help'\n", stderr);
    return CLI_EXIT_USAGE;
}

/* The n-th word of an args usage string ("<sb> <size>" → "<size>" for n = 1). */
static void usage_word(const char *usage, int n, char *out, size_t len)
{
    const char *p = usage;
    out[0] = '\0';
    for (int i = 0; *p; i++) {
        while (*p == ' ')
            p++;
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (i == n || !e) {
            snprintf(out, len, "%.*s", (int)l, p);
            if (i == n)
                return;
        }
        if (!e)
            return;
        p = e;
    }
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

int cli_dispatch(struct cli *cli, int argc, char **argv)
{
    const struct cli_command *table = cli_commands;
    const struct cli_command *c = NULL;
    char path[64] = "";
    int i = 0;
    for (;;) {
        if (i >= argc) {
            if (!c) {
                cli_print_help(stderr);
                return CLI_EXIT_USAGE;
            }
            cli->cmd = c;
            return cli_usage_error(cli, "missing subcommand");
        }
        if (!c && (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "help") == 0)) {
            cli_print_help(stdout);
            return CLI_EXIT_OK;
        }
        const struct cli_command *next = cli_command_find(table, argv[i]);
        if (!next) {
            if (c && wants_help(argc - i, argv + i)) {
                print_command_help(stdout, path, c);
                return CLI_EXIT_OK;
            }
            cli->cmd = c;
            if (argv[i][0] == '-')
                return cli_usage_error(cli, "expected a %scommand before '%.40s'",
                                       c ? "sub" : "", argv[i]);
            return cli_usage_error(cli, "unknown %scommand '%.40s'", c ? "sub" : "",
                                   argv[i]);
        }
        c = next;
        size_t used = strlen(path);
        snprintf(path + used, sizeof(path) - used, "%s%s", used ? " " : "", argv[i]);
        snprintf(cli->cmd_name, sizeof(cli->cmd_name), "%s", path);
        i++;
        if (!c->sub)
            break;
        table = c->sub;
    }
    cli->cmd = c;
    argc -= i;
    argv += i;
    if (wants_help(argc, argv)) {
        print_command_help(stdout, path, c);
        return CLI_EXIT_OK;
    }
    char err[256];
    int r = cli_args_parse(&cli->args, c->opts, argc, argv, err, sizeof(err));
    if (r < 0)
        return cli_usage_error(cli, "%s", err);
    if (cli->args.npos < c->min_args) {
        char word[64];
        usage_word(c->args_usage, cli->args.npos, word, sizeof(word));
        return cli_usage_error(cli, "missing argument %s", word);
    }
    if (c->max_args >= 0 && cli->args.npos > c->max_args)
        return cli_usage_error(cli, "unexpected argument '%.60s'",
                               cli->args.pos[c->max_args]);
    if (c->flags & CLI_CMD_CLIENT) {
        r = cli_client_open(cli);
        if (r != 0)
            return r;
    }
    return c->handler(cli, cli->args.npos, cli->args.pos);
}
