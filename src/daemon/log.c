/* SPDX-License-Identifier: MIT */
/* log.c: JSON log lines (log.h). Owns the level and output fd (the only globals allowed by
 * STYLE §2.11); builds each line with jansson and writes it whole. */
#include "daemon/log.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timefmt.h"

static enum log_level g_level = LOG_LEVEL_INFO;
static int g_fd = 2;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int log_level_from_string(const char *s, enum log_level *ret)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (s && strcmp(s, level_names[i]) == 0) {
            *ret = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *log_level_to_string(enum log_level l)
{
    if ((unsigned)l >= sizeof(level_names) / sizeof(level_names[0]))
        return "info";
    return level_names[l];
}

void log_set_level(enum log_level l)
{
    g_level = l;
}

void log_set_fd(int fd)
{
    g_fd = fd;
}

bool log_enabled(enum log_level l)
{
    return l >= g_level;
}

static void write_line(const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(g_fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* nowhere else to report a broken log */
        s += n;
        len -= (size_t)n;
    }
}

void log_emit(enum log_level l, const char *req, const char *msg, const char *fields_fmt, ...)
{
    if (!log_enabled(l))
        return;
    char ts[TIMEFMT_RFC3339_LEN + 1];
    if (timefmt_rfc3339_ms(timefmt_now_ms(), ts) < 0)
        ts[0] = '\0';
    json_t *o = json_object();
    if (!o)
        return;
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(log_level_to_string(l)));
    json_object_set_new(o, "msg", json_string(msg ? msg : ""));
    if (req)
        json_object_set_new(o, "req", json_string(req));
    if (fields_fmt) {
        va_list ap;
        va_start(ap, fields_fmt);
        json_error_t jerr;
        json_t *f = json_vpack_ex(&jerr, 0, fields_fmt, ap);
        va_end(ap);
        if (f && json_is_object(f)) {
            const char *k;
            json_t *v;
            json_object_foreach(f, k, v) {
                if (!json_object_get(o, k) && !json_is_null(v)) /* fixed keys win; null = omit */
                    json_object_set(o, k, v);
            }
        } else {
            json_object_set_new(o, "log_error", json_string(jerr.text));
        }
        json_decref(f);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (!s)
        return;
    size_t n = strlen(s);
    char *line = realloc(s, n + 2);
    if (!line) {
        free(s);
        return;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    write_line(line, n + 1);
    free(line);
}
