/* SPDX-License-Identifier: MIT */
/* stream.c: the stream table. Only bookkeeping: what a stream of each kind holds is released by
 * exec.c and files.c before they remove it. A linear table is enough for STREAM_MAX streams. */
#include "agent/stream.h"

#include <errno.h>
#include <stdlib.h>

#include "common/wire.h"

struct stream *stream_find(struct stream_table *t, uint32_t id)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->s[i]->id == id)
            return t->s[i];
    return NULL;
}

struct stream *stream_add(struct stream_table *t, uint32_t id, enum stream_kind kind,
                          int *ret_err)
{
    if (stream_find(t, id)) {
        *ret_err = -EEXIST;
        return NULL;
    }
    if (t->n >= STREAM_MAX) {
        *ret_err = -EMFILE;
        return NULL;
    }
    struct stream *s = calloc(1, sizeof(*s));
    if (!s) {
        *ret_err = -ENOMEM;
        return NULL;
    }
    s->id = id;
    s->kind = kind;
    s->send_credit = WIRE_INITIAL_WINDOW;
    s->recv_credit = WIRE_INITIAL_WINDOW;
    t->s[t->n++] = s;
    return s;
}

void stream_remove(struct stream_table *t, struct stream *s)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->s[i] == s) {
            t->s[i] = t->s[--t->n];
            break;
        }
    }
    free(s);
}
