/* SPDX-License-Identifier: MIT */
/* nft.h: a libnftables context bound to one network namespace. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct nft_ctx;

struct nft {
    struct nft_ctx *ctx;            /* owned */
    int nsfd;                       /* borrowed: the namespace commands apply to */
    int homefd;                     /* borrowed: the namespace to return to */
};

/* Creates a context whose netlink socket lives in nsfd (entered for the call); homefd is the
 * calling thread's namespace, returned to afterwards. Both fds must outlive the context. */
int nft_init(struct nft *t, int nsfd, int homefd, char *err, size_t errlen);
void nft_release(struct nft *t);
/* Runs cmds (nft syntax, one transaction for everything that changes state) inside the
 * context's namespace. With ret_json, output is JSON and handed over (caller frees; "" when
 * there was none). Returns 0, or -EIO with nft's first error line in err. */
int nft_run(struct nft *t, const char *cmds, char **ret_json, char *err, size_t errlen);
