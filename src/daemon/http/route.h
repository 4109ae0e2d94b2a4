/* SPDX-License-Identifier: MIT */
/* route.h: request-target helpers for handlers: split the path on '/' and percent-decode each
 * segment once (an encoded %2F stays inside its segment), decode the query string as
 * application/x-www-form-urlencoded ('+' is a space; the first occurrence of a name wins), and
 * parse booleans and integers strictly (docs/api.md §1.2, §1.7). Pure functions; no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_PATH_MAX_SEGMENTS 64
#define HTTP_QUERY_MAX_PARAMS 64

struct http_path {
    char *store;                            /* owned: all decoded segments, NUL-separated */
    const char *seg[HTTP_PATH_MAX_SEGMENTS]; /* borrowed from store */
    size_t seg_len[HTTP_PATH_MAX_SEGMENTS]; /* decoded lengths */
    unsigned n;                             /* number of segments ("/" has 0) */
};

struct http_query_param {
    const char *name;   /* borrowed from the query's store, NUL-terminated, decoded */
    const char *value;  /* likewise; "" for "?flag" */
};

struct http_query {
    char *store;                                      /* owned */
    struct http_query_param param[HTTP_QUERY_MAX_PARAMS]; /* in order of appearance */
    unsigned n;
};

/* Percent-decodes src[0..len) into dst (room for len + 1 bytes), NUL-terminates it and returns
 * the decoded length, or -EINVAL for a bad escape or an escape that decodes to NUL. With
 * plus_is_space, '+' decodes to ' '. dst may equal src. */
__attribute__((warn_unused_result))
long http_percent_decode(const char *src, size_t len, char *dst, bool plus_is_space);

/* Splits an origin-form path (must start with '/'; no '?') into decoded segments. One trailing
 * '/' is ignored; empty inner segments ("//") are kept as "". Returns 0, -EINVAL (bad escape,
 * no leading '/', NUL), -E2BIG (too many segments) or -ENOMEM. On success free with
 * http_path_release(); on failure nothing is left allocated. */
__attribute__((warn_unused_result))
int http_path_parse(const char *path, size_t len, struct http_path *ret);
void http_path_release(struct http_path *p);
/* True when the path has exactly n segments and segment i equals pattern[i], where a pattern
 * element of NULL matches any segment. */
bool http_path_match(const struct http_path *p, unsigned n, const char *const *pattern);

/* Parses a query string (without the '?'). Empty names are skipped. Returns 0, -EINVAL (bad
 * escape), -E2BIG (too many parameters) or -ENOMEM. Free with http_query_release(). */
__attribute__((warn_unused_result))
int http_query_parse(const char *q, size_t len, struct http_query *ret);
void http_query_release(struct http_query *q);
/* The decoded value of the first parameter called name, or NULL. Borrowed from q. */
const char *http_query_get(const struct http_query *q, const char *name);
/* Booleans: "true"/"1" and "false"/"0". Absent → def. Returns 0 or -EINVAL; *ret written only
 * on success. */
__attribute__((warn_unused_result))
int http_query_get_bool(const struct http_query *q, const char *name, bool def, bool *ret);
/* Integers: decimal with an optional leading '-'. Absent → def. Returns 0, -EINVAL (empty,
 * junk, "+1", spaces) or -ERANGE (outside int64). */
__attribute__((warn_unused_result))
int http_query_get_int(const struct http_query *q, const char *name, int64_t def, int64_t *ret);
/* The same two value parsers on their own (NUL-terminated input). */
__attribute__((warn_unused_result)) int http_parse_bool(const char *s, bool *ret);
__attribute__((warn_unused_result)) int http_parse_int(const char *s, int64_t *ret);
