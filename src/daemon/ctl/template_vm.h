/* SPDX-License-Identifier: MIT */
/* template_vm.h: the VM side of templates (docs/templates.md "Ready templates are snapshots"):
 * a template's golden snapshots, which a build's end makes for the default shape and a create
 * restores; the start command and ready check that run in a fresh VM before such a snapshot;
 * the network of build VMs. Used by the builder (template_build*.c) and by creates
 * (sandbox_create.c). Loop thread only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "daemon/ctl/template.h"

struct ctl;
struct ctl_net_vm;

/* The golden tag of a template image (hex SHA-256 of "tpl-golden-1", the top layer key, the
 * start command and the ready check), in out (65 bytes). Templates whose builds ended in the
 * same layer with the same start share their golden snapshots. */
void ctl_tpl_golden_tag(const char *top_layer_key, const char *start_cmd,
                        const struct ctl_tpl_ready *ready, char out[65]);

/* Pure parsers of what ctl_template_resolve reads (hostile input: bounded and typed, else
 * -EINVAL with a one-line err; -ENOMEM). The top layer's layer.json (docs/templates.md:
 * env ["K=V", …], workdir, user, fs_mib; other members ignored) into t's env, workdir, user
 * and fs_mib (10240 when absent); the row's options JSON ({"start_cmd", "ready", …}) into
 * t's start_cmd and ready. On failure t's fields are left empty. */
int ctl_tpl_layer_parse(const char *text, size_t len, struct ctl_tpl_image *t, char *err,
                        size_t errlen);
int ctl_tpl_options_parse(const char *text, struct ctl_tpl_image *t, char *err, size_t errlen);

/* The golden snapshot of t for this shape and disk: its directory in out (PATH_MAX) and true
 * when it exists and is complete (under golden/<tag>/, template_files.h). */
bool ctl_tpl_golden_find(struct ctl *c, const struct ctl_tpl_image *t, unsigned vcpus,
                         unsigned mem_mib, uint64_t disk_mib, char *out);

/* How a golden build or a cold create's start ended: err 0, or -errno with msg (one line: "start
 * command exited 127: sh: 1: nodee: not found", "ready check: port 8080 not open after 60 s"). */
typedef void (*ctl_tpl_vm_done_fn)(void *ud, int err, const char *msg);

/* Makes t's golden snapshot for this shape and disk unless it exists: boots t->image cold in a
 * VM of its own (no store row, the golden builder's tap), grows the file system when the disk
 * is larger than t->fs_mib, runs the start command and waits for the ready check
 * (ctl_tpl_vm_start), then pauses into the golden dir (rename from .tmp). done runs once (also
 * when the snapshot existed: 0 at once, from the loop). A build waits for it before `ready`;
 * creates call it with done NULL after a cold create of a shape without one. */
void ctl_tpl_golden_build(struct ctl *c, const struct ctl_tpl_image *t, unsigned vcpus,
                          unsigned mem_mib, uint64_t disk_mib, uint32_t cpu_quota_pct,
                          ctl_tpl_vm_done_fn done, void *ud);

/* In running VM vm_id: starts t's start command detached (setsid, /bin/sh -c, its output in
 * /var/log/hearth-start.log in the guest, the build's final ENV in its environment, its
 * WORKDIR and USER) and then waits for t's ready check, polling through the agent, within its
 * timeout. No start command: done(0) at once (from the loop). Used by golden builds and by
 * cold creates from a template (so a sandbox booted cold has the same processes running). */
void ctl_tpl_vm_start(struct ctl *c, const char *vm_id, const struct ctl_tpl_image *t,
                      ctl_tpl_vm_done_fn done, void *ud);

/* A build VM's network: a tap with a pool address held for the VM's life and the operator's
 * default egress policy (a sandbox created without egress rules gets the same), so RUN can
 * fetch packages. Fills *ret like ctl_net_vm_prepare (release with ctl_net_vm_release); without
 * networking, a NIC without a link. 0 or -errno. */
int ctl_tpl_builder_net(struct ctl *c, const char *vm_id, struct ctl_net_vm *ret);
/* The build VM vm_id stopped: its data plane objects go and its address is free again. */
void ctl_tpl_builder_net_done(struct ctl *c, const char *vm_id);
