/* SPDX-License-Identifier: MIT */
/* ndjson.c: NDJSON line splitting and exec frame decoding. Lines are handed out straight from
 * the chunk when they are whole in it; only the tail of a split line is copied. */
#include "lib/ndjson.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

void ndjson_init(struct ndjson *nd, size_t max_line)
{
    buf_init(&nd->partial, max_line);
}

void ndjson_release(struct ndjson *nd)
{
    buf_release(&nd->partial);
}

bool ndjson_pending(const struct ndjson *nd)
{
    return nd->partial.len > 0;
}

static int emit(const char *line, size_t len, ndjson_line_fn on_line, void *ud)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return 0;
    return on_line(ud, line, len);
}

int ndjson_feed(struct ndjson *nd, const char *p, size_t len, ndjson_line_fn on_line, void *ud)
{
    while (len > 0) {
        const char *nl = memchr(p, '\n', len);
        if (!nl) {
            int r = buf_append(&nd->partial, p, len);
            return r < 0 ? r : 0;
        }
        size_t n = (size_t)(nl - p);
        int r;
        if (nd->partial.len > 0) {
            r = buf_append(&nd->partial, p, n);
            if (r < 0)
                return r;
            r = emit((const char *)nd->partial.data, nd->partial.len, on_line, ud);
            nd->partial.len = 0;
        } else {
            if (n > nd->partial.max)
                return -EMSGSIZE;
            r = emit(p, n, on_line, ud);
        }
        if (r < 0)
            return r;
        p += n + 1;
        len -= n + 1;
    }
    return 0;
}

int ndjson_exec_frame(const char *line, size_t len, struct hearth_frame *f, json_t **ret_hold)
{
    memset(f, 0, sizeof(*f));
    f->line = line;
    f->line_len = len;
    json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return -EBADMSG;
    }
    json_t *v;
    f->kind = HEARTH_FRAME_UNKNOWN;
    if ((v = json_object_get(o, "stdout")) || (v = json_object_get(o, "stderr")) ||
        (v = json_object_get(o, "error"))) {
        if (!json_is_string(v))
            goto bad;
        f->kind = json_object_get(o, "stdout") == v   ? HEARTH_FRAME_STDOUT
                  : json_object_get(o, "stderr") == v ? HEARTH_FRAME_STDERR
                                                      : HEARTH_FRAME_ERROR;
        f->data = json_string_value(v);
        f->len = json_string_length(v);
    } else if ((v = json_object_get(o, "exit_code"))) {
        if (!json_is_integer(v))
            goto bad;
        json_int_t code = json_integer_value(v);
        if (code < -1 || code > 255)
            goto bad;
        f->kind = HEARTH_FRAME_EXIT;
        f->exit_code = (int)code;
    } else if (json_object_get(o, "hb")) {
        f->kind = HEARTH_FRAME_HEARTBEAT;
    }
    *ret_hold = o;
    return 0;
bad:
    json_decref(o);
    memset(f, 0, sizeof(*f));
    return -EBADMSG;
}
