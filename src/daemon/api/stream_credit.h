/* SPDX-License-Identifier: MIT */
/* stream_credit.h: backpressure between a host stream (exec output, a file download) and the
 * HTTP response it feeds: credit held back while the socket drains goes back to the host. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct host;

/* When the response drained: gives the *held bytes of credit back to stream of VM id (if the
 * stream is still open) and zeroes *held. Errors are ignored: the stream ends on its own. */
void api_stream_credit_return(struct host *h, const char *id, uint32_t stream, bool open,
                              size_t *held);
