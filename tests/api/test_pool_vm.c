/* SPDX-License-Identifier: MIT */
/* test_pool_vm.c: warm pools (docs/performance.md "Warm pools") on a real hearthd with real
 * VMs: a pool of one minimal VM warms (after its golden snapshot), a create takes it (a hit in
 * the metrics) and the pool refills; two users take pooled VMs in turn and nothing of the
 * first shows in the second: hostname, /etc/hostname, envs, SSH keys, files, /dev/urandom's
 * bytes, address (boot_id: see the note in the test); a pooled VM whose QEMU is killed is discarded and creates still
 * work; kill -9 of hearthd and a restart leave no orphan QEMU, run dir or tap and the pool
 * warms again; pool-made sandboxes destroy like any; a clean stop kills the pool's VMs. */
#include "apitest.h"
#include "vmfx.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POOL "minimal/s-1vcpu-256mb"

/* The value of the metric line that starts with series ("name{labels}"), or -1. */
static long long metric(struct vfx *f, const char *series)
{
    struct hresp r;
    if (http_do(f->s.metrics_port, "GET", "/metrics", NULL, NULL, &r) != 0)
        return -1;
    long long v = -1;
    size_t n = strlen(series);
    for (const char *l = r.body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, series, n) == 0 && l[n] == ' ')
            v = atoll(l + n + 1);
    hresp_free(&r);
    return v;
}

static long long ready(struct vfx *f)
{
    return metric(f, "hearth_pool_vms{pool=\"" POOL "\",state=\"ready\"}");
}

static long long hits(struct vfx *f)
{
    return metric(f, "hearth_pool_takes_total{pool=\"" POOL "\",result=\"hit\"}");
}

/* Waits (<= timeout_s) for the pool to have a ready VM. */
static bool wait_ready(struct vfx *f, int timeout_s)
{
    for (int i = 0; i < timeout_s * 2; i++) {
        if (ready(f) == 1)
            return true;
        usleep(500000);
    }
    harness_fail(__FILE__, __LINE__, "the pool did not warm in %d s", timeout_s);
    return false;
}

/* SIGKILLs the QEMU of every run dir but those of keep[0..n) (its qemu.pid); how many. */
static int kill_others(struct vfx *f, const char *const *keep, size_t n)
{
    int killed = 0;
    char p[400];
    snprintf(p, sizeof(p), "%s/vms", f->s.data);
    DIR *d = opendir(p);
    for (struct dirent *e; d && (e = readdir(d));) {
        bool mine = e->d_name[0] == '.';
        for (size_t k = 0; k < n && !mine; k++)
            mine = strcmp(e->d_name, keep[k]) == 0;
        snprintf(p, sizeof(p), "%s/vms/%s/qemu.pid", f->s.data, e->d_name);
        FILE *fp = mine ? NULL : fopen(p, "re");
        int pid = 0;
        if (fp && fscanf(fp, "%d", &pid) == 1 && pid > 1 && kill(pid, SIGKILL) == 0)
            killed++;
        if (fp)
            fclose(fp);
    }
    if (d)
        closedir(d);
    return killed;
}

/* What a guest shows of itself, one line each. */
struct seen {
    char hostname[128], etc_hostname[128], env[128], keys[512], file[64], urandom[128],
        boot_id[64], addr[256], mac[64];
};

static bool look(struct vfx *f, const char *id, struct seen *s)
{
    REQUIRE(exec_sh(f, id, "hostname", s->hostname, sizeof(s->hostname)));
    REQUIRE(exec_sh(f, id, "cat /etc/hostname", s->etc_hostname, sizeof(s->etc_hostname)));
    REQUIRE(exec_sh(f, id, "echo \"${SECRET-unset}\"", s->env, sizeof(s->env)));
    REQUIRE(exec_sh(f, id, "cat /root/.ssh/authorized_keys 2>/dev/null || echo none", s->keys,
                    sizeof(s->keys)));
    REQUIRE(exec_sh(f, id, "cat /root/first.txt 2>/dev/null || echo none", s->file,
                    sizeof(s->file)));
    REQUIRE(exec_sh(f, id, "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'", s->urandom,
                    sizeof(s->urandom)));
    REQUIRE(exec_sh(f, id, "cat /proc/sys/kernel/random/boot_id", s->boot_id,
                    sizeof(s->boot_id)));
    REQUIRE(exec_sh(f, id, "ip -4 -o addr show dev eth0 | awk '{print $4}'", s->addr,
                    sizeof(s->addr)));
    REQUIRE(exec_sh(f, id, "cat /sys/class/net/eth0/address", s->mac, sizeof(s->mac)));
    return true;
}

/* The sandbox's address, as its row has it. */
static bool row_ip(struct vfx *f, const char *id, char *out, size_t len)
{
    char t[128];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    REQUIRE(call(f, "GET", t, NULL, 200, &r));
    snprintf(out, len, "%s", jstr(r.json, "data.ip") ? jstr(r.json, "data.ip") : "");
    hresp_free(&r);
    return true;
}

static void pool_body(struct vfx *f)
{
    /* the golden snapshot is built first (a cold boot and a pause), then the pool restores */
    CHECK(wait_ready(f, 400));
    CHECK_EQ(hits(f), 0);
    struct hresp hr;
    CHECK(call(f, "GET", "/v1/hosts", NULL, 200, &hr));
    bool shown = jstr(hr.json, "data.data.0.warm_pools.0.pool") &&
                 strcmp(jstr(hr.json, "data.data.0.warm_pools.0.pool"), POOL) == 0 &&
                 jint(hr.json, "data.data.0.warm_pools.0.size") == 1 &&
                 jint(hr.json, "data.data.0.warm_pools.0.ready") == 1;
    hresp_free(&hr);
    CHECK(shown);

    /* alice (the admin key's user) takes the pooled VM */
    char a[64], b[64], c[64];
    CHECK(create(f,
                 "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\",\"name\":\"alice-box\","
                 "\"envs\":{\"SECRET\":\"alice\"},\"ssh_pubkeys\":[\"" ED25519 "\"]}",
                 a));
    CHECK_EQ(hits(f), 1);
    /* the create's timeline names the take's steps (docs/performance.md) */
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/events", a);
    CHECK(call(f, "GET", t, NULL, 200, &hr));
    bool steps = strstr(hr.body, "\"pool_take\"") && strstr(hr.body, "\"net_apply\"") &&
                 strstr(hr.body, "\"identity\"");
    hresp_free(&hr);
    CHECK(steps);
    char out[256];
    CHECK(exec_sh(f, a, "echo alice-data > /root/first.txt && sync && echo ok", out,
                  sizeof(out)));
    CHECK_STR(out, "ok\n");
    struct seen sa, sb;
    CHECK(look(f, a, &sa));
    CHECK_STR(sa.hostname, "alice-box\n");
    CHECK_STR(sa.etc_hostname, "alice-box\n");
    CHECK_STR(sa.env, "alice\n");
    CHECK(strstr(sa.keys, ED25519) != NULL);
    CHECK_STR(sa.file, "alice-data\n");
    char ip[64], want[80];
    CHECK(row_ip(f, a, ip, sizeof(ip)));
    snprintf(want, sizeof(want), "%s/32", ip);
    CHECK(ip[0] && strstr(sa.addr, want) != NULL);

    /* the pool refills in the background; bob takes the next one */
    CHECK(wait_ready(f, 240));
    struct hresp r;
    CHECK(call(f, "POST", "/v1/keys", "{\"user\":\"bob\",\"admin\":false}", 200, &r));
    char bob_hdr[160], admin_hdr[160];
    snprintf(bob_hdr, sizeof(bob_hdr), "X-Api-Key: %s\r\n", jstr(r.json, "data.key"));
    hresp_free(&r);
    snprintf(admin_hdr, sizeof(admin_hdr), "%s", f->hdr);
    snprintf(f->hdr, sizeof(f->hdr), "%s", bob_hdr);
    /* bob's sandbox joins a network of his: its member address comes with the take */
    CHECK(call(f, "POST", "/v1/networks", "{\"name\":\"bobnet\"}", 200, &r));
    char body[300];
    snprintf(body, sizeof(body),
             "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\",\"name\":\"bob-box\","
             "\"envs\":{\"OTHER\":\"bob\"},\"networks\":[{\"id\":\"%s\"}]}",
             jstr(r.json, "data.id"));
    hresp_free(&r);
    CHECK(create(f, body, b));
    CHECK_EQ(hits(f), 2);
    CHECK(look(f, b, &sb));
    CHECK_STR(sb.hostname, "bob-box\n");
    CHECK_STR(sb.etc_hostname, "bob-box\n");
    CHECK_STR(sb.env, "unset\n");
    CHECK_STR(sb.keys, "none\n");
    CHECK_STR(sb.file, "none\n");
    CHECK(strcmp(sa.urandom, sb.urandom) != 0 && strlen(sb.urandom) == 64);
    /* boot_id is not compared: the kernel makes it once, when the agent reads it at boot,
     * before the golden snapshot, so every restore of one golden snapshot shares it, pooled
     * or not (docs/performance.md "Warm pools", Security) */
    CHECK_INT(strlen(sb.boot_id), >=, 36);
    CHECK(row_ip(f, b, ip, sizeof(ip)));
    snprintf(want, sizeof(want), "%s/32", ip);
    CHECK(ip[0] && strstr(sb.addr, want) != NULL && strcmp(sa.addr, sb.addr) != 0);
    CHECK(strchr(sb.addr, '\n') && strchr(sb.addr, '\n')[1] != '\0'); /* and the member's */
    CHECK(strchr(sa.addr, '\n') && strchr(sa.addr, '\n')[1] == '\0');
    CHECK(strcmp(sa.mac, sb.mac) != 0); /* each its own, derived from its id */
    snprintf(f->hdr, sizeof(f->hdr), "%s", admin_hdr);

    /* a pooled VM whose QEMU dies is discarded, never handed out; creates still work */
    CHECK(wait_ready(f, 240));
    const char *keep[] = { a, b };
    CHECK_EQ(kill_others(f, keep, 2), 1);
    CHECK(create(f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}", c));
    CHECK(exec_sh(f, c, "echo up", out, sizeof(out)));
    CHECK_STR(out, "up\n");

    /* kill -9 and restart: the pool's VM of the dead hearthd is an orphan reconcile removes;
     * the pool warms again; then one VM per sandbox plus the pooled one, nothing else */
    CHECK(wait_ready(f, 240));
    CHECK(crash_restart(f));
    CHECK(wait_ready(f, 400));
    CHECK_EQ(qemu_left(f, false), 4);
    CHECK_EQ(run_dirs(f), 4);
    int taps = vfx_taps(f);
    CHECK(taps < 0 || taps == 4);
    CHECK(exec_sh(f, a, "cat /root/first.txt", out, sizeof(out)));
    CHECK_STR(out, "alice-data\n");

    /* pool-made sandboxes destroy like any */
    snprintf(f->hdr, sizeof(f->hdr), "%s", bob_hdr);
    CHECK(destroy(f, b));
    snprintf(f->hdr, sizeof(f->hdr), "%s", admin_hdr);
    CHECK(destroy(f, a));
    CHECK(destroy(f, c));
    CHECK_EQ(qemu_left(f, false), 1);
    CHECK_EQ(run_dirs(f), 1);

    /* a clean stop kills the pooled VM */
    CHECK_EQ(hd_stop(&f->s), 0);
    CHECK_EQ(qemu_left(f, false), 0);
    CHECK_EQ(run_dirs(f), 0);
}

TEST_SLOW(pool_take_identity_crash, 900)
{
    apitest_io_timeout_s = 180;
    struct vfx f;
    if (vfx_start_conf(&f, "warm_pool = \"" POOL "=1\"\nwarm_pool_min_free_mib = 0\n"))
        pool_body(&f);
    vfx_end(&f); /* also after a failed check: no QEMU may outlive the test */
}

TEST(pool_config_refused)
{
    /* a name the catalog does not have stops hearthd at start with the reason */
    struct hd_server s;
    memset(&s, 0, sizeof(s));
    CHECK(hd_prepare(&s, "warm_pool = \"minimal/s-9vcpu-1tb=1\"\n", true));
    const char *argv[] = { "serve", "--config", s.conf, NULL };
    char out[4096], err[8192];
    CHECK(hd_run(argv, out, sizeof(out), err, sizeof(err)) != 0);
    if (!strstr(err, "unknown shape s-9vcpu-1tb") && !strstr(out, "unknown shape s-9vcpu-1tb"))
        harness_fail(__FILE__, __LINE__, "no reason: %s%s", out, err);
    hd_cleanup(&s);
}

/* host_max_vms = 1 and a pool of one: the pooled VM fills the host, yet a create of another
 * shape gets the room (the pooled VM is evicted), the pool does not refill while the host is
 * full, and warms again once the sandbox is gone. */
static void evict_body(struct vfx *f)
{
    CHECK(wait_ready(f, 400));
    char id[64];
    CHECK(create(f, "{\"shape\":\"s-1vcpu-512mb\",\"rootfs\":\"minimal\"}", id));
    CHECK_EQ(ready(f), 0); /* (the new shape's golden snapshot is being built meanwhile) */
    sleep(6); /* more than the refill's slow round: still no room */
    CHECK_EQ(metric(f, "hearth_pool_vms{pool=\"" POOL "\",state=\"warming\"}"), 0);
    CHECK_EQ(ready(f), 0);
    CHECK(destroy(f, id));
    CHECK(wait_ready(f, 120));
}

TEST_SLOW(pool_yields_at_host_max_vms, 600)
{
    apitest_io_timeout_s = 180;
    struct vfx f;
    if (vfx_start_conf(&f, "warm_pool = \"" POOL "=1\"\nwarm_pool_min_free_mib = 0\n"
                           "host_max_vms = 1\n"))
        evict_body(&f);
    vfx_end(&f);
}
