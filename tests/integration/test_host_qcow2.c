/* SPDX-License-Identifier: MIT */
/* test_host_qcow2.c: a qcow2 image as a VM's rootfs (host.h host_vm_spec.rootfs; what a
 * template's top layer is, docs/templates.md): a chain of three qcow2 layers over debian-12.ext4
 * boots jailed and unjailed and the guest reads through every layer, a disk below the chain's
 * virtual size is refused, and such a VM pauses and restores. */
#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/wire.h"
#include "daemon/host/host.h"
#include "harness.h"
#include "hostfx.h"
#include "vmtest.h"

/* CHECK without the return, for helpers that return bool */
#define EXPECT(cond)                                                                             \
    do {                                                                                         \
        if (!(cond))                                                                             \
            harness_fail(__FILE__, __LINE__, "%s", #cond);                                       \
    } while (0)

struct done_rec {
    int n;
    struct host_result res;
};

static void on_done(void *ud, const char *id, const struct host_result *res)
{
    struct done_rec *d = ud;
    d->n++;
    d->res = *res;
}

static enum host_err create_wait(struct hostfx *f, const struct host_vm_spec *s)
{
    struct done_rec d = { 0 };
    host_vm_create(f->h, s, on_done, &d);
    if (!hostfx_run_until(f, &d.n, 1, 180))
        return HOST_E_TIMEOUT;
    if (d.res.err != HOST_OK)
        fprintf(stderr, "create '%s': %s\n", s->id, d.res.msg);
    return d.res.err;
}

struct exec_rec {
    struct buf out;
    int ended;
    struct agent_end end;
};

static int on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct exec_rec *x = ud;
    return type == WIRE_STDERR ? 0 : buf_append(&x->out, p, len) < 0 ? -ENOBUFS : 0;
}

static void on_end(void *ud, const struct agent_end *end)
{
    struct exec_rec *x = ud;
    x->end = *end;
    x->ended++;
}

/* sh -c script in VM id: its stdout without the trailing newline in out; false unless exit 0. */
static bool sh_out(struct hostfx *f, const char *id, const char *script, char *out, size_t len)
{
    static const struct agent_stream_ops ops = { .on_data = on_data, .on_end = on_end };
    struct exec_rec x = { 0 };
    buf_init(&x.out, 1 << 16);
    const char *argv[] = { "sh", "-c", script, NULL };
    struct agent_exec_req req = { .argv = argv };
    bool ok = host_vm_exec(f->h, id, &req, &ops, &x, NULL) == 0 &&
              hostfx_run_until(f, &x.ended, 1, 60) && x.end.kind == AGENT_END_EXIT &&
              x.end.exit_code == 0;
    size_t n = ok ? (x.out.len < len - 1 ? x.out.len : len - 1) : 0;
    if (n)
        memcpy(out, x.out.data, n);
    while (n && out[n - 1] == '\n')
        n--;
    out[n] = 0;
    buf_release(&x.out);
    return ok;
}

static int run(const char *cmd)
{
    int r = system(cmd);
    if (r != 0)
        harness_fail(__FILE__, __LINE__, "'%s' exited %d", cmd, r);
    return r;
}

/* The chain in dir: l1 over the raw base, l2 over l1 (1 MiB larger, that MiB's first 4 KiB
 * filled with 0x5a), l3 over l2 by a relative name. *ret_base: the raw image's bytes. */
static bool make_chain(const char *dir, const char *base, uint64_t *ret_base)
{
    struct stat st;
    REQUIRE(stat(base, &st) == 0 && st.st_size % (1 << 20) == 0);
    *ret_base = (uint64_t)st.st_size;
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof(cmd),
             "set -e; cd '%s'; qemu-img create -q -f qcow2 -F raw -b '%s' l1.qcow2;"
             " qemu-img create -q -f qcow2 -F qcow2 -b '%s/l1.qcow2' l2.qcow2 %lluM;"
             " qemu-io -c 'write -q -P 0x5a %llu 4k' l2.qcow2 >/dev/null;"
             " qemu-img create -q -f qcow2 -F qcow2 -b l2.qcow2 l3.qcow2; chmod 0644 *.qcow2",
             dir, base, dir, (unsigned long long)(st.st_size >> 20) + 1,
             (unsigned long long)st.st_size);
    return run(cmd) == 0;
}

/* The 0x5a block l2 wrote, read from the root disk in the guest. */
static bool sees_pattern(struct hostfx *f, const char *id, uint64_t base_bytes)
{
    char script[256], out[128];
    snprintf(script, sizeof(script),
             "dd if=/dev/vda bs=4096 skip=%llu count=1 2>/dev/null | od -An -tx1 | head -n 1",
             (unsigned long long)(base_bytes / 4096));
    if (!sh_out(f, id, script, out, sizeof(out)))
        return false;
    return strstr(out, "5a 5a 5a 5a") != NULL;
}

static bool chain_boots(struct hostfx *f, const char *l3, uint64_t base_bytes, bool pause)
{
    char id[32];
    hostfx_new_id(id);
    /* below the chain's virtual size (the base + 1 MiB): refused before anything runs */
    struct host_vm_spec s = { .id = id, .rootfs = l3, .vcpus = 1, .memory_mib = 256,
                              .disk_mib = base_bytes >> 20 };
    EXPECT(create_wait(f, &s) == HOST_E_INVALID);
    s.disk_mib = (base_bytes >> 20) + 2;
    REQUIRE(create_wait(f, &s) == HOST_OK);
    EXPECT(sees_pattern(f, id, base_bytes));
    char out[128];
    EXPECT(sh_out(f, id, "cat /sys/block/vda/size", out, sizeof(out)));
    EXPECT(strtoull(out, NULL, 10) == (unsigned long long)(((base_bytes >> 20) + 2) << 11));
    if (pause) {
        EXPECT(sh_out(f, id, "echo kept > /root/marker; sync", out, sizeof(out)));
        char snap[PATH_MAX];
        snprintf(snap, sizeof(snap), "%s/snap", f->run_root);
        struct done_rec d = { 0 };
        host_vm_pause(f->h, id, snap, on_done, &d);
        REQUIRE(hostfx_run_until(f, &d.n, 1, 120));
        REQUIRE(d.res.err == HOST_OK);
        struct host_vm_spec r = { .id = id, .vcpus = 1, .memory_mib = 256, .snapshot = snap,
                                  .snapshot_consume = true };
        REQUIRE(create_wait(f, &r) == HOST_OK);
        EXPECT(sh_out(f, id, "cat /root/marker", out, sizeof(out)));
        EXPECT(strcmp(out, "kept") == 0);
        EXPECT(sees_pattern(f, id, base_bytes));
    }
    struct done_rec d = { 0 };
    host_vm_destroy(f->h, id, on_done, &d);
    EXPECT(hostfx_run_until(f, &d.n, 1, 60));
    EXPECT(d.res.err == HOST_OK);
    return true;
}

/* The test's body; false when a REQUIRE stopped it. */
static bool qcow2_body(struct hostfx *f, const char *dir)
{
    char base[PATH_MAX + 32], l3[PATH_MAX + 32];
    snprintf(base, sizeof(base), "%s/debian-12.ext4", f->images);
    if (access(base, R_OK) != 0)
        harness_skip("no %s", base);
    uint64_t base_bytes = 0;
    snprintf(l3, sizeof(l3), "%s/l3.qcow2", dir);
    REQUIRE(make_chain(dir, base, &base_bytes));
    /* the host's default: QEMU jailed when we run as root, the chain bound read-only */
    REQUIRE(chain_boots(f, l3, base_bytes, true));
    struct host *jailed = f->h;
    struct host_config c = { .images_dir = f->images, .run_root = f->run_root,
                             .boot_timeout_ms = 120000, .stop_timeout_ms = 10000,
                             .no_jail = true };
    REQUIRE(host_new(f->base, &c, &f->h) == 0);
    bool ok = chain_boots(f, l3, base_bytes, false);
    host_free(f->h);
    f->h = jailed;
    REQUIRE(ok);
    /* the chain is still a sound qcow2 image after all that */
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof(cmd), "qemu-img check -q '%s'", l3);
    EXPECT(system(cmd) == 0);
    return true;
}

TEST_SLOW(qcow2_chain_rootfs_jailed_unjailed_pause_restore, 600)
{
    struct hostfx f = { 0 };
    if (!hostfx_init(&f, "qcow2"))
        return;
    char dir[] = "/tmp/hearth-chain.XXXXXX";
    if (mkdtemp(dir) && chmod(dir, 0755) == 0)
        (void)qcow2_body(&f, dir);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
    hostfx_release(&f);
}
