/* SPDX-License-Identifier: MIT */
/* fuzz_upstream_resp.c: libFuzzer target for the guest response parser of the ingress proxy
 * (src/daemon/ingress/upstream_resp.c): a hostile guest's bytes, fed in pieces whose sizes come
 * from the input, for a GET or a HEAD, then the guest's EOF. Checks the invariants: consumed
 * bytes within each piece, at most one final head per message, body only after a head, never a
 * head larger than the limit, and an error that stays. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ingress/upstream_resp.h"

struct st {
    int heads;
    bool done;
    uint64_t body;
};

static int on_head(void *ud, const struct upresp_head *h)
{
    struct st *s = ud;
    if (s->heads++ || h->nheaders > 16)
        abort();
    for (unsigned i = 0; i < h->nheaders; i++)
        if (h->headers[i].name_len + h->headers[i].value_len > 2048)
            abort();
    return 0;
}

static int on_body(void *ud, const uint8_t *p, size_t len)
{
    struct st *s = ud;
    if (!s->heads || s->done)
        abort();
    volatile uint8_t x = 0;
    for (size_t i = 0; i < len; i++)
        x ^= p[i];
    (void)x;
    s->body += len;
    return 0;
}

static void on_done(void *ud)
{
    struct st *s = ud;
    if (!s->heads || s->done)
        abort();
    s->done = true;
}

static const struct upresp_ops ops = { on_head, on_body, on_done };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t knobs = data[0];
    data++, size--;
    struct st s = { 0 };
    struct upresp p;
    if (upresp_init(&p, knobs & 1, 2048, 16, &ops, &s) < 0)
        return 0;
    size_t step = 1 + (knobs >> 1), off = 0;
    bool failed = false;
    while (off < size) {
        size_t n = size - off < step ? size - off : step, used = 0;
        int r = upresp_feed(&p, data + off, n, &used);
        if (used > n)
            abort();
        if (failed && r >= 0)
            abort();
        if (r < 0) {
            failed = true;
            off += n; /* the proxy stops here; keep feeding to check the error stays */
            continue;
        }
        off += used;
        if (r != UPRESP_MORE)
            break;
    }
    if (!failed)
        (void)upresp_eof(&p);
    upresp_release(&p);
    return 0;
}
