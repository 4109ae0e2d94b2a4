/* SPDX-License-Identifier: MIT */
/* vm.c: lifecycle of one microVM: run dir and disk layer, QEMU spawn, QMP and agent
 * connections, start-up failure diagnosis, stop and cleanup. Owns the QEMU process and the
 * run dir; knows nothing of sandboxes, the store or the API. */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_client.h"
#include "herr.h"
#include "mono.h"
#include "proc.h"
#include "qmp.h"
#include "rundir.h"

struct vm {
    char run_dir[PATH_MAX];     /* absolute */
    bool keep_run_dir;
    int stop_timeout_ms;
    enum qemu_accel accel;
    struct proc qemu;           /* the QEMU process */
    struct qmp_client *qmp;     /* owned, NULL before connect */
    struct agent_client *agent; /* owned, NULL before connect */
    struct vm_events ev;
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

int vm_start(const struct vm_config *c, struct vm **ret, struct herr *e)
{
    int boot_ms = c->boot_timeout_ms > 0 ? c->boot_timeout_ms : 30000;
    int r = rundir_check_file("kernel", c->kernel, e);
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
    };
    char **argv = NULL;
    r = qemu_argv_build(&qc, &argv);
    if (r < 0) {
        herr_set(e, r, "invalid vm config (vcpus %u, memory %u MiB, run dir '%s')", qc.vcpus,
                 qc.memory_mib, vm->run_dir);
        goto out_free;
    }
    r = proc_spawn(argv, log, &vm->qemu);
    if (r < 0) {
        herr_set(e, r, "cannot run '%s': %s", argv[0], strerror(-r));
        qemu_argv_free(argv);
        goto out_free;
    }
    qemu_argv_free(argv);
    /* lets a later process adopt this VM (host_vm_adopt()); a VM without one still runs */
    (void)rundir_pidfile_write(vm->run_dir, vm->qemu.pid);
    int64_t deadline = mono_now_us() + (int64_t)boot_ms * 1000;
    r = qmp_client_connect(qmp_path, vm->qemu.pidfd, deadline, on_qmp_event, vm, &vm->qmp, e);
    if (r < 0)
        goto out_diag;
    r = agent_client_connect(agent_path, vm->qemu.pidfd, deadline, &vm->agent, e);
    if (r < 0)
        goto out_diag;
    agent_client_set_watch_fd(vm->agent, vm->qemu.pidfd);
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
