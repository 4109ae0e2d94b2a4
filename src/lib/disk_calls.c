/* SPDX-License-Identifier: MIT */
/* disk_calls.c: libhearth's S3 disk calls (docs/api.md §3.9): the disk catalog (create, list,
 * get, rotate, delete) and a sandbox's mounts (attach, list, detach). Bodies that carry
 * credentials are wiped from memory once sent, so a secret does not linger in freed heap. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/lib_internal.h"

/* method path with the JSON text of body (may be NULL) → *ret; the text is wiped after. */
static int text_call(hearth_client *c, const char *method, const char *path, char *text,
                     hearth_obj **ret, struct hearth_error *reterr)
{
    struct hreq r = { .method = method, .path = path, .body = text,
                      .body_len = text ? strlen(text) : 0, .upload_fd = -1,
                      .timeout_ms = c->timeout_ms };
    int rc = lib_call_obj(c, &r, ret, reterr);
    if (text) {
        explicit_bzero(text, strlen(text));
        free(text);
    }
    return rc;
}

/* prefix + escaped ref + suffix, or the error for an empty ref (named what). */
static int ref_path(const char *prefix, const char *ref, const char *suffix, const char *what,
                    char **ret, struct hearth_error *reterr)
{
    if (!ref || !*ref)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty %s", what);
    *ret = lib_id_path(prefix, ref, suffix);
    return *ret ? HEARTH_OK : err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
}

/* One call on /v1/disks/{ref}; text (may be NULL) is taken and wiped. */
static int disk_call(hearth_client *c, const char *method, const char *ref, char *text,
                     hearth_obj **ret, struct hearth_error *reterr)
{
    char *path = NULL;
    int rc = ref_path("/v1/disks/", ref, "", "disk reference", &path, reterr);
    if (rc != HEARTH_OK) {
        if (text) {
            explicit_bzero(text, strlen(text));
            free(text);
        }
        return rc;
    }
    rc = text_call(c, method, path, text, ret, reterr);
    free(path);
    return rc;
}

HEARTH_EXPORT int hearth_disk_create(hearth_client *c, const hearth_body *body, hearth_obj **ret,
                                     struct hearth_error *reterr)
{
    if (!body)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "no disk body");
    char *text = hearth_body_json(body);
    if (!text)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    return text_call(c, "POST", "/v1/disks", text, ret, reterr);
}

HEARTH_EXPORT int hearth_disk_list(hearth_client *c, const struct hearth_page *page,
                                   hearth_list **ret, struct hearth_error *reterr)
{
    struct hearth_page p = { 0 };
    if (page) {
        p = *page;
        p.status = NULL; /* disks have no status filter */
    }
    return lib_call_list(c, "/v1/disks", &p, ret, reterr);
}

HEARTH_EXPORT int hearth_disk_get(hearth_client *c, const char *ref, hearth_obj **ret,
                                  struct hearth_error *reterr)
{
    return disk_call(c, "GET", ref, NULL, ret, reterr);
}

HEARTH_EXPORT int hearth_disk_rotate(hearth_client *c, const char *ref, const char *access_key,
                                     const char *secret_key, hearth_obj **ret,
                                     struct hearth_error *reterr)
{
    if (!access_key || !*access_key || !secret_key || !*secret_key)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty access key or secret key");
    json_t *body = json_pack("{s{ssss}}", "credentials", "access_key", access_key, "secret_key",
                             secret_key);
    if (!body) /* json_pack fails on text that is not UTF-8 (or out of memory) */
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "credentials are not UTF-8 text");
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    return disk_call(c, "PATCH", ref, text, ret, reterr);
}

HEARTH_EXPORT int hearth_disk_delete(hearth_client *c, const char *ref, hearth_obj **ret,
                                     struct hearth_error *reterr)
{
    return disk_call(c, "DELETE", ref, NULL, ret, reterr);
}

HEARTH_EXPORT int hearth_sandbox_disk_attach(hearth_client *c, const char *id, const char *disk,
                                             const char *mount_path, const char *sub_path,
                                             hearth_obj **ret, struct hearth_error *reterr)
{
    if (!disk || !*disk || !mount_path || !*mount_path)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty disk reference or mount path");
    json_t *body = json_pack("{ssss}", "disk_id", disk, "mount_path", mount_path);
    if (body && sub_path && json_object_set_new(body, "sub_path", json_string(sub_path)) < 0) {
        json_decref(body);
        body = NULL;
    }
    if (!body)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "disk attach fields are not UTF-8 text");
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *path = NULL;
    int rc = text ? ref_path("/v1/sandboxes/", id, "/disks", "sandbox id", &path, reterr)
                  : err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    if (rc == HEARTH_OK) {
        rc = text_call(c, "POST", path, text, ret, reterr);
        text = NULL;
    }
    free(text);
    free(path);
    return rc;
}

HEARTH_EXPORT int hearth_sandbox_disk_list(hearth_client *c, const char *id,
                                           const struct hearth_page *page, hearth_list **ret,
                                           struct hearth_error *reterr)
{
    char *path = NULL;
    int rc = ref_path("/v1/sandboxes/", id, "/disks", "sandbox id", &path, reterr);
    if (rc != HEARTH_OK)
        return rc;
    struct hearth_page p = { 0 };
    if (page) {
        p = *page;
        p.status = NULL;
    }
    rc = lib_call_list(c, path, &p, ret, reterr);
    free(path);
    return rc;
}

HEARTH_EXPORT int hearth_sandbox_disk_detach(hearth_client *c, const char *id, const char *disk,
                                             const char *mount_path, hearth_obj **ret,
                                             struct hearth_error *reterr)
{
    if (!disk || !*disk || !mount_path || !*mount_path)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty disk reference or mount path");
    char *d = curl_easy_escape(NULL, disk, 0);
    char *m = curl_easy_escape(NULL, mount_path, 0);
    char *suffix = NULL;
    if (d && m) {
        size_t n = strlen("/disks/?mount_path=") + strlen(d) + strlen(m) + 1;
        suffix = malloc(n);
        if (suffix)
            snprintf(suffix, n, "/disks/%s?mount_path=%s", d, m);
    }
    curl_free(d);
    curl_free(m);
    if (!suffix)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    char *path = NULL;
    int rc = ref_path("/v1/sandboxes/", id, suffix, "sandbox id", &path, reterr);
    free(suffix);
    if (rc != HEARTH_OK)
        return rc;
    rc = text_call(c, "DELETE", path, NULL, ret, reterr);
    free(path);
    return rc;
}
