/* SPDX-License-Identifier: MIT */
/* cmd_vm.c: `hearthd vm run`: boot one microVM, run a command in it through the agent with its
 * output streamed live, shut the VM down, and exit with the command's status. Edge code: prints
 * to stdout/stderr. Runs hearthd's own VM engine (host.h) through the blocking adapter
 * (host_sync.h); knows nothing about the API or store. */
#include "daemon/cmd/cmd.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/herr.h"
#include "common/mono.h"
#include "common/ulid.h"
#include "common/wire.h"
#include "daemon/host/host_sync.h"
#include "daemon/host/qemu.h"

static int usage_error(const char *fmt, const char *arg)
{
    fputs("hearthd: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    cmd_help_print(stderr, "vm run");
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

/* Resolves --rootfs: the stem of an image file images/build.sh makes (minimal, debian-12 =
 * devbox:1, node, debian-base = the catalog's debian-12), or a path. The catalog of the
 * control layer maps names for hearthd; this command has none, so it takes file stems.
 * 0, -EINVAL (neither), -ENAMETOOLONG. */
static int vm_run_image(const char *images, const char *rootfs, char *out, size_t len)
{
    int n;
    if (strcmp(rootfs, "minimal") == 0 || strcmp(rootfs, "debian-12") == 0 ||
        strcmp(rootfs, "node") == 0 || strcmp(rootfs, "debian-base") == 0)
        n = snprintf(out, len, "%s/%s.ext4", images, rootfs);
    else if (strchr(rootfs, '/') || strstr(rootfs, ".ext4"))
        n = snprintf(out, len, "%s", rootfs);
    else
        return -EINVAL;
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

/* Where the command's output goes, and how a reader that went away stops the run. */
struct run_output {
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
        return -EPIPE; /* cancels the stream: the run ends */
    }
    return 0;
}

static const struct agent_stream_ops output_ops = { .on_data = on_output };

/* A termination signal ends the command's wait (not the VM's stop that follows). */
struct run_signals {
    struct host_sync *s;
    int signo;            /* the first one that came, 0 for none */
    bool waiting;         /* the command runs: interrupt its wait */
    struct event *ev[3];
};

static void on_signal(evutil_socket_t signo, short what, void *arg)
{
    struct run_signals *g = arg;
    if (!g->signo)
        g->signo = (int)signo;
    if (g->waiting)
        host_sync_interrupt(g->s);
}

static void signals_watch(struct run_signals *g)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    for (size_t i = 0; i < 3; i++) {
        g->ev[i] = evsignal_new(host_sync_base(g->s), sigs[i], on_signal, g);
        if (g->ev[i])
            event_add(g->ev[i], NULL);
    }
}

static void signals_release(struct run_signals *g)
{
    for (size_t i = 0; i < 3; i++)
        if (g->ev[i])
            event_free(g->ev[i]);
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
            cmd_help_print(stdout, "vm run");
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
    int n = vm_run_image(images, rootfs, image, sizeof(image));
    if (n == -EINVAL)
        return usage_error("--rootfs '%s' is not minimal, debian-12, node, debian-base or a path", rootfs);
    if (n < 0)
        return usage_error("--rootfs '%s' is too long", rootfs);
    /* a relative path is the user's, relative to here; the host takes absolute paths only */
    char image_abs[PATH_MAX];
    if (image[0] != '/' && realpath(image, image_abs))
        snprintf(image, sizeof(image), "%s", image_abs);

    /* the run dir lives in a fresh $TMPDIR/hearth-vm.XXXXXX, removed with it */
    char run_root[PATH_MAX], id[ULID_LEN + 4], run_dir[PATH_MAX];
    const char *tmp = getenv("TMPDIR");
    if (!tmp || tmp[0] != '/' || strchr(tmp, ','))
        tmp = "/tmp";
    char u[ULID_LEN + 1];
    if ((size_t)snprintf(run_root, sizeof(run_root), "%s/hearth-vm.XXXXXX", tmp) >=
            sizeof(run_root) || !mkdtemp(run_root) || ulid_generate(u) < 0) {
        fprintf(stderr, "hearthd: cannot start vm: cannot create a run dir in '%s': %s\n", tmp,
                strerror(errno));
        return EXIT_HEARTHD;
    }
    snprintf(id, sizeof(id), "sb-%s", u);
    struct host_config hc = {
        .images_dir = images,
        .run_root = run_root,
        .accel = qemu_accel_to_string(accel),
        .kernel = kernel,
        .cgroup_root = "", /* a VM of the command's own, as any process it runs */
        .keep_run_dirs = keep,
    };
    struct host_sync *s = NULL;
    int r = host_sync_new(&hc, &s);
    if (r < 0) {
        fprintf(stderr, "hearthd: cannot start vm: %s\n", strerror(-r));
        (void)rmdir(run_root);
        return EXIT_HEARTHD;
    }
    struct host_vm_spec spec = {
        .id = id,
        .rootfs = image,
        .vcpus = (unsigned)vcpus,
        .memory_mib = (unsigned)memory,
    };
    struct herr err = { 0 };
    int rc = EXIT_HEARTHD;
    if (host_sync_vm_create(s, &spec, &err) < 0) {
        /* the host names the VM ("vm 'sb-…': "): this command has one, unnamed */
        char prefix[sizeof(id) + 8];
        snprintf(prefix, sizeof(prefix), "vm '%s': ", id);
        const char *msg = err.msg;
        if (strncmp(msg, prefix, strlen(prefix)) == 0)
            msg += strlen(prefix);
        fprintf(stderr, "hearthd: cannot start vm: %s\n", msg);
        goto out_free;
    }
    /* write errors come back as EPIPE instead of killing us before the VM is stopped */
    signal(SIGPIPE, SIG_IGN);
    struct run_output out = { 0 };
    struct run_signals sg = { .s = s, .waiting = true };
    signals_watch(&sg);
    struct agent_exec_req req = {
        .argv = (const char *const *)&argv[i],
        .timeout_ms = (uint32_t)(timeout_s * 1000),
    };
    int64_t deadline = timeout_s ? mono_now_us() + (int64_t)(timeout_s + 10) * 1000000 : -1;
    struct agent_end end = { 0 };
    r = host_sync_exec_stream(s, id, &req, &output_ops, &out, deadline, &end, &err);
    sg.waiting = false;
    if (out.stdout_closed) {
        rc = 128 + SIGPIPE;
    } else if (r == 0) {
        rc = end.signal ? 128 + end.signal : end.exit_code;
        if (end.timed_out)
            fprintf(stderr, "hearthd: '%s' timed out after %lu s\n", argv[i], timeout_s);
    } else if (sg.signo) {
        fprintf(stderr, "hearthd: interrupted by signal %d, stopping the vm\n", sg.signo);
        rc = 128 + sg.signo;
    } else {
        fprintf(stderr, "hearthd: cannot run '%s': %s\n", argv[i], err.msg);
        rc = r == -ENOENT ? 127 : r == -EACCES ? 126 : EXIT_HEARTHD;
    }
    struct herr serr = { 0 };
    if (host_sync_vm_destroy(s, id, &serr) < 0)
        fprintf(stderr, "hearthd: stopping the vm: %s\n", serr.msg);
    if (keep && host_vm_run_dir(host_sync_host(s), id, run_dir, sizeof(run_dir)) == 0)
        fprintf(stderr, "hearthd: run dir kept: %s\n", run_dir);
    signals_release(&sg);
out_free:
    host_sync_free(s);
    if (!keep)
        (void)rmdir(run_root);
    return rc;
}
