/* SPDX-License-Identifier: MIT */
/* store_cluster.c: the store calls of many hosts (docs/scale-out.md): the host registry, the work
 * queue and the records of snapshots on S3. Checks arguments (store_args.h), then calls the
 * backend. */
#include "daemon/store/store.h"

#include "daemon/store/store_args.h"
#include "daemon/store/store_backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the host registry ---- */

int store_host_report(struct store *st, const struct store_host *h)
{
    if (!st || !h)
        return -EINVAL;
    int r;
    if ((r = check_field(h->id, sizeof(h->id), false)) < 0 ||
        (r = check_field(h->region, sizeof(h->region), false)) < 0 ||
        (r = check_field(h->labels, sizeof(h->labels), true)) < 0 ||
        (r = check_field(h->address, sizeof(h->address), true)) < 0 ||
        (r = check_field(h->version, sizeof(h->version), true)) < 0 ||
        (r = check_field(h->rootfses, sizeof(h->rootfses), true)) < 0)
        return r;
    if (h->mem_mib < 0 || h->free_mib < 0 || h->vcpus < 0 || h->committed_vcpus < 0 ||
        h->vm_count < 0)
        return -EINVAL;
    if ((r = texts_ok((const char *[]){ h->id, h->region, h->labels, h->address, h->version,
                                        h->rootfses }, 6)) < 0)
        return r;
    return st->ops->host_report(st, h);
}

int store_host_list(struct store *st, struct store_host **ret, size_t *ret_n)
{
    if (!st || !ret || !ret_n)
        return -EINVAL;
    *ret = NULL;
    *ret_n = 0;
    return st->ops->host_list(st, ret, ret_n);
}

int store_host_get(struct store *st, const char *id, struct store_host *ret)
{
    if (!st || !nonempty(id) || !ret)
        return -EINVAL;
    if (!lookup_key_ok(id, STORE_HOST_SIZE))
        return -ENOENT;
    return st->ops->host_get(st, id, ret);
}

int store_host_set_drain(struct store *st, const char *id, bool drain)
{
    if (!st || !nonempty(id))
        return -EINVAL;
    if (!lookup_key_ok(id, STORE_HOST_SIZE))
        return -ENOENT;
    return st->ops->host_set_drain(st, id, drain);
}

int store_host_delete(struct store *st, const char *id)
{
    if (!st || !nonempty(id))
        return -EINVAL;
    if (!lookup_key_ok(id, STORE_HOST_SIZE))
        return -ENOENT;
    return st->ops->host_delete(st, id);
}

/* ---- the work queue ---- */

static const char *const job_states[] = { "queued", "running", "done", "failed" };

const char *store_job_state_name(enum store_job_state s)
{
    return (unsigned)s < sizeof(job_states) / sizeof(job_states[0]) ? job_states[s] : NULL;
}

int store_job_state_parse(const char *name, enum store_job_state *ret)
{
    for (size_t i = 0; i < sizeof(job_states) / sizeof(job_states[0]); i++)
        if (name && strcmp(name, job_states[i]) == 0) {
            *ret = (enum store_job_state)i;
            return 0;
        }
    return -EINVAL;
}

void store_job_release(struct store_job *j)
{
    if (j) {
        free(j->request);
        free(j->result);
        j->request = j->result = NULL;
    }
}

static bool text_within(const char *s, size_t max)
{
    return s && strnlen(s, max + 1) <= max;
}

int store_job_enqueue(struct store *st, const struct store_job *j)
{
    if (!st || !j)
        return -EINVAL;
    int r;
    if ((r = check_field(j->id, sizeof(j->id), false)) < 0 ||
        (r = check_field(j->host_id, sizeof(j->host_id), false)) < 0 ||
        (r = check_field(j->kind, sizeof(j->kind), false)) < 0 ||
        (r = check_field(j->user_id, sizeof(j->user_id), false)) < 0 ||
        (r = check_field(j->key_id, sizeof(j->key_id), true)) < 0)
        return r;
    if (strcmp(j->kind, "create") != 0)
        return -EINVAL;
    if (!j->request)
        return -EINVAL;
    if (!text_within(j->request, STORE_JOB_REQUEST_MAX))
        return -EMSGSIZE;
    if ((r = texts_ok((const char *[]){ j->host_id, j->user_id, j->key_id, j->request }, 4)) < 0)
        return r;
    return st->ops->job_enqueue(st, j);
}

int store_job_claim(struct store *st, const char *host_id, int64_t now_ms, struct store_job *ret)
{
    if (!st || !nonempty(host_id) || !ret)
        return -EINVAL;
    if (!lookup_key_ok(host_id, STORE_HOST_SIZE))
        return -ENOENT;
    return st->ops->job_claim(st, host_id, now_ms, ret);
}

int store_job_finish(struct store *st, const char *id, bool ok, int status_code,
                     const char *result, const char *sandbox_id, int64_t now_ms)
{
    if (!st || !nonempty(id) || !result)
        return -EINVAL;
    if (!text_within(result, STORE_JOB_RESULT_MAX))
        return -EMSGSIZE;
    if (sandbox_id && strnlen(sandbox_id, STORE_ID_SIZE) >= STORE_ID_SIZE)
        return -ENAMETOOLONG;
    if (!lookup_key_ok(id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->job_finish(st, id, ok, status_code, result, sandbox_id ? sandbox_id : "",
                               now_ms);
}

int store_job_get(struct store *st, const char *id, struct store_job *ret)
{
    if (!st || !nonempty(id) || !ret)
        return -EINVAL;
    if (!lookup_key_ok(id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->job_get(st, id, ret);
}

int store_job_fail_host(struct store *st, const char *host_id, bool running_only,
                        int status_code, const char *result, int64_t now_ms, uint64_t *ret_n)
{
    uint64_t dummy;
    if (!st || !nonempty(host_id) || !result)
        return -EINVAL;
    if (!text_within(result, STORE_JOB_RESULT_MAX))
        return -EMSGSIZE;
    if (!lookup_key_ok(host_id, STORE_HOST_SIZE)) {
        if (ret_n)
            *ret_n = 0;
        return 0;
    }
    return st->ops->job_fail_host(st, host_id, running_only, status_code, result, now_ms,
                                  ret_n ? ret_n : &dummy);
}

int store_job_purge(struct store *st, int64_t cutoff_ms)
{
    if (!st)
        return -EINVAL;
    return st->ops->job_purge(st, cutoff_ms);
}

/* ---- snapshots on S3 ---- */

int store_snapobj_put(struct store *st, const struct store_snapobj *o)
{
    if (!st || !o || !o->dir[0] || !o->manifest_key[0] ||
        !memchr(o->dir, 0, sizeof(o->dir)) || !memchr(o->last_error, 0, sizeof(o->last_error)))
        return -EINVAL;
    return st->ops->snapobj_put(st, o);
}

int store_snapobj_get(struct store *st, const char *dir, struct store_snapobj *ret)
{
    if (!st || !dir || !*dir || !ret)
        return -EINVAL;
    if (strlen(dir) >= STORE_SNAPOBJ_DIR_SIZE)
        return -ENOENT;
    return st->ops->snapobj_get(st, dir, ret);
}

int store_snapobj_list(struct store *st, bool pending_only, struct store_snapobj **ret,
                       size_t *ret_n)
{
    if (!st || !ret || !ret_n)
        return -EINVAL;
    *ret = NULL;
    *ret_n = 0;
    return st->ops->snapobj_list(st, pending_only, ret, ret_n);
}

int store_snapobj_delete(struct store *st, const char *dir)
{
    if (!st || !dir || !*dir)
        return -EINVAL;
    return st->ops->snapobj_delete(st, dir);
}
