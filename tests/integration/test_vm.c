/* SPDX-License-Identifier: MIT */
/* test_vm.c: real microVMs from $HEARTH_IMAGES: boot, exec semantics, big outputs and files,
 * concurrency, shape, guest-initiated power, reconnects, start failures, hostile peers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/herr.h"
#include "common/mono.h"
#include "daemon/host/usock.h"
#include "harness.h"
#include "vmtest.h"

#define SEC 1000000

#define BOOT(vm, cfg)                                                                            \
    char kernel_[PATH_MAX], rootfs_[PATH_MAX];                                                   \
    vmtest_paths(kernel_, rootfs_);                                                              \
    struct vmtest_config cfg = vmtest_config(kernel_, rootfs_)

TEST_SLOW(exec_basics, 180)
{
    BOOT(vm, cfg);
    struct vmt *vm = vmtest_start(&cfg);
    CHECK(vm);
    struct agent_exec_result r;
    CHECK_EQ(vmtest_sh(vm, "echo hello", NULL, &r), 0);
    CHECK_STR((char *)r.out, "hello\n");
    CHECK_EQ(r.exit_code, 0);
    agent_exec_result_release(&r);
    CHECK_EQ(vmtest_sh(vm, "echo err >&2; exit 42", NULL, &r), 0);
    CHECK_EQ(r.exit_code, 42);
    CHECK_STR((char *)r.err, "err\n");
    agent_exec_result_release(&r);
    CHECK_EQ(vmtest_sh(vm, "kill -TERM $$", NULL, &r), 0);
    CHECK_EQ(r.signal, 15);
    agent_exec_result_release(&r);
    CHECK_EQ(vmtest_sh(vm, "tr a-z A-Z", "stdin works", &r), 0);
    CHECK_STR((char *)r.out, "STDIN WORKS");
    agent_exec_result_release(&r);
    const char *argv[] = { "sh", "-c", "echo $FOO; pwd", NULL };
    const char *env[] = { "FOO=bar baz", NULL };
    struct agent_exec_req req = { .argv = argv, .env = env, .cwd = "/tmp" };
    struct herr e = { 0 };
    CHECK_EQ(host_sync_exec(vm->s, vm->id, &req, 4096, mono_now_us() + 30 * SEC, &r, &e), 0);
    CHECK_STR((char *)r.out, "bar baz\n/tmp\n");
    agent_exec_result_release(&r);
    const char *sl[] = { "sleep", "30", NULL };
    struct agent_exec_req treq = { .argv = sl, .timeout_ms = 300 };
    CHECK_EQ(host_sync_exec(vm->s, vm->id, &treq, 4096, mono_now_us() + 30 * SEC, &r, &e), 0);
    CHECK(r.timed_out);
    CHECK_EQ(r.signal, 9);
    agent_exec_result_release(&r);
    const char *nx[] = { "/no/such/program", NULL };
    struct agent_exec_req nreq = { .argv = nx };
    CHECK_EQ(host_sync_exec(vm->s, vm->id, &nreq, 4096, mono_now_us() + 30 * SEC, &r, &e), -ENOENT);
    agent_exec_result_release(&r);
    CHECK_EQ(host_sync_vm_ping(vm->s, vm->id, mono_now_us() + 10 * SEC, &e), 0);
    CHECK_EQ(vmtest_stop(vm, &e), 0);
    CHECK(!vmtest_alive(vm));
    vmtest_free(vm);
}

TEST_SLOW(big_stdout_and_file_round_trip, 300)
{
    BOOT(vm, cfg);
    struct vmt *vm = vmtest_start(&cfg);
    CHECK(vm);
    struct agent_exec_result r;
    CHECK_EQ(vmtest_sh(vm, "head -c 10485760 /dev/zero", NULL, &r), 0);
    CHECK_EQ(r.out_len, 10485760);
    CHECK(!r.out_truncated);
    agent_exec_result_release(&r);
    /* 64 MB of pseudo-random bytes up, then back, compared by sha256 */
    char path[] = "/tmp/test-vm-file.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    size_t total = 64u << 20;
    uint8_t *blk = malloc(1 << 20);
    CHECK(blk);
    EVP_MD_CTX *up = EVP_MD_CTX_new(), *down = EVP_MD_CTX_new();
    EVP_DigestInit_ex(up, EVP_sha256(), NULL);
    EVP_DigestInit_ex(down, EVP_sha256(), NULL);
    uint32_t x = 12345;
    for (size_t off = 0; off < total; off += 1 << 20) {
        for (size_t i = 0; i < (1 << 20); i++) {
            x = x * 1103515245 + 12345;
            blk[i] = (uint8_t)(x >> 16);
        }
        CHECK_EQ(write(fd, blk, 1 << 20), 1 << 20);
        EVP_DigestUpdate(up, blk, 1 << 20);
    }
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    struct herr e = { 0 };
    uint64_t size = 0;
    CHECK_EQ(host_sync_file_put(vm->s, vm->id, "/tmp/big/file.bin", 0600, fd,
                            mono_now_us() + 120 * SEC, &size, &e), 0);
    CHECK_EQ(size, total);
    CHECK_EQ(vmtest_sh(vm, "stat -c '%s %a' /tmp/big/file.bin", NULL, &r), 0);
    CHECK_STR((char *)r.out, "67108864 600\n");
    agent_exec_result_release(&r);
    CHECK_EQ(ftruncate(fd, 0), 0);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(host_sync_file_get(vm->s, vm->id, "/tmp/big/file.bin", fd, mono_now_us() + 120 * SEC,
                            &size, &e), 0);
    CHECK_EQ(size, total);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    ssize_t n;
    while ((n = read(fd, blk, 1 << 20)) > 0)
        EVP_DigestUpdate(down, blk, (size_t)n);
    unsigned char h1[32], h2[32];
    EVP_DigestFinal_ex(up, h1, NULL);
    EVP_DigestFinal_ex(down, h2, NULL);
    CHECK(memcmp(h1, h2, 32) == 0);
    EVP_MD_CTX_free(up);
    EVP_MD_CTX_free(down);
    free(blk);
    close(fd);
    CHECK_EQ(host_sync_file_get(vm->s, vm->id, "/no/such", 1, mono_now_us() + 10 * SEC, NULL, &e),
             -ENOENT);
    vmtest_free(vm);
}

TEST_SLOW(concurrent_execs_and_shape, 180)
{
    BOOT(vm, cfg);
    cfg.vcpus = 2;
    cfg.memory_mib = 320;
    struct vmt *vm = vmtest_start(&cfg);
    CHECK(vm);
    enum { N = 16 };
    struct agent_exec_req reqs[N];
    char scripts[N][64];
    const char *argvs[N][4];
    for (int i = 0; i < N; i++) {
        snprintf(scripts[i], sizeof(scripts[i]), "sleep 0.2; echo %d; exit %d", i, i);
        argvs[i][0] = "sh";
        argvs[i][1] = "-c";
        argvs[i][2] = scripts[i];
        argvs[i][3] = NULL;
        reqs[i] = (struct agent_exec_req){ .argv = argvs[i] };
    }
    struct agent_exec_result res[N];
    int errs[N];
    struct herr e = { 0 };
    CHECK_EQ(host_sync_exec_many(vm->s, vm->id, reqs, N, 1024, mono_now_us() + 60 * SEC, res, errs,
                             &e), 0);
    for (int i = 0; i < N; i++) {
        char want[16];
        snprintf(want, sizeof(want), "%d\n", i);
        CHECK_EQ(errs[i], 0);
        CHECK_EQ(res[i].exit_code, i);
        CHECK_STR((char *)res[i].out, want);
        agent_exec_result_release(&res[i]);
    }
    struct agent_exec_result r;
    CHECK_EQ(vmtest_sh(vm, "nproc; awk '/MemTotal/ {print $2}' /proc/meminfo", NULL, &r), 0);
    unsigned cpus = 0, kb = 0;
    CHECK_EQ(sscanf((char *)r.out, "%u %u", &cpus, &kb), 2);
    CHECK_EQ(cpus, 2);
    CHECK(kb > 250u * 1024 && kb <= 320u * 1024); /* the kernel keeps some for itself */
    agent_exec_result_release(&r);
    vmtest_free(vm);
}

TEST_SLOW(two_vms_at_once, 180)
{
    BOOT(vm, cfg);
    struct vmt *a = vmtest_start(&cfg);
    CHECK(a);
    struct vmt *b = vmtest_start(&cfg);
    CHECK(b);
    struct agent_exec_result ra, rb;
    CHECK_EQ(vmtest_sh(a, "cat /proc/sys/kernel/random/boot_id", NULL, &ra), 0);
    CHECK_EQ(vmtest_sh(b, "cat /proc/sys/kernel/random/boot_id", NULL, &rb), 0);
    CHECK(strcmp((char *)ra.out, (char *)rb.out) != 0);
    CHECK(strcmp(a->run_dir, b->run_dir) != 0);
    agent_exec_result_release(&ra);
    agent_exec_result_release(&rb);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", a->run_dir);
    vmtest_free(a);
    CHECK(access(dir, F_OK) < 0); /* run dir removed */
    CHECK_EQ(vmtest_sh(b, "true", NULL, &rb), 0);
    agent_exec_result_release(&rb);
    vmtest_free(b);
}

static void guest_power(const char *cmd)
{
    BOOT(vm, cfg);
    struct vmt *vm = vmtest_start(&cfg);
    CHECK(vm);
    const char *argv[] = { "sh", "-c", cmd, NULL };
    struct agent_exec_req req = { .argv = argv };
    uint32_t id;
    CHECK_EQ(host_vm_exec(vm->h, vm->id, &req, NULL, NULL, &id), 0);
    struct host_exit ex = { 0 };
    CHECK_EQ(host_sync_vm_wait_exit(vm->s, vm->id, mono_now_us() + 60 * SEC, &ex), 0);
    int status = ex.status;
    CHECK(ex.status_known);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    /* "qemu exited with status 0 after guest-shutdown": QMP's SHUTDOWN, by the guest */
    fprintf(stderr, "exit: %s\n", ex.reason);
    CHECK(strstr(ex.reason, " after ") != NULL);
    CHECK(strstr(ex.reason, " after guest-") != NULL);
    vmtest_free(vm);
}

TEST_SLOW(guest_poweroff_ends_qemu, 120)
{
    guest_power("poweroff");
}

TEST_SLOW(guest_reboot_ends_qemu, 120)
{
    guest_power("reboot");
}

TEST_SLOW(host_reconnects_and_hostile_peer, 180)
{
    BOOT(vm, cfg);
    struct vmt *vm = vmtest_start(&cfg);
    CHECK(vm);
    struct herr e = { 0 };
    CHECK_EQ(host_sync_vm_agent_reconnect(vm->s, vm->id, mono_now_us() + 30 * SEC, &e), 0);
    struct agent_exec_result r;
    CHECK_EQ(vmtest_sh(vm, "echo again", NULL, &r), 0);
    CHECK_STR((char *)r.out, "again\n");
    agent_exec_result_release(&r);
    /* a raw peer writes garbage and a half frame, then leaves */
    CHECK_EQ(host_vm_agent_disconnect(vm->h, vm->id), 0);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/agent.sock", vm->run_dir);
    int fd;
    CHECK_EQ(usock_connect(path, &fd), 0); /* the VM runs: the socket is there */
    char junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 31);
    (void)!send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
    (void)!send(fd, "hrth\x10\x00\x00\x00\x01\x00\x00\x00\xff\xff\x00\x00{\"argv\"", 23,
                MSG_NOSIGNAL);
    close(fd);
    CHECK_EQ(host_sync_vm_agent_reconnect(vm->s, vm->id, mono_now_us() + 30 * SEC, &e), 0);
    CHECK_EQ(vmtest_sh(vm, "echo survived", NULL, &r), 0);
    CHECK_STR((char *)r.out, "survived\n");
    agent_exec_result_release(&r);
    vmtest_free(vm);
}

TEST_SLOW(start_failures_are_clear, 120)
{
    BOOT(vm, cfg);
    struct vmt *vm = NULL;
    struct herr e = { 0 };
    struct vmtest_config c = cfg;
    c.kernel = "/nonexistent/vmlinux";
    CHECK_EQ(vmtest_try_start(&c, NULL, &vm, &e), -ENOENT);
    CHECK(strstr(e.msg, "/nonexistent/vmlinux") != NULL);
    c = cfg;
    c.rootfs = "/nonexistent/rootfs.ext4";
    herr_clear(&e);
    CHECK_EQ(vmtest_try_start(&c, NULL, &vm, &e), -ENOENT);
    CHECK(strstr(e.msg, "/nonexistent/rootfs.ext4") != NULL);
    c = cfg;
    c.qemu_bin = "/nonexistent/qemu";
    herr_clear(&e);
    CHECK_EQ(vmtest_try_start(&c, NULL, &vm, &e), -ENOENT);
    CHECK(strstr(e.msg, "/nonexistent/qemu") != NULL);
    /* "QEMU" exits at once: reported with the tail of qemu.log, not as a timeout */
    char fake[] = "/tmp/test-fake-qemu.XXXXXX";
    int fd = mkstemp(fake);
    CHECK(fd >= 0);
    const char script[] = "#!/bin/sh\necho 'qemu: could not frobnicate' >&2\nexit 1\n";
    CHECK_EQ(write(fd, script, sizeof(script) - 1), (ssize_t)sizeof(script) - 1);
    fchmod(fd, 0755);
    close(fd);
    c = cfg;
    c.qemu_bin = fake;
    herr_clear(&e);
    CHECK_EQ(vmtest_try_start(&c, NULL, &vm, &e), -ECHILD);
    CHECK(strstr(e.msg, "could not frobnicate") != NULL);
    CHECK(strstr(e.msg, "exited with status 1") != NULL);
    unlink(fake);
    /* a missing init panics the kernel: reported as a panic, not a timeout */
    c = cfg;
    c.init = "/sbin/no-such-init";
    herr_clear(&e);
    CHECK_EQ(vmtest_try_start(&c, NULL, &vm, &e), -EIO);
    CHECK(strstr(e.msg, "Kernel panic") != NULL);
    /* an init that is not the agent never answers: a timeout, not a hang */
    c = cfg;
    c.init = "/bin/cat";
    c.boot_timeout_ms = 4000;
    herr_clear(&e);
    int64_t t0 = mono_now_us();
    CHECK_EQ(vmtest_try_start(&c, NULL, &vm, &e), -ETIMEDOUT);
    CHECK(mono_now_us() - t0 < 20 * SEC);
    CHECK(strstr(e.msg, "not ready") != NULL);
}
