/* SPDX-License-Identifier: MIT */
/* template_calls.c: libhearth's template calls (docs/api.md §3.10): submit, list, get, delete,
 * the build log (plain bytes to an fd, or followed as NDJSON events until the final one) and
 * the build context upload (a tar streamed from an fd, a hearth extension). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/lib_internal.h"
#include "lib/ndjson.h"

/* A log line is at most 4 KiB of text (docs/templates.md), JSON-escaped up to six times that. */
#define TPL_EVENT_LINE_MAX (64u << 10)

/* "/v1/templates/<escaped ref><suffix>" into *ret, or the error for an empty ref. */
static int tpl_path(const char *ref, const char *suffix, char **ret, struct hearth_error *reterr)
{
    if (!ref || !*ref)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty template reference");
    *ret = lib_id_path("/v1/templates/", ref, suffix);
    return *ret ? HEARTH_OK : err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
}

HEARTH_EXPORT int hearth_template_create(hearth_client *c, const hearth_body *body,
                                         hearth_obj **ret, struct hearth_error *reterr)
{
    if (!body)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "no template body");
    char *text = hearth_body_json(body);
    if (!text)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    struct hreq r = { .method = "POST", .path = "/v1/templates", .body = text,
                      .body_len = strlen(text), .upload_fd = -1, .timeout_ms = c->timeout_ms };
    int rc = lib_call_obj(c, &r, ret, reterr);
    free(text);
    return rc;
}

HEARTH_EXPORT int hearth_template_list(hearth_client *c, const struct hearth_page *page,
                                       hearth_list **ret, struct hearth_error *reterr)
{
    struct hearth_page p = { 0 };
    if (page) {
        p = *page;
        p.status = NULL; /* templates have no status filter */
    }
    return lib_call_list(c, "/v1/templates", &p, ret, reterr);
}

/* One JSend call on /v1/templates/{ref}<suffix>. */
static int tpl_call(hearth_client *c, const char *method, const char *ref, const char *suffix,
                    hearth_obj **ret, struct hearth_error *reterr)
{
    char *path;
    int rc = tpl_path(ref, suffix, &path, reterr);
    if (rc != HEARTH_OK)
        return rc;
    struct hreq r = { .method = method, .path = path, .upload_fd = -1,
                      .timeout_ms = c->timeout_ms };
    rc = lib_call_obj(c, &r, ret, reterr);
    free(path);
    return rc;
}

HEARTH_EXPORT int hearth_template_get(hearth_client *c, const char *ref, bool with_dockerfile,
                                      hearth_obj **ret, struct hearth_error *reterr)
{
    return tpl_call(c, "GET", ref, with_dockerfile ? "?include=dockerfile" : "", ret, reterr);
}

HEARTH_EXPORT int hearth_template_delete(hearth_client *c, const char *ref, hearth_obj **ret,
                                         struct hearth_error *reterr)
{
    return tpl_call(c, "DELETE", ref, "", ret, reterr);
}

/* ---- the build log ---- */

/* The logs path with its query: "?attempt=N" and/or "follow=true". */
static int logs_path(const char *ref, int attempt, bool follow, char **ret,
                     struct hearth_error *reterr)
{
    char q[64];
    if (attempt > 0)
        snprintf(q, sizeof(q), "/logs?attempt=%d%s", attempt, follow ? "&follow=true" : "");
    else
        snprintf(q, sizeof(q), "/logs%s", follow ? "?follow=true" : "");
    return tpl_path(ref, q, ret, reterr);
}

HEARTH_EXPORT int hearth_template_logs(hearth_client *c, const char *ref, int attempt, int fd,
                                       struct hearth_error *reterr)
{
    char *path;
    int rc = logs_path(ref, attempt, false, &path, reterr);
    if (rc != HEARTH_OK)
        return rc;
    rc = lib_get_to_fd(c, path, false, fd, reterr);
    free(path);
    return rc;
}

struct follow_ctx {
    struct ndjson nd;
    hearth_tpl_event_fn fn;
    void *ud;
    char status[16];
    bool bad, stopped;
};

/* Decodes one event (strings borrowed from o). 0 or -EBADMSG. */
static int decode_event(json_t *o, struct hearth_tpl_event *ev)
{
    json_t *final = json_object_get(o, "final");
    json_t *line = json_object_get(o, "line");
    if (final) {
        const char *st = json_string_value(json_object_get(o, "status"));
        if (!json_is_true(final) || !st)
            return -EBADMSG;
        ev->kind = HEARTH_TPL_FINAL;
        ev->status = st;
        return 0;
    }
    if (!line) {
        ev->kind = HEARTH_TPL_UNKNOWN;
        return 0;
    }
    json_t *attempt = json_object_get(o, "attempt");
    const char *level = json_string_value(json_object_get(o, "level"));
    const char *ts = json_string_value(json_object_get(o, "ts"));
    if (!json_is_string(line) || !json_is_integer(attempt))
        return -EBADMSG;
    ev->kind = HEARTH_TPL_LINE;
    ev->line = json_string_value(line);
    ev->attempt = (int)json_integer_value(attempt);
    ev->error = level && strcmp(level, "error") == 0;
    ev->ts = ts ? ts : "";
    return 0;
}

static int on_line(void *ud, const char *line, size_t len)
{
    struct follow_ctx *s = ud;
    struct hearth_tpl_event ev = { .raw = line, .raw_len = len };
    json_t *o = json_loadb(line, len, 0, NULL);
    if (!json_is_object(o) || decode_event(o, &ev) < 0) {
        json_decref(o);
        s->bad = true;
        return -EBADMSG;
    }
    if (ev.kind == HEARTH_TPL_FINAL)
        snprintf(s->status, sizeof(s->status), "%s", ev.status);
    bool go = s->fn ? s->fn(s->ud, &ev) : true;
    json_decref(o);
    if (!go) {
        s->stopped = true;
        return -ECANCELED;
    }
    return 0;
}

static bool follow_sink(void *ud, const char *p, size_t n)
{
    struct follow_ctx *s = ud;
    return ndjson_feed(&s->nd, p, n, on_line, s) == 0;
}

HEARTH_EXPORT int hearth_template_follow(hearth_client *c, const char *ref, int attempt,
                                         hearth_tpl_event_fn on_event, void *userdata,
                                         char *ret_status, struct hearth_error *reterr)
{
    char *path;
    int rc = logs_path(ref, attempt, true, &path, reterr);
    if (rc != HEARTH_OK)
        return rc;
    struct follow_ctx s = { .fn = on_event, .ud = userdata };
    ndjson_init(&s.nd, TPL_EVENT_LINE_MAX);
    struct hreq r = { .method = "GET", .path = path, .upload_fd = -1, .sink = follow_sink,
                      .sink_ud = &s, .stream = true };
    rc = lib_call(c, &r, NULL, reterr);
    if (rc == HEARTH_ERR_ABORTED && s.bad)
        rc = err_set(reterr, HEARTH_ERR_PROTOCOL, 200, "malformed event in the build log");
    else if (rc == HEARTH_ERR_ABORTED && !s.stopped)
        rc = err_set(reterr, HEARTH_ERR_PROTOCOL, 200, "build log line too long");
    if (rc == HEARTH_OK && ret_status)
        snprintf(ret_status, 16, "%s", s.status);
    ndjson_release(&s.nd);
    free(path);
    return rc;
}

/* ---- build contexts ---- */

HEARTH_EXPORT int hearth_template_context_upload_fd(hearth_client *c, int fd, int64_t size,
                                                    hearth_obj **ret,
                                                    struct hearth_error *reterr)
{
    if (fd < 0)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "no build context to upload");
    struct hreq r = { .method = "POST", .path = "/v1/template-contexts", .upload_fd = fd,
                      .upload_size = size, .upload_type = "application/x-tar" };
    return lib_call_obj(c, &r, ret, reterr);
}

HEARTH_EXPORT int hearth_template_context_upload_path(hearth_client *c, const char *path,
                                                      hearth_obj **ret,
                                                      struct hearth_error *reterr)
{
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        return err_set(reterr, HEARTH_ERR_IO, 0, "cannot open '%s': %s", path ? path : "",
                       strerror(path ? errno : EINVAL));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(reterr, HEARTH_ERR_IO, 0, "'%s' is not a regular file", path);
    }
    int rc = hearth_template_context_upload_fd(c, fd, (int64_t)st.st_size, ret, reterr);
    close(fd);
    return rc;
}
