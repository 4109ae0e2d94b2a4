/* SPDX-License-Identifier: MIT */
/* template_files.h: where a template's files live under templates_dir (docs/templates.md "On
 * disk"), so every part of the builder names them the same way:
 *   layers/<key>/disk.qcow2   one build step's disk changes (qcow2 over its parent's), keyed by
 *                             (user, parent layer, instruction, inputs); layer.json beside it
 *   layers/<key>.tmp/         a step being written (a pause lands here, then a rename)
 *   golden/<tag>/<shape key>/ a template's golden snapshots (tag: top layer, start, ready)
 *   contexts/<sha256>.tar     uploaded build contexts; uploads/ holds them while they arrive
 *   bases/                    OCI bases as ext4 (tpl/oci.h)
 *   work/<tpl id>/            scratch of a running build, removed when it ends */
#pragma once

#include <stdbool.h>

struct ctl;

/* Each writes an absolute path into out (PATH_MAX) and returns 0, or -ENAMETOOLONG / -EINVAL
 * (a key that is not 64 lowercase hex digits, an id that is not tpl_<ULID>). */
int ctl_tpl_dir(const struct ctl *c, const char *sub, char *out);            /* <dir>/<sub> */
int ctl_tpl_layer_dir(const struct ctl *c, const char *key, char *out);      /* layers/<key> */
int ctl_tpl_layer_disk(const struct ctl *c, const char *key, char *out);     /* …/disk.qcow2 */
int ctl_tpl_golden_root(const struct ctl *c, const char *tag, char *out);    /* golden/<tag> */
int ctl_tpl_context_path(const struct ctl *c, const char *ctx_id, char *out);/* ctx_<hex> */
int ctl_tpl_work_dir(const struct ctl *c, const char *tpl_id, char *out);    /* work/<id> */
/* Whether s is 64 lowercase hex digits. */
bool ctl_tpl_key_valid(const char *s);
