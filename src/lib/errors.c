/* SPDX-License-Identifier: MIT */
/* errors.c: the error table's text (generated from HEARTH_ERR_MAP) and the detail struct
 * helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/lib_internal.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} err_table[] = {
#define HEARTH_ERR_ROW_(name, value, text) { value, #name, text },
    HEARTH_ERR_MAP(HEARTH_ERR_ROW_)
#undef HEARTH_ERR_ROW_
};

HEARTH_EXPORT const char *hearth_strerror(int err)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].code == err)
            return err_table[i].text;
    return "unknown error";
}

HEARTH_EXPORT const char *hearth_err_name(int err)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].code == err)
            return err_table[i].name;
    return "UNKNOWN";
}

void err_clear(struct hearth_error *reterr)
{
    if (reterr)
        memset(reterr, 0, sizeof(*reterr));
}

int err_set(struct hearth_error *reterr, int code, int http_status, const char *fmt, ...)
{
    if (!reterr)
        return code;
    err_clear(reterr);
    reterr->code = code;
    reterr->http_status = http_status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reterr->message, sizeof(reterr->message), fmt, ap);
    va_end(ap);
    return code;
}
