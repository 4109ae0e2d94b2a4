/* SPDX-License-Identifier: MIT */
/* ident.h: who the original caller was, as a control plane forwards it to the host that runs
 * the sandbox (docs/scale-out.md "Host channel"). The control plane authenticated the caller's
 * API key or sandbox token; the host trusts the forwarded identity only because the request
 * came over the channel's mutual TLS from a certificate of the fleet's CA. On the public API
 * these headers mean nothing (the router never reads them there). Pure logic, unit-tested. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "daemon/store/store.h"

#define HOSTCHAN_H_PREFIX "X-Hearth-Forwarded-"
#define HOSTCHAN_H_USER "X-Hearth-Forwarded-User"
#define HOSTCHAN_H_KEY "X-Hearth-Forwarded-Key-Id"
#define HOSTCHAN_H_ADMIN "X-Hearth-Forwarded-Admin"
#define HOSTCHAN_H_SANDBOX "X-Hearth-Forwarded-Sandbox" /* a delegated token's one sandbox */
#define HOSTCHAN_H_VALUE_MAX 128

struct hostchan_ident {
    char user_id[STORE_USER_SIZE];
    char key_id[STORE_ID_SIZE];     /* an API key's id; "" for a delegated token */
    bool admin;
    char sandbox_id[STORE_ID_SIZE]; /* a delegated token's sandbox; "" for a key */
};

/* True when name[0..len) starts with X-Hearth-Forwarded- (any case): a forwarder drops every
 * such header a client sent and adds its own. */
bool hostchan_ident_header(const char *name, size_t len);

/* The header lines ("Name: value\r\n"...) for w into out. 0 or -ENOSPC / -EINVAL (w invalid). */
int hostchan_ident_format(const struct hostchan_ident *w, char *out, size_t size);

/* Parses the four header values (NULL when absent). 0 with *ret; -EINVAL with *why for a
 * missing user, a malformed or oversized value, a key together with a sandbox or neither, an
 * admin flag other than 0/1 or admin on a token. */
int hostchan_ident_parse(const char *user, const char *key_id, const char *admin,
                         const char *sandbox, struct hostchan_ident *ret, const char **why);
