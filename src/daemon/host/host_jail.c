/* SPDX-License-Identifier: MIT */
/* host_jail.c: one VM's confinement before its QEMU starts (docs/security.md): its uid, the
 * run-dir files handed to that uid, the jail plan (system paths, run dir, kernel, RAM file,
 * disk chain), its cgroup made and opened for joining; and the checks that keep what a jailed
 * QEMU wrote from steering hearthd later (adopt's uid, a pause's disk layer). */
#include "daemon/host/host.h"
#include "daemon/host/host_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/host/jail.h"

static bool uid_taken(void *ud, uint32_t uid)
{
    struct host_vm *self = ud;
    for (struct host_vm *o = self->h->vms; o; o = o->next)
        if (o != self && o->jail_uid == uid)
            return true;
    return false;
}

/* The run dir and the files QEMU opens by path for writing (its disk layer; the RAM file a
 * consumed snapshot handed over) go to its uid; what QEMU creates itself (sockets, console
 * log, a fresh RAM file) is its own anyway. qemu.log stays hearthd's: QEMU writes to an fd. */
static int own_run_dir(struct host_vm *vm, struct herr *e)
{
    uid_t u = vm->jail_uid;
    int r = jail_chown_at(vm->h->run_root, vm->id, u, u);
    if (r < 0)
        return herr_set(e, r, "vm '%s': cannot give the run dir to uid %u: %s", vm->id, u,
                        strerror(-r));
    static const char *const files[] = { "disk.qcow2", "mem" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        r = jail_chown_at(vm->run_dir, files[i], u, u);
        if (r < 0 && r != -ENOENT)
            return herr_set(e, r, "vm '%s': cannot give '%s' to uid %u: %s", vm->id, files[i],
                            u, strerror(-r));
    }
    /* the jail's tmpfs is mounted here, in QEMU's namespace only */
    char root[PATH_MAX];
    if (hvm_sock_path(vm, "jail", root) < 0)
        return herr_set(e, -ENAMETOOLONG, "vm '%s': run dir path too long", vm->id);
    if (mkdir(root, 0755) < 0 && errno != EEXIST)
        return herr_set(e, -errno, "vm '%s': cannot create '%s': %s", vm->id, root,
                        strerror(errno));
    return 0;
}

/* The read-only files a restore maps or reads must be readable by the jail's uid: a
 * snapshot's RAM file is written 0600 by hearthd (pause of a clone) or 0644 by QEMU. */
static int readable(const char *path, struct herr *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int r = -errno;
        if (fd >= 0)
            close(fd);
        return herr_set(e, r, "'%s': %s", path, strerror(-r));
    }
    int r = 0;
    if (!S_ISREG(st.st_mode))
        r = herr_set(e, -EINVAL, "'%s' is not a regular file", path);
    else if ((st.st_mode & 0444) != 0444 && fchmod(fd, (st.st_mode & 07777) | 0444) < 0)
        r = herr_set(e, -errno, "'%s': cannot make it readable: %s", path, strerror(errno));
    close(fd);
    return r;
}

int hvm_jail_plan(struct host_vm *vm, struct jail_plan **ret, struct herr *e)
{
    struct host *h = vm->h;
    char disk[PATH_MAX], root[PATH_MAX] = "", kernel[PATH_MAX];
    int r;
    struct jail_plan *p = NULL;
    if (h->jail) {
        uint32_t uid;
        if ((r = jail_uid_pick(h->uid_base, h->uid_count, vm->id, uid_taken, vm, &uid)) < 0)
            return herr_set(e, r, "vm '%s': no free uid in the jail range", vm->id);
        vm->jail_uid = uid;
        if ((r = own_run_dir(vm, e)) < 0)
            return r;
        (void)hvm_sock_path(vm, "jail", root);
    }
    if (!(p = jail_plan_new(h->jail, vm->jail_uid, vm->jail_uid, root)))
        return herr_set(e, -ENOMEM, "vm '%s': out of memory", vm->id);
    /* limits first; the child joins before exec. No quota from the shape: its vCPUs, plus half
     * a CPU for QEMU's own threads (main loop, I/O), so one sandbox cannot take more than its
     * share of the host */
    uint32_t quota = vm->cpu_quota_pct ? vm->cpu_quota_pct : vm->vcpus * 100 + 50;
    struct cgroup_limits lim = cgroup_vm_limits(vm->memory_mib, quota);
    snprintf(lim.io_dev, sizeof(lim.io_dev), "%s", h->io_dev);
    lim.io_bps = h->io_bps;
    lim.io_iops = h->io_iops;
    if (h->cg.kind != CGROUP_NONE) {
        if ((r = cgroup_layout_setup(&h->cg, vm->id, &lim, e)) < 0)
            goto out_free;
        r = cgroup_layout_procs_open(&h->cg, vm->id, p->cg_fds, CGROUP_CTRL_COUNT);
        if (r < 0) {
            herr_set(e, r, "vm '%s': cannot open its cgroup.procs: %s", vm->id, strerror(-r));
            goto out_free;
        }
        p->n_cg = (size_t)r;
    }
    if (!h->jail)
        goto out_ok;
    (void)hvm_sock_path(vm, "disk.qcow2", disk);
    r = jail_qcow2_backing(disk, vm->backing, sizeof(vm->backing));
    if (r < 0) {
        herr_set(e, r, "vm '%s': disk layer '%s': %s", vm->id, disk, strerror(-r));
        goto out_free;
    }
    if (!realpath(h->kernel, kernel)) {
        r = herr_set(e, -errno, "kernel '%s': %s", h->kernel, strerror(errno));
        goto out_free;
    }
    /* a QEMU outside /usr (qemu_bin = an absolute path; /usr is bound whole below): its file,
     * read-only; a missing one stays missing, so exec reports it as without the jail */
    char bin[PATH_MAX];
    if (h->qemu_bin[0] == '/' && strncmp(h->qemu_bin, "/usr/", 5) != 0 &&
        realpath(h->qemu_bin, bin) &&
        (r = jail_plan_bind(p, bin, h->qemu_bin, JAIL_RO | JAIL_EXEC)) < 0) {
        herr_set(e, r, "vm '%s': jail: qemu binary: %s", vm->id, strerror(-r));
        goto out_free;
    }
    if ((r = jail_plan_system(p, h->accel == QEMU_ACCEL_KVM)) == -EACCES) {
        herr_set(e, r, "vm '%s': jail: /dev/kvm is not read-write for its group, so the confined "
                 "QEMU cannot open it (udev's default is root:kvm 0660; or set jail = off)",
                 vm->id);
        goto out_free;
    }
    if (r < 0 || (r = jail_plan_bind(p, vm->run_dir, vm->run_dir, JAIL_DIR)) < 0 ||
        (r = jail_plan_bind(p, kernel, h->kernel, JAIL_RO)) < 0) {
        herr_set(e, r, "vm '%s': jail: %s", vm->id, strerror(-r));
        goto out_free;
    }
    /* a shared snapshot's RAM, mapped private (a restore that consumes it has it in the run
     * dir) */
    if (vm->mem_path[0] && strncmp(vm->mem_path, vm->run_dir, strlen(vm->run_dir)) != 0 &&
        ((r = readable(vm->mem_path, e)) < 0 ||
         (r = jail_plan_bind(p, vm->mem_path, vm->mem_path, JAIL_RO)) < 0)) {
        if (!e->code)
            herr_set(e, r, "vm '%s': jail: RAM file: %s", vm->id, strerror(-r));
        goto out_free;
    }
    if ((r = jail_plan_chain(p, disk, e)) < 0)
        goto out_free;
    for (size_t i = 0; i < p->n_binds; i++) {
        const struct jail_bind *b = &p->binds[i];
        if (!(b->flags & (JAIL_DEV | JAIL_DIR)) && (r = readable(b->src, e)) < 0)
            goto out_free;
    }
out_ok:
    *ret = p;
    return 0;
out_free:
    jail_plan_free(p);
    return r < 0 ? r : -EIO;
}

int hvm_jail_check_layer(struct host_vm *vm, const char *disk, struct herr *e)
{
    if (!vm->jail_uid)
        return 0;
    char now[PATH_MAX];
    struct stat st;
    if (lstat(disk, &st) < 0 || !S_ISREG(st.st_mode))
        return herr_set(e, -EINVAL, "disk layer '%s' is not a regular file", disk);
    int r = jail_qcow2_backing(disk, now, sizeof(now));
    if (r < 0 || strcmp(now, vm->backing) != 0)
        return herr_set(e, -EINVAL, "disk layer '%s': its backing file changed while the VM "
                        "ran ('%s', was '%s'); refusing it", disk, r < 0 ? "?" : now,
                        vm->backing);
    return 0;
}

/* The real uid of pid from /proc/<pid>/status; -errno. */
static int proc_uid(pid_t pid, uid_t *ret)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -EIO;
    buf[n] = 0;
    const char *u = strstr(buf, "\nUid:\t");
    unsigned long v;
    if (!u || sscanf(u + 6, "%lu", &v) != 1)
        return -EBADMSG;
    *ret = (uid_t)v;
    return 0;
}

/* A run dir of a jail uid was QEMU's to write: whatever names its QEMU (a pid file it could
 * rewrite) must name a process of that uid, else a forged one would have hearthd adopt, signal
 * or kill another process. 0, or -EPERM (pidfd closed). */
static int owner_check(struct host *h, const struct stat *dir_st, pid_t pid, int pidfd)
{
    if (dir_st->st_uid >= h->uid_base && dir_st->st_uid - h->uid_base < h->uid_count) {
        uid_t uid = 0;
        if (proc_uid(pid, &uid) < 0 || uid != dir_st->st_uid) {
            close(pidfd);
            return -EPERM;
        }
    }
    return 0;
}

int hvm_pidfile_open(struct host *h, const char *dir, pid_t *ret_pid, int *ret_pidfd)
{
    struct stat st;
    if (stat(dir, &st) < 0)
        return -errno;
    pid_t pid;
    int pidfd;
    int r = rundir_pidfile_open(dir, &pid, &pidfd);
    if (r < 0)
        return r;
    if ((r = owner_check(h, &st, pid, pidfd)) < 0)
        return r;
    *ret_pid = pid;
    *ret_pidfd = pidfd;
    return 0;
}

int hvm_qemu_open(struct host *h, const char *dir, pid_t *ret_pid, int *ret_pidfd)
{
    int r = hvm_pidfile_open(h, dir, ret_pid, ret_pidfd);
    if (r != -ENOENT)
        return r;
    /* no pid file: a hearthd killed between spawn and pid file left a QEMU that only its
     * command line names */
    struct stat st;
    pid_t pid;
    int pidfd;
    if (stat(dir, &st) < 0)
        return -errno;
    if ((r = rundir_find_qemu(dir, &pid, &pidfd)) < 0)
        return r == -ESRCH ? -ENOENT : r;
    if ((r = owner_check(h, &st, pid, pidfd)) < 0)
        return r;
    *ret_pid = pid;
    *ret_pidfd = pidfd;
    return 0;
}

void hvm_jail_adopt(struct host_vm *vm)
{
    struct stat st;
    struct host *h = vm->h;
    if (stat(vm->run_dir, &st) < 0 || st.st_uid < h->uid_base ||
        st.st_uid - h->uid_base >= h->uid_count)
        return; /* started without the jail (jail = off then) */
    vm->jail_uid = st.st_uid;
    /* the backing it runs on, which a pause checks the layer against */
    char disk[PATH_MAX];
    (void)hvm_sock_path(vm, "disk.qcow2", disk);
    if (jail_qcow2_backing(disk, vm->backing, sizeof(vm->backing)) < 0)
        vm->backing[0] = 0; /* a later pause then refuses the layer */
}
