/* SPDX-License-Identifier: MIT */
/* jsend_read.h: decoding of JSend envelopes (docs/api.md §1.4) into payloads and typed errors. Pure: no
 * I/O, so it is unit-tested and fuzzed on its own. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "hearth/hearth.h"

/* The enum hearth_err for an HTTP status (0 for 2xx). */
int jsend_err_from_status(int http_status);

/* A 2xx body: must be {"status":"success","data":…}. On success *ret_data receives a new
 * reference to data and HEARTH_OK is returned; otherwise HEARTH_ERR_PROTOCOL with reterr set. */
int jsend_decode_success(const char *body, size_t len, json_t **ret_data,
                         struct hearth_error *reterr);

/* A non-2xx body, whatever it holds (a fail or error envelope, other JSON, text, nothing):
 * fills reterr with the code for http_status, the machine code, a one-line message and the
 * request id. Returns reterr->code. reterr must not be NULL. */
int jsend_decode_error(int http_status, const char *body, size_t len, const char *request_id,
                       struct hearth_error *reterr);
