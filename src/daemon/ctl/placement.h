/* SPDX-License-Identifier: MIT */
/* placement.h: choosing the host for a new sandbox (docs/scale-out.md "Placement"): best of K
 * by free memory and committed CPU among the active hosts of the requested region whose labels
 * satisfy the node selector. Pure logic over the registry's rows; the caller decides which hosts
 * it can act on and supplies the randomness. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"

#define CTL_PLACE_K 3           /* hosts sampled per decision */
#define CTL_PLACE_MAX_SELECTOR 16

/* A node selector: every pair must be among a host's labels. */
struct ctl_selector {
    const char *key[CTL_PLACE_MAX_SELECTOR];
    const char *value[CTL_PLACE_MAX_SELECTOR];
    size_t n;
};

struct ctl_place_req {
    const char *region;         /* required */
    const struct ctl_selector *selector; /* NULL: any */
    int64_t mem_mib;            /* the guest's memory */
    int64_t vcpus;
    double cpu_overcommit;      /* committed vCPUs allowed per host CPU (e.g. 4.0); <= 0: 1 */
};

/* Why no host was chosen. */
enum ctl_place_miss {
    CTL_PLACE_OK = 0,
    CTL_PLACE_NO_MATCH,         /* no registered host of the region matches the selector */
    CTL_PLACE_NONE_ACTIVE,      /* hosts match, but none is active (drained or not reporting) */
    CTL_PLACE_NO_ROOM,          /* active matching hosts exist, none has the memory or CPU */
};

/* Chooses among hosts[0..n) (usable[i] false: skip it, e.g. a host this control plane cannot
 * reach, or dead) for req: samples up to K of the candidates with rnd (uniform in [0, bound))
 * and keeps the best score (docs/scale-out.md). Returns the index, or -1 with *ret_miss. */
int ctl_place_pick(const struct store_host *hosts, const bool *usable, size_t n,
                   const struct ctl_place_req *req, unsigned k,
                   uint64_t (*rnd)(void *ud, uint64_t bound), void *ud,
                   enum ctl_place_miss *ret_miss);

/* The score of placing req on h (higher is better): the free memory left after it, less a
 * penalty growing with the share of h's CPU that would be committed. Exposed for tests. */
double ctl_place_score(const struct store_host *h, const struct ctl_place_req *req);

/* True when labels ("k=v,k2=v2") hold every pair of sel. */
bool ctl_labels_match(const char *labels, const struct ctl_selector *sel);
