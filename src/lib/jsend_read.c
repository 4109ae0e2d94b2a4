/* SPDX-License-Identifier: MIT */
/* jsend_read.c: JSend envelope decoding. The server is trusted to follow docs/api.md §1.4 but a proxy in
 * between may not: any body (HTML, truncated JSON, nothing) must still give a sane error. */
#include "lib/jsend_read.h"

#include <stdio.h>
#include <string.h>

#include "lib/lib_internal.h"

int jsend_err_from_status(int s)
{
    if (s >= 200 && s < 300)
        return HEARTH_OK;
    switch (s) {
    case 401:
        return HEARTH_ERR_AUTH;
    case 403:
        return HEARTH_ERR_FORBIDDEN;
    case 404:
        return HEARTH_ERR_NOT_FOUND;
    case 408:
        return HEARTH_ERR_TIMEOUT;
    case 429:
        return HEARTH_ERR_RATE_LIMITED;
    case 501:
        return HEARTH_ERR_NOT_IMPLEMENTED;
    case 503:
        return HEARTH_ERR_UNAVAILABLE;
    }
    if (s >= 500)
        return HEARTH_ERR_SERVER;
    if (s >= 400)
        return HEARTH_ERR_REJECTED;
    return HEARTH_ERR_PROTOCOL; /* 1xx/3xx where a final JSON answer was expected */
}

int jsend_decode_success(const char *body, size_t len, json_t **ret_data,
                         struct hearth_error *reterr)
{
    json_error_t je;
    json_t *root = json_loadb(body ? body : "", len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!root)
        return err_set(reterr, HEARTH_ERR_PROTOCOL, 200, "response is not JSON: %s", je.text);
    const char *status = json_string_value(json_object_get(root, "status"));
    json_t *data = json_object_get(root, "data");
    if (!json_is_object(root) || !status || strcmp(status, "success") != 0 || !data) {
        json_decref(root);
        return err_set(reterr, HEARTH_ERR_PROTOCOL, 200, "response is not a JSend success");
    }
    *ret_data = json_incref(data);
    json_decref(root);
    return HEARTH_OK;
}

/* Copies s into dst (size n), replacing control characters so the message stays one line. */
static void copy_line(char *dst, size_t n, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        dst[o++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    dst[o] = '\0';
}

static void append(char *dst, size_t n, const char *s)
{
    size_t o = strlen(dst);
    copy_line(dst + o, n - o, s, strlen(s));
}

/* Copies the string member key of obj (when it is one) into dst; returns whether it was. */
static bool copy_member(char *dst, size_t n, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return false;
    copy_line(dst, n, json_string_value(v), strlen(json_string_value(v)));
    return true;
}

/* fail data in object form: message (or "field: msg; field: msg") plus code and state. */
static void decode_fail_object(json_t *data, struct hearth_error *e)
{
    copy_member(e->api_code, sizeof(e->api_code), data, "code");
    copy_member(e->state, sizeof(e->state), data, "state");
    if (copy_member(e->message, sizeof(e->message), data, "message"))
        return;
    const char *key;
    json_t *v;
    json_object_foreach(data, key, v) {
        if (strcmp(key, "code") == 0 || strcmp(key, "state") == 0 || !json_is_string(v))
            continue;
        if (e->message[0])
            append(e->message, sizeof(e->message), "; ");
        append(e->message, sizeof(e->message), key);
        append(e->message, sizeof(e->message), ": ");
        append(e->message, sizeof(e->message), json_string_value(v));
    }
}

int jsend_decode_error(int http_status, const char *body, size_t len, const char *request_id,
                       struct hearth_error *e)
{
    memset(e, 0, sizeof(*e));
    e->code = jsend_err_from_status(http_status);
    if (e->code == HEARTH_OK)
        e->code = HEARTH_ERR_PROTOCOL;
    e->http_status = http_status;
    if (request_id)
        copy_line(e->request_id, sizeof(e->request_id), request_id, strlen(request_id));

    json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *status = json_string_value(json_object_get(root, "status"));
    json_t *data = json_object_get(root, "data");
    if (status && strcmp(status, "fail") == 0) {
        if (json_is_string(data))
            copy_line(e->message, sizeof(e->message), json_string_value(data),
                      json_string_length(data));
        else if (json_is_object(data))
            decode_fail_object(data, e);
    } else if (status && strcmp(status, "error") == 0) {
        copy_member(e->message, sizeof(e->message), root, "message");
        copy_member(e->api_code, sizeof(e->api_code), data, "code");
    }
    if (!e->message[0])
        snprintf(e->message, sizeof(e->message), "%s", hearth_strerror(e->code));
    json_decref(root);
    return e->code;
}
