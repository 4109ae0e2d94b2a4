/* SPDX-License-Identifier: MIT */
/* host_local.c: the host interface (host.h) in-process, on hearthd's libevent loop: the host
 * object (config, run root, cgroup root), completions delivered from the loop, and the
 * queries. Each VM (struct host_vm) is a state machine driven by events on its fds and timers
 * (host_vm.c: the object, its teardown and QEMU's exit; host_boot.c: create; host_adopt.c,
 * host_destroy.c, host_resize.c, host_net.c, host_streams.c, host_snapshot.c: pause and
 * restore; host_flatten.c: disk chains), all sharing host_internal.h. Nothing blocks the loop.
 * Knows nothing of sandboxes or the store. */
#include "daemon/host/host.h"
#include "daemon/host/host_internal.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/host/cgroup.h"
#include "daemon/host/console_log.h"
#include "daemon/host/jail.h"

#define HOST_ERR_STR_(name, str) [name] = str,
static const char *const host_err_names[] = { HOST_ERR_TABLE(HOST_ERR_STR_) };
#undef HOST_ERR_STR_

const char *host_err_to_string(enum host_err e)
{
    if ((unsigned)e < sizeof(host_err_names) / sizeof(host_err_names[0]))
        return host_err_names[e];
    return "unknown";
}

/* --- completions --- */

/* Runs d's callback and frees it. */
static void defer_run(struct hvm_defer *d)
{
    if (d->done)
        d->done(d->ud, d->id, &d->res);
    else if (d->on_exit)
        d->on_exit(d->ud, d->id, &d->ex);
    free(d);
}

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
    struct host *h = arg;
    /* Detach the whole list first: a callback may free h (host_free()). */
    struct hvm_defer *list = h->defers;
    h->defers = NULL;
    h->defers_tail = &h->defers;
    while (list) {
        struct hvm_defer *d = list;
        list = d->next;
        defer_run(d);
    }
}

struct hvm_defer *hvm_defer_new(struct host *h, const char *id)
{
    struct hvm_defer *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL; /* out of memory: the completion is lost; nothing better to do */
    snprintf(d->id, sizeof(d->id), "%s", id ? id : "");
    *h->defers_tail = d;
    h->defers_tail = &d->next;
    event_active(h->ev_defer, EV_TIMEOUT, 0);
    return d;
}

void hvm_defer_done(struct host *h, host_done_fn done, void *ud, const char *id,
                       const struct host_result *res)
{
    if (!done)
        return;
    struct hvm_defer *d = hvm_defer_new(h, id);
    if (!d)
        return;
    d->done = done;
    d->ud = ud;
    d->res = *res;
}

__attribute__((format(printf, 4, 0)))
static void result_vset(struct host_result *res, enum host_err err, int errnum, const char *fmt,
                        va_list ap)
{
    *res = (struct host_result){ .err = err, .errnum = errnum };
    vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
}

__attribute__((format(printf, 4, 5)))
void hvm_result_set(struct host_result *res, enum host_err err, int errnum, const char *fmt,
                    ...)
{
    va_list ap;
    va_start(ap, fmt);
    result_vset(res, err, errnum, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 6, 7)))
void hvm_fail_now(struct host *h, host_done_fn done, void *ud, const char *id,
                  enum host_err err, const char *fmt, ...)
{
    struct host_result res;
    va_list ap;
    va_start(ap, fmt);
    result_vset(&res, err, -EINVAL, fmt, ap);
    va_end(ap);
    hvm_defer_done(h, done, ud, id, &res);
}

/* Maps a start-up errno to the typed error. */
enum host_err hvm_err_from_errno(int r)
{
    switch (r) {
    case -ENOENT:
        return HOST_E_NOT_FOUND;
    case -EINVAL:
    case -ENAMETOOLONG:
        return HOST_E_INVALID;
    case -EEXIST:
        return HOST_E_EXISTS;
    case -ETIMEDOUT:
        return HOST_E_TIMEOUT;
    case -ECHILD:
        return HOST_E_QEMU;
    case -EIO:
    case -EPROTO:
        return HOST_E_GUEST;
    case -ESRCH:
    case -ECONNRESET:
        return HOST_E_GONE;
    default:
        return HOST_E_SYSTEM;
    }
}

/* --- the host --- */

int hvm_copy_str(char *out, size_t len, const char *s)
{
    if ((size_t)snprintf(out, len, "%s", s ? s : "") >= len)
        return -ENAMETOOLONG;
    return 0;
}

int host_new(struct event_base *base, const struct host_config *c, struct host **ret)
{
    if (!base || !c || !c->images_dir || !c->run_root || c->run_root[0] != '/' ||
        strchr(c->run_root, ','))
        return -EINVAL;
    enum qemu_accel accel = QEMU_ACCEL_AUTO;
    if (c->accel && qemu_accel_from_string(c->accel, &accel) < 0)
        return -EINVAL;
    struct host *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->base = base;
    h->accel = qemu_accel_resolve(accel, "/sys/module", "/dev/kvm");
    h->boot_ms = c->boot_timeout_ms > 0 ? c->boot_timeout_ms : 30000;
    h->stop_ms = c->stop_timeout_ms > 0 ? c->stop_timeout_ms : 10000;
    h->adopt_ms = c->adopt_timeout_ms > 0 ? c->adopt_timeout_ms : 10000;
    h->keep_dirs = c->keep_run_dirs;
    h->defers_tail = &h->defers;
    int r = 0;
    if (hvm_copy_str(h->images_dir, sizeof(h->images_dir), c->images_dir) < 0 ||
        hvm_copy_str(h->run_root, sizeof(h->run_root), c->run_root) < 0 ||
        hvm_copy_str(h->qemu_bin, sizeof(h->qemu_bin), c->qemu_bin) < 0 ||
        hvm_copy_str(h->qemu_img, sizeof(h->qemu_img), c->qemu_img) < 0) {
        r = -ENAMETOOLONG;
        goto out_free;
    }
    if (c->kernel)
        r = hvm_copy_str(h->kernel, sizeof(h->kernel), c->kernel);
    else
        r = qemu_run_path(h->images_dir, "vmlinux", h->kernel, sizeof(h->kernel));
    if (r < 0)
        goto out_free;
    const char *cg = c->cgroup_root ? c->cgroup_root : "/sys/fs/cgroup/hearth";
    if ((r = cgroup_detect(cg, &h->cg, h->cgroup_note, sizeof(h->cgroup_note))) < 0)
        goto out_free;
    h->jail = !c->no_jail;
    h->uid_base = c->jail_uid_base ? c->jail_uid_base : JAIL_UID_BASE_DEFAULT;
    h->uid_count = c->jail_uid_count ? c->jail_uid_count : JAIL_UID_COUNT_DEFAULT;
    uint32_t probe;
    if (h->jail && jail_uid_pick(h->uid_base, h->uid_count, "x", NULL, NULL, &probe) < 0) {
        r = -EINVAL;
        goto out_free;
    }
    if (mkdir(h->run_root, 0700) < 0 && errno != EEXIST) {
        r = -errno;
        goto out_free;
    }
    h->io_bps = c->io_bps;
    h->io_iops = c->io_iops;
    if ((h->io_bps || h->io_iops) && cgroup_disk_of(h->run_root, h->io_dev) < 0)
        h->io_dev[0] = '\0'; /* not on a block device: nothing to throttle */
    h->ev_defer = event_new(base, -1, 0, on_defer, h);
    if (!h->ev_defer) {
        r = -ENOMEM;
        goto out_free;
    }
    if ((r = console_log_start(h, c->console_log_max)) < 0)
        goto out_free;
    *ret = h;
    return 0;
out_free:
    console_log_stop(h);
    if (h->ev_defer)
        event_free(h->ev_defer);
    free(h);
    return r;
}

void host_set_on_exit(struct host *h, host_exit_fn fn, void *ud)
{
    h->on_exit = fn;
    h->on_exit_ud = ud;
}

static void host_release(struct host *h)
{
    /* completions still queued run now: the loop will not get to them */
    while (h->defers) {
        struct hvm_defer *d = h->defers;
        h->defers = d->next;
        defer_run(d);
    }
    if (h->ev_defer)
        event_free(h->ev_defer);
    console_log_stop(h);
    free(h);
}

/* host_free() (keep_vms false) and host_free_keep_vms(). */
static void host_teardown(struct host *h, bool keep_vms)
{
    if (!h)
        return;
    hvm_flatten_stop_all(h, !keep_vms);
    while (h->vms) {
        struct host_vm *vm = h->vms;
        h->vms = vm->next;
        if (keep_vms) {
            hvm_release(vm, false);
            hvm_free(vm);
            continue;
        }
        hvm_kill_now(vm);
        hvm_release(vm, true);
        if (vm->state != HVM_ADOPTING && !h->keep_dirs)
            hvm_remove_dir(vm); /* a cgroup still busy: pruned at the next start */
        struct host_result cancel;
        hvm_result_set(&cancel, HOST_E_CANCELED, -ECANCELED, "vm '%s': the host was shut down",
                   vm->id);
        if (vm->start_done)
            vm->start_done(vm->start_ud, vm->id, &cancel);
        if (vm->pause_done)
            vm->pause_done(vm->pause_ud, vm->id, &cancel);
        if (vm->destroy_done) {
            struct host_result ok = { .err = HOST_OK };
            vm->destroy_done(vm->destroy_ud, vm->id, &ok);
        }
        hvm_free(vm);
    }
    /* what a crash would lose: pending completions are dropped, not run */
    while (keep_vms && h->defers) {
        struct hvm_defer *d = h->defers;
        h->defers = d->next;
        free(d);
    }
    host_release(h);
}

void host_free(struct host *h)
{
    host_teardown(h, false);
}

void host_free_keep_vms(struct host *h)
{
    host_teardown(h, true);
}

/* --- queries --- */

bool host_cgroups(struct host *h, char *note, size_t len)
{
    if (len)
        snprintf(note, len, "%s", h->cgroup_note);
    return h->cg.kind != CGROUP_NONE;
}

const char *host_accel_name(const struct host *h)
{
    return qemu_accel_to_string(h->accel);
}

bool host_jailed(struct host *h, uint32_t *ret_uid_base, uint32_t *ret_uid_count)
{
    if (ret_uid_base)
        *ret_uid_base = h->uid_base;
    if (ret_uid_count)
        *ret_uid_count = h->uid_count;
    return h->jail;
}

static bool cgroup_claimed(void *ud, const char *name)
{
    return hvm_find(ud, name) != NULL;
}

int host_cgroup_prune(struct host *h)
{
    return cgroup_layout_prune(&h->cg, cgroup_claimed, h);
}

/* A new zeroed entry at the end of *v (n entries of cap, doubled when full); NULL when out of
 * memory (*v unchanged). */
static struct host_orphan *orphan_add(struct host_orphan **v, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct host_orphan *nv = realloc(*v, ncap * sizeof(*nv));
        if (!nv)
            return NULL;
        *v = nv;
        *cap = ncap;
    }
    (*v)[*n] = (struct host_orphan){ 0 };
    return &(*v)[(*n)++];
}

int host_vm_list_orphans(struct host *h, struct host_orphan **ret, size_t *ret_n)
{
    DIR *d = opendir(h->run_root);
    if (!d)
        return -errno;
    struct host_orphan *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int r = 0;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (hvm_find(h, de->d_name))
            continue;
        struct host_orphan *o = orphan_add(&v, &n, &cap);
        if (!o) {
            r = -ENOMEM;
            break;
        }
        snprintf(o->id, sizeof(o->id), "%.64s", de->d_name);
        o->valid = rundir_id_valid(de->d_name);
        char dir[PATH_MAX];
        pid_t pid;
        int pidfd;
        if (o->valid && qemu_run_path(h->run_root, de->d_name, dir, sizeof(dir)) == 0 &&
            hvm_qemu_open(h, dir, &pid, &pidfd) == 0) {
            o->pid = pid;
            o->alive = true;
            close(pidfd);
        }
    }
    closedir(d);
    if (r < 0) {
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

bool host_vm_running(struct host *h, const char *id)
{
    struct host_vm *vm = hvm_find(h, id);
    return vm && vm->state == HVM_RUNNING && vm->qemu_alive;
}

pid_t host_vm_pid(struct host *h, const char *id)
{
    struct host_vm *vm = hvm_find(h, id);
    return vm && vm->qemu_alive ? vm->qemu.pid : 0;
}

int host_vm_run_dir(struct host *h, const char *id, char *out, size_t len)
{
    if (!rundir_id_valid(id))
        return -EINVAL;
    if ((size_t)snprintf(out, len, "%s/%s", h->run_root, id) >= len)
        return -ENAMETOOLONG;
    return 0;
}

unsigned host_vm_count(struct host *h)
{
    unsigned n = 0;
    for (struct host_vm *vm = h->vms; vm; vm = vm->next)
        n += vm->state == HVM_RUNNING && vm->qemu_alive;
    return n;
}
