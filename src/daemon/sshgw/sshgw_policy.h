/* SPDX-License-Identifier: MIT */
/* sshgw_policy.h: the SSH gateway's pure decisions (docs/ingress-ssh.md "SSH gateway"): what a
 * login name may be, which -L destinations reach the sandbox, which `env` requests pass, the
 * signal names of RFC 4254 §6.9/§6.10, and whether an offered public key is a stored one. No
 * I/O, no libssh: unit-tested on their own (tests/unit/sshgw). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "daemon/store/store.h"

#define SSHGW_LOGIN_SIZE (STORE_ID_SIZE > STORE_NAME_SIZE ? STORE_ID_SIZE : STORE_NAME_SIZE)

enum sshgw_login_kind {
    SSHGW_LOGIN_BAD = 0, /* neither a sandbox id nor a name */
    SSHGW_LOGIN_ID,      /* `sb-<ULID>`, canonicalised (the ULID uppercased) */
    SSHGW_LOGIN_NAME,    /* a sandbox name (docs/api.md §1.9) */
};

/* Classifies the SSH user name (the part before @): an id is written canonical into out, a
 * name copied. NULL or empty is BAD. */
enum sshgw_login_kind sshgw_login_parse(const char *user, char out[SSHGW_LOGIN_SIZE]);

/* True when a direct-tcpip (ssh -L) destination host means the sandbox itself: localhost,
 * 127.0.0.1, ::1 (with or without brackets), or the sandbox's own name, id or hostname
 * (case-insensitive). Anything else is refused ("administratively prohibited"). */
bool sshgw_dest_allowed(const char *host, const char *name, const char *id,
                        const char *hostname);

/* True for an `env` request the gateway passes on: LANG, LANGUAGE, LC_ALL and LC_<UPPER>
 * with a value of at most 256 printable ASCII bytes. Everything else (LD_PRELOAD, PATH, …)
 * is refused. */
bool sshgw_env_allowed(const char *name, const char *value);

/* The signal number of an RFC 4254 signal name without "SIG" ("INT", "TERM", …); -1 for a
 * name outside the list. */
int sshgw_signal_number(const char *name);
/* The RFC 4254 name of signal sig; NULL when it has none (the caller sends exit-status then). */
const char *sshgw_signal_name(int sig);

/* True when stored (a canonical `<type> <base64>[ <comment>]`, docs/api.md §3.3.5) is the key
 * of type and base64 text b64. */
bool sshgw_key_matches(const char *stored, const char *type, const char *b64);
