/* SPDX-License-Identifier: MIT */
/* bench_net.c: sandbox networking measured through a real `hearthd serve` and real microVMs
 * (docs/networking.md). Prints medians next to the targets of issue 5; asserts nothing:
 *
 * - TCP throughput guest → outside: a devbox guest sends 64 MiB to a sink behind the host
 *   (the full path: tap, the hearth namespace's rules, two NATs, a veth), 5 runs;
 * - TCP throughput guest → guest, two members of one private network, 5 runs;
 * - the same guest → outside throughput with 1,000 egress rules in the sandbox's chain (the
 *   API allows 256; the rest are installed below the API with net_sandbox_apply());
 * - TCP round-trip latency (1 byte echoed) guest → guest and guest → outside;
 * - a rule change: PUT …/egress of 256 rules, call to answer (the data plane is updated
 *   before the answer), 20 runs; and net_sandbox_apply() of 1,000 rules.
 *
 * Runs in a network namespace of its own with a test "internet" namespace behind it, like
 * tests/api/test_network_vm.c: no packet leaves namespaces this program created. */
#include "apiclient.h"
#include "stats.h"
#include "inetns.h"

#include "daemon/config.h"
#include "common/mono.h"
#include "daemon/net/net.h"

#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS 5
#define SEND_MIB 64

static const char *g_key;
static uint16_t g_port;
static char g_inet[64];
static pid_t g_sink = -1;

/* A sink that reads each connection to its end and answers the byte count. */
static const char SINK_PY[] =
    "import socket, threading\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', 9000)); s.listen(16)\n"
    "def drain(c):\n"
    "    n = 0\n"
    "    while True:\n"
    "        b = c.recv(1 << 20)\n"
    "        if not b: break\n"
    "        n += len(b)\n"
    "    c.sendall(str(n).encode()); c.close()\n"
    "def echo(c):\n"
    "    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n"
    "    while True:\n"
    "        b = c.recv(64)\n"
    "        if not b: break\n"
    "        c.sendall(b)\n"
    "    c.close()\n"
    "e = socket.socket(); e.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "e.bind(('0.0.0.0', 9001)); e.listen(16)\n"
    "def echoes():\n"
    "    while True:\n"
    "        c, _ = e.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()\n"
    "threading.Thread(target=echoes, daemon=True).start()\n"
    "while True:\n"
    "    c, _ = s.accept(); threading.Thread(target=drain, args=(c,), daemon=True).start()\n";

/* The guest side of a round trip: 1 byte to an echo server and back, 500 times in a row; the
 * mean in ms (the guest's clock is coarse under TCG, so single trips are not timed). */
static const char RTT_PY[] =
    "import socket, time\n"
    "s = socket.create_connection(('%s', 9001), timeout=10)\n"
    "s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n"
    "for i in range(20): s.sendall(b'x'); s.recv(1)\n"
    "t = time.monotonic()\n"
    "for i in range(500): s.sendall(b'x'); s.recv(1)\n"
    "print('%%.3f' %% ((time.monotonic() - t) * 1000 / 500))\n";

/* The guest side: connect, send SEND_MIB, half-close, wait for the sink's count; prints Mbit/s. */
static const char SEND_PY[] =
    "import socket, time, sys\n"
    "n = %d << 20; b = bytes(1 << 18)\n"
    "t = time.monotonic(); s = socket.create_connection(('%s', 9000), timeout=30)\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)\n"
    "left = n\n"
    "while left > 0:\n"
    "    k = s.send(b[:min(left, len(b))]); left -= k\n"
    "s.shutdown(socket.SHUT_WR); got = int(s.recv(64)); dt = time.monotonic() - t\n"
    "print('%%.1f' %% (got * 8 / dt / 1e6))\n";

static bool inet_up(void)
{
    static const char *const addrs[] = { "203.0.113.10" };
    if (!inetns_up(g_inet, "binet", addrs, 1))
        return false;
    g_sink = fork();
    if (g_sink == 0) {
        setpgid(0, 0);
        execlp("ip", "ip", "netns", "exec", g_inet, "python3", "-c", SINK_PY, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        if (inetns_sh("python3 -c \"import socket; socket.create_connection(('203.0.113.10', "
                      "9000), timeout=1).close()\" 2>/dev/null") == 0)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static void inet_down(void)
{
    inetns_kill(g_sink);
    inetns_down(g_inet);
}

/* Runs a script in the guest; stdout in out. */
static bool gsh(const char *id, const char *script, char *out, size_t len)
{
    struct resp r;
    int e = exec_sh(g_port, g_key, id, script, &r);
    if (e)
        return false;
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *res = json_object_get(json_object_get(j, "data"), "result");
    bool ok = r.status == 200 && json_integer_value(json_object_get(res, "exit_code")) == 0;
    if (out)
        snprintf(out, len, "%s", json_string_value(json_object_get(res, "stdout")) ?: "");
    json_decref(j);
    resp_free(&r);
    return ok;
}

static void report(const char *what, double *v, int n, const char *unit, const char *target)
{
    if (n <= 0) {
        printf("%s: no successful runs\n", what);
        return;
    }
    printf("%s, %d runs: median %.2f %s, min %.2f, max %.2f", what, n,
           bench_percentile(v, (size_t)n, 50), unit, bench_percentile(v, (size_t)n, 0),
           bench_percentile(v, (size_t)n, 100));
    if (target)
        printf("  (target %s)", target);
    printf("\n");
}

static void throughput(const char *what, const char *id, const char *dst, const char *target)
{
    char script[1024], out[128];
    snprintf(script, sizeof(script), SEND_PY, SEND_MIB, dst);
    double v[RUNS];
    int n = 0;
    for (int i = 0; i < RUNS; i++) {
        char cmd[2048];
        /* the script goes through a file: the exec body carries it once */
        snprintf(cmd, sizeof(cmd), "cat > /tmp/send.py <<'EOF'\n%s\nEOF\npython3 /tmp/send.py",
                 script);
        if (gsh(id, cmd, out, sizeof(out)) && atof(out) > 0)
            v[n++] = atof(out);
    }
    report(what, v, n, "Mbit/s", target);
}

static void latency(const char *what, const char *id, const char *dst)
{
    char script[1024], cmd[2048], out[128];
    snprintf(script, sizeof(script), RTT_PY, dst);
    snprintf(cmd, sizeof(cmd), "cat > /tmp/rtt.py <<'EOF'\n%s\nEOF\npython3 /tmp/rtt.py", script);
    double v[RUNS];
    int n = 0;
    for (int i = 0; i < RUNS; i++)
        if (gsh(id, cmd, out, sizeof(out)) && atof(out) > 0)
            v[n++] = atof(out);
    report(what, v, n, "ms", NULL);
}

static bool api(const char *method, const char *target, const char *body, int want,
                char *out, size_t len)
{
    struct conn c = { .fd = -1, .port = g_port };
    struct resp r;
    int e = request(&c, method, target, g_key, body, &r);
    conn_close(&c);
    if (e)
        return false;
    bool ok = r.status == want;
    if (out)
        snprintf(out, len, "%s", r.body ? r.body : "");
    resp_free(&r);
    return ok;
}

static void rule_change(const char *id)
{
    /* 256 rules (the API's maximum), alternating between two lists so every PUT changes them */
    size_t cap = 64 * 1024;
    char *body[2] = { malloc(cap), malloc(cap) };
    for (int k = 0; k < 2; k++) {
        size_t n = (size_t)snprintf(body[k], cap, "{\"egress\":[\"203.0.113.0/24\"");
        for (int i = 1; i < 256; i++)
            n += (size_t)snprintf(body[k] + n, cap - n, ",\"10.%d.%d.0/24:%d\"", k + 100, i,
                                  1000 + i);
        snprintf(body[k] + n, cap - n, "]}");
    }
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/egress", id);
    double v[20];
    int n = 0;
    for (int i = 0; i < 20; i++) {
        int64_t t0 = mono_now_us();
        if (api("PUT", t, body[i % 2], 200, NULL, 0))
            v[n++] = (double)(mono_now_us() - t0) / 1000.0;
    }
    report("rule change: PUT egress (256 rules), call to answer (applied)", v, n, "ms",
           "<= 100 ms");
    free(body[0]);
    free(body[1]);
    api("PUT", t, "{\"egress\":[]}", 200, NULL, 0);
}

/* 1,000 rules installed on the sandbox below the API (its ip from the view), throughput then. */
static void thousand_rules(const struct daemon *d, const char *id)
{
    struct hd_config cfg;
    config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", d->data);
    char ns[CONFIG_NAME_SIZE], up[16], err[256], body[4096], ip[32] = "";
    config_net_names(&cfg, ns, up);
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    if (!api("GET", t, NULL, 200, body, sizeof(body)) || !json_field(body, "ip", ip, sizeof(ip))) {
        printf("1,000 rules: cannot read the sandbox's address\n");
        return;
    }
    struct net_config nc = { .ns_name = ns, .uplink_root_if = up,
                             .uplink_net = cfg.net_uplink_net,
                             .sandbox_net = cfg.net_sandbox_net,
                             .sandbox_prefix = cfg.net_sandbox_prefix,
                             .networks_net = cfg.net_networks_net,
                             .networks_prefix = cfg.net_networks_prefix };
    struct net *n;
    if (net_open(&nc, &n, err, sizeof(err)) < 0) {
        printf("1,000 rules: %s\n", err);
        return;
    }
    static char rules[1000][40];
    const char *rp[1000];
    snprintf(rules[0], sizeof(rules[0]), "203.0.113.10:9000");
    rp[0] = rules[0];
    for (int i = 1; i < 1000; i++) {
        snprintf(rules[i], sizeof(rules[i]), "10.%d.%d.0/24:%d", 100 + i / 250, i % 250,
                 1000 + i);
        rp[i] = rules[i];
    }
    unsigned a, b2, c, e;
    sscanf(ip, "%u.%u.%u.%u", &a, &b2, &c, &e);
    struct net_sandbox s = { .id = id, .ip = a << 24 | b2 << 16 | c << 8 | e, .egress = rp,
                             .n_egress = 1000 };
    double v[RUNS];
    int nv = 0;
    for (int i = 0; i < RUNS; i++) {
        int64_t t0 = mono_now_us();
        if (net_sandbox_apply(n, &s, err, sizeof(err)) == 0)
            v[nv++] = (double)(mono_now_us() - t0) / 1000.0;
        else
            printf("apply: %s\n", err);
    }
    report("net_sandbox_apply, 1,000 rules", v, nv, "ms", NULL);
    throughput("TCP guest -> outside, 1,000 egress rules (the allowed one matches last)", id,
               "203.0.113.10", NULL);
    s.n_egress = 0;
    (void)net_sandbox_apply(n, &s, err, sizeof(err));
    net_close(n);
}

int main(void)
{
    char kpath[512];
    snprintf(kpath, sizeof(kpath), "%s/vmlinux", images_dir());
    if (access(kpath, R_OK) != 0) {
        printf("bench_net: skipped: no %s (make images)\n", kpath);
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!inet_up()) {
        printf("bench_net: cannot build the test internet namespace (root needed)\n");
        inet_down();
        return 1;
    }
    struct daemon d = { .pid = -1 };
    static char key[128];
    int rc = 0;
    if (!daemon_prepare_conf(&d, "bandwidth_quota_bytes = -1\n") || !daemon_start(&d)) {
        printf("bench_net: hearthd did not start\n");
        rc = 1;
        goto out;
    }
    char p[256];
    snprintf(p, sizeof(p), "%s/admin.key", d.data);
    FILE *f = fopen(p, "r");
    if (!f || fscanf(f, "%127s", key) != 1) {
        if (f)
            fclose(f);
        rc = 1;
        goto out;
    }
    fclose(f);
    g_key = key;
    g_port = d.port;

    char a[STORE_ID_SIZE], b[STORE_ID_SIZE], why[256], out[256];
    double ms;
    api("POST", "/v1/networks", "{\"name\":\"bench\"}", 200, NULL, 0);
    const char *body = "{\"shape\":\"s-1vcpu-1gb\",\"rootfs\":\"devbox:1\","
                       "\"networks\":[{\"id\":\"bench\"}]}";
    if (create_one(g_port, g_key, body, a, &ms, why, sizeof(why)) != 0 ||
        create_one(g_port, g_key, body, b, &ms, why, sizeof(why)) != 0) {
        printf("bench_net: create failed: %s\n", why);
        rc = 1;
        goto out;
    }
    /* b serves the sink too, on its network address */
    char srv[4096];
    snprintf(srv, sizeof(srv), "cat > /tmp/sink.py <<'EOF'\n%s\nEOF\nsetsid python3 /tmp/sink.py "
             "</dev/null >/dev/null 2>&1 & sleep 0.5", SINK_PY);
    gsh(b, srv, NULL, 0);
    char bname[80] = "";
    char t[128], view[4096];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", b);
    if (api("GET", t, NULL, 200, view, sizeof(view)))
        json_field(view, "name", bname, sizeof(bname));

    throughput("TCP guest -> outside (tap, rules, NAT x2)", a, "203.0.113.10", ">= 300 Mbit/s");
    throughput("TCP guest -> guest (one private network)", a, bname, NULL);
    latency("TCP round trip guest -> guest (one private network), mean of 500", a, bname);
    latency("TCP round trip guest -> outside, mean of 500", a, "203.0.113.10");
    rule_change(a);
    thousand_rules(&d, a);
    gsh(a, "true", out, sizeof(out));
    destroy_one(g_port, g_key, a);
    destroy_one(g_port, g_key, b);
out:
    daemon_stop(&d);
    inet_down();
    return rc;
}
