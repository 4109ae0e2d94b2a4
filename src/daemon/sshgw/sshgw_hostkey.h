/* SPDX-License-Identifier: MIT */
/* sshgw_hostkey.h: the gateway's persistent host keys (docs/ingress-ssh.md "Host keys"):
 * <dir>/ssh_host_ed25519_key and ssh_host_ecdsa_key, generated at first start (0600, written to
 * a temporary file, fsync'd and renamed), read at every later start. */
#pragma once

#include <stddef.h>

#include <libssh/libssh.h>

#define SSHGW_N_HOSTKEYS 2

/* Loads or makes every host key under dir (made 0700 when missing). 0 with keys[] (free each
 * with ssh_key_free()) and their "SHA256:…" fingerprints in fp[] (free()), or -errno with why. */
__attribute__((warn_unused_result))
int sshgw_hostkeys_load(const char *dir, ssh_key keys[SSHGW_N_HOSTKEYS],
                        char *fp[SSHGW_N_HOSTKEYS], const char *names[SSHGW_N_HOSTKEYS],
                        const char **why);
/* key's public half as one known_hosts/authorized_keys field pair ("ssh-ed25519 AAAA…") into
 * out. 0, -ENOMEM, or -ENOBUFS when len is too small. */
__attribute__((warn_unused_result)) int sshgw_hostkey_line(ssh_key key, char *out, size_t len);
