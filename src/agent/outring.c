/* SPDX-License-Identifier: MIT */
/* outring.c: the output history of a managed process. Events are separate allocations in a
 * circular array of pointers indexed by seq - oldest, so any seq is found at once; the array
 * doubles when full and never shrinks (its size is bounded by the budget over the overhead). */
#include "agent/outring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void outring_init(struct outring *r, size_t max)
{
    *r = (struct outring){ .next_seq = 1, .max = max };
}

static void evict_oldest(struct outring *r)
{
    struct outring_event *e = r->slot[r->head];
    r->bytes -= e->len;
    r->cost -= e->len + OUTRING_OVERHEAD;
    free(e);
    r->slot[r->head] = NULL;
    r->head = (r->head + 1) % r->slots;
    r->n--;
}

void outring_release(struct outring *r)
{
    while (r->n)
        evict_oldest(r);
    free(r->slot);
    r->slot = NULL;
    r->slots = 0;
}

/* Doubles the slot array, unrolling the circle so the oldest is at 0. */
static int grow(struct outring *r)
{
    size_t ns = r->slots ? r->slots * 2 : 16;
    struct outring_event **s = calloc(ns, sizeof(*s));
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < r->n; i++)
        s[i] = r->slot[(r->head + i) % r->slots];
    free(r->slot);
    r->slot = s;
    r->slots = ns;
    r->head = 0;
    return 0;
}

int outring_push(struct outring *r, uint8_t stream, const void *p, size_t len)
{
    if (len == 0 || len > OUTRING_EVENT_MAX)
        return -EINVAL;
    struct outring_event *e = malloc(sizeof(*e) + len);
    if (!e)
        return -ENOMEM;
    size_t cost = len + OUTRING_OVERHEAD;
    while (r->n && r->cost + cost > r->max)
        evict_oldest(r);
    if (r->n == r->slots && grow(r) < 0) {
        free(e);
        return -ENOMEM;
    }
    e->seq = r->next_seq++;
    e->len = (uint32_t)len;
    e->stream = stream;
    memcpy(e->data, p, len);
    r->slot[(r->head + r->n) % r->slots] = e;
    r->n++;
    r->bytes += len;
    r->cost += cost;
    return 0;
}

uint64_t outring_oldest(const struct outring *r)
{
    return r->n ? r->next_seq - r->n : r->next_seq;
}

const struct outring_event *outring_get(const struct outring *r, uint64_t seq)
{
    uint64_t oldest = outring_oldest(r);
    if (seq < oldest || seq >= r->next_seq)
        return NULL;
    return r->slot[(r->head + (size_t)(seq - oldest)) % r->slots];
}
