/* SPDX-License-Identifier: MIT */
/* etcenv.c: reading /etc/environment (etcenv.h). */
#include "agent/etcenv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool key_char(char c, bool first)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (!first && c >= '0' && c <= '9');
}

/* Adds or replaces key=val (klen and vlen bytes). */
static int etcenv_put(struct etcenv *e, const char *key, size_t klen, const char *val,
                      size_t vlen)
{
    char *s = malloc(klen + 1 + vlen + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s, key, klen);
    s[klen] = '=';
    memcpy(s + klen + 1, val, vlen);
    s[klen + 1 + vlen] = 0;
    for (size_t i = 0; i < e->n; i++)
        if (strncmp(e->v[i], s, klen + 1) == 0) {
            free(e->v[i]);
            e->v[i] = s;
            return 0;
        }
    if (e->n == ETCENV_MAX_VARS) {
        free(s); /* past the cap: ignored like a bad line */
        return 0;
    }
    e->v[e->n++] = s;
    return 0;
}

static int parse_line(const char *p, size_t len, struct etcenv *e)
{
    while (len && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
        len--;
    if (!len || *p == '#')
        return 0;
    if (len > 7 && strncmp(p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
        p += 7, len -= 7;
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
    }
    size_t k = 0;
    while (k < len && key_char(p[k], k == 0))
        k++;
    if (k == 0 || k == len || p[k] != '=')
        return 0; /* not KEY=…: skipped */
    const char *v = p + k + 1;
    size_t vlen = len - k - 1;
    if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0])
        v++, vlen -= 2;
    if (memchr(v, 0, vlen))
        return 0;
    return etcenv_put(e, p, k, v, vlen);
}

int etcenv_parse(const char *text, size_t len, struct etcenv *e)
{
    e->n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != '\n')
            continue;
        if (parse_line(text + start, i - start, e) < 0) {
            etcenv_release(e);
            return -ENOMEM;
        }
        start = i + 1;
    }
    return 0;
}

int etcenv_load(const char *path, struct etcenv *e)
{
    e->n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return 0;
    char *buf = malloc(ETCENV_MAX_BYTES);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    size_t n = 0;
    while (n < ETCENV_MAX_BYTES) {
        ssize_t r = read(fd, buf + n, ETCENV_MAX_BYTES - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    int r = etcenv_parse(buf, n, e);
    free(buf);
    return r;
}

void etcenv_release(struct etcenv *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    e->n = 0;
}
