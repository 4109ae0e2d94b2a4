/* SPDX-License-Identifier: MIT */
/* cmd_help.c: the one source of hearthd's help: a table of commands and their flags that prints
 * `hearthd [CMD] --help` and, through `hearthd --help-man`, the hearthd(8) man page the build
 * installs. A flag a parser accepts must have a row here (tests/cli/test_ops.sh checks). */
#include "daemon/cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "daemon/config.h"
#include "hearth/hearth.h"

#include "build_rev.h"
#include "common/roff.h"

struct help_flag {
    const char *flag;       /* "--data-dir" */
    const char *value;      /* "DIR", or NULL for a switch */
    const char *help;
};

struct help_cmd {
    const char *name;       /* "vm run" */
    const char *synopsis;   /* after "hearthd <name> " */
    const char *summary;
    const char *details;    /* a paragraph for the man page, or NULL */
    struct help_flag flags[12];
};

/* The flags serve and keys share: which config and data dir to use. */
#define FLAG_CONFIG { "--config", "FILE", "config file (default " CONFIG_DEFAULT_PATH \
                      "; a missing default file is not an error, a missing named one is)" }
#define FLAG_DATA_DIR { "--data-dir", "DIR", "data directory: store, keys, run dirs " \
                        "(overrides data_dir; default /var/lib/hearth)" }

static const struct help_cmd commands[] = {
    { "serve", "[--config FILE] [--data-dir DIR] [--listen HOST:PORT] [--images DIR] "
               "[--role all|control|host]",
      "Run the daemon: the API listener, the metrics listener, VMs and networking",
      "Loads the config (defaults, then the file, then the flags), opens the store, creates the "
      "first admin key in <data_dir>/admin.key on first start, and serves until SIGTERM or "
      "SIGINT, then finishes in-flight requests (shutdown_timeout_s). VMs keep running across "
      "a restart and are adopted again. Under systemd (NOTIFY_SOCKET set) it sends READY=1 "
      "once listening and STOPPING=1 when it begins to stop.",
      { FLAG_CONFIG, FLAG_DATA_DIR,
        { "--role", "ROLE", "all (default: API and VMs), control (API only: creates are placed "
                            "on hosts through the work queue) or host (VMs; overrides role)" },
        { "--listen", "HOST:PORT", "API listener (overrides listen; default 127.0.0.1:8080; "
                                   "port 0 picks a free one, written to <data_dir>/hearthd.port)" },
        { "--images", "DIR", "guest kernel and root filesystems (overrides images_dir; "
                             "default <data_dir>/images; a relative DIR is taken "
                             "against the working directory)" },
        { NULL } } },
    { "keys", "[--config FILE] [--data-dir DIR] create [--user NAME] [--admin] [--label TEXT] "
              "| list [--user NAME] | revoke KEY_ID",
      "Manage API keys on this host (works while serve runs)",
      "create prints the new key once on stdout; list prints a table (id, user, prefix, admin, "
      "created, last used, revoked, label), never a key; revoke disables a key at once.",
      { FLAG_CONFIG, FLAG_DATA_DIR,
        { "--user", "NAME", "the key's user (create; default admin) or the user to list" },
        { "--admin", NULL, "create an admin key (create only)" },
        { "--label", "TEXT", "a note stored with the key (create only)" },
        { NULL } } },
    { "vm run", "[--images DIR] [--rootfs minimal|debian-12|node|debian-base|PATH] [--vcpus N] "
                "[--memory MiB] [--accel auto|kvm|tcg] [--timeout SEC] [--keep] -- CMD [ARGS...]",
      "Boot one microVM, run a command in it with its output streamed, exit with its status",
      "No store, API or networking: the VM's run dir is a fresh $TMPDIR/hearth-vm.XXXXXX, "
      "removed afterwards unless --keep. Exit status: the command's, 128+N for signal N, "
      "125 when hearthd failed, 126/127 when the command could not run.",
      { { "--images", "DIR", "images directory (default $HEARTH_IMAGES, else ./build/images)" },
        { "--rootfs", "NAME|PATH",
          "an image file stem: minimal (default), debian-12 (devbox:1), node, debian-base; or "
          "an ext4 image path" },
        { "--vcpus", "N", "virtual CPUs, 1 to 64 (default 1)" },
        { "--memory", "MiB", "guest memory, 64 to 65536 MiB (default 256)" },
        { "--accel", "auto|kvm|tcg", "accelerator (default auto: kvm when /dev/kvm works)" },
        { "--timeout", "SEC", "kill the command after SEC seconds (default 0 = none)" },
        { "--keep", NULL, "keep the run dir (console log, QMP socket) and print its path" },
        { NULL } } },
    { "net down", "[--config FILE] [--data-dir DIR]",
      "Remove this instance's sandbox network from the host",
      "Removes the namespace (net_namespace) with every tap and route in it, the uplink veth "
      "(net_uplink_if) and the nftables table inet hearth-<namespace>; the names derive from the "
      "same configuration serve reads, so another instance's objects are never touched. "
      "Idempotent. Stop hearthd first: VMs still running lose their network.",
      { FLAG_CONFIG, FLAG_DATA_DIR, { NULL } } },
    { "host", "[--config FILE] [--data-dir DIR] ls | drain HOST | undrain HOST | rm HOST",
      "List the registered hosts, drain or undrain one, forget a retired one",
      "Reads and writes the host registry in the store (works while serve runs). ls prints id, "
      "status (active, draining, dead), region, free guest memory, VMs, CPUs, seconds since the "
      "last report and labels. A drained host keeps its sandboxes and takes no new ones. rm "
      "refuses a host that still has sandboxes.",
      { FLAG_CONFIG, FLAG_DATA_DIR, { NULL } } },
    { "ca init", "DIR [--days N] [--force]",
      "Make the host channel's CA: DIR/ca.key (0600, keep it secret) and DIR/ca.crt",
      "ECDSA P-256, self-signed, valid --days (3650). Existing files are kept unless --force. "
      "Every host's host_tls_ca is this ca.crt (docs/scale-out.md \"Host channel\").",
      { { NULL } } },
    { "cert issue", "--ca DIR --host ID --out DIR [--ip ADDR]... [--dns NAME]... [--days N] [--force]",
      "Issue a host's channel certificate signed by the CA in --ca",
      "Writes OUT/host.key (0600), OUT/host.crt (CN and SAN name the host id; TLS server and "
      "client use) and a copy of ca.crt: this host's host_tls_key, host_tls_cert and host_tls_ca. "
      "Valid --days (825). Existing files are kept unless --force.",
      { { NULL } } },
    { "disk-key rotate", "[--config FILE] [--data-dir DIR]",
      "Add a new first key to the disk key file and re-seal every disk's credentials under it",
      "The key file is disk_key_file (default <data_dir>/disk.key). Stop serve first, so no "
      "credential rotation runs meanwhile and serve loads the new key when it starts again. "
      "Prints the new key's id and how many disks were re-sealed (never a key); the old lines "
      "stay in the file until you remove them (docs/disks.md \"The key file\"). Exit status 1 "
      "when a disk could not be re-sealed.",
      { FLAG_CONFIG, FLAG_DATA_DIR, { NULL } } },
    { "version", "", "Print the version and the build's git revision", NULL, { { NULL } } },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct help_flag global_flags[] = {
    { "--help", NULL, "help for hearthd or for the command before it (also -h)" },
    { "--version", NULL, "print the version and the build's git revision" },
    { "--help-man", NULL, "print this manual page in roff (what the build installs)" },
    { NULL },
};

static const struct help_cmd *find(const char *name)
{
    for (size_t i = 0; name && i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_flags(FILE *f, const struct help_flag *fl)
{
    for (; fl->flag; fl++) {
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s", fl->flag, fl->value ? " " : "",
                 fl->value ? fl->value : "");
        fprintf(f, "  %-24s %s\n", left, fl->help);
    }
}

void cmd_help_print(FILE *f, const char *command)
{
    const struct help_cmd *c = find(command);
    if (c) {
        fprintf(f, "usage: hearthd %s %s\n%s\n", c->name, c->synopsis, c->summary);
        if (c->flags[0].flag) {
            fputs("\nflags:\n", f);
            print_flags(f, c->flags);
        }
        return;
    }
    fputs("usage: hearthd <command> [flags]\n\ncommands:\n", f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\nflags:\n", f);
    print_flags(f, global_flags);
    fputs("\nsee 'hearthd <command> --help' and hearthd(8)\n", f);
}

void cmd_version_print(FILE *f)
{
    fprintf(f, "hearthd %s (revision %s)\n", HEARTH_VERSION, HEARTH_BUILD_REV);
}

static void man_flags(FILE *f, const struct help_flag *fl)
{
    for (; fl->flag; fl++) {
        fputs(fl->value ? ".TP\n.BI \"" : ".TP\n.B ", f);
        roff_text(f, fl->flag);
        if (fl->value) {
            fputs(" \" ", f);
            roff_text(f, fl->value);
        }
        fputs("\n", f);
        roff_text(f, fl->help);
        fputs("\n", f);
    }
}

void cmd_help_man(FILE *f)
{
    fprintf(f, ".TH HEARTHD 8 \"\" \"hearth %s\" \"System Manager's Manual\"\n", HEARTH_VERSION);
    fputs(".SH NAME\nhearthd \\- the hearth microVM sandbox daemon\n.SH SYNOPSIS\n", f);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        fputs(".B hearthd ", f);
        roff_text(f, commands[i].name);
        fputs("\n", f);
        roff_text(f, commands[i].synopsis);
        fputs("\n.br\n", f);
    }
    fputs(".B hearthd \\-\\-help | \\-\\-version\n"
          ".SH DESCRIPTION\n"
          "hearthd runs untrusted code in QEMU microVMs behind an HTTP API (docs/api.md). One "
          "hearthd serves one host: its store, VMs, network namespace and nftables tables.\n"
          ".SH COMMANDS\n", f);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct help_cmd *c = &commands[i];
        fputs(".SS ", f);
        roff_text(f, c->name);
        fputs("\n", f);
        roff_text(f, c->summary);
        fputs(".\n", f);
        if (c->details) {
            fputs(".PP\n", f);
            roff_text(f, c->details);
            fputs("\n", f);
        }
        man_flags(f, c->flags);
    }
    fputs(".SH GLOBAL FLAGS\n", f);
    man_flags(f, global_flags);
    fputs(".SH FILES\n"
          ".TP\n.I " CONFIG_DEFAULT_PATH "\nconfig file: one \\fIkey = value\\fR per line, "
          "\\fB#\\fR comments; every key with its default is in hearthd.conf.sample next to it\n"
          ".TP\n.I /var/lib/hearth\ndefault data directory: hearth.db, admin.key (the first "
          "admin key, 0600), disk.key (the disk key, 0600), hearthd.port, metrics.port, vms/, "
          "snapshots/, images/\n"
          ".SH ENVIRONMENT\n"
          ".TP\n.B NOTIFY_SOCKET\nset by systemd for Type=notify units: READY=1 and "
          "STOPPING=1 are sent there\n"
          ".TP\n.B HEARTH_IMAGES\nimages directory of \\fBvm run\\fR\n"
          ".TP\n.B TMPDIR\nwhere \\fBvm run\\fR makes its run dir\n"
          ".SH EXIT STATUS\n0 success; 2 bad command line or configuration; 125 hearthd "
          "failed.\n"
          ".SH SEE ALSO\n.BR hearth (1),\n.BR systemd.service (5)\n", f);
}
