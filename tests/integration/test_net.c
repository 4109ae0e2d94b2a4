/* SPDX-License-Identifier: MIT */
/* test_net.c: the data plane against the real kernel, without a VM. Each test runs in network
 * and mount namespaces of its own (so nothing reaches the machine's root namespace or its
 * /run/netns) and builds: the hearth namespace (net_open), an "internet" namespace joined to
 * the test's namespace by a veth, and taps whose fds the test holds, playing the guest by
 * writing and reading Ethernet frames (behind the 10-byte virtio-net header). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/net/net.h"
#include "daemon/net/netns.h"
#include "daemon/net/rtnl.h"
#include "harness.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define NS "hearth-test"
#define INET_NS "hearth-test-inet"
#define UPLINK_NET IP(10, 255, 0, 0)
#define ROOT_INET IP(203, 0, 113, 1)    /* the test namespace's address towards the internet */
#define VNET_HDR 10

static const struct net_config cfg = {
    .ns_name = NS, .uplink_root_if = "hup-test", .uplink_net = UPLINK_NET,
    .sandbox_net = IP(10, 88, 0, 0), .sandbox_prefix = 16,
    .networks_net = IP(10, 89, 0, 0), .networks_prefix = 16,
};

static const char *const ID_A = "sb-01HZZZZZZZZZZZAAAAAAAAAAAA";
static const char *const ID_B = "sb-01HZZZZZZZZZZZBBBBBBBBBBBB";

/* A namespace of our own for the whole test: network (traffic stays in) and mount (the
 * namespaces' bind mounts land on a private tmpfs, never the machine's /run/netns). */
static bool isolate(void)
{
    REQUIRE(getuid() == 0);
    REQUIRE(unshare(CLONE_NEWNET | CLONE_NEWNS) == 0);
    REQUIRE(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    (void)mkdir(NETNS_RUN_DIR, 0755);   /* usually there; EEXIST is fine */
    REQUIRE(mount("tmpfs", NETNS_RUN_DIR, "tmpfs", 0, "mode=0755") == 0);
    struct rtnl rt;
    REQUIRE(rtnl_open(&rt) == 0);
    REQUIRE(rtnl_link_set(&rt, 1, true, NULL) == 0);
    rtnl_close(&rt);
    return true;
}

/* Runs argv, capturing stdout into out (NUL-terminated); returns the exit status. */
static int run(char *const argv[], char *out, size_t cap)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t r;
    while ((r = read(p[0], out + len, cap - 1 - len)) > 0 && len + (size_t)r < cap - 1)
        len += (size_t)r;
    if (r > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char outbuf[1 << 20];

static const char *nft_table(void)
{
    char *argv[] = { "ip", "netns", "exec", NS, "nft", "list", "table", "inet", "hearth", NULL };
    return run(argv, outbuf, sizeof(outbuf)) == 0 ? outbuf : NULL;
}

static bool open_net(struct net **n)
{
    char err[256] = "";
    int r = net_open(&cfg, n, err, sizeof(err));
    if (r < 0)
        harness_fail(__FILE__, __LINE__, "net_open: %d %s", r, err);
    return r == 0;
}

TEST(open_twice_and_teardown)
{
    CHECK(isolate());
    struct net *n;
    char err[256];
    CHECK(open_net(&n));
    struct net *n2;
    CHECK(open_net(&n2));           /* re-open while the first handle lives */
    net_close(n2);
    net_close(n);
    CHECK(open_net(&n));
    CHECK_EQ(net_gateway(n), IP(10, 88, 0, 1));
    net_close(n);
    CHECK(nft_table() != NULL);
    char *root_tbl[] = { "nft", "list", "table", "inet", "hearth-" NS, NULL };
    CHECK_EQ(run(root_tbl, outbuf, sizeof(outbuf)), 0);
    CHECK(strstr(outbuf, "iifname \"hup-test\" drop"));
    char *addr[] = { "ip", "-n", NS, "addr", "show", "dev", "lo", NULL };
    CHECK_EQ(run(addr, outbuf, sizeof(outbuf)), 0);
    CHECK(strstr(outbuf, "10.88.0.1/32"));
    CHECK_EQ(net_teardown(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(net_teardown(&cfg, err, sizeof(err)), 0);     /* nothing left: still fine */
    CHECK(access(NETNS_RUN_DIR "/" NS, F_OK) != 0);
    CHECK(run(root_tbl, outbuf, sizeof(outbuf)) != 0);
    char *link[] = { "ip", "link", "show", "hup-test", NULL };
    CHECK(run(link, outbuf, sizeof(outbuf)) != 0);
}

TEST(tap_objects_apply_remove_prune)
{
    CHECK(isolate());
    struct net *n;
    char err[256];
    CHECK(open_net(&n));
    int fd;
    CHECK_EQ(net_tap_open(n, ID_A, &fd, err, sizeof(err)), 0);
    CHECK(net_tap_exists(n, ID_A));
    CHECK(!net_tap_exists(n, ID_B));
    int fd2;
    CHECK_EQ(net_tap_open(n, ID_A, &fd2, err, sizeof(err)), -EEXIST);
    char tap[NET_TAP_NAME_MAX];
    net_tap_name(ID_A, tap);
    CHECK_STR(tap, "hsaaaaaaaaaaaa");
    char *link[] = { "ip", "-n", NS, "link", "show", tap, NULL };
    CHECK_EQ(run(link, outbuf, sizeof(outbuf)), 0);
    CHECK(strstr(outbuf, "02:00:0a:58:00:01"));
    CHECK(strstr(outbuf, "UP"));

    const char *rules[] = { "198.51.100.1", "198.51.100.0/24:443", "api.example.com" };
    struct net_sandbox s = { .id = ID_A, .ip = IP(10, 88, 0, 5), .member_ips = { IP(10, 89, 1, 2) },
                             .n_member_ips = 1, .egress = rules, .n_egress = 3 };
    CHECK_EQ(net_sandbox_apply(n, &s, err, sizeof(err)), 0);
    static char first[sizeof(outbuf)];
    CHECK(nft_table());
    memcpy(first, outbuf, sizeof(first));
    CHECK(strstr(first, "chain eg_sb-01HZZZZZZZZZZZAAAAAAAAAAAA"));
    CHECK_EQ(net_sandbox_apply(n, &s, err, sizeof(err)), 0);        /* idempotent */
    CHECK(nft_table());
    CHECK_STR(outbuf, first);
    char *routes[] = { "ip", "-n", NS, "route", "show", "dev", tap, NULL };
    CHECK_EQ(run(routes, outbuf, sizeof(outbuf)), 0);
    CHECK(strstr(outbuf, "10.88.0.5"));
    CHECK(strstr(outbuf, "10.89.1.2"));
    s.n_member_ips = 0;
    CHECK_EQ(net_sandbox_apply(n, &s, err, sizeof(err)), 0);
    CHECK_EQ(run(routes, outbuf, sizeof(outbuf)), 0);
    CHECK(!strstr(outbuf, "10.89.1.2"));

    CHECK_EQ(net_sandbox_remove(n, ID_A, err, sizeof(err)), 0);
    CHECK_EQ(net_sandbox_remove(n, ID_A, err, sizeof(err)), 0);     /* unknown now: 0 */
    CHECK(nft_table());
    CHECK(!strstr(outbuf, "AAAAAAAAAAAA"));
    CHECK(!strstr(outbuf, "hsaaaaaaaaaaaa"));
    CHECK(!net_tap_exists(n, ID_A));
    close(fd);

    /* prune keeps what it is told to and removes the rest */
    CHECK_EQ(net_tap_open(n, ID_A, &fd, err, sizeof(err)), 0);
    CHECK_EQ(net_tap_open(n, ID_B, &fd2, err, sizeof(err)), 0);
    CHECK_EQ(net_sandbox_apply(n, &s, err, sizeof(err)), 0);
    struct net_sandbox sb = { .id = ID_B, .ip = IP(10, 88, 0, 6) };
    CHECK_EQ(net_sandbox_apply(n, &sb, err, sizeof(err)), 0);
    const char *keep[] = { ID_B };
    CHECK_EQ(net_sandbox_prune(n, keep, 1, err, sizeof(err)), 0);
    CHECK(nft_table());
    CHECK(!strstr(outbuf, "AAAAAAAAAAAA"));
    CHECK(strstr(outbuf, "BBBBBBBBBBBB"));
    CHECK_EQ(net_sandbox_prune(n, NULL, 0, err, sizeof(err)), 0);
    CHECK(nft_table());
    CHECK(!strstr(outbuf, "BBBBBBBBBBBB"));
    CHECK(!strstr(outbuf, "hsbbbbbbbbbbbb"));
    close(fd);
    close(fd2);
    net_close(n);
    CHECK_EQ(net_teardown(&cfg, err, sizeof(err)), 0);
}
