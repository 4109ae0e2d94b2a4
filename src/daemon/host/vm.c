/* SPDX-License-Identifier: MIT */
/* vm.c: lifecycle of one microVM: run dir and disk layer, QEMU spawn, QMP and agent
 * connections, start-up failure diagnosis, stop and cleanup. Owns the QEMU process and the
 * run dir; knows nothing of sandboxes, the store or the API. */
#include "daemon/host/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "daemon/host/agent_client.h"
#include "common/fdio.h"
#include "common/hostname.h"
#include "common/herr.h"
#include "daemon/host/migsplit.h"
#include "common/mono.h"
#include "daemon/host/proc.h"
#include "daemon/host/qmp.h"
#include "daemon/host/rundir.h"
#include "daemon/host/snapshot.h"
#include "daemon/host/usock.h"

struct vm {
    char run_dir[PATH_MAX];     /* absolute */
    bool keep_run_dir;
    int stop_timeout_ms;
    enum qemu_accel accel;
    struct proc qemu;           /* the QEMU process */
    struct qmp_client *qmp;     /* owned, NULL before connect */
    struct agent_client *agent; /* owned, NULL before connect */
    struct vm_events ev;
    /* for snapshots */
    char kernel[PATH_MAX];      /* absolute */
    unsigned vcpus, memory_mib;
    bool ram_private;           /* restored: RAM is a private mapping of a snapshot's file */
    bool nic;                   /* QEMU has the virtio-net NIC (hub port, no link) */
    char qemu_img[PATH_MAX];    /* c->qemu_img, "" for the default */
};

static void on_qmp_event(void *ud, const char *event, json_t *data)
{
    struct vm *vm = ud;
    if (strcmp(event, "SHUTDOWN") == 0) {
        json_t *reason = json_object_get(data, "reason");
        vm->ev.shutdown = true;
        vm->ev.shutdown_guest = json_is_true(json_object_get(data, "guest"));
        snprintf(vm->ev.shutdown_reason, sizeof(vm->ev.shutdown_reason), "%s",
                 json_is_string(reason) ? json_string_value(reason) : "");
    } else if (strcmp(event, "STOP") == 0) {
        vm->ev.stops++;
    } else if (strcmp(event, "RESUME") == 0) {
        vm->ev.resumes++;
    } else if (strcmp(event, "VSERPORT_CHANGE") == 0) {
        vm->ev.agent_port_open = json_is_true(json_object_get(data, "open"));
    }
}

static int make_run_dir(const struct vm_config *c, char *out, size_t len, struct herr *e)
{
    if (c->run_dir) {
        if (c->run_dir[0] != '/')
            return herr_set(e, -EINVAL, "run dir '%s' is not an absolute path", c->run_dir);
        if (strchr(c->run_dir, ','))
            return herr_set(e, -EINVAL, "run dir '%s' contains ','", c->run_dir);
        if (mkdir(c->run_dir, 0700) < 0)
            return herr_set(e, -errno, "cannot create run dir '%s': %s", c->run_dir,
                            strerror(errno));
        if ((size_t)snprintf(out, len, "%s", c->run_dir) >= len)
            return herr_set(e, -ENAMETOOLONG, "run dir '%s' is too long", c->run_dir);
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    if (!tmp || tmp[0] != '/' || strchr(tmp, ','))
        tmp = "/tmp";
    if ((size_t)snprintf(out, len, "%s/hearth-vm.XXXXXX", tmp) >= len)
        return herr_set(e, -ENAMETOOLONG, "TMPDIR '%s' is too long", tmp);
    if (!mkdtemp(out))
        return herr_set(e, -errno, "cannot create a run dir in '%s': %s", tmp, strerror(errno));
    return 0;
}

/* After a failed start: why did it fail? Overrides a generic code with the real cause. */
static int diagnose(struct vm *vm, int r, int boot_ms, struct herr *e)
{
    /* A lost connection or socket usually means QEMU is exiting: give it a bounded moment
     * (pidfd wait, not a sleep) so the report names the real cause. */
    if (proc_try_reap(&vm->qemu) == 0 ||
        (r != -ETIMEDOUT && proc_wait(&vm->qemu, mono_now_us() + 2000000) == 0))
        return rundir_explain_exit(vm->run_dir, vm->qemu.status, true, e);
    if (r == -ETIMEDOUT)
        return rundir_explain_timeout(vm->run_dir, boot_ms, e);
    return r;
}

/* Builds QEMU's argv from qc, starts it with its output in log, and writes the pid file that
 * lets a later process adopt the VM (host_vm_adopt(); a VM without one still runs). 0, or
 * -errno with e set; nothing is left running on failure. */
static int vm_spawn_qemu(struct vm *vm, const struct qemu_config *qc, const char *log,
                         struct herr *e)
{
    char **argv = NULL;
    int r = qemu_argv_build(qc, &argv);
    if (r < 0)
        return herr_set(e, r, "invalid vm config (vcpus %u, memory %u MiB, run dir '%s')",
                        qc->vcpus, qc->memory_mib, vm->run_dir);
    r = proc_spawn(argv, log, &vm->qemu);
    if (r < 0)
        herr_set(e, r, "cannot run '%s': %s", argv[0], strerror(-r));
    qemu_argv_free(argv);
    if (r < 0)
        return r;
    (void)rundir_pidfile_write(vm->run_dir, vm->qemu.pid);
    return 0;
}

/* c->hostname is checked before anything starts, so a bad one costs no QEMU. */
static int check_hostname(const struct vm_config *c, struct herr *e)
{
    if (c->hostname && !hostname_valid(c->hostname, strlen(c->hostname)))
        return herr_set(e, -EINVAL, "hostname '%s' is not 1-63 characters of [a-z0-9-]",
                        c->hostname);
    return 0;
}

/* Connects the agent client, lets QEMU's exit cut its waits short, and gives it the identity
 * its HELLO carries (see agent_client_set_identity()). */
static int agent_attach(struct vm *vm, const struct vm_config *c, const char *agent_path,
                        int64_t deadline_us, struct herr *e)
{
    int r = agent_client_connect(agent_path, vm->qemu.pidfd, deadline_us, &vm->agent, e);
    if (r < 0)
        return r;
    agent_client_set_watch_fd(vm->agent, vm->qemu.pidfd);
    if (c->hostname && (r = agent_client_set_identity(vm->agent, c->hostname)) < 0)
        return herr_set(e, r, "hostname '%s' is not valid", c->hostname);
    return 0;
}

int vm_start(const struct vm_config *c, struct vm **ret, struct herr *e)
{
    int boot_ms = c->boot_timeout_ms > 0 ? c->boot_timeout_ms : 30000;
    int r = check_hostname(c, e);
    if (r < 0)
        return r;
    r = rundir_check_file("kernel", c->kernel, e);
    if (r < 0)
        return r;
    r = rundir_check_file("rootfs image", c->rootfs, e);
    if (r < 0)
        return r;
    char rootfs_abs[PATH_MAX];
    if (!realpath(c->rootfs, rootfs_abs))
        return herr_set(e, -errno, "rootfs image '%s': %s", c->rootfs, strerror(errno));
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return herr_set(e, -ENOMEM, "out of memory");
    vm->qemu.pidfd = -1;
    vm->keep_run_dir = c->keep_run_dir;
    vm->stop_timeout_ms = c->stop_timeout_ms > 0 ? c->stop_timeout_ms : 10000;
    vm->accel = qemu_accel_resolve(c->accel, "/sys/module", "/dev/kvm");
    vm->vcpus = c->vcpus ? c->vcpus : 1;
    vm->memory_mib = c->memory_mib ? c->memory_mib : 256;
    snprintf(vm->qemu_img, sizeof(vm->qemu_img), "%s", c->qemu_img ? c->qemu_img : "");
    if (!realpath(c->kernel, vm->kernel)) {
        r = herr_set(e, -errno, "kernel '%s': %s", c->kernel, strerror(errno));
        free(vm);
        return r;
    }
    r = make_run_dir(c, vm->run_dir, sizeof(vm->run_dir), e);
    if (r < 0) {
        free(vm);
        return r;
    }
    char disk[PATH_MAX], log[PATH_MAX], qmp_path[PATH_MAX], agent_path[PATH_MAX];
    if (qemu_run_path(vm->run_dir, "disk.qcow2", disk, sizeof(disk)) < 0 ||
        qemu_run_path(vm->run_dir, "qemu.log", log, sizeof(log)) < 0 ||
        qemu_run_path(vm->run_dir, "qmp.sock", qmp_path, sizeof(qmp_path)) < 0 ||
        qemu_run_path(vm->run_dir, "agent.sock", agent_path, sizeof(agent_path)) < 0) {
        r = herr_set(e, -ENAMETOOLONG, "run dir '%s' is too long", vm->run_dir);
        goto out_free;
    }
    /* Unix socket paths are limited to 107 bytes */
    if (strlen(agent_path) >= 108) {
        r = herr_set(e, -ENAMETOOLONG, "run dir '%s' is too long for a socket path",
                     vm->run_dir);
        goto out_free;
    }
    r = qemu_disk_create(c->qemu_img, rootfs_abs, disk, log, 30000, e);
    if (r < 0)
        goto out_free;
    struct qemu_config qc = {
        .qemu_bin = c->qemu_bin,
        .kernel = c->kernel,
        .run_dir = vm->run_dir,
        .accel = vm->accel,
        .vcpus = c->vcpus ? c->vcpus : 1,
        .memory_mib = c->memory_mib ? c->memory_mib : 256,
        .init = c->init,
        .extra_append = c->extra_append,
        .nic = true, /* the same device set as hearthd's VMs, so snapshots are alike */
    };
    vm->nic = true;
    r = vm_spawn_qemu(vm, &qc, log, e);
    if (r < 0)
        goto out_free;
    int64_t deadline = mono_now_us() + (int64_t)boot_ms * 1000;
    r = qmp_client_connect(qmp_path, vm->qemu.pidfd, deadline, on_qmp_event, vm, &vm->qmp, e);
    if (r < 0)
        goto out_diag;
    r = agent_attach(vm, c, agent_path, deadline, e);
    if (r < 0)
        goto out_diag;
    r = agent_wait_ready(vm->agent, deadline, e);
    if (r < 0)
        goto out_diag;
    *ret = vm;
    return 0;
out_diag:
    r = diagnose(vm, r, boot_ms, e);
out_free:
    vm_free(vm);
    return r;
}

bool vm_alive(struct vm *vm)
{
    return vm->qemu.pid > 0 && proc_try_reap(&vm->qemu) == -EAGAIN;
}

int vm_wait_exit(struct vm *vm, int64_t deadline_us, int *ret_status)
{
    for (;;) {
        int r = proc_try_reap(&vm->qemu);
        if (r == 0) {
            if (ret_status)
                *ret_status = vm->qemu.status;
            return 0;
        }
        if (r != -EAGAIN)
            return r;
        struct pollfd pfd[2] = {
            { .fd = vm->qemu.pidfd, .events = POLLIN },
            { .fd = vm->qmp ? qmp_client_fd(vm->qmp) : -1, .events = POLLIN },
        };
        int n = poll(pfd, 2, mono_poll_ms(deadline_us));
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n == 0)
            return -ETIMEDOUT;
        if (vm->qmp && (pfd[1].revents & (POLLIN | POLLHUP)) &&
            qmp_client_on_readable(vm->qmp) < 0) {
            qmp_client_free(vm->qmp); /* QEMU closed it: it is exiting */
            vm->qmp = NULL;
        }
    }
}

int vm_stop(struct vm *vm, struct herr *e)
{
    if (!vm_alive(vm))
        return 0;
    int64_t step = (int64_t)vm->stop_timeout_ms * 1000;
    if (vm->agent) {
        /* A failure here just means the next stage does the job. */
        (void)agent_power(vm->agent, "poweroff", mono_now_us() + step, NULL);
        if (vm_wait_exit(vm, mono_now_us() + step, NULL) == 0)
            return 0;
    }
    if (vm->qmp) {
        (void)qmp_execute(vm->qmp, "quit", NULL, mono_now_us() + step, NULL, NULL);
        if (vm_wait_exit(vm, mono_now_us() + step, NULL) == 0)
            return 0;
    }
    vm_kill(vm);
    if (vm_alive(vm))
        return herr_set(e, -EBUSY, "qemu (pid %d) did not exit even after SIGKILL",
                        (int)vm->qemu.pid);
    return 0;
}

void vm_kill(struct vm *vm)
{
    if (vm->qemu.pid <= 0 || vm->qemu.reaped)
        return;
    proc_kill(&vm->qemu, SIGKILL);
    (void)proc_wait(&vm->qemu, mono_now_us() + 10000000); /* SIGKILL: exits promptly */
}

void vm_free(struct vm *vm)
{
    if (!vm)
        return;
    vm_kill(vm);
    agent_client_free(vm->agent);
    qmp_client_free(vm->qmp);
    proc_release(&vm->qemu);
    if (!vm->keep_run_dir && vm->run_dir[0])
        rundir_remove(vm->run_dir);
    free(vm);
}

int vm_pidfd(const struct vm *vm)
{
    return vm->qemu.pidfd;
}

struct agent_client *vm_agent(struct vm *vm)
{
    return vm->agent;
}

struct qmp_client *vm_qmp(struct vm *vm)
{
    return vm->qmp;
}

const char *vm_run_dir(const struct vm *vm)
{
    return vm->run_dir;
}

enum qemu_accel vm_accel(const struct vm *vm)
{
    return vm->accel;
}

const struct vm_events *vm_events(struct vm *vm)
{
    if (vm->qmp && qmp_client_on_readable(vm->qmp) < 0) {
        qmp_client_free(vm->qmp);
        vm->qmp = NULL;
    }
    return &vm->ev;
}

void vm_agent_disconnect(struct vm *vm)
{
    agent_client_free(vm->agent);
    vm->agent = NULL;
}

int vm_agent_reconnect(struct vm *vm, int64_t deadline_us, struct herr *e)
{
    char path[PATH_MAX];
    agent_client_free(vm->agent);
    vm->agent = NULL;
    int r = qemu_run_path(vm->run_dir, "agent.sock", path, sizeof(path));
    if (r < 0)
        return herr_set(e, r, "run dir '%s' is too long", vm->run_dir);
    r = agent_client_connect(path, vm->qemu.pidfd, deadline_us, &vm->agent, e);
    if (r < 0)
        return r;
    agent_client_set_watch_fd(vm->agent, vm->qemu.pidfd);
    r = agent_client_resync(vm->agent);
    if (r < 0)
        return herr_set(e, r, "agent: cannot queue the resync preamble");
    return agent_wait_ready(vm->agent, deadline_us, e);
}

/* --- snapshots --- */

#define SNAP_STEP_US (30 * 1000000LL) /* each QMP stage of a save or a restore */

static int qmp_ignore_shared(struct qmp_client *q, int64_t deadline, struct herr *e)
{
    json_t *args = json_pack("{s:[{s:s,s:b}]}", "capabilities", "capability", "x-ignore-shared",
                             "state", 1);
    if (!args)
        return herr_set(e, -ENOMEM, "out of memory");
    int r = qmp_execute(q, "migrate-set-capabilities", args, deadline, NULL, e);
    json_decref(args);
    return r;
}

/* Polls query-migrate until the migration completed (0) or failed (-EIO with QEMU's reason). */
static int qmp_wait_migration(struct qmp_client *q, int64_t deadline, struct herr *e)
{
    for (;;) {
        json_t *ret = NULL;
        int r = qmp_execute(q, "query-migrate", NULL, deadline, &ret, e);
        if (r < 0)
            return r;
        const char *st, *why;
        enum qmp_migration m = qmp_migration_state(ret, &st, &why);
        if (m == QMP_MIGRATION_COMPLETED) {
            json_decref(ret);
            return 0;
        }
        if (m == QMP_MIGRATION_FAILED) {
            r = herr_set(e, -EIO, "migration %s: %s", st, why ? why : "(no reason given)");
            json_decref(ret);
            return r;
        }
        if (mono_now_us() >= deadline) {
            r = herr_set(e, -ETIMEDOUT, "migration still '%s' at its deadline", st);
            json_decref(ret);
            return r;
        }
        json_decref(ret);
        struct timespec ts = { 0, 1000000 }; /* 1 ms: a device-state migration takes ~10 */
        nanosleep(&ts, NULL);
    }
}

static int qmp_version(struct qmp_client *q, int64_t deadline, char *out, size_t len,
                       struct herr *e)
{
    json_t *ret = NULL;
    int r = qmp_execute(q, "query-version", NULL, deadline, &ret, e);
    if (r < 0)
        return r;
    qmp_version_string(ret, out, len);
    json_decref(ret);
    return 0;
}

static int snap_path(const char *dir, const char *name, char *out, struct herr *e)
{
    if (qemu_run_path(dir, name, out, PATH_MAX) < 0)
        return herr_set(e, -ENAMETOOLONG, "snapshot dir '%s' is too long", dir);
    return 0;
}


#define SINK_BUF (1u << 20) /* state bytes and RAM runs are written in pieces up to this */

/* Where the migration stream goes: the state file as it comes (a VM with RAM of its own), or
 * through the splitter (a restored VM), its guest pages into a RAM file of the snapshot. */
struct state_sink {
    int state_fd;
    int mem_fd;                 /* -1 without a split */
    struct migsplit *split;     /* NULL: the stream goes to state_fd unchanged */
    uint8_t *out;               /* split: state bytes not yet written */
    size_t out_len;
    uint8_t *run;               /* split: guest pages at consecutive offsets, not yet written */
    size_t run_len;
    uint64_t run_off;
};

static int sink_flush_run(struct state_sink *k)
{
    int r = fd_pwrite_all(k->mem_fd, k->run, k->run_len, k->run_off);
    k->run_len = 0;
    return r;
}

static int on_split_state(void *ud, const void *buf, size_t len)
{
    struct state_sink *k = ud;
    if (k->out_len + len > SINK_BUF) {
        int r = fd_write_all(k->state_fd, k->out, k->out_len);
        k->out_len = 0;
        if (r < 0)
            return r;
        if (len > SINK_BUF)
            return fd_write_all(k->state_fd, buf, len);
    }
    memcpy(k->out + k->out_len, buf, len);
    k->out_len += len;
    return 0;
}

/* QEMU sends a block's pages in ascending order, so runs of pages become one pwrite each. */
static int on_split_ram(void *ud, uint64_t off, const void *buf, size_t len)
{
    struct state_sink *k = ud;
    if (k->run_len && (off != k->run_off + k->run_len || k->run_len + len > SINK_BUF)) {
        int r = sink_flush_run(k);
        if (r < 0)
            return r;
    }
    if (k->run_len == 0)
        k->run_off = off;
    memcpy(k->run + k->run_len, buf, len);
    k->run_len += len;
    return 0;
}

/* Frees what sink_init() allocated; the fds stay open. */
static void sink_release(struct state_sink *k)
{
    migsplit_free(k->split);
    free(k->out);
    free(k->run);
    k->split = NULL;
    k->out = k->run = NULL;
}

/* A sink into state_fd; with mem_fd >= 0 the stream is split and the pages of the guest RAM
 * block (mem_size bytes) go to mem_fd. The fds stay the caller's. */
static int sink_init(struct state_sink *k, int state_fd, int mem_fd, uint64_t mem_size,
                     struct herr *e)
{
    *k = (struct state_sink){ .state_fd = state_fd, .mem_fd = mem_fd };
    if (mem_fd < 0)
        return 0;
    static const struct migsplit_ops ops = { on_split_state, on_split_ram };
    k->out = malloc(SINK_BUF);
    k->run = malloc(SINK_BUF);
    int r = k->out && k->run ? migsplit_new(QEMU_RAM_BLOCK, mem_size, &ops, k, &k->split)
                             : -ENOMEM;
    if (r < 0) {
        sink_release(k);
        return herr_set(e, r, "cannot set up the RAM split: %s", strerror(-r));
    }
    return 0;
}

static int sink_write(struct state_sink *k, const void *buf, size_t len, struct herr *e)
{
    int r = k->split ? migsplit_push(k->split, buf, len, e) : fd_write_all(k->state_fd, buf, len);
    if (r < 0)
        return herr_set(e, r, "writing the device state: %s", strerror(-r));
    return 0;
}

/* After EOF: the split must have seen a whole stream; everything is written and the state
 * synced (the RAM file is not, like a running VM's RAM file that a snapshot links). */
static int sink_finish(struct state_sink *k, struct herr *e)
{
    int r = 0;
    if (k->split) {
        r = migsplit_finish(k->split, e);
        if (r == 0 && (r = sink_flush_run(k)) < 0)
            return herr_set(e, r, "writing the RAM file: %s", strerror(-r));
        if (r == 0 && (r = fd_write_all(k->state_fd, k->out, k->out_len)) < 0)
            return herr_set(e, r, "writing the device state: %s", strerror(-r));
        if (r < 0)
            return r;
    }
    if (fsync(k->state_fd) < 0)
        return herr_set(e, -errno, "fsync of the device state: %s", strerror(errno));
    return 0;
}

/* Copies what QEMU sends on the accepted migration connection into k until EOF. */
static int copy_stream(int lfd, struct state_sink *k, int pidfd, int64_t deadline,
                       struct herr *e)
{
    int cfd = -1;
    for (;;) {
        struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
        int n = poll(p, 2, mono_poll_ms(deadline));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return herr_set(e, -errno, "poll: %s", strerror(errno));
        if (n == 0)
            return herr_set(e, -ETIMEDOUT, "QEMU did not connect to send its device state");
        if (p[1].revents)
            return herr_set(e, -ESRCH, "QEMU exited while saving its device state");
        cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd >= 0)
            break;
        if (errno != EAGAIN && errno != EINTR)
            return herr_set(e, -errno, "accept: %s", strerror(errno));
    }
    char buf[65536];
    int r = 0;
    for (;;) {
        ssize_t n = read(cfd, buf, sizeof(buf));
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = { .fd = cfd, .events = POLLIN };
            int ready = poll(&p, 1, mono_poll_ms(deadline));
            if (ready == 0) {
                r = herr_set(e, -ETIMEDOUT, "QEMU's device state did not end in time");
                break;
            }
            continue;
        }
        if (n < 0) {
            r = herr_set(e, -errno, "reading the device state: %s", strerror(errno));
            break;
        }
        r = sink_write(k, buf, (size_t)n, e);
        if (r < 0)
            break;
    }
    close(cfd);
    return r < 0 ? r : sink_finish(k, e);
}

/* A restored VM migrates all of its RAM: lift QEMU's default limit of 128 MiB/s, as the bytes
 * only cross a local socket (bench_vm, minimal: a save went from 274 to 78 ms p50). */
static int qmp_unlimited_bandwidth(struct qmp_client *q, int64_t deadline, struct herr *e)
{
    json_t *args = json_pack("{s:I}", "max-bandwidth", (json_int_t)1 << 40);
    if (!args)
        return herr_set(e, -ENOMEM, "out of memory");
    int r = qmp_execute(q, "migrate-set-parameters", args, deadline, NULL, e);
    json_decref(args);
    return r;
}

/* Stops the VM and writes the device state to state_path: QEMU migrates to a Unix socket of
 * the run dir that we listen on and copy from, so the file is complete when QEMU says so (an
 * exec: child would be killed 10 ms after QEMU closes its pipe). With mem_fd >= 0 (a restored
 * VM, whose RAM is not shared and so is in the stream) the guest pages are split out into
 * mem_fd and the state is what a VM with its own RAM file would have sent. */
static int save_state(struct vm *vm, const char *state_path, int mem_fd, char *version,
                      size_t vlen, struct herr *e)
{
    int64_t deadline = mono_now_us() + SNAP_STEP_US;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/migrate.sock", vm->run_dir);
    if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
        return herr_set(e, -ENAMETOOLONG, "run dir '%s' is too long for a socket", vm->run_dir);
    int out = open(state_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0)
        return herr_set(e, -errno, "cannot create '%s': %s", state_path, strerror(errno));
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (lfd < 0) {
        close(out);
        return herr_set(e, -errno, "socket: %s", strerror(errno));
    }
    (void)unlink(sa.sun_path);
    int r = 0;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
        r = herr_set(e, -errno, "cannot listen on '%s': %s", sa.sun_path, strerror(errno));
        goto out;
    }
    r = qmp_execute(vm->qmp, "stop", NULL, deadline, NULL, e);
    if (r < 0)
        goto out;
    r = qmp_ignore_shared(vm->qmp, deadline, e);
    if (r < 0)
        goto out;
    r = qmp_version(vm->qmp, deadline, version, vlen, e);
    if (r < 0)
        goto out;
    if (mem_fd >= 0 && (r = qmp_unlimited_bandwidth(vm->qmp, deadline, e)) < 0)
        goto out;
    char uri[sizeof(sa.sun_path) + 8];
    snprintf(uri, sizeof(uri), "unix:%s", sa.sun_path);
    json_t *args = json_pack("{s:s}", "uri", uri);
    if (!args) {
        r = herr_set(e, -ENOMEM, "out of memory");
        goto out;
    }
    r = qmp_execute(vm->qmp, "migrate", args, deadline, NULL, e);
    json_decref(args);
    if (r < 0)
        goto out;
    struct state_sink sink;
    r = sink_init(&sink, out, mem_fd, (uint64_t)vm->memory_mib << 20, e);
    if (r < 0)
        goto out;
    r = copy_stream(lfd, &sink, vm->qemu.pidfd, deadline, e);
    sink_release(&sink);
    if (r < 0)
        goto out;
    r = qmp_wait_migration(vm->qmp, deadline, e);
out:
    close(lfd);
    close(out);
    (void)unlink(sa.sun_path);
    return r;
}

int vm_snapshot_save(struct vm *vm, const char *dir, struct herr *e)
{
    if (!dir || dir[0] != '/' || strchr(dir, ','))
        return herr_set(e, -EINVAL, "snapshot dir '%s' must be absolute, without ','",
                        dir ? dir : "(null)");
    if (!vm->qmp || !vm_alive(vm))
        return herr_set(e, -ESRCH, "the VM is not running");
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return herr_set(e, -errno, "cannot create snapshot dir '%s': %s", dir, strerror(errno));
    char state[PATH_MAX], mem[PATH_MAX], disk[PATH_MAX];
    char src_mem[PATH_MAX], src_disk[PATH_MAX];
    int r;
    if ((r = snap_path(dir, "state", state, e)) < 0 || (r = snap_path(dir, "mem", mem, e)) < 0 ||
        (r = snap_path(dir, "disk.qcow2", disk, e)) < 0 ||
        (r = snap_path(vm->run_dir, "mem", src_mem, e)) < 0 ||
        (r = snap_path(vm->run_dir, "disk.qcow2", src_disk, e)) < 0)
        return r;
    /* A restored VM's RAM is a private mapping of another snapshot's file: its pages come in
     * the migration stream and are split out into a sparse RAM file of this snapshot. */
    int mem_fd = -1;
    if (vm->ram_private) {
        mem_fd = open(mem, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (mem_fd < 0)
            return herr_set(e, -errno, "cannot create '%s': %s", mem, strerror(errno));
        if (ftruncate(mem_fd, (off_t)vm->memory_mib << 20) < 0) {
            r = herr_set(e, -errno, "cannot size '%s': %s", mem, strerror(errno));
            close(mem_fd);
            (void)unlink(mem);
            return r;
        }
    }
    /* A PING answered just before the stop proves the agent's reader is between frames (it
     * read all we sent, and we send nothing more): a restore then needs no resync preamble
     * (docs/agent-protocol.md "Reconnecting fast"), which is most of its time under TCG. */
    bool aligned = vm->agent &&
                   agent_ping(vm->agent, mono_now_us() + SNAP_STEP_US, NULL) == 0;
    char version[128];
    r = save_state(vm, state, mem_fd, version, sizeof(version), e);
    if (mem_fd >= 0) {
        close(mem_fd);
        if (r < 0)
            (void)unlink(mem); /* a partial RAM file must not pass for a snapshot's */
    }
    /* the VM is paused (or broken): quit QEMU either way, which also flushes the disk layer */
    agent_client_free(vm->agent);
    vm->agent = NULL;
    if (vm->qmp)
        (void)qmp_execute(vm->qmp, "quit", NULL, mono_now_us() + SNAP_STEP_US, NULL, NULL);
    if (vm_wait_exit(vm, mono_now_us() + SNAP_STEP_US, NULL) < 0)
        vm_kill(vm);
    if (r < 0)
        return r;
    r = vm->ram_private ? 0 : snapshot_link_or_copy(src_mem, mem);
    if (r == 0)
        r = snapshot_link_or_copy(src_disk, disk);
    if (r < 0)
        return herr_set(e, r, "cannot move the RAM file and disk layer of '%s' into '%s': %s",
                        vm->run_dir, dir, strerror(-r));
    /* An empty layer over the frozen disk, made once here: a restore copies it (~0.1 ms)
     * instead of running qemu-img (~9 ms). Optional: without it a restore runs qemu-img. */
    char layer[PATH_MAX], img_log[PATH_MAX];
    if (snap_path(dir, "layer.qcow2", layer, NULL) == 0 &&
        snap_path(vm->run_dir, "qemu-img.log", img_log, NULL) == 0 &&
        qemu_disk_create_fmt(vm->qemu_img[0] ? vm->qemu_img : NULL, disk, "qcow2", layer,
                             img_log, 30000, NULL) < 0)
        (void)unlink(layer);
    struct snapshot_meta m = { .vcpus = vm->vcpus, .memory_mib = vm->memory_mib,
                               .agent_aligned = aligned, .nic = vm->nic };
    snprintf(m.qemu_version, sizeof(m.qemu_version), "%s", version);
    snprintf(m.kernel, sizeof(m.kernel), "%s", vm->kernel);
    struct stat kst;
    m.kernel_size = stat(vm->kernel, &kst) == 0 ? (int64_t)kst.st_size : -1;
    return snapshot_meta_write(dir, &m, e);
}

/* Checks dir/meta.json against c and the files (snapshot.c); fills the QEMU version, whether
 * the agent was between frames and whether the VM had a NIC. */
static int snap_verify(const struct vm_config *c, const char *dir, const char *kernel_abs,
                       char *version, size_t vlen, bool *ret_aligned, bool *ret_nic,
                       struct herr *e)
{
    struct snapshot_meta m;
    int r = snapshot_verify(dir, c->vcpus ? c->vcpus : 1, c->memory_mib ? c->memory_mib : 256,
                            kernel_abs, &m, e);
    if (r < 0)
        return r;
    snprintf(version, vlen, "%s", m.qemu_version);
    *ret_aligned = m.agent_aligned;
    *ret_nic = m.nic;
    return 0;
}

/* Feeds the state file to QEMU's incoming migration socket at path, then closes it. */
static int send_state(const char *path, const char *state, int pidfd, int64_t deadline,
                      struct herr *e)
{
    int in = open(state, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return herr_set(e, -errno, "cannot open '%s': %s", state, strerror(errno));
    int fd = -1;
    int r = usock_connect_wait(path, pidfd, deadline, &fd, e);
    if (r < 0) {
        close(in);
        return r;
    }
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = herr_set(e, -errno, "reading '%s': %s", state, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n && r == 0;) {
            ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w >= 0) {
                off += w;
            } else if (errno == EAGAIN) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                if (poll(&p, 1, mono_poll_ms(deadline)) == 0)
                    r = herr_set(e, -ETIMEDOUT, "QEMU stopped reading the device state");
            } else if (errno != EINTR) {
                /* QEMU refused the stream and is exiting: the caller reports why */
                r = herr_set(e, -ECONNRESET, "sending the device state: %s", strerror(errno));
            }
        }
        if (r < 0)
            break;
    }
    close(fd);
    close(in);
    return r;
}

int vm_snapshot_restore(const struct vm_config *c, const char *snapdir, struct vm **ret,
                        struct herr *e)
{
    int boot_ms = c->boot_timeout_ms > 0 ? c->boot_timeout_ms : 30000;
    char dir[PATH_MAX], kernel_abs[PATH_MAX];
    if (!snapdir || !realpath(snapdir, dir))
        return herr_set(e, -ENOENT, "snapshot '%s': %s", snapdir ? snapdir : "(null)",
                        strerror(errno));
    if (strchr(dir, ','))
        return herr_set(e, -EINVAL, "snapshot dir '%s' contains ','", dir);
    int r = check_hostname(c, e);
    if (r < 0)
        return r;
    r = rundir_check_file("kernel", c->kernel, e);
    if (r < 0)
        return r;
    if (!realpath(c->kernel, kernel_abs))
        return herr_set(e, -errno, "kernel '%s': %s", c->kernel, strerror(errno));
    char want_version[128];
    bool aligned = false, nic = false;
    r = snap_verify(c, dir, kernel_abs, want_version, sizeof(want_version), &aligned, &nic, e);
    if (r < 0)
        return r;
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return herr_set(e, -ENOMEM, "out of memory");
    vm->qemu.pidfd = -1;
    vm->keep_run_dir = c->keep_run_dir;
    vm->stop_timeout_ms = c->stop_timeout_ms > 0 ? c->stop_timeout_ms : 10000;
    vm->accel = qemu_accel_resolve(c->accel, "/sys/module", "/dev/kvm");
    vm->vcpus = c->vcpus ? c->vcpus : 1;
    vm->memory_mib = c->memory_mib ? c->memory_mib : 256;
    vm->ram_private = true;
    snprintf(vm->kernel, sizeof(vm->kernel), "%s", kernel_abs);
    snprintf(vm->qemu_img, sizeof(vm->qemu_img), "%s", c->qemu_img ? c->qemu_img : "");
    r = make_run_dir(c, vm->run_dir, sizeof(vm->run_dir), e);
    if (r < 0) {
        free(vm);
        return r;
    }
    char disk[PATH_MAX], log[PATH_MAX], qmp_path[PATH_MAX], agent_path[PATH_MAX];
    char snap_disk[PATH_MAX], snap_mem[PATH_MAX], snap_state[PATH_MAX];
    if (qemu_run_path(vm->run_dir, "disk.qcow2", disk, sizeof(disk)) < 0 ||
        qemu_run_path(vm->run_dir, "qemu.log", log, sizeof(log)) < 0 ||
        qemu_run_path(vm->run_dir, "qmp.sock", qmp_path, sizeof(qmp_path)) < 0 ||
        qemu_run_path(vm->run_dir, "agent.sock", agent_path, sizeof(agent_path)) < 0 ||
        strlen(agent_path) >= 108 || snap_path(dir, "disk.qcow2", snap_disk, e) < 0 ||
        snap_path(dir, "mem", snap_mem, e) < 0 || snap_path(dir, "state", snap_state, e) < 0) {
        r = herr_set(e, -ENAMETOOLONG, "run dir '%s' or snapshot dir '%s' is too long",
                     vm->run_dir, dir);
        goto out_free;
    }
    char layer[PATH_MAX];
    if (snap_path(dir, "layer.qcow2", layer, NULL) < 0 || snapshot_copy_file(layer, disk) < 0) {
        (void)unlink(disk);
        r = qemu_disk_create_fmt(c->qemu_img, snap_disk, "qcow2", disk, log, 30000, e);
        if (r < 0)
            goto out_free;
    }
    struct qemu_config qc = {
        .qemu_bin = c->qemu_bin,
        .kernel = kernel_abs,
        .run_dir = vm->run_dir,
        .accel = vm->accel,
        .vcpus = vm->vcpus,
        .memory_mib = vm->memory_mib,
        .init = c->init,
        .extra_append = c->extra_append,
        .mem_path = snap_mem,
        .mem_private = true,
        .incoming = true,
        .nic = nic, /* as the snapshot was taken: the device state must match */
    };
    vm->nic = nic;
    r = vm_spawn_qemu(vm, &qc, log, e);
    if (r < 0)
        goto out_free;
    int64_t deadline = mono_now_us() + (int64_t)boot_ms * 1000;
    r = qmp_client_connect(qmp_path, vm->qemu.pidfd, deadline, on_qmp_event, vm, &vm->qmp, e);
    if (r < 0)
        goto out_diag;
    char version[128];
    r = qmp_version(vm->qmp, deadline, version, sizeof(version), e);
    if (r < 0)
        goto out_diag;
    if (strcmp(version, want_version) != 0) {
        r = herr_set(e, -ESTALE, "snapshot '%s' was taken with QEMU %s; this is QEMU %s", dir,
                     want_version, version);
        goto out_free;
    }
    r = qmp_ignore_shared(vm->qmp, deadline, e);
    if (r < 0)
        goto out_diag;
    char in_path[PATH_MAX], uri[PATH_MAX + 8];
    if (qemu_run_path(vm->run_dir, "incoming.sock", in_path, sizeof(in_path)) < 0 ||
        strlen(in_path) >= 108) {
        r = herr_set(e, -ENAMETOOLONG, "run dir '%s' is too long for a socket", vm->run_dir);
        goto out_free;
    }
    snprintf(uri, sizeof(uri), "unix:%s", in_path);
    json_t *args = json_pack("{s:s}", "uri", uri);
    if (!args) {
        r = herr_set(e, -ENOMEM, "out of memory");
        goto out_free;
    }
    r = qmp_execute(vm->qmp, "migrate-incoming", args, deadline, NULL, e);
    json_decref(args);
    if (r < 0)
        goto out_diag;
    r = send_state(in_path, snap_state, vm->qemu.pidfd, deadline, e);
    if (r < 0)
        goto out_diag;
    r = qmp_wait_migration(vm->qmp, deadline, e);
    if (r < 0)
        goto out_diag;
    r = qmp_execute(vm->qmp, "cont", NULL, deadline, NULL, e);
    if (r < 0)
        goto out_diag;
    r = agent_attach(vm, c, agent_path, deadline, e);
    if (r < 0)
        goto out_diag;
    r = aligned ? 0 : agent_client_resync(vm->agent);
    if (r < 0) {
        herr_set(e, r, "agent: cannot queue the resync preamble");
        goto out_free;
    }
    r = agent_wait_ready(vm->agent, deadline, e);
    if (r < 0)
        goto out_diag;
    *ret = vm;
    return 0;
out_diag:
    r = diagnose(vm, r, boot_ms, e);
out_free:
    vm_free(vm);
    return r;
}
