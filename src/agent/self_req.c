/* SPDX-License-Identifier: MIT */
/* self_req.c: parsing what guest processes send to the self endpoint (self_req.h). Hostile
 * input: every index is checked against len, nothing is allocated, the reason is cut to 128
 * characters after percent-decoding and made valid UTF-8 (invalid bytes become U+FFFD), so
 * the JSON the agent builds from it is always well-formed. */
#include "agent/self_req.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/parse.h"

static const char *find_head_end(const char *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (p[i] == '\n' && p[i + 1] == '\n')
            return p + i;
        if (i + 3 < len && memcmp(p + i, "\r\n\r\n", 4) == 0)
            return p + i;
    }
    return NULL;
}

/* Length of the UTF-8 sequence starting at p[0..len) when it is valid, else 0. */
static size_t utf8_seq(const uint8_t *p, size_t len)
{
    uint8_t c = p[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0)
        n = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        n = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Decodes the query value v[0..len) ('+' is a space) into out as valid UTF-8 of at most
 * SELF_REASON_CHARS characters. -1 for a broken %-escape or a NUL. */
static int decode_reason(const char *v, size_t len, char *out)
{
    uint8_t raw[SELF_HEAD_MAX];
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof(raw); i++) {
        char c = v[i];
        if (c == '%') {
            int hi = i + 1 < len ? hex_digit(v[i + 1]) : -1;
            int lo = i + 2 < len ? hex_digit(v[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == 0)
            return -1;
        raw[n++] = (uint8_t)c;
    }
    size_t o = 0, chars = 0;
    for (size_t i = 0; i < n && chars < SELF_REASON_CHARS; chars++) {
        size_t k = utf8_seq(raw + i, n - i);
        if (k == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD for one bad byte */
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, raw + i, k);
        o += k;
        i += k;
    }
    out[o] = 0;
    return 0;
}

/* Finds reason=… in the query q[0..len) (the first one) and decodes it. */
static int query_reason(const char *q, size_t len, char *out)
{
    out[0] = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && q[j] != '&')
            j++;
        if (j - i >= 7 && memcmp(q + i, "reason=", 7) == 0)
            return decode_reason(q + i + 7, j - i - 7, out);
        i = j + 1;
    }
    return 0;
}

static int fail(struct self_req *ret, int status)
{
    ret->status = status;
    ret->action = SELF_ACTION_NONE;
    ret->reason[0] = 0;
    return 1;
}

int self_req_parse(const char *p, size_t len, struct self_req *ret)
{
    const char *end = find_head_end(p, len < SELF_HEAD_MAX ? len : SELF_HEAD_MAX);
    if (!end)
        return len >= SELF_HEAD_MAX ? fail(ret, 431) : 0;
    /* request line: METHOD SP target SP HTTP/1.x */
    size_t head = (size_t)(end - p);
    const char *nl = memchr(p, '\n', head + 1);
    size_t ll = nl ? (size_t)(nl - p) : head;
    if (ll && p[ll - 1] == '\r')
        ll--;
    const char *sp1 = memchr(p, ' ', ll);
    if (!sp1 || sp1 == p)
        return fail(ret, 400);
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', ll - (size_t)(t - p));
    if (!sp2 || sp2 == t)
        return fail(ret, 400);
    const char *ver = sp2 + 1;
    size_t vl = ll - (size_t)(ver - p);
    if (vl != 8 || (memcmp(ver, "HTTP/1.1", 8) != 0 && memcmp(ver, "HTTP/1.0", 8) != 0))
        return fail(ret, 400);
    for (const char *c = p; c < p + ll; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return fail(ret, 400);
    size_t tl = (size_t)(sp2 - t);
    const char *qm = memchr(t, '?', tl);
    size_t pl = qm ? (size_t)(qm - t) : tl;
    enum self_action a = SELF_ACTION_NONE;
    if (pl == 11 && memcmp(t, "/self/pause", 11) == 0)
        a = SELF_ACTION_PAUSE;
    else if (pl == 12 && memcmp(t, "/self/delete", 12) == 0)
        a = SELF_ACTION_DELETE;
    if (a == SELF_ACTION_NONE)
        return fail(ret, 404);
    if ((size_t)(sp1 - p) != 4 || memcmp(p, "POST", 4) != 0)
        return fail(ret, 405);
    if (qm && query_reason(qm + 1, tl - pl - 1, ret->reason) < 0)
        return fail(ret, 400);
    if (!qm)
        ret->reason[0] = 0;
    ret->status = 202;
    ret->action = a;
    return 1;
}

enum self_action self_fifo_line(const char *p, size_t len)
{
    if (len && p[len - 1] == '\r')
        len--;
    if (len == 4 && memcmp(p, "park", 4) == 0)
        return SELF_ACTION_PAUSE;
    if (len == 6 && memcmp(p, "retire", 6) == 0)
        return SELF_ACTION_DELETE;
    return SELF_ACTION_NONE;
}

const char *self_action_name(enum self_action a)
{
    return a == SELF_ACTION_PAUSE ? "pause" : a == SELF_ACTION_DELETE ? "delete" : NULL;
}

const char *self_status_text(int status)
{
    switch (status) {
    case 202:
        return "Accepted";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 431:
        return "Request Header Fields Too Large";
    default:
        return "Bad Request";
    }
}
