/* SPDX-License-Identifier: MIT */
/* config.h: hearthd's configuration: one file of `key = value` lines (default
 * /etc/hearth/hearthd.conf), every key with a documented default (docs/operations.md), and
 * command-line overrides applied on top. Pure parsing: no I/O except config_load() reading the
 * file; never logs. Errors are one line naming the source, the line and the key. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/log.h"

#define CONFIG_DEFAULT_PATH "/etc/hearth/hearthd.conf"
#define CONFIG_MAX_FILE (1u << 20)   /* bigger files are refused */
#define CONFIG_MAX_LINE 4096         /* longer lines are refused */
#define CONFIG_PATH_SIZE 1024
#define CONFIG_HOST_SIZE 64          /* numeric IPv4/IPv6 address */
#define CONFIG_NAME_SIZE 64          /* region, host id */
#define CONFIG_DOMAIN_SIZE 254
#define CONFIG_MAX_ALLOW 16          /* disk_endpoint_allow entries */
#define CONFIG_OCI_REGISTRIES_SIZE 2048 /* oci_registries, the whole value */
#define CONFIG_MAX_ALIASES 16        /* rootfs_aliases pairs */
#define CONFIG_ALIAS_SIZE 128        /* an alias: "nodeops/sandbox:debian" */

/* One rootfs alias: a name FROM (and create's rootfs) may use for a catalog image. */
struct config_alias {
    char alias[CONFIG_ALIAS_SIZE];        /* "nodeops/sandbox:debian" */
    char target[CONFIG_NAME_SIZE];        /* a catalog name: "devbox:1" */
};

/* One CIDR block, IPv4 or IPv6 (address in network order, host bits clear). */
struct config_cidr {
    int family;                           /* AF_INET or AF_INET6 */
    uint8_t addr[16];                     /* 4 bytes used for AF_INET */
    unsigned prefix;
};

struct hd_config {
    char listen_host[CONFIG_HOST_SIZE];   /* listen = 127.0.0.1:8080 */
    uint16_t listen_port;                 /* 0 = ephemeral (tests) */
    char data_dir[CONFIG_PATH_SIZE];      /* data_dir = /var/lib/hearth */
    char images_dir[CONFIG_PATH_SIZE];    /* images_dir = "" → <data_dir>/images */
    char store[CONFIG_PATH_SIZE];         /* store = "" → <data_dir>/hearth.db; sqlite:PATH or
                                             postgresql://… (holds a password: never logged) */
    char region[CONFIG_NAME_SIZE];        /* region = local */
    char host_id[CONFIG_NAME_SIZE];       /* host_id = "" → the machine's hostname */
    char role[8];                         /* role = all | control | host */
    char host_labels[1024];               /* host_labels = "" ("k=v,k2=v2", canonical) */
    char host_address[128];               /* host_address = "" (where other hosts reach it) */
    /* the host channel (docs/scale-out.md "Host channel"): mTLS between hosts */
    bool host_listen_enabled;             /* host_listen = "" (off) | HOST:PORT */
    char host_listen_host[CONFIG_HOST_SIZE];
    uint16_t host_listen_port;
    char host_tls_ca[CONFIG_PATH_SIZE];   /* host_tls_ca = "" (PEM: the fleet's CA) */
    char host_tls_cert[CONFIG_PATH_SIZE]; /* host_tls_cert = "" (PEM: this host's cert) */
    char host_tls_key[CONFIG_PATH_SIZE];  /* host_tls_key = "" (PEM: its key) */
    uint32_t host_heartbeat_s;            /* host_heartbeat_s = 5 */
    uint32_t host_dead_after_s;           /* host_dead_after_s = 30 */
    char accel[8];                        /* accel = auto | kvm | tcg */
    char cgroup_root[CONFIG_PATH_SIZE];   /* cgroup_root = /sys/fs/cgroup/hearth ("" or off:
                                             no cgroups) */
    bool metrics_enabled;                 /* metrics_listen = 127.0.0.1:9464 ("" or off = off) */
    char metrics_host[CONFIG_HOST_SIZE];
    uint16_t metrics_port;
    bool console;                         /* console = on | off: the web console at / and
                                             /console/… on the API listener (default on) */
    enum log_level log_level;             /* log_level = info */
    bool golden;                          /* create from golden snapshots (default true) */
    char warm_pool[1024];                 /* warm_pool = "" (off): pool_spec.h syntax */
    uint32_t warm_pool_min_free_mib;      /* MemAvailable floor of warm pools; 1024 */
    int64_t max_disk_mib;                 /* max_disk_mib = 262144 */
    int64_t bandwidth_quota_bytes;        /* default quota; -1 = unmetered; 5368709120 */
    uint32_t retention_hours;             /* destroyed rows kept; 168, minimum 1 */
    char ingress_domain[CONFIG_DOMAIN_SIZE]; /* "" = no ingress_url_template */
    char ingress_scheme[8];               /* https | http */
    uint32_t shutdown_timeout_s;          /* in-flight requests on SIGTERM; 10 */
    /* networking (docs/networking.md) */
    char net_namespace[CONFIG_NAME_SIZE]; /* "" → "hearth" for the default data_dir, else
                                             "hearth-<8 hex of the data_dir's hash>" */
    char net_uplink_if[16];               /* root end of the uplink veth; "" → derived too */
    uint32_t net_uplink_net;              /* net_uplink_cidr = "" (0: a free /30 of
                                             169.254.88.0/22, config_net_uplink()), or a /30 */
    uint32_t net_sandbox_net;             /* net_sandbox_cidr = 10.88.0.0/16 */
    unsigned net_sandbox_prefix;
    uint32_t net_networks_net;            /* net_networks_cidr = 10.89.0.0/16 (a /24 each) */
    unsigned net_networks_prefix;
    uint32_t dns_upstreams[3];            /* dns_upstream = "" → /etc/resolv.conf's */
    size_t n_dns_upstreams;
    /* network safety (issue 16: private destinations, DNS limits; docs/networking.md) */
    bool egress_private_allow;            /* egress_private = deny | allow (default deny) */
    uint32_t dns_rate_limit;              /* queries/s per sandbox; 0 = off; default 50 */
    uint32_t dns_rate_burst;              /* token bucket size; default 200 */
    /* resource safety (issue 16 part 2; docs/operations.md "Limits") */
    uint32_t max_sandboxes;               /* per user, non-terminal; 32; 0 = unlimited */
    uint32_t max_networks;                /* per user, live networks; 16; 0 = unlimited */
    uint32_t max_disks;                   /* per user, live disks; 16; 0 = unlimited */
    uint32_t max_templates;               /* per user, live templates; 16; 0 = unlimited */
    uint32_t lifecycle_hold_ms;           /* pause/resume wait this long to answer 200; 250 */
    uint32_t max_concurrent_builds;       /* build attempts at once on this host; 2 */
    uint32_t host_max_vms;                /* VMs this host runs at once; 0 = derived from
                                             MemTotal (host_mem_reserve_mib, smallest shape) */
    uint32_t host_mem_reserve_mib;        /* RAM kept for the host in that derivation; 1024 */
    uint32_t min_free_disk_mib;           /* data_dir's filesystem: refuse creates, forks,
                                             pauses and uploads under this; 2048 */
    uint32_t min_free_disk_pct;           /* … or under this percent of its size; 5 */
    int64_t console_log_max_bytes;        /* console.log cap, rotated to console.log.1; 4 MiB */
    uint32_t max_open_files;              /* RLIMIT_NOFILE at start; 0 = the hard limit */
    uint32_t http_stall_timeout_s;        /* no body byte while one is wanted, or no output
                                             byte taken while some is queued; 60 */
    /* confinement of QEMU (docs/security.md) */
    bool jail;                            /* jail = on | off (default on) */
    uint32_t jail_uid_base;               /* jail_uid_base = 200000 (first uid of the range) */
    uint32_t jail_uid_count;              /* jail_uid_count = 65536 (base + count <= 2^32-1) */
    int64_t vm_io_bps;                    /* each VM's disk throughput, each way; 268435456 */
    uint32_t vm_io_iops;                  /* each VM's disk operations/s, each way; 8192 */
    /* managed processes (issue 12; docs/api.md §3.11) */
    uint32_t process_output_bytes;        /* output ring per process in the guest; 8 MiB */
    /* S3 disk mounts (issue 15; docs/disks.md "Mounts") */
    uint32_t disk_mount_check_seconds;    /* retry error mounts, check mounted ones; 30 */
    /* ingress proxy (issue 13; docs/ingress-ssh.md "Ingress proxy") */
    bool ingress_https_enabled;           /* ingress_listen = "" (off), HOST:PORT for HTTPS */
    char ingress_https_host[CONFIG_HOST_SIZE];
    uint16_t ingress_https_port;
    bool ingress_http_enabled;            /* ingress_http_listen = 127.0.0.1:8081 ("" or off) */
    char ingress_http_host[CONFIG_HOST_SIZE];
    uint16_t ingress_http_port;
    char ingress_tls_cert[CONFIG_PATH_SIZE]; /* "" → generated self-signed wildcard */
    char ingress_tls_key[CONFIG_PATH_SIZE];
    bool ingress_private;                 /* ingress_private = off: a credential per request */
    uint32_t ingress_public_port;         /* port in ingress_url_template; 0 = the listener's */
    uint32_t ingress_header_timeout_s;    /* client request head (slowloris → 408); 10 */
    uint32_t ingress_idle_timeout_s;      /* client keep-alive idle; 60 */
    uint32_t ingress_upstream_timeout_s;  /* guest response head after the request (→ 504); 60 */
    uint32_t ingress_max_connections;     /* ingress client connections at once; 4096 */
    /* SSH gateway (issue 13; docs/ingress-ssh.md "SSH gateway") */
    bool ssh_enabled;                     /* ssh_listen = 127.0.0.1:2222 ("" or off = off) */
    char ssh_host[CONFIG_HOST_SIZE];
    uint16_t ssh_port;                    /* 0 = ephemeral (tests) */
    bool ssh_password_auth;               /* API key or access token as password; off */
    uint32_t ssh_login_grace_s;           /* key exchange and login within this; 60 */
    uint32_t ssh_max_unauth;              /* connections not yet logged in, at once; 32 */
    uint32_t ssh_max_sessions;            /* session channels per connection; 10 */
    /* S3 disks (issue 15; docs/disks.md) */
    bool disks_off;                       /* disk_key_file = off or "": no disks API (503) */
    char disk_key_file[CONFIG_PATH_SIZE]; /* disk_key_file = auto ("" here) →
                                             <data_dir>/disk.key, created at first start */
    struct config_cidr disk_endpoint_allow[CONFIG_MAX_ALLOW]; /* disk_endpoint_allow = "":
                                             addresses the endpoint check lets through anyway */
    size_t n_disk_endpoint_allow;
    /* OCI bases of templates (issue 14; docs/templates.md "OCI bases") */
    char oci_registries[CONFIG_OCI_REGISTRIES_SIZE]; /* "" = OCI bases off; "host[:port]
                                             [insecure], …", checked by tpl/oci_ref.h */
    char oci_auth_file[CONFIG_PATH_SIZE]; /* containers-auth.json; "" = anonymous pulls */
    uint32_t oci_max_image_mib;           /* unpacked image size limit; 4096 */
    /* template builds (issue 14; docs/templates.md "How a build runs") */
    uint32_t template_build_timeout_s;    /* one attempt's limit; 1800 */
    uint32_t template_build_mem_mib;      /* a build VM's memory; 1024 */
    uint32_t template_build_vcpus;        /* a build VM's vCPUs; 1 */
    uint32_t template_context_max_mib;    /* a build context tar's size limit; 256 */
    /* catalog aliases (issue 14; docs/images.md, docs/templates.md "The catalog") */
    struct config_alias rootfs_aliases[CONFIG_MAX_ALIASES]; /* rootfs_aliases =
                                             nodeops/sandbox:debian=devbox:1 */
    size_t n_rootfs_aliases;
    /* snapshots on S3 (issue 17; docs/snapshots.md "Snapshots on S3") */
    bool snapshot_store_s3;               /* snapshot_store = local | s3 (default local) */
    char snapshot_s3_endpoint[512];       /* http(s)://host[:port][/prefix]; loopback allowed */
    char snapshot_s3_bucket[64];
    char snapshot_s3_region[64];          /* "" = us-east-1 */
    bool snapshot_s3_path_style;          /* on | off (default on) */
    char snapshot_s3_access_key[256];
    char snapshot_s3_secret_key_file[CONFIG_PATH_SIZE]; /* the secret, in a file of its own */
    uint32_t snapshot_cache_mib;          /* local budget of durable snapshots; 10240 */
    uint32_t snapshot_upload_concurrency; /* uploads at once; 2 */
};

/* Fills cfg with every default. */
void config_defaults(struct hd_config *cfg);

/* Sets one key from its text value (what a file line or a flag gives). Returns 0, -ENOENT for
 * an unknown key, -EINVAL for a bad value; on error writes a reason ("unknown key 'x'",
 * "bad value for 'listen': …") into reterr. */
__attribute__((warn_unused_result))
int config_set(struct hd_config *cfg, const char *key, const char *value, char *reterr,
               size_t reterr_len);

/* Parses config text (len bytes; need not be NUL-terminated) on top of cfg: `key = value`
 * lines, blank lines and `#` comment lines; surrounding spaces and one pair of double quotes
 * around the value are removed; CRLF is accepted. A duplicate key, an unknown key, a line
 * without '=', a NUL byte, a line over CONFIG_MAX_LINE or a bad value is an error
 * "<source>:<line>: <reason>" in reterr, and returns -EINVAL (cfg may be half-updated). */
__attribute__((warn_unused_result))
int config_parse(struct hd_config *cfg, const char *text, size_t len, const char *source,
                 char *reterr, size_t reterr_len);

/* Cross-key checks of the snapshot store: with snapshot_store = s3, the endpoint, bucket,
 * access key and secret key file must be set. 0, or -EINVAL with a reason in reterr. */
__attribute__((warn_unused_result))
int config_check_snapshot_store(const struct hd_config *cfg, char *reterr, size_t reterr_len);

/* Reads and parses path on top of cfg. When the file does not exist and must_exist is false,
 * cfg is left as is and 0 is returned. Returns 0, -EINVAL (parse error), -EFBIG or -errno from
 * open/read, with a reason in reterr. */
__attribute__((warn_unused_result))
int config_load(struct hd_config *cfg, const char *path, bool must_exist, char *reterr,
                size_t reterr_len);

/* Parses "HOST:PORT" ("[v6]:PORT" for IPv6; HOST numeric). Returns 0 or -EINVAL. */
__attribute__((warn_unused_result))
int config_parse_hostport(const char *s, char host[CONFIG_HOST_SIZE], uint16_t *ret_port);

/* The effective network namespace and uplink names (see net_namespace): written into ns (64)
 * and uplink (16). */
void config_net_names(const struct hd_config *cfg, char ns[CONFIG_NAME_SIZE], char uplink[16]);

/* The i-th key hearthd knows (in table order), NULL past the last: what the sample config
 * (etc/hearthd.conf.sample) is checked against. */
const char *config_key_name(size_t i);

/* The uplink's /30 (host order): net_uplink_cidr when set (*ret_auto false); otherwise the
 * preferred /30 of the pool 169.254.88.0/22 (.0/30 for the default data dir, else one derived
 * from the data dir's hash) with *ret_auto true: hearthd then takes the next free one when
 * another interface holds it. */
uint32_t config_net_uplink(const struct hd_config *cfg, bool *ret_auto);
#define CONFIG_UPLINK_POOL 0xa9fe5800u    /* 169.254.88.0/22 */
#define CONFIG_UPLINK_POOL_PREFIX 22

/* The effective images directory: images_dir, or <data_dir>/images when unset. Returns 0 or
 * -ENAMETOOLONG. */
__attribute__((warn_unused_result))
int config_images_dir(const struct hd_config *cfg, char out[CONFIG_PATH_SIZE]);

/* The key file of the disks (disk_key_file, <data_dir>/disk.key when auto) into out; false
 * when disks are off. */
bool config_disk_key_file(const struct hd_config *cfg, char *out, size_t size);

/* Whether s is a well-formed alias or catalog name (rootfs_aliases): 1 to len-1 characters of
 * [A-Za-z0-9._/:@-], the first a letter or digit. Whether a target names a catalog image is
 * the catalog's to say (ctl_rootfs_aliases_check, ctl/catalog.h). */
bool config_alias_name_ok(const char *s, size_t len);

/* Parses one "a.b.c.d/p" or "v6/p" block (host bits must be clear). 0 or -EINVAL. */
__attribute__((warn_unused_result))
int config_parse_cidr(const char *v, struct config_cidr *ret);
