/* SPDX-License-Identifier: MIT */
/* validate.c: sandbox request validation (validate.h). Every rule of §3.2.1 maps to one field
 * error; all errors of a body are reported together, and the `code` is the first one's. Input is
 * hostile: lengths are checked before copies, strings may hold NUL (JSON_ALLOW_NUL). */
#include "daemon/api/validate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/labels.h"
#include "common/utf8.h"
#include "daemon/api/auth.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/ctl.h"

/* ---- field errors ---- */

struct errs {
    json_t *o;          /* NULL until the first error */
    const char *code;   /* the first error's code */
};

__attribute__((format(printf, 4, 5)))
static void err_add(struct errs *e, const char *field, const char *code, const char *fmt, ...)
{
    if (!e->o)
        e->o = json_object();
    char key[300], msg[300];
    snprintf(key, sizeof(key), "%s", field);
    /* the field names and messages quote the body cut to a length ("envs.%.200s"); a cut inside
     * a UTF-8 sequence would make them invalid JSON text, and the error would be lost */
    utf8_cut_partial(key);
    if (!e->o || json_object_get(e->o, key))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    utf8_cut_partial(msg);
    json_object_set_new(e->o, key, json_string(msg));
    if (!e->code)
        e->code = code;
}

static json_t *err_take(struct errs *e)
{
    json_object_set_new(e->o, "code", json_string(e->code ? e->code : "invalid_request"));
    json_t *o = e->o;
    e->o = NULL;
    return o;
}

#define INVALID "invalid_request"

/* A field that is absent or null (§1.8 item 2) is NULL. */
static json_t *field(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return v && !json_is_null(v) ? v : NULL;
}

/* body[key] when present and of type (JSON_TRUE: either boolean), else NULL: absent
 * (*present false) or of another type (error msg recorded). */
static json_t *get_typed(struct errs *e, json_t *body, const char *key, bool *present,
                         json_type type, const char *msg)
{
    json_t *j = field(body, key);
    *present = j != NULL;
    if (j && (type == JSON_TRUE ? json_is_boolean(j) : json_typeof(j) == type))
        return j;
    if (j)
        err_add(e, key, INVALID, "%s", msg);
    return NULL;
}

/* false when present and not an integer (error recorded); *v set when present. */
static bool get_int(struct errs *e, json_t *body, const char *key, bool *present, int64_t *v)
{
    json_t *j = get_typed(e, body, key, present, JSON_INTEGER, "must be an integer");
    if (j)
        *v = json_integer_value(j);
    return j || !*present;
}

static bool get_bool(struct errs *e, json_t *body, const char *key, bool *present, bool *v)
{
    json_t *j = get_typed(e, body, key, present, JSON_TRUE, "must be a boolean");
    if (j)
        *v = json_is_true(j);
    return j || !*present;
}

/* A string without NUL; NULL when absent or wrong (error recorded). */
static const char *get_str(struct errs *e, json_t *body, const char *key)
{
    json_t *j = field(body, key);
    if (!j)
        return NULL;
    if (!json_is_string(j)) {
        err_add(e, key, INVALID, "must be a string");
        return NULL;
    }
    if (strlen(json_string_value(j)) != json_string_length(j)) {
        err_add(e, key, INVALID, "must not contain NUL");
        return NULL;
    }
    return json_string_value(j);
}

/* ---- create (§3.2.1) ---- */

static void check_envs(struct errs *e, json_t *body, struct ctl_create_req *out)
{
    json_t *envs = field(body, "envs");
    if (!envs)
        return;
    if (!json_is_object(envs)) {
        err_add(e, "envs", INVALID, "must be an object of strings");
        return;
    }
    size_t n = json_object_size(envs);
    if (n > CTL_MAX_ENVS) {
        err_add(e, "envs", INVALID, "at most %d entries", CTL_MAX_ENVS);
        return;
    }
    out->envs = calloc(n ? n : 1, sizeof(*out->envs));
    if (!out->envs) {
        err_add(e, "envs", INVALID, "out of memory");
        return;
    }
    size_t total = 0;
    const char *k;
    json_t *v;
    json_object_foreach(envs, k, v) {
        char f[300];
        snprintf(f, sizeof(f), "envs.%.200s", k);
        if (!ctl_env_key_valid(k)) {
            err_add(e, f, INVALID, "invalid key: must match ^[A-Za-z_][A-Za-z0-9_]*$");
            continue;
        }
        if (!json_is_string(v)) {
            err_add(e, f, INVALID, "must be a string");
            continue;
        }
        size_t vl = json_string_length(v);
        if (vl > CTL_MAX_ENV_VALUE) {
            err_add(e, f, INVALID, "value longer than %d bytes", CTL_MAX_ENV_VALUE);
            continue;
        }
        if (memchr(json_string_value(v), '\0', vl)) {
            err_add(e, f, INVALID, "value must not contain NUL");
            continue;
        }
        total += strlen(k) + vl;
        out->envs[out->n_envs++] =
            (struct store_env){ .key = k, .value = json_string_value(v), .value_len = vl };
    }
    if (total > CTL_MAX_ENV_TOTAL)
        err_add(e, "envs", INVALID, "keys and values exceed %d bytes in total",
                CTL_MAX_ENV_TOTAL);
}

/* One element of a string list: 0 taken, 1 taken as "allow all", < 0 rejected with *why. */
typedef int (*elem_fn)(struct ctl_create_req *out, const char *v, size_t len, const char **why);

static int ssh_elem(struct ctl_create_req *out, const char *v, size_t len, const char **why)
{
    char *canon = NULL;
    int r = ctl_ssh_key_parse(v, len, &canon, why);
    if (r == 0)
        out->ssh[out->n_ssh++] = canon;
    return r;
}

static int egress_elem(struct ctl_create_req *out, const char *v, size_t len, const char **why)
{
    int r = ctl_egress_list_add(out->egress, &out->n_egress, v, len, why);
    return r == -ENOMEM ? 0 : r; /* a rule lost to memory pressure is skipped */
}

/* The array of strings body[key] (at most max; what: "keys", "rules") into *list through fn,
 * each bad element reported as key[i]. Returns 1 when some element asked for "allow all". */
static int check_strings(struct errs *e, json_t *body, const char *key, size_t max,
                         const char *what, char ***list, struct ctl_create_req *out, elem_fn fn)
{
    json_t *a = field(body, key);
    if (!a)
        return 0;
    if (!json_is_array(a)) {
        err_add(e, key, INVALID, "must be an array of strings");
        return 0;
    }
    size_t n = json_array_size(a);
    if (n > max) {
        err_add(e, key, INVALID, "at most %zu %s", max, what);
        return 0;
    }
    *list = calloc(n ? n : 1, sizeof(char *));
    if (!*list)
        return 0;
    int all = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        char f[32];
        snprintf(f, sizeof(f), "%s[%zu]", key, i);
        const char *why = "must be a string";
        int r = json_is_string(v) ? fn(out, json_string_value(v), json_string_length(v), &why)
                                  : -EINVAL;
        if (r < 0)
            err_add(e, f, INVALID, "%s", why);
        else if (r == 1)
            all = 1;
    }
    return all;
}

static void check_ssh(struct errs *e, json_t *body, struct ctl_create_req *out)
{
    (void)check_strings(e, body, "ssh_pubkeys", STORE_MAX_SSH_KEYS, "keys", &out->ssh, out,
                        ssh_elem);
}

static void check_egress(struct errs *e, json_t *body, struct ctl_create_req *out)
{
    if (check_strings(e, body, "egress", CTL_MAX_EGRESS, "rules", &out->egress, out,
                      egress_elem) == 1)
        ctl_egress_allow_all(out->egress, &out->n_egress);
}

/* body[key] when it is an array of at most max objects (what: "networks"), else NULL
 * (absent, or an error recorded). */
static json_t *get_objects(struct errs *e, json_t *body, const char *key, size_t max)
{
    json_t *a = field(body, key);
    if (a && !json_is_array(a))
        err_add(e, key, INVALID, "must be an array of objects");
    else if (a && json_array_size(a) > max)
        err_add(e, key, INVALID, "at most %zu %s", max, key);
    else
        return a;
    return NULL;
}

static void check_networks(struct errs *e, json_t *body, struct ctl_create_req *out)
{
    json_t *a = get_objects(e, body, "networks", CTL_MAX_NETWORKS);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i), *id = json_object_get(v, "id");
        char f[40];
        snprintf(f, sizeof(f), "networks[%zu].id", i);
        if (!json_is_object(v) || !json_is_string(id) || json_string_length(id) == 0 ||
            json_string_length(id) > 64 || strlen(json_string_value(id)) != json_string_length(id))
            err_add(e, f, INVALID, "required string of 1-64 characters");
        else /* the caller resolves it against the store */
            out->networks[out->n_networks++] = json_string_value(id);
    }
}

static bool str_ok(json_t *v);

/* disks[] (docs/api.md §3.2.1, §3.9.6): shapes and path rules here; the refs are resolved by
 * the create or fork (ctl_disk_mounts_prepare). Strings stay borrowed from body. */
static void check_disks(struct errs *e, json_t *body, struct ctl_create_req *out)
{
    json_t *a = get_objects(e, body, "disks", CTL_MAX_DISKS);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        char f[48];
        if (!json_is_object(v)) {
            snprintf(f, sizeof(f), "disks[%zu]", i);
            err_add(e, f, INVALID, "must be an object");
            continue;
        }
        json_t *id = json_object_get(v, "disk_id"), *mp = json_object_get(v, "mount_path");
        json_t *sp = field(v, "sub_path");
        bool ok = true;
        snprintf(f, sizeof(f), "disks[%zu].mount_path", i);
        if (!str_ok(mp) || !ctl_mount_path_valid(json_string_value(mp))) {
            err_add(e, f, INVALID, "must be a normalised absolute path, not / and not a system "
                                   "directory (docs/api.md §3.9.6)");
            ok = false;
        }
        snprintf(f, sizeof(f), "disks[%zu].sub_path", i);
        if (sp && (!str_ok(sp) || !ctl_sub_path_valid(json_string_value(sp)))) {
            err_add(e, f, INVALID, "must be a relative key prefix without '.' or '..' segments, "
                                   "at most 1024 bytes");
            ok = false;
        }
        snprintf(f, sizeof(f), "disks[%zu].disk_id", i);
        if (!str_ok(id) || json_string_length(id) == 0 || json_string_length(id) > 80) {
            err_add(e, f, INVALID, "required string: a disk id or name");
            ok = false;
        }
        for (size_t k = 0; ok && k < out->n_disks; k++)
            if (strcmp(out->disks[k].mount_path, json_string_value(mp)) == 0) {
                snprintf(f, sizeof(f), "disks[%zu].mount_path", i);
                err_add(e, f, INVALID, "already in use");
                ok = false;
            }
        if (ok)
            out->disks[out->n_disks++] = (struct ctl_disk_ref){
                .disk = json_string_value(id), .mount_path = json_string_value(mp),
                .sub_path = sp ? json_string_value(sp) : NULL };
    }
}

/* 400 for a body that is not an object. */
static int not_object(json_t **ret_fail)
{
    *ret_fail = json_pack("{s:s,s:s}", "body", "must be a json object", "code", INVALID);
    return 400;
}

/* name (§1.9), or NULL when absent or wrong (error recorded). */
static const char *check_name(struct errs *e, json_t *body)
{
    const char *name = get_str(e, body, "name");
    if (name && !ctl_sandbox_name_valid(name, strlen(name)))
        err_add(e, "name", INVALID, "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
    return name;
}

/* auto_pause_after_seconds: its value when present and an integer (0 when absent). */
static int64_t check_auto_pause(struct errs *e, json_t *body, bool *present)
{
    int64_t ap = 0;
    if (get_int(e, body, "auto_pause_after_seconds", present, &ap) && *present &&
        !ctl_auto_pause_valid(ap))
        err_add(e, "auto_pause_after_seconds", INVALID, "must be from %d to %d",
                CTL_AUTO_PAUSE_MIN, CTL_AUTO_PAUSE_MAX);
    return ap;
}

/* The fields create and fork share, in the order both report them. */
static void check_lists(struct errs *e, json_t *body, struct ctl_create_req *out,
                        bool *has_ingress)
{
    check_envs(e, body, out);
    check_ssh(e, body, out);
    check_egress(e, body, out);
    (void)get_bool(e, body, "ingress_enabled", has_ingress, &out->ingress_enabled);
}

int api_validate_create(const struct ctl *ctx, const struct api_auth *auth, json_t *body,
                        struct ctl_create_req *ret, json_t **ret_fail)
{
    struct errs e = { 0 };
    struct ctl_create_req out = { 0 };
    if (!json_is_object(body))
        return not_object(ret_fail);
    /* host_id: admin only (hearth chooses, §3.2.1) — a 403 before any 400 */
    json_t *hid = field(body, "host_id");
    if (hid && !auth->admin) {
        *ret_fail = json_pack("{s:s,s:s}", "code", "forbidden", "message",
                              "host_id needs an admin key");
        return 403;
    }
    if (hid && (!json_is_string(hid) || !json_string_value(hid)[0] ||
                strlen(json_string_value(hid)) >= STORE_HOST_SIZE))
        err_add(&e, "host_id", INVALID, "unknown host: %.100s",
                json_is_string(hid) ? json_string_value(hid) : "?");
    else if (hid)
        out.host_id = json_string_value(hid); /* known and active: the create's placement */

    json_t *shape = field(body, "shape");
    if (!shape)
        err_add(&e, "shape", INVALID, "required");
    else if (!json_is_string(shape))
        err_add(&e, "shape", INVALID, "must be a string");
    else if (!(out.shape = ctl_shape_find(json_string_value(shape))))
        err_add(&e, "shape", "unknown_reference", "unknown shape: %.100s",
                json_string_value(shape));

    const char *rootfs = get_str(&e, body, "rootfs");
    if (!field(body, "rootfs"))
        rootfs = ctl_rootfs_default();
    /* a catalog name or an operator alias of one (docs/templates.md "The catalog"; the
     * sandbox then records the catalog name); anything else may be one of the caller's
     * templates, which the create resolves (docs/templates.md) */
    if (rootfs && !(out.rootfs = ctl_rootfs_resolve(ctx, rootfs))) {
        if (rootfs[0] && strlen(rootfs) < STORE_NAME_SIZE)
            out.template_ref = rootfs;
        else
            err_add(&e, "rootfs", "unknown_reference", "unknown rootfs: %.100s", rootfs);
    }

    out.name = check_name(&e, body);

    bool present;
    int64_t disk = 0;
    if (get_int(&e, body, "disk_mib", &present, &disk) && present && disk != 0 &&
        (disk < CTL_MIN_DISK_MIB || disk > ctx->set.max_disk_mib))
        err_add(&e, "disk_mib", INVALID, "must be 0 or from %d to %lld", CTL_MIN_DISK_MIB,
                (long long)ctx->set.max_disk_mib);
    if (disk < 0)
        disk = 0;
    out.disk_mib = disk ? disk : out.shape ? out.shape->default_disk_mib : 0;

    check_lists(&e, body, &out, &present);
    check_networks(&e, body, &out);
    check_disks(&e, body, &out);

    int64_t ap = check_auto_pause(&e, body, &present);
    out.auto_pause_after_seconds = present ? ap : 0;

    const char *region = get_str(&e, body, "region");
    if (region && strcmp(region, ctx->set.region) != 0)
        err_add(&e, "region", INVALID, "unknown region: %.100s", region);

    json_t *ns = field(body, "node_selector");
    if (ns && !json_is_object(ns)) {
        err_add(&e, "node_selector", INVALID, "must be an object of strings");
    } else if (ns) {
        /* matched against the hosts' labels by the create's placement (placement.h) */
        const char *k;
        json_t *v;
        json_object_foreach(ns, k, v) {
            if (out.selector.n == CTL_PLACE_MAX_SELECTOR) {
                err_add(&e, "node_selector", INVALID, "at most %d pairs",
                        CTL_PLACE_MAX_SELECTOR);
                break;
            }
            if (!json_is_string(v)) {
                err_add(&e, "node_selector", INVALID, "must be an object of strings");
                break;
            }
            if (!labels_token_ok(k, false) || !labels_token_ok(json_string_value(v), true)) {
                /* no host label can look like this */
                err_add(&e, "node_selector", "unknown_reference", "no host matches");
                break;
            }
            out.selector.key[out.selector.n] = k;
            out.selector.value[out.selector.n++] = json_string_value(v);
        }
    }

    int64_t bq = 0;
    if (get_int(&e, body, "bandwidth_quota_bytes", &present, &bq) && present && bq != 0)
        err_add(&e, "bandwidth_quota_bytes", INVALID, "cannot be set at create");

    if (e.o) {
        ctl_create_req_release(&out);
        *ret_fail = err_take(&e);
        return 400;
    }
    *ret = out;
    return 0;
}

/* ---- egress (§3.6.2) ---- */

int api_validate_egress(json_t *body, char ***ret, size_t *ret_n, json_t **ret_fail)
{
    struct errs e = { 0 };
    struct ctl_create_req out = { 0 };
    if (!json_is_object(body))
        return not_object(ret_fail);
    check_egress(&e, body, &out);
    if (e.o) {
        ctl_create_req_release(&out);
        *ret_fail = err_take(&e);
        return 400;
    }
    *ret = out.egress;
    *ret_n = out.n_egress;
    return 0;
}

/* ---- PATCH (§3.2.5) ---- */

int api_validate_patch(json_t *body, struct ctl_patch_req *ret, json_t **ret_fail)
{
    struct errs e = { 0 };
    struct ctl_patch_req out = { 0 };
    if (!json_is_object(body))
        return not_object(ret_fail);
    bool has_ingress, has_ap, has_disable, disable = false;
    (void)get_bool(&e, body, "ingress_enabled", &has_ingress, &out.ingress_enabled);
    int64_t ap = check_auto_pause(&e, body, &has_ap);
    (void)get_bool(&e, body, "disable_auto_pause", &has_disable, &disable);
    if (has_ap && has_disable && disable)
        err_add(&e, "disable_auto_pause", INVALID,
                "cannot be combined with auto_pause_after_seconds");
    if (!e.o && !has_ingress && !has_ap && !has_disable)
        err_add(&e, "message", INVALID, "nothing to update");
    if (e.o) {
        *ret_fail = err_take(&e);
        return 400;
    }
    out.set_ingress = has_ingress;
    if (has_ap) {
        out.set_auto_pause = true;
        out.auto_pause_after_seconds = ap;
    } else if (has_disable && disable) {
        out.set_auto_pause = true;
        out.auto_pause_after_seconds = 0;
    }
    *ret = out;
    return 0;
}

/* ---- resize (§3.3.4) ---- */

int api_validate_resize(json_t *body, int64_t current_mib, int64_t max_mib, int64_t *ret_mib,
                        json_t **ret_fail)
{
    struct errs e = { 0 };
    if (!json_is_object(body))
        return not_object(ret_fail);
    bool present;
    int64_t v = 0;
    if (get_int(&e, body, "disk_mib", &present, &v) && !present)
        err_add(&e, "disk_mib", INVALID, "is required");
    else if (!e.o && v <= current_mib)
        err_add(&e, "disk_mib", INVALID, "must be larger than %lld", (long long)current_mib);
    else if (!e.o && v > max_mib)
        err_add(&e, "disk_mib", INVALID, "must be at most %lld", (long long)max_mib);
    if (e.o) {
        *ret_fail = err_take(&e);
        return 400;
    }
    *ret_mib = v;
    return 0;
}

int api_validate_fork(const struct ctl *ctx, json_t *body, struct ctl_fork_req *ret,
                      json_t **ret_fail)
{
    struct errs e = { 0 };
    struct ctl_fork_req out = { 0 };
    if (!json_is_object(body))
        return not_object(ret_fail);
    bool present;
    (void)get_bool(&e, body, "start_paused", &present, &out.start_paused);
    out.c.name = check_name(&e, body);
    out.set_envs = field(body, "envs") != NULL;
    out.set_ssh = field(body, "ssh_pubkeys") != NULL;
    out.set_egress = field(body, "egress") != NULL;
    check_lists(&e, body, &out.c, &out.set_ingress);
    check_disks(&e, body, &out.c);
    int64_t ap = check_auto_pause(&e, body, &present);
    out.c.auto_pause_after_seconds = present ? ap : 0;
    int64_t bq = 0;
    if (get_int(&e, body, "bandwidth_quota_bytes", &out.set_quota, &bq) && out.set_quota &&
        bq != -1 && bq <= 0)
        err_add(&e, "bandwidth_quota_bytes", INVALID, "must be -1 (unmetered) or positive");
    out.bandwidth_quota_bytes = out.set_quota ? bq : ctx->set.bandwidth_quota_bytes;
    /* (hearth) several children from one fork point; a name or a disk belongs to one */
    int64_t count = 1;
    bool has_count = false;
    if (get_int(&e, body, "count", &has_count, &count) && has_count &&
        (count < 1 || count > CTL_FORK_COUNT_MAX)) {
        err_add(&e, "count", INVALID, "must be 1 to 16");
        count = 1;
    }
    out.count = has_count ? (unsigned)count : 1;
    if (out.count > 1 && out.c.name)
        err_add(&e, "name", INVALID, "names one sandbox: not with count above 1");
    if (out.count > 1 && out.c.n_disks)
        err_add(&e, "disks", INVALID, "a disk mounts in one sandbox: not with count above 1");
    if (e.o) {
        ctl_fork_req_release(&out);
        *ret_fail = err_take(&e);
        return 400;
    }
    *ret = out;
    return 0;
}

/* ---- exec (§3.4.1) ---- */

#define EXEC_ARGV_MAX (256u << 10)      /* cmd + args */
#define EXEC_STDIN_MAX (1u << 20)

static bool str_ok(json_t *v)
{
    return json_is_string(v) && memchr(json_string_value(v), 0, json_string_length(v)) == NULL;
}

/* body[key], with null as absent. */
static json_t *exec_field(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return json_is_null(v) ? NULL : v;
}

/* 400 for the first bad field of an exec body; what was taken is released. */
static int exec_fail(struct api_exec_req *r, json_t **ret_fail, const char *field,
                     const char *msg)
{
    char key[300];
    snprintf(key, sizeof(key), "%s", field);
    utf8_cut_partial(key); /* "env.%.250s" may cut a sequence */
    api_exec_req_release(r);
    *ret_fail = json_pack("{s:s,s:s}", key, msg, "code", INVALID);
    return 400;
}

/* The env overrides: each value a string without NUL, each key declared at create. */
static int exec_env(json_t *env, const char *const *declared, size_t n_declared,
                    struct api_exec_req *out, json_t **ret_fail)
{
    size_t ne = json_object_size(env);
    out->env_keys = calloc(ne ? ne : 1, sizeof(*out->env_keys));
    out->env_values = calloc(ne ? ne : 1, sizeof(*out->env_values));
    if (!out->env_keys || !out->env_values)
        return exec_fail(out, ret_fail, "env", "out of memory");
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) {
        char f[300];
        snprintf(f, sizeof(f), "env.%.250s", k);
        if (!str_ok(v))
            return exec_fail(out, ret_fail, f, "must be a string without NUL");
        bool ok = false;
        for (size_t i = 0; i < n_declared && !ok; i++)
            ok = strcmp(declared[i], k) == 0;
        if (!ok)
            return exec_fail(out, ret_fail, f, "not declared at create");
        out->env_keys[out->n_env] = k;
        out->env_values[out->n_env++] = json_string_value(v);
    }
    return 0;
}

int api_validate_exec(json_t *body, const char *const *declared, size_t n_declared,
                      struct api_exec_req *ret, json_t **ret_fail)
{
    struct api_exec_req out = { 0 };
    if (!json_is_object(body))
        return not_object(ret_fail);
    json_t *cmd = exec_field(body, "cmd");
    if (!cmd)
        return exec_fail(&out, ret_fail, "cmd", "is required");
    if (!str_ok(cmd) || json_string_length(cmd) == 0)
        return exec_fail(&out, ret_fail, "cmd", "must be a non-empty string");
    json_t *args = exec_field(body, "args");
    if (args && !json_is_array(args))
        return exec_fail(&out, ret_fail, "args", "must be an array of strings");
    size_t na = json_array_size(args), total = json_string_length(cmd);
    for (size_t i = 0; i < na; i++) {
        json_t *a = json_array_get(args, i);
        if (!str_ok(a)) {
            char f[32];
            snprintf(f, sizeof(f), "args[%zu]", i);
            return exec_fail(&out, ret_fail, f, "must be a string without NUL");
        }
        total += json_string_length(a) + 1;
    }
    if (total > EXEC_ARGV_MAX)
        return exec_fail(&out, ret_fail, "args", "cmd and args exceed 256 KiB");
    json_t *in = exec_field(body, "stdin");
    if (in && !json_is_string(in))
        return exec_fail(&out, ret_fail, "stdin", "must be a string");
    if (in && json_string_length(in) > EXEC_STDIN_MAX)
        return exec_fail(&out, ret_fail, "stdin", "exceeds 1 MiB");
    json_t *env = exec_field(body, "env");
    if (env && !json_is_object(env))
        return exec_fail(&out, ret_fail, "env", "must be an object of strings");
    int r = exec_env(env, declared, n_declared, &out, ret_fail);
    if (r)
        return r;
    json_t *st = exec_field(body, "stream");
    if (st && !json_is_boolean(st))
        return exec_fail(&out, ret_fail, "stream", "must be a boolean");
    out.streaming = json_is_true(st);
    /* extensions: cwd (absolute, default /root) and timeout_ms (0 = none) */
    json_t *cwd = exec_field(body, "cwd");
    if (cwd && (!str_ok(cwd) || json_string_value(cwd)[0] != '/' ||
                json_string_length(cwd) > 4096))
        return exec_fail(&out, ret_fail, "cwd", "must be an absolute path");
    if (cwd && !(out.cwd = strdup(json_string_value(cwd))))
        return exec_fail(&out, ret_fail, "cwd", "out of memory");
    json_t *to = exec_field(body, "timeout_ms");
    if (to && (!json_is_integer(to) || json_integer_value(to) < 0 ||
               json_integer_value(to) > UINT32_MAX))
        return exec_fail(&out, ret_fail, "timeout_ms", "must be an integer from 0 to 4294967295");
    out.timeout_ms = to ? (uint32_t)json_integer_value(to) : 0;
    out.argv = calloc(na + 2, sizeof(*out.argv));
    if (!out.argv || !(out.argv[0] = strdup(json_string_value(cmd))))
        return exec_fail(&out, ret_fail, "cmd", "out of memory");
    for (size_t i = 0; i < na; i++)
        if (!(out.argv[i + 1] = strdup(json_string_value(json_array_get(args, i)))))
            return exec_fail(&out, ret_fail, "args", "out of memory");
    if (in) {
        out.stdin_len = json_string_length(in);
        if (!(out.stdin_data = malloc(out.stdin_len + 1)))
            return exec_fail(&out, ret_fail, "stdin", "out of memory");
        memcpy(out.stdin_data, json_string_value(in), out.stdin_len);
    }
    *ret = out;
    return 0;
}

void api_exec_req_release(struct api_exec_req *r)
{
    for (size_t i = 0; r->argv && r->argv[i]; i++)
        free(r->argv[i]);
    free(r->argv);
    free(r->cwd);
    free(r->stdin_data);
    free(r->env_keys);
    free(r->env_values);
    *r = (struct api_exec_req){ 0 };
}
