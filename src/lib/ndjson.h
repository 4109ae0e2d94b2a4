/* SPDX-License-Identifier: MIT */
/* ndjson.h: splits a byte stream into NDJSON lines, whatever the chunk boundaries, and decodes
 * exec stream frames (docs/api.md §3.4.3). Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "hearth/hearth.h"

/* Called with each complete line, without its '\n' (a trailing '\r' is dropped too); blank
 * lines are skipped. Return 0 to go on, a negative value to stop ndjson_feed() with it. */
typedef int (*ndjson_line_fn)(void *ud, const char *line, size_t len);

struct ndjson {
    struct buf partial;             /* bytes of the line not yet complete */
};

/* max_line bounds one line; a longer one is -EMSGSIZE. */
void ndjson_init(struct ndjson *nd, size_t max_line);
void ndjson_release(struct ndjson *nd);
/* Feeds len bytes. Returns 0, the callback's negative value, -EMSGSIZE or -ENOMEM. */
int ndjson_feed(struct ndjson *nd, const char *p, size_t len, ndjson_line_fn on_line, void *ud);
/* True when bytes of an unfinished line are pending (a stream that ended mid-line). */
bool ndjson_pending(const struct ndjson *nd);

/* Decodes one exec frame line into *f; strings in *f borrow from *ret_hold, which the caller
 * releases with json_decref() after using f. Returns 0 or -EBADMSG (not a JSON object, or a
 * known key with the wrong type). */
struct json_t;
int ndjson_exec_frame(const char *line, size_t len, struct hearth_frame *f,
                      struct json_t **ret_hold);
