/* SPDX-License-Identifier: MIT */
/* api.c: the client handle and one function per API route (docs/api.md §3.1–§3.8). Each builds a
 * path, runs it through hreq_perform() and decodes the JSend envelope. Waiting for a lifecycle
 * transition is wait.c's job. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/lib_internal.h"
#include "lib/jsend_read.h"
#include "lib/ndjson.h"

#define NDJSON_LINE_MAX ((size_t)4 << 20)

/* ---- client ---- */

static bool curl_ready;

HEARTH_EXPORT hearth_client *hearth_client_new(const char *base_url, const char *api_key)
{
    if (!base_url || (strncmp(base_url, "http://", 7) != 0 &&
                      strncmp(base_url, "https://", 8) != 0) ||
        strpbrk(base_url, "?# \t\r\n"))
        return NULL;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        curl_ready = true;
    }
    hearth_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->base_url = strdup(base_url);
    c->user_agent = strdup("libhearth/" HEARTH_VERSION);
    c->api_key = api_key && *api_key ? strdup(api_key) : NULL;
    c->curl = curl_easy_init();
    c->timeout_ms = 60000;
    c->create_timeout_ms = 90000;
    c->connect_timeout_ms = 10000;
    c->retries = 2;
    if (!c->base_url || !c->user_agent || (api_key && *api_key && !c->api_key) || !c->curl) {
        hearth_client_free(c);
        return NULL;
    }
    size_t n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        c->base_url[--n] = '\0';
    return c;
}

HEARTH_EXPORT void hearth_client_free(hearth_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    if (c->api_key) {
        explicit_bzero(c->api_key, strlen(c->api_key));
        free(c->api_key);
    }
    free(c->base_url);
    free(c->user_agent);
    free(c);
}

HEARTH_EXPORT void hearth_client_set_timeout_ms(hearth_client *c, long ms)
{
    c->timeout_ms = ms < 0 ? 0 : ms;
}

HEARTH_EXPORT void hearth_client_set_create_timeout_ms(hearth_client *c, long ms)
{
    c->create_timeout_ms = ms < 0 ? 0 : ms;
}

HEARTH_EXPORT void hearth_client_set_connect_timeout_ms(hearth_client *c, long ms)
{
    c->connect_timeout_ms = ms < 0 ? 0 : ms;
}

HEARTH_EXPORT void hearth_client_set_retries(hearth_client *c, int retries)
{
    c->retries = retries < 0 ? 0 : retries;
}

HEARTH_EXPORT int hearth_client_set_user_agent(hearth_client *c, const char *ua)
{
    char *s = strdup(ua ? ua : "");
    if (!s)
        return HEARTH_ERR_NOMEM;
    free(c->user_agent);
    c->user_agent = s;
    return HEARTH_OK;
}

HEARTH_EXPORT void hearth_client_set_log(hearth_client *c, hearth_log_fn fn, void *userdata)
{
    c->log_fn = fn;
    c->log_ud = userdata;
}

HEARTH_EXPORT void hearth_client_set_progress(hearth_client *c, hearth_progress_fn fn,
                                              void *userdata)
{
    c->progress_fn = fn;
    c->progress_ud = userdata;
}

/* ---- helpers ---- */

/* "/v1/sandboxes/<escaped id><suffix>" into a new string. */
static char *id_path(const char *prefix, const char *id, const char *suffix)
{
    if (!id || !*id)
        return NULL;
    char *e = curl_easy_escape(NULL, id, 0);
    if (!e)
        return NULL;
    size_t n = strlen(prefix) + strlen(e) + strlen(suffix) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", prefix, e, suffix);
    curl_free(e);
    return p;
}

/* id_path() into *ret_path (caller frees), or the error: an empty ref (named what) or no memory. */
static int ref_path(const char *prefix, const char *ref, const char *suffix, const char *what,
                    char **ret_path, struct hearth_error *reterr)
{
    char *path = id_path(prefix, ref, suffix);
    if (!path)
        return ref && *ref ? err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory")
                           : err_set(reterr, HEARTH_ERR_INVALID, 0, "empty %s", what);
    *ret_path = path;
    return HEARTH_OK;
}

/* "/v1/sandboxes/<id><suffix>" into *ret_path (caller frees). */
static int sandbox_path(const char *id, const char *suffix, char **ret_path,
                        struct hearth_error *reterr)
{
    return ref_path("/v1/sandboxes/", id, suffix, "sandbox id", ret_path, reterr);
}

/* The 200-or-202 answer of an asynchronous lifecycle call (docs/api.md §1.12: X-Poll-After is
 * integer seconds ≥ 1; a missing or zero value reads as the server's usual 1 s). */
static void async_from(const struct hresp *resp, struct hearth_async *ret_async)
{
    if (!ret_async)
        return;
    ret_async->http_status = resp->status;
    if (resp->status != 202)
        ret_async->poll_after_ms = 0;
    else if (resp->poll_after_s < 1)
        ret_async->poll_after_ms = 1000;
    else
        ret_async->poll_after_ms = (int)(resp->poll_after_s > 3600 ? 3600 : resp->poll_after_s) *
                                   1000;
}

/* Performs r and decodes the answer: 2xx → *ret_data (new reference) and *ret_async (may be
 * NULL), else the typed error. */
static int call_async(hearth_client *c, const struct hreq *r, json_t **ret_data,
                      struct hearth_async *ret_async, struct hearth_error *reterr)
{
    struct hresp resp;
    struct hearth_error local;
    struct hearth_error *e = reterr ? reterr : &local;
    int rc = hreq_perform(c, r, &resp, e);
    if (rc == HEARTH_OK) {
        if (resp.status >= 200 && resp.status < 300) {
            if (ret_data) {
                rc = jsend_decode_success((const char *)resp.body.data, resp.body.len,
                                          ret_data, e);
                if (rc != HEARTH_OK)
                    snprintf(e->request_id, sizeof(e->request_id), "%s", resp.request_id);
            }
            if (rc == HEARTH_OK)
                async_from(&resp, ret_async);
        } else {
            rc = jsend_decode_error(resp.status, (const char *)resp.body.data, resp.body.len,
                                    resp.request_id, e);
        }
    }
    hresp_release(&resp);
    return rc;
}

static int call(hearth_client *c, const struct hreq *r, json_t **ret_data,
                struct hearth_error *reterr)
{
    return call_async(c, r, ret_data, NULL, reterr);
}

static int call_obj_async(hearth_client *c, const struct hreq *r, hearth_obj **ret,
                          struct hearth_async *ret_async, struct hearth_error *reterr)
{
    json_t *data = NULL;
    int rc = call_async(c, r, &data, ret_async, reterr);
    if (rc != HEARTH_OK)
        return rc;
    hearth_obj *o = obj_wrap(data);
    if (!o)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    if (ret)
        *ret = o;
    else
        hearth_obj_free(o);
    return HEARTH_OK;
}

static int call_obj(hearth_client *c, const struct hreq *r, hearth_obj **ret,
                    struct hearth_error *reterr)
{
    return call_obj_async(c, r, ret, NULL, reterr);
}

static int body_call_obj_async(hearth_client *c, struct hreq *r, const hearth_body *body,
                               hearth_obj **ret, struct hearth_async *ret_async,
                               struct hearth_error *reterr)
{
    char *text = body ? hearth_body_json(body) : strdup("{}");
    if (!text)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    r->body = text;
    r->body_len = strlen(text);
    int rc = call_obj_async(c, r, ret, ret_async, reterr);
    free(text);
    return rc;
}

static int body_call_obj(hearth_client *c, struct hreq *r, const hearth_body *body,
                         hearth_obj **ret, struct hearth_error *reterr)
{
    return body_call_obj_async(c, r, body, ret, NULL, reterr);
}

/* "<base>?offset=N[&limit=N][&status=S]" into q. Returns -1 when it does not fit. */
static int page_query(char *q, size_t n, const char *base, const struct hearth_page *page)
{
    int64_t offset = page && page->offset > 0 ? page->offset : 0;
    int w = snprintf(q, n, "%s?offset=%lld", base, (long long)offset);
    if (w < 0 || (size_t)w >= n)
        return -1;
    size_t used = (size_t)w;
    if (page && page->limit > 0) {
        w = snprintf(q + used, n - used, "&limit=%lld", (long long)page->limit);
        if (w < 0 || (size_t)w >= n - used)
            return -1;
        used += (size_t)w;
    }
    if (page && page->status) {
        char *e = curl_easy_escape(NULL, page->status, 0);
        if (!e)
            return -1;
        w = snprintf(q + used, n - used, "&status=%s", e);
        curl_free(e);
        if (w < 0 || (size_t)w >= n - used)
            return -1;
    }
    return 0;
}

/* One page of a paginated list: {"data":[…],"pagination":{"total":…}}. */
static int call_page(hearth_client *c, const char *base, const struct hearth_page *page,
                     json_t **ret_items, int64_t *ret_total, struct hearth_error *reterr)
{
    char path[512];
    if (page_query(path, sizeof(path), base, page) < 0)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "status filter too long");
    struct hreq r = { .method = "GET", .path = path, .upload_fd = -1,
                      .timeout_ms = c->timeout_ms };
    json_t *data = NULL;
    int rc = call(c, &r, &data, reterr);
    if (rc != HEARTH_OK)
        return rc;
    json_t *items = json_object_get(data, "data");
    json_t *total = json_object_get(json_object_get(data, "pagination"), "total");
    if (!json_is_array(items) || !json_is_integer(total)) {
        json_decref(data);
        return err_set(reterr, HEARTH_ERR_PROTOCOL, 200, "list response has no data/pagination");
    }
    *ret_items = json_incref(items);
    *ret_total = json_integer_value(total);
    json_decref(data);
    return HEARTH_OK;
}

static int call_list(hearth_client *c, const char *base, const struct hearth_page *page,
                     hearth_list **ret, struct hearth_error *reterr)
{
    json_t *items = NULL;
    int64_t total = 0;
    int rc = call_page(c, base, page, &items, &total, reterr);
    if (rc != HEARTH_OK)
        return rc;
    hearth_list *l = list_wrap(items, total);
    if (!l)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    *ret = l;
    return HEARTH_OK;
}

/* ---- health, identity ---- */

HEARTH_EXPORT int hearth_healthz(hearth_client *c, struct hearth_error *reterr)
{
    struct hreq r = { .method = "GET", .path = "/healthz", .upload_fd = -1,
                      .timeout_ms = c->timeout_ms };
    json_t *data = NULL;
    int rc = call(c, &r, &data, reterr);
    json_decref(data);
    return rc;
}

HEARTH_EXPORT int hearth_readyz(hearth_client *c, hearth_obj **ret, struct hearth_error *reterr)
{
    struct hreq r = { .method = "GET", .path = "/readyz", .upload_fd = -1,
                      .timeout_ms = c->timeout_ms, .no_retry = true };
    struct hresp resp;
    struct hearth_error local;
    struct hearth_error *e = reterr ? reterr : &local;
    int rc = hreq_perform(c, &r, &resp, e);
    if (rc != HEARTH_OK) {
        hresp_release(&resp);
        return rc;
    }
    json_t *data = NULL;
    if (resp.status == 200) {
        rc = jsend_decode_success((const char *)resp.body.data, resp.body.len, &data, e);
    } else {
        rc = jsend_decode_error(resp.status, (const char *)resp.body.data, resp.body.len,
                                resp.request_id, e);
        /* 503 carries a fail envelope with {"ready":false,"reason":…} (docs/api.md §3.1.2) */
        json_t *root = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
        json_t *d = json_object_get(root, "data");
        if (json_is_object(d)) {
            data = json_incref(d);
            const char *reason = json_string_value(json_object_get(d, "reason"));
            if (reason)
                snprintf(e->message, sizeof(e->message), "not ready: %s", reason);
        }
        json_decref(root);
    }
    hresp_release(&resp);
    if (data && ret) {
        hearth_obj *o = obj_wrap(data);
        if (o)
            *ret = o;
    } else {
        json_decref(data);
    }
    return rc;
}

HEARTH_EXPORT int hearth_whoami(hearth_client *c, hearth_obj **ret, struct hearth_error *reterr)
{
    struct hreq r = { .method = "GET", .path = "/v1/whoami", .upload_fd = -1,
                      .timeout_ms = c->timeout_ms };
    return call_obj(c, &r, ret, reterr);
}

HEARTH_EXPORT int hearth_ssh_gateway_get(hearth_client *c, hearth_obj **ret,
                                         struct hearth_error *reterr)
{
    struct hreq r = { .method = "GET", .path = "/v1/ssh-gateway", .upload_fd = -1,
                      .timeout_ms = c->timeout_ms };
    return call_obj(c, &r, ret, reterr);
}

HEARTH_EXPORT int hearth_hosts_list(hearth_client *c, const struct hearth_page *page,
                                    hearth_list **ret, struct hearth_error *reterr)
{
    return call_list(c, "/v1/hosts", page, ret, reterr);
}

/* ---- sandboxes ---- */

HEARTH_EXPORT int hearth_sandbox_create(hearth_client *c, const hearth_body *body,
                                        hearth_obj **ret, struct hearth_error *reterr)
{
    struct hreq r = { .method = "POST", .path = "/v1/sandboxes", .upload_fd = -1,
                      .timeout_ms = c->create_timeout_ms };
    return body_call_obj(c, &r, body, ret, reterr);
}

HEARTH_EXPORT int hearth_sandbox_list(hearth_client *c, const struct hearth_page *page,
                                      hearth_list **ret, struct hearth_error *reterr)
{
    return call_list(c, "/v1/sandboxes", page, ret, reterr);
}

HEARTH_EXPORT int hearth_sandbox_list_all(hearth_client *c, const char *status, size_t max,
                                          hearth_list **ret, struct hearth_error *reterr)
{
    json_t *all = json_array();
    if (!all)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    int64_t total = 0;
    for (;;) {
        struct hearth_page page = { .limit = 500, .offset = (int64_t)json_array_size(all),
                                    .status = status };
        json_t *items = NULL;
        int rc = call_page(c, "/v1/sandboxes", &page, &items, &total, reterr);
        if (rc != HEARTH_OK) {
            json_decref(all);
            return rc;
        }
        size_t got = json_array_size(items);
        json_array_extend(all, items);
        json_decref(items);
        size_t have = json_array_size(all);
        if (got == 0 || (int64_t)have >= total || (max && have >= max))
            break;
    }
    while (max && json_array_size(all) > max)
        json_array_remove(all, json_array_size(all) - 1);
    hearth_list *l = list_wrap(all, total);
    if (!l)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    *ret = l;
    return HEARTH_OK;
}

static int sandbox_call(hearth_client *c, const char *method, const char *id, const char *suffix,
                        const hearth_body *body, bool with_body, hearth_obj **ret,
                        struct hearth_error *reterr)
{
    char *path = NULL;
    int rc = sandbox_path(id, suffix, &path, reterr);
    if (rc != HEARTH_OK)
        return rc;
    struct hreq r = { .method = method, .path = path, .upload_fd = -1,
                      .timeout_ms = c->timeout_ms };
    rc = with_body ? body_call_obj(c, &r, body, ret, reterr) : call_obj(c, &r, ret, reterr);
    free(path);
    return rc;
}

HEARTH_EXPORT int hearth_sandbox_get(hearth_client *c, const char *id, hearth_obj **ret,
                                     struct hearth_error *reterr)
{
    return sandbox_call(c, "GET", id, "", NULL, false, ret, reterr);
}

int lib_sandbox_wait_get(hearth_client *c, const char *id, const char *wait_for, long timeout_ms,
                         hearth_obj **ret, int *ret_timed_out, struct hearth_error *reterr)
{
    char suffix[160];
    snprintf(suffix, sizeof(suffix), "?wait_for=%s&timeout_ms=%ld", wait_for, timeout_ms);
    char *path = NULL;
    int rc = sandbox_path(id, suffix, &path, reterr);
    if (rc != HEARTH_OK)
        return rc;
    /* the server holds the answer up to timeout_ms: the request's own budget comes on top */
    struct hreq r = { .method = "GET", .path = path, .upload_fd = -1,
                      .timeout_ms = c->timeout_ms > 0 ? c->timeout_ms + timeout_ms : 0 };
    struct hresp resp;
    struct hearth_error local;
    struct hearth_error *e = reterr ? reterr : &local;
    json_t *data = NULL;
    *ret_timed_out = -1;
    rc = hreq_perform(c, &r, &resp, e);
    free(path);
    if (rc == HEARTH_OK) {
        if (resp.status >= 200 && resp.status < 300) {
            rc = jsend_decode_success((const char *)resp.body.data, resp.body.len, &data, e);
            *ret_timed_out = resp.wait_timed_out;
        } else {
            rc = jsend_decode_error(resp.status, (const char *)resp.body.data, resp.body.len,
                                    resp.request_id, e);
        }
    }
    hresp_release(&resp);
    if (rc != HEARTH_OK)
        return rc;
    hearth_obj *o = obj_wrap(data);
    if (!o)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    *ret = o;
    return HEARTH_OK;
}

HEARTH_EXPORT int hearth_sandbox_patch(hearth_client *c, const char *id, const hearth_body *body,
                                       hearth_obj **ret, struct hearth_error *reterr)
{
    return sandbox_call(c, "PATCH", id, "", body, true, ret, reterr);
}

HEARTH_EXPORT int hearth_sandbox_delete(hearth_client *c, const char *id, hearth_obj **ret,
                                        struct hearth_error *reterr)
{
    return sandbox_call(c, "DELETE", id, "", NULL, false, ret, reterr);
}

/* POSTs body b to /v1/sandboxes/{id}<suffix> when building it went well (rc), else reports
 * rc with what in front; frees b. */
static int post_built(hearth_client *c, const char *id, const char *suffix, hearth_body *b, int rc,
                      const char *what, hearth_obj **ret, struct hearth_error *reterr)
{
    if (rc == HEARTH_OK)
        rc = sandbox_call(c, "POST", id, suffix, b, true, ret, reterr);
    else
        err_set(reterr, rc, 0, "%s%s", what, hearth_strerror(rc));
    hearth_body_free(b);
    return rc;
}

HEARTH_EXPORT int hearth_sandbox_resize(hearth_client *c, const char *id, int64_t disk_mib,
                                        hearth_obj **ret, struct hearth_error *reterr)
{
    hearth_body *b = hearth_body_new();
    if (!b)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    return post_built(c, id, "/resize", b, hearth_body_set_int(b, "disk_mib", disk_mib), "", ret,
                      reterr);
}

HEARTH_EXPORT int hearth_sandbox_add_ssh_keys(hearth_client *c, const char *id,
                                              const char *const *keys, size_t n,
                                              hearth_obj **ret, struct hearth_error *reterr)
{
    hearth_body *b = hearth_body_new();
    if (!b)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    int rc = HEARTH_OK;
    for (size_t i = 0; i < n && rc == HEARTH_OK; i++)
        rc = hearth_body_append_str(b, "keys", keys[i]);
    return post_built(c, id, "/ssh-pubkeys", b, rc, "ssh key ", ret, reterr);
}

/* ---- lifecycle ---- */

/* POST /v1/sandboxes/{id}<suffix> with an optional body, keeping the 200/202 distinction. */
static int lifecycle_call(hearth_client *c, const char *id, const char *suffix,
                          const hearth_body *body, bool with_body, long timeout_ms,
                          hearth_obj **ret, struct hearth_async *ret_async,
                          struct hearth_error *reterr)
{
    char *path = NULL;
    int rc = sandbox_path(id, suffix, &path, reterr);
    if (rc != HEARTH_OK)
        return rc;
    struct hreq r = { .method = "POST", .path = path, .upload_fd = -1,
                      .timeout_ms = timeout_ms };
    rc = with_body ? body_call_obj_async(c, &r, body, ret, ret_async, reterr)
                       : call_obj_async(c, &r, ret, ret_async, reterr);
    free(path);
    return rc;
}

HEARTH_EXPORT int hearth_sandbox_pause(hearth_client *c, const char *id, hearth_obj **ret,
                                       struct hearth_async *ret_async,
                                       struct hearth_error *reterr)
{
    return lifecycle_call(c, id, "/pause", NULL, false, c->timeout_ms, ret, ret_async, reterr);
}

HEARTH_EXPORT int hearth_sandbox_resume(hearth_client *c, const char *id, hearth_obj **ret,
                                        struct hearth_async *ret_async,
                                        struct hearth_error *reterr)
{
    return lifecycle_call(c, id, "/resume", NULL, false, c->timeout_ms, ret, ret_async, reterr);
}

HEARTH_EXPORT int hearth_sandbox_fork(hearth_client *c, const char *id, const hearth_body *body,
                                      hearth_obj **ret, struct hearth_async *ret_async,
                                      struct hearth_error *reterr)
{
    return lifecycle_call(c, id, "/fork", body, true, c->create_timeout_ms, ret, ret_async,
                          reterr);
}

/* ---- networking: egress, bandwidth, networks ---- */

/* method path [json body] → *ret; takes the reference to body (may be NULL: no body). */
static int path_call(hearth_client *c, const char *method, const char *path, json_t *body,
                     hearth_obj **ret, struct hearth_error *reterr)
{
    char *text = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (!text)
            return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    }
    struct hreq r = { .method = method, .path = path, .body = text,
                      .body_len = text ? strlen(text) : 0, .upload_fd = -1,
                      .timeout_ms = c->timeout_ms };
    int rc = call_obj(c, &r, ret, reterr);
    free(text);
    return rc;
}

/* path_call() on ref_path()'s path; takes the reference to body (may be NULL). */
static int ref_path_call(hearth_client *c, const char *method, const char *prefix,
                         const char *ref, const char *suffix, const char *what, json_t *body,
                         hearth_obj **ret, struct hearth_error *reterr)
{
    char *path = NULL;
    int rc = ref_path(prefix, ref, suffix, what, &path, reterr);
    if (rc != HEARTH_OK) {
        json_decref(body);
        return rc;
    }
    rc = path_call(c, method, path, body, ret, reterr);
    free(path);
    return rc;
}

static int sandbox_path_call(hearth_client *c, const char *method, const char *id,
                             const char *suffix, json_t *body, hearth_obj **ret,
                             struct hearth_error *reterr)
{
    return ref_path_call(c, method, "/v1/sandboxes/", id, suffix, "sandbox id", body, ret,
                         reterr);
}

HEARTH_EXPORT int hearth_access_token_create(hearth_client *c, const char *id, hearth_obj **ret,
                                             struct hearth_error *reterr)
{
    return sandbox_call(c, "POST", id, "/access-token", NULL, false, ret, reterr);
}

HEARTH_EXPORT int hearth_access_token_get(hearth_client *c, const char *id, hearth_obj **ret,
                                          struct hearth_error *reterr)
{
    return sandbox_call(c, "GET", id, "/access-token", NULL, false, ret, reterr);
}

HEARTH_EXPORT int hearth_access_token_rotate(hearth_client *c, const char *id, hearth_obj **ret,
                                             struct hearth_error *reterr)
{
    return sandbox_call(c, "POST", id, "/access-token/rotate", NULL, false, ret, reterr);
}

HEARTH_EXPORT int hearth_access_token_delete(hearth_client *c, const char *id, hearth_obj **ret,
                                             struct hearth_error *reterr)
{
    return sandbox_call(c, "DELETE", id, "/access-token", NULL, false, ret, reterr);
}

HEARTH_EXPORT int hearth_egress_get(hearth_client *c, const char *id, hearth_obj **ret,
                                    struct hearth_error *reterr)
{
    return sandbox_call(c, "GET", id, "/egress", NULL, false, ret, reterr);
}

HEARTH_EXPORT int hearth_egress_put(hearth_client *c, const char *id, const char *const *rules,
                                    size_t n, hearth_obj **ret, struct hearth_error *reterr)
{
    if (n && !rules)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "no rules");
    json_t *list = json_array();
    json_t *body = json_object();
    if (!list || !body || json_object_set(body, "egress", list) < 0) {
        json_decref(list);
        json_decref(body);
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    }
    json_decref(list); /* body holds it */
    for (size_t i = 0; i < n; i++) {
        json_t *s = rules[i] ? json_string(rules[i]) : NULL;
        if (!s || json_array_append_new(list, s) < 0) {
            json_decref(body);
            return err_set(reterr, HEARTH_ERR_INVALID, 0, "egress rule %zu is %s", i,
                           rules[i] ? "not UTF-8 text" : "missing");
        }
    }
    return sandbox_path_call(c, "PUT", id, "/egress", body, ret, reterr);
}

HEARTH_EXPORT int hearth_bandwidth_get(hearth_client *c, const char *id, hearth_obj **ret,
                                       struct hearth_error *reterr)
{
    return sandbox_call(c, "GET", id, "/bandwidth", NULL, false, ret, reterr);
}

HEARTH_EXPORT int hearth_sandbox_events(hearth_client *c, const char *id, int64_t after,
                                        int limit, hearth_obj **ret,
                                        struct hearth_error *reterr)
{
    char q[64];
    snprintf(q, sizeof(q), "/events?after=%lld&limit=%d", (long long)(after > 0 ? after : 0),
             limit > 0 ? limit : 100);
    return sandbox_call(c, "GET", id, q, NULL, false, ret, reterr);
}

HEARTH_EXPORT int hearth_bandwidth_recharge(hearth_client *c, const char *id, int64_t add_bytes,
                                            hearth_obj **ret, struct hearth_error *reterr)
{
    if (add_bytes < 1 || add_bytes > HEARTH_RECHARGE_MAX)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "add_bytes %lld is not 1 to 2^50",
                       (long long)add_bytes);
    json_t *body = json_pack("{sI}", "add_bytes", (json_int_t)add_bytes);
    return body ? sandbox_path_call(c, "POST", id, "/bandwidth/recharge", body, ret, reterr)
                : err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
}

HEARTH_EXPORT int hearth_network_list(hearth_client *c, const struct hearth_page *page,
                                      hearth_list **ret, struct hearth_error *reterr)
{
    struct hearth_page p = { 0 };
    if (page) {
        p = *page;
        p.status = NULL; /* networks have no status filter */
    }
    return call_list(c, "/v1/networks", &p, ret, reterr);
}

/* {key: value} as a new JSON body into *ret; what names the value in the not-UTF-8 error. */
static int string_body(const char *key, const char *value, const char *what, json_t **ret,
                       struct hearth_error *reterr)
{
    json_t *body = json_object();
    json_t *s = json_string(value);
    if (!body || !s || json_object_set_new(body, key, s) < 0) {
        json_decref(body);
        return s ? err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory")
                 : err_set(reterr, HEARTH_ERR_INVALID, 0, "%s is not UTF-8 text", what);
    }
    *ret = body;
    return HEARTH_OK;
}

HEARTH_EXPORT int hearth_network_create(hearth_client *c, const char *name, hearth_obj **ret,
                                        struct hearth_error *reterr)
{
    if (!name || !*name)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty network name");
    json_t *body;
    int rc = string_body("name", name, "network name", &body, reterr);
    return rc != HEARTH_OK ? rc : path_call(c, "POST", "/v1/networks", body, ret, reterr);
}

/* GET or DELETE /v1/networks/{ref}. */
static int network_call(hearth_client *c, const char *method, const char *ref, hearth_obj **ret,
                        struct hearth_error *reterr)
{
    return ref_path_call(c, method, "/v1/networks/", ref, "", "network reference", NULL, ret,
                         reterr);
}

HEARTH_EXPORT int hearth_network_get(hearth_client *c, const char *ref, hearth_obj **ret,
                                     struct hearth_error *reterr)
{
    return network_call(c, "GET", ref, ret, reterr);
}

HEARTH_EXPORT int hearth_network_delete(hearth_client *c, const char *ref, hearth_obj **ret,
                                        struct hearth_error *reterr)
{
    return network_call(c, "DELETE", ref, ret, reterr);
}

HEARTH_EXPORT int hearth_sandbox_network_attach(hearth_client *c, const char *id,
                                                const char *net, hearth_obj **ret,
                                                struct hearth_error *reterr)
{
    if (!net || !*net)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty network reference");
    json_t *body;
    int rc = string_body("id", net, "network reference", &body, reterr);
    return rc != HEARTH_OK ? rc
                           : sandbox_path_call(c, "POST", id, "/networks", body, ret, reterr);
}

HEARTH_EXPORT int hearth_sandbox_network_detach(hearth_client *c, const char *id,
                                                const char *net, hearth_obj **ret,
                                                struct hearth_error *reterr)
{
    char *suffix = NULL;
    int rc = ref_path("/networks/", net, "", "network reference", &suffix, reterr);
    if (rc != HEARTH_OK)
        return rc;
    rc = sandbox_path_call(c, "DELETE", id, suffix, NULL, ret, reterr);
    free(suffix);
    return rc;
}

/* ---- exec ---- */

HEARTH_EXPORT int hearth_exec(hearth_client *c, const char *id, const hearth_body *body,
                              hearth_obj **ret, struct hearth_error *reterr)
{
    char *path = id_path("/v1/sandboxes/", id, "/exec");
    if (!path)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty sandbox id");
    struct hreq r = { .method = "POST", .path = path, .upload_fd = -1, .timeout_ms = 0 };
    int rc = body_call_obj(c, &r, body, ret, reterr);
    free(path);
    return rc;
}

struct stream_ctx {
    struct ndjson nd;
    hearth_frame_fn on_frame;
    void *ud;
    int exit_code;
    bool have_exit;
    bool bad;                       /* a malformed line */
    bool stopped;                   /* the callback said stop */
};

static int on_stream_line(void *ud, const char *line, size_t len)
{
    struct stream_ctx *s = ud;
    struct hearth_frame f;
    json_t *hold = NULL;
    if (ndjson_exec_frame(line, len, &f, &hold) < 0) {
        s->bad = true;
        return -EBADMSG;
    }
    if (f.kind == HEARTH_FRAME_EXIT) {
        s->exit_code = f.exit_code;
        s->have_exit = true;
    }
    bool go = s->on_frame ? s->on_frame(s->ud, &f) : true;
    json_decref(hold);
    if (!go) {
        s->stopped = true;
        return -ECANCELED;
    }
    return 0;
}

static bool stream_sink(void *ud, const char *p, size_t n)
{
    struct stream_ctx *s = ud;
    return ndjson_feed(&s->nd, p, n, on_stream_line, s) == 0;
}

HEARTH_EXPORT int hearth_exec_stream(hearth_client *c, const char *id, const hearth_body *body,
                                     hearth_frame_fn on_frame, void *userdata,
                                     int *ret_exit_code, struct hearth_error *reterr)
{
    char *path = id_path("/v1/sandboxes/", id, "/exec?stream=true");
    hearth_body *copy = hearth_body_new();
    char *text = NULL;
    int rc;
    if (!path || !copy) {
        rc = err_set(reterr, path ? HEARTH_ERR_NOMEM : HEARTH_ERR_INVALID, 0, "cannot start");
        goto out;
    }
    if (body && json_object_update(copy->root, body->root) < 0) {
        rc = err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
        goto out;
    }
    if (hearth_body_set_bool(copy, "stream", true) != HEARTH_OK ||
        !(text = hearth_body_json(copy))) {
        rc = err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
        goto out;
    }
    struct stream_ctx s = { .on_frame = on_frame, .ud = userdata, .exit_code = -1 };
    ndjson_init(&s.nd, NDJSON_LINE_MAX);
    struct hreq r = { .method = "POST", .path = path, .body = text, .body_len = strlen(text),
                      .upload_fd = -1, .sink = stream_sink, .sink_ud = &s, .stream = true };
    rc = call(c, &r, NULL, reterr);
    if (rc == HEARTH_ERR_ABORTED && s.bad)
        rc = err_set(reterr, HEARTH_ERR_PROTOCOL, 200, "malformed line in the exec stream");
    else if (rc == HEARTH_ERR_ABORTED && !s.stopped && !s.bad)
        rc = err_set(reterr, HEARTH_ERR_PROTOCOL, 200, "exec stream line too long");
    else if (rc == HEARTH_OK && ndjson_pending(&s.nd) && !s.have_exit)
        s.exit_code = -1; /* ended mid-line: the connection was lost */
    ndjson_release(&s.nd);
    if (rc == HEARTH_OK && ret_exit_code)
        *ret_exit_code = s.have_exit ? s.exit_code : -1;
out:
    free(text);
    free(path);
    hearth_body_free(copy);
    return rc;
}

/* ---- files ---- */

static char *files_path_of(const char *id, const char *remote_path)
{
    if (!remote_path || !*remote_path)
        return NULL;
    char *q = curl_easy_escape(NULL, remote_path, 0);
    if (!q)
        return NULL;
    size_t n = strlen(q) + 16;
    char *suffix = malloc(n);
    char *p = NULL;
    if (suffix) {
        snprintf(suffix, n, "/files?path=%s", q);
        p = id_path("/v1/sandboxes/", id, suffix);
    }
    free(suffix);
    curl_free(q);
    return p;
}

/* The files path of a transfer through fd into *ret_path (caller frees), or the error. */
static int files_path(const char *id, const char *remote_path, int fd, char **ret_path,
                      struct hearth_error *reterr)
{
    if (fd < 0)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "no file descriptor");
    *ret_path = files_path_of(id, remote_path);
    if (!*ret_path)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty sandbox id or remote path");
    return HEARTH_OK;
}

HEARTH_EXPORT int hearth_file_upload_fd(hearth_client *c, const char *id, const char *remote_path,
                                        int fd, int64_t size, hearth_obj **ret,
                                        struct hearth_error *reterr)
{
    char *path = NULL;
    int rc = files_path(id, remote_path, fd, &path, reterr);
    if (rc != HEARTH_OK)
        return rc;
    struct hreq r = { .method = "PUT", .path = path, .upload_fd = fd, .upload_size = size };
    rc = call_obj(c, &r, ret, reterr);
    free(path);
    return rc;
}

HEARTH_EXPORT int hearth_file_upload_path(hearth_client *c, const char *id,
                                          const char *remote_path, const char *local_path,
                                          hearth_obj **ret, struct hearth_error *reterr)
{
    int fd = open(local_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(reterr, HEARTH_ERR_IO, 0, "cannot open '%s': %s", local_path,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(reterr, HEARTH_ERR_IO, 0, "'%s' is not a regular file", local_path);
    }
    int rc = hearth_file_upload_fd(c, id, remote_path, fd, (int64_t)st.st_size, ret, reterr);
    close(fd);
    return rc;
}

struct fd_sink {
    int fd;
    uint64_t bytes;
    int err;                        /* errno of a failed write */
};

static bool fd_write(void *ud, const char *p, size_t n)
{
    struct fd_sink *s = ud;
    while (n > 0) {
        ssize_t w = write(s->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            s->err = errno;
            return false;
        }
        p += w;
        n -= (size_t)w;
        s->bytes += (uint64_t)w;
    }
    return true;
}

HEARTH_EXPORT int hearth_file_download_fd(hearth_client *c, const char *id,
                                          const char *remote_path, int fd, uint64_t *ret_bytes,
                                          struct hearth_error *reterr)
{
    char *path = NULL;
    int rc = files_path(id, remote_path, fd, &path, reterr);
    if (rc != HEARTH_OK)
        return rc;
    struct fd_sink s = { .fd = fd };
    struct hreq r = { .method = "GET", .path = path, .upload_fd = -1, .sink = fd_write,
                      .sink_ud = &s };
    rc = call(c, &r, NULL, reterr);
    if (rc == HEARTH_ERR_ABORTED && s.err)
        rc = err_set(reterr, HEARTH_ERR_IO, 200, "cannot write the download: %s",
                     strerror(s.err));
    free(path);
    if (ret_bytes)
        *ret_bytes = s.bytes;
    return rc;
}

/* ---- for the other call files (lib_internal.h) ---- */

char *lib_id_path(const char *prefix, const char *id, const char *suffix)
{
    return id_path(prefix, id, suffix);
}

int lib_call_obj(hearth_client *c, const struct hreq *r, hearth_obj **ret,
                 struct hearth_error *reterr)
{
    return call_obj(c, r, ret, reterr);
}

int lib_call(hearth_client *c, const struct hreq *r, json_t **ret_data,
             struct hearth_error *reterr)
{
    return call(c, r, ret_data, reterr);
}

int lib_call_list(hearth_client *c, const char *base, const struct hearth_page *page,
                  hearth_list **ret, struct hearth_error *reterr)
{
    return call_list(c, base, page, ret, reterr);
}
