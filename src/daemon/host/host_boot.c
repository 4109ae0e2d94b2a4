/* SPDX-License-Identifier: MIT */
/* host_boot.c: host_vm_create(): the qcow2 layer (qemu-img), QEMU, the QMP handshake and the
 * agent's HELLO/READY, all under one deadline, as events on the loop; and the connect, retry
 * and deadline steps adopt and restore share. Restore's own steps are in host_snapshot.c. */
#include "daemon/host/host.h"
#include "daemon/host/host_internal.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/crashpt.h"
#include "common/hostname.h"
#include "daemon/host/jail.h"
#include "daemon/host/snapshot.h"
#include "daemon/host/usock.h"

/* --- start steps --- */

static void hvm_conn_lost(struct host_vm *vm, const char *what, int r)
{
    /* During start a lost connection almost always means QEMU is exiting: wait briefly
     * for its pidfd so the report names the real cause. */
    herr_clear(&vm->lost);
    herr_set(&vm->lost, r, "vm '%s': %s connection lost: %s", vm->id, what, strerror(-r));
    if (vm->state == HVM_ADOPTING || !vm->qemu_alive) {
        hvm_start_failed_herr(vm, &vm->lost);
        return;
    }
    vm->step = HVM_STEP_DYING;
    event_del(vm->ev_retry);
    hvm_timer_arm(vm->ev_deadline, HVM_DYING_GRACE_MS);
}

static void on_qmp_event(void *ud, const char *event, json_t *data)
{
    struct host_vm *vm = ud;
    if (strcmp(event, "SHUTDOWN") == 0) {
        json_t *reason = json_object_get(data, "reason");
        snprintf(vm->shutdown_reason, sizeof(vm->shutdown_reason), "%s",
                 json_is_string(reason) ? json_string_value(reason) : "shutdown");
    }
}

static bool hvm_starting(const struct host_vm *vm)
{
    return vm->state == HVM_CREATING || vm->state == HVM_ADOPTING;
}

/* A start is done when both handshakes are: QMP answered qmp_capabilities and the agent
 * answered our HELLO. They run side by side: QEMU answers qmp_capabilities only once it has
 * loaded the kernel (70-160 ms after its greeting under TCG here), time the guest spends
 * booting anyway. */
static void hvm_maybe_started(struct host_vm *vm)
{
    if (!hvm_starting(vm) || !vm->qmp_ready || !vm->agent || vm->step != HVM_STEP_AGENT_HELLO ||
        !agent_client_ready(vm->agent))
        return;
    vm->step = HVM_STEP_NONE;
    vm->state = HVM_RUNNING;
    event_del(vm->ev_retry);
    event_del(vm->ev_deadline);
    timeline_mark(&vm->tl, "ready");
    vm->start_res = (struct host_result){ .err = HOST_OK, .tl = vm->tl };
    if (vm->restore && vm->consume)
        (void)snapshot_remove(vm->snap_dir); /* its files live on in the run dir */
    hvm_defer_done(vm->h, vm->start_done, vm->start_ud, vm->id, &vm->start_res);
    vm->start_done = NULL;
}

static void on_caps(void *ud, const struct qmp_msg *reply)
{
    struct host_vm *vm = ud;
    if (!hvm_starting(vm))
        return; /* destroyed meanwhile */
    if (reply->kind == QMP_MSG_ERROR) {
        struct host_result res;
        hvm_result_set(&res, HOST_E_QEMU, -EREMOTEIO, "vm '%s': qmp_capabilities failed: %s: %s",
                   vm->id, reply->err_class, reply->err_desc);
        hvm_start_failed(vm, &res);
        return;
    }
    timeline_mark(&vm->tl, "qmp_caps");
    if (vm->restore) {
        vm->rstep = HVM_RESTORE_VERSION;
        hvm_restore_next(vm);
        return;
    }
    /* an adopted VM may have been stopped by a pause its hearthd did not finish: it runs
     * again (cont on a running VM does nothing); the reply is not needed */
    if (vm->state == HVM_ADOPTING && qmp_client_send(vm->qmp, "cont", NULL, NULL, NULL) == 0)
        hvm_update_qmp_write(vm);
    vm->qmp_ready = true;
    hvm_maybe_started(vm);
}

/* A connection (already dropped) broke with r: a start fails (after QEMU's exit, if it
 * comes); else QEMU is exiting and its pidfd tells. */
static void conn_broke(struct host_vm *vm, const char *what, int r)
{
    if (hvm_starting(vm))
        hvm_conn_lost(vm, what, r);
    hvm_maybe_finish(vm);
}

/* The agent connection broke with r: dropped (its streams end with LOST), then as above. */
static void agent_broke(struct host_vm *vm, int r)
{
    hvm_drop_agent(vm, true);
    conn_broke(vm, "agent", r);
}

static void on_qmp_readable(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
    int r = qmp_client_on_readable(vm->qmp);
    if (r == 0 && hvm_starting(vm) && !vm->qmp_caps_sent && qmp_client_greeted(vm->qmp)) {
        vm->qmp_caps_sent = true;
        r = qmp_client_send(vm->qmp, "qmp_capabilities", NULL, on_caps, vm);
    }
    if (r < 0) {
        hvm_drop_qmp(vm);
        conn_broke(vm, "qmp", r);
        return;
    }
    hvm_update_qmp_write(vm);
    hvm_maybe_finish(vm);
}

/* A write error is seen by the read side (the connection is broken). */
static void on_qmp_writable(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
    if (qmp_client_on_writable(vm->qmp) < 0)
        event_del(vm->ev_qmp_w);
    else
        hvm_update_qmp_write(vm);
}

static void on_agent_readable(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
    int r = agent_client_on_readable(vm->agent);
    if (r < 0) {
        agent_broke(vm, r); /* its streams ended with LOST inside on_readable already */
        return;
    }
    hvm_maybe_started(vm);
    hvm_debug_agent_read(vm);
    if (vm->state == HVM_PAUSING && vm->pstep == HVM_PAUSE_PING &&
        agent_client_pong_seen(vm->agent)) {
        timeline_mark(&vm->tl, "ping");
        vm->pause_aligned = true;
        vm->pstep = HVM_PAUSE_STOP;
        hvm_pause_next(vm);
    }
    hvm_update_agent_write(vm);
}

static void on_agent_writable(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
    if (agent_client_on_writable(vm->agent) < 0)
        event_del(vm->ev_agent_w); /* the read side sees the broken connection */
    else
        hvm_update_agent_write(vm);
}

int hvm_sock_path(struct host_vm *vm, const char *name, char *out)
{
    return qemu_run_path(vm->run_dir, name, out, PATH_MAX);
}

/* One connect attempt to socket name, which QEMU makes 10-30 ms in: returns the fd, or -1
 * when the retry timer was armed or the start failed (reported). */
static int connect_or_retry(struct host_vm *vm, const char *name)
{
    char path[PATH_MAX];
    int fd = -1;
    int r = hvm_sock_path(vm, name, path) < 0 ? -ENAMETOOLONG : usock_connect(path, &fd);
    if (r == 0)
        return fd;
    if (r == -ENOENT || r == -ECONNREFUSED) {
        hvm_timer_arm(vm->ev_retry, HVM_CONNECT_RETRY_MS);
        return -1;
    }
    struct herr e = { 0 };
    herr_set(&e, r, "vm '%s': cannot connect to %s: %s", vm->id, name, strerror(-r));
    hvm_start_failed_herr(vm, &e);
    return -1;
}

static void step_qmp_connect(struct host_vm *vm)
{
    int fd = connect_or_retry(vm, "qmp.sock");
    if (fd < 0)
        return;
    if (qmp_client_new(fd, on_qmp_event, vm, &vm->qmp) < 0 ||
        !(vm->ev_qmp_r = event_new(vm->h->base, fd, EV_READ | EV_PERSIST, on_qmp_readable,
                                   vm)) ||
        !(vm->ev_qmp_w = event_new(vm->h->base, fd, EV_WRITE, on_qmp_writable, vm))) {
        struct herr e = { 0 };
        herr_set(&e, -ENOMEM, "vm '%s': out of memory", vm->id);
        hvm_start_failed_herr(vm, &e);
        return;
    }
    timeline_mark(&vm->tl, "qmp_connect");
    /* the greeting and qmp_capabilities follow on the QMP fd's events; meanwhile the agent
     * (a restore connects it once the guest runs again) */
    event_add(vm->ev_qmp_r, NULL);
    if (vm->restore) {
        vm->step = HVM_STEP_NONE;
        return;
    }
    vm->step = HVM_STEP_AGENT_CONNECT;
    hvm_timer_arm(vm->ev_retry, 0);
}

int hvm_agent_attach(struct host_vm *vm, int fd, bool resync, struct herr *e)
{
    int r = agent_client_new(fd, &vm->agent);
    if (r < 0)
        return herr_set(e, r, "vm '%s': out of memory", vm->id);
    /* every HELLO then carries the hostname (and fresh entropy): after a restore the guest
     * still has the snapshot's (docs/agent-protocol.md "Identity and entropy") */
    if (vm->hostname[0] && (r = agent_client_set_identity(vm->agent, vm->hostname)) < 0)
        return herr_set(e, r, "vm '%s': invalid hostname '%s'", vm->id, vm->hostname);
    /* ... and the net object: a restored clone gets its own MAC and addresses before READY */
    if (vm->net_json && (r = agent_client_set_net(vm->agent, vm->net_json)) < 0)
        return herr_set(e, r, "vm '%s': invalid net object", vm->id);
    agent_client_set_self_handler(vm->agent, hvm_on_self, vm);
    vm->ev_agent_r = event_new(vm->h->base, fd, EV_READ | EV_PERSIST, on_agent_readable, vm);
    vm->ev_agent_w = event_new(vm->h->base, fd, EV_WRITE, on_agent_writable, vm);
    if (!vm->ev_agent_r || !vm->ev_agent_w)
        return herr_set(e, -ENOMEM, "vm '%s': out of memory", vm->id);
    /* An agent that served another connection may hold half a frame of it: resync first. */
    if (resync && (r = agent_client_resync(vm->agent)) < 0)
        return herr_set(e, r, "vm '%s': agent: cannot queue the resync preamble", vm->id);
    event_add(vm->ev_agent_r, NULL);
    return 0;
}

static void step_agent_connect(struct host_vm *vm)
{
    int fd = connect_or_retry(vm, "agent.sock");
    if (fd < 0)
        return;
    struct herr e = { 0 };
    bool resync = vm->state == HVM_ADOPTING || (vm->restore && !vm->aligned);
    if (hvm_agent_attach(vm, fd, resync, &e) < 0) {
        hvm_start_failed_herr(vm, &e);
        return;
    }
    timeline_mark(&vm->tl, "agent_connect");
    vm->step = HVM_STEP_AGENT_HELLO;
    hvm_timer_arm(vm->ev_retry, 0);
}

/* (Re)sends HELLO, every HVM_HELLO_EVERY_MS until READY; false when the connection broke.
 * Early bytes, measured on QEMU 7.2 + TCG (host connected 22 ms after QEMU started and
 * sent one HELLO, ~3 s before the agent opened its port): nothing was dropped. The
 * HELLO waited in the socket (virtio-serial does not read from the chardev until the
 * guest opens the port) and the agent answered it, after the READY it sends on
 * opening. A READY written while no host is connected is dropped by QEMU's socket
 * chardev, so a late host still needs its HELLO. The 200 ms resend is cheap insurance
 * for a port that is opened and closed again (agent restart) and costs extra READYs. */
static bool step_hello(struct host_vm *vm)
{
    int r = agent_client_hello(vm->agent);
    if (r < 0) {
        agent_broke(vm, r);
        return false;
    }
    hvm_update_agent_write(vm);
    hvm_timer_arm(vm->ev_retry, HVM_HELLO_EVERY_MS);
    return true;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
    if (vm->state == HVM_PAUSING && vm->pstep == HVM_PAUSE_WAIT) {
        hvm_pause_next(vm);
        return;
    }
    if (vm->state == HVM_RUNNING && vm->pause_cont) {
        hvm_pause_send_cont(vm);
        return;
    }
    if (vm->state == HVM_RUNNING && vm->reconnect_done) {
        hvm_debug_hello(vm);
        return;
    }
    if (!hvm_starting(vm)) {
        hvm_maybe_finish(vm);
        return;
    }
    if (vm->restore && vm->rstep == HVM_RESTORE_WAIT) {
        hvm_restore_next(vm);
        return;
    }
    switch (vm->step) {
    case HVM_STEP_QMP_CONNECT:
        step_qmp_connect(vm);
        break;
    case HVM_STEP_AGENT_CONNECT:
        step_agent_connect(vm);
        break;
    case HVM_STEP_AGENT_HELLO:
        if (!step_hello(vm))
            return; /* the connection broke: vm may be finished */
        break;
    case HVM_STEP_DISK:  /* qemu-img's pidfd moves on */
    case HVM_STEP_DYING: /* the deadline timer or QEMU's pidfd does */
    case HVM_STEP_NONE:
        break;
    }
    hvm_maybe_finish(vm);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
    struct herr e = { 0 };
    switch (vm->state) {
    case HVM_CREATING:
    case HVM_ADOPTING:
        if (vm->step == HVM_STEP_DYING)
            e = vm->lost; /* QEMU did not exit after all: the lost connection is the cause */
        else if (vm->step == HVM_STEP_DISK)
            herr_set(&e, -ETIMEDOUT, "vm '%s': qemu-img did not finish within %d ms", vm->id,
                     vm->boot_ms);
        else if (vm->state == HVM_ADOPTING)
            herr_set(&e, -ETIMEDOUT, "vm '%s': no QMP greeting or agent READY within %d ms",
                     vm->id, vm->boot_ms);
        else
            (void)rundir_explain_timeout(vm->run_dir, vm->boot_ms, &e); /* fills e */
        hvm_start_failed_herr(vm, &e);
        break;
    case HVM_STOPPING:
        /* POWER had its time: ask QMP to quit, and after that SIGKILL */
        if (vm->stop_stage == HVM_STOP_POWER && vm->qmp &&
            qmp_client_send(vm->qmp, "quit", NULL, NULL, NULL) == 0) {
            vm->stop_stage = HVM_STOP_QUIT;
            hvm_update_qmp_write(vm);
            hvm_timer_arm(vm->ev_deadline, vm->h->stop_ms);
        } else {
            hvm_kill(vm);
        }
        break;
    case HVM_PAUSING:
        if (vm->pstep == HVM_PAUSE_QUIT)
            proc_kill(&vm->qemu, SIGKILL); /* quit did not end it: the state is saved */
        else
            hvm_pause_fail(vm, HOST_E_TIMEOUT, -ETIMEDOUT, "the snapshot did not finish in time",
                       NULL);
        break;
    case HVM_KILLING:
        /* SIGKILL did not end it within HVM_KILL_WAIT_MS (D state?): stop waiting */
        vm->qemu_alive = false;
        vm->img_alive = false;
        break;
    default:
        break;
    }
    hvm_maybe_finish(vm);
}

/* The fresh, still empty layer over a shared snapshot's disk is what every clone of it starts
 * with: keep a copy in the snapshot (written aside, then renamed) so the next clone copies it
 * instead of running qemu-img. Best effort. */
static void layer_template_keep(struct host_vm *vm, const char *disk)
{
    char tmpl[PATH_MAX], tmp[PATH_MAX];
    if (qemu_run_path(vm->snap_dir, "layer.qcow2", tmpl, sizeof(tmpl)) < 0 ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s.%s", tmpl, vm->id) >= sizeof(tmp) ||
        access(tmpl, F_OK) == 0)
        return;
    if (snapshot_copy_file(disk, tmp) == 0 && rename(tmp, tmpl) == 0)
        return;
    (void)unlink(tmp);
}

static void on_img(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
    (void)proc_try_reap(&vm->img);
    vm->img_alive = false;
    hvm_ev_free(&vm->ev_img);
    struct herr e = { 0 };
    char disk[PATH_MAX], log[PATH_MAX];
    if (vm->state != HVM_CREATING) {
        proc_release(&vm->img);
        hvm_maybe_finish(vm);
        return;
    }
    (void)hvm_sock_path(vm, "disk.qcow2", disk);
    (void)hvm_sock_path(vm, "qemu.log", log);
    int r = qemu_disk_explain(vm->h->qemu_img, vm->rootfs, disk, log, vm->img.status, &e);
    proc_release(&vm->img);
    if (r < 0) {
        struct host_result res;
        hvm_result_set(&res, HOST_E_QEMU, r, "vm '%s': %s", vm->id, e.msg);
        hvm_start_failed(vm, &res);
        hvm_maybe_finish(vm);
        return;
    }
    if (vm->restore && !vm->consume)
        layer_template_keep(vm, disk);
    timeline_mark(&vm->tl, "disk");
    hvm_spawn_qemu(vm);
}

/* The format of a rootfs image and the size its disk must have: a qcow2 image (the magic
 * "QFI\xfb"; a template's layer over its base, docs/templates.md) by the virtual size in its
 * header, any other file as raw by its length. 0 or -errno. */
static int rootfs_probe(const char *path, const char **ret_fmt, uint64_t *ret_bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unsigned char hd[32];
    struct stat st;
    ssize_t n = pread(fd, hd, sizeof(hd), 0);
    int r = fstat(fd, &st) < 0 ? -errno : 0;
    close(fd);
    if (r < 0)
        return r;
    if (n < 4 || memcmp(hd, "QFI\xfb", 4) != 0) {
        *ret_fmt = "raw";
        *ret_bytes = (uint64_t)st.st_size;
        return 0;
    }
    if (n < (ssize_t)sizeof(hd))
        return -EINVAL;
    uint64_t size = 0;
    for (int i = 24; i < 32; i++)
        size = size << 8 | hd[i];
    if (size == 0 || size > (uint64_t)HOST_DISK_MAX_MIB << 20)
        return -EINVAL;
    *ret_fmt = "qcow2";
    *ret_bytes = size;
    return 0;
}

/* In QEMU's child before exec: cgroups, then the jail (jail.h). */
static int on_pre_exec(void *ud)
{
    return jail_enter(ud);
}

/* The disk layer exists: start QEMU (booting, or waiting for its incoming state). */
void hvm_spawn_qemu(struct host_vm *vm)
{
    struct herr e = { 0 };
    char log[PATH_MAX];
    (void)hvm_sock_path(vm, "qemu.log", log);
    struct qemu_config qc = {
        .qemu_bin = vm->h->qemu_bin[0] ? vm->h->qemu_bin : NULL,
        .kernel = vm->h->kernel,
        .run_dir = vm->run_dir,
        .accel = vm->h->accel,
        .vcpus = vm->vcpus,
        .memory_mib = vm->memory_mib,
        .extra_append = vm->extra_append,
        .mem_path = vm->mem_path[0] ? vm->mem_path : NULL,
        .mem_private = vm->ram_private,
        .incoming = vm->restore,
        .nic = vm->nic,
        .net_fd = vm->tap_fd >= 0 ? PROC_KEEP_FD : 0,
        .mac = vm->mac[0] ? vm->mac : NULL,
        .strict_sandbox = vm->h->jail,
    };
    char **argv = NULL;
    int r = qemu_argv_build(&qc, &argv);
    if (r < 0) {
        herr_set(&e, -EINVAL, "vm '%s': invalid shape (vcpus %u, memory %u MiB)", vm->id,
                 qc.vcpus, qc.memory_mib);
        hvm_start_failed_herr(vm, &e);
        hvm_maybe_finish(vm);
        return;
    }
    /* the cgroup made and the jail planned first: the child joins and enters before exec */
    struct jail_plan *plan = NULL;
    if ((r = hvm_jail_plan(vm, &plan, &e)) < 0) {
        qemu_argv_free(argv);
        hvm_start_failed_herr(vm, &e);
        hvm_maybe_finish(vm);
        return;
    }
    struct proc_opts po = { .keep_fd = vm->nic ? vm->tap_fd : -1, .pre_exec = on_pre_exec,
                            .ud = plan };
    r = proc_spawn_opts(argv, log, &po, &vm->qemu);
    jail_plan_free(plan); /* the parent's copies of the cgroup fds */
    hvm_fd_close(&vm->tap_fd); /* QEMU has its own now (or never will) */
    if (r < 0) {
        char tail[300];
        qemu_log_tail(log, tail, sizeof(tail));
        herr_set(&e, r, "vm '%s': cannot run '%s': %s%s%s", vm->id, argv[0], strerror(-r),
                 tail[0] ? ": " : "", tail);
        qemu_argv_free(argv);
        hvm_start_failed_herr(vm, &e);
        hvm_maybe_finish(vm);
        return;
    }
    qemu_argv_free(argv);
    timeline_mark(&vm->tl, "spawn"); /* fork, cgroup, jail and exec: the child's pre-exec ran */
    crashpt("spawn-before-pidfile"); /* QEMU runs, nothing on disk names its pid yet */
    (void)rundir_pidfile_write(vm->run_dir, vm->qemu.pid); /* without it only adopt fails */
    if (hvm_watch_pid(vm) < 0) {
        proc_kill(&vm->qemu, SIGKILL);
        (void)proc_wait(&vm->qemu, -1); /* SIGKILL: prompt; only on out of memory */
        herr_set(&e, -ENOMEM, "vm '%s': out of memory", vm->id);
        hvm_start_failed_herr(vm, &e);
        hvm_maybe_finish(vm);
        return;
    }
    vm->step = HVM_STEP_QMP_CONNECT;
    hvm_timer_arm(vm->ev_retry, 0);
}

/* --- VM objects --- */

struct host_vm *hvm_new(struct host *h, const char *id, enum hvm_state state)
{
    struct host_vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return NULL;
    vm->h = h;
    vm->state = state;
    vm->step = HVM_STEP_NONE;
    vm->qemu.pidfd = -1;
    vm->img.pidfd = -1;
    vm->in_fd = vm->mig_lfd = vm->mig_cfd = vm->state_fd = vm->mem_fd = vm->tap_fd = -1;
    snprintf(vm->id, sizeof(vm->id), "%s", id);
    if (qemu_run_path(h->run_root, id, vm->run_dir, sizeof(vm->run_dir)) < 0)
        goto out_free;
    vm->ev_retry = event_new(h->base, -1, 0, on_retry, vm);
    vm->ev_deadline = event_new(h->base, -1, 0, on_deadline, vm);
    vm->ev_kick = event_new(h->base, -1, 0, hvm_on_kick, vm);
    if (!vm->ev_retry || !vm->ev_deadline || !vm->ev_kick)
        goto out_free;
    vm->next = h->vms;
    h->vms = vm;
    return vm;
out_free:
    hvm_release(vm, false);
    free(vm);
    return NULL;
}

/* --- create --- */

struct host_vm *hvm_new_start(struct host *h, const char *id, enum hvm_state state,
                              host_done_fn done, void *ud)
{
    struct host_vm *vm = hvm_new(h, id, state);
    if (!vm) {
        hvm_fail_now(h, done, ud, id, HOST_E_SYSTEM, "vm '%s': out of memory", id);
        return NULL;
    }
    vm->start_done = done;
    vm->start_ud = ud;
    return vm;
}

void host_vm_create(struct host *h, const struct host_vm_spec *spec, host_done_fn done,
                    void *ud)
{
    struct timeline tl;
    timeline_start(&tl); /* the checks below count in "rundir" */
    const char *id = spec ? spec->id : NULL;
    if (!spec || !rundir_id_valid(id)) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID, "invalid sandbox id '%.64s'", id ? id : "");
        return;
    }
    if (hvm_find(h, id)) {
        hvm_fail_now(h, done, ud, id, HOST_E_EXISTS, "vm '%s' already exists", id);
        return;
    }
    char path[PATH_MAX];
    struct herr e = { 0 };
    int r = 0;
    char rootfs_abs[PATH_MAX] = "";
    const char *fmt = "raw";
    if (spec->hostname && !hostname_valid(spec->hostname, strlen(spec->hostname))) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID, "vm '%s': invalid hostname", id);
        return;
    }
    if (spec->mac && !qemu_mac_valid(spec->mac)) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID,
                 "vm '%s': invalid MAC '%.40s'; want a unicast xx:xx:xx:xx:xx:xx", id, spec->mac);
        return;
    }
    if (spec->net_json && !hvm_net_json_valid(spec->net_json)) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID,
                 "vm '%s': the net object is not a JSON object of at most %u bytes", id,
                 HVM_NET_JSON_MAX);
        return;
    }
    if (spec->snapshot) {
        if ((r = rundir_check_file("kernel", h->kernel, &e)) < 0) {
            hvm_fail_now(h, done, ud, id, hvm_err_from_errno(r), "vm '%s': %s", id, e.msg);
            return;
        }
        goto make_vm;
    }
    /* the catalog (control layer) maps names to paths: only an absolute path comes here */
    if (!spec->rootfs || spec->rootfs[0] != '/' ||
        (r = hvm_copy_str(path, sizeof(path), spec->rootfs)) < 0) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID, "vm '%s': invalid rootfs '%.200s'", id,
                 spec->rootfs ? spec->rootfs : "");
        return;
    }
    if ((r = rundir_check_file("kernel", h->kernel, &e)) < 0 ||
        (r = rundir_check_file("rootfs image", path, &e)) < 0 || !realpath(path, rootfs_abs)) {
        if (r == 0)
            r = herr_set(&e, -errno, "rootfs image '%s': %s", path, strerror(errno));
        hvm_fail_now(h, done, ud, id, hvm_err_from_errno(r), "vm '%s': %s", id, e.msg);
        return;
    }
    /* a device smaller than the image's file system would cut it: refuse up front (a qcow2
     * image, a template's top layer, counts by its virtual size) */
    uint64_t img_bytes = 0;
    if ((r = rootfs_probe(rootfs_abs, &fmt, &img_bytes)) < 0) {
        hvm_fail_now(h, done, ud, id, hvm_err_from_errno(r),
                     "vm '%s': rootfs image '%s': unreadable or corrupt qcow2 header: %s", id,
                     rootfs_abs, strerror(-r));
        return;
    }
    if (spec->disk_mib && (spec->disk_mib > HOST_DISK_MAX_MIB ||
                           img_bytes > spec->disk_mib << 20)) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID,
                 "vm '%s': disk of %llu MiB is smaller than the image '%s' (%llu MiB)", id,
                 (unsigned long long)spec->disk_mib, rootfs_abs,
                 (unsigned long long)(img_bytes >> 20));
        return;
    }
make_vm:;
    struct host_vm *vm = hvm_new_start(h, id, HVM_CREATING, done, ud);
    if (!vm)
        return;
    vm->tl = tl;
    vm->boot_ms = spec->boot_timeout_ms > 0 ? spec->boot_timeout_ms : h->boot_ms;
    vm->vcpus = spec->vcpus ? spec->vcpus : 1;
    vm->memory_mib = spec->memory_mib ? spec->memory_mib : 256;
    vm->disk_mib = spec->disk_mib;
    vm->cpu_quota_pct = spec->cpu_quota_pct;
    snprintf(vm->rootfs, sizeof(vm->rootfs), "%s", rootfs_abs);
    snprintf(vm->hostname, sizeof(vm->hostname), "%s", spec->hostname ? spec->hostname : "");
    snprintf(vm->mac, sizeof(vm->mac), "%s", spec->mac ? spec->mac : "");
    vm->nic = true; /* a restore of a snapshot without one turns it off */
    if ((spec->extra_append && !(vm->extra_append = strdup(spec->extra_append))) ||
        (spec->net_json && !(vm->net_json = strdup(spec->net_json)))) {
        herr_set(&e, -ENOMEM, "vm '%s': out of memory", id);
        goto out_fail;
    }
    /* the caller's fd is borrowed for this call only; QEMU is spawned later from the loop */
    if (spec->tap_fd > 0 && (vm->tap_fd = fcntl(spec->tap_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
        r = -errno;
        herr_set(&e, r, "vm '%s': tap fd %d: %s", id, spec->tap_fd, strerror(-r));
        goto out_fail;
    }
    hvm_timer_arm(vm->ev_deadline, vm->boot_ms);
    char sock[PATH_MAX];
    if (hvm_sock_path(vm, "agent.sock", sock) < 0 || strlen(sock) >= 108) {
        herr_set(&e, -ENAMETOOLONG, "run root '%s' is too long for socket paths", h->run_root);
        goto out_fail;
    }
    if (mkdir(vm->run_dir, 0700) < 0) {
        r = -errno;
        herr_set(&e, r, "vm '%s': cannot create run dir '%s': %s", id, vm->run_dir,
                 strerror(-r));
        goto out_fail;
    }
    vm->remove_dir = true;
    timeline_mark(&vm->tl, "rundir");
    if (spec->snapshot) {
        vm->restore = true;
        vm->consume = spec->snapshot_consume;
        vm->rstep = HVM_RESTORE_NONE;
        hvm_restore_start(vm, spec);
        return;
    }
    hvm_start_disk(vm, fmt);
    return;
out_fail:
    /* finishes from the loop (hvm_kick), never inside this call */
    hvm_start_failed_herr(vm, &e);
}

/* Runs qemu-img to make the VM's disk layer over vm->rootfs (of format fmt); on_img goes on. */
void hvm_start_disk(struct host_vm *vm, const char *fmt)
{
    struct host *h = vm->h;
    const char *id = vm->id;
    struct herr e = { 0 };
    char disk[PATH_MAX], log[PATH_MAX];
    (void)hvm_sock_path(vm, "disk.qcow2", disk);
    (void)hvm_sock_path(vm, "qemu.log", log);
    char **argv = NULL;
    int r = qemu_disk_argv_fmt(h->qemu_img[0] ? h->qemu_img : NULL, vm->rootfs, fmt, disk,
                               vm->disk_mib, &argv);
    if (r < 0) {
        herr_set(&e, r, "vm '%s': invalid disk size %llu MiB", id,
                 (unsigned long long)vm->disk_mib);
        goto out_fail;
    }
    vm->step = HVM_STEP_DISK;
    r = proc_spawn(argv, log, &vm->img);
    if (r < 0) {
        herr_set(&e, r, "vm '%s': cannot run '%s': %s; install qemu-utils", id, argv[0],
                 strerror(-r));
        qemu_argv_free(argv);
        goto out_fail;
    }
    qemu_argv_free(argv);
    vm->img_alive = true;
    vm->ev_img = event_new(h->base, vm->img.pidfd, EV_READ, on_img, vm);
    if (!vm->ev_img) {
        herr_set(&e, -ENOMEM, "vm '%s': out of memory", id);
        goto out_fail;
    }
    event_add(vm->ev_img, NULL);
    return;
out_fail:
    /* finishes from the loop (hvm_kick), never inside this call */
    hvm_start_failed_herr(vm, &e);
}
