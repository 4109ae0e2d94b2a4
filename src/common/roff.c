/* SPDX-License-Identifier: MIT */
/* roff.c: roff escaping for the generated man pages (roff.h). */
#include "common/roff.h"

void roff_text(FILE *f, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", f);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
    }
}
