/* SPDX-License-Identifier: MIT */
/* space.c: the free-space guard (space.h). One statvfs per guarded operation (a few µs), so the
 * answer is never stale; the policy for what each operation must leave free is here and in
 * docs/operations.md "Limits". Knows no HTTP: api/reply.c maps CTL_E_NO_SPACE to 507. */
#include "daemon/ctl/space.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

#include <jansson.h>

#include "daemon/ctl/ctl.h"
#include "daemon/log.h"

uint64_t ctl_space_threshold(uint64_t min_free_mib, uint32_t min_free_pct, uint64_t total)
{
    uint64_t by_mib = min_free_mib << 20;
    /* total / 100 first: no overflow for any filesystem size */
    uint64_t by_pct = total / 100 * min_free_pct;
    return by_mib > by_pct ? by_mib : by_pct;
}

bool ctl_space_fits(uint64_t avail, uint64_t need, uint64_t threshold)
{
    return avail >= need && avail - need >= threshold;
}

int ctl_space_statvfs(const char *path, uint64_t *ret_avail, uint64_t *ret_total)
{
    struct statvfs st;
    if (statvfs(path, &st) < 0)
        return -errno;
    uint64_t frsize = st.f_frsize ? st.f_frsize : st.f_bsize;
    *ret_avail = (uint64_t)st.f_bavail * frsize;
    *ret_total = (uint64_t)st.f_blocks * frsize;
    return 0;
}

int ctl_space_check(struct ctl *c, const char *req_id, const char *op, uint64_t need,
                    struct ctl_error *e)
{
    const struct ctl_settings *s = &c->set;
    if (!s->data_dir[0] || (!s->min_free_disk_mib && !s->min_free_disk_pct && !need))
        return 0;
    uint64_t avail = 0, total = 0;
    int r = (c->fs_space ? c->fs_space : ctl_space_statvfs)(s->data_dir, &avail, &total);
    if (r < 0) {
        log_warn(req_id, "cannot read free disk space, not guarding", "{s:s,s:s,s:s}", "op", op,
                 "data_dir", s->data_dir, "err", strerror(-r));
        return 0;
    }
    uint64_t threshold = ctl_space_threshold(s->min_free_disk_mib, s->min_free_disk_pct, total);
    if (ctl_space_fits(avail, need, threshold))
        return 0;
    log_warn(req_id, "disk space low: operation refused", "{s:s,s:s,s:I,s:I,s:I,s:I}", "op", op,
             "data_dir", s->data_dir, "free_mib", (json_int_t)(avail >> 20), "total_mib",
             (json_int_t)(total >> 20), "need_mib", (json_int_t)(need >> 20), "keep_free_mib",
             (json_int_t)(threshold >> 20));
    return ctl_error_set(e, CTL_E_NO_SPACE, NULL, NULL,
                         "not enough free disk space on this host to %s; nothing was done; "
                         "retry once space is freed (the operator's min_free_disk_mib and "
                         "min_free_disk_pct)", op);
}
