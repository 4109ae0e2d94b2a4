/* SPDX-License-Identifier: MIT */
/* template_layer.c: layer keys and layer.json (template_layer.h). */
#include "daemon/ctl/template_layer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

static void put_field(EVP_MD_CTX *md, const char *s)
{
    uint64_t n = s ? strlen(s) : 0;
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(n >> (8 * i));
    EVP_DigestUpdate(md, len, sizeof(len));
    if (n)
        EVP_DigestUpdate(md, s, n);
}

void tpl_layer_key(const char *user_id, const char *parent, const char *text,
                   const char *inputs, char out[65])
{
    unsigned char d[32] = { 0 };
    unsigned dl = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1) {
        put_field(md, "tpl-layer-1");
        put_field(md, user_id);
        put_field(md, parent);
        put_field(md, text);
        put_field(md, inputs);
        EVP_DigestFinal_ex(md, d, &dl);
    }
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

size_t tpl_strv_len(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

void tpl_strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

char **tpl_strv_dup(char *const *v)
{
    if (!v)
        return NULL;
    size_t n = tpl_strv_len(v);
    char **r = calloc(n + 1, sizeof(*r));
    for (size_t i = 0; r && i < n; i++)
        if (!(r[i] = strdup(v[i]))) {
            tpl_strv_free(r);
            return NULL;
        }
    return r;
}

void tpl_layer_meta_release(struct tpl_layer_meta *m)
{
    free(m->text);
    tpl_strv_free(m->env);
    tpl_strv_free(m->shell);
    tpl_strv_free(m->cmd);
    tpl_strv_free(m->entrypoint);
    memset(m, 0, sizeof(*m));
}

static json_t *strv_json(char *const *v)
{
    if (!v)
        return json_null();
    json_t *a = json_array();
    for (size_t i = 0; a && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

char *tpl_layer_meta_json(const struct tpl_layer_meta *m)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:o,s:s,s:s,s:o,s:o,s:o,s:I,s:I}", "key", m->key,
                          "parent", m->parent, "user_id", m->user_id, "text",
                          m->text ? m->text : "", "created_at", (json_int_t)m->created_at, "env",
                          strv_json(m->env), "workdir", m->workdir, "user", m->user, "shell",
                          strv_json(m->shell), "cmd", strv_json(m->cmd), "entrypoint",
                          strv_json(m->entrypoint), "fs_mib", (json_int_t)m->fs_mib,
                          "used_bytes", (json_int_t)m->used_bytes);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* A string array field: NULL when absent or null; -EINVAL in *rc when malformed. */
static char **json_strv(json_t *a, int *rc)
{
    if (!a || json_is_null(a))
        return NULL;
    if (!json_is_array(a)) {
        *rc = -EINVAL;
        return NULL;
    }
    size_t n = json_array_size(a);
    char **v = calloc(n + 1, sizeof(*v));
    for (size_t i = 0; v && i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || !(v[i] = strdup(s))) {
            tpl_strv_free(v);
            *rc = -EINVAL;
            return NULL;
        }
    }
    if (!v)
        *rc = -ENOMEM;
    return v;
}

static void copy_str(json_t *o, const char *k, char *out, size_t len)
{
    const char *s = json_string_value(json_object_get(o, k));
    snprintf(out, len, "%s", s ? s : "");
}

int tpl_layer_meta_parse(const char *text, struct tpl_layer_meta *ret)
{
    memset(ret, 0, sizeof(*ret));
    json_t *o = json_loads(text, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return -EINVAL;
    }
    int rc = 0;
    copy_str(o, "key", ret->key, sizeof(ret->key));
    copy_str(o, "parent", ret->parent, sizeof(ret->parent));
    copy_str(o, "user_id", ret->user_id, sizeof(ret->user_id));
    copy_str(o, "workdir", ret->workdir, sizeof(ret->workdir));
    copy_str(o, "user", ret->user, sizeof(ret->user));
    const char *t = json_string_value(json_object_get(o, "text"));
    ret->text = strdup(t ? t : "");
    ret->created_at = json_integer_value(json_object_get(o, "created_at"));
    ret->fs_mib = (uint64_t)json_integer_value(json_object_get(o, "fs_mib"));
    ret->used_bytes = json_integer_value(json_object_get(o, "used_bytes"));
    ret->env = json_strv(json_object_get(o, "env"), &rc);
    ret->shell = json_strv(json_object_get(o, "shell"), &rc);
    ret->cmd = json_strv(json_object_get(o, "cmd"), &rc);
    ret->entrypoint = json_strv(json_object_get(o, "entrypoint"), &rc);
    json_decref(o);
    if (!ret->text && rc == 0)
        rc = -ENOMEM;
    if (rc < 0)
        tpl_layer_meta_release(ret);
    return rc;
}

int tpl_layer_meta_write(const char *dir, const struct tpl_layer_meta *m)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/layer.json", dir) >= sizeof(path))
        return -ENAMETOOLONG;
    char *s = tpl_layer_meta_json(m);
    if (!s)
        return -ENOMEM;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? -errno : 0;
    size_t len = strlen(s);
    if (rc == 0 && (write(fd, s, len) != (ssize_t)len || fsync(fd) < 0))
        rc = -EIO;
    if (fd >= 0)
        close(fd);
    free(s);
    return rc;
}

int tpl_layer_meta_read(const char *dir, struct tpl_layer_meta *ret)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/layer.json", dir) >= sizeof(path))
        return -ENAMETOOLONG;
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o)
        return access(path, F_OK) < 0 ? -ENOENT : -EINVAL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return -ENOMEM;
    int rc = tpl_layer_meta_parse(s, ret);
    free(s);
    return rc;
}
