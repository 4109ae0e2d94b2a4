/* SPDX-License-Identifier: MIT */
/* pg_pending.c: TEMPORARY. The PostgreSQL backend's network, disk and template calls answer
 * -ENOTSUP until pg_net.c, pg_disks.c and pg_templates.c replace this file (it goes then). */
#include "daemon/store/pg_internal.h"

#include <errno.h>

/* ---- private networks (pg_net.c) ---- */

int pg_network_insert(struct store *st, const struct store_network *n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_network_get(struct store *st, const char *user_id, const char *ref,
                   struct store_network *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_network_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                    struct store_network **ret, size_t *ret_n, uint64_t *ret_total)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_network_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                      uint64_t *ret_members)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_network_subnets(struct store *st, struct store_strv *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_member_add(struct store *st, const char *network_id, const char *sandbox_id,
                  const char *ip, int64_t now_ms)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_member_remove(struct store *st, const char *network_id, const char *sandbox_id)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_member_list(struct store *st, const char *network_id, const char *sandbox_id,
                   struct store_member **ret, size_t *ret_n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_ips_in_use(struct store *st, struct store_strv *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}


/* ---- S3 disks and their mounts (pg_disks.c) ---- */

int pg_disk_insert(struct store *st, const struct store_disk *d)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_disk_get(struct store *st, const char *user_id, const char *ref, struct store_disk *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_disk_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                 struct store_disk **ret, size_t *ret_n, uint64_t *ret_total)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_disk_list_all(struct store *st, struct store_disk **ret, size_t *ret_n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_disk_set_sealed(struct store *st, const char *user_id, const char *id,
                       const uint8_t *sealed, size_t len, int64_t now_ms)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_disk_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                   uint64_t *ret_sandboxes)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_mount_add_many(struct store *st, const struct store_mount *m, size_t n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_mount_list(struct store *st, const char *sandbox_id, struct store_mount **ret,
                  size_t *ret_n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_mount_get(struct store *st, const char *sandbox_id, const char *mount_path,
                 struct store_mount *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_mount_set_status(struct store *st, const char *sandbox_id, const char *mount_path,
                        enum store_mount_status status, const char *error, int64_t now_ms)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_mount_remove(struct store *st, const char *sandbox_id, const char *mount_path)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_mount_sandboxes(struct store *st, const char *host_id, struct store_strv *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}


/* ---- templates and their build logs (pg_templates.c) ---- */

int pg_template_insert(struct store *st, const struct store_template *t)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_template_get(struct store *st, const char *user_id, const char *ref, bool with_text,
                    struct store_template *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_template_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                     struct store_template **ret, size_t *ret_n, uint64_t *ret_total)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_template_list_status(struct store *st, enum store_tpl_status s,
                            struct store_template **ret, size_t *ret_n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_template_list_all(struct store *st, struct store_template **ret, size_t *ret_n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_template_update(struct store *st, const char *id, const struct store_tpl_update *u)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_template_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                       enum store_tpl_status *ret_was)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_template_sandboxes(struct store *st, const char *id, uint64_t *ret_n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_template_log_append(struct store *st, const char *id, const struct store_tpl_log *l,
                           size_t n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_template_log_read(struct store *st, const char *id, int32_t attempt,
                         int32_t after_attempt, int64_t after_seq, size_t limit,
                         struct store_tpl_log **ret, size_t *ret_n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}
