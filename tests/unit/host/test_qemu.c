/* SPDX-License-Identifier: MIT */
/* test_qemu.c: QEMU argv building, accelerator choice from fake sysfs trees, log tails. */
#include "daemon/host/qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/herr.h"
#include "harness.h"

static const char *argv_after(char **argv, const char *opt, int nth)
{
    for (size_t i = 0; argv[i]; i++)
        if (strcmp(argv[i], opt) == 0 && nth-- == 0)
            return argv[i + 1];
    return NULL;
}

static struct qemu_config good(void)
{
    return (struct qemu_config){ .kernel = "/img/vmlinux", .run_dir = "/run/vm1",
                                 .accel = QEMU_ACCEL_TCG, .vcpus = 2, .memory_mib = 512 };
}

TEST(argv_tcg)
{
    struct qemu_config c = good();
    char **argv = NULL;
    CHECK_EQ(qemu_argv_build(&c, &argv), 0);
    CHECK_STR(argv[0], "qemu-system-x86_64");
    CHECK_STR(argv_after(argv, "-M", 0), "microvm,rtc=on,isa-serial=on,acpi=off");
    /* the translation buffer capped (QEMU's default is 1 GiB), under TCG only */
    CHECK_STR(argv_after(argv, "-accel", 0), "tcg,tb-size=32");
    CHECK(argv_after(argv, "-accel", 1) == NULL);
    CHECK_STR(argv_after(argv, "-cpu", 0), "max");
    CHECK_STR(argv_after(argv, "-smp", 0), "2");
    CHECK_STR(argv_after(argv, "-m", 0), "512");
    CHECK_STR(argv_after(argv, "-sandbox", 0), "on");
    CHECK_STR(argv_after(argv, "-object", 0),
              "memory-backend-file,id=mem,size=512M,mem-path=/run/vm1/mem,share=on");
    CHECK_STR(argv_after(argv, "-machine", 0), "memory-backend=mem");
    CHECK_STR(argv_after(argv, "-kernel", 0), "/img/vmlinux");
    CHECK_STR(argv_after(argv, "-append", 0),
              "console=ttyS0 root=/dev/vda rw init=/sbin/hearth-agent quiet panic=-1 reboot=t noapictimer no_timer_check");
    CHECK_STR(argv_after(argv, "-serial", 0), "chardev:console");
    CHECK_STR(argv_after(argv, "-chardev", 0),
              "file,id=console,path=/run/vm1/console.log,append=on");
    CHECK_STR(argv_after(argv, "-drive", 0),
              "id=root,file=/run/vm1/disk.qcow2,format=qcow2,if=none,cache=writeback");
    CHECK_STR(argv_after(argv, "-chardev", 1),
              "socket,id=agent,path=/run/vm1/agent.sock,server=on,wait=off");
    CHECK_STR(argv_after(argv, "-device", 2), "virtserialport,chardev=agent,name=hearth.agent");
    CHECK_STR(argv_after(argv, "-qmp", 0), "unix:/run/vm1/qmp.sock,server=on,wait=off");
    bool nodef = false, noreboot = false;
    for (size_t i = 0; argv[i]; i++) {
        nodef |= strcmp(argv[i], "-nodefaults") == 0;
        noreboot |= strcmp(argv[i], "-no-reboot") == 0;
    }
    CHECK(nodef && noreboot);
    qemu_argv_free(argv);
}

/* The jail's strict filter: every group QEMU 7.2 can deny, and only with -sandbox kept. */
TEST(argv_strict_sandbox)
{
    struct qemu_config c = good();
    c.strict_sandbox = true;
    char **argv = NULL;
    CHECK_EQ(qemu_argv_build(&c, &argv), 0);
    CHECK_STR(argv_after(argv, "-sandbox", 0),
              "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    qemu_argv_free(argv);
    c.no_sandbox = true; /* no_sandbox wins: debugging only */
    CHECK_EQ(qemu_argv_build(&c, &argv), 0);
    CHECK(argv_after(argv, "-sandbox", 0) == NULL);
    qemu_argv_free(argv);
}

TEST(argv_kvm_extra_init)
{
    struct qemu_config c = good();
    c.accel = QEMU_ACCEL_KVM;
    c.extra_append = "loglevel=7";
    c.init = "/bin/sleep";
    c.qemu_bin = "/opt/qemu";
    c.no_sandbox = true;
    char **argv = NULL;
    CHECK_EQ(qemu_argv_build(&c, &argv), 0);
    CHECK_STR(argv[0], "/opt/qemu");
    CHECK_STR(argv_after(argv, "-accel", 0), "kvm"); /* no tb-size: KVM translates nothing */
    CHECK_STR(argv_after(argv, "-cpu", 0), "host");
    CHECK(argv_after(argv, "-sandbox", 0) == NULL);
    CHECK_STR(argv_after(argv, "-append", 0),
              "console=ttyS0 root=/dev/vda rw init=/bin/sleep quiet panic=-1 reboot=t loglevel=7");
    qemu_argv_free(argv);
}

TEST(argv_rejects_bad_config)
{
    static const struct {
        const char *run_dir, *kernel, *init;
        enum qemu_accel accel;
        unsigned vcpus, mem;
    } cases[] = {
        { "relative", "/k", NULL, QEMU_ACCEL_TCG, 1, 256 },
        { "/a,b", "/k", NULL, QEMU_ACCEL_TCG, 1, 256 },
        { "/r", NULL, NULL, QEMU_ACCEL_TCG, 1, 256 },
        { "/r", "", NULL, QEMU_ACCEL_TCG, 1, 256 },
        { "/r", "/k", NULL, QEMU_ACCEL_AUTO, 1, 256 },
        { "/r", "/k", NULL, (enum qemu_accel)42, 1, 256 },
        { "/r", "/k", NULL, QEMU_ACCEL_TCG, 0, 256 },
        { "/r", "/k", NULL, QEMU_ACCEL_TCG, 65, 256 },
        { "/r", "/k", NULL, QEMU_ACCEL_TCG, 1, 63 },
        { "/r", "/k", NULL, QEMU_ACCEL_TCG, 1, 65537 },
        { "/r", "/k", "/sbin/x y", QEMU_ACCEL_TCG, 1, 256 },
        { NULL, "/k", NULL, QEMU_ACCEL_TCG, 1, 256 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct qemu_config c = { .run_dir = cases[i].run_dir, .kernel = cases[i].kernel,
                                 .init = cases[i].init, .accel = cases[i].accel,
                                 .vcpus = cases[i].vcpus, .memory_mib = cases[i].mem };
        char **argv = NULL;
        CHECK_EQ(qemu_argv_build(&c, &argv), -EINVAL);
        CHECK(argv == NULL);
    }
}

TEST(accel_strings)
{
    enum qemu_accel a;
    CHECK_EQ(qemu_accel_from_string("kvm", &a), 0);
    CHECK_EQ(a, QEMU_ACCEL_KVM);
    CHECK_EQ(qemu_accel_from_string("auto", &a), 0);
    CHECK_EQ(a, QEMU_ACCEL_AUTO);
    CHECK_EQ(qemu_accel_from_string("KVM", &a), -EINVAL);
    CHECK_EQ(qemu_accel_from_string("", &a), -EINVAL);
    CHECK_EQ(qemu_accel_from_string(NULL, &a), -EINVAL);
    CHECK_STR(qemu_accel_to_string(QEMU_ACCEL_TCG), "tcg");
}

/* A fake /sys/module with the given modules and a fake /dev/kvm (a regular file). */
static void fake_tree(char *dir, const char *const *mods, bool with_dev)
{
    char p[512];
    for (size_t i = 0; mods[i]; i++) {
        snprintf(p, sizeof(p), "%s/module/%s", dir, mods[i]);
        mkdir(p, 0755);
    }
    if (with_dev) {
        snprintf(p, sizeof(p), "%s/kvm", dir);
        close(open(p, O_CREAT | O_RDWR, 0600));
    }
}

TEST(accel_resolve)
{
    static const struct {
        const char *mods[3];
        bool dev;
        enum qemu_accel want;
    } cases[] = {
        { { "kvm_intel", NULL }, true, QEMU_ACCEL_KVM },
        { { "kvm_amd", "kvm", NULL }, true, QEMU_ACCEL_KVM },
        { { "kvm", "kvm_pvm", NULL }, true, QEMU_ACCEL_TCG }, /* this dev machine */
        { { "kvm_intel", NULL }, false, QEMU_ACCEL_TCG },     /* no /dev/kvm */
        { { NULL }, false, QEMU_ACCEL_TCG },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char dir[] = "/tmp/test-accel.XXXXXX", mod[600], dev[600];
        CHECK(mkdtemp(dir));
        snprintf(mod, sizeof(mod), "%s/module", dir);
        mkdir(mod, 0755);
        fake_tree(dir, cases[i].mods, cases[i].dev);
        snprintf(dev, sizeof(dev), "%s/kvm", dir);
        CHECK_EQ(qemu_accel_resolve(QEMU_ACCEL_AUTO, mod, dev), cases[i].want);
        CHECK_EQ(qemu_accel_resolve(QEMU_ACCEL_TCG, mod, dev), QEMU_ACCEL_TCG);
        CHECK_EQ(qemu_accel_resolve(QEMU_ACCEL_KVM, mod, dev), QEMU_ACCEL_KVM);
        char cmd[700];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        CHECK_EQ(system(cmd), 0);
    }
}

TEST(log_tail)
{
    char path[] = "/tmp/test-tail.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char text[] = "line one\nline two\n\n";
    CHECK_EQ(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
    close(fd);
    char out[64];
    qemu_log_tail(path, out, sizeof(out));
    CHECK_STR(out, "line one | line two");
    char small[8];
    qemu_log_tail(path, small, sizeof(small));
    CHECK_STR(small, "ine two");
    unlink(path);
    qemu_log_tail(path, out, sizeof(out));
    CHECK_STR(out, "");
}

TEST(disk_create_errors)
{
    struct herr e = { 0 };
    char dir[] = "/tmp/test-disk.XXXXXX", out[600], log[600];
    CHECK(mkdtemp(dir));
    snprintf(out, sizeof(out), "%s/disk.qcow2", dir);
    snprintf(log, sizeof(log), "%s/log", dir);
    CHECK_EQ(qemu_disk_create("/nonexistent/qemu-img", "/x.raw", out, log, 5000,
                              &e), -ENOENT);
    CHECK(strstr(e.msg, "/nonexistent/qemu-img") != NULL);
    e.code = 0;
    CHECK_EQ(qemu_disk_create(NULL, "relative.raw", out, log, 5000, &e), -EINVAL);
    e.code = 0;
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
}

TEST(disk_argv)
{
    char **argv = NULL;
    CHECK_EQ(qemu_disk_argv(NULL, "/img/minimal.ext4", "/run/x/disk.qcow2", 0, &argv), 0);
    CHECK_STR(argv[0], "qemu-img");
    CHECK_STR(argv[8], "/img/minimal.ext4");
    CHECK_STR(argv[9], "/run/x/disk.qcow2");
    CHECK(argv[10] == NULL);
    qemu_argv_free(argv);
    CHECK_EQ(qemu_disk_argv("/usr/bin/qemu-img", "/img/a.ext4", "/run/d.qcow2", 2048, &argv), 0);
    CHECK_STR(argv[0], "/usr/bin/qemu-img");
    CHECK_STR(argv[10], "2048M");
    CHECK(argv[11] == NULL);
    qemu_argv_free(argv);
    CHECK_EQ(qemu_disk_argv(NULL, "relative.ext4", "/run/d.qcow2", 0, &argv), -EINVAL);
    CHECK_EQ(qemu_disk_argv(NULL, "/img/a.ext4", "", 0, &argv), -EINVAL);
    CHECK_EQ(qemu_disk_argv(NULL, "/img/a.ext4", "/run/d.qcow2", (1ull << 30) + 1, &argv),
             -EINVAL);
}

TEST(argv_restore_knobs)
{
    struct qemu_config c = good();
    char **argv = NULL;
    CHECK_EQ(qemu_argv_build(&c, &argv), 0);
    CHECK(argv_after(argv, "-incoming", 0) == NULL);
    qemu_argv_free(argv);
    c.mem_path = "/snap/s1/mem";
    c.mem_private = true;
    c.incoming = true;
    CHECK_EQ(qemu_argv_build(&c, &argv), 0);
    CHECK_STR(argv_after(argv, "-object", 0),
              "memory-backend-file,id=mem,size=512M,mem-path=/snap/s1/mem,share=off");
    CHECK_STR(argv_after(argv, "-incoming", 0), "defer");
    /* the rest of the run dir stays the VM's own */
    CHECK_STR(argv_after(argv, "-qmp", 0), "unix:/run/vm1/qmp.sock,server=on,wait=off");
    qemu_argv_free(argv);
    c.mem_path = NULL;
    c.incoming = false;
    CHECK_EQ(qemu_argv_build(&c, &argv), 0);
    CHECK_STR(argv_after(argv, "-object", 0),
              "memory-backend-file,id=mem,size=512M,mem-path=/run/vm1/mem,share=off");
    qemu_argv_free(argv);
    c.mem_path = "relative/mem";
    CHECK_EQ(qemu_argv_build(&c, &argv), -EINVAL);
    c.mem_path = "/snap/a,b/mem";
    CHECK_EQ(qemu_argv_build(&c, &argv), -EINVAL);
}

TEST(disk_argv_qcow2_backing)
{
    char **argv = NULL;
    CHECK_EQ(qemu_disk_argv_fmt(NULL, "/snap/s1/disk.qcow2", "qcow2", "/run/x/disk.qcow2", 0,
                                &argv), 0);
    CHECK_STR(argv[6], "qcow2");
    CHECK_STR(argv[8], "/snap/s1/disk.qcow2");
    CHECK(argv[10] == NULL);
    qemu_argv_free(argv);
    CHECK_EQ(qemu_disk_argv_fmt(NULL, "/snap/s1/disk.qcow2", "vmdk", "/run/x/d.qcow2", 0, &argv),
             -EINVAL);
    CHECK_EQ(qemu_disk_argv_fmt(NULL, "/snap/s1/disk.qcow2", NULL, "/run/x/d.qcow2", 0, &argv),
             -EINVAL);
}

/* The NIC comes after every other device (their virtio-mmio slots stay where snapshots taken
 * before it expect them), on a tap fd or on a hub port, with or without a MAC. */
TEST(argv_nic)
{
    struct qemu_config c = good();
    char **argv = NULL;
    CHECK_EQ(qemu_argv_build(&c, &argv), 0);
    CHECK(argv_after(argv, "-netdev", 0) == NULL);
    qemu_argv_free(argv);
    c.nic = true;
    CHECK_EQ(qemu_argv_build(&c, &argv), 0);
    CHECK_STR(argv_after(argv, "-device", 3), "virtio-rng-device");
    CHECK_STR(argv_after(argv, "-netdev", 0), "hubport,id=net0,hubid=0");
    CHECK_STR(argv_after(argv, "-device", 4), "virtio-net-device,netdev=net0");
    qemu_argv_free(argv);
    c.net_fd = 3;
    c.mac = "02:AA:00:00:00:05";
    CHECK_EQ(qemu_argv_build(&c, &argv), 0);
    CHECK_STR(argv_after(argv, "-netdev", 0), "tap,id=net0,fd=3");
    CHECK_STR(argv_after(argv, "-device", 4),
              "virtio-net-device,netdev=net0,mac=02:AA:00:00:00:05");
    qemu_argv_free(argv);
    static const char *const bad[] = { "03:00:00:00:00:01", "02:00:00:00:00",
                                       "02-00-00-00-00-01", "02:00:00:00:00:0g",
                                       "02:00:00:00:00:011", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c.mac = bad[i];
        CHECK_EQ(qemu_argv_build(&c, &argv), -EINVAL);
        CHECK(!qemu_mac_valid(bad[i]));
    }
    CHECK(qemu_mac_valid("02:00:0a:58:00:01"));
}
