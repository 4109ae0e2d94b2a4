/* SPDX-License-Identifier: MIT */
/* jsend.h: JSend envelopes (docs/api.md §1.4), always with "status" first and
 * Content-Type: application/json. Each call sends the whole response; json_t arguments are
 * stolen (decref'd) whatever the outcome, so `jsend_reply_success(req, json_pack(...))` leaks
 * nothing. Same return values as http_response_send(). */
#pragma once

#include <jansson.h>

struct http_request;

/* 200 {"status":"success","data":<data>}; NULL data sends {} (never an empty 2xx). */
int jsend_reply_success(struct http_request *req, json_t *data);
/* status {"status":"success","data":<data>} for 2xx other than 200 (e.g. 202). */
int jsend_reply_success_status(struct http_request *req, int status, json_t *data);
/* status {"status":"fail","data":<data>}; data is an object (with "code") or a string. */
int jsend_reply_fail(struct http_request *req, int status, json_t *data);
/* status {"status":"fail","data":"<msg>"} — for 401, 404, 405. */
int jsend_reply_fail_str(struct http_request *req, int status, const char *msg);
/* status {"status":"fail","data":{"code":"<code>","message":"<msg>"}}. */
int jsend_reply_fail_code(struct http_request *req, int status, const char *code,
                         const char *msg);
/* status {"status":"error","message":"<msg>","code":<status>,"data":{"code":"<code>"}}; code
 * NULL omits data. */
int jsend_reply_error(struct http_request *req, int status, const char *msg, const char *code);
/* 405 with Allow: <allow> and {"status":"fail","data":"method not allowed"}. */
int jsend_reply_method_not_allowed(struct http_request *req, const char *allow);
/* 404 {"status":"fail","data":"route not found"}. */
int jsend_reply_not_found(struct http_request *req);
/* Formats an envelope as text (for callers that stream it or the server's own errors).
 * Returns a malloc'd NUL-terminated string the caller frees, or NULL when out of memory. */
char *jsend_fail_code_text(const char *code, const char *msg);
char *jsend_error_text(int status, const char *msg, const char *code);
/* The API's format for the HTTP server's own protocol errors (http_server_set_error_body):
 * "error" with the code for 5xx, "fail" with {code, message} otherwise. */
char *jsend_protocol_error_body(int status, const char *code, const char *msg);
