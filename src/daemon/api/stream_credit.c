/* SPDX-License-Identifier: MIT */
/* stream_credit.c: returning held credit to host streams (stream_credit.h); exec.c and
 * files.c share it. */
#include "daemon/api/stream_credit.h"

#include "daemon/host/host.h"

void api_stream_credit_return(struct host *h, const char *id, uint32_t stream, bool open,
                              size_t *held)
{
    if (!*held || !open)
        return;
    size_t n = *held;
    *held = 0;
    (void)host_stream_consumed(h, id, stream, n); /* a stream that ended needs no credit */
}
