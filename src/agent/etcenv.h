/* SPDX-License-Identifier: MIT */
/* etcenv.h: the guest's /etc/environment (KEY=value lines), which every command the agent starts
 * gets under its request's own env: a template's ENV lands there at build time, so it applies to
 * every exec, process and shell of its sandboxes (docs/templates.md "How a build runs"). Guest
 * root owns the file; a bad line is skipped, never fatal. */
#pragma once

#include <stddef.h>

#define ETCENV_MAX_BYTES 65536   /* the file is read up to this size */
#define ETCENV_MAX_VARS 256

struct etcenv {
    char *v[ETCENV_MAX_VARS];    /* "KEY=value", owned */
    size_t n;
};

/* Parses len bytes of text: blank lines and '#' comments skipped, an optional leading
 * "export ", KEY matching [A-Za-z_][A-Za-z0-9_]*, the value's surrounding single or double
 * quotes removed (no escapes, no expansion, as pam_env reads the file); a later KEY replaces an
 * earlier one. 0, or -ENOMEM (e is then released). */
int etcenv_parse(const char *text, size_t len, struct etcenv *e);
/* Reads and parses path (a missing or unreadable file is an empty set). 0 or -ENOMEM. */
int etcenv_load(const char *path, struct etcenv *e);
void etcenv_release(struct etcenv *e);
