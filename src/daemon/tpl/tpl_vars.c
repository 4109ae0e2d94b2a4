/* SPDX-License-Identifier: MIT */
/* tpl_vars.c: the variables of a template build and their substitution (docs/templates.md
 * "Variable substitution"): Docker's word processing for ENV, ARG, LABEL, WORKDIR, USER,
 * EXPOSE, VOLUME, STOPSIGNAL, COPY and ADD: quotes removed, `\` escapes, $VAR, ${VAR},
 * ${VAR:-word}, ${VAR:+word}. Output capped at 64 KiB; nesting capped so hostile text cannot
 * recurse deep. */
#include "daemon/tpl/dockerfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/grow.h"

#define EXPAND_MAX 65536
#define NEST_MAX 64

int tpl_vars_set(struct tpl_vars *vars, const char *key, const char *value)
{
    char *v = strdup(value ? value : "");
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < vars->n; i++)
        if (strcmp(vars->v[i].key, key) == 0) {
            free(vars->v[i].value);
            vars->v[i].value = v;
            return 0;
        }
    struct tpl_kv *a = grow_array(vars->v, vars->n, &vars->cap, sizeof(*a), 8);
    char *k = strdup(key);
    if (!a || !k) {
        free(v);
        free(k);
        return -ENOMEM;
    }
    vars->v = a;
    a[vars->n++] = (struct tpl_kv){ .key = k, .value = v };
    return 0;
}

const char *tpl_vars_get(const struct tpl_vars *vars, const char *key)
{
    for (size_t i = 0; vars && i < vars->n; i++)
        if (strcmp(vars->v[i].key, key) == 0)
            return vars->v[i].value;
    return NULL;
}

void tpl_vars_free(struct tpl_vars *vars)
{
    for (size_t i = 0; i < vars->n; i++) {
        free(vars->v[i].key);
        free(vars->v[i].value);
    }
    free(vars->v);
    *vars = (struct tpl_vars){ 0 };
}

struct ex {
    const char *s;
    size_t i;
    const struct tpl_vars *vars;
    struct buf out;
    int err;                            /* first failure: -EINVAL, -E2BIG, -ENOMEM */
};

static bool put(struct ex *x, const char *p, size_t n)
{
    if (x->err)
        return false;
    int r = buf_append(&x->out, p, n);
    if (r < 0)
        x->err = r == -EMSGSIZE ? -E2BIG : r;
    return r == 0;
}

static bool name_char(char c, bool first)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (!first && c >= '0' && c <= '9');
}

/* The length of the parameter name at s, as Docker's shell lexer reads one: a run of digits (a
 * positional parameter), one special parameter character, or a name; 0 when there is none. */
static size_t name_len(const char *s)
{
    size_t n = 0;
    if (s[0] >= '0' && s[0] <= '9') {
        while (s[n] >= '0' && s[n] <= '9')
            n++;
        return n;
    }
    if (s[0] && strchr("@*#?-$!", s[0]))
        return 1;
    while (s[n] && name_char(s[n], n == 0))
        n++;
    return n;
}

/* The value of the n-byte name at s, or NULL (unset; also a name too long to be set). */
static const char *lookup(const struct tpl_vars *vars, const char *s, size_t n)
{
    char name[256];
    if (n >= sizeof(name))
        return NULL;
    memcpy(name, s, n);
    name[n] = '\0';
    return tpl_vars_get(vars, name);
}

static void words(struct ex *x, char stop, unsigned depth);

/* At a '$' (x->i just past it). */
static void dollar(struct ex *x, unsigned depth)
{
    const char *s = x->s;
    bool brace = s[x->i] == '{';
    if (brace)
        x->i++;
    size_t n = name_len(s + x->i);
    const char *v = lookup(x->vars, s + x->i, n);
    x->i += n;
    if (!brace) {
        if (n == 0)
            put(x, "$", 1);             /* "$", "$ ", "a$/": kept as written */
        else if (v)
            put(x, v, strlen(v));
        return;
    }
    if (n == 0) {
        x->err = -EINVAL;               /* "${}", "${-x}"…: bad substitution */
        return;
    }
    if (s[x->i] == '}') {
        x->i++;
        if (v)
            put(x, v, strlen(v));
        return;
    }
    if (s[x->i] != ':' || (s[x->i + 1] != '-' && s[x->i + 1] != '+')) {
        x->err = -EINVAL;               /* unterminated, or a modifier Docker's docs do not list */
        return;
    }
    bool plus = s[x->i + 1] == '+';
    x->i += 2;
    size_t mark = x->out.len;
    words(x, '}', depth + 1);
    if (x->err)
        return;
    if (s[x->i] != '}') {
        x->err = -EINVAL;
        return;
    }
    x->i++;
    bool set = v && *v;
    if (plus && !set)
        x->out.len = mark;
    else if (!plus && set) {
        x->out.len = mark;
        put(x, v, strlen(v));
    }
}

/* Processes text up to stop (or the end when stop is '\0'); leaves x->i on stop. */
static void words(struct ex *x, char stop, unsigned depth)
{
    const char *s = x->s;
    if (depth > NEST_MAX) {
        x->err = -EINVAL;
        return;
    }
    while (!x->err && s[x->i] && s[x->i] != stop) {
        char c = s[x->i++];
        if (c == '\'') {
            const char *q = strchr(s + x->i, '\'');
            if (!q) {
                x->err = -EINVAL;
                return;
            }
            put(x, s + x->i, (size_t)(q - (s + x->i)));
            x->i = (size_t)(q - s) + 1;
        } else if (c == '"') {
            while (!x->err && s[x->i] && s[x->i] != '"') {
                char d = s[x->i++];
                if (d == '\\' && (s[x->i] == '"' || s[x->i] == '$' || s[x->i] == '\\'))
                    put(x, s + x->i++, 1);
                else if (d == '$')
                    dollar(x, depth + 1);
                else
                    put(x, &d, 1);
            }
            if (!x->err && s[x->i] != '"') {
                x->err = -EINVAL;
                return;
            }
            x->i++;
        } else if (c == '\\') {
            if (s[x->i])
                put(x, s + x->i++, 1);
            else
                put(x, "\\", 1);
        } else if (c == '$')
            dollar(x, depth);
        else
            put(x, &c, 1);
    }
}

char *tpl_expand(const char *in, const struct tpl_vars *vars)
{
    struct ex x = { .s = in, .vars = vars };
    buf_init(&x.out, EXPAND_MAX);
    words(&x, '\0', 0);
    if (!x.err)
        put(&x, "", 1);
    if (x.err) {
        buf_release(&x.out);
        errno = -x.err;
        return NULL;
    }
    return (char *)buf_take(&x.out, NULL);
}
