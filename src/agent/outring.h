/* SPDX-License-Identifier: MIT */
/* outring.h: the bounded output history of one managed process (docs/agent-protocol.md,
 * "Managed processes"): a queue of events numbered from 1, each at most 64 KiB of one stream's
 * bytes, holding the newest ones that fit in its byte budget. Memory grows with the output up
 * to the budget; a push past it evicts the oldest events. Pure data structure, no I/O. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define OUTRING_EVENT_MAX (64u * 1024u)  /* data bytes of one event */
/* What an event costs beyond its bytes (its header, its slot, the allocator's share): counted
 * against the budget, so a process writing one byte at a time cannot grow the ring past it. */
#define OUTRING_OVERHEAD 64u

struct outring_event {
    uint64_t seq;
    uint32_t len;
    uint8_t stream;        /* 0 stdout, 1 stderr, 2 pty */
    uint8_t data[];
};

struct outring {
    struct outring_event **slot; /* owned; circular, slots entries, oldest at head */
    size_t slots;
    size_t head;
    size_t n;                    /* events held */
    uint64_t next_seq;           /* the seq of the next event (starts at 1) */
    size_t bytes;                /* data bytes held */
    size_t cost;                 /* bytes + OUTRING_OVERHEAD per event: at most max, but for
                                    the newest event alone */
    size_t max;                  /* the budget */
};

/* An empty ring with a budget of max bytes. Allocates nothing. */
void outring_init(struct outring *r, size_t max);
void outring_release(struct outring *r);
/* Adds an event of len (1..OUTRING_EVENT_MAX) bytes, evicting the oldest events until it fits.
 * 0, -EINVAL (len out of range) or -ENOMEM (the event is not added). */
int outring_push(struct outring *r, uint8_t stream, const void *p, size_t len);
/* The event numbered seq, or NULL when it was evicted or does not exist yet. Borrowed until the
 * next push or release. */
const struct outring_event *outring_get(const struct outring *r, uint64_t seq);
/* Seq of the oldest event held; next_seq when empty. */
uint64_t outring_oldest(const struct outring *r);
