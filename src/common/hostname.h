/* SPDX-License-Identifier: MIT */
/* hostname.h: the one rule for a guest hostname, shared by hearthd (which sends it in HELLO)
 * and hearth-agent (which applies it): 1 to 63 bytes of [a-z0-9-], not starting with '-'. That
 * is an RFC 1123 label except that a trailing '-' is allowed, because sandbox names map to
 * hostnames that way (sbname.h: "box_" becomes "box-") and such a name must stay usable. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HOSTNAME_MAX 63

/* True when s[0..len) is a valid guest hostname (an embedded NUL makes it invalid). */
bool hostname_valid(const char *s, size_t len);
