/* SPDX-License-Identifier: MIT */
/* serve_disks.c: serve_disks.h. hearth's own pools come from the same keys the network plane
 * reads (net_sandbox_cidr, net_networks_cidr, the uplink /30 or its pool), so an endpoint can
 * never point a bucket check at a sandbox or at hearth's side of the uplink. */
#include "daemon/cmd/serve_disks.h"

#include <arpa/inet.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/config.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/disk.h"
#include "daemon/disk/endpoint.h"
#include "daemon/log.h"

static struct disk_cidr v4(uint32_t net_host_order, unsigned prefix)
{
    struct disk_cidr c = { .family = AF_INET, .prefix = prefix };
    uint32_t n = htonl(net_host_order);
    memcpy(c.addr, &n, 4);
    return c;
}

void serve_disks_start(const struct hd_config *cfg, struct ctl *c)
{
    char path[PATH_MAX];
    if (!config_disk_key_file(cfg, path, sizeof(path))) {
        log_info(NULL, "disks off (disk_key_file = off): disk routes answer 503", NULL);
        return;
    }
    struct disk_cidr own[3], allow[CONFIG_MAX_ALLOW];
    size_t n_own = 0;
    own[n_own++] = v4(cfg->net_sandbox_net, cfg->net_sandbox_prefix);
    own[n_own++] = v4(cfg->net_networks_net, cfg->net_networks_prefix);
    bool auto_uplink = false;
    uint32_t uplink = config_net_uplink(cfg, &auto_uplink);
    /* an automatic uplink takes any /30 of its pool: the whole pool is ours */
    own[n_own++] = auto_uplink ? v4(0xa9fe5800u /* 169.254.88.0 */, 22) : v4(uplink, 30);
    for (size_t i = 0; i < cfg->n_disk_endpoint_allow; i++) {
        const struct config_cidr *a = &cfg->disk_endpoint_allow[i];
        allow[i] = (struct disk_cidr){ .family = a->family, .prefix = a->prefix };
        memcpy(allow[i].addr, a->addr, sizeof(allow[i].addr));
    }
    const char *why = "";
    int r = ctl_disks_start(c, path, own, n_own, allow, cfg->n_disk_endpoint_allow, &why);
    if (r < 0)
        log_error(NULL, "disks off: the disk key file cannot be used; fix it or set "
                        "disk_key_file = off", "{s:s,s:s}", "key_file", path, "why", why);
}
