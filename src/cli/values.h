/* SPDX-License-Identifier: MIT */
/* values.h: the CLI's value formats (docs/cli.md §6.4): durations, sizes, counts. Pure. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* "300ms", "45s", "10m", "1h30m", or a bare integer of seconds → milliseconds.
 * Returns 0 or -EINVAL (junk, empty) / -ERANGE (overflow). */
int cli_parse_duration_ms(const char *s, int64_t *ret_ms);
/* "512MiB", "5GiB", "20G", "1T", or a bare integer of bytes → bytes; K/M/G/T are binary with or
 * without "i", an optional trailing "B". *ret_had_unit tells whether a unit was given. */
int cli_parse_size(const char *s, uint64_t *ret_bytes, bool *ret_had_unit);
/* A decimal count 0 ≤ n ≤ max. */
int cli_parse_count(const char *s, int64_t max, int64_t *ret);
