/* SPDX-License-Identifier: MIT */
/* herr.c: error code plus detail text for host operations. Formatting only; never logs. */
#include "common/herr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int herr_set(struct herr *e, int code, const char *fmt, ...)
{
    if (!e || e->code != 0)
        return code;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

void herr_clear(struct herr *e)
{
    if (!e)
        return;
    e->code = 0;
    e->msg[0] = 0;
}
