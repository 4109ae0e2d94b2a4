/* SPDX-License-Identifier: MIT */
/* test_config.c: the hearthd config parser (daemon/config.h): defaults, every key, and hostile
 * files (unknown keys, junk lines, NUL bytes, long lines, duplicates, bad values), each error
 * naming its line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "harness.h"

static int parse(const char *text, struct hd_config *c, char *err, size_t len)
{
    config_defaults(c);
    return config_parse(c, text, strlen(text), "t.conf", err, len);
}

TEST(defaults)
{
    struct hd_config c;
    config_defaults(&c);
    CHECK_STR(c.listen_host, "127.0.0.1");
    CHECK_EQ(c.listen_port, 8080);
    CHECK_STR(c.data_dir, "/var/lib/hearth");
    CHECK_STR(c.images_dir, "");
    CHECK_STR(c.region, "local");
    CHECK_STR(c.accel, "auto");
    CHECK_STR(c.cgroup_root, "/sys/fs/cgroup/hearth");
    CHECK(c.metrics_enabled);
    CHECK_STR(c.metrics_host, "127.0.0.1");
    CHECK_EQ(c.metrics_port, 9464);
    CHECK(c.console);
    CHECK_EQ(c.log_level, LOG_LEVEL_INFO);
    CHECK_EQ(c.max_sandboxes, 32);
    CHECK_EQ(c.max_disk_mib, 262144);
    CHECK_EQ(c.bandwidth_quota_bytes, 5368709120LL);
    CHECK_EQ(c.retention_hours, 168);
    CHECK_STR(c.ingress_scheme, "http");
    CHECK_STR(c.ingress_domain, "sb.localhost");
    CHECK(c.ingress_http_enabled);
    CHECK_STR(c.ingress_http_host, "127.0.0.1");
    CHECK_EQ(c.ingress_http_port, 8081);
    CHECK(!c.ingress_https_enabled);
    CHECK(!c.ingress_private);
    CHECK_EQ(c.ingress_upstream_timeout_s, 60);
    CHECK(c.jail);
    CHECK_EQ(c.jail_uid_base, 200000);
    CHECK_EQ(c.jail_uid_count, 65536);
    char img[CONFIG_PATH_SIZE];
    CHECK_EQ(config_images_dir(&c, img), 0);
    CHECK_STR(img, "/var/lib/hearth/images");
}

TEST(every_key)
{
    struct hd_config c;
    char err[512];
    const char *text = "# comment\n"
                       "   \n"
                       "listen = [::1]:9000\r\n"
                       "\tdata_dir=/srv/hearth  \n"
                       "images_dir = \"/srv/images\"\n"
                       "region = eu-1\n"
                       "host_id = node_a.1\n"
                       "accel = tcg\n"
                       "cgroup_root = /sys/fs/cgroup/unified/hearth\n"
                       "metrics_listen = off\n"
                       "log_level = debug\n"
                       "max_sandboxes = 10\n"
                       "max_disk_mib = 1024\n"
                       "bandwidth_quota_bytes = -1\n"
                       "retention_hours = 1\n"
                       "ingress_domain = sb.example.com\n"
                       "ingress_scheme = http\n"
                       "shutdown_timeout_s = 0\n"
                       "net_namespace = hearth_test-1\n"
                       "net_uplink_if = up-test\n"
                       "net_uplink_cidr = 169.254.90.4/30\n"
                       "net_sandbox_cidr = 10.200.0.0/20\n"
                       "net_networks_cidr = 10.201.0.0/23\n"
                       "dns_upstream = 192.0.2.53, 198.51.100.53\n"
                       "jail = off\n"
                       "jail_uid_base = 1000\n"
                       "jail_uid_count = 16777216\n"
                       "  # indented comment";
    int r = parse(text, &c, err, sizeof(err));
    if (r)
        harness_fail(__FILE__, __LINE__, "%s", err);
    CHECK_EQ(r, 0);
    CHECK_STR(c.listen_host, "::1");
    CHECK_EQ(c.listen_port, 9000);
    CHECK_STR(c.data_dir, "/srv/hearth");
    CHECK_STR(c.images_dir, "/srv/images");
    CHECK_STR(c.region, "eu-1");
    CHECK_STR(c.host_id, "node_a.1");
    CHECK_STR(c.accel, "tcg");
    CHECK_STR(c.cgroup_root, "/sys/fs/cgroup/unified/hearth");
    CHECK(!c.metrics_enabled);
    CHECK_EQ(c.log_level, LOG_LEVEL_DEBUG);
    CHECK_EQ(c.max_sandboxes, 10);
    CHECK_EQ(c.max_disk_mib, 1024);
    CHECK_EQ(c.bandwidth_quota_bytes, -1);
    CHECK_EQ(c.retention_hours, 1);
    CHECK_STR(c.ingress_domain, "sb.example.com");
    CHECK_STR(c.ingress_scheme, "http");
    CHECK_EQ(c.shutdown_timeout_s, 0);
    CHECK_STR(c.net_namespace, "hearth_test-1");
    CHECK_STR(c.net_uplink_if, "up-test");
    CHECK_EQ(c.net_uplink_net, 0xa9fe5a04u);
    CHECK_EQ(c.net_sandbox_net, 0x0ac80000u);
    CHECK_EQ(c.net_sandbox_prefix, 20);
    CHECK_EQ(c.net_networks_net, 0x0ac90000u);
    CHECK_EQ(c.net_networks_prefix, 23);
    CHECK_EQ(c.n_dns_upstreams, 2);
    CHECK_EQ(c.dns_upstreams[0], 0xc0000235u);
    CHECK_EQ(c.dns_upstreams[1], 0xc6336435u);
    CHECK(!c.jail);
    CHECK_EQ(c.jail_uid_base, 1000);
    CHECK_EQ(c.jail_uid_count, 16777216);
    char ns[CONFIG_NAME_SIZE], up[16];
    config_net_names(&c, ns, up);
    CHECK_STR(ns, "hearth_test-1");
    CHECK_STR(up, "up-test");
    CHECK_EQ(parse("jail = on\njail_uid_base = 4000000000\njail_uid_count = 1\n", &c, err,
                   sizeof(err)), 0);
    CHECK(c.jail);
    CHECK_EQ(c.jail_uid_base, 4000000000u);
    CHECK_EQ(c.jail_uid_count, 1);
    CHECK_EQ(parse("ingress_http_listen = off\ningress_listen = [::1]:8443\n"
                   "ingress_tls_cert = /etc/hearth/c.pem\ningress_tls_key = /etc/hearth/k.pem\n"
                   "ingress_private = on\ningress_public_port = 443\n", &c, err, sizeof(err)), 0);
    CHECK(!c.ingress_http_enabled);
    CHECK(c.ingress_https_enabled);
    CHECK_STR(c.ingress_https_host, "::1");
    CHECK_EQ(c.ingress_https_port, 8443);
    CHECK_STR(c.ingress_tls_cert, "/etc/hearth/c.pem");
    CHECK_STR(c.ingress_tls_key, "/etc/hearth/k.pem");
    CHECK(c.ingress_private);
    CHECK_EQ(c.ingress_public_port, 443);
    CHECK_EQ(parse("console = off\n", &c, err, sizeof(err)), 0);
    CHECK(!c.console);
    CHECK_EQ(parse("console = on\n", &c, err, sizeof(err)), 0);
    CHECK(c.console);
    CHECK_EQ(parse("metrics_listen = \"\"\n", &c, err, sizeof(err)), 0);
    CHECK(!c.metrics_enabled);
    CHECK_EQ(parse("metrics_listen = 0.0.0.0:0\nlisten = 127.0.0.1:0", &c, err, sizeof(err)),
             0);
    CHECK(c.metrics_enabled);
    CHECK_EQ(c.metrics_port, 0);
    CHECK_EQ(c.listen_port, 0);
    CHECK_EQ(parse("", &c, err, sizeof(err)), 0);
    CHECK_EQ(parse("cgroup_root = off\n", &c, err, sizeof(err)), 0);
    CHECK_STR(c.cgroup_root, "");
    CHECK_EQ(parse("cgroup_root = \"\"\n", &c, err, sizeof(err)), 0);
    CHECK_STR(c.cgroup_root, "");
}

TEST(net_names_derived_from_the_data_dir)
{
    struct hd_config a, b;
    char ns[CONFIG_NAME_SIZE], up[16], ns2[CONFIG_NAME_SIZE], up2[16];
    config_defaults(&a);
    config_net_names(&a, ns, up);
    CHECK_STR(ns, "hearth"); /* the default data dir */
    CHECK_STR(up, "hearth0");
    snprintf(a.data_dir, sizeof(a.data_dir), "/tmp/one");
    config_defaults(&b);
    snprintf(b.data_dir, sizeof(b.data_dir), "/tmp/two");
    config_net_names(&a, ns, up);
    config_net_names(&b, ns2, up2);
    CHECK(strncmp(ns, "hearth-", 7) == 0 && strlen(ns) == 15);
    CHECK(strncmp(up, "hu-", 3) == 0 && strlen(up) == 11);
    CHECK(strcmp(ns, ns2) != 0);
    CHECK_STR(ns + 7, up + 3); /* one hash names both */
    config_net_names(&a, ns2, up2);
    CHECK_STR(ns, ns2); /* a restart finds its namespace again */
}

TEST(hostile_lines)
{
    static const struct {
        const char *text;
        const char *want; /* substring of the error */
    } cases[] = {
        { "bogus = 1\n", "t.conf:1: unknown key 'bogus'" },
        { "\n\nlisten\n", "t.conf:3: expected 'key = value'" },
        { "= 1\n", "t.conf:1: missing key" },
        { "region = a\nregion = b\n", "t.conf:2: duplicate key 'region'" },
        { "listen = 127.0.0.1\n", "t.conf:1: bad value for 'listen'" },
        { "listen = localhost:80\n", "bad value for 'listen'" },
        { "listen = 127.0.0.1:65536\n", "bad value for 'listen'" },
        { "listen = 127.0.0.1:-1\n", "bad value for 'listen'" },
        { "listen = 127.0.0.1:+80\n", "bad value for 'listen'" },
        { "listen = ::1:80\n", "bad value for 'listen'" },
        { "listen = [::1]80\n", "bad value for 'listen'" },
        { "listen = :80\n", "bad value for 'listen'" },
        { "data_dir = relative/path\n", "bad value for 'data_dir'" },
        { "console = maybe\n", "bad value for 'console'" },
        { "console = \"\"\n", "bad value for 'console'" },
        { "data_dir =\n", "bad value for 'data_dir'" },
        { "images_dir = x\n", "bad value for 'images_dir'" },
        { "region = \n", "bad value for 'region'" },
        { "region = a b\n", "bad value for 'region'" },
        { "region = -x\n", "bad value for 'region'" },
        { "accel = KVM\n", "bad value for 'accel'" },
        { "cgroup_root = hearth\n", "bad value for 'cgroup_root'" },
        { "cgroup_root = /sys/fs/cgroup/../etc\n", "bad value for 'cgroup_root'" },
        { "cgroup_root = /sys/fs/cgroup/./x\n", "bad value for 'cgroup_root'" },
        { "cgroup_root = /sys/fs/cgroup/x/\n", "bad value for 'cgroup_root'" },
        { "log_level = verbose\n", "bad value for 'log_level'" },
        { "max_sandboxes = 1x\n", "bad value for 'max_sandboxes'" },
        { "max_sandboxes = 99999999999999999999999\n", "bad value for 'max_sandboxes'" },
        { "max_sandboxes = \n", "bad value for 'max_sandboxes'" },
        { "max_disk_mib = 1023\n", "bad value for 'max_disk_mib'" },
        { "bandwidth_quota_bytes = 0\n", "bad value for 'bandwidth_quota_bytes'" },
        { "bandwidth_quota_bytes = -2\n", "bad value for 'bandwidth_quota_bytes'" },
        { "retention_hours = 0\n", "bad value for 'retention_hours'" },
        { "ingress_domain = a/b\n", "bad value for 'ingress_domain'" },
        { "ingress_scheme = ftp\n", "bad value for 'ingress_scheme'" },
        { "ingress_http_listen = 8081\n", "bad value for 'ingress_http_listen'" },
        { "ingress_http_listen = localhost:8081\n", "bad value for 'ingress_http_listen'" },
        { "ingress_listen = 127.0.0.1:99999\n", "bad value for 'ingress_listen'" },
        { "ingress_tls_cert = cert.pem\n", "bad value for 'ingress_tls_cert'" },
        { "ingress_tls_key = key.pem\n", "bad value for 'ingress_tls_key'" },
        { "ingress_private = yes\n", "bad value for 'ingress_private'" },
        { "ingress_public_port = 65536\n", "bad value for 'ingress_public_port'" },
        { "ingress_header_timeout_s = 0\n", "bad value for 'ingress_header_timeout_s'" },
        { "ingress_idle_timeout_s = 3601\n", "bad value for 'ingress_idle_timeout_s'" },
        { "ingress_upstream_timeout_s = x\n", "bad value for 'ingress_upstream_timeout_s'" },
        { "ingress_max_connections = 0\n", "bad value for 'ingress_max_connections'" },
        { "shutdown_timeout_s = 3601\n", "bad value for 'shutdown_timeout_s'" },
        { "net_namespace = a/b\n", "bad value for 'net_namespace'" },
        { "net_namespace = 012345678901234567890123456789012\n", "bad value for 'net_namespace'" },
        { "net_uplink_if = sixteen-chars-xx\n", "bad value for 'net_uplink_if'" },
        { "net_uplink_if = a b\n", "bad value for 'net_uplink_if'" },
        { "net_uplink_cidr = 169.254.88.0/29\n", "bad value for 'net_uplink_cidr'" },
        { "net_uplink_cidr = 169.254.88.1/30\n", "bad value for 'net_uplink_cidr'" },
        { "net_sandbox_cidr = 10.88.0.0\n", "bad value for 'net_sandbox_cidr'" },
        { "net_sandbox_cidr = 10.88.0.0/25\n", "bad value for 'net_sandbox_cidr'" },
        { "net_sandbox_cidr = 10.88.1.0/16\n", "bad value for 'net_sandbox_cidr'" },
        { "net_sandbox_cidr = 10.88.0.0/16x\n", "bad value for 'net_sandbox_cidr'" },
        { "net_sandbox_cidr = 10.888.0.0/16\n", "bad value for 'net_sandbox_cidr'" },
        { "net_sandbox_cidr = ::/16\n", "bad value for 'net_sandbox_cidr'" },
        { "net_networks_cidr = 10.89.0.0/24\n", "bad value for 'net_networks_cidr'" },
        { "net_networks_cidr = 10.89.0.0/-1\n", "bad value for 'net_networks_cidr'" },
        { "dns_upstream = 1.2.3.4,1.2.3.5,1.2.3.6,1.2.3.7\n", "bad value for 'dns_upstream'" },
        { "dns_upstream = resolver.example\n", "bad value for 'dns_upstream'" },
        { "dns_upstream = ::1\n", "bad value for 'dns_upstream'" },
        { "region = \"local\n", "t.conf:1: unbalanced" },
        { "region = lo\"cal\"\n", "unbalanced" },
        { "LISTEN = 127.0.0.1:1\n", "unknown key 'LISTEN'" },
        { "region = \xff\xfe\n", "bad value for 'region'" },
        { "jail = yes\n", "bad value for 'jail'" },
        { "jail = \n", "bad value for 'jail'" },
        { "jail = ON\n", "bad value for 'jail'" },
        { "jail_uid_base = 999\n", "bad value for 'jail_uid_base'" },
        { "jail_uid_base = 0\n", "bad value for 'jail_uid_base'" },
        { "jail_uid_base = -200000\n", "bad value for 'jail_uid_base'" },
        { "jail_uid_base = 4000000001\n", "bad value for 'jail_uid_base'" },
        { "jail_uid_base = 99999999999999999999\n", "bad value for 'jail_uid_base'" },
        { "jail_uid_base = 2e5\n", "bad value for 'jail_uid_base'" },
        { "jail_uid_count = 0\n", "bad value for 'jail_uid_count'" },
        { "jail_uid_count = 16777217\n", "bad value for 'jail_uid_count'" },
        { "jail_uid_count = 0x100\n", "bad value for 'jail_uid_count'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hd_config c;
        char err[512] = "";
        int r = parse(cases[i].text, &c, err, sizeof(err));
        if (r != -EINVAL || !strstr(err, cases[i].want))
            harness_fail(__FILE__, __LINE__, "case %zu: r=%d err='%s'", i, r, err);
        CHECK_EQ(r, -EINVAL);
    }
}

TEST(nul_and_long_lines)
{
    struct hd_config c;
    char err[512];
    config_defaults(&c);
    const char nul[] = "region = lo\0cal\n";
    CHECK_EQ(config_parse(&c, nul, sizeof(nul) - 1, "t.conf", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "t.conf:1: NUL byte"));
    size_t n = CONFIG_MAX_LINE + 10;
    char *lng = malloc(n + 20);
    memcpy(lng, "\nregion = ", 10);
    memset(lng + 10, 'a', n);
    lng[n + 10] = '\n';
    CHECK_EQ(config_parse(&c, lng, n + 11, "t.conf", err, sizeof(err)), -EINVAL);
    free(lng);
    CHECK(strstr(err, "t.conf:2: line longer"));
    /* a long but legal value: truncated in the message, never overflowing */
    char val[1200];
    memset(val, 'a', sizeof(val));
    memcpy(val, "data_dir = /", 12);
    val[sizeof(val) - 1] = '\0';
    CHECK_EQ(config_parse(&c, val, strlen(val), "t.conf", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "too long"));
    /* every prefix of a valid file either parses or fails cleanly */
    const char *good = "listen = 127.0.0.1:8080\nregion = eu\nlog_level = warn\n";
    for (size_t k = 0; k <= strlen(good); k++) {
        config_defaults(&c);
        int r = config_parse(&c, good, k, "t.conf", err, sizeof(err));
        CHECK(r == 0 || r == -EINVAL);
    }
}

TEST(set_and_load)
{
    struct hd_config c;
    char err[512];
    config_defaults(&c);
    CHECK_EQ(config_set(&c, "listen", "0.0.0.0:1", err, sizeof(err)), 0);
    CHECK_STR(c.listen_host, "0.0.0.0");
    CHECK_EQ(config_set(&c, "nope", "1", err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "unknown key 'nope'"));
    CHECK_EQ(config_set(&c, "listen", "x", err, sizeof(err)), -EINVAL);
    CHECK_EQ(config_load(&c, "/nonexistent/h.conf", false, err, sizeof(err)), 0);
    CHECK_EQ(config_load(&c, "/nonexistent/h.conf", true, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "/nonexistent/h.conf"));
    CHECK_EQ(config_load(&c, "/tmp", true, err, sizeof(err)), -EINVAL);
    char path[] = "/tmp/hearth-conf-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *text = "region = r2\nbad line\n";
    CHECK_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    CHECK_EQ(config_load(&c, path, true, err, sizeof(err)), -EINVAL);
    char want[64];
    snprintf(want, sizeof(want), "%s:2:", path);
    CHECK(strstr(err, want));
    unlink(path);
}

/* network safety (issue 16): egress_private, dns_rate_*, the automatic uplink /30 */
TEST(network_safety_keys)
{
    struct hd_config c;
    char err[512];
    config_defaults(&c);
    CHECK(!c.egress_private_allow);
    CHECK_EQ(c.dns_rate_limit, 50);
    CHECK_EQ(c.dns_rate_burst, 200);
    CHECK_EQ(c.net_uplink_net, 0);
    CHECK_EQ(parse("egress_private = allow\ndns_rate_limit = 0\ndns_rate_burst = 1\n"
                   "net_uplink_cidr = \"\"\n", &c, err, sizeof(err)), 0);
    CHECK(c.egress_private_allow);
    CHECK_EQ(c.dns_rate_limit, 0);
    CHECK_EQ(c.dns_rate_burst, 1);
    CHECK_EQ(c.net_uplink_net, 0);
    CHECK_EQ(parse("egress_private = deny\n", &c, err, sizeof(err)), 0);
    CHECK(!c.egress_private_allow);
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "egress_private = Allow\n", "bad value for 'egress_private'" },
        { "egress_private = \n", "bad value for 'egress_private'" },
        { "egress_private = deny allow\n", "bad value for 'egress_private'" },
        { "dns_rate_limit = -1\n", "bad value for 'dns_rate_limit'" },
        { "dns_rate_limit = 100001\n", "bad value for 'dns_rate_limit'" },
        { "dns_rate_limit = 5qps\n", "bad value for 'dns_rate_limit'" },
        { "dns_rate_burst = 0\n", "bad value for 'dns_rate_burst'" },
        { "dns_rate_burst = 99999999999999999999\n", "bad value for 'dns_rate_burst'" },
        { "net_uplink_cidr = 0.0.0.0/30\n", "bad value for 'net_uplink_cidr'" },
        { "net_uplink_cidr = auto\n", "bad value for 'net_uplink_cidr'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r = parse(cases[i].text, &c, err, sizeof(err));
        if (r != -EINVAL || !strstr(err, cases[i].want))
            harness_fail(__FILE__, __LINE__, "case %zu: r=%d err='%s'", i, r, err);
    }
    /* the uplink /30: .0/30 of the pool for the default data dir, a stable one of the pool
     * for the others, the configured one as is */
    bool aut;
    config_defaults(&c);
    CHECK_EQ(config_net_uplink(&c, &aut), CONFIG_UPLINK_POOL);
    CHECK(aut);
    unsigned seen = 0;
    uint32_t first = 0;
    for (int i = 0; i < 64; i++) {
        snprintf(c.data_dir, sizeof(c.data_dir), "/tmp/hearth-%d", i);
        uint32_t u = config_net_uplink(&c, &aut);
        CHECK(aut);
        CHECK_EQ(u & 3, 0);
        CHECK_EQ(u & ~0x3ffu, CONFIG_UPLINK_POOL);
        CHECK_EQ(config_net_uplink(&c, &aut), u);
        if (i == 0)
            first = u;
        seen += u != first;
    }
    CHECK(seen > 50); /* data dirs spread over the pool */
    CHECK_EQ(parse("net_uplink_cidr = 169.254.90.4/30\n", &c, err, sizeof(err)), 0);
    CHECK_EQ(config_net_uplink(&c, &aut), 0xa9fe5a04u);
    CHECK(!aut);
}

/* The resource-safety block (docs/operations.md "Limits"): defaults, every key, and values
 * out of range, negative, fractional, with units or overflowing. */
TEST(resource_safety_keys)
{
    struct hd_config c;
    char err[512];
    config_defaults(&c);
    CHECK_EQ(c.max_networks, 16);
    CHECK_EQ(c.max_disks, 16);
    CHECK_EQ(c.max_templates, 16);
    CHECK_EQ(c.max_concurrent_builds, 2);
    CHECK_EQ(c.host_max_vms, 0);
    CHECK_EQ(c.host_mem_reserve_mib, 1024);
    CHECK_EQ(c.min_free_disk_mib, 2048);
    CHECK_EQ(c.min_free_disk_pct, 5);
    CHECK_EQ(c.console_log_max_bytes, 4194304);
    CHECK_EQ(c.max_open_files, 0);
    CHECK_EQ(c.http_stall_timeout_s, 60);
    const char *text = "max_sandboxes = 0\nmax_networks = 3\nmax_disks = 4\nmax_templates = 5\n"
                       "max_concurrent_builds = 1\nhost_max_vms = 7\nhost_mem_reserve_mib = 0\n"
                       "min_free_disk_mib = 0\nmin_free_disk_pct = 90\n"
                       "console_log_max_bytes = 65536\nmax_open_files = 256\n"
                       "http_stall_timeout_s = 1\n";
    int r = parse(text, &c, err, sizeof(err));
    if (r)
        harness_fail(__FILE__, __LINE__, "%s", err);
    CHECK_EQ(c.max_sandboxes, 0);
    CHECK_EQ(c.max_networks, 3);
    CHECK_EQ(c.max_disks, 4);
    CHECK_EQ(c.max_templates, 5);
    CHECK_EQ(c.max_concurrent_builds, 1);
    CHECK_EQ(c.host_max_vms, 7);
    CHECK_EQ(c.host_mem_reserve_mib, 0);
    CHECK_EQ(c.min_free_disk_mib, 0);
    CHECK_EQ(c.min_free_disk_pct, 90);
    CHECK_EQ(c.console_log_max_bytes, 65536);
    CHECK_EQ(c.max_open_files, 256);
    CHECK_EQ(c.http_stall_timeout_s, 1);
    static const char *const bad[] = {
        "max_networks = -1\n", "max_networks = 65537\n", "max_disks = 1.5\n",
        "max_templates = 1e3\n", "max_concurrent_builds = 1025\n", "host_max_vms = 100001\n",
        "host_max_vms = 0x10\n", "host_mem_reserve_mib = 1GiB\n", "min_free_disk_mib = \n",
        "min_free_disk_pct = 91\n", "min_free_disk_pct = 5%\n",
        "console_log_max_bytes = 65535\n", "console_log_max_bytes = 1073741825\n",
        "console_log_max_bytes = 99999999999999999999999\n", "max_open_files = 1048577\n",
        "http_stall_timeout_s = 0\n", "http_stall_timeout_s = 3601\n",
        "http_stall_timeout_s = +5\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)strcspn(bad[i], " "), bad[i]);
        char want[96];
        snprintf(want, sizeof(want), "bad value for '%s'", key);
        r = parse(bad[i], &c, err, sizeof(err));
        if (r != -EINVAL || !strstr(err, want))
            harness_fail(__FILE__, __LINE__, "case %zu: r=%d err='%s'", i, r, err);
    }
}

/* SSH gateway (issue 13; docs/ingress-ssh.md): defaults, good values, hostile ones. */
TEST(ssh_gateway_keys)
{
    struct hd_config c;
    char err[512];
    config_defaults(&c);
    CHECK(c.ssh_enabled);
    CHECK_STR(c.ssh_host, "127.0.0.1");
    CHECK_EQ(c.ssh_port, 2222);
    CHECK(!c.ssh_password_auth);
    CHECK_EQ(c.ssh_login_grace_s, 60);
    CHECK_EQ(c.ssh_max_unauth, 32);
    CHECK_EQ(c.ssh_max_sessions, 10);
    CHECK_EQ(parse("ssh_listen = [::1]:0\nssh_password_auth = on\nssh_login_grace_s = 1\n"
                   "ssh_max_unauth = 100000\nssh_max_sessions = 1\n", &c, err, sizeof(err)), 0);
    CHECK(c.ssh_enabled);
    CHECK_STR(c.ssh_host, "::1");
    CHECK_EQ(c.ssh_port, 0);
    CHECK(c.ssh_password_auth);
    CHECK_EQ(c.ssh_login_grace_s, 1);
    CHECK_EQ(c.ssh_max_unauth, 100000);
    CHECK_EQ(c.ssh_max_sessions, 1);
    CHECK_EQ(parse("ssh_listen = off\n", &c, err, sizeof(err)), 0);
    CHECK(!c.ssh_enabled);
    CHECK_EQ(parse("ssh_listen = \"\"\n", &c, err, sizeof(err)), 0);
    CHECK(!c.ssh_enabled);
    static const char *const bad[] = {
        "ssh_listen = 127.0.0.1\n", "ssh_listen = localhost:22\n", "ssh_listen = 1.2.3.4:65536\n",
        "ssh_listen = :22\n", "ssh_password_auth = yes please\n", "ssh_login_grace_s = 0\n",
        "ssh_login_grace_s = 3601\n", "ssh_max_unauth = 0\n", "ssh_max_sessions = 1001\n",
        "ssh_max_sessions = -1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(parse(bad[i], &c, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "bad value for 'ssh_") != NULL);
    }
}

TEST(store_key)
{
    struct hd_config c;
    char err[512];
    CHECK_EQ(parse("", &c, err, sizeof(err)), 0);
    CHECK_STR(c.store, ""); /* <data_dir>/hearth.db */
    CHECK_EQ(parse("store = sqlite:/srv/h/state.db\n", &c, err, sizeof(err)), 0);
    CHECK_STR(c.store, "sqlite:/srv/h/state.db");
    CHECK_EQ(parse("store = postgresql://h:pw@db:5432/hearth?sslmode=require\n", &c, err,
                   sizeof(err)), 0);
    CHECK_STR(c.store, "postgresql://h:pw@db:5432/hearth?sslmode=require");
    CHECK_EQ(parse("store = postgres:///hearth?host=/run/postgresql\n", &c, err, sizeof(err)), 0);
    static const char *const bad[] = {
        "store = mysql://h:hunter22@db/hearth\n", "store = sqlite:hunter22.db\n",
        "store = /abs/hunter22.db\n", "store = sqlite:\n",
        "store = postgresql://h:hunter22\x01@db/x\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(parse(bad[i], &c, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "store") != NULL);
        CHECK(strstr(err, "hunter22") == NULL); /* never echoed: it may hold a password */
    }
}

TEST(disk_keys)
{
    struct hd_config c;
    char err[512], path[1100];
    CHECK_EQ(parse("", &c, err, sizeof(err)), 0);
    CHECK(config_disk_key_file(&c, path, sizeof(path)));
    CHECK_STR(path, "/var/lib/hearth/disk.key");
    CHECK_EQ(c.n_disk_endpoint_allow, 0);
    CHECK_EQ(c.max_disks, 16);
    CHECK_EQ(parse("data_dir = /srv/h\ndisk_key_file = auto\n", &c, err, sizeof(err)), 0);
    CHECK(config_disk_key_file(&c, path, sizeof(path)));
    CHECK_STR(path, "/srv/h/disk.key");
    CHECK_EQ(parse("disk_key_file = /etc/hearth/disk.key\n", &c, err, sizeof(err)), 0);
    CHECK(config_disk_key_file(&c, path, sizeof(path)));
    CHECK_STR(path, "/etc/hearth/disk.key");
    CHECK_EQ(parse("disk_key_file = off\n", &c, err, sizeof(err)), 0);
    CHECK(!config_disk_key_file(&c, path, sizeof(path)));
    CHECK_EQ(parse("disk_key_file = \"\"\n", &c, err, sizeof(err)), 0);
    CHECK(!config_disk_key_file(&c, path, sizeof(path)));
    CHECK_EQ(parse("disk_key_file = relative/disk.key\n", &c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "t.conf:1") && strstr(err, "disk_key_file"));

    CHECK_EQ(parse("disk_endpoint_allow = 127.0.0.1/32, 10.88.7.0/24 fd00::/8,::1/128\n", &c,
                   err, sizeof(err)), 0);
    CHECK_EQ(c.n_disk_endpoint_allow, 4);
    CHECK_EQ(c.disk_endpoint_allow[0].prefix, 32);
    CHECK_EQ(c.disk_endpoint_allow[0].addr[0], 127);
    CHECK_EQ(c.disk_endpoint_allow[2].prefix, 8);
    CHECK_EQ(c.disk_endpoint_allow[2].addr[0], 0xfd);
    CHECK_EQ(c.disk_endpoint_allow[3].addr[15], 1);
    static const char *const bad[] = {
        "disk_endpoint_allow = 127.0.0.1\n",         /* no prefix */
        "disk_endpoint_allow = 127.0.0.1/33\n",
        "disk_endpoint_allow = 10.0.0.1/8\n",        /* host bits */
        "disk_endpoint_allow = ::1/129\n",
        "disk_endpoint_allow = fd00::1/8\n",
        "disk_endpoint_allow = host.example/32\n",
        "disk_endpoint_allow = 1.2.3.4/-1\n",
        "disk_endpoint_allow = /8\n",
        "disk_endpoint_allow = 1.0.0.0/8 1.0.0.0/8 1.0.0.0/8 1.0.0.0/8 1.0.0.0/8 1.0.0.0/8 "
        "1.0.0.0/8 1.0.0.0/8 1.0.0.0/8 1.0.0.0/8 1.0.0.0/8 1.0.0.0/8 1.0.0.0/8 1.0.0.0/8 "
        "1.0.0.0/8 1.0.0.0/8 1.0.0.0/8\n",            /* 17 */
        "disk_endpoint_allow = 1111111111111111111111111111111111111111111111111/8\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(bad[i], &c, err, sizeof(err)) != -EINVAL)
            harness_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
    CHECK_EQ(parse("disk_endpoint_allow = \"\"\n", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.n_disk_endpoint_allow, 0);
}

TEST(oci_keys)
{
    struct hd_config c;
    char err[256];
    CHECK_EQ(parse("", &c, err, sizeof(err)), 0);
    CHECK_STR(c.oci_registries, "");
    CHECK_STR(c.oci_auth_file, "");
    CHECK_EQ(c.oci_max_image_mib, 4096);
    CHECK_EQ(parse("oci_registries = \"reg.example.com, 127.0.0.1:5000 insecure\"\n"
                   "oci_auth_file = /etc/hearth/auth.json\noci_max_image_mib = 9216\n",
                   &c, err, sizeof(err)), 0);
    CHECK_STR(c.oci_registries, "reg.example.com, 127.0.0.1:5000 insecure");
    CHECK_STR(c.oci_auth_file, "/etc/hearth/auth.json");
    CHECK_EQ(c.oci_max_image_mib, 9216);
    static const char *const bad[] = {
        "oci_registries = http://reg.io\n", "oci_registries = reg.io,\n",
        "oci_registries = reg.io secure\n", "oci_registries = reg.io/x\n",
        "oci_registries = \"reg.io;id\"\n", "oci_auth_file = auth.json\n",
        "oci_max_image_mib = 15\n", "oci_max_image_mib = 9217\n", "oci_max_image_mib = -1\n",
        "oci_max_image_mib = 4k\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(bad[i], &c, err, sizeof(err)) != -EINVAL)
            harness_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
    CHECK_EQ(parse("oci_registries = reg.io:99999\n", &c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "oci_registries") && strstr(err, "t.conf:1"));
}

TEST(template_build_keys)
{
    struct hd_config c;
    char err[256];
    CHECK_EQ(parse("", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.template_build_timeout_s, 1800);
    CHECK_EQ(c.template_build_mem_mib, 1024);
    CHECK_EQ(c.template_build_vcpus, 1);
    CHECK_EQ(c.template_context_max_mib, 256);
    CHECK_EQ(parse("template_build_timeout_s = 60\ntemplate_build_mem_mib = 2048\n"
                   "template_build_vcpus = 2\ntemplate_context_max_mib = 1\n",
                   &c, err, sizeof(err)), 0);
    CHECK_EQ(c.template_build_timeout_s, 60);
    CHECK_EQ(c.template_build_mem_mib, 2048);
    CHECK_EQ(c.template_build_vcpus, 2);
    CHECK_EQ(c.template_context_max_mib, 1);
    static const char *const bad[] = {
        "template_build_timeout_s = 0\n", "template_build_timeout_s = 86401\n",
        "template_build_timeout_s = 1e3\n", "template_build_mem_mib = 255\n",
        "template_build_mem_mib = -1\n", "template_build_vcpus = 0\n",
        "template_build_vcpus = 65\n", "template_context_max_mib = 0\n",
        "template_context_max_mib = 16385\n", "template_context_max_mib = \"\"\n",
        "template_build_vcpus = 99999999999999999999\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(bad[i], &c, err, sizeof(err)) != -EINVAL)
            harness_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
}

TEST(rootfs_aliases)
{
    struct hd_config c;
    char err[512];
    CHECK_EQ(parse("", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.n_rootfs_aliases, 1);
    CHECK_STR(c.rootfs_aliases[0].alias, "nodeops/sandbox:debian");
    CHECK_STR(c.rootfs_aliases[0].target, "devbox:1");
    CHECK_EQ(parse("rootfs_aliases = a/b:1=node, ubuntu:22.04 = debian-12,x@sha256:ab=minimal\n",
                   &c, err, sizeof(err)), 0);
    CHECK_EQ(c.n_rootfs_aliases, 3);
    CHECK_STR(c.rootfs_aliases[0].alias, "a/b:1");
    CHECK_STR(c.rootfs_aliases[0].target, "node");
    CHECK_STR(c.rootfs_aliases[1].alias, "ubuntu:22.04");
    CHECK_STR(c.rootfs_aliases[1].target, "debian-12");
    CHECK_STR(c.rootfs_aliases[2].alias, "x@sha256:ab");
    /* "" (and spaces only) turns the default off */
    CHECK_EQ(parse("rootfs_aliases = \"\"\n", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.n_rootfs_aliases, 0);
    CHECK_EQ(parse("rootfs_aliases = \"   \"\n", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.n_rootfs_aliases, 0);
    /* 16 pairs fit, 17 do not */
    char many[2048] = "rootfs_aliases = ";
    for (int i = 0; i < 17; i++) {
        char one[32];
        snprintf(one, sizeof(one), "%sa%d=node", i ? "," : "", i);
        strcat(many, one);
        if (i == 15) {
            char sixteen[2100];
            snprintf(sixteen, sizeof(sixteen), "%s\n", many);
            CHECK_EQ(parse(sixteen, &c, err, sizeof(err)), 0);
            CHECK_EQ(c.n_rootfs_aliases, 16);
        }
    }
    strcat(many, "\n");
    CHECK_EQ(parse(many, &c, err, sizeof(err)), -EINVAL);
    /* a 127-character alias fits, 128 do not; a 63-character target fits, 64 do not */
    char line[512], name[200];
    memset(name, 'a', 127);
    name[127] = '\0';
    snprintf(line, sizeof(line), "rootfs_aliases = %s=node\n", name);
    CHECK_EQ(parse(line, &c, err, sizeof(err)), 0);
    name[127] = 'a';
    name[128] = '\0';
    snprintf(line, sizeof(line), "rootfs_aliases = %s=node\n", name);
    CHECK_EQ(parse(line, &c, err, sizeof(err)), -EINVAL);
    name[63] = '\0';
    snprintf(line, sizeof(line), "rootfs_aliases = x=%s\n", name);
    CHECK_EQ(parse(line, &c, err, sizeof(err)), 0);
    name[63] = 'a';
    name[64] = '\0';
    snprintf(line, sizeof(line), "rootfs_aliases = x=%s\n", name);
    CHECK_EQ(parse(line, &c, err, sizeof(err)), -EINVAL);
    static const char *const bad[] = {
        "rootfs_aliases = devbox:1\n",               /* no '=' */
        "rootfs_aliases = =devbox:1\n",              /* no alias */
        "rootfs_aliases = a=\n",                     /* no target */
        "rootfs_aliases = a==devbox:1\n",
        "rootfs_aliases = a=b=c\n",
        "rootfs_aliases = a=node,\n",                /* empty pair */
        "rootfs_aliases = ,a=node\n",
        "rootfs_aliases = a=node,,b=node\n",
        "rootfs_aliases = a=node,a=minimal\n",       /* alias twice */
        "rootfs_aliases = -a=node\n",                /* must start with a letter or digit */
        "rootfs_aliases = .a=node\n",
        "rootfs_aliases = /a=node\n",
        "rootfs_aliases = a b=node\n",               /* space inside */
        "rootfs_aliases = a\tb=node\n",
        "rootfs_aliases = a;rm -rf /=node\n",
        "rootfs_aliases = $(id)=node\n",
        "rootfs_aliases = a=node;x\n",
        "rootfs_aliases = a=../../etc/passwd\n",     /* '.' is allowed but not first */
        "rootfs_aliases = \xc3\xa9=node\n",          /* non-ASCII */
        "rootfs_aliases = a=\x01node\n",
        "rootfs_aliases = a=node\"\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &c, err, sizeof(err)) != -EINVAL)
            harness_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
        else
            CHECK(strstr(err, "rootfs_aliases") != NULL);
    }
    CHECK(config_alias_name_ok("devbox:1", 64));
    CHECK(!config_alias_name_ok("", 64));
    CHECK(!config_alias_name_ok("abcd", 4));
}

TEST(warm_pool_keys)
{
    struct hd_config c;
    char err[512];
    CHECK_EQ(parse("", &c, err, sizeof(err)), 0);
    CHECK_STR(c.warm_pool, "");
    CHECK_EQ(c.warm_pool_min_free_mib, 1024);
    CHECK_EQ(parse("warm_pool = \"minimal/s-1vcpu-256mb=2 devbox:1/s-1vcpu-1gb/4096=1\"\n"
                   "warm_pool_min_free_mib = 0\n",
                   &c, err, sizeof(err)), 0);
    CHECK_STR(c.warm_pool, "minimal/s-1vcpu-256mb=2 devbox:1/s-1vcpu-1gb/4096=1");
    CHECK_EQ(c.warm_pool_min_free_mib, 0);
    CHECK_EQ(parse("warm_pool = \"minimal:s-1vcpu-256mb=2\"\n", &c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "t.conf:1") && strstr(err, "ROOTFS/SHAPE"));
    CHECK_EQ(parse("warm_pool_min_free_mib = -1\n", &c, err, sizeof(err)), -EINVAL);
}

/* snapshots on S3 (docs/operations.md): off by default; the keys, their checks, and the
 * cross-key check that a store named s3 is complete */
TEST(config_snapshot_store)
{
    struct hd_config c;
    char err[256];
    config_defaults(&c);
    CHECK(!c.snapshot_store_s3);
    CHECK(c.snapshot_s3_path_style);
    CHECK_EQ(c.snapshot_cache_mib, 10240);
    CHECK_EQ(c.snapshot_upload_concurrency, 2);
    CHECK_EQ(config_check_snapshot_store(&c, err, sizeof(err)), 0);
    static const struct { const char *key, *value; int ret; } cases[] = {
        { "snapshot_store", "s3", 0 }, { "snapshot_store", "local", 0 },
        { "snapshot_store", "S3", -EINVAL }, { "snapshot_store", "gcs", -EINVAL },
        { "snapshot_s3_endpoint", "http://127.0.0.1:9000", 0 },
        { "snapshot_s3_endpoint", "https://s3.eu-west-1.amazonaws.com", 0 },
        { "snapshot_s3_endpoint", "ftp://x", -EINVAL },
        { "snapshot_s3_endpoint", "http://u:p@host", -EINVAL },
        { "snapshot_s3_bucket", "hearth-snaps", 0 }, { "snapshot_s3_bucket", "ab", -EINVAL },
        { "snapshot_s3_bucket", "Upper", -EINVAL }, { "snapshot_s3_bucket", "-x-y", -EINVAL },
        { "snapshot_s3_region", "eu-west-1", 0 }, { "snapshot_s3_region", "a b", -EINVAL },
        { "snapshot_s3_access_key", "AKIA1234", 0 },
        { "snapshot_s3_access_key", "x\x01y", -EINVAL },
        { "snapshot_s3_secret_key_file", "/etc/hearth/s3.secret", 0 },
        { "snapshot_s3_secret_key_file", "relative", -EINVAL },
        { "snapshot_s3_path_style", "off", 0 }, { "snapshot_s3_path_style", "maybe", -EINVAL },
        { "snapshot_cache_mib", "0", 0 }, { "snapshot_cache_mib", "-1", -EINVAL },
        { "snapshot_upload_concurrency", "0", -EINVAL },
        { "snapshot_upload_concurrency", "65", -EINVAL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        config_defaults(&c);
        int r = config_set(&c, cases[i].key, cases[i].value, err, sizeof(err));
        if (r != cases[i].ret)
            harness_fail(__FILE__, __LINE__, "%s = %s: %d, want %d (%s)", cases[i].key,
                         cases[i].value, r, cases[i].ret, err);
    }
    config_defaults(&c);
    CHECK_EQ(config_set(&c, "snapshot_store", "s3", err, sizeof(err)), 0);
    CHECK_EQ(config_check_snapshot_store(&c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "snapshot_s3_endpoint") != NULL);
    CHECK_EQ(config_set(&c, "snapshot_s3_endpoint", "http://127.0.0.1:9000", err, sizeof(err)), 0);
    CHECK_EQ(config_set(&c, "snapshot_s3_bucket", "snaps", err, sizeof(err)), 0);
    CHECK_EQ(config_set(&c, "snapshot_s3_access_key", "k", err, sizeof(err)), 0);
    CHECK_EQ(config_check_snapshot_store(&c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "snapshot_s3_secret_key_file") != NULL);
    CHECK_EQ(config_set(&c, "snapshot_s3_secret_key_file", "/k", err, sizeof(err)), 0);
    CHECK_EQ(config_check_snapshot_store(&c, err, sizeof(err)), 0);
}
