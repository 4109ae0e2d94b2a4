/* SPDX-License-Identifier: MIT */
/* net_internal.h: state shared by net.c (namespace, uplink, taps), net_sandbox.c (per-sandbox
 * state, learning, counters) and net_nft.c (the nftables text). Not for other modules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "daemon/net/egress_rules.h"
#include "daemon/net/net.h"
#include "daemon/net/nft.h"
#include "daemon/net/rtnl.h"

#define NET_ID_MAX 64               /* sandbox ids: [A-Za-z0-9_-]{1,64} (they become nft names) */
#define NET_LEARN_MAX 4096          /* remembered (name, address) pairs per sandbox */
#define NET_TTL_MIN 60
#define NET_TTL_MAX 3600
#define NET_UPLINK_IF "uplink"      /* the namespace's end of the veth */
#define NET_TABLE "hearth"          /* the table in the hearth namespace (family inet) */
#define NET_GW_MAC { 0x02, 0x00, 0x0a, 0x58, 0x00, 0x01 }

/* One (name, address) pair the resolver gave a sandbox. */
struct net_learned {
    char *name;                     /* owned; valid lowercase DNS name */
    uint32_t addr;                  /* host byte order */
    uint64_t expires_us;            /* monotonic */
};

/* What hearthd knows of one sandbox: its last applied rules and its learned names. */
struct net_sb {
    char id[NET_ID_MAX + 1];
    char tap[NET_TAP_NAME_MAX];
    bool applied;                   /* rules below are what the kernel holds */
    bool allow_all;
    struct egress_rule *rules;      /* owned; n_rules of them */
    size_t n_rules;
    struct net_learned *learned;    /* owned array */
    size_t n_learned, cap_learned;
    struct net_sb *next;
};

struct net {
    struct net_config cfg;          /* the strings point into the two copies below */
    char *ns_name;                  /* owned copy */
    char *uplink_root_if;           /* owned copy */
    int homefd;                     /* the namespace hearthd runs in (at net_open) */
    int nsfd;                       /* the hearth namespace */
    struct rtnl rt;                 /* rtnetlink socket inside the hearth namespace */
    struct nft nft;                 /* libnftables context inside the hearth namespace */
    struct net_sb *sbs;             /* owned list */
    char note[384];                 /* net_note() */
};

/* net_uplink.c: settles cfg.uplink_net against the addresses of hearthd's namespace (called
 * there, before the uplink is set up): keeps an existing uplink's /30, moves past a /30 another
 * interface holds (uplink_auto, noted in n->note) or fails with -EADDRINUSE and an actionable
 * message. */
int net_uplink_choose(struct net *n, bool fresh_ns, char *err, size_t errlen);

bool net_id_valid(const char *id);
/* The tap of sandbox id, or -EINVAL with "invalid sandbox id" in err when id is not valid. */
int net_sandbox_tap(const char *id, char tap[NET_TAP_NAME_MAX], char *err, size_t errlen);
uint64_t net_now_us(void);
/* Loads learned names from the DNS sets an earlier hearthd left (net_open on an existing
 * namespace); failures only lose the cache. */
void net_learned_reload(struct net *n);
void net_sb_free_all(struct net *n);

/* net_nft.c: text of the nftables transactions; every call appends to b and returns 0 or
 * -ENOMEM/-EMSGSIZE. */
int nftx_base(struct buf *b, const struct net_config *c);
int nftx_root(struct buf *b, const struct net_config *c);
int nftx_root_delete(struct buf *b, const struct net_config *c);

/* One DNS element: addr (and port when port != 0) with its timeout and the name it came from. */
struct nftx_dns {
    uint32_t addr;
    uint16_t port;
    uint32_t timeout_s;
    const char *name;               /* borrowed */
};
struct nftx_sandbox {
    const char *id, *tap;
    const uint32_t *ips;            /* primary first, then member addresses */
    size_t n_ips;
    bool allow_all;
    const struct egress_net *nets;  /* static elements (egress_static_nets) outside the
                                     * private blocks; ignored with allow_all */
    size_t n_nets;
    const struct egress_net *pnets; /* static elements inside them: allowed before the
                                     * private block, also with allow_all */
    size_t n_pnets;
    const struct nftx_dns *dns;     /* DNS elements, distinct */
    size_t n_dns;
    bool capped;
};
int nftx_sandbox_apply(struct buf *b, const struct nftx_sandbox *s);
int nftx_sandbox_remove(struct buf *b, const char *id, const char *tap);
/* Adds (refreshing the timeout of) DNS elements. */
int nftx_dns_add(struct buf *b, const char *id, const struct nftx_dns *d, size_t n);
int nftx_capped(struct buf *b, const char *tap, bool capped);
int nftx_network(struct buf *b, uint32_t subnet, bool add);
