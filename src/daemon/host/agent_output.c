/* SPDX-License-Identifier: MIT */
/* agent_output.c: a command's output gathered in memory (agent_output.h). */
#include "daemon/host/agent_output.h"

#include <errno.h>
#include <stdlib.h>

#include "common/herr.h"
#include "common/wire.h"
#include "daemon/host/agent_client.h"

void agent_exec_result_release(struct agent_exec_result *r)
{
    free(r->out);
    free(r->err);
    *r = (struct agent_exec_result){ 0 };
}

void agent_output_init(struct agent_output *o, struct agent_exec_result *res, size_t cap)
{
    *res = (struct agent_exec_result){ .exit_code = -1 };
    o->res = res;
    buf_init(&o->out, cap);
    buf_init(&o->err, cap);
}

void agent_output_add(struct agent_output *o, uint16_t type, const uint8_t *p, size_t len)
{
    struct buf *b = type == WIRE_STDERR ? &o->err : &o->out;
    bool *trunc = type == WIRE_STDERR ? &o->res->err_truncated : &o->res->out_truncated;
    size_t room = b->max - b->len;
    if (len > room)
        *trunc = true;
    if (buf_append(b, p, len > room ? room : len) < 0)
        *trunc = true; /* out of memory: keep going, the output is marked incomplete */
}

void agent_output_finish(struct agent_output *o, const struct agent_end *end)
{
    struct agent_exec_result *res = o->res;
    if (end && end->kind == AGENT_END_EXIT) {
        res->exit_code = end->exit_code;
        res->signal = end->signal;
        res->timed_out = end->timed_out;
        res->duration_ms = end->duration_ms;
    }
    /* buf_take() leaves a NULL for no bytes; hand out an empty string instead */
    res->out = buf_take(&o->out, &res->out_len);
    res->err = buf_take(&o->err, &res->err_len);
    if (!res->out)
        res->out = (uint8_t *)calloc(1, 1);
    if (!res->err)
        res->err = (uint8_t *)calloc(1, 1);
    agent_output_release(o);
}

void agent_output_release(struct agent_output *o)
{
    buf_release(&o->out);
    buf_release(&o->err);
}

int agent_end_errno(const struct agent_end *end, struct herr *e)
{
    switch (end->kind) {
    case AGENT_END_EXIT:
    case AGENT_END_DONE:
        return 0;
    case AGENT_END_ERROR:
        return herr_set(e, end->err ? end->err : -EPROTO, "agent: %s: %s", end->error,
                        end->message);
    case AGENT_END_LOST:
    default:
        return herr_set(e, end->err ? end->err : -ECONNRESET, "agent: %s", end->message);
    }
}
