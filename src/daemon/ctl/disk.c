/* SPDX-License-Identifier: MIT */
/* disk.c: S3 disks in the control layer (disk.h; docs/api.md §3.9, docs/disks.md): the
 * checks of a registration, the per-user quota, the bucket check on a worker thread
 * (disk/probe.h) before anything is stored, credentials sealed under the operator's key ring
 * (disk/seal.h) with the disk's id as associated data, rotation and delete. Credentials live in
 * the clear only in the request being handled and in the probe's copy, and are wiped after. */
#include "daemon/ctl/disk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/disk/endpoint.h"
#include "daemon/disk/probe.h"
#include "daemon/disk/seal.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define MAX_POLICY 24
#define CREDS_PLAIN_MAX (2 + 2 * CTL_DISK_KEY_MAX + 2)  /* "1\n<access>\n<secret>" */

struct disk_op;

struct ctl_disks {
    struct seal_keyring *ring;
    char key_file[1024];
    struct disk_cidr own[MAX_POLICY], allow[MAX_POLICY];
    struct disk_addr_policy policy;
    struct disk_op *ops;                 /* bucket checks under way */
};

/* One create or rotation waiting for its bucket check. */
struct disk_op {
    struct ctl *c;
    struct disk_op *next;
    struct disk_probe *probe;
    bool rotate;
    char user_id[STORE_USER_SIZE];
    struct store_disk row;               /* create: the row to insert; rotate: the disk */
    struct ctl_disk_creds creds;         /* wiped when the op ends */
    ctl_disk_done_fn done;
    void *ud;
};

void ctl_disk_creds_wipe(struct ctl_disk_creds *c)
{
    if (c)
        OPENSSL_cleanse(c, sizeof(*c));
}

bool ctl_disks_enabled(const struct ctl *c)
{
    return c && c->disks && c->disks->ring;
}

int ctl_disks_start(struct ctl *c, const char *key_file, const struct disk_cidr *own,
                    size_t n_own, const struct disk_cidr *allow, size_t n_allow,
                    const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = "";
    if (!c || !key_file || n_own > MAX_POLICY || n_allow > MAX_POLICY) {
        *why = "bad arguments";
        return -EINVAL;
    }
    struct ctl_disks *d = calloc(1, sizeof(*d));
    if (!d) {
        *why = "out of memory";
        return -ENOMEM;
    }
    if (snprintf(d->key_file, sizeof(d->key_file), "%s", key_file) >= (int)sizeof(d->key_file)) {
        free(d);
        *why = "key file path too long";
        return -ENAMETOOLONG;
    }
    int r = seal_keyring_load(key_file, true, &d->ring, why);
    if (r < 0) {
        free(d);
        return r;
    }
    if (n_own)
        memcpy(d->own, own, n_own * sizeof(*own));
    if (n_allow)
        memcpy(d->allow, allow, n_allow * sizeof(*allow));
    d->policy = (struct disk_addr_policy){ d->own, n_own, d->allow, n_allow };
    c->disks = d;
    log_info(NULL, "disks enabled", "{s:s,s:s,s:i}", "key_file", key_file, "key_id",
             seal_keyring_current(d->ring), "endpoint_allow", (int)n_allow);
    return 0;
}

static void op_free(struct disk_op *op)
{
    ctl_disk_creds_wipe(&op->creds);
    OPENSSL_cleanse(op, sizeof(*op));
    free(op);
}

static void op_unlink(struct ctl_disks *d, struct disk_op *op)
{
    for (struct disk_op **pp = &d->ops; *pp; pp = &(*pp)->next)
        if (*pp == op) {
            *pp = op->next;
            return;
        }
}

void ctl_disks_stop(struct ctl *c)
{
    if (!c || !c->disks)
        return;
    struct ctl_disks *d = c->disks;
    for (struct disk_op *op = d->ops, *next; op; op = next) {
        next = op->next;
        disk_probe_cancel(op->probe);
        op_free(op); /* its request is abandoned with the server that goes down */
    }
    d->ops = NULL;
    disk_probe_drain();
    seal_keyring_free(d->ring);
    free(d);
    c->disks = NULL;
}

/* ---- checks (docs/api.md §3.9.2) ---- */

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (i > 0 && ch == '-');
        if (!ok)
            return false;
    }
    return true;
}

static bool bucket_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && ((i == 0 || i == n - 1) || (ch != '.' && ch != '-')))
            return false;
    }
    return true;
}

static bool region_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
            return false;
    }
    return true;
}

/* A credential: 1..CTL_DISK_KEY_MAX bytes, no control character (they would break the sealed
 * form and the guest's credential file). */
static bool key_ok(const char *s)
{
    size_t n = strnlen(s, CTL_DISK_KEY_MAX + 1);
    if (n == 0 || n > CTL_DISK_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int check_creds(const struct ctl_disk_creds *cr, struct ctl_error *e)
{
    if (!key_ok(cr->access_key))
        return ctl_error_set(e, CTL_E_INVALID, "credentials.access_key", NULL,
                             "required: 1 to %d characters, no control characters",
                             CTL_DISK_KEY_MAX);
    if (!key_ok(cr->secret_key))
        return ctl_error_set(e, CTL_E_INVALID, "credentials.secret_key", NULL,
                             "required: 1 to %d characters, no control characters",
                             CTL_DISK_KEY_MAX);
    return 0;
}

static int not_configured(struct ctl_error *e)
{
    return ctl_error_set(e, CTL_E_NOT_CONFIGURED, NULL, NULL, "disks API not configured");
}

static int quota(struct ctl *c, const char *user_id, struct ctl_error *e)
{
    if (!c->set.max_disks)
        return 0;
    struct store_disk *v = NULL;
    size_t n = 0;
    uint64_t total = 0;
    int r = store_disk_list(c->store, user_id, 0, 0, &v, &n, &total);
    free(v);
    if (r < 0)
        return ctl_error_internal(e, "count disks", r);
    if (total >= c->set.max_disks)
        return ctl_error_set(e, CTL_E_QUOTA, NULL, NULL,
                             "disk quota reached: at most %u disks; delete one first",
                             c->set.max_disks);
    return 0;
}

int ctl_disk_resolve(struct ctl *c, const char *user_id, const char *ref, struct store_disk *ret)
{
    char canon[STORE_ID_SIZE];
    size_t len = strlen(ref);
    size_t plen = strlen(IDS_DISK_PREFIX);
    /* an id-shaped reference is an id only (§1.9), matched case-insensitively */
    if (len > plen && strncasecmp(ref, IDS_DISK_PREFIX, plen) == 0) {
        if (ids_canonical(IDS_DISK_PREFIX, ref, len, canon, sizeof(canon)) < 0)
            return -ENOENT;
        ref = canon;
    } else if (!name_ok(ref)) {
        return -ENOENT;
    }
    return store_disk_get(c->store, user_id, ref, ret);
}

/* ---- sealing ---- */

static int seal_creds(struct ctl_disks *d, const char *id, const struct ctl_disk_creds *cr,
                      uint8_t *out, size_t cap, size_t *ret_len)
{
    char plain[CREDS_PLAIN_MAX + 1];
    int n = snprintf(plain, sizeof(plain), "1\n%s\n%s", cr->access_key, cr->secret_key);
    int r = n < 0 || (size_t)n >= sizeof(plain)
        ? -EINVAL
        : seal_seal(d->ring, id, (const uint8_t *)plain, (size_t)n, out, cap, ret_len);
    OPENSSL_cleanse(plain, sizeof(plain));
    return r;
}

int ctl_disk_credentials(struct ctl *c, const struct store_disk *d, struct ctl_disk_creds *ret)
{
    if (!ctl_disks_enabled(c))
        return -ENOPROTOOPT;
    uint8_t plain[CREDS_PLAIN_MAX + 1];
    size_t n = 0;
    int r = seal_open(c->disks->ring, d->id, d->sealed, d->sealed_len, plain, sizeof(plain) - 1,
                      &n);
    if (r == -ENOBUFS)
        r = -EBADMSG;
    if (r == 0) {
        plain[n] = '\0';
        char *a = (char *)plain, *nl1 = strchr(a, '\n');
        char *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
        if (!nl1 || !nl2 || nl1 - a != 1 || a[0] != '1' || strchr(nl2 + 1, '\n')) {
            r = -EBADMSG;
        } else {
            memset(ret, 0, sizeof(*ret));
            *nl2 = '\0';
            snprintf(ret->access_key, sizeof(ret->access_key), "%s", nl1 + 1);
            snprintf(ret->secret_key, sizeof(ret->secret_key), "%s", nl2 + 1);
            if (!key_ok(ret->access_key) || !key_ok(ret->secret_key)) {
                ctl_disk_creds_wipe(ret);
                r = -EBADMSG;
            }
        }
    }
    OPENSSL_cleanse(plain, sizeof(plain));
    return r;
}

/* ---- the bucket check and its end ---- */

static void op_finish(struct disk_op *op, const struct ctl_error *e, const struct store_disk *row)
{
    op_unlink(op->c->disks, op);
    ctl_disk_done_fn done = op->done;
    void *ud = op->ud;
    op_free(op);
    done(ud, e, row);
}

/* The probe answered OK: store the row (create) or the new credentials (rotate). */
static void op_store(struct disk_op *op)
{
    struct ctl *c = op->c;
    struct ctl_error e = { .code = CTL_OK };
    int r = seal_creds(c->disks, op->row.id, &op->creds, op->row.sealed,
                       sizeof(op->row.sealed), &op->row.sealed_len);
    if (r < 0) {
        ctl_error_internal(&e, "seal disk credentials", r);
    } else if (!op->rotate) {
        r = store_disk_insert(c->store, &op->row);
        if (r == -EEXIST)
            ctl_error_set(&e, CTL_E_NAME_TAKEN, "name", NULL, "name already in use: %s",
                          op->row.name);
        else if (r < 0)
            ctl_error_internal(&e, "insert disk", r);
    } else {
        r = store_disk_set_sealed(c->store, op->user_id, op->row.id, op->row.sealed,
                                  op->row.sealed_len, timefmt_now_ms());
        if (r == -ENOENT)
            ctl_error_set(&e, CTL_E_NOT_FOUND, NULL, NULL, "disk not found");
        else if (r < 0)
            ctl_error_internal(&e, "rotate disk credentials", r);
    }
    struct store_disk row;
    if (e.code == CTL_OK) {
        r = store_disk_get(c->store, op->user_id, op->row.id, &row);
        if (r < 0)
            ctl_error_internal(&e, "read disk", r);
    }
    if (e.code == CTL_OK)
        log_info(NULL, op->rotate ? "disk credentials rotated" : "disk created",
                 "{s:s,s:s,s:s}", "disk", row.id, "user", op->user_id, "key_id",
                 seal_keyring_current(c->disks->ring));
    op_finish(op, &e, e.code == CTL_OK ? &row : NULL);
}

static void on_probe(void *ud, enum disk_probe_outcome o, const char *why)
{
    struct disk_op *op = ud;
    op->probe = NULL;
    struct ctl_error e;
    if (o == DISK_PROBE_OK) {
        op_store(op);
        return;
    }
    if (o == DISK_PROBE_REFUSED)
        ctl_error_set(&e, CTL_E_INVALID, "config.endpoint", NULL, "%s", why);
    else
        ctl_error_set(&e, CTL_E_PROBE_FAILED, "config", NULL, "bucket check failed: %s", why);
    op_finish(op, &e, NULL);
}

static int op_start(struct ctl *c, struct disk_op *op, struct ctl_error *e)
{
    struct disk_probe_req rq = {
        .endpoint = op->row.endpoint, .bucket = op->row.bucket, .region = op->row.region,
        .path_style = op->row.path_style, .access_key = op->creds.access_key,
        .secret_key = op->creds.secret_key, .policy = &c->disks->policy,
        .timeout_ms = CTL_DISK_PROBE_TIMEOUT_MS,
    };
    int r = disk_probe_start(c->base, &rq, on_probe, op, &op->probe);
    if (r == -EBUSY) {
        op_free(op);
        return ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL,
                             "too many bucket checks at once; retry in a moment");
    }
    if (r < 0) {
        op_free(op);
        return ctl_error_internal(e, "start bucket check", r);
    }
    op->next = c->disks->ops;
    c->disks->ops = op;
    return 0;
}

static struct disk_op *op_new(struct ctl *c, const char *user_id, ctl_disk_done_fn done,
                              void *ud)
{
    struct disk_op *op = calloc(1, sizeof(*op));
    if (!op)
        return NULL;
    op->c = c;
    op->done = done;
    op->ud = ud;
    snprintf(op->user_id, sizeof(op->user_id), "%s", user_id);
    return op;
}

int ctl_disk_create(struct ctl *c, const char *user_id, const struct ctl_disk_req *req,
                    ctl_disk_done_fn done, void *ud, struct ctl_error *e)
{
    if (!ctl_disks_enabled(c))
        return not_configured(e);
    if (!c->base)
        return ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL, "no event loop");
    if (!req->name || !name_ok(req->name))
        return ctl_error_set(e, CTL_E_INVALID, "name", NULL,
                             "required: must match ^[a-z0-9][a-z0-9-]{0,62}$");
    if (!req->bucket || !bucket_ok(req->bucket))
        return ctl_error_set(e, CTL_E_INVALID, "config.bucket", NULL,
                             "required: 3 to 63 characters of [a-z0-9.-], starting and ending "
                             "with a letter or digit");
    struct disk_endpoint ep;
    const char *why = "required";
    if (!req->endpoint || disk_endpoint_parse(req->endpoint, &ep, &why) < 0)
        return ctl_error_set(e, CTL_E_INVALID, "config.endpoint", NULL, "%s", why);
    if (ep.host_is_ip && !req->path_style)
        return ctl_error_set(e, CTL_E_INVALID, "config.endpoint", NULL,
                             "an IP address endpoint needs use_path_style: true");
    if (req->region && !region_ok(req->region))
        return ctl_error_set(e, CTL_E_INVALID, "config.region", NULL,
                             "must be 1 to 63 characters of [a-z0-9-]");
    int r = check_creds(&req->creds, e);
    if (r < 0)
        return r;
    if ((r = quota(c, user_id, e)) < 0)
        return r;
    struct store_disk taken;
    r = store_disk_get(c->store, user_id, req->name, &taken);
    if (r == 0)
        return ctl_error_set(e, CTL_E_NAME_TAKEN, "name", NULL, "name already in use: %s",
                             req->name);
    if (r != -ENOENT)
        return ctl_error_internal(e, "read disk", r);
    struct disk_op *op = op_new(c, user_id, done, ud);
    if (!op)
        return ctl_error_internal(e, "disk create", -ENOMEM);
    struct store_disk *row = &op->row;
    if (ids_new_disk(row->id) < 0) {
        op_free(op);
        return ctl_error_internal(e, "new disk id", -EIO);
    }
    snprintf(row->user_id, sizeof(row->user_id), "%s", user_id);
    snprintf(row->name, sizeof(row->name), "%s", req->name);
    snprintf(row->bucket, sizeof(row->bucket), "%s", req->bucket);
    snprintf(row->endpoint, sizeof(row->endpoint), "%s", req->endpoint);
    snprintf(row->region, sizeof(row->region), "%s", req->region ? req->region : "");
    row->path_style = req->path_style;
    row->created_at = timefmt_now_ms();
    op->creds = req->creds;
    return op_start(c, op, e);
}

int ctl_disk_rotate(struct ctl *c, const char *user_id, const char *ref,
                    const struct ctl_disk_creds *creds, ctl_disk_done_fn done, void *ud,
                    struct ctl_error *e)
{
    if (!ctl_disks_enabled(c))
        return not_configured(e);
    if (!c->base)
        return ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL, "no event loop");
    struct disk_op *op = op_new(c, user_id, done, ud);
    if (!op)
        return ctl_error_internal(e, "disk rotate", -ENOMEM);
    op->rotate = true;
    int r = ctl_disk_resolve(c, user_id, ref, &op->row);
    if (r == 0 && op->row.deleted_at)
        r = -ENOENT;
    if (r < 0) {
        op_free(op);
        return r == -ENOENT ? ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "disk not found")
                            : ctl_error_internal(e, "read disk", r);
    }
    if ((r = check_creds(creds, e)) < 0) {
        op_free(op);
        return r;
    }
    op->creds = *creds;
    return op_start(c, op, e);
}

int ctl_disk_delete(struct ctl *c, const char *user_id, const struct store_disk *d,
                    struct ctl_error *e)
{
    if (!ctl_disks_enabled(c))
        return not_configured(e);
    uint64_t sandboxes = 0;
    int r = store_disk_delete(c->store, user_id, d->id, timefmt_now_ms(), &sandboxes);
    if (r == -EBUSY)
        return ctl_error_set(e, CTL_E_IN_USE, NULL, NULL, "disk is attached to %llu sandbox%s",
                             (unsigned long long)sandboxes, sandboxes == 1 ? "" : "es");
    if (r == -ENOENT)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "disk not found");
    if (r < 0 && r != -EALREADY) /* a repeat by id answers like the first call (§1.11) */
        return ctl_error_internal(e, "delete disk", r);
    if (r == 0)
        log_info(NULL, "disk deleted", "{s:s,s:s}", "disk", d->id, "user", user_id);
    return 0;
}
