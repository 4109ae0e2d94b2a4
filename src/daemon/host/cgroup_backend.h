/* SPDX-License-Identifier: MIT */
/* cgroup_backend.h: what cgroup.c (cgroupfs files, the v2 directory rules) lends to
 * cgroup_layout.c (v1 hierarchies, detection, usage). Not an interface: cgroup.h is. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct herr;

/* One path segment of [A-Za-z0-9_-], 1..64 bytes. */
bool cgroup_name_valid(const char *name);
/* Absolute, no "//", "/./" or "/../", no trailing '/', not "/" itself. */
bool cgroup_root_valid(const char *root);
/* Writes value to dir/file in one write(). 0 or -errno. */
int cgroup_file_write(const char *dir, const char *file, const char *value);
/* Reads dir/file (at most len-1 bytes, NUL-terminated). 0 or -errno. */
int cgroup_file_read(const char *dir, const char *file, char *out, size_t len);
/* Writes a limit file when its controller is on (the file exists): -ENOENT is no error. */
int cgroup_write_limit(const char *dir, const char *file, const char *value, struct herr *e);
