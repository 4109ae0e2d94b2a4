/* SPDX-License-Identifier: MIT */
/* dockerfile.c: the instruction rules of docs/api.md §3.10.1 with hearth's COPY/ADD extension
 * (docs/templates.md "Dockerfiles") over the logical lines of dockerfile_lex.c: one FROM first,
 * the instruction set, flags, JSON and shell forms, name=value pairs. Values are kept as written
 * (quotes and escapes in them) for tpl_expand at build time; the parser expands them once with
 * the Dockerfile's own ENV and ARG values only to refuse bad substitutions and COPY sources
 * that leave the context early. */
#include "daemon/tpl/dockerfile.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/grow.h"
#include "daemon/tpl/context_tar.h"
#include "daemon/tpl/dockerfile_internal.h"

/* what the parser's own substitution may hold and produce in all: far above any real
 * Dockerfile, low enough that `ENV a=$b$b…` chains or a thousand `$BIG`s cannot make it
 * allocate or copy without bound */
#define VARS_MAX_BYTES (1u << 20)
#define VARS_MAX_COUNT 1024
#define EXPANDED_MAX (4u << 20)

static const struct {
    const char *name;
    int kind;                           /* enum tpl_instr, or -1 for ONBUILD */
} instrs[] = {
    { "FROM", TPL_FROM },         { "RUN", TPL_RUN },
    { "ENV", TPL_ENV },           { "ARG", TPL_ARG },
    { "WORKDIR", TPL_WORKDIR },   { "USER", TPL_USER },
    { "SHELL", TPL_SHELL },       { "LABEL", TPL_LABEL },
    { "COPY", TPL_COPY },         { "ADD", TPL_ADD },
    { "CMD", TPL_CMD },           { "ENTRYPOINT", TPL_ENTRYPOINT },
    { "EXPOSE", TPL_EXPOSE },     { "VOLUME", TPL_VOLUME },
    { "STOPSIGNAL", TPL_STOPSIGNAL }, { "HEALTHCHECK", TPL_HEALTHCHECK },
    { "MAINTAINER", TPL_MAINTAINER }, { "ONBUILD", -1 },
};

const char *tpl_instr_name(enum tpl_instr k)
{
    for (size_t i = 0; i < sizeof(instrs) / sizeof(instrs[0]); i++)
        if (instrs[i].kind == (int)k)
            return instrs[i].name;
    return "?";
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static const char *skip_blank(const char *s)
{
    while (*s && blank(*s))
        s++;
    return s;
}

/* A word cut to fit a message, without splitting a UTF-8 sequence. */
static int shown(const char *s, size_t n)
{
    if (n <= 60)
        return (int)n;
    n = 60;
    while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return (int)n;
}

struct parse {
    struct tpl_dockerfile *df;
    struct tpl_error *err;
    bool have_context;
    char escape;
    struct tpl_vars vars;               /* ENV and ARG so far, expanded (for the checks only) */
    size_t vars_bytes;
    size_t expanded;                    /* bytes every expand_check produced */
    unsigned line;
    const char *name;                   /* the instruction, as the messages name it */
};

/* --- flags: `--name[=value]` words at the start of the arguments, as BuildKit reads them for
 * every instruction --- */

struct flags {
    char *chown, *chmod;
};

static int take_flags(struct parse *p, enum tpl_instr k, const char **args, struct flags *f)
{
    const char *s = *args;
    while (s[0] == '-' && s[1] == '-') {
        const char *e = s;
        while (*e && !blank(*e))
            e++;
        if (e == s + 2) {               /* "--" ends the flags */
            s = skip_blank(e);
            break;
        }
        const char *eq = memchr(s, '=', (size_t)(e - s));
        size_t nl = (size_t)((eq ? eq : e) - (s + 2));
        const char *val = eq ? eq + 1 : NULL;
        size_t vl = eq ? (size_t)(e - val) : 0;
        char **slot = NULL;
        if (k == TPL_COPY || k == TPL_ADD) {
            if (nl == 5 && memcmp(s + 2, "chown", 5) == 0)
                slot = &f->chown;
            else if (nl == 5 && memcmp(s + 2, "chmod", 5) == 0)
                slot = &f->chmod;
            else if (nl == 4 && memcmp(s + 2, "from", 4) == 0)
                return df_fail(p->err, p->line,
                               "%s --from is not supported (single-stage builds only)", p->name);
        } else if (k == TPL_HEALTHCHECK) {
            static const char *const hc[] = { "interval", "timeout", "start-period",
                                              "start-interval", "retries" };
            for (size_t i = 0; i < sizeof(hc) / sizeof(hc[0]); i++) {
                if (nl != strlen(hc[i]) || memcmp(s + 2, hc[i], nl) != 0)
                    continue;
                if (!val || !vl)
                    return df_fail(p->err, p->line, "HEALTHCHECK --%s needs a value", hc[i]);
                goto next;              /* recorded with the rest of the line */
            }
        }
        if (!slot)
            return df_fail(p->err, p->line, "%s --%.*s is not supported", p->name, shown(s + 2, nl),
                           s + 2);
        if (!val || !vl)
            return df_fail(p->err, p->line, "%s --%.*s needs a value", p->name, (int)nl, s + 2);
        if (*slot)
            return df_fail(p->err, p->line, "%s --%.*s is given twice", p->name, (int)nl, s + 2);
        *slot = strndup(val, vl);
        if (!*slot)
            return -ENOMEM;
next:
        s = skip_blank(e);
    }
    if (k != TPL_HEALTHCHECK)
        *args = s;
    return 0;
}

/* --- forms --- */

static void free_argv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* BuildKit's parseJSON: text that is not JSON is the shell form; a JSON array holding anything
 * but strings is an error. 1 (JSON, argv set), 0 (not JSON) or -errno. */
static int json_form(struct parse *p, const char *args, char ***ret_v, size_t *ret_n)
{
    if (args[0] != '[')
        return 0;
    json_t *j = json_loads(args, 0, NULL);
    if (!j || !json_is_array(j)) {
        json_decref(j);
        return 0;
    }
    size_t n = json_array_size(j);
    char **v = calloc(n + 1, sizeof(*v));
    if (!v) {
        json_decref(j);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(j, i));
        if (!s) {
            free_argv(v, i);
            json_decref(j);
            return df_fail(
                p->err, p->line,
                "%s in JSON form takes an array of strings only (element %zu is not one)", p->name,
                i + 1);
        }
        v[i] = strdup(s);
        if (!v[i]) {
            free_argv(v, i);
            json_decref(j);
            return -ENOMEM;
        }
    }
    json_decref(j);
    *ret_v = v;
    *ret_n = n;
    return 1;
}

static int one_arg(struct parse *p, struct tpl_step *st, const char *args)
{
    st->argv = calloc(2, sizeof(*st->argv));
    if (!st->argv || !(st->argv[0] = strdup(args)))
        return -ENOMEM;
    st->argc = 1;
    return 0;
}

/* BuildKit's parseWords: words split on blanks outside quotes, quotes and escapes kept. */
static int split_words(struct parse *p, const char *s, char ***ret_v, size_t *ret_n)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    for (s = skip_blank(s); *s; s = skip_blank(s)) {
        const char *a = s;
        char q = 0;
        while (*s && (q || !blank(*s))) {
            if (*s == p->escape && s[1] && q != '\'')
                s++;
            else if (q && *s == q)
                q = 0;
            else if (!q && (*s == '\'' || *s == '"'))
                q = *s;
            s++;
        }
        char **nv = grow_array(v, n + 1, &cap, sizeof(*v), 8);
        if (!nv)
            goto out_oom;
        v = nv;
        if (!(v[n] = strndup(a, (size_t)(s - a))))
            goto out_oom;
        v[++n] = NULL;
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
out_oom:
    free_argv(v, n);
    return -ENOMEM;
}

/* With `# escape=``, Docker's word processing uses ` where tpl_expand uses \: rewrite the
 * escapes outside single quotes so that the value means the same to tpl_expand. */
static int norm_escape(struct parse *p, char **w)
{
    if (p->escape == '\\')
        return 0;
    const char *s = *w;
    char *o = malloc(strlen(s) * 2 + 1), *d = o;
    if (!o)
        return -ENOMEM;
    bool sq = false;
    for (; *s; s++) {
        if (*s == '\'')
            sq = !sq;
        if (!sq && *s == '`' && s[1]) {
            *d++ = '\\';
            *d++ = *++s;
        } else if (!sq && *s == '\\') {
            *d++ = '\\';
            *d++ = '\\';
        } else
            *d++ = *s;
    }
    *d = '\0';
    free(*w);
    *w = o;
    return 0;
}

/* Expands a value as the build will (with the Dockerfile's own variables), to refuse what the
 * build would fail on. Returns the expansion (caller frees) or NULL with *err written. */
static char *expand_check(struct parse *p, const char *what, const char *val, int *ret)
{
    char *x = tpl_expand(val, &p->vars);
    if (x) {
        p->expanded += strlen(x);
        if (p->expanded <= EXPANDED_MAX)
            return x;
        free(x);
        *ret = df_fail(p->err, p->line, "the Dockerfile's values expand to more than %u bytes",
                       EXPANDED_MAX);
        return NULL;
    }
    if (errno == E2BIG)
        *ret = df_fail(p->err, p->line, "%s expands to more than 64 KiB", what);
    else if (errno == EINVAL)
        *ret = df_fail(p->err, p->line,
                       "%s: bad substitution or unterminated quote in '%.*s'", what,
                       shown(val, strlen(val)), val);
    else
        *ret = -ENOMEM;
    return NULL;
}

static int var_set(struct parse *p, const char *key, const char *raw)
{
    int r = 0;
    char *x = expand_check(p, p->name, raw, &r);
    if (!x)
        return r;
    p->vars_bytes += strlen(key) + strlen(x);
    if (p->vars_bytes > VARS_MAX_BYTES) {
        free(x);
        return df_fail(p->err, p->line, "the ENV and ARG values are over %u bytes in all",
                       VARS_MAX_BYTES);
    }
    if (p->vars.n >= VARS_MAX_COUNT && !tpl_vars_get(&p->vars, key)) {
        free(x);
        return df_fail(p->err, p->line, "more than %u ENV and ARG names", VARS_MAX_COUNT);
    }
    r = tpl_vars_set(&p->vars, key, x);
    free(x);
    return r;
}

/* An ENV or ARG name: no control characters, quotes, escapes or '$' (the build writes ENV to
 * /etc/environment, one NAME=value a line). */
static bool key_ok(const char *k, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f || strchr("$'\"\\`", k[i]))
            return false;
    return true;
}

static int add_kv(struct parse *p, struct tpl_kv **v, size_t *n, size_t *cap, const char *k,
                  size_t kn, const char *val)
{
    struct tpl_kv *a = grow_array(*v, *n, cap, sizeof(*a), 4);
    if (!a)
        return -ENOMEM;
    *v = a;
    a[*n] = (struct tpl_kv){ .key = strndup(k, kn), .value = val ? strdup(val) : NULL };
    (*n)++;
    if (!a[*n - 1].key || (val && !a[*n - 1].value))
        return -ENOMEM;
    if (a[*n - 1].value)
        return norm_escape(p, &a[*n - 1].value);
    return 0;
}

/* ENV and LABEL: `k=v k2="v 2"`, or the legacy `k rest of the line` (BuildKit's parseNameVal). */
static int name_values(struct parse *p, struct tpl_step *st, const char *args)
{
    char **w = NULL;
    size_t nw = 0, cap = 0;
    int r = split_words(p, args, &w, &nw);
    if (r < 0)
        return r;
    if (nw == 0) {
        r = df_fail(p->err, p->line, "%s needs a name and a value (%s name=value)", p->name,
                    p->name);
        goto out;
    }
    if (!strchr(w[0], '=')) {
        const char *e = args;
        while (*e && !blank(*e))
            e++;
        const char *val = skip_blank(e);
        if (!*val) {
            r = df_fail(p->err, p->line, "%s needs a value (%s name=value)", p->name, p->name);
            goto out;
        }
        r = add_kv(p, &st->kv, &st->n_kv, &cap, args, (size_t)(e - args), val);
        goto check;
    }
    for (size_t i = 0; i < nw && r == 0; i++) {
        const char *eq = strchr(w[i], '=');
        if (!eq || eq == w[i]) {
            r = df_fail(p->err, p->line, "%s: '%.*s' is not name=value", p->name,
                        shown(w[i], strlen(w[i])), w[i]);
            goto out;
        }
        r = add_kv(p, &st->kv, &st->n_kv, &cap, w[i], (size_t)(eq - w[i]), eq + 1);
    }
check:
    for (size_t i = 0; i < st->n_kv && r == 0; i++) {
        struct tpl_kv *kv = &st->kv[i];
        if (st->kind == TPL_ENV && !key_ok(kv->key, strlen(kv->key))) {
            r = df_fail(p->err, p->line, "ENV: '%.*s' is not a valid name",
                        shown(kv->key, strlen(kv->key)), kv->key);
            break;
        }
        if (st->kind == TPL_ENV)
            r = var_set(p, kv->key, kv->value);
        else {
            int e = 0;
            char *x = expand_check(p, p->name, kv->value, &e);
            free(x);
            r = x ? 0 : e;
        }
    }
out:
    free_argv(w, nw);
    return r;
}

/* ARG name[=default] …; before FROM into pre_args, after it a step. */
static int args_list(struct parse *p, struct tpl_kv **v, size_t *n, const char *args, bool pre)
{
    char **w = NULL;
    size_t nw = 0, cap = *n;
    int r = split_words(p, args, &w, &nw);
    if (r < 0)
        return r;
    if (nw == 0)
        r = df_fail(p->err, p->line, "ARG needs a name (ARG name[=default])");
    for (size_t i = 0; i < nw && r == 0; i++) {
        const char *eq = strchr(w[i], '=');
        size_t kn = eq ? (size_t)(eq - w[i]) : strlen(w[i]);
        if (!key_ok(w[i], kn)) {
            r = df_fail(p->err, p->line, "ARG: '%.*s' is not a valid name", shown(w[i], kn),
                        w[i]);
            break;
        }
        r = add_kv(p, v, n, &cap, w[i], kn, eq ? eq + 1 : NULL);
        if (r < 0 || pre)
            continue;
        const char *val = (*v)[*n - 1].value;
        if (!val)               /* Docker: a bare ARG after FROM takes the default given before */
            for (size_t j = 0; j < p->df->n_pre_args; j++)
                if (strcmp(p->df->pre_args[j].key, (*v)[*n - 1].key) == 0)
                    val = p->df->pre_args[j].value;
        if (val)
            r = var_set(p, (*v)[*n - 1].key, val);
    }
    free_argv(w, nw);
    return r;
}

/* A heredoc opener as BuildKit sees it: a word `[n]<<[-]WORD` (not the `<<<` here-string). */
static int no_heredoc(struct parse *p, const char *args)
{
    for (const char *s = skip_blank(args); *s; s = skip_blank(s)) {
        const char *w = s;
        while (*s && !blank(*s))
            s++;
        while (w < s && *w >= '0' && *w <= '9')
            w++;
        if (s - w > 2 && w[0] == '<' && w[1] == '<' && w[2] != '<')
            return df_fail(p->err, p->line, "heredocs (%.*s) are not supported",
                           shown(w, (size_t)(s - w)), w);
    }
    return 0;
}

static bool is_url(const char *s)
{
    if (strncmp(s, "git@", 4) == 0)
        return true;
    const char *c = s;
    if (!((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z'))
        return false;
    while (((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z') || (*c >= '0' && *c <= '9') ||
           *c == '+' || *c == '.' || *c == '-')
        c++;
    return strncmp(c, "://", 3) == 0;
}

static bool all_of(const char *s, const char *set)
{
    return *s && strspn(s, set) == strlen(s);
}

static int copy_add(struct parse *p, struct tpl_step *st, const char *args, struct flags *f)
{
    if (!p->have_context)
        return df_fail(p->err, p->line,
                       "%s needs a build context (hearth: POST /v1/template-contexts)", p->name);
    if (f->chmod && !(all_of(f->chmod, "01234567") && strlen(f->chmod) <= 4))
        return df_fail(p->err, p->line, "%s --chmod takes an octal mode such as 755", p->name);
    if (f->chown && !all_of(f->chown, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789_.-:"))
        return df_fail(p->err, p->line, "%s --chown takes user[:group] names or ids", p->name);
    int r = json_form(p, args, &st->argv, &st->argc);
    if (r < 0)
        return r;
    st->json = r == 1;
    if (!st->json && (r = no_heredoc(p, args)) < 0)
        return r;
    if (!st->json) {
        /* BuildKit's parseStringsWhitespaceDelimited: no quote handling here */
        size_t cap = 0;
        for (const char *s = skip_blank(args); *s; s = skip_blank(s)) {
            const char *a = s;
            while (*s && !blank(*s))
                s++;
            char **v = grow_array(st->argv, st->argc + 1, &cap, sizeof(*v), 4);
            if (!v)
                return -ENOMEM;
            st->argv = v;
            v[st->argc] = strndup(a, (size_t)(s - a));
            if (!v[st->argc])
                return -ENOMEM;
            v[++st->argc] = NULL;
            r = norm_escape(p, &v[st->argc - 1]);
            if (r < 0)
                return r;
        }
    }
    if (st->argc < 2)
        return df_fail(p->err, p->line, "%s needs a source and a destination", p->name);
    for (size_t i = 0; i < st->argc; i++) {
        const char *a = st->argv[i];
        bool dest = i == st->argc - 1;
        if (!dest && is_url(a))
            return df_fail(p->err, p->line, "%s from a URL is not supported", p->name);
        char *x = expand_check(p, p->name, a, &r);
        if (!x)
            return r;
        bool inside = dest || tpl_ctx_path_inside(x);
        free(x);
        if (!inside)
            return df_fail(
                p->err, p->line,
                "%s source '%.*s' is outside the build context (a relative path inside it)",
                p->name, shown(a, strlen(a)), a);
    }
    st->chown = f->chown;
    st->chmod = f->chmod;
    f->chown = f->chmod = NULL;
    return 0;
}

/* RUN, CMD, ENTRYPOINT, SHELL. */
static int command(struct parse *p, struct tpl_step *st, const char *args)
{
    int r = json_form(p, args, &st->argv, &st->argc);
    if (r < 0)
        return r;
    st->json = r == 1;
    /* BuildKit looks for heredocs in the shell form of RUN, COPY and ADD only */
    if (st->kind == TPL_RUN && !st->json && (r = no_heredoc(p, args)) < 0)
        return r;
    if (st->kind == TPL_SHELL && (!st->json || st->argc == 0))
        return df_fail(p->err, p->line,
                       "SHELL takes the JSON form with a program (SHELL [\"/bin/bash\", \"-c\"])");
    if (!*args || (st->kind == TPL_RUN && st->json && st->argc == 0))
        return df_fail(p->err, p->line, "%s needs a command", p->name);
    if (!st->json)
        return one_arg(p, st, args);
    return 0;
}

static int from(struct parse *p, const char *args, struct flags *f)
{
    if (strchr(args, '$'))
        return df_fail(p->err, p->line, "FROM may not hold a variable ($)");
    int r = take_flags(p, TPL_FROM, &args, f);
    if (r < 0)
        return r;
    char **w = NULL;
    size_t n = 0;
    r = split_words(p, args, &w, &n);
    if (r < 0)
        return r;
    if (n == 0)
        r = df_fail(p->err, p->line, "FROM needs an image");
    else if (n != 1 && !(n == 3 && strcasecmp(w[1], "AS") == 0))
        r = df_fail(p->err, p->line, "FROM takes an image and an optional AS name");
    else if (strcasecmp(w[0], "scratch") == 0)
        r = df_fail(p->err, p->line, "FROM scratch is not supported (name a base image)");
    if (r == 0) {
        p->df->from = w[0];
        p->df->from_line = p->line;
        w[0] = NULL;
    }
    free_argv(w, n);
    return r;
}

static int step(struct parse *p, enum tpl_instr k, const char *text, const char *args)
{
    struct tpl_dockerfile *df = p->df;
    if (df->n_steps >= TPL_MAX_STEPS)
        return df_fail(p->err, p->line, "more than %d instructions after FROM", TPL_MAX_STEPS);
    struct tpl_step *v = realloc(df->steps, (df->n_steps + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    df->steps = v;
    struct tpl_step *st = &v[df->n_steps++];
    *st = (struct tpl_step){ .kind = k, .line = p->line, .text = strdup(text) };
    if (!st->text)
        return -ENOMEM;
    struct flags f = { 0 };
    int r = take_flags(p, k, &args, &f);
    if (r < 0)
        goto out;
    switch (k) {
    case TPL_RUN:
    case TPL_CMD:
    case TPL_ENTRYPOINT:
    case TPL_SHELL:
        r = command(p, st, args);
        break;
    case TPL_ENV:
    case TPL_LABEL:
        r = name_values(p, st, args);
        break;
    case TPL_ARG:
        r = args_list(p, &st->kv, &st->n_kv, args, false);
        break;
    case TPL_COPY:
    case TPL_ADD:
        r = copy_add(p, st, args, &f);
        break;
    default:
        if (!*args) {
            r = df_fail(p->err, p->line, "%s needs an argument", p->name);
            break;
        }
        r = one_arg(p, st, args);
        if (r == 0 && k != TPL_MAINTAINER && k != TPL_HEALTHCHECK) {
            r = norm_escape(p, &st->argv[0]);
            char *x = r ? NULL : expand_check(p, p->name, st->argv[0], &r);
            free(x);
        }
        break;
    }
out:
    free(f.chown);
    free(f.chmod);
    return r;
}

static int instruction(struct parse *p, const struct df_line *l)
{
    const char *s = l->text, *e = s;
    while (*e && !blank(*e))
        e++;
    size_t n = (size_t)(e - s);
    int kind = -2;
    for (size_t i = 0; i < sizeof(instrs) / sizeof(instrs[0]); i++)
        if (n == strlen(instrs[i].name) && strncasecmp(s, instrs[i].name, n) == 0)
            kind = instrs[i].kind;
    p->line = l->line;
    if (kind == -2)
        return df_fail(p->err, p->line, "unknown instruction '%.*s'", shown(s, n), s);
    p->name = kind == -1 ? "ONBUILD" : tpl_instr_name((enum tpl_instr)kind);
    if (kind == -1)
        return df_fail(p->err, p->line, "ONBUILD is not supported");
    const char *args = skip_blank(e);
    struct tpl_dockerfile *df = p->df;
    if (!df->from) {
        if (kind == TPL_ARG) {
            struct flags f = { 0 };
            int r = take_flags(p, TPL_ARG, &args, &f);
            return r < 0 ? r : args_list(p, &df->pre_args, &df->n_pre_args, args, true);
        }
        if (kind != TPL_FROM)
            return df_fail(p->err, p->line,
                           "%s before FROM (FROM must be the first instruction)", p->name);
        struct flags f = { 0 };
        return from(p, args, &f);
    }
    if (kind == TPL_FROM)
        return df_fail(p->err, p->line,
                       "a second FROM (multi-stage builds are not supported)");
    return step(p, (enum tpl_instr)kind, l->text, args);
}

int tpl_dockerfile_parse(const char *src, size_t len, bool have_context,
                         struct tpl_dockerfile *out, struct tpl_error *err)
{
    struct tpl_error spare;
    if (!err)
        err = &spare;
    *err = (struct tpl_error){ 0 };
    *out = (struct tpl_dockerfile){ 0 };
    struct df_lines ls;
    int r = df_lex(src, len, &ls, err);
    if (r < 0)
        return r;
    struct parse p = { .df = out, .err = err, .have_context = have_context,
                       .escape = ls.escape };
    for (size_t i = 0; i < ls.n && r == 0; i++)
        r = instruction(&p, &ls.v[i]);
    if (r == 0 && !out->from)
        r = df_fail(err, 0, ls.n ? "Dockerfile has no FROM instruction" : "Dockerfile is empty");
    if (r == -ENOMEM)
        df_fail(err, 0, "out of memory");
    df_lines_release(&ls);
    tpl_vars_free(&p.vars);
    if (r < 0)
        tpl_dockerfile_free(out);
    return r;
}

static void free_kv(struct tpl_kv *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}

void tpl_dockerfile_free(struct tpl_dockerfile *df)
{
    if (!df)
        return;
    for (size_t i = 0; i < df->n_steps; i++) {
        struct tpl_step *st = &df->steps[i];
        free(st->text);
        free_argv(st->argv, st->argc);
        free_kv(st->kv, st->n_kv);
        free(st->chown);
        free(st->chmod);
    }
    free(df->steps);
    free_kv(df->pre_args, df->n_pre_args);
    free(df->from);
    *df = (struct tpl_dockerfile){ 0 };
}
