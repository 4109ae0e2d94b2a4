/* SPDX-License-Identifier: MIT */
/* migsplit.h: splits a QEMU 7.2 (x86_64) precopy migration stream into guest RAM and the rest.
 * The page records of one named RAM block (the guest memory backend, "mem") leave the stream
 * and go to a callback at their offset; everything else passes through unchanged. What comes
 * out is the stream a source whose RAM block was share=on would have sent with x-ignore-shared,
 * so a restored VM (RAM mapped private) can be saved as device state plus a RAM file of its own.
 * Pure and incremental: bytes may be pushed in chunks of any size. The format is described in
 * docs/guests.md "Snapshots of a restored VM". */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct herr;
struct migsplit;

#define MIGSPLIT_PAGE_SIZE 4096u               /* TARGET_PAGE_SIZE of x86_64 */
#define MIGSPLIT_MAX_RAM (64ull << 30)         /* largest split block we accept at init */
#define MIGSPLIT_MAX_BLOCKS 64u                /* RAM blocks listed by a stream (microvm: 2) */

/* Where the two halves go. Each callback returns 0, or -errno to stop the split (push then
 * returns that code). Buffers are borrowed for the call only. */
struct migsplit_ops {
    /* The next bytes of the output stream, in order. */
    int (*on_state)(void *ud, const void *buf, size_t len);
    /* Guest RAM of the split block: len (MIGSPLIT_PAGE_SIZE) bytes at offset. Zero pages that
     * were never written are not reported: the caller's RAM file starts as zeros (sparse). */
    int (*on_ram)(void *ud, uint64_t offset, const void *buf, size_t len);
};

/* What a split saw, for logs and tests. */
struct migsplit_stats {
    uint64_t in_bytes;           /* pushed so far */
    uint64_t out_bytes;          /* given to on_state */
    uint64_t ram_pages;          /* page records of the split block given to on_ram */
    uint64_t zero_pages;         /* zero-page records of the split block skipped */
};

/* Creates a splitter for the RAM block named block (copied), whose stream must list it with
 * exactly block_size bytes (a multiple of MIGSPLIT_PAGE_SIZE, at most MIGSPLIT_MAX_RAM).
 * ops is copied, ud borrowed. 0 and *ret (migsplit_free()), -EINVAL or -ENOMEM. */
__attribute__((warn_unused_result))
int migsplit_new(const char *block, uint64_t block_size, const struct migsplit_ops *ops,
                 void *ud, struct migsplit **ret);
/* NULL is fine. */
void migsplit_free(struct migsplit *s);

/* Consumes len bytes of the stream. Returns 0 (all consumed; an incomplete record waits for
 * the next push), -EBADMSG with the reason and stream offset in e when the stream is malformed
 * or uses something we cannot split (XBZRLE, compression, RDMA hooks, postcopy commands,
 * another iterable section), or a callback's -errno. After an error every call returns it. */
__attribute__((warn_unused_result))
int migsplit_push(struct migsplit *s, const void *buf, size_t len, struct herr *e);

/* At the end of the input: 0 when the stream reached its device sections (whose bytes pass
 * through unparsed), -EBADMSG when it ended earlier (truncated), or the earlier error. */
__attribute__((warn_unused_result))
int migsplit_finish(struct migsplit *s, struct herr *e);

void migsplit_stats(const struct migsplit *s, struct migsplit_stats *ret);
