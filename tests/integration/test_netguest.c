/* SPDX-License-Identifier: MIT */
/* test_netguest.c: the guest side of networking with real microVMs on the host layer: a VM on
 * a tap the test opens (inside the test's own network namespace, tests/run.sh) gets its MAC,
 * addresses, routes and resolv.conf from HELLO; the namespace and the guest reach each other;
 * NETCFG adds and removes an address and a route live and refuses a hostile object; a paused
 * VM restored as a shared-base clone on a new tap takes a new MAC and address before READY,
 * and the consumed snapshot's own restore keeps its address. Also a VM booted without a tap
 * (golden builders) restored onto a tap. The host side here is `ip` run by system(). */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/ulid.h"
#include "common/wire.h"
#include "daemon/host/host.h"
#include "daemon/host/snapshot.h"
#include "harness.h"
#include "hostfx.h"
#include "vmtest.h"

#define GW_MAC "02:00:0a:58:00:01"
#define NET_A "{\"mac\":\"02:aa:00:00:00:05\",\"addrs\":[\"10.88.0.5/32\"]," \
              "\"gateway\":\"10.88.0.1\",\"dns\":[\"10.88.0.1\"]," \
              "\"search\":[\"backend.hearth.internal\"]}"
#define NET_A2 "{\"mac\":\"02:aa:00:00:00:05\",\"addrs\":[\"10.88.0.5/32\",\"10.89.3.7/32\"]," \
               "\"gateway\":\"10.88.0.1\",\"routes\":[{\"dst\":\"10.89.3.0/24\"," \
               "\"src\":\"10.89.3.7\"}],\"dns\":[\"10.88.0.1\"]," \
               "\"search\":[\"backend.hearth.internal\"]}"
#define NET_B "{\"mac\":\"02:aa:00:00:00:06\",\"addrs\":[\"10.88.0.6/32\"]," \
              "\"gateway\":\"10.88.0.1\",\"dns\":[\"10.88.0.1\"]}"

/* --- fixture (as test_host.c) --- */

/* The fixture, plus what this test needs: root for the taps. */
static bool fx_init(struct hostfx *f)
{
    if (getuid() != 0 || access("/dev/net/tun", R_OK | W_OK) < 0)
        harness_skip("needs root and /dev/net/tun");
    return hostfx_init(f, "netg");
}

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

/* --- the test namespace's side --- */

__attribute__((format(printf, 1, 2)))
static int run(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return st == -1 ? -1 : WEXITSTATUS(st);
}

/* Opens tap name as hearthd's data plane will (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR), with the
 * gateway's MAC, up. The fd is the tap's only owner: closing it removes the device. */
static int tap_open(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct ifreq ifr = { 0 };
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0 ||
        run("ip link set %s address " GW_MAC " up", name) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* 10.88.0.1 on lo: the gateway every guest talks to. */
static bool ns_setup(void)
{
    REQUIRE(run("ip link set lo up && ip addr replace 10.88.0.1/32 dev lo") == 0);
    return true;
}

/* One ICMP echo from the test namespace (busybox: the host image has no iputils). */
static bool ns_ping(const char *ip)
{
    return run("busybox ping -c1 -W3 %s >/dev/null 2>&1", ip) == 0 ||
           run("busybox ping -c1 -W3 %s >/dev/null 2>&1", ip) == 0; /* first ARP may be slow */
}

/* --- the guest's side --- */

struct exec_rec {
    struct buf out;
    int ended;
    struct agent_end end;
};

static int exec_on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct exec_rec *x = ud;
    return type == WIRE_STDOUT && buf_append(&x->out, p, len) < 0 ? -ENOBUFS : 0;
}

static void exec_on_end(void *ud, const struct agent_end *end)
{
    struct exec_rec *x = ud;
    x->end = *end;
    x->ended = 1;
}

static const struct agent_stream_ops exec_ops = { .on_data = exec_on_data,
                                                  .on_end = exec_on_end };

/* Runs `sh -c script` in VM id; out (cap bytes) gets stdout; returns the exit code or -1. */
static int guest_sh(struct hostfx *f, const char *id, const char *script, char *out, size_t cap)
{
    struct exec_rec x = { 0 };
    buf_init(&x.out, 1 << 20);
    const char *argv[] = { "sh", "-c", script, NULL };
    struct agent_exec_req req = { .argv = argv, .timeout_ms = 20000 };
    int code = -1;
    if (host_vm_exec(f->h, id, &req, &exec_ops, &x, NULL) == 0 &&
        hostfx_run_until(f, &x.ended, 1, 30) && x.end.kind == AGENT_END_EXIT)
        code = x.end.exit_code;
    if (out) {
        size_t n = x.out.len < cap - 1 ? x.out.len : cap - 1;
        memcpy(out, x.out.data, n);
        out[n] = 0;
    }
    buf_release(&x.out);
    return code;
}

/* The guest's eth0 MAC, IPv4 addresses and routes in one text. */
static bool guest_has(struct hostfx *f, const char *id, const char *script, const char *want,
                      bool present)
{
    char out[8192];
    int code = guest_sh(f, id, script, out, sizeof(out));
    bool has = strstr(out, want) != NULL;
    if (code != 0 || has != present) {
        harness_fail(__FILE__, __LINE__, "'%s' in '%s': exit %d, want '%s' %s; got:\n%s",
                     script, id, code, want, present ? "present" : "absent", out);
        return false;
    }
    return true;
}

static enum host_err create(struct hostfx *f, const char *id, const char *snap, bool consume,
                            int tap, const char *mac, const char *net)
{
    struct done_rec d = { 0 };
    char img[PATH_MAX];
    struct host_vm_spec s = { .id = id, .rootfs = hostfx_image(f, "minimal", img), .vcpus = 1,
                              .memory_mib = 256,
                              .snapshot = snap, .snapshot_consume = consume, .tap_fd = tap,
                              .mac = mac, .net_json = net };
    host_vm_create(f->h, &s, on_done, &d);
    if (!hostfx_run_until(f, &d.n, 1, 120))
        return HOST_E_TIMEOUT;
    if (d.res.err != HOST_OK)
        fprintf(stderr, "create '%s': %s\n", id, d.res.msg);
    return d.res.err;
}

static struct host_result set_net(struct hostfx *f, const char *id, const char *net)
{
    struct done_rec d = { 0 };
    host_vm_set_net(f->h, id, net, on_done, &d);
    if (!hostfx_run_until(f, &d.n, 1, 30))
        d.res.err = HOST_E_TIMEOUT;
    if (d.res.err != HOST_OK)
        fprintf(stderr, "set_net '%s': %s: %s\n", id, host_err_to_string(d.res.err),
                d.res.msg);
    return d.res;
}

static enum host_err op(struct hostfx *f, const char *id, const char *dir, bool pause)
{
    struct done_rec d = { 0 };
    if (pause)
        host_vm_pause(f->h, id, dir, on_done, &d);
    else
        host_vm_destroy(f->h, id, on_done, &d);
    if (!hostfx_run_until(f, &d.n, 1, 60))
        return HOST_E_TIMEOUT;
    if (d.res.err != HOST_OK)
        fprintf(stderr, "%s '%s': %s\n", pause ? "pause" : "destroy", id, d.res.msg);
    return d.res.err;
}

#define ADDRS "cat /sys/class/net/eth0/address; ip -4 addr show dev eth0; ip route"

TEST_SLOW(netguest_boot_netcfg_pause_clone_restore, 600)
{
    struct hostfx f = { 0 };
    if (!fx_init(&f))
        return;
    CHECK(ns_setup());
    int tap0 = tap_open("hst0");
    CHECK(tap0 >= 0);
    CHECK_EQ(run("ip route replace 10.88.0.5/32 dev hst0"), 0);
    char a[32];
    hostfx_new_id(a);
    CHECK_EQ(create(&f, a, NULL, false, tap0, "02:aa:00:00:00:05", NET_A), HOST_OK);
    close(tap0); /* borrowed for the call: QEMU has its own */

    /* what HELLO asked for, before create's done */
    CHECK(guest_has(&f, a, ADDRS, "02:aa:00:00:00:05", true));
    CHECK(guest_has(&f, a, ADDRS, "inet 10.88.0.5/32", true));
    CHECK(guest_has(&f, a, "ip route", "default via 10.88.0.1", true));
    CHECK(guest_has(&f, a, "ip route", "10.88.0.1 dev eth0", true));
    char rc[512];
    CHECK_EQ(guest_sh(&f, a, "cat /etc/resolv.conf", rc, sizeof(rc)), 0);
    CHECK_STR(rc, "nameserver 10.88.0.1\nsearch backend.hearth.internal\n");
    CHECK(ns_ping("10.88.0.5"));
    CHECK_EQ(guest_sh(&f, a, "ping -c1 -W3 10.88.0.1", NULL, 0), 0);

    /* live: a second address and a route via the gateway, then both gone again */
    struct host_result res = set_net(&f, a, NET_A2);
    CHECK_EQ(res.err, HOST_OK);
    CHECK(guest_has(&f, a, ADDRS, "inet 10.89.3.7/32", true));
    CHECK(guest_has(&f, a, "ip route", "10.89.3.0/24 via 10.88.0.1 dev eth0", true));
    CHECK(guest_has(&f, a, "ip route", "src 10.89.3.7", true));
    res = set_net(&f, a, NET_A);
    CHECK_EQ(res.err, HOST_OK);
    CHECK(guest_has(&f, a, ADDRS, "10.89.3.7", false));
    CHECK(guest_has(&f, a, "ip route", "10.89.3.0/24", false));
    CHECK(guest_has(&f, a, "ip route", "default via 10.88.0.1", true));
    /* the same object again changes nothing */
    res = set_net(&f, a, NET_A);
    CHECK_EQ(res.err, HOST_OK);
    CHECK(guest_has(&f, a, ADDRS, "inet 10.88.0.5/32", true));

    /* hostile: refused, the old configuration stays */
    res = set_net(&f, a, "{\"addrs\":[\"10.88.0.9/32\",7],\"gateway\":\"10.88.0.1\"}");
    CHECK_EQ(res.err, HOST_E_INVALID);
    CHECK(strstr(res.msg, "'addrs[1]'"));
    res = set_net(&f, a, "[\"not an object\"]");
    CHECK_EQ(res.err, HOST_E_INVALID);
    CHECK(guest_has(&f, a, ADDRS, "inet 10.88.0.5/32", true));
    CHECK(guest_has(&f, a, ADDRS, "10.88.0.9", false));
    CHECK(ns_ping("10.88.0.5"));

    /* pause, then a clone of the snapshot on a new tap with a new MAC and address */
    char snap[PATH_MAX];
    snprintf(snap, sizeof(snap), "%s/snap-a", f.run_root);
    CHECK_EQ(op(&f, a, snap, true), HOST_OK);
    int tap1 = tap_open("hst1");
    CHECK(tap1 >= 0);
    CHECK_EQ(run("ip route replace 10.88.0.6/32 dev hst1"), 0);
    char b[32];
    hostfx_new_id(b);
    CHECK_EQ(create(&f, b, snap, false, tap1, "02:aa:00:00:00:06", NET_B), HOST_OK);
    close(tap1);
    CHECK(guest_has(&f, b, ADDRS, "02:aa:00:00:00:06", true));
    CHECK(guest_has(&f, b, ADDRS, "inet 10.88.0.6/32", true));
    CHECK(guest_has(&f, b, ADDRS, "10.88.0.5", false));
    CHECK(ns_ping("10.88.0.6"));
    CHECK_EQ(guest_sh(&f, b, "ping -c1 -W3 10.88.0.1", NULL, 0), 0);
    /* the clone maps the snapshot's RAM: gone before the snapshot is consumed */
    CHECK_EQ(op(&f, b, NULL, false), HOST_OK);

    /* the snapshot's own restore, on another new tap: its address as before */
    int tap2 = tap_open("hst2");
    CHECK(tap2 >= 0);
    CHECK_EQ(run("ip route replace 10.88.0.5/32 dev hst2"), 0);
    char c[32];
    hostfx_new_id(c);
    CHECK_EQ(create(&f, c, snap, true, tap2, "02:aa:00:00:00:05", NET_A), HOST_OK);
    close(tap2);
    CHECK(guest_has(&f, c, ADDRS, "inet 10.88.0.5/32", true));
    CHECK(guest_has(&f, c, ADDRS, "02:aa:00:00:00:05", true));
    CHECK(ns_ping("10.88.0.5"));
    CHECK_EQ(op(&f, c, NULL, false), HOST_OK);
    hostfx_release(&f);
}

/* A golden builder boots without a tap (a hub port); its clones restore onto taps. */
TEST_SLOW(netguest_hubport_snapshot_restores_onto_tap, 400)
{
    struct hostfx f = { 0 };
    if (!fx_init(&f))
        return;
    CHECK(ns_setup());
    char g[32];
    hostfx_new_id(g);
    CHECK_EQ(create(&f, g, NULL, false, 0, NULL, NULL), HOST_OK);
    char snap[PATH_MAX];
    snprintf(snap, sizeof(snap), "%s/golden", f.run_root);
    CHECK_EQ(op(&f, g, snap, true), HOST_OK);
    int tap = tap_open("hst3");
    CHECK(tap >= 0);
    CHECK_EQ(run("ip route replace 10.88.0.6/32 dev hst3"), 0);
    char b[32];
    hostfx_new_id(b);
    CHECK_EQ(create(&f, b, snap, false, tap, "02:aa:00:00:00:06", NET_B), HOST_OK);
    close(tap);
    CHECK(guest_has(&f, b, ADDRS, "02:aa:00:00:00:06", true));
    CHECK(guest_has(&f, b, ADDRS, "inet 10.88.0.6/32", true));
    CHECK(ns_ping("10.88.0.6"));
    CHECK_EQ(op(&f, b, NULL, false), HOST_OK);
    /* the shared snapshot is the test's to remove: the run root is then empty (no leftover) */
    CHECK_EQ(snapshot_remove(snap), 0);
    hostfx_release(&f);
}
