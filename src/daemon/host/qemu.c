/* SPDX-License-Identifier: MIT */
/* qemu.c: QEMU microvm command line (pure), accelerator choice, qcow2 layer creation. Knows the
 * run-dir layout (mem, disk.qcow2, agent.sock, qmp.sock, console.log, qemu.log) and nothing of
 * QMP or the agent protocol; host/host_boot.c drives the process. */
#include "daemon/host/qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/herr.h"
#include "common/mono.h"
#include "daemon/host/proc.h"

static const char *const accel_names[] = {
    [QEMU_ACCEL_AUTO] = "auto",
    [QEMU_ACCEL_KVM] = "kvm",
    [QEMU_ACCEL_TCG] = "tcg",
};

const char *qemu_accel_to_string(enum qemu_accel a)
{
    if ((unsigned)a < sizeof(accel_names) / sizeof(accel_names[0]))
        return accel_names[a];
    return "unknown";
}

int qemu_accel_from_string(const char *s, enum qemu_accel *ret)
{
    for (size_t i = 0; s && i < sizeof(accel_names) / sizeof(accel_names[0]); i++) {
        if (strcmp(s, accel_names[i]) == 0) {
            *ret = (enum qemu_accel)i;
            return 0;
        }
    }
    return -EINVAL;
}

static bool module_loaded(const char *dir, const char *name)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path))
        return false;
    struct stat st;
    return stat(path, &st) == 0;
}

enum qemu_accel qemu_accel_resolve(enum qemu_accel want, const char *sys_module_dir,
                                   const char *kvm_dev)
{
    if (want != QEMU_ACCEL_AUTO)
        return want;
    if (!module_loaded(sys_module_dir, "kvm_intel") && !module_loaded(sys_module_dir, "kvm_amd"))
        return QEMU_ACCEL_TCG;
    int fd = open(kvm_dev, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return QEMU_ACCEL_TCG;
    close(fd);
    return QEMU_ACCEL_KVM;
}

/* A NULL-terminated string vector under construction; the first failure sticks. */
struct strv {
    char **v;
    size_t n;
    size_t cap;
    int err;
};

__attribute__((format(printf, 2, 0)))
static void strv_vaddf(struct strv *s, const char *fmt, va_list ap)
{
    if (s->err)
        return;
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = realloc(s->v, cap * sizeof(*v));
        if (!v) {
            s->err = -ENOMEM;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    if (vasprintf(&s->v[s->n], fmt, ap) < 0) {
        s->err = -ENOMEM;
        return;
    }
    s->v[++s->n] = NULL;
}

__attribute__((format(printf, 2, 3)))
static void strv_addf(struct strv *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strv_vaddf(s, fmt, ap);
    va_end(ap);
}

/* An option and its formatted value: "-device", "virtio-rng-device". */
__attribute__((format(printf, 3, 4)))
static void strv_opt(struct strv *s, const char *opt, const char *fmt, ...)
{
    strv_addf(s, "%s", opt);
    va_list ap;
    va_start(ap, fmt);
    strv_vaddf(s, fmt, ap);
    va_end(ap);
}

void qemu_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

int qemu_run_path(const char *run_dir, const char *name, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s", run_dir, name);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

int qemu_argv_build(const struct qemu_config *c, char ***ret_argv)
{
    if (!c->kernel || !*c->kernel || !c->run_dir || c->run_dir[0] != '/')
        return -EINVAL;
    /* run_dir lands inside QEMU option strings, where ',' separates options; "file:" chardev
     * paths take no ",," escape, so refuse rather than escape. */
    if (strchr(c->run_dir, ','))
        return -EINVAL;
    if (c->accel != QEMU_ACCEL_KVM && c->accel != QEMU_ACCEL_TCG)
        return -EINVAL;
    if (c->vcpus < 1 || c->vcpus > 64 || c->memory_mib < 64 || c->memory_mib > 65536)
        return -EINVAL;
    const char *init = c->init && *c->init ? c->init : "/sbin/hearth-agent";
    if (strpbrk(init, " \t\n"))
        return -EINVAL;
    if (c->mem_path && (c->mem_path[0] != '/' || strchr(c->mem_path, ',')))
        return -EINVAL;
    if (c->nic && c->mac && !qemu_mac_valid(c->mac))
        return -EINVAL;
    const char *d = c->run_dir;
    bool kvm = c->accel == QEMU_ACCEL_KVM;
    struct strv s = { 0 };

    strv_addf(&s, "%s", c->qemu_bin && *c->qemu_bin ? c->qemu_bin : "qemu-system-x86_64");
    /* The device set and machine options below are what a snapshot's device state is matched
     * against: a change breaks every older snapshot's restore, so it needs a new tag in the
     * golden recipe (ctl/golden.c) and a plan for paused sandboxes (docs/snapshots.md). */
    strv_addf(&s, "-M");
    /* acpi=off: our kernel has no ACPI, and only without ACPI does QEMU 7.2 add the
     * virtio_mmio.device= entries to the kernel command line (auto-kernel-cmdline); with the
     * default acpi=on the guest finds no virtio device and panics without a root (seen).
     * rtc=on: without an RTC the kernel polls the absent CMOS clock for ~1 s at boot
     * ("Unable to read current time from RTC"); with it a boot takes ~0.9 s instead of ~2 s
     * under TCG here. The agent still sets the clock from the host after boot and restore. */
    strv_addf(&s, "microvm,rtc=on,isa-serial=on,acpi=off");
    /* tb-size under TCG: QEMU 7.2's translation buffer defaults to 1 GiB and is never
     * trimmed, so a sandbox's anonymous memory grows with all the guest code it ever ran
     * (measured: 271 MiB of anonymous memory after a few dpkg/perl/find runs in a 256 MiB guest; boot alone
     * translates ~38 MiB). 32 MiB caps it: a full buffer is flushed and the hot code translated
     * again. Measured here: exec `true`, boot and restore unchanged, the same heavy workload
     * ~5 % more CPU at 32 MiB, ~20 % at 16 MiB, and 8 MiB thrashes (exec `true` 10x slower).
     * Host-side only: not in the migration stream, so snapshots restore either way
     * (docs/guests.md, docs/performance.md "Density"). */
    strv_opt(&s, "-accel", "%s", kvm ? "kvm" : "tcg,tb-size=" QEMU_TCG_TB_MIB);
    strv_opt(&s, "-cpu", "%s", kvm ? "host" : "max");
    strv_opt(&s, "-smp", "%u", c->vcpus);
    strv_opt(&s, "-m", "%u", c->memory_mib);
    strv_addf(&s, "-nodefaults");
    strv_addf(&s, "-no-user-config");
    strv_addf(&s, "-nographic");
    strv_addf(&s, "-no-reboot");
    if (!c->no_sandbox) {
        /* strict: no obsolete syscalls, no setuid/setgid, no fork/exec, no affinity or
         * scheduler changes; the jail dropped privileges before exec, so none are needed */
        strv_addf(&s, "-sandbox");
        strv_addf(&s, "%s", c->strict_sandbox ? "on,obsolete=deny,elevateprivileges=deny,"
                                                "spawn=deny,resourcecontrol=deny"
                                              : "on");
    }
    /* RAM in a shared file of the run dir: a snapshot is then device state only (DESIGN §4).
     * A restore maps the snapshot's RAM file private (share=off): copy-on-write, the file's
     * pages shared through the page cache by every clone, the file never written. */
    strv_addf(&s, "-object");
    if (c->mem_path)
        strv_addf(&s, "memory-backend-file,id=" QEMU_RAM_BLOCK ",size=%uM,mem-path=%s,share=%s",
                  c->memory_mib, c->mem_path, c->mem_private ? "off" : "on");
    else
        strv_addf(&s,
                  "memory-backend-file,id=" QEMU_RAM_BLOCK ",size=%uM,mem-path=%s/mem,share=%s",
                  c->memory_mib, d, c->mem_private ? "off" : "on");
    strv_opt(&s, "-machine", "memory-backend=" QEMU_RAM_BLOCK);
    strv_opt(&s, "-kernel", "%s", c->kernel);
    strv_addf(&s, "-append");
    /* noapictimer under TCG: QEMU's emulated CPU has no TSC-deadline timer, so the kernel
     * would calibrate the local APIC timer against jiffies for ~0.2 s of every boot; the PIT
     * drives the ticks instead (measured: ~0.9 s -> ~0.7 s to init). KVM guests keep the
     * local APIC timer with TSC deadline.
     * no_timer_check under TCG: at boot the kernel checks that PIT interrupts arrive within a
     * few jiffies of TSC time and panics ("IO-APIC + timer doesn't work!") when they do not; an
     * emulated CPU starved by other VMs misses that window (seen with 20 creates at once on 2
     * cores). KVM guests skip the check by themselves. */
    const char *tcg_args = kvm ? "" : " noapictimer no_timer_check";
    strv_addf(&s, "console=ttyS0 root=/dev/vda rw init=%s quiet panic=-1 reboot=t%s%s%s", init,
              tcg_args, c->extra_append && *c->extra_append ? " " : "",
              c->extra_append ? c->extra_append : "");
    /* append=on (O_APPEND): host/console_log.c truncates the file to cap it, and QEMU's next
     * write must land at the new end, not at its old offset (a sparse file as big as before) */
    strv_opt(&s, "-chardev", "file,id=console,path=%s/console.log,append=on", d);
    strv_opt(&s, "-serial", "chardev:console");
    /* cache=writeback: guest flushes reach the host disk, so a paused sandbox's layer survives
     * a host crash; the cost is paid only when the guest fsyncs. */
    strv_opt(&s, "-drive", "id=root,file=%s/disk.qcow2,format=qcow2,if=none,cache=writeback", d);
    strv_opt(&s, "-device", "virtio-blk-device,drive=root");
    strv_opt(&s, "-device", "virtio-serial-device");
    strv_opt(&s, "-chardev", "socket,id=agent,path=%s/agent.sock,server=on,wait=off", d);
    strv_opt(&s, "-device", "virtserialport,chardev=agent,name=hearth.agent");
    strv_opt(&s, "-device", "virtio-rng-device");
    if (c->nic) {
        /* Last, so every older device keeps its place. A VM without a tap still gets the NIC
         * (on a hub port that leads nowhere): golden snapshots are built that way and their
         * clones restore onto a tap, which needs the same device set. */
        strv_addf(&s, "-netdev");
        /* no vnet_hdr=on: QEMU 7.2 refuses it next to fd= ("... are invalid with fd=") and
         * probes the fd instead, finding the IFF_VNET_HDR it was opened with */
        if (c->net_fd > 0)
            strv_addf(&s, "tap,id=net0,fd=%d", c->net_fd);
        else
            strv_addf(&s, "hubport,id=net0,hubid=0");
        strv_addf(&s, "-device");
        if (c->mac)
            strv_addf(&s, "virtio-net-device,netdev=net0,mac=%s", c->mac);
        else
            strv_addf(&s, "virtio-net-device,netdev=net0");
    }
    strv_opt(&s, "-qmp", "unix:%s/qmp.sock,server=on,wait=off", d);
    if (c->incoming) {
        strv_addf(&s, "-incoming");
        strv_addf(&s, "defer");
    }
    if (s.err) {
        qemu_argv_free(s.v);
        return s.err;
    }
    *ret_argv = s.v;
    return 0;
}

bool qemu_mac_valid(const char *mac)
{
    if (!mac || strlen(mac) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        bool hex = (mac[i] >= '0' && mac[i] <= '9') || (mac[i] >= 'a' && mac[i] <= 'f') ||
                   (mac[i] >= 'A' && mac[i] <= 'F');
        if (i % 3 == 2 ? mac[i] != ':' : !hex)
            return false;
    }
    /* bit 0 of the first octet marks multicast */
    unsigned first = (unsigned)strtoul(mac, NULL, 16);
    return !(first & 1);
}

void qemu_log_tail(const char *path, char *out, size_t len)
{
    if (len == 0)
        return;
    out[0] = 0;
    /* O_NOFOLLOW: a jailed QEMU owns its run dir and could leave a symlink to a host file */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return;
    char raw[1024];
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > (off_t)sizeof(raw) - 1 ? end - (off_t)sizeof(raw) + 1 : 0;
    ssize_t n = pread(fd, raw, sizeof(raw) - 1, start);
    close(fd);
    if (n <= 0)
        return;
    while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r'))
        n--;
    /* keep the last len-1 bytes, newlines flattened */
    size_t o = 0;
    ssize_t i = 0;
    size_t room = len - 1;
    /* estimate from the end: walk back until the flattened text fits */
    ssize_t from = n;
    size_t need = 0;
    while (from > 0) {
        size_t w = raw[from - 1] == '\n' ? 3 : 1;
        if (need + w > room)
            break;
        need += w;
        from--;
    }
    for (i = from; i < n; i++) {
        if (raw[i] == '\n') {
            memcpy(out + o, " | ", 3);
            o += 3;
        } else if (raw[i] == '\r') {
            out[o++] = ' ';
        } else {
            out[o++] = (raw[i] >= 0x20 || raw[i] == '\t' || (unsigned char)raw[i] >= 0x80)
                           ? raw[i] : '?';
        }
    }
    out[o] = 0;
}

int qemu_disk_argv(const char *qemu_img, const char *backing_abs, const char *out,
                   uint64_t size_mib, char ***ret_argv)
{
    return qemu_disk_argv_fmt(qemu_img, backing_abs, "raw", out, size_mib, ret_argv);
}

int qemu_disk_argv_fmt(const char *qemu_img, const char *backing_abs, const char *backing_fmt,
                       const char *out, uint64_t size_mib, char ***ret_argv)
{
    if (!backing_abs || backing_abs[0] != '/' || !out || !*out || size_mib > (1ull << 30))
        return -EINVAL;
    if (!backing_fmt || (strcmp(backing_fmt, "raw") != 0 && strcmp(backing_fmt, "qcow2") != 0))
        return -EINVAL;
    struct strv s = { 0 };
    strv_addf(&s, "%s", qemu_img && *qemu_img ? qemu_img : "qemu-img");
    const char *fixed[] = { "create", "-q", "-f", "qcow2", "-F", backing_fmt, "-b" };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        strv_addf(&s, "%s", fixed[i]);
    strv_addf(&s, "%s", backing_abs);
    strv_addf(&s, "%s", out);
    if (size_mib)
        strv_addf(&s, "%lluM", (unsigned long long)size_mib);
    if (s.err) {
        qemu_argv_free(s.v);
        return s.err;
    }
    *ret_argv = s.v;
    return 0;
}

int qemu_disk_explain(const char *qemu_img, const char *backing_abs, const char *out,
                      const char *log_path, int status, struct herr *e)
{
    if (status == 0)
        return 0;
    char tail[300], how[64];
    qemu_log_tail(log_path, tail, sizeof(tail));
    proc_status_describe(status, how, sizeof(how));
    return herr_set(e, -EIO, "cannot create disk layer '%s' over '%s': %s %s: %s", out,
                    backing_abs, qemu_img && *qemu_img ? qemu_img : "qemu-img", how, tail);
}

int qemu_disk_create(const char *qemu_img, const char *backing_abs, const char *out,
                     const char *log_path, int timeout_ms, struct herr *e)
{
    return qemu_disk_create_fmt(qemu_img, backing_abs, "raw", out, log_path, timeout_ms, e);
}

int qemu_disk_create_fmt(const char *qemu_img, const char *backing_abs, const char *backing_fmt,
                         const char *out, const char *log_path, int timeout_ms, struct herr *e)
{
    const char *bin = qemu_img && *qemu_img ? qemu_img : "qemu-img";
    if (backing_abs[0] != '/')
        return herr_set(e, -EINVAL, "backing image '%s' is not an absolute path", backing_abs);
    char **argv = NULL;
    int r = qemu_disk_argv_fmt(qemu_img, backing_abs, backing_fmt, out, 0, &argv);
    if (r < 0)
        return herr_set(e, r, "qemu-img arguments for '%s': %s", out, strerror(-r));
    struct proc p;
    r = proc_spawn(argv, log_path, &p);
    qemu_argv_free(argv);
    if (r < 0)
        return herr_set(e, r, "cannot run '%s': %s; install qemu-utils", bin, strerror(-r));
    r = proc_wait(&p, mono_now_us() + (int64_t)timeout_ms * 1000);
    if (r == -ETIMEDOUT) {
        proc_kill(&p, SIGKILL);
        (void)proc_wait(&p, -1);
        proc_release(&p);
        return herr_set(e, -ETIMEDOUT, "'%s create' for '%s' took over %d ms", bin, out,
                        timeout_ms);
    }
    proc_release(&p);
    if (r < 0)
        return herr_set(e, r, "waiting for '%s': %s", bin, strerror(-r));
    return qemu_disk_explain(qemu_img, backing_abs, out, log_path, p.status, e);
}
