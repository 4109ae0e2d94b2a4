/* SPDX-License-Identifier: MIT */
/* roff.h: text for the man pages hearthd and hearth print from their help tables (hearthd(8),
 * hearth(1)), escaped for roff. One place, so both pages escape alike. */
#pragma once

#include <stdio.h>

/* Writes s as roff text: a leading '.' or '\'' would start a request, '\' escapes, and '-' is
 * written as a real minus (flags stay copy-pasteable). */
void roff_text(FILE *f, const char *s);
