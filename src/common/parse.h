/* SPDX-License-Identifier: MIT */
/* parse.h: strict parsers for the small textual numbers every layer reads (config values, query
 * parameters, hex in percent-encoding, MAC addresses and wire fields). Pure, no allocation. */
#pragma once

#include <stdint.h>

/* The value of one hexadecimal digit (either case), or -1 when c is not one. */
int hex_digit(char c);

/* Strict unsigned decimal of a NUL-terminated string: digits only, no sign, no spaces, no
 * overflow, within [min, max]. 0 and *ret set; -EINVAL (not a number, NULL) or -ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
