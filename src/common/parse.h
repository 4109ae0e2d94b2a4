/* SPDX-License-Identifier: MIT */
/* parse.h: strict parsers for the small textual numbers every layer reads (config values, query
 * parameters, hex in percent-encoding, MAC addresses and wire fields). Pure, no allocation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An ASCII letter or digit (no locale). */
bool ascii_alnum(char c);
/* Every byte of s[0..n) is an ASCII letter, a digit or one of the characters of extra. */
bool ascii_word(const char *s, size_t n, const char *extra);

/* The value of one hexadecimal digit (either case), or -1 when c is not one. */
int hex_digit(char c);

/* Strict unsigned decimal of a NUL-terminated string: digits only, no sign, no spaces, no
 * overflow, within [min, max]. 0 and *ret set; -EINVAL (not a number, NULL) or -ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* Strict signed decimal: an optional '-', then digits only, within int64_t. 0 and *ret set;
 * -EINVAL (not a number, NULL) or -ERANGE. */
int parse_i64(const char *s, int64_t *ret);
