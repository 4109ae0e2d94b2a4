/* SPDX-License-Identifier: MIT */
/* nft.c: libnftables in a chosen namespace. libnftables 1.0.6 opens its NETLINK_NETFILTER
 * socket in nft_ctx_new() (nft_ctx_netlink_init), so the context is created inside the target
 * namespace. Every run still enters that namespace too: the interface cache (iface_cache_update)
 * opens a fresh rtnetlink socket in the thread's current namespace whenever a command names an
 * interface by index (iif/oif), and a socket reopened after an error would land there too. */
#include "daemon/net/nft.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/net/netns.h"

static void set_err(char *err, size_t errlen, const char *what, const char *detail)
{
    if (!err || errlen == 0)
        return;
    size_t n = 0;
    /* keep the first line of nft's report: the error itself */
    while (detail && detail[n] && detail[n] != '\n')
        n++;
    snprintf(err, errlen, "%s: %.*s", what, (int)(n > 400 ? 400 : n), detail ? detail : "");
}

int nft_init(struct nft *t, int nsfd, int homefd, char *err, size_t errlen)
{
    int r = netns_enter(nsfd);
    if (r < 0) {
        snprintf(err, errlen, "cannot enter namespace for nftables: %s", strerror(-r));
        return r;
    }
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    r = netns_enter(homefd);
    if (r < 0 || !ctx) {
        if (ctx)
            nft_ctx_free(ctx);
        snprintf(err, errlen, "cannot create nftables context: %s",
                 r < 0 ? strerror(-r) : "out of memory");
        return r < 0 ? r : -ENOMEM;
    }
    if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
        nft_ctx_free(ctx);
        snprintf(err, errlen, "cannot buffer nftables output");
        return -ENOMEM;
    }
    t->ctx = ctx;
    t->nsfd = nsfd;
    t->homefd = homefd;
    return 0;
}

void nft_release(struct nft *t)
{
    if (t->ctx)
        nft_ctx_free(t->ctx);
    t->ctx = NULL;
}

int nft_run(struct nft *t, const char *cmds, char **ret_json, char *err, size_t errlen)
{
    int r = netns_enter(t->nsfd);
    if (r < 0) {
        snprintf(err, errlen, "cannot enter namespace for nftables: %s", strerror(-r));
        return r;
    }
    unsigned flags = nft_ctx_output_get_flags(t->ctx);
    if (ret_json)
        nft_ctx_output_set_flags(t->ctx, flags | NFT_CTX_OUTPUT_JSON);
    int rc = nft_run_cmd_from_buffer(t->ctx, cmds);
    nft_ctx_output_set_flags(t->ctx, flags);
    const char *out = nft_ctx_get_output_buffer(t->ctx);
    const char *errbuf = nft_ctx_get_error_buffer(t->ctx);
    r = netns_enter(t->homefd);
    if (rc != 0) {
        set_err(err, errlen, "nftables", errbuf);
        return -EIO;
    }
    if (r < 0) {
        snprintf(err, errlen, "cannot leave namespace after nftables: %s", strerror(-r));
        return r;
    }
    if (ret_json) {
        char *copy = strdup(out ? out : "");
        if (!copy) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        *ret_json = copy;
    }
    return 0;
}
