/* SPDX-License-Identifier: MIT */
/* template_step.c: one build step in a build VM (template_step.h). The guest is hostile: its
 * output is bounded by the log writer, its exit status is all that is believed, and a step
 * that never ends is the attempt timer's (template_build.c). */
#include "daemon/ctl/template_step.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/wire.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/template_log.h"
#include "daemon/ctl/template_layer.h"
#include "daemon/host/host.h"
#include "daemon/store/store.h"

#define CAPTURE_MAX 4096

enum phase { PH_UPLOAD, PH_EXEC, PH_SYNC };

struct tpl_step_run {
    struct ctl *c;
    char vm[STORE_ID_SIZE];
    const struct tpl_step_req *req;
    struct ctl_tpl_log *log;
    tpl_step_done_fn done;
    void *ud;                           /* NULL once abandoned */
    enum phase ph;
    uint32_t stream;
    int fd;                             /* the context tar while uploading */
    off_t off;
    int status;
    char out[CAPTURE_MAX];
    size_t out_n;
    struct event *later;                /* reports from the loop */
    int err;
    char msg[256];
};

static const char *const SYNC_ARGV[] = { "sync", NULL };

static void run_free(struct tpl_step_run *r)
{
    if (r->fd >= 0)
        close(r->fd);
    if (r->later)
        event_free(r->later);
    free(r);
}

static void on_later(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    struct tpl_step_run *r = ud;
    if (r->ud) {
        r->out[r->out_n < CAPTURE_MAX ? r->out_n : CAPTURE_MAX - 1] = 0;
        r->done(r->ud, r->err, r->status, r->out, r->msg);
    }
    run_free(r);
}

/* Ends the step (from the loop: a stream's on_end must not free what its caller holds). */
static void finish(struct tpl_step_run *r, int err, const char *fmt, const char *detail)
{
    r->err = err;
    snprintf(r->msg, sizeof(r->msg), fmt, detail ? detail : "");
    r->later = evtimer_new(r->c->base, on_later, r);
    if (!r->later) {
        run_free(r); /* out of memory: the attempt timer ends the attempt */
        return;
    }
    struct timeval tv = { 0, 0 };
    evtimer_add(r->later, &tv);
}

static int on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    (void)eof;
    struct tpl_step_run *r = ud;
    if (!r->ud)
        return 0;
    if (r->ph == PH_EXEC && r->req->capture && type == WIRE_STDOUT) {
        size_t room = CAPTURE_MAX - 1 - r->out_n;
        if (len > room) { /* keep the tail */
            size_t drop = len - room > r->out_n ? r->out_n : len - room;
            memmove(r->out, r->out + drop, r->out_n - drop);
            r->out_n -= drop;
            room = CAPTURE_MAX - 1 - r->out_n;
        }
        size_t take = len < room ? len : room;
        memcpy(r->out + r->out_n, p + len - take, take);
        r->out_n += take;
        return 0;
    }
    if (r->ph == PH_EXEC)
        ctl_tpl_log_output(r->log, (const char *)p, len);
    return 0;
}

static void on_end(void *ud, const struct agent_end *end);
static const struct agent_stream_ops step_ops = { .on_data = on_data, .on_end = on_end };

static int start_exec(struct tpl_step_run *r, const char *const *argv, const char *const *env)
{
    struct agent_exec_req req = { .argv = argv, .env = env };
    return host_vm_exec(r->c->host, r->vm, &req, &step_ops, r, &r->stream);
}

static void on_end(void *ud, const struct agent_end *end)
{
    struct tpl_step_run *r = ud;
    if (!r->ud) {
        run_free(r);
        return;
    }
    if (r->ph == PH_UPLOAD) {
        close(r->fd);
        r->fd = -1;
        if (end->kind != AGENT_END_DONE) {
            finish(r, -EIO, "cannot upload the build context: %s", end->message);
            return;
        }
        r->ph = PH_EXEC;
        int rc = start_exec(r, (const char *const *)r->req->argv,
                            (const char *const *)r->req->env);
        if (rc < 0)
            finish(r, rc, "cannot start the step: %s", strerror(-rc));
        return;
    }
    if (end->kind != AGENT_END_EXIT) {
        finish(r, end->err < 0 ? end->err : -ECONNRESET, "the build VM's agent: %s",
               end->message[0] ? end->message : "connection lost");
        return;
    }
    int status = end->signal ? 128 + end->signal : end->exit_code;
    if (r->ph == PH_EXEC) {
        ctl_tpl_log_flush(r->log);
        r->status = status;
        if (status != 0) {
            finish(r, 0, "%s", "");
            return;
        }
        /* the step's writes must be on the disk layer, not only in the page cache, before
         * the pause: cold boots and sandboxes use the disk alone */
        r->ph = PH_SYNC;
        int rc = start_exec(r, SYNC_ARGV, NULL);
        if (rc < 0)
            finish(r, rc, "cannot sync: %s", strerror(-rc));
        return;
    }
    if (status != 0)
        finish(r, -EIO, "sync in the build VM exited %s", status == 0 ? "0" : "non-zero");
    else
        finish(r, 0, "%s", "");
}

/* Pushes the context tar until the agent's credit runs out (on_credit resumes). */
static void push(struct tpl_step_run *r)
{
    char buf[65536];
    for (;;) {
        ssize_t n = pread(r->fd, buf, sizeof(buf), r->off);
        if (n < 0) {
            (void)host_vm_exec_cancel(r->c->host, r->vm, r->stream);
            return;
        }
        if (n == 0) {
            (void)host_stream_finish(r->c->host, r->vm, r->stream);
            return;
        }
        ssize_t w = host_stream_write(r->c->host, r->vm, r->stream, buf, (size_t)n);
        if (w < 0)
            return; /* the stream ends with an error */
        r->off += w;
        if (w < n)
            return;
    }
}

static void on_credit(void *ud, size_t room)
{
    (void)room;
    struct tpl_step_run *r = ud;
    if (r->ud && r->ph == PH_UPLOAD && r->fd >= 0)
        push(r);
}

static const struct agent_stream_ops upload_ops = { .on_credit = on_credit, .on_end = on_end };

int tpl_step_start(struct ctl *c, const char *vm_id, const struct tpl_step_req *req,
                   struct ctl_tpl_log *log, tpl_step_done_fn done, void *ud,
                   struct tpl_step_run **ret)
{
    struct tpl_step_run *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->c = c;
    snprintf(r->vm, sizeof(r->vm), "%s", vm_id);
    r->req = req;
    r->log = log;
    r->done = done;
    r->ud = ud;
    r->fd = -1;
    int rc;
    if (req->upload) {
        r->ph = PH_UPLOAD;
        r->fd = open(req->upload, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            rc = -errno;
            free(r);
            return rc;
        }
        rc = host_vm_file_put_start(c->host, vm_id, TPL_STEP_CTX_GUEST, 0600, &upload_ops, r,
                                    &r->stream);
        if (rc == 0)
            push(r);
    } else {
        r->ph = PH_EXEC;
        rc = start_exec(r, (const char *const *)req->argv, (const char *const *)req->env);
    }
    if (rc < 0) {
        if (r->fd >= 0)
            close(r->fd);
        free(r);
        return rc;
    }
    *ret = r;
    return 0;
}

void tpl_step_abandon(struct tpl_step_run *r)
{
    if (!r)
        return;
    r->ud = NULL;
    if (r->later) { /* its report was due: drop it */
        run_free(r);
        return;
    }
    /* the stream's on_end frees r (the caller tears the VM down, which ends it) */
    (void)host_vm_exec_cancel(r->c->host, r->vm, r->stream);
}

/* ---- the scripts ---- */

/* Runs "$@" in $1 (made first) as $2: util-linux setpriv where the image has it (no PAM, no
 * login shell, the environment kept), else su (BusyBox's setpriv cannot change ids); su runs
 * with POSIXLY_CORRECT so that the command's own arguments are never taken for su's options. */
static const char RUN_SCRIPT[] =
    "wd=$1; u=$2; shift 2\n"
    "if [ -n \"$wd\" ]; then mkdir -p -- \"$wd\" && cd -- \"$wd\" || exit 1; fi\n"
    "[ -n \"$u\" ] || exec \"$@\"\n"
    "case $u in *:*) g=${u#*:}; u=${u%%:*};; *) g=;; esac\n"
    "h=$(getent passwd \"$u\" 2>/dev/null | cut -d: -f6); [ -n \"$h\" ] && export HOME=\"$h\"\n"
    "if setpriv --help 2>&1 | grep -q -- --reuid; then\n"
    "  [ -n \"$g\" ] || g=$(id -g \"$u\" 2>/dev/null) || g=$u\n"
    "  if id -u \"$u\" >/dev/null 2>&1; then grp=--init-groups; else grp=--clear-groups; fi\n"
    "  exec setpriv --reuid=\"$u\" --regid=\"$g\" $grp -- \"$@\"\n"
    "fi\n"
    "exec env POSIXLY_CORRECT=1 su -s /bin/sh -c 'unset POSIXLY_CORRECT; exec \"$0\" \"$@\"' "
    "\"$u\" \"$@\"\n";

static const char COPY_SCRIPT[] =
    "set -e\n"
    "wd=${1:-/}; own=$2; mode=$3; add=$4; dest=$5; shift 5\n"
    "t=" TPL_STEP_CTX_GUEST "; x=$(mktemp -d /tmp/.hearth-ctx.XXXXXX)\n"
    "trap 'rm -rf \"$x\" \"$t\"' EXIT\n"
    "tar --no-same-owner -xf \"$t\" -C \"$x\" 2>/dev/null || tar -xf \"$t\" -C \"$x\"\n"
    "mkdir -p -- \"$wd\"; cd -- \"$wd\"\n"
    "multi=0; [ $# -gt 1 ] && multi=1; case $dest in */) multi=1;; esac\n"
    "fix() { [ -z \"$own\" ] || chown -hR \"$own\" \"$1\"; [ -z \"$mode\" ] || chmod -R \"$mode\" \"$1\"; }\n"
    "IFS=\n"
    "for s in \"$@\"; do\n"
    "  found=0\n"
    "  for f in \"$x\"/$s; do\n"
    "    [ -e \"$f\" ] || [ -L \"$f\" ] || continue\n"
    "    found=1\n"
    "    if [ -d \"$f\" ] && [ ! -L \"$f\" ]; then\n"
    "      mkdir -p -- \"$dest\"\n"
    "      for e in \"$f\"/* \"$f\"/.[!.]* \"$f\"/..?*; do\n"
    "        [ -e \"$e\" ] || [ -L \"$e\" ] || continue\n"
    "        cp -a -- \"$e\" \"$dest\"/; fix \"$dest/${e##*/}\"\n"
    "      done\n"
    "    elif [ \"$add\" = 1 ] && tar -tf \"$f\" >/dev/null 2>&1; then\n"
    "      mkdir -p -- \"$dest\"; tar -xf \"$f\" -C \"$dest\"\n"
    "    else\n"
    "      if [ $multi = 1 ] || [ -d \"$dest\" ]; then mkdir -p -- \"$dest\"; to=\"$dest/${f##*/}\";\n"
    "      else mkdir -p -- \"$(dirname -- \"$dest\")\"; to=$dest; fi\n"
    "      cp -a -- \"$f\" \"$to\"; fix \"$to\"\n"
    "    fi\n"
    "  done\n"
    "  [ $found = 1 ] || { echo \"no source files were specified: $s\" >&2; exit 1; }\n"
    "done\n";

/* The final layer: ENV into /etc/environment (one KEY=value line per key, replacing the
 * image's line of that key), WORKDIR made, then the bytes in use on / (df's 1K blocks). */
static const char FINAL_SCRIPT[] =
    "wd=$1; shift\n"
    "[ -z \"$wd\" ] || mkdir -p -- \"$wd\" || exit 1\n"
    "f=/etc/environment; touch \"$f\" || exit 1\n"
    "for kv in \"$@\"; do\n"
    "  k=${kv%%=*}\n"
    "  grep -v \"^$k=\" \"$f\" > \"$f.hearth\" || true\n"
    "  printf '%s\\n' \"$kv\" >> \"$f.hearth\"; mv -f \"$f.hearth\" \"$f\"\n"
    "done\n"
    "sync\n"
    "df -k / | awk 'NR==2 { print $3 * 1024 }'\n";

/* ["/bin/sh", "-c", script, arg0 ($0), fixed..., rest...]: the script reads its arguments
 * as positional parameters, so no user text is ever parsed by a shell twice. */
static char **argv_build(const char *script, const char *arg0, const char *const *fixed,
                         size_t n_fixed, char *const *rest, size_t n_rest)
{
    size_t n = 4 + n_fixed + n_rest;
    char **v = calloc(n + 1, sizeof(*v));
    if (!v)
        return NULL;
    size_t k = 0;
    v[k++] = strdup("/bin/sh");
    v[k++] = strdup("-c");
    v[k++] = strdup(script);
    v[k++] = strdup(arg0);
    for (size_t i = 0; i < n_fixed; i++)
        v[k++] = strdup(fixed[i] ? fixed[i] : "");
    for (size_t i = 0; i < n_rest; i++)
        v[k++] = strdup(rest[i]);
    for (size_t i = 0; i < k; i++)
        if (!v[i]) {
            for (size_t j = 0; j < k; j++)
                free(v[j]);
            free(v);
            return NULL;
        }
    return v;
}

char **tpl_step_run_argv(char *const *cmd, const char *workdir, const char *user)
{
    const char *fixed[] = { workdir, user };
    return argv_build(RUN_SCRIPT, "hearth-run", fixed, 2, cmd, tpl_strv_len(cmd));
}

char **tpl_step_copy_argv(char *const *srcs, size_t n, const char *dest, const char *workdir,
                          const char *chown, const char *chmod, bool add)
{
    const char *fixed[] = { workdir, chown, chmod, add ? "1" : "0", dest };
    return argv_build(COPY_SCRIPT, "hearth-copy", fixed, 5, srcs, n);
}

char **tpl_step_final_argv(char *const *env, const char *workdir)
{
    const char *fixed[] = { workdir };
    return argv_build(FINAL_SCRIPT, "hearth-final", fixed, 1, env, tpl_strv_len(env));
}
