/* SPDX-License-Identifier: MIT */
/* quota.c: the counted limits (quota.h). Counts come from the store (rows) and the host (VMs),
 * never from a cache, so a crash or a reconcile cannot leave them wrong. The host-wide default
 * is derived once at start (cmd_serve.c) from /proc/meminfo with the smallest built-in shape:
 * a host never admits more VMs than it could hold at their smallest. */
#include "daemon/ctl/quota.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/parse.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/store/store.h"

int ctl_quota_sandboxes(struct ctl *c, const char *user_id, struct ctl_error *e)
{
    if (!c->set.max_sandboxes)
        return 0;
    uint64_t live;
    int r = ctl_row_count_live(c, user_id, &live);
    if (r < 0)
        return ctl_error_internal(e, "count sandboxes", r);
    if (live >= c->set.max_sandboxes)
        return ctl_error_set(e, CTL_E_QUOTA, NULL, NULL,
                             "sandbox quota reached: at most %u sandboxes that are not "
                             "destroyed or failed; destroy one first", c->set.max_sandboxes);
    return 0;
}

int ctl_quota_networks(struct ctl *c, const char *user_id, struct ctl_error *e)
{
    if (!c->set.max_networks)
        return 0;
    struct store_network *v = NULL;
    size_t n = 0;
    uint64_t total = 0;
    int r = store_network_list(c->store, user_id, 1, 0, &v, &n, &total);
    free(v);
    if (r < 0)
        return ctl_error_internal(e, "count networks", r);
    if (total >= c->set.max_networks)
        return ctl_error_set(e, CTL_E_QUOTA, NULL, NULL,
                             "network quota reached: at most %u networks; delete one first",
                             c->set.max_networks);
    return 0;
}

int ctl_quota_host_vm(struct ctl *c, struct ctl_error *e)
{
    if (!c->set.host_max_vms || ctl_vm_count(c) < c->set.host_max_vms)
        return 0;
    return ctl_error_set(e, CTL_E_NO_CAPACITY, NULL, NULL,
                         "this host runs its maximum of %u VMs; retry later",
                         c->set.host_max_vms);
}

uint32_t ctl_quota_host_vms_from_memory(uint64_t mem_total_mib, uint64_t reserve_mib)
{
    size_t n = 0;
    const struct ctl_shape *shapes = ctl_shapes(&n);
    uint64_t smallest = 0;
    for (size_t i = 0; i < n; i++)
        if (shapes[i].mem_mib > 0 && (!smallest || (uint64_t)shapes[i].mem_mib < smallest))
            smallest = (uint64_t)shapes[i].mem_mib;
    if (!smallest || mem_total_mib <= reserve_mib)
        return 1;
    uint64_t vms = (mem_total_mib - reserve_mib) / smallest;
    return vms < 1 ? 1 : vms > 100000 ? 100000 : (uint32_t)vms;
}

int ctl_meminfo_kib(const char *path, const char *field, uint64_t *ret_kib)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char text[8192];
    ssize_t len = read(fd, text, sizeof(text) - 1);
    int r = len < 0 ? -errno : 0;
    close(fd);
    if (r < 0)
        return r;
    text[len] = '\0';
    /* "MemTotal:       24683772 kB": the field's name at a line's start, then a colon */
    size_t fl = strlen(field);
    const char *line = text;
    while (line && (strncmp(line, field, fl) != 0 || line[fl] != ':')) {
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    if (!line)
        return -ENOENT;
    const char *p = line + fl + 1;
    while (*p == ' ' || *p == '\t')
        p++;
    char num[24];
    size_t n = strspn(p, "0123456789");
    if (n == 0 || n >= sizeof(num) || strncmp(p + n, " kB", 3) != 0)
        return -EINVAL;
    memcpy(num, p, n);
    num[n] = '\0';
    if (parse_u64(num, 0, UINT64_MAX >> 10, ret_kib) < 0)
        return -EINVAL;
    return 0;
}

int ctl_quota_meminfo_mib(const char *path, uint64_t *ret_mib)
{
    uint64_t kib;
    int r = ctl_meminfo_kib(path, "MemTotal", &kib);
    if (r < 0)
        return r;
    if (kib == 0) /* no machine has no memory: a broken file */
        return -EINVAL;
    *ret_mib = kib >> 10;
    return 0;
}
