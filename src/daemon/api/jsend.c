/* SPDX-License-Identifier: MIT */
/* jsend.c: JSend envelopes (docs/api.md §1.4). The envelope text is assembled here rather than by
 * jansson so that "status" is first whatever jansson's key order; payloads are dumped compact.
 * Every function steals its json_t argument. */
#include "daemon/api/jsend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "daemon/http/response.h"

#define JSEND_MAX (64u << 20) /* a JSON reply larger than this is a bug, not a payload */

static const char json_ctype[] = "application/json";

/* {"status":"<status>","data":<data>} as a malloc'd string; steals data. */
static char *envelope(const char *status, json_t *data)
{
    /* 15 significant digits: 12.345 prints as 12.345, not 12.345000000000001 (docs/api.md §1.8) */
    char *payload =
        json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    json_decref(data);
    if (!payload)
        return NULL;
    struct buf b;
    buf_init(&b, JSEND_MAX);
    char *out = NULL;
    if (buf_appendf(&b, "{\"status\":\"%s\",\"data\":%s}", status, payload) == 0)
        out = (char *)buf_take(&b, NULL);
    buf_release(&b);
    free(payload);
    return out;
}

static int send_text(struct http_request *req, int status, char *text)
{
    if (!text)
        return -ENOMEM;
    int r = http_response_send(req, status, json_ctype, text, strlen(text));
    free(text);
    return r;
}

int jsend_reply_success_status(struct http_request *req, int status, json_t *data)
{
    return send_text(req, status, envelope("success", data ? data : json_object()));
}

int jsend_reply_success(struct http_request *req, json_t *data)
{
    return jsend_reply_success_status(req, 200, data);
}

int jsend_reply_fail(struct http_request *req, int status, json_t *data)
{
    return send_text(req, status, envelope("fail", data ? data : json_object()));
}

int jsend_reply_fail_str(struct http_request *req, int status, const char *msg)
{
    return jsend_reply_fail(req, status, json_string(msg));
}

static json_t *code_object(const char *code, const char *msg)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "code", json_string(code));
    if (msg)
        json_object_set_new(o, "message", json_string(msg));
    return o;
}

int jsend_reply_fail_code(struct http_request *req, int status, const char *code,
                         const char *msg)
{
    json_t *o = code_object(code, msg);
    if (!o)
        return -ENOMEM;
    return jsend_reply_fail(req, status, o);
}

char *jsend_fail_code_text(const char *code, const char *msg)
{
    json_t *o = code_object(code, msg);
    return o ? envelope("fail", o) : NULL;
}

char *jsend_error_text(int status, const char *msg, const char *code)
{
    json_t *m = json_string(msg ? msg : "");
    char *mtext = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;
    json_decref(m);
    char *ctext = NULL;
    if (code) {
        json_t *cj = json_string(code);
        ctext = cj ? json_dumps(cj, JSON_ENCODE_ANY) : NULL;
        json_decref(cj);
    }
    struct buf b;
    buf_init(&b, JSEND_MAX);
    char *out = NULL;
    if (mtext && (!code || ctext)) {
        int r = buf_appendf(&b, "{\"status\":\"error\",\"message\":%s,\"code\":%d", mtext, status);
        if (r == 0 && ctext)
            r = buf_appendf(&b, ",\"data\":{\"code\":%s}", ctext);
        if (r == 0)
            r = buf_append(&b, "}", 1);
        if (r == 0)
            out = (char *)buf_take(&b, NULL);
    }
    buf_release(&b);
    free(mtext);
    free(ctext);
    return out;
}

char *jsend_protocol_error_body(int status, const char *code, const char *msg)
{
    return status >= 500 ? jsend_error_text(status, msg, code) : jsend_fail_code_text(code, msg);
}

int jsend_reply_error(struct http_request *req, int status, const char *msg, const char *code)
{
    return send_text(req, status, jsend_error_text(status, msg, code));
}

int jsend_reply_method_not_allowed(struct http_request *req, const char *allow)
{
    int r = http_response_add_header(req, "Allow", allow);
    if (r < 0)
        return r;
    return jsend_reply_fail_str(req, 405, "method not allowed");
}

int jsend_reply_not_found(struct http_request *req)
{
    return jsend_reply_fail_str(req, 404, "route not found");
}
