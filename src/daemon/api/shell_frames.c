/* SPDX-License-Identifier: MIT */
/* shell_frames.c: the shell's client frame parser (shell_frames.h). A head of 5 bytes, then the
 * payload: input is passed through in pieces, a resize (exactly 4 bytes) is collected, any
 * other type is skipped. Lengths are checked against SHELL_FRAME_MAX before anything else. */
#include "daemon/api/shell_frames.h"

#include <string.h>

#define SHELL_ERR_STATE 0xff /* type of a parser that hit an error */

void shell_parser_init(struct shell_parser *sp)
{
    memset(sp, 0, sizeof(*sp));
}

static uint16_t clamp(uint16_t v)
{
    return v == 0 ? 1 : v > SHELL_SIZE_MAX ? SHELL_SIZE_MAX : v;
}

static size_t fail(struct shell_parser *sp, struct shell_event *ev, const char *why)
{
    sp->type = SHELL_ERR_STATE;
    sp->head_len = sizeof(sp->head);
    sp->left = 0;
    ev->kind = SHELL_EV_ERROR;
    ev->error = why;
    return 0;
}

size_t shell_parse(struct shell_parser *sp, const uint8_t *p, size_t len, struct shell_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (sp->type == SHELL_ERR_STATE)
        return fail(sp, ev, "malformed shell frame stream");
    size_t used = 0;
    for (;;) {
        if (sp->head_len < sizeof(sp->head)) {
            size_t n = sizeof(sp->head) - sp->head_len;
            if (n > len - used)
                n = len - used;
            memcpy(sp->head + sp->head_len, p + used, n);
            sp->head_len += n;
            used += n;
            if (sp->head_len < sizeof(sp->head))
                return used; /* need more */
            sp->type = sp->head[0];
            sp->left = (uint32_t)sp->head[1] << 24 | (uint32_t)sp->head[2] << 16 |
                       (uint32_t)sp->head[3] << 8 | sp->head[4];
            sp->size_len = 0;
            if (sp->left > SHELL_FRAME_MAX)
                return fail(sp, ev, "shell frame longer than 1 MiB");
            if (sp->type == SHELL_FRAME_RESIZE && sp->left != 4)
                return fail(sp, ev, "resize frame payload must be 4 bytes");
            if (sp->type == SHELL_ERR_STATE) /* an unknown type: skipped like any other */
                sp->type = 0xfe;
        }
        size_t avail = len - used;
        size_t n = sp->left < avail ? sp->left : avail;
        if (sp->type == SHELL_FRAME_INPUT && n > 0) {
            sp->left -= (uint32_t)n;
            if (sp->left == 0)
                sp->head_len = 0;
            ev->kind = SHELL_EV_INPUT;
            ev->data = p + used;
            ev->len = n;
            return used + n;
        }
        if (sp->type == SHELL_FRAME_RESIZE) {
            memcpy(sp->size + sp->size_len, p + used, n);
            sp->size_len += n;
        }
        sp->left -= (uint32_t)n;
        used += n;
        if (sp->left > 0)
            return used; /* need more */
        sp->head_len = 0; /* the frame is complete */
        if (sp->type == SHELL_FRAME_RESIZE) {
            ev->kind = SHELL_EV_RESIZE;
            ev->rows = clamp((uint16_t)(sp->size[0] << 8 | sp->size[1]));
            ev->cols = clamp((uint16_t)(sp->size[2] << 8 | sp->size[3]));
            return used;
        }
        if (used == len)
            return used; /* an empty input frame or a skipped one, at the end */
    }
}

void shell_parser_unread(struct shell_parser *sp, size_t n)
{
    if (n == 0 || sp->type == SHELL_ERR_STATE)
        return;
    if (sp->left == 0 && sp->head_len == 0)
        sp->head_len = sizeof(sp->head); /* back inside the frame the bytes came from */
    sp->left += (uint32_t)n;
}
