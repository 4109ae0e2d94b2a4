/* SPDX-License-Identifier: MIT */
/* config.c: the hearthd config file and its keys (config.h). One table maps each key to its
 * setter; the defaults live in config_defaults(). Input is hostile (a typo'd or truncated file
 * must fail with the line named, never be half-understood), so values are parsed strictly. */
#include "daemon/config.h"
#include "common/parse.h"
#include "common/labels.h"
#include "daemon/disk/endpoint.h"
#include "daemon/pool_spec.h"
#include "daemon/tpl/oci_ref.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void config_defaults(struct hd_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
    cfg->listen_port = 8080;
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "/var/lib/hearth");
    snprintf(cfg->region, sizeof(cfg->region), "local");
    snprintf(cfg->accel, sizeof(cfg->accel), "auto");
    snprintf(cfg->cgroup_root, sizeof(cfg->cgroup_root), "/sys/fs/cgroup/hearth");
    cfg->metrics_enabled = true;
    snprintf(cfg->metrics_host, sizeof(cfg->metrics_host), "127.0.0.1");
    cfg->metrics_port = 9464;
    cfg->console = true;
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->golden = true;
    cfg->snapshot_s3_path_style = true;
    cfg->snapshot_cache_mib = 10240;
    cfg->snapshot_upload_concurrency = 2;
    cfg->max_disk_mib = 262144;
    cfg->bandwidth_quota_bytes = 5368709120LL;
    cfg->retention_hours = 168;
    cfg->shutdown_timeout_s = 10;
    cfg->net_uplink_net = 0;             /* automatic: config_net_uplink() */
    cfg->net_sandbox_net = 0x0a580000u;  /* 10.88.0.0/16 */
    cfg->net_sandbox_prefix = 16;
    cfg->net_networks_net = 0x0a590000u; /* 10.89.0.0/16 */
    cfg->net_networks_prefix = 16;
    /* network safety (issue 16) */
    cfg->egress_private_allow = false;
    cfg->dns_rate_limit = 50;
    cfg->dns_rate_burst = 200;
    /* resource safety (issue 16 part 2) */
    cfg->max_sandboxes = 32;
    cfg->max_networks = 16;
    cfg->max_disks = 16;
    cfg->max_templates = 16;
    cfg->lifecycle_hold_ms = 250;
    snprintf(cfg->role, sizeof(cfg->role), "all");
    cfg->host_heartbeat_s = 5;
    cfg->host_dead_after_s = 30;
    cfg->max_concurrent_builds = 2;
    cfg->host_max_vms = 0;
    cfg->host_mem_reserve_mib = 1024;
    cfg->warm_pool_min_free_mib = 1024;
    cfg->min_free_disk_mib = 2048;
    cfg->min_free_disk_pct = 5;
    cfg->console_log_max_bytes = 4 << 20;
    cfg->max_open_files = 0;
    cfg->http_stall_timeout_s = 60;
    /* confinement of QEMU */
    cfg->jail = true;
    cfg->jail_uid_base = 200000;
    cfg->jail_uid_count = 65536;
    cfg->vm_io_bps = 256ll << 20;
    cfg->vm_io_iops = 8192;
    /* managed processes (issue 12) */
    cfg->process_output_bytes = 8u << 20;
    /* S3 disk mounts (issue 15) */
    cfg->disk_mount_check_seconds = 30;
    /* ingress proxy (issue 13): *.localhost resolves to loopback, so one `make` is enough; two
     * labels, since TLS clients refuse a wildcard right under a one-label name */
    snprintf(cfg->ingress_domain, sizeof(cfg->ingress_domain), "sb.localhost");
    snprintf(cfg->ingress_scheme, sizeof(cfg->ingress_scheme), "http");
    cfg->ingress_https_enabled = false;
    cfg->ingress_http_enabled = true;
    snprintf(cfg->ingress_http_host, sizeof(cfg->ingress_http_host), "127.0.0.1");
    cfg->ingress_http_port = 8081;
    cfg->ingress_private = false;
    cfg->ingress_public_port = 0;
    cfg->ingress_header_timeout_s = 10;
    cfg->ingress_idle_timeout_s = 60;
    cfg->ingress_upstream_timeout_s = 60;
    cfg->ingress_max_connections = 4096;
    /* SSH gateway (issue 13) */
    cfg->ssh_enabled = true;
    snprintf(cfg->ssh_host, sizeof(cfg->ssh_host), "127.0.0.1");
    cfg->ssh_port = 2222;
    cfg->ssh_password_auth = false;
    cfg->ssh_login_grace_s = 60;
    cfg->ssh_max_unauth = 32;
    cfg->ssh_max_sessions = 10;
    /* S3 disks (issue 15): disk_key_file = auto, disk_endpoint_allow = "" (the memset) */
    /* OCI bases (issue 14): oci_registries and oci_auth_file "" (the memset) */
    cfg->oci_max_image_mib = 4096;
    /* template builds (issue 14; docs/templates.md "How a build runs") */
    cfg->template_build_timeout_s = 1800;
    cfg->template_build_mem_mib = 1024;
    cfg->template_build_vcpus = 1;
    cfg->template_context_max_mib = 256;
    /* catalog aliases (issue 14): Dockerfiles written for CreateOS's base run on devbox:1 */
    snprintf(cfg->rootfs_aliases[0].alias, sizeof(cfg->rootfs_aliases[0].alias), "%s",
             "nodeops/sandbox:debian");
    snprintf(cfg->rootfs_aliases[0].target, sizeof(cfg->rootfs_aliases[0].target), "%s",
             "devbox:1");
    cfg->n_rootfs_aliases = 1;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *reterr, size_t reterr_len, const char *fmt, ...)
{
    if (reterr && reterr_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reterr, reterr_len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

int config_parse_hostport(const char *s, char host[CONFIG_HOST_SIZE], uint16_t *ret_port)
{
    const char *colon;
    char h[CONFIG_HOST_SIZE];
    size_t hl;
    if (!s)
        return -EINVAL;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -EINVAL;
        hl = (size_t)(close - s - 1);
        if (hl == 0 || hl >= sizeof(h))
            return -EINVAL;
        memcpy(h, s + 1, hl);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -EINVAL;
        hl = (size_t)(colon - s);
        if (hl == 0 || hl >= sizeof(h))
            return -EINVAL;
        memcpy(h, s, hl);
    }
    h[hl] = '\0';
    unsigned char addr[16];
    bool v6 = strchr(h, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, h, addr) != 1)
        return -EINVAL;
    if (v6 && s[0] != '[')
        return -EINVAL;
    uint64_t port;
    if (parse_u64(colon + 1, 0, 65535, &port) < 0)
        return -EINVAL;
    memcpy(host, h, hl + 1);
    *ret_port = (uint16_t)port;
    return 0;
}

static int copy_str(char *dst, size_t size, const char *v)
{
    size_t n = strlen(v);
    if (n >= size)
        return -ENAMETOOLONG;
    memcpy(dst, v, n + 1);
    return 0;
}

/* A name: 1..63 of [A-Za-z0-9._-], starting with a letter or digit. */
static bool name_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= CONFIG_NAME_SIZE)
        return false;
    return ascii_alnum(v[0]) && ascii_word(v + 1, n - 1, "-_.");
}

static bool domain_ok(const char *v)
{
    size_t n = strlen(v);
    if (n >= CONFIG_DOMAIN_SIZE || !ascii_word(v, n, "-."))
        return false;
    return n == 0 || (v[0] != '.' && v[0] != '-' && v[n - 1] != '.');
}

typedef int (*config_setter)(struct hd_config *cfg, const char *v, const char **why);

static int set_listen(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected HOST:PORT with a numeric address, e.g. 127.0.0.1:8080 or [::1]:8080";
    return config_parse_hostport(v, cfg->listen_host, &cfg->listen_port);
}

/* An optional listener: HOST:PORT, or "" / off for none. */
static int set_listen_opt(bool *on, char *host, uint16_t *port, const char *v, const char **why)
{
    *why = "expected HOST:PORT with a numeric address, or \"\" / off to disable";
    if (v[0] == '\0' || strcmp(v, "off") == 0) {
        *on = false;
        return 0;
    }
    int r = config_parse_hostport(v, host, port);
    if (r == 0)
        *on = true;
    return r;
}

static int set_metrics_listen(struct hd_config *cfg, const char *v, const char **why)
{
    return set_listen_opt(&cfg->metrics_enabled, cfg->metrics_host, &cfg->metrics_port, v, why);
}

static int set_path(char *dst, const char *v, const char **why, bool empty_ok)
{
    *why = "expected an absolute path";
    if (v[0] == '\0' && empty_ok) {
        dst[0] = '\0';
        return 0;
    }
    if (v[0] != '/')
        return -EINVAL;
    *why = "path too long";
    return copy_str(dst, CONFIG_PATH_SIZE, v);
}

static int set_data_dir(struct hd_config *cfg, const char *v, const char **why)
{
    return set_path(cfg->data_dir, v, why, false);
}

/* "" (SQLite in data_dir), sqlite:/ABS/PATH, or a postgres:// / postgresql:// URI (libpq's
 * syntax, checked when the store opens). Never echoed back: a URI may hold a password. */
static int set_store(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected \"\", sqlite:/absolute/path or postgresql://...";
    if (v[0] == '\0') {
        cfg->store[0] = '\0';
        return 0;
    }
    bool pg = strncmp(v, "postgres://", 11) == 0 || strncmp(v, "postgresql://", 13) == 0;
    if (!pg && !(strncmp(v, "sqlite:/", 8) == 0 && v[8] != '\0'))
        return -EINVAL;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return -EINVAL;
    *why = "store location too long";
    return copy_str(cfg->store, CONFIG_PATH_SIZE, v);
}

static int set_images_dir(struct hd_config *cfg, const char *v, const char **why)
{
    return set_path(cfg->images_dir, v, why, true);
}

static int set_cgroup_root(struct hd_config *cfg, const char *v, const char **why)
{
    if (strcmp(v, "off") == 0)
        v = "";
    int r = set_path(cfg->cgroup_root, v, why, true);
    *why = "expected an absolute path without '.' or '..' segments, or \"\" / off";
    if (r == 0 && (strstr(v, "/../") || strstr(v, "/./") || strstr(v, "//") ||
                   (v[0] && v[strlen(v) - 1] == '/')))
        r = -EINVAL;
    return r;
}

static int set_region(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected 1-63 characters of [A-Za-z0-9._-]";
    return name_ok(v) ? copy_str(cfg->region, sizeof(cfg->region), v) : -EINVAL;
}

static int set_host_id(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected 1-63 characters of [A-Za-z0-9._-], or \"\" for the hostname";
    if (v[0] == '\0') {
        cfg->host_id[0] = '\0';
        return 0;
    }
    return name_ok(v) ? copy_str(cfg->host_id, sizeof(cfg->host_id), v) : -EINVAL;
}

static int set_role(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected all, control or host";
    if (strcmp(v, "all") && strcmp(v, "control") && strcmp(v, "host"))
        return -EINVAL;
    return copy_str(cfg->role, sizeof(cfg->role), v);
}

static int set_host_labels(struct hd_config *cfg, const char *v, const char **why)
{
    int r = labels_canonical(v, cfg->host_labels, sizeof(cfg->host_labels), why);
    if (r == -ENAMETOOLONG)
        *why = "labels too long (at most 1023 bytes)";
    return r < 0 ? -EINVAL : 0;
}

static int set_host_address(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected HOST:PORT (at most 127 bytes, no spaces), or \"\"";
    if (v[0] == '\0') {
        cfg->host_address[0] = '\0';
        return 0;
    }
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || !colon[1] || strpbrk(v, " \t/"))
        return -EINVAL;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return -EINVAL;
    long port = strtol(colon + 1, NULL, 10);
    if (port < 1 || port > 65535)
        return -EINVAL;
    return copy_str(cfg->host_address, sizeof(cfg->host_address), v);
}

static int set_accel(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected auto, kvm or tcg";
    if (strcmp(v, "auto") && strcmp(v, "kvm") && strcmp(v, "tcg"))
        return -EINVAL;
    return copy_str(cfg->accel, sizeof(cfg->accel), v);
}

static int set_log_level(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected debug, info, warn or error";
    return log_level_from_string(v, &cfg->log_level);
}

/* on / true, off / false into *dst. */
static int set_on_off(bool *dst, const char *v, const char **why)
{
    *why = "expected on or off";
    if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0)
        *dst = true;
    else if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0)
        *dst = false;
    else
        return -EINVAL;
    return 0;
}

static int set_golden(struct hd_config *cfg, const char *v, const char **why)
{
    return set_on_off(&cfg->golden, v, why);
}

/* warm pools (docs/performance.md "Warm pools"): the syntax here, the names at start */
static int set_warm_pool(struct hd_config *cfg, const char *v, const char **why)
{
    static char reason[256];
    struct pool_spec specs[POOL_SPEC_MAX];
    size_t n;
    int r = pool_spec_parse(v, specs, &n, reason, sizeof(reason));
    *why = reason;
    return r < 0 ? r : copy_str(cfg->warm_pool, sizeof(cfg->warm_pool), v);
}

/* the web console (docs/console.md) */
static int set_console(struct hd_config *cfg, const char *v, const char **why)
{
    return set_on_off(&cfg->console, v, why);
}

/* confinement of QEMU (docs/security.md) */
static int set_jail(struct hd_config *cfg, const char *v, const char **why)
{
    return set_on_off(&cfg->jail, v, why);
}

/* SSH gateway (issue 13; docs/ingress-ssh.md) */
static int set_ssh_listen(struct hd_config *cfg, const char *v, const char **why)
{
    return set_listen_opt(&cfg->ssh_enabled, cfg->ssh_host, &cfg->ssh_port, v, why);
}

static int set_ssh_password_auth(struct hd_config *cfg, const char *v, const char **why)
{
    return set_on_off(&cfg->ssh_password_auth, v, why);
}

static int set_bw_quota(struct hd_config *cfg, const char *v, const char **why)
{
    uint64_t n;
    *why = "expected -1 (unmetered) or an integer from 1 to 2^50 (bytes)";
    if (strcmp(v, "-1") == 0) {
        cfg->bandwidth_quota_bytes = -1;
        return 0;
    }
    int r = parse_u64(v, 1, 1ull << 50, &n);
    if (r == 0)
        cfg->bandwidth_quota_bytes = (int64_t)n;
    return r;
}

static int set_ingress_domain(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected a domain name such as sandbox.example.com, or \"\"";
    return domain_ok(v) ? copy_str(cfg->ingress_domain, sizeof(cfg->ingress_domain), v)
                        : -EINVAL;
}

static int set_ingress_scheme(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected https or http";
    if (strcmp(v, "https") && strcmp(v, "http"))
        return -EINVAL;
    return copy_str(cfg->ingress_scheme, sizeof(cfg->ingress_scheme), v);
}

/* ingress proxy (issue 13) */
static int set_ingress_listen(struct hd_config *cfg, const char *v, const char **why)
{
    return set_listen_opt(&cfg->ingress_https_enabled, cfg->ingress_https_host,
                          &cfg->ingress_https_port, v, why);
}

static int set_ingress_http_listen(struct hd_config *cfg, const char *v, const char **why)
{
    return set_listen_opt(&cfg->ingress_http_enabled, cfg->ingress_http_host,
                          &cfg->ingress_http_port, v, why);
}

static int set_host_listen(struct hd_config *cfg, const char *v, const char **why)
{
    return set_listen_opt(&cfg->host_listen_enabled, cfg->host_listen_host,
                          &cfg->host_listen_port, v, why);
}

static int set_host_tls_ca(struct hd_config *cfg, const char *v, const char **why)
{
    return set_path(cfg->host_tls_ca, v, why, true);
}

static int set_host_tls_cert(struct hd_config *cfg, const char *v, const char **why)
{
    return set_path(cfg->host_tls_cert, v, why, true);
}

static int set_host_tls_key(struct hd_config *cfg, const char *v, const char **why)
{
    return set_path(cfg->host_tls_key, v, why, true);
}

static int set_ingress_tls_cert(struct hd_config *cfg, const char *v, const char **why)
{
    return set_path(cfg->ingress_tls_cert, v, why, true);
}

static int set_ingress_tls_key(struct hd_config *cfg, const char *v, const char **why)
{
    return set_path(cfg->ingress_tls_key, v, why, true);
}

/* OCI bases (issue 14; docs/templates.md "OCI bases"): the list is parsed by the import's
 * own parser, so what loads is exactly what the import allows */
static int set_oci_registries(struct hd_config *cfg, const char *v, const char **why)
{
    struct tpl_oci_config *c = calloc(1, sizeof(*c));
    if (!c)
        return *why = "out of memory", -ENOMEM;
    int r = tpl_oci_registries_parse(v, c, why);
    free(c);
    if (r < 0)
        return r;
    *why = "longer than 2047 bytes";
    return copy_str(cfg->oci_registries, sizeof(cfg->oci_registries), v);
}

static int set_oci_auth_file(struct hd_config *cfg, const char *v, const char **why)
{
    return set_path(cfg->oci_auth_file, v, why, true);
}

static int set_ingress_private(struct hd_config *cfg, const char *v, const char **why)
{
    return set_on_off(&cfg->ingress_private, v, why);
}

/* "a.b.c.d/p" with host bits clear and min_p <= p <= max_p. */
static int parse_cidr(const char *v, unsigned min_p, unsigned max_p, uint32_t *net,
                      unsigned *prefix)
{
    char a[32];
    const char *slash = strchr(v, '/');
    if (!slash || (size_t)(slash - v) >= sizeof(a))
        return -EINVAL;
    memcpy(a, v, (size_t)(slash - v));
    a[slash - v] = '\0';
    struct in_addr in;
    uint64_t p;
    if (inet_pton(AF_INET, a, &in) != 1 || parse_u64(slash + 1, min_p, max_p, &p) < 0)
        return -EINVAL;
    uint32_t n = ntohl(in.s_addr), mask = p ? ~0u << (32 - p) : 0;
    if (n & ~mask)
        return -EINVAL;
    *net = n;
    *prefix = (unsigned)p;
    return 0;
}

/* A kernel object name of at most max characters of [A-Za-z0-9_-] ("" too) into dst. */
static int set_kernel_name(char *dst, size_t size, size_t max, const char *v)
{
    size_t n = strlen(v);
    if (n > max || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n)
        return -EINVAL;
    return copy_str(dst, size, v);
}

static int set_net_namespace(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected 1-32 characters of [A-Za-z0-9_-], or \"\" (derived)";
    return set_kernel_name(cfg->net_namespace, sizeof(cfg->net_namespace), 32, v);
}

static int set_net_uplink_if(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected 1-15 characters of [A-Za-z0-9_-], or \"\" (derived)";
    return set_kernel_name(cfg->net_uplink_if, sizeof(cfg->net_uplink_if), 15, v);
}

static int set_net_uplink_cidr(struct hd_config *cfg, const char *v, const char **why)
{
    unsigned p;
    *why = "expected an IPv4 /30 such as 169.254.88.0/30, or \"\" (automatic)";
    if (!*v) {
        cfg->net_uplink_net = 0;
        return 0;
    }
    uint32_t net;
    int r = parse_cidr(v, 30, 30, &net, &p);
    if (r == 0 && net == 0)
        r = -EINVAL; /* 0 means automatic */
    if (r == 0)
        cfg->net_uplink_net = net;
    return r;
}

static int set_net_sandbox_cidr(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected an IPv4 block of /8 to /24 such as 10.88.0.0/16";
    return parse_cidr(v, 8, 24, &cfg->net_sandbox_net, &cfg->net_sandbox_prefix);
}

static int set_net_networks_cidr(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected an IPv4 block of /8 to /23 such as 10.89.0.0/16";
    return parse_cidr(v, 8, 23, &cfg->net_networks_net, &cfg->net_networks_prefix);
}

static int set_dns_upstream(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected up to 3 IPv4 addresses separated by commas, or \"\" (/etc/resolv.conf)";
    uint32_t ups[3];
    size_t n = 0;
    char buf[128];
    if (strlen(v) >= sizeof(buf))
        return -EINVAL;
    snprintf(buf, sizeof(buf), "%s", v);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        struct in_addr in;
        if (n == 3 || inet_pton(AF_INET, t, &in) != 1)
            return -EINVAL;
        ups[n++] = ntohl(in.s_addr);
    }
    memcpy(cfg->dns_upstreams, ups, n * sizeof(ups[0]));
    cfg->n_dns_upstreams = n;
    return 0;
}

/* network safety (issue 16) */
static int set_egress_private(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected deny or allow";
    if (strcmp(v, "deny") && strcmp(v, "allow"))
        return -EINVAL;
    cfg->egress_private_allow = strcmp(v, "allow") == 0;
    return 0;
}

/* ---- S3 disks (issue 15; docs/disks.md) ---- */

static int set_disk_key_file(struct hd_config *cfg, const char *v, const char **why)
{
    cfg->disks_off = false;
    cfg->disk_key_file[0] = '\0';
    if (strcmp(v, "auto") == 0)
        return 0;
    if (v[0] == '\0' || strcmp(v, "off") == 0) {
        cfg->disks_off = true;
        return 0;
    }
    int r = set_path(cfg->disk_key_file, v, why, false);
    *why = "expected auto, off, \"\" or an absolute path";
    return r;
}

int config_parse_cidr(const char *v, struct config_cidr *ret)
{
    char a[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(v, '/');
    if (!slash || slash == v || (size_t)(slash - v) >= sizeof(a))
        return -EINVAL;
    memcpy(a, v, (size_t)(slash - v));
    a[slash - v] = '\0';
    struct config_cidr c = { 0 };
    uint64_t p;
    if (inet_pton(AF_INET, a, c.addr) == 1)
        c.family = AF_INET;
    else if (inet_pton(AF_INET6, a, c.addr) == 1)
        c.family = AF_INET6;
    else
        return -EINVAL;
    unsigned bits = c.family == AF_INET ? 32 : 128;
    if (parse_u64(slash + 1, 0, bits, &p) < 0)
        return -EINVAL;
    for (unsigned i = (unsigned)p; i < bits; i++)
        if (c.addr[i / 8] & (0x80u >> (i % 8)))
            return -EINVAL; /* host bits set: a typo more often than intent */
    c.prefix = (unsigned)p;
    *ret = c;
    return 0;
}

/* A comma- or space-separated list of CIDR blocks ("" = none). */
static int set_disk_endpoint_allow(struct hd_config *cfg, const char *v, const char **why)
{
    struct config_cidr list[CONFIG_MAX_ALLOW];
    size_t n = 0;
    *why = "expected CIDR blocks (10.0.0.0/8, fd00::/8) separated by commas, at most 16, with "
           "host bits clear";
    for (const char *p = v; *p;) {
        size_t skip = strspn(p, ", ");
        p += skip;
        size_t len = strcspn(p, ", ");
        if (len == 0)
            break;
        char one[INET6_ADDRSTRLEN + 8];
        if (len >= sizeof(one) || n == CONFIG_MAX_ALLOW)
            return -EINVAL;
        memcpy(one, p, len);
        one[len] = '\0';
        if (config_parse_cidr(one, &list[n]) < 0)
            return -EINVAL;
        n++;
        p += len;
    }
    memset(cfg->disk_endpoint_allow, 0, sizeof(cfg->disk_endpoint_allow));
    memcpy(cfg->disk_endpoint_allow, list, n * sizeof(list[0]));
    cfg->n_disk_endpoint_allow = n;
    return 0;
}

/* ---- catalog aliases (issue 14; docs/templates.md "The catalog") ---- */

bool config_alias_name_ok(const char *s, size_t len)
{
    size_t n = strlen(s);
    if (n == 0 || n >= len || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
                                (s[0] >= '0' && s[0] <= '9')))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:@-") == n;
}

/* Copies the n bytes at p, spaces around them dropped, into out (size bytes); false when they
 * do not fit. */
static bool copy_trimmed(char *out, size_t size, const char *p, size_t n)
{
    while (n && p[0] == ' ')
        p++, n--;
    while (n && p[n - 1] == ' ')
        n--;
    if (n >= size)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* "alias=catalog-name" pairs separated by commas ("" = none). Syntax only here; the targets
 * are checked against the catalog at load (cmd_config_load). */
static int set_rootfs_aliases(struct hd_config *cfg, const char *v, const char **why)
{
    struct config_alias list[CONFIG_MAX_ALIASES];
    memset(list, 0, sizeof(list)); /* whole arrays compare equal to the defaults' */
    size_t n = 0;
    *why = "expected alias=catalog-name pairs separated by commas, at most 16, each name of "
           "letters, digits and ._/:@- (an alias up to 127 characters, a name up to 63), no "
           "alias twice";
    for (const char *p = v;;) {
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        bool blank = strspn(p, " ") >= len;
        if (blank && p[len] == '\0' && n == 0)
            break; /* "" or only spaces: no aliases */
        if (blank || !eq || n == CONFIG_MAX_ALIASES)
            return -EINVAL;
        struct config_alias *a = &list[n];
        if (!copy_trimmed(a->alias, sizeof(a->alias), p, (size_t)(eq - p)) ||
            !copy_trimmed(a->target, sizeof(a->target), eq + 1, len - (size_t)(eq - p) - 1) ||
            !config_alias_name_ok(a->alias, sizeof(a->alias)) ||
            !config_alias_name_ok(a->target, sizeof(a->target)))
            return -EINVAL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(list[i].alias, a->alias) == 0)
                return -EINVAL;
        n++;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    memset(cfg->rootfs_aliases, 0, sizeof(cfg->rootfs_aliases));
    memcpy(cfg->rootfs_aliases, list, n * sizeof(list[0]));
    cfg->n_rootfs_aliases = n;
    return 0;
}

/* ---- snapshots on S3 (docs/snapshots.md "Snapshots on S3") ---- */

static int set_snapshot_store(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected local or s3";
    if (strcmp(v, "local") == 0 || v[0] == '\0')
        cfg->snapshot_store_s3 = false;
    else if (strcmp(v, "s3") == 0)
        cfg->snapshot_store_s3 = true;
    else
        return -EINVAL;
    return 0;
}

static int set_snapshot_s3_endpoint(struct hd_config *cfg, const char *v, const char **why)
{
    struct disk_endpoint ep;
    if (v[0] && disk_endpoint_parse(v, &ep, why) < 0)
        return -EINVAL;
    *why = "too long";
    return copy_str(cfg->snapshot_s3_endpoint, sizeof(cfg->snapshot_s3_endpoint), v);
}

/* A bucket name as S3 allows it: 3-63 of [a-z0-9.-], starting and ending alphanumeric. */
static int set_snapshot_s3_bucket(struct hd_config *cfg, const char *v, const char **why)
{
    *why = "expected an S3 bucket name (3-63 of a-z, 0-9, '.', '-')";
    size_t n = strlen(v);
    if (n && (n < 3 || n > 63 || v[0] == '.' || v[0] == '-' || v[n - 1] == '.' ||
              v[n - 1] == '-' || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n))
        return -EINVAL;
    return copy_str(cfg->snapshot_s3_bucket, sizeof(cfg->snapshot_s3_bucket), v);
}

/* Region and access key: printable, no space (they go into a signature and a header). */
static int set_token(char *dst, size_t size, const char *v, const char **why)
{
    *why = "expected printable characters without spaces";
    for (const char *c = v; *c; c++)
        if (*c <= ' ' || *c == 0x7f)
            return -EINVAL;
    *why = "too long";
    return copy_str(dst, size, v);
}

static int set_snapshot_s3_region(struct hd_config *cfg, const char *v, const char **why)
{
    return set_token(cfg->snapshot_s3_region, sizeof(cfg->snapshot_s3_region), v, why);
}

static int set_snapshot_s3_access_key(struct hd_config *cfg, const char *v, const char **why)
{
    return set_token(cfg->snapshot_s3_access_key, sizeof(cfg->snapshot_s3_access_key), v, why);
}

static int set_snapshot_s3_secret_key_file(struct hd_config *cfg, const char *v,
                                           const char **why)
{
    return set_path(cfg->snapshot_s3_secret_key_file, v, why, true);
}

static int set_snapshot_s3_path_style(struct hd_config *cfg, const char *v, const char **why)
{
    return set_on_off(&cfg->snapshot_s3_path_style, v, why);
}

/* A key that takes a plain integer: its range, its field (a uint32_t, or an int64_t when wide)
 * and what a bad value is told. */
struct int_key {
    uint64_t min, max;
    size_t off;
    bool wide;
    const char *why;
};
#define INT_KEY(field, lo, hi, text)                                                             \
    (&(const struct int_key){ (lo), (hi), offsetof(struct hd_config, field),                     \
                              sizeof(((struct hd_config *)0)->field) == sizeof(int64_t), (text) })

static int set_int(struct hd_config *cfg, const char *v, const char **why, const struct int_key *k)
{
    uint64_t n;
    *why = k->why;
    int r = parse_u64(v, k->min, k->max, &n);
    if (r == 0 && k->wide)
        *(int64_t *)(void *)((char *)cfg + k->off) = (int64_t)n;
    else if (r == 0)
        *(uint32_t *)(void *)((char *)cfg + k->off) = (uint32_t)n;
    return r;
}

/* Every key: those with a setter of their own, then the plain integers (set NULL). */
static const struct {
    const char *key;
    config_setter set;
    const struct int_key *num;
} keys[] = {
    { "listen", set_listen, NULL },
    { "data_dir", set_data_dir, NULL },
    { "images_dir", set_images_dir, NULL },
    { "store", set_store, NULL },
    { "region", set_region, NULL },
    { "host_id", set_host_id, NULL },
    { "role", set_role, NULL },
    { "host_labels", set_host_labels, NULL },
    { "host_address", set_host_address, NULL },
    { "host_listen", set_host_listen, NULL },
    { "host_tls_ca", set_host_tls_ca, NULL },
    { "host_tls_cert", set_host_tls_cert, NULL },
    { "host_tls_key", set_host_tls_key, NULL },
    { "host_heartbeat_s", NULL,
      INT_KEY(host_heartbeat_s, 1, 60, "expected an integer from 1 to 60 (seconds)") },
    { "host_dead_after_s", NULL,
      INT_KEY(host_dead_after_s, 3, 3600, "expected an integer from 3 to 3600 (seconds)") },
    { "accel", set_accel, NULL },
    { "cgroup_root", set_cgroup_root, NULL },
    { "metrics_listen", set_metrics_listen, NULL },
    { "console", set_console, NULL },
    { "log_level", set_log_level, NULL },
    { "golden_snapshots", set_golden, NULL },
    { "warm_pool", set_warm_pool, NULL },
    { "warm_pool_min_free_mib", NULL,
      INT_KEY(warm_pool_min_free_mib, 0, 16777216,
              "expected an integer from 0 (no floor) to 16777216 (MiB)") },
    { "bandwidth_quota_bytes", set_bw_quota, NULL },
    { "ingress_domain", set_ingress_domain, NULL },
    { "ingress_scheme", set_ingress_scheme, NULL },
    { "net_namespace", set_net_namespace, NULL },
    { "net_uplink_if", set_net_uplink_if, NULL },
    { "net_uplink_cidr", set_net_uplink_cidr, NULL },
    { "net_sandbox_cidr", set_net_sandbox_cidr, NULL },
    { "net_networks_cidr", set_net_networks_cidr, NULL },
    { "dns_upstream", set_dns_upstream, NULL },
    { "max_disk_mib", NULL,
      INT_KEY(max_disk_mib, 1024, 16777216, "expected an integer from 1024 to 16777216 (MiB)") },
    { "retention_hours", NULL,
      INT_KEY(retention_hours, 1, 87600, "expected an integer from 1 to 87600 (hours)") },
    { "shutdown_timeout_s", NULL,
      INT_KEY(shutdown_timeout_s, 0, 3600, "expected an integer from 0 to 3600 (seconds)") },
    /* network safety (issue 16) */
    { "egress_private", set_egress_private, NULL },
    { "dns_rate_limit", NULL,
      INT_KEY(dns_rate_limit, 0, 100000,
              "expected an integer from 0 (off) to 100000 (queries/s)") },
    { "dns_rate_burst", NULL,
      INT_KEY(dns_rate_burst, 1, 1000000, "expected an integer from 1 to 1000000 (queries)") },
    /* resource safety (issue 16 part 2) */
    { "max_sandboxes", NULL,
      INT_KEY(max_sandboxes, 0, 1000000, "expected an integer from 0 (unlimited) to 1000000") },
    { "max_networks", NULL,
      INT_KEY(max_networks, 0, 65536, "expected an integer from 0 (unlimited) to 65536") },
    { "max_disks", NULL,
      INT_KEY(max_disks, 0, 1000000, "expected an integer from 0 (unlimited) to 1000000") },
    { "max_templates", NULL,
      INT_KEY(max_templates, 0, 1000000, "expected an integer from 0 (unlimited) to 1000000") },
    { "max_concurrent_builds", NULL,
      INT_KEY(max_concurrent_builds, 0, 1024, "expected an integer from 0 (unlimited) to 1024") },
    { "lifecycle_hold_ms", NULL,
      INT_KEY(lifecycle_hold_ms, 0, 1000, "expected an integer from 0 (off) to 1000 (ms)") },
    { "host_max_vms", NULL,
      INT_KEY(host_max_vms, 0, 100000, "expected an integer from 0 (from memory) to 100000") },
    { "host_mem_reserve_mib", NULL,
      INT_KEY(host_mem_reserve_mib, 0, 16777216, "expected an integer from 0 to 16777216 (MiB)") },
    { "min_free_disk_mib", NULL,
      INT_KEY(min_free_disk_mib, 0, 16777216, "expected an integer from 0 to 16777216 (MiB)") },
    { "min_free_disk_pct", NULL,
      INT_KEY(min_free_disk_pct, 0, 90, "expected an integer from 0 to 90 (percent)") },
    { "console_log_max_bytes", NULL,
      INT_KEY(console_log_max_bytes, 65536, 1073741824,
              "expected an integer from 65536 to 1073741824 (bytes)") },
    { "max_open_files", NULL,
      INT_KEY(max_open_files, 0, 1048576, "expected an integer from 0 (the hard limit) to 1048576") },
    { "http_stall_timeout_s", NULL,
      INT_KEY(http_stall_timeout_s, 1, 3600, "expected an integer from 1 to 3600 (seconds)") },
    /* confinement of QEMU */
    { "jail", set_jail, NULL },
    { "jail_uid_base", NULL,
      INT_KEY(jail_uid_base, 1000, 4000000000u, "expected an integer from 1000 to 4000000000") },
    { "jail_uid_count", NULL,
      INT_KEY(jail_uid_count, 1, 16777216, "expected an integer from 1 to 16777216") },
    { "vm_io_bps", NULL,
      INT_KEY(vm_io_bps, 0, 1099511627776,
              "expected an integer from 0 (no limit) to 1099511627776 (bytes/s)") },
    { "vm_io_iops", NULL,
      INT_KEY(vm_io_iops, 0, 10000000, "expected an integer from 0 (no limit) to 10000000") },
    /* managed processes (issue 12) */
    { "process_output_bytes", NULL,
      INT_KEY(process_output_bytes, 65536, 67108864,
              "expected an integer from 65536 to 67108864 (bytes)") },
    /* S3 disk mounts (issue 15) */
    { "disk_mount_check_seconds", NULL,
      INT_KEY(disk_mount_check_seconds, 2, 3600, "expected an integer from 2 to 3600 (seconds)") },
    /* ingress proxy (issue 13) */
    { "ingress_listen", set_ingress_listen, NULL },
    { "ingress_http_listen", set_ingress_http_listen, NULL },
    { "ingress_tls_cert", set_ingress_tls_cert, NULL },
    { "ingress_tls_key", set_ingress_tls_key, NULL },
    { "ingress_private", set_ingress_private, NULL },
    { "ingress_public_port", NULL,
      INT_KEY(ingress_public_port, 0, 65535,
              "expected an integer from 0 (the listener's) to 65535") },
    { "ingress_header_timeout_s", NULL,
      INT_KEY(ingress_header_timeout_s, 1, 3600, "expected an integer from 1 to 3600 (seconds)") },
    { "ingress_idle_timeout_s", NULL,
      INT_KEY(ingress_idle_timeout_s, 1, 3600, "expected an integer from 1 to 3600 (seconds)") },
    { "ingress_upstream_timeout_s", NULL,
      INT_KEY(ingress_upstream_timeout_s, 1, 3600,
              "expected an integer from 1 to 3600 (seconds)") },
    { "ingress_max_connections", NULL,
      INT_KEY(ingress_max_connections, 1, 1000000, "expected an integer from 1 to 1000000") },
    /* SSH gateway (issue 13) */
    { "ssh_listen", set_ssh_listen, NULL },
    { "ssh_password_auth", set_ssh_password_auth, NULL },
    { "ssh_login_grace_s", NULL,
      INT_KEY(ssh_login_grace_s, 1, 3600, "expected an integer from 1 to 3600 (seconds)") },
    { "ssh_max_unauth", NULL,
      INT_KEY(ssh_max_unauth, 1, 100000, "expected an integer from 1 to 100000") },
    { "ssh_max_sessions", NULL,
      INT_KEY(ssh_max_sessions, 1, 1000, "expected an integer from 1 to 1000") },
    /* S3 disks (issue 15) */
    { "disk_key_file", set_disk_key_file, NULL },
    { "disk_endpoint_allow", set_disk_endpoint_allow, NULL },
    /* OCI bases of templates (issue 14) */
    { "oci_registries", set_oci_registries, NULL },
    { "oci_auth_file", set_oci_auth_file, NULL },
    { "oci_max_image_mib", NULL,
      INT_KEY(oci_max_image_mib, 16, 9216,
              "expected an integer from 16 to 9216 (MiB; the file system is 10240)") },
    /* template builds (issue 14) */
    { "template_build_timeout_s", NULL,
      INT_KEY(template_build_timeout_s, 1, 86400,
              "expected an integer from 1 to 86400 (seconds)") },
    { "template_build_mem_mib", NULL,
      INT_KEY(template_build_mem_mib, 256, 65536, "expected an integer from 256 to 65536 (MiB)") },
    { "template_build_vcpus", NULL,
      INT_KEY(template_build_vcpus, 1, 64, "expected an integer from 1 to 64") },
    { "template_context_max_mib", NULL,
      INT_KEY(template_context_max_mib, 1, 16384, "expected an integer from 1 to 16384 (MiB)") },
    /* catalog aliases (issue 14) */
    { "rootfs_aliases", set_rootfs_aliases, NULL },
    /* snapshots on S3 (issue 17) */
    { "snapshot_store", set_snapshot_store, NULL },
    { "snapshot_s3_endpoint", set_snapshot_s3_endpoint, NULL },
    { "snapshot_s3_bucket", set_snapshot_s3_bucket, NULL },
    { "snapshot_s3_region", set_snapshot_s3_region, NULL },
    { "snapshot_s3_path_style", set_snapshot_s3_path_style, NULL },
    { "snapshot_s3_access_key", set_snapshot_s3_access_key, NULL },
    { "snapshot_s3_secret_key_file", set_snapshot_s3_secret_key_file, NULL },
    { "snapshot_cache_mib", NULL,
      INT_KEY(snapshot_cache_mib, 0, 1073741824,
              "expected an integer from 0 (keep no durable snapshot locally) to 1073741824 "
              "(MiB)") },
    { "snapshot_upload_concurrency", NULL,
      INT_KEY(snapshot_upload_concurrency, 1, 64, "expected an integer from 1 to 64") },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static int key_index(const char *key)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].key, key) == 0)
            return (int)i;
    return -1;
}

int config_set(struct hd_config *cfg, const char *key, const char *value, char *reterr,
               size_t reterr_len)
{
    int i = key_index(key);
    if (i < 0) {
        fail(reterr, reterr_len, "unknown key '%.64s'", key);
        return -ENOENT;
    }
    const char *why = "bad value";
    int r = keys[i].set ? keys[i].set(cfg, value, &why) : set_int(cfg, value, &why, keys[i].num);
    if (r < 0) {
        /* a store location may carry a password: never echo it */
        if (strcmp(key, "store") == 0)
            return fail(reterr, reterr_len, "bad value for 'store': %s", why);
        return fail(reterr, reterr_len, "bad value for '%s': '%.200s': %s", key, value, why);
    }
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

int config_parse(struct hd_config *cfg, const char *text, size_t len, const char *source,
                 char *reterr, size_t reterr_len)
{
    bool seen[N_KEYS] = { false };
    char line[CONFIG_MAX_LINE + 1];
    size_t pos = 0;
    unsigned lineno = 0;
    if (!source)
        source = "config";
    while (pos < len) {
        lineno++;
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n > CONFIG_MAX_LINE)
            return fail(reterr, reterr_len, "%s:%u: line longer than %u bytes", source, lineno,
                        CONFIG_MAX_LINE);
        if (memchr(start, '\0', n))
            return fail(reterr, reterr_len, "%s:%u: NUL byte in line", source, lineno);
        memcpy(line, start, n);
        line[n] = '\0';
        /* trim both ends */
        char *b = line, *e = line + n;
        while (b < e && is_space(*b))
            b++;
        while (e > b && is_space(e[-1]))
            e--;
        *e = '\0';
        if (*b == '\0' || *b == '#')
            continue;
        char *eq = strchr(b, '=');
        if (!eq)
            return fail(reterr, reterr_len, "%s:%u: expected 'key = value', got '%.64s'",
                        source, lineno, b);
        char *ke = eq;
        while (ke > b && is_space(ke[-1]))
            ke--;
        *ke = '\0';
        char *v = eq + 1;
        while (*v && is_space(*v))
            v++;
        size_t vl = strlen(v);
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
            v[vl - 1] = '\0';
            v++;
        } else if (memchr(v, '"', vl)) {
            return fail(reterr, reterr_len, "%s:%u: unbalanced '\"' in value of '%.64s'",
                        source, lineno, b);
        }
        if (*b == '\0')
            return fail(reterr, reterr_len, "%s:%u: missing key before '='", source, lineno);
        int i = key_index(b);
        if (i < 0)
            return fail(reterr, reterr_len, "%s:%u: unknown key '%.64s'", source, lineno, b);
        if (seen[i])
            return fail(reterr, reterr_len, "%s:%u: duplicate key '%s'", source, lineno, b);
        seen[i] = true;
        char why[400];
        if (config_set(cfg, b, v, why, sizeof(why)) < 0)
            return fail(reterr, reterr_len, "%s:%u: %s", source, lineno, why);
    }
    return 0;
}

int config_load(struct hd_config *cfg, const char *path, bool must_exist, char *reterr,
                size_t reterr_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int r = -errno;
        if (r == -ENOENT && !must_exist)
            return 0;
        fail(reterr, reterr_len, "cannot open config '%s': %s", path, strerror(-r));
        return r;
    }
    struct stat stbuf;
    if (fstat(fd, &stbuf) < 0 || !S_ISREG(stbuf.st_mode)) {
        close(fd);
        fail(reterr, reterr_len, "config '%s' is not a regular file", path);
        return -EINVAL;
    }
    if (stbuf.st_size > (off_t)CONFIG_MAX_FILE) {
        close(fd);
        fail(reterr, reterr_len, "config '%s' is larger than %u bytes", path, CONFIG_MAX_FILE);
        return -EFBIG;
    }
    size_t cap = (size_t)stbuf.st_size + 1, len = 0;
    char *text = malloc(cap);
    if (!text) {
        close(fd);
        return -ENOMEM;
    }
    for (;;) {
        if (len == cap) {
            close(fd);
            free(text);
            fail(reterr, reterr_len, "config '%s' grew while being read", path);
            return -EFBIG;
        }
        ssize_t n = read(fd, text + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int r = -errno;
            close(fd);
            free(text);
            fail(reterr, reterr_len, "cannot read config '%s': %s", path, strerror(-r));
            return r;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    int r = config_parse(cfg, text, len, path, reterr, reterr_len);
    free(text);
    return r;
}

const char *config_key_name(size_t i)
{
    return i < N_KEYS ? keys[i].key : NULL;
}
