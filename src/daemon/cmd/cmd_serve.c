/* SPDX-License-Identifier: MIT */
/* cmd_serve.c: `hearthd serve`: loads the config, opens the store, creates the first admin key,
 * runs the API listener (and the Prometheus metrics listener) on one libevent loop, and shuts
 * down gracefully on SIGTERM/SIGINT. Owns the daemon context (struct hd_ctx); no globals. Edge
 * code: logs JSON lines, never a key. */
#include "daemon/cmd/cmd.h"
#include "daemon/cmd/serve_disks.h"
#include "daemon/cmd/serve_snapshots.h"
#include "daemon/cmd/serve_limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "common/buf.h"
#include "common/herr.h"
#include "common/timefmt.h"
#include "daemon/api/api.h"
#include "daemon/api/create_remote.h"
#include "daemon/hostchan/hostchan.h"
#include "daemon/config.h"
#include "daemon/ctl/auth_limit.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/disk_mount.h"
#include "daemon/ctl/hosts.h"
#include "daemon/ctl/idle.h"
#include "daemon/ctl/jobs.h"
#include "daemon/ctl/lifecycle.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/pool.h"
#include "daemon/ctl/reconcile.h"
#include "daemon/ctl/snapstore.h"
#include "daemon/ctl/template.h"
#include "daemon/ctl/template_build.h"
#include "daemon/ctl/sandbox_self.h"
#include "daemon/ctl/service.h"
#include "daemon/ctl/status_wait.h"
#include "daemon/ctl/usage.h"
#include "daemon/api/jsend.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/http/server.h"
#include "daemon/host/host.h"
#include "daemon/host/jail.h"
#include "daemon/ingress/ingress.h"
#include "daemon/ingress/ingress_cert.h"
#include "daemon/log.h"
#include "daemon/net/dns.h"
#include "daemon/sshgw/sshgw.h"
#include "daemon/tpl/oci.h"
#include "daemon/store/store.h"

#define ADMIN_KEY_FILE "admin.key"
#define PORT_FILE "hearthd.port"
#define METRICS_PORT_FILE "metrics.port"
#define INGRESS_HTTP_PORT_FILE "ingress-http.port"
#define INGRESS_HTTPS_PORT_FILE "ingress-https.port"
#define SSH_PORT_FILE "ssh.port"
#define HOST_PORT_FILE "host.port"

struct hd_ctx {
    struct hd_config cfg;
    struct event_base *base;
    struct store *store;
    struct host *host;            /* NULL when the VM layer could not start (503s) */
    struct ctl ctl;                 /* the control layer: store, host, loop, networking */
    struct api_ctx api;
    struct http_server *api_srv;
    struct http_server *metrics_srv;
    struct hostchan *chan;        /* the host channel (docs/scale-out.md); NULL: not configured */
    struct api_ctx chan_api;      /* the API as the channel listener serves it */
    struct http_server *chan_srv; /* the channel listener; NULL when host_listen is off */
    struct ingress *ingress;      /* the ingress proxy (issue 13); NULL when no listener */
    struct ingress_cert *ingress_cert; /* its TLS certificate; NULL without ingress_listen */
    struct sshgw *ssh;            /* the SSH gateway; NULL when ssh_listen is off */
    struct tpl_oci_config *oci;   /* OCI bases (ctl.oci); NULL when oci_registries is "" */
    struct event *sig_term;
    struct event *sig_int;
    unsigned pending_shutdowns;   /* servers still draining */
    bool stopping;
};

/* A directory flag as the config needs it: absolute, a relative one taken against the working
 * directory hearthd was started in (an operator types `--images build/images`; the config file
 * keeps requiring absolute paths, since it has no such directory). 0, or -ENAMETOOLONG /
 * -errno with why. */
static int flag_dir(const char *v, char *out, size_t len, const char **why)
{
    if (v[0] == '/' || v[0] == '\0') {
        *why = "path too long";
        return (size_t)snprintf(out, len, "%s", v) < len ? 0 : -ENAMETOOLONG;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd))) {
        *why = "cannot read the working directory for a relative path";
        return -errno;
    }
    *why = "path too long";
    const char *rest = strncmp(v, "./", 2) == 0 ? v + 2 : v;
    return (size_t)snprintf(out, len, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, rest) < len
               ? 0
               : -ENAMETOOLONG;
}

/* Shared by serve and keys: defaults, then the file, then flags. Prints its own errors. */
int cmd_config_load(struct hd_config *cfg, const char *config_path, const char *data_dir,
                        const char *listen, const char *images)
{
    char err[512];
    config_defaults(cfg);
    const char *path = config_path ? config_path : CONFIG_DEFAULT_PATH;
    if (config_load(cfg, path, config_path != NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "hearthd: %s\n", err);
        return -EINVAL;
    }
    /* what config.c cannot know: whether rootfs_aliases' targets are catalog names */
    if (ctl_rootfs_aliases_check(cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "hearthd: %s: %s\n", path, err);
        return -EINVAL;
    }
    const char *keys[] = { "data_dir", "listen", "images_dir" };
    const char *flags[] = { "--data-dir", "--listen", "--images" };
    const char *vals[] = { data_dir, listen, images };
    /* --images may be relative (the images an operator just built); --data-dir stays absolute:
     * a data dir that moves with the working directory would be a different store */
    char images_abs[PATH_MAX];
    const char *why = NULL;
    if (images && flag_dir(images, images_abs, sizeof(images_abs), &why) < 0) {
        fprintf(stderr, "hearthd: --images: %s\n", why);
        return -EINVAL;
    }
    if (images)
        vals[2] = images_abs;
    for (int i = 0; i < 3; i++) {
        if (vals[i] && config_set(cfg, keys[i], vals[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "hearthd: %s: %s\n", flags[i], err);
            return -EINVAL;
        }
    }
    return 0;
}

/* Opens the configured store (`store`; data_dir/hearth.db when unset), creating data_dir (0700)
 * if it is missing. Prints errors, never a password: store_open's messages name the location
 * redacted. */
int cmd_store_open(const struct hd_config *cfg, struct store **ret)
{
    if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "hearthd: cannot create data dir '%s': %s\n", cfg->data_dir,
                strerror(errno));
        return -errno;
    }
    char path[PATH_MAX], err[512];
    if (cfg->store[0])
        (void)snprintf(path, sizeof(path), "%s", cfg->store); /* both are CONFIG_PATH_SIZE */
    else if ((size_t)snprintf(path, sizeof(path), "%s/hearth.db", cfg->data_dir) >= sizeof(path))
        return -ENAMETOOLONG;
    int r = store_open(path, ret, err, sizeof(err));
    if (r < 0)
        fprintf(stderr, "hearthd: %s\n", err[0] ? err : "cannot open the store");
    return r;
}

/* Writes text to data_dir/name atomically (temp file + rename) with mode. */
static int write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text);
    int r = 0;
    if (fchmod(fd, mode) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
        r = errno ? -errno : -EIO;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        unlink(tmp);
    return r;
}

/* First start: no key at all → user admin with an admin key in data_dir/admin.key (0600). */
static int first_start_key(struct hd_ctx *hd)
{
    struct store_key *keys = NULL;
    size_t n = 0;
    int r = store_key_list(hd->store, NULL, &keys, &n);
    free(keys);
    if (r < 0) {
        log_error(NULL, "cannot list api keys", "{s:s}", "err", strerror(-r));
        return r;
    }
    if (n > 0)
        return 0;
    struct store_key k;
    char secret[APIKEY_LEN + 2];
    r = store_key_create(hd->store, "admin", "first start", true, timefmt_now_ms(), &k, secret);
    if (r < 0) {
        log_error(NULL, "cannot create the admin key", "{s:s}", "err", strerror(-r));
        return r;
    }
    size_t sl = strlen(secret);
    secret[sl] = '\n';
    secret[sl + 1] = '\0';
    r = write_file(hd->cfg.data_dir, ADMIN_KEY_FILE, secret, 0600);
    explicit_bzero(secret, sizeof(secret));
    if (r < 0) {
        log_error(NULL, "cannot write the admin key file", "{s:s,s:s}", "dir", hd->cfg.data_dir,
                  "err", strerror(-r));
        return r;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", hd->cfg.data_dir, ADMIN_KEY_FILE);
    log_info(NULL, "first start: created user 'admin' with an admin api key", "{s:s,s:s}",
             "key_id", k.id, "key_file", path);
    return 0;
}

/* ---- metrics listener (docs/api.md §5.2) ---- */

/* hearth_template_builds_total{result}: builds that ended since start. */
static int template_builds_render(struct ctl *c, struct buf *b)
{
    uint64_t n[3];
    ctl_tpl_build_counts(c, n);
    return buf_appendf(b, "# HELP hearth_template_builds_total Template builds ended, by result.\n"
                          "# TYPE hearth_template_builds_total counter\n"
                          "hearth_template_builds_total{result=\"ready\"} %llu\n"
                          "hearth_template_builds_total{result=\"failed\"} %llu\n"
                          "hearth_template_builds_total{result=\"cancelled\"} %llu\n",
                       (unsigned long long)n[0], (unsigned long long)n[1],
                       (unsigned long long)n[2]);
}

static void on_metrics_request(struct http_request *req, void *ud)
{
    struct hd_ctx *hd = ud;
    const struct http_path *p = http_request_path(req);
    if (!(p->n == 1 && strcmp(p->seg[0], "metrics") == 0)) {
        (void)jsend_reply_not_found(req);
        return;
    }
    if (http_request_method(req) != HTTP_GET) {
        (void)jsend_reply_method_not_allowed(req, "GET");
        return;
    }
    struct buf b;
    buf_init(&b, 16u << 20);
    int r = api_metrics_render(&hd->api.metrics, &b);
    if (r == 0 && hd->api.usage)
        r = ctl_usage_render(hd->api.usage, &b);
    if (r == 0)
        r = buf_appendf(&b, "# HELP hearth_http_connections Open API connections.\n"
                            "# TYPE hearth_http_connections gauge\n"
                            "hearth_http_connections %u\n"
                            "# HELP hearth_host_vms VMs on this host.\n"
                            "# TYPE hearth_host_vms gauge\n"
                            "hearth_host_vms{host=\"%s\"} %u\n"
                            "# HELP hearth_status_waiters Requests waiting for a status (long "
                            "polls, pause/resume holds).\n"
                            "# TYPE hearth_status_waiters gauge\n"
                            "hearth_status_waiters %u\n",
                        http_server_connections(hd->api_srv), hd->ctl.set.host_id,
                        ctl_vm_count(&hd->ctl), ctl_status_wait_count(&hd->ctl));
    if (r == 0)
        r = ctl_net_dns_render(&hd->ctl, &b);
    if (r == 0)
        r = ctl_self_render(&hd->ctl, &b);
    if (r == 0)
        r = ctl_pool_render(&hd->ctl, &b);
    if (r == 0)
        r = ctl_auth_limit_render(&hd->ctl, &b);
    if (r == 0)
        r = template_builds_render(&hd->ctl, &b);
    if (r == 0)
        r = ctl_snapstore_render(&hd->ctl, &b);
    if (r == 0 && hd->ingress)
        r = ingress_metrics_render(hd->ingress, &b);
    if (r == 0 && hd->ssh)
        r = sshgw_metrics_render(hd->ssh, &b);
    if (r < 0) {
        buf_release(&b);
        (void)jsend_reply_error(req, 500, "cannot render metrics", "internal");
        return;
    }
    (void)http_response_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data,
                             b.len);
    buf_release(&b);
}

/* ---- shutdown ---- */

static void on_server_drained(struct http_server *srv, void *ud)
{
    struct hd_ctx *hd = ud;
    if (hd->pending_shutdowns > 0 && --hd->pending_shutdowns == 0)
        event_base_loopexit(hd->base, NULL);
}

static void on_ingress_drained(void *ud)
{
    on_server_drained(NULL, ud);
}

static void on_signal(evutil_socket_t sig, short what, void *ud)
{
    struct hd_ctx *hd = ud;
    if (hd->stopping) {
        log_warn(NULL, "second signal: stopping now", "{s:i}", "signal", (int)sig);
        event_base_loopexit(hd->base, NULL);
        return;
    }
    hd->stopping = true;
    hd->ctl.draining = true;
    ctl_status_wait_end_all(&hd->ctl); /* long polls answer now, not at their timeout */
    (void)sd_notify(0, "STOPPING=1");
    log_info(NULL, "shutting down: finishing in-flight requests", "{s:i,s:i}", "signal",
             (int)sig, "timeout_s", (int)hd->cfg.shutdown_timeout_s);
    unsigned ms = hd->cfg.shutdown_timeout_s * 1000;
    hd->pending_shutdowns = 1 + (hd->metrics_srv ? 1 : 0) + (hd->ingress ? 1 : 0) +
                            (hd->chan_srv ? 1 : 0);
    http_server_shutdown(hd->api_srv, ms, on_server_drained, hd);
    if (hd->chan_srv)
        http_server_shutdown(hd->chan_srv, ms, on_server_drained, hd);
    if (hd->metrics_srv)
        http_server_shutdown(hd->metrics_srv, ms, on_server_drained, hd);
    if (hd->ingress)
        ingress_shutdown(hd->ingress, ms, on_ingress_drained, hd);
}

/* After a listen call: its error logged, or the port file written and the listener logged. */
static int record_listener(struct hd_ctx *hd, struct http_server *srv, int r, const char *host,
                           uint16_t port, const char *file, const char *what)
{
    if (r < 0) {
        log_error(NULL, "cannot listen", "{s:s,s:s,s:i,s:s}", "listener", what, "host", host,
                  "port", (int)port, "err", strerror(-r));
        return r;
    }
    char text[16];
    snprintf(text, sizeof(text), "%u\n", http_server_port(srv));
    r = write_file(hd->cfg.data_dir, file, text, 0644);
    if (r < 0)
        log_warn(NULL, "cannot write the port file, ignoring", "{s:s,s:s}", "file", file, "err",
                 strerror(-r));
    log_info(NULL, "listening", "{s:s,s:s,s:i}", "listener", what, "host", host, "port",
             (int)http_server_port(srv));
    return 0;
}

static int listen_and_record(struct hd_ctx *hd, struct http_server *srv, const char *host,
                             uint16_t port, const char *file, const char *what)
{
    return record_listener(hd, srv, http_server_listen(srv, host, port), host, port, file, what);
}

/* ---- the host channel (docs/scale-out.md "Host channel") ---- */

/* With host_tls_* set (all three), this host forwards requests for sandboxes other hosts run;
 * with host_listen too, it serves them to other hosts over mutual TLS. The files are checked
 * now: a bad certificate is a clear error at start, not failed handshakes later. */
static int start_hostchan(struct hd_ctx *hd, const struct http_limits *limits)
{
    const struct hd_config *c = &hd->cfg;
    bool any = c->host_tls_ca[0] || c->host_tls_cert[0] || c->host_tls_key[0];
    if (!any && !c->host_listen_enabled)
        return 0;
    struct hostchan_config hc = { .ca_file = c->host_tls_ca, .cert_file = c->host_tls_cert,
                                  .key_file = c->host_tls_key, .host_id = hd->ctl.set.host_id,
                                  .reply_error = jsend_reply_error };
    struct herr err = { 0 };
    if (hostchan_new(hd->base, &hc, &hd->chan, &err) < 0) {
        log_error(NULL, "host channel unusable", "{s:s}", "err", err.msg);
        return -EINVAL;
    }
    hd->api.chan = hd->chan;
    if (!c->host_listen_enabled)
        return 0;
    if (!c->host_address[0])
        log_warn(NULL, "host_listen is set but host_address is empty: other hosts cannot "
                 "find this one", NULL);
    api_ctx_init(&hd->chan_api);
    hd->chan_api.ctl = &hd->ctl;
    hd->chan_api.usage = hd->api.usage;
    hd->chan_api.console = false;
    hd->chan_api.chan = hd->chan;
    hd->chan_api.channel = true;
    hd->chan_srv = http_server_new(hd->base, limits, api_handle, &hd->chan_api);
    if (!hd->chan_srv)
        return -ENOMEM;
    http_server_set_error_body(hd->chan_srv, jsend_protocol_error_body);
    serve_limits_watch_accept(hd->chan_srv, "host-channel");
    int r = http_server_listen_tls(hd->chan_srv, c->host_listen_host, c->host_listen_port,
                                   hostchan_server_ctx(hd->chan));
    return record_listener(hd, hd->chan_srv, r, c->host_listen_host, c->host_listen_port,
                           HOST_PORT_FILE, "host-channel");
}

/* ---- ingress proxy (issue 13; docs/ingress-ssh.md "Ingress proxy") ---- */

/* The port ingress_url_template shows: ingress_public_port, else the port of the listener the
 * scheme uses unless it is the scheme's default (80, 443), else none. */
static uint16_t ingress_template_port(const struct hd_config *c, uint16_t http_port,
                                      uint16_t https_port)
{
    if (c->ingress_public_port)
        return c->ingress_public_port == 80 || c->ingress_public_port == 443
                   ? 0
                   : (uint16_t)c->ingress_public_port;
    bool https = strcmp(c->ingress_scheme, "https") == 0;
    uint16_t p = https ? https_port : http_port;
    return p == (https ? 443 : 80) ? 0 : p;
}

/* The HTTPS listener with the operator's certificate or the generated wildcard, watched for
 * renewals (docs/ingress-ssh.md "Certificates"). */
static int start_ingress_tls(struct hd_ctx *hd, uint16_t *ret_port)
{
    const struct hd_config *c = &hd->cfg;
    struct ingress_cert_cfg cc = { .cert_file = c->ingress_tls_cert,
                                   .key_file = c->ingress_tls_key, .data_dir = c->data_dir,
                                   .domain = c->ingress_domain };
    struct herr err = { 0 };
    int r = ingress_cert_open(&cc, &hd->ingress_cert, &err);
    if (r < 0) {
        log_error(NULL, "ingress certificate unusable", "{s:s}", "err", err.msg);
        return r;
    }
    if (ingress_cert_watch(hd->ingress_cert, hd->base, INGRESS_CERT_WATCH_S) < 0)
        return -ENOMEM;
    struct http_server *srv = ingress_https_server(hd->ingress);
    if (!srv)
        return -ENOMEM;
    serve_limits_watch_accept(srv, "ingress-https");
    r = http_server_listen_tls(srv, c->ingress_https_host, c->ingress_https_port,
                               ingress_cert_ctx(hd->ingress_cert));
    r = record_listener(hd, srv, r, c->ingress_https_host, c->ingress_https_port,
                        INGRESS_HTTPS_PORT_FILE, "ingress-https");
    *ret_port = r == 0 ? http_server_port(srv) : 0;
    return r;
}

/* Starts the proxy's listeners; none configured is fine. < 0 when one cannot listen. */
static int start_ingress(struct hd_ctx *hd)
{
    const struct hd_config *c = &hd->cfg;
    if (!c->ingress_http_enabled && !c->ingress_https_enabled)
        return 0;
    struct ingress_settings s = {
        .domain = c->ingress_domain, .private_mode = c->ingress_private,
        .header_timeout_ms = c->ingress_header_timeout_s * 1000,
        .idle_timeout_ms = c->ingress_idle_timeout_s * 1000,
        .stall_timeout_ms = c->http_stall_timeout_s * 1000,
        .upstream_timeout_ms = c->ingress_upstream_timeout_s * 1000,
        .max_connections = c->ingress_max_connections,
    };
    hd->ingress = ingress_new(hd->base, &hd->ctl, &s);
    if (!hd->ingress)
        return -ENOMEM;
    uint16_t http_port = 0, https_port = 0;
    if (c->ingress_http_enabled) {
        struct http_server *srv = ingress_http_server(hd->ingress);
        if (!srv)
            return -ENOMEM;
        serve_limits_watch_accept(srv, "ingress-http");
        int r = listen_and_record(hd, srv, c->ingress_http_host, c->ingress_http_port,
                                  INGRESS_HTTP_PORT_FILE, "ingress-http");
        if (r < 0)
            return r;
        http_port = http_server_port(srv);
    }
    if (c->ingress_https_enabled && start_ingress_tls(hd, &https_port) < 0)
        return -EINVAL;
    hd->ctl.set.ingress_port = ingress_template_port(c, http_port, https_port);
    return 0;
}

/* SSH gateway (issue 13): host keys under <data_dir>/ssh, the port in ssh.port. A gateway that
 * cannot start (its port taken) is logged and the API serves on: SSH is one edge among several. */
static int start_ssh(struct hd_ctx *hd)
{
    char key_dir[PATH_MAX];
    if ((size_t)snprintf(key_dir, sizeof(key_dir), "%s/ssh", hd->cfg.data_dir) >= sizeof(key_dir))
        return -ENAMETOOLONG;
    struct sshgw_config sc = { .host = hd->cfg.ssh_host, .port = hd->cfg.ssh_port,
                               .key_dir = key_dir, .password_auth = hd->cfg.ssh_password_auth,
                               .login_grace_s = hd->cfg.ssh_login_grace_s,
                               .max_unauth = hd->cfg.ssh_max_unauth,
                               .max_sessions = hd->cfg.ssh_max_sessions };
    const char *why = "";
    int r = sshgw_start(hd->base, &hd->ctl, &sc, &hd->ssh, &why);
    if (r < 0) {
        log_error(NULL, "cannot start the ssh gateway", "{s:s,s:s,s:i,s:s}", "why", why, "host",
                  hd->cfg.ssh_host, "port", (int)hd->cfg.ssh_port, "err", strerror(-r));
        return r;
    }
    char text[16];
    snprintf(text, sizeof(text), "%u\n", sshgw_port(hd->ssh));
    r = write_file(hd->cfg.data_dir, SSH_PORT_FILE, text, 0644);
    if (r < 0)
        log_warn(NULL, "cannot write the port file, ignoring", "{s:s,s:s}", "file",
                 SSH_PORT_FILE, "err", strerror(-r));
    struct api_ssh_gateway *g = &hd->api.ssh;
    g->enabled = true;
    g->port = sshgw_port(hd->ssh);
    g->password_auth = hd->cfg.ssh_password_auth;
    for (unsigned i = 0; i < API_SSH_HOST_KEYS && sshgw_host_key(hd->ssh, i); i++)
        snprintf(g->host_keys[i], sizeof(g->host_keys[i]), "%s", sshgw_host_key(hd->ssh, i));
    log_info(NULL, "listening", "{s:s,s:s,s:i,s:b}", "listener", "ssh", "host", hd->cfg.ssh_host,
             "port", (int)sshgw_port(hd->ssh), "password_auth", hd->cfg.ssh_password_auth);
    return 0;
}

static void remove_file(const char *dir, const char *name)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path))
        (void)unlink(path); /* best effort: a stale port file only misleads until next start */
}

static void fill_settings(struct hd_ctx *hd)
{
    struct ctl_settings *s = &hd->ctl.set;
    const struct hd_config *c = &hd->cfg;
    snprintf(s->region, sizeof(s->region), "%s", c->region);
    if (c->host_id[0])
        snprintf(s->host_id, sizeof(s->host_id), "%s", c->host_id);
    else if (gethostname(s->host_id, sizeof(s->host_id) - 1) < 0 || !s->host_id[0])
        snprintf(s->host_id, sizeof(s->host_id), "local");
    snprintf(s->host_labels, sizeof(s->host_labels), "%s", c->host_labels);
    snprintf(s->host_address, sizeof(s->host_address), "%s", c->host_address);
    s->host_heartbeat_s = c->host_heartbeat_s;
    s->host_dead_after_s = c->host_dead_after_s;
    s->control_only = strcmp(c->role, "control") == 0;
    char images[CONFIG_PATH_SIZE];
    if (config_images_dir(c, images) == 0)
        snprintf(s->images_dir, sizeof(s->images_dir), "%s", images);
    snprintf(s->ingress_domain, sizeof(s->ingress_domain), "%s", c->ingress_domain);
    snprintf(s->ingress_scheme, sizeof(s->ingress_scheme), "%s", c->ingress_scheme);
    s->max_disk_mib = c->max_disk_mib;
    s->bandwidth_quota_bytes = c->bandwidth_quota_bytes;
    s->golden = c->golden;
    snprintf(s->snapshots_dir, sizeof(s->snapshots_dir), "%.1000s/snapshots", c->data_dir);
    snprintf(s->golden_dir, sizeof(s->golden_dir), "%.1000s/golden", c->data_dir);
    snprintf(s->templates_dir, sizeof(s->templates_dir), "%.1000s/templates", c->data_dir);
    serve_limits_settings(c, s);
    /* catalog aliases (issue 14): checked against the catalog by cmd_config_load */
    for (size_t i = 0; i < c->n_rootfs_aliases && i < sizeof(s->rootfs_aliases) /
                                                         sizeof(s->rootfs_aliases[0]); i++) {
        snprintf(s->rootfs_aliases[i].alias, sizeof(s->rootfs_aliases[i].alias), "%s",
                 c->rootfs_aliases[i].alias);
        snprintf(s->rootfs_aliases[i].target, sizeof(s->rootfs_aliases[i].target), "%s",
                 c->rootfs_aliases[i].target);
        s->n_rootfs_aliases = i + 1;
    }
}

/* OCI bases of templates (docs/templates.md "OCI bases"): the registries the config allows,
 * the base cache <data_dir>/templates/bases and the agent the images dir carries. Off (NULL)
 * when oci_registries is empty. */
static int fill_oci(struct hd_ctx *hd)
{
    const struct hd_config *c = &hd->cfg;
    const char *why = "";
    if (!c->oci_registries[0])
        return 0;
    struct tpl_oci_config *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    if (tpl_oci_registries_parse(c->oci_registries, o, &why) < 0 ||
        (size_t)snprintf(o->cache_dir, sizeof(o->cache_dir), "%s/templates/bases", c->data_dir) >=
            sizeof(o->cache_dir) ||
        (size_t)snprintf(o->agent_path, sizeof(o->agent_path), "%s/hearth-agent",
                         hd->ctl.set.images_dir) >= sizeof(o->agent_path)) {
        free(o);
        log_error(NULL, "bad OCI settings", "{s:s}", "err", why[0] ? why : "path too long");
        return -EINVAL;
    }
    snprintf(o->auth_file, sizeof(o->auth_file), "%s", c->oci_auth_file);
    o->max_image_mib = c->oci_max_image_mib;
    hd->oci = o;
    hd->ctl.oci = o;
    return 0;
}

/* The VM layer: run dirs under data_dir/vms, then reconcile the store with what survived the
 * last run. A host that cannot start (run root not writable) leaves the API up with VM routes
 * answering 503. Returns < 0 only when the store cannot be read. */
static int start_host(struct hd_ctx *hd)
{
    char run_root[PATH_MAX];
    if ((size_t)snprintf(run_root, sizeof(run_root), "%s/vms", hd->cfg.data_dir) >=
        sizeof(run_root))
        return -ENAMETOOLONG;
    struct host_config hc = { .images_dir = hd->ctl.set.images_dir, .run_root = run_root,
                              .accel = hd->cfg.accel, .cgroup_root = hd->cfg.cgroup_root,
                              .console_log_max = (uint64_t)hd->cfg.console_log_max_bytes,
                              .no_jail = !hd->cfg.jail, .jail_uid_base = hd->cfg.jail_uid_base,
                              .jail_uid_count = hd->cfg.jail_uid_count,
                              .io_bps = (uint64_t)hd->cfg.vm_io_bps,
                              .io_iops = hd->cfg.vm_io_iops };
    struct stat st;
    int r = 0;
    if (mkdir(run_root, 0700) < 0 && errno != EEXIST)
        r = -errno;
    else if (stat(run_root, &st) < 0)
        r = -errno;
    else if (!S_ISDIR(st.st_mode))
        r = -ENOTDIR;
    else if (access(run_root, W_OK | X_OK) < 0)
        r = -errno;
    if (r == 0)
        r = host_new(hd->base, &hc, &hd->host);
    if (r < 0) {
        log_warn(NULL, "cannot start the vm layer; vm routes answer 503", "{s:s,s:s}",
                 "run_root", run_root, "err", strerror(-r));
        hd->host = NULL;
        return 0;
    }
    hd->ctl.host = hd->host;
    host_set_on_exit(hd->host, ctl_on_vm_exit, &hd->ctl);
    char note[512];
    if (!host_cgroups(hd->host, note, sizeof(note)))
        log_warn(NULL, "vms run without cgroup limits", "{s:s,s:s}", "cgroup_root",
                 hd->cfg.cgroup_root, "why", note);
    else if (note[0])
        log_warn(NULL, "vm cgroups lack some limits", "{s:s,s:s}", "cgroup_root",
                 hd->cfg.cgroup_root, "why", note);
    uint32_t uid_base, uid_count;
    char caps[512];
    jail_daemon_caps(caps, sizeof(caps));
    int dropped = jail_daemon_bounding(); /* qemu-img and QEMU get no other capability */
    if (dropped < 0)
        log_warn(NULL, "cannot limit the capability bounding set, ignoring", "{s:s,s:s}",
                 "keep", caps, "err", strerror(-dropped));
    if (host_jailed(hd->host, &uid_base, &uid_count))
        log_info(NULL, "vms run jailed", "{s:I,s:I,s:s}", "jail_uid_base", (json_int_t)uid_base,
                 "jail_uid_count", (json_int_t)uid_count, "bounding_set", caps);
    else
        log_warn(NULL, "vms run without the jail: each qemu runs as root with hearthd's "
                 "capabilities (jail = off)", "{s:s}", "capabilities", caps);
    return reconcile_run(&hd->ctl);
}

/* Sandbox networking (docs/networking.md): the hearth namespace, DNS and the bandwidth meter,
 * then the running sandboxes' data plane re-applied. Without it (no CAP_NET_ADMIN, no nftables)
 * hearthd still serves and VMs get a NIC without a link, and the log says so. */
static void start_net(struct hd_ctx *hd)
{
    const struct hd_config *c = &hd->cfg;
    char ns[CONFIG_NAME_SIZE], uplink[16], err[512] = "";
    config_net_names(c, ns, uplink);
    struct ctl_net_settings s = {
        .net = { .ns_name = ns, .uplink_root_if = uplink,
                 .uplink_pool = CONFIG_UPLINK_POOL,
                 .uplink_pool_prefix = CONFIG_UPLINK_POOL_PREFIX,
                 .sandbox_net = c->net_sandbox_net, .sandbox_prefix = c->net_sandbox_prefix,
                 .networks_net = c->net_networks_net,
                 .networks_prefix = c->net_networks_prefix,
                 .private_allow = c->egress_private_allow },
        .dns_rate_qps = c->dns_rate_limit,
        .dns_rate_burst = c->dns_rate_burst,
    };
    s.net.uplink_net = config_net_uplink(c, &s.net.uplink_auto);
    for (size_t i = 0; i < c->n_dns_upstreams; i++) {
        s.upstreams[i].sin_family = AF_INET;
        s.upstreams[i].sin_port = htons(53);
        s.upstreams[i].sin_addr.s_addr = htonl(c->dns_upstreams[i]);
    }
    s.n_upstreams = c->n_dns_upstreams;
    if (!s.n_upstreams &&
        dns_upstreams_from_resolv_conf("/etc/resolv.conf", s.upstreams, CTL_NET_MAX_UPSTREAMS,
                                       &s.n_upstreams) < 0)
        s.n_upstreams = 0;
    int r = ctl_net_start(&hd->ctl, &s, err, sizeof(err));
    if (r < 0) {
        log_error(NULL, "networking unavailable: sandboxes get no address", "{s:s,s:s}",
                  "namespace", ns, "err", err);
        return;
    }
    log_info(NULL, "networking ready", "{s:s,s:s,s:i}", "namespace", ns, "uplink", uplink,
             "dns_upstreams", (int)s.n_upstreams);
    struct store_sandbox *rows = NULL;
    size_t n = 0;
    if (store_sandbox_list_unsettled(hd->store, NULL, &rows, &n) < 0)
        return;
    const char **running = calloc(n ? n : 1, sizeof(*running));
    size_t nr = 0;
    for (size_t i = 0; running && i < n; i++)
        if (rows[i].status == STORE_RUNNING)
            running[nr++] = rows[i].id;
    if (running)
        ctl_net_reconcile(&hd->ctl, running, nr);
    free(running);
    store_sandbox_array_free(rows, n);
}

static int serve_run(struct hd_ctx *hd)
{
    serve_limits_nofile(&hd->cfg);
    int r = cmd_store_open(&hd->cfg, &hd->store);
    if (r < 0)
        return EXIT_HEARTHD;
    if (first_start_key(hd) < 0)
        return EXIT_HEARTHD;
    hd->ctl.store = hd->store;
    hd->api.ctl = &hd->ctl;
    hd->api.started_ms = timefmt_now_ms();
    hd->api.console = hd->cfg.console;
    fill_settings(hd);
    if (fill_oci(hd) < 0)
        return EXIT_HEARTHD;

    hd->base = event_base_new();
    if (!hd->base)
        return EXIT_HEARTHD;
    hd->ctl.base = hd->base;
    /* roles (docs/scale-out.md "Roles"): a control plane runs no VMs, no networking and no
     * builds, and is no host of the registry; it places creates on hosts through the work
     * queue */
    bool runs_vms = strcmp(hd->cfg.role, "control") != 0;
    if (runs_vms && start_host(hd) < 0)
        return EXIT_HEARTHD;
    /* snapshots on S3: after reconcile, so the uploads a stopped hearthd left are resumed */
    if (serve_snapshots_start(&hd->cfg, &hd->ctl) < 0)
        return EXIT_HEARTHD;
    ctl_self_start(&hd->ctl); /* the guests' own pause and delete requests */
    serve_disks_start(&hd->cfg, &hd->ctl); /* S3 disks: the key ring (docs/disks.md) */
    if (runs_vms)
        start_net(hd);
    if (ctl_idle_start(&hd->ctl) < 0)
        return EXIT_HEARTHD;
    /* the host registry (docs/scale-out.md "Hosts"): after reconcile, so the first report
     * counts the adopted VMs; a store that cannot take it is fatal like any store failure.
     * Then this host's jobs: creates other control planes placed here */
    if (hd->host && (ctl_hosts_start(&hd->ctl) < 0 ||
                     ctl_jobs_start(&hd->ctl, api_jobs_run, NULL) < 0))
        return EXIT_HEARTHD;
    /* a host whose VM layer did not start reports nothing: no work is placed on it */
    if (!hd->host && ctl_hosts_watch_start(&hd->ctl) < 0)
        return EXIT_HEARTHD;
    /* disk mounts: error ones retried, mounted ones checked; the first round re-checks what
     * adopted VMs have mounted (docs/disks.md "Mounts") */
    if (ctl_disk_mounts_watch_start(&hd->ctl) < 0)
        return EXIT_HEARTHD;
    /* template builds (docs/templates.md): attempts a stopped hearthd left are requeued, the
     * queue starts, the collector runs once */
    if (runs_vms)
        ctl_templates_start(&hd->ctl);
    /* warm pools (docs/performance.md "Warm pools"): after reconcile removed what a crashed
     * hearthd's pools left; the first refill runs from the loop */
    char pool_err[300] = "";
    if (ctl_pool_start(&hd->ctl, hd->cfg.warm_pool, hd->cfg.warm_pool_min_free_mib, pool_err,
                       sizeof(pool_err)) < 0) {
        log_error(NULL, "cannot start warm pools", "{s:s}", "err",
                  pool_err[0] ? pool_err : "out of memory");
        return EXIT_HEARTHD;
    }
    if (ctl_usage_new(&hd->ctl, &hd->api.usage) < 0)
        log_warn(NULL, "usage metrics unavailable; metrics routes answer 503", NULL);
    /* SSH gateway (issue 13; docs/ingress-ssh.md "SSH gateway"): before the API's port file,
     * which tells scripts and tests that hearthd is up (its host keys may be generated now) */
    if (hd->cfg.ssh_enabled && start_ssh(hd) < 0)
        log_warn(NULL, "serving without the ssh gateway; fix ssh_listen or set it off", NULL);
    /* the ingress proxy (docs/ingress-ssh.md "Ingress proxy"): its port files too are written
     * before the API's */
    if (start_ingress(hd) < 0)
        return EXIT_HEARTHD;
    struct http_limits limits;
    serve_limits_http(&hd->cfg, hd->ctl.set.host_max_vms, &limits);
    hd->api_srv = http_server_new(hd->base, &limits, api_handle, &hd->api);
    if (!hd->api_srv)
        return EXIT_HEARTHD;
    http_server_set_error_body(hd->api_srv, jsend_protocol_error_body);
    serve_limits_watch_accept(hd->api_srv, "api");
    if (start_hostchan(hd, &limits) < 0)
        return EXIT_HEARTHD;
    if (listen_and_record(hd, hd->api_srv, hd->cfg.listen_host, hd->cfg.listen_port, PORT_FILE,
                          "api") < 0)
        return EXIT_HEARTHD;
    if (hd->cfg.metrics_enabled) {
        hd->metrics_srv = http_server_new(hd->base, &limits, on_metrics_request, hd);
        if (hd->metrics_srv) {
            http_server_set_error_body(hd->metrics_srv, jsend_protocol_error_body);
            serve_limits_watch_accept(hd->metrics_srv, "metrics");
        }
        if (!hd->metrics_srv ||
            listen_and_record(hd, hd->metrics_srv, hd->cfg.metrics_host, hd->cfg.metrics_port,
                              METRICS_PORT_FILE, "metrics") < 0)
            return EXIT_HEARTHD;
    }
    hd->sig_term = evsignal_new(hd->base, SIGTERM, on_signal, hd);
    hd->sig_int = evsignal_new(hd->base, SIGINT, on_signal, hd);
    if (!hd->sig_term || !hd->sig_int || event_add(hd->sig_term, NULL) < 0 ||
        event_add(hd->sig_int, NULL) < 0)
        return EXIT_HEARTHD;
    char store_loc[CONFIG_PATH_SIZE + 16];
    if (hd->cfg.store[0])
        store_location_redact(hd->cfg.store, store_loc, sizeof(store_loc));
    else
        (void)snprintf(store_loc, sizeof(store_loc), "%s/hearth.db", hd->cfg.data_dir);
    log_info(NULL, "hearthd ready", "{s:s,s:s,s:s,s:s,s:s}", "data_dir", hd->cfg.data_dir,
             "store", store_loc, "images_dir", hd->ctl.set.images_dir, "region",
             hd->ctl.set.region, "host_id", hd->ctl.set.host_id);
    /* Type=notify (dist/systemd/hearthd.service): the listeners are bound, so a unit ordered
     * after hearthd can connect. Without NOTIFY_SOCKET this does nothing. */
    int nr = sd_notifyf(0, "READY=1\nSTATUS=serving on %s:%u\nMAINPID=%d", hd->cfg.listen_host,
                        http_server_port(hd->api_srv), (int)getpid());
    if (nr < 0)
        log_warn(NULL, "cannot notify systemd", "{s:s}", "err", strerror(-nr));
    if (event_base_dispatch(hd->base) < 0)
        return EXIT_HEARTHD;
    log_info(NULL, "stopped", NULL);
    return 0;
}

static void serve_release(struct hd_ctx *hd)
{
    ctl_usage_free(hd->api.usage);
    hd->api.usage = NULL;
    ingress_free(hd->ingress); /* its guest streams go before the VM layer */
    ingress_cert_free(hd->ingress_cert);
    if (hd->ingress) {
        remove_file(hd->cfg.data_dir, INGRESS_HTTP_PORT_FILE);
        remove_file(hd->cfg.data_dir, INGRESS_HTTPS_PORT_FILE);
    }
    ctl_service_stop(&hd->ctl);
    if (hd->ssh)
        remove_file(hd->cfg.data_dir, SSH_PORT_FILE);
    sshgw_free(hd->ssh); /* before the host: its channels cancel their streams */
    hd->ssh = NULL;
    /* VMs outlive hearthd (DESIGN §6): the next start re-adopts them */
    host_free_keep_vms(hd->host);
    hostchan_free(hd->chan); /* its exchanges' clients are requests of the servers below */
    hd->chan = NULL;
    http_server_free(hd->chan_srv);
    if (hd->chan_srv)
        remove_file(hd->cfg.data_dir, HOST_PORT_FILE);
    http_server_free(hd->api_srv);
    http_server_free(hd->metrics_srv);
    /* the control layer's timers (auto-pauser, wakes, ...) are events of the loop: freed while
     * it still exists (event_free() on a freed base reads freed memory) */
    ctl_service_release(&hd->ctl);
    if (hd->sig_term)
        event_free(hd->sig_term);
    if (hd->sig_int)
        event_free(hd->sig_int);
    if (hd->base)
        event_base_free(hd->base);
    if (hd->api_srv || hd->metrics_srv) {
        remove_file(hd->cfg.data_dir, PORT_FILE);
        remove_file(hd->cfg.data_dir, METRICS_PORT_FILE);
    }
    store_close(hd->store);
    api_ctx_release(&hd->api);
    if (hd->chan_srv)
        api_ctx_release(&hd->chan_api);
    /* after the control layer: its builders read it until they stop */
    hd->ctl.oci = NULL;
    free(hd->oci);
    hd->oci = NULL;
}

int cmd_serve(int argc, char **argv)
{
    const char *config = NULL, *data_dir = NULL, *listen = NULL, *images = NULL, *role = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cmd_help_print(stdout, "serve");
            return 0;
        }
        const char **dst = strcmp(a, "--config") == 0     ? &config
                           : strcmp(a, "--data-dir") == 0 ? &data_dir
                           : strcmp(a, "--listen") == 0   ? &listen
                           : strcmp(a, "--images") == 0   ? &images
                           : strcmp(a, "--role") == 0     ? &role
                                                          : NULL;
        if (!dst) {
            fprintf(stderr, "hearthd: serve: unknown option '%s'\n", a);
            cmd_help_print(stderr, "serve");
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "hearthd: serve: option '%s' needs a value\n", a);
            return EXIT_USAGE;
        }
        *dst = argv[++i];
    }
    struct hd_ctx *hd = calloc(1, sizeof(*hd));
    if (!hd)
        return EXIT_HEARTHD;
    char err[256];
    if (cmd_config_load(&hd->cfg, config, data_dir, listen, images) < 0 ||
        (role && config_set(&hd->cfg, "role", role, err, sizeof(err)) < 0 &&
         fprintf(stderr, "hearthd: --role: %s\n", err))) {
        free(hd);
        return EXIT_USAGE;
    }
    if (strcmp(hd->cfg.role, "control") == 0 && hd->cfg.warm_pool[0]) {
        fprintf(stderr, "hearthd: warm_pool needs VMs: a control plane (role = control) runs "
                        "none\n");
        free(hd);
        return EXIT_USAGE;
    }
    log_set_level(hd->cfg.log_level);
    ctl_init(&hd->ctl);
    api_ctx_init(&hd->api);
    int rc = serve_run(hd);
    serve_release(hd);
    free(hd);
    libevent_global_shutdown();
    return rc;
}
