/* SPDX-License-Identifier: MIT */
/* config_derive.c: what is derived from a loaded config (config.h): the images directory, the
 * disk key file, the network namespace's and uplink's names, and the checks that span several
 * keys. */
#include "daemon/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int config_images_dir(const struct hd_config *cfg, char out[CONFIG_PATH_SIZE])
{
    int n = cfg->images_dir[0]
                ? snprintf(out, CONFIG_PATH_SIZE, "%s", cfg->images_dir)
                : snprintf(out, CONFIG_PATH_SIZE, "%s/images", cfg->data_dir);
    if (n < 0 || n >= CONFIG_PATH_SIZE)
        return -ENAMETOOLONG;
    return 0;
}

bool config_disk_key_file(const struct hd_config *cfg, char *out, size_t size)
{
    if (cfg->disks_off)
        return false;
    if (cfg->disk_key_file[0])
        snprintf(out, size, "%s", cfg->disk_key_file);
    else
        snprintf(out, size, "%s/disk.key", cfg->data_dir);
    return true;
}

/* FNV-1a of the data dir: two hearthds on one machine (tests) get their own namespaces and
 * uplink addresses, and a restarted one finds its own again */
static uint32_t data_dir_hash(const struct hd_config *cfg)
{
    uint32_t h = 2166136261u;
    for (const char *p = cfg->data_dir; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

void config_net_names(const struct hd_config *cfg, char ns[CONFIG_NAME_SIZE], char uplink[16])
{
    uint32_t h = data_dir_hash(cfg);
    bool dflt = strcmp(cfg->data_dir, "/var/lib/hearth") == 0;
    if (cfg->net_namespace[0])
        snprintf(ns, CONFIG_NAME_SIZE, "%s", cfg->net_namespace);
    else if (dflt)
        snprintf(ns, CONFIG_NAME_SIZE, "hearth");
    else
        snprintf(ns, CONFIG_NAME_SIZE, "hearth-%08x", h);
    if (cfg->net_uplink_if[0])
        snprintf(uplink, 16, "%s", cfg->net_uplink_if);
    else if (dflt)
        snprintf(uplink, 16, "hearth0");
    else
        snprintf(uplink, 16, "hu-%08x", h);
}

uint32_t config_net_uplink(const struct hd_config *cfg, bool *ret_auto)
{
    *ret_auto = cfg->net_uplink_net == 0;
    if (!*ret_auto)
        return cfg->net_uplink_net;
    if (strcmp(cfg->data_dir, "/var/lib/hearth") == 0)
        return CONFIG_UPLINK_POOL;
    /* a different 32-bit mix than the names' (whose low bits it would repeat) */
    uint32_t slots = 1u << (30 - CONFIG_UPLINK_POOL_PREFIX);
    uint32_t h = data_dir_hash(cfg) * 2654435761u;
    return CONFIG_UPLINK_POOL + (h >> 24) % slots * 4;
}

int config_check_snapshot_store(const struct hd_config *cfg, char *reterr, size_t reterr_len)
{
    if (!cfg->snapshot_store_s3)
        return 0;
    const char *missing = !cfg->snapshot_s3_endpoint[0]          ? "snapshot_s3_endpoint"
                          : !cfg->snapshot_s3_bucket[0]          ? "snapshot_s3_bucket"
                          : !cfg->snapshot_s3_access_key[0]      ? "snapshot_s3_access_key"
                          : !cfg->snapshot_s3_secret_key_file[0] ? "snapshot_s3_secret_key_file"
                                                                 : NULL;
    if (!missing)
        return 0;
    snprintf(reterr, reterr_len, "snapshot_store = s3 needs '%s'", missing);
    return -EINVAL;
}
