/* SPDX-License-Identifier: MIT */
/* router.c: the API's single HTTP handler (api.h). One table maps (method, path pattern) to a
 * handler with its authentication need (SANDBOX: the routes a delegated token opens, §3.13); a
 * known path with another method is 405 with Allow, an unknown one 404 `route not found`, and
 * routes of tiers not built yet answer 501 not_implemented (docs/api.md §0.2). A source with too
 * many failed credentials gets 429 before its credential is checked (ctl/auth_limit.h). Knows
 * no resource; owns no state beyond the table. */
#include "daemon/api/api.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "daemon/api/reply.h"
#include "daemon/api/routes.h"
#include "daemon/api/sandboxes.h"
#include "daemon/ctl/auth_limit.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/idle.h"
#include "daemon/ctl/sandbox_home.h"
#include "daemon/hostchan/hostchan.h"
#include "daemon/hostchan/ident.h"
#include "common/mono.h"
#include "daemon/api/jsend.h"
#include "daemon/http/parser.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"

#define R(m, p, a, f) { HTTP_##m, p, API_AUTH_##a, false, f }
#define NI(m, p) { HTTP_##m, p, API_AUTH_KEY, false, NULL }
#define ANY_NI(p) NI(GET, p), NI(POST, p), NI(PUT, p), NI(PATCH, p), NI(DELETE, p)
/* not built yet, but a delegated token will be granted it (docs/api.md §3.13) */
#define NI_SB(m, p) { HTTP_##m, p, API_AUTH_SANDBOX, false, NULL }
#define ANY_NI_SB(p) NI_SB(GET, p), NI_SB(POST, p), NI_SB(PUT, p), NI_SB(PATCH, p), NI_SB(DELETE, p)

static const struct api_route routes[] = {
    { HTTP_GET, "/healthz", API_AUTH_NONE, true, api_get_healthz },
    /* the web console (console.c, docs/console.md) */
    { HTTP_GET, "/", API_AUTH_NONE, true, api_get_console_page },
    { HTTP_GET, "/console/*", API_AUTH_NONE, true, api_get_console_asset },
    { HTTP_GET, "/readyz", API_AUTH_NONE, true, api_get_readyz },
    R(GET, "/v1/whoami", KEY, api_get_whoami),
    R(GET, "/v1/shapes", NONE, api_get_shapes),
    R(GET, "/v1/rootfs", NONE, api_get_rootfs),
    R(GET, "/v1/hosts", ADMIN, api_get_hosts),
    /* draining a host, a hearth extension (docs/api.md "Hosts"; host_routes.c) */
    R(POST, "/v1/hosts/*/drain", ADMIN, api_host_drain),
    R(POST, "/v1/hosts/*/undrain", ADMIN, api_host_undrain),
    R(GET, "/v1/openapi.json", NONE, api_get_openapi),
    R(GET, "/v1/ssh-gateway", KEY, api_get_ssh_gateway),
    /* API keys, a hearth extension (§5.1; key_routes.c) */
    R(GET, "/v1/keys", ADMIN, api_key_list),
    R(POST, "/v1/keys", ADMIN, api_key_create),
    R(DELETE, "/v1/keys/*", ADMIN, api_key_delete),
    R(GET, "/v1/sandboxes", KEY, api_sandbox_list),
    R(POST, "/v1/sandboxes", KEY, api_sandbox_create),
    R(GET, "/v1/sandboxes/by-ip/*", KEY, api_sandbox_by_ip),
    R(GET, "/v1/sandboxes/*", SANDBOX, api_sandbox_get_or_wait),
    R(PATCH, "/v1/sandboxes/*", KEY, api_sandbox_patch),
    R(DELETE, "/v1/sandboxes/*", KEY, api_sandbox_delete),
    /* tier 1, VM-backed: wired with the async host layer */
    R(POST, "/v1/sandboxes/*/pause", KEY, api_sandbox_pause),
    R(POST, "/v1/sandboxes/*/resume", KEY, api_sandbox_resume),
    R(POST, "/v1/sandboxes/*/fork", KEY, api_sandbox_fork),
    R(POST, "/v1/sandboxes/*/resize", KEY, api_sandbox_resize),
    R(POST, "/v1/sandboxes/*/ssh-pubkeys", KEY, api_sandbox_ssh_keys),
    R(POST, "/v1/sandboxes/*/exec", SANDBOX, api_sandbox_exec),
    R(PUT, "/v1/sandboxes/*/files", SANDBOX, api_sandbox_file_put),
    R(GET, "/v1/sandboxes/*/files", SANDBOX, api_sandbox_file_get),
    R(GET, "/v1/sandboxes/*/egress", SANDBOX, api_sandbox_egress_get),
    R(PUT, "/v1/sandboxes/*/egress", KEY, api_sandbox_egress_put),
    R(GET, "/v1/sandboxes/*/bandwidth", SANDBOX, api_sandbox_bandwidth_get),
    R(POST, "/v1/sandboxes/*/bandwidth/recharge", KEY, api_sandbox_bandwidth_recharge),
    R(GET, "/v1/networks", KEY, api_network_list),
    R(POST, "/v1/networks", KEY, api_network_create),
    R(GET, "/v1/networks/*", KEY, api_network_get),
    R(DELETE, "/v1/networks/*", KEY, api_network_delete),
    R(POST, "/v1/sandboxes/*/networks", KEY, api_sandbox_network_attach),
    R(DELETE, "/v1/sandboxes/*/networks/*", KEY, api_sandbox_network_detach),
    R(GET, "/v1/disks", KEY, api_disk_list),
    R(POST, "/v1/disks", KEY, api_disk_create),
    R(GET, "/v1/disks/*", KEY, api_disk_get),
    R(PATCH, "/v1/disks/*", KEY, api_disk_patch),
    R(DELETE, "/v1/disks/*", KEY, api_disk_delete),
    R(POST, "/v1/sandboxes/*/disks", KEY, api_sandbox_disk_attach),
    R(GET, "/v1/sandboxes/*/disks", SANDBOX, api_sandbox_disk_list),
    R(DELETE, "/v1/sandboxes/*/disks/*", KEY, api_sandbox_disk_detach),
    R(GET, "/v1/templates", KEY, api_template_list),
    R(POST, "/v1/templates", KEY, api_template_create),
    R(GET, "/v1/templates/*", KEY, api_template_get),
    R(DELETE, "/v1/templates/*", KEY, api_template_delete),
    R(GET, "/v1/templates/*/logs", KEY, api_template_logs),
    R(POST, "/v1/template-contexts", KEY, api_template_context_upload),
    /* tier 2 */
    /* managed processes (§3.11; processes.c) */
    R(POST, "/v1/sandboxes/*/processes", SANDBOX, api_process_start),
    R(GET, "/v1/sandboxes/*/processes", SANDBOX, api_process_list),
    R(GET, "/v1/sandboxes/*/processes/*", SANDBOX, api_process_get),
    R(DELETE, "/v1/sandboxes/*/processes/*", SANDBOX, api_process_delete),
    R(GET, "/v1/sandboxes/*/processes/*/connect", SANDBOX, api_process_connect),
    R(POST, "/v1/sandboxes/*/processes/*/input", SANDBOX, api_process_input),
    R(POST, "/v1/sandboxes/*/processes/*/stdin/close", SANDBOX, api_process_close_stdin),
    R(POST, "/v1/sandboxes/*/processes/*/resize", SANDBOX, api_process_resize),
    R(POST, "/v1/sandboxes/*/processes/*/signal", SANDBOX, api_process_signal),
    R(GET, "/v1/sandboxes/*/processes/*/wait", SANDBOX, api_process_wait),
    R(POST, "/v1/sandboxes/*/shell", SANDBOX, api_sandbox_shell),
    R(POST, "/v1/sandboxes/*/tunnel/*", SANDBOX, api_sandbox_tunnel),
    R(GET, "/v1/sandboxes/*/shell-ws", SANDBOX, api_sandbox_shell_ws),
    /* delegated access tokens (§3.13; access_token_routes.c): the owner's key only */
    R(POST, "/v1/sandboxes/*/access-token", KEY, api_access_token_create),
    R(GET, "/v1/sandboxes/*/access-token", KEY, api_access_token_get),
    R(DELETE, "/v1/sandboxes/*/access-token", KEY, api_access_token_delete),
    R(POST, "/v1/sandboxes/*/access-token/rotate", KEY, api_access_token_rotate),
    R(GET, "/v1/sandboxes/*/metrics", SANDBOX, api_sandbox_metrics),
    R(GET, "/v1/metrics", KEY, api_user_metrics),
    R(GET, "/v1/metrics/timeseries", KEY, api_user_metrics_timeseries),
    /* hearth extensions: a sandbox's event log and console log (§5.6, §5.7) */
    R(GET, "/v1/sandboxes/*/events", SANDBOX, api_sandbox_events),
    R(GET, "/v1/sandboxes/*/logs", SANDBOX, api_sandbox_logs),
    /* tier 3 (§3.16) */
    ANY_NI_SB("/v1/sandboxes/*/computer/**"),
    ANY_NI("/v1/devices"),
    ANY_NI("/v1/devices/**"),
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

const struct api_route *api_routes(size_t *ret_n)
{
    *ret_n = N_ROUTES;
    return routes;
}

void api_ctx_init(struct api_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->console = true;
}

/* False for the console's routes when the operator turned it off (config console = off): their
 * paths are then unknown, 404 route not found whatever the method. */
static bool route_on(const struct api_ctx *ctx, const struct api_route *r)
{
    return ctx->console || (r->fn != api_get_console_page && r->fn != api_get_console_asset);
}

void api_ctx_release(struct api_ctx *ctx)
{
    api_metrics_release(&ctx->metrics);
}

/* True when path matches pattern: literal segments, '*' one segment, a final "**" one or more. */
static bool pattern_match(const char *pattern, const struct http_path *path)
{
    const char *p = pattern;
    unsigned i = 0;
    if (strcmp(pattern, "/") == 0)
        return path->n == 0;
    while (*p == '/') {
        p++;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '*' && p[1] == '*')
            return i < path->n;
        if (i >= path->n)
            return false;
        if (!(n == 1 && p[0] == '*')) {
            if (path->seg_len[i] != n || memcmp(path->seg[i], p, n) != 0)
                return false;
        }
        i++;
        p += n;
    }
    return i == path->n;
}

static const char *method_name(int m)
{
    switch (m) {
    case HTTP_GET: return "GET";
    case HTTP_HEAD: return "HEAD";
    case HTTP_POST: return "POST";
    case HTTP_PUT: return "PUT";
    case HTTP_PATCH: return "PATCH";
    case HTTP_DELETE: return "DELETE";
    case HTTP_OPTIONS: return "OPTIONS";
    default: return "OTHER";
    }
}

static bool seg_is(const struct http_path *p, unsigned i, const char *s)
{
    size_t n = strlen(s);
    return i < p->n && p->seg_len[i] == n && memcmp(p->seg[i], s, n) == 0;
}

/* docs/api.md §3.13: a delegated token opens only its own sandbox's SANDBOX routes. Another
 * sandbox is 404 as if it did not exist (whatever the route), anything else 403. Answers and
 * returns false when the request may not go on. */
static bool token_scope_ok(struct api_call *call, const struct api_route *hit,
                           const struct http_path *path)
{
    char id[STORE_ID_SIZE];
    bool mine = path->n >= 3 &&
                ids_canonical(IDS_SANDBOX_PREFIX, path->seg[2], path->seg_len[2], id,
                              sizeof(id)) == 0 && strcmp(id, call->auth.sandbox_id) == 0;
    if (path->n >= 3 && seg_is(path, 1, "sandboxes") && !seg_is(path, 2, "by-ip") && !mine) {
        api_reply_fail_str(call, 404, "sandbox not found");
        return false;
    }
    if (hit->auth != API_AUTH_SANDBOX) {
        api_reply_fail_code(call, 403, "forbidden",
                            "a sandbox access token cannot use this route; use an API key");
        return false;
    }
    return true;
}

/* The scope checks every caller goes through, wherever it was authenticated. */
static bool scope_ok(struct api_call *call, const struct api_route *hit)
{
    if (call->auth.sandbox_id[0])
        return token_scope_ok(call, hit, http_request_path(call->req));
    if (hit->auth == API_AUTH_ADMIN && !call->auth.admin) {
        api_reply_fail_code(call, 403, "forbidden", "admin key required");
        return false;
    }
    return true;
}

/* On the host channel (docs/scale-out.md "Host channel"): the peer host proved itself with its
 * certificate (the TLS handshake verified it against the fleet's CA); the caller it
 * authenticated comes in the X-Hearth-Forwarded-* headers, each at most once. */
static bool authenticate_forwarded(struct api_call *call, const struct api_route *hit)
{
    struct http_request *req = call->req;
    if (!http_request_peer_cn(req)) {
        api_reply_fail_str(call, 401, "host channel: no verified peer certificate");
        return false;
    }
    const char *names[] = { HOSTCHAN_H_USER, HOSTCHAN_H_KEY, HOSTCHAN_H_ADMIN,
                            HOSTCHAN_H_SANDBOX };
    const char *vals[4] = { NULL, NULL, NULL, NULL };
    unsigned n = http_request_header_count(req);
    for (unsigned i = 0; i < n; i++) {
        const struct http_header *h = http_request_header_at(req, i);
        if (!hostchan_ident_header(h->name, h->name_len))
            continue;
        size_t k = 0;
        while (k < 4 && strcasecmp(names[k], h->name) != 0)
            k++;
        if (k == 4 || vals[k]) {
            api_reply_fail_code(call, 400, "invalid_request",
                                k == 4 ? "unknown X-Hearth-Forwarded- header"
                                       : "repeated X-Hearth-Forwarded- header");
            return false;
        }
        vals[k] = h->value;
    }
    struct hostchan_ident w;
    const char *why = "";
    if (hostchan_ident_parse(vals[0], vals[1], vals[2], vals[3], &w, &why) < 0) {
        api_reply_fail_code(call, 400, "invalid_request", why);
        return false;
    }
    memset(&call->auth, 0, sizeof(call->auth));
    memcpy(call->auth.key_id, w.key_id, sizeof(call->auth.key_id));
    memcpy(call->auth.user_id, w.user_id, sizeof(call->auth.user_id));
    call->auth.admin = w.admin;
    memcpy(call->auth.sandbox_id, w.sandbox_id, sizeof(call->auth.sandbox_id));
    return scope_ok(call, hit);
}

/* Authenticates the request for hit (limiter first, then the credential, then the admin flag
 * and a token's scope). Answers and returns false when it may not go on. */
static bool authenticate(struct api_call *call, const struct api_route *hit)
{
    struct api_ctx *ctx = call->ctx;
    struct http_request *req = call->req;
    if (ctx->channel)
        return authenticate_forwarded(call, hit);
    bool query = hit->fn == api_sandbox_shell_ws;
    const struct sockaddr *peer = http_request_peer(req);
    if (api_auth_present(req, query)) {
        unsigned wait = ctl_auth_retry_after(ctx->ctl, CTL_AUTH_API, peer);
        if (wait > 0) {
            (void)http_response_retry_after(req, wait); /* (void): the 429 goes out anyway */
            api_reply_fail_code(call, 429, "rate_limited",
                                "too many failed credentials from this address; retry later");
            return false;
        }
    }
    int r = query ? api_auth_check_query(ctx, req, &call->auth)
                  : api_auth_check(ctx, req, &call->auth);
    if (r == -EACCES || r == -ENOKEY) {
        if (r == -EACCES)
            ctl_auth_failed(ctx->ctl, CTL_AUTH_API, peer);
        api_reply_fail_str(call, 401, "missing or invalid credential");
        return false;
    }
    if (r < 0) {
        api_reply_internal(call, "authenticate", r);
        return false;
    }
    return scope_ok(call, hit);
}

/* A request addressed to one sandbox (/v1/sandboxes/{id} and below, not by-ip) whose VM
 * another host runs goes to that host over the host channel (ctl/sandbox_home.h decides,
 * hostchan/ forwards). Returns true when it was forwarded or answered here. On the channel
 * itself nothing is forwarded again: a request for a sandbox not on this host is 421. */
static bool route_elsewhere(struct api_call *call)
{
    struct api_ctx *ctx = call->ctx;
    const struct http_path *p = http_request_path(call->req);
    char id[STORE_ID_SIZE];
    if (p->n < 3 || !seg_is(p, 0, "v1") || !seg_is(p, 1, "sandboxes") ||
        ids_canonical(IDS_SANDBOX_PREFIX, p->seg[2], p->seg_len[2], id, sizeof(id)) < 0)
        return false;
    struct ctl_sandbox_home home;
    ctl_sandbox_home(ctx->ctl, call->auth.user_id, id, &home);
    if (home.where == CTL_HOME_LOCAL)
        return false;
    if (ctx->channel) {
        api_reply_fail_code(call, 421, "misdirected_request",
                            "this sandbox is not on this host");
        return true;
    }
    /* a plain read of a sandbox whose host is down is the row, and its events are in the
     * store too: together they say what happened */
    if (home.where == CTL_HOME_DOWN && http_request_method(call->req) == HTTP_GET &&
        (p->n == 3 || (p->n == 4 && seg_is(p, 3, "events"))))
        return false;
    if (home.where == CTL_HOME_DOWN || !ctx->chan) {
        char msg[300];
        snprintf(msg, sizeof(msg), "the host running this sandbox cannot be reached: %s; "
                 "retry later", home.where == CTL_HOME_DOWN ? home.why
                 : "this host has no host channel (host_tls_ca, host_tls_cert, host_tls_key)");
        (void)http_response_retry_after(call->req, 5); /* (void): the 503 goes out anyway */
        api_reply_error(call, 503, msg, "unavailable");
        return true;
    }
    struct hostchan_ident who;
    memset(&who, 0, sizeof(who));
    memcpy(who.user_id, call->auth.user_id, sizeof(who.user_id));
    memcpy(who.key_id, call->auth.key_id, sizeof(who.key_id));
    who.admin = call->auth.admin;
    memcpy(who.sandbox_id, call->auth.sandbox_id, sizeof(who.sandbox_id));
    hostchan_forward(ctx->chan, call->req, &who, home.host_id, home.address);
    return true;
}

static void not_implemented(struct api_call *call)
{
    api_reply_error(call, 501, "this route is not implemented yet", "not_implemented");
}

void api_handle(struct http_request *req, void *ud)
{
    struct api_ctx *ctx = ud;
    int method = http_request_method(req);
    struct api_call call = {
        .ctx = ctx,
        .req = req,
        .method = method_name(method),
        .start_us = mono_now_us(),
    };
    const struct http_path *path = http_request_path(req);
    const struct api_route *hit = NULL;
    bool path_known = false;
    char allow[128] = "";
    uint64_t seen = 0;
    for (size_t i = 0; i < N_ROUTES; i++) {
        const struct api_route *r = &routes[i];
        if (!pattern_match(r->pattern, path) || !route_on(ctx, r))
            continue;
        if (!path_known)
            call.route = r; /* metrics label for a 405 */
        path_known = true;
        bool ok = r->method == method || (method == HTTP_HEAD && r->head_ok);
        if (ok && !hit)
            hit = r;
        int ms[2] = { r->method, r->head_ok ? HTTP_HEAD : -1 };
        for (int k = 0; k < 2; k++) {
            /* Allow lists each method once, in table order */
            if (ms[k] < 0 || ms[k] >= 64 || (seen & (1ull << ms[k])))
                continue;
            seen |= 1ull << ms[k];
            size_t al = strlen(allow);
            snprintf(allow + al, sizeof(allow) - al, "%s%s", al ? ", " : "", method_name(ms[k]));
        }
    }
    if (!path_known) {
        (void)jsend_reply_not_found(req);
        api_reply_done(&call, 404);
        return;
    }
    if (!hit) {
        (void)jsend_reply_method_not_allowed(req, allow);
        api_reply_done(&call, 405);
        return;
    }
    call.route = hit;
    if (hit->auth != API_AUTH_NONE && !authenticate(&call, hit))
        return;
    if (hit->auth != API_AUTH_NONE && route_elsewhere(&call))
        return;
    /* §2.14.8: any request addressed to a sandbox is activity (auto-pause) */
    const struct http_path *sp = http_request_path(req);
    if (sp->n >= 3 && sp->seg_len[1] == 9 && memcmp(sp->seg[1], "sandboxes", 9) == 0 &&
        sp->seg_len[2] > 3 && memcmp(sp->seg[2], "sb-", 3) == 0 &&
        sp->seg_len[2] < 40 && call.auth.user_id[0]) {
        char id[40];
        memcpy(id, sp->seg[2], sp->seg_len[2]);
        id[sp->seg_len[2]] = '\0';
        ctl_idle_touch_request(ctx->ctl, call.auth.user_id, id);
    }
    if (hit->fn)
        hit->fn(&call);
    else
        not_implemented(&call);
}
