/* SPDX-License-Identifier: MIT */
/* snapdir.h: snapshot directories of paused sandboxes (docs/snapshots.md): where a new one
 * goes, its disk parent, when it may be consumed by a restore or removed, and flattening of
 * deep disk chains. */
#pragma once

#include <limits.h>
#include <stdbool.h>

struct ctl;

/* True when dir lies strictly under root (root non-empty). */
bool ctl_snapdir_under(const char *dir, const char *root);
/* A fresh <snapshots_dir>/<id>/<ulid> in out (the sandbox's folder is made; the snapshot dir
 * itself is the host's to create). 0 or -errno. */
int ctl_snapdir_new(struct ctl *c, const char *id, char out[PATH_MAX]);
/* Records dir's disk parent (its `parent` file); parent NULL or "" writes nothing. 0/-errno. */
int ctl_snapdir_parent_write(const char *dir, const char *parent);
/* Whether sandbox id may take snapshot dir over at a restore: its own, named by no other row,
 * no snapshot's disk parent. */
bool ctl_snapdir_may_consume(struct ctl *c, const char *id, const char *dir);
/* True when some snapshot under snapshots_dir names dir as its disk parent (its `parent`). */
bool ctl_snapdir_has_children(struct ctl *c, const char *dir);
/* Removes the snapshot directory dir (and then its parents, recursively) when nothing needs it
 * any more: no live row names it as snapshot_dir or base_dir and no other snapshot is a disk
 * child of it. Golden snapshots are never removed here. NULL or "" does nothing. */
void ctl_snapshot_release(struct ctl *c, const char *dir);
/* Start-up: releases (ctl_snapshot_release()) every snapshot under snapshots_dir, so those
 * that nothing needs go: a live fork's snapshot taken before a crash recorded its children. */
void ctl_snapdir_sweep(struct ctl *c);
/* After sandbox id paused into dir: when dir's disk sits on too many ancestors, flattens it in
 * the background and moves the row's base off them. */
void ctl_snapdir_flatten_if_deep(struct ctl *c, const char *id, const char *dir);
