/* SPDX-License-Identifier: MIT */
/* utf8.c: UTF-8 repair for process output (utf8.h). The accepted ranges are those of RFC 3629
 * (no overlongs, no surrogates, nothing past U+10FFFF); replacement follows the Unicode
 * "maximal subpart" practice, so one bad byte never swallows the good text after it. */
#include "common/utf8.h"

#include <errno.h>
#include <string.h>

#include "common/buf.h"

static const uint8_t replacement[3] = { 0xEF, 0xBF, 0xBD };

/* Sequence length for lead byte c (0: invalid lead) and the range of its second byte. */
static unsigned lead_info(uint8_t c, uint8_t *lo, uint8_t *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0)
            *lo = 0xA0;
        else if (c == 0xED)
            *hi = 0x9F;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0)
            *lo = 0x90;
        else if (c == 0xF4)
            *hi = 0x8F;
        return 4;
    }
    return 0;
}

ssize_t utf8_sanitize(const uint8_t *p, size_t len, bool final, struct buf *out)
{
    size_t i = 0, run = 0; /* run: start of the pending valid stretch */
    int r;
    while (i < len) {
        uint8_t lo, hi;
        unsigned n = lead_info(p[i], &lo, &hi);
        if (n == 1) {
            i++;
            continue;
        }
        unsigned k = 1; /* bytes of the sequence that are valid so far */
        if (n > 1) {
            for (; k < n && i + k < len; k++) {
                uint8_t c = p[i + k];
                uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
                if (c < l || c > h)
                    break;
            }
            if (k == n) {
                i += n;
                continue;
            }
            if (i + k == len && !final) {
                /* cut by the end of the piece: keep it for the next one */
                if ((r = buf_append(out, p + run, i - run)) < 0)
                    return r;
                return (ssize_t)i;
            }
        }
        if ((r = buf_append(out, p + run, i - run)) < 0 ||
            (r = buf_append(out, replacement, sizeof(replacement))) < 0)
            return r;
        i += k;
        run = i;
    }
    if ((r = buf_append(out, p + run, len - run)) < 0)
        return r;
    return (ssize_t)len;
}

bool utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t lo, hi;
        unsigned n = lead_info(p[i], &lo, &hi);
        if (n == 0 || len - i < n)
            return false;
        for (unsigned k = 1; k < n; k++) {
            uint8_t c = p[i + k];
            if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF))
                return false;
        }
        i += n;
    }
    return true;
}

size_t utf8_boundary(const uint8_t *p, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && (p[n] & 0xC0) == 0x80) /* p[n] continues a sequence: cut before it */
        n--;
    return n;
}

void utf8_cut_partial(char *s)
{
    size_t n = strlen(s), lead = n;
    /* back over at most three continuation bytes to the sequence's lead byte */
    while (lead > 0 && n - lead < 3 && ((uint8_t)s[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0 || ((uint8_t)s[lead - 1] & 0xC0) != 0xC0)
        return; /* ends in ASCII or a stray continuation: not a cut sequence */
    uint8_t b = (uint8_t)s[lead - 1];
    size_t want = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    if (n - (lead - 1) < want)
        s[lead - 1] = '\0';
}
