/* SPDX-License-Identifier: MIT */
/* timefmt.h: wall-clock timestamps as the API shows them. Records keep milliseconds since the
 * Unix epoch (UTC); the API prints RFC 3339 UTC with exactly three fraction digits and `Z`
 * (`2026-03-01T14:07:09.412Z`) and accepts any RFC 3339 timestamp on input. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Characters in a formatted timestamp, without the NUL. */
#define TIMEFMT_RFC3339_LEN 24

/* Current wall-clock time in ms since the epoch. */
int64_t timefmt_now_ms(void);

/* Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` and a NUL into out (TIMEFMT_RFC3339_LEN + 1 bytes).
 * Returns 0, or -ERANGE when the year falls outside 0000..9999 (out is then an empty string). */
__attribute__((warn_unused_result))
int timefmt_rfc3339_ms(int64_t ms, char out[TIMEFMT_RFC3339_LEN + 1]);

/* Parses an RFC 3339 date-time (`date-time` of RFC 3339 §5.6: `T`/`t`/space separator, any number
 * of fraction digits, which are truncated to ms, `Z`/`z` or a ±HH:MM offset; second 60 is accepted
 * as a leap second and folds into the next minute). Reads exactly len bytes; trailing bytes or an
 * embedded NUL are an error. Returns 0 with *ret_ms set, -EINVAL for malformed input or a field out
 * of range (month 13, Feb 30, hour 24, offset 24:00). */
__attribute__((warn_unused_result))
int timefmt_parse_rfc3339(const char *s, size_t len, int64_t *ret_ms);
