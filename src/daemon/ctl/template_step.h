/* SPDX-License-Identifier: MIT */
/* template_step.h: one build step run in a build VM (docs/templates.md "How a build runs"):
 * the context tar uploaded when the step needs it, the command run through the agent with its
 * output streamed live into the build log, then a `sync` so the step's writes are on the disk
 * layer before the pause. The scripts for RUN (WORKDIR, USER), COPY/ADD and the final layer
 * are made here too. Loop thread only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl;
struct ctl_tpl_log;
struct tpl_step_run;

/* Where the context tar lands in the guest (removed by the copy script). */
#define TPL_STEP_CTX_GUEST "/tmp/.hearth-context.tar"

struct tpl_step_req {
    char **argv;                        /* NULL-terminated; borrowed until done */
    char **env;                         /* "KEY=value"; NULL: none; borrowed until done */
    const char *upload;                 /* host path of the context tar to put first, or NULL */
    bool capture;                       /* keep stdout (the last 4 KiB) for done, not the log */
};

/* How the step ended: err < 0 when the VM or the agent failed (an infrastructure fault:
 * -ECONNRESET lost, -EIO upload failed), else the command's exit status (0..255, 128+signal).
 * out: captured stdout ("" unless capture). */
typedef void (*tpl_step_done_fn)(void *ud, int err, int status, const char *out,
                                 const char *msg);

/* Starts req in running VM vm_id; output lines go to log. 0 and *ret (done runs once, from
 * the loop), or -errno (nothing started). */
int tpl_step_start(struct ctl *c, const char *vm_id, const struct tpl_step_req *req,
                   struct ctl_tpl_log *log, tpl_step_done_fn done, void *ud,
                   struct tpl_step_run **ret);
/* No callback runs after this; the VM is about to be torn down by the caller. */
void tpl_step_abandon(struct tpl_step_run *r);

/* argv running cmd (NULL-terminated) in workdir (made first; "" = /) as user ("" = root;
 * "name", "uid", "name:group", "uid:gid"). malloc'd; tpl_strv_free. */
char **tpl_step_run_argv(char *const *cmd, const char *workdir, const char *user);
/* argv copying srcs (context paths, globs allowed) to dest as COPY (add: ADD, which unpacks
 * local tar archives) does, relative to workdir; chown/chmod may be NULL. */
char **tpl_step_copy_argv(char *const *srcs, size_t n, const char *dest, const char *workdir,
                          const char *chown, const char *chmod, bool add);
/* argv of the final layer: env written to /etc/environment, workdir made, then the bytes the
 * root file system uses printed on stdout. */
char **tpl_step_final_argv(char *const *env, const char *workdir);
