/* SPDX-License-Identifier: MIT */
/* test_openapi.c: docs/openapi.json (served at GET /v1/openapi.json) against the route table of
 * router.c, both ways: every (method, path pattern) of the table is an operation of the document
 * and every operation is a route; credentials (security: [] for routes without), admin-only
 * routes, the routes a delegated token opens (x-hearth-token) and 501 routes agree; path
 * parameters are declared; operation ids are unique. A path template maps to a pattern by
 * turning each {param} into "*" (x-hearth-route gives the pattern of a "**" route). Run from the repository root. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/http/request.h"
#include "harness.h"

#define DOC "docs/openapi.json"

static const char *const methods[] = { "get", "head", "post", "put", "patch", "delete" };
static const int method_ids[] = { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_PATCH,
                                  HTTP_DELETE };
#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

static json_t *load_doc(void)
{
    json_error_t err;
    json_t *doc = json_load_file(DOC, 0, &err);
    if (!doc && fopen(DOC, "r") == NULL)
        harness_skip("no %s here (run from the repository root)", DOC);
    if (!doc)
        harness_fail(__FILE__, __LINE__, "%s:%d: %s", DOC, err.line, err.text);
    return doc;
}

/* "/v1/sandboxes/{id}/files" → "/v1/sandboxes/ * /files" (no spaces) */
static void to_pattern(const char *tpl, json_t *item, char *out, size_t len)
{
    const char *given = json_string_value(json_object_get(item, "x-hearth-route"));
    if (given) {
        snprintf(out, len, "%s", given);
        return;
    }
    size_t o = 0;
    for (const char *p = tpl; *p && o + 2 < len; p++) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            if (!e)
                break;
            out[o++] = '*';
            p = e;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

static const struct api_route *find_route(int method, const char *pattern)
{
    size_t n;
    const struct api_route *r = api_routes(&n);
    for (size_t i = 0; i < n; i++) {
        bool m = r[i].method == method || (method == HTTP_HEAD && r[i].head_ok &&
                                           r[i].method == HTTP_GET);
        if (m && strcmp(r[i].pattern, pattern) == 0)
            return &r[i];
    }
    return NULL;
}

static json_t *find_op(json_t *doc, int method, const char *pattern)
{
    const char *tpl;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), tpl, item) {
        char pat[256];
        to_pattern(tpl, item, pat, sizeof(pat));
        if (strcmp(pat, pattern) != 0)
            continue;
        for (size_t k = 0; k < N_METHODS; k++)
            if (method_ids[k] == method)
                return json_object_get(item, methods[k]);
    }
    return NULL;
}

TEST(every_route_is_documented)
{
    json_t *doc = load_doc();
    size_t n;
    const struct api_route *r = api_routes(&n);
    CHECK(n > 40);
    for (size_t i = 0; i < n; i++) {
        json_t *op = find_op(doc, r[i].method, r[i].pattern);
        if (!op) {
            harness_fail(__FILE__, __LINE__, "route %d %s is not in %s", r[i].method,
                         r[i].pattern, DOC);
            continue;
        }
        if (r[i].head_ok && !find_op(doc, HTTP_HEAD, r[i].pattern))
            harness_fail(__FILE__, __LINE__, "%s answers HEAD but the document has no head",
                         r[i].pattern);
        json_t *sec = json_object_get(op, "security");
        bool open = json_is_array(sec) && json_array_size(sec) == 0;
        if (open != (r[i].auth == API_AUTH_NONE))
            harness_fail(__FILE__, __LINE__, "%s: security [] must mean no credentials",
                         r[i].pattern);
        bool admin = json_is_true(json_object_get(op, "x-hearth-admin"));
        if (admin != (r[i].auth == API_AUTH_ADMIN))
            harness_fail(__FILE__, __LINE__, "%s: x-hearth-admin must mean an admin route",
                         r[i].pattern);
        bool token = json_is_true(json_object_get(op, "x-hearth-token"));
        if (token != (r[i].auth == API_AUTH_SANDBOX))
            harness_fail(__FILE__, __LINE__, "%s: x-hearth-token must mean a route a delegated "
                         "token opens (API_AUTH_SANDBOX)", r[i].pattern);
        bool ni = json_is_false(json_object_get(op, "x-hearth-implemented"));
        if (ni != (r[i].fn == NULL))
            harness_fail(__FILE__, __LINE__, "%s %s: x-hearth-implemented: false must mean a "
                         "501 route", json_string_value(json_object_get(op, "operationId")),
                         r[i].pattern);
    }
    json_decref(doc);
}

TEST(every_operation_is_a_route)
{
    json_t *doc = load_doc();
    CHECK_STR(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *ids = json_object();
    const char *tpl;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), tpl, item) {
        char pat[256];
        to_pattern(tpl, item, pat, sizeof(pat));
        const char *key;
        json_t *op;
        json_object_foreach(item, key, op) {
            if (strcmp(key, "parameters") == 0 || strncmp(key, "x-", 2) == 0)
                continue;
            int m = -1;
            for (size_t k = 0; k < N_METHODS; k++)
                if (strcmp(key, methods[k]) == 0)
                    m = method_ids[k];
            if (m < 0 || !find_route(m, pat))
                harness_fail(__FILE__, __LINE__, "%s %s is not a route of router.c", key, tpl);
            const char *id = json_string_value(json_object_get(op, "operationId"));
            if (!id || json_object_get(ids, id))
                harness_fail(__FILE__, __LINE__, "%s %s: missing or repeated operationId", key,
                             tpl);
            else
                json_object_set_new(ids, id, json_true());
            if (json_object_size(json_object_get(op, "responses")) == 0)
                harness_fail(__FILE__, __LINE__, "%s %s has no responses", key, tpl);
        }
        /* every {param} of the template is declared as a path parameter */
        for (const char *p = strchr(tpl, '{'); p; p = strchr(p + 1, '{')) {
            const char *e = strchr(p, '}');
            if (!e)
                harness_fail(__FILE__, __LINE__, "%s: unbalanced '{'", tpl);
            bool found = false;
            size_t i;
            json_t *prm;
            json_array_foreach(json_object_get(item, "parameters"), i, prm) {
                const char *nm = json_string_value(json_object_get(prm, "name"));
                found |= nm && strlen(nm) == (size_t)(e - p - 1) &&
                         strncmp(nm, p + 1, (size_t)(e - p - 1)) == 0;
            }
            if (!found)
                harness_fail(__FILE__, __LINE__, "%s: path parameter %.*s not declared", tpl,
                             (int)(e - p + 1), p);
        }
    }
    json_decref(ids);
    json_decref(doc);
}
