/* SPDX-License-Identifier: MIT */
/* fuzz_config.c: libFuzzer driver for hearthd's config file (src/daemon/config.c): the input
 * is parsed whole with config_parse() (what config_load() runs on the file's bytes), and each
 * line split at its first '=' goes to config_set() as a command-line override would, bytes as
 * they are. Whatever was accepted must give names and an images dir that fit their buffers.
 * Run: make fuzz FUZZ_TARGETS=config (docs/testing.md "Fuzzing"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"

static void check(const struct hd_config *cfg)
{
    char ns[CONFIG_NAME_SIZE], uplink[16], images[CONFIG_PATH_SIZE];
    config_net_names(cfg, ns, uplink);
    if (!memchr(ns, '\0', sizeof(ns)) || !memchr(uplink, '\0', sizeof(uplink)))
        abort();
    (void)config_images_dir(cfg, images);
    if (cfg->n_dns_upstreams > sizeof(cfg->dns_upstreams) / sizeof(cfg->dns_upstreams[0]))
        abort();
    /* rootfs_aliases: only well-formed pairs, within their bounds */
    if (cfg->n_rootfs_aliases > CONFIG_MAX_ALIASES)
        abort();
    for (size_t i = 0; i < cfg->n_rootfs_aliases; i++) {
        const struct config_alias *a = &cfg->rootfs_aliases[i];
        if (!memchr(a->alias, '\0', sizeof(a->alias)) ||
            !memchr(a->target, '\0', sizeof(a->target)) ||
            !config_alias_name_ok(a->alias, sizeof(a->alias)) ||
            !config_alias_name_ok(a->target, sizeof(a->target)))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hd_config *cfg = malloc(sizeof(*cfg));
    char *text = malloc(size + 1);
    char err[512];
    if (!cfg || !text)
        goto out;
    config_defaults(cfg);
    if (config_parse(cfg, (const char *)data, size, "fuzz.conf", err, sizeof(err)) == 0)
        check(cfg);
    else if (!memchr(err, '\0', sizeof(err)) || strncmp(err, "fuzz.conf:", 10) != 0)
        abort(); /* every parse error names the source and the line */

    config_defaults(cfg);
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        int r = config_set(cfg, line, eq + 1, err, sizeof(err));
        if (r < 0 && !memchr(err, '\0', sizeof(err)))
            abort();
    }
    check(cfg);
out:
    free(text);
    free(cfg);
    return 0;
}
