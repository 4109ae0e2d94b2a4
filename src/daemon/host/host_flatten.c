/* SPDX-License-Identifier: MIT */
/* host_flatten.c: host_snapshot_flatten(): a snapshot's qcow2 chain folded onto its bottom in
 * the background by two qemu-img children watched through their pidfds (docs/snapshots.md
 * "Flattening long chains"). */
#include "daemon/host/host_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/mono.h"
#include "daemon/host/qemu.h"


static void flatten_free(struct hvm_flatten *f)
{
    for (struct hvm_flatten **pp = &f->h->flattens; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    if (f->ev)
        event_free(f->ev);
    proc_release(&f->p);
    free(f);
}

static void flatten_finish(struct hvm_flatten *f, enum host_err err, int errnum, const char *msg)
{
    struct host_result res = { .err = err, .errnum = errnum };
    if (err != HOST_OK)
        snprintf(res.msg, sizeof(res.msg), "snapshot '%.200s': flatten: %.280s", f->dir, msg);
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof(tmp), "%s/disk.flat.qcow2", f->dir);
    if (err != HOST_OK)
        (void)unlink(tmp);
    snprintf(tmp, sizeof(tmp), "%s/flatten.json", f->dir);
    (void)unlink(tmp);
    hvm_defer_done(f->h, f->done, f->ud, f->dir, &res);
    flatten_free(f);
}

void hvm_flatten_stop_all(struct host *h, bool notify)
{
    while (h->flattens) {
        struct hvm_flatten *f = h->flattens;
        proc_kill(&f->p, SIGKILL);
        (void)proc_wait(&f->p, mono_now_us() + HVM_KILL_WAIT_MS * 1000);
        if (notify) {
            struct host_result res = { .err = HOST_E_CANCELED, .errnum = -ECANCELED };
            snprintf(res.msg, sizeof(res.msg), "snapshot '%.400s': the host was shut down",
                     f->dir);
            if (f->done)
                f->done(f->ud, f->dir, &res);
        }
        flatten_free(f);
    }
}

static int flatten_spawn(struct hvm_flatten *f, char **argv, const char *log);

static void on_flatten_child(evutil_socket_t fd, short what, void *arg)
{
    struct hvm_flatten *f = arg;
    (void)proc_try_reap(&f->p);
    int status = f->p.status;
    proc_release(&f->p);
    event_free(f->ev);
    f->ev = NULL;
    char info[PATH_MAX + 32], disk[PATH_MAX + 32], flat[PATH_MAX + 32];
    snprintf(info, sizeof(info), "%s/flatten.json", f->dir);
    snprintf(disk, sizeof(disk), "%s/disk.qcow2", f->dir);
    snprintf(flat, sizeof(flat), "%s/disk.flat.qcow2", f->dir);
    if (status != 0) {
        char tail[300];
        qemu_log_tail(info, tail, sizeof(tail));
        flatten_finish(f, HOST_E_QEMU, -EIO, tail);
        return;
    }
    if (f->converting) {
        /* the new file is whole: it replaces the old name; users of the old inode keep it */
        int ffd = open(flat, O_RDONLY | O_CLOEXEC);
        if (ffd >= 0) {
            (void)fsync(ffd);
            close(ffd);
        }
        if (rename(flat, disk) < 0)
            flatten_finish(f, HOST_E_SYSTEM, -errno, strerror(errno));
        else
            flatten_finish(f, HOST_OK, 0, "");
        return;
    }
    /* stage 1 done: the chain, top first; its last entry is what stays as the backing */
    json_error_t je;
    json_t *chain = json_load_file(info, 0, &je);
    size_t n = json_array_size(chain);
    json_t *bottom = n ? json_array_get(chain, n - 1) : NULL;
    const char *bfile = json_string_value(json_object_get(bottom, "filename"));
    const char *bfmt = json_string_value(json_object_get(bottom, "format"));
    if (!json_is_array(chain) || !bfile || !bfmt) {
        json_decref(chain);
        flatten_finish(f, HOST_E_QEMU, -EBADMSG, "qemu-img info gave no backing chain");
        return;
    }
    if (n <= 2) {
        json_decref(chain);
        flatten_finish(f, HOST_OK, 0, ""); /* only the bottom below: nothing to fold */
        return;
    }
    char bfile_c[PATH_MAX], bfmt_c[16];
    snprintf(bfile_c, sizeof(bfile_c), "%s", bfile);
    snprintf(bfmt_c, sizeof(bfmt_c), "%s", bfmt);
    json_decref(chain);
    (void)unlink(flat);
    const char *img = f->h->qemu_img[0] ? f->h->qemu_img : "qemu-img";
    /* -U: VMs have these files open (shared, read-only); -B: clusters only the bottom has
     * stay there */
    char *argv[] = { (char *)img, "convert", "-U", "-q", "-f", "qcow2", "-O", "qcow2",
                     "-B", bfile_c, "-F", bfmt_c, disk, flat, NULL };
    f->converting = true;
    int r = flatten_spawn(f, argv, info);
    if (r < 0)
        flatten_finish(f, HOST_E_QEMU, r, "cannot run qemu-img");
}

static int flatten_spawn(struct hvm_flatten *f, char **argv, const char *log)
{
    (void)unlink(log);
    int r = proc_spawn(argv, log, &f->p);
    if (r < 0)
        return r;
    f->ev = event_new(f->h->base, f->p.pidfd, EV_READ, on_flatten_child, f);
    if (!f->ev) {
        proc_kill(&f->p, SIGKILL);
        (void)proc_wait(&f->p, -1);
        proc_release(&f->p);
        return -ENOMEM;
    }
    event_add(f->ev, NULL);
    return 0;
}

void host_snapshot_flatten(struct host *h, const char *snap_dir, host_done_fn done, void *ud)
{
    char disk[PATH_MAX + 32], info[PATH_MAX + 32];
    if (!snap_dir || snap_dir[0] != '/' || strlen(snap_dir) >= PATH_MAX - 32) {
        hvm_fail_now(h, done, ud, snap_dir, HOST_E_INVALID, "invalid snapshot dir");
        return;
    }
    snprintf(disk, sizeof(disk), "%s/disk.qcow2", snap_dir);
    snprintf(info, sizeof(info), "%s/flatten.json", snap_dir);
    if (access(disk, R_OK) < 0) {
        hvm_fail_now(h, done, ud, snap_dir, HOST_E_NOT_FOUND, "snapshot '%s' has no disk.qcow2",
                 snap_dir);
        return;
    }
    struct hvm_flatten *f = calloc(1, sizeof(*f));
    if (!f) {
        hvm_fail_now(h, done, ud, snap_dir, HOST_E_SYSTEM, "out of memory");
        return;
    }
    f->h = h;
    f->done = done;
    f->ud = ud;
    f->p.pidfd = -1;
    snprintf(f->dir, sizeof(f->dir), "%s", snap_dir);
    f->next = h->flattens;
    h->flattens = f;
    const char *img = h->qemu_img[0] ? h->qemu_img : "qemu-img";
    char *argv[] = { (char *)img, "info", "-U", "--backing-chain", "--output=json", disk, NULL };
    int r = flatten_spawn(f, argv, info);
    if (r < 0) {
        struct host_result res = { .err = HOST_E_QEMU, .errnum = r };
        snprintf(res.msg, sizeof(res.msg), "snapshot '%s': cannot run qemu-img", snap_dir);
        hvm_defer_done(h, done, ud, snap_dir, &res);
        flatten_free(f);
    }
}

