/* SPDX-License-Identifier: MIT */
/* log.h: hearthd's structured log: one JSON object per line on stderr with `ts` (RFC 3339, ms),
 * `level`, `msg`, `req` when known, then the caller's fields. Only edge code logs (STYLE §2.6);
 * never pass secrets (keys, tokens, env values). The level is the one global setting. */
#pragma once

#include <stdbool.h>

enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
};

/* "debug", "info", "warn", "error". Returns 0 or -EINVAL. */
__attribute__((warn_unused_result))
int log_level_from_string(const char *s, enum log_level *ret);
const char *log_level_to_string(enum log_level l);
/* Lines below level are dropped. Default info. */
void log_set_level(enum log_level l);
/* Where lines go (default 2). For tests. */
void log_set_fd(int fd);
bool log_enabled(enum log_level l);

/* Writes one line. req may be NULL. Null field values are left out. fields_fmt is a jansson json_pack() format building an
 * object ("{s:s, s:i}") whose keys are added after the fixed ones, or NULL for none. A line is
 * written with one write() so concurrent writers never interleave inside it. */
void log_emit(enum log_level l, const char *req, const char *msg, const char *fields_fmt, ...);

#define log_debug(req, msg, ...) log_emit(LOG_LEVEL_DEBUG, req, msg, __VA_ARGS__)
#define log_info(req, msg, ...) log_emit(LOG_LEVEL_INFO, req, msg, __VA_ARGS__)
#define log_warn(req, msg, ...) log_emit(LOG_LEVEL_WARN, req, msg, __VA_ARGS__)
#define log_error(req, msg, ...) log_emit(LOG_LEVEL_ERROR, req, msg, __VA_ARGS__)
