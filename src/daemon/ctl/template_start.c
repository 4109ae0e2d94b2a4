/* SPDX-License-Identifier: MIT */
/* template_start.c: a template's start command and ready check in a running VM (template_vm.h
 * ctl_tpl_vm_start, docs/templates.md "Start command and ready check"): the command starts
 * detached through the agent, then the check is polled through the agent every 100 ms until it
 * passes, the command is seen to have failed, or the timeout ends; and the network of build
 * VMs (netplane.h does the work). The guest is hostile: it only ever answers with an exit
 * status and a bounded stderr tail. */
#include "daemon/ctl/template_vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/mono.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/guest.h"
#include "daemon/ctl/netplane.h"
#include "daemon/log.h"

#define POLL_MS 100
#define START_EXEC_MS 15000          /* the detaching shell itself: returns at once */
#define POLL_EXEC_MAX_MS 10000       /* one check */
#define EXIT_FILE "/run/hearth-start.exit"

/* $1 workdir ("" = /), $2 user ("" = root), $3 the command. The command is an argument, never
 * spliced into the script. Its exit status lands in EXIT_FILE so a check can tell "not ready
 * yet" from "gone" (a start command that ends at once with an error). runuser is Debian's,
 * su is busybox's (and Debian's) when it is missing. */
static const char start_script[] =
    "mkdir -p /var/log /run 2>/dev/null; rm -f " EXIT_FILE "\n"
    "cd \"${1:-/}\" || { echo \"start command: cannot enter workdir $1\" >&2; exit 2; }\n"
    "u=$2; cmd=$3; set --\n"
    "case \"$u\" in ''|root|0|0:0) set -- /bin/sh -c \"$cmd\" ;;\n"
    "*) if command -v runuser >/dev/null 2>&1; then set -- runuser -u \"${u%%:*}\" -- /bin/sh -c "
    "\"$cmd\"\n"
    "   else set -- su -s /bin/sh -c \"$cmd\" \"${u%%:*}\"; fi ;;\n"
    "esac\n"
    "setsid /bin/sh -c '\"$@\"; echo $? > " EXIT_FILE "' sh \"$@\" "
    ">/var/log/hearth-start.log 2>&1 </dev/null &\n";

/* $1 kind, $2 argument. Exit 0: ready; 3: the start command ended with an error (stderr says
 * how, with the log's tail); else not yet. A port counts when a TCP connect to 127.0.0.1 works
 * (bash's /dev/tcp, in images with bash) or, without bash (busybox images), when a socket
 * listens on it in /proc/net/tcp{,6}. */
static const char poll_script[] =
    "k=$1; a=$2\n"
    "case \"$k\" in\n"
    "port) if command -v bash >/dev/null 2>&1; then\n"
    "        bash -c 'exec 3<>\"/dev/tcp/127.0.0.1/$1\"' sh \"$a\" 2>/dev/null && exit 0\n"
    "      fi\n"
    "      h=$(printf '%04X' \"$a\")\n"
    "      grep -qE \"^ *[0-9]+: [0-9A-F]+:$h [0-9A-F]+:[0-9A-F]+ 0A \" /proc/net/tcp "
    "/proc/net/tcp6 2>/dev/null && exit 0 ;;\n"
    "file) test -e \"$a\" && exit 0 ;;\n"
    "command) /bin/sh -c \"$a\" >/dev/null 2>&1 </dev/null && exit 0 ;;\n"
    "*) exit 0 ;;\n"
    "esac\n"
    "if [ -f " EXIT_FILE " ]; then c=$(cat " EXIT_FILE ")\n"
    "  if [ \"$c\" != 0 ]; then\n"
    "    echo \"start command exited $c: $(tail -c 200 /var/log/hearth-start.log 2>/dev/null | "
    "tr '\\n' ' ')\" >&2; exit 3\n"
    "  fi\n"
    "fi\n"
    "exit 1\n";

struct tpl_start {
    struct ctl *ctx;
    char id[STORE_ID_SIZE];
    struct ctl_tpl_ready ready;      /* arg owned */
    int64_t deadline_us;
    struct event *timer;
    int fail_err;                    /* a failure to report from the loop */
    ctl_tpl_vm_done_fn done;
    void *ud;
};

static void start_end(struct tpl_start *s, int err, const char *msg)
{
    if (s->timer)
        event_free(s->timer);
    ctl_tpl_vm_done_fn done = s->done;
    void *ud = s->ud;
    free(s->ready.arg);
    free(s);
    done(ud, err, msg);
}

/* "port 8080 not open", "/srv/ready missing", "`curl …` failed" for a timeout message. */
static void check_what(const struct ctl_tpl_ready *r, char *out, size_t len)
{
    switch (r->kind) {
    case CTL_TPL_READY_PORT:
        snprintf(out, len, "port %u not open", (unsigned)r->port);
        break;
    case CTL_TPL_READY_FILE:
        snprintf(out, len, "%.200s missing", r->arg);
        break;
    default:
        snprintf(out, len, "command `%.120s` did not succeed", r->arg);
        break;
    }
}

static void poll_once(struct tpl_start *s);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct tpl_start *s = arg;
    if (s->fail_err) {
        start_end(s, s->fail_err, "start command: the VM is gone");
        return;
    }
    if (s->ready.kind == CTL_TPL_READY_DELAY) {
        start_end(s, 0, "");
        return;
    }
    poll_once(s);
}

static void arm(struct tpl_start *s, unsigned ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    evtimer_add(s->timer, &tv);
}

static void on_polled(void *ud, int err, int status, const char *msg)
{
    struct tpl_start *s = ud;
    char why[400];
    if (err == 0 && status == 0) {
        start_end(s, 0, "");
        return;
    }
    if (err == 0 && status == 3) {
        snprintf(why, sizeof(why), "%.300s", msg);
        for (size_t n = strlen(why); n && why[n - 1] == ' '; n--)
            why[n - 1] = '\0'; /* the log's last newline, turned into a space */
        start_end(s, -EIO, why);
        return;
    }
    if (err < 0 && err != -ETIMEDOUT) { /* the VM or its agent went away */
        snprintf(why, sizeof(why), "ready check: %.300s", msg[0] ? msg : strerror(-err));
        start_end(s, err, why);
        return;
    }
    if (mono_now_us() >= s->deadline_us) {
        char what[256];
        check_what(&s->ready, what, sizeof(what));
        snprintf(why, sizeof(why), "ready check: %s after %u s", what,
                 (unsigned)s->ready.timeout_s);
        start_end(s, -ETIMEDOUT, why);
        return;
    }
    arm(s, POLL_MS);
}

static void poll_once(struct tpl_start *s)
{
    static const char *const kinds[] = { [CTL_TPL_READY_NONE] = "none",
                                         [CTL_TPL_READY_PORT] = "port",
                                         [CTL_TPL_READY_FILE] = "file",
                                         [CTL_TPL_READY_COMMAND] = "command",
                                         [CTL_TPL_READY_DELAY] = "none" };
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)s->ready.port);
    const char *arg = s->ready.kind == CTL_TPL_READY_PORT ? port
                      : s->ready.arg                      ? s->ready.arg
                                                          : "";
    const char *argv[] = { "/bin/sh", "-c", poll_script, "sh", kinds[s->ready.kind], arg, NULL };
    int64_t left_ms = (s->deadline_us - mono_now_us()) / 1000;
    unsigned to = left_ms < 1000 ? 1000 : left_ms > POLL_EXEC_MAX_MS ? POLL_EXEC_MAX_MS
                                                                     : (unsigned)left_ms;
    int r = guest_run(s->ctx->host, s->ctx->base, s->id, argv, to, on_polled, s);
    if (r < 0)
        start_end(s, r, "ready check: the VM is gone");
}

static void on_started(void *ud, int err, int status, const char *msg)
{
    struct tpl_start *s = ud;
    if (err < 0 || status != 0) {
        char why[400];
        snprintf(why, sizeof(why), "start command: %.300s (%s %d)",
                 msg[0] ? msg : "cannot start", err < 0 ? "error" : "exit status",
                 err < 0 ? err : status);
        start_end(s, err < 0 ? err : -EIO, why);
        return;
    }
    s->deadline_us = mono_now_us() + (int64_t)s->ready.timeout_s * 1000000;
    if (s->ready.kind == CTL_TPL_READY_DELAY)
        arm(s, s->ready.delay_ms);
    else
        poll_once(s);
}

void ctl_tpl_vm_start(struct ctl *c, const char *vm_id, const struct ctl_tpl_image *t,
                      ctl_tpl_vm_done_fn done, void *ud)
{
    struct tpl_start *s = calloc(1, sizeof(*s));
    if (!s) {
        done(ud, -ENOMEM, "out of memory");
        return;
    }
    s->ctx = c;
    s->done = done;
    s->ud = ud;
    snprintf(s->id, sizeof(s->id), "%s", vm_id);
    s->ready = t->ready;
    s->ready.arg = NULL;
    if (!s->ready.timeout_s || s->ready.timeout_s > CTL_TPL_READY_TIMEOUT_MAX_S)
        s->ready.timeout_s = CTL_TPL_READY_TIMEOUT_DEFAULT_S;
    s->timer = evtimer_new(c->base, on_timer, s);
    if (!s->timer || (t->ready.arg && !(s->ready.arg = strdup(t->ready.arg)))) {
        start_end(s, -ENOMEM, "out of memory");
        return;
    }
    if (!t->start_cmd) {
        /* nothing to wait for: reported from the loop, as promised */
        s->ready.kind = CTL_TPL_READY_DELAY;
        arm(s, 0);
        return;
    }
    const char *argv[] = { "/bin/sh", "-c", start_script,    "sh",
                           t->workdir,  t->user, t->start_cmd, NULL };
    int r = guest_run_env(c->host, c->base, vm_id, argv, (const char *const *)t->env,
                          START_EXEC_MS, on_started, s);
    if (r < 0) {
        s->fail_err = r; /* done must not run inside this call */
        arm(s, 0);
    }
}

/* ---- build VMs' network ---- */

int ctl_tpl_builder_net(struct ctl *c, const char *vm_id, struct ctl_net_vm *ret)
{
    return ctl_net_rowless_prepare(c, vm_id, ret);
}

void ctl_tpl_builder_net_done(struct ctl *c, const char *vm_id)
{
    ctl_net_rowless_done(c, vm_id);
}
