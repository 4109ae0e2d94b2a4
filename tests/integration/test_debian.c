/* SPDX-License-Identifier: MIT */
/* test_debian.c: the debian-12 image (catalog name devbox:1) boots under its own shape and has
 * what users of it expect: bash, coreutils' timeout, python3, curl, iproute2, procps; and the
 * guest's own poweroff ends QEMU. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "common/herr.h"
#include "common/mono.h"
#include "harness.h"
#include "vmtest.h"

#define SEC 1000000

static struct vmt *boot_debian(unsigned vcpus, unsigned mib)
{
    static char kernel[PATH_MAX], rootfs[PATH_MAX];
    vmtest_image(kernel, "vmlinux");
    vmtest_image(rootfs, "debian-12.ext4");
    struct vmtest_config c = vmtest_config(kernel, rootfs);
    c.vcpus = vcpus;
    c.memory_mib = mib;
    return vmtest_start(&c);
}

TEST_SLOW(debian_has_its_tools, 180)
{
    struct vmt *vm = boot_debian(2, 512);
    CHECK(vm);
    struct agent_exec_result r;
    CHECK_EQ(vmtest_sh(vm,
                       "set -e; bash -c 'echo bash ${BASH_VERSINFO[0]}'; "
                       "python3 -c 'print(\"py\", 6*7)'; timeout 5 true && echo timeout-ok; "
                       "curl --version | head -c 4; echo; ip -V >/dev/null && echo ip-ok; "
                       "ps -e >/dev/null && echo ps-ok; nproc; "
                       "awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo; hostname; "
                       "test -x /sbin/hearth-agent && echo agent-ok",
                       NULL, &r), 0);
    CHECK_EQ(r.exit_code, 0);
    char bash[16] = "", py[8] = "", host[64] = "";
    unsigned bashv = 0, answer = 0, cpus = 0, mib = 0;
    CHECK_EQ(sscanf((char *)r.out,
                    "%15s %u %7s %u timeout-ok curl ip-ok ps-ok %u %u %63s agent-ok", bash,
                    &bashv, py, &answer, &cpus, &mib, host), 7);
    CHECK_EQ(bashv, 5);
    CHECK_EQ(answer, 42);
    CHECK_EQ(cpus, 2);
    CHECK(mib > 400 && mib <= 512);
    CHECK_STR(host, "sandbox");
    agent_exec_result_release(&r);
    vmtest_free(vm);
}

TEST_SLOW(debian_timeout_kills_and_reports, 180)
{
    struct vmt *vm = boot_debian(1, 256);
    CHECK(vm);
    const char *argv[] = { "bash", "-c", "echo started; sleep 30", NULL };
    struct agent_exec_req req = { .argv = argv, .timeout_ms = 500 };
    struct agent_exec_result r = { 0 };
    struct herr e = { 0 };
    CHECK_EQ(host_sync_exec(vm->s, vm->id, &req, 4096, mono_now_us() + 30 * SEC, &r, &e), 0);
    CHECK(r.timed_out);
    CHECK_EQ(r.signal, 9);
    CHECK_STR((char *)r.out, "started\n");
    agent_exec_result_release(&r);
    vmtest_free(vm);
}

TEST_SLOW(debian_poweroff_ends_qemu, 180)
{
    struct vmt *vm = boot_debian(1, 256);
    CHECK(vm);
    const char *argv[] = { "poweroff", NULL };
    struct agent_exec_req req = { .argv = argv };
    struct agent_exec_result r = { 0 };
    struct herr e = { 0 };
    /* the command may or may not see its EXIT before the VM goes: either is fine */
    (void)host_sync_exec(vm->s, vm->id, &req, 4096, mono_now_us() + 30 * SEC, &r, &e);
    agent_exec_result_release(&r);
    struct host_exit ex = { 0 };
    CHECK_EQ(host_sync_vm_wait_exit(vm->s, vm->id, mono_now_us() + 60 * SEC, &ex), 0);
    int status = ex.status;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    vmtest_free(vm);
}
