/* SPDX-License-Identifier: MIT */
/* identity.h: the facts a HELLO may carry about the guest itself (docs/agent-protocol.md,
 * "Identity and entropy"): its hostname and fresh entropy for the kernel's CRNG. Clones restored
 * from one snapshot share the CRNG state and the hostname of the snapshot, so every new host
 * session brings its own. Parsing is separate from applying so tests can check the parser
 * without touching the test machine's hostname or random pool. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hostname.h"

#define IDENTITY_ENTROPY_MIN 32u   /* decoded bytes: less is not worth a reseed */
#define IDENTITY_ENTROPY_MAX 512u  /* decoded bytes: more only costs time in the ioctl */

/* What a HELLO asked for; empty parts were absent or rejected. */
struct identity {
    char hostname[HOSTNAME_MAX + 1];      /* "" for none */
    uint8_t entropy[IDENTITY_ENTROPY_MAX];
    size_t entropy_len;                   /* 0 for none */
};

/* Reads "hostname" and "entropy" (hex, IDENTITY_ENTROPY_MIN..MAX bytes decoded) from a HELLO
 * object into *ret (always fully written). A field present but invalid (wrong type, bad
 * characters, bad length, not hex) is left empty in *ret and the first such problem is described
 * in reterr; the function then returns -EINVAL, else 0. Never reads past the strings' lengths. */
int identity_from_hello(json_t *hello, struct identity *ret, char *reterr, size_t reterr_len);

/* Sets the kernel hostname to name and makes /etc/hostname say the same; does nothing when both
 * already agree, so applying twice is harmless. Failures are logged and skipped. */
void identity_set_hostname(const char *name);

/* Applies what id holds: the hostname (identity_set_hostname()), then the entropy: mixed into
 * the input pool and credited (RNDADDENTROPY), then the CRNG reseeded at once (RNDRESEEDCRNG),
 * because otherwise Linux 6.1 keeps serving the snapshot's CRNG state until its next scheduled
 * reseed (up to a minute). Needs CAP_SYS_ADMIN: call only as PID 1. Failures are logged and
 * skipped; the agent goes on either way. */
void identity_apply(const struct identity *id);
