/* SPDX-License-Identifier: MIT */
/* template_image.c: the pure parts of a template image (template_vm.h): its golden tag, the
 * runtime settings in its top layer's layer.json and the start command and ready check in the
 * row's options JSON. Both JSON texts are read as hostile input (a build step runs as guest
 * root next to the files, and a bug elsewhere may write anything): bounded, typed, or refused
 * with a one-line reason. No I/O. */
#include "daemon/ctl/template.h"
#include "daemon/ctl/template_vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "daemon/host/host.h"

#define LAYER_JSON_MAX (256u << 10)
#define LAYER_ENV_MAX 1024            /* entries */
#define LAYER_ENV_ENTRY_MAX 65536     /* bytes of one "KEY=value" */

void ctl_tpl_image_release(struct ctl_tpl_image *t)
{
    if (!t)
        return;
    free(t->start_cmd);
    free(t->ready.arg);
    if (t->env)
        for (char **p = t->env; *p; p++)
            free(*p);
    free(t->env);
    memset(t, 0, sizeof(*t));
}

/* ---- the golden tag ---- */

/* Each field goes in with its length first, so no two field lists hash alike. */
static void tag_add(EVP_MD_CTX *m, const void *p, size_t n)
{
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    EVP_DigestUpdate(m, len, sizeof(len));
    if (n)
        EVP_DigestUpdate(m, p, n);
}

void ctl_tpl_golden_tag(const char *top_layer_key, const char *start_cmd,
                        const struct ctl_tpl_ready *ready, char out[65])
{
    static const struct ctl_tpl_ready none = { .kind = CTL_TPL_READY_NONE };
    const struct ctl_tpl_ready *r = ready ? ready : &none;
    char nums[96];
    int n = snprintf(nums, sizeof(nums), "%d|%u|%u|%u|%d", (int)r->kind, (unsigned)r->port,
                     (unsigned)r->delay_ms, (unsigned)r->timeout_s, start_cmd != NULL);
    unsigned char md[32];
    unsigned mdlen = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    bool ok = m && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1;
    if (ok) {
        tag_add(m, "tpl-golden-1", 12);
        tag_add(m, top_layer_key ? top_layer_key : "", top_layer_key ? strlen(top_layer_key) : 0);
        tag_add(m, start_cmd ? start_cmd : "", start_cmd ? strlen(start_cmd) : 0);
        tag_add(m, nums, (size_t)n);
        tag_add(m, r->arg ? r->arg : "", r->arg ? strlen(r->arg) : 0);
        ok = EVP_DigestFinal_ex(m, md, &mdlen) == 1 && mdlen == 32;
    }
    EVP_MD_CTX_free(m);
    if (!ok)
        memset(md, 0, sizeof(md)); /* out of memory: an all-zero tag finds no snapshot */
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- layer.json and options ---- */

static int fail(char *err, size_t len, const char *why)
{
    if (err && len)
        snprintf(err, len, "%s", why);
    return -EINVAL;
}

/* A string member of at most max - 1 bytes without NUL (absent: "" when optional). */
static int get_str(json_t *o, const char *key, char *out, size_t max, bool abs_path)
{
    json_t *v = json_object_get(o, key);
    out[0] = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) >= max ||
        strlen(json_string_value(v)) != json_string_length(v))
        return -EINVAL;
    const char *s = json_string_value(v);
    if (abs_path && s[0] && s[0] != '/')
        return -EINVAL;
    memcpy(out, s, json_string_length(v) + 1);
    return 0;
}

int ctl_tpl_layer_parse(const char *text, size_t len, struct ctl_tpl_image *t, char *err,
                        size_t errlen)
{
    if (len > LAYER_JSON_MAX)
        return fail(err, errlen, "layer.json too large");
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return fail(err, errlen, "layer.json is not a JSON object");
    }
    int r = -EINVAL;
    const char *why = "layer.json: workdir must be an absolute path";
    if (get_str(o, "workdir", t->workdir, sizeof(t->workdir), true) < 0)
        goto out;
    why = "layer.json: user must be a short string";
    if (get_str(o, "user", t->user, sizeof(t->user), false) < 0 || strchr(t->user, '\n'))
        goto out;
    why = "layer.json: fs_mib must be an integer from 1 to the largest disk";
    json_t *fs = json_object_get(o, "fs_mib");
    if (fs && (!json_is_integer(fs) || json_integer_value(fs) < 1 ||
               (uint64_t)json_integer_value(fs) > HOST_DISK_MAX_MIB))
        goto out;
    t->fs_mib = fs ? (uint64_t)json_integer_value(fs) : 10240;
    why = "layer.json: env must be an array of \"KEY=value\" strings";
    json_t *env = json_object_get(o, "env");
    if (env && !json_is_null(env)) {
        if (!json_is_array(env) || json_array_size(env) > LAYER_ENV_MAX)
            goto out;
        size_t n = json_array_size(env);
        char **v = calloc(n + 1, sizeof(*v));
        if (!v) {
            r = -ENOMEM;
            why = "out of memory";
            goto out;
        }
        t->env = v;
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(env, i);
            const char *s = json_string_value(e);
            size_t sl = s ? json_string_length(e) : 0;
            /* a key before '=', no NUL inside (it would cut the variable short) */
            if (!s || sl > LAYER_ENV_ENTRY_MAX || strlen(s) != sl || s[0] == '=' ||
                !strchr(s, '='))
                goto out;
            if (!(v[i] = strdup(s))) {
                r = -ENOMEM;
                why = "out of memory";
                goto out;
            }
        }
    }
    r = 0;
out:
    json_decref(o);
    if (r < 0) {
        if (t->env)
            for (char **p = t->env; *p; p++)
                free(*p);
        free(t->env);
        t->env = NULL;
        (void)fail(err, errlen, why);
        return r;
    }
    return 0;
}

int ctl_tpl_options_parse(const char *text, struct ctl_tpl_image *t, char *err, size_t errlen)
{
    json_error_t je;
    size_t len = text ? strnlen(text, STORE_TPL_OPTIONS_MAX) : 0;
    json_t *o = len ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &je) : json_object();
    if (!json_is_object(o)) {
        json_decref(o);
        return fail(err, errlen, "options: not a JSON object");
    }
    const char *why = NULL;
    json_t *sc = json_object_get(o, "start_cmd");
    if (sc && !json_is_null(sc)) {
        if (!json_is_string(sc) || json_string_length(sc) == 0 ||
            json_string_length(sc) > CTL_TPL_START_MAX ||
            strlen(json_string_value(sc)) != json_string_length(sc))
            why = "options: start_cmd must be a non-empty string without NUL";
        else if (!(t->start_cmd = strdup(json_string_value(sc))))
            why = "out of memory";
    }
    json_t *rd = json_object_get(o, "ready");
    struct ctl_tpl_ready *r = &t->ready;
    r->kind = CTL_TPL_READY_NONE;
    r->timeout_s = CTL_TPL_READY_TIMEOUT_DEFAULT_S;
    if (!why && rd && !json_is_null(rd)) {
        json_t *port = json_object_get(rd, "port"), *file = json_object_get(rd, "file");
        json_t *cmd = json_object_get(rd, "command"), *delay = json_object_get(rd, "delay_ms");
        json_t *to = json_object_get(rd, "timeout_seconds");
        int kinds = !!port + !!file + !!cmd + !!delay;
        json_t *s = file ? file : cmd;
        if (!json_is_object(rd) || kinds != 1)
            why = "options: ready must have one of port, file, command, delay_ms";
        else if (to && (!json_is_integer(to) || json_integer_value(to) < 1 ||
                        json_integer_value(to) > CTL_TPL_READY_TIMEOUT_MAX_S))
            why = "options: ready.timeout_seconds out of range";
        else if (port && (!json_is_integer(port) || json_integer_value(port) < 1 ||
                          json_integer_value(port) > 65535))
            why = "options: ready.port must be from 1 to 65535";
        else if (delay && (!json_is_integer(delay) || json_integer_value(delay) < 1 ||
                           json_integer_value(delay) > 600000))
            why = "options: ready.delay_ms must be from 1 to 600000";
        else if (s && (!json_is_string(s) || json_string_length(s) == 0 ||
                       json_string_length(s) > CTL_TPL_START_MAX ||
                       strlen(json_string_value(s)) != json_string_length(s) ||
                       (file && json_string_value(s)[0] != '/')))
            why = "options: ready.file must be an absolute path, ready.command a string";
        if (!why) {
            if (to)
                r->timeout_s = (uint32_t)json_integer_value(to);
            if (port) {
                r->kind = CTL_TPL_READY_PORT;
                r->port = (uint16_t)json_integer_value(port);
            } else if (delay) {
                r->kind = CTL_TPL_READY_DELAY;
                r->delay_ms = (uint32_t)json_integer_value(delay);
            } else {
                r->kind = file ? CTL_TPL_READY_FILE : CTL_TPL_READY_COMMAND;
                if (!(r->arg = strdup(json_string_value(s))))
                    why = "out of memory";
            }
        }
    }
    json_decref(o);
    if (why) {
        free(t->start_cmd);
        t->start_cmd = NULL;
        free(r->arg);
        r->arg = NULL;
        r->kind = CTL_TPL_READY_NONE;
        return fail(err, errlen, why);
    }
    return 0;
}

