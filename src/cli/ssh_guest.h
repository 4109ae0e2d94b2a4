/* SPDX-License-Identifier: MIT */
/* ssh_guest.h: what `hearth sb ssh` and `hearth sb shell --ssh` share (docs/cli.md "sb ssh",
 * docs/ingress-ssh.md "Through a tunnel to the guest's own sshd"): the default identity, adding
 * its public key to a sandbox, and the whole guest-sshd path (key, sshd started through exec,
 * the system ssh with `hearth sb tunnel --stdio` as ProxyCommand). */
#pragma once

#include "cli/cli.h"

/* The first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa that is readable (malloc'd), else NULL. */
char *cli_ssh_default_identity(void);

/* Adds the public key line pub to the sandbox sb (its view) unless it carries it already
 * (type and key data compared; the comment may differ). 0 or an exit code after printing why. */
int cli_ssh_ensure_key(struct cli *cli, hearth_obj *sb, const char *pub);

/* <config dir>/known_hosts.d/<name> into out, the directory made (0700): one file per sandbox
 * id for guest sshds (new host keys per sandbox, trusted on first use), "gateway" for the SSH
 * gateway's keys as the API hands them out (docs/cli.md "sb ssh"). -errno when there is no
 * config dir or it cannot be made. */
int cli_ssh_known_hosts_path(struct cli *cli, const char *name, char *out, size_t n);

/* The guest-sshd path for the sandbox ref: identity (NULL: the default search), user (NULL:
 * root), the remote command cmd[0..ncmd) (none: a login shell). Adds the key, starts sshd in the
 * guest when it is not running (host keys made there on first start), then replaces this
 * process with ssh; returns only on failure, with the exit code after printing why. */
int cli_ssh_guest(struct cli *cli, const char *ref, const char *identity, const char *user,
                  int ncmd, char **cmd);
