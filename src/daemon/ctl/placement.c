/* SPDX-License-Identifier: MIT */
/* placement.c: best of K placement and host labels (placement.h). Sampling K hosts instead of
 * scanning all keeps two control planes deciding at the same moment from piling onto the one
 * emptiest host, while still landing on a good one (the power of K choices). */
#include "daemon/ctl/placement.h"

#include "common/labels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ctl_labels_match(const char *labels, const struct ctl_selector *sel)
{
    if (!sel)
        return true;
    for (size_t i = 0; i < sel->n; i++) {
        size_t len;
        const char *v = labels_value(labels, sel->key[i], &len);
        if (!v || strlen(sel->value[i]) != len || memcmp(v, sel->value[i], len) != 0)
            return false;
    }
    return true;
}

static double cpu_capacity(const struct store_host *h, const struct ctl_place_req *req)
{
    double oc = req->cpu_overcommit > 0 ? req->cpu_overcommit : 1.0;
    return (double)h->vcpus * oc;
}

double ctl_place_score(const struct store_host *h, const struct ctl_place_req *req)
{
    double free_after = (double)(h->free_mib - req->mem_mib);
    double cap = cpu_capacity(h, req);
    double load = cap > 0 ? (double)(h->committed_vcpus + req->vcpus) / cap : 1.0;
    if (load > 1.0)
        load = 1.0;
    return free_after * (1.0 - 0.5 * load);
}

static bool has_room(const struct store_host *h, const struct ctl_place_req *req)
{
    return h->free_mib >= req->mem_mib &&
           (double)(h->committed_vcpus + req->vcpus) <= cpu_capacity(h, req);
}

int ctl_place_pick(const struct store_host *hosts, const bool *usable, size_t n,
                   const struct ctl_place_req *req, unsigned k,
                   uint64_t (*rnd)(void *ud, uint64_t bound), void *ud,
                   enum ctl_place_miss *ret_miss)
{
    size_t *cand = n ? malloc(n * sizeof(*cand)) : NULL;
    size_t nc = 0;
    bool matched = false, active = false;
    for (size_t i = 0; i < n; i++) {
        const struct store_host *h = &hosts[i];
        if (strcmp(h->region, req->region) != 0 || !ctl_labels_match(h->labels, req->selector))
            continue;
        matched = true;
        if (!usable[i] || h->drain)
            continue;
        active = true;
        if (has_room(h, req) && cand)
            cand[nc++] = i;
    }
    *ret_miss = !matched ? CTL_PLACE_NO_MATCH
              : !active  ? CTL_PLACE_NONE_ACTIVE
              : nc == 0  ? CTL_PLACE_NO_ROOM
                         : CTL_PLACE_OK;
    if (nc == 0) {
        free(cand);
        return -1;
    }
    if (k == 0)
        k = 1;
    /* a partial Fisher-Yates shuffle draws min(k, nc) distinct candidates */
    size_t draws = k < nc ? k : nc;
    int best = -1;
    double best_score = 0;
    for (size_t d = 0; d < draws; d++) {
        size_t j = d + (size_t)(draws < nc ? rnd(ud, nc - d) : 0);
        size_t t = cand[d];
        cand[d] = cand[j];
        cand[j] = t;
        double s = ctl_place_score(&hosts[cand[d]], req);
        if (best < 0 || s > best_score) {
            best = (int)cand[d];
            best_score = s;
        }
    }
    free(cand);
    return best;
}
