/* SPDX-License-Identifier: MIT */
/* obj.c: the read-only result objects (hearth_obj, hearth_list) and request bodies
 * (hearth_body). They hide jansson from the public header. */
#include <stdlib.h>
#include <string.h>

#include "lib/lib_internal.h"

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Points o at root and gives it root's text; false when out of memory. */
static bool obj_set(struct hearth_obj *o, json_t *root)
{
    o->root = root;
    o->text = dump(root);
    return o->text != NULL;
}

struct hearth_obj *obj_wrap(json_t *root)
{
    struct hearth_obj *o = calloc(1, sizeof(*o));
    if (o && obj_set(o, root))
        return o;
    if (o)
        hearth_obj_free(o); /* drops root too */
    else
        json_decref(root);
    return NULL;
}

HEARTH_EXPORT void hearth_obj_free(hearth_obj *o)
{
    if (!o)
        return;
    json_decref(o->root);
    free(o->text);
    free(o);
}

HEARTH_EXPORT const char *hearth_obj_json(const hearth_obj *o)
{
    return o ? o->text : NULL;
}

/* An array index segment: 1–9 decimal digits without a leading zero (or "0"). -1 if not. */
static long index_segment(const char *p, size_t n)
{
    if (n == 0 || n > 9 || (n > 1 && p[0] == '0'))
        return -1;
    long i = 0;
    for (size_t k = 0; k < n; k++) {
        if (p[k] < '0' || p[k] > '9')
            return -1;
        i = i * 10 + (p[k] - '0');
    }
    return i;
}

/* Walks a dotted path through nested objects and, by index segments, arrays. */
static json_t *lookup(const hearth_obj *o, const char *path)
{
    if (!o || !path)
        return NULL;
    json_t *v = o->root;
    const char *p = path;
    while (v) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (json_is_array(v)) {
            long i = index_segment(p, n);
            v = i < 0 ? NULL : json_array_get(v, (size_t)i);
        } else if (json_is_object(v)) {
            v = json_object_getn(v, p, n);
        } else {
            return NULL;
        }
        if (!dot)
            return v;
        p = dot + 1;
    }
    return NULL;
}

HEARTH_EXPORT bool hearth_obj_has(const hearth_obj *o, const char *path)
{
    return lookup(o, path) != NULL;
}

HEARTH_EXPORT const char *hearth_obj_str(const hearth_obj *o, const char *path)
{
    return json_string_value(lookup(o, path));
}

HEARTH_EXPORT const char *hearth_obj_strn(const hearth_obj *o, const char *path,
                                          size_t *ret_len)
{
    json_t *v = lookup(o, path);
    if (!json_is_string(v))
        return NULL;
    if (ret_len)
        *ret_len = json_string_length(v);
    return json_string_value(v);
}

HEARTH_EXPORT int64_t hearth_obj_int(const hearth_obj *o, const char *path, int64_t def)
{
    json_t *v = lookup(o, path);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d > -9.2e18 && d < 9.2e18)
            return (int64_t)d;
    }
    return def;
}

HEARTH_EXPORT double hearth_obj_num(const hearth_obj *o, const char *path, double def)
{
    json_t *v = lookup(o, path);
    return json_is_number(v) ? json_number_value(v) : def;
}

HEARTH_EXPORT bool hearth_obj_bool(const hearth_obj *o, const char *path, bool def)
{
    json_t *v = lookup(o, path);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

HEARTH_EXPORT size_t hearth_obj_array_len(const hearth_obj *o, const char *path)
{
    return json_array_size(lookup(o, path));
}

HEARTH_EXPORT const char *hearth_obj_array_str(const hearth_obj *o, const char *path, size_t i)
{
    return json_string_value(json_array_get(lookup(o, path), i));
}

HEARTH_EXPORT char *hearth_obj_value_json(const hearth_obj *o, const char *path)
{
    json_t *v = lookup(o, path);
    return v ? dump(v) : NULL;
}

/* ---- lists ---- */

struct hearth_list *list_wrap(json_t *items, int64_t total)
{
    struct hearth_list *l = calloc(1, sizeof(*l));
    if (!l) {
        json_decref(items);
        return NULL;
    }
    l->items = items;
    l->total = total;
    size_t n = json_array_size(items);
    l->objs = n ? calloc(n, sizeof(*l->objs)) : NULL;
    bool ok = !n || l->objs;
    for (size_t i = 0; ok && i < n; i++) {
        l->n = i + 1;
        ok = obj_set(&l->objs[i], json_array_get(items, i)); /* root borrowed from items */
    }
    if (!ok) {
        hearth_list_free(l);
        return NULL;
    }
    return l;
}

HEARTH_EXPORT void hearth_list_free(hearth_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->objs[i].text);
    free(l->objs);
    json_decref(l->items);
    free(l);
}

HEARTH_EXPORT size_t hearth_list_count(const hearth_list *l)
{
    return l ? l->n : 0;
}

HEARTH_EXPORT const hearth_obj *hearth_list_item(const hearth_list *l, size_t i)
{
    return l && i < l->n ? &l->objs[i] : NULL;
}

HEARTH_EXPORT int64_t hearth_list_total(const hearth_list *l)
{
    return l ? l->total : 0;
}

HEARTH_EXPORT char *hearth_list_json(const hearth_list *l)
{
    return l ? dump(l->items) : NULL;
}

/* ---- bodies ---- */

HEARTH_EXPORT hearth_body *hearth_body_new(void)
{
    hearth_body *b = calloc(1, sizeof(*b));
    json_t *root = json_object();
    if (!b || !root) {
        free(b);
        json_decref(root);
        return NULL;
    }
    b->root = root;
    return b;
}

HEARTH_EXPORT void hearth_body_free(hearth_body *b)
{
    if (!b)
        return;
    json_decref(b->root);
    free(b);
}

/* Takes the reference to v. */
static int set(hearth_body *b, const char *key, json_t *v)
{
    if (!b || !key || !v) {
        json_decref(v);
        return v ? HEARTH_ERR_INVALID : HEARTH_ERR_NOMEM;
    }
    return json_object_set_new(b->root, key, v) == 0 ? HEARTH_OK : HEARTH_ERR_NOMEM;
}

HEARTH_EXPORT int hearth_body_set_str(hearth_body *b, const char *key, const char *v)
{
    if (!v)
        return HEARTH_ERR_INVALID;
    return hearth_body_set_strn(b, key, v, strlen(v));
}

HEARTH_EXPORT int hearth_body_set_strn(hearth_body *b, const char *key, const char *v,
                                       size_t len)
{
    if (!b || !key || (!v && len))
        return HEARTH_ERR_INVALID;
    json_t *s = json_stringn(v ? v : "", len);
    if (!s)
        return HEARTH_ERR_INVALID; /* not UTF-8 (or out of memory) */
    return set(b, key, s);
}

HEARTH_EXPORT int hearth_body_set_int(hearth_body *b, const char *key, int64_t v)
{
    return set(b, key, json_integer(v));
}

HEARTH_EXPORT int hearth_body_set_bool(hearth_body *b, const char *key, bool v)
{
    return set(b, key, json_boolean(v));
}

/* The container at key, created with make() when missing; NULL when it has another type. */
static json_t *container(hearth_body *b, const char *key, bool array)
{
    json_t *v = json_object_get(b->root, key);
    if (v)
        return (array ? json_is_array(v) : json_is_object(v)) ? v : NULL;
    v = array ? json_array() : json_object();
    if (!v || json_object_set_new(b->root, key, v) < 0)
        return NULL;
    return v;
}

/* Adds the string v to the container at key: appended to its array when name is NULL, else set
 * as name in its object. */
static int add_str(hearth_body *b, const char *key, const char *name, const char *v)
{
    json_t *s = json_string(v);
    if (!s)
        return HEARTH_ERR_INVALID;
    json_t *c = container(b, key, !name);
    if (!c) {
        json_decref(s);
        return HEARTH_ERR_INVALID;
    }
    if (name)
        return json_object_set_new(c, name, s) == 0 ? HEARTH_OK : HEARTH_ERR_INVALID;
    return json_array_append_new(c, s) == 0 ? HEARTH_OK : HEARTH_ERR_NOMEM;
}

HEARTH_EXPORT int hearth_body_append_str(hearth_body *b, const char *key, const char *v)
{
    return b && key && v ? add_str(b, key, NULL, v) : HEARTH_ERR_INVALID;
}

HEARTH_EXPORT int hearth_body_set_map(hearth_body *b, const char *key, const char *name,
                                      const char *v)
{
    return b && key && name && v ? add_str(b, key, name, v) : HEARTH_ERR_INVALID;
}

HEARTH_EXPORT int hearth_body_set_map_bool(hearth_body *b, const char *key, const char *name,
                                           bool v)
{
    if (!b || !key || !name)
        return HEARTH_ERR_INVALID;
    json_t *c = container(b, key, false);
    if (!c)
        return HEARTH_ERR_INVALID;
    return json_object_set_new(c, name, json_boolean(v)) == 0 ? HEARTH_OK : HEARTH_ERR_NOMEM;
}

HEARTH_EXPORT int hearth_body_set_map_int(hearth_body *b, const char *key, const char *name,
                                          int64_t v)
{
    if (!b || !key || !name)
        return HEARTH_ERR_INVALID;
    json_t *c = container(b, key, false);
    if (!c)
        return HEARTH_ERR_INVALID;
    return json_object_set_new(c, name, json_integer(v)) == 0 ? HEARTH_OK : HEARTH_ERR_NOMEM;
}

HEARTH_EXPORT int hearth_body_append_obj(hearth_body *b, const char *key,
                                         const char *const *pairs)
{
    if (!b || !key || !pairs)
        return HEARTH_ERR_INVALID;
    json_t *o = json_object();
    if (!o)
        return HEARTH_ERR_NOMEM;
    for (size_t i = 0; pairs[i]; i += 2) {
        if (!pairs[i + 1])
            continue;
        json_t *s = json_string(pairs[i + 1]);
        if (!s || json_object_set_new(o, pairs[i], s) < 0) {
            json_decref(o);
            return HEARTH_ERR_INVALID;
        }
    }
    json_t *a = container(b, key, true);
    if (!a || json_array_append_new(a, o) < 0) {
        if (!a)
            json_decref(o);
        return HEARTH_ERR_INVALID;
    }
    return HEARTH_OK;
}

HEARTH_EXPORT char *hearth_body_json(const hearth_body *b)
{
    return b ? json_dumps(b->root, JSON_COMPACT) : NULL;
}
