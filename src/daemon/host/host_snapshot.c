/* SPDX-License-Identifier: MIT */
/* host_snapshot.c: the host's pause (host_vm_pause()) and restore (host_vm_create() with a
 * snapshot) as steps on the loop (docs/snapshots.md): QMP commands chained through their
 * replies, the migration stream read from and written to Unix sockets without blocking, the
 * RAM of a private-RAM VM split out of the stream (migsplit.c), the snapshot format in
 * snapshot.c. */
#include "daemon/host/host_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "common/crashpt.h"
#include "common/fdio.h"
#include "common/mono.h"
#include "common/unix_addr.h"
#include "daemon/host/migsplit.h"
#include "daemon/host/qemu.h"
#include "daemon/host/jail.h"
#include "daemon/host/snapshot.h"
#include "daemon/host/usock.h"

/* --- restore (docs/snapshots.md "Restore") --- */

static void restore_fail(struct host_vm *vm, enum host_err err, int errnum, const char *what,
                         const struct qmp_msg *reply)
{
    struct host_result res;
    if (reply && reply->kind == QMP_MSG_ERROR)
        hvm_result_set(&res, err, errnum, "vm '%s': restore from '%s': %s failed: %s: %s", vm->id,
                   vm->snap_dir, what, reply->err_class, reply->err_desc);
    else
        hvm_result_set(&res, err, errnum, "vm '%s': restore from '%s': %s", vm->id, vm->snap_dir,
                   what);
    hvm_start_failed(vm, &res);
    hvm_maybe_finish(vm);
}


/* Both sides of a snapshot migrate with x-ignore-shared: RAM shared with a file stays out of
 * the stream (docs/guests.md). A new object, or NULL. */
static json_t *ignore_shared_caps(void)
{
    return json_pack("{s:[{s:s,s:b}]}", "capabilities", "capability", "x-ignore-shared",
                     "state", 1);
}

/* A query-migrate reply, on either side: 1 completed; 0 still running (the next poll is
 * armed: ~1 ms, the device state takes a few ms); -EIO failed, with msg "<what> <status>:
 * <QEMU's reason, or no_reason>". */
static int migration_polled(struct host_vm *vm, const struct qmp_msg *reply, const char *what,
                            const char *no_reason, char *msg, size_t len)
{
    const char *st, *why;
    enum qmp_migration m = qmp_migration_state(reply->ret, &st, &why);
    if (m == QMP_MIGRATION_FAILED) {
        snprintf(msg, len, "%s %s: %s", what, st, why ? why : no_reason);
        return -EIO;
    }
    if (m != QMP_MIGRATION_COMPLETED) {
        hvm_timer_arm(vm->ev_retry, 1);
        return 0;
    }
    return 1;
}

/* The QMP command of each step of a restore and of a pause. */
static const char *const restore_cmds[] = {
    [HVM_RESTORE_VERSION] = "query-version", [HVM_RESTORE_CAPS] = "migrate-set-capabilities",
    [HVM_RESTORE_INCOMING] = "migrate-incoming", [HVM_RESTORE_WAIT] = "query-migrate",
    [HVM_RESTORE_CONT] = "cont",
};
static const char *const pause_cmds[] = {
    [HVM_PAUSE_STOP] = "stop", [HVM_PAUSE_VERSION] = "query-version",
    [HVM_PAUSE_CAPS] = "migrate-set-capabilities", [HVM_PAUSE_PARAMS] = "migrate-set-parameters",
    [HVM_PAUSE_MIGRATE] = "migrate", [HVM_PAUSE_WAIT] = "query-migrate", [HVM_PAUSE_QUIT] = "quit",
    [HVM_PAUSE_CONT] = "cont",
};

/* {"uri": "unix:<run dir>/<sock>"}, for migrate and migrate-incoming; NULL: out of memory. */
static json_t *sock_uri(struct host_vm *vm, const char *sock)
{
    char path[PATH_MAX], uri[PATH_MAX + 8];
    (void)hvm_sock_path(vm, sock, path);
    snprintf(uri, sizeof(uri), "unix:%s", path);
    return json_pack("{s:s}", "uri", uri);
}

/* Sends a step's command cmd with args (taken; NULL for none, or when want_args, out of
 * memory) with on_reply; 0 or -errno. */
static int step_send(struct host_vm *vm, const char *cmd, json_t *args, bool want_args,
                     qmp_reply_fn on_reply)
{
    int r = want_args && !args ? -ENOMEM : qmp_client_send(vm->qmp, cmd, args, on_reply, vm);
    json_decref(args);
    return r;
}

static void on_restore_reply(void *ud, const struct qmp_msg *reply)
{
    struct host_vm *vm = ud;
    if (vm->state != HVM_CREATING || !vm->restore)
        return;
    if (reply->kind == QMP_MSG_ERROR) {
        restore_fail(vm, HOST_E_QEMU, -EREMOTEIO, restore_cmds[vm->rstep], reply);
        return;
    }
    char msg[400];
    switch (vm->rstep) {
    case HVM_RESTORE_VERSION: {
        char version[128];
        qmp_version_string(reply->ret, version, sizeof(version));
        if (strcmp(version, vm->qemu_version) != 0) {
            char why[400];
            snprintf(why, sizeof(why), "the snapshot was taken with QEMU %s; this is QEMU %s",
                     vm->qemu_version, version);
            restore_fail(vm, HOST_E_INVALID, -ESTALE, why, NULL);
            return;
        }
        vm->rstep = HVM_RESTORE_CAPS;
        break;
    }
    case HVM_RESTORE_CAPS: /* the capability is set: migrate-incoming next */
    case HVM_RESTORE_INCOMING: /* QEMU listens on incoming.sock: send the state */
        if (vm->rstep == HVM_RESTORE_INCOMING)
            timeline_mark(&vm->tl, "incoming");
        vm->rstep = vm->rstep == HVM_RESTORE_CAPS ? HVM_RESTORE_INCOMING : HVM_RESTORE_SEND;
        break;
    case HVM_RESTORE_WAIT: {
        int m = migration_polled(vm, reply, "loading the device state",
                                 "(no reason given; see qemu.log)", msg, sizeof(msg));
        if (m < 0)
            restore_fail(vm, HOST_E_QEMU, -EIO, msg, NULL);
        if (m <= 0)
            return;
        timeline_mark(&vm->tl, "state");
        vm->rstep = HVM_RESTORE_CONT;
        vm->guest_ran = true;
        break;
    }
    case HVM_RESTORE_CONT:
        /* the guest runs: now the agent handshake (resync only when the pause could not
         * prove the agent's reader idle) */
        timeline_mark(&vm->tl, "cont");
        vm->rstep = HVM_RESTORE_DONE;
        vm->qmp_ready = true;
        vm->step = HVM_STEP_AGENT_CONNECT;
        hvm_timer_arm(vm->ev_retry, 0);
        return;
    default:
        return;
    }
    hvm_restore_next(vm);
}

static void on_restore_in_writable(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
    while (vm->state_off < vm->state_len) {
        ssize_t n = send(vm->in_fd, vm->state_buf + vm->state_off,
                         vm->state_len - vm->state_off, MSG_NOSIGNAL);
        if (n > 0) {
            vm->state_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            event_add(vm->ev_in, NULL);
            return;
        }
        /* QEMU refused the stream and is exiting: its pidfd tells why */
        restore_fail(vm, HOST_E_QEMU, -errno, "QEMU stopped reading the device state", NULL);
        return;
    }
    hvm_ev_free(&vm->ev_in);
    hvm_fd_close(&vm->in_fd); /* EOF ends QEMU's load */
    free(vm->state_buf);
    vm->state_buf = NULL;
    vm->rstep = HVM_RESTORE_WAIT;
    hvm_restore_next(vm);
}

/* Sends the command of the current step (or starts the state upload). */
/* QEMU listens on incoming.sock once migrate-incoming returned: the state file goes in. */
static void restore_send_state(struct host_vm *vm)
{
    char path[PATH_MAX];
    (void)hvm_sock_path(vm, "incoming.sock", path);
    int r = usock_connect(path, &vm->in_fd);
    if (r < 0) {
        restore_fail(vm, HOST_E_QEMU, r, "cannot connect to incoming.sock", NULL);
        return;
    }
    vm->ev_in = event_new(vm->h->base, vm->in_fd, EV_WRITE, on_restore_in_writable, vm);
    if (!vm->ev_in) {
        restore_fail(vm, HOST_E_SYSTEM, -ENOMEM, "out of memory", NULL);
        return;
    }
    on_restore_in_writable(vm->in_fd, EV_WRITE, vm);
}

void hvm_restore_next(struct host_vm *vm)
{
    json_t *args = NULL;
    switch (vm->rstep) {
    case HVM_RESTORE_CAPS:
        args = ignore_shared_caps();
        break;
    case HVM_RESTORE_INCOMING:
        args = sock_uri(vm, "incoming.sock");
        break;
    case HVM_RESTORE_SEND:
        restore_send_state(vm);
        return;
    case HVM_RESTORE_VERSION:
    case HVM_RESTORE_WAIT:
    case HVM_RESTORE_CONT:
        break;
    default:
        return;
    }
    bool want_args = vm->rstep == HVM_RESTORE_CAPS || vm->rstep == HVM_RESTORE_INCOMING;
    int r = step_send(vm, restore_cmds[vm->rstep], args, want_args, on_restore_reply);
    if (r < 0) {
        restore_fail(vm, HOST_E_QEMU, r, "the QMP connection broke", NULL);
        return;
    }
    hvm_update_qmp_write(vm);
}

/* Reads the whole state file (a few ten KB; bounded) for hvm_restore_next(). */
static int read_small_file(const char *path, size_t max, unsigned char **ret, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size <= 0 || (uint64_t)st.st_size > max) {
        close(fd);
        return -EFBIG;
    }
    unsigned char *buf = malloc((size_t)st.st_size);
    ssize_t n = buf ? fd_read_full(fd, buf, (size_t)st.st_size) : 0;
    size_t got = n > 0 ? (size_t)n : 0;
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        free(buf);
        return buf ? -EIO : -ENOMEM;
    }
    *ret = buf;
    *ret_len = got;
    return 0;
}

/* A shared snapshot's RAM file is mostly holes. A clone maps it private and reads only what
 * its guest touches, but the clone's first pause migrates every page: each hole read through
 * the mapping allocates a zeroed page-cache page (measured: 2.2 s for 1 GiB the first time,
 * 0.25 s once they are cached). Filling the page cache once per snapshot, in the background,
 * takes that off the pause: the pages are clean, shared by every clone, and reclaimable. */
static void *warm_thread(void *arg)
{
    char *path = arg;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
        close(fd);
    }
    free(path);
    return NULL;
}

static void warm_snapshot_ram(struct host *h, const char *mem)
{
    for (unsigned i = 0; i < HVM_WARM_SLOTS; i++)
        if (strcmp(h->warmed[i], mem) == 0)
            return;
    snprintf(h->warmed[h->warm_next], sizeof(h->warmed[0]), "%s", mem);
    h->warm_next = (h->warm_next + 1) % HVM_WARM_SLOTS;
    char *arg = strdup(mem);
    pthread_attr_t attr;
    pthread_t t;
    if (!arg || pthread_attr_init(&attr) != 0) {
        free(arg);
        return;
    }
    (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, warm_thread, arg) != 0)
        free(arg); /* an optimisation only */
    pthread_attr_destroy(&attr);
}

/* A shared base's RAM file is only ever read (clones map it private), so its checksum is
 * checked at its first restore in this process and remembered by inode and mtime: creates
 * from a golden snapshot and forks do not pay it again. */
bool hvm_ram_checked(struct host *h, const char *mem, bool remember)
{
    struct stat st;
    if (stat(mem, &st) < 0)
        return false;
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    for (unsigned i = 0; i < HVM_WARM_SLOTS; i++)
        if (h->ram_ok[i].ino == st.st_ino && h->ram_ok[i].dev == st.st_dev &&
            h->ram_ok[i].mtime_ns == mt)
            return true;
    if (remember) {
        h->ram_ok[h->ram_ok_next] = (struct hvm_ram_ok){ st.st_dev, st.st_ino, mt };
        h->ram_ok_next = (h->ram_ok_next + 1) % HVM_WARM_SLOTS;
    }
    return false;
}

/* Snapshot state larger than this is not ours (device state is ~50 KB). */
#define HVM_RESTORE_STATE_MAX (64u << 20)

/* host_vm_create() with spec->snapshot: verify, lay out the run dir, then spawn (consume) or
 * make the disk layer first (shared base). */
void hvm_restore_start(struct host_vm *vm, const struct host_vm_spec *spec)
{
    struct host *h = vm->h;
    struct herr e = { 0 };
    int r;
    char kernel_abs[PATH_MAX], snap[PATH_MAX];
    if (!realpath(h->kernel, kernel_abs)) {
        herr_set(&e, -ENOENT, "kernel '%s': %s", h->kernel, strerror(errno));
        goto fail;
    }
    if (!realpath(spec->snapshot, snap) || strchr(snap, ',')) {
        herr_set(&e, -ENOENT, "vm '%s': snapshot '%s': %s", vm->id, spec->snapshot,
                 errno ? strerror(errno) : "contains ','");
        goto fail;
    }
    snprintf(vm->snap_dir, sizeof(vm->snap_dir), "%s", snap);
    struct snapshot_meta meta;
    char smem0[PATH_MAX];
    bool ram_ok = !vm->consume && qemu_run_path(snap, "mem", smem0, sizeof(smem0)) == 0 &&
                  hvm_ram_checked(h, smem0, false);
    r = snapshot_verify(snap, vm->vcpus, vm->memory_mib, kernel_abs,
                        ram_ok ? 0 : SNAPSHOT_VERIFY_RAM, &meta, &e);
    if (r == 0 && !vm->consume && !ram_ok)
        (void)hvm_ram_checked(h, smem0, true);
    if (r < 0) {
        struct host_result res;
        hvm_result_set(&res, r == -ENOENT ? HOST_E_NOT_FOUND : HOST_E_INVALID, r, "vm '%s': %s",
                   vm->id, e.msg);
        hvm_start_failed(vm, &res);
        return;
    }
    const char *accel = qemu_accel_to_string(h->accel);
    if (meta.accel[0] && strcmp(meta.accel, accel) != 0) {
        struct host_result res;
        hvm_result_set(&res, HOST_E_INVALID, -ESTALE,
                       "vm '%s': snapshot '%s' was taken under %s; this host runs %s", vm->id,
                       snap, meta.accel, accel);
        hvm_start_failed(vm, &res);
        return;
    }
    timeline_mark(&vm->tl, "verify"); /* with the RAM checksum at a base's first restore */
    snprintf(vm->qemu_version, sizeof(vm->qemu_version), "%s", meta.qemu_version);
    vm->aligned = meta.agent_aligned;
    vm->nic = meta.nic; /* the device set must be the snapshot's */
    char state[PATH_MAX], smem[PATH_MAX], sdisk[PATH_MAX], disk[PATH_MAX], mem[PATH_MAX];
    if (qemu_run_path(snap, "state", state, sizeof(state)) < 0 ||
        qemu_run_path(snap, "mem", smem, sizeof(smem)) < 0 ||
        qemu_run_path(snap, "disk.qcow2", sdisk, sizeof(sdisk)) < 0 ||
        hvm_sock_path(vm, "disk.qcow2", disk) < 0 || hvm_sock_path(vm, "mem", mem) < 0) {
        herr_set(&e, -ENAMETOOLONG, "vm '%s': snapshot path '%s' is too long", vm->id, snap);
        goto fail;
    }
    r = read_small_file(state, HVM_RESTORE_STATE_MAX, &vm->state_buf, &vm->state_len);
    if (r < 0) {
        herr_set(&e, r, "vm '%s': snapshot state '%s': %s", vm->id, state, strerror(-r));
        goto fail;
    }
    if (vm->consume) {
        /* hard links: the snapshot stays whole until the VM runs (a failed start before cont
         * leaves it as it was); the snapshot dir goes once READY */
        if ((r = snapshot_link_or_copy(smem, mem)) < 0 ||
            (r = snapshot_link_or_copy(sdisk, disk)) < 0) {
            herr_set(&e, r, "vm '%s': cannot take over the snapshot's files: %s", vm->id,
                     strerror(-r));
            goto fail;
        }
        snprintf(vm->mem_path, sizeof(vm->mem_path), "%s", mem);
        timeline_mark(&vm->tl, "layer");
        hvm_spawn_qemu(vm);
        return;
    }
    if (h->jail) {
        /* QEMU 7.2 opens a RAM file O_RDWR even to map it private (share=off): a jailed clone
         * would need write access to a base other sandboxes map. It gets a copy of the base's
         * data extents instead (~20 ms for the 50 MiB a booted guest touched) and owns its
         * RAM like a consumed snapshot; docs/security.md "Shared snapshots". */
        if ((r = snapshot_copy_sparse(smem, mem)) < 0) {
            herr_set(&e, r, "vm '%s': cannot copy the snapshot's RAM: %s", vm->id,
                     strerror(-r));
            goto fail;
        }
        snprintf(vm->mem_path, sizeof(vm->mem_path), "%s", mem);
    } else {
        vm->ram_private = true;
        snprintf(vm->mem_path, sizeof(vm->mem_path), "%s", smem);
        warm_snapshot_ram(h, smem);
    }
    /* a new qcow2 layer whose backing is the snapshot's frozen disk: a copy of the empty layer
     * the first clone left in the snapshot (~0.1 ms), else qemu-img (~10 ms) */
    snprintf(vm->rootfs, sizeof(vm->rootfs), "%s", sdisk);
    vm->disk_mib = 0;
    char tmpl[PATH_MAX];
    if (qemu_run_path(snap, "layer.qcow2", tmpl, sizeof(tmpl)) == 0 &&
        snapshot_copy_file(tmpl, disk) == 0) {
        timeline_mark(&vm->tl, "layer");
        hvm_spawn_qemu(vm);
        return;
    }
    (void)unlink(disk);
    hvm_start_disk(vm, "qcow2");
    return;
fail:
    hvm_start_failed_herr(vm, &e);
}

/* --- pause --- */

/* The pause failed before QEMU was told to quit: the VM continues and keeps running. */
void hvm_pause_fail(struct host_vm *vm, enum host_err err, int errnum, const char *what,
                       const struct qmp_msg *reply)
{
    struct host_result res;
    if (reply && reply->kind == QMP_MSG_ERROR)
        hvm_result_set(&res, err, errnum, "vm '%s': pause: %s failed: %s: %s", vm->id, what,
                   reply->err_class, reply->err_desc);
    else
        hvm_result_set(&res, err, errnum, "vm '%s': pause: %s", vm->id, what);
    hvm_drop_migration(vm); /* a migration in flight fails on its closed socket */
    (void)snapshot_remove(vm->snap_dir);
    event_del(vm->ev_deadline);
    event_del(vm->ev_retry);
    vm->state = HVM_RUNNING;
    hvm_pause_complete(vm, &res);
    /* stop may have been sent: cont (a running VM ignores it) */
    vm->pause_cont = vm->qmp && vm->pstep >= HVM_PAUSE_STOP;
    vm->cont_tries = 0;
    if (vm->pause_cont)
        hvm_timer_arm(vm->ev_retry, 0);
}

static void on_cont_reply(void *ud, const struct qmp_msg *reply)
{
    struct host_vm *vm = ud;
    if (vm->state != HVM_RUNNING || !vm->pause_cont)
        return;
    if (reply->kind == QMP_MSG_ERROR && ++vm->cont_tries < 200) {
        hvm_timer_arm(vm->ev_retry, 10); /* e.g. the failed migration is still winding down */
        return;
    }
    vm->pause_cont = false;
}

/* After a failed pause: cont, once QMP takes a command (one at a time). */
void hvm_pause_send_cont(struct host_vm *vm)
{
    if (!vm->qmp) {
        vm->pause_cont = false;
        return;
    }
    int r = qmp_client_send(vm->qmp, "cont", NULL, on_cont_reply, vm);
    if (r == -EBUSY) {
        hvm_timer_arm(vm->ev_retry, 5); /* the pause's last command is still answering */
        return;
    }
    if (r < 0)
        vm->pause_cont = false; /* QMP broke: QEMU is exiting (pidfd) */
    hvm_update_qmp_write(vm);
}


#define HVM_PAUSE_RUN_MAX (1u << 20) /* RAM pages gathered into one pwrite */

static int run_flush(struct host_vm *vm)
{
    int r = fd_pwrite_all(vm->mem_fd, vm->run, vm->run_len, vm->run_off);
    vm->run_len = 0;
    return r;
}

static int split_on_state(void *ud, const void *buf, size_t len)
{
    return fd_write_all(((struct host_vm *)ud)->state_fd, buf, len);
}

static int split_on_ram(void *ud, uint64_t off, const void *buf, size_t len)
{
    struct host_vm *vm = ud;
    if (vm->run_len &&
        (off != vm->run_off + vm->run_len || vm->run_len + len > HVM_PAUSE_RUN_MAX)) {
        int r = run_flush(vm);
        if (r < 0)
            return r;
    }
    if (!vm->run_len)
        vm->run_off = off;
    memcpy(vm->run + vm->run_len, buf, len);
    vm->run_len += len;
    return 0;
}

/* The RAM of a VM restored from a shared snapshot is a private mapping, so QEMU migrates it
 * with the device state: its pages are split out of the stream into snap_dir/mem (sparse), and
 * the rest is what a VM with a RAM file of its own would have sent (migsplit.h). */
static int pause_split_open(struct host_vm *vm)
{
    if (!vm->ram_private)
        return 0;
    char mem[PATH_MAX];
    if (qemu_run_path(vm->snap_dir, "mem", mem, sizeof(mem)) < 0)
        return -ENAMETOOLONG;
    vm->mem_fd = open(mem, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (vm->mem_fd < 0)
        return -errno;
    uint64_t size = (uint64_t)vm->memory_mib << 20;
    if (ftruncate(vm->mem_fd, (off_t)size) < 0)
        return -errno;
    vm->run = malloc(HVM_PAUSE_RUN_MAX);
    if (!vm->run)
        return -ENOMEM;
    struct migsplit_ops ops = { .on_state = split_on_state, .on_ram = split_on_ram };
    return migsplit_new(QEMU_RAM_BLOCK, size, &ops, vm, &vm->split);
}

static int pause_stream_write(struct host_vm *vm, const void *p, size_t n)
{
    if (!vm->split)
        return fd_write_all(vm->state_fd, p, n);
    struct herr e = { 0 };
    int r = migsplit_push(vm->split, p, n, &e);
    if (r < 0 && e.msg[0])
        snprintf(vm->split_err, sizeof(vm->split_err), "%.199s", e.msg);
    return r;
}

/* The stream ended: it must have been whole; the RAM file gets its last pages. */
int hvm_pause_split_finish(struct host_vm *vm)
{
    if (!vm->split)
        return 0;
    struct herr e = { 0 };
    int r = migsplit_finish(vm->split, &e);
    if (r < 0 && e.msg[0])
        snprintf(vm->split_err, sizeof(vm->split_err), "%.199s", e.msg);
    if (r == 0)
        r = run_flush(vm);
    if (r == 0 && fsync(vm->mem_fd) < 0)
        r = -errno;
    return r;
}


static int pause_seal(struct host_vm *vm, struct herr *e);

static void on_pause_reply(void *ud, const struct qmp_msg *reply)
{
    struct host_vm *vm = ud;
    if (vm->state != HVM_PAUSING)
        return;
    if (reply->kind == QMP_MSG_ERROR) {
        if (vm->pstep == HVM_PAUSE_QUIT)
            return; /* QEMU exits anyway, or the deadline kills it */
        hvm_pause_fail(vm, HOST_E_QEMU, -EREMOTEIO, pause_cmds[vm->pstep], reply);
        return;
    }
    /* the commands before the migration only advance the step */
    static const enum hvm_pause_step next[] = {
        [HVM_PAUSE_STOP] = HVM_PAUSE_VERSION, [HVM_PAUSE_VERSION] = HVM_PAUSE_CAPS,
        [HVM_PAUSE_CAPS] = HVM_PAUSE_PARAMS, [HVM_PAUSE_PARAMS] = HVM_PAUSE_MIGRATE,
    };
    char msg[400];
    switch (vm->pstep) {
    case HVM_PAUSE_STOP:
        timeline_mark(&vm->tl, "stop");
        vm->pstep = next[vm->pstep];
        hvm_pause_next(vm);
        return;
    case HVM_PAUSE_VERSION:
        qmp_version_string(reply->ret, vm->qemu_version, sizeof(vm->qemu_version));
        __attribute__((fallthrough));
    case HVM_PAUSE_CAPS:
    case HVM_PAUSE_PARAMS:
        vm->pstep = next[vm->pstep];
        hvm_pause_next(vm);
        return;
    case HVM_PAUSE_WAIT: {
        int m = migration_polled(vm, reply, "migration", "(no reason given)", msg, sizeof(msg));
        if (m < 0)
            hvm_pause_fail(vm, HOST_E_QEMU, -EIO, msg, NULL);
        if (m <= 0)
            return;
        timeline_mark(&vm->tl, "state");
        if (vm->live) { /* not quit: the files are copied and the VM continues */
            hvm_live_frozen(vm);
            return;
        }
        struct herr e = { 0 };
        if (pause_seal(vm, &e) < 0) {
            hvm_pause_fail(vm, HOST_E_SYSTEM, e.code, e.msg, NULL);
            return;
        }
        timeline_mark(&vm->tl, "seal");
        vm->pstep = HVM_PAUSE_QUIT;
        hvm_pause_next(vm);
        return;
    }
    case HVM_PAUSE_MIGRATE: /* the stream arrives on migrate.sock */
    case HVM_PAUSE_QUIT:
    case HVM_PAUSE_PING:
    case HVM_PAUSE_CONT: /* host_livesnap.c's */
        return;
    }
}

static void on_mig_readable(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
    if (vm->state != HVM_PAUSING)
        return;
    if (vm->mig_cfd < 0) {
        vm->mig_cfd = accept4(vm->mig_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (vm->mig_cfd < 0) {
            if (errno != EAGAIN && errno != EINTR)
                hvm_pause_fail(vm, HOST_E_SYSTEM, -errno, "accept on migrate.sock failed", NULL);
            return;
        }
        hvm_ev_free(&vm->ev_mig);
        hvm_fd_close(&vm->mig_lfd);
        vm->ev_mig = event_new(vm->h->base, vm->mig_cfd, EV_READ | EV_PERSIST, on_mig_readable,
                               vm);
        if (!vm->ev_mig) {
            hvm_pause_fail(vm, HOST_E_SYSTEM, -ENOMEM, "out of memory", NULL);
            return;
        }
        event_add(vm->ev_mig, NULL);
        return;
    }
    unsigned char buf[65536];
    for (int rounds = 0; rounds < 64; rounds++) {
        ssize_t n = read(vm->mig_cfd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            hvm_pause_fail(vm, HOST_E_QEMU, -errno, "reading the device state failed", NULL);
            return;
        }
        if (n == 0) {
            /* QEMU sent everything: the state file is complete once it is on disk */
            hvm_ev_free(&vm->ev_mig);
            hvm_fd_close(&vm->mig_cfd);
            int fr = hvm_pause_split_finish(vm);
            if (fr < 0) {
                hvm_pause_fail(vm, HOST_E_QEMU, fr, "the migration stream could not be split",
                               NULL);
                return;
            }
            if (fsync(vm->state_fd) < 0) {
                hvm_pause_fail(vm, HOST_E_SYSTEM, -errno, "fsync of the device state failed", NULL);
                return;
            }
            hvm_fd_close(&vm->state_fd);
            vm->pstep = HVM_PAUSE_WAIT;
            hvm_pause_next(vm);
            return;
        }
        int r = pause_stream_write(vm, buf, (size_t)n);
        if (r < 0) {
            char why[300];
            snprintf(why, sizeof(why), "writing the snapshot failed: %s",
                     vm->split_err[0] ? vm->split_err : strerror(-r));
            hvm_pause_fail(vm, r == -EBADMSG ? HOST_E_QEMU : HOST_E_SYSTEM, r, why, NULL);
            return;
        }
    }
}

/* Opens migrate.sock and the state file for the migration. */
static int pause_listen(struct host_vm *vm)
{
    char path[PATH_MAX], state[PATH_MAX];
    if (hvm_sock_path(vm, "migrate.sock", path) < 0 ||
        qemu_run_path(vm->snap_dir, "state", state, sizeof(state)) < 0)
        return -ENAMETOOLONG;
    vm->state_fd = open(state, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (vm->state_fd < 0)
        return -errno;
    struct sockaddr_un sa;
    int fd = unix_stream_socket(path, &sa);
    if (fd < 0)
        return fd;
    vm->mig_lfd = fd;
    (void)unlink(path);
    if (bind(vm->mig_lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(vm->mig_lfd, 1) < 0)
        return -errno;
    /* a jailed QEMU connects as its own uid */
    if (vm->jail_uid) {
        int r = jail_chown_at(vm->run_dir, "migrate.sock", vm->jail_uid, vm->jail_uid);
        if (r < 0)
            return r;
    }
    vm->ev_mig = event_new(vm->h->base, vm->mig_lfd, EV_READ | EV_PERSIST, on_mig_readable, vm);
    if (!vm->ev_mig)
        return -ENOMEM;
    event_add(vm->ev_mig, NULL);
    return 0;
}

void hvm_pause_next(struct host_vm *vm)
{
    json_t *args = NULL;
    int r;
    switch (vm->pstep) {
    case HVM_PAUSE_CAPS:
        args = ignore_shared_caps();
        break;
    case HVM_PAUSE_PARAMS:
        /* QEMU caps migrations at 128 MiB/s by default: a restored VM's RAM crosses this
         * local socket and would take ~4x longer (docs/guests.md) */
        args = json_pack("{s:I}", "max-bandwidth", (json_int_t)1 << 40);
        break;
    case HVM_PAUSE_MIGRATE:
        r = pause_listen(vm);
        if (r < 0) {
            hvm_pause_fail(vm, HOST_E_SYSTEM, r, "cannot open migrate.sock or the state file",
                           NULL);
            return;
        }
        args = sock_uri(vm, "migrate.sock");
        break;
    case HVM_PAUSE_STOP:
        hvm_live_stopping(vm); /* the PONG came, or there is no agent */
        break;
    case HVM_PAUSE_VERSION:
    case HVM_PAUSE_WAIT:
        break;
    case HVM_PAUSE_QUIT: /* the snapshot is sealed: QEMU may go; its exit finishes it */
        crashpt("pause-before-quit"); /* snapshot complete, QEMU stopped but alive */
        break;
    case HVM_PAUSE_PING:
    case HVM_PAUSE_CONT:
        return;
    }
    bool want_args = vm->pstep == HVM_PAUSE_CAPS || vm->pstep == HVM_PAUSE_PARAMS ||
                     vm->pstep == HVM_PAUSE_MIGRATE;
    r = step_send(vm, pause_cmds[vm->pstep], args, want_args, on_pause_reply);
    if (r < 0 && vm->pstep == HVM_PAUSE_QUIT) {
        proc_kill(&vm->qemu, SIGKILL); /* the RAM file is consistent: nothing to lose */
        r = 0;
    }
    if (r < 0) {
        hvm_pause_fail(vm, HOST_E_QEMU, r, "the QMP connection broke", NULL);
        return;
    }
    hvm_update_qmp_write(vm);
}

/* The migration completed: the vCPUs and devices are stopped, so the RAM file, the disk layer
 * (flushed by stop) and the state are final. Links the RAM file and disk layer into the
 * snapshot and writes meta.json (everything fsynced, ramsum.h) while QEMU still runs: a crash
 * from here on leaves a complete snapshot (reconcile: paused), and a failure here continues the
 * VM instead of losing it. 0, or -errno with e. */
static int pause_seal(struct host_vm *vm, struct herr *e)
{
    char src[PATH_MAX], dst[PATH_MAX];
    int r = 0;
    /* QEMU is stopped but alive; a jailed one owned these files: its disk layer must still be
     * what it was given, and the RAM file a regular file (checked again after it exited) */
    if (hvm_sock_path(vm, "disk.qcow2", src) == 0 && hvm_jail_check_layer(vm, src, e) < 0)
        return e->code;
    struct stat mst;
    if (!vm->ram_private && vm->jail_uid &&
        (hvm_sock_path(vm, "mem", src) < 0 || lstat(src, &mst) < 0 || !S_ISREG(mst.st_mode)))
        return herr_set(e, -EINVAL, "the RAM file in '%s' is not a regular file", vm->run_dir);
    if (!vm->ram_private && (hvm_sock_path(vm, "mem", src) < 0 ||
                             qemu_run_path(vm->snap_dir, "mem", dst, sizeof(dst)) < 0 ||
                             (r = snapshot_link_or_copy(src, dst)) < 0))
        return herr_set(e, r ? r : -ENAMETOOLONG, "cannot link the RAM file into '%s': %s",
                        vm->snap_dir, strerror(r ? -r : ENAMETOOLONG));
    if (hvm_sock_path(vm, "disk.qcow2", src) < 0 ||
        qemu_run_path(vm->snap_dir, "disk.qcow2", dst, sizeof(dst)) < 0 ||
        (r = snapshot_link_or_copy(src, dst)) < 0)
        return herr_set(e, r ? r : -ENAMETOOLONG, "cannot link the disk layer into '%s': %s",
                        vm->snap_dir, strerror(r ? -r : ENAMETOOLONG));
    crashpt("pause-before-meta"); /* files linked in, QEMU stopped but alive, no meta.json */
    return hvm_snapshot_meta(vm, e);
}

int hvm_snapshot_meta(struct host_vm *vm, struct herr *e)
{
    struct host *h = vm->h;
    struct snapshot_meta m = { .vcpus = vm->vcpus, .memory_mib = vm->memory_mib,
                               .agent_aligned = vm->pause_aligned, .nic = vm->nic };
    snprintf(m.qemu_version, sizeof(m.qemu_version), "%s", vm->qemu_version);
    snprintf(m.accel, sizeof(m.accel), "%s", qemu_accel_to_string(h->accel));
    struct stat kst;
    if (!realpath(h->kernel, m.kernel) || stat(m.kernel, &kst) < 0)
        return herr_set(e, -errno, "kernel '%s': %s", h->kernel, strerror(errno));
    m.kernel_size = (int64_t)kst.st_size;
    if (snapshot_meta_write(vm->snap_dir, &m, e) < 0)
        return e->code ? e->code : -EIO;
    return 0;
}

/* QEMU exited after quit: the snapshot was sealed before it (pause_seal); what QEMU wrote to
 * the disk layer while closing it is made durable too. The VM is then forgotten (its run dir
 * holds only links). */
void hvm_pause_finalize(struct host_vm *vm)
{
    struct host_result res = { .err = HOST_OK };
    char disk[PATH_MAX];
    struct herr e = { 0 };
    if (qemu_run_path(vm->snap_dir, "disk.qcow2", disk, sizeof(disk)) == 0) {
        /* a jailed QEMU could still write its layer between the seal and its exit: its backing
         * must still be the one it started with, or the snapshot is not committed */
        if (vm->jail_uid && hvm_jail_check_layer(vm, disk, &e) < 0) {
            char meta[PATH_MAX];
            /* uncommitted for good: the removal made durable, or a crash could bring back a
             * meta.json that reconcile would take for a whole snapshot */
            if (qemu_run_path(vm->snap_dir, "meta.json", meta, sizeof(meta)) == 0 &&
                unlink(meta) == 0)
                (void)snapshot_fsync_dir(vm->snap_dir);
            hvm_result_set(&res, HOST_E_SYSTEM, e.code, "vm '%s': pause: %s", vm->id, e.msg);
            vm->state = HVM_EXITED;
            hvm_drop_agent(vm, true);
            hvm_drop_qmp(vm);
            hvm_pause_complete(vm, &res);
            return;
        }
        int fd = open(disk, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            (void)fsync(fd); /* stop flushed it and meta.json came after; belt and braces */
            close(fd);
        }
    }
    /* the snapshot's files are hearthd's again (the uid goes to the next VM). Not before QEMU
     * exited: until then a crash of hearthd makes the next one continue this VM (adopt sends
     * cont), and QEMU reopens its disk layer by path when it reactivates it */
    for (int i = 0; vm->jail_uid && i < 2; i++)
        (void)jail_chown_at(vm->snap_dir, i ? "disk.qcow2" : "mem", 0, 0); /* best effort */
    timeline_mark(&vm->tl, "quit");
    res.tl = vm->tl;
    hvm_pause_complete(vm, &res);
    vm->remove_dir = true;
    vm->state = HVM_KILLING;
}

void host_vm_pause(struct host *h, const char *id, const char *snap_dir, host_done_fn done,
                   void *ud)
{
    hvm_pause_begin(h, id, snap_dir, done, ud, NULL);
}

void hvm_pause_begin(struct host *h, const char *id, const char *snap_dir, host_done_fn done,
                     void *ud, struct hvm_live *live)
{
    if (!rundir_id_valid(id)) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID, "invalid sandbox id '%.64s'", id ? id : "");
        return;
    }
    if (!snap_dir || snap_dir[0] != '/' || strchr(snap_dir, ',') ||
        strlen(snap_dir) + 16 >= PATH_MAX) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID,
                 "vm '%s': snapshot dir must be an absolute path without ','", id);
        return;
    }
    struct host_vm *vm = hvm_find(h, id);
    if (!vm) {
        hvm_fail_now(h, done, ud, id, HOST_E_NOT_FOUND, "no vm '%s'", id);
        return;
    }
    if (vm->state != HVM_RUNNING || !vm->qmp || !vm->agent || vm->resize_done ||
        vm->pause_done || vm->pause_cont) {
        hvm_fail_now(h, done, ud, id, HOST_E_BUSY, "vm '%s' is not running, or busy", id);
        return;
    }
    if (mkdir(snap_dir, 0700) < 0 && errno != EEXIST) {
        hvm_fail_now(h, done, ud, id, HOST_E_SYSTEM, "vm '%s': cannot create '%s': %s", id,
                 snap_dir, strerror(errno));
        return;
    }
    snprintf(vm->snap_dir, sizeof(vm->snap_dir), "%s", snap_dir);
    int r = pause_split_open(vm);
    if (r < 0) {
        hvm_drop_migration(vm);
        (void)snapshot_remove(snap_dir);
        hvm_fail_now(h, done, ud, id, HOST_E_SYSTEM,
                     "vm '%s': cannot start the RAM file in '%s': %s",
                 id, snap_dir, strerror(-r));
        return;
    }
    vm->pause_done = done;
    vm->pause_ud = ud;
    vm->live = live;
    timeline_start(&vm->tl);
    vm->state = HVM_PAUSING;
    vm->pstep = HVM_PAUSE_PING;
    vm->pause_aligned = false;
    r = agent_client_ping_send(vm->agent);
    if (r < 0) {
        /* no agent: stop right away (a restore then resyncs) */
        vm->pstep = HVM_PAUSE_STOP;
        hvm_pause_next(vm);
    } else {
        hvm_update_agent_write(vm);
    }
    hvm_timer_arm(vm->ev_deadline, HVM_PAUSE_TIMEOUT_MS);
}


