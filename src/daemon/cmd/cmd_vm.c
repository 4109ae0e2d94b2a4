/* SPDX-License-Identifier: MIT */
/* vm_run.c: `hearthd vm run`: boot one microVM, run a command in it through the agent with its
 * output streamed live, shut the VM down, and exit with the command's status. Edge code: prints
 * to stdout/stderr. Uses the synchronous host layer only; knows nothing about the API or store. */
#include "daemon/cmd/cmd.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/wire.h"
#include "daemon/host/agent_client.h"
#include "common/herr.h"
#include "common/mono.h"
#include "daemon/host/qemu.h"
#include "daemon/host/vm.h"

static const char vm_run_usage[] =
    "usage: hearthd vm run [--images DIR] [--rootfs minimal|debian-12|PATH] [--vcpus N]\n"
    "                      [--memory MiB] [--accel auto|kvm|tcg] [--timeout SEC] [--keep]\n"
    "                      -- CMD [ARGS...]\n";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("hearthd: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(vm_run_usage, stderr);
    return EXIT_USAGE;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *ret)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return -EINVAL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -ERANGE;
    *ret = v;
    return 0;
}


/* Where the command's output goes, and how a reader that went away stops the run. */
struct run_output {
    int stop_fd;          /* eventfd in the agent client's watch set; written to end the run */
    bool stdout_closed;   /* our stdout's reader went away (`| head`) */
};

static int on_output(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct run_output *o = ud;
    int r = fd_write_all(type == WIRE_STDERR ? 2 : 1, p, len);
    /* Like a local pipeline: when stdout's reader is gone the command is stopped (the run ends
     * with 128 + SIGPIPE and the VM is powered off) instead of producing into the void. A closed
     * stderr is ignored so that `2>&-` keeps working. */
    if (r == -EPIPE && type != WIRE_STDERR && !o->stdout_closed) {
        o->stdout_closed = true;
        uint64_t one = 1;
        (void)!write(o->stop_fd, &one, sizeof(one));
    }
    return 0;
}

static const struct agent_stream_ops output_ops = { .on_data = on_output };

/* An epoll fd that fires when QEMU exits, a termination signal arrives or stop_fd is written,
 * used as the agent client's watch fd so the command loop ends on any of them. */
static int make_watch_fd(int pidfd, int stop_fd, int *ret_sigfd)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -errno;
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        return -errno;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        close(sfd);
        return -errno;
    }
    struct epoll_event ev = { .events = EPOLLIN };
    ev.data.fd = pidfd;
    (void)epoll_ctl(ep, EPOLL_CTL_ADD, pidfd, &ev);
    ev.data.fd = sfd;
    (void)epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    ev.data.fd = stop_fd;
    (void)epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &ev);
    *ret_sigfd = sfd;
    return ep;
}

int cmd_vm_run(int argc, char **argv)
{
    const char *images = getenv("HEARTH_IMAGES");
    const char *rootfs = "minimal";
    unsigned long vcpus = 1, memory = 256, timeout_s = 0;
    enum qemu_accel accel = QEMU_ACCEL_AUTO;
    bool keep = false;
    int i;
    if (!images || !*images)
        images = "./build/images";
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--keep") == 0) {
            keep = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(vm_run_usage, stdout);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0)
            return usage_error("unexpected argument '%s'; put the command after '--'", a);
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val)
            return usage_error("option '%s' needs a value", a);
        i++;
        if (strcmp(a, "--images") == 0) {
            images = val;
        } else if (strcmp(a, "--rootfs") == 0) {
            rootfs = val;
        } else if (strcmp(a, "--vcpus") == 0) {
            if (parse_uint(val, 1, 64, &vcpus) < 0)
                return usage_error("--vcpus '%s' is not a number from 1 to 64", val);
        } else if (strcmp(a, "--memory") == 0) {
            if (parse_uint(val, 64, 65536, &memory) < 0)
                return usage_error("--memory '%s' is not a MiB count from 64 to 65536", val);
        } else if (strcmp(a, "--timeout") == 0) {
            if (parse_uint(val, 0, 86400 * 7, &timeout_s) < 0)
                return usage_error("--timeout '%s' is not a number of seconds", val);
        } else if (strcmp(a, "--accel") == 0) {
            if (qemu_accel_from_string(val, &accel) < 0)
                return usage_error("--accel '%s' is not auto, kvm or tcg", val);
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (i >= argc)
        return usage_error("%s", "no command given; put it after '--'");

    char kernel[PATH_MAX], image[PATH_MAX];
    if ((size_t)snprintf(kernel, sizeof(kernel), "%s/vmlinux", images) >= sizeof(kernel))
        return usage_error("--images '%s' is too long", images);
    int n;
    if (strcmp(rootfs, "minimal") == 0 || strcmp(rootfs, "debian-12") == 0)
        n = snprintf(image, sizeof(image), "%s/%s.ext4", images, rootfs);
    else if (strchr(rootfs, '/') || strstr(rootfs, ".ext4"))
        n = snprintf(image, sizeof(image), "%s", rootfs);
    else
        return usage_error("--rootfs '%s' is not minimal, debian-12 or a path", rootfs);
    if (n < 0 || (size_t)n >= sizeof(image))
        return usage_error("--rootfs '%s' is too long", rootfs);

    struct vm_config cfg = {
        .kernel = kernel,
        .rootfs = image,
        .vcpus = (unsigned)vcpus,
        .memory_mib = (unsigned)memory,
        .accel = accel,
        .keep_run_dir = keep,
    };
    struct herr err = { 0 };
    struct vm *vm = NULL;
    if (vm_start(&cfg, &vm, &err) < 0) {
        fprintf(stderr, "hearthd: cannot start vm: %s\n", err.msg);
        return EXIT_HEARTHD;
    }
    /* write errors come back as EPIPE instead of killing us before the VM is stopped */
    signal(SIGPIPE, SIG_IGN);
    struct run_output out = { .stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
    int sigfd = -1;
    int watch = make_watch_fd(vm_pidfd(vm), out.stop_fd, &sigfd);
    if (watch >= 0)
        agent_client_set_watch_fd(vm_agent(vm), watch);

    struct agent_exec_req req = {
        .argv = (const char *const *)&argv[i],
        .timeout_ms = (uint32_t)(timeout_s * 1000),
    };
    int64_t deadline = timeout_s ? mono_now_us() + (int64_t)(timeout_s + 10) * 1000000 : -1;
    struct agent_end end = { 0 };
    int rc = EXIT_HEARTHD;
    int r = agent_exec_stream(vm_agent(vm), &req, &output_ops, &out, deadline, &end, &err);
    if (out.stdout_closed) {
        rc = 128 + SIGPIPE;
    } else if (r == 0) {
        rc = end.signal ? 128 + end.signal : end.exit_code;
        if (end.timed_out)
            fprintf(stderr, "hearthd: '%s' timed out after %lu s\n", argv[i], timeout_s);
    } else {
        struct signalfd_siginfo si;
        if (sigfd >= 0 && read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            fprintf(stderr, "hearthd: interrupted by signal %u, stopping the vm\n",
                    si.ssi_signo);
            rc = 128 + (int)si.ssi_signo;
        } else {
            fprintf(stderr, "hearthd: cannot run '%s': %s\n", argv[i], err.msg);
            rc = r == -ENOENT ? 127 : r == -EACCES ? 126 : EXIT_HEARTHD;
        }
    }
    struct herr serr = { 0 };
    if (vm_stop(vm, &serr) < 0)
        fprintf(stderr, "hearthd: stopping the vm: %s\n", serr.msg);
    if (keep)
        fprintf(stderr, "hearthd: run dir kept: %s\n", vm_run_dir(vm));
    vm_free(vm);
    if (watch >= 0)
        close(watch);
    if (sigfd >= 0)
        close(sigfd);
    if (out.stop_fd >= 0)
        close(out.stop_fd);
    return rc;
}
